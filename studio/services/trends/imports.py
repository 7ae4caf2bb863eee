"""Charts imported from a file (a Spotify Charts CSV download or a hand-made list), for platforms
with no API the studio may use.

Built by the trends entry object as `TrendImports(ctx, scanner=..., catalog=..., clock=utcnow)`.

Public API: `async import_file(data: bytes, filename: str) -> {"imported": rows stored, "items": distinct
items, "new_items": n, "file": filename, "charts": [chart names], "scan_time": iso}`. Rows are
stored as snapshots of source "import" (chart "import:<file>[:<platform>]") with `imported_from`
= the file name, matched to stored items like any scan, and scored. A file that cannot be read
raises TrendsError (a ValueError) naming the line and the column; an empty one too. Publishes
`trends_imported` (the result), from the loop. Parsing, storing and scoring run in worker threads
(storing and scoring take their turn with the scans': scanner.py says why).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Callable

from studio.connectors.chart_files import parse_chart_file
from studio.services.trends.common import IMPORT_SOURCE, TrendsError
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.trends.catalog import TrendCatalog
    from studio.services.trends.scanner import TrendScanner


class TrendImports:
    def __init__(self, ctx: "Context", *, scanner: "TrendScanner", catalog: "TrendCatalog",
                 clock: Callable[[], datetime] = utcnow, parse: Callable[[bytes, str], list] | None = None) -> None:
        self.events = ctx.events
        self.scanner = scanner
        self.catalog = catalog
        self.clock = clock
        self._parse = parse  # None: connectors.chart_files.parse_chart_file

    def parse(self, data: bytes, filename: str) -> list:
        if self._parse is not None:
            return self._parse(data, filename)
        return parse_chart_file(data, filename)

    async def import_file(self, data: bytes, filename: str) -> dict[str, Any]:
        filename = PurePath(filename or "chart.csv").name[:200] or "chart.csv"
        try:
            entries = await asyncio.to_thread(self.parse, data, filename)
        except ValueError as exc:  # ChartFileError names the line and the column
            raise TrendsError(f"{filename}: {exc}") from None
        if not entries:
            raise TrendsError(f"{filename}: no chart rows found")
        now = self.clock()
        touched, created = await self.scanner.off_loop(self._store, entries, filename, now)
        result = {"imported": len(entries), "items": len(touched), "new_items": len(created), "file": filename,
                  "charts": sorted({entry.chart for entry in entries}), "scan_time": iso(now)}
        self.events.publish("trends_imported", result)
        return result

    def _store(self, entries: list, filename: str, now: datetime) -> tuple[list[str], list[str]]:
        """Blocking (a worker thread): store the rows as snapshots and score the items they touched."""
        touched, created = self.scanner.ingest(entries, source=IMPORT_SOURCE, scanned_at=now, imported_from=filename)
        self.catalog.rescore(touched, now)
        return touched, created
