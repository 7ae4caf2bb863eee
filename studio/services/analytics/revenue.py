"""Revenue per day, per source and per origin (what made it), with the 30-day projection.

Every amount is the ledger's (ledger.py: statements spread over their days, channel totals, one
currency); `breakdown` holds seed 000's origin keys plus `unattributed` (money not linked, or not
yet confirmed, to something the studio made). Alongside each day: `generations` (library tracks
created that day), `voice_content` (voice content completed), `hijacks` (trend answers made), from
the studio's own tables.

- `total_revenue`: the sum over the period; null when no imported or connected row has revenue.
- `projections`: projection.py fitted on the daily revenue up to the period's end.
- `growth_rate(period)`: (this period − the previous period of the same length) / previous × 100;
  null when the previous period has no revenue.

Public API (built by the entry object as `Revenue(ctx, ledger=..., linking=...)`):
- `revenue(period, *, breakdown="daily") -> {"period","start","end","currency","total_revenue","breakdown",
  "by_source","by_platform","daily_data","projections","growth_rate","data_range","other_currencies",
  "reasons","sources"}`; `breakdown` "daily" | "weekly" | "monthly" groups `daily_data`.
- `daily(period) -> list[float]`, `growth_rate(period) -> float | None`, `has_revenue() -> bool`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from studio.db.models import AnalyticsFact, Track, TrendAnswer, VoiceContent
from studio.services.analytics.common import ORIGINS, UNATTRIBUTED, AnalyticsError, Period
from studio.services.analytics.projection import project

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.analytics.ledger import Ledger
    from studio.services.analytics.linking import Linking

BREAKDOWNS = ("daily", "weekly", "monthly")
NO_REVENUE = ("no imported statement or connected account has revenue yet: import a DistroKid or TuneCore "
              "statement or a YouTube Studio export with 'Your estimated revenue'")


def _r(value: float) -> float:
    return round(float(value), 2)


def describe_sources(contributors: list[dict[str, Any]]) -> str:
    """`DistroKid statement.tsv (120 rows), YouTube channel (API, 30 rows)`: what a figure comes from."""
    if not contributors:
        return "no imported or connected figures in this period"
    return ", ".join(f"{c['file'] or c['source'].replace('_', ' ')} ({c['rows']} rows)" for c in contributors)


class Revenue:
    def __init__(self, ctx: "Context", *, ledger: "Ledger", linking: "Linking") -> None:
        self.ctx = ctx
        self.ledger = ledger
        self.linking = linking

    def has_revenue(self) -> bool:
        with self.ctx.db.session() as s:
            return s.scalar(select(AnalyticsFact.id).where(AnalyticsFact.revenue.is_not(None)).limit(1)) is not None

    def daily(self, period: Period) -> list[float]:
        return self.ledger.series(period).get("all", [0.0] * period.days)

    def growth_rate(self, period: Period) -> float | None:
        now = sum(self.daily(period))
        before = sum(self.daily(period.previous()))
        if before <= 0:
            return None
        return round((now - before) / before * 100.0, 1)

    def _counts(self, period: Period) -> dict[str, dict[str, int]]:
        """Per day: tracks made, voice content completed, trend answers made (the studio's own tables)."""
        start, end = period.start_day.isoformat(), period.end_day.isoformat()
        out: dict[str, dict[str, int]] = {"generations": {}, "voice_content": {}, "hijacks": {}}
        with self.ctx.db.session() as s:
            for name, column, where in (("generations", Track.created_at, None),
                                        ("voice_content", VoiceContent.created_at, VoiceContent.status == "completed"),
                                        ("hijacks", TrendAnswer.created_at, None)):
                day = func.substr(column, 1, 10)
                query = select(day, func.count()).where(day >= start, day <= end).group_by(day)
                if where is not None:
                    query = query.where(where)
                out[name] = {d: n for d, n in s.execute(query).all()}
        return out

    def revenue(self, period: Period, *, breakdown: str = "daily") -> dict[str, Any]:
        if breakdown not in BREAKDOWNS:
            raise AnalyticsError(f"breakdown must be one of {', '.join(BREAKDOWNS)}")
        days = period.day_list()
        total_series = self.daily(period)
        by_origin = self.ledger.series(period, by="origin")
        counts = self._counts(period)
        currency = self.ledger.currency()
        has_revenue = self.has_revenue()
        reasons: dict[str, str] = {}
        total = sum(total_series)
        # The projection looks at the daily series up to the period's end (up to 180 days back).
        history = Period(date.fromordinal(period.end_day.toordinal() - 179), period.end_day, "history")
        projections = project(self.daily(history), first_weekday=history.start_day.weekday())
        if not has_revenue:
            reasons["total_revenue"] = NO_REVENUE
            projections = {**projections, "reason": NO_REVENUE}
        elif projections["reason"]:
            reasons["projections"] = projections["reason"]
        growth = self.growth_rate(period) if has_revenue else None
        if has_revenue and growth is None:
            reasons["growth_rate"] = "the previous period of the same length has no revenue to compare with"

        rows = []
        for i, day in enumerate(days):
            rows.append({"date": day, "revenue": total_series[i],
                         "by_origin": {o: by_origin.get(o, [0.0] * len(days))[i] for o in (*ORIGINS, UNATTRIBUTED)},
                         "generations": counts["generations"].get(day, 0),
                         "voice_content": counts["voice_content"].get(day, 0),
                         "hijacks": counts["hijacks"].get(day, 0)})
        grouped = _group(rows, breakdown)
        contributors = self.ledger.contributors(period)
        first, last = self.ledger.data_range()
        return {
            "period": period.label, "start": period.start_day.isoformat(), "end": period.end_day.isoformat(),
            "currency": currency["currency"],
            "total_revenue": _r(total) if has_revenue else None,
            "breakdown": {o: _r(sum(by_origin.get(o, []))) for o in (*ORIGINS, UNATTRIBUTED)} if has_revenue else None,
            "by_source": {k: _r(v) for k, v in self.ledger.totals(period, by="source").items()} if has_revenue else {},
            "by_platform": ({k: _r(v) for k, v in sorted(self.ledger.totals(period, by="platform").items(),
                                                          key=lambda kv: -kv[1])} if has_revenue else {}),
            "daily_data": grouped, "breakdown_by": breakdown, "projections": projections, "growth_rate": growth,
            "data_range": {"first": first.isoformat() if first else None, "last": last.isoformat() if last else None},
            "other_currencies": currency["other_currencies"], "reasons": reasons,
            "sources": {"revenue": describe_sources(contributors),
                        "generations": "library tracks created per day", "voice_content":
                        "voice content completed per day", "hijacks": "trend answers made per day",
                        "attribution": "confirmed links to library tracks and voice content (Analytics > Links)"},
        }


def _group(rows: list[dict[str, Any]], breakdown: str) -> list[dict[str, Any]]:
    if breakdown == "daily":
        return [{**r, "revenue": _r(r["revenue"]), "by_origin": {k: _r(v) for k, v in r["by_origin"].items()}}
                for r in rows]
    buckets: dict[str, dict[str, Any]] = {}
    for r in rows:
        day = date.fromisoformat(r["date"])
        key = (day.fromordinal(day.toordinal() - day.weekday()).isoformat() if breakdown == "weekly"
               else day.replace(day=1).isoformat())
        bucket = buckets.setdefault(key, {"date": key, "revenue": 0.0, "by_origin": defaultdict(float),
                                          "generations": 0, "voice_content": 0, "hijacks": 0})
        bucket["revenue"] += r["revenue"]
        for k, v in r["by_origin"].items():
            bucket["by_origin"][k] += v
        for k in ("generations", "voice_content", "hijacks"):
            bucket[k] += r[k]
    return [{**b, "revenue": _r(b["revenue"]), "by_origin": {k: _r(v) for k, v in b["by_origin"].items()}}
            for b in buckets.values()]
