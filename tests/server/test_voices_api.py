"""The voices area over the API: seed 000 `/api/voice/...` and seed 002 `/api/characters/...`,
against the real Piper voice and script writer (short texts keep it quick)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from studio.db.models import MediaFile, Voice


async def call(api, method: str, path: str, **kwargs):
    resp = await api.request(method, path, headers=api.auth_headers, **kwargs)
    return resp.status, await resp.json()


def assert_seed000_error(status, body, expected, *mentions):
    assert status == expected, body
    assert body["status"] == "error" and body["error"]["request_id"].startswith("req_"), body
    for text in mentions:
        assert text in body["error"]["message"], (text, body)


def assert_envelope_error(status, body, expected, *mentions):
    assert status == expected, body
    assert body["success"] is False and body["request_id"].startswith("req_"), body
    for text in mentions:
        assert text in body["error"]["message"], (text, body)


@pytest.fixture
async def initialized(api):
    status, body = await call(api, "POST", "/api/voice/initialize")
    assert status == 200, body
    return body


async def test_initialize_is_idempotent_and_lists_eight_distinct_characters(api, initialized):
    assert initialized["status"] == "success" and initialized["characters_created"] == 8
    ids = [c["id"] for c in initialized["characters"]]
    assert {"luna_lofi", "kai_lofi", "zara_trap"} <= set(ids)
    status, again = await call(api, "POST", "/api/voice/initialize")
    assert again["characters_created"] == 0 and "nothing was created" in again["message"]
    assert again["total_characters"] == 8

    status, listing = await call(api, "GET", "/api/voice/characters")
    assert status == 200 and listing["total_characters"] == 8
    luna = next(c for c in listing["characters"] if c["id"] == "luna_lofi")
    assert luna["name"] == "Luna" and luna["genre"] == "Lo-Fi" and luna["personality"] == "Dreamy meditation guide"
    assert luna["backstory"] and luna["voice_quality"] == "dreamy_female" and luna["total_content"] == 0
    assert luna["revenue_multiplier"] is None  # no published statistics: nothing invented
    voices = {(c["voice_settings"]["pitch_semitones"], c["voice_settings"]["formant_shift"]) for c in listing["characters"]}
    assert len(voices) == 8  # every character has its own voice


async def test_synthesize_then_history_and_download(api, running_services, initialized):
    status, body = await call(api, "POST", "/api/voice/characters/nobody/synthesize", json={"text": "Hi"})
    assert_seed000_error(status, body, 404, "character 'nobody'")
    status, body = await call(api, "POST", "/api/voice/characters/luna_lofi/synthesize", json={"text": ""})
    assert_seed000_error(status, body, 422, "text")
    status, body = await call(api, "POST", "/api/voice/characters/luna_lofi/synthesize", json={"text": "x" * 5001})
    assert_seed000_error(status, body, 422, "5000")
    status, body = await call(api, "POST", "/api/voice/characters/luna_lofi/synthesize",
                              json={"text": "Hello", "emotion": "furious-ish"})
    assert_seed000_error(status, body, 422, "emotion")

    status, body = await call(api, "POST", "/api/voice/characters/luna_lofi/synthesize",
                              json={"text": "Welcome to another dreamy journey with Luna.", "emotion": "calm",
                                    "speed": 0.9, "pitch": 0.1})
    assert status == 200 and body["status"] == "processing", body
    assert body["synthesis_id"].startswith("synth_") and body["character"] == "luna_lofi"
    assert body["estimated_time"] > 0 and "assuming" in body["estimate_basis"]  # nothing measured yet
    job = await running_services.context.jobs.wait(body["synthesis_id"], timeout_s=120)
    assert job["status"] == "completed", job

    status, history = await call(api, "GET", "/api/voice/characters/luna_lofi/content?page=1&limit=10")
    assert history["total_content"] == 1
    item = history["content"][0]
    assert item["id"] == body["synthesis_id"] and item["type"] == "synthesis" and item["status"] == "completed"
    assert item["download_url"] == f"/api/voice/content/download/{body['synthesis_id']}"
    assert item["views"] is None and "statistics" in history["performance_source"]
    resp = await api.get(item["download_url"], headers=api.auth_headers)
    assert resp.status == 200 and resp.headers["Content-Type"] == "audio/wav"
    audio, rate = sf.read(io.BytesIO(await resp.read()))
    assert rate == 44100 and 1.5 < len(audio) / rate < 8 and np.abs(audio).max() > 0.05
    assert item["duration"] == pytest.approx(len(audio) / rate, abs=0.01)
    resp = await api.get(item["download_url"] + "?format=mp3", headers=api.auth_headers)
    assert resp.status == 200 and resp.headers["Content-Type"] == "audio/mpeg"
    resp = await api.get(item["download_url"], headers={**api.auth_headers, "Range": "bytes=0-99"})
    assert resp.status == 206 and len(await resp.read()) == 100
    status, body = await call(api, "GET", "/api/voice/content/download/content_nope")
    assert_seed000_error(status, body, 404, "content_nope")

    status, listing = await call(api, "GET", "/api/voice/characters")
    luna = next(c for c in listing["characters"] if c["id"] == "luna_lofi")
    assert luna["total_content"] == 1 and luna["last_active"]
    status, analytics = await call(api, "GET", "/api/voice/characters/luna_lofi/analytics")
    perf = analytics["performance"]
    assert perf["total_content"] == 1 and perf["total_views"] is None and perf["revenue_generated"] is None
    assert perf["performance_source"] and perf["content_by_type"]["synthesis"]["count"] == 1
    status, dash = await call(api, "GET", "/api/voice/dashboard")
    assert dash["summary"]["total_characters"] == 8 and dash["summary"]["total_content"] == 1
    assert dash["summary"]["monthly_revenue"] is None and dash["most_active"][0]["character"] == "luna_lofi"
    status, again = await call(api, "POST", "/api/voice/characters/luna_lofi/synthesize", json={"text": "Hi."})
    assert again["estimate_basis"] == "median speed of the last 1 speech jobs here"  # now measured here
    await running_services.context.jobs.wait(again["synthesis_id"], timeout_s=120)


async def test_content_job_writes_a_script_in_character_and_voices_it(api, running_services, initialized):
    status, body = await call(api, "POST", "/api/voice/characters/zara_trap/generate",
                              json={"content_type": "introduction", "duration": 6, "topic": "my new mixtape",
                                    "mood": "excited", "include_music": False, "seed": 3})
    assert status == 200 and body["status"] == "processing", body
    assert body["content_id"].startswith("content_") and body["character"] == "zara_trap"
    script = body["script"]
    assert "my new mixtape" in script["script"] and script["word_count"] > 5
    assert any(greeting in script["script"] for greeting in ("Zara", "zara"))
    assert body["script_preview"] and script["source"] == "built-in writer"
    job = await running_services.context.jobs.wait(body["content_id"], timeout_s=120)
    assert job["status"] == "completed", job

    status, latest = await call(api, "GET", "/api/voice/characters/zara_trap/script")
    assert latest["script"] == script["script"] and latest["content_id"] == body["content_id"]
    assert latest["emotion_tags"] and latest["word_count"] == script["word_count"]
    status, fresh = await call(api, "GET", "/api/voice/characters/kai_lofi/script")  # nothing yet: a new intro
    assert fresh["content_type"] == "introduction" and "Kai" in fresh["script"] and fresh["duration_estimate"] > 0
    status, body = await call(api, "GET", "/api/voice/characters/kai_lofi/script?content_type=sermon")
    assert_seed000_error(status, body, 422, "content_type")
    status, body = await call(api, "POST", "/api/voice/characters/kai_lofi/generate",
                              json={"content_type": "intro", "duration": 5000})
    assert_seed000_error(status, body, 422, "duration")


async def test_update_character_and_batch(api, running_services, initialized):
    status, body = await call(api, "PUT", "/api/voice/characters/luna_lofi",
                              json={"personality_update": "More energetic and upbeat",
                                    "voice_settings": {"pitch": 0.2, "speed": 1.1, "emotion": "excited"},
                                    "content_schedule": "daily"})
    assert status == 200, body
    assert set(body["updated_fields"]) == {"personality", "voice_settings"}  # schedule was already daily
    assert body["voice_settings"]["pitch_semitones"] == pytest.approx(2.4) and body["voice_settings"]["speed"] == 1.1
    status, body = await call(api, "PUT", "/api/voice/characters/luna_lofi", json={"voice_settings": {"emotion": "x"}})
    assert_seed000_error(status, body, 422, "emotion")
    status, body = await call(api, "PUT", "/api/voice/characters/nobody", json={"content_schedule": "daily"})
    assert_seed000_error(status, body, 404, "nobody")

    status, body = await call(api, "POST", "/api/voice/characters/batch",
                              json={"operation": "generate_weekly_content", "characters": ["luna_lofi", "nobody"],
                                    "content_types": ["intro"]})
    assert_seed000_error(status, body, 404, "nobody")
    status, body = await call(api, "POST", "/api/voice/characters/batch",
                              json={"operation": "generate_weekly_content", "characters": ["luna_lofi", "kai_lofi"],
                                    "content_types": ["intro", "outro"], "duration": 4})
    assert status == 200 and body["status"] == "processing" and body["total_operations"] == 4, body
    assert body["batch_id"].startswith("voice_batch_")
    for op in body["operations"]:
        job = await running_services.context.jobs.wait(op["content_id"], timeout_s=180)
        assert job["status"] == "completed", job
    status, history = await call(api, "GET", "/api/voice/characters/kai_lofi/content")
    assert sorted(c["type"] for c in history["content"]) == ["introduction", "outro"]


async def test_seed002_character_crud_captions_and_voices(api, running_services, initialized):
    status, body = await call(api, "POST", "/api/characters", json={"bio": "no name"})
    assert_envelope_error(status, body, 422, "name")
    new = {"name": "Milo", "bio": "A folk singer from the hills", "age": 30, "location": "Galway, Ireland",
           "timezone": "Europe/Dublin", "interests": ["hiking", "fiddles"], "genre": "Folk", "style": "folk",
           "personality": {"extroversion": 0.6, "creativity": 0.8, "humor": 0.7, "professionalism": 0.5,
                           "authenticity": 0.9, "communication_style": "casual", "preferred_topics": ["nature"],
                           "content_tone": "friendly", "temperature": 0.7},
           "appearance": {"hair_color": "red", "eye_color": "green", "style_keywords": ["wool"]},
           "voice_settings": {"pitch_semitones": -1, "formant_shift": 0.98, "emotion": "friendly"},
           "words": {"greetings": ["Hello there, Milo here."], "vocabulary": ["earthy", "gentle"]}}
    status, body = await call(api, "POST", "/api/characters", json=new)
    assert status == 201 and body["success"] is True, body
    milo = body["data"]
    assert milo["id"] == "milo_folk" and milo["personality_traits"]["humor"] == 0.7 and milo["age"] == 30
    assert milo["voice_settings"]["formant_shift"] == 0.98 and milo["appearance"]["hair_color"] == "red"
    status, body = await call(api, "POST", "/api/characters", json={**new, "style": "polka"})
    assert_envelope_error(status, body, 422, "polka")

    status, body = await call(api, "GET", "/api/characters?search=folk&limit=5")
    assert body["data"]["total"] == 1 and body["data"]["characters"][0]["id"] == "milo_folk"
    status, body = await call(api, "GET", "/api/characters?status=paused")
    assert body["data"]["total"] == 0
    status, body = await call(api, "GET", "/api/characters/ghost")
    assert_envelope_error(status, body, 404, "ghost")
    status, body = await call(api, "PUT", "/api/characters/milo_folk", json={"status": "paused", "age": 31})
    assert status == 200 and set(body["data"]["updated_fields"]) == {"status", "age"}
    status, body = await call(api, "GET", "/api/characters?status=paused")
    assert body["data"]["total"] == 1

    status, body = await call(api, "POST", "/api/characters/milo_folk/generate/content",
                              json={"content_type": "caption", "context": "Instagram post about morning routine",
                                    "tone": "calm", "max_length": 120, "seed": 1})
    assert status == 200, body
    caption = body["data"]
    assert len(caption["text"]) <= 120 and "morning routine" in caption["text"]
    status, history = await call(api, "GET", "/api/voice/characters/milo_folk/content")
    assert history["content"][0]["type"] == "caption"

    status, body = await call(api, "GET", "/api/voice/list")
    assert body["success"] and body["data"]["voices"][0]["voice_id"] == "piper_joe"
    status, body = await call(api, "GET", "/api/characters/milo_folk/voice/list")
    assert body["data"]["voices"] == [] and body["data"]["current_voice_id"] == "piper_joe"
    status, body = await call(api, "DELETE", "/api/characters/milo_folk/voice/voice_nope")
    assert_envelope_error(status, body, 404, "voice_nope")

    status, body = await call(api, "POST", "/api/voice/generate", json={"text": "Hello"})
    assert_envelope_error(status, body, 422, "character_id")
    status, body = await call(api, "POST", "/api/characters/milo_folk/voice/generate",
                              json={"text": "Morning, friends.", "speed": 1.0, "pitch": 1.0})
    assert status == 202 and body["data"]["status"] == "processing", body
    job = await running_services.context.jobs.wait(body["data"]["job_id"], timeout_s=120)
    assert job["status"] == "completed", job

    status, body = await call(api, "DELETE", "/api/characters/milo_folk")
    assert status == 200 and body["data"]["content_deleted"] == 2 and body["data"]["files_deleted"] == 2
    status, body = await call(api, "GET", "/api/characters/milo_folk")
    assert status == 404


async def test_bad_voice_samples_are_refused_and_nothing_is_stored(api, running_services, initialized, tmp_path):
    def form(*files, name="Me"):
        from aiohttp import FormData

        data = FormData()
        for content, filename in files:
            data.add_field("audio_samples", content, filename=filename)
        if name is not None:
            data.add_field("voice_name", name)
        return data

    rate = 16000
    tone = (0.3 * np.sin(2 * np.pi * 180 * np.arange(rate) / rate)).astype(np.float32)
    short, silent = io.BytesIO(), io.BytesIO()
    sf.write(short, tone[: rate // 4], rate, format="WAV")
    sf.write(silent, np.zeros(rate * 4, dtype=np.float32), rate, format="WAV")
    cases = [
        (form((b"not audio at all", "notes.txt")), 400, "unsupported file type"),
        (form((b"", "empty.wav")), 400, "empty"),
        (form((b"RIFF garbage", "broken.wav")), 400, "not a readable WAV"),
        (form((short.getvalue(), "short.wav")), 400, "at least"),
        (form((silent.getvalue(), "silent.wav")), 400, "silent"),
        (form(), 400, "audio_samples"),  # only a text field: aiohttp sends it urlencoded
        (form((short.getvalue(), "short.wav"), name=""), 422, "voice_name"),
    ]
    for data, expected, text in cases:
        status, body = await call(api, "POST", "/api/voice/clone", data=data)
        assert_seed000_error(status, body, expected, text)
    one_second = io.BytesIO()
    sf.write(one_second, tone, rate, format="WAV")
    status, body = await call(api, "POST", "/api/voice/clone", data=form((one_second.getvalue(), "a.wav")))
    assert_seed000_error(status, body, 400, "3 s")  # 1 s in all: too little to match
    status, body = await call(api, "POST", "/api/voice/clone", json={"voice_name": "x"})
    assert_seed000_error(status, body, 400, "multipart")
    status, body = await call(api, "POST", "/api/characters/luna_lofi/voice/clone",
                              json={"name": "x", "audio_path": "/etc/passwd"})
    assert_envelope_error(status, body, 403, "outside the folders")
    running_services.settings.allowed_folders = [tmp_path]
    status, body = await call(api, "POST", "/api/characters/luna_lofi/voice/clone",
                              json={"name": "x", "audio_path": str(tmp_path / "notes.txt")})
    assert_envelope_error(status, body, 400, "WAV, FLAC, OGG or MP3")
    status, body = await call(api, "POST", "/api/characters/luna_lofi/voice/clone",
                              json={"name": "x", "audio_path": str(tmp_path / "missing.wav")})
    assert_envelope_error(status, body, 400, "not a file")
    with running_services.context.db.session() as s:
        assert s.query(Voice).count() == 0 and s.query(MediaFile).filter_by(kind="voice_sample").count() == 0

    four_seconds = io.BytesIO()
    sf.write(four_seconds, np.tile(tone, 4), rate, format="WAV")
    status, body = await call(api, "POST", "/api/voice/clone", data=form((four_seconds.getvalue(), "b.wav")))
    assert status == 200 and body["status"] == "processing" and body["samples_uploaded"] == 1, body
    status, listing = await call(api, "GET", "/api/voice/list")  # listed while it is being matched
    assert listing["data"]["voices"][1]["status"] == "processing"
    running_services.context.jobs.cancel(body["clone_id"])  # accepted is all this test needs


async def test_voice_matching_end_to_end(api, running_services, initialized, tmp_path):
    """Recordings of a 'speaker' (the built-in voice reshaped: +6 st, brighter) matched for Kai:
    the voice becomes Kai's, lists its similarity before/after, speaks, and can be deleted."""
    from aiohttp import FormData

    from studio.engine.instruments.voice import VoiceSettings, speak

    data = FormData()
    for i, text in enumerate(("Good morning everyone, welcome to the show. Today we have a great lineup.",
                              "I recorded this one at home with an old guitar and a cup of coffee.")):
        audio, rate = speak(text, VoiceSettings(pitch_semitones=6.0, formant_shift=1.12), deterministic=True)
        buffer = io.BytesIO()
        sf.write(buffer, audio, rate, format="FLAC")
        data.add_field("audio_samples", buffer.getvalue(), filename=f"take{i}.flac")
    data.add_field("voice_name", "Bright narrator")
    data.add_field("voice_description", "my test speaker")
    resp = await api.post("/api/characters/kai_lofi/voice/clone", data=data, headers=api.auth_headers)
    body = await resp.json()
    assert resp.status == 202 and body["success"], body
    clone = body["data"]
    assert clone["samples_uploaded"] == 2 and clone["total_duration"] > 5 and clone["voice_id"].startswith("voice_")
    job = await running_services.context.jobs.wait(clone["clone_id"], timeout_s=240)
    assert job["status"] == "completed", job

    status, body = await call(api, "GET", "/api/characters/kai_lofi/voice/list")
    data = body["data"]
    assert data["current_voice_id"] == clone["voice_id"] and data["total"] == 1
    voice = data["voices"][0]
    assert voice["status"] == "ready" and voice["name"] == "Bright narrator" and "not a neural" in voice["note"]
    assert voice["transform"]["pitch_semitones"] == pytest.approx(6.0, abs=2.6)
    assert voice["profile"]["similarity_after"] > voice["profile"]["similarity_before"]
    status, body = await call(api, "GET", "/api/voice/list")
    assert [v["voice_id"] for v in body["data"]["voices"]] == ["piper_joe", clone["voice_id"]]

    status, body = await call(api, "POST", "/api/voice/generate",
                              json={"character_id": "kai_lofi", "text": "Testing my new voice.",
                                    "voice_id": clone["voice_id"]})
    assert status == 202, body
    job = await running_services.context.jobs.wait(body["data"]["job_id"], timeout_s=120)
    assert job["status"] == "completed", job

    status, body = await call(api, "DELETE", f"/api/characters/kai_lofi/voice/{clone['voice_id']}")
    assert status == 200 and body["data"]["files_deleted"] == 2
    status, body = await call(api, "GET", "/api/characters/kai_lofi")
    assert body["data"]["voice_id"] == "piper_joe"  # back to the built-in voice


async def test_content_over_a_music_bed_from_the_library(api, running_services, initialized):
    job = running_services.music.generation.submit_generation(
        {"style": "lofi_hip_hop", "duration": 4, "audio_quality": "draft", "seed": 2, "instrumental": True,
         "output_formats": ["wav"]}, source="test")
    assert (await running_services.context.jobs.wait(job["id"], timeout_s=120))["status"] == "completed"
    track_id = running_services.music.library.track_for_generation(job["id"])["id"]
    status, body = await call(api, "POST", "/api/voice/characters/luna_lofi/generate",
                              json={"content_type": "outro", "duration": 4, "include_music": True, "seed": 1})
    assert status == 200, body
    done = await running_services.context.jobs.wait(body["content_id"], timeout_s=120)
    assert done["status"] == "completed", done
    content = running_services.voices.content.get_content(body["content_id"])
    assert content["music"] == {"source": "library", "track_id": track_id, "title": content["music"]["title"]}
    mix = done["result"]["mix"]
    assert mix["with_music"] and mix["voice_start_s"] == 1.5
    # the bed (looped: the track is shorter than the speech) plays before and after the voice
    assert content["duration"] == pytest.approx(mix["voice_start_s"] + mix["voice_duration_s"] + 2.5, abs=0.05)
    assert mix["integrated_lufs"] == pytest.approx(-16.0, abs=0.5)
    path, _row = running_services.voices.content.content_file(content["id"])
    audio, rate = sf.read(path)
    lead_in = audio[int(0.5 * rate):int(1.4 * rate)]
    assert np.sqrt(np.mean(lead_in ** 2)) > 1e-3  # music alone before the voice
    status, body = await call(api, "POST", "/api/voice/characters/luna_lofi/generate",
                              json={"content_type": "outro", "include_music": True, "track_id": "trk_nope"})
    assert_seed000_error(status, body, 404, "trk_nope")


async def test_a_character_sings_a_generated_track(api, running_services, initialized):
    """POST /api/music/generate with lyrics and a character_id: the vocals stem is sung in that
    character's voice (and the spec says who sings)."""
    body = {"prompt": "summer pop song", "style": "pop", "duration": 8, "audio_quality": "draft", "seed": 5,
            "lyrics": "Summer nights are calling me\nDancing by the open sea", "character_id": "luna_lofi",
            "output_formats": ["wav", "stems"]}
    resp = await api.post("/api/music/generate", json=body, headers=api.auth_headers)
    data = await resp.json()
    assert resp.status == 200, data
    assert data["resolved_spec"]["singer"]["name"] == "Luna"
    assert data["resolved_spec"]["singer"]["formant_shift"] == pytest.approx(1.02)
    assert data["resolved_spec"]["singer"]["base_voice"] == "hibari-heart"  # Luna sings with the female voice
    job = await running_services.context.jobs.wait(data["generation_id"], timeout_s=240)
    assert job["status"] == "completed", job
    status = await (await api.get(f"/api/music/status/{data['generation_id']}", headers=api.auth_headers)).json()
    resp = await api.get(status["stems"]["vocals"], headers=api.auth_headers)
    vocals, rate = sf.read(io.BytesIO(await resp.read()))
    assert np.sqrt(np.mean(vocals ** 2)) > 0.01  # the voice is there

    status, err = await call(api, "POST", "/api/music/generate", json={**body, "character_id": "nobody"})
    assert_seed000_error(status, err, 404, "nobody")
    status, err = await call(api, "POST", "/api/v1/ai/generate",
                             json={"parameters": {"genre": "pop", "duration": 5, "character_id": "nobody",
                                                  "lyrics": {"enabled": True, "theme": "x"}}})
    assert_envelope_error(status, err, 404, "nobody")
