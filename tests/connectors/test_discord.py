"""DiscordClient against a fake Discord REST v10 API: messages newest first (also with `after`),
replies and mentions, system notices, reactions; sends with nonce + enforce_nonce deduplicated
like Discord; per-route buckets (`X-RateLimit-*`), 429 with `retry_after`/`global`, 401/403, and
the invalid-request brake. The fake and the client share one fake clock, so limits hold without
waiting for real."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from aiohttp import web

from studio.connectors.charts import SourceError
from studio.connectors.discord import DISCORD_EPOCH_MS, DiscordClient
from tests.connectors.conftest import FakeClock

TOKEN = "MTE4NDAwMDAwMDAwMDAwMDAwMQ.GkXyZa.fake-bot-token-0123456789"
GUILD = "1184000000000000100"
CHANNEL = "1184000000000000200"
NEWS = "1184000000000000202"
SECRET = "1184000000000000203"  # the bot has no access
EMPTY = "1184000000000000204"


def snowflake(second: int, seq: int = 0) -> str:
    ms = int(datetime(2026, 12, 4, 12, 0, second, tzinfo=UTC).timestamp() * 1000)
    return str(((ms - DISCORD_EPOCH_MS) << 22) + seq)


BOT = {"id": "1184000000000000001", "username": "studio-bot", "global_name": None, "discriminator": "0",
       "avatar": None, "bot": True}
ANA = {"id": "1184000000000000011", "username": "ana.beats", "global_name": "Ana", "discriminator": "0",
       "avatar": None}
BEN = {"id": "1184000000000000012", "username": "benny", "global_name": None, "discriminator": "0", "avatar": None}
BUMPER = {"id": "1184000000000000013", "username": "Bumper", "global_name": None, "discriminator": "0",
          "avatar": None, "bot": True}


def message(second: int, author: dict, content: str, *, type_: int = 0, mentions=(), reactions=None,
            reply_to: dict | None = None, timestamp: bool = True) -> dict:
    msg = {"id": snowflake(second), "type": type_, "channel_id": CHANNEL, "author": author, "content": content,
           "timestamp": f"2026-12-04T12:00:{second:02d}.000000+00:00" if timestamp else None,
           "edited_timestamp": None, "tts": False, "mention_everyone": False, "mentions": list(mentions),
           "mention_roles": [], "attachments": [], "embeds": [], "pinned": False, "flags": 0, "components": []}
    if reactions is not None:
        msg["reactions"] = reactions
    if reply_to is not None:
        msg["message_reference"] = {"type": 0, "message_id": reply_to["id"], "channel_id": CHANNEL,
                                    "guild_id": GUILD}
        msg["referenced_message"] = reply_to
    return msg


def history() -> list[dict]:
    m1 = message(1, ANA, "this beat slaps", reactions=[
        {"emoji": {"id": None, "name": "🔥"}, "count": 3, "count_details": {"burst": 0, "normal": 3}, "me": False,
         "me_burst": False, "burst_colors": []},
        {"emoji": {"id": "1184000000000000900", "name": "pepe"}, "count": 2,
         "count_details": {"burst": 0, "normal": 2}, "me": True, "me_burst": False, "burst_colors": []}])
    joined = message(2, BEN, "", type_=7)  # "Ben joined the server"
    m3 = message(3, BEN, "@studio-bot can you share the stems?", mentions=[BOT])
    m4 = message(4, BOT, "Sure, the stems are up.", type_=19, mentions=[BEN], reply_to=m3)
    m5 = message(5, ANA, "thanks!!", type_=19, reply_to=m4)  # a reply with the ping switched off
    m6 = message(6, BUMPER, "Server bumped!", timestamp=False)
    return [m1, joined, m3, m4, m5, m6]


class FakeDiscord:
    """Discord's REST API as the client sees it, limits included, on the shared fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict, dict]] = []  # forced answers for the next requests
        self.limit = 5  # requests per bucket window
        self.window_s = 5.0
        self.buckets: dict[tuple[str, str], dict] = {}
        self.violations = 0  # requests sent into an exhausted bucket
        self.messages = {CHANNEL: history(), EMPTY: []}
        self.nonces: dict[tuple[str, str], dict] = {}
        self.seq = 0

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        body = await request.json() if request.can_read_body else None
        self.requests.append({"method": request.method, "path": request.path, "query": dict(request.query),
                              "json": body, "auth": request.headers.get("Authorization"),
                              "user_agent": request.headers.get("User-Agent")})
        if request.headers.get("Authorization") != f"Bot {TOKEN}":
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        if self.script:
            status, answer, headers = self.script.pop(0)
            return web.json_response(answer, status=status, headers=headers)
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else request.path
        major = request.match_info.get("channel_id") or request.match_info.get("guild_id") or ""
        bucket = f"{request.method}:{route}".encode().hex()[:16]
        now = self.clock()
        state = self.buckets.get((bucket, major))
        if state is None or now >= state["reset_at"]:
            state = self.buckets[(bucket, major)] = {"remaining": self.limit, "reset_at": now + self.window_s}
        if state["remaining"] <= 0:
            self.violations += 1
            return web.json_response({"message": "You are being rate limited.",
                                      "retry_after": round(state["reset_at"] - now, 3), "global": False},
                                     status=429, headers={"X-RateLimit-Scope": "user", "X-RateLimit-Bucket": bucket})
        state["remaining"] -= 1
        resp = await handler(request)
        resp.headers.update({"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(state["remaining"]),
                             "X-RateLimit-Reset-After": f"{state['reset_at'] - now:.3f}",
                             "X-RateLimit-Bucket": bucket})
        return resp

    async def me(self, request: web.Request) -> web.Response:
        return web.json_response({**BOT, "flags": 0, "mfa_enabled": False, "verified": True, "email": None})

    async def guilds(self, request: web.Request) -> web.Response:
        return web.json_response([{"id": GUILD, "name": "Lo-fi Lab", "icon": None, "owner": False,
                                   "permissions": "2248473465835073", "features": []}])

    async def channels(self, request: web.Request) -> web.Response:
        gid = request.match_info["guild_id"]
        if gid != GUILD:
            return web.json_response({"message": "Unknown Guild", "code": 10004}, status=404)

        def channel(cid: str, type_: int, name: str, position: int) -> dict:
            return {"id": cid, "type": type_, "guild_id": GUILD, "name": name, "position": position,
                    "parent_id": "1184000000000000199" if type_ != 4 else None, "permission_overwrites": [],
                    "nsfw": False}
        return web.json_response([
            channel(SECRET, 0, "mods-only", 3), channel("1184000000000000199", 4, "Text Channels", 0),
            channel(NEWS, 5, "releases", 2), channel("1184000000000000201", 2, "Listening Party", 4),
            channel(CHANNEL, 0, "general", 1), channel(EMPTY, 0, "quiet", 5)])

    async def read(self, request: web.Request) -> web.Response:
        cid = request.match_info["channel_id"]
        if cid == SECRET:
            return web.json_response({"message": "Missing Access", "code": 50001}, status=403)
        if cid not in self.messages:
            return web.json_response({"message": "Unknown Channel", "code": 10003}, status=404)
        limit = int(request.query.get("limit", "50"))
        ordered = sorted(self.messages[cid], key=lambda m: int(m["id"]))
        if "after" in request.query:
            picked = [m for m in ordered if int(m["id"]) > int(request.query["after"])][:limit]
        else:
            picked = ordered[-limit:]
        return web.json_response(list(reversed(picked)))  # Discord lists newest first, `after` or not

    async def create(self, request: web.Request) -> web.Response:
        cid = request.match_info["channel_id"]
        payload = await request.json()
        content = payload.get("content") or ""
        if len(content) > 2000:
            return web.json_response({"message": "Invalid Form Body", "code": 50035, "errors": {"content": {
                "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}}},
                status=400)
        nonce = payload.get("nonce")
        if payload.get("enforce_nonce") and nonce and (BOT["id"], str(nonce)) in self.nonces:
            return web.json_response(self.nonces[(BOT["id"], str(nonce))])  # the first message, not a new one
        self.seq += 1
        reference = payload.get("message_reference")
        replied = next((m for m in self.messages[cid] if reference and m["id"] == reference["message_id"]), None)
        pings = payload.get("allowed_mentions", {}).get("replied_user") and replied is not None
        msg = message(30, BOT, content, type_=19 if replied else 0, mentions=[replied["author"]] if pings else [],
                      reply_to=replied)
        msg["id"] = snowflake(30, self.seq)
        msg["channel_id"] = cid
        msg["nonce"] = nonce
        self.messages[cid].append(msg)
        if payload.get("enforce_nonce") and nonce:
            self.nonces[(BOT["id"], str(nonce))] = msg
        return web.json_response(msg)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
async def fake(aiohttp_server, clock):
    fake = FakeDiscord(clock)
    app = web.Application(middlewares=[fake.middleware])
    app.router.add_get("/api/v10/users/@me", fake.me)
    app.router.add_get("/api/v10/users/@me/guilds", fake.guilds)
    app.router.add_get("/api/v10/guilds/{guild_id}/channels", fake.channels)
    app.router.add_get("/api/v10/channels/{channel_id}/messages", fake.read)
    app.router.add_post("/api/v10/channels/{channel_id}/messages", fake.create)
    server = await aiohttp_server(app)
    fake.url = f"http://127.0.0.1:{server.port}/api/v10"
    return fake


def client(fake, clock, token: str = TOKEN) -> DiscordClient:
    return DiscordClient(token, base_url=fake.url, clock=clock, sleep=clock.sleep)


async def test_identity_servers_and_text_channels_only(fake, clock):
    discord = client(fake, clock)
    assert await discord.me() == {"id": BOT["id"], "username": "studio-bot"}
    assert await discord.guilds() == [{"id": GUILD, "name": "Lo-fi Lab"}]
    channels = await discord.channels(GUILD)
    # text and announcement channels in the server's order; no category, no voice channel
    assert channels == [{"id": CHANNEL, "name": "general", "guild_id": GUILD},
                        {"id": NEWS, "name": "releases", "guild_id": GUILD},
                        {"id": SECRET, "name": "mods-only", "guild_id": GUILD},
                        {"id": EMPTY, "name": "quiet", "guild_id": GUILD}]
    first = fake.requests[0]
    assert first["auth"] == f"Bot {TOKEN}" and first["user_agent"].startswith("DiscordBot (")
    assert fake.requests[1]["query"] == {"limit": "200"}
    assert TOKEN not in repr(discord)


async def test_messages_oldest_first_with_replies_mentions_and_reactions(fake, clock):
    discord = client(fake, clock)
    messages = await discord.messages(CHANNEL, channel_name="general", bot_user_id=BOT["id"], guild_id=GUILD)
    assert fake.requests[-1]["query"] == {"limit": "100"}
    # the join notice is left out; the order is oldest first although Discord sent newest first
    assert [m.text for m in messages] == ["this beat slaps", "@studio-bot can you share the stems?",
                                          "Sure, the stems are up.", "thanks!!", "Server bumped!"]
    slaps, question, answer, thanks, bump = messages
    assert (slaps.platform, slaps.channel_id, slaps.message_id) == ("discord", CHANNEL, snowflake(1))
    assert (slaps.author_id, slaps.author_name, slaps.reactions) == (ANA["id"], "Ana", 5)
    assert slaps.sent_at == datetime(2026, 12, 4, 12, 0, 1, tzinfo=UTC) and slaps.channel_name == "general"
    assert slaps.url == f"https://discord.com/channels/{GUILD}/{CHANNEL}/{snowflake(1)}"
    assert not slaps.mentions_bot and not slaps.from_self
    assert question.mentions_bot and question.author_name == "benny"  # no display name: the username
    assert answer.from_self and answer.reply_to_id == question.message_id and not answer.mentions_bot
    assert thanks.mentions_bot and thanks.reply_to_id == answer.message_id  # replies to the bot, ping off
    assert bump.author_is_bot and bump.sent_at == datetime(2026, 12, 4, 12, 0, 6, tzinfo=UTC)  # from the snowflake

    newer = await discord.messages(CHANNEL, after=answer.message_id, limit=1, bot_user_id=BOT["id"])
    assert fake.requests[-1]["query"] == {"limit": "1", "after": answer.message_id}
    assert [m.message_id for m in newer] == [thanks.message_id] and newer[0].url is None

    unaddressed = await discord.messages(CHANNEL)  # without the bot's id nothing is addressed to it
    assert not any(m.mentions_bot or m.from_self for m in unaddressed)
    assert await discord.messages(EMPTY) == []


async def test_send_replies_with_nonce_and_a_resend_is_deduplicated(fake, clock):
    discord = client(fake, clock)
    question = snowflake(3)
    sent_id = await discord.send(CHANNEL, "Here you go: stems are in #releases", reply_to=question, nonce="reply_7f3a9c")
    payload = fake.requests[-1]["json"]
    assert payload == {"content": "Here you go: stems are in #releases", "nonce": "reply_7f3a9c", "enforce_nonce": True,
                       "allowed_mentions": {"parse": [], "replied_user": True},
                       "message_reference": {"message_id": question, "channel_id": CHANNEL,
                                             "fail_if_not_exists": False}}
    # a resend after a crash carries the same nonce: Discord returns the first message
    assert await discord.send(CHANNEL, "Here you go: stems are in #releases", reply_to=question,
                              nonce="reply_7f3a9c") == sent_id
    assert [m["id"] for m in fake.messages[CHANNEL]].count(sent_id) == 1
    assert len(fake.messages[CHANNEL]) == len(history()) + 1

    other = await discord.send(CHANNEL, "@everyone new beat tonight", nonce="reply_other")
    assert other != sent_id
    plain = fake.requests[-1]["json"]
    assert "message_reference" not in plain and plain["allowed_mentions"] == {"parse": [], "replied_user": False}
    read_back = await discord.messages(CHANNEL, after=snowflake(6), bot_user_id=BOT["id"])
    assert [(m.message_id, m.from_self, m.reply_to_id) for m in read_back] == [(sent_id, True, question),
                                                                               (other, True, None)]


async def test_send_refuses_what_discord_would_reject_before_calling(fake, clock):
    discord = client(fake, clock)
    with pytest.raises(SourceError) as too_long:
        await discord.send(CHANNEL, "x" * 2001, nonce="n1")
    assert too_long.value.fatal and "2001 characters" in too_long.value.reason and "2000" in too_long.value.reason
    with pytest.raises(SourceError) as no_nonce:
        await discord.send(CHANNEL, "hi", nonce="n" * 26)
    assert no_nonce.value.fatal
    with pytest.raises(SourceError) as bad_id:
        await discord.send("../guilds/1", "hi", nonce="n2")
    assert bad_id.value.fatal
    assert fake.requests == []
    assert await discord.send(CHANNEL, "y" * 2000, nonce="n3")  # the limit itself is fine


async def test_an_exhausted_bucket_is_waited_out_instead_of_provoking_a_429(fake, clock):
    fake.limit, fake.window_s = 2, 4.0
    discord = client(fake, clock)
    for _ in range(5):
        await discord.messages(CHANNEL)
    assert fake.violations == 0 and len(fake.requests) == 5
    assert clock.sleeps == [pytest.approx(4.0), pytest.approx(4.0)]
    # another channel is another bucket: no wait
    await discord.messages(EMPTY)
    assert len(clock.sleeps) == 2


async def test_a_short_429_is_waited_out_and_retried_once(fake, clock):
    discord = client(fake, clock)
    fake.script.append((429, {"message": "You are being rate limited.", "retry_after": 0.75, "global": False},
                        {"X-RateLimit-Scope": "user"}))
    assert len(await discord.messages(CHANNEL)) == 5
    assert clock.sleeps == [0.75] and len(fake.requests) == 2


async def test_a_long_or_repeated_429_is_handed_to_the_caller(fake, clock):
    discord = client(fake, clock)
    fake.script.append((429, {"message": "You are being rate limited.", "retry_after": 64.57, "global": False}, {}))
    with pytest.raises(SourceError) as long_wait:
        await discord.messages(CHANNEL)
    assert long_wait.value.retry_after_s == pytest.approx(64.57) and not long_wait.value.fatal
    assert long_wait.value.status == 429 and clock.sleeps == [] and len(fake.requests) == 1

    limited = (429, {"message": "You are being rate limited.", "retry_after": 2.0, "global": False}, {})
    fake.script += [limited, limited]
    with pytest.raises(SourceError) as twice:
        await discord.messages(CHANNEL)
    assert twice.value.retry_after_s == 2.0 and clock.sleeps == [2.0] and len(fake.requests) == 3


async def test_a_global_429_holds_every_route(fake, clock):
    discord = client(fake, clock)
    fake.script.append((429, {"message": "You are being rate limited.", "retry_after": 30.0, "global": True},
                        {"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"}))
    with pytest.raises(SourceError) as error:
        await discord.me()
    assert "all of the bot's requests" in error.value.reason and error.value.retry_after_s == 30.0
    with pytest.raises(SourceError) as held:  # another route: refused without calling while the wait is long
        await discord.guilds()
    assert held.value.retry_after_s == pytest.approx(30.0) and len(fake.requests) == 1
    clock.now_s += 25.0  # 5 s left: waited out, then called
    assert await discord.guilds()
    assert clock.sleeps == [pytest.approx(5.0)] and len(fake.requests) == 2


async def test_rejected_token_and_missing_access_are_fatal_and_never_show_the_token(fake, clock, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = client(fake, clock, token="Bot not-the-right-token")
    with pytest.raises(SourceError) as rejected:
        await wrong.me()
    assert rejected.value.fatal and rejected.value.status == 401
    assert "the bot token was rejected" in rejected.value.reason

    discord = client(fake, clock)
    with pytest.raises(SourceError) as forbidden:
        await discord.messages(SECRET)
    assert forbidden.value.fatal and forbidden.value.status == 403
    assert "cannot read this channel" in forbidden.value.reason and "Message Content intent" in forbidden.value.reason
    assert "Missing Access" in forbidden.value.reason
    with pytest.raises(SourceError) as unknown:
        await discord.channels("1184000000000000999")
    assert unknown.value.fatal and "Unknown Guild" in unknown.value.reason

    fake.script.append((400, {"message": f"Invalid token {TOKEN} in body", "code": 50035,
                              "errors": {"content": {"_errors": [{"code": "BASE_TYPE_REQUIRED",
                                                                  "message": "This field is required"}]}}}, {}))
    with pytest.raises(SourceError) as bad:
        await discord.send(CHANNEL, "hi", nonce="n1")
    assert "content: This field is required" in bad.value.reason and "50035" in bad.value.reason
    for error in (rejected, forbidden, bad):
        assert TOKEN not in str(error.value) and "not-the-right-token" not in str(error.value)
    assert TOKEN not in caplog.text


async def test_server_errors_and_unreachable_hosts_are_not_fatal(fake, clock):
    discord = client(fake, clock)
    fake.script.append((502, {"message": "502 Bad Gateway", "code": 0}, {}))
    with pytest.raises(SourceError) as server:
        await discord.messages(CHANNEL)
    assert not server.value.fatal and server.value.status == 502
    gone = DiscordClient(TOKEN, base_url="http://127.0.0.1:9/api/v10", clock=clock, sleep=clock.sleep)
    with pytest.raises(SourceError) as unreachable:
        await gone.me()
    assert "cannot reach 127.0.0.1:9" in unreachable.value.reason and not unreachable.value.fatal


async def test_invalid_requests_stop_well_before_discords_ban(fake, clock):
    discord = client(fake, clock)
    discord.invalid_limit = 3  # 1 000 in use; Discord bans at 10 000 in 10 minutes
    for _ in range(3):
        with pytest.raises(SourceError):
            await discord.messages(SECRET)
    with pytest.raises(SourceError) as paused:
        await discord.messages(CHANNEL)
    assert len(fake.requests) == 3  # not sent
    assert "3 requests were refused" in paused.value.reason and paused.value.retry_after_s == pytest.approx(600.0)
    clock.now_s += 600.0
    assert len(await discord.messages(CHANNEL)) == 5


def test_a_missing_or_malformed_token_is_refused_up_front():
    for token in ("", "   ", "Bot ", "two words"):
        with pytest.raises(SourceError) as error:
            DiscordClient(token)
        assert error.value.fatal
