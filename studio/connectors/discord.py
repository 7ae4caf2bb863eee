"""Discord's REST API v10 with the user's own bot token: the bot's identity, its servers and text
channels, the messages of the channels the user picked, and the replies the user approved.

REST polling, no gateway: the gateway is an outbound websocket that needs a heartbeat, resumes and
intents kept alive for as long as the studio runs; an inbox only needs the messages newer than the
last one it stored, which `GET /channels/{id}/messages?after=` gives every few seconds (a desktop
app has no public URL for webhooks either). A bot token only: user tokens ("self-bots") are
forbidden by Discord.

Wire format (`Authorization: Bot <token>`, `User-Agent: DiscordBot (url, version)` as Discord asks):
- `GET /users/@me` -> `{"id", "username", "global_name", "discriminator": "0", "bot": true, ...}`.
- `GET /users/@me/guilds?limit=200[&after=id]` -> `[{"id", "name", "icon", "owner", "permissions", ...}]`.
- `GET /guilds/{id}/channels` -> `[{"id", "type", "guild_id", "name", "position", "parent_id", ...}]`;
  type 0 is a text channel, 5 an announcement channel (the others: voice, category, forum, ...).
- `GET /channels/{id}/messages?limit=1..100[&after=id]` -> messages **newest first** (also with
  `after`): `{"id" (snowflake), "type" (0 default, 19 reply, others system notices), "channel_id",
  "author": {"id", "username", "global_name", "bot"?}, "content", "timestamp" (ISO 8601),
  "edited_timestamp", "mentions": [user], "reactions": [{"count", "emoji": {...}}]?,
  "message_reference": {"message_id", "channel_id", ...}?, "referenced_message": message | null}`.
  Without the Message Content intent, `content` is empty except where the bot is mentioned.
- `POST /channels/{id}/messages` `{"content", "nonce", "enforce_nonce": true, "message_reference",
  "allowed_mentions"}` -> the new message. With `enforce_nonce`, a second post with the same nonce
  within a few minutes returns the first message instead of creating another (a resend after a crash
  cannot double-post).
- errors: `{"message", "code", "errors"?}`; 429 `{"message", "retry_after" (float s), "global"}`.

Limits honoured: 50 requests/s overall; per-route buckets from `X-RateLimit-Bucket`,
`X-RateLimit-Remaining`, `X-RateLimit-Reset-After` (per bucket and channel/guild: an exhausted
bucket is waited out before the next call instead of provoking a 429); a 429 is waited out and
retried once when `retry_after` ≤ 10 s. Discord bans an address for a while after 10 000 invalid
requests (401, 403, 429 except `X-RateLimit-Scope: shared`) in 10 minutes: this client stops at
1 000 and refuses to call for the rest of the window. The token never appears in a reason.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from studio.connectors._http import TIMEOUT_S, number
from studio.connectors.charts import USER_AGENT, Pacer, SourceError
from studio.connectors.messages import InboundMessage

SOURCE = "discord"
DEFAULT_URL = "https://discord.com/api/v10"
# Discord wants "DiscordBot ($url, $versionNumber)"; anything may follow
DISCORD_USER_AGENT = f"DiscordBot (https://github.com/studio, 0.1) {USER_AGENT}"
MESSAGE_MAX_CHARS = 2000
NONCE_MAX_CHARS = 25
PAGE_MAX = 100  # messages per GET
GUILD_PAGE_MAX = 200
GLOBAL_REQUESTS_PER_S = 50
RETRY_WAIT_MAX_S = 10.0  # a longer wait is handed to the caller as retry_after_s
INVALID_WINDOW_S = 600.0
INVALID_REQUESTS_LIMIT = 1000  # Discord bans at 10 000 per window; stop long before
TEXT_CHANNEL_TYPES = {0, 5}  # text, announcement
READ_MESSAGE_TYPES = {0, 19}  # default, reply; joins, pins and boosts are system notices
DISCORD_EPOCH_MS = 1_420_070_400_000


@dataclass
class _Bucket:
    remaining: int
    reset_at: float  # on the client's clock


class DiscordClient:
    def __init__(self, token: str, base_url: str = DEFAULT_URL, *, timeout_s: float = TIMEOUT_S,
                 pacer: Pacer | None = None, clock=time.monotonic, sleep=asyncio.sleep) -> None:
        token = (token or "").strip()
        if token.lower() == "bot" or token[:4].lower() == "bot ":  # pasted with the header's prefix
            token = token[3:].strip()
        if not token:
            raise SourceError(SOURCE, "no bot token: create a bot in the Discord Developer Portal and add its "
                                      "token first", fatal=True)
        if any(c.isspace() for c in token):
            raise SourceError(SOURCE, "this does not look like a bot token (it contains spaces)", fatal=True)
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._clock = clock
        self._sleep = sleep
        self.pacer = pacer or Pacer(GLOBAL_REQUESTS_PER_S, 1.0, clock=clock, sleep=sleep)
        self.invalid_limit = INVALID_REQUESTS_LIMIT
        self._route_buckets: dict[str, str] = {}  # "GET /channels/{id}/messages" -> bucket hash
        self._buckets: dict[tuple[str, str], _Bucket] = {}  # (bucket hash or route, channel/guild id)
        self._global_until = 0.0
        self._invalid: deque[float] = deque()  # when each 401/403/429 came back

    def __repr__(self) -> str:  # never the token
        return f"DiscordClient(base_url={self.base_url!r})"

    async def me(self) -> dict:
        """The bot's own user (verifies the token): `{"id", "username"}`."""
        body = await self._request("GET", "/users/@me", "/users/@me")
        if not isinstance(body, dict) or not body.get("id"):
            raise SourceError(SOURCE, "the /users/@me answer has no user id")
        return {"id": str(body["id"]), "username": str(body.get("username") or "")}

    async def guilds(self) -> list[dict]:
        """The servers the bot was invited to: `[{"id", "name"}]`."""
        guilds: list[dict] = []
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": GUILD_PAGE_MAX}
            if after:
                params["after"] = after
            body = await self._request("GET", "/users/@me/guilds", "/users/@me/guilds", params=params)
            if not isinstance(body, list):
                raise SourceError(SOURCE, "the guild list answer is not a list")
            page = [{"id": str(g["id"]), "name": str(g.get("name") or "")}
                    for g in body if isinstance(g, dict) and g.get("id")]
            guilds.extend(page)
            if len(body) < GUILD_PAGE_MAX or not page:
                return guilds
            after = max(page, key=lambda g: _snowflake(g["id"]))["id"]

    async def channels(self, guild_id: str) -> list[dict]:
        """A server's text and announcement channels, in the server's order: `[{"id", "name", "guild_id"}]`."""
        guild_id = _id(guild_id, "server")
        body = await self._request("GET", "/guilds/{guild_id}/channels", f"/guilds/{guild_id}/channels",
                                   major=guild_id, refused="the bot cannot see this server's channels",
                                   unknown="server")
        if not isinstance(body, list):
            raise SourceError(SOURCE, "the channel list answer is not a list")
        text = [c for c in body if isinstance(c, dict) and c.get("id") and c.get("type") in TEXT_CHANNEL_TYPES]
        text.sort(key=lambda c: (number(c.get("position")) or 0, _snowflake(c["id"])))
        return [{"id": str(c["id"]), "name": str(c.get("name") or ""), "guild_id": str(c.get("guild_id") or guild_id)}
                for c in text]

    async def messages(self, channel_id: str, *, after: str | None = None, limit: int = 100,
                       channel_name: str | None = None, bot_user_id: str | None = None,
                       guild_id: str | None = None) -> list[InboundMessage]:
        """Up to `limit` (≤ 100) messages of a channel, oldest first: those right after message id
        `after`, or the latest ones without it. System notices (joins, pins) are left out.
        `bot_user_id` marks the bot's own messages (`from_self`) and those addressed to it
        (`mentions_bot`: it is mentioned, or the message replies to one of its messages);
        `guild_id` gives each message its link."""
        channel_id = _id(channel_id, "channel")
        params: dict[str, Any] = {"limit": max(1, min(PAGE_MAX, int(limit)))}
        if after:
            params["after"] = _id(after, "message")
        body = await self._request("GET", "/channels/{channel_id}/messages", f"/channels/{channel_id}/messages",
                                   major=channel_id, params=params,
                                   refused="the bot cannot read this channel", unknown="channel")
        if not isinstance(body, list):
            raise SourceError(SOURCE, "the message list answer is not a list")
        found = [_message(item, channel_id, channel_name, bot_user_id, guild_id) for item in body
                 if isinstance(item, dict)]
        messages = [m for m in found if m is not None]
        messages.sort(key=lambda m: _snowflake(m.message_id))  # Discord lists newest first
        return messages

    async def send(self, channel_id: str, text: str, *, reply_to: str | None = None, nonce: str) -> str:
        """Post `text` in a channel (as a reply to message `reply_to` when given) and return the new
        message's id. The same `nonce` within a few minutes returns the first message's id instead of
        posting twice. Mentions in the text do not ping anyone; a reply pings only its author."""
        channel_id = _id(channel_id, "channel")
        if not text or not text.strip():
            raise SourceError(SOURCE, "the reply is empty: nothing to send", fatal=True)
        if len(text) > MESSAGE_MAX_CHARS:
            raise SourceError(SOURCE, f"the reply is {len(text)} characters long; Discord takes at most "
                                      f"{MESSAGE_MAX_CHARS} in one message: shorten it", fatal=True)
        nonce = str(nonce or "")
        if not 1 <= len(nonce) <= NONCE_MAX_CHARS:
            raise SourceError(SOURCE, f"a send needs a nonce of 1 to {NONCE_MAX_CHARS} characters", fatal=True)
        payload: dict[str, Any] = {"content": text, "nonce": nonce, "enforce_nonce": True,
                                   "allowed_mentions": {"parse": [], "replied_user": reply_to is not None}}
        if reply_to is not None:
            # a deleted original still gets the answer, as a plain message (as Telegram's allow_sending_without_reply)
            payload["message_reference"] = {"message_id": _id(reply_to, "message"), "channel_id": channel_id,
                                            "fail_if_not_exists": False}
        body = await self._request("POST", "/channels/{channel_id}/messages", f"/channels/{channel_id}/messages",
                                   major=channel_id, json=payload,
                                   refused="the bot cannot send in this channel", unknown="channel or message")
        if not isinstance(body, dict) or not body.get("id"):
            raise SourceError(SOURCE, "the send answer has no message id")
        return str(body["id"])

    # --- transport, rate limits, errors

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***")

    async def _request(self, method: str, route: str, path: str, *, major: str = "", params: dict | None = None,
                       json: dict | None = None, refused: str = "Discord refused the bot access",
                       unknown: str = "resource") -> Any:
        route_key = f"{method} {route}"
        for attempt in range(2):
            self._refuse_near_ban()
            await self._wait_for_limits(route_key, major)
            await self.pacer.wait()
            resp = await self._send(method, path, params, json)
            self._learn_limits(route_key, major, resp.headers)
            status = resp.status_code
            try:
                body: Any = resp.json()
            except ValueError:
                body = None
            if status == 429:
                retry_after_s = self._rate_limited(resp, body)
                if attempt == 0 and retry_after_s <= RETRY_WAIT_MAX_S:
                    await self._sleep(retry_after_s)
                    continue
                scope = "all of the bot's requests" if self._global_until > self._clock() else "this route"
                raise SourceError(SOURCE, f"Discord rate-limited {scope} (HTTP 429); try again in "
                                          f"{retry_after_s:.1f} s", retry_after_s=retry_after_s, status=status)
            if status >= 400:
                self._raise_error(status, body, refused, unknown)
            if body is None and status != 204:
                raise SourceError(SOURCE, "the answer is not valid JSON", status=status)
            return body
        raise AssertionError("unreachable")  # the second 429 raises above

    async def _send(self, method: str, path: str, params: dict | None, json: dict | None) -> httpx.Response:
        host = urlsplit(self.base_url).netloc or self.base_url
        headers = {"User-Agent": DISCORD_USER_AGENT, "Authorization": f"Bot {self._token}",
                   "Accept": "application/json"}
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s, headers=headers) as client:
                return await client.request(method, self.base_url + path, params=params, json=json)
        except httpx.TimeoutException:
            raise SourceError(SOURCE, f"{host} did not answer within {self.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            # the class name only: an exception's text may carry the URL
            raise SourceError(SOURCE, f"cannot reach {host} ({type(exc).__name__})") from None

    def _bucket_key(self, route_key: str, major: str) -> tuple[str, str]:
        return self._route_buckets.get(route_key, route_key), major

    async def _wait_for_limits(self, route_key: str, major: str) -> None:
        now = self._clock()
        wait_s = max(0.0, self._global_until - now)
        bucket = self._buckets.get(self._bucket_key(route_key, major))
        if bucket is not None and bucket.reset_at > now:
            if bucket.remaining <= 0:
                wait_s = max(wait_s, bucket.reset_at - now)
            else:
                bucket.remaining -= 1  # so concurrent calls see this one
        if wait_s <= 0:
            return
        if wait_s > RETRY_WAIT_MAX_S:
            raise SourceError(SOURCE, f"Discord's rate limit for this request resets in {wait_s:.1f} s",
                              retry_after_s=wait_s)
        await self._sleep(wait_s)

    def _learn_limits(self, route_key: str, major: str, headers: httpx.Headers) -> None:
        bucket_hash = headers.get("X-RateLimit-Bucket")
        if bucket_hash:
            self._route_buckets[route_key] = bucket_hash
        remaining = number(headers.get("X-RateLimit-Remaining"))
        reset_after_s = number(headers.get("X-RateLimit-Reset-After"))
        if remaining is not None and reset_after_s is not None:
            self._buckets[self._bucket_key(route_key, major)] = _Bucket(int(remaining),
                                                                        self._clock() + max(0.0, reset_after_s))

    def _rate_limited(self, resp: httpx.Response, body: Any) -> float:
        """Seconds Discord asked to wait; records a global limit and counts the invalid request."""
        data = body if isinstance(body, dict) else {}
        retry_after_s = number(data.get("retry_after"))
        if retry_after_s is None:
            retry_after_s = number(resp.headers.get("Retry-After"))
        retry_after_s = max(0.0, retry_after_s if retry_after_s is not None else 1.0)
        if data.get("global") is True or resp.headers.get("X-RateLimit-Global", "").lower() == "true":
            self._global_until = max(self._global_until, self._clock() + retry_after_s)
        if resp.headers.get("X-RateLimit-Scope", "").lower() != "shared":  # shared limits are not held against us
            self._count_invalid()
        return retry_after_s

    def _count_invalid(self) -> None:
        self._invalid.append(self._clock())

    def _refuse_near_ban(self) -> None:
        now = self._clock()
        while self._invalid and now - self._invalid[0] >= INVALID_WINDOW_S:
            self._invalid.popleft()
        if len(self._invalid) >= self.invalid_limit:
            wait_s = INVALID_WINDOW_S - (now - self._invalid[0])
            raise SourceError(SOURCE, f"{len(self._invalid)} requests were refused (HTTP 401/403/429) in the last "
                                      f"10 minutes: calls to Discord pause for {wait_s:.0f} s so it does not ban "
                                      f"this address", retry_after_s=wait_s)

    def _raise_error(self, status: int, body: Any, refused: str, unknown: str) -> None:
        data = body if isinstance(body, dict) else {}
        said_parts = [self._redact(str(data.get("message") or "")).strip()[:200]]
        if data.get("code"):
            said_parts.append(f"code {data['code']}")
        detail = _form_error(data.get("errors"))
        if detail:
            said_parts.append(self._redact(detail))
        said = f" ({', '.join(p for p in said_parts if p)})" if any(said_parts) else ""
        if status == 401:
            self._count_invalid()
            raise SourceError(SOURCE, f"the bot token was rejected{said}: copy the token again from the Developer "
                                      f"Portal (Bot > Reset Token)", fatal=True, status=status)
        if status == 403:
            self._count_invalid()
            raise SourceError(SOURCE, f"{refused}{said}: check its permissions (View Channel, Read Message "
                                      f"History, Send Messages) and that the Message Content intent is on",
                              fatal=True, status=status)
        if status == 404:
            raise SourceError(SOURCE, f"Discord does not know this {unknown}{said}", fatal=True, status=status)
        if status >= 500:
            raise SourceError(SOURCE, f"Discord had a server error (HTTP {status}){said}", status=status)
        raise SourceError(SOURCE, f"Discord refused the request (HTTP {status}){said}", fatal=True, status=status)


def _message(item: dict, channel_id: str, channel_name: str | None, bot_user_id: str | None,
             guild_id: str | None) -> InboundMessage | None:
    message_id = _text(item.get("id"))
    author = item.get("author") if isinstance(item.get("author"), dict) else {}
    author_id = _text(author.get("id"))
    if not message_id or not author_id or item.get("type", 0) not in READ_MESSAGE_TYPES:
        return None
    sent_at = _datetime(item.get("timestamp")) or _snowflake_time(message_id)
    if sent_at is None:
        return None
    reference = item.get("message_reference") if isinstance(item.get("message_reference"), dict) else {}
    reply_to_id = _text(reference.get("message_id"))
    referenced = item.get("referenced_message") if isinstance(item.get("referenced_message"), dict) else {}
    replied_author = referenced.get("author") if isinstance(referenced.get("author"), dict) else {}
    mentioned = {str(u.get("id")) for u in item.get("mentions") or [] if isinstance(u, dict)}
    bot = str(bot_user_id) if bot_user_id else None
    mentions_bot = bot is not None and (bot in mentioned or (reply_to_id is not None
                                                             and str(replied_author.get("id")) == bot))
    reactions = sum(int(number(r.get("count")) or 0) for r in item.get("reactions") or [] if isinstance(r, dict))
    username = _text(author.get("username"))
    extra: dict[str, Any] = {"type": item.get("type", 0)}
    if username:
        extra["username"] = username
    if item.get("edited_timestamp"):
        extra["edited_at"] = item["edited_timestamp"]
    if item.get("attachments"):
        extra["attachments"] = len(item["attachments"])
    if guild_id:
        extra["guild_id"] = str(guild_id)
    return InboundMessage(
        platform=SOURCE,
        channel_id=channel_id,
        message_id=message_id,
        author_id=author_id,
        author_name=_text(author.get("global_name")) or username or author_id,
        text=_readable_mentions(str(item.get("content") or ""), item.get("mentions") or []),
        sent_at=sent_at,
        channel_name=channel_name,
        reply_to_id=reply_to_id,
        mentions_bot=mentions_bot,
        author_is_bot=bool(author.get("bot")),
        from_self=bot is not None and author_id == bot,
        reactions=reactions,
        url=f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}" if guild_id else None,
        extra=extra,
    )


def _form_error(errors: Any, path: str = "") -> str | None:
    """The first message inside Discord's nested `errors` tree ("Invalid Form Body"), with its field:
    `{"content": {"_errors": [{"code", "message"}]}}` -> "content: Must be 2000 or fewer in length."."""
    if not isinstance(errors, dict):
        return None
    for key, value in errors.items():
        if key == "_errors" and isinstance(value, list):
            first = next((e for e in value if isinstance(e, dict) and e.get("message")), None)
            if first:
                return f"{path}: {first['message']}"[:200] if path else str(first["message"])[:200]
        found = _form_error(value, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def _id(value: Any, what: str) -> str:
    """A snowflake as text; anything else is refused before it reaches a URL path."""
    text = str(value).strip()
    if not text.isdigit() or not text.isascii():
        raise SourceError(SOURCE, f"{value!r} is not a Discord {what} id", fatal=True)
    return text


def _snowflake(value: str) -> int:
    return int(value) if value.isdigit() else 0


def _snowflake_time(message_id: str) -> datetime | None:
    """A snowflake's creation time (its top 42 bits: ms since 2015-01-01)."""
    if not message_id.isdigit():
        return None
    return datetime.fromtimestamp(((int(message_id) >> 22) + DISCORD_EPOCH_MS) / 1000, UTC)


def _datetime(value: Any) -> datetime | None:
    text = _text(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


_USER_MENTION = re.compile(r"<@!?(\d+)>")


def _readable_mentions(text: str, mentions: list) -> str:
    """`<@1234>` as the people reading the channel see it: `@name` (names from the message's own
    `mentions` list; an unknown id stays as it was)."""
    names = {str(u.get("id")): (u.get("global_name") or u.get("username")) for u in mentions if isinstance(u, dict)}
    return _USER_MENTION.sub(lambda m: f"@{names[m.group(1)]}" if names.get(m.group(1)) else m.group(0), text)
