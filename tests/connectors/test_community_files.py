"""Export files as messages: DiscordChatExporter JSON, Telegram Desktop result.json (one chat and the
whole account), plain CSV; damaged files say where and what to fix; stable ids; speed."""

from __future__ import annotations

import csv
import gc
import io
import json
from datetime import UTC, datetime

import pytest

from studio.connectors.community_files import (
    MessageFileError,
    ParsedMessages,
    parse_messages_file,
)
from tests.connectors.conftest import fixture_bytes


def parse(name: str) -> ParsedMessages:
    return parse_messages_file(fixture_bytes(name), name)


def test_discord_chat_exporter_json():
    parsed = parse("discord_export.json")
    assert (parsed.format, parsed.platform, parsed.channel_name) == ("discord_chat_exporter", "discord", "feedback")
    assert parsed.skipped == 2  # the join notice and the attachment without text
    fan, bot, critic = parsed.messages
    assert (fan.channel_id, fan.message_id, fan.author_id) == (
        "1083920146120053830", "1177349513406763018", "604019532281331712")
    assert fan.author_name == "Mira" and not fan.author_is_bot  # the server nickname
    assert fan.text == "this beat slaps, the drop at 1:12 is insane 🔥"
    assert fan.sent_at == datetime(2026, 11, 28, 18, 57, 40, 734000, tzinfo=UTC)  # +01:00 in the file
    assert fan.reactions == 4 and fan.imported_from == "discord_export.json"
    assert fan.url == ("https://discord.com/channels/1083920145562210345/1083920146120053830/"
                       "1177349513406763018")
    assert fan.extra == {"guild_id": "1083920145562210345", "guild_name": "Nova Lane Listening Club"}
    assert bot.reply_to_id == fan.message_id and bot.author_is_bot
    assert critic.author_name == "kairo"  # no nickname: the user name
    assert not any(m.mentions_bot for m in parsed.messages)  # history fills the archive, not the queue


def test_telegram_single_chat_export():
    parsed = parse("telegram_result.json")
    assert (parsed.format, parsed.platform, parsed.channel_name) == ("telegram_export", "telegram", "Nova Lane Fans")
    assert parsed.skipped == 2  # the service message and the sticker
    fan, channel, anonymous = parsed.messages
    assert fan.channel_id == "-1001849302211"  # the Bot API's id of the supergroup
    assert (fan.message_id, fan.author_id, fan.author_name) == ("2", "7001239911", "Lena K")
    assert fan.text == "the new single is fire, listened 10 times already https://youtu.be/aB3dE5fG7hJ"
    assert fan.sent_at == datetime.fromtimestamp(1763630102, UTC) and fan.reactions == 5
    assert fan.extra == {"chat_type": "public_supergroup", "export_chat_id": "1849302211"}
    assert channel.author_id == "-1001849302211" and channel.reply_to_id == "2"  # posted as the chat
    assert anonymous.author_name == "Deleted Account" and anonymous.author_id == "5800112233"
    assert all(m.imported_from == "telegram_result.json" for m in parsed.messages)


def test_telegram_full_export_reads_every_chat_but_saved_messages():
    parsed = parse("telegram_full_export.json")
    assert parsed.channel_name is None and parsed.skipped == 2  # saved message + service message
    by_chat = {(m.channel_id, m.message_id): m for m in parsed.messages}
    assert set(by_chat) == {("7001239911", "90211"), ("7001239911", "90212"), ("-4410023987", "312"),
                            ("-1001500012345", "77")}
    question, answer = by_chat["7001239911", "90211"], by_chat["7001239911", "90212"]
    assert not question.from_self and answer.from_self  # personal_information.user_id wrote it
    assert answer.reply_to_id == "90211" and answer.channel_name == "Lena K"
    assert by_chat["-4410023987", "312"].text == "who has a sick drop for this week's swap?"


def test_csv_with_bom_aliases_quotes_and_stable_ids():
    parsed = parse("messages.csv")
    assert (parsed.format, parsed.platform, parsed.channel_name) == ("csv", "mixed", None)
    assert parsed.skipped == 1  # the row without text
    youtube, discord, telegram = parsed.messages
    assert (youtube.platform, youtube.channel_id, youtube.channel_name) == ("youtube", "aB3dE5fG7hJ", "aB3dE5fG7hJ")
    assert youtube.sent_at == datetime(2026, 11, 27, 18, 30, tzinfo=UTC) and youtube.reactions == 12
    assert youtube.text == "love the vibe, mid-section is gorgeous" and youtube.author_id == "Kim Beats"
    assert discord.message_id == "dc-991" and discord.sent_at == datetime(2026, 11, 27, 19, 5, tzinfo=UTC)
    assert discord.text.replace("\r\n", "\n") == "two lines:\nthis beat slaps"
    assert telegram.channel_id == "imported" and telegram.channel_name is None
    assert youtube.message_id.startswith("csv-") and youtube.message_id != telegram.message_id
    again = parse("messages.csv")
    assert [m.message_id for m in again.messages] == [m.message_id for m in parsed.messages]  # re-import dedupes
    assert all(m.imported_from == "messages.csv" for m in parsed.messages)


def test_csv_ids_follow_the_content_and_semicolons_work():
    one = parse_messages_file(b"platform;author;time;text\ndiscord;ann;2026-01-02 10:00;hi\n", "a.csv")
    same = parse_messages_file("Platform;Author;Time;Text\r\ndiscord;ann;2026-01-02T10:00:00Z;hi\r\n".encode(),
                               "b.csv")
    other = parse_messages_file(b"platform;author;time;text\ndiscord;ann;2026-01-02 10:00;hi!\n", "a.csv")
    assert one.platform == "discord"
    assert one.messages[0].message_id == same.messages[0].message_id != other.messages[0].message_id


@pytest.mark.parametrize(("name", "data", "words"), [
    ("discord_export_truncated.json", None, ["ends in the middle", "cut off", "line "]),
    ("messages_missing_column.csv", None, ["line 1", "no time column", "found: platform, author, text"]),
    ("broken.json", b'{"guild": {"id": "1"}, "channel": {"id": "2"}, "messages": [{"id": "3", "type": "Default",'
                    b'"timestamp": "yesterday", "content": "hi", "author": {"id": "4"}}]}',
     ["messages[0].timestamp", "'yesterday'", "ISO 8601"]),
    ("chats.json", b'{"name": "x", "type": "personal_chat", "id": 5, "messages": [{"id": 1, "type": "message",'
                   b'"text": "hi"}]}', ["messages[0]", "no readable date"]),
    ("bad.csv", b"platform,author,time,text\ndiscord,ann,2026-01-02 10:00,ok\ninstagram,bo,2026-01-02 10:00,hey\n",
     ["bad.csv, line 3", "'instagram'", "discord, telegram, youtube"]),
    ("bad_time.csv", b"platform,author,time,text\ndiscord,ann,\"2 Jan, 10am\",ok\n",
     ["line 2", "'2 Jan, 10am'", "YYYY-MM-DD HH:MM"]),
    ("notes.txt", b"just some notes\nnothing else\n", ["not a file the studio reads", "DiscordChatExporter",
                                                       "platform, author, time, text"]),
    ("other.json", b'{"items": []}', ["neither a DiscordChatExporter", "Telegram"]),
    ("edited.json", b'{"guild": {"id": "1",},\n "channel": {"id": "2"}, "messages": []}',
     ["is not valid JSON", "line 1, column 22", "without editing"]),
    ("latin1.csv", "platform,author,time,text\ndiscord,Zoë,2026-01-02 10:00,hi\n".encode("latin-1"),
     ["not UTF-8", "line 2"]),
    ("empty.csv", b"\xef\xbb\xbf  \n", ["is empty"]),
])
def test_damaged_or_unknown_files_say_where_and_what_to_fix(name, data, words):
    with pytest.raises(MessageFileError) as caught:
        parse_messages_file(data if data is not None else fixture_bytes(name), name)
    text = str(caught.value)
    assert name in text
    for word in words:
        assert word in text, text


def test_the_cycle_collector_is_left_as_it_was():
    data = fixture_bytes("messages.csv")
    assert gc.isenabled()
    parse_messages_file(data, "messages.csv")
    assert gc.isenabled()
    gc.disable()  # as the GUI runs it (studio.ui.gc_guard)
    try:
        parse_messages_file(data, "messages.csv")
        with pytest.raises(MessageFileError):
            parse_messages_file(b"", "empty.csv")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_utf16_from_a_spreadsheet_is_read():
    data = "platform\tauthor\ttime\ttext\nyoutube\tKim\t2026-01-02 10:00\tgreat\n".encode("utf-16")
    (message,) = parse_messages_file(data, "export.txt").messages
    assert (message.platform, message.text) == ("youtube", "great")


def test_large_exports_parse_every_message():
    # Behaviour only: every row of a large file in each format is read, none skipped. How fast is
    # measured by benchmarks/community.py (a timing assertion here failed on a busy CI machine).
    count = 20_000
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["platform", "author", "time", "text", "channel", "reactions"])
    for i in range(count):
        writer.writerow(["discord", f"fan{i % 500}", f"2026-11-{1 + i % 28:02d} 10:{i % 60:02d}:00",
                         f"message number {i}, this beat slaps", "general", i % 7])
    csv_data = rows.getvalue().encode()
    discord = json.dumps({"guild": {"id": "1", "name": "g"}, "channel": {"id": "2", "name": "c"}, "messages": [
        {"id": str(10**17 + i), "type": "Default", "timestamp": "2026-11-28T19:57:40.734+01:00",
         "content": f"message {i}", "author": {"id": str(i % 500), "name": f"fan{i % 500}", "nickname": None,
                                               "isBot": False},
         "reactions": [{"emoji": {"name": "🔥"}, "count": 2}], "mentions": []} for i in range(count)]}).encode()
    telegram = json.dumps({"name": "c", "type": "public_supergroup", "id": 5, "messages": [
        {"id": i, "type": "message", "date": "2026-11-20T09:15:02", "date_unixtime": str(1763630102 + i),
         "from": f"fan{i % 500}", "from_id": f"user{i % 500}", "text": ["hi ", {"type": "bold", "text": "there"}]}
        for i in range(count)]}).encode()
    for name, data in (("big.csv", csv_data), ("big.json", discord), ("result.json", telegram)):
        parsed = parse_messages_file(data, name)
        assert len(parsed.messages) == count and parsed.skipped == 0
        assert parsed.messages[-1].text  # the last message was read whole, not dropped
