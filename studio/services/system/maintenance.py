"""Database and data-folder maintenance, run as a `system.maintenance` job (seed 000
`POST /api/system/maintenance`): integrity check, statistics, VACUUM, orphaned media, temp files,
log rotation and the request log's retention. Each step reports what it found and did.

Nothing here can lose data: SQLite's own statements are transactional (a crash mid-VACUUM leaves
the old database), files are removed only when no database row names them and they are older than
a grace period (and than every running job), and the request log is trimmed by the same rule the
API applies as it writes (`SystemService.prune_request_log`).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import math
import re
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text

from studio.db.store import is_valid_media_id
from studio.jobs import COMPLETED, PROCESSING, QUEUED, JobCancelled, JobContext, JobError, JobHandler

if TYPE_CHECKING:
    from studio.context import Context

log = logging.getLogger(__name__)

KIND = "system.maintenance"
ID_PREFIX = "maint"
# In the order they run: the check first (later steps are skipped on a damaged database), files
# and rows removed before the statistics and VACUUM that then see (and free) the space.
OPERATIONS: dict[str, str] = {
    "integrity_check": "PRAGMA quick_check of the SQLite database",
    "request_log_prune": "delete request-log rows older than request_log_days (the daily sums stay)",
    "orphaned_media": "delete media files no database row names, older than the grace period",
    "temp_cleanup": "delete unfinished temp files older than the grace period",
    "log_rotation": "roll the studio's log file over (the oldest backup is dropped)",
    "optimize": "ANALYZE and PRAGMA optimize (fresh query-planner statistics)",
    "vacuum": "VACUUM when no other job runs (else a WAL checkpoint), to give free pages back to the disk",
}
# Seed 000's operation names, each standing for the studio's steps that do that.
ALIASES: dict[str, list[str]] = {
    "database_cleanup": ["request_log_prune", "vacuum"],
    "index_optimization": ["optimize"],
    "cache_clearing": ["temp_cleanup"],
}
DEFAULT_GRACE_S = 3600.0
# Steps that read the database's content to decide what to delete or rewrite: not on a damaged one.
NEEDS_HEALTHY_DB = ("orphaned_media", "optimize", "vacuum")
# Tables that log requests or hold outside figures: no studio file is ever named there.
UNREFERENCING_TABLES = {"request_log", "request_rollups", "api_runs", "analytics_facts", "alembic_version"}
_DIGEST_RE = re.compile(r"_([0-9a-f]{8,64})(?![0-9a-f])")
# VACUUM rewrites the whole file while holding the write lock. Every other connection waits for
# it up to its busy_timeout (5 s, studio.db.database): above this size the rewrite could outlast
# that wait and make a writer fail, so a bigger database gets a WAL checkpoint instead. (Measured:
# a 120 MB WAL database with a third of its rows deleted vacuums in 1.4 s on a shared 2-core VM.)
VACUUM_MAX_BYTES = 128 << 20
VACUUM_LOCK_WAIT_S = 2.0  # how long VACUUM waits for a writer that holds the lock before giving up
MAINTENANCE_HOLD = "maintenance"


class MaintenanceError(ValueError):
    """Bad request to maintenance (unknown operation names)."""


class MaintenanceBusy(RuntimeError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"maintenance {job_id} is already queued or running: follow it at /api/jobs/{job_id}")
        self.job_id = job_id


def resolve_operations(names: list[str] | None) -> list[str]:
    """Canonical steps for `names` (None or empty: all), in run order; MaintenanceError naming the
    allowed names for an unknown one."""
    if not names:
        return list(OPERATIONS)
    wanted: set[str] = set()
    unknown = []
    for name in names:
        key = str(name).strip().lower()
        if key in OPERATIONS:
            wanted.add(key)
        elif key in ALIASES:
            wanted.update(ALIASES[key])
        else:
            unknown.append(str(name))
    if unknown:
        raise MaintenanceError(f"unknown operation(s): {', '.join(unknown)}; allowed: "
                               f"{', '.join([*OPERATIONS, *ALIASES])}")
    return [name for name in OPERATIONS if name in wanted]


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class Maintenance:
    def __init__(self, ctx: "Context", *, prune_request_log: Callable[[], int], backups_root: Path) -> None:
        self.ctx = ctx
        self._prune_request_log = prune_request_log
        self._backups_root = backups_root

    # --- what callers use -----------------------------------------------------------------------
    def start(self, operations: list[str] | None = None, *, grace_s: float = DEFAULT_GRACE_S) -> dict[str, Any]:
        """Queue a maintenance job. MaintenanceError for unknown names; MaintenanceBusy when one
        is already queued or running."""
        chosen = resolve_operations(operations)
        for status in (QUEUED, PROCESSING):
            _, running = self.ctx.jobs.list(kind=KIND, status=status, limit=1)
            if running:
                raise MaintenanceBusy(running[0]["id"])
        job = self.ctx.jobs.submit(KIND, {"operations": chosen, "grace_s": float(grace_s)}, title="Maintenance")
        estimate, reason = self.estimated_time_s()
        return {"job": job, "operations": chosen, "estimated_time": estimate,
                "reasons": {"estimated_time": reason} if reason else {}}

    def estimated_time_s(self) -> tuple[int | None, str | None]:
        """How long the last finished maintenance took (seconds, rounded up), or None and why."""
        _, done = self.ctx.jobs.list(kind=KIND, status=COMPLETED, limit=1)
        if done and done[0]["started_at"] and done[0]["finished_at"]:
            took = (parse_iso(done[0]["finished_at"]) - parse_iso(done[0]["started_at"])).total_seconds()
            return max(1, math.ceil(took)), None
        return None, "no maintenance has finished here yet: the first run's duration becomes the estimate"

    def handler(self) -> JobHandler:
        return JobHandler(kind=KIND, run=self.run, id_prefix=ID_PREFIX)

    # --- the job --------------------------------------------------------------------------------
    def run(self, job: JobContext) -> dict[str, Any]:
        try:
            operations = resolve_operations(job.params.get("operations"))
        except MaintenanceError as exc:
            raise JobError(str(exc), code="INVALID_OPERATIONS") from None
        grace_s = max(DEFAULT_GRACE_S, float(job.params.get("grace_s") or DEFAULT_GRACE_S))
        started = time.monotonic()
        steps: dict[str, dict[str, Any]] = {}
        healthy = True
        for index, name in enumerate(operations):
            job.progress(100.0 * index / len(operations), name)
            if not healthy and name in NEEDS_HEALTHY_DB:
                steps[name] = {"status": "skipped", "reason": "the integrity check found problems: restore a "
                               "backup (studio restore) before changing the database or deleting files"}
                continue
            step = getattr(self, f"_{name}")
            try:
                steps[name] = {"status": "done", **step(job, grace_s)}
            except (JobError, JobCancelled):
                raise
            except Exception as exc:  # one failing step is reported; the others still run
                log.warning("maintenance step %s failed", name, exc_info=True)
                steps[name] = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            if name == "integrity_check" and steps[name].get("integrity") not in (None, "ok"):
                healthy = False
        job.progress(100.0, "finished")
        return {"operations": operations, "steps": steps,
                "bytes_freed": sum(int(s.get("bytes_freed") or 0) for s in steps.values()),
                "integrity": steps.get("integrity_check", {}).get("integrity"),
                "duration_s": round(time.monotonic() - started, 3)}

    # --- the steps (each returns what it found and did) ----------------------------------------
    def _sqlite(self, timeout_s: float = 5.0) -> sqlite3.Connection | None:
        path = self.ctx.db.sqlite_path
        if path is None:
            return None
        conn = sqlite3.connect(path, timeout=timeout_s, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        return conn

    def _db_bytes(self) -> int:
        path = self.ctx.db.sqlite_path
        return 0 if path is None else _file_size(path) + _file_size(path.with_name(path.name + "-wal"))

    def _integrity_check(self, job: JobContext, grace_s: float) -> dict[str, Any]:
        conn = self._sqlite()
        if conn is None:
            return {"status": "skipped", "integrity": None,
                    "reason": "the integrity check covers the built-in SQLite database; check another with its own tools"}
        try:
            rows = [row[0] for row in conn.execute("PRAGMA quick_check")]
        finally:
            conn.close()
        if rows == ["ok"]:
            return {"integrity": "ok"}
        return {"integrity": "problems", "problems": rows[:50], "problem_count": len(rows)}

    def _request_log_prune(self, job: JobContext, grace_s: float) -> dict[str, Any]:
        return {"rows_deleted": self._prune_request_log(),
                "retention_days": self.ctx.settings.request_log_days}

    def _cutoff(self, grace_s: float) -> float:
        """Files modified after this (epoch seconds) are kept: younger than the grace period, or
        written since the oldest running job started (its file may not be recorded yet)."""
        cutoff = time.time() - grace_s
        _, running = self.ctx.jobs.list(status=PROCESSING, limit=200)
        for other in running:
            if other["kind"] != KIND and other["started_at"]:
                cutoff = min(cutoff, parse_iso(other["started_at"]).timestamp() - 60.0)
        return cutoff

    def referenced_digests(self) -> set[str]:
        """The hex part of every id-looking token anywhere in the database's text and JSON
        columns (every table but logs and imported outside figures) and in the JSON state files in
        the data folder. A media file whose id's hex is not among them is named by no row."""
        engine = self.ctx.db.engine
        inspector = inspect(engine)
        quote = engine.dialect.identifier_preparer.quote
        found: set[str] = set()
        with engine.connect() as conn:
            for table in inspector.get_table_names():
                if table in UNREFERENCING_TABLES:
                    continue
                columns = [c["name"] for c in inspector.get_columns(table)
                           if any(word in str(c["type"]).upper() for word in ("CHAR", "TEXT", "JSON", "CLOB"))]
                if not columns:
                    continue
                sql = f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table)}"
                for row in conn.execution_options(stream_results=True).execute(text(sql)):
                    for value in row:
                        if value is None:
                            continue
                        if not isinstance(value, str):
                            value = json.dumps(value, default=str)
                        if "_" in value:
                            found.update(_DIGEST_RE.findall(value))
        # State files beside the database (a part's bookkeeping) count as references too.
        for state in self.ctx.settings.home.glob("*.json"):
            try:
                found.update(_DIGEST_RE.findall(state.read_text(encoding="utf-8", errors="replace")))
            except OSError:
                continue
        return found

    def _orphaned_media(self, job: JobContext, grace_s: float) -> dict[str, Any]:
        root = self.ctx.store.root
        cutoff = self._cutoff(grace_s)
        candidates: list[tuple[Path, str, int]] = []
        scanned = kept_recent = 0
        for folder in sorted(root.iterdir()):
            if not folder.is_dir() or len(folder.name) != 2:  # the store's fan-out folders only (not .tmp)
                continue
            for path in folder.iterdir():
                # Only files that are the store's own: a well-formed id filed under its digest's folder.
                if not path.is_file() or not is_valid_media_id(path.name):
                    continue
                digest = path.name.split("_", 1)[1].split(".", 1)[0]
                if digest[:2] != folder.name:
                    continue
                scanned += 1
                stat = path.stat()
                if stat.st_mtime > cutoff:
                    kept_recent += 1
                    continue
                candidates.append((path, digest, stat.st_size))
        job.check_cancelled()
        removed, freed = [], 0
        if candidates:
            referenced = self.referenced_digests()  # read after listing: a row written meanwhile counts
            for path, digest, size in candidates:
                if digest in referenced:
                    continue
                job.check_cancelled()
                try:
                    path.unlink()
                except FileNotFoundError:
                    continue
                removed.append(path.name)
                freed += size
        if removed:
            log.info("maintenance removed %d orphaned media files (%d bytes)", len(removed), freed)
        return {"files_scanned": scanned, "files_deleted": len(removed), "deleted": removed[:100],
                "kept_too_recent": kept_recent, "grace_s": grace_s, "bytes_freed": freed}

    def _temp_cleanup(self, job: JobContext, grace_s: float) -> dict[str, Any]:
        cutoff = self._cutoff(grace_s)
        removed = freed = 0
        for folder in (self.ctx.store.root / ".tmp", self._backups_root / ".tmp"):
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                try:
                    stat = path.stat()
                    if not path.is_file() or stat.st_mtime > cutoff:
                        continue  # a temp file being written now (an encoder, a backup)
                    path.unlink()
                except FileNotFoundError:
                    continue
                removed += 1
                freed += stat.st_size
        return {"files_deleted": removed, "bytes_freed": freed, "grace_s": grace_s}

    def _log_rotation(self, job: JobContext, grace_s: float) -> dict[str, Any]:
        logs_dir = self.ctx.settings.logs_dir.resolve()
        handlers = [h for h in logging.getLogger().handlers
                    if isinstance(h, logging.handlers.RotatingFileHandler)
                    and Path(h.baseFilename).resolve().parent == logs_dir]
        if not handlers:
            return {"status": "skipped", "rotated": [],
                    "reason": "this process writes no rotating log file (logging was not set up by the studio)"}
        rotated, freed = [], 0
        for handler in handlers:
            base = Path(handler.baseFilename)
            family = lambda: [p for p in base.parent.glob(base.name + "*") if p.is_file()]  # noqa: E731
            before = sum(_file_size(p) for p in family())
            handler.acquire()
            try:
                handler.doRollover()
            finally:
                handler.release()
            freed += max(0, before - sum(_file_size(p) for p in family()))
            rotated.append(base.name)
        return {"rotated": rotated, "bytes_freed": freed}

    def _optimize(self, job: JobContext, grace_s: float) -> dict[str, Any]:
        conn = self._sqlite()
        if conn is None:
            return {"status": "skipped", "reason": "ANALYZE/optimize cover the built-in SQLite database"}
        try:
            conn.execute("ANALYZE")
            conn.execute("PRAGMA optimize")
        finally:
            conn.close()
        return {"analyzed": True, "optimized": True}

    def _vacuum(self, job: JobContext, grace_s: float) -> dict[str, Any]:
        """VACUUM only when it cannot get in a writer's way; otherwise a WAL checkpoint.

        How that is guaranteed: the job queue is held first (`JobQueue.hold`: workers take no new
        job; it returns the jobs running at that moment under the same lock the workers take a job
        under), so when this job is the only one running, no job can write until the hold is
        released. The writes left are the loop thread's short transactions (request log, monitors),
        which wait on SQLite's busy_timeout (5 s) while VACUUM holds the lock: so VACUUM runs only
        on a database small enough to be rewritten well within that (VACUUM_MAX_BYTES), and VACUUM
        itself waits at most VACUUM_LOCK_WAIT_S for a writer holding the lock, then gives up (the
        checkpoint runs instead). VACUUM is one transaction: a crash leaves the old file intact.
        """
        if self.ctx.db.sqlite_path is None:
            return {"status": "skipped", "reason": "VACUUM covers the built-in SQLite database"}
        before = self._db_bytes()
        others = self.ctx.jobs.hold(MAINTENANCE_HOLD) - {job.job_id}
        try:
            reason = None
            if others:
                reason = (f"{len(others)} other job(s) were running ({', '.join(sorted(others)[:5])}): VACUUM "
                          "needs the database to itself, so the WAL was checkpointed instead; run maintenance "
                          "again when the queue is idle")
            elif before > VACUUM_MAX_BYTES:
                reason = (f"the database is {before >> 20} MiB: rewriting it would hold other writers longer than "
                          f"they wait, so the WAL was checkpointed instead (VACUUM runs up to {VACUUM_MAX_BYTES >> 20} MiB)")
            conn = self._sqlite(timeout_s=VACUUM_LOCK_WAIT_S)
            try:
                vacuumed = False
                if reason is None:
                    try:
                        conn.execute("VACUUM")
                        vacuumed = True
                    except sqlite3.OperationalError as exc:  # locked by a writer: leave it be
                        reason = f"VACUUM could not get the database ({exc}); the WAL was checkpointed instead"
                busy, wal_pages, moved = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                conn.close()
        finally:
            self.ctx.jobs.release(MAINTENANCE_HOLD)
        after = self._db_bytes()
        out: dict[str, Any] = {"vacuumed": vacuumed, "checkpoint": {"busy": bool(busy), "wal_pages": wal_pages,
                                                                    "pages_moved": moved},
                               "size_before_bytes": before, "size_after_bytes": after,
                               "bytes_freed": max(0, before - after)}
        if reason:
            out["reason"] = reason
        return out
