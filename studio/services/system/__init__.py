"""System area: health, status, configuration, jobs overview, backups and restore, and the
GUI player's audio output (the engine's player, so the UI never imports the engine)."""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import psutil
from sqlalchemy import delete

from studio import __version__
from studio.config import EDITABLE_FIELDS, save_user_settings
from studio.db.models import LATENCY_EDGES_MS, ApiRun, RequestLog, RequestRollup
from studio.db.store import MediaStore
from studio.engine.io.peaks import ENVELOPE_BINS, envelope, read_peaks
from studio.engine.io.decode import read_audio
from studio.engine.io.playback import OutputStatus, Player, probe_output
from studio.jobs import COMPLETED, JobContext, JobError, JobHandler
from studio.services.system.failures import Failures
from studio.services.system.logs import LogReader
from studio.services.system.maintenance import Maintenance
from studio.services.system.services import ServiceRegistry
from studio.services.system.metrics import StudioMetrics
from studio.services.system.monitoring import SystemMonitor
from studio.services.system.models import ModelCatalog
from studio.timeutil import now_iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.system.auth import AuthService

log = logging.getLogger(__name__)
# How often a running API server records that it is alive (API uptime counts up to the last beat).
API_HEARTBEAT_S = 60.0
PRUNE_INTERVAL_S = 3600.0  # the request log is trimmed to request_log_days at most this often
# Below these, health reports "low" (the studio keeps working but warns).
MIN_FREE_DISK_BYTES = 1 << 30
MIN_AVAILABLE_MEMORY_BYTES = 512 << 20
BACKUP_FORMAT_VERSION = 1


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} days"] if days else []
    parts += [f"{hours} hours", f"{minutes} minutes"]
    return ", ".join(parts)


def _human_size(size_bytes: int | None) -> str | None:
    if size_bytes is None:
        return None
    size = float(size_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return None


class SystemService:
    def __init__(self, ctx: "Context", *, auth: "AuthService") -> None:
        self.ctx = ctx
        self.auth = auth
        self.started_monotonic = time.monotonic()
        self.backups = MediaStore(ctx.settings.home / "backups")
        self._api_run_id: int | None = None
        self._heartbeat: asyncio.Task | None = None
        self._pruned_at = float("-inf")  # monotonic time of the last request-log prune
        # Parts (issue #19): the log read back, recorded failures, models and SoundFonts.
        self.logs = LogReader(ctx)
        self.errors = Failures(ctx, self.logs)
        self.models = ModelCatalog(ctx, apply_settings=self.update_config)
        # Parts (issue #19 item 3): maintenance jobs, and the background services' registry.
        self.maintenance = Maintenance(ctx, prune_request_log=self.prune_request_log, backups_root=self.backups.root)
        self.services = ServiceRegistry(ctx)
        # Prometheus metrics (studio-owned registry) and the monitoring figures with their history.
        self.metrics = StudioMetrics(ctx, uptime_s=lambda: self.uptime_s)
        self.monitoring = SystemMonitor(ctx, health=self.health, uptime_s=lambda: self.uptime_s,
                                        backups_dir=self.backups.root)

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self.started_monotonic

    # --- health & status ------------------------------------------------------------------------
    def connector_status(self) -> dict[str, str]:
        """Outside platforms the user turned on (none by default), each "connected", "error" or
        "not_checked", from the trend and community sources' recorded state (the registry's)."""
        return self.services.connections()

    def api_started(self, url: str) -> None:
        """The API server calls this once it listens (and `api_stopped` when it stops). Each run is
        recorded (`api_runs`) with a heartbeat, so API uptime can be measured even across crashes."""
        self.ctx.server_running = True
        self.ctx.api_url = url
        with self.ctx.db.session() as s:
            run = ApiRun(started_at=utcnow(), last_seen_at=utcnow())
            s.add(run)
            s.flush()
            self._api_run_id = run.id
        try:
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat())
        except RuntimeError:  # called outside a loop (tests): the start and stop still count
            self._heartbeat = None

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(API_HEARTBEAT_S)
            try:
                await asyncio.to_thread(self._touch_run)
            except Exception:  # a busy database must not stop the heartbeat for good
                log.warning("could not record the API heartbeat", exc_info=True)

    def _touch_run(self) -> None:
        with self.ctx.db.session() as s:
            run = s.get(ApiRun, self._api_run_id) if self._api_run_id else None
            if run is not None:
                run.last_seen_at = utcnow()

    def api_stopped(self) -> None:
        self.ctx.server_running = False
        self.ctx.api_url = None
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None
        if self._api_run_id is not None:
            with self.ctx.db.session() as s:
                run = s.get(ApiRun, self._api_run_id)
                if run is not None:
                    run.last_seen_at = run.stopped_at = utcnow()
            self._api_run_id = None

    def record_requests(self, rows: list[dict[str, Any]]) -> None:
        """Store a batch of API request-log rows, and add them to the hourly per-route sums
        (`request_rollups`, per day) that API-usage analytics reads instead of scanning the log. One
        multi-row insert per batch (the server hands batches over off the request path)."""
        now = utcnow()
        sums: dict[tuple[str, str], list] = {}
        for row in rows:
            at = row.get("at") or now
            key = (at.astimezone(timezone.utc).strftime("%Y-%m-%d"),
                   f"{row.get('method', 'GET')} {row.get('route') or 'unmatched'}"[:200])
            entry = sums.setdefault(key, [0, 0, 0, 0.0, 0.0, [0] * (len(LATENCY_EDGES_MS) + 1)])
            status, latency = int(row.get("status") or 0), float(row.get("latency_ms") or 0.0)
            entry[0] += 1
            entry[1] += 400 <= status < 500
            entry[2] += status >= 500
            entry[3] += latency
            entry[4] = max(entry[4], latency)
            entry[5][bisect.bisect_left(LATENCY_EDGES_MS, latency)] += 1
        if rows:
            self.services.last_request_at = max(row.get("at") or now for row in rows)
        with self.ctx.db.session() as s:
            if time.monotonic() - self._pruned_at >= PRUNE_INTERVAL_S:
                self.prune_request_log(s)
            columns = ("request_id", "method", "path", "route", "status", "latency_ms", "key_id", "client")
            s.execute(RequestLog.__table__.insert(), [{"at": row.get("at") or now, **{c: row.get(c) for c in columns}}
                                                      for row in rows])
            for (day, route), (n, client, server, total, slowest, buckets) in sums.items():
                rollup = s.get(RequestRollup, (day, route))
                if rollup is None:
                    s.add(RequestRollup(day=day, route=route, requests=n, client_errors=client, server_errors=server,
                                        latency_ms_sum=total, latency_ms_max=slowest, latency_buckets=buckets))
                    continue
                rollup.requests += n
                rollup.client_errors += client
                rollup.server_errors += server
                rollup.latency_ms_sum += total
                rollup.latency_ms_max = max(rollup.latency_ms_max, slowest)
                before = list(rollup.latency_buckets or [])
                if len(before) == len(buckets):  # days summed before the buckets existed keep none
                    rollup.latency_buckets = [a + b for a, b in zip(before, buckets)]

    def prune_request_log(self, session=None) -> int:
        """Delete request-log rows older than request_log_days (what API usage reads is the daily
        sums, kept); returns how many. The API's writer calls it hourly, maintenance on demand."""
        self._pruned_at = time.monotonic()
        cutoff = utcnow() - timedelta(days=self.ctx.settings.request_log_days)
        if session is not None:
            return session.execute(delete(RequestLog).where(RequestLog.at < cutoff)).rowcount or 0
        with self.ctx.db.session() as s:
            return s.execute(delete(RequestLog).where(RequestLog.at < cutoff)).rowcount or 0

    def health(self) -> dict[str, Any]:
        """Seed 000 `GET /api/health` with real checks."""
        checks: dict[str, str] = {}
        try:
            self.ctx.db.ping()
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        free = shutil.disk_usage(self.ctx.settings.home).free
        checks["disk_space"] = "ok" if free >= MIN_FREE_DISK_BYTES else f"low: {free // (1 << 20)} MiB free"
        available = psutil.virtual_memory().available
        checks["memory"] = "ok" if available >= MIN_AVAILABLE_MEMORY_BYTES else f"low: {available // (1 << 20)} MiB available"
        connectors = self.connector_status()
        checks["apis"] = "ok" if connectors and all(v in ("connected", "not_checked") for v in connectors.values()) else (
            "none_configured" if not connectors else "degraded")
        checks["job_workers"] = ("stopped" if self.ctx.jobs.max_concurrent <= 0 or "stopped" in self.ctx.jobs.holds
                                 else "ok")  # "stopped": POST /api/services/job_workers/stop
        essential_ok = checks["database"] == "ok"
        all_ok = all(v in ("ok", "none_configured") for v in checks.values())
        return {
            "status": "healthy" if all_ok else ("degraded" if essential_ok else "unhealthy"),
            "version": __version__,
            "timestamp": now_iso(),
            "checks": checks,
        }

    def status(self) -> dict[str, Any]:
        """`GET /api/status`: what runs where, queue and uptime."""
        counts = self.ctx.jobs.counts()
        return {
            "status": "operational",
            "version": __version__,
            "timestamp": now_iso(),
            "uptime": format_duration(self.uptime_s),
            "uptime_seconds": round(self.uptime_s, 1),
            "api_url": self.ctx.api_base_url,
            "data_dir": str(self.ctx.settings.home),
            "database": self.ctx.db.url.split("://", 1)[0],
            "device": self.ctx.device_label(),
            "jobs": {"queued": counts["queued"], "processing": counts["processing"],
                     "max_concurrent": self.ctx.jobs.max_concurrent, "kinds": self.ctx.jobs.kinds},
        }

    def system_status(self) -> dict[str, Any]:
        """Seed 000 `GET /api/system/status`: resource figures measured now."""
        disk = shutil.disk_usage(self.ctx.settings.home)
        counts = self.ctx.jobs.counts()
        services = []
        for entry in self.services.list():  # each service's state and measured last_activity
            item = {"name": entry["name"], "status": entry["status"], "last_activity": entry["last_activity"],
                    "uptime": entry["uptime"]}
            if entry["name"] == "job_workers":
                item.update(workers=self.ctx.jobs.max_concurrent, queued=counts["queued"],
                            processing=counts["processing"])
            elif entry["name"] == "api_server":
                item["url"] = self.ctx.api_base_url
            services.append(item)
        reasons = {"system_health.network_latency": "not measured: the studio runs locally and pings no "
                                                    "outside host; see api_connections for each platform's last contact"}
        for item in services:
            if item["last_activity"] is None:
                reasons[f"services.{item['name']}.last_activity"] = "no work of it is on record yet"
        return {
            "status": "operational",
            "timestamp": now_iso(),
            "uptime": format_duration(self.uptime_s),
            "system_health": {
                "cpu_usage": psutil.cpu_percent(interval=None),
                "memory_usage": psutil.virtual_memory().percent,
                "disk_usage": round(100.0 * disk.used / disk.total, 1),
                "network_latency": None,
                "process_memory_mb": round(psutil.Process().memory_info().rss / (1 << 20), 1),
            },
            "services": services,
            "api_connections": self.connector_status(),
            "reasons": reasons,
        }

    # --- configuration --------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        s = self.ctx.settings
        return {
            "generation_settings": {"max_concurrent": s.max_concurrent, "device": s.device,
                                    "soundfont_path": str(s.soundfont_path) if s.soundfont_path else None},
            "server": {"host": s.host, "port": s.port, "api_enabled": s.api_enabled,
                       "max_body_mb": s.max_body_mb, "session_ttl_s": s.session_ttl_s},
            "rate_limits": {group: limit.model_dump() for group, limit in s.rate_limits.items()},
            "storage": {"data_dir": str(s.home), "database_url": s.effective_database_url},
            "log_level": s.log_level,
        }

    def system_soundfonts(self) -> list[dict[str, Any]]:
        """Larger General MIDI SoundFonts the operating system installed (e.g. fluid-soundfont-gm),
        largest first, to offer as soundfont_path next to the embedded default."""
        from studio.engine.instruments.soundfont import find_system_soundfonts

        return [{"path": str(h.path), "name": h.name, "size_bytes": h.size_bytes, "compressed": h.compressed}
                for h in find_system_soundfonts()]

    def _is_system_soundfont(self, given: str) -> bool:
        try:
            real = Path(given).expanduser().resolve()
        except (OSError, RuntimeError, ValueError):
            return False
        return any(Path(font["path"]).resolve() == real for font in self.system_soundfonts())

    def update_config(self, changes: dict[str, Any], *, requested: bool = False) -> dict[str, Any]:
        """Validate, persist and apply settings; raises ValueError on a bad field or value.
        `requested`: the changes came in a request (the API), so a file they name must lie in the
        folders the user allowed (PermissionError otherwise); the settings window may name any."""
        # A SoundFont installed through /api/models/install lies in the data dir: the studio wrote it.
        # So is a SoundFont the operating system installed (fluid-soundfont-gm…): shared, read-only data.
        if requested and changes.get("soundfont_path") and \
                not self.models.is_installed_file(str(changes["soundfont_path"]).strip()) and \
                not self._is_system_soundfont(str(changes["soundfont_path"]).strip()):
            self.ctx.settings.allowed_path(str(changes["soundfont_path"]).strip(), "soundfont_path")
        if changes.get("device") not in (None, "auto", "cpu"):
            # A device this machine does not have would be saved, and every later render would fail.
            from studio.engine.device import describe_device

            try:
                describe_device(str(changes["device"]))
            except RuntimeError as exc:
                raise ValueError(str(exc)) from None
        updated = save_user_settings(self.ctx.settings, changes)
        if "max_concurrent" in updated:
            self.ctx.jobs.set_max_concurrent(self.ctx.settings.max_concurrent)
        if "session_ttl_s" in updated:
            self.auth.session_ttl_s = self.ctx.settings.session_ttl_s
        # The API server (when it runs) listens for this and applies new rate limits itself.
        self.ctx.events.publish("config_updated", {"updated_settings": sorted(updated)})
        restart = [k for k in updated if EDITABLE_FIELDS.get(k, False)]
        return {"updated_settings": updated, "restart_required": bool(restart), "restart_fields": restart}

    # --- jobs: what the Jobs dock and /api/system/jobs show and do ------------------------------
    def list_jobs(self, **filters: Any) -> tuple[int, list[dict[str, Any]]]:
        """(total, page) of jobs; filters as `JobQueue.list` (kind, kinds, status, limit, offset)."""
        return self.ctx.jobs.list(**filters)

    def get_job(self, job_id: str) -> dict[str, Any]:
        return self.ctx.jobs.get(job_id)

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        return self.ctx.jobs.cancel(job_id)

    def retry_job(self, job_id: str) -> dict[str, Any]:
        return self.ctx.jobs.retry(job_id)

    async def wait_job(self, job_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
        return await self.ctx.jobs.wait(job_id, timeout_s=timeout_s)

    def queue_position(self, job_id: str) -> int:
        return self.ctx.jobs.queue_position(job_id)

    def job_counts(self) -> dict[str, int]:
        return self.ctx.jobs.counts()

    @property
    def max_concurrent(self) -> int:
        return self.ctx.jobs.max_concurrent

    # --- playback: what the GUI's player bar plays through --------------------------------------
    def audio_output(self) -> OutputStatus:
        """Whether there is a sound device to play on, and if not, what is missing."""
        return probe_output()

    def new_player(self, sink: Callable[[np.ndarray], object] | None = None) -> Player:
        """A player on the default output device, or feeding `sink` (blocks of frames x 2) instead."""
        return Player(sink=sink)

    def read_audio(self, path: str | Path) -> tuple[np.ndarray, int]:
        """Decode an audio file for the player (call it off the loop: long files take a while)."""
        return read_audio(path)

    def waveform_peaks(self, path: str | Path,
                       bins: int = ENVELOPE_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(times_s, lows, highs, duration_s) of a file's waveform, read block by block (off the loop)."""
        return read_peaks(path, bins)

    def audio_peaks(self, audio: np.ndarray, sample_rate: int,
                    bins: int = ENVELOPE_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times_s, lows, highs) of samples already in memory (frames or frames x channels)."""
        return envelope(audio, sample_rate, bins)

    # --- backups --------------------------------------------------------------------------------
    @property
    def backups_dir(self) -> Path:
        return self.backups.root

    def start_backup(self) -> dict[str, Any]:
        return self.ctx.jobs.submit("backup", {}, title="Backup")

    def list_backups(self) -> list[dict[str, Any]]:
        _, jobs = self.ctx.jobs.list(kind="backup", limit=200)
        out = []
        for job in jobs:
            result = job["result"] or {}
            file_id = result.get("file_id")
            if job["status"] == COMPLETED and (not file_id or not self.backups.exists(file_id)):
                continue  # removed from disk since
            out.append({
                "id": job["id"],
                "created_at": job["created_at"],
                "status": job["status"],
                "size": _human_size(result.get("size_bytes")),
                "size_bytes": result.get("size_bytes"),
                "includes": result.get("includes", []),
                "download_url": f"/api/system/backups/download/{job['id']}" if file_id else None,
            })
        return out

    def backup_path(self, backup_id: str) -> Path:
        job = self.ctx.jobs.get(backup_id)
        file_id = (job.get("result") or {}).get("file_id")
        if job["kind"] != "backup" or not file_id:
            raise KeyError(backup_id)
        return self.backups.path(file_id)

    def _run_backup(self, job: JobContext) -> dict[str, Any]:
        settings = self.ctx.settings
        db_path = self.ctx.db.sqlite_path
        if db_path is None:
            raise JobError("backups cover the built-in SQLite database; back up an external database with its own tools",
                           code="BACKUP_UNSUPPORTED")
        archive = self.backups.temp_path(".tar.gz")
        with tempfile.TemporaryDirectory(dir=settings.home) as tmp:
            job.progress(5, "database")
            snapshot = Path(tmp) / "studio.db"
            # SQLite's online backup API: a consistent copy while the studio keeps writing.
            with sqlite3.connect(db_path) as source, sqlite3.connect(snapshot) as target:
                source.backup(target, pages=256, progress=lambda _s, remaining, total: job.check_cancelled())
            job.progress(30, "media")
            media = [p for p in settings.media_dir.rglob("*") if p.is_file() and ".tmp" not in p.parts]
            added = 0
            with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
                tar.add(snapshot, arcname="studio.db")
                if settings.settings_file.is_file():
                    tar.add(settings.settings_file, arcname="settings.json")
                for index, path in enumerate(media):
                    try:
                        tar.add(path, arcname=f"media/{path.relative_to(settings.media_dir)}")
                        added += 1
                    except FileNotFoundError:  # deleted from the library while the backup ran
                        pass
                    if index % 50 == 0:
                        job.progress(30 + 65 * index / max(1, len(media)), "media")
                # last, so that it counts what the archive really holds (restore unpacks all first)
                manifest = {"format": BACKUP_FORMAT_VERSION, "studio_version": __version__,
                            "created_at": now_iso(), "media_files": added}
                (Path(tmp) / "manifest.json").write_text(json.dumps(manifest, indent=2))
                tar.add(Path(tmp) / "manifest.json", arcname="manifest.json")
        job.progress(97, "finalizing")
        stored = self.backups.adopt(archive, prefix="backup", extension="tar.gz")
        includes = ["databases", "configurations"] + (["generated_content"] if added else [])
        return {"file_id": stored.id, "size_bytes": stored.size_bytes, "sha256": stored.sha256,
                "media_files": added, "includes": includes}

    def job_handlers(self) -> list[JobHandler]:
        return [JobHandler(kind="backup", run=self._run_backup, id_prefix="backup"), self.maintenance.handler()]


def restore_backup(archive: Path, home: Path) -> dict[str, Any]:
    """Restore a backup archive into `home` (the studio must not be running there).

    The archive is checked and unpacked beside the data first; the old database and media are
    moved aside (`*.before-restore`) only once everything unpacked cleanly.
    """
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home) as tmp, tarfile.open(archive, "r:gz") as tar:
        tar.extractall(tmp, filter="data")  # "data" filter: no absolute paths, links or `..`
        staged = Path(tmp)
        manifest = json.loads((staged / "manifest.json").read_text())
        if manifest.get("format") != BACKUP_FORMAT_VERSION or not (staged / "studio.db").is_file():
            raise ValueError(f"{archive} is not a studio backup (format {manifest.get('format')!r})")
        with sqlite3.connect(staged / "studio.db") as check:
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise ValueError("the database in the backup is damaged")
        for name in ("studio.db", "media", "settings.json"):
            target = home / name
            if (staged / name).exists():
                if target.exists():
                    aside = home / f"{name}.before-restore"
                    shutil.rmtree(aside) if aside.is_dir() else aside.unlink(missing_ok=True)
                    os.replace(target, aside)
                for suffix in ("-wal", "-shm"):
                    (home / f"{name}{suffix}").unlink(missing_ok=True)
                os.replace(staged / name, target)
    return manifest


