"""Monitoring routes (thin shells over `SystemService.metrics` and `SystemService.monitoring`):

    GET /metrics                     the studio's Prometheus exposition (text format 0.0.4; admin key)
    GET /api/v1/status               seed 003 detailed system status (the same figures as /api/system/status)
    GET /api/monitoring/metrics      seed 002 system metrics measured now (+ `history=1`: the samples kept)
    GET /api/monitoring/performance  seed 002 request and job performance over `window_minutes`
    GET /api/resources/gpu|memory|storage   seed 002 resources

Seed 002's paths answer in the `/api/...` family's shape (`{"status": "success", ...}`), like the
area's other seed 002 paths (`/api/logs`, `/api/errors`).
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from studio.server.errors import ok
from studio.server.keys import IDENTITY, SERVICES
from studio.server.routing import RouteTable
from studio.server.schemas.system import (GpuOut, MemoryOut, MonitoringMetricsOut, PerformanceOut, StorageOut,
                                          SystemStatusOut)
from studio.services.system.monitoring import MAX_WINDOW_MINUTES
from studio.timeutil import now_iso

routes = RouteTable()
TAGS = ["monitoring"]
RESOURCE_TAGS = ["resources"]


def _system(request: web.Request):
    return request.app[SERVICES].system


def _is_admin(request: web.Request) -> bool:
    identity = request.get(IDENTITY)
    return identity is not None and identity.is_admin


@routes.get("/metrics", summary="Prometheus metrics", tags=TAGS, admin=True,
            description="The studio's metrics in the Prometheus text format (0.0.4): API requests and latency "
                        "histograms per route template and status class, jobs finished and their durations per kind "
                        "and final state, render real-time factor per kind, jobs per state and queue length (read "
                        "at scrape time), process figures and the analysis area's predictions. Needs an admin key "
                        "(as `Authorization: Bearer`, `X-API-Key` or `?api_key=`), like /api/v1/metrics, whose "
                        "`format=prometheus` answers the same text.", media={"text/plain": "text"})
async def prometheus_metrics(request: web.Request) -> web.Response:
    metrics = _system(request).metrics
    text = await asyncio.to_thread(metrics.exposition)  # reads the database (jobs, predictions)
    return web.Response(text=text, headers={"Content-Type": metrics.content_type, "X-Generated-At": now_iso()})


@routes.get("/api/v1/status", summary="Detailed system status", tags=["system"],
            description="Resource use measured now (CPU, memory, disk of the data dir, process memory), the "
                        "background services with their last activity, and the outside platforms' connection "
                        "states: the same body as GET /api/system/status (not wrapped in the /api/v1 envelope).",
            response=SystemStatusOut, wrap=False)
async def v1_status(request: web.Request) -> web.Response:
    return web.json_response(await asyncio.to_thread(_system(request).system_status))


class MonitoringMetricsQuery(BaseModel):
    """`history`: also return the samples kept for charts (one every 5 s for the last hour:
    CPU %, memory %, process RSS, queue length, jobs running). Accepts 1/0, true/false."""

    model_config = ConfigDict(extra="forbid")
    history: bool = Field(default=False, description="Include the sampled history (1 or true)")


@routes.get("/api/monitoring/metrics", summary="System metrics", tags=TAGS, query=MonitoringMetricsQuery,
            description="Measured now with psutil: CPU (percent, cores, load average), memory, disk of the data "
                        "dir, the studio process (RSS, threads, open files and descriptors, uptime), the queue "
                        "(waiting, running, workers) and jobs per state. With `history=1`, `history.samples` holds "
                        "CPU, memory and queue sampled every 5 s over the last hour (in memory since the start).",
            response=MonitoringMetricsOut)
async def monitoring_metrics(request: web.Request, query: MonitoringMetricsQuery) -> web.Response:
    figures = await asyncio.to_thread(_system(request).monitoring.metrics, history=query.history)
    if not _is_admin(request):
        figures["disk"]["path"] = None  # where the data lives is for admins
    return ok({"metrics": figures})


class PerformanceQuery(BaseModel):
    """`window_minutes`: how far back to look, 1 to 10080 (7 days; the request log keeps
    `request_log_days`)."""

    model_config = ConfigDict(extra="forbid")
    window_minutes: int = Field(default=60, ge=1, le=MAX_WINDOW_MINUTES,
                                description=f"Minutes back from now, 1-{MAX_WINDOW_MINUTES}")


@routes.get("/api/monitoring/performance", summary="Performance metrics", tags=TAGS, query=PerformanceQuery,
            description="From the request log and the jobs finished within `window_minutes`: requests per minute, "
                        "server and client error rates, latency p50/p95/p99 overall and per route (method + route "
                        "template), job durations per kind with counts per final state, and the render real-time "
                        "factor per kind (seconds of audio per second of compute, from what each job recorded). "
                        "The request log is written once a second: the last second may not be in yet.",
            response=PerformanceOut)
async def monitoring_performance(request: web.Request, query: PerformanceQuery) -> web.Response:
    return ok({"performance": await asyncio.to_thread(_system(request).monitoring.performance,
                                                      window_minutes=query.window_minutes)})


@routes.get("/api/resources/gpu", summary="GPU resource information", tags=RESOURCE_TAGS,
            description="Per CUDA device as torch sees it: name, compute capability, memory total, used (by every "
                        "process), free, and this process's allocated and reserved. Without a usable GPU: "
                        "`available: false`, the `reason`, and null figures.", response=GpuOut)
async def resources_gpu(request: web.Request) -> web.Response:
    return ok({"gpu": await asyncio.to_thread(_system(request).monitoring.gpu)})


@routes.get("/api/resources/memory", summary="Memory usage", tags=RESOURCE_TAGS,
            description="The machine's memory (total, available, used, free, percent) and swap, and the studio "
                        "process's resident and virtual memory.", response=MemoryOut)
async def resources_memory(request: web.Request) -> web.Response:
    return ok({"memory": _system(request).monitoring.memory()})


@routes.get("/api/resources/storage", summary="Storage information", tags=RESOURCE_TAGS,
            description="What the data dir holds, in bytes and files: database (with its WAL), media, backups, "
                        "logs and other; their total; and the disk's total, used and free space. Paths are shown "
                        "to admin keys only.", response=StorageOut)
async def resources_storage(request: web.Request) -> web.Response:
    storage = await asyncio.to_thread(_system(request).monitoring.storage)
    if not _is_admin(request):
        storage["data_dir"] = storage["disk"]["path"] = None
        for part in storage["breakdown"].values():
            part["path"] = None
    return ok({"storage": storage})
