"""Importing creators' statements and exports, and storing what connected accounts return.

Files (YouTube Studio, Spotify for Artists, DistroKid, TuneCore) are read by
`studio.connectors.analytics_files.parse_stats_file` (formats, column names and errors are
described there). Every row is stored as a fact with its original text (`raw`: every column,
known or not; the import keeps the header and which columns were not mapped) and its line and
file; the summable figures go in their own columns, averages and rates in `metrics`. Rows built
from an API answer (no file line) keep the fields the studio did not use in `extra`. The file's SHA-256 makes importing the
same file again change nothing. Rows of a newer import that repeat an older import's row (same
source, item, days, platform and country: a re-downloaded or overlapping export) replace it, so
nothing is counted twice. After storing, items are linked (exact ids) or matched (titles
suggested) by linking.py.

Connected refreshes (YouTube Data/Analytics API, connected.py) store their rows through the same
`store`; lifetime figures (`snapshot=True`) replace the item's previous row at each refresh.

Public API (built by the entry object as `AnalyticsImports(ctx, linking=..., ledger=...)`):
- `preview(data, filename) -> {"file","source","format","window","rows","items","mapped","unmapped",
  "skipped","sample": [first PREVIEW_ROWS rows], "already_imported": bool}`.
- `async import_file(data, filename) -> {"import_id","file","source","format","rows","replaced",
  "items","new_items","linked","suggested","duplicate"}` (`duplicate`: the same file was imported
  before; nothing changed).
- `store(parsed, *, filename, sha256, kind="file") -> the same dict` (sync; runs in a worker thread).
- `imports(limit=100) -> [import dict]`, `delete(import_id) -> {"deleted": rows}`.
AnalyticsError carries the parser's message (file, line, column, what to fix).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from collections import defaultdict
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select

from studio.connectors.analytics_files import StatsFileError, iter_stats_file, parse_stats_file
from studio.db.models import FACT_FIGURES, AnalyticsFact, AnalyticsImport, AnalyticsItem
from studio.services.analytics.common import AnalyticsError, UnknownImport, new_id
from studio.services.analytics.linking import item_key
from studio.timeutil import iso

if TYPE_CHECKING:
    from studio.connectors.analytics_files import ParsedStats, StatRow
    from studio.context import Context
    from studio.services.analytics.ledger import Ledger
    from studio.services.analytics.linking import Linking

PREVIEW_ROWS = 20
MAX_IMPORT_BYTES = 256 * 1024 * 1024  # a decade of a busy distributor statement is tens of MB
_CHUNK = 5000
_FACT_COLUMNS = ("import_id", "fact_key", "line", "file", "raw", "source", "scope", "item_id", "platform", "start_day",
                 "end_day", "country", "metrics", "revenue", "currency", "extra", *FACT_FIGURES)


def _insert_fact_sql(paramstyle: str) -> str:
    marker = "?" if paramstyle == "qmark" else "%s"  # SQLite; the format/pyformat drivers (PostgreSQL, MySQL)
    return f"INSERT INTO analytics_facts ({', '.join(_FACT_COLUMNS)}) VALUES ({', '.join([marker] * len(_FACT_COLUMNS))})"


def file_label(filename: str) -> str:
    """The file's own name, without the folders a browser or a client may send."""
    name = PureWindowsPath(PurePosixPath(str(filename or "")).name).name.strip()
    return name[:255] or "upload"


def row_dict(row: "StatRow") -> dict[str, Any]:
    """A parsed row as shown in previews and the API."""
    return {"line": row.line, "file": row.file, "scope": row.scope, "start_day": row.start_day,
            "end_day": row.end_day, "platform": row.platform, "external_id": row.external_id, "isrc": row.isrc,
            "title": row.title, "artist": row.artist, "country": row.country, "metrics": dict(row.metrics),
            "revenue": row.revenue, "currency": row.currency, "extra": dict(row.extra)}


class AnalyticsImports:
    def __init__(self, ctx: "Context", *, linking: "Linking", ledger: "Ledger") -> None:
        self.ctx = ctx
        self.linking = linking
        self.ledger = ledger

    # --- files ------------------------------------------------------------------------------------
    @staticmethod
    def _check(data: bytes, filename: str) -> None:
        if not data:
            raise AnalyticsError(f"{filename} is empty")
        if len(data) > MAX_IMPORT_BYTES:
            raise AnalyticsError(f"{filename} is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")

    def _parse(self, data: bytes, filename: str) -> "ParsedStats":
        self._check(data, filename)
        try:
            return parse_stats_file(data, filename)
        except StatsFileError as exc:
            raise AnalyticsError(str(exc)) from None

    def preview(self, data: bytes, filename: str) -> dict[str, Any]:
        name = file_label(filename)
        parsed = self._parse(data, name)
        sha = hashlib.sha256(data).hexdigest()
        with self.ctx.db.session() as s:
            seen = s.scalar(select(AnalyticsImport.id).where(AnalyticsImport.sha256 == sha)) is not None
        keys = {self._key(parsed.source, r) for r in parsed.rows if r.scope == "item"}
        return {"file": name, "source": parsed.source, "format": parsed.format,
                "window": {"start": parsed.window[0], "end": parsed.window[1]}, "rows": len(parsed.rows),
                "items": len(keys - {None}), "mapped": dict(parsed.mapped), "unmapped": list(parsed.unmapped),
                "skipped": list(parsed.skipped), "sample": [row_dict(r) for r in parsed.rows[:PREVIEW_ROWS]],
                "already_imported": seen}

    async def import_file(self, data: bytes, filename: str) -> dict[str, Any]:
        name = file_label(filename)

        def work() -> dict[str, Any]:
            self._check(data, name)
            try:
                header, chunks = iter_stats_file(data, name, chunk_rows=_CHUNK)
                return self._store(header, chunks, filename=name, sha256=hashlib.sha256(data).hexdigest())
            except StatsFileError as exc:  # a bad row met while storing: nothing was kept
                raise AnalyticsError(str(exc)) from None
        return await asyncio.to_thread(work)

    # --- storing --------------------------------------------------------------------------------------
    @staticmethod
    def _key(source: str, row: "StatRow") -> str | None:
        return item_key(row.platform, external_id=row.external_id, isrc=row.isrc, title=row.title,
                        artist=row.artist, source=source)

    def store(self, parsed: "ParsedStats", *, filename: str | None, sha256: str | None,
              kind: str = "file", snapshot: bool = False) -> dict[str, Any]:
        """`snapshot`: the rows are lifetime figures read again at each refresh (a video's total views
        from the Data API): a row replaces the item's previous one whatever days it spans."""
        return self._store(parsed, iter([parsed.rows]), filename=filename, sha256=sha256, kind=kind,
                           snapshot=snapshot)

    def _store(self, header: "ParsedStats", chunks: Iterator[list["StatRow"]], *, filename: str | None,
               sha256: str | None, kind: str = "file", snapshot: bool = False) -> dict[str, Any]:
        """Store rows as they are read, chunk by chunk, all or nothing (one transaction): a statement of
        hundreds of thousands of rows is never held in memory whole, and a bad row deep inside leaves
        nothing behind."""
        source = header.source
        with self.ctx.db.session() as s:
            if sha256:
                existing = s.scalar(select(AnalyticsImport).where(AnalyticsImport.sha256 == sha256))
                if existing is not None:
                    return {"import_id": existing.id, "file": filename, "source": existing.source,
                            "format": existing.format, "rows": existing.rows, "replaced": 0, "items": 0,
                            "new_items": 0, "linked": 0, "suggested": 0, "duplicate": True}
            import_id = new_id("imp")
            record = AnalyticsImport(id=import_id, source=source, kind=kind, filename=filename, sha256=sha256,
                                     format=header.format, rows=0,
                                     columns={"mapped": dict(header.mapped), "unmapped": list(header.unmapped)},
                                     window_start=header.window[0], window_end=header.window[1],
                                     skipped=list(header.skipped))
            s.add(record)
            before = s.scalar(select(func.count()).select_from(AnalyticsItem)) or 0
            writer = _FactWriter(self, s, import_id=import_id, source=source, kind=kind, snapshot=snapshot)
            memo: dict[tuple, str | None] = {}  # a statement names the same few hundred songs thousands of times
            first = last = None
            total = 0
            for rows in chunks:
                keys = []
                for r in rows:
                    if r.scope != "item":
                        keys.append(None)
                        continue
                    ident = (r.platform, r.external_id, r.isrc, r.title, r.artist)
                    if ident not in memo:
                        memo[ident] = self._key(source, r)
                    keys.append(memo[ident])
                starts = [r.start_day for r in rows if r.start_day]
                ends = [r.end_day for r in rows if r.end_day]
                if starts:
                    first = min(starts) if first is None else min(first, min(starts))
                if ends:
                    last = max(ends) if last is None else max(last, max(ends))
                total += len(rows)
                writer.put(rows, keys)
            record.rows = total
            record.window_start = header.window[0] or first
            record.window_end = header.window[1] or last
            new_items = (s.scalar(select(func.count()).select_from(AnalyticsItem)) or 0) - before
            if writer.replaced:  # older imports of this source lost rows: the ledger reads their groups again
                for older in s.scalars(select(AnalyticsImport.id).where(AnalyticsImport.source == source)):
                    self.ledger.forget_import(older)
        touched = sorted(set(writer.item_ids.values()))
        linked_before = self._linked_count(touched)
        changed = self.linking.suggest(touched) if touched else 0
        linked_after = self._linked_count(touched)
        self.ledger.invalidate()
        return {"import_id": import_id, "file": filename, "source": source, "format": header.format,
                "rows": total, "replaced": writer.replaced, "items": len(touched), "new_items": new_items,
                "linked": linked_after - linked_before, "suggested": max(0, changed - (linked_after - linked_before)),
                "duplicate": False}

    @staticmethod
    def _replace_older(session, import_id: str, keys: list[str]) -> int:
        """Drop rows of older imports that these facts repeat (same fact key)."""
        removed = 0
        for i in range(0, len(keys), 500):
            result = session.execute(delete(AnalyticsFact).where(AnalyticsFact.fact_key.in_(keys[i:i + 500]),
                                                                 AnalyticsFact.import_id != import_id))
            removed += result.rowcount or 0
        return removed

    def _linked_count(self, item_ids: list[int]) -> int:
        if not item_ids:
            return 0
        with self.ctx.db.session() as s:
            return sum(s.scalar(select(func.count()).select_from(AnalyticsItem).where(
                AnalyticsItem.id.in_(item_ids[i:i + 500]), AnalyticsItem.link_status == "confirmed")) or 0
                for i in range(0, len(item_ids), 500))

    # --- what was imported ------------------------------------------------------------------------------
    def imports(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.ctx.db.session() as s:
            rows = s.scalars(select(AnalyticsImport).order_by(AnalyticsImport.created_at.desc()).limit(limit)).all()
            counts = dict(s.execute(select(AnalyticsFact.import_id, func.count())
                                    .where(AnalyticsFact.import_id.in_([r.id for r in rows]))
                                    .group_by(AnalyticsFact.import_id)).all()) if rows else {}
            return [{"id": r.id, "source": r.source, "kind": r.kind, "file": r.filename, "format": r.format,
                     "rows": r.rows, "rows_counted": counts.get(r.id, 0),
                     "window": {"start": r.window_start, "end": r.window_end}, "columns": r.columns,
                     "skipped": r.skipped, "imported_at": iso(r.created_at)} for r in rows]

    def delete(self, import_id: str) -> dict[str, Any]:
        """Forget an import and its rows (the items and their links stay for the next import)."""
        with self.ctx.db.session() as s:
            row = s.get(AnalyticsImport, import_id)
            if row is None:
                raise UnknownImport(import_id)
            removed = s.execute(delete(AnalyticsFact).where(AnalyticsFact.import_id == import_id)).rowcount or 0
            s.delete(row)
        self.ledger.invalidate()
        return {"deleted": removed}


class _FactWriter:
    """Writes each chunk as it comes: items first (new ones created), then the chunk's facts with the
    driver's executemany and the JSON already written (SQLAlchemy's per-row parameter processing was
    most of an import's time). A writer thread was tried: SQLite gives up Python's lock for every
    row, and handing it back and forth made a 200 000-row import slower, not faster."""

    def __init__(self, imports: AnalyticsImports, session, *, import_id: str, source: str, kind: str,
                 snapshot: bool) -> None:
        self.imports, self.session = imports, session
        self.import_id, self.source, self.kind, self.snapshot = import_id, source, kind, snapshot
        self.item_ids: dict[str, int] = {}
        self.occurrences: dict[str, int] = defaultdict(int)
        self.replaced = 0
        self.connection = session.connection()
        self.sql = _insert_fact_sql(self.connection.dialect.paramstyle)
        # Whether older imports of this source have rows this one may repeat (asked before writing any)
        self.older = bool(session.scalar(select(AnalyticsFact.id).where(AnalyticsFact.source == source,
                                                                        AnalyticsFact.import_id != import_id).limit(1)))

    def put(self, rows: list["StatRow"], keys: list[str | None]) -> None:
        self._write(self.connection, self.sql, rows, keys)

    def _write(self, connection, sql: str, rows: list["StatRow"], keys: list[str | None]) -> None:
        firsts: dict[str, "StatRow"] = {}
        for k, r in zip(keys, rows, strict=True):
            if k and k not in self.item_ids and k not in firsts:
                firsts[k] = r
        if firsts:
            self.item_ids.update(self.imports.linking.upsert_items(self.session, [
                {"key": k, "platform": r.platform, "external_id": r.external_id, "isrc": r.isrc, "title": r.title,
                 "artist": r.artist, "published_at": r.published_at, "duration_s": r.duration_s}
                for k, r in firsts.items()]))
        facts = self._facts(rows, keys)
        if self.older:
            self.replaced += self.imports._replace_older(self.session, self.import_id, [f[1] for f in facts])
        connection.exec_driver_sql(sql, facts)

    def _facts(self, rows: list["StatRow"], keys: list[str | None]) -> list[tuple]:
        source, kind, snapshot, item_ids, occurrences = self.source, self.kind, self.snapshot, self.item_ids, \
            self.occurrences
        sha1, dumps = hashlib.sha1, json.dumps
        # Which figures the rows have at all: the others are NULL without looking (a statement has
        # one or two of the dozen).
        present = {name for row in rows for name in row.metrics}
        figures = [name for name in FACT_FIGURES if name in present]
        nulls = (None,) * len(FACT_FIGURES)
        positions = [FACT_FIGURES.index(name) for name in figures]
        only_summable = present <= set(FACT_FIGURES)
        facts = []
        for key, row in zip(keys, rows, strict=True):
            span = "lifetime" if snapshot else f"{row.start_day}|{row.end_day}"
            base = f"{source}|{row.scope}|{key or ''}|{span}|{row.platform}|{row.country or ''}"
            n = occurrences[base] = occurrences[base] + 1
            metrics = row.metrics
            if positions:
                values = list(nulls)
                for position, name in zip(positions, figures, strict=True):
                    values[position] = metrics.get(name)
            else:
                values = nulls
            averages = "{}" if only_summable else (
                dumps({k: v for k, v in metrics.items() if k not in FACT_FIGURES}) or "{}")
            facts.append((self.import_id, sha1(f"{base}|{n}".encode()).hexdigest(), row.line, row.file,
                          row.raw[:20000], source, row.scope, item_ids.get(key) if key else None, row.platform[:64],
                          row.start_day, row.end_day, row.country, averages, row.revenue, row.currency,
                          # a file's row keeps its unknown columns in `raw` already
                          "{}" if kind == "file" or not row.extra else dumps(row.extra), *values))
        return facts
