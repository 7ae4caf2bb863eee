"""The one path that stores community messages: dedupe, members, sentiment, what needs a reply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from studio.connectors.messages import InboundMessage

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def msg(n: int, *, author: str = "u1", name: str = "Ana", text: str = "love this track", reply_to: str | None = None,
        mention: bool = False, from_self: bool = False, reactions: int = 0, channel: str = "c1",
        platform: str = "discord", imported: str | None = None) -> InboundMessage:
    return InboundMessage(platform=platform, channel_id=channel, message_id=str(n), author_id=author,
                          author_name=name, text=text, sent_at=T0 + timedelta(minutes=n), reply_to_id=reply_to,
                          mentions_bot=mention, from_self=from_self, reactions=reactions, imported_from=imported)


def test_reading_the_same_messages_again_changes_nothing(services):
    ingest = services.community.ingest
    first = ingest.store([msg(1), msg(2, author="u2", name="Bo"), msg(3)])
    again = ingest.store([msg(1), msg(2, author="u2", name="Bo"), msg(3)])
    assert (first.new, first.duplicates) == (3, 0)
    assert (again.new, again.duplicates) == (0, 3)
    members = services.community.members.list_members(limit=10)["members"]
    counts = {m["username"]: m["total_messages"] for m in members}
    assert counts == {"Ana": 2, "Bo": 1}


def test_members_keep_first_and_last_seen_and_reactions(services):
    ingest = services.community.ingest
    ingest.store([msg(5, reactions=2)])
    ingest.store([msg(1, name="Ana Old", reactions=1), msg(9, name="Ana New")])
    ingest.store([msg(5, reactions=6)])  # the platform now counts 6 reactions on message 5
    member = services.community.members.list_members(limit=10)["members"][0]
    assert member["username"] == "Ana New"
    assert member["first_seen"].startswith("2026-11-01T12:01")
    assert member["last_seen"].startswith("2026-11-01T12:09")
    assert member["total_messages"] == 3
    assert member["reactions_received"] == 7


def test_mentions_need_a_reply_and_our_reply_answers_them(services):
    ingest = services.community.ingest
    result = ingest.store([msg(1, mention=True, text="@bot can you make chill beats?"),
                           msg(2, author="bot", name="StudioBot", mention=False, from_self=True, reply_to="1"),
                           msg(3, mention=True, author="u2", name="Bo")])
    assert [m["user"] for m in result.mentions] == ["Ana", "Bo"]
    assert result.mentions[0]["requires_response"] is True
    inbox = services.community.inbox
    page = inbox.messages(needs_reply=True)
    assert [m["external_id"] for m in page["messages"]] == ["3"]
    answered = inbox.message(result.mentions[0]["message_id"])
    assert answered["status"] == "answered" and answered["needs_reply"] is False
    names = {m["username"] for m in services.community.members.list_members(limit=10)["members"]}
    assert names == {"Ana", "Bo"}  # the user's own bot is not a member


def test_imported_history_is_not_a_to_do_list(services):
    result = services.community.ingest.store([msg(1, mention=True, imported="export.json")])
    assert result.new == 1 and result.mentions == []
    stored = services.community.inbox.messages()["messages"][0]
    assert stored["imported_from"] == "export.json" and stored["status"] == "read"


def test_sentiment_is_scored_for_every_new_message(services):
    services.community.ingest.store([msg(1, text="this is terrible, I hate it"), msg(2, text="I love it, thank you!")])
    labels = {m["external_id"]: m["sentiment"]["label"] for m in services.community.inbox.messages()["messages"]}
    assert labels == {"1": "negative", "2": "positive"}


async def test_store_async_publishes_mentions_on_the_loop(services):
    seen: list[tuple[str, dict]] = []
    services.events.subscribe(lambda event, data: seen.append((event, data)))
    await services.community.ingest.store_async([msg(1, mention=True), msg(2)])
    names = [event for event, _ in seen]
    assert names == ["community_mention", "community_messages"]
    assert seen[0][1]["platform"] == "discord" and seen[1][1]["new"] == 2


def test_a_large_import_is_stored_in_chunks(services):
    batch = [msg(n, author=f"u{n % 50}", name=f"user{n % 50}") for n in range(4500)]
    result = services.community.ingest.store(batch)
    assert result.new == 4500
    assert services.community.members.list_members(limit=100)["total_members"] == 50
