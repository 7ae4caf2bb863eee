"""Community sources: set-up steps, tokens kept out of every answer, status and errors, YouTube's
quota day, the connector clients built from Settings (fake clients, no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from studio.connectors.charts import SourceError
from studio.services.community.common import CommunityError, UnknownSource

T0 = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)  # 23:30 the day before in Los Angeles
DISCORD_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.Gabcde.secret-part-of-the-token"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakeSecrets:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name):
        return self.values.get(name)

    def set(self, name, value):
        self.values[name] = value

    def delete(self, name):
        self.values.pop(name, None)

    def has(self, name):
        return name in self.values

    def masked(self, name):
        return "••••" + self.values[name][-4:] if name in self.values else None


class FakeDiscord:
    def __init__(self, *, fail: SourceError | None = None) -> None:
        self.fail = fail

    async def me(self):
        if self.fail:
            raise self.fail
        return {"id": "42", "username": "studio-bot"}

    async def guilds(self):
        return [{"id": "7", "name": "My Server"}]

    async def channels(self, guild_id):
        return [{"id": "100", "name": "general", "guild_id": guild_id}]


@pytest.fixture
def sources(services):
    sources = services.community.sources
    sources.secrets = FakeSecrets()
    sources.clock = Clock(T0)
    return sources


def test_three_platforms_off_with_set_up_steps(sources):
    listed = sources.list_sources()
    assert [s["name"] for s in listed] == ["discord", "telegram", "youtube"]
    for source in listed:
        assert source["enabled"] is False and source["status"] == "disabled" and source["has_token"] is False
        assert len(source["instructions"]) >= 4
    by_name = {s["name"]: s for s in listed}
    assert any("Message Content" in step for step in by_name["discord"]["instructions"])
    assert any("/setprivacy" in step for step in by_name["telegram"]["instructions"])
    assert any("Desktop app" in step for step in by_name["youtube"]["instructions"])
    assert by_name["discord"]["can_automate"] and not by_name["youtube"]["can_automate"]
    assert by_name["youtube"]["quota_limit"] == 10_000 and by_name["youtube"]["quota_used"] == 0
    assert by_name["discord"]["quota_limit"] is None


def test_a_token_is_never_returned(sources):
    sources.set_token("discord", DISCORD_TOKEN)
    listed = json.dumps(sources.list_sources())
    assert DISCORD_TOKEN not in listed and "secret-part" not in listed
    source = sources.get("discord")
    assert source["has_token"] and source["token_masked"] == "••••oken"
    sources.clear_token("discord")
    assert sources.get("discord")["has_token"] is False
    with pytest.raises(CommunityError):
        sources.set_token("discord", "  ")
    with pytest.raises(CommunityError, match="plain letters"):  # it could not be sent in a header (was a 500)
        sources.set_token("discord", "tok\u00e9n\u4e2d")
    with pytest.raises(UnknownSource):
        sources.set_token("myspace", "x")


def test_configuration_is_checked_and_published(services, sources):
    seen = []
    services.events.subscribe(lambda event, data: seen.append(data) if event == "community_source" else None)
    source = sources.configure("discord", enabled=True,
                               config={"channels": [{"id": "100", "name": "general", "guild_id": "7"}]})
    assert source["enabled"] and source["status"] == "connecting"
    assert source["config"]["channels"] == [{"id": "100", "name": "general", "guild_id": "7"}]
    assert seen[-1] == {"name": "discord", "status": "connecting", "error": None}
    for bad in ({"channels": [{"name": "no id"}]}, {"poll_interval_s": 1}, {"colour": "red"}):
        with pytest.raises(CommunityError):
            sources.configure("discord", config=bad)
    with pytest.raises(CommunityError, match="UC"):
        sources.configure("youtube", config={"channel_id": "my channel"})
    sources.configure("youtube", config={"video_ids": ["dQw4w9WgXcQ", "dQw4w9WgXcQ"]})
    assert sources.config_of("youtube")["video_ids"] == ["dQw4w9WgXcQ"]
    assert sources.configure("discord", enabled=False)["status"] == "disabled"


async def test_verify_reads_the_identity_or_shows_why_not(sources):
    sources.secrets.set("community.discord.token", DISCORD_TOKEN)
    sources.clients["discord"] = FakeDiscord()
    sources.configure("discord", enabled=True)
    source = await sources.verify("discord")
    assert source["status"] == "ok" and source["identity"] == {"id": "42", "username": "studio-bot"}
    # a reason that (wrongly) carries the token is masked before it is kept
    sources.clients["discord"] = FakeDiscord(fail=SourceError("discord", f"rejected {DISCORD_TOKEN}", fatal=True))
    source = await sources.verify("discord")
    assert source["status"] == "error" and DISCORD_TOKEN not in source["error"] and "••••" in source["error"]


async def test_discord_channels_to_pick_from(sources):
    sources.clients["discord"] = FakeDiscord()
    assert await sources.discord_channels() == [{"id": "100", "name": "general", "guild_id": "7",
                                                 "guild_name": "My Server"}]


def test_youtube_quota_day_starts_at_midnight_pacific(sources):
    sources.add_quota(120)
    assert sources.get("youtube")["quota_used"] == 120 and sources.quota_left() == 9_880
    sources.clock.now = T0 + timedelta(minutes=20)  # 23:50 in Los Angeles: the same quota day
    sources.add_quota(50)
    assert sources.get("youtube")["quota_used"] == 170
    sources.clock.now = T0 + timedelta(minutes=40)  # 00:10 in Los Angeles: a new day
    assert sources.get("youtube")["quota_used"] == 0
    sources.add_quota(1)
    assert sources.get("youtube")["quota_used"] == 1


def test_client_for_uses_the_base_url_from_settings(services, sources):
    with pytest.raises(SourceError) as missing:
        sources.client_for("telegram")
    assert missing.value.fatal
    services.context.settings.discord_url = "http://127.0.0.1:9/api/v10"
    sources.secrets.set("community.discord.token", DISCORD_TOKEN)
    client = sources.client_for("discord")
    assert client.base_url == "http://127.0.0.1:9/api/v10"
    assert sources.client_for("discord") is client  # kept: its rate limits span polls
    assert DISCORD_TOKEN not in repr(client)
    sources.set_token("discord", DISCORD_TOKEN + "x")
    assert sources.client_for("discord") is not client


def test_oauth_client_is_checked_and_masked(sources):
    with pytest.raises(CommunityError, match="googleusercontent"):
        sources.set_oauth_client("abc", "secret")
    sources.set_oauth_client("123-abc.apps.googleusercontent.com", "GOCSPX-very-secret-value")
    youtube = sources.get("youtube")
    assert youtube["has_oauth_client"] and not youtube["signed_in"] and not youtube["can_reply"]
    assert "GOCSPX" not in json.dumps(sources.list_sources())
    assert sources.mask("error GOCSPX-very-secret-value here") == "error •••• here"
