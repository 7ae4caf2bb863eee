"""Queued job rows kept off the workers until something releases them: batch members beyond the
batch's concurrency, and a playlist's mix until its tracks have finished. A restart simply queues
them like any other row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from studio.db.models import Job
from studio.jobs import QUEUED, job_to_dict
from studio.timeutil import utcnow

if TYPE_CHECKING:
    from studio.db import Database
    from studio.events import EventBus
    from studio.jobs import JobQueue


class HeldJobs:
    def __init__(self, db: "Database", jobs: "JobQueue", events: "EventBus") -> None:
        self.db = db
        self.jobs = jobs
        self.events = events
        self._held: set[str] = set()

    def __contains__(self, job_id: str) -> bool:
        return job_id in self._held

    def hold(self, kind: str, params: dict[str, Any], *, title: str | None, stage: str, job_id: str) -> dict[str, Any]:
        """Write a queued job row the workers do not see yet; returns it as a job dict."""
        with self.db.session() as s:
            job = Job(id=job_id, kind=kind, params=params, status=QUEUED, progress=0.0, title=title, attempts=0,
                      stage=stage)
            s.add(job)
            s.flush()
            data = job_to_dict(job)
        self._held.add(job_id)
        self.events.publish("job_queued", data)
        return data

    def release(self, job_id: str) -> bool:
        """Hand a held job to the workers; False when it is not held (any more) or no longer queued."""
        if job_id not in self._held:
            return False
        self._held.discard(job_id)
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None or job.status != QUEUED:
                return False
            job.stage, job.updated_at = None, utcnow()
            kind, params = job.kind, dict(job.params or {})
        self.jobs.enqueue_existing(job_id, kind, params)
        return True

    def forget(self, job_id: str) -> None:
        """A held job was cancelled: nothing to release any more."""
        self._held.discard(job_id)

    def statuses(self, job_ids: list[str]) -> dict[str, str]:
        """Job id -> status, for the ids that exist."""
        with self.db.session() as s:
            return dict(s.execute(select(Job.id, Job.status).where(Job.id.in_(job_ids))).all())
