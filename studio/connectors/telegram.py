"""Telegram's Bot API with the user's own bot (a token from @BotFather): the bot's identity, the
messages people send it or post where it is a member, and the replies the user approved.

Long polling with `getUpdates`: a desktop app has no public address for a webhook, and the call
returns as soon as something arrives (or after `timeout` seconds). Polling and a webhook exclude
each other, and only one program may poll a bot at a time (HTTP 409 otherwise). An update is
acknowledged by asking for `offset = last update_id + 1` next time.

Wire format (`POST {base_url}/bot<token>/<method>` with a JSON body):
- every answer is `{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description",
  "parameters"?: {"retry_after"?, "migrate_to_chat_id"?}}`, e.g. `{"ok": false, "error_code": 429,
  "description": "Too Many Requests: retry after 35", "parameters": {"retry_after": 35}}`.
- `getMe` -> `{"id", "is_bot", "first_name", "username", "can_read_all_group_messages", ...}`.
- `getUpdates {offset, timeout, allowed_updates}` -> `[{"update_id", "message" | "edited_message" |
  "channel_post" | "edited_channel_post": Message}]`; Message = `{"message_id", "date" (unix s),
  "edit_date"?, "chat": {"id", "type" (private|group|supergroup|channel), "title"?, "username"?,
  "first_name"?}, "from"?: {"id", "is_bot", "first_name", "last_name"?, "username"?},
  "sender_chat"?: Chat (channel posts, anonymous admins), "text"? + "entities"?, or "caption"? +
  "caption_entities"? (media), "reply_to_message"?: Message}`. Entity offsets and lengths count
  UTF-16 code units, not Python characters. In a forum topic every message "replies" to the topic's
  creation notice (`forum_topic_created`): that is not a reply.
- `sendMessage {chat_id, text, reply_parameters: {message_id, allow_sending_without_reply}}` -> Message.

Limits honoured when sending: about 1 message a second per chat, 20 a minute per group, 30 a second
overall; a 429 is waited out and retried once when `retry_after` ≤ 10 s. A bot in a group with
privacy mode on (the default) sees only commands, replies to it and mentions of it.

The token is part of every URL path: no URL goes into a reason, and httpx's request log line is
masked (`/bot***/`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx

from studio.connectors._http import TIMEOUT_S, number
from studio.connectors.charts import USER_AGENT, Pacer, SourceError
from studio.connectors.messages import InboundMessage

SOURCE = "telegram"
DEFAULT_URL = "https://api.telegram.org"
MESSAGE_MAX_CHARS = 4096  # counted in UTF-16 code units, as Telegram counts
RETRY_WAIT_MAX_S = 10.0  # a longer wait is handed to the caller as retry_after_s
SENDS_PER_S = 30
SENDS_PER_CHAT_PER_S = 1
SENDS_PER_GROUP_PER_MIN = 20
UPDATE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")

_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_TOKEN_IN_PATH = re.compile(r"/bot[^/\s\"']+")
_RETRY_AFTER_TEXT = re.compile(r"retry after (\d+)", re.IGNORECASE)


def redact(text: str, token: str | None = None) -> str:
    """`text` with any `/bot<token>` path segment (and the token itself, wherever it is) masked."""
    if token:
        text = text.replace(token, "***")
    return _TOKEN_IN_PATH.sub("/bot***", text)


class _RedactTokenFilter(logging.Filter):
    """httpx logs each request's full URL at INFO, and Telegram's URLs carry the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record is not ours to fix
            return True
        if "/bot" in message:
            record.msg, record.args = redact(message), ()
        return True


def _install_log_filter() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactTokenFilter) for f in logger.filters):
        logger.addFilter(_RedactTokenFilter())


_install_log_filter()


class TelegramClient:
    def __init__(self, token: str, base_url: str = DEFAULT_URL, *, timeout_s: float = TIMEOUT_S,
                 pacer: Pacer | None = None, clock=time.monotonic, sleep=asyncio.sleep) -> None:
        token = (token or "").strip()
        if not token:
            raise SourceError(SOURCE, "no bot token: create a bot with @BotFather and add its token first", fatal=True)
        if not _TOKEN.match(token):
            raise SourceError(SOURCE, "this does not look like a bot token (@BotFather gives digits, a colon and "
                                      "letters)", fatal=True)
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._clock = clock
        self._sleep = sleep
        self.pacer = pacer or Pacer(SENDS_PER_S, 1.0, clock=clock, sleep=sleep)
        self._chat_pacers: dict[str, Pacer] = {}
        self._group_pacers: dict[str, Pacer] = {}
        self._bot_id: str | None = None  # learnt by get_me
        self._bot_username: str | None = None

    def __repr__(self) -> str:  # never the token
        return f"TelegramClient(base_url={self.base_url!r})"

    async def get_me(self) -> dict:
        """The bot's identity (verifies the token): `{"id", "username", "can_read_all_group_messages"}`
        (the last is False while privacy mode is on)."""
        result = await self._call("getMe", {})
        if not isinstance(result, dict) or result.get("id") is None:
            raise SourceError(SOURCE, "the getMe answer has no bot id")
        self._bot_id = str(result["id"])
        self._bot_username = _text(result.get("username"))
        return {"id": self._bot_id, "username": self._bot_username or "",
                "can_read_all_group_messages": bool(result.get("can_read_all_group_messages"))}

    async def updates(self, offset: int | None, *, timeout_s: int = 25,
                      bot_username: str | None = None) -> tuple[list[InboundMessage], int | None]:
        """The messages that arrived since `offset` (waiting up to `timeout_s` for one) and the offset
        that acknowledges them (last update_id + 1; `offset` itself when nothing came). An edited
        message keeps its message id. `bot_username` (or the one `get_me` read) marks what is
        addressed to the bot: private chats, @mentions, replies to its messages."""
        params: dict[str, Any] = {"timeout": max(0, int(timeout_s)), "allowed_updates": list(UPDATE_KINDS)}
        if offset is not None:
            params["offset"] = int(offset)
        # the HTTP wait covers the long poll itself
        result = await self._call("getUpdates", params, timeout_s=self.timeout_s + max(0, int(timeout_s)))
        if not isinstance(result, list):
            raise SourceError(SOURCE, "the getUpdates answer is not a list")
        username = (bot_username or self._bot_username or "").lstrip("@").lower() or None
        messages: list[InboundMessage] = []
        next_offset = offset
        for update in result:
            if not isinstance(update, dict):
                continue
            update_id = update.get("update_id")
            if isinstance(update_id, int) and not isinstance(update_id, bool):
                next_offset = max(next_offset or 0, update_id + 1)
            for kind in UPDATE_KINDS:
                if isinstance(update.get(kind), dict):
                    message = _message(update[kind], kind, username, self._bot_id)
                    if message is not None:
                        messages.append(message)
        return messages, next_offset

    async def send(self, chat_id: str, text: str, *, reply_to: str | None = None) -> str:
        """Send `text` to a chat (as a reply to message `reply_to`, still sent when that message is
        gone) and return the new message's id. Paced to Telegram's limits."""
        chat = _chat_ref(chat_id)
        if not text or not text.strip():
            raise SourceError(SOURCE, "the reply is empty: nothing to send", fatal=True)
        length = _utf16_len(text)
        if length > MESSAGE_MAX_CHARS:
            raise SourceError(SOURCE, f"the reply is {length} characters long; Telegram takes at most "
                                      f"{MESSAGE_MAX_CHARS} in one message: shorten it", fatal=True)
        payload: dict[str, Any] = {"chat_id": chat, "text": text}
        if reply_to is not None:
            reply_id = number(reply_to)
            if reply_id is None or reply_id != int(reply_id):
                raise SourceError(SOURCE, f"{reply_to!r} is not a Telegram message id", fatal=True)
            payload["reply_parameters"] = {"message_id": int(reply_id), "allow_sending_without_reply": True}
        await self._pace(str(chat))
        result = await self._call("sendMessage", payload)
        if not isinstance(result, dict) or result.get("message_id") is None:
            raise SourceError(SOURCE, "the sendMessage answer has no message id")
        return str(result["message_id"])

    # --- transport, pacing, errors

    async def _pace(self, chat: str) -> None:
        if chat not in self._chat_pacers:
            self._chat_pacers[chat] = Pacer(SENDS_PER_CHAT_PER_S, 1.0, clock=self._clock, sleep=self._sleep)
        await self._chat_pacers[chat].wait()
        if chat.startswith(("-", "@")):  # groups, supergroups and channels have negative ids
            if chat not in self._group_pacers:
                self._group_pacers[chat] = Pacer(SENDS_PER_GROUP_PER_MIN, 60.0, clock=self._clock, sleep=self._sleep)
            await self._group_pacers[chat].wait()
        await self.pacer.wait()

    async def _call(self, method: str, params: dict, *, timeout_s: float | None = None) -> Any:
        for attempt in range(2):
            try:
                return await self._once(method, params, timeout_s or self.timeout_s)
            except _RateLimited as limited:
                if attempt == 0 and limited.retry_after_s <= RETRY_WAIT_MAX_S:
                    await self._sleep(limited.retry_after_s)
                    continue
                raise SourceError(SOURCE, f"Telegram asked to slow down (HTTP 429); try again in "
                                          f"{limited.retry_after_s:g} s", retry_after_s=limited.retry_after_s,
                                  status=429) from None
        raise AssertionError("unreachable")  # the second 429 raises above

    async def _once(self, method: str, params: dict, timeout_s: float) -> Any:
        host = urlsplit(self.base_url).netloc or self.base_url
        url = f"{self.base_url}/bot{self._token}/{method}"
        try:
            async with httpx.AsyncClient(timeout=timeout_s, headers={"User-Agent": USER_AGENT}) as client:
                resp = await client.post(url, json=params)
        except httpx.TimeoutException:
            raise SourceError(SOURCE, f"{host} did not answer within {timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            # the class name only: an exception's text may carry the URL, and the URL the token
            raise SourceError(SOURCE, f"cannot reach {host} ({type(exc).__name__})") from None
        try:
            body: Any = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("ok") is True:
            return body.get("result")
        self._raise_error(method, resp.status_code, body)

    def _raise_error(self, method: str, status: int, body: Any) -> NoReturn:
        if not isinstance(body, dict) or "ok" not in body:
            # a proxy's HTML page or a wrong base URL, not the Bot API speaking
            if status >= 500:
                raise SourceError(SOURCE, f"Telegram had a server error (HTTP {status})", status=status)
            raise SourceError(SOURCE, f"the answer is not a Bot API answer (HTTP {status}): check the address",
                              fatal=400 <= status < 500, status=status)
        data = body
        code_value = number(data.get("error_code"))
        code = int(code_value) if code_value is not None else status
        description = redact(str(data.get("description") or ""), self._token).strip()[:200]
        parameters = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
        said = f" ({description})" if description else ""
        if code == 429:
            retry_after_s = number(parameters.get("retry_after"))
            if retry_after_s is None:
                match = _RETRY_AFTER_TEXT.search(description)
                retry_after_s = float(match.group(1)) if match else 1.0
            raise _RateLimited(max(0.0, retry_after_s))
        if code in (401, 404):
            raise SourceError(SOURCE, f"the bot token was rejected{said}: copy it again from @BotFather",
                              fatal=True, status=code)
        if code == 409:
            raise SourceError(SOURCE, f"a webhook is set for this bot (or another program polls it){said}: delete "
                                      f"the webhook (deleteWebhook) or stop the other program", fatal=True, status=code)
        if parameters.get("migrate_to_chat_id") is not None:
            raise SourceError(SOURCE, f"the group became a supergroup with chat id {parameters['migrate_to_chat_id']}"
                                      f"{said}", fatal=True, status=code)
        if code == 403:
            raise SourceError(SOURCE, f"the bot may not write to this chat{said}", fatal=True, status=code)
        if code >= 500:
            raise SourceError(SOURCE, f"Telegram had a server error (HTTP {status}){said}", status=code)
        raise SourceError(SOURCE, f"Telegram refused {method}{said}", fatal=True, status=code)


class _RateLimited(Exception):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


def _message(msg: dict, kind: str, bot_username: str | None, bot_id: str | None) -> InboundMessage | None:
    chat = msg.get("chat") if isinstance(msg.get("chat"), dict) else {}
    if chat.get("id") is None or msg.get("message_id") is None:
        return None
    if isinstance(msg.get("text"), str):
        text, entities = msg["text"], msg.get("entities")
    elif isinstance(msg.get("caption"), str):
        text, entities = msg["caption"], msg.get("caption_entities")
    else:
        return None  # joins, pins, stickers without a caption: nothing to read or answer
    sender = msg.get("from") if isinstance(msg.get("from"), dict) else None
    sender_chat = msg.get("sender_chat") if isinstance(msg.get("sender_chat"), dict) else None
    if sender_chat is not None:  # a channel post or an anonymous admin: the chat speaks
        author_id, author_name, author_is_bot = str(sender_chat.get("id")), _chat_name(sender_chat), False
    elif sender is not None:
        author_id, author_name, author_is_bot = str(sender.get("id")), _person_name(sender), bool(sender.get("is_bot"))
    else:
        return None
    sent = number(msg.get("date"))
    if sent is None:
        return None
    chat_type = str(chat.get("type") or "")
    reply = msg.get("reply_to_message") if isinstance(msg.get("reply_to_message"), dict) else None
    if reply is not None and "forum_topic_created" in reply:
        reply = None  # the topic's opening notice, not a message anyone answered
    replied_sender = reply.get("from") if reply is not None and isinstance(reply.get("from"), dict) else {}
    from_self = sender is not None and sender_chat is None and _is_bot(sender, bot_username, bot_id)
    mentions_bot = not from_self and (chat_type == "private" or _mentions(text, entities, bot_username, bot_id)
                                      or _is_bot(replied_sender, bot_username, bot_id))
    extra: dict[str, Any] = {"chat_type": chat_type, "update": kind}
    if sender is not None and sender.get("username"):
        extra["username"] = sender["username"]
    edited = number(msg.get("edit_date"))
    if edited is not None:
        extra["edited_at"] = datetime.fromtimestamp(edited, UTC).isoformat()
    public = _text(chat.get("username"))
    return InboundMessage(
        platform=SOURCE,
        channel_id=str(chat["id"]),
        message_id=str(msg["message_id"]),
        author_id=author_id,
        author_name=author_name,
        text=text,
        sent_at=datetime.fromtimestamp(sent, UTC),
        channel_name=_chat_name(chat),
        reply_to_id=str(reply["message_id"]) if reply is not None and reply.get("message_id") is not None else None,
        mentions_bot=mentions_bot,
        author_is_bot=author_is_bot,
        from_self=from_self,
        url=f"https://t.me/{public}/{msg['message_id']}" if public and chat_type in ("supergroup", "channel") else None,
        extra=extra,
    )


def _is_bot(user: dict, bot_username: str | None, bot_id: str | None) -> bool:
    if not user:
        return False
    if bot_id is not None and str(user.get("id")) == bot_id:
        return True
    return bot_username is not None and str(user.get("username") or "").lower() == bot_username


def _mentions(text: str, entities: Any, bot_username: str | None, bot_id: str | None) -> bool:
    """Whether an entity names the bot: `@bot`, `/command@bot`, or a mention of its user."""
    if not isinstance(entities, list):
        return False
    for entity in entities:
        if not isinstance(entity, dict):
            continue
        kind = entity.get("type")
        if kind == "text_mention" and isinstance(entity.get("user"), dict):
            if _is_bot(entity["user"], bot_username, bot_id):
                return True
        elif kind in ("mention", "bot_command") and bot_username:
            piece = _utf16_slice(text, entity.get("offset"), entity.get("length")).lower()
            if (kind == "mention" and piece == f"@{bot_username}") or \
                    (kind == "bot_command" and piece.endswith(f"@{bot_username}")):
                return True
    return False


def _utf16_slice(text: str, offset: Any, length: Any) -> str:
    """`text[offset:offset + length]` with Telegram's UTF-16 code-unit offsets (an emoji counts 2)."""
    if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length < 0:
        return ""
    data = text.encode("utf-16-le")
    return data[offset * 2:(offset + length) * 2].decode("utf-16-le", errors="ignore")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _chat_ref(chat_id: Any) -> int | str:
    """A chat id as Telegram takes it: an integer, or "@channelusername" for a public channel."""
    text = str(chat_id).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,}", text):
        return text
    raise SourceError(SOURCE, f"{chat_id!r} is not a Telegram chat id", fatal=True)


def _chat_name(chat: dict) -> str | None:
    if chat.get("title"):
        return str(chat["title"])
    if chat.get("first_name"):  # a private chat: the person's name
        return _person_name(chat)
    return f"@{chat['username']}" if chat.get("username") else None


def _person_name(user: dict) -> str:
    name = " ".join(str(user[k]) for k in ("first_name", "last_name") if user.get(k))
    return name or str(user.get("username") or user.get("id") or "")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
