"""YouTubeCommentsClient against a fake YouTube Data API: comment threads with their replies as
messages, paging, units counted (1 per list page, 50 per reply), replies paced and sent with the
Bearer token only, quotaExceeded / commentsDisabled / an expired sign-in, secrets kept out of texts."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from studio.connectors.charts import SourceError
from studio.connectors.youtube import COMMENT_INSERT_UNITS, YouTubeCommentsClient
from tests.connectors.conftest import FakeClock

FIXTURES = Path(__file__).parent / "fixtures"
KEY = "AIzaSyD-fake-0123456789abcdefghijklmnopq"
TOKEN = "ya29.a0AfB_fake-access-token-0123456789"
VIDEO = "aB3dE5fG7hJ"
OWN_CHANNEL = "UCx9Q2nZ_NovaLaneMusic0"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class FakeYouTube:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[tuple[dict, int]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.method == "POST" else None
        self.requests.append({"method": request.method, "path": request.path, "query": dict(request.query),
                              "key": request.headers.get("X-Goog-Api-Key"),
                              "authorization": request.headers.get("Authorization"),
                              "user_agent": request.headers.get("User-Agent"), "json": body,
                              "url": str(request.rel_url)})
        if self.script:
            answer, status = self.script.pop(0)
            return web.json_response(answer, status=status)
        if request.headers.get("Authorization") not in (None, f"Bearer {TOKEN}"):
            return web.json_response(fixture("youtube_error_auth.json"), status=401)
        if request.path.endswith("/commentThreads"):
            return web.json_response(fixture("youtube_comment_threads.json"))
        if request.method == "POST":
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return web.json_response(fixture("youtube_error_auth.json"), status=401)
            answer = fixture("youtube_comment_insert.json")
            answer["snippet"]["parentId"] = body["snippet"]["parentId"]
            answer["snippet"]["textOriginal"] = body["snippet"]["textOriginal"]
            return web.json_response(answer)
        return web.json_response({"kind": "youtube#commentListResponse", "items": [
            {"kind": "youtube#comment", "id": f"{request.query['parentId']}.9wXy9More01",
             "snippet": {"textDisplay": "third reply", "textOriginal": "third reply",
                         "parentId": request.query["parentId"], "authorDisplayName": "@late",
                         "authorChannelId": {"value": "UClateChannel"}, "likeCount": 2,
                         "publishedAt": "2026-11-29T10:00:00Z", "updatedAt": "2026-11-29T10:00:00Z"}}]})


@pytest.fixture
async def fake(aiohttp_server):
    fake = FakeYouTube()
    app = web.Application()
    app.router.add_route("*", "/youtube/v3/{method}", fake.handle)
    server = await aiohttp_server(app)
    fake.url = f"http://127.0.0.1:{server.port}/youtube/v3"
    return fake


def client(fake, *, api_key: str | None = KEY, access_token: str | None = None,
           clock: FakeClock | None = None) -> YouTubeCommentsClient:
    clock = clock or FakeClock()
    return YouTubeCommentsClient(api_key=api_key, access_token=access_token, base_url=fake.url, clock=clock,
                                 sleep=clock.sleep, now=lambda: datetime(2026, 12, 4, 12, 0, tzinfo=UTC))


async def test_threads_of_a_video_become_messages_with_their_replies(fake):
    youtube = client(fake)
    messages, next_page = await youtube.threads(video_id=VIDEO, own_channel_id=OWN_CHANNEL)
    (request,) = fake.requests
    assert request["path"] == "/youtube/v3/commentThreads" and request["key"] == KEY
    assert request["query"] == {"part": "snippet,replies", "videoId": VIDEO, "maxResults": "100",
                                "order": "time", "textFormat": "plainText"}
    assert youtube.units_used == 1
    assert next_page == "QURTSl9pMlBxZWhoMGJ4T3Y0T2ZkWGxfS0x0d1lUY1dXRnpZZ2xDbXQ2Nmp1"

    assert [m.text for m in messages] == [  # oldest first
        "This beat slaps. Can you share the BPM?", "mid tbh", "92 BPM, enjoy!",
        "the mix sounds muddy on my headphones"]
    top, critic, own, later = messages
    assert (top.platform, top.channel_id, top.message_id) == ("youtube", VIDEO, "UgzKg3vR1yAT2kD8tbt4AaABAg")
    assert (top.author_id, top.author_name) == ("UCk1mBeatsChannel000001", "@kimbeats")
    assert top.reactions == 14 and top.reply_count == 7 and top.reply_to_id is None
    assert top.mentions_bot and not top.from_self
    assert top.sent_at == datetime(2026, 11, 28, 18, 2, 11, tzinfo=UTC)
    assert top.url == f"https://www.youtube.com/watch?v={VIDEO}&lc=UgzKg3vR1yAT2kD8tbt4AaABAg"
    assert top.extra["edited_at"] == "2026-11-28T18:04:40+00:00" and top.extra["can_reply"] is True

    assert critic.reply_to_id == top.message_id and critic.channel_id == VIDEO and critic.reply_count is None
    assert critic.mentions_bot and critic.reactions == 0
    assert own.from_self and not own.mentions_bot and own.reply_to_id == top.message_id  # the user's answer
    assert later.reply_count == 0 and "edited_at" not in later.extra


async def test_channel_threads_paging_and_arguments(fake):
    youtube = client(fake)
    await youtube.threads(channel_id=OWN_CHANNEL, page_token="NEXT", max_results=500)
    query = fake.requests[0]["query"]
    assert query["allThreadsRelatedToChannelId"] == OWN_CHANNEL and "videoId" not in query
    assert query["pageToken"] == "NEXT" and query["maxResults"] == "100"
    with pytest.raises(ValueError):
        await youtube.threads()
    with pytest.raises(ValueError):
        await youtube.threads(video_id=VIDEO, channel_id=OWN_CHANNEL)
    assert len(fake.requests) == 1 and youtube.units_used == 1


async def test_more_replies_of_a_thread(fake):
    youtube = client(fake)
    messages, next_page = await youtube.replies("UgzKg3vR1yAT2kD8tbt4AaABAg", video_id=VIDEO)
    query = fake.requests[0]["query"]
    assert fake.requests[0]["path"] == "/youtube/v3/comments"
    assert query == {"part": "snippet", "parentId": "UgzKg3vR1yAT2kD8tbt4AaABAg", "textFormat": "plainText",
                     "maxResults": "100"}
    (reply,) = messages
    assert reply.reply_to_id == "UgzKg3vR1yAT2kD8tbt4AaABAg" and reply.channel_id == VIDEO
    assert reply.reactions == 2 and next_page is None and youtube.units_used == 1


async def test_reply_posts_with_the_bearer_token_costs_50_units_and_is_paced(fake):
    clock = FakeClock()
    youtube = client(fake, access_token=TOKEN, clock=clock)
    first = await youtube.reply("UgwQ7cN2mHx4pRb5Vw94AaABAg", "  Thanks Sam, a remaster is on the way ")
    second = await youtube.reply("UgzKg3vR1yAT2kD8tbt4AaABAg", "92 BPM!")
    assert first == "UgwQ7cN2mHx4pRb5Vw94AaABAg.9wZa7QrStUv9wZa7WxYz01" and second == first
    post = fake.requests[0]
    assert post["method"] == "POST" and post["path"] == "/youtube/v3/comments"
    assert post["query"] == {"part": "snippet"}
    assert post["json"] == {"snippet": {"parentId": "UgwQ7cN2mHx4pRb5Vw94AaABAg",
                                        "textOriginal": "Thanks Sam, a remaster is on the way"}}
    assert post["authorization"] == f"Bearer {TOKEN}" and post["key"] is None
    assert youtube.units_used == 2 * COMMENT_INSERT_UNITS == 100
    assert clock.sleeps == [10.0]  # the second reply waited out the anti-spam interval


async def test_reads_use_the_sign_in_when_there_is_one(fake):
    youtube = client(fake, api_key=None, access_token=TOKEN)
    await youtube.threads(video_id=VIDEO)
    assert fake.requests[0]["authorization"] == f"Bearer {TOKEN}" and fake.requests[0]["key"] is None


async def test_reply_needs_the_sign_in_and_a_sane_text(fake):
    reader = client(fake)
    with pytest.raises(SourceError) as caught:
        await reader.reply("UgwQ7cN2mHx4pRb5Vw94AaABAg", "hi")
    assert caught.value.fatal and "sign-in" in caught.value.reason
    signed_in = client(fake, access_token=TOKEN)
    for text in ("   ", "x" * 10_001):
        with pytest.raises(SourceError) as caught:
            await signed_in.reply("UgwQ7cN2mHx4pRb5Vw94AaABAg", text)
        assert caught.value.fatal
    assert fake.requests == [] and reader.units_used == signed_in.units_used == 0
    with pytest.raises(SourceError):
        YouTubeCommentsClient(base_url=fake.url)  # neither a key nor a sign-in


async def test_quota_exceeded_is_the_chart_clients_error(fake):
    fake.script = [(fixture("youtube_error_quota_exceeded.json"), 403)]
    youtube = client(fake, access_token=TOKEN)
    with pytest.raises(SourceError) as caught:
        await youtube.reply("UgwQ7cN2mHx4pRb5Vw94AaABAg", "thanks!")
    error = caught.value
    assert not error.fatal and error.status == 403 and "quotaExceeded" in error.reason
    assert error.retry_after_s == 20 * 3600  # 04:00 PST -> next Pacific midnight
    assert youtube.units_used == COMMENT_INSERT_UNITS  # counted high: Google charges failed calls too


async def test_comments_disabled_is_fatal_and_readable(fake):
    fake.script = [(fixture("youtube_error_comments_disabled.json"), 403)]
    with pytest.raises(SourceError) as caught:
        await client(fake).threads(video_id=VIDEO)
    error = caught.value
    assert error.fatal and error.status == 403
    assert error.reason == "comments are turned off for this video (commentsDisabled)"


async def test_an_expired_sign_in_says_sign_in_again_without_the_token(fake, caplog):
    caplog.set_level(logging.DEBUG)
    echoed = fixture("youtube_error_auth.json")
    echoed["error"]["message"] = f"token {TOKEN} expired"
    fake.script = [(echoed, 401)]
    youtube = client(fake, access_token=TOKEN)
    with pytest.raises(SourceError) as caught:
        await youtube.reply("UgwQ7cN2mHx4pRb5Vw94AaABAg", "thanks!")
    error = caught.value
    assert error.fatal and error.status == 401 and "sign in again" in error.reason
    assert TOKEN not in str(error)

    stale = client(fake, access_token="ya29.stale")  # the fake rejects it like Google does
    with pytest.raises(SourceError) as caught:
        await stale.threads(video_id=VIDEO)
    assert caught.value.status == 401 and "ya29.stale" not in str(caught.value)

    insufficient = {"error": {"code": 403, "message": "Request had insufficient authentication scopes.",
                              "errors": [{"domain": "global", "reason": "insufficientPermissions"}],
                              "status": "PERMISSION_DENIED"}}
    fake.script = [(insufficient, 403)]
    with pytest.raises(SourceError) as caught:
        await youtube.reply("UgwQ7cN2mHx4pRb5Vw94AaABAg", "thanks!")
    assert caught.value.fatal and "youtube.force-ssl" in caught.value.reason

    assert all(TOKEN not in r["url"] and KEY not in r["url"] for r in fake.requests)
    assert all(TOKEN not in record.getMessage() for record in caplog.records)
    assert TOKEN not in repr(youtube) and KEY not in repr(client(fake))
