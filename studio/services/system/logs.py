"""The studio's own log: written as JSON lines, read back newest first.

- `JsonLinesFormatter` is what the log file (`<data dir>/logs/studio.log`, rotated into `.1` ... `.3`)
  is written with: one JSON object per line, `{"timestamp", "level", "service", "logger", "message",
  "details"}`; `details` holds what a call passed in `extra=` (and the traceback of an exception).
  The console keeps its readable one-line format.
- `LogReader.entries` answers `GET /api/system/logs` and `GET /api/logs`: it walks the files from
  the end backwards in blocks, so asking for the newest 100 entries reads a few blocks, never the
  whole 20 MB. Lines from before the JSON format (`2024-01-15 14:25:00,123 ERROR name: message`)
  are read too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.timeutil import iso

if TYPE_CHECKING:
    from studio.context import Context

LOG_FILE_NAME = "studio.log"
LOG_MAX_BYTES = 5 << 20
LOG_BACKUP_COUNT = 3
BLOCK_BYTES = 64 << 10
MAX_LINE_BYTES = 1 << 20  # a longer line (a runaway message) is skipped, not gathered without end
MAX_DETAIL_CHARS = 4000  # one value in `details` (a traceback) is cut beyond this

# Level names the API accepts, lowest first; a filter means "this level and above".
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR,
          "critical": logging.CRITICAL}
LEVEL_ALIASES = {"warn": "warning", "fatal": "critical"}

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message", "asctime", "taskName"}
# Packages under `studio.` whose module name is the service (studio.services.music.x -> music).
_AREA_PACKAGES = {"services", "connectors"}
_LAYER_NAMES = {"server": "api", "db": "database", "ui": "ui", "engine": "engine", "jobs": "jobs", "cli": "cli"}
SERVICE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
# The format the file had before JSON lines: "%(asctime)s %(levelname)s %(name)s: %(message)s".
_PLAIN_RE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ([A-Z]+) (\S+): (.*)$")


def service_name(logger_name: str) -> str:
    """The short service a logger belongs to: `studio.services.music.generation` -> `music`,
    `studio.connectors.deezer` -> `deezer`, `studio.server.middleware` -> `api`, `studio` -> `studio`,
    and an outside library's logger its top package (`aiohttp.access` -> `aiohttp`)."""
    parts = logger_name.split(".")
    if parts[0] != "studio" or len(parts) == 1:
        return parts[0] or "root"
    if parts[1] in _AREA_PACKAGES and len(parts) > 2:
        return parts[2]
    return _LAYER_NAMES.get(parts[1], parts[1])


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)[:MAX_DETAIL_CHARS]


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record (see the module's docstring); never raises on odd `extra` values."""

    def format(self, record: logging.LogRecord) -> str:
        details = {key: _jsonable(value) for key, value in vars(record).items()
                   if key not in _STANDARD_ATTRS and not key.startswith("_")}
        if isinstance(details.get("details"), dict):  # extra={"details": {...}} reads the same as extra={...}
            details.update(details.pop("details"))
        if record.exc_info:
            details["exception"] = self.formatException(record.exc_info)[-MAX_DETAIL_CHARS:]
        elif record.exc_text:
            details["exception"] = record.exc_text[-MAX_DETAIL_CHARS:]
        entry = {
            "timestamp": iso(datetime.fromtimestamp(record.created, timezone.utc), "milliseconds"),
            "level": record.levelname.lower(),
            "service": service_name(record.name),
            "logger": record.name,
            "message": record.getMessage(),
            "details": details,
        }
        return json.dumps(entry, ensure_ascii=False, default=str)


class LogQueryError(ValueError):
    """A filter the caller can fix; `parameter` names it."""

    def __init__(self, message: str, parameter: str) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter


@dataclass(frozen=True)
class LogFilter:
    min_level: int = logging.DEBUG
    service: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    contains: str | None = None

    def matches(self, entry: dict[str, Any], at: datetime) -> bool:
        if LEVELS.get(entry["level"], logging.INFO) < self.min_level:
            return False
        if self.service is not None and entry["service"] != self.service:
            return False
        if self.until is not None and at > self.until:
            return False
        if self.contains is not None and self.contains not in entry["message"] \
                and self.contains not in json.dumps(entry["details"], default=str):
            return False
        return True


def parse_level(level: str | None) -> int:
    """The lowest level a `level` filter lets through; LogQueryError naming the accepted ones."""
    if level is None or level.strip().lower() in ("", "all"):
        return logging.DEBUG
    name = level.strip().lower()
    name = LEVEL_ALIASES.get(name, name)
    if name not in LEVELS:
        raise LogQueryError(f"level '{level[:40]}' is not a log level; use one of {', '.join(LEVELS)} or all "
                            "(a level means that level and above)", "level")
    return LEVELS[name]


def parse_time(value: str | None, parameter: str) -> datetime | None:
    """An ISO-8601 time (`2024-01-15T14:25:00Z`; without a zone it is UTC); LogQueryError otherwise."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        at = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
    except ValueError:
        raise LogQueryError(f"{parameter} '{value[:40]}' is not an ISO-8601 time; write e.g. 2024-01-15T14:25:00Z",
                            parameter) from None
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def _reverse_lines(path: Path) -> Iterator[bytes]:
    """The lines of a file, last first, read backwards in blocks (memory: one block and one line)."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return
    with handle:
        position = handle.seek(0, os.SEEK_END)
        tail = b""
        while position > 0:
            step = min(BLOCK_BYTES, position)
            position -= step
            handle.seek(position)
            block = handle.read(step) + tail
            lines = block.split(b"\n")
            tail = lines.pop(0)  # may continue in the block before
            if len(tail) > MAX_LINE_BYTES:
                tail = b""  # a giant line is dropped rather than gathered without end
            for line in reversed(lines):
                if line.strip():
                    yield line
        if tail.strip():
            yield tail


def _parse_line(line: bytes) -> tuple[dict[str, Any], datetime] | None:
    """(entry, time) of one log line, JSON or the older plain format; None for anything else
    (the plain format's traceback lines)."""
    text = line.decode("utf-8", "replace").rstrip("\r")
    if text.startswith("{"):
        try:
            data = json.loads(text)
            at = parse_time(str(data["timestamp"]), "timestamp")
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(data, dict) or at is None:
            return None
        entry = {"timestamp": data["timestamp"], "level": str(data.get("level", "info")).lower(),
                 "service": str(data.get("service") or service_name(str(data.get("logger", "")))),
                 "logger": data.get("logger"), "message": str(data.get("message", "")),
                 "details": data.get("details") if isinstance(data.get("details"), dict) else {}}
        return entry, at
    match = _PLAIN_RE.match(text)
    if match is None:
        return None
    stamp, millis, level, logger, message = match.groups()
    try:  # asctime was local time
        at = datetime.strptime(f"{stamp}.{millis}", "%Y-%m-%d %H:%M:%S.%f").astimezone(timezone.utc)
    except ValueError:
        return None
    return {"timestamp": iso(at, "milliseconds"), "level": level.lower(), "service": service_name(logger),
            "logger": logger, "message": message, "details": {}}, at


class LogReader:
    def __init__(self, ctx: "Context") -> None:
        self.ctx = ctx

    @property
    def path(self) -> Path:
        return self.ctx.settings.logs_dir / LOG_FILE_NAME

    def files(self) -> list[Path]:
        """The log and its rotated copies, newest first (studio.log, studio.log.1, ...)."""
        base = self.path
        rotated = sorted((p for p in base.parent.glob(f"{LOG_FILE_NAME}.*") if p.suffix[1:].isdigit()),
                         key=lambda p: int(p.suffix[1:]))
        return ([base] if base.exists() else []) + rotated

    def _newest_first(self) -> Iterator[tuple[dict[str, Any], datetime]]:
        for path in self.files():
            pending: list[str] = []  # plain-format traceback lines above which their record line sits
            for line in _reverse_lines(path):
                parsed = _parse_line(line)
                if parsed is None:
                    if len(pending) < 200:
                        pending.append(line.decode("utf-8", "replace"))
                    continue
                entry, at = parsed
                if pending and not entry["details"].get("exception"):
                    entry["details"]["exception"] = "\n".join(reversed(pending))[-MAX_DETAIL_CHARS:]
                pending = []
                yield entry, at

    def entries(self, *, level: str | None = None, service: str | None = None, since: str | None = None,
                until: str | None = None, limit: int = 100, offset: int = 0,
                contains: str | None = None) -> dict[str, Any]:
        """Log entries, newest first, that pass the filters: `level` and above, one `service` (None
        or "all": every one), `since`/`until` (ISO-8601, inclusive). `has_more` says whether another
        page exists. Raises LogQueryError on a filter that cannot work."""
        service_filter = (service or "").strip().lower() or None
        if service_filter == "all":
            service_filter = None
        if service_filter is not None and not SERVICE_RE.match(service_filter):
            raise LogQueryError("service must be a short name such as music, voices, api or all "
                                "(letters, digits, _ . -)", "service")
        selected = LogFilter(min_level=parse_level(level), service=service_filter,
                             since=parse_time(since, "since"), until=parse_time(until, "until"), contains=contains)
        if selected.since and selected.until and selected.since > selected.until:
            raise LogQueryError("since is later than until; give the earlier time as since", "since")
        page: list[dict[str, Any]] = []
        skipped = 0
        has_more = False
        older_in_a_row = 0
        for entry, at in self._newest_first():
            if selected.since is not None and at < selected.since:
                # Files are written in time order; a few entries out of order (threads) are tolerated.
                older_in_a_row += 1
                if older_in_a_row > 50:
                    break
                continue
            older_in_a_row = 0
            if not selected.matches(entry, at):
                continue
            if skipped < offset:
                skipped += 1
                continue
            if len(page) == limit:
                has_more = True
                break
            page.append(entry)
        return {"logs": page, "limit": limit, "offset": offset, "has_more": has_more,
                "filters": {"level": _level_label(selected.min_level), "service": service_filter or "all",
                            "since": iso(selected.since) if selected.since else None,
                            "until": iso(selected.until) if selected.until else None}}

    async def entries_async(self, **filters: Any) -> dict[str, Any]:
        """`entries` on a worker thread (reading files must not hold up the loop)."""
        return await asyncio.to_thread(lambda: self.entries(**filters))


def _level_label(min_level: int) -> str:
    return next(name for name, value in LEVELS.items() if value >= min_level)
