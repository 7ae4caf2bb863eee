"""Script writing through a local Ollama (a fake server speaking its /api/generate wire format),
and the fallback to the built-in writer when it is missing or failing; voice matching from a URL
or a local path."""

from __future__ import annotations

import io
import json
import threading

import numpy as np
import pytest
import soundfile as sf
from aiohttp import web

from studio.services.voices import VoiceError, matching


async def test_scripts_from_ollama_when_configured_else_built_in(services, aiohttp_server):
    seen: list[dict] = []
    mode = {"fail": False}

    async def generate(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body)
        if mode["fail"]:
            return web.json_response({"error": "model 'llama3.2' not found"}, status=404)
        return web.json_response({"model": body["model"], "created_at": "2026-12-02T00:00:00Z",
                                  "response": "  *Hey* dreamers, it's Luna. Tonight the rain plays along.  ",
                                  "done": True, "done_reason": "stop", "total_duration": 123})

    app = web.Application()
    app.router.add_post("/api/generate", generate)
    server = await aiohttp_server(app)
    services.voices.characters.initialize()

    writer = services.voices.writer
    built_in = await writer.write_script("luna_lofi", "introduction", topic="rain", duration_s=20, seed=5)
    assert built_in["source"] == "built-in writer" and not seen  # no URL set: Ollama is not asked

    services.settings.ollama_url = f"http://127.0.0.1:{server.port}"
    services.settings.ollama_model = "llama3.2"
    script = await writer.write_script("luna_lofi", "introduction", topic="rain", mood="calm", duration_s=20, seed=5)
    assert script["source"] == "ollama:llama3.2"
    assert script["script"] == "Hey dreamers, it's Luna. Tonight the rain plays along."
    assert script["word_count"] == 9 and script["duration_estimate"] > 0
    request = seen[-1]
    assert request["model"] == "llama3.2" and request["stream"] is False and request["options"]["seed"] == 5
    assert "Luna" in request["system"] and "rain" in request["prompt"] and "calm" in request["prompt"]
    json.dumps(request)  # plain JSON on the wire

    mode["fail"] = True
    fallback = await writer.write_script("luna_lofi", "introduction", topic="rain", duration_s=20, seed=5)
    assert fallback["source"] == "built-in writer" and fallback["script"] == built_in["script"]

    services.settings.ollama_url = "http://127.0.0.1:9"  # nothing listens: falls back too
    assert (await writer.write_script("luna_lofi", "outro", duration_s=10, seed=1))["source"] == "built-in writer"


async def test_clone_from_a_url_or_a_local_path_reads_off_the_loop(services, aiohttp_server, tmp_path, monkeypatch):
    """Voice matching from one recording named by URL (downloaded, size-capped) or by local path
    (read on a worker thread); errors say what to fix, with the HTTP status the API answers."""
    rate = 16000
    tone = (0.3 * np.sin(2 * np.pi * 180 * np.arange(4 * rate) / rate)).astype(np.float32)
    wav = io.BytesIO()
    sf.write(wav, tone, rate, format="WAV")

    async def recording(request: web.Request) -> web.Response:
        return web.Response(body=wav.getvalue(), content_type="audio/wav")

    app = web.Application()
    app.router.add_get("/takes/speaker.wav", recording)
    server = await aiohttp_server(app)
    services.settings.allowed_private_hosts = ["127.0.0.1"]  # the fake receiver runs on loopback
    base = f"http://127.0.0.1:{server.port}"
    voices = services.voices
    voices.characters.initialize()

    result = await voices.matching.submit_clone_from(name="From URL", audio_url=f"{base}/takes/speaker.wav")
    assert result["samples_uploaded"] == 1 and abs(result["total_duration"] - 4.0) < 0.05
    assert voices.catalog.get_voice(result["voice_id"])["profile"]["samples"][0]["filename"] == "speaker.wav"

    path = tmp_path / "me.wav"
    path.write_bytes(wav.getvalue())
    services.settings.allowed_folders = [tmp_path]
    threads: list[int] = []
    read = matching._read_local_sample
    monkeypatch.setattr(matching, "_read_local_sample", lambda *a: threads.append(threading.get_ident()) or read(*a))
    result = await voices.matching.submit_clone_from(name="From path", audio_path=str(path), character_id="luna_lofi")
    assert result["samples_uploaded"] == 1 and voices.catalog.get_voice(result["voice_id"])["character_id"] == "luna_lofi"
    assert threads and threads[0] != threading.get_ident()  # the file was read off the loop's thread

    cases = [
        ({"audio_url": f"{base}/takes/missing.wav"}, 400, "audio_url", "HTTP 404"),
        ({"audio_url": "ftp://example.com/a.wav"}, 400, "audio_url", "http(s)"),
        ({"audio_path": str(tmp_path / "notes.txt")}, 400, "audio_path", "WAV, FLAC, OGG or MP3"),
        ({"audio_path": str(tmp_path / "gone.wav")}, 400, "audio_path", "not a file"),
        ({}, 400, "audio_url", "multipart"),
    ]
    for source, status, field, text in cases:
        with pytest.raises(VoiceError) as caught:
            await voices.matching.submit_clone_from(name="x", **source)
        assert (caught.value.http_status, caught.value.field) == (status, field) and text in caught.value.message

    monkeypatch.setattr(matching, "MAX_SAMPLE_BYTES", 1000)  # larger than the cap: refused, whichever the source
    for source in ({"audio_url": f"{base}/takes/speaker.wav"}, {"audio_path": str(path)}):
        with pytest.raises(VoiceError) as caught:
            await voices.matching.submit_clone_from(name="x", **source)
        assert caught.value.http_status == 413 and "larger than" in caught.value.message
    assert len(voices.catalog.list_voices()) == 2  # refused sources stored nothing


def test_a_characters_base_voice_is_what_it_speaks_and_sings_with(services):
    """Base voices: built-in male and female (and installed Piper voices, tested through the API);
    the default female characters speak with the female one; a matched or sung voice follows it."""
    voices = services.voices
    voices.characters.initialize()
    listed = {v["id"]: v for v in voices.catalog.base_voices()}
    assert listed["hibari-heart"]["gender"] == "female" and listed["en_US-joe-medium"]["gender"] == "male"
    luna = voices.characters.get_character("luna_lofi")
    assert luna["voice_settings"]["base_voice"] == "hibari-heart"
    assert voices.characters.get_character("kai_lofi")["voice_settings"]["base_voice"] == "en_US-joe-medium"
    audio, rate = voices.speech.preview_speech("Hi friends.", luna["voice_settings"])
    assert rate == 24000 and audio.size > 0.3 * rate
    assert voices.singers.singer_options("luna_lofi")["base_voice"] == "hibari-heart"

    created = voices.characters.create_character({"name": "Max Two", "voice": {"base_voice": "hibari-heart"}})
    assert created["voice_settings"]["base_voice"] == "hibari-heart"
    updated, fields = voices.characters.update_character(created["id"], {"voice": {"base_voice": "en_US-joe-medium"}})
    assert fields == ["voice"] and updated["voice_settings"]["base_voice"] == "en_US-joe-medium"
    with pytest.raises(VoiceError, match="unknown base voice") as err:
        voices.characters.update_character(created["id"], {"voice": {"base_voice": "/etc/passwd.onnx"}})
    assert err.value.http_status == 422
