"""Importing message history from files: DiscordChatExporter JSON, Telegram Desktop's `result.json`
export and a plain CSV (platform, author, time, text), for history and for platforms without an API.

Built by the entry object as `CommunityImports(ctx, ingest=...)`. The file is read by
`studio.connectors.community_files.parse_messages_file` (the formats and their errors are
described there) and stored through the ingest like live messages, without `community_mention`
events (history is not a to-do list: imported messages arrive `read`). Every imported message is
labelled with the file's name (`imported_from`); importing the same file again stores nothing new
(the platform's message ids, or a CSV row's stable hash, are unique per channel).

Public API:
- `preview(data, filename) -> {"file", "format", "platform", "channel_name", "total", "skipped",
  "messages": [the first PREVIEW_MESSAGES, as {"platform", "channel_id", "channel_name", "external_id",
  "author", "text", "sent_at", "reply_to_external_id", "reactions", "imported_from"}]}`.
- `async import_file(data, filename) -> {"file", "format", "platform", "total", "imported",
  "duplicates", "skipped"}`.
A file that cannot be read raises CommunityError with the parser's message (which line or message,
and what to fix).
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

from studio.connectors.community_files import MessageFileError, parse_messages_file
from studio.services.community.common import CommunityError
from studio.timeutil import iso

if TYPE_CHECKING:
    from studio.context import Context

PREVIEW_MESSAGES = 20
MAX_IMPORT_BYTES = 512 * 1024 * 1024  # DiscordChatExporter files of big servers run to hundreds of MB


def file_label(filename: str) -> str:
    """The file's own name, without the folders a browser or a client may send."""
    name = PureWindowsPath(PurePosixPath(str(filename or "")).name).name.strip()
    return name[:255] or "upload"


class CommunityImports:
    def __init__(self, ctx: "Context", *, ingest: Any) -> None:
        self.ctx = ctx
        self.ingest = ingest

    @staticmethod
    def _parse(data: bytes, filename: str):

        if not data:
            raise CommunityError(f"{filename} is empty")
        if len(data) > MAX_IMPORT_BYTES:
            raise CommunityError(f"{filename} is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
        try:
            parsed = parse_messages_file(data, filename)
        except MessageFileError as exc:
            raise CommunityError(str(exc)) from None
        # the label is the file's name whatever the parser set
        messages = [m if m.imported_from == filename else dataclasses.replace(m, imported_from=filename)
                    for m in parsed.messages]
        return parsed, messages

    def preview(self, data: bytes, filename: str) -> dict[str, Any]:
        name = file_label(filename)
        parsed, messages = self._parse(data, name)
        return {"file": name, "format": parsed.format, "platform": parsed.platform,
                "channel_name": parsed.channel_name, "total": len(messages), "skipped": parsed.skipped,
                "messages": [_preview_dict(m) for m in messages[:PREVIEW_MESSAGES]]}

    async def import_file(self, data: bytes, filename: str) -> dict[str, Any]:
        name = file_label(filename)
        parsed, messages = await asyncio.to_thread(self._parse, data, name)
        stored = await self.ingest.store_async(messages, publish=False)
        return {"file": name, "format": parsed.format, "platform": parsed.platform, "total": len(messages),
                "imported": stored.new, "duplicates": stored.duplicates, "skipped": parsed.skipped}


def _preview_dict(message) -> dict[str, Any]:
    return {"platform": message.platform, "channel_id": message.channel_id, "channel_name": message.channel_name,
            "external_id": message.message_id, "author": message.author_name, "text": message.text,
            "sent_at": iso(message.sent_at), "reply_to_external_id": message.reply_to_id,
            "reactions": message.reactions, "imported_from": message.imported_from}
