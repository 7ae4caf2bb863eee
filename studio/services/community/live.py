"""Live polling: while the studio runs, read the enabled platforms and store what is new.

Built by the entry object as `LivePoller(ctx, sources=..., ingest=..., drafts=..., outbox=...,
settings=..., clock=utcnow, sleep=asyncio.sleep)`; `start(loop)` starts one asyncio task per enabled
source on the running loop, `close()` ends them. A source turned on or off, reconfigured or given a
new token restarts its task (the sources part tells the poller).

Per platform (the cursor is stored in the source row after the messages it covers, so a crash reads
a few messages twice, which the ingest ignores, and never skips any):
- Discord: every `poll_interval_s` (10 s), each picked channel `GET /channels/{id}/messages?after=<last
  stored id>` (up to `DISCORD_PAGES` pages of 100 a poll; the first poll of a channel reads its latest
  100). A channel the bot may not read shows in the source's error; the other channels go on.
- Telegram: `getUpdates` long polling (`poll_timeout_s`, 25 s); the offset acknowledges what was stored.
- YouTube: every `poll_interval_s` (900 s), comment threads of the channel and of each picked video,
  newest first, page after page until a comment older than the newest stored one (at most
  `YOUTUBE_PAGES` pages, 1 quota unit each); reading stops for the day while fewer than
  `YOUTUBE_READ_RESERVE` units are left, so approved replies (50 units) can still go.

A failing source shows `error` and why (the sources part keeps it); the other sources' tasks are not
affected. After an error the task waits the platform's `retry_after` when it gave one, else
30 s, 60 s, 120 s ... up to 15 minutes; after a fatal error (token rejected, webhook set) it stops
until the source is changed.

Automation (Settings `automation_level` 1-100, Discord and Telegram only; YouTube replies always
wait for a person): of the new messages that need a reply, the share `automation_level`% is
answered without approval: a message is answered when `auto + 1 <= seen × level / 100` in the
day's counts (`auto_counts` in the community config: {"day", "seen", "auto"}, local day), so at
most that share of the day's incoming messages gets an automatic answer. The draft is approved as
`approved_by="automation"`, `auto=True`, with `send_after` = now + min + (max - min) × u, where
`response_delay` = {min_seconds, max_seconds} and u in [0, 1) comes from a hash of the message id
(the same message always gets the same delay).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from studio.connectors.charts import SourceError
from studio.services.community.common import (
    AUTOMATABLE_PLATFORMS,
    PLATFORMS,
    CommunityError,
    UnknownSource,
)
from studio.services.community.sources import YOUTUBE_LIST_UNITS
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context

log = logging.getLogger(__name__)

DISCORD_PAGES = 5
YOUTUBE_PAGES = 5
YOUTUBE_READ_RESERVE = 500  # units kept for replies: ten of them
BACKOFF_BASE_S = 30.0
BACKOFF_MAX_S = 900.0
TELEGRAM_ERROR_PAUSE_S = 1.0  # between two long polls that returned at once


def delay_fraction(message_id: str) -> float:
    """A number in [0, 1) fixed for a message id (its response delay's place between min and max)."""
    digest = hashlib.sha256(message_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class LivePoller:
    def __init__(self, ctx: "Context", *, sources: Any, ingest: Any, drafts: Any, outbox: Any, settings: Any,
                 clock: Callable[[], datetime] = utcnow, sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        self.db = ctx.db
        self.events = ctx.events
        self.sources = sources
        self.ingest = ingest
        self.drafts = drafts
        self.outbox = outbox
        self.settings = settings
        self.clock = clock
        self._sleep = sleep
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: dict[str, asyncio.Task] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._known_clients: dict[str, int] = {}  # name -> id() of the client whose identity was read
        self._failures: dict[str, int] = {}
        self.last_result: dict[str, dict[str, Any]] = {}
        sources.add_listener(self._source_changed)

    # --- tasks ----------------------------------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> list[str]:
        """Start a task per enabled source; returns their names."""
        if loop is not None:
            self._loop = loop
        started = []
        for name in self.sources.enabled_names():
            if self._spawn(name):
                started.append(name)
        return started

    def close(self) -> None:
        for name in list(self._tasks):
            self._cancel(name)
        self._loop = None

    def running(self) -> list[str]:
        return [name for name, task in self._tasks.items() if not task.done()]

    def _spawn(self, name: str) -> bool:
        loop = self._loop
        if loop is None or loop.is_closed():
            return False
        task = self._tasks.get(name)
        if task is not None and not task.done():
            return False
        self._tasks[name] = loop.create_task(self._run(name), name=f"community-{name}")
        return True

    def _cancel(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None and not task.done():
            try:
                task.cancel()
            except RuntimeError:  # its loop is already closed
                pass

    def _source_changed(self, name: str) -> None:
        """A source was turned on/off, reconfigured or given a token: restart its task (loop thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def restart() -> None:
            self._cancel(name)
            self._known_clients.pop(name, None)
            self._failures.pop(name, None)
            if self.sources.is_enabled(name):
                self._spawn(name)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            restart()
        else:
            loop.call_soon_threadsafe(restart)

    async def _run(self, name: str) -> None:
        while True:
            try:
                result = await self.poll(name, scheduled=True)
            except CommunityError:  # turned off meanwhile
                return
            if result.get("fatal"):
                log.info("community %s polling stopped: %s", name, result.get("error"))
                return  # until the source is changed (new token, config): _source_changed restarts it
            if result.get("error"):
                failures = self._failures[name] = self._failures.get(name, 0) + 1
                delay_s = result.get("retry_after_s") or min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (failures - 1))
            else:
                self._failures[name] = 0
                delay_s = self._interval_s(name)
            await self._sleep(delay_s)

    def _interval_s(self, name: str) -> float:
        config = self.sources.config_of(name)
        if name == "telegram":  # the long poll itself waits; a 0 s timeout must not spin
            return TELEGRAM_ERROR_PAUSE_S if int(config.get("poll_timeout_s") or 0) == 0 else 0.0
        return float(config.get("poll_interval_s") or 60)

    # --- one poll -------------------------------------------------------------------------------
    async def poll(self, name: str, *, scheduled: bool = False) -> dict[str, Any]:
        """Read `name` once now: {"name", "new", "duplicates", "mentions", "auto_approved", "error",
        "retry_after_s", "fatal", "polled_at"}. UnknownSource; CommunityError for a source turned off."""
        if name not in PLATFORMS:
            raise UnknownSource(name)
        if not self.sources.is_enabled(name):
            raise CommunityError(f"the {name} source is turned off: turn it on to read it")
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:  # a manual poll never overlaps the task's (Telegram refuses two getUpdates)
            result: dict[str, Any] = {"name": name, "new": 0, "duplicates": 0, "mentions": 0, "auto_approved": 0,
                                      "error": None, "retry_after_s": None, "fatal": False,
                                      "polled_at": iso(self.clock())}
            errors: list[str] = []
            try:
                reader = {"discord": self._discord, "telegram": self._telegram, "youtube": self._youtube}[name]
                await reader(result, errors, long_poll=scheduled)
            except asyncio.CancelledError:
                raise
            except SourceError as exc:
                errors.append(exc.reason)
                result["retry_after_s"] = exc.retry_after_s
                result["fatal"] = exc.fatal
            except Exception as exc:  # a bug in one source must not stop the others
                log.exception("community %s poll failed", name)
                errors.append(f"unexpected error ({type(exc).__name__})")
            error = "; ".join(errors) or None
            result["error"] = self.sources.mask(error)
            self.sources.record_poll(name, items=result["new"], error=error)
            self.last_result[name] = result
            return result

    async def _store(self, messages: list, result: dict[str, Any]) -> None:
        if not messages:
            return
        stored = await self.ingest.store_async(messages)
        result["new"] += stored.new
        result["duplicates"] += stored.duplicates
        result["mentions"] += len(stored.mentions)
        for mention in stored.mentions:
            try:
                if await self._automate(mention):
                    result["auto_approved"] += 1
            except Exception:  # a draft that cannot be written leaves the message for a person
                log.exception("automatic reply to %s not made", mention.get("message_id"))

    def _client_is_new(self, name: str, client: Any) -> bool:
        if self._known_clients.get(name) == id(client):
            return False
        self._known_clients[name] = id(client)
        return True

    async def _discord(self, result: dict[str, Any], errors: list[str], *, long_poll: bool) -> None:
        client = await self.sources.client("discord")
        identity = self.sources.identity_of("discord")
        if not identity.get("id") or self._client_is_new("discord", client):
            me = await client.me()
            identity = {"id": me["id"], "username": me.get("username")}
            self.sources.set_identity("discord", identity)
        config = self.sources.config_of("discord")
        if not config["channels"]:
            errors.append("no channel picked: choose the channels to read")
            return
        cursor = self.sources.cursor_of("discord")
        for channel in config["channels"]:
            channel_id = channel["id"]
            label = f"#{channel.get('name') or channel_id}"
            after = cursor.get(channel_id)
            try:
                for _page in range(DISCORD_PAGES):
                    messages = await client.messages(channel_id, after=after, limit=100,
                                                     channel_name=channel.get("name"), bot_user_id=identity["id"],
                                                     guild_id=channel.get("guild_id"))
                    await self._store(messages, result)
                    if not messages:
                        break
                    after = messages[-1].message_id
                    self.sources.set_cursor("discord", {channel_id: after})
                    if len(messages) < 100 or cursor.get(channel_id) is None:
                        break  # caught up (a first poll reads the latest page only)
            except SourceError as exc:
                if exc.status == 401 or exc.retry_after_s is not None:
                    raise  # the token, or a limit that holds for every channel
                errors.append(f"{label}: {exc.reason}")

    async def _telegram(self, result: dict[str, Any], errors: list[str], *, long_poll: bool) -> None:
        client = await self.sources.client("telegram")
        identity = self.sources.identity_of("telegram")
        if self._client_is_new("telegram", client) or not identity.get("id"):
            me = await client.get_me()  # the client learns its own id: our messages read back are from_self
            identity = {"id": me["id"], "username": me.get("username"),
                        "privacy_mode": not me.get("can_read_all_group_messages", False)}
            self.sources.set_identity("telegram", identity)
        config = self.sources.config_of("telegram")
        offset = self.sources.cursor_of("telegram").get("offset")
        timeout_s = int(config.get("poll_timeout_s") or 0) if long_poll else 0
        messages, next_offset = await client.updates(offset, timeout_s=timeout_s,
                                                     bot_username=identity.get("username"))
        await self._store(messages, result)
        if next_offset is not None and next_offset != offset:
            self.sources.set_cursor("telegram", {"offset": next_offset})

    async def _youtube(self, result: dict[str, Any], errors: list[str], *, long_poll: bool) -> None:
        config = self.sources.config_of("youtube")
        targets = ([("channel_id", config["channel_id"])] if config["channel_id"] else []) + \
            [("video_id", v) for v in config["video_ids"]]
        if not targets:
            errors.append("enter your channel id or a video id to read comments from")
            return
        client = await self.sources.client("youtube")
        cursor = self.sources.cursor_of("youtube")
        own = config["channel_id"] or self.sources.identity_of("youtube").get("channel_id")
        for kind, target in targets:
            newest_stored = cursor.get(target)
            newest_seen = newest_stored
            page_token = None
            for _page in range(YOUTUBE_PAGES):
                if self.sources.quota_left() < YOUTUBE_READ_RESERVE + YOUTUBE_LIST_UNITS:
                    errors.append(f"reading paused: fewer than {YOUTUBE_READ_RESERVE} quota units are left today "
                                  "(kept for replies); it resumes after midnight Pacific time")
                    return
                before = client.units_used
                try:
                    messages, page_token = await client.threads(**{kind: target}, page_token=page_token,
                                                                max_results=100, own_channel_id=own)
                finally:
                    self.sources.add_quota(client.units_used - before)
                await self._store(messages, result)
                times = [iso(m.sent_at) for m in messages]
                if times:
                    newest_seen = max([t for t in (newest_seen, *times) if t])
                if not page_token or not times or (newest_stored and min(times) <= newest_stored):
                    break  # the rest was read before
            if newest_seen and newest_seen != newest_stored:
                self.sources.set_cursor("youtube", {target: newest_seen})

    # --- automation -----------------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        try:
            return dict(self.settings.config() or {})
        except Exception as exc:  # the settings part not ready: automation off
            log.warning("community config not read (%s): automation off", exc)
            return {}

    def _day(self) -> str:
        return self.clock().astimezone().date().isoformat()  # the user's local day

    async def _automate(self, mention: dict[str, Any]) -> bool:
        """Answer a new message without approval when the automation level allows it."""
        if mention.get("platform") not in AUTOMATABLE_PLATFORMS:
            return False
        config = self._config()
        level = float(config.get("automation_level") or 0)
        if level <= 0:
            return False
        counts = self.settings.count_automation(day=self._day(), seen=1)
        if counts["auto"] + 1 > counts["seen"] * level / 100.0:
            return False
        delay = config.get("response_delay") or {}
        low = float(delay.get("min_seconds") or 0)
        high = max(low, float(delay.get("max_seconds") or low))
        message_id = mention["message_id"]
        wait_s = low + (high - low) * delay_fraction(message_id)
        draft = await self.drafts.draft_for_message(message_id)
        self.outbox.approve(draft["id"], approved_by="automation", auto=True,
                            send_after=self.clock() + timedelta(seconds=wait_s))
        self.settings.count_automation(day=self._day(), auto=1)
        return True
