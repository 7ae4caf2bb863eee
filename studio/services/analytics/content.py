"""How each piece of content performs, what the linked content has in common, the library's own
figures, and voice characters' figures.

Content (`content(period)`): one entry per library track or voice content with confirmed links
(all its platform items together), and one per unlinked item (`content_id` "item:<id>",
`type` "unattributed"). Figures over the period from the ledger:
- `views` (YouTube views + streams), `revenue`, `streams`;
- `engagement` = (likes + comments + shares) / views × 100 (%), null without views.
`sort`: "performance" (revenue when any item in the period has revenue, else views), "views",
"revenue", "engagement", "recent" (newest content first).

Insights (`performance_insights`), from linked content with views in the period only, each with
its sample size (`details`); fewer than MIN_SAMPLE items gives an empty list and the reason:
- `best_genres`: genres of linked tracks by mean views per track (top 3);
- `optimal_duration`: the duration band with the highest mean views;
- `peak_upload_times`: publish hours (UTC, from the platform's publish time) with the highest mean views;
- `engagement_factors`: which origins (voice character, trend timing, community promotion) have a
  higher mean engagement rate than generated tracks without them.

Library metrics (`library_metrics(period)`): generation jobs in the period (total, succeeded, failed),
hours of music made, and the mean of the engine's `overall_quality` (0..1) on the seed's 0-10 scale.

Characters (`characters(period)`, `character(id, period)`): a character's content is its voice content
and the tracks it sings; figures are those of the confirmed links; growth compares with the previous
period of the same length.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import mean
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from studio.db.models import AnalyticsItem, Character, Job, Track, VoiceContent
from studio.services.analytics.common import AnalyticsError, Period
from studio.services.analytics.revenue import describe_sources

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.analytics.ledger import Ledger
    from studio.services.analytics.linking import Linking

SORTS = ("performance", "views", "revenue", "engagement", "recent")
MIN_SAMPLE = 3
DURATION_BANDS = ((0, 60, "under 60 seconds"), (60, 90, "60-90 seconds"), (90, 120, "90-120 seconds"),
                  (120, 180, "2-3 minutes"), (180, 240, "3-4 minutes"), (240, 10 ** 9, "over 4 minutes"))
GENERATION_KINDS = ("music.generate", "music.extend")
FACTOR_OF = {"voice_empire": "voice_character", "trending_hijacker": "trend_timing",
             "community_empire": "community_promotion"}


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


class ContentPerformance:
    def __init__(self, ctx: "Context", *, ledger: "Ledger", linking: "Linking") -> None:
        self.ctx = ctx
        self.ledger = ledger
        self.linking = linking

    # --- per item figures ------------------------------------------------------------------------
    def _item_figures(self, period: Period) -> dict[str, dict[str, float]]:
        figures: dict[str, dict[str, float]] = defaultdict(dict)
        for value in ("revenue", "views", "streams", "likes", "comments", "shares"):
            for item, amount in self.ledger.totals(period, value=value, by="item").items():
                if item != "unattributed":
                    figures[item][value] = amount
        return figures

    def _entries(self, period: Period) -> list[dict[str, Any]]:
        figures = self._item_figures(period)
        linked = self.linking.linked_items()
        entries: dict[str, dict[str, Any]] = {}
        item_ids = [int(i) for i in figures]
        info: dict[int, tuple] = {}
        with self.ctx.db.session() as s:
            for i in range(0, len(item_ids), 500):
                for row in s.execute(select(AnalyticsItem.id, AnalyticsItem.title, AnalyticsItem.platform,
                                            AnalyticsItem.published_at, AnalyticsItem.duration_s)
                                     .where(AnalyticsItem.id.in_(item_ids[i:i + 500]))):
                    info[row[0]] = row[1:]
        for item_key, values in figures.items():
            item_id = int(item_key)
            title, platform, published, duration = info.get(item_id, (None, None, None, None))
            link = linked.get(item_id)
            key = (link["track_id"] or link["content_id"]) if link else f"item:{item_id}"
            entry = entries.setdefault(key, {
                "content_id": key, "item_ids": [], "title": link["title"] if link else title,
                "type": link["origin"] if link else "unattributed", "linked": bool(link),
                "views": 0.0, "streams": 0.0, "revenue": 0.0, "interactions": 0.0, "platforms": set(),
                "created_at": link["created_at"] if link else published, "published": [],
                "genre": link["genre"] if link else None,
                "duration_s": (link["duration_s"] if link else None) or duration,
                "character_id": link["character_id"] if link else None})
            entry["item_ids"].append(item_id)
            entry["views"] += values.get("views", 0.0) + values.get("streams", 0.0)
            entry["streams"] += values.get("streams", 0.0)
            entry["revenue"] += values.get("revenue", 0.0)
            entry["interactions"] += values.get("likes", 0.0) + values.get("comments", 0.0) + values.get("shares", 0.0)
            if platform:
                entry["platforms"].add(platform)
            if published:
                entry["published"].append(published)
        out = []
        for entry in entries.values():
            entry["engagement"] = (_r(entry["interactions"] / entry["views"] * 100.0)
                                   if entry["views"] > 0 and entry["interactions"] > 0 else None)
            out.append(entry)
        return out

    # --- content ----------------------------------------------------------------------------------
    def content(self, period: Period, *, sort: str = "performance", limit: int = 20, q: str | None = None,
                origin: str | None = None) -> dict[str, Any]:
        if sort not in SORTS:
            raise AnalyticsError(f"sort must be one of {', '.join(SORTS)}")
        if not 1 <= limit <= 1000:
            raise AnalyticsError("limit must be between 1 and 1000")
        entries = self._entries(period)
        any_revenue = any(e["revenue"] for e in entries)
        keys = {"performance": (lambda e: e["revenue"]) if any_revenue else (lambda e: e["views"]),
                "views": lambda e: e["views"], "revenue": lambda e: e["revenue"],
                "engagement": lambda e: e["engagement"] or -1.0, "recent": lambda e: e["created_at"] or ""}
        chosen = [e for e in entries
                  if (not q or q.lower() in (e["title"] or "").lower()) and (not origin or e["type"] == origin)]
        chosen.sort(key=keys[sort], reverse=True)
        top = [{"content_id": e["content_id"], "item_ids": e["item_ids"], "title": e["title"], "type": e["type"],
                "linked": e["linked"], "views": int(round(e["views"])), "streams": int(round(e["streams"])),
                "engagement": e["engagement"], "revenue": _r(e["revenue"]) if any_revenue else None,
                "created_at": e["created_at"], "platforms": sorted(e["platforms"])} for e in chosen[:limit]]
        reasons = {}
        if not entries:
            reasons["top_performing"] = ("no imported or connected figures for any video or song in this period: "
                                         "import a YouTube Studio, Spotify for Artists, DistroKid or TuneCore file")
        return {"period": period.label, "sort": sort, "total": len(chosen), "top_performing": top,
                "performance_insights": self.insights(entries), "reasons": reasons,
                "sources": {"figures": describe_sources(self.ledger.contributors(period)),
                            "engagement": "(likes + comments + shares) / views × 100"}}

    def insights(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        linked = [e for e in entries if e["linked"] and e["views"] > 0]
        details: dict[str, Any] = {}
        out: dict[str, Any] = {"best_genres": [], "optimal_duration": None, "peak_upload_times": [],
                               "engagement_factors": [], "details": details}
        if len(linked) < MIN_SAMPLE:
            reason = (f"needs at least {MIN_SAMPLE} linked tracks or voice content with views in the period; there "
                      f"are {len(linked)} (confirm links under Analytics > Links)")
            for name in ("best_genres", "optimal_duration", "peak_upload_times", "engagement_factors"):
                details[name] = {"sample_size": len(linked), "reason": reason}
            return out

        def ranked(groups: dict[str, list[float]]) -> list[tuple[str, float, int]]:
            return sorted(((k, mean(v), len(v)) for k, v in groups.items() if v), key=lambda t: -t[1])

        genres: dict[str, list[float]] = defaultdict(list)
        for e in linked:
            if e["genre"]:
                genres[e["genre"]].append(e["views"])
        top = ranked(genres)[:3]
        out["best_genres"] = [g for g, _m, _n in top]
        details["best_genres"] = {"basis": "mean views per linked track, by genre", "sample_size": sum(
            len(v) for v in genres.values()), "groups": [{"genre": g, "mean_views": round(m), "n": n} for g, m, n in top]}

        bands: dict[str, list[float]] = defaultdict(list)
        for e in linked:
            if e["duration_s"]:
                label = next(b[2] for b in DURATION_BANDS if b[0] <= e["duration_s"] < b[1])
                bands[label].append(e["views"])
        best = ranked(bands)
        out["optimal_duration"] = best[0][0] if best else None
        details["optimal_duration"] = {"basis": "duration band with the highest mean views",
                                       "sample_size": sum(len(v) for v in bands.values()),
                                       "groups": [{"band": b, "mean_views": round(m), "n": n} for b, m, n in best]}

        hours: dict[str, list[float]] = defaultdict(list)
        for e in linked:
            for published in e["published"]:
                if len(published) >= 13 and published[10] in "T ":
                    hours[f"{published[11:13]}:00"].append(e["views"])
        best_hours = ranked(hours)[:2]
        out["peak_upload_times"] = [h for h, _m, _n in best_hours]
        details["peak_upload_times"] = {"basis": "publish hour (UTC) with the highest mean views",
                                        "sample_size": sum(len(v) for v in hours.values()),
                                        "groups": [{"hour": h, "mean_views": round(m), "n": n}
                                                   for h, m, n in best_hours]}
        if not hours:
            details["peak_upload_times"]["reason"] = "the imported rows carry no publish times"

        rates: dict[str, list[float]] = defaultdict(list)
        for e in linked:
            if e["engagement"] is not None:
                rates[e["type"]].append(e["engagement"])
        baseline = mean(rates["music_generation"]) if rates.get("music_generation") else None
        factors = []
        for origin, factor in FACTOR_OF.items():
            if baseline is not None and rates.get(origin) and mean(rates[origin]) > baseline:
                factors.append(factor)
        out["engagement_factors"] = factors
        details["engagement_factors"] = {
            "basis": "mean engagement rate of each origin against generated tracks without a character, trend or "
                     "community promotion", "baseline": _r(baseline),
            "groups": [{"origin": o, "mean_engagement": _r(mean(v)), "n": len(v)} for o, v in rates.items()],
            "sample_size": sum(len(v) for v in rates.values())}
        if baseline is None:
            details["engagement_factors"]["reason"] = "no plain generated track with an engagement rate to compare with"
        return out

    # --- the library's own figures ------------------------------------------------------------------
    def library_metrics(self, period: Period) -> dict[str, Any]:
        start, end = period.start_day.isoformat(), period.end_day.isoformat()
        day = func.substr(Job.created_at, 1, 10)
        track_day = func.substr(Track.created_at, 1, 10)
        with self.ctx.db.session() as s:
            statuses = dict(s.execute(select(Job.status, func.count()).where(
                Job.kind.in_(GENERATION_KINDS), day >= start, day <= end).group_by(Job.status)).all())
            seconds, n_tracks = s.execute(select(func.coalesce(func.sum(Track.duration_s), 0.0), func.count()).where(
                track_day >= start, track_day <= end)).one()
            qualities = [q.get("overall_quality") for q in s.scalars(select(Track.quality).where(
                track_day >= start, track_day <= end)) if isinstance(q, dict) and q.get("overall_quality") is not None]
        total = sum(statuses.values())
        reasons = {}
        if not qualities:
            reasons["average_quality_score"] = "no track made in this period has quality metrics"
        return {"total_generated": total, "successful_generations": statuses.get("completed", 0),
                "failed_generations": statuses.get("failed", 0), "tracks_in_library": n_tracks,
                "total_duration_hours": round(float(seconds) / 3600.0, 2),
                "average_quality_score": round(mean(qualities) * 10.0, 1) if qualities else None,
                "reasons": reasons,
                "sources": {"total_generated": "generation and extension jobs created in the period",
                            "total_duration_hours": "duration of the library tracks made in the period",
                            "average_quality_score": "mean of the engine's overall_quality (0-1) × 10, "
                                                     f"over {len(qualities)} tracks"}}

    # --- voice characters -----------------------------------------------------------------------------
    def character(self, character_id: str, period: Period, *,
                  entries: tuple[list, list] | None = None) -> dict[str, Any]:
        current, previous = entries or (self._entries(period), self._entries(period.previous()))
        now = [e for e in current if e["character_id"] == character_id]
        before = [e for e in previous if e["character_id"] == character_id]
        with self.ctx.db.session() as s:
            content = (s.scalar(select(func.count()).select_from(VoiceContent).where(
                VoiceContent.character_id == character_id, VoiceContent.status == "completed")) or 0)
        views = sum(e["views"] for e in now)
        revenue = sum(e["revenue"] for e in now)
        prev_views = sum(e["views"] for e in before)
        rates = [e["engagement"] for e in now if e["engagement"] is not None]
        reasons = {}
        if not now:
            reasons["total_views"] = ("none of this character's content is linked to imported or connected figures "
                                      "in this period (Analytics > Links)")
        if not prev_views:
            reasons["growth_rate"] = "no views in the previous period of the same length to compare with"
        top = sorted(now, key=lambda e: -e["views"])[:5]
        return {"character_id": character_id, "total_content": content, "linked_content": len(now),
                "total_views": int(round(views)) if now else None,
                "average_engagement": _r(mean(rates)) if rates else None,
                "revenue_generated": _r(revenue) if now and any(e["revenue"] for e in now) else None,
                "growth_rate": _r((views - prev_views) / prev_views * 100.0, 1) if prev_views else None,
                "top_performing_content": [{"title": e["title"], "views": int(round(e["views"])),
                                            "engagement": e["engagement"]} for e in top],
                "reasons": reasons, "period": period.label}

    def characters(self, period: Period) -> list[dict[str, Any]]:
        with self.ctx.db.session() as s:
            rows = s.execute(select(Character.id, Character.name).order_by(Character.name)).all()
        entries = (self._entries(period), self._entries(period.previous()))
        out = []
        for character_id, name in rows:
            figures = self.character(character_id, period, entries=entries)
            out.append({"name": name, **figures})
        return out

    def character_revenue(self, period: Period) -> dict[str, dict[str, float | None]]:
        """For the character lists: `monthly_potential` = the character's linked revenue in the period
        scaled to 30 days; `revenue_multiplier` = the character's mean revenue per linked piece ÷ the
        mean over every linked piece (above 1: its content earns more than the rest). Characters
        without linked revenue are left out (their fields read null)."""
        entries = [e for e in self._entries(period) if e["linked"] and e["revenue"]]
        if not entries:
            return {}
        overall = mean(e["revenue"] for e in entries)
        by_character: dict[str, list[float]] = defaultdict(list)
        for e in entries:
            if e["character_id"]:
                by_character[e["character_id"]].append(e["revenue"])
        return {cid: {"monthly_potential": _r(sum(v) * 30.0 / period.days),
                      "revenue_multiplier": _r(mean(v) / overall) if overall else None}
                for cid, v in by_character.items()}
