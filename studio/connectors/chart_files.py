"""Charts imported from a file, for platforms without an API.

Formats read (columns matched by name, case-insensitive, in any order; comma, semicolon or tab
separated; UTF-8 with or without a BOM, UTF-16 with a BOM, or Windows-1252):
- Spotify Charts CSV download: `rank, uri, artist_names, track_name, source, peak_rank,
  previous_rank, weeks_on_chart, streams` (`source` is the label; `uri` is `spotify:track:…`).
  The older spotifycharts.com download (a note line, then `Position, Track Name, Artist, Streams,
  URL`) reads through the same names.
- A hand-made list: `title` (or track / song / track_name) and optionally `artist`, `platform`, `rank`
  (or position), `tags` (or genre; split on ; | /), `streams`, `url`.
Every row becomes an entry with source="import" and chart="import:<filename>", or
"import:<filename>:<platform>" for a row that names its platform (each platform's ranks are their
own list). A bad file raises `ChartFileError` naming the line (1-based, as an editor shows it) and
the column.
"""

from __future__ import annotations

import codecs
import csv
import io
import re

from studio.connectors._http import number
from studio.connectors.charts import ChartEntry

SOURCE = "import"
HEADER_SEARCH_ROWS = 5  # the old Spotify download puts a note above the header
# role -> header names that mean it, after lower-casing and turning spaces/hyphens into "_"
COLUMNS = {
    "title": ("title", "track_name", "track", "song", "song_title", "name"),
    "artist": ("artist", "artist_names", "artists", "artist_name"),
    "rank": ("rank", "position", "pos", "#"),
    "platform": ("platform",),
    "streams": ("streams",),
    "id": ("uri", "id", "isrc"),
    "isrc": ("isrc",),
    "url": ("url", "link"),
    "tags": ("tags", "genre", "genres"),
}
SPOTIFY_COLUMNS = {"rank", "uri", "artist_names", "track_name", "streams"}


class ChartFileError(ValueError):
    def __init__(self, reason: str, *, line: int, column: str | None = None) -> None:
        where = f"line {line}" + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {reason}")
        self.reason = reason
        self.line = line
        self.column = column


def parse_chart_file(data: bytes, filename: str) -> list[ChartEntry]:
    text = _decode(data)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise ChartFileError(f"not a readable table ({exc})", line=reader.line_num or 1) from None
    rows = [(line, row) for line, row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise ChartFileError("the file is empty", line=1)
    header_at, header = _header(rows)
    names = [_normalise(cell) for cell in header]
    roles = _roles(names)
    spotify = SPOTIFY_COLUMNS <= set(names)
    entries = []
    for line, row in rows[header_at + 1:]:
        if len(row) > len(header) and any(cell.strip() for cell in row[len(header):]):
            raise ChartFileError(f"{len(row)} cells but the header names {len(header)} "
                                 "(a separator inside an unquoted name?)", line=line)
        cells = {role: row[i].strip() if i < len(row) else "" for role, i in roles.items()}
        entries.append(_entry(cells, header, roles, line, filename, spotify))
    return entries


def _entry(cells: dict, header: list[str], roles: dict, line: int, filename: str, spotify: bool) -> ChartEntry:
    def column(role: str) -> str:
        return header[roles[role]].strip()

    title = cells["title"]
    if not title:
        raise ChartFileError("the title is empty", line=line, column=column("title"))
    rank = None
    if cells.get("rank"):
        value = number(cells["rank"])
        if value is None or value < 1 or value != int(value):
            raise ChartFileError(f"rank {cells['rank']!r} is not a whole number from 1 up", line=line,
                                 column=column("rank"))
        rank = int(value)
    elif spotify:
        raise ChartFileError("the rank is empty", line=line, column=column("rank"))
    metrics = {}
    if cells.get("streams"):
        streams = number(cells["streams"])
        if streams is None or streams < 0:
            raise ChartFileError(f"streams {cells['streams']!r} is not a count", line=line, column=column("streams"))
        metrics["streams"] = streams
    artist = cells.get("artist") or None
    platform = cells.get("platform", "").lower()
    return ChartEntry(
        source=SOURCE,
        chart=f"import:{filename}" + (f":{platform}" if platform else ""),
        # without a platform id, the name is what stays the same from one import to the next
        item_id=cells.get("id") or cells.get("url") or f"{(artist or '').lower()} - {title.lower()}",
        title=title,
        artist=artist,
        rank=rank,
        url=cells.get("url") or None,
        isrc=cells.get("isrc") or None,
        tags=tuple(t.strip() for t in re.split(r"[;|/]", cells.get("tags", "")) if t.strip()),
        metrics=metrics,
    )


def _decode(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        raise ChartFileError("this is a spreadsheet workbook, not a CSV: save it as CSV first", line=1)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if b"\x00" in data:
        raise ChartFileError("this is not a text file", line=1)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ChartFileError("the text is neither UTF-8 nor Windows-1252", line=line) from None


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    return max((",", ";", "\t"), key=first.count)


def _header(rows: list[tuple[int, list[str]]]) -> tuple[int, list[str]]:
    for index, (_line, row) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if "title" in _roles([_normalise(cell) for cell in row]):
            return index, row
    raise ChartFileError("no header row naming a title column (title, track_name, track or song)",
                         line=rows[0][0])


def _roles(names: list[str]) -> dict[str, int]:
    roles = {}
    for role, accepted in COLUMNS.items():
        for alias in accepted:  # the first alias found wins, e.g. uri before isrc for the id
            if alias in names:
                roles[role] = names.index(alias)
                break
    return roles


def _normalise(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff").lower())
