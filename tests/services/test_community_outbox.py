"""The outbox: approved replies are sent once each, in order, honouring send_after and
retry_after; `sending` is committed before the call; a restart resends on Discord with the same
nonce and asks a person to check elsewhere; failures keep their reason (fake clients, no network)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from studio.connectors.charts import SourceError
from studio.connectors.messages import InboundMessage
from studio.db.models import CommunityReply
from studio.services.community.common import CommunityError, new_id
from studio.timeutil import utcnow

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakeSender:
    """A Discord/Telegram client: records sends, can fail, and reads the row's status mid-call."""

    def __init__(self, db, *, errors: list[Exception] | None = None) -> None:
        self.db = db
        self.sent: list[dict] = []
        self.errors = list(errors or [])
        self.status_during_call: list[str] = []

    async def send(self, channel_id, text, *, reply_to=None, nonce=None):
        with self.db.session() as s:
            self.status_during_call.extend(s.scalars(select(CommunityReply.status).where(
                CommunityReply.text == text)).all())
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append({"channel_id": channel_id, "text": text, "reply_to": reply_to, "nonce": nonce})
        return f"out{len(self.sent)}"


@pytest.fixture
def community(services):
    community = services.community
    clock = Clock(T0)
    community.outbox.clock = clock
    community.sources.clock = clock
    community.clock = clock
    for name in ("discord", "telegram", "youtube"):
        community.sources.configure(name, enabled=True)
    return community


def stored_message(services, *, platform="discord", n=1, channel="c1") -> str:
    result = services.community.ingest.store([InboundMessage(
        platform=platform, channel_id=channel, message_id=str(n), author_id="u1", author_name="Ana",
        text="@bot love the new track", sent_at=T0 - timedelta(minutes=5), mentions_bot=True)])
    return result.mentions[0]["message_id"]


def draft(services, message_id: str | None, *, platform="discord", text="Thank you, Ana!", channel="c1",
          reply_to="1") -> str:
    reply_id = new_id("reply")
    with services.context.db.session() as s:
        s.add(CommunityReply(id=reply_id, message_id=message_id, platform=platform,
                             channel_id=channel if message_id else None, reply_to_external_id=reply_to, text=text,
                             drafted_text=text, drafted_by="studio", status="draft", auto=0, attempts=0,
                             created_at=T0, updated_at=T0))
    return reply_id


async def test_sent_once_with_sending_committed_first(services, community):
    seen = []
    services.events.subscribe(lambda event, data: seen.append(data) if event == "community_reply_sent" else None)
    message_id = stored_message(services)
    reply_id = draft(services, message_id)
    fake = community.sources.clients["discord"] = FakeSender(services.context.db)
    approved = community.outbox.approve(reply_id, text="Thanks Ana, more soon!", approved_by="alice")
    assert approved["status"] == "approved" and approved["approved_by"] == "alice" and approved["edited"]
    assert await community.outbox.send_due() == 1
    assert await community.outbox.send_due() == 0  # nothing twice
    assert fake.status_during_call == ["sending"]
    assert [(m["channel_id"], m["text"], m["reply_to"]) for m in fake.sent] == [("c1", "Thanks Ana, more soon!", "1")]
    assert 1 <= len(fake.sent[0]["nonce"]) <= 25
    reply = community.outbox.get(reply_id)
    assert reply["status"] == "sent" and reply["platform_message_id"] == "out1" and reply["sent_at"]
    assert seen == [{"reply_id": reply_id, "platform": "discord", "platform_message_id": "out1"}]
    message = community.inbox.message(message_id)
    assert message["status"] == "answered" and message["needs_reply"] is False
    assert community.sources.get("discord")["sent_total"] == 1


async def test_order_send_after_and_a_source_turned_off(services, community):
    first = draft(services, stored_message(services, n=1), reply_to="1", text="first")
    second = draft(services, stored_message(services, n=2), reply_to="2", text="second")
    later = draft(services, stored_message(services, n=3), reply_to="3", text="later")
    fake = community.sources.clients["discord"] = FakeSender(services.context.db)
    community.outbox.approve(second, approved_by="alice")
    community.outbox.clock.now += timedelta(seconds=1)
    community.outbox.approve(first, approved_by="alice")
    community.outbox.approve(later, approved_by="automation", auto=True, send_after=T0 + timedelta(seconds=90))
    await community.outbox.send_due()
    community.outbox.clock.now += timedelta(seconds=2)  # past the platform gap
    await community.outbox.send_due()
    assert [s["text"] for s in fake.sent] == ["second", "first"]
    community.sources.configure("discord", enabled=False)
    community.outbox.clock.now = T0 + timedelta(seconds=100)
    await community.outbox.send_due()
    waiting = community.outbox.get(later)
    assert waiting["status"] == "approved" and "turned off" in waiting["last_error"]
    community.sources.configure("discord", enabled=True)  # what waited for it may go at once
    await community.outbox.send_due()
    assert [s["text"] for s in fake.sent] == ["second", "first", "later"]
    assert community.outbox.get(later)["auto"] is True


async def test_rate_limit_waits_and_refusal_fails_until_approved_again(services, community):
    reply_id = draft(services, stored_message(services))
    fake = community.sources.clients["discord"] = FakeSender(services.context.db, errors=[
        SourceError("discord", "rate-limited", retry_after_s=40.0, status=429),
        SourceError("discord", "the bot cannot send in this channel", fatal=True, status=403)])
    community.outbox.approve(reply_id, approved_by="alice")
    await community.outbox.send_due()
    reply = community.outbox.get(reply_id)
    assert reply["status"] == "approved" and reply["send_after"] == "2026-11-02T12:00:40Z"
    assert "rate-limited" in reply["last_error"]
    community.outbox.clock.now += timedelta(seconds=20)
    await community.outbox.send_due()
    assert community.outbox.get(reply_id)["attempts"] == 1  # not before retry_after
    community.outbox.clock.now += timedelta(seconds=21)
    await community.outbox.send_due()
    reply = community.outbox.get(reply_id)
    assert reply["status"] == "failed" and "cannot send" in reply["last_error"] and reply["attempts"] == 2
    community.outbox.approve(reply_id, approved_by="alice")
    community.outbox.clock.now += timedelta(seconds=5)
    await community.outbox.send_due()
    assert community.outbox.get(reply_id)["status"] == "sent" and len(fake.sent) == 1


async def test_an_open_outcome_retries_on_discord_and_asks_a_person_elsewhere(services, community):
    on_discord = draft(services, stored_message(services, n=1))
    on_telegram = draft(services, stored_message(services, platform="telegram", n=5, channel="-100"),
                        platform="telegram", channel="-100", reply_to="5")
    discord = community.sources.clients["discord"] = FakeSender(services.context.db, errors=[
        SourceError("discord", "Discord had a server error (HTTP 502)", status=502)])
    telegram = community.sources.clients["telegram"] = FakeSender(services.context.db, errors=[
        SourceError("telegram", "api.telegram.org did not answer within 20 s")])
    community.outbox.approve(on_discord, approved_by="alice")
    community.outbox.approve(on_telegram, approved_by="alice")
    await community.outbox.send_due()
    retry = community.outbox.get(on_discord)
    assert retry["status"] == "approved" and "same nonce" in retry["last_error"]
    unsure = community.outbox.get(on_telegram)
    assert unsure["status"] == "unconfirmed" and "may or may not" in unsure["last_error"]
    community.outbox.clock.now += timedelta(seconds=31)
    await community.outbox.send_due()
    assert community.outbox.get(on_discord)["status"] == "sent" and len(discord.sent) == 1
    assert telegram.sent == []


async def test_resume_after_a_crash(services, community):
    on_discord = draft(services, stored_message(services, n=1))
    on_telegram = draft(services, stored_message(services, platform="telegram", n=5, channel="-100"),
                        platform="telegram", channel="-100", reply_to="5")
    for reply_id in (on_discord, on_telegram):
        community.outbox.approve(reply_id, approved_by="alice")
    with services.context.db.session() as s:  # what a SIGKILL mid-send leaves
        for row in s.query(CommunityReply).all():
            row.status = "sending"
        nonce = s.get(CommunityReply, on_discord).nonce
    counts = community.outbox.resume(None)
    assert counts == {"resent": 1, "unconfirmed": 1}
    discord = community.sources.clients["discord"] = FakeSender(services.context.db)
    telegram = community.sources.clients["telegram"] = FakeSender(services.context.db)
    await community.outbox.send_due()
    assert [s["nonce"] for s in discord.sent] == [nonce]  # the same nonce: Discord drops a duplicate
    assert telegram.sent == []
    check = community.outbox.get(on_telegram)
    assert check["status"] == "unconfirmed" and "check the chat" in check["last_error"]
    community.outbox.approve(on_telegram, approved_by="alice")  # the person looked: it is missing
    await community.outbox.send_due()
    assert len(telegram.sent) == 1


def test_what_cannot_be_approved(services, community):
    loose = draft(services, None)
    with pytest.raises(CommunityError, match="no stored message"):
        community.outbox.approve(loose, approved_by="alice")
    on_youtube = draft(services, stored_message(services, platform="youtube", n=9, channel="vid"),
                       platform="youtube", channel="vid", reply_to="9")
    with pytest.raises(CommunityError, match="never sent without"):
        community.outbox.approve(on_youtube, approved_by="automation", auto=True)
    with pytest.raises(CommunityError, match="at most 2000"):
        community.outbox.approve(draft(services, stored_message(services, n=2), reply_to="2"), text="x" * 2001,
                                 approved_by="alice")
    discarded = community.outbox.discard(on_youtube)
    assert discarded["status"] == "discarded"
    with pytest.raises(CommunityError):
        community.outbox.approve(on_youtube, approved_by="alice")
    assert [r["id"] for r in community.outbox.list_replies(status="discarded")] == [on_youtube]


async def test_the_sender_task_sends_what_is_approved(services, community):
    community.outbox.clock = community.sources.clock = utcnow
    reply_id = draft(services, stored_message(services))
    fake = community.sources.clients["discord"] = FakeSender(services.context.db)
    community.outbox.resume(asyncio.get_running_loop())
    try:
        community.outbox.approve(reply_id, approved_by="alice")
        for _ in range(100):
            if fake.sent:
                break
            await asyncio.sleep(0.02)
        assert len(fake.sent) == 1
    finally:
        community.outbox.close()
