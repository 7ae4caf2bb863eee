"""Issue #19: GET /api/errors and /api/errors/{error_id} show recorded failures (failed jobs, 5xx
responses from the request log), nothing invented, under stable ids; admin keys only."""

from __future__ import annotations

import logging
from datetime import timedelta

from studio.server.keys import REQUEST_LOG
from studio.services.system.logs import JsonLinesFormatter
from studio.timeutil import utcnow
from tests.support.steps_job import KIND


async def _failed_job(services, **params) -> dict:
    job = services.context.jobs.submit(KIND, {"fail_at": 0, **params}, title="Doomed")
    return await services.system.wait_job(job["id"], timeout_s=20)


async def test_nothing_failed_means_no_errors(api):
    resp = await api.get("/api/errors", headers=api.auth_headers)
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "success"
    assert body["errors"] == [] and body["total"] == 0 and body["counts"] == {"job": 0, "request": 0}


async def test_failed_jobs_and_5xx_responses_are_listed_newest_first(api, running_services, settings, monkeypatch):
    ok_job = running_services.context.jobs.submit(KIND, {"steps": 1}, title="Fine")
    await running_services.system.wait_job(ok_job["id"], timeout_s=20)
    failed = await _failed_job(running_services, lyrics="la " * 200, steps=3, tags=["a", "b"])
    assert failed["status"] == "failed"

    # A real unhandled error in a handler: the middleware answers 500, logs it and records the request.
    handler = logging.FileHandler(settings.logs_dir / "studio.log", encoding="utf-8")
    handler.setFormatter(JsonLinesFormatter())
    studio_logger = logging.getLogger("studio")
    studio_logger.addHandler(handler)
    monkeypatch.setattr(running_services.system, "system_status", lambda: 1 / 0)
    try:
        resp = await api.get("/api/system/status", headers=api.auth_headers)
    finally:
        studio_logger.removeHandler(handler)
        handler.close()
    assert resp.status == 500
    request_id = resp.headers["X-Request-ID"]
    await api.get("/api/health")  # a 200 and a 404 are no failures
    await api.get("/api/nowhere", headers=api.auth_headers)
    api.app[REQUEST_LOG].flush()

    body = await (await api.get("/api/errors", headers=api.auth_headers)).json()
    assert body["total"] == 2 and body["counts"] == {"job": 1, "request": 1}
    ids = [e["error_id"] for e in body["errors"]]
    assert ids[0].startswith("request_") and ids[1] == f"job_{failed['id']}"
    request_entry, job_entry = body["errors"]
    assert request_entry["route"] == "/api/system/status" and request_entry["status"] == 500
    assert request_entry["request_id"] == request_id and request_entry["source"] == "request"
    assert job_entry["code"] == "TEST_FAILURE" and job_entry["message"] == "step 0 failed on purpose"
    assert job_entry["kind"] == KIND

    only_jobs = await (await api.get("/api/errors", params={"source": "job"}, headers=api.auth_headers)).json()
    assert [e["error_id"] for e in only_jobs["errors"]] == [f"job_{failed['id']}"] and only_jobs["total"] == 1
    second = await (await api.get("/api/errors", params={"limit": "1", "offset": "1"}, headers=api.auth_headers)).json()
    assert [e["error_id"] for e in second["errors"]] == [ids[1]]

    detail = await (await api.get(f"/api/errors/{ids[1]}", headers=api.auth_headers)).json()
    job = detail["error_details"]
    assert job["kind"] == KIND and job["title"] == "Doomed" and job["error"]["code"] == "TEST_FAILURE"
    assert job["params"]["steps"] == 3 and job["params"]["tags"] == "2 items"
    assert job["params"]["lyrics"].startswith("la la") and "600 characters" in job["params"]["lyrics"]
    assert job["created_at"] and job["finished_at"] and job["job_url"] == f"/api/jobs/{failed['id']}"

    detail = await (await api.get(f"/api/errors/{ids[0]}", headers=api.auth_headers)).json()
    req = detail["error_details"]
    assert req["method"] == "GET" and req["route"] == "/api/system/status" and req["request_id"] == request_id
    assert req["occurred_at"] and req["latency_ms"] >= 0
    assert any("ZeroDivisionError" in entry["details"].get("exception", "") for entry in req["log_entries"])
    assert all(request_id in entry["message"] for entry in req["log_entries"])


async def test_unknown_ids_are_404_in_the_documented_shape(api, running_services):
    ok_job = running_services.context.jobs.submit(KIND, {"steps": 1})
    await running_services.system.wait_job(ok_job["id"], timeout_s=20)
    running_services.system.record_requests([{"request_id": "req_1", "method": "GET", "path": "/api/x",
                                              "route": "/api/x", "status": 200, "latency_ms": 3.0,
                                              "at": utcnow() - timedelta(minutes=1)}])
    for error_id in ("job_nope", f"job_{ok_job['id']}", "request_1", "request_999", "request_x", "nothing"):
        resp = await api.get(f"/api/errors/{error_id}", headers=api.auth_headers)
        body = await resp.json()
        assert resp.status == 404, (error_id, body)
        assert body["status"] == "error" and body["error"]["code"] == "NOT_FOUND" and error_id in body["error"]["message"]
    resp = await api.get("/api/errors", params={"source": "everything"}, headers=api.auth_headers)
    assert resp.status == 422 and (await resp.json())["error"]["details"]["parameter"] == "source"


async def test_errors_are_for_admin_keys(running_services, aiohttp_client):
    from studio.server.app import build_app

    key, _ = running_services.auth.create_key("viewer", role="user")
    client = await aiohttp_client(build_app(running_services))
    for path in ("/api/errors", "/api/errors/job_x"):
        resp = await client.get(path, headers={"Authorization": f"Bearer {key}"})
        assert resp.status == 403
