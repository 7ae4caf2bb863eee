"""Maintenance jobs and the services registry (issue #19 item 3) against the real job queue."""

import asyncio
import logging
import logging.handlers
import os
import threading
import time
from datetime import timedelta

import pytest

from studio.db.models import MediaFile, RequestLog
from studio.services.system.maintenance import MaintenanceBusy, MaintenanceError, resolve_operations
from studio.services.system.services import ServiceActionRefused, UnknownService
from studio.timeutil import utcnow
from tests.support.steps_job import KIND, StepsJob

TWO_HOURS_AGO = time.time() - 7200


def _age(path, when=TWO_HOURS_AGO):
    os.utime(path, (when, when))


async def _run(services, operations=None):
    started = services.system.maintenance.start(operations)
    done = await services.context.jobs.wait(started["job"]["id"], timeout_s=30)
    assert done["status"] == "completed", done["error"]
    return started, done["result"]


async def test_maintenance_reports_every_step_and_removes_only_provable_orphans(running_services):
    store = running_services.context.store
    orphan = store.write_bytes(b"x" * 1000, prefix="gen", extension="wav")
    referenced = store.write_bytes(b"y" * 500, prefix="gen", extension="mp3")
    fresh = store.write_bytes(b"z" * 200, prefix="gen", extension="wav")
    for stored in (orphan, referenced):
        _age(stored.path)
    with running_services.context.db.session() as s:
        s.add(MediaFile(id=referenced.id, kind="audio", mime_type="audio/mpeg", size_bytes=500, sha256=referenced.sha256))
    old_temp, new_temp = store.temp_path(".wav"), store.temp_path(".wav")
    old_temp.write_bytes(b"t" * 300)
    _age(old_temp)

    started, result = await _run(running_services)
    assert started["operations"][0] == "integrity_check" and "vacuum" in started["operations"]
    steps = result["steps"]
    assert set(steps) == set(started["operations"])
    assert result["integrity"] == "ok" and steps["integrity_check"]["integrity"] == "ok"
    media = steps["orphaned_media"]
    assert media["deleted"] == [orphan.id] and media["bytes_freed"] == 1000 and media["kept_too_recent"] == 1
    assert not orphan.path.exists() and referenced.path.exists() and fresh.path.exists()
    assert steps["temp_cleanup"]["files_deleted"] == 1 and not old_temp.exists() and new_temp.exists()
    assert steps["optimize"]["status"] == "done"
    assert steps["vacuum"]["vacuumed"] is True and "reason" not in steps["vacuum"]
    assert result["bytes_freed"] >= 1300
    # the second run has a measured estimate
    again = running_services.system.maintenance.start(["integrity_check"])
    assert again["estimated_time"] >= 1 and not again["reasons"]
    await running_services.context.jobs.wait(again["job"]["id"])


async def test_a_file_named_only_in_a_job_result_is_kept(running_services):
    store = running_services.context.store
    kept = store.write_bytes(b"k" * 10, prefix="report", extension="pdf")
    _age(kept.path)
    job = running_services.context.jobs.submit(KIND, {"steps": 1, "file": kept.id})
    await running_services.context.jobs.wait(job["id"])
    _, result = await _run(running_services, ["orphaned_media"])
    assert result["steps"]["orphaned_media"]["files_deleted"] == 0 and kept.path.exists()


async def test_request_log_prune_reuses_the_retention_rule(running_services):
    days = running_services.settings.request_log_days
    with running_services.context.db.session() as s:
        for age_days in (days + 2, days + 1, 0):
            s.add(RequestLog(at=utcnow() - timedelta(days=age_days), request_id="req_x", method="GET",
                             path="/api", route="/api", status=200, latency_ms=1.0))
    _, result = await _run(running_services, ["request_log_prune"])
    assert result["steps"]["request_log_prune"]["rows_deleted"] == 2
    with running_services.context.db.session() as s:
        assert s.query(RequestLog).count() == 1


async def test_log_rotation_rolls_the_studio_log_over(running_services):
    logs_dir = running_services.settings.logs_dir
    logs_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(logs_dir / "studio.log", maxBytes=1 << 20, backupCount=2)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        (logs_dir / "studio.log").write_text("a line\n" * 10)
        _, result = await _run(running_services, ["log_rotation"])
    finally:
        root.removeHandler(handler)
        handler.close()
    assert result["steps"]["log_rotation"]["rotated"] == ["studio.log"]
    assert (logs_dir / "studio.log.1").read_text().startswith("a line")


async def test_vacuum_yields_to_a_running_job_and_releases_the_queue(running_services):
    jobs = running_services.context.jobs
    gate = threading.Event()
    jobs.register(StepsJob(gate).handler())
    jobs.set_max_concurrent(2)
    held = jobs.submit(KIND, {"steps": 3})
    for _ in range(200):
        if held["id"] in jobs.active_jobs():
            break
        await asyncio.sleep(0.01)
    try:
        _, result = await _run(running_services, ["vacuum"])
    finally:
        gate.set()
    vacuum = result["steps"]["vacuum"]
    assert vacuum["vacuumed"] is False and held["id"] in vacuum["reason"] and "checkpoint" in vacuum
    assert jobs.accepting  # the maintenance hold was released
    assert (await jobs.wait(held["id"]))["status"] == "completed"


async def test_a_damaged_database_stops_the_steps_that_change_things(running_services, monkeypatch):
    maintenance = running_services.system.maintenance
    monkeypatch.setattr(maintenance, "_integrity_check",
                        lambda job, grace: {"integrity": "problems", "problems": ["row 3 missing from index"]})
    orphan = running_services.context.store.write_bytes(b"o", prefix="gen")
    _age(orphan.path)
    _, result = await _run(running_services)
    assert result["integrity"] == "problems"
    for name in ("orphaned_media", "optimize", "vacuum"):
        assert result["steps"][name]["status"] == "skipped"
    assert orphan.path.exists()


def test_operation_names_are_checked(services):
    assert resolve_operations(["index_optimization", "log_rotation"]) == ["log_rotation", "optimize"]
    with pytest.raises(MaintenanceError, match="allowed: integrity_check"):
        resolve_operations(["defrag"])


async def test_one_maintenance_at_a_time(running_services):
    registry = running_services.system.services
    registry.control("job_workers", "stop")
    try:
        first = running_services.system.maintenance.start()
        with pytest.raises(MaintenanceBusy) as caught:
            running_services.system.maintenance.start()
        assert caught.value.job_id == first["job"]["id"]
    finally:
        registry.control("job_workers", "start")
    await running_services.context.jobs.wait(first["job"]["id"], timeout_s=30)


async def test_stopping_the_job_workers_stops_taking_jobs(running_services):
    jobs = running_services.context.jobs
    registry = running_services.system.services
    gate = threading.Event()
    jobs.register(StepsJob(gate).handler())
    running = jobs.submit(KIND, {"steps": 2})
    for _ in range(200):
        if running["id"] in jobs.active_jobs():
            break
        await asyncio.sleep(0.01)
    stopped = registry.control("job_workers", "stop")
    assert stopped["state"] == "stopped" and stopped["was_running"] is True and stopped["final_uptime"]
    waiting = jobs.submit(KIND, {"steps": 1})
    gate.set()
    assert (await jobs.wait(running["id"]))["status"] == "completed"  # the running one finished
    await asyncio.sleep(0.3)
    assert jobs.get(waiting["id"])["status"] == "queued"  # the new one was not taken
    assert registry.view("job_workers")["status"] == "stopped"
    started = registry.control("job_workers", "start")
    assert started["state"] == "running"
    assert (await jobs.wait(waiting["id"]))["status"] == "completed"
    view = registry.view("job_workers")
    assert view["status"] == "running" and view["last_activity"] is not None


async def test_registry_names_real_services_and_refuses_what_would_cut_off(running_services):
    registry = running_services.system.services
    assert set(registry.names) >= {"job_workers", "api_server", "request_log", "trend_monitor",
                                   "community_live", "webhooks"}
    with pytest.raises(UnknownService, match="services: job_workers"):
        registry.view("voice_empire")
    for name in ("api_server", "request_log", "webhooks"):
        with pytest.raises(ServiceActionRefused):
            registry.control(name, "stop")
    started = registry.control("trend_monitor", "start")
    assert started["state"] == "running" and registry.view("trend_monitor")["uptime"] is not None
    restarted = registry.control("trend_monitor", "restart")
    assert restarted["state"] == "running" and "previous_uptime" in restarted
    assert registry.control("trend_monitor", "stop")["state"] == "stopped"
    assert running_services.trends.monitor.state()["running"] is False


def test_connections_come_from_the_sources_state(services):
    assert services.system.system_status()["api_connections"] == {}
    sources = services.trends.sources
    name = sources.names()[0]
    sources.configure(name, enabled=True)
    assert services.system.connector_status() == {f"trends.{name}": "not_checked"}
    sources.record_scan(name, at=utcnow(), items=3)
    assert services.system.connector_status() == {f"trends.{name}": "connected"}
    sources.record_scan(name, at=utcnow(), error="HTTP 503")
    assert services.system.connector_status() == {f"trends.{name}": "error"}
    assert services.system.health()["checks"]["apis"] == "degraded"
