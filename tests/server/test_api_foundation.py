"""The API frame: auth, error shapes, rate limits, request ids and log, docs, config, jobs, WebSocket."""

import asyncio

from studio.config import RateLimit
from studio.server.keys import RATE_LIMITER, REQUEST_LOG
from tests.support.steps_job import KIND


async def test_public_endpoints(api):
    resp = await api.get("/api/health")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "healthy" and body["checks"]["database"] == "ok"
    assert resp.headers["X-Request-ID"].startswith("req_")
    root = await (await api.get("/api")).json()
    assert root["docs"] == "/docs" and root["health"] == "/api/health"


async def test_missing_and_bad_credentials_get_401_in_documented_shape(api):
    resp = await api.get("/api/status")
    assert resp.status == 401
    body = await resp.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == "UNAUTHORIZED"
    assert "studio keys create" in body["error"]["message"]
    assert body["error"]["request_id"] == resp.headers["X-Request-ID"]
    resp = await api.get("/api/status", headers={"X-API-Key": "sk_000000000000_nope"})
    assert resp.status == 401


async def test_three_ways_to_send_a_key(api):
    for kwargs in ({"headers": {"Authorization": f"Bearer {api.key}"}},
                   {"headers": {"X-API-Key": api.key}},
                   {"params": {"api_key": api.key}}):
        resp = await api.get("/api/status", **kwargs)
        assert resp.status == 200, kwargs
        assert (await resp.json())["status"] == "operational"


async def test_login_session_authenticates(api, running_services):
    password = running_services.auth.reset_password() if not running_services.auth.needs_bootstrap() else running_services.auth.bootstrap().password
    bad = await api.post("/api/auth/login", json={"username": "admin", "password": "nope"})
    assert bad.status == 401
    resp = await api.post("/api/auth/login", json={"username": "admin", "password": password})
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "success" and body["expires_in"] == 3600
    status = await api.get("/api/status", headers={"Authorization": f"Bearer {body['session_id']}"})
    assert status.status == 200


async def test_error_shapes(api):
    h = api.auth_headers
    resp = await api.get("/api/does-not-exist", headers=h)
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "NOT_FOUND"
    resp = await api.get("/api/v1/does-not-exist", headers=h)
    body = await resp.json()
    assert resp.status == 404 and body["success"] is False and body["error"]["code"] == "NOT_FOUND"
    assert body["request_id"] == resp.headers["X-Request-ID"] and "timestamp" in body
    resp = await api.delete("/api/health")
    assert resp.status == 405 and "GET" in (await resp.json())["error"]["message"]
    resp = await api.post("/api/auth/keys", data="{not json", headers=h)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "INVALID_REQUEST"
    resp = await api.post("/api/auth/keys", json={"name": "x", "role": "root"}, headers=h)
    body = await resp.json()
    assert resp.status == 422 and body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["details"]["parameter"] == "role" and "role" in body["error"]["message"]
    resp = await api.get("/api/jobs", params={"limit": "lots"}, headers=h)
    assert resp.status == 422 and (await resp.json())["error"]["details"]["parameter"] == "limit"
    resp = await api.get("/api/jobs/test_00000000", headers=h)
    assert resp.status == 404 and "test_00000000" in (await resp.json())["error"]["message"]


async def test_oversized_body_is_413(api, running_services):
    running_services.settings.max_body_mb = 1
    resp = await api.post("/api/auth/keys", data=b"x" * (2 * 1024 * 1024), headers=api.auth_headers)
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_no_stack_trace_reaches_the_client(api, running_services, monkeypatch):
    def broken():
        raise RuntimeError("secret internals")

    monkeypatch.setattr(running_services.system, "status", broken)
    resp = await api.get("/api/status", headers=api.auth_headers)
    body = await resp.json()
    assert resp.status == 500 and body["error"]["code"] == "INTERNAL_ERROR"
    assert "secret internals" not in str(body) and body["error"]["request_id"] in body["error"]["message"]


async def test_rate_limit_headers_and_429(api, running_services):
    api.app[RATE_LIMITER].configure({"/api/system/": RateLimit(requests=2, window_s=3600),
                                       "default": RateLimit(requests=1000, window_s=60)})
    h = api.auth_headers
    first = await api.get("/api/system/config", headers=h)
    assert first.headers["X-RateLimit-Limit"] == "2" and first.headers["X-RateLimit-Remaining"] == "1"
    assert first.headers["X-RateLimit-Window"] == "3600" and int(first.headers["X-RateLimit-Reset"]) > 0
    await api.get("/api/system/config", headers=h)
    third = await api.get("/api/system/config", headers=h)
    body = await third.json()
    assert third.status == 429 and int(third.headers["Retry-After"]) > 0
    assert body["error"]["code"] == "RATE_LIMITED" and body["error"]["retry_after"] > 0
    assert body["error"]["limits"]["current"] == "2 requests per hour"
    # Another group is counted separately.
    other = await api.get("/api/status", headers=h)
    assert other.status == 200 and other.headers["X-RateLimit-Limit"] == "1000"


def test_rate_limit_groups_match_prefixes_and_id_patterns():
    from studio.config import _default_rate_limits
    from studio.server.ratelimit import RateLimiter

    limiter = RateLimiter(_default_rate_limits())
    assert limiter.group_for("/api/voice/characters/luna_lofi/synthesize") == "/api/voice/characters/*/synthesize"
    assert limiter.group_for("/api/voice/characters/luna_lofi/script") == "default"
    assert limiter.group_for("/api/voice/clone") == "/api/voice/clone"
    assert limiter.group_for("/api/music/generate") == "/api/music/generate"
    assert limiter.group_for("/api/system/config") == "/api/system/"


async def test_requests_are_logged(api, running_services):
    await api.get("/api/status", headers=api.auth_headers)
    await api.get("/api/health")
    api.app[REQUEST_LOG].flush()
    from sqlalchemy import select

    from studio.db.models import RequestLog

    with running_services.context.db.session() as s:
        rows = s.scalars(select(RequestLog)).all()
    by_path = {r.path: r for r in rows}
    assert by_path["/api/status"].status == 200 and by_path["/api/status"].key_id.startswith("key_")
    assert by_path["/api/status"].route == "/api/status" and by_path["/api/status"].latency_ms > 0


async def test_openapi_and_docs_are_local(api):
    spec = await (await api.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    assert "/api/health" in spec["paths"] and "/api/system/config" in spec["paths"]
    put = spec["paths"]["/api/system/config"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ConfigUpdate"
    assert "ConfigUpdate" in spec["components"]["schemas"]
    for page, asset in (("/docs", "/docs/assets/swagger-ui/swagger-ui-bundle.js"),
                        ("/redoc", "/docs/assets/redoc/redoc.standalone.js")):
        html = await (await api.get(page)).text()
        assert asset in html and "http://" not in html and "https://" not in html
        resp = await api.get(asset)
        assert resp.status == 200 and int(resp.headers["Content-Length"]) > 100_000


async def test_config_get_and_put(api, running_services):
    h = api.auth_headers
    config = (await (await api.get("/api/system/config", headers=h)).json())["configuration"]
    assert config["generation_settings"]["max_concurrent"] == 1
    resp = await api.put("/api/system/config", json={"generation_settings": {"max_concurrent": 3}}, headers=h)
    body = await resp.json()
    assert body["updated_settings"] == ["max_concurrent"] and body["restart_required"] is False
    assert running_services.context.jobs.max_concurrent == 3
    resp = await api.put("/api/system/config", json={"generation_settings": {"max_concurrent": 99}}, headers=h)
    assert resp.status == 422
    resp = await api.put("/api/system/config", json={"unknown": 1}, headers=h)
    assert resp.status == 422


async def test_user_role_cannot_use_admin_endpoints(api, running_services):
    key, _ = running_services.auth.create_key("limited", role="user")
    resp = await api.put("/api/system/config", json={"log_level": "DEBUG"}, headers={"X-API-Key": key})
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "FORBIDDEN"


async def test_keys_over_the_api(api):
    h = api.auth_headers
    created = await api.post("/api/auth/keys", json={"name": "ci"}, headers=h)
    body = await created.json()
    assert created.status == 201 and body["api_key"].startswith("sk_")
    assert (await api.get("/api/status", headers={"X-API-Key": body["api_key"]})).status == 200
    revoked = await api.delete(f"/api/auth/keys/{body['key']['id']}", headers=h)
    assert (await revoked.json())["key"]["revoked"] is True
    assert (await api.get("/api/status", headers={"X-API-Key": body["api_key"]})).status == 401


async def test_jobs_over_the_api(api, running_services):
    h = api.auth_headers
    job = running_services.context.jobs.submit(KIND, {"steps": 2})
    await running_services.context.jobs.wait(job["id"])
    listed = await (await api.get("/api/jobs", params={"status": "completed"}, headers=h)).json()
    assert job["id"] in [j["id"] for j in listed["jobs"]]
    resp = await api.post(f"/api/jobs/{job['id']}/cancel", headers=h)
    assert resp.status == 409 and "already completed" in (await resp.json())["error"]["message"]
    retry = await (await api.post(f"/api/jobs/{job['id']}/retry", headers=h)).json()
    assert retry["job"]["retry_of"] == job["id"]
    await running_services.context.jobs.wait(retry["job"]["id"])
    long = running_services.context.jobs.submit(KIND, {"steps": 200, "step_s": 0.01})
    resp = await api.post(f"/api/jobs/{long['id']}/cancel", headers=h)  # queued or running: both cancel
    assert resp.status == 200 and (await resp.json())["job"]["id"] == long["id"]
    assert (await running_services.context.jobs.wait(long["id"]))["status"] == "cancelled"


async def test_websocket_needs_auth_then_streams_job_events(api, running_services):
    async with api.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": "wrong"})
        msg = await ws.receive_json(timeout=5)
        assert msg["event"] == "error" and msg["data"]["code"] == "UNAUTHORIZED"
    async with api.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": api.key})
        assert (await ws.receive_json(timeout=5))["event"] == "authenticated"
        job = running_services.context.jobs.submit(KIND, {"steps": 3})
        seen = []
        while not seen or seen[-1]["event"] != "job_completed":
            seen.append(await ws.receive_json(timeout=5))
        assert {e["event"] for e in seen} >= {"job_queued", "job_progress", "job_completed"}
        assert all(e["data"]["id"] == job["id"] for e in seen)
        assert any(e["data"]["stage"] == "step 2/3" for e in seen)


async def test_backup_over_the_api(api, running_services):
    h = api.auth_headers
    resp = await api.post("/api/system/backup", headers=h)
    body = await resp.json()
    assert body["status"] == "processing" and body["backup_id"].startswith("backup_")
    await running_services.context.jobs.wait(body["backup_id"], timeout_s=30)
    listed = (await (await api.get("/api/system/backups", headers=h)).json())["backups"]
    assert listed[0]["status"] == "completed"
    download = await api.get(listed[0]["download_url"], headers=h)
    assert download.status == 200 and download.headers["Content-Type"] == "application/gzip"
    assert len(await download.read()) == listed[0]["size_bytes"]
    assert (await api.get("/api/system/backups/download/..%2F..%2Fetc", headers=h)).status == 404
    await asyncio.sleep(0)


async def test_a_blank_key_name_is_a_422_that_names_the_field(api):
    # found by Schemathesis (issue #19): a name of only whitespace passed the model, then failed in the service
    resp = await api.post("/api/auth/keys", json={"name": "\t ", "role": "user"}, headers=api.auth_headers)
    assert resp.status == 422, await resp.text()
    error = (await resp.json())["error"]
    assert "name must be 1-100 characters" in error["message"] and error["details"]["parameter"] == "name"
