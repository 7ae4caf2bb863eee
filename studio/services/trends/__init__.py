"""Trends area: watch real charts, score what is rising from measured data, answer a trend with a track.

`TrendsService(ctx, *, music, analysis=None)` is the area's entry object (what `services.trends` is); callers go
through its parts, one module each:

- sources.py (`sources`): the trend sources (Deezer, Apple Music, Last.fm, YouTube, feeds), their
  settings, keys (through system/secrets.py, never shown in clear), status, quota, error rate;
  `client_for(name)` builds the connector, `fetch(name)` reads it (`fetchers` replaces it in tests).
- scanner.py (`scanner`): `async scan(names=None)`: read the enabled sources at once, store a
  snapshot per item, match items across sources, enforce YouTube's 30-day rule, score, publish
  `trend_detected` / `trends_scanned`.
- previews.py (`previews`): measuring Deezer's 30 s previews (tempo, key, genre tags) with the
  analysis service's own run, only where the user turned on the Deezer source's `analyse_previews`.
- scoring.py: the documented formulas (growth_rate, viral_score with its breakdown,
  opportunity_level, expiry, the suggested response); pure functions on snapshots.
- catalog.py (`catalog`): `current(...)`, `trend(id)` (history + score breakdown), `analytics(days)`
  (seed 000 `/api/trending/analytics`).
- patterns.py (`patterns`): `patterns(genre, timeframe_days)`: when and what rises.
- imports.py (`imports`): `import_file(data, filename)`: a chart CSV or a hand-made list.
- answers.py (`answers`): answering a trend with a generation job, and how the answer did.
- monitor.py (`monitor`): the in-process scheduler of scans, its state kept across restarts.
- common.py: errors (TrendsError 422, UnknownTrend 404, UnknownSource 404), constants, matching.

The area runs no jobs of its own and subscribes to no events: answers are music generation jobs,
which the answers part reads when asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from studio.services.trends.answers import TrendAnswers
from studio.services.trends.catalog import TrendCatalog
from studio.services.trends.imports import TrendImports
from studio.services.trends.monitor import TrendMonitor
from studio.services.trends.patterns import TrendPatterns
from studio.services.trends.previews import TrendPreviews
from studio.services.trends.scanner import TrendScanner
from studio.services.trends.sources import TrendSources

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.analysis import AnalysisService
    from studio.services.music import MusicService


class TrendsService:
    def __init__(self, ctx: "Context", *, music: "MusicService", analysis: "AnalysisService | None" = None) -> None:
        self.sources = TrendSources(ctx)
        self.catalog = TrendCatalog(ctx, music=music)
        self.previews = TrendPreviews(ctx, sources=self.sources, analysis=analysis)
        self.scanner = TrendScanner(ctx, sources=self.sources, catalog=self.catalog, previews=self.previews)
        self.patterns = TrendPatterns(ctx, music=music)
        self.imports = TrendImports(ctx, scanner=self.scanner, catalog=self.catalog)
        self.answers = TrendAnswers(ctx, catalog=self.catalog, music=music)
        self.monitor = TrendMonitor(ctx, sources=self.sources, scanner=self.scanner, answers=self.answers)
