"""The studio's background services as one registry: what runs, since when, when it last did
work, and what stop/start/restart do (seed 000 `/api/system/services/{name}/...`, seed 002
`/api/services`). Each entry wraps the real part of the studio; nothing is simulated.

- `job_workers` (the job queue's engine threads): stop = take no new job (running ones finish,
  queued ones wait), start = take jobs again, restart = replace dead worker threads and take jobs.
- `api_server` (the local API): it serves this very request, so stopping or restarting it through
  itself is refused (409); quit `studio serve` or turn the API off in Settings instead.
- `request_log` (the API's request-log writer): part of the API server; refused like it.
- `trend_monitor` (scheduled trend scans): stop/start as `POST /api/trending/stop|start`
  (remembered across restarts); restart = a fresh scan task in the same monitoring run.
- `community_live` (polling of the enabled Discord/Telegram/YouTube sources): stop = end the polling
  tasks until started again (or the studio restarts), start = poll every enabled source,
  restart = both.
- `webhooks` (signed callbacks with retries): each delivery is its own task fired by an event;
  stopping it would drop callbacks, so stop/start/restart are refused (409).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.community import CommunityService
    from studio.services.trends import TrendsService
    from studio.services.webhooks import WebhookService

ACTIONS = ("start", "stop", "restart")
USER_HOLD = "stopped"  # the job queue's hold that `job_workers` stop sets


class UnknownService(KeyError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        return f"no service named '{self.name}'; services: {', '.join(self.known)}"


class ServiceActionRefused(RuntimeError):
    """The action cannot be done to that service (the message says why and what to do instead)."""


@dataclass
class ManagedService:
    name: str
    description: str
    running: Callable[[], bool]
    last_activity: Callable[[], datetime | None]
    # action -> (what it does, the function doing it); an action missing here is refused with `refusal`
    actions: dict[str, tuple[str, Callable[[], Any]]] = field(default_factory=dict)
    refusal: str = ""
    detail: Callable[[], dict[str, Any]] | None = None
    since: datetime | None = None  # when it was last started (for uptimes), kept by the registry
    started: Callable[[], datetime | None] | None = None  # or the service's own record of that


def _duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} days"] if days else []
    return ", ".join(parts + [f"{hours} hours", f"{minutes} minutes"])


def _newest_mtime(folder: Path) -> datetime | None:
    try:
        newest = max((p.stat().st_mtime for p in folder.iterdir() if p.is_file()), default=None)
    except OSError:
        return None
    return None if newest is None else datetime.fromtimestamp(newest, timezone.utc)


def _to_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


class ServiceRegistry:
    def __init__(self, ctx: "Context", *, started_at: datetime | None = None) -> None:
        self.ctx = ctx
        self.started_at = started_at or utcnow()
        self._entries: dict[str, ManagedService] = {}
        self.last_request_at: datetime | None = None  # set by SystemService when request rows are written
        self._trends: "TrendsService | None" = None
        self._community: "CommunityService | None" = None
        self._add_core()

    # --- registration ---------------------------------------------------------------------------
    def add(self, service: ManagedService) -> None:
        service.since = service.since or self.started_at  # running since the studio started
        self._entries[service.name] = service

    @staticmethod
    def _since(entry: ManagedService) -> datetime | None:
        return entry.started() if entry.started is not None else entry.since

    def _add_core(self) -> None:
        jobs = self.ctx.jobs

        def restart_workers() -> dict[str, Any]:
            jobs.set_max_concurrent(jobs.max_concurrent)  # threads that died are replaced
            jobs.release(USER_HOLD)
            return {}

        self.add(ManagedService(
            name="job_workers", description="Engine worker threads that run queued jobs (generate, render, "
                                            "analyse, backup, maintenance, ...)",
            running=lambda: jobs.accepting, last_activity=lambda: jobs.last_activity,
            actions={"stop": ("take no new job; running jobs finish, queued jobs wait",
                              lambda: jobs.hold(USER_HOLD)),
                     "start": ("take queued jobs again", lambda: jobs.release(USER_HOLD)),
                     "restart": ("replace stopped worker threads and take queued jobs again", restart_workers)},
            detail=lambda: {"workers": jobs.max_concurrent, "running_jobs": sorted(jobs.active_jobs()),
                            "held_by": sorted(jobs.holds)}))
        refusal = ("the API server answers this request: stopping or restarting it through the API would cut the "
                   "caller off. Quit `studio serve` (Ctrl+C), or turn the API off in Settings and restart the studio")
        self.add(ManagedService(
            name="api_server", description="The local HTTP API (this server) and its WebSocket",
            running=lambda: self.ctx.server_running, last_activity=lambda: self.last_request_at,
            actions={"start": ("nothing to do while it answers; it starts with the studio", lambda: None)},
            refusal=refusal, detail=lambda: {"url": self.ctx.api_base_url}))
        self.add(ManagedService(
            name="request_log", description="Writes each API request to the request log (API usage analytics)",
            running=lambda: self.ctx.server_running, last_activity=lambda: self.last_request_at,
            actions={"start": ("nothing to do: it runs with the API server", lambda: None)},
            refusal="the request-log writer is part of the API server; " + refusal,
            detail=lambda: {"retention_days": self.ctx.settings.request_log_days}))

    def add_studio_services(self, *, trends: "TrendsService", community: "CommunityService",
                            webhooks: "WebhookService") -> None:
        """The composition root hands over the areas' background parts (after building them)."""
        self._trends, self._community = trends, community
        monitor, live = trends.monitor, community.live

        def monitor_running() -> bool:
            return bool(monitor.state()["running"]) and monitor.task_running

        def monitor_last() -> datetime | None:
            scan = monitor.last_scan or {}
            return _to_datetime(scan.get("started_at"))

        def monitor_restart() -> dict[str, Any]:
            if not monitor.state()["running"]:
                return monitor.start()
            monitor.close()
            monitor.resume(asyncio.get_running_loop())
            return {}

        self.add(ManagedService(
            name="trend_monitor", description="Scheduled scans of the enabled trend sources (and auto-answers)",
            running=monitor_running, last_activity=monitor_last,
            actions={"stop": ("stop scheduled scans (remembered across restarts)", monitor.stop),
                     "start": ("start scheduled scans; the first runs at once", monitor.start),
                     "restart": ("a fresh scan task in the same monitoring run", monitor_restart)},
            started=lambda: _to_datetime(monitor.state()["stats"].get("started_at")),
            detail=lambda: {"next_scan": monitor.state()["next_scan"], "last_error": monitor.last_error}))

        def live_last() -> datetime | None:
            times = [_to_datetime(r.get("polled_at")) for r in live.last_result.values()]
            return max((t for t in times if t), default=None)

        def live_start() -> dict[str, Any]:
            return {"polling": live.start(asyncio.get_running_loop())}

        def live_restart() -> dict[str, Any]:
            live.close()
            return live_start()

        self.add(ManagedService(
            name="community_live", description="Polling of the enabled community sources (Discord, Telegram, "
                                               "YouTube comments)",
            running=lambda: bool(live.running()), last_activity=live_last,
            actions={"stop": ("end the polling tasks until started again or the studio restarts", live.close),
                     "start": ("poll every enabled source", live_start),
                     "restart": ("end the polling tasks and start them again", live_restart)},
            detail=lambda: {"polling": live.running(), "enabled_sources": community.sources.enabled_names()}))
        self.add(ManagedService(
            name="webhooks", description="Signed webhook callbacks with retries, fired by job and group events",
            running=lambda: True, last_activity=lambda: _newest_mtime(webhooks.ctx.settings.home / "webhooks"),
            refusal="each delivery is its own task fired by an event: stopping the dispatcher would drop "
                    "callbacks. Remove the webhook from the request or group that set it instead",
            detail=lambda: {"deliveries_in_flight": webhooks.in_flight}))

    # --- what callers use -----------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(self._entries)

    def _entry(self, name: str) -> ManagedService:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownService(name, self.names) from None

    def view(self, name: str) -> dict[str, Any]:
        entry = self._entry(name)
        running = entry.running()
        now = utcnow()
        since = self._since(entry)
        uptime_s = max(0.0, (now - since).total_seconds()) if running and since else None
        return {
            "name": entry.name, "description": entry.description,
            "status": "running" if running else "stopped",
            "last_activity": iso(entry.last_activity()),
            "uptime": _duration(uptime_s), "uptime_seconds": None if uptime_s is None else round(uptime_s, 1),
            "actions": {action: entry.actions[action][0] if action in entry.actions else None for action in ACTIONS},
            "refused_actions": {action: entry.refusal for action in ACTIONS if action not in entry.actions},
            **(entry.detail() if entry.detail else {}),
        }

    def list(self) -> list[dict[str, Any]]:
        return [self.view(name) for name in self._entries]

    def control(self, name: str, action: str) -> dict[str, Any]:
        """Do `action` to service `name`: UnknownService, ServiceActionRefused, ValueError (action)."""
        entry = self._entry(name)
        if action not in ACTIONS:
            raise ValueError(f"unknown action '{action}'; actions: {', '.join(ACTIONS)}")
        if action not in entry.actions:
            raise ServiceActionRefused(f"cannot {action} {name}: {entry.refusal}")
        now = utcnow()
        was_running = entry.running()
        since = self._since(entry)
        uptime = _duration(max(0.0, (now - since).total_seconds())) if was_running and since else None
        outcome = entry.actions[action][1]()
        if action in ("start", "restart") and (action == "restart" or not was_running):
            entry.since = now
        if action == "stop":
            entry.since = None
        out: dict[str, Any] = {"service": name, "action": action, "was_running": was_running,
                               "state": "running" if entry.running() else "stopped",
                               "what_it_did": entry.actions[action][0]}
        if action == "restart":
            out.update(previous_uptime=uptime, restart_time=iso(now))
        elif action == "stop":
            out.update(final_uptime=uptime, stop_time=iso(now))
        else:
            out.update(start_time=iso(now))
        if isinstance(outcome, dict) and outcome:
            out["details"] = {k: v for k, v in outcome.items() if k in ("polling", "message", "platforms", "final_stats",
                                                                      "next_scan", "already_running", "was_running")}
        return out

    def connections(self) -> dict[str, str]:
        """Seed 000 `api_connections`: each outside platform the user turned on, from its source's
        recorded state: "connected" (the last contact worked), "error" (it failed), "not_checked"
        (turned on, not contacted yet). Platforms left off are not listed."""
        out: dict[str, str] = {}
        groups = []  # only the enabled sources are read in full (that reads the keyring)
        if self._trends is not None:
            trend_sources = self._trends.sources
            groups.append(("trends", [trend_sources.get(n) for n in trend_sources.names() if trend_sources.is_enabled(n)]))
        if self._community is not None:
            community_sources = self._community.sources
            groups.append(("community", [community_sources.get(n) for n in community_sources.enabled_names()]))
        for area, sources in groups:
            for source in sources:
                status = source.get("status")
                out[f"{area}.{source['name']}"] = ("connected" if status in ("ok", "scanning") else
                                                   "error" if status == "error" else "not_checked")
        return out
