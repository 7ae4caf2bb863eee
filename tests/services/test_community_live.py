"""Live polling with fake clients (no network): cursors, a failing channel or source beside working
ones, back-off on retry_after, YouTube's quota, and automatic replies limited to the configured share."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from studio.connectors.charts import SourceError
from studio.connectors.messages import InboundMessage
from studio.services.community.common import CommunityError
from studio.services.community.live import delay_fraction

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def message(platform: str, channel: str, n: int, *, mention: bool = True, text: str = "hey bot, love this",
            sent_at: datetime | None = None) -> InboundMessage:
    return InboundMessage(platform=platform, channel_id=channel, message_id=str(n), author_id=f"u{n % 3}",
                          author_name=f"User{n % 3}", text=text, sent_at=sent_at or T0 + timedelta(seconds=n),
                          mentions_bot=mention)


class FakeDiscord:
    def __init__(self, channels: dict[str, list[InboundMessage]], *, refused: set[str] = frozenset()) -> None:
        self.channels = channels
        self.refused = refused
        self.asked: list[tuple[str, str | None]] = []

    async def me(self):
        return {"id": "999", "username": "bot"}

    async def messages(self, channel_id, *, after=None, limit=100, channel_name=None, bot_user_id=None,
                       guild_id=None):
        self.asked.append((channel_id, after))
        if channel_id in self.refused:
            raise SourceError("discord", "the bot cannot read this channel", fatal=True, status=403)
        found = [m for m in self.channels.get(channel_id, []) if after is None or int(m.message_id) > int(after)]
        return found[:limit]


class FakeTelegram:
    def __init__(self, batches: list, *, error: SourceError | None = None) -> None:
        self.batches = list(batches)
        self.error = error
        self.offsets: list = []

    async def get_me(self):
        return {"id": "555", "username": "studio_bot", "can_read_all_group_messages": False}

    async def updates(self, offset, *, timeout_s=25, bot_username=None):
        self.offsets.append(offset)
        if self.error:
            raise self.error
        if not self.batches:
            return [], offset
        batch = self.batches.pop(0)
        return batch, (offset or 0) + len(batch) + 1


class FakeYouTube:
    def __init__(self, pages: list) -> None:
        self.pages = list(pages)
        self.units_used = 0
        self.calls: list[dict] = []

    async def threads(self, *, video_id=None, channel_id=None, page_token=None, max_results=100, own_channel_id=None):
        self.units_used += 1
        self.calls.append({"video_id": video_id, "page_token": page_token})
        return self.pages.pop(0) if self.pages else ([], None)


@pytest.fixture
def community(services):
    return services.community


def enable(community, name, **config):
    community.sources.configure(name, enabled=True, config=config or None)


async def test_discord_reads_each_channel_after_its_cursor_and_names_a_refused_channel(community):
    fake = community.sources.clients["discord"] = FakeDiscord(
        {"100": [message("discord", "100", n) for n in (1, 2)]}, refused={"200"})
    enable(community, "discord", channels=[{"id": "100", "name": "general"}, {"id": "200", "name": "mods"}])
    result = await community.live.poll("discord")
    assert result["new"] == 2 and result["mentions"] == 2
    assert "#mods: the bot cannot read this channel" in result["error"]
    source = community.sources.get("discord")
    assert source["status"] == "error" and "#mods" in source["error"] and source["messages_total"] == 2
    assert source["identity"] == {"id": "999", "username": "bot"}
    fake.channels["100"].append(message("discord", "100", 3))
    fake.refused = set()
    result = await community.live.poll("discord")
    assert result["new"] == 1 and result["error"] is None
    assert ("100", "2") in fake.asked  # after the last stored id
    assert community.sources.get("discord")["status"] == "ok"
    assert community.inbox.counts()["needs_reply"] == 3


async def test_telegram_offset_moves_after_storing(community):
    fake = community.sources.clients["telegram"] = FakeTelegram([[message("telegram", "-100", 1)]])
    enable(community, "telegram")
    assert (await community.live.poll("telegram"))["new"] == 1
    await community.live.poll("telegram")
    assert fake.offsets == [None, 2]
    assert community.sources.cursor_of("telegram") == {"offset": 2}
    assert community.sources.get("telegram")["identity"]["privacy_mode"] is True


async def test_youtube_counts_units_and_stops_at_what_it_read_before(community):
    enable(community, "youtube", video_ids=["dQw4w9WgXcQ"])
    newer = [message("youtube", "dQw4w9WgXcQ", n, sent_at=T0 + timedelta(hours=n)) for n in (3, 4)]
    older = [message("youtube", "dQw4w9WgXcQ", n, sent_at=T0 + timedelta(hours=n)) for n in (1, 2)]
    fake = community.sources.clients["youtube"] = FakeYouTube([(newer, "page2"), (older, None)])
    result = await community.live.poll("youtube")
    assert result["new"] == 4 and community.sources.get("youtube")["quota_used"] == 2
    assert community.sources.cursor_of("youtube") == {"dQw4w9WgXcQ": "2026-11-02T16:00:00Z"}
    fake.pages = [([newer[-1], message("youtube", "dQw4w9WgXcQ", 5, sent_at=T0 + timedelta(hours=5))], "more")]
    result = await community.live.poll("youtube")
    assert result["new"] == 1 and len(fake.calls) == 3  # the page reached a comment read before: no more pages
    community.sources.add_quota(9_600)
    result = await community.live.poll("youtube")
    assert "paused" in result["error"] and len(fake.calls) == 3


async def test_a_source_turned_off_is_not_polled(community):
    with pytest.raises(CommunityError, match="turned off"):
        await community.live.poll("telegram")


async def test_one_failing_source_does_not_stop_the_others(community):
    slept: dict[str, list[float]] = {}

    async def sleep(delay_s):
        name = asyncio.current_task().get_name().removeprefix("community-")
        slept.setdefault(name, []).append(delay_s)
        await asyncio.sleep(0.01)

    community.live._sleep = sleep
    community.sources.clients["telegram"] = FakeTelegram([], error=SourceError(
        "telegram", "Too Many Requests", retry_after_s=35.0, status=429))
    fake = community.sources.clients["discord"] = FakeDiscord({"100": [message("discord", "100", 1)]})
    enable(community, "telegram")
    enable(community, "discord", channels=["100"])
    community.live.start(asyncio.get_running_loop())
    try:
        for _ in range(200):
            if len(slept.get("telegram", [])) >= 2 and len(slept.get("discord", [])) >= 2:
                break
            await asyncio.sleep(0.01)
    finally:
        community.live.close()
    assert slept["telegram"][:2] == [35.0, 35.0]  # the platform's retry_after
    assert slept["discord"][0] == 10.0  # poll_interval_s
    assert community.sources.get("telegram")["status"] == "error"
    assert community.sources.get("discord")["status"] == "ok" and len(fake.asked) >= 2


async def test_a_fatal_error_stops_the_task_until_the_source_changes(community):
    community.sources.clients["telegram"] = FakeTelegram([], error=SourceError(
        "telegram", "a webhook is set for this bot", fatal=True, status=409))
    enable(community, "telegram")
    community.live.start(asyncio.get_running_loop())
    try:
        for _ in range(100):
            if not community.live.running():
                break
            await asyncio.sleep(0.01)
        assert community.live.running() == []
        assert "webhook" in community.sources.get("telegram")["error"]
        community.sources.clients["telegram"] = FakeTelegram([])
        community.sources.configure("telegram", config={"poll_timeout_s": 0})
        assert community.live.running() == ["telegram"]
    finally:
        community.live.close()


async def test_automation_answers_its_share_of_bot_messages_only(services, community):
    community.settings.update_config({"automation_level": 50, "response_delay": {"min_seconds": 30,
                                                                                  "max_seconds": 300}})
    community.sources.clients["telegram"] = FakeTelegram([[message("telegram", "-100", n) for n in range(1, 5)]])
    community.sources.clients["youtube"] = FakeYouTube([([message("youtube", "vid", 9)], None)])
    enable(community, "telegram")
    enable(community, "youtube", video_ids=["dQw4w9WgXcQ"])
    before = datetime.now(UTC)
    result = await community.live.poll("telegram")
    assert result["mentions"] == 4 and result["auto_approved"] == 2
    assert (await community.live.poll("youtube"))["auto_approved"] == 0
    approved = community.outbox.list_replies(status="approved")
    assert len(approved) == 2
    for reply in approved:
        assert reply["auto"] and reply["approved_by"] == "automation" and reply["platform"] == "telegram"
        delay_s = (datetime.fromisoformat(reply["send_after"]) - before).total_seconds()
        expected = 30 + 270 * delay_fraction(reply["message_id"])
        assert abs(delay_s - expected) < 5
    assert community.settings.config()["automation_level"] == 50
    community.settings.update_config({"automation_level": 0})
    community.sources.clients["telegram"].batches = [[message("telegram", "-100", 7)]]
    assert (await community.live.poll("telegram"))["auto_approved"] == 0
