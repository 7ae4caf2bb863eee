"""What every community connector hands the community service: one message read from a platform
(or from an export file), in one shape.

A connector (discord.py, telegram.py, youtube.py's comment client, community_files.py) turns its
platform's wire format into `InboundMessage` values and its error quirks (429 + `retry_after`,
`{"ok": false, ...}`, `quotaExceeded`) into `charts.SourceError` (the one error type every
connector raises). It decides nothing else: storing, sentiment, members and replies are the
community service's work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PLATFORMS = ("discord", "telegram", "youtube")


@dataclass(frozen=True)
class InboundMessage:
    """One message or comment as the platform (or the export file) gave it.

    `channel_id` + `message_id` identify it on its platform (the pair is unique): a Discord
    channel id and message snowflake, a Telegram chat id and message id, a YouTube video id and
    comment id. Times are aware UTC."""

    platform: str  # discord | telegram | youtube
    channel_id: str
    message_id: str
    author_id: str
    author_name: str
    text: str
    sent_at: datetime
    channel_name: str | None = None
    reply_to_id: str | None = None  # the platform id of the message this one answers, same channel
    mentions_bot: bool = False  # addressed to the user (their bot or channel): a mention, a reply, a DM
    author_is_bot: bool = False
    from_self: bool = False  # written by the user's own bot/channel (our sent replies read back)
    reactions: int = 0  # reactions (Discord), likes (YouTube); 0 when the platform gives none
    reply_count: int | None = None  # replies the platform counts (YouTube totalReplyCount)
    author_joined_at: datetime | None = None  # when the platform says the author joined, if it does
    imported_from: str | None = None  # the export file's name, for messages imported from a file
    url: str | None = None  # a link to the message on its platform, when one exists
    extra: dict[str, Any] = field(default_factory=dict)  # platform details kept as they came (chat type...)
