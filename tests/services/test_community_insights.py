"""Community figures from stored data on a fixed clock: the overview, sentiment (per platform, trend,
series), engagement of a track, topics (the file's checks and the counting), and the settings'
figures and validation (initialize, config, estimated responses)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from studio.connectors.messages import InboundMessage
from studio.db.models import CommunityReply, CommunitySource, CommunityState, Track
from studio.services.community.common import CommunityError, scale10
from studio.services.community.insights import UnknownContent, parse_period_s
from studio.services.community.topics import (
    PhraseMatcher,
    count_topics,
    load_topics,
    topics_config,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def msg(n: int, author: str, text: str, *, days_ago: float, platform: str = "discord", reactions: int = 0,
        from_self: bool = False, mention: bool = False) -> InboundMessage:
    return InboundMessage(platform=platform, channel_id="c1", message_id=str(n), author_id=author, author_name=author,
                          text=text, sent_at=NOW - timedelta(days=days_ago), reactions=reactions, from_self=from_self,
                          mentions_bot=mention)


CURRENT = [msg(1, "ana", "love this, it slaps", days_ago=0.8, reactions=2, mention=True),
           msg(2, "cy", "awful muddy mix", days_ago=1.5),
           msg(3, "dee", "new release when?", days_ago=0.5, platform="telegram", mention=True),
           msg(4, "bo", "great track", days_ago=3, platform="youtube", reactions=4)]
PREVIOUS = [msg(5, "ana", "ok", days_ago=10, reactions=1), msg(6, "bo", "nice", days_ago=12, platform="youtube",
                                                               reactions=1)]


@pytest.fixture
def community(services):
    community = services.community
    for part in (community.settings, community.topics, community.insights):
        part.clock = lambda: NOW
    community.ingest.store(CURRENT + PREVIOUS)
    with services.context.db.session() as s:
        for n, (platform, auto, by, days_ago, status) in enumerate([
                ("discord", 1, "studio", 1, "sent"), ("telegram", 0, "person", 2, "sent"),
                ("discord", 0, "studio", 20, "sent"), ("discord", 0, "studio", 1, "draft")]):
            at = NOW - timedelta(days=days_ago)
            s.add(CommunityReply(id=f"reply_{n}", platform=platform, text="thanks", drafted_by=by, auto=auto,
                                 status=status, sent_at=at if status == "sent" else None, created_at=at, updated_at=at))
    return community


def mean_score(services, texts: list[str]) -> float:
    return scale10(sum(services.community.sentiment.score(t).compound for t in texts) / len(texts))


def test_overview(community, services):
    result = community.insights.overview(7)
    o = result["overview"]
    assert o["total_members"] == 4 and o["new_members"] == 2 and o["messages"] == 4
    assert o["daily_interactions"] == round(4 / 7, 1)
    assert o["automation_percentage"] == 50.0  # 1 of the 2 replies sent in the period went out on its own
    assert o["sentiment_score"] == mean_score(services, [m.text for m in CURRENT])
    assert o["growth_rate"] == 100.0  # cy and dee new, ana and bo before
    assert o["engagement_improvement"] == 50.0  # 6 reactions / 4 messages vs 2 / 2
    rows = {row["platform"]: row for row in result["platform_breakdown"]}
    assert rows["discord"] == {"platform": "discord", "members": 2, "daily_messages": round(2 / 7, 1),
                               "ai_responses": 1, "sentiment": mean_score(services, [CURRENT[0].text, CURRENT[1].text])}
    assert rows["telegram"]["ai_responses"] == 0  # typed by a person
    assert result["reasons"] == {}

    empty = community.insights.overview(1)  # messages 1 and 3; the day before, message 2 without reactions
    assert empty["overview"]["messages"] == 2 and empty["overview"]["engagement_improvement"] is None
    assert "overview.engagement_improvement" in empty["reasons"]
    assert empty["platform_breakdown"][2]["sentiment"] is None and "platform_breakdown.youtube.sentiment" in empty["reasons"]
    with pytest.raises(CommunityError):
        community.insights.overview(0)


def test_sentiment_trend_platforms_topics_and_series(community, services):
    two = community.inbox.messages(search="muddy")["messages"][0]
    community.inbox.set_label(two["id"], "neutral")  # a correction moves the counts, not the scores
    result = community.insights.sentiment("all", "24h")
    overall = result["overall_sentiment"]
    now_score = mean_score(services, [CURRENT[0].text, CURRENT[2].text])
    before_score = mean_score(services, [CURRENT[1].text])
    assert overall["score"] == now_score and overall["previous_score"] == before_score
    delta = round(now_score - before_score, 1)
    assert overall["change"] == f"{delta:+.1f}" and overall["trend"] == "improving"
    rows = {row["platform"]: row for row in result["platform_sentiment"]}
    assert rows["discord"]["positive_mentions"] == 1 and rows["discord"]["messages"] == 1
    assert rows["youtube"]["score"] is None and "platform_sentiment.youtube.score" in result["reasons"]
    assert [t["topic"] for t in result["trending_topics"]] == ["new_release"]
    assert result["period"] == "24h"

    week = community.insights.sentiment("discord", "2d")
    assert [r["platform"] for r in week["platform_sentiment"]] == ["discord"]
    assert week["platform_sentiment"][0]["neutral_mentions"] == 1  # the corrected label
    assert week["overall_sentiment"]["trend"] is None and "overall_sentiment.trend" in week["reasons"]

    series = community.insights.sentiment_series("all", 4)
    assert [d["day"] for d in series] == ["2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30"]
    assert [d["messages"] for d in series] == [1, 0, 2, 1]
    assert series[1]["score"] is None and series[0]["score"] == mean_score(services, [CURRENT[3].text])
    assert series[2]["neutral"] == 1  # the corrected one
    for bad in ("forever", "0d", "10x"):
        with pytest.raises(CommunityError, match="period"):
            community.insights.sentiment("all", bad)
    assert parse_period_s("24h") == 86400 and parse_period_s("2w") == 14 * 86400


def test_engagement_of_a_track(community, services):
    with services.context.db.session() as s:
        s.add(Track(id="trk_1", generation_id="gen_1", title="Midnight Study Session", style="lofi_hip_hop",
                    genre="Hip-Hop", mood="calm", tempo_bpm=80.0, key="C_major", duration_s=60.0, seed=1, tags=[]))
    community.ingest.store([
        msg(20, "ana", "midnight study session is my favourite", days_ago=1, reactions=3),
        msg(21, "me", "New: Midnight Study Session, out now", days_ago=2, reactions=5, from_self=True),
        msg(22, "eve", "https://studio.example/t/trk_1 on repeat", days_ago=1, platform="youtube")])
    for content_id in ("trk_1", "gen_1"):
        result = community.insights.engagement(content_id)
        assert result["title"] == "Midnight Study Session" and result["track_id"] == "trk_1"
        e = result["engagement"]
        assert (e["likes"], e["comments"], e["total_interactions"]) == (8, 2, 10)
        assert e["shares"] is None and e["saves"] is None and "engagement.shares" in result["reasons"]
        # ana and eve of the 4 members on discord (ana, cy) and youtube (bo, eve); the user's own "me" is none
        assert result["members_reached"] == 2 and e["engagement_rate"] == 50.0
        assert result["platform_breakdown"] == [{"platform": "discord", "reactions": 8, "comments": 1, "shares": None},
                                                {"platform": "youtube", "reactions": 0, "comments": 1, "shares": None}]
    with pytest.raises(UnknownContent):
        community.insights.engagement("trk_nope")
    loose = community.insights.engagement("slaps")  # not a track, but messages name it
    assert loose["title"] is None and "title" in loose["reasons"] and loose["engagement"]["comments"] == 1


def test_platform_stats(community):
    stats = community.insights.platform_stats(days=1)
    assert stats["discord"]["members"] == 2 and stats["discord"]["daily_messages"] == 1.0
    assert stats["discord"]["last_response"] == "2026-11-29T12:00:00Z"  # the reply sent a day ago
    assert stats["youtube"]["last_message"] == "2026-11-27T12:00:00Z" and stats["youtube"]["last_response"] is None


# --- topics ----------------------------------------------------------------------------------------
def test_topics_file_is_checked(tmp_path: Path):
    assert {"new_release", "mixing", "vocals", "requests", "voice_characters", "collabs", "gear_daw",
            "tour_live"} <= set(topics_config().labels)
    cases = {
        '[topics.Bad-Id]\nlabel = "x"\nkeywords = ["a"]': "ids are lower case",
        '[topics.a]\nlabel = "x"\nkeywords = []': "keywords",
        '[topics.a]\nlabel = "x"\nkeywords = ["Mix"]': "lower-case",
        '[topics.a]\nlabel = "x"\nkeywords = ["mix"]\n[topics.b]\nlabel = "y"\nkeywords = ["mix"]': "already in",
        '[topics.a]\nkeywords = ["mix"]': "label",
        '[topics.a]\nlabel = "x"\nkeywords = ["mix"]\n[keywords]\nmin_length = 1': "min_length",
        'not toml [': "line 1",
        'x = 1': r"no \[topics",
    }
    for n, (text, words) in enumerate(cases.items()):
        path = tmp_path / f"t{n}.toml"
        path.write_text(text)
        with pytest.raises(ValueError, match=words):
            load_topics(path)


def test_topics_counting_and_free_keywords():
    matcher = PhraseMatcher({"lo-fi hip hop": "lofi", "hip hop": "boom", "mix": "mixing"})
    assert matcher.matches("More LO FI hip-hop and hip hop, the mix!") == ["lofi", "boom", "mixing"]
    assert matcher.matches("remix mixed") == []
    rows = [("the mix is muddy", -0.5, "negative"), ("great mix", 0.5, "positive"),
            ("tickets for the tour?", 0.0, "neutral"), ("saxophone solo please", 0.2, "positive"),
            ("that saxophone!", 0.6, "positive")]
    result = count_topics(rows, topics_config(), limit=3)
    assert result[0] == {"topic": "mixing", "label": "Mixing and mastering", "kind": "named", "mentions": 2,
                         "sentiment": 5.0, "positive": 1, "neutral": 0, "negative": 1}
    assert result[1]["topic"] == "tour_live" and result[1]["mentions"] == 1
    # fewer named topics than asked: the words used in 2+ messages fill in
    assert result[2] == {"topic": "saxophone", "label": "saxophone", "kind": "keyword", "mentions": 2,
                         "sentiment": scale10(0.4), "positive": 2, "neutral": 0, "negative": 0}
    assert len(count_topics(rows, topics_config(), limit=1)) == 1


# --- settings --------------------------------------------------------------------------------------
def test_initialize_and_config(community, services):
    first = community.settings.initialize()
    assert first["already_initialized"] is False and first["initialized_at"] == "2026-11-30T12:00:00Z"
    assert first["platforms_connected"] == 0 and "platforms_connected" in first["reasons"]
    assert first["automation_level"] == 0
    assert first["estimated_daily_interactions"] == round(4 / 7, 1)  # 4 messages in the last 7 days
    community.sources.list_sources()  # the source rows exist
    with services.context.db.session() as s:
        s.execute(update(CommunitySource).where(CommunitySource.name == "telegram").values(enabled=1, status="ok"))
        s.execute(update(CommunitySource).where(CommunitySource.name == "discord").values(enabled=1, status="error"))
        state = s.get(CommunityState, 1)
        state.config = {"auto_counts": {"day": "2026-11-30", "seen": 3, "auto": 1}}
    again = community.settings.initialize()
    assert again["already_initialized"] is True and again["initialized_at"] == first["initialized_at"]
    assert again["platforms_connected"] == 1 and again["platforms"] == ["telegram"]

    result = community.settings.update_config({"automation_level": 50, "response_delay": {"max_seconds": 120},
                                               "content_promotion": {"frequency": "daily", "max_per_day": 3}})
    # 2 Discord/Telegram messages addressed to the user in 7 days: 2 / 7 x 50%
    assert result["estimated_daily_responses"] == round(2 / 7 * 0.5, 1)
    assert "content_promotion" in result["not_applied"] and result["config_updated"] is True
    config = community.settings.config()
    assert config["automation_level"] == 50 and config["response_delay"] == {"min_seconds": 60, "max_seconds": 120}
    assert config["content_promotion"]["enabled"] is True and config["automation_applies_to"] == ["discord", "telegram"]
    with services.context.db.session() as s:  # what the poller keeps in the same row survives
        assert s.get(CommunityState, 1).config["auto_counts"]["seen"] == 3

    off = community.settings.update_config({"automation_level": 0})
    assert off["estimated_daily_responses"] == 0 and off["not_applied"] == {}
    community.settings.clock = lambda: NOW + timedelta(days=30)
    quiet = community.settings.update_config({"automation_level": 10})
    assert quiet["estimated_daily_responses"] is None and "estimated_daily_responses" in quiet["reasons"]


@pytest.mark.parametrize("changes, words", [
    ({"automation_level": 101}, "automation_level"),
    ({"automation_level": True}, "automation_level"),
    ({"response_delay": {"min_seconds": 400, "max_seconds": 300}}, "max_seconds"),
    ({"response_delay": {"min_seconds": -1}}, "min_seconds"),
    ({"response_delay": {"max_seconds": 90000}}, "max_seconds"),
    ({"response_delay": {"minimum": 1}}, "response_delay.minimum"),
    ({"personalization": {"enabled": "yes"}}, "personalization.enabled"),
    ({"content_promotion": {"frequency": "hourly"}}, "frequency"),
    ({"character_id": ""}, "character_id"),
    ({"moderation": True}, "moderation"),
])
def test_config_validation_names_the_field(community, changes, words):
    before = community.settings.config()
    with pytest.raises(CommunityError, match=words):
        community.settings.update_config({"automation_level": 20, **changes})
    assert community.settings.config() == before  # all or nothing
