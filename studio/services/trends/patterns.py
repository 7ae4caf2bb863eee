"""When and what rises: hours, days, keywords, durations and tempos of the items that rose.

Built by the trends entry object as `TrendPatterns(ctx, music=..., clock=utcnow)`.

Public API: `patterns(genre: str | None = None, timeframe_days: float = 30) -> {"patterns": {...},
"reasons": {name: why it is null}, "rising_items": n, "basis": str, "timezone": "UTC"}` with
- `peak_hours`: {"hours": ["14:00-15:00", ...] (the 3 busiest UTC hours), "counts": [24 ints],
  "cells": [{"day", "hour", "count"}] (day 0 = Monday), "sample_size"};
- `best_days`: {"days": ["Sunday", ...] (the 3 busiest), "counts": {day: n}, "sample_size"};
- `trending_keywords`: {"keywords": [{"keyword", "count", "lift"}] (10 at most), "sample_size",
  "baseline_size"};
- `optimal_duration`: {"range": "150-210 seconds", "min" (25th percentile), "max" (75th),
  "median", "sample_size"};
- `tempo_range`: {"range": "85-95 BPM", "min", "max", "median", "sample_size", "basis"};
- `tempo_histogram`: {"bins": [{"bpm_from": 80, "bpm_to": 90, "items": 3}, ...] (10-BPM bins, every
  bin from the lowest to the highest observed, empty ones included), "bin_bpm": 10, "sample_size",
  "from_source", "measured", "basis"};
- `success_factors`: null (needs performance data of answered tracks).
Each is null with a `reasons` entry when nothing supports it.

Rising items: items whose growth (count growth, or rank velocity for rank-only sources) was first
seen positive within the timeframe (`first_rise_at`, set by the scanner's scoring). The moment an
item "rose" is its `published_at` when the source gives one within the timeframe, else
`first_rise_at`. `genre`: items whose fitted studio style is the style the genre names
(`music.catalogue.find_style`), or whose tags contain the genre text.

Keywords: words (3+ letters, not stop words) of rising items' titles and tags, counted once per
item; lift = (count / rising items) / ((baseline count + 1) / (baseline items + 1)), where the
baseline is every other stored item. Ranked by lift, then count; a word must appear in 2 items.

Tempo (range and histogram): the source's bpm when it gives one within 40-240, else the tempo the
studio measured on the item's Deezer preview (`preview_analysis`, see previews.py) when that has a
tempo within 40-240 and no error: the same choice scoring.suggest makes for the suggested tempo.
"""

from __future__ import annotations

import re
import statistics
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import select

from studio.db.models import TrendItem
from studio.services.trends.scoring import MAX_TEMPO_BPM, MIN_TEMPO_BPM
from studio.timeutil import utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.music import MusicService

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TOP_HOURS, TOP_DAYS, TOP_KEYWORDS = 3, 3, 10
TEMPO_BIN_BPM = 10
MIN_KEYWORD_ITEMS = 2
STOP_WORDS = frozenset("""the and for with from feat featuring official video audio lyric lyrics music
remix version edit remaster remastered live you your are was this that not but all out our his her its
they them who what when where how can will just one two three vol""".split())
_WORD = re.compile(r"[a-z][a-z0-9']{2,}")


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    values = sorted(values)
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def _tempo(bpm: float | None, measured: dict[str, Any] | None) -> tuple[float | None, str | None]:
    """(tempo, "source" | "measured") of an item, or (None, None) when neither is usable."""
    if bpm and MIN_TEMPO_BPM <= float(bpm) <= MAX_TEMPO_BPM:
        return float(bpm), "source"
    measured = measured if isinstance(measured, dict) else {}
    tempo = measured.get("tempo_bpm")
    if not measured.get("error") and tempo and MIN_TEMPO_BPM <= float(tempo) <= MAX_TEMPO_BPM:
        return float(tempo), "measured"
    return None, None


def _histogram(tempos: list[float]) -> list[dict[str, int]]:
    """Items per TEMPO_BIN_BPM bin, from the lowest to the highest bin holding a tempo."""
    bins = [int(t // TEMPO_BIN_BPM) for t in tempos]
    return [{"bpm_from": b * TEMPO_BIN_BPM, "bpm_to": (b + 1) * TEMPO_BIN_BPM, "items": bins.count(b)}
            for b in range(min(bins), max(bins) + 1)]


def _words(text: str) -> set[str]:
    return {w.strip("'") for w in _WORD.findall((text or "").lower())} - STOP_WORDS


class TrendPatterns:
    def __init__(self, ctx: "Context", *, music: "MusicService", clock: Callable[[], datetime] = utcnow) -> None:
        self.db = ctx.db
        self.music = music
        self.clock = clock

    def _genre_filter(self, genre: str | None):
        if not genre:
            return lambda row: True
        style = self.music.catalogue.find_style(genre)
        wanted = genre.strip().lower()

        def keep(row) -> bool:  # a row with scores and tags
            fitted = ((row.scores or {}).get("fit") or {}).get("style")
            if style is not None and fitted == style.id:
                return True
            return any(wanted in (tag or "").lower() for tag in row.tags or ())
        return keep

    def patterns(self, genre: str | None = None, timeframe_days: float = 30) -> dict[str, Any]:
        now = self.clock()
        start = now - timedelta(days=float(timeframe_days))
        keep = self._genre_filter(genre)
        with self.db.session() as s:
            # Only the columns used: parsing every item's stored scores would dominate the request.
            columns = [TrendItem.id, TrendItem.title, TrendItem.tags, TrendItem.published_at, TrendItem.first_rise_at,
                       TrendItem.duration_s, TrendItem.bpm, TrendItem.preview_analysis] + (
                           [TrendItem.scores] if genre else [])
            rising = [r for r in s.execute(select(*columns).where(TrendItem.first_rise_at >= start)).all() if keep(r)]
            rising_ids = {r.id for r in rising}
            baseline = [r for r in s.execute(select(TrendItem.id, TrendItem.title, TrendItem.tags)).all()
                        if r.id not in rising_ids]
            rows = [{"title": r.title, "tags": list(r.tags or []), "published_at": r.published_at,
                     "first_rise_at": r.first_rise_at, "duration_s": r.duration_s,
                     "tempo": _tempo(r.bpm, r.preview_analysis)} for r in rising]
            base_words = [_words(" ".join([r.title, *(r.tags or [])])) for r in baseline]
        reasons: dict[str, str] = {}
        patterns: dict[str, Any] = {}
        scope = f" for '{genre}'" if genre else ""
        none_reason = (f"no item{scope} rose within the last {timeframe_days:g} days (it takes two scans of a chart "
                       f"to see an item rise)")

        # when they rose
        moments = []
        for row in rows:
            published = row["published_at"]
            moments.append(published if published is not None and published >= start else row["first_rise_at"])
        if moments:
            hours = [0] * 24
            cells: dict[tuple[int, int], int] = {}
            days = {day: 0 for day in DAYS}
            for moment in moments:
                hours[moment.hour] += 1
                days[DAYS[moment.weekday()]] += 1
                cells[(moment.weekday(), moment.hour)] = cells.get((moment.weekday(), moment.hour), 0) + 1
            top_hours = sorted(range(24), key=lambda h: (-hours[h], h))[:TOP_HOURS]
            patterns["peak_hours"] = {
                "hours": [f"{h:02d}:00-{(h + 1) % 24:02d}:00" for h in top_hours if hours[h]],
                "counts": hours, "cells": [{"day": d, "hour": h, "count": n} for (d, h), n in sorted(cells.items())],
                "sample_size": len(moments), "timezone": "UTC"}
            top_days = sorted(DAYS, key=lambda d: (-days[d], DAYS.index(d)))[:TOP_DAYS]
            patterns["best_days"] = {"days": [d for d in top_days if days[d]], "counts": days,
                                     "sample_size": len(moments)}
        else:
            patterns["peak_hours"] = patterns["best_days"] = None
            reasons["peak_hours"] = reasons["best_days"] = none_reason

        # what they are called
        rising_words = [_words(" ".join([row["title"], *row["tags"]])) for row in rows]
        counts: dict[str, int] = {}
        for words in rising_words:
            for word in words:
                counts[word] = counts.get(word, 0) + 1
        base_counts: dict[str, int] = {}
        for words in base_words:
            for word in words:
                base_counts[word] = base_counts.get(word, 0) + 1
        keywords = []
        for word, count in counts.items():
            if count < MIN_KEYWORD_ITEMS:
                continue
            lift = (count / len(rows)) / ((base_counts.get(word, 0) + 1) / (len(base_words) + 1))
            keywords.append({"keyword": word, "count": count, "lift": round(lift, 2)})
        keywords.sort(key=lambda k: (-k["lift"], -k["count"], k["keyword"]))
        if keywords:
            patterns["trending_keywords"] = {"keywords": keywords[:TOP_KEYWORDS], "sample_size": len(rows),
                                             "baseline_size": len(base_words)}
        else:
            patterns["trending_keywords"] = None
            reasons["trending_keywords"] = (none_reason if not rows else
                                            f"no word appears in {MIN_KEYWORD_ITEMS} or more of the "
                                            f"{len(rows)} rising items")

        # how long and how fast
        tempos = [row["tempo"] for row in rows if row["tempo"][0] is not None]
        measured = sum(1 for _, origin in tempos if origin == "measured")
        tempo_basis = (f"{len(tempos) - measured} from the source's bpm, {measured} measured from the 30 s Deezer "
                       f"preview (when the source gives none)")
        for name, values, unit, word in (
                ("optimal_duration", [float(row["duration_s"]) for row in rows if row["duration_s"]], "seconds",
                 "a known duration from its source"),
                ("tempo_range", [t for t, _ in tempos], "BPM",
                 "a tempo (from its source, or measured on its Deezer preview)")):
            if values:
                low, median, high = _quartiles(values)
                patterns[name] = {"range": f"{low:.0f}-{high:.0f} {unit}", "min": round(low, 1),
                                  "max": round(high, 1), "median": round(median, 1), "sample_size": len(values)}
            else:
                patterns[name] = None
                reasons[name] = none_reason if not rows else f"none of the {len(rows)} rising items has {word}"
        if tempos:
            patterns["tempo_range"]["basis"] = tempo_basis
            patterns["tempo_histogram"] = {
                "bins": _histogram([t for t, _ in tempos]), "bin_bpm": TEMPO_BIN_BPM, "sample_size": len(tempos),
                "from_source": len(tempos) - measured, "measured": measured,
                "basis": f"rising items per {TEMPO_BIN_BPM}-BPM bin; {tempo_basis}"}
        else:
            patterns["tempo_histogram"] = None
            reasons["tempo_histogram"] = reasons["tempo_range"]
        patterns["success_factors"] = None
        reasons["success_factors"] = ("needs performance data of answered tracks (views, engagement), and none is "
                                      "imported or connected yet")
        return {"patterns": patterns, "reasons": reasons, "rising_items": len(rows), "timezone": "UTC",
                "basis": "items first seen rising (count growth or rank velocity above 0) within the timeframe; "
                         "ranges are the 25th-75th percentiles"}
