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
import operator
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select

from studio.connectors.analytics_files import StatsFileError, iter_stats_file, parse_stats_file
from studio.db.models import FACT_FIGURES, AnalyticsFact, AnalyticsImport, AnalyticsItem
from studio.gc_pause import collector_paused
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
_STAGE = "temp.analytics_facts_stage"  # see _FactWriter
_STAGE_MIN_ROWS = 1000  # smaller chunks (a connected refresh, a short export) are written directly
# what item_key reads of a row, and a row's days (attrgetter reads them in C)
_identity = operator.attrgetter("platform", "external_id", "isrc", "title", "artist")
_start_day, _end_day = operator.attrgetter("start_day"), operator.attrgetter("end_day")


def _insert_facts_sql(table: str, names: list[str], literals: list[str], bound: list[str], paramstyle: str) -> str:
    marker = "?" if paramstyle == "qmark" else "%s"  # SQLite; the format/pyformat drivers (PostgreSQL, MySQL)
    return (f"INSERT INTO {table} ({', '.join([*names, *bound])}) "
            f"VALUES ({', '.join([*literals, *[marker] * len(bound)])})")


def _sqlite_literal(value: Any) -> str | None:
    """`value` as an SQLite literal, or None where it must stay a parameter: only NULL and text are
    written inline (SQLite reads back exactly the same value; a float's decimal text might not)."""
    if value is None:
        return "NULL"
    if type(value) is str and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"  # SQLite has no backslash escapes: doubling is all
    return None


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
        with collector_paused(), self.ctx.db.session() as s:
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
            try:
                first, last, total = self._write_chunks(source, chunks, writer)
                writer.finish()
            finally:
                writer.close()  # a chunk still being copied when reading failed: the rollback waits for it
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

    def _write_chunks(self, source: str, chunks: Iterator[list["StatRow"]],
                      writer: "_FactWriter") -> tuple[str | None, str | None, int]:
        """Items and facts of every chunk; returns the first and last day seen and the row count."""
        # A statement names the same few hundred songs thousands of times: the item key is worked out
        # once for each identity (what item_key reads of a row), then looked up for every row.
        memo: dict[tuple | None, str | None] = {None: None}  # None: a row of no item (scope "total")
        first = last = None
        total = 0
        for rows in chunks:
            idents = [_identity(r) if r.scope == "item" else None for r in rows]
            for ident in set(idents).difference(memo):
                platform, external_id, isrc, title, artist = ident
                memo[ident] = item_key(platform, external_id=external_id, isrc=isrc, title=title, artist=artist,
                                       source=source)
            keys = list(map(memo.__getitem__, idents))
            # the chunk's few distinct days, without a Python step per row
            starts = set(map(_start_day, rows)) - {None, ""}
            ends = set(map(_end_day, rows)) - {None, ""}
            if starts:
                first = min(starts) if first is None else min(first, min(starts))
            if ends:
                last = max(ends) if last is None else max(last, max(ends))
            total += len(rows)
            writer.put(rows, keys)
        return first, last, total

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
    most of an import's time).

    The facts are built column by column, and on SQLite a column holding one text (or NULL) in the
    whole chunk (the import, the source, the file, the currency, `{}`...) is written once into the
    statement instead of bound for each row; figures no row has are left out (NULL). Binding a
    parameter costs the driver about as much as SQLite storing it, so a statement row binds ten
    values instead of twenty-nine.

    On SQLite a large chunk goes first into a temp table without indexes or constraints, and a helper
    thread copies it into analytics_facts with one INSERT ... SELECT while the next chunk is read: the
    driver lets go of Python's lock for the whole statement, so SQLite's index and foreign-key work
    (a third of an import's time) runs beside the parsing. (A writer thread running the executemany
    itself was slower: the lock changed hands for every row.) Only one statement uses the connection
    at a time: each step waits for the copy before it touches the database, and the import commits or
    rolls back only after the last copy. The copy is the slower side: the next chunk's columns are
    built before waiting for it, and the stage holds only the bound columns.

    Tried and left out: a column-wise statement reader (zip/map over a chunk's cells) was slower than
    the row loop; chunks of 2 500 or 10 000 rows made no measurable difference."""

    def __init__(self, imports: AnalyticsImports, session, *, import_id: str, source: str, kind: str,
                 snapshot: bool) -> None:
        self.imports, self.session = imports, session
        self.import_id, self.source, self.kind, self.snapshot = import_id, source, kind, snapshot
        self.item_ids: dict[str, int] = {}
        self.occurrences: dict[str, int] = defaultdict(int)
        self.replaced = 0
        self.connection = session.connection()
        self.paramstyle = self.connection.dialect.paramstyle
        # Other drivers escape differently (MySQL reads backslashes): they get every value as a parameter,
        # and their rows are written directly.
        self.sqlite = self.connection.dialect.name == "sqlite"
        self.copier: ThreadPoolExecutor | None = None  # started with the first large chunk
        self.copying: Future | None = None
        # Whether older imports of this source have rows this one may repeat (asked before writing any)
        self.older = bool(session.scalar(select(AnalyticsFact.id).where(AnalyticsFact.source == source,
                                                                        AnalyticsFact.import_id != import_id).limit(1)))

    def put(self, rows: list["StatRow"], keys: list[str | None]) -> None:
        if not rows:  # a file with nothing but its header (or a Total row)
            return
        # Built while the previous chunk is still being copied (no database needed but for the item ids):
        # the copy takes about as long as reading a chunk, and waited for the columns too.
        columns = self._columns(rows, keys)
        self._wait()  # the previous chunk's copy: the session may use the connection again
        item_ids = self.item_ids
        firsts: dict[str, "StatRow"] = {}
        for k, r in zip(keys, rows, strict=True):
            if k and k not in item_ids and k not in firsts:
                firsts[k] = r
        if firsts:
            item_ids.update(self.imports.linking.upsert_items(self.session, [
                {"key": k, "platform": r.platform, "external_id": r.external_id, "isrc": r.isrc, "title": r.title,
                 "artist": r.artist, "published_at": r.published_at, "duration_s": r.duration_s}
                for k, r in firsts.items()]))
        columns["item_id"] = [item_ids.get(k) if k else None for k in keys]
        if self.older:
            self.replaced += self.imports._replace_older(self.session, self.import_id, columns["fact_key"])
        self._insert(columns, len(rows))

    def _columns(self, rows: list["StatRow"], keys: list[str | None]) -> dict[str, list]:
        """The chunk's facts, column name -> one value per row (a list comprehension per column is far
        cheaper than a 29-value tuple per row); `item_id` is left for `put` to fill in."""
        source, snapshot, occurrences = self.source, self.snapshot, self.occurrences
        sha1, dumps = hashlib.sha1, json.dumps
        fact_keys = []
        for key, row in zip(keys, rows, strict=True):
            span = "lifetime" if snapshot else f"{row.start_day}|{row.end_day}"
            base = f"{source}|{row.scope}|{key or ''}|{span}|{row.platform}|{row.country or ''}"
            n = occurrences[base] = occurrences[base] + 1
            fact_keys.append(sha1(f"{base}|{n}".encode()).hexdigest())
        present = set().union(*[r.metrics for r in rows])  # the figures' names (union reads them in C)
        count = len(rows)
        columns: dict[str, list] = {
            "import_id": [self.import_id] * count, "fact_key": fact_keys, "line": [r.line for r in rows],
            "file": [r.file for r in rows], "raw": [r.raw[:20000] for r in rows], "source": [source] * count,
            "scope": [r.scope for r in rows], "item_id": [],  # filled in by put once the items are stored
            "platform": [r.platform[:64] for r in rows], "start_day": [r.start_day for r in rows],
            "end_day": [r.end_day for r in rows], "country": [r.country for r in rows],
            # averages and rates (a statement has none)
            "metrics": ["{}"] * count if present <= set(FACT_FIGURES) else [
                dumps({k: v for k, v in r.metrics.items() if k not in FACT_FIGURES}) for r in rows],
            "revenue": [r.revenue for r in rows], "currency": [r.currency for r in rows],
            # a file's row keeps its unknown columns in `raw` already
            "extra": ["{}"] * count if self.kind == "file" else [dumps(r.extra) if r.extra else "{}" for r in rows],
        }
        for name in FACT_FIGURES:  # the summable figures the rows have (one or two of the dozen)
            if name in present:
                columns[name] = [r.metrics.get(name) for r in rows]
        return columns

    def _insert(self, columns: dict[str, list], count: int) -> None:
        names, literals, bound = [], [], []
        for name, values in columns.items():
            literal = _sqlite_literal(values[0]) if self.sqlite else None
            if literal is not None and values.count(values[0]) == count:  # the same in every row
                names.append(name)
                literals.append(literal)
            else:
                bound.append(name)
        params = list(zip(*(columns[name] for name in bound))) if bound else [()] * count
        if not self.sqlite or count < _STAGE_MIN_ROWS:
            self.connection.exec_driver_sql(_insert_facts_sql("analytics_facts", names, literals, bound,
                                                              self.paramstyle), params)
            return
        if self.copier is None:
            self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGE}")
            # the same columns and types (so the same conversions), no constraints, no indexes
            self.connection.exec_driver_sql(f"CREATE TABLE {_STAGE} AS SELECT * FROM analytics_facts WHERE 0")
            self.copier = ThreadPoolExecutor(1, thread_name_prefix="analytics-import")
        # The stage gets the bound columns only (there is always one: each fact has its own key); the
        # constant ones are written by the copy: smaller staged rows, written and read again faster.
        self.connection.exec_driver_sql(_insert_facts_sql(_STAGE, [], [], bound, self.paramstyle), params)
        copy = (f"INSERT INTO analytics_facts ({', '.join([*names, *bound])}) "
                f"SELECT {', '.join([*literals, *bound])} FROM {_STAGE} ORDER BY rowid")
        self.copying = self.copier.submit(self._copy, self.connection.connection.driver_connection, copy)

    @staticmethod
    def _copy(driver_connection, copy: str) -> None:
        """In the helper thread: the staged chunk into analytics_facts, in the order it was read."""
        driver_connection.execute(copy)
        driver_connection.execute(f"DELETE FROM {_STAGE}")

    def _wait(self) -> None:
        """Until the chunk being copied is in; its error, if any, is raised here."""
        if self.copying is not None:
            copying, self.copying = self.copying, None
            copying.result()

    def finish(self) -> None:
        self._wait()
        if self.copier is not None:
            self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGE}")

    def close(self) -> None:
        """After `finish`, or when the import failed: no copy may still use the connection when the
        session commits or rolls back (an error of the copy is left to the one already raised)."""
        if self.copying is not None:
            self.copying.exception()  # waits, without raising
            self.copying = None
        if self.copier is not None:
            self.copier.shutdown()
