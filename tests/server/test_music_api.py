"""Seed 000 music API against the real engine on tiny durations (draft quality, few seconds)."""

from __future__ import annotations

import io

import soundfile as sf

import pytest

TINY = {"duration": 4, "audio_quality": "draft", "seed": 4}


async def _generate(api, **fields):
    body = {"prompt": "chill lo-fi beat", **TINY, **fields}
    resp = await api.post("/api/music/generate", json=body, headers=api.auth_headers)
    data = await resp.json()
    assert resp.status == 200, data
    return data


@pytest.fixture
async def done(api, running_services):
    data = await _generate(api, output_formats=["wav", "mp3", "midi", "stems"])
    job = await running_services.context.jobs.wait(data["generation_id"], timeout_s=180)
    assert job["status"] == "completed", job
    return data


async def test_generate_status_download_list(api, running_services, done):
    data = done
    assert data["status"] == "success" and data["generation_id"].startswith("gen_")
    assert data["credits_used"] == pytest.approx(0.67)
    assert data["queue_position"] >= 0 and data["estimated_time"] > 0
    assert data["resolved_spec"]["style"] == "lofi_hip_hop"

    status = await (await api.get(f"/api/music/status/{data['generation_id']}", headers=api.auth_headers)).json()
    assert status["status"] == "completed" and status["progress"] == 100
    assert status["audio_url"] == f"/api/music/download/{data['generation_id']}.mp3"
    assert status["duration"] == pytest.approx(4.0, abs=0.05)
    assert status["metadata"]["bpm"] == data["resolved_spec"]["tempo_bpm"]
    assert set(status["stems"]) >= {"drums", "bass"}

    resp = await api.get(status["files"]["wav"], headers=api.auth_headers)
    assert resp.status == 200 and resp.headers["Content-Type"] == "audio/wav"
    raw = await resp.read()
    assert int(resp.headers["Content-Length"]) == len(raw)
    info = sf.info(io.BytesIO(raw))
    assert info.samplerate == 22050 and info.channels == 2
    # Range requests for seeking
    resp = await api.get(status["audio_url"], headers={**api.auth_headers, "Range": "bytes=0-99"})
    assert resp.status == 206 and len(await resp.read()) == 100
    assert resp.headers["Content-Type"] == "audio/mpeg"

    listing = await (await api.get("/api/music/list?page=1&limit=20&status=completed", headers=api.auth_headers)).json()
    assert listing["total"] == 1 and listing["generations"][0]["id"] == data["generation_id"]
    assert listing["generations"][0]["download_url"].endswith(".mp3")


async def test_download_rejects_path_tricks_and_unknown_ids(api):
    for bad in ("..%2F..%2Fstudio.db", "%2Fetc%2Fpasswd", "gen_0000000000000000.mp3", "gen_%00.mp3", "x"):
        resp = await api.get(f"/api/music/download/{bad}", headers=api.auth_headers)
        assert resp.status == 404, bad
        body = await resp.json()
        assert body["status"] == "error" and body["error"]["code"] == "NOT_FOUND"


async def test_validation_errors_name_the_field(api):
    for body, field in (({"prompt": "x", "duration": 0}, "duration"), ({"prompt": "x", "tempo": 500}, "tempo"),
                        ({"prompt": "x", "style": "polka-step"}, "style"), ({"prompt": "x", "mystery": 1}, "mystery")):
        resp = await api.post("/api/music/generate", json=body, headers=api.auth_headers)
        assert resp.status == 422, body
        error = (await resp.json())["error"]
        assert field in error["message"] and error["code"] == "VALIDATION_ERROR"
    resp = await api.get("/api/music/status/gen_ffffffffffffffff", headers=api.auth_headers)
    assert resp.status == 404


async def test_credits_are_real_and_exhaustion_is_1001(api, running_services):
    running_services.settings.daily_credits = 1
    credits = await (await api.get("/api/music/credits", headers=api.auth_headers)).json()
    assert credits["credits"] == 1 and credits["credits_used_today"] == 0
    data = await _generate(api)  # 4 s = 0.67 credits
    credits = await (await api.get("/api/music/credits", headers=api.auth_headers)).json()
    assert credits["credits"] == pytest.approx(0.33) and credits["credits_used_today"] == pytest.approx(0.67)
    resp = await api.post("/api/music/generate", json={"prompt": "x", "duration": 6}, headers=api.auth_headers)
    assert resp.status == 402
    error = (await resp.json())["error"]
    assert error["code"] == "INSUFFICIENT_CREDITS" and error["details"]["error_code"] == 1001
    await running_services.context.jobs.wait(data["generation_id"], timeout_s=120)
    running_services.settings.daily_credits = 0
    credits = await (await api.get("/api/music/credits", headers=api.auth_headers)).json()
    assert credits["credits"] is None and credits["unlimited"] is True and credits["daily_allowance"] is None


async def test_extend_batch_analytics(api, running_services, done):
    resp = await api.post("/api/music/extend", json={"audio_id": done["generation_id"], "additional_duration": 3},
                          headers=api.auth_headers)
    data = await resp.json()
    assert resp.status == 200 and data["status"] == "processing", data
    job = await running_services.context.jobs.wait(data["extend_id"], timeout_s=180)
    assert job["status"] == "completed", job
    assert job["result"]["duration_s"] == pytest.approx(7.0, abs=0.1)

    resp = await api.post("/api/music/extend", json={"audio_id": "gen_ffffffffffffffff", "additional_duration": 3},
                          headers=api.auth_headers)
    assert resp.status == 404
    # a singer for the extension: named characters must exist, and an instrumental has no line to sing
    resp = await api.post("/api/music/extend", json={"audio_id": done["generation_id"], "additional_duration": 3,
                                                     "character_id": "nobody_here"}, headers=api.auth_headers)
    assert resp.status == 404
    resp = await api.post("/api/music/extend", json={"audio_id": done["generation_id"], "additional_duration": 3,
                                                     "character_id": "rex_rock"}, headers=api.auth_headers)
    error = (await resp.json())["error"]
    assert resp.status == 422 and "instrumental" in error["message"] and error["details"]["parameter"] == "character_id"

    resp = await api.post("/api/music/batch", json={"generations": [
        {"prompt": "energetic workout music", "style": "electronic", **TINY},
        {"prompt": "calm meditation sounds", "style": "ambient", **TINY}]}, headers=api.auth_headers)
    batch = await resp.json()
    assert resp.status == 200 and batch["total_generations"] == 2, batch
    for generation_id in batch["generation_ids"]:
        job = await running_services.context.jobs.wait(generation_id, timeout_s=180)
        assert job["status"] == "completed"
        # One batch implementation: the group is recorded with each generation, as the v1 batch does.
        assert job["params"]["batch_id"] == batch["batch_id"]
        assert job["params"]["batch"]["generation_ids"] == batch["generation_ids"]
    resp = await api.post("/api/music/batch", json={"generations": [{"prompt": "ok", **TINY}, {"duration": -1}]},
                          headers=api.auth_headers)
    assert resp.status == 422

    analytics = await (await api.get("/api/music/analytics?period=30d", headers=api.auth_headers)).json()
    assert analytics["total_generations"] == 4 and analytics["successful_generations"] == 4
    assert analytics["success_rate"] == 100.0
    assert analytics["total_duration_minutes"] == pytest.approx((4 + 7 + 4 + 4) / 60, abs=0.01)
    assert {s["style_id"] for s in analytics["top_styles"]} == {"lofi_hip_hop", "edm", "ambient"}
    resp = await api.get("/api/music/analytics?period=soon", headers=api.auth_headers)
    assert resp.status == 422
    resp = await api.get("/api/music/analytics?period=10000y", headers=api.auth_headers)  # past year 1: all of it
    assert resp.status == 200 and (await resp.json())["total_generations"] == 4


async def test_websocket_streams_generation_progress(api, running_services):
    """Seed 000's `generation_progress` event (generation_id, progress, stage, estimated_remaining)
    while a real generation runs, then the job's completion."""
    async with api.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": api.key})
        assert (await ws.receive_json(timeout=5))["event"] == "authenticated"
        data = await _generate(api)
        progress, finished = [], None
        while finished is None or progress[-1]["status"] == "processing":  # job_completed comes first
            msg = await ws.receive_json(timeout=120)
            if msg["event"] == "generation_progress":
                progress.append(msg["data"])
            elif msg["event"] in ("job_completed", "job_failed") and msg["data"]["id"] == data["generation_id"]:
                finished = msg
    assert finished["event"] == "job_completed"
    assert all(p["generation_id"] == data["generation_id"] for p in progress)
    running = [p for p in progress if p["status"] == "processing"]
    assert {"composing", "rendering", "mastering"} <= {p["stage"] for p in running}
    assert all(0 <= p["progress"] <= 100 and p["estimated_remaining"] is not None for p in running)
    assert [p["progress"] for p in running] == sorted(p["progress"] for p in running)
    assert progress[-1]["status"] == "completed" and progress[-1]["track_id"].startswith("trk_")


async def test_sung_by_default_and_character_id_picks_the_singer(api, running_services):
    """Vocals by default: the prompt's voice word picks the singer and resolved_spec says why;
    character_id names one ("instrument": the lead instrument)."""
    data = await _generate(api, prompt="dreamy synthwave night drive with female vocals", duration=3)
    spec = data["resolved_spec"]
    assert not spec["instrumental"] and spec["singer"]["name"] == "Nova"
    assert spec["sources"]["singer"] == "prompt word 'female' -> Nova (Synthwave) sings"
    job = await running_services.context.jobs.wait(data["generation_id"], timeout_s=180)
    assert job["status"] == "completed", job
    track = running_services.music.library.track_for_generation(data["generation_id"])
    assert track["spec"]["singer"]["character_id"] == "nova_synthwave" and not track["instrumental"]

    lead = await _generate(api, prompt="synthwave with female vocals", character_id="instrument")
    assert lead["resolved_spec"]["singer"] is None and not lead["resolved_spec"]["instrumental"]
    assert lead["resolved_spec"]["sources"]["singer"] == "explicit: a lead instrument plays the vocal melody"
    rex = await _generate(api, prompt="synthwave with female vocals", character_id="rex_rock")
    assert rex["resolved_spec"]["sources"]["singer"] == "explicit character_id 'rex_rock' -> Rex sings"
    plain = await _generate(api, prompt="synthwave with female vocals", instrumental=True)
    assert plain["resolved_spec"]["instrumental"] and plain["resolved_spec"]["singer"] is None
    for generation in (lead, rex, plain):
        running_services.context.jobs.cancel(generation["generation_id"])
    resp = await api.post("/api/music/generate", json={"prompt": "x", "character_id": "ghost", **TINY},
                          headers=api.auth_headers)
    assert resp.status == 404 and "ghost" in (await resp.json())["error"]["message"]


async def test_an_extension_can_be_sung_by_someone_else(api, running_services):
    data = await _generate(api, prompt="lo-fi song with female vocals", duration=3)
    job = await running_services.context.jobs.wait(data["generation_id"], timeout_s=180)
    assert job["status"] == "completed", job
    resp = await api.post("/api/music/extend", json={"audio_id": data["generation_id"], "additional_duration": 2,
                                                     "character_id": "rex_rock"}, headers=api.auth_headers)
    assert resp.status == 200, await resp.json()
    extension = running_services.context.jobs.get((await resp.json())["extend_id"])
    spec = extension["params"]["spec"]
    assert spec["singer"]["name"] == "Rex" and "character_id" in spec["sources"]["singer"]
    running_services.context.jobs.cancel(extension["id"])
