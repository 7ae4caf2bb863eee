"""Recent failures, as recorded: jobs that failed (the job table keeps their error) and API requests
answered with a 5xx (the request log keeps route, method, status, time and request id). Nothing is
made up: an entry is a row of one of those two tables, under a stable id (`job_<job id>`,
`request_<row id>`). The request log keeps each request `request_log_days`; failed jobs stay until
their rows are removed."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import func, select

from studio.db.models import Job, RequestLog
from studio.jobs import FAILED
from studio.timeutil import iso

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.system.logs import LogReader

Source = Literal["all", "job", "request"]
JOB_PREFIX = "job_"
REQUEST_PREFIX = "request_"
MAX_PARAM_CHARS = 80  # a job's params are summarised: long texts (lyrics, scripts) are cut
LOG_WINDOW_S = 120  # log entries this close to a failed request are searched for its request id


class UnknownError(KeyError):
    pass


def _summarise(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_PARAM_CHARS else value[:MAX_PARAM_CHARS] + f"… ({len(value)} characters)"
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return f"{len(value)} items"
    if isinstance(value, dict):
        return f"{len(value)} fields"
    return type(value).__name__


def _job_time(job: Job):
    return job.finished_at or job.updated_at


def _job_entry(job: Job) -> dict[str, Any]:
    error = job.error or {}
    return {"error_id": f"{JOB_PREFIX}{job.id}", "source": "job", "occurred_at": iso(_job_time(job)),
            "code": error.get("code") or "JOB_FAILED",
            "message": error.get("message") or "the job failed without recording why",
            "kind": job.kind, "job_id": job.id}


def _request_entry(row: RequestLog) -> dict[str, Any]:
    route = row.route or row.path
    return {"error_id": f"{REQUEST_PREFIX}{row.id}", "source": "request", "occurred_at": iso(row.at),
            "code": f"HTTP_{row.status}", "message": f"{row.method} {route} answered {row.status}",
            "route": row.route, "method": row.method, "status": row.status, "request_id": row.request_id}


class Failures:
    def __init__(self, ctx: "Context", logs: "LogReader") -> None:
        self.ctx = ctx
        self.logs = logs

    def list(self, *, source: Source = "all", limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """Recorded failures, newest first: {total, errors, counts}."""
        want = offset + limit
        jobs: list[Job] = []
        requests: list[RequestLog] = []
        with self.ctx.db.session() as s:
            job_total = s.scalar(select(func.count()).select_from(Job).where(Job.status == FAILED)) or 0
            request_total = s.scalar(select(func.count()).select_from(RequestLog).where(RequestLog.status >= 500)) or 0
            if source in ("all", "job"):
                order = func.coalesce(Job.finished_at, Job.updated_at).desc()
                jobs = list(s.scalars(select(Job).where(Job.status == FAILED).order_by(order).limit(want)).all())
            if source in ("all", "request"):
                requests = list(s.scalars(select(RequestLog).where(RequestLog.status >= 500)
                                          .order_by(RequestLog.at.desc(), RequestLog.id.desc()).limit(want)).all())
            merged = [(_job_time(j), _job_entry(j)) for j in jobs] + [(r.at, _request_entry(r)) for r in requests]
        merged.sort(key=lambda pair: pair[0], reverse=True)
        total = {"all": job_total + request_total, "job": job_total, "request": request_total}[source]
        return {"total": total, "limit": limit, "offset": offset,
                "counts": {"job": job_total, "request": request_total},
                "errors": [entry for _, entry in merged[offset:want]]}

    async def get_async(self, error_id: str) -> dict[str, Any]:
        """`get` on a worker thread (a 5xx's detail reads the log files)."""
        return await asyncio.to_thread(self.get, error_id)

    def get(self, error_id: str) -> dict[str, Any]:
        """One failure in detail; UnknownError for an id that names no recorded failure."""
        with self.ctx.db.session() as s:
            if error_id.startswith(JOB_PREFIX):
                job = s.get(Job, error_id[len(JOB_PREFIX):])
                if job is None or job.status != FAILED:
                    raise UnknownError(error_id)
                return {**_job_entry(job), "title": job.title, "error": job.error,
                        "params": {k: _summarise(v) for k, v in (job.params or {}).items()},
                        "attempts": job.attempts, "retry_of": job.retry_of, "stage": job.stage,
                        "progress": round(job.progress, 1), "created_at": iso(job.created_at),
                        "started_at": iso(job.started_at), "finished_at": iso(job.finished_at),
                        "job_url": f"/api/jobs/{job.id}"}
            number = error_id[len(REQUEST_PREFIX):]
            if not error_id.startswith(REQUEST_PREFIX) or not (number.isascii() and number.isdigit()) \
                    or len(number) > 18:
                raise UnknownError(error_id)
            row = s.get(RequestLog, int(number))
            if row is None or row.status < 500:
                raise UnknownError(error_id)
            detail = {**_request_entry(row), "path": row.path, "latency_ms": round(row.latency_ms, 1),
                      "key_id": row.key_id}
            at = row.at
        window = timedelta(seconds=LOG_WINDOW_S)
        # What the server logged about it (the unhandled error's traceback names the request id).
        found = self.logs.entries(since=iso(at - window), until=iso(at + window), contains=detail["request_id"],
                                  limit=20)
        detail["log_entries"] = found["logs"]
        return detail
