"""Maintenance, services control, system status and settings over the API (issue #19 item 3)."""

import asyncio


async def test_maintenance_job_over_the_api(api, running_services):
    h = api.auth_headers
    resp = await api.post("/api/system/maintenance", json={"operations": ["integrity_check", "cache_clearing"]},
                          headers=h)
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "processing"
    assert body["maintenance_id"].startswith("maint_") and body["operations"] == ["integrity_check", "temp_cleanup"]
    assert body["estimated_time"] is None and "estimated_time" in body["reasons"]
    await running_services.context.jobs.wait(body["maintenance_id"], timeout_s=30)
    job = (await (await api.get(body["status_url"], headers=h)).json())["job"]
    assert job["status"] == "completed" and job["result"]["integrity"] == "ok"
    assert job["result"]["steps"]["temp_cleanup"]["status"] == "done"
    # no body at all: every step
    resp = await api.post("/api/system/maintenance", headers=h)
    everything = await resp.json()
    assert resp.status == 200 and len(everything["operations"]) == 7
    await running_services.context.jobs.wait(everything["maintenance_id"], timeout_s=30)


async def test_maintenance_errors(api, running_services):
    h = api.auth_headers
    resp = await api.post("/api/system/maintenance", json={"operations": ["defrag"]}, headers=h)
    body = await resp.json()
    assert resp.status == 400 and "defrag" in body["error"]["message"]
    assert "integrity_check" in body["error"]["details"]["allowed"] and "vacuum" in body["error"]["message"]
    resp = await api.post("/api/system/maintenance", json={"grace_hours": 0.01}, headers=h)
    assert resp.status == 422 and (await resp.json())["error"]["details"]["parameter"] == "grace_hours"
    # one at a time: with the workers stopped the first stays queued
    assert (await api.post("/api/services/job_workers/stop", headers=h)).status == 200
    first = await (await api.post("/api/system/maintenance", headers=h)).json()
    again = await api.post("/api/system/maintenance", headers=h)
    assert again.status == 409 and first["maintenance_id"] in (await again.json())["error"]["message"]
    assert (await api.post("/api/services/job_workers/start", headers=h)).status == 200
    await running_services.context.jobs.wait(first["maintenance_id"], timeout_s=30)


async def test_admin_only(api, running_services):
    key, _ = running_services.auth.create_key("limited", role="user")
    user = {"X-API-Key": key}
    for path in ("/api/system/maintenance", "/api/services/job_workers/stop", "/api/system/services/trend_monitor/restart"):
        resp = await api.post(path, headers=user)
        assert resp.status == 403, path
    assert (await api.put("/api/settings", json={"log_level": "DEBUG"}, headers=user)).status == 403
    assert (await api.get("/api/services", headers=user)).status == 200  # reading is for every key
    assert running_services.context.jobs.accepting


async def test_services_list_get_and_control(api, running_services):
    h = api.auth_headers
    listed = (await (await api.get("/api/services", headers=h)).json())["services"]
    names = [s["name"] for s in listed]
    assert {"job_workers", "api_server", "trend_monitor", "community_live", "webhooks", "request_log"} <= set(names)
    workers = next(s for s in listed if s["name"] == "job_workers")
    assert workers["status"] == "running" and workers["actions"]["stop"].startswith("take no new job")
    resp = await api.get("/api/services/voice_empire", headers=h)
    body = await resp.json()
    assert resp.status == 404 and "job_workers" in body["error"]["message"]
    assert "trend_monitor" in body["error"]["details"]["services"]
    assert (await api.post("/api/services/voice_empire/stop", headers=h)).status == 404
    resp = await api.post("/api/services/api_server/stop", headers=h)
    body = await resp.json()
    assert resp.status == 409 and body["error"]["code"] == "CONFLICT" and "cut the caller off" in body["error"]["message"]
    assert (await api.post("/api/system/services/api_server/restart", headers=h)).status == 409
    assert (await api.post("/api/services/webhooks/stop", headers=h)).status == 409

    # seed 000's shapes
    stop = await (await api.post("/api/system/services/job_workers/stop", headers=h)).json()
    assert stop["status"] == "success" and stop["service"] == "job_workers" and stop["action"] == "stop"
    assert stop["stop_time"] and stop["state"] == "stopped"
    job = running_services.context.jobs.submit("test.steps", {"steps": 1})
    await asyncio.sleep(0.3)
    assert running_services.context.jobs.get(job["id"])["status"] == "queued"
    one = (await (await api.get("/api/services/job_workers", headers=h)).json())["service"]
    assert one["status"] == "stopped" and one["held_by"] == ["stopped"]
    restart = await (await api.post("/api/system/services/job_workers/restart", headers=h)).json()
    assert restart["action"] == "restart" and restart["restart_time"] and restart["state"] == "running"
    assert (await running_services.context.jobs.wait(job["id"]))["status"] == "completed"

    started = await (await api.post("/api/services/community_live/start", headers=h)).json()
    assert started["action"] == "start" and started["state"] == "stopped"  # no source is enabled
    assert started["details"]["polling"] == []
    again = await (await api.post("/api/system/services/job_workers/start", headers=h)).json()
    assert again["action"] == "start" and again["was_running"] is True and again["state"] == "running"
    restarted = await (await api.post("/api/services/job_workers/restart", headers=h)).json()
    assert restarted["action"] == "restart" and restarted["previous_uptime"] is not None
    stopped = await (await api.post("/api/services/trend_monitor/stop", headers=h)).json()
    assert stopped["was_running"] is False and stopped["final_uptime"] is None
    assert stopped["details"]["was_running"] is False and stopped["details"]["final_stats"]["scans_done"] == 0


async def test_system_status_services_and_reasons(api, running_services):
    h = api.auth_headers
    job = running_services.context.jobs.submit("test.steps", {"steps": 1})
    await running_services.context.jobs.wait(job["id"])
    body = await (await api.get("/api/system/status", headers=h)).json()
    assert body["status"] == "operational" and body["api_connections"] == {}
    services = {s["name"]: s for s in body["services"]}
    assert services["job_workers"]["status"] == "running" and services["job_workers"]["last_activity"]
    assert services["job_workers"]["workers"] == 1 and "queued" in services["job_workers"]
    assert body["system_health"]["network_latency"] is None
    assert "system_health.network_latency" in body["reasons"]
    assert services["trend_monitor"]["last_activity"] is None
    assert "services.trend_monitor.last_activity" in body["reasons"]


async def test_settings_is_the_config(api, running_services):
    h = api.auth_headers
    settings = await (await api.get("/api/settings", headers=h)).json()
    config = await (await api.get("/api/system/config", headers=h)).json()
    assert settings == config and settings["configuration"]["generation_settings"]["max_concurrent"] == 1
    resp = await api.put("/api/settings", json={"generation_settings": {"max_concurrent": 2}}, headers=h)
    body = await resp.json()
    assert resp.status == 200 and body["updated_settings"] == ["max_concurrent"] and body["restart_required"] is False
    assert running_services.context.jobs.max_concurrent == 2
    bad = await api.put("/api/settings", json={"generation_settings": {"max_concurrent": 99}}, headers=h)
    assert bad.status == 422 and (await bad.json())["error"]["details"]["parameter"] == "generation_settings.max_concurrent"
    assert (await api.put("/api/settings", json={}, headers=h)).status == 422
