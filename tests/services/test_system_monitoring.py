"""System monitoring: the Prometheus registry (requests, jobs, render speed, queue), the resource
history, performance from the request log and jobs, storage breakdown, GPU report and the seed 003
health services map."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from studio.jobs import JobError, JobHandler
from studio.services.system.metrics import render_figures
from studio.services.system.monitoring import SystemMonitor, percentiles
from studio.timeutil import utcnow


def families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(text: str, name: str, **labels) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


# --- requests -----------------------------------------------------------------------------------
def test_request_counter_per_route_template_and_status_class(services):
    metrics = services.system.metrics
    for latency in (3.0, 40.0, 700.0):
        metrics.observe_request("GET", "/api/jobs/{job_id}", 200, latency)
    metrics.observe_request("GET", "/api/jobs/{job_id}", 404, 1.0)
    metrics.observe_request("BREW", None, 404, 1.0)  # an unknown method and no route: bounded labels
    text = metrics.exposition()
    assert value(text, "studio_http_requests_total", route="/api/jobs/{job_id}", status_class="2xx") == 3
    assert value(text, "studio_http_requests_total", route="/api/jobs/{job_id}", status_class="4xx") == 1
    assert value(text, "studio_http_requests_total", method="OTHER", route="unmatched") == 1
    labels = {"method": "GET", "route": "/api/jobs/{job_id}", "status_class": "2xx"}
    assert metrics.sample("studio_http_request_duration_seconds_count", labels) == 3
    assert metrics.sample("studio_http_request_duration_seconds_sum", labels) == pytest.approx(0.743)
    assert metrics.sample("studio_http_request_duration_seconds_bucket", {**labels, "le": "0.05"}) == 2
    assert metrics.sample("studio_http_request_duration_seconds_bucket", {**labels, "le": "0.5"}) == 2


def test_two_studios_in_one_process_keep_their_own_registries(services, tmp_path):
    from studio.app import build_services, shutdown
    from studio.config import Settings

    other = build_services(Settings(home=tmp_path / "other", port=0))
    try:
        services.system.metrics.observe_request("GET", "/api/status", 200, 1.0)
        labels = {"method": "GET", "route": "/api/status", "status_class": "2xx"}
        assert services.system.metrics.sample("studio_http_requests_total", labels) == 1
        assert other.system.metrics.sample("studio_http_requests_total", labels) is None
    finally:
        shutdown(other)


def test_exposition_parses_and_holds_queue_process_and_analysis_families(services):
    services.context.jobs.submit("test.steps", {})
    services.context.jobs.submit("test.steps", {})
    text = services.system.metrics.exposition()
    found = families(text)
    for name in ("studio_http_requests", "studio_http_request_duration_seconds", "studio_jobs_finished",
                 "studio_job_duration_seconds", "studio_render_realtime_factor", "studio_jobs",
                 "studio_job_queue_length", "studio_job_workers", "studio_uptime_seconds", "studio_build_info",
                 "studio_predictions", "studio_prediction_processing_seconds"):
        assert name in found, name
    assert value(text, "studio_job_queue_length") == 2  # read at scrape time
    assert value(text, "studio_jobs", state="queued") == 2
    assert value(text, "studio_predictions", status="completed") == 0
    assert value(text, "process_resident_memory_bytes") > 0


def test_a_failing_source_drops_its_families_not_the_scrape(services):
    def broken():
        raise RuntimeError("database is locked")

    services.system.metrics.add_collector("broken", broken)
    assert "studio_jobs" in families(services.system.metrics.exposition())


# --- jobs and render speed ----------------------------------------------------------------------
def test_render_figures_read_what_generation_and_speech_jobs_store():
    assert render_figures({"duration_s": 30.0, "wall_s": 6.0}) == (30.0, 6.0)
    assert render_figures({"speech_duration_s": 4.0, "wall_s": 2.0}) == (4.0, 2.0)
    assert render_figures({"steps_done": 2}) is None
    assert render_figures({"duration_s": 30.0, "wall_s": 0}) is None
    assert render_figures(None) is None


async def test_job_counts_durations_and_realtime_factor_per_kind(running_services):
    jobs = running_services.context.jobs

    def render(job):
        if job.params.get("fail"):
            raise JobError("no")
        return {"duration_s": 12.0, "wall_s": 3.0}

    jobs.register(JobHandler(kind="test.render", run=render))
    for params in ({}, {}, {"fail": True}):
        job = jobs.submit("test.render", params)
        await jobs.wait(job["id"], timeout_s=10)
    steps = jobs.submit("test.steps", {"steps": 3, "step_s": 0.02})
    await jobs.wait(steps["id"], timeout_s=10)

    m = running_services.system.metrics
    assert m.sample("studio_jobs_finished_total", {"kind": "test.render", "state": "completed"}) == 2
    assert m.sample("studio_jobs_finished_total", {"kind": "test.render", "state": "failed"}) == 1
    assert m.sample("studio_job_duration_seconds_count", {"kind": "test.render", "state": "completed"}) == 2
    # measured from the start event: three steps of 20 ms
    assert m.sample("studio_job_duration_seconds_sum", {"kind": "test.steps", "state": "completed"}) >= 0.05
    assert m.sample("studio_render_realtime_factor_count", {"kind": "test.render"}) == 2
    assert m.sample("studio_render_realtime_factor_sum", {"kind": "test.render"}) == pytest.approx(8.0)
    assert m.sample("studio_render_audio_seconds_total", {"kind": "test.render"}) == pytest.approx(24.0)
    assert m.sample("studio_render_compute_seconds_total", {"kind": "test.render"}) == pytest.approx(6.0)
    assert m.sample("studio_render_realtime_factor_count", {"kind": "test.steps"}) is None  # renders nothing


def test_a_job_cancelled_in_the_queue_counts_without_a_duration(services):
    jobs = services.context.jobs
    job = jobs.submit("test.steps", {})
    jobs.cancel(job["id"])
    m = services.system.metrics
    assert m.sample("studio_jobs_finished_total", {"kind": "test.steps", "state": "cancelled"}) == 1
    assert m.sample("studio_job_duration_seconds_count", {"kind": "test.steps", "state": "cancelled"}) is None


# --- history ------------------------------------------------------------------------------------
def test_samples_go_into_a_bounded_ring_buffer(services):
    monitor = SystemMonitor(services.context, health=services.system.health, uptime_s=lambda: 1.0,
                            backups_dir=services.system.backups_dir, interval_s=5.0, history_s=15.0)
    services.context.jobs.submit("test.steps", {})
    for _ in range(5):
        point = monitor.sample()
    assert len(monitor.history) == 3 and monitor.history.maxlen == 3
    assert point["queue_length"] == 1 and point["processing"] == 0
    assert 0.0 <= (point["memory_percent"] or 0) <= 100.0 and point["process_rss_bytes"] > 0
    history = monitor.metrics(history=True)["history"]
    assert history["interval_s"] == 5.0 and history["capacity"] == 3 and len(history["samples"]) == 3
    assert "history" not in monitor.metrics()


async def test_the_sampler_runs_on_the_loop_and_stops(services):
    monitor = SystemMonitor(services.context, health=services.system.health, uptime_s=lambda: 1.0,
                            backups_dir=services.system.backups_dir, interval_s=0.02, history_s=60.0)
    monitor.start()
    monitor.start()  # a second start does nothing
    for _ in range(200):
        if len(monitor.history) >= 3:
            break
        await asyncio.sleep(0.01)
    assert len(monitor.history) >= 3 and monitor.sampling
    monitor.stop()
    await asyncio.sleep(0)
    assert not monitor.sampling


def test_metrics_measure_the_process_and_the_queue(services):
    services.context.jobs.submit("test.steps", {})
    figures = services.system.monitoring.metrics()
    assert figures["queue"] == {"length": 1, "processing": 0, "workers": services.context.jobs.max_concurrent}
    assert figures["jobs"]["queued"] == 1 and set(figures["jobs"]) >= {"completed", "failed", "cancelled"}
    process = figures["process"]
    assert process["rss_bytes"] > 0 and process["threads"] >= 1 and process["open_files"] is not None
    assert figures["disk"]["free_bytes"] > 0 and figures["cpu"]["count_logical"] >= 1
    assert 0 < figures["memory"]["used_bytes"] < figures["memory"]["total_bytes"]


# --- performance --------------------------------------------------------------------------------
def test_performance_from_the_request_log_and_finished_jobs(services):
    now = utcnow()
    rows = [{"at": now, "request_id": f"req_{i}", "method": "GET", "path": "/api/status", "route": "/api/status",
             "status": 200, "latency_ms": float(i + 1)} for i in range(100)]
    rows += [{"at": now, "request_id": "req_e", "method": "POST", "path": "/api/jobs/x/cancel",
              "route": "/api/jobs/{job_id}/cancel", "status": 500, "latency_ms": 5.0},
             {"at": now, "request_id": "req_m", "method": "GET", "path": "/nope", "route": None,
              "status": 404, "latency_ms": 1.0},
             {"at": now - timedelta(hours=3), "request_id": "req_old", "method": "GET", "path": "/api/status",
              "route": "/api/status", "status": 200, "latency_ms": 9999.0}]
    services.system.record_requests(rows)
    from studio.db.models import Job

    with services.context.db.session() as s:
        for i, (status, result) in enumerate([("completed", {"duration_s": 30.0, "wall_s": 10.0}),
                                              ("completed", {"duration_s": 10.0, "wall_s": 10.0}),
                                              ("failed", None)]):
            s.add(Job(id=f"gen_{i}", kind="generate", params={}, status=status, result=result,
                      created_at=now, started_at=now - timedelta(seconds=10 * (i + 1)), finished_at=now))

    report = services.system.monitoring.performance(window_minutes=60)
    requests = report["requests"]
    assert requests["total"] == 102 and requests["per_minute"] == pytest.approx(102 / 60, abs=1e-3)
    assert requests["error_rate"] == pytest.approx(1 / 102, abs=1e-4)
    assert requests["client_error_rate"] == pytest.approx(1 / 102, abs=1e-4)
    routes = {r["route"]: r for r in report["routes"]}
    status = routes["GET /api/status"]
    assert status["requests"] == 100 and status["server_errors"] == 0
    assert (status["latency_ms"]["p50"], status["latency_ms"]["p95"], status["latency_ms"]["p99"]) == (50, 95, 99)
    assert routes["POST /api/jobs/{job_id}/cancel"]["server_errors"] == 1
    assert routes["GET unmatched"]["client_errors"] == 1
    generate = report["jobs"]["generate"]
    assert generate["finished"] == 3 and generate["by_state"] == {"completed": 2, "failed": 1}
    assert generate["duration_s"]["p50"] == pytest.approx(20.0) and generate["duration_s"]["max"] == pytest.approx(30.0)
    render = report["render"]["generate"]
    assert render["jobs"] == 2 and render["realtime_factor"] == pytest.approx(2.0)  # 40 s of audio in 20 s
    assert render["realtime_factor_per_job"]["max"] == pytest.approx(3.0)

    empty = services.system.monitoring.performance(window_minutes=1)
    assert empty["requests"]["total"] == 102  # all within the minute but the old one
    assert services.system.monitoring.performance(window_minutes=60 * 24)["requests"]["total"] == 103


def test_percentiles_nearest_rank():
    assert percentiles([])["p50"] is None
    figures = percentiles([float(x) for x in range(1, 11)])
    assert (figures["p50"], figures["p95"], figures["p99"], figures["max"], figures["count"]) == (5, 10, 10, 10, 10)


# --- resources ----------------------------------------------------------------------------------
def test_storage_breakdown_counts_the_files_in_the_data_dir(services):
    monitor = services.system.monitoring
    before = monitor.storage()
    settings = services.settings
    (settings.media_dir / "ab").mkdir(parents=True, exist_ok=True)
    (settings.media_dir / "ab" / "one.wav").write_bytes(b"x" * 1000)
    (settings.media_dir / "two.wav").write_bytes(b"x" * 234)
    services.system.backups_dir.mkdir(parents=True, exist_ok=True)
    (services.system.backups_dir / "b.tar.gz").write_bytes(b"x" * 5000)
    (settings.logs_dir / "studio.log.1").write_bytes(b"x" * 77)
    (settings.home / "notes.txt").write_bytes(b"x" * 11)
    after = monitor.storage()

    def grew(part: str) -> tuple[int, int]:
        return (after["breakdown"][part]["bytes"] - before["breakdown"][part]["bytes"],
                after["breakdown"][part]["files"] - before["breakdown"][part]["files"])

    assert grew("media") == (1234, 2)
    assert grew("backups") == (5000, 1)
    assert grew("logs") == (77, 1)
    assert grew("other") == (11, 1)
    database = after["breakdown"]["database"]
    db_path = services.context.db.sqlite_path
    assert database["bytes"] >= db_path.stat().st_size > 0 and database["files"] >= 1
    assert after["total_bytes"] == sum(p["bytes"] for p in after["breakdown"].values())
    assert after["disk"]["free_bytes"] > 0 and after["disk"]["total_bytes"] >= after["disk"]["used_bytes"]


def test_gpu_on_a_machine_without_one_says_so_with_null_figures(services):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    report = services.system.monitoring.gpu()
    assert report["available"] is False and report["reason"]
    assert report["devices"] == [] and report["device_count"] == 0
    assert report["memory_total_bytes"] is None and report["memory_used_bytes"] is None
    assert report["memory_reserved_bytes"] is None


def test_memory_reports_system_swap_and_process(services):
    memory = services.system.monitoring.memory()
    assert 0 < memory["system"]["available_bytes"] <= memory["system"]["total_bytes"]
    assert memory["process"]["rss_bytes"] > 0 and memory["swap"]["total_bytes"] >= 0


# --- seed 003 health ----------------------------------------------------------------------------
def test_health_services_grade_the_real_checks(services, monkeypatch):
    monitor = services.system.monitoring
    report = monitor.health_services({"model": "up", "storage": "up", "queue": "down"})
    assert report["services"]["database"] == "healthy" and report["services"]["ml_pipeline"] == "healthy"
    assert report["services"]["job_queue"] == "unhealthy" and report["services"]["connectors"] == "not_configured"
    assert isinstance(report["uptime"], int) and report["uptime"] >= 0

    def down():
        raise OSError("disk I/O error")

    monkeypatch.setattr(services.context.db, "ping", down)
    assert monitor.health_services()["services"]["database"] == "unhealthy"
