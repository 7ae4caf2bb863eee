"""The studio's Prometheus metrics (`GET /metrics`, and `/api/v1/metrics?format=prometheus`).

One `CollectorRegistry` per studio (never prometheus_client's global default), so two studios in
one process (tests) keep their own figures:

- `studio_http_requests_total` / `studio_http_request_duration_seconds`: per method, route
  template (never the raw path: `/api/jobs/{job_id}`, `unmatched` for a 404) and status class;
  counted by the server's request-log middleware (`observe_request`, increments only);
- `studio_jobs_finished_total` / `studio_job_duration_seconds`: per job kind and final state,
  from the job queue's events;
- `studio_render_realtime_factor` (seconds of audio per second of compute) and the audio and
  compute seconds behind it, per kind, for jobs whose result records both (`duration_s` or
  `speech_duration_s`, and `wall_s`);
- read at scrape time: `studio_jobs` per state, `studio_job_queue_length`, `studio_job_workers`,
  `studio_uptime_seconds`, the process figures (`process_*`), and what other areas add
  (`add_collector`, e.g. the analysis area's predictions).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, Info, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector

from studio import __version__

if TYPE_CHECKING:
    from studio.context import Context

log = logging.getLogger(__name__)

# What generate_latest writes (legacy metric names, escaped with underscores): the classic text
# format every Prometheus reads. (prometheus_client >= 0.22 names "1.0.0" as its latest.)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REQUEST_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
JOB_BUCKETS_S = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
REALTIME_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
FINAL_EVENTS = {"job_completed": "completed", "job_failed": "failed", "job_cancelled": "cancelled"}
MAX_TRACKED_JOBS = 10_000  # start times kept for running jobs (a bound, should events ever go missing)


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


def render_figures(result: dict[str, Any] | None) -> tuple[float, float] | None:
    """(audio seconds produced, compute seconds spent) that a finished job's result records, or
    None when it records no render (generation stores `duration_s` + `wall_s`, speech
    `speech_duration_s` + `wall_s`)."""
    if not isinstance(result, dict):
        return None
    audio = result.get("duration_s", result.get("speech_duration_s"))
    compute = result.get("wall_s")
    try:
        audio, compute = float(audio), float(compute)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if audio <= 0 or compute <= 0:
        return None
    return audio, compute


def _parse_iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class _ScrapeCollector:
    """Calls `collect` at scrape time; a failure (a busy database) drops its families from that
    scrape and is logged, instead of failing the whole exposition."""

    def __init__(self, name: str, collect: Callable[[], Iterable[Metric]]) -> None:
        self.name = name
        self._collect = collect

    def collect(self) -> Iterable[Metric]:
        try:
            return list(self._collect())
        except Exception:
            log.warning("metrics source %s failed at scrape time", self.name, exc_info=True)
            return []


class StudioMetrics:
    content_type = CONTENT_TYPE

    def __init__(self, ctx: "Context", *, uptime_s: Callable[[], float]) -> None:
        self.ctx = ctx
        self._uptime_s = uptime_s
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        self.requests = Counter("studio_http_requests", "API requests by method, route template and status class.",
                                ["method", "route", "status_class"], registry=r)
        self.request_seconds = Histogram("studio_http_request_duration_seconds",
                                         "API request latency by method, route template and status class.",
                                         ["method", "route", "status_class"], buckets=REQUEST_BUCKETS_S, registry=r)
        self.jobs_finished = Counter("studio_jobs_finished", "Jobs finished, by kind and final state.",
                                     ["kind", "state"], registry=r)
        self.job_seconds = Histogram("studio_job_duration_seconds",
                                     "Time from a job's start to its end, by kind and final state.",
                                     ["kind", "state"], buckets=JOB_BUCKETS_S, registry=r)
        self.realtime = Histogram("studio_render_realtime_factor",
                                  "Seconds of audio rendered per second of compute, per completed job, by kind.",
                                  ["kind"], buckets=REALTIME_BUCKETS, registry=r)
        self.audio_seconds = Counter("studio_render_audio_seconds", "Seconds of audio rendered by completed jobs.",
                                     ["kind"], registry=r)
        self.compute_seconds = Counter("studio_render_compute_seconds",
                                       "Compute seconds the completed jobs spent rendering that audio.",
                                       ["kind"], registry=r)
        Info("studio_build", "The studio's version.", registry=r).info({"version": __version__})
        ProcessCollector(registry=r)  # process_* (Linux /proc; empty elsewhere)
        r.register(_ScrapeCollector("jobs", self._collect_jobs))
        # (method, route, status class) -> (counter child, histogram child): the request path does
        # one dict lookup and two increments, no label resolution.
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self._started: dict[str, float] = {}  # job id -> monotonic time it started
        self._lock = threading.Lock()  # guards _started (events come on the loop; tests may differ)

    # --- sources ----------------------------------------------------------------------------------
    def add_collector(self, name: str, collect: Callable[[], Iterable[Metric]]) -> None:
        """Another area's figures, read at each scrape (`collect` returns metric families)."""
        self.registry.register(_ScrapeCollector(name, collect))

    def observe_request(self, method: str, route: str | None, status: int, latency_ms: float) -> None:
        """One finished API request (the server's middleware calls this for every request)."""
        key = (method if method in METHODS else "OTHER", route or "unmatched", status_class(status))
        children = self._children.get(key)
        if children is None:
            children = self._children.setdefault(key, (self.requests.labels(*key), self.request_seconds.labels(*key)))
        children[0].inc()
        children[1].observe(latency_ms / 1000.0)

    def on_event(self, name: str, data: dict[str, Any]) -> None:
        """Job queue events: a job's start time, then its end (kind, state, duration, render figures)."""
        job_id = data.get("id") if isinstance(data, dict) else None
        if not job_id or not data.get("kind"):
            return
        if name == "job_progress" and data.get("status") == "processing":
            with self._lock:
                if job_id not in self._started and len(self._started) < MAX_TRACKED_JOBS:
                    self._started[job_id] = time.monotonic()
            return
        state = FINAL_EVENTS.get(name)
        if state is None or data.get("status") != state:
            return
        kind = str(data["kind"])
        with self._lock:
            started = self._started.pop(job_id, None)
        self.jobs_finished.labels(kind, state).inc()
        duration = time.monotonic() - started if started is not None else None
        if duration is None:  # started before this studio watched (e.g. resumed): the stored times
            begin, end = _parse_iso(data.get("started_at")), _parse_iso(data.get("finished_at"))
            duration = (end - begin).total_seconds() if begin and end else None
        if duration is not None and duration >= 0:
            self.job_seconds.labels(kind, state).observe(duration)
        figures = render_figures(data.get("result")) if state == "completed" else None
        if figures is not None:
            audio, compute = figures
            self.realtime.labels(kind).observe(audio / compute)
            self.audio_seconds.labels(kind).inc(audio)
            self.compute_seconds.labels(kind).inc(compute)

    def _collect_jobs(self) -> Iterable[Metric]:
        counts = self.ctx.jobs.counts()
        jobs = GaugeMetricFamily("studio_jobs", "Jobs in the queue's table, by state (read at scrape time).",
                                 labels=["state"])
        for state, n in counts.items():
            jobs.add_metric([state], n)
        yield jobs
        yield GaugeMetricFamily("studio_job_queue_length", "Jobs waiting for a worker.", value=counts.get("queued", 0))
        yield GaugeMetricFamily("studio_job_workers", "Engine worker threads.", value=self.ctx.jobs.max_concurrent)
        yield GaugeMetricFamily("studio_uptime_seconds", "Seconds since the studio started.", value=self._uptime_s())

    # --- exposition -------------------------------------------------------------------------------
    def exposition(self) -> str:
        """Everything in the Prometheus text format (version 0.0.4). Reads the database: call it off the loop."""
        return generate_latest(self.registry).decode("utf-8")

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        """One sample's current value (e.g. `studio_http_requests_total`), None when there is none."""
        return self.registry.get_sample_value(name, labels or {})
