"""Monitoring over HTTP: GET /metrics (Prometheus, admin key), /api/v1/metrics?format=prometheus
(the same exposition), seed 003 /api/v1/health services + uptime and /api/v1/status, seed 002
/api/monitoring/metrics|performance and /api/resources/gpu|memory|storage."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from studio.server.keys import REQUEST_LOG


def value(text: str, name: str, **labels) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


async def error_of(resp, status: int, code: str) -> dict:
    body = await resp.json()
    assert resp.status == status, body
    assert body["status"] == "error" and body["error"]["code"] == code, body
    return body["error"]


@pytest.fixture
def user_headers(running_services):
    key, _ = running_services.auth.create_key("viewer", role="user")
    return {"Authorization": f"Bearer {key}"}


async def test_metrics_count_requests_per_route_and_need_an_admin_key(api, user_headers):
    for _ in range(5):
        assert (await api.get("/api/status", headers=api.auth_headers)).status == 200
    for job_id in ("nope1", "nope2"):
        assert (await api.get(f"/api/jobs/{job_id}", headers=api.auth_headers)).status == 404
    assert (await api.get("/no/such/path", headers=api.auth_headers)).status == 404

    resp = await api.get("/metrics", headers=api.auth_headers)
    text = await resp.text()
    assert resp.status == 200 and resp.content_type == "text/plain" and "version=0.0.4" in resp.headers["Content-Type"]
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"studio_http_requests", "studio_http_request_duration_seconds", "studio_jobs",
            "studio_job_queue_length", "studio_predictions"} <= names
    assert value(text, "studio_http_requests_total", method="GET", route="/api/status", status_class="2xx") == 5
    assert value(text, "studio_http_request_duration_seconds_count", route="/api/status", status_class="2xx") == 5
    # the route template, never the path a client sent
    assert value(text, "studio_http_requests_total", route="/api/jobs/{job_id}", status_class="4xx") == 2
    assert value(text, "studio_http_requests_total", route="unmatched", status_class="4xx") == 1
    assert "nope1" not in text and "/no/such/path" not in text

    resp = await api.get("/metrics")
    await error_of(resp, 401, "UNAUTHORIZED")
    await error_of(await api.get("/metrics", headers=user_headers), 403, "FORBIDDEN")
    # the refused scrapes count too (under their route, 4xx), once the middleware saw them
    text = await (await api.get("/metrics", params={"api_key": api.key})).text()
    assert value(text, "studio_http_requests_total", route="/metrics", status_class="4xx") == 2
    assert value(text, "studio_http_requests_total", route="/metrics", status_class="2xx") == 1


async def test_v1_metrics_prometheus_is_the_same_exposition(api):
    first = await (await api.get("/metrics", headers=api.auth_headers)).text()
    resp = await api.get("/api/v1/metrics", params={"format": "prometheus"}, headers=api.auth_headers)
    second = await resp.text()
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    def names(text: str) -> set[str]:  # (a label set's `_created` gauge appears with its first sample)
        return {f.name for f in text_string_to_metric_families(text) if not f.name.endswith("_created")}

    assert names(first) == names(second) and "studio_predictions" in names(second)
    # the first scrape is in the second one's counters: one registry behind both paths
    assert value(second, "studio_http_requests_total", route="/metrics", status_class="2xx") == 1
    resp = await api.get("/api/v1/metrics", headers=api.auth_headers)  # the JSON form stays as it was
    assert resp.status == 200 and "predictions" in (await resp.json())["data"]


async def test_v1_health_carries_services_and_uptime_and_v1_status(api, running_services):
    resp = await api.get("/api/v1/health")
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "healthy"
    assert body["services"]["database"] == "healthy" and body["services"]["ml_pipeline"] == "healthy"
    assert body["services"]["job_queue"] == "healthy" and body["services"]["connectors"] == "not_configured"
    assert isinstance(body["uptime"], int) and body["uptime"] >= 0
    assert body["components"]["api"] == "up"  # seed 004's fields stay

    resp = await api.get("/api/v1/status", headers=api.auth_headers)
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "operational"
    assert {"cpu_usage", "memory_usage", "disk_usage", "process_memory_mb"} <= set(body["system_health"])
    assert body["services"] and all("name" in s and "status" in s for s in body["services"])
    # the same object as /api/system/status:
    seed000 = await (await api.get("/api/system/status", headers=api.auth_headers)).json()
    assert set(seed000) == set(body) and [s["name"] for s in seed000["services"]] == [s["name"] for s in body["services"]]
    resp = await api.get("/api/v1/status")
    body = await resp.json()
    assert resp.status == 401 and body["success"] is False  # /api/v1 errors in the envelope


async def test_monitoring_metrics_with_history(api, running_services, user_headers):
    running_services.system.monitoring.sample()
    running_services.system.monitoring.sample()
    resp = await api.get("/api/monitoring/metrics", headers=api.auth_headers)
    body = await resp.json()
    metrics = body["metrics"]
    assert resp.status == 200 and body["status"] == "success" and "history" not in metrics
    assert metrics["process"]["rss_bytes"] > 0 and metrics["queue"]["workers"] >= 1
    assert metrics["disk"]["path"] == str(running_services.settings.home)

    resp = await api.get("/api/monitoring/metrics", params={"history": "1"}, headers=user_headers)
    metrics = (await resp.json())["metrics"]
    assert len(metrics["history"]["samples"]) >= 2 and metrics["history"]["interval_s"] == 5.0
    assert metrics["disk"]["path"] is None  # not an admin

    error = await error_of(await api.get("/api/monitoring/metrics", params={"history": "maybe"},
                                         headers=api.auth_headers), 422, "VALIDATION_ERROR")
    assert error["details"]["parameter"] == "history"
    await error_of(await api.get("/api/monitoring/metrics", params={"hist": "1"}, headers=api.auth_headers),
                   422, "VALIDATION_ERROR")
    await error_of(await api.get("/api/monitoring/metrics"), 401, "UNAUTHORIZED")


async def test_monitoring_performance_from_the_request_log(api):
    for _ in range(4):
        await api.get("/api/status", headers=api.auth_headers)
    await api.get("/api/jobs/missing", headers=api.auth_headers)
    api.app[REQUEST_LOG].flush()
    resp = await api.get("/api/monitoring/performance", params={"window_minutes": "10"}, headers=api.auth_headers)
    body = await resp.json()
    performance = body["performance"]
    assert resp.status == 200 and performance["window_minutes"] == 10
    routes = {r["route"]: r for r in performance["routes"]}
    assert routes["GET /api/status"]["requests"] == 4 and routes["GET /api/status"]["latency_ms"]["p95"] > 0
    assert routes["GET /api/jobs/{job_id}"]["client_errors"] == 1
    assert performance["requests"]["total"] == 5 and performance["requests"]["error_rate"] == 0.0
    assert performance["requests"]["client_error_rate"] == pytest.approx(0.2)

    for bad in ("0", "10081", "soon"):
        error = await error_of(await api.get("/api/monitoring/performance", params={"window_minutes": bad},
                                             headers=api.auth_headers), 422, "VALIDATION_ERROR")
        assert error["details"]["parameter"] == "window_minutes"


async def test_resources_gpu_memory_storage(api, running_services, user_headers):
    import torch

    resp = await api.get("/api/resources/gpu", headers=api.auth_headers)
    gpu = (await resp.json())["gpu"]
    assert resp.status == 200
    if not torch.cuda.is_available():
        assert gpu["available"] is False and gpu["reason"] and gpu["memory_total_bytes"] is None
        assert gpu["devices"] == []
    # a machine with a GPU, one of whose devices could not be asked for its free memory (the contract checks the shape)
    from studio.services.system import monitoring

    devices = [{"index": 0, "name": "GPU", "compute_capability": "9.0", "memory_total_bytes": 80 << 30,
                "memory_used_bytes": None, "memory_free_bytes": None, "memory_allocated_bytes": 0,
                "memory_reserved_bytes": 0, "error": "device busy"}]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(monitoring, "gpu_report", lambda: {
            "available": True, "reason": None, "torch_version": "2", "cuda_version": "12.8", "device_count": 1,
            "devices": devices, "memory_total_bytes": 80 << 30, "memory_used_bytes": None, "memory_reserved_bytes": 0})
        resp = await api.get("/api/resources/gpu", headers=api.auth_headers)
    assert resp.status == 200 and (await resp.json())["gpu"]["devices"][0]["error"] == "device busy"

    memory = (await (await api.get("/api/resources/memory", headers=api.auth_headers)).json())["memory"]
    assert memory["system"]["total_bytes"] > 0 and memory["process"]["rss_bytes"] > 0

    media = running_services.settings.media_dir
    (media / "clip.wav").write_bytes(b"x" * 4321)
    storage = (await (await api.get("/api/resources/storage", headers=api.auth_headers)).json())["storage"]
    assert storage["breakdown"]["media"]["bytes"] >= 4321
    assert storage["total_bytes"] == sum(p["bytes"] for p in storage["breakdown"].values())
    assert storage["breakdown"]["media"]["path"] == str(media.resolve())
    hidden = (await (await api.get("/api/resources/storage", headers=user_headers)).json())["storage"]
    assert hidden["data_dir"] is None and all(p["path"] is None for p in hidden["breakdown"].values())
    assert hidden["breakdown"]["media"]["bytes"] == storage["breakdown"]["media"]["bytes"]


async def test_new_routes_are_documented(api):
    spec = await (await api.get("/openapi.json")).json()
    for path in ("/metrics", "/api/v1/status", "/api/monitoring/metrics", "/api/monitoring/performance",
                 "/api/resources/gpu", "/api/resources/memory", "/api/resources/storage"):
        operation = spec["paths"][path]["get"]
        assert operation.get("description"), path
        assert "security" in operation or spec.get("security"), path
    params = {p["name"] for p in spec["paths"]["/api/monitoring/performance"]["get"]["parameters"]}
    assert "window_minutes" in params
