"""Members and their computed profile: activity level from the message rate, favourite genres from
the style catalogue's words, engagement score from reactions and replies, VIP, filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from studio.connectors.messages import InboundMessage
from studio.services.community.common import CommunityError, UnknownMember
from studio.services.community.members import activity_level, engagement_score

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
_n = iter(range(1, 10_000))


def msg(author: str, name: str, text: str, *, days_ago: float, platform: str = "discord", reactions: int = 0,
        reply_to: str | None = None, joined: datetime | None = None, number: int | None = None) -> InboundMessage:
    return InboundMessage(platform=platform, channel_id="c1", message_id=str(number or next(_n)), author_id=author,
                          author_name=name, text=text, sent_at=NOW - timedelta(days=days_ago), reply_to_id=reply_to,
                          reactions=reactions, author_joined_at=joined)


def community(services) -> list[InboundMessage]:
    heavy = [msg("a", "Ana", "more lo-fi hip hop please, lofi forever", days_ago=d / 2, reactions=1) for d in range(40)]
    return [
        *heavy,  # 40 messages, one every 12 hours
        msg("b", "Bo", "this drum and bass goes hard", days_ago=40, number=5001, reactions=3),
        msg("b", "Bo", "house at the club tonight", days_ago=9),  # "club" says nothing of a genre
        msg("b", "Bo", "so much jungle and dnb in this set", days_ago=2),
        msg("c", "Cy", "hello from the past", days_ago=200, joined=datetime(2020, 5, 1, tzinfo=UTC)),
        msg("d", "Dee", "replying to Bo", days_ago=1, reply_to="5001", platform="discord"),
        msg("t", "Tom", "just joined", days_ago=0.5, platform="telegram"),
    ]


@pytest.fixture
def members(services):
    services.community.ingest.store(community(services))
    part = services.community.members
    part.clock = lambda: NOW
    return part


def by_name(page) -> dict[str, dict]:
    return {m["username"]: m for m in page["members"]}


def test_profiles_are_computed_from_the_stored_messages(members):
    page = members.list_members()
    assert page["total_members"] == 5 and page["active_members"] == 4 and page["matched"] == 5
    people = by_name(page)
    ana, bo, cy, tom = people["Ana"], people["Bo"], people["Cy"], people["Tom"]
    # activity: messages in the last 30 days (or since first seen) per day
    assert ana["messages_per_day"] == round(40 / 19.5, 2) and ana["activity_level"] == "high"  # first seen 19.5 d ago
    assert bo["messages_per_day"] == round(2 / 30, 2) and bo["activity_level"] == "low"  # 2 of 3 within 30 d
    assert cy["activity_level"] == "inactive" and cy["messages_per_day"] == 0
    assert tom["activity_window_days"] == 1.0 and tom["activity_level"] == "high"  # first seen half a day ago
    # genres: the style catalogue's words; a phrase counts once ("lo-fi hip hop" is not also "hip hop")
    assert ana["favorite_genres"] == ["lofi_hip_hop"] and ana["genre_mentions"] == {"lofi_hip_hop": 40}
    assert bo["favorite_genres"] == ["dnb", "house"] and bo["genre_mentions"] == {"dnb": 2, "house": 1}
    assert cy["favorite_genres"] == []
    # engagement: r = (reactions + replies) / messages, 10 r / (r + 1)
    assert ana["engagement_score"] == 5.0  # one reaction per message
    assert bo["replies_received"] == 1 and bo["engagement_score"] == engagement_score(3, 1, 3) == 5.7
    assert cy["engagement_score"] == 0.0
    # join date: the platform's when it gave one, else first seen
    assert cy["join_date"] == "2020-05-01T00:00:00Z" and cy["join_date_basis"] == "platform"
    assert ana["join_date"] == ana["first_seen"] and ana["join_date_basis"] == "first_seen"
    assert ana["total_messages"] == 40 and ana["vip_status"] is False and ana["reasons"] == {}
    # most recently seen first
    assert [m["username"] for m in page["members"]][:2] == ["Ana", "Tom"]


def test_filters_vip_and_one_member(members):
    assert list(by_name(members.list_members(platform="telegram"))) == ["Tom"]
    telegram = members.list_members(platform="telegram")
    assert telegram["total_members"] == 1 and telegram["active_members"] == 1
    assert list(by_name(members.list_members(status="inactive"))) == ["Cy"]
    assert "Cy" not in by_name(members.list_members(status="active"))
    assert list(by_name(members.list_members(search="B"))) == ["Bo"]
    page = members.list_members(limit=2, offset=2)
    assert page["matched"] == 5 and len(page["members"]) == 2

    bo = by_name(members.list_members(search="bo"))["Bo"]
    marked = members.set_vip(bo["id"], True)
    assert marked["vip_status"] is True and [m["text"] for m in marked["recent_messages"]][0].startswith("so much")
    assert list(by_name(members.list_members(status="vip"))) == ["Bo"]
    assert members.set_vip(bo["id"], False)["vip_status"] is False
    with pytest.raises(UnknownMember):
        members.member("member_nope")
    with pytest.raises(CommunityError, match="status"):
        members.list_members(status="lurking")
    with pytest.raises(CommunityError, match="platform"):
        members.list_members(platform="myspace")


def test_formulas():
    assert [activity_level(r) for r in (3.0, 1.0, 0.5, 1 / 7, 0.1, 0.0)] == \
        ["high", "high", "medium", "medium", "low", "inactive"]
    assert engagement_score(0, 0, 4) == 0.0 and engagement_score(2, 2, 4) == 5.0 and engagement_score(9, 0, 1) == 9.0
    assert engagement_score(5, 5, 0) is None
