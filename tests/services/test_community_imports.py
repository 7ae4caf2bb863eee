"""Importing history files: preview, import labelled with the file name, re-import changes nothing,
and an unreadable file says what to fix (small inline files)."""

from __future__ import annotations

import json

import pytest

from studio.services.community.common import CommunityError

DISCORD_EXPORT = json.dumps({
    "guild": {"id": "7", "name": "My Server"},
    "channel": {"id": "100", "type": "GuildTextChat", "name": "general"},
    "messages": [
        {"id": "1001", "type": "Default", "timestamp": "2026-10-01T10:00:00+00:00", "content": "this beat slaps",
         "author": {"id": "u1", "name": "ana", "nickname": "Ana", "isBot": False},
         "reactions": [{"emoji": {"name": "🔥"}, "count": 3}], "mentions": []},
        {"id": "1002", "type": "GuildMemberJoin", "timestamp": "2026-10-01T10:01:00+00:00", "content": "",
         "author": {"id": "u2", "name": "bo", "nickname": "Bo", "isBot": False}, "reactions": [], "mentions": []},
        {"id": "1003", "type": "Reply", "timestamp": "2026-10-01T10:02:00+00:00", "content": "the mix is muddy",
         "author": {"id": "u2", "name": "bo", "nickname": "Bo", "isBot": False}, "reactions": [], "mentions": [],
         "reference": {"messageId": "1001"}},
    ],
    "messageCount": 3,
}).encode()

CSV = b"platform,author,time,text\ntelegram,Cleo,2026-10-02 09:00,love the new single\n" \
      b"youtube,Dan,2026-10-02T09:05:00Z,when is the next drop?\n"


def test_preview_shows_what_would_be_imported(services):
    preview = services.community.imports.preview(DISCORD_EXPORT, "C:\\exports\\general.json")
    assert preview["file"] == "general.json" and preview["format"] == "discord_chat_exporter"
    assert preview["platform"] == "discord" and preview["total"] == 2 and preview["skipped"] == 1
    first = preview["messages"][0]
    assert first["author"] == "Ana" and first["text"] == "this beat slaps" and first["reactions"] == 3
    assert first["imported_from"] == "general.json" and first["sent_at"] == "2026-10-01T10:00:00Z"
    assert services.community.inbox.messages()["total"] == 0  # a preview stores nothing


async def test_import_labels_messages_and_a_second_import_changes_nothing(services):
    seen = []
    services.events.subscribe(lambda event, data: seen.append(event))
    result = await services.community.imports.import_file(DISCORD_EXPORT, "general.json")
    assert result == {"file": "general.json", "format": "discord_chat_exporter", "platform": "discord", "total": 2,
                      "imported": 2, "duplicates": 0, "skipped": 1}
    again = await services.community.imports.import_file(DISCORD_EXPORT, "general.json")
    assert again["imported"] == 0 and again["duplicates"] == 2
    stored = services.community.inbox.messages()["messages"]
    assert {m["imported_from"] for m in stored} == {"general.json"} and len(stored) == 2
    assert "community_mention" not in seen  # history is not announced as new mentions
    csv_result = await services.community.imports.import_file(CSV, "history.csv")
    assert csv_result["imported"] == 2 and csv_result["platform"] == "mixed"
    assert (await services.community.imports.import_file(CSV, "history.csv"))["imported"] == 0


async def test_an_unreadable_file_says_what_to_fix(services):
    with pytest.raises(CommunityError, match="CSV|csv"):
        await services.community.imports.import_file(b"just some words\nand more", "notes.txt")
    with pytest.raises(CommunityError, match="empty"):
        services.community.imports.preview(b"", "empty.json")
    with pytest.raises(CommunityError, match="DiscordChatExporter"):
        services.community.imports.preview(b'{"hello": 1}', "other.json")
