"""Persisted job queue and engine worker threads (see DESIGN.md "Jobs" and "Threads and the loop").

- A job is a row in `jobs`; its handler is registered per `kind`.
- `handler.run(job_context)` runs in a worker thread: it does the heavy work (engine), reports
  progress through the context and checks for cancellation between steps. It returns a plain dict.
- `handler.complete(job, result)` (optional) runs on the loop thread afterwards: it records what
  the engine produced (tracks, files) in the database and may reshape the stored result.
- All database writes happen on the loop thread; workers hop over with `call_soon_threadsafe`.
- On start-up, jobs a crash left `processing` are re-queued.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from studio.db import Database
from studio.db.models import Job
from studio.db.store import new_id
from studio.events import EventBus
from studio.timeutil import iso, utcnow

log = logging.getLogger(__name__)

QUEUED, PROCESSING, COMPLETED, FAILED, CANCELLED = "queued", "processing", "completed", "failed", "cancelled"
FINISHED = (COMPLETED, FAILED, CANCELLED)
STATUSES = (QUEUED, PROCESSING, COMPLETED, FAILED, CANCELLED)

# Progress is persisted at most this often (events go out on every update).
_PERSIST_INTERVAL_S = 0.5


class JobCancelled(Exception):
    """Raised inside a handler (by JobContext.check_cancelled) to stop cooperatively."""


class JobError(Exception):
    """A handler failure with a message meant for the user (no stack trace is shown)."""

    def __init__(self, message: str, code: str = "JOB_FAILED", details: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.details = details or {}


class JobStateError(Exception):
    """The job cannot do that in its current state (e.g. cancel a finished job)."""


class UnknownJob(KeyError):
    pass


@dataclass
class JobHandler:
    kind: str
    run: Callable[["JobContext"], dict[str, Any]]
    complete: Callable[[Job, dict[str, Any]], dict[str, Any] | None] | None = None
    id_prefix: str = "job"
    # Extra event published with progress, e.g. seed 000's `generation_progress`.
    progress_event: str | None = None
    progress_payload: Callable[[dict[str, Any]], dict[str, Any]] | None = None


@dataclass
class JobContext:
    """What a handler sees in its worker thread."""

    job_id: str
    kind: str
    params: dict[str, Any]
    attempt: int
    _cancel: threading.Event
    _report: Callable[[str, float, str | None], None]
    started_monotonic: float = field(default_factory=time.monotonic)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise JobCancelled()

    def progress(self, percent: float, stage: str | None = None) -> None:
        """Report progress (0-100) and the current stage name; also a cancellation point."""
        self._report(self.job_id, max(0.0, min(100.0, float(percent))), stage)
        self.check_cancelled()


def job_to_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "title": job.title,
        "status": job.status,
        "progress": round(job.progress, 1),
        "stage": job.stage,
        "params": job.params,
        "result": job.result,
        "error": job.error,
        "attempts": job.attempts,
        "retry_of": job.retry_of,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "updated_at": iso(job.updated_at),
    }


COUNTS_TTL_S = 1.0


class JobQueue:
    def __init__(self, db: Database, events: EventBus, max_concurrent: int = 1) -> None:
        self.db = db
        self.events = events
        self._handlers: dict[str, JobHandler] = {}
        self._work: queue.Queue[tuple[str, str, dict, int] | None] = queue.Queue()
        self._cancel_flags: dict[str, threading.Event] = {}
        self._threads: list[threading.Thread] = []
        self._target_workers = max_concurrent
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_persist: dict[str, float] = {}
        self._live: dict[str, dict[str, Any]] = {}  # last published state of running jobs
        self._running = False
        # Holds: while any is set, workers take no new job (running ones finish). "stopped" is the
        # user's (services control), "maintenance" a VACUUM's; each is released on its own.
        self._holds: set[str] = set()
        self._gate = threading.Condition()
        self._active: set[str] = set()  # jobs a worker is running now (guarded by _gate)
        self.last_activity: datetime | None = None  # when a worker last started or finished a job
        # counts() is read on every GET /api/status: kept until a job event says a status changed
        # (every change the studio makes publishes one), and at most COUNTS_TTL_S for rows written
        # without an event (maintenance pruning)
        self._counts: tuple[float, dict[str, int]] | None = None
        self._counts_generation = 0
        events.subscribe(self._forget_counts)

    # --- registration ---------------------------------------------------------------------------
    def register(self, handler: JobHandler) -> None:
        self._handlers[handler.kind] = handler

    def handler(self, kind: str) -> JobHandler:
        return self._handlers[kind]

    @property
    def kinds(self) -> list[str]:
        return sorted(self._handlers)

    # --- life cycle -----------------------------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Recover jobs a crash interrupted, start the workers and enqueue waiting jobs."""
        self._loop = loop or asyncio.get_event_loop()
        self.events.bind_loop(self._loop)
        self._running = True
        with self.db.session() as s:
            interrupted = s.scalars(select(Job).where(Job.status == PROCESSING)).all()
            for job in interrupted:
                log.warning("re-queueing job %s interrupted by a crash at %.0f%%", job.id, job.progress)
                job.status, job.stage, job.updated_at = QUEUED, "requeued after restart", utcnow()
            waiting = s.scalars(select(Job).where(Job.status == QUEUED).order_by(Job.created_at)).all()
            items = [(j.id, j.kind, dict(j.params or {}), j.attempts) for j in waiting]
        for item in items:
            if item[1] in self._handlers:
                self._enqueue(*item)
            else:
                log.error("job %s has unknown kind %s; leaving it queued", item[0], item[1])
        self.set_max_concurrent(self._target_workers)

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Ask running jobs to stop and the workers to exit. Interrupted jobs stay `processing` in
        the database and are re-queued at the next start, as after a crash. False when a worker is
        still inside a step that cannot be interrupted after `timeout_s`."""
        self._running = False
        with self._gate:
            self._gate.notify_all()  # workers waiting out a hold see the queue is stopping
        for flag in self._cancel_flags.values():
            flag.set()
        for _ in self._threads:
            self._work.put(None)
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stopped = not any(thread.is_alive() for thread in self._threads)
        self._threads.clear()
        return stopped

    def set_max_concurrent(self, count: int) -> None:
        """Grow or shrink the worker pool; extra workers exit after their current job."""
        self._target_workers = max(1, count)
        self._threads = [t for t in self._threads if t.is_alive()]
        while len(self._threads) < self._target_workers:
            thread = threading.Thread(target=self._worker, name=f"engine-worker-{len(self._threads)}", daemon=True)
            self._threads.append(thread)
            thread.start()
        for _ in range(len(self._threads) - self._target_workers):
            self._work.put(None)

    @property
    def max_concurrent(self) -> int:
        return self._target_workers

    # --- holding the workers (services control, maintenance) -------------------------------------
    def hold(self, reason: str) -> set[str]:
        """Workers take no new job until every hold is released; jobs already running go on.
        Returns the ids of the jobs running now (once this returns, no other job can start)."""
        with self._gate:
            self._holds.add(reason)
            return set(self._active)

    def release(self, reason: str) -> None:
        with self._gate:
            self._holds.discard(reason)
            self._gate.notify_all()

    @property
    def holds(self) -> set[str]:
        with self._gate:
            return set(self._holds)

    @property
    def accepting(self) -> bool:
        """Whether workers take new jobs (started and not held)."""
        return self._running and not self.holds

    def active_jobs(self) -> set[str]:
        """Ids of the jobs a worker is running at this moment."""
        with self._gate:
            return set(self._active)

    # --- API for services -----------------------------------------------------------------------
    def submit(self, kind: str, params: dict[str, Any], *, title: str | None = None,
               job_id: str | None = None, retry_of: str | None = None) -> dict[str, Any]:
        if kind not in self._handlers:
            raise ValueError(f"unknown job kind {kind!r}; known: {', '.join(self.kinds)}")
        handler = self._handlers[kind]
        job = Job(id=job_id or new_id(handler.id_prefix), kind=kind, params=params, status=QUEUED,
                  progress=0.0, title=title, retry_of=retry_of, attempts=0)
        with self.db.session() as s:
            s.add(job)
            s.flush()
            data = job_to_dict(job)
        self._enqueue(job.id, kind, params, 0)
        self.events.publish("job_queued", data)
        return data

    def enqueue_existing(self, job_id: str, kind: str, params: dict[str, Any]) -> None:
        """Hand a job row that was written `queued` but kept off the workers (a batch member
        waiting for a slot) to the workers now."""
        if kind not in self._handlers:
            raise ValueError(f"unknown job kind {kind!r}; known: {', '.join(self.kinds)}")
        self._enqueue(job_id, kind, params, 0)

    def get(self, job_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise UnknownJob(job_id)
            return job_to_dict(job)

    def list(self, *, kind: str | None = None, kinds: list[str] | None = None, status: str | None = None,
             limit: int = 50, offset: int = 0, newest_first: bool = True) -> tuple[int, list[dict[str, Any]]]:
        with self.db.session() as s:
            query = select(Job)
            if kind:
                query = query.where(Job.kind == kind)
            if kinds:
                query = query.where(Job.kind.in_(kinds))
            if status:
                query = query.where(Job.status == status)
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            order = Job.created_at.desc() if newest_first else Job.created_at.asc()
            rows = s.scalars(query.order_by(order).limit(limit).offset(offset)).all()
            return total, [job_to_dict(j) for j in rows]

    def counts(self) -> dict[str, int]:
        cached = self._counts
        if cached is not None and time.monotonic() - cached[0] < COUNTS_TTL_S:
            return dict(cached[1])
        generation = self._counts_generation
        taken = time.monotonic()
        with self.db.engine.connect() as conn:  # a plain read: no ORM session to set up and commit
            rows = conn.execute(select(Job.status, func.count()).group_by(Job.status)).all()
        counts = {status: 0 for status in STATUSES}
        counts.update({status: n for status, n in rows})
        if generation == self._counts_generation:  # no status changed while it was read
            self._counts = (taken, counts)
        return dict(counts)

    def _forget_counts(self, event: str, _data: dict[str, Any]) -> None:
        if event.startswith("job_"):
            self._counts_generation += 1
            self._counts = None

    def queue_position(self, job_id: str) -> int:
        """1-based position among waiting jobs (0 when it is already running or finished)."""
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise UnknownJob(job_id)
            if job.status != QUEUED:
                return 0
            ahead = s.scalar(select(func.count()).where(Job.status == QUEUED, Job.created_at < job.created_at))
            return int(ahead or 0) + 1

    def cancel(self, job_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise UnknownJob(job_id)
            if job.status in FINISHED:
                raise JobStateError(f"job {job_id} is already {job.status}; only queued or processing jobs can be cancelled")
            flag = self._cancel_flags.setdefault(job_id, threading.Event())
            flag.set()
            if job.status == QUEUED:
                # Never started: finish it here; the worker skips it when it comes up.
                self._finish(s, job, CANCELLED, stage="cancelled")
                data = job_to_dict(job)
            else:
                data = job_to_dict(job)
                data["cancel_requested"] = True
        if data["status"] == CANCELLED:
            self._publish(data)
        else:
            live = self._live.get(job_id)
            if live is not None:
                live["stage"] = "cancelling"
                self._publish(dict(live))
        return data

    def retry(self, job_id: str) -> dict[str, Any]:
        """A new job with the same kind and params."""
        original = self.get(job_id)
        if original["status"] in (QUEUED, PROCESSING):
            raise JobStateError(f"job {job_id} is still {original['status']}; retry it once it has finished")
        return self.submit(original["kind"], original["params"], title=original["title"], retry_of=job_id)

    async def wait(self, job_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """Until the job has finished (for tests and scripts)."""
        deadline = time.monotonic() + timeout_s
        while True:
            data = self.get(job_id)
            if data["status"] in FINISHED:
                return data
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {data['status']} after {timeout_s}s")
            await asyncio.sleep(0.02)

    # --- internals ------------------------------------------------------------------------------
    def _enqueue(self, job_id: str, kind: str, params: dict, attempts: int) -> None:
        self._cancel_flags.setdefault(job_id, threading.Event())
        self._work.put((job_id, kind, params, attempts))

    def _worker(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            job_id, kind, params, attempts = item
            flag = self._cancel_flags.setdefault(job_id, threading.Event())
            with self._gate:  # a held queue keeps the job waiting (still `queued`) until released
                while self._holds and self._running and not flag.is_set():
                    self._gate.wait(0.5)
                if flag.is_set() or not self._running:
                    self._cancel_flags.pop(job_id, None)
                    continue
                self._active.add(job_id)
                self.last_activity = utcnow()
            handler = self._handlers[kind]
            ctx = JobContext(job_id, kind, params, attempts + 1, flag, self._report_threadsafe)
            self._call_on_loop(self._on_started, job_id)
            try:
                result = handler.run(ctx) or {}
                outcome: tuple = (COMPLETED, result, None)
            except JobCancelled:
                outcome = (CANCELLED, None, None)
            except JobError as exc:
                outcome = (FAILED, None, {"code": exc.code, "message": str(exc), "details": exc.details})
            except Exception as exc:  # a bug in a handler: record it, keep the worker alive
                log.error("job %s (%s) crashed:\n%s", job_id, kind, traceback.format_exc())
                outcome = (FAILED, None, {"code": "INTERNAL_ERROR", "message": f"{type(exc).__name__}: {exc}"})
            with self._gate:
                self._active.discard(job_id)
                self.last_activity = utcnow()
            if not self._running and outcome[0] == CANCELLED:
                continue  # shutting down: leave it `processing` so the next start resumes it
            self._call_on_loop(self._on_finished, job_id, *outcome)

    def _call_on_loop(self, fn, *args) -> None:
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:  # loop closed during shutdown
                pass

    def _report_threadsafe(self, job_id: str, percent: float, stage: str | None) -> None:
        self._call_on_loop(self._on_progress, job_id, percent, stage)

    def _on_started(self, job_id: str) -> None:
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None or job.status != QUEUED:
                return
            job.status, job.started_at, job.updated_at = PROCESSING, utcnow(), utcnow()
            job.attempts += 1
            job.stage = "starting"
            data = job_to_dict(job)
        self._live[job_id] = dict(data)
        self._publish(data)

    def _on_progress(self, job_id: str, percent: float, stage: str | None) -> None:
        live = self._live.get(job_id)
        if live is None or live["status"] != PROCESSING:
            return
        now = time.monotonic()
        stage_changed = stage is not None and stage != live["stage"]
        live["progress"] = round(percent, 1)
        if stage is not None:
            live["stage"] = stage
        if stage_changed or now - self._last_persist.get(job_id, 0.0) >= _PERSIST_INTERVAL_S:
            self._last_persist[job_id] = now
            with self.db.session() as s:
                job = s.get(Job, job_id)
                if job is None or job.status != PROCESSING:
                    return
                job.progress, job.stage, job.updated_at = percent, live["stage"], utcnow()
        self._publish(dict(live))

    def _on_finished(self, job_id: str, status: str, result: dict | None, error: dict | None) -> None:
        handler = None
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                return
            if status == COMPLETED:
                handler = self._handlers.get(job.kind)
                if handler and handler.complete:
                    try:
                        result = handler.complete(job, result or {}) or result
                    except Exception as exc:
                        log.error("recording job %s failed:\n%s", job_id, traceback.format_exc())
                        status, result = FAILED, None
                        error = {"code": "INTERNAL_ERROR", "message": f"recording the result failed: {exc}"}
            job.result, job.error = result, error
            self._finish(s, job, status, stage=status)
            if status == COMPLETED:
                job.progress = 100.0
            data = job_to_dict(job)
        self._cancel_flags.pop(job_id, None)
        self._last_persist.pop(job_id, None)
        self._live.pop(job_id, None)
        self._publish(data)

    @staticmethod
    def _finish(session, job: Job, status: str, stage: str) -> None:
        job.status, job.stage = status, stage
        job.finished_at = job.updated_at = utcnow()

    def _publish(self, data: dict[str, Any]) -> None:
        status = data["status"]
        name = {QUEUED: "job_queued", PROCESSING: "job_progress", COMPLETED: "job_completed",
                FAILED: "job_failed", CANCELLED: "job_cancelled"}[status]
        self.events.publish(name, data)
        handler = self._handlers.get(data["kind"])
        if handler and handler.progress_event:
            payload = handler.progress_payload(data) if handler.progress_payload else data
            self.events.publish(handler.progress_event, payload)
