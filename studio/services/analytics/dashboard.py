"""Seed 000's analytics dashboard: system health, revenue and content figures in one answer.

- `system_health`: usage.py (uptime from the API's runs; latency and error rate from the request log).
- `revenue_metrics`: `daily_revenue` = the period's revenue / its days; `monthly_projection` = the
  30-day projection (revenue.py, projection.py) with its interval and confidence; `growth_rate` = %
  change against the previous period of the same length; `diamond_systems_contribution` (seed 000's
  name) = % of the period's revenue attributed to something the studio made (confirmed links),
  the rest being unattributed. Null with a reason when there is no revenue data.
- `content_metrics`: content.py `library_metrics` (generation jobs, hours made, quality).

Public API (built by the entry object as `Dashboard(ctx, revenue=, content=, usage=, engagement=, ledger=)`):
`dashboard(period) -> {"status","timestamp","period","system_health","revenue_metrics","content_metrics",
"reasons","sources"}`; `overview(period)` (seed 003's `/analytics/overview`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from studio.services.analytics.common import UNATTRIBUTED, Period
from studio.services.analytics.revenue import describe_sources
from studio.timeutil import now_iso

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.analytics.content import ContentPerformance
    from studio.services.analytics.engagement import Engagement
    from studio.services.analytics.ledger import Ledger
    from studio.services.analytics.revenue import Revenue
    from studio.services.analytics.usage import ApiUsage


class Dashboard:
    def __init__(self, ctx: "Context", *, revenue: "Revenue", content: "ContentPerformance",
                 usage: "ApiUsage", engagement: "Engagement", ledger: "Ledger") -> None:
        self.ctx = ctx
        self.engagement = engagement
        self.ledger = ledger
        self.revenue = revenue
        self.content = content
        self.usage = usage

    def dashboard(self, period: Period) -> dict[str, Any]:
        figures = self.revenue.revenue(period)
        total = figures["total_revenue"]
        reasons = dict(figures["reasons"])
        contribution = None
        if total:
            attributed = total - (figures["breakdown"] or {}).get(UNATTRIBUTED, 0.0)
            contribution = round(attributed / total * 100.0, 1)
        elif total is not None:
            reasons["diamond_systems_contribution"] = "no revenue in this period to attribute"
        projection = figures["projections"]
        if projection["next_30d"] is None and projection.get("reason"):
            reasons["monthly_projection"] = projection["reason"]
        revenue_metrics = {
            "daily_revenue": round(total / period.days, 2) if total is not None else None,
            "monthly_projection": projection["next_30d"], "projection_interval": projection["interval"],
            "projection_confidence": projection["confidence"], "growth_rate": figures["growth_rate"],
            "diamond_systems_contribution": contribution, "total_revenue": total, "currency": figures["currency"],
            "breakdown": figures["breakdown"]}
        health = self.usage.system_health(period)
        return {"status": "success", "timestamp": now_iso(), "period": period.label,
                "start": period.start_day.isoformat(), "end": period.end_day.isoformat(),
                "system_health": health, "revenue_metrics": revenue_metrics,
                "content_metrics": self.content.library_metrics(period),
                "data_range": figures["data_range"], "reasons": reasons,
                "sources": {**figures["sources"],
                            "diamond_systems_contribution": "share of revenue linked (confirmed) to studio-made "
                                                            "tracks and voice content",
                            "system_health": "the API server's runs and its request log"}}

    def overview(self, period: Period) -> dict[str, Any]:
        """Seed 003's overview: the period's views, revenue, average view duration (s, where the source
        has watch time), engagement rate (a fraction: interactions / views), subscribers gained, the top
        videos and each platform's figures."""
        totals = {figure: self.ledger.totals(period, value=figure).get("all") for figure in
                  ("views", "watch_time_h", "likes", "comments", "shares", "subscribers")}
        views = totals["views"] or 0.0
        revenue = self.revenue.revenue(period)
        interactions = sum(totals[k] or 0.0 for k in ("likes", "comments", "shares"))
        reasons = dict(revenue["reasons"])
        if views <= 0:
            reasons["total_views"] = "no imported or connected views in this period"
        if totals["watch_time_h"] is None:
            reasons["avg_view_duration"] = "no source in this period has watch time (YouTube Studio or Analytics API)"
        content = self.content.content(period, sort="views", limit=10)
        engagement = self.engagement.engagement(period)
        return {"period": period.label, "start": period.start_day.isoformat(), "end": period.end_day.isoformat(),
                "metrics": {"total_views": int(round(views)) if views > 0 else None,
                            "total_revenue": revenue["total_revenue"], "currency": revenue["currency"],
                            "avg_view_duration": (round(totals["watch_time_h"] * 3600.0 / views, 1)
                                                  if totals["watch_time_h"] and views > 0 else None),
                            "engagement_rate": round(interactions / views, 4) if views > 0 else None,
                            "subscriber_growth": (int(round(totals["subscribers"]))
                                                  if totals["subscribers"] is not None else None)},
                "top_videos": content["top_performing"], "channel_performance": engagement["platform_engagement"],
                "reasons": reasons,
                "sources": {"metrics": describe_sources(self.ledger.contributors(period)),
                            "engagement_rate": "(likes + comments + shares) / views"}}
