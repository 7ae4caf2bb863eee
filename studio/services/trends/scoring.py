"""How a trend is scored: pure functions on an item's stored snapshots. Every result carries the
text of how it was reached (`basis`, shown in the GUI as "why this score") or, when it cannot be
computed, `None` and a `reason`. No figure comes from anywhere but the snapshots given.

A snapshot (`Snap`) is one item on one chart at one scan. A *series* is one item's snapshots on
one chart (source + chart), oldest first; "the two latest scans" are the series' last two.

growth_rate (`growth_rate`)
    The change per hour of the item's own count between its two latest scans of the same chart:
    (m2 - m1) / hours, with the metric taken in this order: views > playcount > listeners >
    streams (the first one both scans carry; the newest such series wins). Unit "<metric>/h".
    `relative_per_h` = (m2 - m1) / m1 / hours (null when m1 is 0).
    Sources without counts: the rank velocity instead (below), unit "positions/h".
    Otherwise null: "needs two scans of the same chart" (one so far) or "no counts and no rank".

rank velocity (`rank_velocity`)
    (previous rank - latest rank) / hours between the two latest scans of the best-ranked series;
    positive = rising (it moved up the chart).

viral_score (`viral_score`), 0-100
    100 x sum(w_i x c_i) / sum(w_i) over the components that can be computed, so the weights of
    missing ones are shared out in proportion to the others. Components, each in 0..1:
    - rank (w 0.40): best position within its chart over the latest snapshot of each series,
      1 - (rank - 1) / chart_size (#1 = 1.0, last = 1/chart_size).
    - rank_velocity (w 0.25): 0.5 + v x 24 / chart_size, clamped to 0..1: the share of the chart
      climbed per day around 0.5 (steady 0.5; climbing half the chart in a day or more = 1.0).
    - growth (w 0.20): relative growth per day (relative_per_h x 24) / 0.5, clamped to 0..1
      (+50 % of its count in a day or more = 1.0; shrinking = 0).
    - breadth (w 0.15): min(sources, 3) / 3, the number of sources carrying the item.
    The breakdown lists each component's value, effective weight, points (100 x weight x value)
    and basis, or its reason when missing.

opportunity_level (`opportunity_level`)
    points = viral_score x (0.5 + 0.5 x fit), where fit says how well the item fits a style this
    studio makes (`style_fit`): 1.0 when one of its tags/genres names a studio style (the sources'
    tags first, then the tags the studio's tagger measured on its Deezer preview with a
    probability of at least 0.2), 0.5 when only a title word does, 0 otherwise. HIGH at 60 points
    or more, MEDIUM at 35 or more, else LOW (so an item no studio style fits is at most MEDIUM).

expiry (`expiry`)
    From observed decay, the count's first:
    - growth decay: in a series with three scans carrying the metric, the growth per hour of the
      two latest intervals g1 (older) and g2 (newer). When 0 < g2 < g1 the growth slows by
      (g1 - g2) / (hours between the intervals' midpoints) per hour; expires_at = latest scan +
      g2 / that slowdown (when growth reaches zero).
    - rank decay: in the best-ranked series, when the latest rank is below the series' best rank
      and not rising since the scan before, the fall is (latest - best) / hours since the best
      scan positions per hour; expires_at = latest scan + (chart_size + 1 - latest) / fall (when
      it drops off the chart).
    time_sensitive = expires_at is within 72 hours of now. Neither observed: both null + reason.

suggested response (`suggest`)
    style = the fitted studio style; mood = a tag or title word naming one of the studio's moods;
    tempo = the source's bpm when it knows it (40-240), else the tempo the studio measured on the
    item's 30 s Deezer preview (40-240, shown with its confidence); duration = the item's duration clamped
    to 1 s .. the engine's longest track. Unknown fields are null with a reason; the readable
    prompt says the same in words.

estimated_revenue is always null for now: "no revenue data imported or connected yet".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from studio.services.trends.common import NO_REVENUE, hours_between

METRICS = ("views", "playcount", "listeners", "streams")  # growth metric, most telling first
WEIGHTS = {"rank": 0.40, "rank_velocity": 0.25, "growth": 0.20, "breadth": 0.15}
BREADTH_FULL = 3  # sources for a full breadth component
GROWTH_FULL_PER_DAY = 0.5  # relative growth per day that makes a full growth component
TIME_SENSITIVE_H = 72.0
# Two scans closer than this say nothing about a trend ("Scan now" twice gives thousands of
# positions per hour): growth and rank velocity compare the latest scan with the newest one at
# least this much older.
MIN_INTERVAL_H = 10 / 60
OPPORTUNITY_HIGH, OPPORTUNITY_MEDIUM = 60.0, 35.0
MIN_TEMPO_BPM, MAX_TEMPO_BPM = 40.0, 240.0
MIN_DURATION_S = 1.0
MEASURED_TAG_MIN_P = 0.2  # a tagger tag of the preview counts for the style fit from this probability

FORMULA = ("viral_score = 100 x sum(weight x component) / sum(weights of the components known); "
           "components 0..1: rank 1-(rank-1)/chart_size (w 0.40), rank velocity 0.5+positions/h x 24/chart_size "
           "(w 0.25), growth relative growth per day / 0.5 (w 0.20), breadth min(sources,3)/3 (w 0.15)")


@dataclass(frozen=True)
class Snap:
    """One item on one chart at one scan (a stored trend_snapshots row)."""

    source: str
    chart: str
    scanned_at: datetime
    rank: int | None = None
    chart_size: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)


def series(snaps: Iterable[Snap]) -> dict[tuple[str, str], list[Snap]]:
    """(source, chart) -> that chart's snapshots of the item, oldest first."""
    out: dict[tuple[str, str], list[Snap]] = {}
    for snap in snaps:
        out.setdefault((snap.source, snap.chart), []).append(snap)
    for items in out.values():
        items.sort(key=lambda s: s.scanned_at)
    return out


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def _size(snap: Snap) -> int | None:
    """The chart's size, at least the rank itself (an import may not say how long its list is)."""
    if snap.rank is None:
        return None
    return max(int(snap.chart_size or 0), int(snap.rank))


def rank_position(snaps: Iterable[Snap]) -> dict[str, Any]:
    """The best position within its chart: 1 - (rank - 1) / chart_size over each series' latest
    ranked snapshot. {value, rank, chart_size, source, chart, basis} or {value None, reason}."""
    best: dict[str, Any] | None = None
    for (source, chart), items in series(snaps).items():
        ranked = [s for s in items if s.rank is not None]
        if not ranked:
            continue
        last = ranked[-1]
        size = _size(last)
        value = 1.0 - (last.rank - 1) / size
        if best is None or value > best["value"]:
            best = {"value": value, "rank": last.rank, "chart_size": size, "source": source, "chart": chart,
                    "scanned_at": last.scanned_at,
                    "basis": f"#{last.rank} of {size} on {chart}: 1 - ({last.rank} - 1) / {size} = {value:.3f}"}
    if best is None:
        return {"value": None, "reason": "no source ranks this item (a feed without an order)"}
    return best


def _best_ranked_series(snaps: Iterable[Snap]) -> tuple[tuple[str, str], list[Snap]] | None:
    """The series whose latest rank is best (relative to its chart), with at least two ranked scans."""
    best = None
    for key, items in series(snaps).items():
        ranked = [s for s in items if s.rank is not None]
        if len(ranked) < 2:
            continue
        value = 1.0 - (ranked[-1].rank - 1) / _size(ranked[-1])
        if best is None or value > best[0]:
            best = (value, key, ranked)
    return (best[1], best[2]) if best else None


def _pair(items: list[Snap]) -> tuple[Snap, Snap] | None:
    """(previous, latest) of a series oldest-first: the latest scan and the newest scan at least
    MIN_INTERVAL_H before it; None when there is none."""
    last = items[-1]
    for prev in reversed(items[:-1]):
        if hours_between(prev.scanned_at, last.scanned_at) >= MIN_INTERVAL_H:
            return prev, last
    return None


def rank_velocity(snaps: Iterable[Snap]) -> dict[str, Any]:
    """Positions per hour between the two latest scans of the best-ranked series (positive =
    rising). {value, chart, chart_size, basis} or {value None, reason}."""
    snaps = list(snaps)
    found = _best_ranked_series(snaps)
    if found is None:
        ranked = [s for s in snaps if s.rank is not None]
        reason = ("needs two scans of the same chart; one so far" if ranked
                  else "no source ranks this item")
        return {"value": None, "reason": reason}
    (_source, chart), ranked = found
    pair = _pair(ranked)
    if pair is None:
        return {"value": None, "reason": f"needs two scans of its chart at least {MIN_INTERVAL_H * 60:.0f} minutes apart"}
    prev, last = pair
    hours = hours_between(prev.scanned_at, last.scanned_at)
    value = (prev.rank - last.rank) / hours
    return {"value": value, "chart": chart, "chart_size": _size(last),
            "basis": f"#{prev.rank} -> #{last.rank} on {chart} over {hours:.2f} h = {value:+.2f} positions/h"}


def _metric_pair(snaps: Iterable[Snap]) -> tuple[str, str, Snap, Snap] | None:
    """(metric, chart, previous, latest): the first metric (in METRICS order) that the two latest
    scans of some series both carry; the newest such series wins."""
    groups = series(snaps)
    for metric in METRICS:
        best = None
        for (_source, chart), items in groups.items():
            carrying = [s for s in items if isinstance(s.metrics.get(metric), (int, float))]
            pair = _pair(carrying) if len(carrying) >= 2 else None
            if pair is not None and (best is None or pair[1].scanned_at > best[3].scanned_at):
                best = (metric, chart, *pair)
        if best is not None:
            return best
    return None


def growth_rate(snaps: Iterable[Snap]) -> dict[str, Any]:
    """{value, unit, kind ("metric" | "rank_velocity"), metric, relative_per_h, basis} or
    {value None, reason}. See the module docstring for the formula."""
    snaps = list(snaps)
    pair = _metric_pair(snaps)
    if pair is not None:
        metric, chart, prev, last = pair
        hours = hours_between(prev.scanned_at, last.scanned_at)
        if hours > 0:
            m1, m2 = float(prev.metrics[metric]), float(last.metrics[metric])
            value = (m2 - m1) / hours
            relative = (m2 - m1) / m1 / hours if m1 > 0 else None
            return {"value": value, "unit": f"{metric}/h", "kind": "metric", "metric": metric,
                    "relative_per_h": relative,
                    "basis": f"{metric} {_fmt(m1)} -> {_fmt(m2)} on {chart} over {hours:.2f} h "
                             f"= {value:+,.1f} {metric}/h"}
    velocity = rank_velocity(snaps)
    if velocity["value"] is not None:
        return {"value": velocity["value"], "unit": "positions/h", "kind": "rank_velocity", "metric": None,
                "relative_per_h": None,
                "basis": f"no counts from its sources, so rank velocity: {velocity['basis']} (positive = rising)"}
    has_counts = any(any(isinstance(s.metrics.get(m), (int, float)) for m in METRICS) for s in snaps)
    if has_counts or any(s.rank is not None for s in snaps):
        reason = "needs two scans of the same chart; one so far"
    else:
        reason = "its sources give neither counts nor a rank"
    return {"value": None, "unit": None, "kind": None, "metric": None, "relative_per_h": None, "reason": reason}


def viral_score(snaps: Iterable[Snap], *, sources: int | None = None) -> dict[str, Any]:
    """{value (0-100, 1 decimal), components {name: {value, weight, points, basis | reason}},
    formula, basis}. `sources` overrides the breadth count (default: sources in `snaps`)."""
    snaps = list(snaps)
    components: dict[str, dict[str, Any]] = {}
    position = rank_position(snaps)
    if position["value"] is not None:
        components["rank"] = {"value": position["value"], "basis": position["basis"]}
    else:
        components["rank"] = {"value": None, "reason": position["reason"]}
    velocity = rank_velocity(snaps)
    if velocity["value"] is not None:
        climbed = velocity["value"] * 24 / velocity["chart_size"]
        value = _clamp(0.5 + climbed)
        components["rank_velocity"] = {
            "value": value, "basis": f"{velocity['basis']}; 0.5 + {velocity['value']:+.2f} x 24 / "
                                     f"{velocity['chart_size']} = {value:.3f}"}
    else:
        components["rank_velocity"] = {"value": None, "reason": velocity["reason"]}
    growth = growth_rate(snaps)
    if growth["kind"] == "metric" and growth["relative_per_h"] is not None:
        per_day = growth["relative_per_h"] * 24
        value = _clamp(per_day / GROWTH_FULL_PER_DAY)
        components["growth"] = {"value": value,
                                "basis": f"{growth['basis']}; {per_day * 100:+.1f} % a day / 50 % = {value:.3f}"}
    elif growth["kind"] == "metric":
        components["growth"] = {"value": None, "reason": "its count was 0 at the earlier scan: no relative growth"}
    elif growth["kind"] == "rank_velocity":
        components["growth"] = {"value": None, "reason": "its sources give no counts (rank velocity covers it)"}
    else:
        components["growth"] = {"value": None, "reason": growth["reason"]}
    count = sources if sources is not None else len({s.source for s in snaps})
    breadth = min(count, BREADTH_FULL) / BREADTH_FULL
    components["breadth"] = {"value": breadth, "basis": f"{count} source{'s' if count != 1 else ''} carry it: "
                                                        f"min({count}, {BREADTH_FULL}) / {BREADTH_FULL} = {breadth:.3f}"}
    known = sum(WEIGHTS[name] for name, part in components.items() if part["value"] is not None)
    total = 0.0
    for name, part in components.items():
        if part["value"] is None:
            part["weight"], part["points"] = 0.0, None
            continue
        part["weight"] = round(WEIGHTS[name] / known, 4)
        part["points"] = round(100 * WEIGHTS[name] / known * part["value"], 2)
        total += WEIGHTS[name] * part["value"]
        part["value"] = round(part["value"], 4)
    value = round(100 * total / known, 1) if known else None
    missing = [name for name, part in components.items() if part["value"] is None]
    basis = FORMULA + (f"; missing {', '.join(missing)}: their weight is shared by the others" if missing else "")
    return {"value": value, "components": components, "formula": FORMULA, "basis": basis}


# --- style fit, opportunity ------------------------------------------------------------------------
_SPLIT_TAG = re.compile(r"\s*[/,;|]\s*")
_WORD = re.compile(r"[^\W_]+(?:[-'&][^\W_]+)*", re.UNICODE)


def _tag_candidates(tags: Iterable[str]) -> list[str]:
    out = []
    for tag in tags:
        tag = (tag or "").strip()
        if tag:
            out.append(tag)
            out.extend(part for part in _SPLIT_TAG.split(tag) if part and part != tag)
    return out


def _title_phrases(title: str) -> list[str]:
    """Word runs of the title, longest first (three words, two, one)."""
    words = _WORD.findall(title or "")
    phrases = []
    for n in (3, 2, 1):
        phrases.extend(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
    return phrases


def style_fit(tags: Iterable[str], title: str, find_style: Callable[[str], Any], *,
              measured_tags: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """{fit (1.0 tag, 0.5 title word, 0.0 none), style (id | None), style_name, matched, basis}.
    `find_style(text)` is the music catalogue's style lookup (a Style or None); `measured_tags`
    the preview analysis's [{tag, probability}] (used after the sources' own tags)."""
    for tag in _tag_candidates(tags):
        style = find_style(tag)
        if style is not None:
            return {"fit": 1.0, "style": style.id, "style_name": style.name, "matched": tag,
                    "basis": f"its tag \"{tag}\" names the studio style {style.name}: fit 1.0"}
    for measured in measured_tags:
        tag, probability = measured.get("tag"), measured.get("probability") or 0.0
        style = find_style(tag) if tag and probability >= MEASURED_TAG_MIN_P else None
        if style is not None:
            return {"fit": 1.0, "style": style.id, "style_name": style.name, "matched": tag,
                    "basis": f"the tag \"{tag}\" measured on its 30 s Deezer preview (probability "
                             f"{probability:.2f}) names the studio style {style.name}: fit 1.0"}
    for phrase in _title_phrases(title):
        style = find_style(phrase)
        if style is not None:
            return {"fit": 0.5, "style": style.id, "style_name": style.name, "matched": phrase,
                    "basis": f"the title word \"{phrase}\" names the studio style {style.name}: fit 0.5"}
    return {"fit": 0.0, "style": None, "style_name": None, "matched": None,
            "basis": "none of its tags or title words names a style the studio makes: fit 0"}


def opportunity_level(score: float | None, fit: float) -> dict[str, Any]:
    """{value (HIGH | MEDIUM | LOW | None), points, basis}: points = score x (0.5 + 0.5 x fit)."""
    if score is None:
        return {"value": None, "points": None, "reason": "no viral score yet"}
    points = score * (0.5 + 0.5 * fit)
    level = "HIGH" if points >= OPPORTUNITY_HIGH else "MEDIUM" if points >= OPPORTUNITY_MEDIUM else "LOW"
    return {"value": level, "points": round(points, 1),
            "basis": f"{score:.1f} x (0.5 + 0.5 x fit {fit:g}) = {points:.1f} points "
                     f"(HIGH >= {OPPORTUNITY_HIGH:g}, MEDIUM >= {OPPORTUNITY_MEDIUM:g})"}


# --- expiry --------------------------------------------------------------------------------------
def _growth_decay(snaps: list[Snap]) -> dict[str, Any] | None:
    groups = series(snaps)
    for metric in METRICS:
        for (_source, chart), items in groups.items():
            carrying = [s for s in items if isinstance(s.metrics.get(metric), (int, float))]
            if len(carrying) < 3:
                continue
            a, b, c = carrying[-3:]
            h1, h2 = hours_between(a.scanned_at, b.scanned_at), hours_between(b.scanned_at, c.scanned_at)
            if h1 <= 0 or h2 <= 0:
                continue
            g1 = (b.metrics[metric] - a.metrics[metric]) / h1
            g2 = (c.metrics[metric] - b.metrics[metric]) / h2
            if not 0 < g2 < g1:
                return {"expires_at": None,
                        "reason": f"{metric} growth on {chart} is not slowing ({g1:+,.1f} then {g2:+,.1f} {metric}/h)"}
            slowdown = (g1 - g2) / ((h1 + h2) / 2)
            hours_left = g2 / slowdown
            return {"expires_at": c.scanned_at + timedelta(hours=hours_left),
                    "basis": f"{metric} growth on {chart} slowed from {g1:+,.1f} to {g2:+,.1f} {metric}/h, "
                             f"by {slowdown:,.2f} per hour: it reaches zero {hours_left:.1f} h after the latest scan"}
    return None


def _rank_decay(snaps: list[Snap]) -> dict[str, Any] | None:
    found = _best_ranked_series(snaps)
    if found is None:
        return None
    (_source, chart), ranked = found
    best = min(ranked, key=lambda s: (s.rank, -s.scanned_at.timestamp()))
    prev, last = ranked[-2], ranked[-1]
    if last.rank <= best.rank or last.rank < prev.rank:
        return {"expires_at": None,
                "reason": f"its rank on {chart} is not falling (best #{best.rank}, now #{last.rank})"}
    hours = hours_between(best.scanned_at, last.scanned_at)
    if hours <= 0:
        return None
    fall = (last.rank - best.rank) / hours
    size = _size(last)
    hours_left = (size + 1 - last.rank) / fall
    return {"expires_at": last.scanned_at + timedelta(hours=hours_left),
            "basis": f"on {chart} it fell from #{best.rank} to #{last.rank} in {hours:.1f} h ({fall:.2f} positions/h): "
                     f"{size + 1 - last.rank} positions to leave the chart of {size} take {hours_left:.1f} h"}


def expiry(snaps: Iterable[Snap], now: datetime) -> dict[str, Any]:
    """{time_sensitive, expires_at (datetime | None), basis | reason}; see the module docstring."""
    snaps = list(snaps)
    reasons = []
    for decay in (_growth_decay(snaps), _rank_decay(snaps)):
        if decay is None:
            continue
        if decay["expires_at"] is not None:
            expires = decay["expires_at"]
            sensitive = expires - now <= timedelta(hours=TIME_SENSITIVE_H)
            return {"time_sensitive": sensitive, "expires_at": expires,
                    "basis": decay["basis"] + f"; time sensitive when that is within {TIME_SENSITIVE_H:g} h"}
        reasons.append(decay["reason"])
    reason = "; ".join(reasons) if reasons else "needs more scans to observe a decay (two of a ranked chart, " \
                                                "or three with counts)"
    return {"time_sensitive": None, "expires_at": None, "reason": f"no decay observed: {reason}"}


# --- the suggested response ------------------------------------------------------------------------
def find_mood(tags: Iterable[str], title: str, moods: Iterable[str]) -> tuple[str | None, str | None]:
    """(mood id, the tag or title word naming it) or (None, None)."""
    known = {m.lower(): m for m in moods}
    for text in [*_tag_candidates(tags), *_WORD.findall(title or "")]:
        mood = known.get(text.strip().lower())
        if mood:
            return mood, text
    return None, None


def suggest(item: dict[str, Any], fit: dict[str, Any], *, moods: Iterable[str], max_duration_s: float
            ) -> dict[str, Any]:
    """{suggested_response (readable prompt), suggested_spec {prompt, style, mood, tempo, duration},
    reasons {field: why null}, basis}. `item` has title, artist, tags, bpm, duration_s and
    optionally `sources` and `measured` (the preview analysis: tempo_bpm, tempo_confidence, or error)."""
    reasons: dict[str, str] = {}
    title, artist = item.get("title") or "", item.get("artist")
    style = fit.get("style")
    if style is None:
        reasons["suggested_spec.style"] = "none of its tags or title words names a studio style: the prompt decides"
    mood, mood_word = find_mood(item.get("tags") or (), title, moods)
    if mood is None:
        reasons["suggested_spec.mood"] = "no tag or title word names one of the studio's moods: the style decides"
    bpm = item.get("bpm")
    tempo = round(float(bpm), 1) if bpm and MIN_TEMPO_BPM <= float(bpm) <= MAX_TEMPO_BPM else None
    tempo_basis = f"tempo from the source's bpm {bpm}" if tempo is not None else None
    measured = item.get("measured") or {}
    measured_bpm = measured.get("tempo_bpm")
    if tempo is None and measured_bpm and MIN_TEMPO_BPM <= float(measured_bpm) <= MAX_TEMPO_BPM:
        tempo = round(float(measured_bpm), 1)
        confidence = measured.get("tempo_confidence")
        tempo_basis = ("tempo measured from the 30 s Deezer preview (confidence "
                       f"{'unknown' if confidence is None else format(float(confidence), '.2f')})")
    if tempo is None:
        reason = ("its source gives no tempo (Deezer sends 0 when it does not know)"
                  if not bpm else f"the source's bpm {bpm} is outside 40-240")
        if measured.get("error"):
            reason += f"; its preview could not be measured: {measured['error']}"
        elif measured_bpm:
            reason += f"; the tempo measured on its preview, {float(measured_bpm):g}, is outside 40-240"
        elif not measured and "deezer" in (item.get("sources") or ()):
            reason += "; its Deezer preview was not measured (the Deezer source's analyse_previews setting)"
        reasons["suggested_spec.tempo"] = reason
    duration_s = item.get("duration_s")
    duration = round(min(max(float(duration_s), MIN_DURATION_S), float(max_duration_s)), 1) if duration_s else None
    if duration is None:
        reasons["suggested_spec.duration"] = "its source gives no duration: the studio's default length applies"
    who = f" by {artist}" if artist else ""
    words = [mood, fit.get("style_name") or "track"]
    lead = " ".join(w for w in words if w)
    prompt = f"{lead[:1].upper()}{lead[1:]} answering \"{title}\"{who}"
    details = []
    if tempo is not None:
        details.append(f"{tempo:g} BPM")
    if duration is not None:
        minutes, seconds = divmod(int(round(duration)), 60)
        details.append(f"about {minutes}:{seconds:02d} long")
    if details:
        prompt += ", " + ", ".join(details)
    spec = {"prompt": prompt, "style": style, "mood": mood, "tempo": tempo, "duration": duration}
    basis = [fit.get("basis") or ""]
    if mood:
        basis.append(f"mood {mood} from \"{mood_word}\"")
    if tempo_basis is not None:
        basis.append(tempo_basis)
    if duration is not None:
        basis.append(f"duration from the item's {float(duration_s):.0f} s"
                     + (f", clamped to {max_duration_s:g} s" if float(duration_s) > max_duration_s else ""))
    return {"suggested_response": prompt, "suggested_spec": spec, "reasons": reasons,
            "basis": "; ".join(b for b in basis if b)}


def revenue() -> dict[str, Any]:
    """Estimated revenue needs the user's own revenue data; none can be imported or connected yet."""
    return {"value": None, "reason": NO_REVENUE}
