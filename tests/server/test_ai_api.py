"""Seed 001 API (/api/v1/ai/...) against the real engine on tiny durations (draft quality, a few seconds)."""

from __future__ import annotations

import asyncio
import io
import itertools

import numpy as np
import pytest
import soundfile as sf

from tests.support.steps_job import KIND as STEPS_KIND

V1 = "/api/v1/ai"
TINY = {"duration": 4, "audio_quality": "draft"}


async def call(api, method: str, path: str, **kwargs):
    resp = await api.request(method, path, headers=api.auth_headers, **kwargs)
    body = await resp.json()
    return resp.status, body


def assert_envelope(body: dict) -> dict:
    assert body["success"] is True, body
    assert body["request_id"].startswith("req_") and body["timestamp"].endswith("Z") and body["message"]
    return body["data"]


def assert_v1_error(status: int, body: dict, expected: int, *, code: str | None = None, mentions=()) -> dict:
    assert status == expected, body
    assert body["success"] is False and body["request_id"].startswith("req_") and "timestamp" in body, body
    error = body["error"]
    if code:
        assert error["code"] == code, error
    for text in mentions:
        assert text in error["message"], (text, error)
    return error


async def wait_all(services, ids, timeout_s=180):
    return [await services.context.jobs.wait(i, timeout_s=timeout_s) for i in ids]


@pytest.fixture
async def song(api, running_services):
    """One finished sung generation with every file kind, shared by the track assertions."""
    body = {
        "parameters": {"genre": "electronic", "subgenre": "synthwave", "mood": "nostalgic", "tempo": 100, "key": "C_minor",
                       "instrumental": False, "lyrics": {"enabled": True, "theme": "cyberpunk city", "language": "en"},
                       "primary_instruments": ["arpeggiator"], "complexity": "medium", "creativity": 0.7,
                       "ai_model": "studio-composer-v1", "output_formats": ["wav", "mp3", "midi", "stems"],
                       "seed": 7, **TINY},
        "metadata": {"title": "Neon Dreams", "description": "A synthwave test track", "tags": ["cyberpunk", "80s"],
                     "project_id": "proj_123"},
    }
    status, resp = await call(api, "POST", f"{V1}/generate", json=body)
    data = assert_envelope(resp)
    assert status == 200
    job = await running_services.context.jobs.wait(data["generation_id"], timeout_s=180)
    assert job["status"] == "completed", job
    return data


async def test_generate_status_track_files_and_downloads(api, running_services, song):
    data = song
    assert data["generation_id"].startswith("gen_") and data["task_id"] == data["generation_id"]
    assert data["status"] == "queued" and data["queue_position"] >= 0
    assert data["estimated_completion_time"].endswith("Z")
    assert data["track_preview"] == {"title": "Neon Dreams", "estimated_duration": 4.0,
                                     "formats": ["wav", "mp3", "midi", "stems"]}
    assert data["ai_model"] == "studio-composer-v1"
    assert data["resolved_parameters"]["style"] == "synthwave" and data["resolved_parameters"]["key"] == "C_minor"
    # lyrics and no singer named: the style's default character sings, and the response says so
    assert data["resolved_parameters"]["singer"]["name"] == "Nova"
    assert data["resolved_parameters"]["sources"]["singer"] == "style default for Synthwave -> Nova (Synthwave) sings"

    status, resp = await call(api, "GET", f"{V1}/generations/{data['generation_id']}")
    gen = assert_envelope(resp)
    assert gen["status"] == "completed" and gen["progress"] == 100 and gen["completed_at"]
    assert gen["track_id"].startswith("trk_") and gen["project_id"] == "proj_123"
    assert gen["track_preview"]["formats_available"] == ["wav", "mp3", "midi", "stems"]
    assert gen["track_preview"]["formats_processing"] == []
    assert gen["track_preview"]["duration"] == pytest.approx(4.0, abs=0.05)
    assert set(gen["quality_metrics"]) >= {"melodic_coherence", "harmonic_consistency", "audio_fidelity"}
    track_id = gen["track_id"]

    status, resp = await call(api, "GET", f"{V1}/tracks/{track_id}")
    track = assert_envelope(resp)
    assert track["title"] == "Neon Dreams" and track["description"] == "A synthwave test track"
    assert {"cyberpunk", "80s"} <= set(track["tags"])
    meta = track["metadata"]
    assert meta["subgenre"] == "Synthwave" and meta["tempo"] == 100 and meta["key"] == "C_minor"
    assert meta["has_lyrics"] is True and meta["lyric_theme"] == "cyberpunk city" and meta["lyric_language"] == "en"
    files = {f["format"]: f for f in track["audio_files"]}
    assert set(files) == {"wav", "mp3", "midi"}
    wav = files["wav"]
    assert wav["sample_rate"] == 22050 and wav["bit_depth"] == 16 and wav["duration"] == pytest.approx(4.0, abs=0.05)
    assert files["mp3"]["bitrate_kbps"] > 0 and "bit_depth" not in files["mp3"]
    assert files["midi"]["track_count"] >= 2
    assert {s["stem"] for s in track["stems"]} >= {"drums", "bass"}
    assert all(s["sample_rate"] == 22050 and s["size_bytes"] > 0 for s in track["stems"])
    assert track["lyrics"]["text"] and track["lyrics"]["formatted"].startswith("[")
    assert track["lyrics"]["timestamps"][0]["end"] > track["lyrics"]["timestamps"][0]["start"]
    assert track["chord_chart"]["key"] == "C_minor" and track["chord_chart"]["sections"]
    assert track["quality_metrics"]["overall_quality"] > 0 and track["expires_at"] is None
    # each section of the form measured on the mix, and how far apart they are
    measured = track["analysis"]["sections"]
    assert measured and all(s["end_s"] > s["start_s"] and s["name"] for s in measured)
    assert track["analysis"]["arrangement"]["sections_measured"] == sum(s["loudness_lufs"] is not None for s in measured)

    # The listed sizes are the real files'.
    resp = await api.get(wav["url"], headers=api.auth_headers)
    raw = await resp.read()
    assert resp.status == 200 and resp.headers["Content-Type"] == "audio/wav" and len(raw) == wav["size_bytes"]
    info = sf.info(io.BytesIO(raw))
    assert info.samplerate == 22050 and info.subtype == "PCM_16"
    resp = await api.get(f"{V1}/tracks/{track_id}/download?format=wav&stem=drums", headers=api.auth_headers)
    assert resp.status == 200 and sf.info(io.BytesIO(await resp.read())).samplerate == 22050
    resp = await api.get(f"{V1}/tracks/{track_id}/download?format=midi", headers=api.auth_headers)
    assert resp.status == 200 and (await resp.read())[:4] == b"MThd"
    resp = await api.get(f"{V1}/tracks/{track_id}/download?format=chords", headers=api.auth_headers)
    assert resp.status == 200 and (await resp.json())["key"] == "C_minor"

    # Not rendered as FLAC/OGG: encoded from the WAV master on the first request, then kept.
    resp = await api.get(f"{V1}/tracks/{track_id}/download?format=flac", headers=api.auth_headers)
    flac = await resp.read()
    assert resp.status == 200 and resp.headers["Content-Type"] == "audio/flac"
    decoded, rate = sf.read(io.BytesIO(flac), dtype="int16")
    master, _ = sf.read(io.BytesIO(raw), dtype="int16")
    assert rate == 22050 and np.array_equal(decoded, master)  # lossless: the same samples
    track_row = running_services.music.library.track_row(track_id)
    assert track_row["files_raw"]["flac"] == f"{data['generation_id']}.flac"
    resp = await api.get(f"/api/music/download/{data['generation_id']}.ogg", headers=api.auth_headers)
    assert resp.status == 200 and sf.info(io.BytesIO(await resp.read())).format == "OGG"
    status, resp = await call(api, "GET", f"{V1}/tracks/{track_id}/download?stem=kazoo")
    assert_v1_error(status, resp, 404, mentions=("kazoo", "drums"))
    status, resp = await call(api, "GET", f"{V1}/tracks/{track_id}/download?format=aac")
    assert_v1_error(status, resp, 422, code="VALIDATION_ERROR", mentions=("format",))
    status, resp = await call(api, "GET", f"{V1}/tracks/{track_id}")
    assert assert_envelope(resp)["download_count"] == 6

    # Finished generations: cancel is a conflict, and so is retrying a completed one.
    status, resp = await call(api, "POST", f"{V1}/generations/{data['generation_id']}/cancel")
    assert_v1_error(status, resp, 409, mentions=("already completed", "queued or processing"))
    status, resp = await call(api, "POST", f"{V1}/generations/{data['generation_id']}/retry")
    assert_v1_error(status, resp, 409, mentions=("completed",))


async def test_patch_list_and_delete_track(api, running_services, song):
    _s, resp = await call(api, "GET", f"{V1}/generations/{song['generation_id']}")
    track_id = assert_envelope(resp)["track_id"]

    status, resp = await call(api, "PATCH", f"{V1}/tracks/{track_id}",
                              json={"title": "Neon Nights", "tags": ["retro", "retro", "night"], "is_public": True})
    data = assert_envelope(resp)
    assert data["updated_fields"] == ["title", "tags", "is_public"] and data["track"]["tags"] == ["retro", "night"]
    _s, resp = await call(api, "GET", f"{V1}/tracks/{track_id}")
    track = assert_envelope(resp)
    assert track["title"] == "Neon Nights" and track["is_public"] is True
    for bad, field in (({}, "title"), ({"colour": "red"}, "colour"), ({"title": ""}, "title"), ({"title": None}, "title"),
                       ({"tags": ["x" * 51]}, "tags")):
        status, resp = await call(api, "PATCH", f"{V1}/tracks/{track_id}", json=bad)
        assert_v1_error(status, resp, 422, mentions=(field,))

    status, resp = await call(api, "GET", f"{V1}/generations?status=completed&limit=10&sort_by=duration&sort_order=asc")
    listing = assert_envelope(resp)
    assert listing["pagination"] == {"total": 1, "limit": 10, "offset": 0, "has_more": False}
    item = listing["generations"][0]
    assert item["generation_id"] == song["generation_id"] and item["genre"] == "electronic"
    assert item["preview_url"] == f"{V1}/tracks/{track_id}/download?format=mp3"
    assert listing["summary"]["total_generations"] == 1 and listing["summary"]["completed"] == 1
    _s, resp = await call(api, "GET", f"{V1}/generations?status=failed")
    assert assert_envelope(resp)["generations"] == []
    for query, field in (("limit=101", "limit"), ("sort_by=title", "sort_by"), ("status=done", "status"),
                         ("offset=-1", "offset"), ("sort_order=up", "sort_order")):
        status, resp = await call(api, "GET", f"{V1}/generations?{query}")
        assert_v1_error(status, resp, 422, mentions=(field,))

    status, resp = await call(api, "DELETE", f"{V1}/tracks/{track_id}")
    deleted = assert_envelope(resp)
    media = sum(1 for _ in running_services.context.store.root.rglob("gen_*"))
    assert deleted["deleted"] is True and deleted["files_deleted"] >= 9 and media == 0
    status, resp = await call(api, "GET", f"{V1}/tracks/{track_id}")
    assert_v1_error(status, resp, 404, code="NOT_FOUND", mentions=(track_id,))
    _s, resp = await call(api, "GET", f"{V1}/generations/{song['generation_id']}")
    assert assert_envelope(resp)["track_deleted"] is True


async def test_validation_errors_name_the_field_and_unknown_ids_are_404(api):
    base = {"genre": "lofi", **TINY}
    cases = [
        ({"parameters": {**base, "tempo": 300}}, "parameters.tempo"),
        ({"parameters": {**base, "ai_model": "kie_v4"}}, "parameters.ai_model"),
        ({"parameters": {**base, "key": "H_minor"}}, "parameters.key"),
        ({"parameters": {**base, "mood": "grumpy"}}, "parameters.mood"),
        ({"parameters": {**base, "complexity": "extreme"}}, "parameters.complexity"),
        ({"parameters": {**base, "output_formats": ["aac"]}}, "parameters.output_formats"),
        ({"parameters": {**base, "lyrics": {"language": "fr"}}}, "parameters.lyrics.language"),
        ({"parameters": {**base, "wobble": 1}}, "parameters.wobble"),
        ({"metadata": {"title": "x"}}, "parameters"),
        ({"parameters": base, "webhook_events": ["generation_completed"]}, "webhook_events"),
        ({"parameters": base, "callback_url": "ftp://example.com/x"}, "callback_url"),
        ({"parameters": base, "callback_url": "http://127.0.0.1:9/x", "webhook_events": ["lunch"]}, "webhook_events"),
    ]
    for body, field in cases:
        status, resp = await call(api, "POST", f"{V1}/generate", json=body)
        error = assert_v1_error(status, resp, 422, code="VALIDATION_ERROR", mentions=(field,))
        assert error["details"]["parameter"].startswith(field.split(".")[0]), error
    status, resp = await call(api, "POST", f"{V1}/generate", data=b"{not json", )
    assert_v1_error(status, resp, 400)

    missing = "gen_ffffffffffffffff"
    for method, path in (("GET", f"generations/{missing}"), ("POST", f"generations/{missing}/cancel"),
                         ("POST", f"generations/{missing}/retry"), ("GET", "tracks/trk_ffffffffffffffff"),
                         ("DELETE", "tracks/trk_ffffffffffffffff"), ("GET", "tracks/trk_ffffffffffffffff/download"),
                         ("GET", "templates/ai_template_999"), ("GET", "playlists/playlist_ffffffffffffffff"),
                         ("GET", "playlists/playlist_ffffffffffffffff/download")):
        status, resp = await call(api, method, f"{V1}/{path}")
        assert_v1_error(status, resp, 404, code="NOT_FOUND")
    status, resp = await call(api, "PATCH", f"{V1}/tracks/trk_ffffffffffffffff", json={"title": "x"})
    assert_v1_error(status, resp, 404, code="NOT_FOUND")
    status, resp = await call(api, "POST", f"{V1}/generate-from-template", json={"template_id": "ai_template_999"})
    assert_v1_error(status, resp, 404, mentions=("ai_template_999",))
    resp = await api.get(f"{V1}/generations")
    assert resp.status == 401 and (await resp.json())["success"] is False


async def test_templates_list_filter_detail_and_generate_from_template(api, running_services):
    from studio.engine.composition.styles import styles

    status, resp = await call(api, "GET", f"{V1}/templates")
    data = assert_envelope(resp)
    templates = data["templates"]
    assert data["total_templates"] == len(templates) >= 24
    assert {t["style"] for t in templates} == set(styles())
    assert sum(c["count"] for c in data["categories"]) == len(templates)
    assert [m["id"] for m in data["ai_models"]] == ["studio-composer-v1"]
    assert all(t["usage_count"] == 0 and t["preview_url"] is None for t in templates)  # nothing invented

    for query, check in (("category=electronic", lambda t: t["category"] == "electronic"),
                         ("has_lyrics=true", lambda t: t["has_lyrics"]),
                         ("has_lyrics=false", lambda t: not t["has_lyrics"]),
                         ("subcategory=trap", lambda t: t["subcategory"] == "trap"),
                         ("search=lo-fi%20study", lambda t: t["template_id"] == "ai_template_008"),
                         ("ai_model=studio-composer-v1", lambda t: True)):
        _s, resp = await call(api, "GET", f"{V1}/templates?{query}")
        found = assert_envelope(resp)["templates"]
        assert found and all(check(t) for t in found), query
    _s, resp = await call(api, "GET", f"{V1}/templates?category=polka")
    assert assert_envelope(resp)["templates"] == []
    for query, field in (("ai_model=kie_v4", "ai_model"), ("has_lyrics=perhaps", "has_lyrics"), ("sort=x", "sort")):
        status, resp = await call(api, "GET", f"{V1}/templates?{query}")
        assert_v1_error(status, resp, 422, mentions=(field,))

    status, resp = await call(api, "GET", f"{V1}/templates/ai_template_001")
    detail = assert_envelope(resp)
    assert detail["name"] == "Synthwave Night Drive" and detail["parameters"]["tempo"] == 100
    assert detail["resolved_defaults"]["style"] == "synthwave" and detail["resolved_defaults"]["key"] == "C_minor"
    assert detail["style_info"]["tempo_range"] == [85.0, 118.0] and "tempo" in detail["customizable_parameters"]
    assert detail["usage"]["generations"] == 0

    status, resp = await call(api, "POST", f"{V1}/generate-from-template", json={
        "template_id": "ai_template_001", "customizations": {"tempo": 500}})
    assert_v1_error(status, resp, 422, mentions=("customizations.tempo",))
    status, resp = await call(api, "POST", f"{V1}/generate-from-template", json={
        "template_id": "ai_template_001",
        "customizations": {"key": "D_minor", "lyrics": {"theme": "digital love"}, "output_formats": ["wav", "mp3"],
                           "seed": 3, **TINY},
        "metadata": {"tags": ["custom"]}})
    data = assert_envelope(resp)
    spec = data["resolved_parameters"]
    assert data["template_id"] == "ai_template_001" and data["track_preview"]["title"] == "Synthwave Night Drive"
    assert spec["style"] == "synthwave" and spec["tempo_bpm"] == 100 and spec["key"] == "D_minor"
    assert spec["lyrics"]["theme"] == "digital love" and spec["lyrics"]["style"] == "poetic"  # merged key by key
    assert spec["instrumental"] is False and spec["duration_s"] == 4 and "custom" in spec["tags"]
    assert (await running_services.context.jobs.wait(data["generation_id"], timeout_s=180))["status"] == "completed"

    _s, resp = await call(api, "GET", f"{V1}/templates?subcategory=synthwave")
    used = {t["template_id"]: t for t in assert_envelope(resp)["templates"]}
    assert used["ai_template_001"]["usage_count"] == 1 and used["ai_template_002"]["usage_count"] == 0
    assert used["ai_template_001"]["preview_url"].endswith("format=mp3")


async def test_cancel_queued_and_processing_then_retry(api, running_services):
    blocker = running_services.context.jobs.submit(STEPS_KIND, {"steps": 100, "step_s": 0.05})
    body = {"parameters": {"genre": "ambient", "duration": 30, "audio_quality": "draft", "seed": 1}}
    _s, resp = await call(api, "POST", f"{V1}/generate", json=body)
    queued = assert_envelope(resp)
    status, resp = await call(api, "GET", f"/api/music/status/{queued['generation_id']}")
    assert status == 200 and resp["status"] == "queued" and resp["queue_position"] >= 1, resp
    status, resp = await call(api, "POST", f"{V1}/generations/{queued['generation_id']}/cancel")
    data = assert_envelope(resp)
    assert data["previous_status"] == "queued" and data["new_status"] == "cancelled" and data["cancelled_at"]
    assert data["credits_returned"] == pytest.approx(5.0)
    running_services.context.jobs.cancel(blocker["id"])
    status, resp = await call(api, "POST", f"{V1}/generations/{queued['generation_id']}/cancel")
    assert_v1_error(status, resp, 409, mentions=("already cancelled",))
    status, resp = await call(api, "GET", f"/api/music/status/{queued['generation_id']}")
    assert status == 200 and resp["status"] == "cancelled" and "audio_url" not in resp, resp

    status, resp = await call(api, "POST", f"{V1}/generations/{queued['generation_id']}/retry")
    retry = assert_envelope(resp)
    assert retry["original_generation_id"] == queued["generation_id"] and retry["status"] == "queued"
    new_id = retry["new_generation_id"]
    assert new_id != queued["generation_id"]
    for _ in range(500):
        job = running_services.context.jobs.get(new_id)
        if job["status"] == "processing" and job["progress"] > 0:
            break
        await asyncio.sleep(0.02)
    status, resp = await call(api, "POST", f"{V1}/generations/{new_id}/cancel")
    data = assert_envelope(resp)
    assert data["previous_status"] == "processing" and data["new_status"] == "cancelled"
    _s, resp = await call(api, "GET", f"{V1}/generations/{new_id}")
    gen = assert_envelope(resp)
    assert gen["status"] == "cancelled" and gen["retry_of"] == queued["generation_id"] and "track_id" not in gen
    _s, resp = await call(api, "GET", f"{V1}/generations")
    summary = assert_envelope(resp)["summary"]
    assert summary["cancelled"] == 2 and summary["total_generations"] == 2


async def test_batch_of_variations_respects_concurrency(api, running_services):
    events = []
    running_services.events.subscribe(lambda name, data: events.append(data) if name == "batch_completed" else None)
    body = {
        "base_parameters": {"genre": "electronic", "subgenre": "house", "mood": "energetic", "tempo": 122,
                            "output_formats": ["wav"], "seed": 11, **TINY},
        "variations": [
            {"variation_id": "var_1", "customizations": {"key": "C_major", "instrumental": True}},
            {"variation_id": "var_2", "customizations": {"key": "F_minor", "lyrics": {"enabled": True, "theme": "club night"}}},
            {"variation_id": "var_3", "customizations": {"tempo": 128, "complexity": "high"}},
        ],
        "batch_settings": {"concurrent_generations": 1, "notify_when_all_complete": True},
    }
    status, resp = await call(api, "POST", f"{V1}/generate-batch", json=body)
    data = assert_envelope(resp)
    assert data["batch_id"].startswith("batch_") and data["total"] == 3 and data["completed"] == 0
    assert data["concurrent_generations"] == 1 and len(data["generation_ids"]) == 3
    stages = [v["stage"] for v in data["variations"]]
    assert stages[0] is None and all("batch slot" in s for s in stages[1:])
    _s, resp = await call(api, "GET", f"{V1}/generations/{data['generation_ids'][2]}")
    held = assert_envelope(resp)
    assert held["status"] == "queued" and held["batch_id"] == data["batch_id"] and held["variation_id"] == "var_3"

    jobs = await wait_all(running_services, data["generation_ids"])
    assert [j["status"] for j in jobs] == ["completed"] * 3
    specs = [j["params"]["spec"] for j in jobs]
    assert [s["key"] for s in specs[:2]] == ["C_major", "F_minor"] and specs[2]["tempo_bpm"] == 128
    assert specs[1]["instrumental"] is False and specs[1]["lyrics"]["theme"] == "club night"
    assert all(s["style"] == "house" for s in specs) and specs[0]["title"].endswith("(var_1)")
    starts = sorted((j["started_at"], j["finished_at"]) for j in jobs)
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(starts))  # one at a time
    await asyncio.sleep(0.05)
    assert len(events) == 1 and events[0]["completed"] == 3 and events[0]["batch_id"] == data["batch_id"]

    _s, resp = await call(api, "GET", f"{V1}/generations?limit=2&sort_by=duration&sort_order=desc")
    listing = assert_envelope(resp)
    assert listing["pagination"]["has_more"] is True and listing["summary"]["completed"] == 3
    assert {g["variation_id"] for g in listing["generations"]} <= {"var_1", "var_2", "var_3"}

    bad = {**body, "variations": [body["variations"][0], {"variation_id": "v", "customizations": {"tempo": 999}}]}
    status, resp = await call(api, "POST", f"{V1}/generate-batch", json=bad)
    assert_v1_error(status, resp, 422, mentions=("variations.1.customizations.tempo",))
    dup = {**body, "variations": [body["variations"][0], body["variations"][0]]}
    status, resp = await call(api, "POST", f"{V1}/generate-batch", json=dup)
    assert_v1_error(status, resp, 422, mentions=("var_1",))
    status, resp = await call(api, "POST", f"{V1}/generate-batch", json={**body, "variations": []})
    assert_v1_error(status, resp, 422, mentions=("variations",))


async def test_playlist_tracks_and_continuous_mix(api, running_services):
    body = {
        "playlist_config": {"name": "Chill Study Session", "description": "lo-fi for focus", "total_duration": 10,
                            "track_count": 3, "cohesion_level": "high", "transition_style": "crossfade",
                            "transition_duration": 1},
        "base_parameters": {"genre": "lofi", "mood": "calm", "tempo_range": [75, 90], "complexity": "low",
                            "audio_quality": "draft", "output_formats": ["wav"], "seed": 5},
        "track_variations": {"allow_key_changes": True, "allow_tempo_variation": 2,
                             "allow_instrumentation_variation": True},
    }
    status, resp = await call(api, "POST", f"{V1}/generate-playlist", json=body)
    data = assert_envelope(resp)
    playlist_id = data["playlist_id"]
    assert playlist_id.startswith("playlist_") and data["track_order"] == [1, 2, 3]
    assert len(data["generation_ids"]) == 3 and data["mix"]["transition_seconds"] == 1
    tempos = [t["tempo"] for t in data["tracks"]]
    assert all(75 <= t <= 90 for t in tempos)
    assert [t["duration"] for t in data["tracks"]] == [4.0, 4.0, 4.0]  # (10 s + 2 overlaps of 1 s) / 3
    keys = [t["key"] for t in data["tracks"]]
    assert keys[0] == keys[2] != keys[1]  # high cohesion: only the relative key
    assert data["tracks"][0]["primary_instruments"] == [] and data["tracks"][1]["primary_instruments"]

    _s, resp = await call(api, "GET", f"{V1}/playlists/{playlist_id}")
    assert assert_envelope(resp)["status"] in ("generating", "mixing")
    await wait_all(running_services, data["generation_ids"])
    mix_job = await running_services.context.jobs.wait(playlist_id, timeout_s=120)
    assert mix_job["status"] == "completed", mix_job

    _s, resp = await call(api, "GET", f"{V1}/playlists/{playlist_id}")
    playlist = assert_envelope(resp)
    assert playlist["status"] == "completed" and playlist["completed"] == 3
    mix = playlist["mix"]
    assert mix["duration"] == pytest.approx(10.0, abs=0.05) and mix["sample_rate"] == 22050
    assert [t["duration_s"] for t in mix["transitions"]] == [1.0, 1.0]
    assert [p["position"] for p in mix["placements"]] == [1, 2, 3]
    assert mix["placements"][1]["start_s"] == pytest.approx(3.0, abs=0.01)
    resp = await api.get(mix["download_url"], headers=api.auth_headers)
    assert resp.status == 200 and resp.headers["Content-Type"] == "audio/wav"
    audio, rate = sf.read(io.BytesIO(await resp.read()), dtype="float32")
    assert rate == 22050 and audio.shape[0] / rate == pytest.approx(10.0, abs=0.05)
    assert np.abs(audio).max() <= 10 ** (-1 / 20) + 1e-3
    for seam in (3.0, 6.0):  # no gap at the transitions
        window = audio[int((seam + 0.3) * rate):int((seam + 0.7) * rate)]
        assert np.sqrt(np.mean(window ** 2)) > 1e-3
    resp = await api.get(mix["urls"]["mp3"], headers=api.auth_headers)
    assert resp.status == 200 and resp.headers["Content-Type"] == "audio/mpeg"

    for config, field in (({"total_duration": 1000, "track_count": 1}, "total_duration"),
                          ({"track_count": 0}, "track_count"), ({"cohesion_level": "total"}, "cohesion_level"),
                          ({"transition_style": "dissolve"}, "transition_style")):
        bad = {**body, "playlist_config": {**body["playlist_config"], **config}}
        status, resp = await call(api, "POST", f"{V1}/generate-playlist", json=bad)
        assert_v1_error(status, resp, 422, mentions=(field,))
    bad = {**body, "base_parameters": {**body["base_parameters"], "tempo_range": [100, 50]}}
    status, resp = await call(api, "POST", f"{V1}/generate-playlist", json=bad)
    assert_v1_error(status, resp, 422, mentions=("base_parameters.tempo_range",))


def test_mix_transitions_on_synthetic_audio(tmp_path):
    from studio.engine.pipeline.playlist_mix import MIX_CEILING, mix_tracks

    rate = 8000
    paths = []
    for index, freq in enumerate((220.0, 330.0)):
        t = np.arange(2 * rate) / rate
        tone = 0.89 * np.sin(2 * np.pi * freq * t)
        path = tmp_path / f"t{index}.wav"
        sf.write(path, np.stack([tone, tone], axis=1), rate, subtype="PCM_24")
        paths.append(path)
    lengths = {}
    for style in ("abrupt", "crossfade", "smooth"):
        report = mix_tracks(paths, tmp_path / f"{style}.wav", tmp_path / f"{style}.mp3", style=style, length_s=0.5,
                            title="t")
        audio, got_rate = sf.read(tmp_path / f"{style}.wav")
        assert got_rate == rate and sf.info(tmp_path / f"{style}.wav").subtype == "PCM_24"
        assert np.abs(audio).max() <= MIX_CEILING + 1e-3
        lengths[style] = audio.shape[0] / rate
        assert report["duration_s"] == pytest.approx(lengths[style], abs=1e-3)
    assert lengths["abrupt"] == pytest.approx(4.0) and lengths["crossfade"] == pytest.approx(3.5)
    assert lengths["smooth"] == pytest.approx(3.5)
