"""Community messages from files people already have: history to import, and platforms without an API.

Formats read (recognised by content, not by the file name; UTF-8 with or without a BOM, or UTF-16
with a BOM):
- DiscordChatExporter JSON (one channel per file): `{"guild": {"id", "name"}, "channel": {"id", "type",
  "name", ...}, "messages": [{"id", "type" ("Default", "Reply"; others are join/pin/call notices),
  "timestamp" (ISO 8601 with offset), "content", "author": {"id", "name", "nickname", "isBot"},
  "reactions": [{"emoji": {...}, "count"}], "mentions": [user], "reference": {"messageId", "channelId"}}],
  "messageCount"}`.
- Telegram Desktop's `result.json`, one chat (`{"name", "type", "id", "messages": [...]}`) or the whole
  account (`{"personal_information": {"user_id"}, "chats": {"list": [chat]}, "left_chats": {"list": [chat]}}`);
  message = `{"id", "type" ("message" | "service"), "date" (local time, no offset), "date_unixtime",
  "from", "from_id" ("user123" | "channel123"), "text" (a string, or a list of strings and
  `{"type", "text"}` entity objects), "reply_to_message_id", "reactions": [{"emoji", "count"}]}`.
  Chat ids are turned into the Bot API's (supergroups and channels -100…, basic groups negative) so
  a chat imported from a file and read by the bot is one chat, and its messages are not counted twice.
- Plain CSV with a header row (names case-insensitive; `,` `;` or tab): `platform, author, time, text`
  and optionally `id, channel, reply_to, reactions, author_id`. `time` is ISO 8601 or
  `YYYY-MM-DD HH:MM[:SS]`; a time without an offset is read as UTC. A row without an id gets a stable
  one (a short hash of platform, channel, author, time and text) so importing the file again adds nothing.

Every message carries `imported_from=filename`. Imported history is addressed to no one
(`mentions_bot` stays False): an import fills the archive, not the "needs reply" queue. Messages
without text (stickers, attachments only) and notices (joins, pins) are counted in `skipped`.
A file that cannot be read raises `MessageFileError` naming the line (CSV) or the JSON path and
what to fix.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from studio.connectors.messages import PLATFORMS, InboundMessage
from studio.gc_pause import collector_paused

DISCORD_KINDS = {"Default", "Reply"}  # DiscordChatExporter's names for messages people wrote
# Telegram Desktop chat types whose Bot API id is -100 followed by the exported id
_TELEGRAM_CHANNEL_TYPES = {"private_supergroup", "public_supergroup", "private_channel", "public_channel"}
CSV_DEFAULT_CHANNEL = "imported"
READ_FORMATS = ("DiscordChatExporter JSON, Telegram Desktop's result.json (JSON), or a CSV file with the "
                "columns platform, author, time, text")
_CSV_COLUMNS = {  # the column a header names, by its accepted spellings
    "platform": ("platform",),
    "author": ("author", "user", "username", "from"),
    "time": ("time", "timestamp", "date", "sent_at", "datetime"),
    "text": ("text", "message", "content", "body"),
    "id": ("id", "message_id"),
    "channel": ("channel", "channel_id", "chat"),
    "reply_to": ("reply_to", "reply_to_id", "in_reply_to"),
    "reactions": ("reactions", "likes"),
    "author_id": ("author_id", "user_id"),
}
_CSV_REQUIRED = ("platform", "author", "time", "text")


class MessageFileError(ValueError):
    """The file is not one the studio reads, or is damaged; the text says where and what to fix."""


@dataclass
class ParsedMessages:
    format: str  # discord_chat_exporter | telegram_export | csv
    platform: str  # discord | telegram | youtube, or "mixed" for a CSV naming several
    messages: list[InboundMessage]
    skipped: int  # entries that are not messages someone wrote (notices, stickers, empty text)
    channel_name: str | None  # the one channel or chat the file holds, None when several


def parse_messages_file(data: bytes, filename: str) -> ParsedMessages:
    """The messages in an export file; MessageFileError when it is none of the formats read or is damaged."""
    with collector_paused():  # a large export is millions of dicts and lists at once
        return _parse(data, filename)


def _parse(data: bytes, filename: str) -> ParsedMessages:
    text = _decode(data, filename)
    start = text.lstrip()[:1]
    if not start:
        raise MessageFileError(f"{filename} is empty: the studio reads {READ_FORMATS}")
    if start in "{[":
        doc = _load_json(text, filename)
        if isinstance(doc, dict) and isinstance(doc.get("guild"), dict) and "channel" in doc:
            return _discord(doc, filename)
        if isinstance(doc, dict) and ("chats" in doc or ("messages" in doc and "type" in doc)):
            return _telegram(doc, filename)
        raise MessageFileError(f"{filename} is JSON but neither a DiscordChatExporter export (with guild, channel "
                               f"and messages) nor a Telegram Desktop export (result.json with messages or chats): "
                               f"the studio reads {READ_FORMATS}")
    return _csv(text, filename)


# -- decoding ---------------------------------------------------------------------------------------

def _decode(data: bytes, filename: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise MessageFileError(f"{filename} starts like UTF-16 text but is damaged: save it again "
                                   f"as UTF-8") from None
    try:
        return data.decode("utf-8-sig")  # a BOM is dropped
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise MessageFileError(f"{filename} is not UTF-8 text (line {line}, byte {exc.start}): save or export it "
                               f"as UTF-8 (in a spreadsheet: 'CSV UTF-8')") from None


def _load_json(text: str, filename: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        content = text.rstrip()
        # the parser ran out of text: a string left open, or a value/bracket missing at the very end
        if exc.msg.startswith("Unterminated string") or exc.pos >= len(content):
            raise MessageFileError(f"{filename} ends in the middle of the JSON (it stops at line "
                                   f"{content.count(chr(10)) + 1}): the file is cut off; export it again or copy "
                                   f"the whole file") from None
        raise MessageFileError(f"{filename} is not valid JSON: {exc.msg} at {where}; export it again "
                               f"without editing it") from None


# -- DiscordChatExporter ----------------------------------------------------------------------------

def _discord(doc: dict, filename: str) -> ParsedMessages:
    guild = doc["guild"]
    channel = doc.get("channel")
    if not isinstance(channel, dict) or _id(channel.get("id")) is None:
        raise MessageFileError(f"{filename}: channel.id is missing; export the channel again with "
                               f"DiscordChatExporter (format: JSON)")
    channel_id = _id(channel["id"])
    channel_name = _str(channel.get("name"))
    guild_id = _id(guild.get("id"))
    guild_name = _str(guild.get("name"))
    link_guild = "@me" if guild_id in (None, "0") else guild_id  # DMs are exported under a guild "0"
    messages = doc.get("messages")
    if not isinstance(messages, list):
        raise MessageFileError(f"{filename}: 'messages' is missing or not a list; export the channel again "
                               f"with DiscordChatExporter (format: JSON)")
    out: list[InboundMessage] = []
    skipped = 0
    for index, item in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(item, dict):
            raise MessageFileError(f"{filename}: {where} is not a message object")
        kind = item.get("type", "Default")
        content = item.get("content")
        if kind not in DISCORD_KINDS or not isinstance(content, str) or not content.strip():
            skipped += 1
            continue
        message_id = _id(item.get("id"))
        if message_id is None:
            raise MessageFileError(f"{filename}: {where}.id is missing; export the channel again")
        sent_at = _iso_time(item.get("timestamp"))
        if sent_at is None:
            raise MessageFileError(f"{filename}: {where}.timestamp {item.get('timestamp')!r} is not an ISO 8601 "
                                   f"date and time; export the channel again")
        author = item.get("author")
        author_id = _id(author.get("id")) if isinstance(author, dict) else None
        if author_id is None:
            raise MessageFileError(f"{filename}: {where}.author.id is missing; export the channel again")
        reference = item.get("reference") if isinstance(item.get("reference"), dict) else {}
        reply_to = _id(reference.get("messageId"))
        if reply_to is not None and _id(reference.get("channelId")) not in (None, channel_id):
            reply_to = None  # a crosspost or a forward: the message answered lives elsewhere
        out.append(InboundMessage(
            platform="discord",
            channel_id=channel_id,
            message_id=message_id,
            author_id=author_id,
            author_name=_str(author.get("nickname")) or _str(author.get("name")) or author_id,
            text=content,
            sent_at=sent_at,
            channel_name=channel_name,
            reply_to_id=reply_to,
            author_is_bot=bool(author.get("isBot")),
            reactions=_reaction_count(item.get("reactions")),
            imported_from=filename,
            url=f"https://discord.com/channels/{link_guild}/{channel_id}/{message_id}",
            extra={"guild_id": guild_id, "guild_name": guild_name},
        ))
    return ParsedMessages("discord_chat_exporter", "discord", out, skipped, channel_name)


# -- Telegram Desktop --------------------------------------------------------------------------------

def _telegram(doc: dict, filename: str) -> ParsedMessages:
    if "chats" in doc:  # the whole account
        me = doc.get("personal_information")
        self_id = _id(me.get("user_id")) if isinstance(me, dict) else None
        chats: list[tuple[str, Any]] = []
        for key in ("chats", "left_chats"):
            section = doc.get(key)
            if section is None and key == "left_chats":
                continue
            listed = section.get("list") if isinstance(section, dict) else None
            if not isinstance(listed, list):
                raise MessageFileError(f"{filename}: '{key}.list' is missing or not a list; export again from "
                                       f"Telegram Desktop (Settings > Advanced > Export Telegram data, format JSON)")
            chats.extend((f"{key}.list[{i}].", chat) for i, chat in enumerate(listed))
    else:  # one chat
        self_id = None
        chats = [("", doc)]
    out: list[InboundMessage] = []
    skipped = 0
    names: list[str | None] = []
    for path, chat in chats:
        if not isinstance(chat, dict):
            raise MessageFileError(f"{filename}: {path.rstrip('.') or 'the file'} is not a chat object")
        messages = chat.get("messages")
        if not isinstance(messages, list):
            raise MessageFileError(f"{filename}: '{path}messages' is missing or not a list; export the chat "
                                   f"again from Telegram Desktop (format: JSON)")
        chat_type = _str(chat.get("type")) or ""
        if chat_type == "saved_messages":  # the user's own notes, not a community
            skipped += len(messages)
            continue
        export_id = _id(chat.get("id"))
        if export_id is None:
            raise MessageFileError(f"{filename}: '{path}id' is missing; export the chat again from Telegram Desktop")
        channel_id = _bot_api_chat_id(export_id, chat_type)
        chat_name = _str(chat.get("name"))
        names.append(chat_name)
        extra = {"chat_type": chat_type, "export_chat_id": export_id}
        for index, item in enumerate(messages):
            where = f"{path}messages[{index}]"
            if not isinstance(item, dict):
                raise MessageFileError(f"{filename}: {where} is not a message object")
            if item.get("type") != "message":
                skipped += 1
                continue
            text = _telegram_text(item.get("text"))
            if not text.strip():
                skipped += 1  # a sticker, a photo without caption, a poll
                continue
            message_id = _id(item.get("id"))
            if message_id is None:
                raise MessageFileError(f"{filename}: {where}.id is missing; export the chat again")
            sent_at = _telegram_time(item)
            if sent_at is None:
                raise MessageFileError(f"{filename}: {where} has no readable date (date_unixtime or date); "
                                       f"export the chat again")
            from_id = _str(item.get("from_id"))
            author_id = _bot_api_sender_id(from_id) if from_id else None
            author_name = _str(item.get("from")) or "Deleted Account"
            reply_to = _id(item.get("reply_to_message_id"))
            if reply_to is not None and item.get("reply_to_peer_id") not in (None, chat.get("id")):
                reply_to = None  # answers a message in another chat
            out.append(InboundMessage(
                platform="telegram",
                channel_id=channel_id,
                message_id=message_id,
                author_id=author_id or author_name,
                author_name=author_name,
                text=text,
                sent_at=sent_at,
                channel_name=chat_name,
                reply_to_id=reply_to,
                from_self=self_id is not None and from_id == f"user{self_id}",
                reactions=_reaction_count(item.get("reactions")),
                imported_from=filename,
                extra=extra,
            ))
    channel_name = names[0] if len(names) == 1 else None
    return ParsedMessages("telegram_export", "telegram", out, skipped, channel_name)


def _bot_api_chat_id(export_id: str, chat_type: str) -> str:
    """The Bot API's id of an exported chat: supergroups and channels -100<id>, basic groups -<id>,
    people and bots as exported."""
    if not export_id.isdigit():
        return export_id
    if chat_type in _TELEGRAM_CHANNEL_TYPES:
        return f"-100{export_id}"
    if chat_type == "private_group":
        return f"-{export_id}"
    return export_id


def _bot_api_sender_id(from_id: str) -> str:
    """`user123` -> `123` (the Bot API's user id); `channel123` -> `-100123` (its sender_chat id)."""
    if from_id.startswith("user") and from_id[4:].isdigit():
        return from_id[4:]
    if from_id.startswith("channel") and from_id[7:].isdigit():
        return f"-100{from_id[7:]}"
    return from_id


def _telegram_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # plain strings and entity objects ({"type": "bold", "text": ...})
        return "".join(part if isinstance(part, str) else str(part.get("text") or "")
                       for part in value if isinstance(part, (str, dict)))
    return ""


def _telegram_time(item: dict) -> datetime | None:
    unix = item.get("date_unixtime")
    if unix is not None:
        try:
            return datetime.fromtimestamp(int(unix), UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            return None
    try:  # older exports: the exporting computer's local time, without an offset
        local = datetime.fromisoformat(str(item.get("date")))
    except ValueError:
        return None
    return local.astimezone(UTC)  # a naive time is taken as this computer's local time


# -- CSV -----------------------------------------------------------------------------------------------

def _csv(text: str, filename: str) -> ParsedMessages:
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, [])
    columns: dict[str, int] = {}
    for position, name in enumerate(header):
        key = name.strip().lower().replace(" ", "_").replace("-", "_")
        for column, spellings in _CSV_COLUMNS.items():
            if key in spellings and column not in columns:
                columns[column] = position
    if not columns:
        raise MessageFileError(f"{filename} is not a file the studio reads: it reads {READ_FORMATS} (the first "
                               f"line of a CSV names the columns)")
    missing = [c for c in _CSV_REQUIRED if c not in columns]
    if missing:
        found = ", ".join(h.strip() for h in header if h.strip()) or "nothing"
        raise MessageFileError(f"{filename}, line 1: the header has no {', '.join(missing)} column"
                               f"{'s' if len(missing) > 1 else ''} (found: {found}); the first line must name "
                               f"the columns platform, author, time, text")
    at = [columns.get(column) for column in ("text", "platform", "author", "time", "reactions", "channel", "id",
                                             "author_id", "reply_to")]
    out: list[InboundMessage] = []
    skipped = 0
    platforms: set[str] = set()
    channels: set[str | None] = set()
    try:
        for row in reader:
            if not any(field.strip() for field in row):
                continue  # a blank line
            line = reader.line_num
            width = len(row)
            body, platform, author, raw_time, reactions_text, channel, given_id, author_id, reply_to = (
                row[i].strip() if i is not None and i < width else "" for i in at)
            if not body:
                skipped += 1
                continue
            platform = platform.lower()
            if platform not in PLATFORMS:
                shown = f"'{platform}'" if platform else "empty"
                raise MessageFileError(f"{filename}, line {line}: platform is {shown}; write one of "
                                       f"{', '.join(PLATFORMS)}")
            if not author:
                raise MessageFileError(f"{filename}, line {line}: author is empty; write who wrote the message")
            sent_at = _iso_time(raw_time)
            if sent_at is None:
                raise MessageFileError(f"{filename}, line {line}: time {raw_time!r} is not a date and time; write "
                                       f"ISO 8601 (2024-05-01T18:30:00Z) or YYYY-MM-DD HH:MM[:SS]")
            if reactions_text and not reactions_text.isdigit():
                raise MessageFileError(f"{filename}, line {line}: reactions {reactions_text!r} is not a whole "
                                       f"number; write a count such as 3, or leave it empty")
            message_id = given_id or _stable_id(platform, channel, author, sent_at, body)
            platforms.add(platform)
            channels.add(channel or None)
            out.append(InboundMessage(
                platform=platform,
                channel_id=channel or CSV_DEFAULT_CHANNEL,
                message_id=message_id,
                author_id=author_id or author,
                author_name=author,
                text=body,
                sent_at=sent_at,
                channel_name=channel or None,
                reply_to_id=reply_to or None,
                reactions=int(reactions_text) if reactions_text else 0,
                imported_from=filename,
            ))
    except csv.Error as exc:
        raise MessageFileError(f"{filename}, line {reader.line_num}: {exc}; check the quotes on that line") from None
    if not out and not skipped:
        raise MessageFileError(f"{filename} has a header but no messages below it")
    platform = next(iter(platforms)) if len(platforms) == 1 else ("mixed" if platforms else "")
    channel_name = next(iter(channels)) if len(channels) == 1 else None
    return ParsedMessages("csv", platform, out, skipped, channel_name)


def _stable_id(platform: str, channel: str, author: str, sent_at: datetime, text: str) -> str:
    """The same row gives the same id on every import, so the second import adds nothing."""
    key = "\x1f".join((platform, channel, author, sent_at.isoformat(), text)).encode("utf-8")
    return "csv-" + hashlib.blake2b(key, digest_size=8).hexdigest()


# -- shared ------------------------------------------------------------------------------------------

def _iso_time(value: Any) -> datetime | None:
    """ISO 8601 (with `Z` or an offset, or `YYYY-MM-DD HH:MM[:SS]`) as aware UTC; no offset = UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _reaction_count(value: Any) -> int:
    if not isinstance(value, list):
        return 0
    total = 0
    for reaction in value:
        count = reaction.get("count") if isinstance(reaction, dict) else None
        if isinstance(count, int) and not isinstance(count, bool) and count > 0:
            total += count
    return total


def _id(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _str(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip() or None
