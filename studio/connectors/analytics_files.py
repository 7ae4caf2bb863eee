"""Creators' statements and analytics exports, read into rows of figures (`StatRow`).

Formats (columns matched by name: case, spacing and a UTF-8 BOM do not matter, and the main
headers of YouTube Studio and Spotify for Artists are also known in German, Spanish, French and
Portuguese; never by position; columns not listed stay in `extra` with their header):

- **YouTube Studio** "Advanced mode" export: the zip, or one of its files.
  `Table data.csv`: one row per video over the export's window (`scope` "item"); its first data row
  is `Total` (the sum of the others) and is skipped. `Chart data.csv`: one row per day (per video
  when it has a `Content` column, else for the channel). `Totals.csv`: the channel per day
  (`scope` "total"). Columns: Content (video id), Video title, Video publish time, Duration (s),
  Date, Views, Watch time (hours), Average view duration (h:mm:ss), Subscribers, Impressions,
  Impressions click-through rate (%), Likes, Shares, Comments added, Your estimated revenue (USD).
- **Spotify for Artists** CSVs: the audience timeline (`date, listeners, streams, followers`: the
  account per day), songs (`song, listeners, streams, saves, release_date`: each song over the
  file's window), one song's timeline (`date, streams[, listeners]`: that song per day; its title
  is the file name before `-timeline`/`_timeline`).
- **DistroKid** "Excel" statement (tab-separated), the older header (`Reporting Date, Sale Month,
  Store, Artist, Title, ISRC, UPC, Quantity, Team Percentage, Song/Album, Country of Sale,
  Songwriter Royalties Withheld, Earnings (USD)`) and the newer one (adds `Date Inserted`,
  `Source Type`, `Recoup (USD)` and `(USD)` on money columns). Each row is one song in one store
  and country over its sale month (`YYYY-MM`); refunds are negative rows; country `OU` (unknown)
  becomes None; `Quantity` is `units`.
- **TuneCore** sales CSV (`Sales Period, Posted Date, Store Name, Country Of Sale, Artist,
  Release Type, Release Title, Song Title, Label, UPC, Optional UPC, TC Song ID, Optional ISRC,
  Sales Type, # Units Sold, Per Unit Price, Net Sales, Net Sales Currency, Exchange Rate,
  Total Earned, Currency`); `Total Earned` in `Currency` is the revenue.

Windows (the days a file covers): a `YYYY-MM-DD_YYYY-MM-DD` (or `YYYY-MM-DD - YYYY-MM-DD`) range
anywhere in the file name (YouTube names its zips `Content 2026-01-01_2026-03-31 Channel.zip`);
else, for Spotify, `-28days`, `_7days`, `-1year`, `-12months` in the name end yesterday (the day
before the file is read, when Spotify made it); else the dates in the rows. A per-item file with no
dates at all (YouTube `Table data.csv`, Spotify songs) needs the range in its name: the error says so.

Numbers: `1234.5`, `1,234.56`, `1.234,56`, `1 234`, `12%`, `$3.10`, empty (None). Dates: ISO,
`Mar 1, 2026`, `1 Mar 2026`, `01.03.2026`, `2026/03/01`; months `2026-03`, `Mar 2026`.
A bad number or date names its line and column; a file cut short (an unclosed quote or fewer
cells than the header on its last line) names the line. Embedded newlines inside quoted cells are
not supported (the platforms do not write them).

Public API: `SOURCES`, `StatRow`, `ParsedStats`, `StatsFileError`, `detect_format(data, filename)`,
`iter_stats_file(data, filename)` (the rows in chunks as they are read),
`parse_stats_file(data, filename)`. Pure: no network, no database.
"""

from __future__ import annotations

import calendar
import csv
import dataclasses
import io
import itertools
import operator
import re
import zipfile
from dataclasses import dataclass, field
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import PurePosixPath, PureWindowsPath

SOURCES = ("youtube_studio", "spotify_artists", "distrokid", "tunecore")
MAX_MEMBER_BYTES = 512 * 2**20


@dataclass(slots=True)
class StatRow:
    line: int
    file: str
    raw: str
    scope: str
    start_day: str | None
    end_day: str | None
    platform: str
    external_id: str | None
    isrc: str | None
    upc: str | None
    title: str | None
    artist: str | None
    country: str | None
    published_at: str | None
    duration_s: float | None
    metrics: dict[str, float]
    revenue: float | None
    currency: str | None
    extra: dict[str, str]


@dataclass
class ParsedStats:
    source: str
    format: str
    rows: list[StatRow]
    mapped: dict[str, str]
    unmapped: list[str]
    window: tuple[str | None, str | None]
    skipped: list[str] = field(default_factory=list)


class StatsFileError(ValueError):
    """The file cannot be read; the message names the file, the line and the column, and what to fix."""


# --- headers -----------------------------------------------------------------------------------------
def _norm(header: str) -> str:
    return " ".join(header.replace("\ufeff", "").strip().strip('"').lower().split())


def _aliases(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {_norm(alias): canonical for canonical, names in table.items() for alias in names}


# canonical field -> headers (English first, then de/es/fr/pt)
YOUTUBE = _aliases({
    "content": ("content", "inhalt", "contenido", "contenu", "conteúdo"),
    "title": ("video title", "videotitel", "título del vídeo", "titre de la vidéo", "título do vídeo"),
    "published_at": ("video publish time", "veröffentlichungszeitpunkt des videos", "hora de publicación del vídeo",
                     "heure de publication de la vidéo", "horário de publicação do vídeo"),
    "duration_s": ("duration", "dauer", "duración", "durée", "duração"),
    "date": ("date", "datum", "fecha", "data"),
    "views": ("views", "aufrufe", "visualizaciones", "vues", "visualizações"),
    "watch_time_h": ("watch time (hours)", "wiedergabezeit (stunden)", "tiempo de visualización (horas)",
                     "durée de visionnage (heures)", "tempo de exibição (horas)"),
    "avg_view_duration_s": ("average view duration", "durchschnittliche wiedergabedauer",
                            "duración media de las visualizaciones", "durée moyenne de visionnage",
                            "duração média da visualização"),
    "subscribers": ("subscribers", "abonnenten", "suscriptores", "abonnés", "inscritos"),
    "impressions": ("impressions", "impressionen", "impresiones", "impressões"),
    "ctr_pct": ("impressions click-through rate (%)", "klickrate der impressionen (%)",
                "porcentaje de clics de las impresiones (%)", "taux de clics des impressions (%)",
                "taxa de cliques de impressões (%)"),
    "likes": ("likes", "mag ich", "me gusta", "j'aime", 'marcações "gostei"', "marcações gostei"),
    "shares": ("shares", "geteilte inhalte", "veces compartido", "partages", "compartilhamentos"),
    "comments": ("comments added", "hinzugefügte kommentare", "comentarios añadidos", "commentaires ajoutés",
                 "comentários adicionados"),
})
_REVENUE_WORDS = ("estimated revenue", "geschätzter umsatz", "ingresos estimados", "revenus estimés",
                  "receita estimada")
SPOTIFY = _aliases({
    "date": ("date", "datum", "fecha", "data"),
    "song": ("song", "title", "canción", "titre", "música", "titel"),
    "listeners": ("listeners", "hörer", "oyentes", "auditeurs", "ouvintes"),
    "streams": ("streams", "reproducciones", "écoutes", "reproduções"),
    "followers": ("followers", "follower", "seguidores", "abonnés"),
    "saves": ("saves", "gespeichert", "guardados", "enregistrements", "salvamentos"),
    "release_date": ("release_date", "release date", "veröffentlichungsdatum", "fecha de lanzamiento",
                     "date de sortie", "data de lançamento"),
})
DISTROKID = _aliases({
    "month": ("sale month",),
    "store": ("store",),
    "artist": ("artist",),
    "title": ("title",),
    "isrc": ("isrc",),
    "upc": ("upc",),
    "units": ("quantity",),
    "country": ("country of sale",),
    "revenue": ("earnings (usd)",),
})
TUNECORE = _aliases({
    "month": ("sales period",),
    "store": ("store name",),
    "country": ("country of sale",),
    "artist": ("artist",),
    "title": ("song title",),
    "upc": ("upc",),
    "external_id": ("tc song id",),
    "isrc": ("optional isrc",),
    "units": ("# units sold", "units sold"),
    "revenue": ("total earned",),
    "currency": ("currency",),
})
METRIC_FIELDS = {"views", "watch_time_h", "avg_view_duration_s", "subscribers", "impressions", "ctr_pct", "likes",
                 "shares", "comments", "streams", "listeners", "saves", "followers", "units"}


# --- values ---------------------------------------------------------------------------------------------
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+$")


def parse_number(text: str) -> float | None:
    """A figure as the platforms write it; None when empty. ValueError when it is not a number."""
    try:  # the usual plain figure first (float() passes over the same spaces strip() would)
        return float(text)
    except ValueError:
        pass
    text = text.strip()
    if not text or text in ("-", "—", "–"):
        return None
    cleaned = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("'", "")
    cleaned = cleaned.lstrip("$€£¥").rstrip("%").strip('"')
    if cleaned.startswith("(") and cleaned.endswith(")"):  # accounting negatives
        cleaned = "-" + cleaned[1:-1]
    if "," in cleaned and "." in cleaned:
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    elif "," in cleaned:
        cleaned = cleaned.replace(",", "") if _THOUSANDS.match(cleaned) else cleaned.replace(",", ".")
    return float(cleaned)


def parse_hms(text: str) -> float | None:
    """`0:03:12` or `3:12` -> seconds; a plain number is taken as seconds."""
    text = text.strip()
    if not text:
        return None
    if ":" not in text:
        return parse_number(text)
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_name) if name})


def parse_day(text: str) -> str:
    """A date as ISO `YYYY-MM-DD`. ValueError when it is not one."""
    text = text.strip().strip('"')
    if len(text) >= 10 and text[4] == "-" and text[7] == "-":
        return date.fromisoformat(text[:10]).isoformat()
    if re.match(r"^\d{4}/\d{1,2}/\d{1,2}$", text):
        y, m, d = (int(x) for x in text.split("/"))
        return date(y, m, d).isoformat()
    if re.match(r"^\d{1,2}\.\d{1,2}\.\d{4}$", text):
        d, m, y = (int(x) for x in text.split("."))
        return date(y, m, d).isoformat()
    match = re.match(r"^([A-Za-z]+)\.? (\d{1,2}),? (\d{4})$", text) or None
    if match:
        return date(int(match[3]), _MONTHS[match[1].lower()[:3]], int(match[2])).isoformat()
    match = re.match(r"^(\d{1,2}) ([A-Za-z]+)\.?,? (\d{4})$", text)
    if match:
        return date(int(match[3]), _MONTHS[match[2].lower()[:3]], int(match[1])).isoformat()
    raise ValueError(text)


_MONTH_SPANS: dict[str, tuple[str, str]] = {}


def month_span(text: str) -> tuple[str, str]:
    """`2026-03` (or `Mar 2026`, `March 2026`, `2026-03-15`) -> ("2026-03-01", "2026-03-31")."""
    span = _MONTH_SPANS.get(text)
    if span is not None:
        return span
    value = text.strip()
    match = re.match(r"^(\d{4})-(\d{1,2})(-\d{1,2})?$", value)
    if match:
        year, month = int(match[1]), int(match[2])
    else:
        match = re.match(r"^([A-Za-z]+)\.?,? (\d{4})$", value)
        if not match or match[1].lower()[:3] not in _MONTHS:
            raise ValueError(text)
        year, month = int(match[2]), _MONTHS[match[1].lower()[:3]]
    if not 1 <= month <= 12:
        raise ValueError(text)
    last = calendar.monthrange(year, month)[1]
    span = (date(year, month, 1).isoformat(), date(year, month, last).isoformat())
    _MONTH_SPANS[text] = span
    return span


# --- reading ----------------------------------------------------------------------------------------------
def _name(filename: str) -> str:
    return PureWindowsPath(PurePosixPath(str(filename or "")).name).name or "upload"


def _text(data: bytes, filename: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


class _Table:
    """A delimited file: its header and data rows with their physical line numbers and text."""

    def __init__(self, text: str, filename: str, delimiter: str | None = None) -> None:
        self.file = filename
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        self.lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        while self.lines and not self.lines[0].strip():
            self.lines.pop(0)
        if not self.lines:
            raise StatsFileError(f"{filename} is empty")
        first = self.lines[0]
        self.delimiter = delimiter or ("\t" if first.count("\t") > first.count(",") else
                                       ";" if first.count(";") > first.count(",") else ",")
        self.header = next(csv.reader([first], delimiter=self.delimiter))
        self.keys = [_norm(h) for h in self.header]
        # No carriage return left inside a line and no NUL (csv has its own way with both): then a line
        # without a quote reads the same split at its delimiters as through csv (see rows)
        self.plain = "\x00" not in text and ("\r" not in text or text.count("\r") == text.count("\r\n"))

    def rows(self):
        """(line number, raw text, cells) for each data row; blank lines are passed over.

        A line without a quote is cut at its delimiters with str.split (csv.reader takes half as long
        again); the others go through csv, where a quoted cell may run over several lines."""
        lines, delimiter = self.lines, self.delimiter
        width = len(self.header)
        total = len(lines)
        feed = _Feed(lines)
        reader = csv.reader(feed, delimiter=delimiter)
        plain, limit = self.plain, csv.field_size_limit()  # a longer line goes to csv, which refuses it
        at = 1  # the next line to read
        while at < total:
            raw = lines[at]
            if plain and '"' not in raw and len(raw) <= limit:
                cells = raw.split(delimiter)
                at += 1
            else:
                feed.at = at
                cells = next(reader)  # reads on while a quoted cell is open
                if feed.at > at + 1:
                    raw = "\n".join(lines[at:feed.at])
                at = feed.at
            line = at  # the row's last line, counted from 1
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if len(cells) < width:
                if line >= total or raw.count('"') % 2:
                    raise StatsFileError(f"{self.file}, line {line}: the file is cut short (the row has {len(cells)} "
                                         f"of {width} columns); download it again")
                raise StatsFileError(f"{self.file}, line {line}: {len(cells)} columns where the header has {width}")
            if line >= total and raw.count('"') % 2:
                raise StatsFileError(f"{self.file}, line {line}: the file is cut short (a quote is not closed); "
                                     "download it again")
            yield line, raw, cells


class _Feed:
    """The table's lines from `at` on, for csv.reader, which takes just the lines of one row at each
    call (more when a quoted cell runs over several); `at` is then the line after the row."""

    __slots__ = ("lines", "at")

    def __init__(self, lines: list[str]) -> None:
        self.lines, self.at = lines, 0

    def __iter__(self) -> "_Feed":
        return self

    def __next__(self) -> str:
        at = self.at
        if at >= len(self.lines):
            raise StopIteration
        self.at = at + 1
        return self.lines[at]


def _mapping(table: _Table, aliases: dict[str, str]) -> tuple[dict[int, str], dict[str, str], list[str]]:
    """column index -> canonical field; header -> field (for the preview); headers left in `extra`."""
    index: dict[int, str] = {}
    mapped: dict[str, str] = {}
    unmapped: list[str] = []
    for i, (header, key) in enumerate(zip(table.header, table.keys)):
        canonical = aliases.get(key)
        if canonical is None and aliases is YOUTUBE and any(w in key for w in _REVENUE_WORDS):
            canonical = "revenue"
        if canonical is not None and canonical not in index.values():
            index[i] = canonical
            mapped[header.replace("\ufeff", "").strip()] = canonical
        else:
            unmapped.append(header.replace("\ufeff", "").strip())
    return index, mapped, unmapped


def _currency_of(header: str) -> str | None:
    match = re.search(r"\(([A-Z]{3})\)", header)
    return match[1] if match else None


_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\s*(?:_|–|—|-|to)\s*(\d{4}-\d{2}-\d{2})")
_RELATIVE = re.compile(r"[-_ ](\d+)\s*(days?|months?|years?)\b", re.I)


def window_from_name(filename: str, *, relative: bool) -> tuple[str | None, str | None]:
    match = _RANGE.search(filename)
    if match:
        return match[1], match[2]
    if relative:
        match = _RELATIVE.search(filename)
        if match:
            n, unit = int(match[1]), match[2].lower()
            days = n * (365 if unit.startswith("year") else 30 if unit.startswith("month") else 1)
            end = datetime.now(timezone.utc).date() - timedelta(days=1)
            return (end - timedelta(days=days - 1)).isoformat(), end.isoformat()
    return None, None


def _bad(table: _Table, line: int, header: str, value: str, what: str) -> StatsFileError:
    return StatsFileError(f"{table.file}, line {line}, column '{header}': {value!r} is not {what}")


def _extra(table: _Table, index: dict[int, str], cells: list[str]) -> dict[str, str]:
    return {table.header[i].replace("\ufeff", "").strip(): cells[i] for i in range(len(table.header))
            if i not in index and i < len(cells) and cells[i] != ""}


# --- formats -------------------------------------------------------------------------------------------------
def detect_format(data: bytes, filename: str) -> str:
    """The format of a file, from its content (and name for Spotify's song timeline)."""
    name = _name(filename)
    if data[:4] == b"PK\x03\x04":
        return "youtube_studio_zip"
    table = _Table(_text(data, name), name)
    return _detect(table, name)


def _detect(table: _Table, name: str) -> str:
    keys = set(table.keys)
    if {"sale month", "store"} <= keys and any(k.startswith("earnings") for k in keys):
        return "distrokid_v2" if keys & {"date inserted", "source type", "recoup (usd)"} else "distrokid_v1"
    if {"sales period", "store name"} <= keys and "total earned" in keys:
        return "tunecore"
    mapped_yt = {YOUTUBE.get(k) for k in keys} - {None}
    if "content" in mapped_yt:
        return "youtube_studio_chart" if "date" in mapped_yt else "youtube_studio_table"
    spotify = {SPOTIFY.get(k) for k in keys} - {None}
    if "date" in spotify and "followers" in spotify:
        return "spotify_audience"
    if "song" in spotify and "streams" in spotify:
        return "spotify_songs"
    if "date" in spotify and "streams" in spotify:
        return "spotify_song_timeline"
    if "date" in mapped_yt and mapped_yt & {"views", "watch_time_h", "revenue", "subscribers", "likes"} or (
            "date" in mapped_yt and any(any(w in k for w in _REVENUE_WORDS) for k in keys)):
        return "youtube_studio_totals"
    shown = ", ".join(h.strip() for h in table.header[:8])
    raise StatsFileError(f"{name} is not a YouTube Studio, Spotify for Artists, DistroKid or TuneCore export "
                         f"(its columns are: {shown}); export it again from the service, see Analytics > Imports")


def iter_stats_file(data: bytes, filename: str, *, chunk_rows: int = 5000) -> tuple[ParsedStats, Iterator[list[StatRow]]]:
    """The file's description (`rows` empty; `window` None for a statement, known only once read)
    and its rows in chunks as they are read: a statement of hundreds of thousands of rows is stored
    while it is still being read. A bad row raises StatsFileError when its chunk is reached."""
    name = _name(filename)
    if data and data[:4] != b"PK\x03\x04":
        table = _Table(_text(data, name), name)
        kind = _detect(table, name)
        if kind.startswith("distrokid") or kind == "tunecore":
            source, aliases = ("tunecore", TUNECORE) if kind == "tunecore" else ("distrokid", DISTROKID)
            mapped, unmapped, rows = _statement_rows(table, kind, source, aliases)
            header = ParsedStats(source=source, format=kind, rows=[], mapped=mapped, unmapped=unmapped,
                                 window=(None, None), skipped=[])
            return header, _chunks(rows, chunk_rows)
    parsed = parse_stats_file(data, filename)
    return dataclasses.replace(parsed, rows=[]), iter([parsed.rows])


def _chunks(rows: Iterator[StatRow], size: int) -> Iterator[list[StatRow]]:
    # islice draws the rows in C: no Python step per row here
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


def parse_stats_file(data: bytes, filename: str) -> ParsedStats:
    name = _name(filename)
    if not data:
        raise StatsFileError(f"{name} is empty")
    if data[:4] == b"PK\x03\x04":
        return _youtube_zip(data, name)
    table = _Table(_text(data, name), name)
    kind = _detect(table, name)
    if kind.startswith("distrokid"):
        return _statement(table, kind, "distrokid", DISTROKID)
    if kind == "tunecore":
        return _statement(table, kind, "tunecore", TUNECORE)
    if kind.startswith("spotify"):
        return _spotify(table, kind, name)
    return _youtube(table, kind, name, window_from_name(name, relative=False))


def _statement(table: _Table, kind: str, source: str, aliases: dict[str, str]) -> ParsedStats:
    mapped, unmapped, stream = _statement_rows(table, kind, source, aliases)
    rows = list(stream)
    first = min((r.start_day for r in rows), default=None)
    last = max((r.end_day for r in rows), default=None)
    return ParsedStats(source=source, format=kind, rows=rows, mapped=mapped, unmapped=unmapped,
                       window=(first, last), skipped=[])


def _statement_rows(table: _Table, kind: str, source: str,
                    aliases: dict[str, str]) -> tuple[dict[str, str], list[str], Iterator[StatRow]]:
    """A statement's mapping and its rows, read lazily (columns are checked at once)."""
    index, mapped, unmapped = _mapping(table, aliases)
    where = {field: i for i, field in index.items()}
    for needed in ("month", "revenue"):
        if needed not in where:
            raise StatsFileError(f"{table.file}: no '{'Sale Month' if needed == 'month' else 'Earnings (USD)'}' column")
    month_i, revenue_i = where["month"], where["revenue"]
    store_i, artist_i, title_i = where.get("store"), where.get("artist"), where.get("title")
    isrc_i, upc_i, country_i = where.get("isrc"), where.get("upc"), where.get("country")
    units_i, currency_i, ext_i = where.get("units"), where.get("currency"), where.get("external_id")
    default_currency = _currency_of(table.header[revenue_i]) or ("USD" if source == "distrokid" else None)
    extra_i = [i for i in range(len(table.header)) if i not in index]
    extra_names = [table.header[i].replace("\ufeff", "").strip() for i in extra_i]
    return mapped, unmapped, _statement_read(table, source, month_i, revenue_i, store_i, artist_i, title_i, isrc_i,
                                             upc_i, country_i, units_i, currency_i, ext_i, default_currency,
                                             extra_i, extra_names)


def _statement_read(table, source, month_i, revenue_i, store_i, artist_i, title_i, isrc_i, upc_i, country_i, units_i,
                    currency_i, ext_i, default_currency, extra_i, extra_names) -> Iterator[StatRow]:
    # A statement runs to hundreds of thousands of rows: this loop is a good part of an import's time,
    # hence the local names, `extra` built by C code and the positional StatRow (a keyword call of 19
    # fields costs three times a positional one).
    file, header = table.file, table.header
    # the cells left in `extra`, as a tuple (itemgetter gives a tuple for two indexes or more)
    pick = operator.itemgetter(*extra_i) if len(extra_i) > 1 else lambda cells: tuple(cells[i] for i in extra_i)
    spans: dict[str, tuple[str, str]] = {}  # a statement has a few months: month_span once for each
    for line, raw, cells in table.rows():
        month = cells[month_i]
        span = spans.get(month)
        if span is None:
            try:
                span = spans[month] = month_span(month)
            except (ValueError, KeyError):
                raise _bad(table, line, header[month_i], month, "a month like 2026-03") from None
        start, end = span
        # figures: float() first, as parse_number does, without a call for the plain ones
        text = cells[revenue_i]
        try:
            revenue = float(text)
        except ValueError:
            try:
                revenue = parse_number(text)
            except ValueError:
                raise _bad(table, line, header[revenue_i], text, "an amount") from None
        metrics: dict[str, float] = {}
        if units_i is not None and (text := cells[units_i]):
            try:
                metrics["units"] = float(text)
            except ValueError:
                try:
                    units = parse_number(text)
                except ValueError:
                    raise _bad(table, line, header[units_i], text, "a number") from None
                if units is not None:
                    metrics["units"] = units
        country = cells[country_i].strip() if country_i is not None else ""
        store = cells[store_i].strip() if store_i is not None else ""
        currency = (cells[currency_i].strip() or default_currency) if currency_i is not None else default_currency
        values = pick(cells)  # kept with their header when not empty
        extra = dict(zip(extra_names, values)) if "" not in values else {
            name: value for name, value in zip(extra_names, values) if value}
        yield StatRow(line, file, raw, "item", start, end, store or source,  # line .. platform
                      (cells[ext_i].strip() or None) if ext_i is not None else None,  # external_id
                      (cells[isrc_i].strip() or None) if isrc_i is not None else None,
                      (cells[upc_i].strip() or None) if upc_i is not None else None,
                      (cells[title_i].strip() or None) if title_i is not None else None,
                      (cells[artist_i].strip() or None) if artist_i is not None else None,
                      None if country in ("", "OU") else country, None, None,  # country, published_at, duration_s
                      metrics, revenue, currency, extra)


def _figures(table: _Table, index: dict[int, str], cells: list[str], line: int) -> tuple[dict[str, float], float | None]:
    metrics: dict[str, float] = {}
    revenue = None
    for i, canonical in index.items():
        if canonical in METRIC_FIELDS or canonical == "revenue":
            text = cells[i]
            try:
                value = parse_hms(text) if canonical == "avg_view_duration_s" else parse_number(text)
            except ValueError:
                raise _bad(table, line, table.header[i], text, "a number") from None
            if value is None:
                continue
            if canonical == "revenue":
                revenue = value
            else:
                metrics[canonical] = value
    return metrics, revenue


def _youtube(table: _Table, kind: str, name: str, window: tuple[str | None, str | None]) -> ParsedStats:
    index, mapped, unmapped = _mapping(table, YOUTUBE)
    where = {field: i for i, field in index.items()}
    currency = _currency_of(table.header[where["revenue"]]) if "revenue" in where else None
    rows: list[StatRow] = []
    skipped: list[str] = []
    days: list[str] = []
    for line, raw, cells in table.rows():
        content = cells[where["content"]].strip() if "content" in where else ""
        if content.lower() in ("total", "gesamt", "insgesamt", "totales", "total général"):
            skipped.append(f"{table.file}, line {line}: the Total row (the sum of the rows below)")
            continue
        metrics, revenue = _figures(table, index, cells, line)
        if "date" in where:
            try:
                start = end = parse_day(cells[where["date"]])
            except (ValueError, KeyError):
                raise _bad(table, line, table.header[where["date"]], cells[where["date"]], "a date") from None
            days.append(start)
        else:
            start, end = window
            if start is None:
                raise StatsFileError(f"{table.file}: its dates are not in the file (YouTube puts them in the zip's "
                                     "name, 'Content 2026-01-01_2026-03-31 …'): import the whole zip, or put the "
                                     "range in this file's name")
        published = None
        if "published_at" in where and cells[where["published_at"]].strip():
            text = cells[where["published_at"]].strip()
            try:
                published = parse_day(text)
            except (ValueError, KeyError):
                published = text  # keep what YouTube wrote (e.g. with a time); it is shown, not computed on
        duration = None
        if "duration_s" in where and cells[where["duration_s"]].strip():
            try:
                duration = parse_hms(cells[where["duration_s"]])
            except ValueError:
                raise _bad(table, line, table.header[where["duration_s"]], cells[where["duration_s"]],
                           "a duration") from None
        rows.append(StatRow(
            line=line, file=table.file, raw=raw, scope="item" if content else "total", start_day=start, end_day=end,
            platform="youtube", external_id=content or None, isrc=None, upc=None,
            title=(cells[where["title"]].strip() or None) if "title" in where else None, artist=None, country=None,
            published_at=published, duration_s=duration, metrics=metrics, revenue=revenue,
            currency=currency if revenue is not None else None, extra=_extra(table, index, cells)))
    if days and window[0] is None:
        window = (min(days), max(days))
    return ParsedStats(source="youtube_studio", format=kind, rows=rows, mapped=mapped, unmapped=unmapped,
                       window=window, skipped=skipped)


def _youtube_zip(data: bytes, name: str) -> ParsedStats:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = {PurePosixPath(m).name.lower(): m for m in archive.namelist() if not m.endswith("/")}
    except zipfile.BadZipFile:
        raise StatsFileError(f"{name} is not a readable zip (download it again)") from None
    wanted = [n for n in ("chart data.csv", "totals.csv", "table data.csv") if n in members]
    if not wanted:
        raise StatsFileError(f"{name} has no 'Table data.csv', 'Chart data.csv' or 'Totals.csv': export it from "
                             "YouTube Studio > Analytics > Advanced mode > Export current view")
    window = window_from_name(name, relative=False)
    parts: list[ParsedStats] = []
    for member in wanted:  # dated files first: they give the window when the name has none
        if archive.getinfo(members[member]).file_size > MAX_MEMBER_BYTES:  # a zip bomb, not an export
            raise StatsFileError(f"{name}: '{members[member]}' unpacks to more than {MAX_MEMBER_BYTES // 2**20} MB, "
                                 "more than any YouTube Studio export")
        try:
            raw = archive.read(members[member])
        except (zipfile.BadZipFile, OSError, EOFError):
            raise StatsFileError(f"{name}: '{members[member]}' cannot be read (download the zip again)") from None
        table = _Table(_text(raw, member), PurePosixPath(members[member]).name)
        kind = _detect(table, table.file)
        if not kind.startswith("youtube_studio"):
            raise StatsFileError(f"{name}: '{table.file}' is not a YouTube Studio table")
        part = _youtube(table, kind, table.file, window)
        parts.append(part)
        if window[0] is None and part.window[0] is not None:
            window = part.window
    mapped: dict[str, str] = {}
    unmapped: list[str] = []
    for part in parts:
        mapped.update(part.mapped)
        unmapped += [h for h in part.unmapped if h not in unmapped]
    # A per-video daily chart and the table over the window hold the same figures: keep the finer one.
    chart_items = any(p.format == "youtube_studio_chart" for p in parts)
    rows = [r for p in parts if not (chart_items and p.format == "youtube_studio_table") for r in p.rows]
    # The channel's daily rows of Chart data.csv and Totals.csv are the same days: one row a day, with
    # the figures of both (counted once).
    by_day: dict[tuple, StatRow] = {}
    merged: list[StatRow] = []
    for row in rows:
        if row.scope != "total":
            merged.append(row)
            continue
        first = by_day.get((row.start_day, row.end_day))
        if first is None:
            by_day[(row.start_day, row.end_day)] = row
            merged.append(row)
            continue
        first.metrics = {**row.metrics, **first.metrics}
        if first.revenue is None and row.revenue is not None:
            first.revenue, first.currency = row.revenue, row.currency
    rows = merged
    skipped = [s for p in parts for s in p.skipped]
    if chart_items and any(p.format == "youtube_studio_table" for p in parts):
        skipped.append("Table data.csv: the per-video totals repeat Chart data.csv's daily rows; the daily rows count")
    return ParsedStats(source="youtube_studio", format="youtube_studio_zip", rows=rows, mapped=mapped,
                       unmapped=unmapped, window=window, skipped=skipped)


def _spotify(table: _Table, kind: str, name: str) -> ParsedStats:
    index, mapped, unmapped = _mapping(table, SPOTIFY)
    where = {field: i for i, field in index.items()}
    window = window_from_name(name, relative=True)
    title = None
    if kind == "spotify_song_timeline":
        stem = re.sub(r"\.csv$", "", name, flags=re.I)
        title = re.split(r"[-_ ]timeline", stem, maxsplit=1, flags=re.I)[0].strip(" -_") or None
        if not title:
            raise StatsFileError(f"{name}: a song's timeline carries the song's title in its file name "
                                 "('<title>-timeline.csv'); rename the file")
    rows: list[StatRow] = []
    days: list[str] = []
    for line, raw, cells in table.rows():
        metrics, _ = _figures(table, index, cells, line)
        if "date" in where:
            try:
                start = end = parse_day(cells[where["date"]])
            except (ValueError, KeyError):
                raise _bad(table, line, table.header[where["date"]], cells[where["date"]], "a date") from None
            days.append(start)
        else:
            start, end = window
            if start is None:
                raise StatsFileError(f"{name}: the days these figures cover are not in the file name; name it like "
                                     "'songs-28days.csv' or 'songs 2026-01-01_2026-03-31.csv'")
        song = cells[where["song"]].strip() if "song" in where else title
        released = None
        if "release_date" in where and cells[where["release_date"]].strip():
            try:
                released = parse_day(cells[where["release_date"]])
            except (ValueError, KeyError):
                raise _bad(table, line, table.header[where["release_date"]], cells[where["release_date"]],
                           "a date") from None
        rows.append(StatRow(
            line=line, file=table.file, raw=raw, scope="total" if kind == "spotify_audience" else "item",
            start_day=start, end_day=end, platform="spotify", external_id=None, isrc=None, upc=None,
            title=None if kind == "spotify_audience" else (song or None), artist=None, country=None,
            published_at=released, duration_s=None, metrics=metrics, revenue=None, currency=None,
            extra=_extra(table, index, cells)))
    if days and window[0] is None:
        window = (min(days), max(days))
    return ParsedStats(source="spotify_artists", format=kind, rows=rows, mapped=mapped, unmapped=unmapped,
                       window=window, skipped=[])
