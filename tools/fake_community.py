"""Local stand-ins for Discord's REST API and Telegram's Bot API, for trying the Community area
without the network (development and demos only; every fan and message is made up).

    .venv/bin/python tools/fake_community.py --port 8720
    STUDIO_DISCORD_URL=http://127.0.0.1:8720/discord/api/v10 \\
    STUDIO_TELEGRAM_URL=http://127.0.0.1:8720/telegram .venv/bin/studio

Any Discord bot token and any Telegram token are accepted. Both speak the real wire formats
(see shared/notes/connectors.md): Discord `/users/@me`, `/users/@me/guilds`, `/guilds/{id}/channels`,
`/channels/{id}/messages` (GET with `after`, POST with `message_reference` and `nonce`, deduplicated
when `enforce_nonce` is true, as Discord does), rate-limit headers; Telegram `getMe`, `getUpdates`
(long polling with `offset`/`timeout`), `sendMessage`. Every --every-s seconds a made-up fan writes
in the Discord channel and in the Telegram group, some of them mentioning the bot.

What the studio sent can be read back at `GET /sent` (JSON), so a demo can check that an approved
reply arrived exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import time
import zlib
from datetime import datetime, timezone

from aiohttp import web

FANS = ["LoFiLena", "beatsbyomar", "NightOwlDev", "synth_sam", "Rhea", "kofi.wav", "Marta", "tape_hiss"]
LINES = [
    "this beat slaps, been on repeat all day",
    "can you make some chill lo-fi for coding?",
    "the mix feels a bit muddy around the bass",
    "when is the next release?",
    "that drop at 1:20 is insane 🔥",
    "what DAW do you use?",
    "not feeling the vocals on this one tbh",
    "any chance of a synthwave version?",
]
GUILD = {"id": "700000000000000001", "name": "Demo Fan Server"}
CHANNEL = {"id": "700000000000000010", "name": "general", "type": 0, "guild_id": GUILD["id"]}
BOT = {"id": "700000000000000099", "username": "StudioBot", "bot": True}
TG_BOT = {"id": 7000000099, "is_bot": True, "first_name": "Studio", "username": "studio_demo_bot"}
TG_CHAT = {"id": -1007000000001, "title": "Demo fans", "type": "supergroup"}


class Platforms:
    def __init__(self, seed: int = 3) -> None:
        self.rng = random.Random(seed)
        self.snowflakes = itertools.count(710000000000000000)
        self.discord: list[dict] = []
        self.telegram: list[dict] = []  # updates
        self.update_ids = itertools.count(1)
        self.tg_message_ids = itertools.count(100)
        self.nonces: dict[str, dict] = {}
        self.sent: list[dict] = []
        self.new_update = asyncio.Event()

    def fan_writes(self) -> None:
        fan = self.rng.choice(FANS)
        text = self.rng.choice(LINES)
        mention = self.rng.random() < 0.6
        now = datetime.now(timezone.utc)
        self.discord.append({
            "id": str(next(self.snowflakes)), "type": 0, "channel_id": CHANNEL["id"],
            "content": (f"<@{BOT['id']}> " if mention else "") + text,
            "timestamp": now.isoformat(),
            "author": {"id": str(zlib.crc32(fan.encode()) * 10**7), "username": fan, "global_name": fan},
            "mentions": [BOT] if mention else [], "reactions": [],
        })
        self.telegram.append({"update_id": next(self.update_ids), "message": {
            "message_id": next(self.tg_message_ids), "date": int(time.time()), "chat": TG_CHAT,
            "from": {"id": zlib.crc32(fan.encode()), "is_bot": False, "first_name": fan},
            "text": (f"@{TG_BOT['username']} " if mention else "") + text,
            "entities": [{"type": "mention", "offset": 0, "length": len(TG_BOT["username"]) + 1}] if mention else [],
        }})
        self.new_update.set()


def build_app(platforms: Platforms) -> web.Application:
    def discord_json(data, status: int = 200) -> web.Response:
        return web.json_response(data, status=status, headers={
            "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "4", "X-RateLimit-Reset-After": "1.0",
            "X-RateLimit-Bucket": "demo"})

    async def me(_r):
        return discord_json(BOT)

    async def guilds(_r):
        return discord_json([GUILD])

    async def channels(_r):
        return discord_json([CHANNEL, {"id": "700000000000000011", "name": "voice", "type": 2,
                                       "guild_id": GUILD["id"]}])

    async def read_messages(request: web.Request):
        after = int(request.query.get("after", "0") or 0)
        limit = min(100, int(request.query.get("limit", "50")))
        newer = [m for m in platforms.discord if int(m["id"]) > after]
        return discord_json(list(reversed(newer[-limit:])))  # Discord answers newest first

    async def post_message(request: web.Request):
        body = await request.json()
        nonce = body.get("nonce")
        if nonce and body.get("enforce_nonce") and nonce in platforms.nonces:
            return discord_json(platforms.nonces[nonce])
        message = {"id": str(next(platforms.snowflakes)), "type": 19 if body.get("message_reference") else 0,
                   "channel_id": request.match_info["channel_id"], "content": body.get("content", ""),
                   "timestamp": datetime.now(timezone.utc).isoformat(), "author": BOT, "mentions": [],
                   "reactions": [], "message_reference": body.get("message_reference"), "nonce": nonce}
        platforms.discord.append(message)
        if nonce:
            platforms.nonces[nonce] = message
        platforms.sent.append({"platform": "discord", "id": message["id"], "text": message["content"]})
        return discord_json(message)

    async def tg_method(request: web.Request):
        method = request.match_info["method"]
        params = dict(request.query)
        if request.can_read_body:
            params.update(await request.json() if request.content_type == "application/json" else await request.post())
        if method == "getMe":
            return web.json_response({"ok": True, "result": TG_BOT})
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            timeout_s = min(float(params.get("timeout") or 0), 30.0)
            pending = [u for u in platforms.telegram if u["update_id"] >= offset]
            if not pending and timeout_s:
                platforms.new_update.clear()
                try:
                    await asyncio.wait_for(platforms.new_update.wait(), timeout_s)
                except TimeoutError:
                    pass
                pending = [u for u in platforms.telegram if u["update_id"] >= offset]
            return web.json_response({"ok": True, "result": pending[:100]})
        if method == "sendMessage":
            message = {"message_id": next(platforms.tg_message_ids), "date": int(time.time()),
                       "chat": TG_CHAT, "from": TG_BOT, "text": str(params.get("text", ""))}
            platforms.sent.append({"platform": "telegram", "id": str(message["message_id"]), "text": message["text"]})
            return web.json_response({"ok": True, "result": message})
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    async def sent(_r):
        return web.json_response(platforms.sent)

    app = web.Application()
    app.router.add_get("/discord/api/v10/users/@me", me)
    app.router.add_get("/discord/api/v10/users/@me/guilds", guilds)
    app.router.add_get("/discord/api/v10/guilds/{guild_id}/channels", channels)
    app.router.add_get("/discord/api/v10/channels/{channel_id}/messages", read_messages)
    app.router.add_post("/discord/api/v10/channels/{channel_id}/messages", post_message)
    app.router.add_route("*", "/telegram/bot{token}/{method}", tg_method)
    app.router.add_get("/sent", sent)
    return app


async def fans(platforms: Platforms, every_s: float) -> None:
    while True:
        platforms.fan_writes()
        await asyncio.sleep(every_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8720)
    parser.add_argument("--every-s", type=float, default=8.0, help="a made-up fan writes this often")
    args = parser.parse_args()
    platforms = Platforms()
    app = build_app(platforms)

    async def start_fans(_app):
        _app["fans"] = asyncio.create_task(fans(platforms, args.every_s))

    app.on_startup.append(start_fans)
    print(f"fake Discord:  http://127.0.0.1:{args.port}/discord/api/v10")
    print(f"fake Telegram: http://127.0.0.1:{args.port}/telegram")
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
