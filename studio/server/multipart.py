"""Reading multipart/form-data uploads (audio files and text fields) with a per-file size limit.

Routes turn the two errors into their family's documented error codes."""

from __future__ import annotations

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

CHUNK = 1 << 16


class FormError(ValueError):
    """The body is not a usable multipart form (wrong content type, malformed)."""

    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class FileTooLargeError(FormError):
    """One file passed the size limit; the rest of it was not read."""


async def _read_part(part: BodyPartReader, limit: int) -> bytes:
    data = bytearray()
    while True:
        chunk = await part.read_chunk(CHUNK)
        if not chunk:
            return bytes(data)
        data.extend(chunk)
        if len(data) > limit:
            raise FileTooLargeError(f"'{part.filename or part.name}' is larger than {limit / 1048576:.0f} MB, the limit "
                                    "for one file", details={"max_bytes": limit})


async def read_form(request: web.Request, file_fields: tuple[str, ...], limit: int, *,
                    example: str = "curl -F file=@song.mp3") -> tuple[list[tuple[bytes, str]], dict[str, str]]:
    """Files (bytes, filename) under `file_fields` and the other text fields of a multipart body."""
    if not request.content_type.startswith("multipart/"):
        raise FormError("send the file as multipart/form-data "
                        f"(field {' or '.join(repr(f) for f in file_fields)}), e.g. {example}",
                        details={"content_type": request.content_type or None})
    files: list[tuple[bytes, str]] = []
    fields: dict[str, str] = {}
    try:
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name in file_fields:
                files.append((await _read_part(part, limit), part.filename or "upload"))
            elif part.name:
                fields[part.name] = (await part.read(decode=True)).decode("utf-8", "replace")[:2000]
    except FormError:
        raise
    except (ValueError, AssertionError, HttpProcessingError) as exc:  # a malformed multipart body or part header
        raise FormError(f"the multipart body could not be read: {getattr(exc, 'message', None) or exc}") from None
    return files, fields
