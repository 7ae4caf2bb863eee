"""What making things costs: measured compute time per job kind, quota units per connector, and
money only where the user set prices; limits with alerts (seed 003 `/costs/...`).

- Compute: each finished job's `finished_at − started_at` (seconds), by kind and by day of finishing.
- Money: cost per compute hour = `compute_per_hour` when set (e.g. a cloud machine's rate), else
  `device_watts` / 1000 × `electricity_per_kwh` (the machine's draw while it renders, times the
  price of a kWh); with neither, every money figure is null and `reasons` says what to set.
- Limits (`set_limits`): `daily_compute_s`, `monthly_compute_s`, `daily_cost`, `monthly_cost`,
  `daily_quota_units` ({connector: units}), `alert_at_pct` (default 80). `check_limits()` compares
  today's and this month's (UTC) use with each limit and publishes the seed's `system_alert` event
  (`{"severity","service","message","action_required","estimated_reset"}`): "warning" once use
  reaches alert_at_pct of a limit, "critical" once it reaches 100 %, each once per limit and day
  (or month), remembered in `analytics_state.alerts_fired`. It runs every CHECK_INTERVAL_S while
  the studio runs and after every finished job.
- Suggestions (`optimization()`): computed from the last 30 days: the job kind with the most
  compute (and its share), compute spent on failed or cancelled jobs, YouTube quota days above 80 %,
  a limit already crossed this month. None when nothing stands out.

Public API (built by the entry object as `Costs(ctx, usage=...)`): `summary(period)`, `history(period)`,
`optimization()`, `prices()`, `set_prices(changes)`, `limits()`, `set_limits(changes)`, `check_limits()`,
`start(loop)`, `close()`, `on_event(name, data)`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from studio.connectors.youtube import quota_day
from studio.db.models import AnalyticsState, ConnectorUsage, Job, Track
from studio.services.analytics.common import AnalyticsError, Period
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.analytics.usage import ApiUsage

log = logging.getLogger(__name__)
CHECK_INTERVAL_S = 60.0
PRICE_FIELDS = ("electricity_per_kwh", "device_watts", "compute_per_hour")
LIMIT_FIELDS = ("daily_compute_s", "monthly_compute_s", "daily_cost", "monthly_cost")
DEFAULT_ALERT_PCT = 80.0
NO_PRICE = ("no prices set: enter the price of a kWh and the machine's power draw, or a rate per compute hour "
            "(Analytics › Costs & API)")


def _money(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


class Costs:
    def __init__(self, ctx: "Context", *, usage: "ApiUsage", clock=utcnow) -> None:
        self.ctx = ctx
        self.usage = usage
        self.clock = clock
        self._task: asyncio.Task | None = None

    # --- state ------------------------------------------------------------------------------------
    def _state(self, s) -> AnalyticsState:
        row = s.get(AnalyticsState, 1)
        if row is None:
            row = AnalyticsState(id=1, prices={}, limits={}, alerts_fired={}, youtube={})
            s.add(row)
            s.flush()
        return row

    def prices(self) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            prices = dict(self._state(s).prices or {})
        return {"currency": prices.get("currency", "USD"), **{k: prices.get(k) for k in PRICE_FIELDS},
                "cost_per_compute_hour": self._rate(prices)}

    def set_prices(self, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - {*PRICE_FIELDS, "currency"}
        if unknown:
            raise AnalyticsError(f"unknown price {sorted(unknown)[0]!r}; known: currency, {', '.join(PRICE_FIELDS)}")
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "currency":
                text = str(value or "").strip().upper()
                if len(text) != 3 or not text.isalpha():
                    raise AnalyticsError("currency is a three-letter code such as USD or EUR")
                clean[key] = text
            elif value is None:
                clean[key] = None
            else:
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    raise AnalyticsError(f"{key} must be a number") from None
                if not 0 <= number <= 1e6:
                    raise AnalyticsError(f"{key} must be between 0 and 1 000 000")
                clean[key] = number
        with self.ctx.db.session() as s:
            row = self._state(s)
            row.prices = {**(row.prices or {}), **clean}
            row.updated_at = utcnow()
        return self.prices()

    @staticmethod
    def _rate(prices: dict[str, Any]) -> float | None:
        if prices.get("compute_per_hour") is not None:
            return float(prices["compute_per_hour"])
        if prices.get("device_watts") is not None and prices.get("electricity_per_kwh") is not None:
            return float(prices["device_watts"]) / 1000.0 * float(prices["electricity_per_kwh"])
        return None

    def limits(self) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            limits = dict(self._state(s).limits or {})
        return {**{k: limits.get(k) for k in LIMIT_FIELDS}, "daily_quota_units": dict(limits.get("daily_quota_units") or {}),
                # null (sent as `"alert_at_pct": null`) means the default, as for a limit never set
                "alert_at_pct": limits.get("alert_at_pct") or DEFAULT_ALERT_PCT}

    def set_limits(self, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - {*LIMIT_FIELDS, "daily_quota_units", "alert_at_pct"}
        if unknown:
            raise AnalyticsError(f"unknown limit {sorted(unknown)[0]!r}; known: {', '.join(LIMIT_FIELDS)}, "
                                 "daily_quota_units, alert_at_pct")
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "daily_quota_units":
                if value is None:
                    clean[key] = {}
                    continue
                if not isinstance(value, dict):
                    raise AnalyticsError("daily_quota_units maps a connector to units, e.g. {\"youtube\": 8000}")
                clean[key] = {}
                for connector, units in value.items():
                    if not isinstance(units, (int, float)) or isinstance(units, bool) or not 0 < units <= 1e9:
                        raise AnalyticsError(f"daily_quota_units.{connector} must be a positive number of units")
                    clean[key][str(connector)] = int(units)
            elif value is None:
                clean[key] = None
            else:
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise AnalyticsError(f"{key} must be a number")
                high = 100.0 if key == "alert_at_pct" else 1e9
                if not 0 < float(value) <= high:
                    raise AnalyticsError(f"{key} must be above 0 and at most {high:g}")
                clean[key] = float(value)
        with self.ctx.db.session() as s:
            row = self._state(s)
            row.limits = {**(row.limits or {}), **clean}
            row.updated_at = utcnow()
        return self.limits()

    # --- measured use ---------------------------------------------------------------------------------
    def _compute(self, start: date, end: date) -> list[tuple[str, str, str, float]]:
        """(kind, status, finish day, seconds) of the jobs that finished in start..end."""
        lo = datetime.combine(start, time.min, tzinfo=timezone.utc)
        hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=timezone.utc)
        with self.ctx.db.session() as s:
            rows = s.execute(select(Job.kind, Job.status, Job.started_at, Job.finished_at).where(
                Job.finished_at >= lo, Job.finished_at < hi, Job.started_at.is_not(None))).all()
        return [(kind, status, finished.date().isoformat(), max(0.0, (finished - started).total_seconds()))
                for kind, status, started, finished in rows]

    def _quota(self, start: date, end: date) -> dict[str, int]:
        with self.ctx.db.session() as s:
            return {c: int(u or 0) for c, u in s.execute(
                select(ConnectorUsage.connector, func.sum(ConnectorUsage.units)).where(
                    ConnectorUsage.day >= start.isoformat(), ConnectorUsage.day <= end.isoformat())
                .group_by(ConnectorUsage.connector)).all() if u}

    def summary(self, period: Period) -> dict[str, Any]:
        jobs = self._compute(period.start_day, period.end_day)
        seconds: dict[str, float] = defaultdict(float)
        for kind, _status, _day, s_ in jobs:
            seconds[kind] += s_
        prices = self.prices()
        rate = prices["cost_per_compute_hour"]
        start, end = period.start_day.isoformat(), period.end_day.isoformat()
        day = func.substr(Track.created_at, 1, 10)
        with self.ctx.db.session() as s:
            tracks = s.scalar(select(func.count()).select_from(Track).where(day >= start, day <= end)) or 0
        total_s = sum(seconds.values())
        total_cost = total_s / 3600.0 * rate if rate is not None else None
        music_s = sum(v for k, v in seconds.items() if k.startswith("music."))
        reasons = {} if rate is not None else {"total_cost": NO_PRICE}
        if rate is not None and not tracks:
            reasons["average_cost_per_track"] = "no track was made in this period"
        return {"period": period.label, "currency": prices["currency"], "total_cost": _money(total_cost),
                "breakdown": {k: _money(v / 3600.0 * rate) if rate is not None else None
                              for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])},
                "compute_seconds": {k: round(v, 1) for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])},
                "total_compute_seconds": round(total_s, 1), "jobs": len(jobs),
                "quota_units": self._quota(period.start_day, period.end_day),
                "tracks_generated": tracks,
                "average_cost_per_track": _money(music_s / 3600.0 * rate / tracks) if rate is not None and tracks else None,
                "cost_per_compute_hour": _money(rate), "reasons": reasons,
                "sources": {"compute_seconds": "finished jobs' measured run time (finished − started)",
                            "total_cost": "compute hours × your price per compute hour" if rate is not None else NO_PRICE,
                            "quota_units": "units each connector spent (connector usage ledger)"}}

    def history(self, period: Period) -> dict[str, Any]:
        days = period.day_list()
        index = {d: i for i, d in enumerate(days)}
        seconds = [0.0] * len(days)
        by_kind: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(days))
        for kind, _status, day, s_ in self._compute(period.start_day, period.end_day):
            i = index.get(day)
            if i is not None:
                seconds[i] += s_
                by_kind[kind][i] += s_
        rate = self.prices()["cost_per_compute_hour"]
        with self.ctx.db.session() as s:
            quota_rows = s.execute(select(ConnectorUsage.day, ConnectorUsage.connector, ConnectorUsage.units).where(
                ConnectorUsage.day >= days[0], ConnectorUsage.day <= days[-1])).all()
        quota: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
        for day, connector, units in quota_rows:
            if day in index:
                quota[connector][index[day]] += int(units or 0)
        return {"period": period.label, "days": days, "compute_seconds": [round(v, 1) for v in seconds],
                "compute_seconds_by_kind": {k: [round(v, 1) for v in vals] for k, vals in by_kind.items()},
                "cost": [_money(v / 3600.0 * rate) for v in seconds] if rate is not None else None,
                "quota_units": dict(quota), "reasons": {} if rate is not None else {"cost": NO_PRICE}}

    # --- limits and alerts -----------------------------------------------------------------------------------
    def _use(self) -> dict[str, Any]:
        today = self.clock().date()
        month_start = today.replace(day=1)
        jobs_month = self._compute(month_start, today)
        today_s = sum(s_ for _k, _st, d, s_ in jobs_month if d == today.isoformat())
        month_s = sum(s_ for *_rest, s_ in jobs_month)
        rate = self.prices()["cost_per_compute_hour"]
        quota_today = quota_day(self.clock())
        with self.ctx.db.session() as s:
            quota = {c: int(u or 0) for c, u in s.execute(select(ConnectorUsage.connector, ConnectorUsage.units)
                                                           .where(ConnectorUsage.day == quota_today)).all()}
        return {"daily_compute_s": today_s, "monthly_compute_s": month_s,
                "daily_cost": today_s / 3600.0 * rate if rate is not None else None,
                "monthly_cost": month_s / 3600.0 * rate if rate is not None else None,
                "quota": quota, "today": today, "quota_day": quota_today}

    def check_limits(self) -> list[dict[str, Any]]:
        limits = self.limits()
        use = self._use()
        alert_pct = float(limits["alert_at_pct"])
        today: date = use["today"]
        next_day = datetime.combine(today + timedelta(days=1), time.min, tzinfo=timezone.utc)
        next_month = datetime.combine((today.replace(day=28) + timedelta(days=4)).replace(day=1), time.min,
                                      tzinfo=timezone.utc)
        checks = []
        for key in LIMIT_FIELDS:
            if limits.get(key) and use[key] is not None:
                monthly = key.startswith("monthly")
                checks.append((key, "compute" if "compute" in key else "costs", use[key], limits[key],
                               today.strftime("%Y-%m") if monthly else today.isoformat(),
                               next_month if monthly else next_day))
        for connector, units in limits["daily_quota_units"].items():
            checks.append((f"daily_quota_units.{connector}", connector, use["quota"].get(connector, 0), units,
                           use["quota_day"], next_day))
        alerts = []
        with self.ctx.db.session() as s:
            row = self._state(s)
            fired = dict(row.alerts_fired or {})
            for key, service, used, limit, window, reset in checks:
                pct = used / float(limit) * 100.0
                severity = "critical" if pct >= 100.0 else "warning" if pct >= alert_pct else None
                if severity is None:
                    continue
                mark = f"{key}:{window}:{severity}"
                if mark in fired:
                    continue
                fired[mark] = iso(self.clock())
                what = key.replace("_", " ").replace(".", " ")
                alerts.append({"severity": severity, "service": service,
                               "message": f"{what} at {pct:.0f}% of its limit ({used:,.1f} of {float(limit):,.1f})",
                               "action_required": severity == "critical", "estimated_reset": iso(reset),
                               "limit": key, "used": round(used, 2), "value": float(limit)})
            if alerts:
                row.alerts_fired = {k: v for k, v in fired.items()
                                    if k.split(":")[1] >= (today - timedelta(days=40)).isoformat()[:7]}
        for alert in alerts:
            self.ctx.events.publish_threadsafe("system_alert", {k: alert[k] for k in (
                "severity", "service", "message", "action_required", "estimated_reset")})
        return alerts

    def optimization(self) -> dict[str, Any]:
        today = self.clock().date()
        period = Period(today - timedelta(days=29), today, "30d")
        jobs = self._compute(period.start_day, period.end_day)
        suggestions = []
        total = sum(s_ for *_r, s_ in jobs)
        if total > 0:
            by_kind: dict[str, float] = defaultdict(float)
            wasted = 0.0
            for kind, status, _d, s_ in jobs:
                by_kind[kind] += s_
                if status in ("failed", "cancelled"):
                    wasted += s_
            kind, seconds = max(by_kind.items(), key=lambda kv: kv[1])
            if seconds / total >= 0.5 and len(by_kind) > 1:
                suggestions.append({"area": "compute", "figure": round(seconds / total * 100.0, 1),
                                    "message": f"{kind} jobs used {seconds / total * 100:.0f}% of the compute time in "
                                               "the last 30 days: shorter drafts or fewer variations cut it most"})
            if wasted / total >= 0.1:
                suggestions.append({"area": "compute", "figure": round(wasted / total * 100.0, 1),
                                    "message": f"{wasted / total * 100:.0f}% of the compute time went to jobs that "
                                               "failed or were cancelled: check the Jobs list for their errors"})
        with self.ctx.db.session() as s:
            busy = s.execute(select(ConnectorUsage.day, ConnectorUsage.units).where(
                ConnectorUsage.connector == "youtube", ConnectorUsage.day >= period.start_day.isoformat(),
                ConnectorUsage.units >= 8000)).all()
        if busy:
            suggestions.append({"area": "quota", "figure": len(busy),
                                "message": f"YouTube quota was above 80% on {len(busy)} day(s): poll comments and "
                                           "trends less often (Community > Sources, Trends > Sources)"})
        for alert_key in (self._state_alerts() or []):
            suggestions.append({"area": "limits", "figure": None, "message": f"{alert_key} was crossed this month"})
        return {"suggestions": suggestions, "period": "30d",
                "reasons": {} if suggestions else {"suggestions": "nothing stands out in the last 30 days"}}

    def _state_alerts(self) -> list[str]:
        month = self.clock().date().strftime("%Y-%m")
        with self.ctx.db.session() as s:
            fired = dict(self._state(s).alerts_fired or {})
        return sorted({k.split(":")[0].replace("_", " ") for k in fired
                       if k.endswith(":critical") and k.split(":")[1].startswith(month)})

    # --- running ---------------------------------------------------------------------------------------------
    def on_event(self, name: str, data: dict[str, Any]) -> None:
        """After a job ends, check the limits (cheap: a few small queries)."""
        if name in ("job_completed", "job_failed", "job_cancelled", "generation_completed"):
            try:
                self.check_limits()
            except Exception:
                log.warning("could not check the cost limits", exc_info=True)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        async def watch() -> None:
            while True:
                try:
                    await asyncio.to_thread(self.check_limits)
                except Exception:
                    log.warning("could not check the cost limits", exc_info=True)
                await asyncio.sleep(CHECK_INTERVAL_S)
        self._task = loop.create_task(watch())

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
