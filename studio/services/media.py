"""Stored media files: what every area's downloads resolve through (ids, never paths)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.db.models import MediaFile

if TYPE_CHECKING:
    from studio.context import Context


def media_file(ctx: "Context", media_id: str) -> tuple[Path, dict[str, Any]]:
    """(path, row) of a stored file; KeyError for a malformed or unknown id."""
    path = ctx.store.path(media_id)  # validates the id shape: no paths can be named
    with ctx.db.session() as s:
        row = s.get(MediaFile, media_id)
        if row is None:
            raise KeyError(media_id)
        return path, {"id": row.id, "mime_type": row.mime_type, "size_bytes": row.size_bytes,
                      "display_name": row.display_name, "kind": row.kind, "job_id": row.job_id}
