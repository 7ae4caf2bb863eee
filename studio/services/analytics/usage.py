"""Use of the local API (from the request log's daily sums) and its health (from the API's runs).

API usage (`api_usage(period)`), from `request_rollups` (the request log summed per day, route and
method as it is written): requests, successful requests (status < 400), `error_rate` (% of
requests answered 4xx or 5xx; `client_error_rate` and `server_error_rate` apart), per endpoint the
mean latency and the 95th percentile read from the latency buckets (the bucket's upper edge), and
per connector the quota units spent (`connector_usage`).

System health (`system_health(period)`):
- `uptime_pct`: time the API server was running (its `api_runs`, each up to its stop or, after a
  crash, its last heartbeat; the current run up to now) / time from the period's start (or the
  first run, if later) to now or the period's end; null before any run.
- `response_time_avg` (ms) and `error_rate` (% 5xx) from the rollups;
- `overall_status`: "excellent" when uptime ≥ 99.5 %, 5xx < 0.5 % and mean latency < 300 ms; "good"
  when uptime ≥ 98 %, 5xx < 2 % and latency < 1000 ms; "degraded" otherwise; null without data.

Public API (built by the entry object as `ApiUsage(ctx)`): `api_usage(period)`, `system_health(period)`,
`series(period) -> {"days","requests","errors","avg_latency_ms"}`.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from studio.connectors.youtube import quota_day
from studio.db.models import LATENCY_EDGES_MS, ApiRun, ConnectorUsage, RequestRollup
from studio.services.analytics.common import Period
from studio.timeutil import utcnow

if TYPE_CHECKING:
    from studio.context import Context

YOUTUBE_DAILY_UNITS = 10_000


def _days(period: Period) -> tuple[str, str]:
    return period.start_day.isoformat(), period.end_day.isoformat()


def percentile_ms(buckets: list[int], share: float) -> float | None:
    """The upper edge of the bucket holding the `share` quantile (None when the slowest bucket)."""
    total = sum(buckets)
    if not total:
        return None
    target = share * total
    running = 0
    for i, n in enumerate(buckets):
        running += n
        if running >= target:
            return float(LATENCY_EDGES_MS[i]) if i < len(LATENCY_EDGES_MS) else None
    return None


class ApiUsage:
    def __init__(self, ctx: "Context", *, clock=utcnow) -> None:
        self.ctx = ctx
        self.clock = clock

    def _rollups(self, period: Period):
        first, last = _days(period)
        with self.ctx.db.session() as s:
            return s.execute(select(RequestRollup.route, func.sum(RequestRollup.requests),
                                    func.sum(RequestRollup.client_errors), func.sum(RequestRollup.server_errors),
                                    func.sum(RequestRollup.latency_ms_sum))
                             .where(RequestRollup.day >= first, RequestRollup.day <= last)
                             .group_by(RequestRollup.route)).all()

    def _buckets(self, period: Period) -> dict[str, list[int]]:
        first, last = _days(period)
        out: dict[str, list[int]] = {}
        with self.ctx.db.session() as s:
            for route, buckets in s.execute(select(RequestRollup.route, RequestRollup.latency_buckets).where(
                    RequestRollup.day >= first, RequestRollup.day <= last)):
                if buckets:
                    acc = out.setdefault(route, [0] * len(buckets))
                    for i, n in enumerate(buckets[:len(acc)]):
                        acc[i] += n
        return out

    def api_usage(self, period: Period) -> dict[str, Any]:
        rows = self._rollups(period)
        buckets = self._buckets(period)
        total = sum(int(r[1]) for r in rows)
        client = sum(int(r[2]) for r in rows)
        server = sum(int(r[3]) for r in rows)
        endpoints = []
        for route, n, c, e, latency in sorted(rows, key=lambda r: -int(r[1])):
            method, _, path = route.partition(" ")
            endpoints.append({"endpoint": path or route, "method": method, "requests": int(n),
                              "avg_response_time": round(float(latency) / int(n), 1) if n else None,
                              "p95_response_time": percentile_ms(buckets.get(route, []), 0.95),
                              "error_rate": round((int(c) + int(e)) / int(n) * 100.0, 2) if n else None,
                              "server_error_rate": round(int(e) / int(n) * 100.0, 2) if n else None})
        start, end = period.start_day.isoformat(), period.end_day.isoformat()
        with self.ctx.db.session() as s:
            quota = dict(s.execute(select(ConnectorUsage.connector, func.sum(ConnectorUsage.units))
                                   .where(ConnectorUsage.day >= start, ConnectorUsage.day <= end)
                                   .group_by(ConnectorUsage.connector)).all())
            requests = dict(s.execute(select(ConnectorUsage.connector, func.sum(ConnectorUsage.requests))
                                      .where(ConnectorUsage.day >= start, ConnectorUsage.day <= end)
                                      .group_by(ConnectorUsage.connector)).all())
            today = s.scalar(select(func.coalesce(func.sum(ConnectorUsage.units), 0)).where(
                ConnectorUsage.connector == "youtube", ConnectorUsage.day == self._quota_today())) or 0
        reasons = {} if total else {"total_requests": "no API requests were logged in this period"}
        return {"period": period.label, "total_requests": total, "successful_requests": total - client - server,
                "error_rate": round((client + server) / total * 100.0, 2) if total else None,
                "client_error_rate": round(client / total * 100.0, 2) if total else None,
                "server_error_rate": round(server / total * 100.0, 2) if total else None,
                "endpoint_usage": endpoints,
                "quota_usage": {k: int(v or 0) for k, v in quota.items() if v},
                "connector_requests": {k: int(v or 0) for k, v in requests.items() if v},
                "quota_limits": {"youtube": {"daily_units": YOUTUBE_DAILY_UNITS, "used_today": int(today)}},
                "reasons": reasons,
                "sources": {"requests": "the local API's request log, summed per day and endpoint",
                            "quota_usage": "units each connector spent per day (YouTube: 1 per list, 50 per reply)"}}

    def _quota_today(self) -> str:
        return quota_day(self.clock())  # the day as YouTube counts it (midnight Pacific)

    def series(self, period: Period) -> dict[str, list]:
        first, last = _days(period)
        days = period.day_list()
        index = {d: i for i, d in enumerate(days)}
        requests, errors, latency = [0] * len(days), [0] * len(days), [0.0] * len(days)
        day = RequestRollup.day
        with self.ctx.db.session() as s:
            for d, n, e, total in s.execute(select(day, func.sum(RequestRollup.requests),
                                                   func.sum(RequestRollup.server_errors + RequestRollup.client_errors),
                                                   func.sum(RequestRollup.latency_ms_sum))
                                            .where(RequestRollup.day >= first, RequestRollup.day <= last)
                                            .group_by(day)):
                i = index.get(d)
                if i is not None:
                    requests[i], errors[i], latency[i] = int(n), int(e), float(total) / int(n) if n else 0.0
        return {"days": days, "requests": requests, "errors": errors, "avg_latency_ms": [round(v, 1) for v in latency]}

    def uptime(self, period: Period) -> tuple[float | None, dict[str, Any]]:
        now = self.clock()
        start = datetime.combine(period.start_day, time.min, tzinfo=timezone.utc)
        end = min(datetime.combine(period.end_day + timedelta(days=1), time.min, tzinfo=timezone.utc), now)
        with self.ctx.db.session() as s:
            runs = s.execute(select(ApiRun.started_at, ApiRun.last_seen_at, ApiRun.stopped_at)
                             .where(ApiRun.started_at < end).order_by(ApiRun.started_at)).all()
            latest = s.scalar(select(func.max(ApiRun.id)))
            latest_open = s.scalar(select(ApiRun.stopped_at).where(ApiRun.id == latest)) is None if latest else False
        if not runs:
            return None, {"runs": 0, "reason": "the API server has not run yet"}
        first = max(start, runs[0][0])
        covered = 0.0
        crashes = 0
        for i, (started, seen, stopped) in enumerate(runs):
            is_current = latest_open and i == len(runs) - 1 and self.ctx.server_running
            finish = now if is_current else (stopped or seen)
            if stopped is None and not is_current:
                crashes += 1
            lo, hi = max(started, first), min(finish, end)
            if hi > lo:
                covered += (hi - lo).total_seconds()
        span = (end - first).total_seconds()
        if span <= 0:
            return None, {"runs": len(runs), "reason": "the period ends before the API server first ran"}
        return min(100.0, covered / span * 100.0), {"runs": len(runs), "ended_without_stop": crashes,
                                                    "measured_from": first.isoformat(), "seconds_up": round(covered)}

    def system_health(self, period: Period) -> dict[str, Any]:
        uptime, basis = self.uptime(period)
        rows = self._rollups(period)
        total = sum(int(r[1]) for r in rows)
        server = sum(int(r[3]) for r in rows)
        latency = sum(float(r[4]) for r in rows) / total if total else None
        error_rate = server / total * 100.0 if total else None
        status = None
        if uptime is not None and total:
            if uptime >= 99.5 and error_rate < 0.5 and latency < 300:
                status = "excellent"
            elif uptime >= 98 and error_rate < 2 and latency < 1000:
                status = "good"
            else:
                status = "degraded"
        reasons = {}
        if uptime is None:
            reasons["uptime"] = basis.get("reason", "")
        if not total:
            reasons["response_time_avg"] = "no API requests were logged in this period"
        return {"overall_status": status, "uptime": f"{uptime:.1f}%" if uptime is not None else None,
                "uptime_pct": round(uptime, 2) if uptime is not None else None,
                "response_time_avg": round(latency, 1) if latency is not None else None,
                "error_rate": round(error_rate, 2) if error_rate is not None else None,
                "requests": total, "basis": {**basis, "thresholds": "excellent: uptime ≥ 99.5 %, 5xx < 0.5 %, "
                                                                    "mean < 300 ms; good: ≥ 98 %, < 2 %, < 1000 ms"},
                "reasons": reasons}
