"""Scanning: read the enabled sources at once, store a snapshot per item, match items across
sources, score them, announce the new ones.

Built by the trends entry object as `TrendScanner(ctx, sources=..., catalog=..., previews=None,
clock=utcnow)` (`previews`: previews.py, measuring Deezer previews where the user allows it).

Public API:
- `async scan(names: list[str] | None = None) -> {"scanned": [names read], "errors": {name: reason},
  "skipped": {name: reason} (named but disabled), "new_items": n, "items": snapshots stored,
  "detected": [trend ids announced], "scan_time": iso, "retention": {"snapshots_deleted",
  "items_deleted"}, "previews": {"analysed", "failed", "skipped"} (only when Deezer was read with
  analyse_previews on)}`.
  `names` None = every enabled source; an unknown name raises UnknownSource.
  Sources are read concurrently (`sources.fetch`); one failing source is marked `error` with its
  reason and the others are still stored. One scan at a time (a second call waits). After
  storing a Deezer scan, up to 10 of its previews are measured (previews.py) before scoring, so
  the scores and the announcement already use the measured tempo; a failure there is logged
  and the scan stands.
- `ingest(entries, *, source, scanned_at, imported_from=None) -> (touched ids, new ids)`: store
  entries as snapshots of `source` (imports use it too).
- `enforce_youtube_retention(now) -> {"snapshots_deleted", "items_deleted"}`: YouTube API data
  must be refreshed or deleted within 30 days: YouTube snapshots older than 30 days are deleted,
  and so are items only YouTube carried that no scan refreshed for 30 days. Run at every scan.
- `threshold() -> float`: the alert threshold (the monitor row's, else 70).

Matching an entry to a stored item, first hit wins: the same source's platform id seen before
(`source_item_id`), then the ISRC, then the normalised "artist - title" (common.match_key; a
video title "Artist - Title (Official Video)" is read as artist and title first).

Events: `trend_detected` (data = the trend dict of catalog.py) for each item new in this scan
whose viral_score is at least the threshold, best first; then `trends_scanned` (the scan's
summary without the id list).

Threads: a scan's storing (`ingest`, the YouTube rule) and scoring (`catalog.rescore`, building
the trends to announce) run in a worker thread (`off_loop`), each with its own sessions, one such
step at a time (scans and imports share the turn, so two never match the same new song twice).
DESIGN.md has job results written on the loop; a scan is not a job: its write is a few short
transactions, but reading and scoring ~150 snapshots for each of a thousand items takes seconds
and would freeze the window and the API. The events are published from the loop once the step is
back (the event bus calls its subscribers, Qt and WebSocket ones too, on the publishing thread).
The preview step stays on the loop between the two (it awaits the network and analyses in its own
worker thread).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import delete, select

from studio.connectors.charts import ChartEntry, SourceError
from studio.db.models import TrendItem, TrendMonitorState, TrendSnapshot
from studio.db.store import new_id
from studio.services.trends.common import (
    DEFAULT_ALERT_THRESHOLD,
    YOUTUBE_RETENTION_DAYS,
    match_key,
    split_video_title,
)
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.trends.catalog import TrendCatalog
    from studio.services.trends.previews import TrendPreviews
    from studio.services.trends.sources import TrendSources

log = logging.getLogger(__name__)

PREVIEWS_TIMEOUT_S = 180.0  # the whole preview step of one scan (10 fetches and analyses)
FETCH_TIMEOUT_S = 300.0  # a whole source (Deezer details included); the clients time out each request sooner
MAX_TAGS = 20
VIDEO_SOURCES = ("youtube",)


def _is_video(source: str) -> bool:
    return source in VIDEO_SOURCES or source.startswith("feed:")


class TrendScanner:
    def __init__(self, ctx: "Context", *, sources: "TrendSources", catalog: "TrendCatalog",
                 previews: "TrendPreviews | None" = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = ctx.db
        self.events = ctx.events
        self.sources = sources
        self.catalog = catalog
        self.previews = previews
        self.clock = clock
        self._lock: asyncio.Lock | None = None
        self._writing: asyncio.Lock | None = None

    def threshold(self) -> float:
        with self.db.session() as s:
            row = s.get(TrendMonitorState, 1)
            return float(row.threshold) if row is not None and row.threshold is not None else DEFAULT_ALERT_THRESHOLD

    async def off_loop(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)` in a worker thread, one at a time: the store/score steps of scans and imports."""
        if self._writing is None:
            self._writing = asyncio.Lock()
        async with self._writing:
            step = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
            try:
                return await asyncio.shield(step)
            except asyncio.CancelledError:
                await asyncio.wait([step])  # a thread cannot be stopped: keep the turn until it ends
                raise

    # --- scanning --------------------------------------------------------------------------------
    async def scan(self, names: list[str] | None = None) -> dict[str, Any]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            return await self._scan(names)

    async def _scan(self, names: list[str] | None) -> dict[str, Any]:
        known = self.sources.names()
        skipped: dict[str, str] = {}
        if names is None:
            wanted = [name for name in known if self.sources.is_enabled(name)]
        else:
            wanted = []
            for name in dict.fromkeys(names):
                if name not in known:
                    from studio.services.trends.common import UnknownSource

                    raise UnknownSource(name)
                if self.sources.is_enabled(name):
                    wanted.append(name)
                else:
                    skipped[name] = "the source is disabled: enable it first (no network until then)"
        for name in wanted:
            self.sources.mark_scanning(name)

        async def read(name: str) -> list["ChartEntry"]:
            return await asyncio.wait_for(self.sources.fetch(name), FETCH_TIMEOUT_S)

        results = await asyncio.gather(*(read(name) for name in wanted), return_exceptions=True)
        scan_time = self.clock()
        errors: dict[str, str] = {}
        scanned: list[str] = []
        touched: list[str] = []
        new: list[str] = []
        stored = 0
        deezer: list["ChartEntry"] | None = None
        for name, result in zip(wanted, results):
            if isinstance(result, BaseException):
                if isinstance(result, SourceError):
                    reason = result.reason
                elif isinstance(result, asyncio.TimeoutError):
                    reason = f"no answer within {FETCH_TIMEOUT_S:g} s"
                elif isinstance(result, asyncio.CancelledError):
                    raise result
                else:  # the type only: an exception's text may carry a URL with a key
                    reason = f"unexpected error ({type(result).__name__})"
                    log.warning("trend source %s failed: %s", name, type(result).__name__)
                errors[name] = reason
                self.sources.record_scan(name, at=scan_time, error=reason)
                continue
            ids, created = await self.off_loop(self.ingest, result, source=name, scanned_at=scan_time)
            if name == "deezer":
                deezer = result
            touched.extend(ids)
            new.extend(created)
            stored += len(result)
            scanned.append(name)
            self.sources.record_scan(name, at=scan_time, items=len(result))
        retention = await self.off_loop(self.enforce_youtube_retention, scan_time)
        previews = await self._analyse_previews(deezer, scan_time) if deezer is not None else None
        new = [item_id for item_id in dict.fromkeys(new)]
        announce = await self.off_loop(self._score, touched, new, scan_time)
        for trend in announce:  # on the loop: the subscribers expect its thread
            self.events.publish("trend_detected", trend)
        detected = [trend["id"] for trend in announce]
        summary = {"scanned": scanned, "errors": errors, "skipped": skipped, "new_items": len(new),
                   "items": stored, "detected": detected, "scan_time": iso(scan_time), "retention": retention}
        if previews is not None:
            summary["previews"] = previews
        self.events.publish("trends_scanned", {k: v for k, v in summary.items() if k != "detected"}
                            | {"detected": len(detected)})
        return summary

    async def _analyse_previews(self, entries: list["ChartEntry"], scan_time: datetime) -> dict[str, Any] | None:
        """The Deezer preview step (previews.py); whatever goes wrong there leaves the scan as stored."""
        if self.previews is None or not self.previews.allowed():
            return None
        try:
            return await asyncio.wait_for(self.previews.analyse_scan(entries, scan_time), PREVIEWS_TIMEOUT_S)
        except asyncio.TimeoutError:
            log.warning("deezer preview analysis stopped after %g s", PREVIEWS_TIMEOUT_S)
            return {"analysed": None, "failed": None, "skipped": f"stopped after {PREVIEWS_TIMEOUT_S:g} s"}
        except Exception as exc:  # noqa: BLE001 - the type only, as for a failing source
            log.warning("deezer preview analysis failed: %s", type(exc).__name__)
            return {"analysed": None, "failed": None, "skipped": f"unexpected error ({type(exc).__name__})"}

    def _score(self, touched: list[str], new_ids: list[str], scan_time: datetime) -> list[dict[str, Any]]:
        """Blocking (a worker thread): score the touched items; the trends to announce, best first."""
        scores = self.catalog.rescore(touched, scan_time)
        threshold = self.threshold()
        chosen = sorted((i for i in new_ids if scores.get(i) is not None and scores[i] >= threshold),
                        key=lambda i: -scores[i])
        announce = []
        for item_id in chosen:
            try:
                trend = self.catalog.trend(item_id)
            except KeyError:  # deleted meanwhile
                continue
            trend.pop("history", None)
            announce.append(trend)
        return announce

    # --- storing -----------------------------------------------------------------------------------
    def ingest(self, entries: Iterable["ChartEntry"], *, source: str, scanned_at: datetime,
               imported_from: str | None = None) -> tuple[list[str], list[str]]:
        """Store `entries` as `source`'s snapshots at `scanned_at`; returns (touched ids, new ids)."""
        entries = [e for e in entries if (e.title or "").strip()]
        if not entries:
            return [], []
        sizes: dict[str, int] = {}
        for entry in entries:
            sizes[entry.chart] = sizes.get(entry.chart, 0) + 1
        for entry in entries:
            if entry.rank is not None:
                sizes[entry.chart] = max(sizes[entry.chart], int(entry.rank))
        video = _is_video(source)
        parsed = []
        for entry in entries:
            title, artist = split_video_title(entry.title, entry.artist) if video else (entry.title, entry.artist)
            parsed.append((entry, title.strip(), (artist or "").strip() or None, match_key(title, artist)))
        touched: list[str] = []
        created: list[str] = []
        with self.db.session() as s:
            platform_ids = [e.item_id for e, *_ in parsed if e.item_id]
            by_platform: dict[str, str] = {}
            for chunk_start in range(0, len(platform_ids), 500):
                chunk = platform_ids[chunk_start:chunk_start + 500]
                for pid, item_id in s.execute(select(TrendSnapshot.source_item_id, TrendSnapshot.item_id).where(
                        TrendSnapshot.source == source, TrendSnapshot.source_item_id.in_(chunk)).distinct()):
                    by_platform[pid] = item_id
            isrcs = sorted({e.isrc.upper() for e, *_ in parsed if e.isrc})
            keys = sorted({key for *_, key in parsed})
            items: dict[str, TrendItem] = {}
            by_isrc: dict[str, TrendItem] = {}
            by_key: dict[str, TrendItem] = {}
            wanted_ids = set(by_platform.values())
            for row in s.scalars(select(TrendItem).where(TrendItem.id.in_(wanted_ids))).all() if wanted_ids else ():
                items[row.id] = row
            for row in s.scalars(select(TrendItem).where(TrendItem.isrc.in_(isrcs))).all() if isrcs else ():
                items[row.id] = row
                by_isrc.setdefault(row.isrc.upper(), row)
            for start in range(0, len(keys), 500):
                for row in s.scalars(select(TrendItem).where(TrendItem.match_key.in_(keys[start:start + 500]))).all():
                    items[row.id] = row
                    by_key.setdefault(row.match_key, row)
            for entry, title, artist, key in parsed:
                isrc = entry.isrc.upper() if entry.isrc else None
                row = (items.get(by_platform.get(entry.item_id, "")) or (by_isrc.get(isrc) if isrc else None)
                       or by_key.get(key))
                if row is None:
                    row = TrendItem(id=new_id("trend"), match_key=key, isrc=isrc, title=title[:300],
                                    artist=(artist or None) and artist[:300], first_seen_at=scanned_at,
                                    last_seen_at=scanned_at, tags=[], sources=[],
                                    youtube_only=1 if source == "youtube" else 0, scores={})
                    s.add(row)
                    items[row.id] = row
                    created.append(row.id)
                self._update_item(row, entry, source, scanned_at, isrc)
                if isrc:
                    by_isrc.setdefault(isrc, row)
                by_key.setdefault(key, row)
                if entry.item_id:
                    by_platform.setdefault(entry.item_id, row.id)
                s.add(TrendSnapshot(item_id=row.id, source=source, chart=entry.chart[:200],
                                    source_item_id=(entry.item_id or None) and entry.item_id[:200],
                                    scanned_at=scanned_at, rank=entry.rank,
                                    chart_size=sizes.get(entry.chart) if entry.rank is not None else None,
                                    metrics={k: float(v) for k, v in (entry.metrics or {}).items()
                                             if isinstance(v, (int, float))},
                                    imported_from=imported_from))
                touched.append(row.id)
        return list(dict.fromkeys(touched)), created

    @staticmethod
    def _update_item(row: TrendItem, entry: "ChartEntry", source: str, scanned_at: datetime,
                     isrc: str | None) -> None:
        if row.last_seen_at is None or scanned_at > row.last_seen_at:
            row.last_seen_at = scanned_at
        if row.first_seen_at is None or scanned_at < row.first_seen_at:
            row.first_seen_at = scanned_at
        row.isrc = row.isrc or isrc
        if entry.bpm and not row.bpm:
            row.bpm = float(entry.bpm)
        if entry.duration_s and not row.duration_s:
            row.duration_s = float(entry.duration_s)
        if entry.published_at is not None and row.published_at is None:
            row.published_at = entry.published_at
        row.preview_url = row.preview_url or (entry.preview_url or None) and entry.preview_url[:1000]
        row.url = row.url or (entry.url or None) and entry.url[:1000]
        tags = list(row.tags or [])
        for tag in entry.tags or ():
            if tag and tag not in tags and len(tags) < MAX_TAGS:
                tags.append(tag)
        row.tags = tags
        if source not in (row.sources or []):
            row.sources = [*(row.sources or []), source]
        if source != "youtube":
            row.youtube_only = 0

    def enforce_youtube_retention(self, now: datetime) -> dict[str, int]:
        cutoff = now - timedelta(days=YOUTUBE_RETENTION_DAYS)
        with self.db.session() as s:
            stale = list(s.scalars(select(TrendItem.id).where(TrendItem.youtube_only == 1,
                                                               TrendItem.last_seen_at < cutoff)).all())
            snaps = s.execute(delete(TrendSnapshot).where(TrendSnapshot.source == "youtube",
                                                          TrendSnapshot.scanned_at < cutoff)).rowcount or 0
            for start in range(0, len(stale), 500):
                chunk = stale[start:start + 500]
                snaps += s.execute(delete(TrendSnapshot).where(TrendSnapshot.item_id.in_(chunk))).rowcount or 0
                s.execute(delete(TrendItem).where(TrendItem.id.in_(chunk)))
        return {"snapshots_deleted": int(snaps), "items_deleted": len(stale)}

