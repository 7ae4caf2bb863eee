"""Figures about the music made here: generation totals by period (analytics) and time estimates
from the measured speed of this machine's recent generations."""

from __future__ import annotations

import math
import statistics
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from studio.db.models import Job, Track
from studio.jobs import CANCELLED, COMPLETED, FAILED, PROCESSING, QUEUED
from studio.services.music.common import GENERATE_KIND
from studio.timeutil import utcnow

if TYPE_CHECKING:
    from studio.db import Database
    from studio.jobs import JobQueue

# Until this machine has finished a generation there is no measured speed; the estimate then
# assumes this real-time factor and says so (`estimate_basis`).
ASSUMED_REALTIME_FACTOR = 4.0
SPEED_SAMPLES = 10  # recent generations the speed estimate is the median of


def measured_realtime_factor(jobs: "JobQueue") -> float | None:
    """Median audio-seconds per wall-second of this machine's recent generations."""
    _total, done = jobs.list(kind=GENERATE_KIND, status=COMPLETED, limit=SPEED_SAMPLES)
    factors = [j["result"]["realtime_factor"] for j in done if (j.get("result") or {}).get("realtime_factor")]
    return statistics.median(factors) if factors else None


def parse_period_days(period: str) -> int:
    """'7d', '30d', '12h' (rounded up to a day), '1y' -> days; ValueError otherwise."""
    text = (period or "").strip().lower()
    units = {"d": 1, "w": 7, "m": 30, "y": 365}
    if len(text) >= 2 and text[:-1].isascii() and text[:-1].isdigit():  # not '³d': int() refuses it
        n, unit = int(text[:-1]), text[-1]
        if unit == "h":
            return max(1, math.ceil(n / 24))
        if unit in units and n > 0:
            return n * units[unit]
    raise ValueError(f"period {period!r} is not like '7d', '30d', '12w' or '1y'")


def _job_audio_s(job: dict[str, Any]) -> float:
    params = job.get("params") or {}
    if params.get("additional_duration_s"):
        return float(params["spec"]["duration_s"]) + float(params["additional_duration_s"])
    return float(params.get("spec", {}).get("duration_s", 60.0))


class MusicStatistics:
    def __init__(self, db: "Database", jobs: "JobQueue") -> None:
        self.db = db
        self.jobs = jobs

    # --- estimates ------------------------------------------------------------------------------
    def measured_realtime_factor(self) -> float | None:
        return measured_realtime_factor(self.jobs)

    def estimate_time_s(self, job: dict[str, Any]) -> float:
        """Seconds until `job` is done: its own render plus the queue ahead of it."""
        factor = self.measured_realtime_factor() or ASSUMED_REALTIME_FACTOR
        own = _job_audio_s(job) / factor
        ahead = 0.0
        _n, waiting = self.jobs.list(kind=GENERATE_KIND, status=QUEUED, limit=1000, newest_first=False)
        _m, running = self.jobs.list(kind=GENERATE_KIND, status=PROCESSING, limit=100)
        for other in running:
            if other["id"] != job["id"]:
                ahead += _job_audio_s(other) / factor * (1.0 - other["progress"] / 100.0)
        for other in waiting:
            if other["id"] == job["id"]:
                break
            ahead += _job_audio_s(other) / factor
        workers = max(1, self.jobs.max_concurrent)
        return round(own + ahead / workers, 1)

    def estimate_remaining_s(self, job: dict[str, Any]) -> float | None:
        if job["status"] not in (QUEUED, PROCESSING):
            return 0.0 if job["status"] == COMPLETED else None
        factor = self.measured_realtime_factor() or ASSUMED_REALTIME_FACTOR
        if job["status"] == PROCESSING:
            return round(_job_audio_s(job) / factor * (1.0 - job["progress"] / 100.0), 1)
        return self.estimate_time_s(job)

    def estimate_basis(self) -> str:
        factor = self.measured_realtime_factor()
        if factor is None:
            return f"no generation measured on this machine yet; assuming {ASSUMED_REALTIME_FACTOR:g}x real time"
        return f"median speed of the last {SPEED_SAMPLES} generations here: {factor:.1f}x real time"

    # --- analytics ------------------------------------------------------------------------------
    def analytics(self, period_days: int) -> dict[str, Any]:
        """Generation totals, success rate, minutes made, credits used and top styles of the last
        `period_days` days, from the database."""
        since = utcnow() - timedelta(days=period_days)
        with self.db.session() as s:
            jobs = s.execute(select(Job.status, Job.params).where(Job.kind == GENERATE_KIND, Job.created_at >= since)).all()
            tracks = s.execute(select(Track.style, Track.duration_s).where(Track.created_at >= since)).all()
        finished = [status for status, _ in jobs if status in (COMPLETED, FAILED)]
        successful = sum(1 for status in finished if status == COMPLETED)
        styles: dict[str, int] = {}
        for style, _d in tracks:
            styles[style] = styles.get(style, 0) + 1
        from studio.engine.composition.styles import styles as all_styles

        names = {k: v.name for k, v in all_styles().items()}
        return {
            "total_generations": len(jobs),
            "successful_generations": successful,
            "failed_generations": len(finished) - successful,
            "success_rate": round(100.0 * successful / len(finished), 1) if finished else 0.0,
            "total_duration_minutes": round(sum(d for _s, d in tracks) / 60.0, 2),
            "credits_used": round(sum(float((p or {}).get("credits", 0.0)) for st, p in jobs
                                      if st not in (FAILED, CANCELLED)), 2),
            "top_styles": [{"style": names.get(k, k), "style_id": k, "count": n}
                           for k, n in sorted(styles.items(), key=lambda kv: (-kv[1], kv[0]))[:10]],
        }
