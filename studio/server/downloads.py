"""Stored media files as HTTP downloads: one response shape for every family's download route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web


def ascii_filename(name: str) -> str:
    """`name` safe inside a Content-Disposition header (printable ASCII, no quotes or backslashes)."""
    return "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in name)


def file_response(path: Path, row: dict[str, Any]) -> web.FileResponse:
    """A media-store file (`row` from `services.music.library.media_file`) with its type, name and Range support."""
    return web.FileResponse(path, headers={
        "Content-Type": row["mime_type"], "Accept-Ranges": "bytes",
        "Content-Disposition": f'attachment; filename="{ascii_filename(row["display_name"] or row["id"])}"'})
