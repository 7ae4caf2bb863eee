"""The stored trends: scoring them after a scan, the current list, one trend in detail, analytics.

Built by the trends entry object as `TrendCatalog(ctx, music=..., clock=utcnow)` (`music` for its
catalogue: `find_style`, `moods`, `max_duration_s`).

Public API:
- `current(platform="all", limit=20, sort="viral_score") -> {"scan_time", "total_trends",
  "filtered_trends", "trends": [trend]}`. Current = seen within 48 h of the latest scan;
  `platform` "all" or a source name (items that source carried); sort one of viral_score,
  growth_rate, rank, first_seen, last_seen (TrendsError otherwise). `filtered_trends` counts the
  items the platform filter kept; `trends` holds the first `limit` of them.
- a trend: `{"id", "title", "artist", "platform" (source of its best rank), "platforms", "chart",
  "rank", "viral_score", "growth_rate", "growth_unit", "growth_basis", "opportunity_level",
  "opportunity_basis", "style", "suggested_response", "suggested_spec" {prompt, style, mood,
  tempo, duration}, "estimated_revenue" (None), "time_sensitive", "expires_at", "expiry_basis",
  "first_seen", "last_seen", "published_at", "duration_s", "bpm", "tags", "url", "preview_url",
  "preview_analysis" ({tempo_bpm, tempo_confidence, key, key_confidence, genre, genre_confidence,
  tags, analysed_at, model, basis} measured on the Deezer preview, {error, analysed_at}, or None),
  "imported", "reasons" {field: why it is null}}`.
- `trend(trend_id) -> trend + {"history": [{"scanned_at", "source", "chart", "rank", "chart_size",
  "metrics", "imported_from"}], "score_breakdown": {"components", "total", "formula", "basis"}}`
  (UnknownTrend).
- `analytics(period_days) -> {"trends_detected", "hijacks_attempted", "successful_hijacks",
  "success_rate" (percent | None), "revenue_generated" (None), "top_platforms": [{"platform",
  "opportunities"}], "reasons"}` (also `TrendsService.analytics`).
- `rescore(item_ids, now)`: the scanner's step after storing snapshots; the scores (scoring.py)
  are kept on the item row so reading needs no snapshot walk.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import bindparam, func, select, update

from studio.db.models import Job, TrendAnswer, TrendItem, TrendSnapshot
from studio.services.trends import previews, scoring
from studio.services.trends.common import (
    CURRENT_WINDOW_H,
    IMPORT_SOURCE,
    NO_REVENUE,
    PREVIEWS_PER_SCAN,
    SORTS,
    TrendsError,
    UnknownTrend,
)
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.music import MusicService

SCORE_WINDOW_H = 72.0  # snapshots a score looks at: this many hours before the item's latest
HISTORY_LIMIT = 500
CHUNK = 500  # ids per IN (...) query


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


class TrendCatalog:
    def __init__(self, ctx: "Context", *, music: "MusicService", clock: Callable[[], datetime] = utcnow) -> None:
        self.db = ctx.db
        self.music = music
        self.clock = clock

    # --- scoring (after a scan or an import) -----------------------------------------------------
    def score(self, item: dict[str, Any], snaps: list[scoring.Snap], now: datetime) -> dict[str, Any]:
        """All computed fields of one item from its snapshots (what `rescore` stores)."""
        catalogue = self.music.catalogue
        growth = scoring.growth_rate(snaps)
        viral = scoring.viral_score(snaps)
        fit = scoring.style_fit(item.get("tags") or (), item.get("title") or "", catalogue.find_style,
                                measured_tags=(item.get("measured") or {}).get("tags") or ())
        opportunity = scoring.opportunity_level(viral["value"], fit["fit"])
        expiry = scoring.expiry(snaps, now)
        suggestion = scoring.suggest(item, fit, moods=catalogue.moods(), max_duration_s=catalogue.max_duration_s())
        position = scoring.rank_position(snaps)
        latest = max(snaps, key=lambda s: s.scanned_at) if snaps else None
        platform = position.get("source") or (latest.source if latest else None)
        return {
            "growth": growth, "breakdown": viral, "fit": fit, "opportunity": opportunity,
            "expiry": {**expiry, "expires_at": iso(expiry["expires_at"])}, "suggestion": suggestion,
            "platform": platform, "rank": position.get("rank"), "chart": position.get("chart"),
            "chart_size": position.get("chart_size"), "rank_reason": position.get("reason"),
            "window_h": SCORE_WINDOW_H,
        }

    def rescore(self, item_ids: Iterable[str], now: datetime | None = None) -> dict[str, float | None]:
        """Score these items from their snapshots of the last SCORE_WINDOW_H hours; returns id -> score.

        Blocking (a scan runs it in a worker thread). Reads only the columns scoring needs (a scan
        reads ~150 snapshots an item: ORM rows cost most of the time), and writes each chunk's
        scores in one short executemany transaction, so the database is not held while scoring."""
        now = now or self.clock()
        ids = list(dict.fromkeys(item_ids))
        window = timedelta(hours=SCORE_WINDOW_H)
        scores: dict[str, float | None] = {}
        items_table = TrendItem.__table__
        c = items_table.c
        write = (update(items_table).where(c.id == bindparam("b_id", type_=c.id.type))
                 .values(scores=bindparam("b_scores", type_=c.scores.type),
                         viral_score=bindparam("b_viral", type_=c.viral_score.type),
                         scored_at=bindparam("b_scored_at", type_=c.scored_at.type),
                         # set once: by the first scoring that saw the item rise
                         first_rise_at=func.coalesce(c.first_rise_at, bindparam("b_rise", type_=c.first_rise_at.type))))
        for chunk in _chunks(ids):
            with self.db.session() as s:
                items = s.execute(select(
                    TrendItem.id, TrendItem.title, TrendItem.artist, TrendItem.tags, TrendItem.bpm,
                    TrendItem.duration_s, TrendItem.sources, TrendItem.preview_analysis, TrendItem.last_seen_at,
                    TrendItem.first_rise_at).where(TrendItem.id.in_(chunk))).all()
                if not items:
                    continue
                since = {item.id: item.last_seen_at - window for item in items}
                by_item: dict[str, list[scoring.Snap]] = {}
                Snap = scoring.Snap
                for item_id, source, chart, scanned_at, rank, chart_size, metrics in s.execute(select(
                        TrendSnapshot.item_id, TrendSnapshot.source, TrendSnapshot.chart, TrendSnapshot.scanned_at,
                        TrendSnapshot.rank, TrendSnapshot.chart_size, TrendSnapshot.metrics).where(
                        TrendSnapshot.item_id.in_(chunk),
                        TrendSnapshot.scanned_at >= min(since.values()))):
                    if scanned_at >= since[item_id]:
                        by_item.setdefault(item_id, []).append(
                            Snap(source, chart, scanned_at, rank, chart_size, metrics or {}))
            updates = []
            for item in items:
                snaps = by_item.get(item.id, [])
                fields = {"title": item.title, "artist": item.artist, "tags": item.tags or [], "bpm": item.bpm,
                          "duration_s": item.duration_s, "sources": list(item.sources or []),
                          "measured": item.preview_analysis}
                result = self.score(fields, snaps, now)
                growth = result["growth"]["value"]
                rise = None
                if item.first_rise_at is None and growth is not None and growth > 0 and snaps:
                    rise = max(snap.scanned_at for snap in snaps)
                viral = result["breakdown"]["value"]
                updates.append({"b_id": item.id, "b_scores": result, "b_viral": viral, "b_scored_at": now,
                                "b_rise": rise})
                scores[item.id] = viral
            with self.db.session() as s:
                s.execute(write, updates)
        return scores

    # --- reading -----------------------------------------------------------------------------------
    def trend_dict(self, row: TrendItem, now: datetime | None = None) -> dict[str, Any]:
        now = now or self.clock()
        scores = row.scores or {}
        growth = scores.get("growth") or {}
        viral = scores.get("breakdown") or {}
        opportunity = scores.get("opportunity") or {}
        expiry = scores.get("expiry") or {}
        suggestion = scores.get("suggestion") or {}
        reasons: dict[str, str] = {}
        if growth.get("value") is None:
            reasons["growth_rate"] = growth.get("reason") or "not scored yet"
        if viral.get("value") is None:
            reasons["viral_score"] = "not scored yet" if not viral else "no component of the score can be computed"
        if opportunity.get("value") is None:
            reasons["opportunity_level"] = opportunity.get("reason") or "no viral score yet"
        if scores.get("rank") is None:
            reasons["rank"] = scores.get("rank_reason") or "no source ranks this item"
        expires_at = expiry.get("expires_at")
        time_sensitive = None
        if expires_at:
            when = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
            time_sensitive = when - now <= timedelta(hours=scoring.TIME_SENSITIVE_H)
        else:
            reasons["expires_at"] = reasons["time_sensitive"] = expiry.get("reason") or "no decay observed yet"
        reasons.update(suggestion.get("reasons") or {})
        reasons["estimated_revenue"] = NO_REVENUE
        measured = previews.public(row.preview_analysis, row.preview_analysed_at)
        if measured is None:
            reasons["preview_analysis"] = ("only Deezer previews are measured, when its analyse_previews setting "
                                           f"is on, for items without a Deezer bpm ({PREVIEWS_PER_SCAN} a scan)")
        elif measured.get("error"):
            reasons["preview_analysis"] = measured["error"]
        sources = list(row.sources or [])
        return {
            "id": row.id, "title": row.title, "artist": row.artist,
            "platform": scores.get("platform") or (sources[0] if sources else None), "platforms": sources,
            "chart": scores.get("chart"), "rank": scores.get("rank"), "chart_size": scores.get("chart_size"),
            "viral_score": row.viral_score,
            "growth_rate": None if growth.get("value") is None else round(float(growth["value"]), 3),
            "growth_unit": growth.get("unit"), "growth_basis": growth.get("basis"),
            "opportunity_level": opportunity.get("value"), "opportunity_basis": opportunity.get("basis"),
            "style": (scores.get("fit") or {}).get("style"), "style_basis": (scores.get("fit") or {}).get("basis"),
            "suggested_response": suggestion.get("suggested_response"),
            "suggested_spec": dict(suggestion.get("suggested_spec") or {}),
            "suggestion_basis": suggestion.get("basis"),
            "estimated_revenue": None,
            "time_sensitive": time_sensitive, "expires_at": expires_at, "expiry_basis": expiry.get("basis"),
            "first_seen": iso(row.first_seen_at), "last_seen": iso(row.last_seen_at),
            "published_at": iso(row.published_at), "duration_s": row.duration_s, "bpm": row.bpm,
            "tags": list(row.tags or []), "url": row.url, "preview_url": row.preview_url,
            "preview_analysis": measured,
            "imported": IMPORT_SOURCE in sources,
            "reasons": reasons,
        }

    def latest_scan_time(self) -> datetime | None:
        with self.db.session() as s:
            return s.scalar(select(func.max(TrendItem.last_seen_at)))

    def current(self, platform: str = "all", limit: int = 20, sort: str = "viral_score") -> dict[str, Any]:
        if sort not in SORTS:
            raise TrendsError(f"unknown sort '{sort}' (use {', '.join(SORTS)})")
        limit = max(1, int(limit))
        now = self.clock()
        with self.db.session() as s:
            latest = s.scalar(select(func.max(TrendItem.last_seen_at)))
            if latest is None:
                return {"scan_time": None, "total_trends": 0, "filtered_trends": 0, "trends": [],
                        "window_h": CURRENT_WINDOW_H}
            # Filter and sort on the few columns they need, then load whole rows for the page only:
            # parsing every current item's scores would cost more than the rest of the request.
            columns = [TrendItem.id, TrendItem.viral_score, TrendItem.sources, TrendItem.first_seen_at,
                       TrendItem.last_seen_at]
            if sort in ("growth_rate", "rank"):
                columns.append(TrendItem.scores)
            rows = list(s.execute(select(*columns).where(
                TrendItem.last_seen_at >= latest - timedelta(hours=CURRENT_WINDOW_H))).all())
            total = len(rows)
            if platform and platform != "all":
                rows = [row for row in rows if platform in (row.sources or [])]
            rows.sort(key=_sort_key(sort))
            page = [row.id for row in rows[:limit]]
            full: dict[str, TrendItem] = {}
            for chunk in _chunks(page):
                full.update((row.id, row) for row in s.scalars(select(TrendItem).where(TrendItem.id.in_(chunk))))
            trends = [self.trend_dict(full[item_id], now) for item_id in page if item_id in full]
        return {"scan_time": iso(latest), "total_trends": total, "filtered_trends": len(rows), "trends": trends,
                "window_h": CURRENT_WINDOW_H, "sort": sort, "platform": platform or "all"}

    def trend(self, trend_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(TrendItem, trend_id)
            if row is None:
                raise UnknownTrend(trend_id)
            trend = self.trend_dict(row)
            history = s.scalars(select(TrendSnapshot).where(TrendSnapshot.item_id == trend_id)
                                .order_by(TrendSnapshot.scanned_at.desc(), TrendSnapshot.id.desc())
                                .limit(HISTORY_LIMIT)).all()
            trend["history"] = [{"scanned_at": iso(h.scanned_at), "source": h.source, "chart": h.chart,
                                 "rank": h.rank, "chart_size": h.chart_size, "metrics": dict(h.metrics or {}),
                                 "imported_from": h.imported_from} for h in reversed(history)]
            viral = (row.scores or {}).get("breakdown") or {}
            trend["score_breakdown"] = {"components": viral.get("components") or {}, "total": viral.get("value"),
                                        "formula": viral.get("formula"), "basis": viral.get("basis")}
            return trend

    def exists(self, trend_id: str) -> bool:
        with self.db.session() as s:
            return s.get(TrendItem, trend_id) is not None

    # --- analytics -----------------------------------------------------------------------------------
    def analytics(self, period_days: float) -> dict[str, Any]:
        now = self.clock()
        start = now - timedelta(days=float(period_days))
        reasons: dict[str, str] = {"revenue_generated": NO_REVENUE}
        with self.db.session() as s:
            items = s.scalars(select(TrendItem.sources).where(TrendItem.first_seen_at >= start)).all()
            answers = s.scalars(select(TrendAnswer.job_id).where(TrendAnswer.created_at >= start)).all()
            done = 0
            if answers:
                done = s.scalar(select(func.count()).select_from(Job).where(
                    Job.id.in_(list(answers)), Job.status == "completed")) or 0
        platforms: dict[str, int] = {}
        for sources in items:
            for name in sources or ():
                platforms[name] = platforms.get(name, 0) + 1
        success_rate = round(100.0 * done / len(answers), 1) if answers else None
        if not answers:
            reasons["success_rate"] = "no trend was answered in this period"
        return {
            "period_days": period_days, "trends_detected": len(items), "hijacks_attempted": len(answers),
            "successful_hijacks": done, "success_rate": success_rate,
            "success_basis": "answers whose generation job completed, of the answers made in the period",
            "revenue_generated": None,
            "top_platforms": [{"platform": name, "opportunities": count}
                              for name, count in sorted(platforms.items(), key=lambda kv: (-kv[1], kv[0]))],
            "top_platforms_basis": "items first seen in the period, counted once per source that carried them",
            "reasons": reasons,
        }


def _sort_key(sort: str):
    """Best first; unknown values last."""
    far = float("inf")
    if sort == "viral_score":
        return lambda r: (-(r.viral_score if r.viral_score is not None else -far), r.id)
    if sort == "growth_rate":
        def growth(r):
            value = ((r.scores or {}).get("growth") or {}).get("value")
            return (-(value if value is not None else -far), r.id)
        return growth
    if sort == "rank":
        def rank(r):
            value = (r.scores or {}).get("rank")
            return (value if value is not None else far, -(r.viral_score or 0.0), r.id)
        return rank
    if sort == "first_seen":
        return lambda r: (-r.first_seen_at.timestamp(), r.id)
    return lambda r: (-r.last_seen_at.timestamp(), r.id)
