"""TelegramClient against a fake Bot API: getMe, getUpdates long polling with offsets, mentions by
entity (UTF-16 offsets), replies to the bot, captions, edits, channel posts, forum topics; sendMessage
with reply_parameters and pacing; `{"ok": false}` errors (429 retry_after, 401, 404, 409,
migrate_to_chat_id) and the token kept out of every reason and log line."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from aiohttp import web

from studio.connectors.charts import SourceError
from studio.connectors.telegram import TelegramClient
from tests.connectors.conftest import FakeClock

TOKEN = "7311054210:AAH3kVq0-fake_token_for_tests_only_x1"
BOT = {"id": 7311054210, "is_bot": True, "first_name": "Studio", "username": "studio_beats_bot",
       "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
       "can_connect_to_business": False, "has_main_web_app": False}
BOT_USER = {k: BOT[k] for k in ("id", "is_bot", "first_name", "username")}
ANA = {"id": 5550011, "is_bot": False, "first_name": "Ana", "last_name": "Beats", "username": "anabeats",
       "language_code": "en"}
BEN = {"id": 5550012, "is_bot": False, "first_name": "Ben", "language_code": "de"}
GROUP = {"id": -1001234567890, "title": "Lo-fi Lab", "username": "lofilab", "type": "supergroup", "is_forum": True}
PRIVATE = {"id": 5550011, "first_name": "Ana", "last_name": "Beats", "username": "anabeats", "type": "private"}
CHANNEL = {"id": -1009876543210, "title": "Studio News", "username": "studionews", "type": "channel"}
T0 = 1_796_385_600  # 2026-12-04 12:00:00 UTC


def msg(message_id: int, chat: dict, text: str | None, *, sender: dict | None = ANA, second: int = 0, **more) -> dict:
    out = {"message_id": message_id, "date": T0 + second, "chat": chat}
    if sender is not None:
        out["from"] = sender
    if text is not None:
        out["text"] = text
    out.update(more)
    return out


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


MENTION = "🔥🔥 @studio_beats_bot drop the stems?"
CAPTION = "cover art draft, thoughts? @studio_beats_bot"
COMMAND = "/stems@studio_beats_bot"
BOT_POST = msg(40, GROUP, "Stems are pinned above.", sender=BOT_USER, second=1)
UPDATES = [
    {"update_id": 500000001, "message": msg(41, GROUP, MENTION, second=2, entities=[
        {"offset": utf16("🔥🔥 "), "length": utf16("@studio_beats_bot"), "type": "mention"}])},
    {"update_id": 500000002, "message": msg(42, GROUP, "anyone up for a collab?", sender=BEN, second=3)},
    {"update_id": 500000003, "message": msg(43, GROUP, "thanks, got them", sender=BEN, second=4,
                                            reply_to_message=BOT_POST)},
    {"update_id": 500000004, "message": msg(7, PRIVATE, "hey, love the new track", second=5)},
    {"update_id": 500000005, "message": msg(44, GROUP, None, second=6, photo=[
        {"file_id": "AgAC-fake", "file_unique_id": "AQAD", "width": 90, "height": 90, "file_size": 1200}],
        caption=CAPTION, caption_entities=[{"offset": utf16("cover art draft, thoughts? "),
                                            "length": utf16("@studio_beats_bot"), "type": "mention"}])},
    {"update_id": 500000006, "edited_message": msg(41, GROUP, "🔥🔥 @studio_beats_bot drop the stems pls?",
                                                   second=2, edit_date=T0 + 9, entities=[
        {"offset": utf16("🔥🔥 "), "length": utf16("@studio_beats_bot"), "type": "mention"}])},
    {"update_id": 500000007, "channel_post": msg(12, CHANNEL, "New release Friday", sender=None, second=7,
                                                 sender_chat={k: CHANNEL[k] for k in ("id", "title", "username",
                                                                                      "type")})},
    {"update_id": 500000008, "message": msg(45, GROUP, None, sender=ANA, second=8, new_chat_members=[BEN],
                                            new_chat_member=BEN, new_chat_participant=BEN)},
    {"update_id": 500000009, "message": msg(78, GROUP, "what BPM do you work at?", sender=BEN, second=9,
                                            message_thread_id=77, is_topic_message=True,
                                            reply_to_message=msg(77, GROUP, None, second=0, message_thread_id=77,
                                                                 forum_topic_created={"name": "Production",
                                                                                      "icon_color": 7322096}))},
    {"update_id": 500000010, "message": msg(79, GROUP, COMMAND, sender=BEN, second=10, entities=[
        {"offset": 0, "length": utf16(COMMAND), "type": "bot_command"}])},
    {"update_id": 500000011, "my_chat_member": {"chat": GROUP, "from": ANA, "date": T0 + 11,
                                                "old_chat_member": {"status": "member", "user": BOT_USER},
                                                "new_chat_member": {"status": "administrator", "user": BOT_USER}}},
]


class FakeTelegram:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict]] = []  # forced answers for the next calls
        self.updates = list(UPDATES)
        self.chats = {GROUP["id"]: GROUP, PRIVATE["id"]: PRIVATE, CHANNEL["id"]: CHANNEL}
        self.sent: list[dict] = []
        self.delay_s = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        params = await request.json() if request.can_read_body else dict(request.query)
        method = request.match_info["method"]
        self.requests.append({"method": method, "http": request.method, "path": request.path, "params": params,
                              "user_agent": request.headers.get("User-Agent")})
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        if self.script:
            status, body = self.script.pop(0)
            return web.json_response(body, status=status)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if method == "getMe":
            return ok(BOT)
        if method == "getUpdates":
            offset = params.get("offset")
            return ok([u for u in self.updates if offset is None or u["update_id"] >= offset])
        if method == "sendMessage":
            return self.send_message(params)
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    def send_message(self, params: dict) -> web.Response:
        target = params.get("chat_id")
        chat = self.chats.get(target) or next((c for c in self.chats.values()
                                               if isinstance(target, str) and f"@{c.get('username')}" == target), None)
        if chat is None:
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
                                     status=400)
        if utf16(params.get("text") or "") > 4096:
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": "Bad Request: message is too long"}, status=400)
        sent = msg(1000 + len(self.sent), chat, params["text"], sender=BOT_USER, second=60)
        reply = params.get("reply_parameters")
        original = next((u.get("message") for u in self.updates if isinstance(u.get("message"), dict)
                         and reply and u["message"]["message_id"] == reply["message_id"]
                         and u["message"]["chat"]["id"] == chat["id"]), None)
        if reply and original is None and not reply.get("allow_sending_without_reply"):
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": "Bad Request: message to be replied not found"}, status=400)
        if original is not None:
            sent["reply_to_message"] = original
        self.sent.append(sent)
        return ok(sent)


def ok(result) -> web.Response:
    return web.json_response({"ok": True, "result": result})


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
async def fake(aiohttp_server):
    fake = FakeTelegram()
    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", fake.handle)
    server = await aiohttp_server(app)
    fake.url = f"http://127.0.0.1:{server.port}"
    return fake


def client(fake, clock, token: str = TOKEN, **kwargs) -> TelegramClient:
    return TelegramClient(token, base_url=fake.url, clock=clock, sleep=clock.sleep, **kwargs)


async def test_get_me_verifies_the_token(fake, clock):
    telegram = client(fake, clock)
    assert await telegram.get_me() == {"id": "7311054210", "username": "studio_beats_bot",
                                       "can_read_all_group_messages": False}
    request = fake.requests[0]
    assert request["path"] == f"/bot{TOKEN}/getMe" and request["http"] == "POST"
    assert request["user_agent"].startswith("Studio/")
    assert TOKEN not in repr(telegram)


async def test_updates_read_mentions_replies_captions_edits_and_channel_posts(fake, clock):
    telegram = client(fake, clock)
    await telegram.get_me()
    messages, offset = await telegram.updates(None)
    params = fake.requests[-1]["params"]
    assert params == {"timeout": 25, "allowed_updates": ["message", "edited_message", "channel_post",
                                                         "edited_channel_post"]}
    assert offset == 500000012  # the last update (a membership change, not a message) + 1
    by_key = {(m.message_id, m.extra["update"]): m for m in messages}
    assert sorted(by_key) == [("12", "channel_post"), ("41", "edited_message"), ("41", "message"),
                              ("42", "message"), ("43", "message"), ("44", "message"), ("7", "message"),
                              ("78", "message"), ("79", "message")]  # the join notice is left out

    mention = by_key[("41", "message")]
    assert (mention.platform, mention.channel_id, mention.channel_name) == ("telegram", "-1001234567890", "Lo-fi Lab")
    assert (mention.author_id, mention.author_name, mention.text) == ("5550011", "Ana Beats", MENTION)
    assert mention.mentions_bot and not mention.from_self and not mention.author_is_bot
    assert mention.sent_at == datetime(2026, 12, 4, 12, 0, 2, tzinfo=UTC)
    assert mention.url == "https://t.me/lofilab/41" and mention.extra["chat_type"] == "supergroup"

    assert not by_key[("42", "message")].mentions_bot  # a group message not addressed to the bot
    reply = by_key[("43", "message")]
    assert reply.mentions_bot and reply.reply_to_id == "40"  # replies to the bot's message
    private = by_key[("7", "message")]
    assert private.mentions_bot and private.channel_name == "Ana Beats" and private.url is None
    caption = by_key[("44", "message")]
    assert caption.text == CAPTION and caption.mentions_bot
    edited = by_key[("41", "edited_message")]
    assert edited.text.endswith("pls?") and edited.sent_at == mention.sent_at
    assert edited.extra["edited_at"] == "2026-12-04T12:00:09+00:00"
    post = by_key[("12", "channel_post")]
    assert (post.author_id, post.author_name, post.channel_name) == ("-1009876543210", "Studio News", "Studio News")
    assert not post.mentions_bot and post.url == "https://t.me/studionews/12"
    topic = by_key[("78", "message")]
    assert topic.reply_to_id is None and not topic.mentions_bot  # the topic's opening notice is no reply
    assert by_key[("79", "message")].mentions_bot  # /stems@studio_beats_bot

    again, same = await telegram.updates(offset, timeout_s=5)
    assert fake.requests[-1]["params"]["offset"] == 500000012 and fake.requests[-1]["params"]["timeout"] == 5
    assert (again, same) == ([], 500000012)  # nothing new: the offset stays


async def test_addressed_messages_without_get_me(fake, clock):
    named = client(fake, clock)
    messages, _ = await named.updates(None, bot_username="@Studio_Beats_Bot")
    addressed = {m.message_id for m in messages if m.mentions_bot}
    assert addressed == {"41", "43", "7", "44", "79"}
    anonymous = client(fake, clock)  # no name known: only private chats are certainly addressed to it
    messages, _ = await anonymous.updates(None)
    assert {m.message_id for m in messages if m.mentions_bot} == {"7"}


async def test_the_http_wait_covers_the_long_poll(fake, clock):
    fake.delay_s = 0.4  # longer than the client's own timeout, shorter than timeout + the poll
    telegram = client(fake, clock, timeout_s=0.2)
    messages, _ = await telegram.updates(None, timeout_s=1)
    assert messages
    with pytest.raises(SourceError) as slow:
        await telegram.get_me()
    assert "did not answer within 0.2 s" in slow.value.reason and not slow.value.fatal


async def test_send_replies_with_reply_parameters(fake, clock):
    telegram = client(fake, clock)
    sent = await telegram.send("-1001234567890", "Stems are pinned above 👆", reply_to="41")
    assert sent == "1000"
    assert fake.requests[-1]["params"] == {"chat_id": -1001234567890, "text": "Stems are pinned above 👆",
                                           "reply_parameters": {"message_id": 41, "allow_sending_without_reply": True}}
    assert fake.sent[0]["reply_to_message"]["message_id"] == 41
    # the original is gone: still sent, as a plain message
    assert await telegram.send("-1001234567890", "hello again", reply_to="999") == "1001"
    assert await telegram.send("@studionews", "New release Friday") == "1002"
    assert fake.requests[-1]["params"] == {"chat_id": "@studionews", "text": "New release Friday"}


async def test_send_refuses_what_telegram_would_reject_before_calling(fake, clock):
    telegram = client(fake, clock)
    for text, reply_to in (("🔥" * 2049, None), ("", None), ("hi", "abc")):  # 4098 UTF-16 units
        with pytest.raises(SourceError) as error:
            await telegram.send("5550011", text, reply_to=reply_to)
        assert error.value.fatal
    with pytest.raises(SourceError):
        await telegram.send("../getMe", "hi")
    assert fake.requests == []
    assert await telegram.send("5550011", "🔥" * 2048)  # exactly 4096 units


async def test_sends_are_paced_per_chat_and_per_group(fake, clock):
    telegram = client(fake, clock)
    await telegram.send("5550011", "one")
    await telegram.send("5550011", "two")
    assert clock.sleeps == [pytest.approx(1.0)]  # one a second in a chat
    clock.sleeps.clear()
    start = clock.now_s
    for n in range(21):
        await telegram.send("-1001234567890", f"message {n}")
    assert clock.sleeps[:20] == [pytest.approx(1.0)] * 20
    assert clock.now_s - start == pytest.approx(60.0)  # the 21st waits for the group's minute
    assert len(fake.sent) == 23


async def test_a_short_429_is_waited_out_and_a_long_one_handed_back(fake, clock):
    telegram = client(fake, clock)
    fake.script.append((429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
                              "parameters": {"retry_after": 3}}))
    assert await telegram.send("5550011", "hi") == "1000"
    assert clock.sleeps == [3] and len(fake.requests) == 2

    fake.script.append((429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 35",
                              "parameters": {"retry_after": 35}}))
    with pytest.raises(SourceError) as error:
        await telegram.updates(None)
    assert error.value.retry_after_s == 35 and not error.value.fatal and error.value.status == 429
    assert len(fake.requests) == 3

    fake.script.append((429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 40"}))
    with pytest.raises(SourceError) as from_text:  # no parameters: read from the description
        await telegram.get_me()
    assert from_text.value.retry_after_s == 40


async def test_fatal_errors_say_what_to_do_and_never_show_the_token(fake, clock, caplog):
    caplog.set_level(logging.INFO, logger="httpx")
    wrong = client(fake, clock, token="7311054210:AAwrong-token-value")
    with pytest.raises(SourceError) as rejected:
        await wrong.get_me()
    assert rejected.value.fatal and rejected.value.status == 401 and "token was rejected" in rejected.value.reason

    telegram = client(fake, clock)
    fake.script.append((404, {"ok": False, "error_code": 404, "description": "Not Found"}))
    with pytest.raises(SourceError) as not_found:
        await telegram.get_me()
    assert not_found.value.fatal and "token was rejected" in not_found.value.reason

    fake.script.append((409, {"ok": False, "error_code": 409, "description": "Conflict: can't use getUpdates method "
                              "while webhook is active; use deleteWebhook to delete the webhook first"}))
    with pytest.raises(SourceError) as conflict:
        await telegram.updates(None)
    assert conflict.value.fatal and conflict.value.status == 409 and "webhook" in conflict.value.reason

    fake.script.append((400, {"ok": False, "error_code": 400, "description": "Bad Request: group chat was upgraded "
                              "to a supergroup chat", "parameters": {"migrate_to_chat_id": -1001999888777}}))
    with pytest.raises(SourceError) as migrated:
        await telegram.send("-4001234", "hi")
    assert migrated.value.fatal and "-1001999888777" in migrated.value.reason

    fake.script.append((403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}))
    with pytest.raises(SourceError) as blocked:
        await telegram.send("5550011", "hi")
    assert blocked.value.fatal and "blocked" in blocked.value.reason

    fake.script.append((400, {"ok": False, "error_code": 400, "description": f"Bad Request: echo /bot{TOKEN}/x"}))
    with pytest.raises(SourceError) as echoed:
        await telegram.get_me()
    for error in (rejected, not_found, conflict, migrated, blocked, echoed):
        assert TOKEN not in str(error.value) and "AAwrong" not in str(error.value)
    assert "HTTP Request" in caplog.text and "/bot***/getMe" in caplog.text
    assert TOKEN not in caplog.text and "AAwrong" not in caplog.text


async def test_server_errors_and_unreachable_hosts_are_not_fatal(fake, aiohttp_server, clock):
    async def bad_gateway(request):
        return web.Response(text="<html><body>502 Bad Gateway</body></html>", status=502, content_type="text/html")
    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", bad_gateway)
    server = await aiohttp_server(app)
    proxy = TelegramClient(TOKEN, base_url=f"http://127.0.0.1:{server.port}", clock=clock, sleep=clock.sleep)
    with pytest.raises(SourceError) as gateway:
        await proxy.updates(None)
    assert not gateway.value.fatal and gateway.value.status == 502
    gone = TelegramClient(TOKEN, base_url="http://127.0.0.1:9", clock=clock, sleep=clock.sleep)
    with pytest.raises(SourceError) as unreachable:
        await gone.get_me()
    assert "cannot reach 127.0.0.1:9" in unreachable.value.reason and TOKEN not in str(unreachable.value)


def test_a_missing_or_malformed_token_is_refused_up_front():
    for token in ("", "  ", "not-a-token", "123:abc/../../x", "123:abc def"):
        with pytest.raises(SourceError) as error:
            TelegramClient(token)
        assert error.value.fatal
