"""Monitoring: resource figures measured now, performance from the request log and the jobs, and
a short history of CPU, memory and queue for the System panel's charts.

- `metrics()`: `GET /api/monitoring/metrics` (CPU, memory, disk of the data dir, the process's RSS,
  threads and open files, queue, jobs per state; with `history`, the samples kept);
- `performance(window_minutes)`: `GET /api/monitoring/performance` (requests per minute, latency
  p50/p95/p99 per route, error rates, job durations per kind, render real-time factor);
- `gpu()`, `memory()`, `storage()`: `GET /api/resources/gpu|memory|storage`;
- `health_services(components)`: seed 003's `services` map and `uptime` for `/api/v1/health`,
  from the system's health checks and the analysis area's component checks;
- `start()` / `stop()`: a background task samples CPU, memory and queue every `SAMPLE_INTERVAL_S`
  into a ring buffer of the last `HISTORY_S` (in memory only; it starts empty at each start).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import shutil
import statistics
import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
from sqlalchemy import select

from studio.db.models import Job, RequestLog
from studio.engine.device import gpu_report
from studio.jobs import FINISHED
from studio.services.system.metrics import render_figures
from studio.timeutil import iso, now_iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 5.0
HISTORY_S = 3600.0
MAX_PERFORMANCE_ROWS = 200_000  # requests read for one performance answer (newest first)
MAX_WINDOW_MINUTES = 7 * 24 * 60


def percentiles(values: list[float], digits: int = 1) -> dict[str, float | int | None]:
    """Nearest-rank p50/p95/p99 with count, mean and max (None when there are no values)."""
    if not values:
        return {"count": 0, "mean": None, "p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))], digits)

    return {"count": len(ordered), "mean": round(statistics.fmean(ordered), digits), "p50": at(0.5),
            "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], digits)}


class CpuMeter:
    """System and process CPU use between two reads (its own window: other callers of
    psutil.cpu_percent do not shift it)."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._last = self._times()

    def _times(self) -> tuple[float, float, float, float]:
        cpu = psutil.cpu_times()
        # guest time is already counted in user time on Linux
        total = sum(cpu) - getattr(cpu, "guest", 0.0) - getattr(cpu, "guest_nice", 0.0)
        idle = cpu.idle + getattr(cpu, "iowait", 0.0)
        proc = self._process.cpu_times()
        return time.monotonic(), total, idle, proc.user + proc.system

    def read(self) -> tuple[float | None, float | None]:
        """(system CPU %, this process's CPU % of one core, as `top` shows it) since the last read;
        None when no time passed."""
        before, after = self._last, self._times()
        self._last = after
        wall, total = after[0] - before[0], after[1] - before[1]
        system = max(0.0, min(100.0, round(100.0 * (1.0 - (after[2] - before[2]) / total), 1))) if total > 0 else None
        process = round(100.0 * (after[3] - before[3]) / wall, 1) if wall > 0 else None
        return system, process


def _tree_size(path: Path) -> tuple[int, int]:
    """(bytes, files) of the regular files under `path` (links not followed)."""
    size = files = 0
    stack = [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            size += entry.stat(follow_symlinks=False).st_size
                            files += 1
                    except FileNotFoundError:  # removed while walking
                        continue
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
    return size, files


def _disk(path: Path) -> dict[str, Any]:
    usage = shutil.disk_usage(path)
    return {"path": str(path), "total_bytes": usage.total, "used_bytes": usage.used, "free_bytes": usage.free,
            "percent_used": round(100.0 * usage.used / usage.total, 1) if usage.total else None}


class SystemMonitor:
    def __init__(self, ctx: "Context", *, health: Callable[[], dict[str, Any]], uptime_s: Callable[[], float],
                 backups_dir: Path, interval_s: float = SAMPLE_INTERVAL_S, history_s: float = HISTORY_S) -> None:
        self.ctx = ctx
        self._health = health
        self._uptime_s = uptime_s
        self.backups_dir = backups_dir
        self.interval_s = interval_s
        self.history: deque[dict[str, Any]] = deque(maxlen=max(1, int(history_s / interval_s)))
        self._meter = CpuMeter()  # the sampler's window
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # primes the endpoint's process CPU window
        self._task: asyncio.Task | None = None

    # --- history --------------------------------------------------------------------------------
    def sample(self) -> dict[str, Any]:
        """Measure CPU (since the last sample), memory and queue now and keep it in the history."""
        system_cpu, process_cpu = self._meter.read()
        memory = psutil.virtual_memory()
        counts = self.ctx.jobs.counts()
        point = {"timestamp": now_iso(), "cpu_percent": system_cpu, "process_cpu_percent": process_cpu,
                 "memory_percent": memory.percent, "memory_used_bytes": memory.total - memory.available,
                 "process_rss_bytes": self._process.memory_info().rss,
                 "queue_length": counts["queued"], "processing": counts["processing"]}
        self.history.append(point)
        return point

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start sampling on `loop` (the running one by default); a second call does nothing."""
        if self._task is not None and not self._task.done():
            return
        try:
            loop = loop or asyncio.get_running_loop()
        except RuntimeError:  # no loop (a script): history stays empty
            return
        self._task = loop.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.sample)  # a DB read: off the loop
            except Exception:  # a busy database must not end the sampling for good
                log.warning("could not sample the resource figures", exc_info=True)
            await asyncio.sleep(self.interval_s)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    @property
    def sampling(self) -> bool:
        return self._task is not None and not self._task.done()

    # --- figures ----------------------------------------------------------------------------------
    def _process_figures(self) -> dict[str, Any]:
        proc = self._process
        with proc.oneshot():
            memory = proc.memory_info()
            figures: dict[str, Any] = {"pid": proc.pid, "rss_bytes": memory.rss, "vms_bytes": memory.vms,
                                       "cpu_percent": proc.cpu_percent(None), "threads": proc.num_threads(),
                                       "uptime_seconds": round(self._uptime_s(), 1)}
            try:
                figures["open_files"] = len(proc.open_files())
            except (psutil.AccessDenied, OSError):
                figures["open_files"] = None
            try:
                figures["open_descriptors"] = proc.num_fds() if hasattr(proc, "num_fds") else proc.num_handles()
            except (psutil.AccessDenied, OSError):
                figures["open_descriptors"] = None
        return figures

    def metrics(self, *, history: bool = False) -> dict[str, Any]:
        """Seed 002 `GET /api/monitoring/metrics`: measured now (call it off the loop: it reads the database)."""
        memory = psutil.virtual_memory()
        counts = self.ctx.jobs.counts()
        try:
            load = [round(x, 2) for x in os.getloadavg()]
        except (AttributeError, OSError):
            load = None
        out: dict[str, Any] = {
            "timestamp": now_iso(),
            "cpu": {"percent": psutil.cpu_percent(interval=None), "count_logical": psutil.cpu_count(),
                    "count_physical": psutil.cpu_count(logical=False), "load_average": load},
            "memory": {"total_bytes": memory.total, "available_bytes": memory.available,
                       "used_bytes": memory.total - memory.available, "percent": memory.percent},
            "disk": _disk(self.ctx.settings.home),
            "process": self._process_figures(),
            "queue": {"length": counts["queued"], "processing": counts["processing"],
                      "workers": self.ctx.jobs.max_concurrent},
            "jobs": counts,
        }
        if history:
            out["history"] = {"interval_s": self.interval_s, "capacity": self.history.maxlen,
                              "sampling": self.sampling, "samples": list(self.history)}
        return out

    def performance(self, *, window_minutes: int = 60) -> dict[str, Any]:
        """Seed 002 `GET /api/monitoring/performance`: from the request log and the jobs finished in
        the last `window_minutes` (call it off the loop)."""
        now = utcnow()
        since = now - timedelta(minutes=window_minutes)
        with self.ctx.db.session() as s:
            rows = s.execute(select(RequestLog.method, RequestLog.route, RequestLog.status, RequestLog.latency_ms)
                             .where(RequestLog.at >= since).order_by(RequestLog.at.desc())
                             .limit(MAX_PERFORMANCE_ROWS + 1)).all()
            jobs = s.execute(select(Job.kind, Job.status, Job.started_at, Job.finished_at, Job.result)
                             .where(Job.finished_at >= since, Job.status.in_(FINISHED))).all()
        truncated = len(rows) > MAX_PERFORMANCE_ROWS
        rows = rows[:MAX_PERFORMANCE_ROWS]
        per_route: dict[str, dict[str, Any]] = {}
        latencies: list[float] = []
        server_errors = client_errors = 0
        for method, route, status, latency in rows:
            entry = per_route.setdefault(f"{method} {route or 'unmatched'}",
                                         {"requests": 0, "client_errors": 0, "server_errors": 0, "latencies": []})
            entry["requests"] += 1
            entry["client_errors"] += 400 <= status < 500
            entry["server_errors"] += status >= 500
            entry["latencies"].append(latency)
            latencies.append(latency)
            client_errors += 400 <= status < 500
            server_errors += status >= 500
        total = len(rows)
        routes = [{"route": name, "requests": e["requests"], "client_errors": e["client_errors"],
                   "server_errors": e["server_errors"], "latency_ms": percentiles(e["latencies"])}
                  for name, e in sorted(per_route.items(), key=lambda item: -item[1]["requests"])]
        by_kind: dict[str, dict[str, Any]] = {}
        for kind, status, started, finished, result in jobs:
            entry = by_kind.setdefault(kind, {"states": {}, "durations": [], "audio": 0.0, "compute": 0.0,
                                              "factors": []})
            entry["states"][status] = entry["states"].get(status, 0) + 1
            if started is not None and finished is not None:
                entry["durations"].append((finished - started).total_seconds())
            figures = render_figures(result) if status == "completed" else None
            if figures is not None:
                entry["audio"] += figures[0]
                entry["compute"] += figures[1]
                entry["factors"].append(figures[0] / figures[1])
        job_figures = {kind: {"finished": sum(e["states"].values()), "by_state": e["states"],
                              "duration_s": percentiles(e["durations"], 2)} for kind, e in sorted(by_kind.items())}
        render = {kind: {"jobs": len(e["factors"]), "audio_seconds": round(e["audio"], 2),
                         "compute_seconds": round(e["compute"], 2),
                         "realtime_factor": round(e["audio"] / e["compute"], 2),
                         "realtime_factor_per_job": percentiles(e["factors"], 2)}
                  for kind, e in sorted(by_kind.items()) if e["factors"]}
        return {
            "timestamp": iso(now),
            "window_minutes": window_minutes,
            "since": iso(since),
            "requests": {"total": total, "per_minute": round(total / window_minutes, 3),
                         "error_rate": round(server_errors / total, 4) if total else None,
                         "client_error_rate": round(client_errors / total, 4) if total else None,
                         "latency_ms": percentiles(latencies), "truncated": truncated},
            "routes": routes,
            "jobs": job_figures,
            "render": render,
        }

    def gpu(self) -> dict[str, Any]:
        """Seed 002 `GET /api/resources/gpu` (imports torch the first time: call it off the loop)."""
        return {"timestamp": now_iso(), "engine_device": self.ctx.settings.device, **gpu_report()}

    def memory(self) -> dict[str, Any]:
        """Seed 002 `GET /api/resources/memory`: the machine's memory and swap, and this process's."""
        memory, swap = psutil.virtual_memory(), psutil.swap_memory()
        with self._process.oneshot():
            info = self._process.memory_info()
            share = self._process.memory_percent()
        return {
            "timestamp": now_iso(),
            "system": {"total_bytes": memory.total, "available_bytes": memory.available,
                       "used_bytes": memory.total - memory.available, "free_bytes": memory.free,
                       "percent": memory.percent},
            "swap": {"total_bytes": swap.total, "used_bytes": swap.used, "free_bytes": swap.free,
                     "percent": swap.percent},
            "process": {"pid": self._process.pid, "rss_bytes": info.rss, "vms_bytes": info.vms,
                        "percent_of_system": round(share, 2)},
        }

    def storage(self) -> dict[str, Any]:
        """Seed 002 `GET /api/resources/storage`: what the data dir holds (database, media, backups,
        logs, other) and the disk's free space. Walks the folders: call it off the loop."""
        settings = self.ctx.settings
        home = settings.home.resolve()
        db_path = self.ctx.db.sqlite_path
        db_files = {f"{db_path.name}{suffix}" for suffix in ("", "-wal", "-shm", "-journal")} if db_path else set()
        db_inside = db_path is not None and db_path.resolve().parent == home
        named = {"media": settings.media_dir.resolve(), "backups": self.backups_dir.resolve(),
                 "logs": settings.logs_dir.resolve()}
        parts = {name: {"bytes": 0, "files": 0} for name in ("database", "media", "backups", "logs", "other")}
        for name, path in named.items():
            size, files = _tree_size(path)
            parts[name].update(bytes=size, files=files)
        top_level = set(named.values())
        try:
            entries = list(os.scandir(home))
        except OSError:
            entries = []
        for entry in entries:
            path = Path(entry.path).resolve()
            if path in top_level:
                continue
            target = "database" if db_inside and entry.name in db_files else "other"
            try:
                if entry.is_dir(follow_symlinks=False):
                    size, files = _tree_size(path)
                elif entry.is_file(follow_symlinks=False):
                    size, files = entry.stat(follow_symlinks=False).st_size, 1
                else:
                    continue
            except FileNotFoundError:
                continue
            parts[target]["bytes"] += size
            parts[target]["files"] += files
        if db_path is not None and not db_inside:  # the database lives elsewhere: counted, not in the data dir
            for name in db_files:
                try:
                    parts["database"]["bytes"] += (db_path.parent / name).stat().st_size
                    parts["database"]["files"] += 1
                except FileNotFoundError:
                    pass
        for name, path in (("database", db_path), *named.items()):
            parts[name]["path"] = str(path) if path is not None else None
        parts["other"]["path"] = str(home)
        return {
            "timestamp": now_iso(),
            "data_dir": str(home),
            "database_backend": self.ctx.db.url.split("://", 1)[0],
            "total_bytes": sum(p["bytes"] for p in parts.values()),
            "breakdown": parts,
            "disk": _disk(home),
        }

    # --- seed 003 health --------------------------------------------------------------------------
    def health_services(self, components: dict[str, str] | None = None) -> dict[str, Any]:
        """Seed 003's `services` map (`healthy`, `degraded`, `unhealthy` or `not_configured` per
        service) and `uptime` (seconds), from the system's health checks and, when given, the
        analysis area's components (`up`/`down`: model, storage, queue)."""
        checks = self._health()["checks"]
        components = components or {}

        def grade(value: str | None) -> str | None:
            if value is None:
                return None
            if value in ("ok", "up"):
                return "healthy"
            if value == "none_configured":
                return "not_configured"
            if value.startswith("low") or value == "degraded":
                return "degraded"
            return "unhealthy"

        services = {
            "database": grade(checks.get("database")),
            "storage": grade(components.get("storage")),
            "disk_space": grade(checks.get("disk_space")),
            "memory": grade(checks.get("memory")),
            "job_queue": grade(components.get("queue") or checks.get("job_workers")),
            "ml_pipeline": grade(components.get("model")),
            "connectors": grade(checks.get("apis")),
        }
        return {"services": {k: v for k, v in services.items() if v is not None}, "uptime": int(self._uptime_s())}
