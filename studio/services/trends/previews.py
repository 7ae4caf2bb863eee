"""Measuring Deezer previews: tempo, key and genre tags of a chart item from its 30 s preview, with
the studio's own analysis, where the user allows it.

Built by the trends entry object as `TrendPreviews(ctx, sources=..., analysis=..., clock=utcnow)`
(`analysis` is the analysis service: its `predictions.analyse_file` is the one tempo/key/tagger run
the Analyze panel uses too).

Public API:
- `allowed() -> bool`: the Deezer source's `analyse_previews` setting (off by default).
- `async analyse_scan(entries, scanned_at) -> {"analysed", "failed", "skipped" (reason | None)}`:
  the scanner's step after storing a Deezer scan. Of this scan's Deezer items that have no bpm
  from Deezer and no preview analysis yet, the best ranked `per_scan` (PREVIEWS_PER_SCAN) are
  fetched with the Deezer client (Deezer's own hosts only, at most 2 MB, paced with its API calls)
  from the preview URL this very scan gave (they are signed for a short while), written to a temp
  file of the media store, analysed in a worker thread and the file deleted: no audio is kept.
  The item's `preview_analysis` holds the figures (or `{"error"}` when the preview was refused or
  unreadable, so it is not fetched again) and `preview_analysed_at` when. A transient failure
  (timeout, 5xx, quota) stops the step for this scan and marks nothing: the next scan tries again;
  so does a tagger model that cannot load.
- `public(analysis, analysed_at) -> dict | None`: what the trend dict shows (figures + basis).

scoring.suggest uses the measured tempo when Deezer gives no bpm; scoring.style_fit may fit a
style from the measured tags.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import select

from studio.connectors.charts import ChartEntry, SourceError
from studio.db.models import TrendItem, TrendSnapshot
from studio.services.trends.common import PREVIEWS_PER_SCAN
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.analysis import AnalysisService
    from studio.services.trends.sources import TrendSources

log = logging.getLogger(__name__)

SOURCE = "deezer"
PREVIEW_TAGS = 5  # measured tags kept per item
BASIS = "measured by the studio's own analysis from the 30 s Deezer preview (the audio is not kept)"


class TrendPreviews:
    def __init__(self, ctx: "Context", *, sources: "TrendSources", analysis: "AnalysisService | None" = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = ctx.db
        self.store = ctx.store
        self.sources = sources
        self.analysis = analysis
        self.clock = clock
        self.per_scan = PREVIEWS_PER_SCAN

    def allowed(self) -> bool:
        return bool(self.sources.config_of(SOURCE).get("analyse_previews"))

    async def analyse_scan(self, entries: Iterable["ChartEntry"], scanned_at: datetime) -> dict[str, Any]:
        done = {"analysed": 0, "failed": 0, "skipped": None}
        if not self.allowed():
            done["skipped"] = "analyse_previews is off for the Deezer source"
            return done
        if self.analysis is None:
            done["skipped"] = "no analysis service in this studio"
            return done
        for item_id, url in self._candidates(entries, scanned_at):
            try:
                audio = await self.sources.preview(url)
            except SourceError as exc:
                if not exc.fatal:  # timeout, server error, quota: try again next scan
                    log.info("deezer previews paused for this scan: %s", exc.reason)
                    done["skipped"] = exc.reason
                    break
                self._store(item_id, {"error": f"preview not read: {exc.reason}"})
                done["failed"] += 1
                continue
            try:
                measured = await asyncio.to_thread(self._measure, audio)
            except Exception as exc:  # noqa: BLE001 - any analysis failure is recorded, never breaks the scan
                from studio.services.analysis import AnalysisError, ModelUnavailable

                if isinstance(exc, ModelUnavailable):  # the studio's problem, not the preview's
                    log.warning("deezer previews not analysed: %s", exc.message)
                    done["skipped"] = exc.message
                    break
                reason = exc.message if isinstance(exc, AnalysisError) else f"analysis failed ({type(exc).__name__})"
                self._store(item_id, {"error": reason})
                done["failed"] += 1
                continue
            self._store(item_id, measured)
            done["analysed"] += 1
        return done

    def _candidates(self, entries: Iterable["ChartEntry"], scanned_at: datetime) -> list[tuple[str, str]]:
        """(item id, this scan's preview URL) of the best ranked items still needing a tempo."""
        urls: dict[str, str] = {}
        for entry in sorted((e for e in entries if e.item_id and e.preview_url),
                            key=lambda e: e.rank if e.rank is not None else float("inf")):
            urls.setdefault(entry.item_id, entry.preview_url)
        if not urls:
            return []
        with self.db.session() as s:
            by_platform = dict(s.execute(select(TrendSnapshot.source_item_id, TrendSnapshot.item_id).where(
                TrendSnapshot.source == SOURCE, TrendSnapshot.scanned_at == scanned_at,
                TrendSnapshot.source_item_id.in_(list(urls)))).all())
            waiting = set(s.scalars(select(TrendItem.id).where(
                TrendItem.id.in_(list(set(by_platform.values()))), TrendItem.bpm.is_(None),
                TrendItem.preview_analysed_at.is_(None))).all())
        out: list[tuple[str, str]] = []
        for platform_id, url in urls.items():
            item_id = by_platform.get(platform_id)
            if item_id in waiting and len(out) < self.per_scan:
                waiting.discard(item_id)
                out.append((item_id, url))
        return out

    def _measure(self, audio: bytes) -> dict[str, Any]:
        """Blocking (a worker thread): the analysis of `audio`, its temp file deleted afterwards."""
        from studio.engine.io.decode import sniff_format

        path = Path(self.store.temp_path("." + (sniff_format(audio[:64]) or "mp3")))
        try:
            path.write_bytes(audio)
            result = self.analysis.predictions.analyse_file(path, filename=f"deezer-preview{path.suffix}")
        finally:
            path.unlink(missing_ok=True)
        return {
            "tempo_bpm": result.get("tempo_bpm"), "tempo_confidence": result.get("tempo_confidence"),
            "key": result.get("key"), "key_confidence": result.get("key_confidence"),
            "genre": result.get("genre"), "genre_confidence": result.get("confidence"),
            "tags": [dict(t) for t in (result.get("tags") or [])[:PREVIEW_TAGS]],
            "duration_s": result.get("duration_s"),
            "model": result.get("model"), "model_version": result.get("model_version"),
        }

    def _store(self, item_id: str, analysis: dict[str, Any]) -> None:
        with self.db.session() as s:
            row = s.get(TrendItem, item_id)
            if row is not None:  # deleted meanwhile: nothing to keep
                row.preview_analysis = analysis
                row.preview_analysed_at = self.clock()


def public(analysis: dict[str, Any] | None, analysed_at: datetime | None) -> dict[str, Any] | None:
    """The measured figures as the trend dict shows them, with their basis; None when not analysed."""
    if not analysis:
        return None
    if analysis.get("error"):
        return {"error": analysis["error"], "analysed_at": iso(analysed_at)}
    return {
        "tempo_bpm": analysis.get("tempo_bpm"), "tempo_confidence": analysis.get("tempo_confidence"),
        "key": analysis.get("key"), "key_confidence": analysis.get("key_confidence"),
        "genre": analysis.get("genre"), "genre_confidence": analysis.get("genre_confidence"),
        "tags": list(analysis.get("tags") or []), "analysed_at": iso(analysed_at),
        "model": analysis.get("model"),
        "basis": f"{BASIS}; tempo and key from the audio, tags from the {analysis.get('model') or 'musicnn'} tagger",
    }
