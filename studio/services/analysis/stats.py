"""Figures about the analysis area, computed from the stored predictions and the request log:
the history's statistics (`GET /api/v1/stats`), health checks (`/health`), admin metrics
(`/metrics`; its Prometheus families join the studio's exposition)."""

from __future__ import annotations

import math
import statistics
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from studio.db.models import Job, Prediction, RequestLog
from studio.jobs import PROCESSING, QUEUED
from studio.services.analysis.batches import BATCH_KIND
from studio.services.analysis.errors import ModelUnavailable
from studio.services.analysis.records import FINAL_STATES, STATES
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.analysis.models import AnalysisModels

ANALYSIS_ROUTES = ("/api/v1/predict", "/api/v1/batch-predict", "/api/v1/prediction/{prediction_id}",
                   "/api/v1/batch/{batch_id}", "/api/v1/history", "/api/v1/stats", "/api/v1/genres")


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"count": 0, "mean": None, "p50": None, "p95": None, "p99": None, "max": None}

    def at(q: float) -> float:
        return round(values[min(len(values) - 1, math.ceil(q * len(values)) - 1)], 1)

    return {"count": len(values), "mean": round(statistics.fmean(values), 1), "p50": at(0.5), "p95": at(0.95),
            "p99": at(0.99), "max": round(values[-1], 1)}


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        if v:
            out[v] = out.get(v, 0) + 1
    return out


class AnalysisStats:
    def __init__(self, ctx: Context, *, models: AnalysisModels) -> None:
        self.ctx = ctx
        self.models = models
        self.started_monotonic = time.monotonic()

    def summary(self, *, days: int | None = None) -> dict[str, Any]:
        """Figures computed from the stored predictions (all time, or the last `days`)."""
        since = utcnow() - timedelta(days=days) if days else None
        with self.ctx.db.session() as s:
            query = select(Prediction)
            if since is not None:
                query = query.where(Prediction.created_at >= since)
            rows = s.scalars(query).all()
            data = [(r.status, r.genre, r.confidence, r.processing_time_ms, r.source, r.model, r.duration_s,
                     (r.error or {}).get("code"), r.created_at, r.result or {}) for r in rows]
        completed = [d for d in data if d[0] == "completed"]
        by_genre: dict[str, int] = {}
        conf_by_genre: dict[str, list[float]] = {}
        moods: dict[str, int] = {}
        for d in completed:
            by_genre[d[1]] = by_genre.get(d[1], 0) + 1
            conf_by_genre.setdefault(d[1], []).append(d[2] or 0.0)
            top_mood = (d[9].get("moods") or [{}])[0].get("mood")
            if top_mood:
                moods[top_mood] = moods.get(top_mood, 0) + 1
        times = sorted(d[3] for d in completed if d[3] is not None)
        now = utcnow()
        errors: dict[str, int] = {}
        for d in data:
            if d[0] == "failed":
                errors[d[7] or "UNKNOWN"] = errors.get(d[7] or "UNKNOWN", 0) + 1
        return {
            "period_days": days, "total_predictions": len(data), "completed": len(completed),
            "failed": sum(1 for d in data if d[0] == "failed"),
            "in_progress": sum(1 for d in data if d[0] not in FINAL_STATES),
            "success_rate": round(len(completed) / len(data), 4) if data else None,
            "genre_distribution": dict(sorted(by_genre.items(), key=lambda kv: -kv[1])),
            "average_confidence": round(statistics.fmean(d[2] or 0.0 for d in completed), 4) if completed else None,
            "average_confidence_by_genre": {g: round(statistics.fmean(v), 4) for g, v in conf_by_genre.items()},
            "top_moods": dict(sorted(moods.items(), key=lambda kv: -kv[1])),
            "processing_time_ms": _percentiles(times),
            "audio_analysed_s": round(sum(d[6] or 0.0 for d in completed), 1),
            "by_source": _count(d[4] for d in data),
            "by_model": _count(d[5] for d in completed),
            "errors": errors,
            "last_24h": sum(1 for d in data if d[8] and d[8] >= now - timedelta(hours=24)),
            "last_7d": sum(1 for d in data if d[8] and d[8] >= now - timedelta(days=7)),
        }

    def health(self) -> dict[str, Any]:
        """Seed 004 `GET /health`: real checks of the database, the model, the storage and the queue."""
        components: dict[str, str] = {"api": "up"}
        details: dict[str, str] = {}
        try:
            self.ctx.db.ping()
            components["database"] = "up"
        except Exception as exc:  # noqa: BLE001 - any failure means the database is down
            components["database"], details["database"] = "down", f"{type(exc).__name__}: {exc}"
        try:
            tagger = self.models.tagger()
            components["model"] = "up"
            details["model"] = tagger.version
        except ModelUnavailable as exc:
            components["model"], details["model"] = "down", exc.message
        try:
            probe = self.ctx.store.temp_path(".probe")
            probe.write_bytes(b"ok")
            probe.unlink()
            components["storage"] = "up"
        except OSError as exc:
            components["storage"], details["storage"] = "down", str(exc)
        workers = getattr(self.ctx.jobs, "_threads", [])
        components["queue"] = "up" if any(t.is_alive() for t in workers) else "down"
        if components["queue"] == "down":
            details["queue"] = "no job worker is running: batches wait until the studio's workers start"
        healthy = all(v == "up" for v in components.values())
        from studio import __version__

        return {
            "status": "healthy" if healthy else "degraded",
            "version": __version__,
            "components": components,
            "details": details,
            "model": self.models.active,
            "uptime_seconds": round(time.monotonic() - self.started_monotonic, 1),
            "timestamp": iso(utcnow()),
        }

    def metrics(self) -> dict[str, Any]:
        """Admin figures: predictions by state, latency percentiles, throughput, API traffic of
        the analysis routes (from the request log), the model and the queue."""
        now = utcnow()
        with self.ctx.db.session() as s:
            by_status, hour, times = _prediction_figures(s, now)
            api_rows = s.execute(select(RequestLog.route, RequestLog.status, RequestLog.latency_ms).where(
                RequestLog.route.in_(ANALYSIS_ROUTES))).all()
            queued_batches = s.scalar(select(func.count()).where(Job.kind == BATCH_KIND,
                                                                 Job.status.in_((QUEUED, PROCESSING)))) or 0
        requests: dict[str, dict[str, Any]] = {}
        for route, status, latency in api_rows:
            entry = requests.setdefault(route, {"count": 0, "errors": 0, "latencies": []})
            entry["count"] += 1
            entry["errors"] += int(status >= 400)
            entry["latencies"].append(latency)
        api = {route: {"requests": e["count"], "errors": e["errors"],
                       "latency_ms": _percentiles(sorted(e["latencies"]))} for route, e in requests.items()}
        return {
            "predictions": {state: int(by_status.get(state, 0)) for state in STATES},
            "predictions_last_hour": hour,
            "processing_time_ms": _percentiles(times),
            "api": api,
            "model": {"active": self.models.active,
                      "load_time_ms": {k: round(v * 1000, 1) for k, v in self.models.load_times_s.items()},
                      "errors": dict(self.models.errors), "device": self.models.device()},
            "queue": {"batches_waiting_or_running": queued_batches, "workers": self.ctx.jobs.max_concurrent},
            "uptime_seconds": round(time.monotonic() - self.started_monotonic, 1),
            "timestamp": iso(now),
        }

    def prometheus_families(self) -> list[Metric]:
        """The analysis figures for the studio's Prometheus exposition (`GET /metrics`, the same text
        as `/api/v1/metrics?format=prometheus`): predictions by state, completed in the last hour,
        and the processing time of the last 1000 completed ones. Cheap queries (no request log)."""
        now = utcnow()
        with self.ctx.db.session() as s:
            by_status, hour, times = _prediction_figures(s, now)
        predictions = GaugeMetricFamily("studio_predictions", "Predictions by state.", labels=["status"])
        for state in STATES:
            predictions.add_metric([state], int(by_status.get(state, 0)))
        last_hour = GaugeMetricFamily("studio_predictions_completed_last_hour", "Predictions completed in the last hour.",
                                      value=hour)
        processing = Metric("studio_prediction_processing_seconds",
                            "Processing time of the last 1000 completed predictions.", "summary")
        for q in (0.5, 0.95, 0.99):
            if times:
                value = times[min(len(times) - 1, math.ceil(q * len(times)) - 1)] / 1000.0
                processing.add_sample("studio_prediction_processing_seconds", {"quantile": str(q)}, value)
        processing.add_sample("studio_prediction_processing_seconds_count", {}, float(len(times)))
        processing.add_sample("studio_prediction_processing_seconds_sum", {}, sum(times) / 1000.0)
        return [predictions, last_hour, processing]


def _prediction_figures(s, now) -> tuple[dict[str, int], int, list[float]]:
    """Predictions by state, completed in the last hour, and the sorted processing times (ms) of
    the last 1000 completed: what both the JSON metrics and the Prometheus families report."""
    by_status = dict(s.execute(select(Prediction.status, func.count()).group_by(Prediction.status)).all())
    hour = s.scalar(select(func.count()).where(Prediction.completed_at >= now - timedelta(hours=1),
                                               Prediction.status == "completed")) or 0
    times = sorted(t for (t,) in s.execute(select(Prediction.processing_time_ms).where(
        Prediction.status == "completed", Prediction.processing_time_ms.is_not(None))
        .order_by(Prediction.completed_at.desc()).limit(1000)).all())
    return by_status, hour, times
