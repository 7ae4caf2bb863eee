"""Seed 001 webhooks: signed JSON POSTs to a local receiver, retried with backoff after a 5xx."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat

from aiohttp import web

from studio.services.webhooks import SIGNATURE_HEADER

V1 = "/api/v1/ai"


def make_receiver(statuses: dict[str, list[int]]):
    """An app recording every POST; `statuses[event]` are the answers, in order (then 200)."""
    received: list[dict] = []

    async def hook(request: web.Request) -> web.Response:
        raw = await request.read()
        body = json.loads(raw)
        answers = statuses.get(body["event"], [])
        status = answers.pop(0) if answers else 200
        received.append({"raw": raw, "body": body, "headers": dict(request.headers), "answered": status})
        return web.json_response({"ok": status < 300}, status=status)

    app = web.Application()
    app.router.add_post("/hook", hook)
    return app, received


async def test_generation_webhooks_are_signed_and_retried(api, running_services, aiohttp_server):
    app, received = make_receiver({"generation_started": [500]})
    server = await aiohttp_server(app)
    running_services.settings.allowed_private_hosts = ["127.0.0.1"]  # the fake receiver runs on loopback
    hooks = running_services.webhooks
    hooks.retry_delays_s = (0.05, 0.1, 0.2)
    url = str(server.make_url("/hook"))
    body = {"parameters": {"genre": "lofi", "duration": 3, "audio_quality": "draft", "output_formats": ["wav"], "seed": 2},
            "callback_url": url, "webhook_events": ["generation_started", "generation_completed"]}
    resp = await api.post(f"{V1}/generate", json=body, headers=api.auth_headers)
    data = (await resp.json())["data"]
    generation_id = data["generation_id"]
    job = await running_services.context.jobs.wait(generation_id, timeout_s=120)
    assert job["status"] == "completed"
    await hooks.drain(timeout_s=10)

    secret = hooks.secret
    assert len(secret) == 64 and stat.S_IMODE(hooks.secret_path.stat().st_mode) == 0o600
    for item in received:
        expected = "sha256=" + hmac.new(secret.encode(), item["raw"], hashlib.sha256).hexdigest()
        assert hmac.compare_digest(item["headers"][SIGNATURE_HEADER], expected)
        assert item["headers"]["X-Studio-Event"] == item["body"]["event"]
        assert item["headers"]["X-Studio-Delivery"] == item["body"]["delivery_id"]
        assert item["body"]["data"]["generation_id"] == generation_id
    events = [(item["body"]["event"], item["answered"]) for item in received]
    assert events == [("generation_started", 500), ("generation_started", 200), ("generation_completed", 200)]
    started = [item for item in received if item["body"]["event"] == "generation_started"]
    assert started[0]["raw"] == started[1]["raw"]  # the retry sends the same delivery
    completed = received[-1]["body"]["data"]
    assert completed["status"] == "completed" and completed["track_id"] == job["result"]["track_id"]
    assert completed["formats_available"] == ["wav"] and completed["track_url"].endswith(completed["track_id"])

    resp = await api.get(f"{V1}/generations/{generation_id}", headers=api.auth_headers)
    webhook = (await resp.json())["data"]["webhook"]
    assert webhook["url"] == url and webhook["events"] == ["generation_started", "generation_completed"]
    deliveries = {d["event"]: d for d in webhook["deliveries"]}
    assert deliveries["generation_started"]["status"] == "delivered"
    assert [a["status_code"] for a in deliveries["generation_started"]["attempts"]] == [500, 200]
    assert [a["status_code"] for a in deliveries["generation_completed"]["attempts"]] == [200]

    resp = await api.get(f"{V1}/webhooks/secret", headers=api.auth_headers)
    info = (await resp.json())["data"]
    assert info["secret"] == secret and info["header"] == SIGNATURE_HEADER


async def test_client_errors_are_final_and_unreachable_receivers_give_up(running_services, aiohttp_server):
    app, received = make_receiver({"generation_failed": [410]})
    server = await aiohttp_server(app)
    running_services.settings.allowed_private_hosts = ["127.0.0.1"]  # the fake receiver runs on loopback
    hooks = running_services.webhooks
    hooks.retry_delays_s = (0.01, 0.01)
    hooks.send(str(server.make_url("/hook")), "generation_failed", {"generation_id": "gen_x"}, subject="gen_x")
    hooks.send("http://127.0.0.1:1/nothing-listens", "generation_completed", {"generation_id": "gen_y"}, subject="gen_y")
    await hooks.drain(timeout_s=10)
    assert [item["answered"] for item in received] == [410]
    gone = hooks.deliveries("gen_x")[0]
    assert gone["status"] == "failed" and [a["status_code"] for a in gone["attempts"]] == [410]
    unreachable = hooks.deliveries("gen_y")[0]
    assert unreachable["status"] == "failed" and len(unreachable["attempts"]) == 3
    assert all("error" in a for a in unreachable["attempts"])


async def test_batch_completed_webhook(api, running_services, aiohttp_server):
    app, received = make_receiver({})
    server = await aiohttp_server(app)
    running_services.settings.allowed_private_hosts = ["127.0.0.1"]  # the fake receiver runs on loopback
    body = {"base_parameters": {"genre": "ambient", "duration": 2, "audio_quality": "draft", "output_formats": ["wav"]},
            "variations": [{"variation_id": "a"}, {"variation_id": "b", "customizations": {"key": "A_minor"}}],
            "batch_settings": {"notify_when_all_complete": True},
            "callback_url": str(server.make_url("/hook")), "webhook_events": ["batch_completed"]}
    resp = await api.post(f"{V1}/generate-batch", json=body, headers=api.auth_headers)
    data = (await resp.json())["data"]
    for generation_id in data["generation_ids"]:
        assert (await running_services.context.jobs.wait(generation_id, timeout_s=120))["status"] == "completed"
    await running_services.webhooks.drain(timeout_s=10)
    assert [item["body"]["event"] for item in received] == ["batch_completed"]
    payload = received[0]["body"]["data"]
    assert payload["batch_id"] == data["batch_id"] and payload["completed"] == 2 and payload["total"] == 2
    assert "webhook" not in payload
