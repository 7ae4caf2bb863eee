"""The outbox: replies a person (or, on Discord/Telegram bots the user opted in, the automation)
approved, sent once each, in order, and kept across crashes and restarts.

Built by the entry object as `CommunityOutbox(ctx, sources=..., clock=utcnow, sleep=asyncio.sleep)`.

A reply row (`community_replies`) moves:
    draft -> approved -> sending -> sent
                   \\-> failed (the platform refused: the reason is kept; approve again to retry)
                   \\-> unconfirmed (cut off mid-send where a resend could post twice: a person checks)
    draft | approved | failed | unconfirmed -> discarded

Exactly once:
- `sending` is committed before the HTTP call, so a crash during the call is seen at the next start.
- At `resume()`: `approved` rows are sent; `sending` rows on Discord are sent again with the same
  nonce (Discord answers a repeated nonce with the first message when `enforce_nonce` is set, so
  at most one message exists); on Telegram and YouTube, which have no such key, they become
  `unconfirmed` with the reason, and the person checks the chat and approves again if it is missing.
- A platform error that proves nothing was posted (HTTP 4xx: `failed`; 429: back to `approved`
  with `send_after` = now + retry_after) is settled at once. One that leaves it open (timeout,
  HTTP 5xx, a dropped connection) is retried with the same nonce on Discord (at most
  `MAX_ATTEMPTS` attempts) and is `unconfirmed` elsewhere.

Order and pacing: one reply at a time, oldest approval first, never before its `send_after`
(the automation's response delay, a platform's retry_after); at least `PLATFORM_GAP_S` between two
replies on a platform (YouTube: 30 s, its anti-spam); the connectors add their own rate limits
(Discord's buckets, Telegram's 1 message/s per chat). A YouTube reply waits while fewer than 50
quota units are left today. A reply waits (status `approved`, reason in `last_error`) while its
source is turned off.

A sent reply records `sent_at` and `platform_message_id`, marks the message it answers
`answered`, and is published as `community_reply_sent` ({"reply_id", "platform",
"platform_message_id"}); a failed or unconfirmed one as `community_reply_failed` ({"reply_id",
"platform", "status", "error"}).

Public API: `list_replies(status=None, message_id=None, limit=50)`, `get(reply_id)`,
`approve(reply_id, *, text=None, approved_by, auto=False, send_after=None)`, `edit(reply_id, text)`,
`discard(reply_id)`, `resume(loop)`, `close()`, `async send_due() -> int` (what the task runs),
`async send_one(reply_id) -> reply`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from studio.connectors.charts import SourceError
from studio.connectors.youtube import seconds_until_quota_reset
from studio.db.models import CommunityMessage, CommunityReply
from studio.services.community.common import CommunityError, UnknownReply, reply_dict
from studio.services.community.sources import YOUTUBE_REPLY_UNITS
from studio.timeutil import utcnow

if TYPE_CHECKING:
    from studio.context import Context

log = logging.getLogger(__name__)

MAX_CHARS = {"discord": 2000, "telegram": 4096, "youtube": 10000}  # each platform's limit for one message
PLATFORM_GAP_S = {"discord": 1.0, "telegram": 1.0, "youtube": 30.0}
MAX_ATTEMPTS = 5  # Discord resends (same nonce) after errors that leave the outcome open
RETRY_BASE_S = 30.0  # back-off after such an error: 30 s, 60 s, 120 s ... at most 10 minutes
RETRY_MAX_S = 600.0
WAIT_OFF_S = 300.0  # a turned-off source is looked at again after this long (or when approved again)
IDLE_WAIT_S = 3600.0
APPROVABLE = ("draft", "failed", "unconfirmed")
EDITABLE = ("draft", "approved", "failed", "unconfirmed")
DISCARDABLE = ("draft", "approved", "failed", "unconfirmed")

# Discord drops a resent nonce only for a few minutes: a send cut off longer ago than this is left for
# the person to check instead (a stale nonce could post the reply twice).
NONCE_WINDOW_S = 120.0
CUT_OFF = ("the studio stopped while sending this reply, and {platform} cannot tell a resend from a new "
           "message: check the chat; approve it again if it is missing")


def new_nonce() -> str:
    return uuid.uuid4().hex[:25]  # Discord takes at most 25 characters


class CommunityOutbox:
    def __init__(self, ctx: "Context", *, sources: Any, clock: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        self.db = ctx.db
        self.events = ctx.events
        self.sources = sources
        self.clock = clock
        self._sleep = sleep
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._wake: asyncio.Event | None = None
        self._held_until: dict[str, datetime] = {}  # platform -> no send before (gap, retry_after, quota)
        self._held_while_off: set[str] = set()  # platforms held only because their source is off
        sources.add_listener(self._source_changed)

    # --- reading --------------------------------------------------------------------------------
    def _row(self, s, reply_id: str) -> CommunityReply:
        row = s.get(CommunityReply, reply_id)
        if row is None:
            raise UnknownReply(reply_id)
        return row

    def get(self, reply_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            return reply_dict(self._row(s, reply_id))

    def list_replies(self, status: str | None = None, *, message_id: str | None = None,
                     limit: int = 50) -> list[dict[str, Any]]:
        """Replies newest first; `status` one of the reply statuses (or a comma-separated list)."""
        with self.db.session() as s:
            query = select(CommunityReply)
            if status:
                query = query.where(CommunityReply.status.in_([p.strip() for p in status.split(",")]))
            if message_id:
                query = query.where(CommunityReply.message_id == message_id)
            rows = s.scalars(query.order_by(CommunityReply.created_at.desc(), CommunityReply.id)
                             .limit(max(1, min(int(limit), 500)))).all()
            return [reply_dict(row) for row in rows]

    # --- a person's decisions -------------------------------------------------------------------
    @staticmethod
    def _checked_text(platform: str, text: str) -> str:
        text = (text or "").strip()
        if not text:
            raise CommunityError("the reply is empty")
        limit = MAX_CHARS.get(platform, 2000)
        if len(text) > limit:
            raise CommunityError(f"the reply is {len(text)} characters long; {platform} takes at most {limit}")
        return text

    def approve(self, reply_id: str, *, text: str | None = None, approved_by: str, auto: bool = False,
                send_after: datetime | None = None) -> dict[str, Any]:
        """Queue a draft (or a failed/unconfirmed reply) for sending; `text` replaces the words first.
        `approved_by` is who decided (a user, an API key's name, or "automation")."""
        if not (approved_by or "").strip():
            raise CommunityError("approved_by names who approved the reply")
        now = self.clock()
        with self.db.session() as s:
            row = self._row(s, reply_id)
            if row.status not in APPROVABLE:
                raise CommunityError(f"the reply is {row.status}: only a draft, failed or unconfirmed reply "
                                     "can be approved")
            if not row.message_id or not row.channel_id:
                raise CommunityError("this draft answers no stored message (it came from /respond): copy it "
                                     "and post it yourself")
            if auto and row.platform not in ("discord", "telegram"):
                raise CommunityError(f"{row.platform} replies are never sent without a person's approval")
            row.text = self._checked_text(row.platform, text if text is not None else row.text)
            if row.status == "unconfirmed" or not row.nonce or row.status == "failed":
                row.nonce = new_nonce()  # a new decision: a new message
            row.status = "approved"
            row.approved_by = approved_by.strip()[:200]
            row.approved_at = now
            row.auto = 1 if auto else 0
            row.send_after = send_after
            row.last_error = None
            row.updated_at = now
            data = reply_dict(row)
        self._nudge()
        return data

    def edit(self, reply_id: str, text: str) -> dict[str, Any]:
        """New words for a reply not yet sent (an approved one stays queued with them)."""
        with self.db.session() as s:
            row = self._row(s, reply_id)
            if row.status not in EDITABLE:
                raise CommunityError(f"the reply is {row.status}: it can no longer be edited")
            row.text = self._checked_text(row.platform, text)
            row.updated_at = self.clock()
            return reply_dict(row)

    def discard(self, reply_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = self._row(s, reply_id)
            if row.status not in DISCARDABLE:
                raise CommunityError(f"the reply is {row.status}: it cannot be discarded")
            row.status = "discarded"
            row.updated_at = self.clock()
            return reply_dict(row)

    # --- the task -------------------------------------------------------------------------------
    def resume(self, loop: asyncio.AbstractEventLoop | None = None) -> dict[str, int]:
        """At start-up: settle what a crash left `sending`, then start the sender.
        Returns {"resent": n (Discord, same nonce), "unconfirmed": n}."""
        counts = {"resent": 0, "unconfirmed": 0}
        now = self.clock()
        with self.db.session() as s:
            for row in s.scalars(select(CommunityReply).where(CommunityReply.status == "sending")).all():
                cut_off_s = (now - row.updated_at).total_seconds() if row.updated_at else None
                if row.platform == "discord" and row.nonce and cut_off_s is not None and cut_off_s <= NONCE_WINDOW_S:
                    row.status = "approved"
                    row.last_error = "sent again after a restart, with the same nonce (Discord drops a duplicate)"
                    counts["resent"] += 1
                else:
                    row.status = "unconfirmed"
                    row.last_error = CUT_OFF.format(platform=row.platform.capitalize())
                    counts["unconfirmed"] += 1
                    self.events.publish("community_reply_failed", {"reply_id": row.id, "platform": row.platform,
                                                                   "status": "unconfirmed", "error": row.last_error})
                row.updated_at = now
        if counts["resent"] or counts["unconfirmed"]:
            log.info("outbox after a restart: %(resent)d to resend, %(unconfirmed)d to check", counts)
        if loop is not None:
            self._loop = loop
        self._spawn()
        return counts

    def close(self) -> None:
        if self._task is not None and not self._task.done():
            try:
                self._task.cancel()
            except RuntimeError:  # its loop is already closed
                pass
        self._task = None

    @property
    def task_running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _spawn(self) -> None:
        loop = _running_loop() or self._loop
        if loop is None or loop.is_closed() or self.task_running:
            return  # no loop yet: resume(loop) starts it once one runs
        self._loop = loop
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run(), name="community-outbox")

    def _source_changed(self, name: str) -> None:
        """A source turned on (or given a token): what waited for it may go now."""
        if name in self._held_while_off:  # a rate limit or quota hold stays
            self._held_while_off.discard(name)
            self._held_until.pop(name, None)
        self._nudge()

    def _nudge(self) -> None:
        """Wake the sender (from any thread): something was approved."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        if _running_loop() is loop:
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)

    async def _run(self) -> None:
        while True:
            try:
                await self.send_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not end sending for the session
                log.exception("community outbox round failed")
            await self._wait(self._next_wait_s())

    async def _wait(self, delay_s: float) -> None:
        wake = self._wake or asyncio.Event()
        wake.clear()
        sleeper = asyncio.ensure_future(self._sleep(max(0.0, delay_s)))
        waker = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in (sleeper, waker):
                future.cancel()

    def _next_wait_s(self) -> float:
        """Seconds until the earliest approved reply may go (its send_after, its platform's hold)."""
        now = self.clock()
        with self.db.session() as s:
            rows = s.execute(select(CommunityReply.platform, CommunityReply.send_after)
                             .where(CommunityReply.status == "approved")).all()
        if not rows:
            return IDLE_WAIT_S
        due = min(max(filter(None, (row.send_after, self._held_until.get(row.platform))), default=now)
                  for row in rows)
        return max(0.05, (due - now).total_seconds())

    # --- sending --------------------------------------------------------------------------------
    def _due(self) -> list[tuple[str, str]]:
        """(reply id, platform) of approved replies whose time has come, oldest approval first."""
        now = self.clock()
        with self.db.session() as s:
            rows = s.execute(select(CommunityReply.id, CommunityReply.platform, CommunityReply.send_after)
                             .where(CommunityReply.status == "approved")
                             .order_by(CommunityReply.approved_at, CommunityReply.created_at, CommunityReply.id)).all()
        return [(row.id, row.platform) for row in rows if row.send_after is None or row.send_after <= now]

    async def send_due(self) -> int:
        """Send every approved reply that may go now, one at a time; returns how many were sent."""
        sent = 0
        for reply_id, platform in self._due():
            held = self._held_until.get(platform)
            if held is not None and held > self.clock():
                continue
            result = await self.send_one(reply_id)
            sent += result["status"] == "sent"
        return sent

    def _hold(self, platform: str, seconds: float) -> None:
        until = self.clock() + timedelta(seconds=seconds)
        if until > self._held_until.get(platform, until - timedelta(seconds=1)):
            self._held_until[platform] = until

    def _claim(self, reply_id: str) -> dict[str, Any] | None:
        """Mark the reply `sending` (committed before any HTTP call) and return what sending needs;
        None when it must wait (source off, no quota), with the reason stored."""
        now = self.clock()
        with self.db.session() as s:
            platform = self._row(s, reply_id).platform
        wait: str | None = None
        if not self.sources.is_enabled(platform):
            wait = f"waiting: the {platform} source is turned off (turn it on to send)"
            if platform not in self._held_until or self._held_until[platform] <= now:
                self._held_while_off.add(platform)
            self._hold(platform, WAIT_OFF_S)
        elif platform == "youtube" and self.sources.quota_left() < YOUTUBE_REPLY_UNITS:

            wait = (f"waiting: fewer than {YOUTUBE_REPLY_UNITS} YouTube quota units are left today; the quota "
                    "resets at midnight Pacific time")
            self._hold(platform, seconds_until_quota_reset(now))
        with self.db.session() as s:
            row = self._row(s, reply_id)
            if row.status != "approved" or (row.send_after is not None and row.send_after > now):
                return None
            if wait is not None:
                row.last_error = wait
                return None
            row.status = "sending"
            row.attempts = int(row.attempts or 0) + 1
            row.nonce = row.nonce or new_nonce()
            row.updated_at = now
            return {"platform": row.platform, "channel_id": row.channel_id, "text": row.text,
                    "reply_to": row.reply_to_external_id, "nonce": row.nonce, "attempts": row.attempts,
                    "message_id": row.message_id}

    async def send_one(self, reply_id: str) -> dict[str, Any]:
        """Send one approved reply now (if its time has come and its source is on)."""
        job = self._claim(reply_id)
        if job is None:
            return self.get(reply_id)
        platform = job["platform"]
        self._hold(platform, PLATFORM_GAP_S.get(platform, 1.0))
        try:
            client = await self.sources.client(platform, reply=True)
            if platform == "discord":
                platform_id = await client.send(job["channel_id"], job["text"], reply_to=job["reply_to"],
                                                nonce=job["nonce"])
            elif platform == "telegram":
                platform_id = await client.send(job["channel_id"], job["text"], reply_to=job["reply_to"])
            else:
                before = client.units_used
                try:
                    platform_id = await client.reply(job["reply_to"], job["text"])
                finally:
                    self.sources.add_quota(client.units_used - before)
        except asyncio.CancelledError:
            raise  # shutting down mid-send: the row stays `sending`, settled by the next resume()
        except SourceError as exc:
            return self._after_error(reply_id, job, exc.reason, retry_after_s=exc.retry_after_s,
                                     refused=exc.fatal or (exc.status is not None and 400 <= exc.status < 500))
        except Exception as exc:  # a bug or an unexpected answer: the outcome is open
            log.exception("sending reply %s failed", reply_id)
            return self._after_error(reply_id, job, f"unexpected error ({type(exc).__name__})",
                                     retry_after_s=None, refused=False)
        return self._sent(reply_id, job, str(platform_id))

    def _sent(self, reply_id: str, job: dict[str, Any], platform_id: str) -> dict[str, Any]:
        now = self.clock()
        with self.db.session() as s:
            row = self._row(s, reply_id)
            row.status, row.sent_at, row.platform_message_id = "sent", now, platform_id
            row.last_error = None
            row.updated_at = now
            if job["message_id"]:
                s.execute(update(CommunityMessage).where(CommunityMessage.id == job["message_id"])
                          .values(status="answered", needs_reply=0))
            data = reply_dict(row)
        self.sources.record_sent(job["platform"])
        self.events.publish("community_reply_sent", {"reply_id": reply_id, "platform": job["platform"],
                                                     "platform_message_id": platform_id})
        return data

    def _after_error(self, reply_id: str, job: dict[str, Any], reason: str, *, retry_after_s: float | None,
                     refused: bool) -> dict[str, Any]:
        platform = job["platform"]
        reason = self.sources.mask(reason) or "unknown error"
        now = self.clock()
        with self.db.session() as s:
            row = self._row(s, reply_id)
            if retry_after_s is not None:  # rate-limited: nothing was posted
                row.status = "approved"
                row.send_after = now + timedelta(seconds=retry_after_s)
                row.last_error = f"waiting {retry_after_s:.0f} s: {reason}"
                self._hold(platform, retry_after_s)
            elif refused:  # the platform said no: nothing was posted
                row.status = "failed"
                row.last_error = reason
            elif platform == "discord" and job["attempts"] < MAX_ATTEMPTS:  # same nonce: a resend is safe
                delay_s = min(RETRY_MAX_S, RETRY_BASE_S * 2 ** (job["attempts"] - 1))
                row.status = "approved"
                row.send_after = now + timedelta(seconds=delay_s)
                row.last_error = f"trying again in {delay_s:.0f} s (same nonce): {reason}"
            elif platform == "discord":
                row.status = "failed"
                row.last_error = f"{reason} (after {job['attempts']} attempts)"
            else:
                row.status = "unconfirmed"
                row.last_error = (f"{reason}: it may or may not have been posted; check the chat and approve it "
                                  "again if it is missing")
            row.updated_at = now
            data = reply_dict(row)
        if data["status"] in ("failed", "unconfirmed"):
            self.events.publish("community_reply_failed", {"reply_id": reply_id, "platform": platform,
                                                           "status": data["status"], "error": data["last_error"]})
        return data


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
