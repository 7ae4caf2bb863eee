"""Live monitoring: scan the enabled trend sources again and again, more often at busy hours.

Built by the trends entry object as
    TrendMonitor(ctx, sources=..., scanner=..., answers=..., clock=utcnow, sleep=asyncio.sleep, local_tz=None)
(`ctx` for the database and the event bus; `sources`/`scanner` are the trends parts, `answers` is
`TrendAnswers`; `clock`, `sleep` and `local_tz` are for tests).

The schedule and the counters live in the one `trend_monitor` row (id 1), so a restart resumes
where the last run stopped: `resume()` (called by the composition root once the loop runs)
restarts the task when the row says monitoring was on, keeping the next scan time it had.

Intervals by hour of the local day (`period_for`):
- peak: 12:00-16:00 and 19:00-23:00 (when listening and posting peak), default every 15 minutes;
- overnight: 00:00-07:00, default every 60 minutes;
- normal: the other hours (07-12, 16-19, 23-24), default every 30 minutes.
`estimated_daily_scans` = sum over the 24 hours of 60 / that hour's interval.

Each scan scans the priority platforms first (one scanner call), then the other enabled sources.
Auto-answer (off by default) answers trends that a scan announces (`trend_detected`) whose
viral_score is at least `min_viral_score`, at most `max_daily_hijacks` per local day.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from studio.db.models import TrendMonitorState
from studio.services.trends.common import DEFAULT_ALERT_THRESHOLD
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.trends.answers import TrendAnswers

log = logging.getLogger(__name__)

ROW_ID = 1
DEFAULT_INTERVALS = {"peak_hours": 15, "normal_hours": 30, "overnight": 60}  # minutes
MIN_INTERVAL_MIN, MAX_INTERVAL_MIN = 1, 1440
# Local hours [start, end) of each period; the remaining hours are "normal_hours".
PEAK_HOURS = ((12, 16), (19, 23))
OVERNIGHT_HOURS = ((0, 7),)
PERIOD_HOURS_TEXT = {"peak_hours": "12:00-16:00 and 19:00-23:00", "overnight": "00:00-07:00",
                     "normal_hours": "07:00-12:00, 16:00-19:00 and 23:00-24:00"}
DEFAULT_AUTO_ANSWER = {"enabled": False, "min_viral_score": 85.0, "max_daily_hijacks": 5}


def period_for(hour: int) -> str:
    """Which interval applies at local `hour` (0-23): peak_hours, overnight or normal_hours."""
    if any(start <= hour < end for start, end in PEAK_HOURS):
        return "peak_hours"
    if any(start <= hour < end for start, end in OVERNIGHT_HOURS):
        return "overnight"
    return "normal_hours"


def estimated_daily_scans(intervals: dict[str, int]) -> int:
    """Scans in one day: every hour contributes 60 / its period's interval."""
    return round(sum(60.0 / intervals[period_for(hour)] for hour in range(24)))


def format_duration(seconds: float) -> str:
    """'6 hours 23 minutes' (whole minutes; '0 minutes' under one)."""
    minutes = int(max(0.0, seconds) // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = []
    for value, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")):
        if value or (unit == "minute" and not parts):
            parts.append(f"{value} {unit}{'' if value == 1 else 's'}")
    return " ".join(parts)


class ScheduleError(ValueError):
    """A schedule that cannot be used (unknown platform, interval out of range); names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class TrendMonitor:
    def __init__(self, ctx: "Context", *, sources: Any, scanner: Any, answers: "TrendAnswers",
                 clock: Callable[[], datetime] = utcnow, sleep: Callable[[float], Any] = asyncio.sleep,
                 local_tz: tzinfo | None = None) -> None:
        self.db = ctx.db
        self.events = ctx.events
        self.sources = sources
        self.scanner = scanner
        self.answers = answers
        self._clock = clock
        self._sleep = sleep
        self._tz = local_tz  # None: the machine's local time zone
        self._task: asyncio.Task | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.last_scan: dict[str, Any] | None = None  # the latest scan's summary (this process)
        self.last_error: str | None = None

    # --- the stored row -------------------------------------------------------------------------
    def _row(self) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(TrendMonitorState, ROW_ID)
            if row is None:
                row = TrendMonitorState(id=ROW_ID, running=0, intervals=dict(DEFAULT_INTERVALS), priority=[],
                                        auto_answer=dict(DEFAULT_AUTO_ANSWER), scans_done=0, items_processed=0,
                                        answers_generated=0)
                s.add(row)
                s.flush()
            return {
                "running": bool(row.running),
                "intervals": {**DEFAULT_INTERVALS, **(row.intervals or {})},
                "priority": list(row.priority or []),
                "auto_answer": {**DEFAULT_AUTO_ANSWER, **(row.auto_answer or {})},
                "threshold": row.threshold,
                "started_at": row.started_at, "stopped_at": row.stopped_at, "next_scan_at": row.next_scan_at,
                "scans_done": row.scans_done or 0, "items_processed": row.items_processed or 0,
                "answers_generated": row.answers_generated or 0,
            }

    def _save(self, **changes: Any) -> None:
        self._row()  # makes sure it exists
        with self.db.session() as s:
            row = s.get(TrendMonitorState, ROW_ID)
            for name, value in changes.items():
                setattr(row, name, value)

    def _add(self, **increments: int) -> None:
        with self.db.session() as s:
            row = s.get(TrendMonitorState, ROW_ID)
            for name, value in increments.items():
                setattr(row, name, (getattr(row, name) or 0) + value)

    # --- time -----------------------------------------------------------------------------------
    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self._tz) if self._tz is not None else moment.astimezone()

    def interval_at(self, moment: datetime, intervals: dict[str, int] | None = None) -> tuple[str, int]:
        """(period, minutes) that applies at `moment`."""
        intervals = intervals or self._row()["intervals"]
        period = period_for(self._local(moment).hour)
        return period, int(intervals[period])

    def _day_start(self, moment: datetime) -> datetime:
        local = self._local(moment)
        return local.replace(hour=0, minute=0, second=0, microsecond=0)

    # --- what callers use -----------------------------------------------------------------------
    def enabled_sources(self) -> list[str]:
        return [source["name"] for source in self.sources.list_sources() if source.get("enabled")]

    @property
    def task_running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> dict[str, Any]:
        """Start monitoring now (the first scan runs at once). Already running: the current state."""
        state = self._row()
        now = self._clock()
        already = state["running"] and self.task_running
        if not already:
            if not state["running"]:
                self._save(running=1, started_at=now, stopped_at=None, next_scan_at=now, scans_done=0,
                           items_processed=0, answers_generated=0)
            self._spawn()
        state = self._row()
        enabled = self.enabled_sources()
        period, minutes = self.interval_at(now, state["intervals"])
        reasons = {}
        if not enabled:
            reasons["monitoring_platforms"] = ("no source is enabled: scans find nothing until one is "
                                               "(PUT /api/trending/sources/{name} with enabled=true)")
        return {"message": "Trending monitoring was already running" if already else "Live trending monitoring started",
                "already_running": already, "monitoring_platforms": len(enabled), "platforms": enabled,
                "scan_interval": minutes, "interval_period": period, "next_scan": iso(state["next_scan_at"]),
                "started_at": iso(state["started_at"]), "reasons": reasons}

    def stop(self) -> dict[str, Any]:
        """Stop monitoring; final_stats of the run that ends (or of the last run when none ran)."""
        state = self._row()
        was_running = state["running"]
        self._cancel_task()
        now = self._clock()
        if was_running:
            self._save(running=0, stopped_at=now, next_scan_at=None)
            state = self._row()
        return {"message": "Trending monitoring stopped" if was_running else "Trending monitoring was not running",
                "was_running": was_running, "final_stats": self._run_stats(state, now)}

    def _run_stats(self, state: dict[str, Any], now: datetime) -> dict[str, Any]:
        started = state["started_at"]
        if started is None:
            return {"uptime": None, "uptime_s": None, "trends_processed": 0, "hijacks_generated": 0, "scans_done": 0,
                    "auto_answers": 0, "reasons": {"uptime": "monitoring has never been started"}}
        until = now if state["running"] else (state["stopped_at"] or now)
        uptime_s = max(0.0, (until - started).total_seconds())
        return {"uptime": format_duration(uptime_s), "uptime_s": round(uptime_s, 1),
                "trends_processed": state["items_processed"],
                "hijacks_generated": self.answers.count_between(started, until),
                "auto_answers": state["answers_generated"], "scans_done": state["scans_done"],
                "started_at": iso(started), "stopped_at": iso(state["stopped_at"]) if not state["running"] else None}

    def schedule(self, config: dict[str, Any]) -> dict[str, Any]:
        """Store a schedule (intervals in minutes, priority platforms, auto-answer, alert threshold);
        a running monitor re-plans its next scan. Raises ScheduleError."""
        state = self._row()
        intervals = dict(state["intervals"])
        for name, minutes in (config.get("intervals") or {}).items():
            if name not in DEFAULT_INTERVALS:
                raise ScheduleError(f"intervals.{name}", f"unknown interval '{name}' (use {', '.join(DEFAULT_INTERVALS)})")
            if minutes is None:
                continue
            if not MIN_INTERVAL_MIN <= int(minutes) <= MAX_INTERVAL_MIN:
                raise ScheduleError(f"intervals.{name}",
                                    f"interval must be {MIN_INTERVAL_MIN}-{MAX_INTERVAL_MIN} minutes")
            intervals[name] = int(minutes)
        if (config.get("schedule_type") or "custom") == "default":
            intervals = dict(DEFAULT_INTERVALS)
        changes: dict[str, Any] = {"intervals": intervals}
        if config.get("priority_platforms") is not None:
            known = [source["name"] for source in self.sources.list_sources()]
            priority = []
            for name in config["priority_platforms"]:
                if name not in known:
                    raise ScheduleError("priority_platforms", f"'{name}' is not a source here "
                                                              f"(known: {', '.join(known) or 'none'})")
                if name not in priority:
                    priority.append(name)
            changes["priority"] = priority
        auto = config.get("auto_hijack")
        if auto is not None:
            merged = {**state["auto_answer"], **{k: v for k, v in auto.items() if v is not None}}
            if not 0 <= float(merged["min_viral_score"]) <= 100:
                raise ScheduleError("auto_hijack.min_viral_score", "min_viral_score must be 0-100")
            if int(merged["max_daily_hijacks"]) < 0:
                raise ScheduleError("auto_hijack.max_daily_hijacks", "max_daily_hijacks must be 0 or more")
            changes["auto_answer"] = {"enabled": bool(merged["enabled"]),
                                      "min_viral_score": float(merged["min_viral_score"]),
                                      "max_daily_hijacks": int(merged["max_daily_hijacks"])}
        if config.get("alert_threshold") is not None:
            changes["threshold"] = float(config["alert_threshold"])
        now = self._clock()
        reasons = {}
        if state["running"]:
            # Re-plan from the last scan (or the start) with the new interval, never in the past.
            base = (self.last_scan or {}).get("started_at") or state["started_at"] or now
            _period, minutes = self.interval_at(now, intervals)
            due = state["next_scan_at"]
            if due is None or due > now:
                due = max(now, base + timedelta(minutes=minutes))
            changes["next_scan_at"] = due
        else:
            reasons["next_scan"] = "monitoring is stopped: POST /api/trending/start starts it (first scan at once)"
        self._save(**changes)
        if self._wake is not None:
            self._wake.set()
        state = self._row()
        return {"schedule_id": f"schedule_{ROW_ID}", "next_scan": iso(state["next_scan_at"]) if state["running"] else None,
                "estimated_daily_scans": estimated_daily_scans(state["intervals"]), **self._schedule_view(state),
                "reasons": reasons}

    def _schedule_view(self, state: dict[str, Any]) -> dict[str, Any]:
        return {"intervals": state["intervals"], "interval_hours": PERIOD_HOURS_TEXT,
                "priority_platforms": state["priority"], "auto_hijack": state["auto_answer"],
                "alert_threshold": state["threshold"] if state["threshold"] is not None else DEFAULT_ALERT_THRESHOLD}

    def state(self) -> dict[str, Any]:
        """Everything the panel and GET /api/trending/schedule show."""
        state = self._row()
        now = self._clock()
        period, minutes = self.interval_at(now, state["intervals"])
        return {"running": state["running"], "task_running": self.task_running,
                "next_scan": iso(state["next_scan_at"]) if state["running"] else None,
                "current_period": period, "scan_interval": minutes,
                "estimated_daily_scans": estimated_daily_scans(state["intervals"]),
                "monitoring_platforms": self.enabled_sources(), **self._schedule_view(state),
                "stats": self._run_stats(state, now), "last_scan": self.last_scan, "last_error": self.last_error}

    # --- the task -------------------------------------------------------------------------------
    def resume(self, loop: asyncio.AbstractEventLoop | None = None) -> bool:
        """At start-up: restart the task when the stored row says monitoring was on."""
        if loop is not None:
            self._loop = loop
        if self._row()["running"] and not self.task_running:
            return self._spawn()
        return False

    def close(self) -> None:
        """At shutdown: end the task but keep the row as it is, so the next start resumes."""
        self._cancel_task()

    def _spawn(self) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = self._loop
        if loop is None or loop.is_closed():
            return False  # no loop yet: resume() starts it once one runs
        self._loop = loop
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run(), name="trend-monitor")
        return True

    def _cancel_task(self) -> None:
        if self._task is not None and not self._task.done():
            try:
                self._task.cancel()
            except RuntimeError:  # its loop is already closed: nothing left to cancel
                pass
        self._task = None

    async def _run(self) -> None:
        while True:
            state = self._row()
            if not state["running"]:
                return
            now = self._clock()
            due = state["next_scan_at"] or now
            delay = (due - now).total_seconds()
            if delay > 0:
                await self._wait(delay)
                continue  # re-read the row: the schedule may have changed while waiting
            try:
                await self.scan_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broken scan must not end monitoring
                log.exception("trend monitor scan failed")
                self.last_error = str(exc)
            finished = self._clock()
            following = due + timedelta(minutes=self.interval_at(due)[1])
            if following <= finished:  # the scan (or a sleeping machine) overran: count from now
                following = finished + timedelta(minutes=self.interval_at(finished)[1])
            self._save(next_scan_at=following)

    async def _wait(self, delay_s: float) -> None:
        """Sleep `delay_s`, or less when the schedule changes (the wake event)."""
        wake = self._wake or asyncio.Event()
        wake.clear()
        sleeper = asyncio.ensure_future(self._sleep(delay_s))
        waker = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in (sleeper, waker):
                future.cancel()

    async def scan_once(self) -> dict[str, Any]:
        """One scheduled scan: priority platforms first, then the other enabled sources; then
        auto-answer. Updates the row's counters."""
        started = self._clock()
        enabled = self.enabled_sources()
        priority = [name for name in self._row()["priority"] if name in enabled]
        rest = [name for name in enabled if name not in priority]
        announced: list[dict[str, Any]] = []

        def collect(name: str, data: dict[str, Any]) -> None:
            if name == "trend_detected" and data.get("id"):
                announced.append(data)

        unsubscribe = self.events.subscribe(collect)
        scanned: list[str] = []
        errors: dict[str, str] = {}
        new_items = 0
        try:
            for group in (priority, rest):
                if not group:
                    continue
                result = await self.scanner.scan(group)
                scanned.extend(result.get("scanned") or [])
                errors.update(result.get("errors") or {})
                new_items += int(result.get("new_items") or 0)
            await asyncio.sleep(0)  # events published thread-safe arrive on the next loop turn
        finally:
            unsubscribe()
        by_name = {source["name"]: source for source in self.sources.list_sources()}
        processed = sum(int(by_name.get(name, {}).get("items_last_scan") or 0) for name in scanned)
        answered = await self._auto_answer(announced, started)
        self._add(scans_done=1, items_processed=processed, answers_generated=len(answered))
        self.last_error = None if enabled else "no source is enabled"
        self.last_scan = {"started_at": started, "scan_time": iso(started), "priority": priority, "scanned": scanned,
                          "errors": errors, "items": processed, "new_items": new_items, "auto_answers": answered}
        return {**self.last_scan, "started_at": iso(started)}

    async def _auto_answer(self, announced: list[dict[str, Any]], now: datetime) -> list[str]:
        rules = self._row()["auto_answer"]
        if not rules["enabled"] or not announced:
            return []
        room = int(rules["max_daily_hijacks"]) - self.answers.count_between(self._day_start(now), None, auto=True)
        done: list[str] = []
        answered = self.answers.answered_trend_ids()
        for trend in sorted(announced, key=lambda t: -(t.get("viral_score") or 0.0)):
            if room <= 0:
                break
            score = trend.get("viral_score")
            if score is None or score < rules["min_viral_score"] or trend["id"] in answered:
                continue
            try:
                answer = self.answers.answer(trend["id"], strategy="fast_follower", auto=True)
            except Exception as exc:  # e.g. the daily compute budget is spent: try again next scan
                log.warning("auto-answer for %s not made: %s", trend["id"], exc)
                self.last_error = f"auto-answer not made: {exc}"
                break
            answered.add(trend["id"])
            done.append(answer["hijack_id"])
            room -= 1
        return done
