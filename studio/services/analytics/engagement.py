"""Engagement per platform from imported and connected figures, and the community's audience.

- `engagement_overview.total_users`: community members the studio knows (Community area);
  `active_users`: members who wrote in the period; `engagement_rate` = (likes + comments + shares)
  / views × 100 over every platform's figures in the period; `retention_rate` is null: none of the
  supported exports or APIs carries a retention figure.
- `platform_engagement`, per platform: views, streams, listeners, subscribers gained, likes, comments,
  shares in the period; `avg_watch_time` (s) = watch time (hours) × 3600 / views where the source has
  watch time; `likes_per_video` and `comments_per_video` = per item with views in the period.

Public API (built by the entry object as `Engagement(ctx, ledger=...)`):
- `engagement(period, *, platform="all") -> {"period","engagement_overview","platform_engagement","reasons","sources"}`
- `audience_series(period) -> {"views": [...], "streams": [...], "engagement_rate": [...]}` per day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from studio.db.models import CommunityMember, CommunityMessage, TrendItem
from studio.services.analytics.common import Period
from studio.services.analytics.revenue import describe_sources

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.analytics.ledger import Ledger

FIGURES = ("views", "streams", "listeners", "subscribers", "likes", "comments", "shares", "watch_time_h")


class Engagement:
    def __init__(self, ctx: "Context", *, ledger: "Ledger") -> None:
        self.ctx = ctx
        self.ledger = ledger

    def _platform_key(self, platform: str) -> str:
        return platform.strip().lower()

    def engagement(self, period: Period, *, platform: str = "all") -> dict[str, Any]:
        wanted = self._platform_key(platform or "all")
        per_platform: dict[str, dict[str, float]] = {}
        for figure in FIGURES:
            for name, value in self.ledger.totals(period, value=figure, by="platform").items():
                per_platform.setdefault(self._platform_key(name), {})[figure] = \
                    per_platform.get(self._platform_key(name), {}).get(figure, 0.0) + value
        items_with_views: dict[str, int] = {}
        for figure in ("views", "streams"):
            for item, value in self.ledger.totals(period, value=figure, by="item").items():
                if item != "unattributed" and value > 0:
                    items_with_views[item] = 1
        n_items = len(items_with_views)
        rows = []
        for name, f in sorted(per_platform.items(), key=lambda kv: -(kv[1].get("views", 0) + kv[1].get("streams", 0))):
            if wanted != "all" and name != wanted:
                continue
            views = f.get("views", 0.0)
            rows.append({"platform": name, "views": int(round(views)) if "views" in f else None,
                         "streams": int(round(f["streams"])) if "streams" in f else None,
                         "listeners": int(round(f["listeners"])) if "listeners" in f else None,
                         "subscribers": int(round(f["subscribers"])) if "subscribers" in f else None,
                         "likes": int(round(f["likes"])) if "likes" in f else None,
                         "comments": int(round(f["comments"])) if "comments" in f else None,
                         "avg_watch_time": (round(f["watch_time_h"] * 3600.0 / views, 1)
                                            if "watch_time_h" in f and views > 0 else None),
                         "likes_per_video": round(f["likes"] / n_items, 1) if "likes" in f and n_items else None,
                         "comments_per_video": (round(f["comments"] / n_items, 1)
                                                if "comments" in f and n_items else None)})
        views = sum(f.get("views", 0.0) for f in per_platform.values())
        interactions = sum(f.get(k, 0.0) for f in per_platform.values() for k in ("likes", "comments", "shares"))
        start, end = period.start_day.isoformat(), period.end_day.isoformat()
        with self.ctx.db.session() as s:
            members = s.scalar(select(func.count()).select_from(CommunityMember)) or 0
            day = func.substr(CommunityMessage.sent_at, 1, 10)
            active = s.scalar(select(func.count(func.distinct(CommunityMessage.member_id))).where(
                day >= start, day <= end, CommunityMessage.member_id.is_not(None))) or 0
        reasons = {"retention_rate": "none of the supported exports or APIs carries a retention figure"}
        if views <= 0:
            reasons["engagement_rate"] = "no views in the imported or connected figures for this period"
        if not members:
            reasons["total_users"] = "no community members yet (Community > Sources, or import a chat export)"
        return {"period": period.label, "platform": wanted,
                "engagement_overview": {"total_users": members, "active_users": active,
                                        "engagement_rate": round(interactions / views * 100.0, 2) if views > 0 else None,
                                        "retention_rate": None},
                "platform_engagement": rows, "reasons": reasons,
                "sources": {"platforms": describe_sources(self.ledger.contributors(period)),
                            "users": "community members and their messages (Community area)"}}

    def audience_series(self, period: Period) -> dict[str, list[float]]:
        views = self.ledger.series(period, value="views").get("all", [0.0] * period.days)
        streams = self.ledger.series(period, value="streams").get("all", [0.0] * period.days)
        likes = self.ledger.series(period, value="likes").get("all", [0.0] * period.days)
        comments = self.ledger.series(period, value="comments").get("all", [0.0] * period.days)
        rate = [round((lk + c) / v * 100.0, 2) if v > 0 else 0.0 for v, lk, c in zip(views, likes, comments)]
        return {"views": views, "streams": streams, "engagement_rate": rate}

    def trends(self, period: Period, *, limit: int = 10) -> dict[str, Any]:
        """How the creator's own figures move week by week (views, streams, revenue; change against the
        week before) and the topics (tags) of the trends the studio's scans stored in the period,
        ranked by how many rising items carry them."""
        series = {"views": self.ledger.series(period, value="views").get("all", [0.0] * period.days),
                  "streams": self.ledger.series(period, value="streams").get("all", [0.0] * period.days),
                  "revenue": self.ledger.series(period).get("all", [0.0] * period.days)}
        days = period.day_list()
        weeks = []
        for start in range(0, len(days), 7):
            week = {"week_start": days[start], "days": len(days[start:start + 7])}
            for name, values in series.items():
                week[name] = round(sum(values[start:start + 7]), 2)
            weeks.append(week)
        for before, week in zip(weeks, weeks[1:]):
            for name in series:
                week[f"{name}_change_pct"] = (round((week[name] - before[name]) / before[name] * 100.0, 1)
                                              if before[name] > 0 and week["days"] == before["days"] else None)
        start, end = period.start_day.isoformat(), period.end_day.isoformat()
        counts: dict[str, int] = {}
        scores: dict[str, list[float]] = {}
        with self.ctx.db.session() as s:
            seen = func.substr(TrendItem.last_seen_at, 1, 10)
            for tags, score in s.execute(select(TrendItem.tags, TrendItem.viral_score).where(seen >= start,
                                                                                             seen <= end)):
                for tag in {str(t).strip().lower() for t in tags or [] if str(t).strip()}:
                    counts[tag] = counts.get(tag, 0) + 1
                    if score is not None:
                        scores.setdefault(tag, []).append(float(score))
        topics = [{"topic": tag, "trending_items": n,
                   "mean_viral_score": round(sum(scores[tag]) / len(scores[tag]), 1) if scores.get(tag) else None}
                  for tag, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]
        reasons = {}
        if not any(sum(v) for v in series.values()):
            reasons["weekly"] = "no imported or connected figures in this period"
        if not topics:
            reasons["topics"] = "no trend scans in this period (Trends > Scan now)"
        return {"period": period.label, "weekly": weeks, "topics": topics, "reasons": reasons,
                "sources": {"weekly": describe_sources(self.ledger.contributors(period)),
                            "topics": "tags of the chart items the Trends area's scans saw in the period"}}
