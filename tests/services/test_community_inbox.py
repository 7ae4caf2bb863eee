"""The inbox query: newest first, every filter, exact totals on both query plans, threads,
label corrections and triage statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from studio.connectors.messages import InboundMessage
from studio.db.models import CommunityReply
from studio.services.community import inbox as inbox_module
from studio.services.community.common import CommunityError, UnknownMessage

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def msg(n: int, text: str, *, author: str = "u1", name: str = "Ana", platform: str = "discord", channel: str = "c1",
        mention: bool = False, from_self: bool = False, reply_to: str | None = None) -> InboundMessage:
    return InboundMessage(platform=platform, channel_id=channel, message_id=str(n), author_id=author, author_name=name,
                          text=text, sent_at=T0 + timedelta(minutes=n), reply_to_id=reply_to, mentions_bot=mention,
                          from_self=from_self)


MESSAGES = [
    msg(1, "love this track, it slaps", mention=True),
    msg(2, "the mix is muddy and awful", author="u2", name="Bo"),
    msg(3, "when is the next release?", author="t1", name="Cy", platform="telegram", channel="chat", mention=True),
    msg(4, "@studio can you make LO-FI for coding?", author="u2", name="Bo", mention=True, reply_to="1"),
    msg(5, "thanks Bo, on it", author="bot", name="StudioBot", from_self=True, reply_to="4"),
    msg(6, "great comment section", author="y1", name="Dee", platform="youtube", channel="vid1", mention=True),
    msg(7, "100% agree with Bo", author="u3", name="Eve", reply_to="4"),
]


@pytest.fixture
def inbox(services):
    services.community.ingest.store(MESSAGES)
    return services.community.inbox


def ids(page) -> list[str]:
    return [f"{m['platform']}:{m['external_id']}" for m in page["messages"]]


def test_newest_first_with_every_filter(inbox):
    page = inbox.messages()
    assert page["total"] == 7 and ids(page)[0] == "discord:7" and ids(page)[-1] == "discord:1"
    assert ids(inbox.messages(platform="telegram")) == ["telegram:3"]
    assert ids(inbox.messages(platform="all", limit=2)) == ["discord:7", "youtube:6"]
    # 4 was answered by the user's own message 5; 1 still waits
    assert ids(inbox.messages(needs_reply=True)) == ["youtube:6", "telegram:3", "discord:1"]
    assert ids(inbox.messages(mentions=True)) == ["youtube:6", "discord:4", "telegram:3", "discord:1"]
    assert ids(inbox.messages(sentiment="negative")) == ["discord:2"]
    assert ids(inbox.messages(search="lo-fi")) == ["discord:4"]  # case-insensitive
    assert ids(inbox.messages(search="bo")) == ["discord:7", "discord:5", "discord:4", "discord:2"]  # author or text
    assert ids(inbox.messages(search="100%")) == ["discord:7"]  # % is a character, not a wildcard
    assert ids(inbox.messages(status="answered")) == ["discord:4"]
    bo = inbox.messages(search="muddy")["messages"][0]["author"]["member_id"]
    assert ids(inbox.messages(member_id=bo)) == ["discord:4", "discord:2"]
    page = inbox.messages(limit=3, offset=3)
    assert page["total"] == 7 and ids(page) == ["discord:4", "telegram:3", "discord:2"]
    assert inbox.messages(offset=50)["messages"] == [] and inbox.messages(offset=50)["total"] == 7


def test_both_query_plans_give_the_same_pages(inbox, monkeypatch):
    queries = [{}, {"platform": "discord"}, {"mentions": True}, {"sentiment": "positive", "platform": "discord"},
               {"search": "o", "limit": 2, "offset": 1}, {"needs_reply": True, "platform": "youtube"},
               {"status": "read", "offset": 10}]
    walked = [inbox.messages(**q) for q in queries]
    monkeypatch.setattr(inbox_module, "WALK_MAX_ROWS", -1)  # always the sorted-ids plan
    assert [inbox.messages(**q) for q in queries] == walked


def test_bad_filters_say_what_to_fix(inbox):
    for kwargs, words in [({"platform": "reddit"}, "platform"), ({"sentiment": "angry"}, "sentiment"),
                          ({"status": "done"}, "status"), ({"limit": 0}, "limit"), ({"offset": -1}, "offset")]:
        with pytest.raises(CommunityError, match=words):
            inbox.messages(**kwargs)


def test_a_message_with_its_thread_and_drafts(inbox, services):
    four = inbox.messages(search="coding")["messages"][0]
    with services.context.db.session() as s:
        s.add(CommunityReply(id="reply_1", message_id=four["id"], platform="discord", channel_id="c1", text="Sure!",
                             drafted_text="Sure!", status="draft", created_at=T0, updated_at=T0))
    detail = inbox.message(four["id"])
    assert detail["id"] == four["id"] and detail["status"] == "answered"
    # the message it answers above it, the replies to it below, oldest first
    assert [m["external_id"] for m in detail["thread"]] == ["1", "5", "7"]
    assert [r["id"] for r in detail["replies"]] == ["reply_1"]
    with pytest.raises(UnknownMessage):
        inbox.message("msg_nope")


def test_label_corrections_and_statuses(inbox):
    two = inbox.messages(search="muddy")["messages"][0]
    assert two["sentiment"]["label"] == "negative" and two["sentiment"]["label_source"] == "model"
    corrected = inbox.set_label(two["id"], "neutral")
    assert corrected["sentiment"] == {**two["sentiment"], "label": "neutral", "label_source": "user"}
    assert ids(inbox.messages(sentiment="neutral", search="muddy")) == ["discord:2"]
    assert inbox.counts()["negative"] == 0
    assert inbox.set_label(two["id"], "negative")["sentiment"]["label_source"] == "model"  # same as the model's
    assert inbox.set_label(two["id"], None)["sentiment"]["label"] == "negative"
    with pytest.raises(CommunityError, match="label"):
        inbox.set_label(two["id"], "furious")

    one = inbox.messages(search="slaps")["messages"][0]
    assert one["needs_reply"] is True and one["status"] == "new"
    dismissed = inbox.set_status(one["id"], "dismissed")
    assert dismissed["needs_reply"] is False and dismissed["status"] == "dismissed"
    assert inbox.set_status(one["id"], "new")["needs_reply"] is True  # it was addressed to the user
    assert inbox.set_status(two["id"], "new")["needs_reply"] is False  # it never was
    with pytest.raises(CommunityError, match="status"):
        inbox.set_status(one["id"], "archived")


def test_counts(inbox):
    assert inbox.counts() == {"all": 7, "needs_reply": 3, "mentions": 4, "negative": 1,
                              "platforms": {"discord": 5, "telegram": 1, "youtube": 1}}
