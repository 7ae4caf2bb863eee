"""Script writing through a local Ollama (a fake server speaking its /api/generate wire format),
and the fallback to the built-in writer when it is missing or failing."""

from __future__ import annotations

import json

from aiohttp import web


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
    services.voices.initialize()

    built_in = await services.voices.write_script("luna_lofi", "introduction", topic="rain", duration_s=20, seed=5)
    assert built_in["source"] == "built-in writer" and not seen  # no URL set: Ollama is not asked

    services.settings.ollama_url = f"http://127.0.0.1:{server.port}"
    services.settings.ollama_model = "llama3.2"
    script = await services.voices.write_script("luna_lofi", "introduction", topic="rain", mood="calm", duration_s=20, seed=5)
    assert script["source"] == "ollama:llama3.2"
    assert script["script"] == "Hey dreamers, it's Luna. Tonight the rain plays along."
    assert script["word_count"] == 9 and script["duration_estimate"] > 0
    request = seen[-1]
    assert request["model"] == "llama3.2" and request["stream"] is False and request["options"]["seed"] == 5
    assert "Luna" in request["system"] and "rain" in request["prompt"] and "calm" in request["prompt"]
    json.dumps(request)  # plain JSON on the wire

    mode["fail"] = True
    fallback = await services.voices.write_script("luna_lofi", "introduction", topic="rain", duration_s=20, seed=5)
    assert fallback["source"] == "built-in writer" and fallback["script"] == built_in["script"]

    services.settings.ollama_url = "http://127.0.0.1:9"  # nothing listens: falls back too
    assert (await services.voices.write_script("luna_lofi", "outro", duration_s=10, seed=1))["source"] == "built-in writer"
