"""Kill the studio (SIGKILL) between approving a reply and its sending; after a restart the fake
Discord has the message exactly once.

The fake Discord (a thread beside the test, speaking Discord's REST format) keeps the messages
it created, answers a repeated nonce with the first message as Discord does with
`enforce_nonce`, and can hang a POST after creating the message: the crash lands after Discord
posted but before the studio heard back, the case only the nonce can settle.

Case 1: the reply is `sending` when the process dies (the POST hangs): the restart sends it again
with the same nonce and Discord drops the duplicate. Case 2: the reply is approved but not yet
sent (its response delay has not run out) when the process dies: the restart sends it once.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from keyring.backends import fail

from studio.app import build_services, shutdown
from studio.config import Settings
from studio.connectors.messages import InboundMessage
from studio.db.models import CommunityReply
from studio.services.community.common import new_id
from studio.services.system.secrets import Secrets
from tests.support.processes import StudioProcess

pytestmark = pytest.mark.slow

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.Gabcde.fake-bot-token-for-tests"
CHANNEL = "100"
NONCE = "crashtestnonce0000000001"


class FakeDiscord:
    """Discord's REST API, the part the studio uses, on 127.0.0.1 in its own thread."""

    def __init__(self) -> None:
        self.messages: list[dict] = []  # what Discord shows in the channel
        self.posts: list[dict] = []  # every POST received
        self.hang = False
        self.posted = threading.Event()
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> "FakeDiscord":
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        self._loop = loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_get("/api/v10/users/@me", self._me)
        app.router.add_get("/api/v10/channels/{channel}/messages", self._list)
        app.router.add_post("/api/v10/channels/{channel}/messages", self._post)
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/api/v10"
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    async def _me(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bot {TOKEN}":
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        return web.json_response({"id": "999", "username": "studio-bot", "bot": True, "discriminator": "0"})

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response([])

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.posts.append(body)
        existing = next((m for m in self.messages if body.get("enforce_nonce") and m["nonce"] == body.get("nonce")),
                        None)
        if existing is None:
            existing = {"id": str(5000 + len(self.messages)), "type": 19, "channel_id": request.match_info["channel"],
                        "content": body["content"], "nonce": body.get("nonce"),
                        "author": {"id": "999", "username": "studio-bot", "bot": True},
                        "timestamp": datetime.now(UTC).isoformat(), "mentions": []}
            self.messages.append(existing)
        self.posted.set()
        if self.hang:
            await asyncio.sleep(3600)  # posted on Discord, never answered: the studio dies waiting
        return web.json_response(existing)


@pytest.fixture
def fake_discord():
    fake = FakeDiscord().start()
    yield fake
    fake.stop()


def prepare(home: Path, *, send_after: datetime | None) -> str:
    """A studio data folder with the Discord source on, a mention stored and its reply approved."""
    settings = Settings(home=home, port=0)
    services = build_services(settings)
    try:
        Secrets(home, keyring_backend=fail.Keyring()).set("community.discord.token", TOKEN)
        community = services.community
        community.sources.configure("discord", enabled=True, config={"channels": [{"id": CHANNEL, "name": "general"}]})
        stored = community.ingest.store([InboundMessage(
            platform="discord", channel_id=CHANNEL, message_id="4000", author_id="u1", author_name="Ana",
            text="@studio-bot when is the next track out?", sent_at=datetime.now(UTC), mentions_bot=True)])
        reply_id = new_id("reply")
        now = datetime.now(UTC)
        with services.context.db.session() as s:
            s.add(CommunityReply(id=reply_id, message_id=stored.mentions[0]["message_id"], platform="discord",
                                 channel_id=CHANNEL, reply_to_external_id="4000", text="Next Friday, Ana!",
                                 drafted_text="Next Friday, Ana!", drafted_by="studio", status="draft", auto=0,
                                 attempts=0, created_at=now, updated_at=now))
        community.outbox.approve(reply_id, approved_by="tester", send_after=send_after)
        with services.context.db.session() as s:
            s.get(CommunityReply, reply_id).nonce = NONCE
    finally:
        shutdown(services)
    return reply_id


def serve(home: Path, fake: FakeDiscord) -> StudioProcess:
    process = StudioProcess(["-m", "studio", "serve", "--port", "0"], home, env={
        "STUDIO_DISCORD_URL": fake.url, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    process.base_url()
    return process


def reply_row(home: Path, reply_id: str) -> tuple:
    with sqlite3.connect(home / "studio.db") as db:
        return db.execute("SELECT status, platform_message_id, nonce, attempts FROM community_replies WHERE id = ?",
                          (reply_id,)).fetchone()


def wait_for_status(home: Path, reply_id: str, status: str, timeout_s: float = 30.0) -> tuple:
    deadline = time.monotonic() + timeout_s
    while True:
        row = reply_row(home, reply_id)
        if row[0] == status:
            return row
        assert time.monotonic() < deadline, row
        time.sleep(0.1)


def kill(process: StudioProcess) -> None:
    process.proc.send_signal(signal.SIGKILL)
    process.proc.wait(10)


def test_killed_while_discord_posts_then_restarted_sends_once(tmp_path, fake_discord):
    home = tmp_path / "home"
    reply_id = prepare(home, send_after=None)
    fake_discord.hang = True
    first = serve(home, fake_discord)
    try:
        assert fake_discord.posted.wait(30), "\n".join(first.lines)
        assert reply_row(home, reply_id)[0] == "sending"  # committed before the call
        kill(first)
    finally:
        first.stop()
    assert reply_row(home, reply_id)[0] == "sending"
    fake_discord.hang = False
    second = serve(home, fake_discord)
    try:
        status, platform_id, nonce, attempts = wait_for_status(home, reply_id, "sent")
    finally:
        second.stop()
    assert len(fake_discord.messages) == 1  # exactly once on the platform
    assert [p["nonce"] for p in fake_discord.posts] == [NONCE, NONCE] and nonce == NONCE
    assert platform_id == fake_discord.messages[0]["id"] and attempts == 2


def test_killed_before_an_approved_reply_was_sent_then_restarted_sends_once(tmp_path, fake_discord):
    home = tmp_path / "home"
    reply_id = prepare(home, send_after=datetime.now(UTC) + timedelta(hours=1))  # a response delay
    first = serve(home, fake_discord)
    try:
        time.sleep(1.0)  # the outbox resumed and looked at it
        assert reply_row(home, reply_id)[0] == "approved" and fake_discord.posts == []
        kill(first)
    finally:
        first.stop()
    with sqlite3.connect(home / "studio.db") as db:  # the delay ran out while the studio was down
        db.execute("UPDATE community_replies SET send_after = NULL WHERE id = ?", (reply_id,))
    second = serve(home, fake_discord)
    try:
        status, platform_id, _nonce, attempts = wait_for_status(home, reply_id, "sent")
    finally:
        second.stop()
    assert len(fake_discord.messages) == 1 and len(fake_discord.posts) == 1
    assert platform_id == fake_discord.messages[0]["id"] and attempts == 1
