"""YouTubeClient against a fake YouTube Data API: statistics as strings (some hidden), ISO 8601
durations, paging with nextPageToken, quota units counted, quotaExceeded vs a bad key, key kept
out of the URL and every text."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from studio.connectors.charts import SourceError
from studio.connectors.youtube import (
    YouTubeClient,
    parse_duration_s,
    seconds_until_quota_reset,
)

FIXTURES = Path(__file__).parent / "fixtures"
KEY = "AIzaSyD-fake-0123456789abcdefghijklmnopq"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class FakeYouTube:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[tuple[dict, int]] = []

    async def videos(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.requests.append({**query, "key_header": request.headers.get("X-Goog-Api-Key"),
                              "url": str(request.rel_url)})
        if self.script:
            body, status = self.script.pop(0)
            return web.json_response(body, status=status)
        if request.headers.get("X-Goog-Api-Key") != KEY:
            return web.json_response(fixture("youtube_error_key_invalid.json"), status=400)
        if query.get("chart") != "mostPopular" or query.get("videoCategoryId") != "10":
            return web.json_response({"error": {"code": 400, "message": "bad filter"}}, status=400)
        page = "youtube_most_popular_page2.json" if query.get("pageToken") == "CAIQAA" else \
            "youtube_most_popular_page1.json"
        return web.json_response(fixture(page))


@pytest.fixture
async def fake(aiohttp_server):
    fake = FakeYouTube()
    app = web.Application()
    app.router.add_get("/youtube/v3/videos", fake.videos)
    server = await aiohttp_server(app)
    fake.url = f"http://127.0.0.1:{server.port}/youtube/v3"
    return fake


def client(fake, key: str = KEY, now: datetime | None = None) -> YouTubeClient:
    moment = now or datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    return YouTubeClient(key, base_url=fake.url, now=lambda: moment)


async def test_most_popular_music_pages_and_counts_units(fake):
    youtube = client(fake)
    entries = await youtube.most_popular_music("us", max_results=3)
    first_request, second_request = fake.requests
    assert first_request["part"] == "snippet,contentDetails,statistics" and first_request["regionCode"] == "US"
    assert first_request["chart"] == "mostPopular" and first_request["videoCategoryId"] == "10"
    assert first_request["maxResults"] == "3" and "pageToken" not in first_request
    assert second_request["pageToken"] == "CAIQAA" and second_request["maxResults"] == "1"
    assert youtube.units_used == 2  # one unit per list page

    assert [e.rank for e in entries] == [1, 2, 3]
    video, topic, live = entries
    assert (video.source, video.chart, video.item_id) == ("youtube", "youtube:most_popular:us:music", "aB3dE5fG7hJ")
    assert (video.title, video.artist) == ("Paper Lanterns", "Nova Lane")  # "Artist - Song (Official …)"
    assert video.metrics == {"views": 4821730.0, "likes": 210455.0, "comments": 18022.0}
    assert video.duration_s == 201.0 and video.tags == ("Nova Lane", "Paper Lanterns", "Pop")
    assert video.published_at == datetime(2026, 11, 27, 17, 0, 6, tzinfo=UTC)
    assert video.url == "https://www.youtube.com/watch?v=aB3dE5fG7hJ"

    assert (topic.title, topic.artist) == ("Midnight Arcade", "Kairo Sun")  # " - Topic" channel
    assert topic.metrics == {"views": 913004.0}  # likes hidden, comments off: absent, not 0
    assert topic.duration_s == 3725.0 and topic.tags == ()

    assert live.duration_s is None  # P0D: a live stream
    assert live.metrics == {"views": 120553.0, "likes": 9021.0}


async def test_the_last_page_ends_the_list(fake):
    youtube = client(fake)
    entries = await youtube.most_popular_music("US", max_results=50)
    assert len(entries) == 3 and youtube.units_used == 2  # no nextPageToken on page 2


async def test_quota_exceeded_is_not_fatal_and_waits_for_pacific_midnight(fake):
    fake.script = [(fixture("youtube_error_quota_exceeded.json"), 403)]
    youtube = client(fake, now=datetime(2026, 12, 4, 12, 0, tzinfo=UTC))  # 04:00 in Los Angeles (PST)
    with pytest.raises(SourceError) as caught:
        await youtube.most_popular_music()
    error = caught.value
    assert not error.fatal and error.status == 403 and "quotaExceeded" in error.reason
    assert error.retry_after_s == 20 * 3600  # until 00:00 PST = 08:00 UTC next day
    assert youtube.units_used == 1  # charged even though it failed


@pytest.mark.parametrize(("name", "status", "words"), [
    ("youtube_error_key_invalid.json", 400, "API key is not valid"),
    ("youtube_error_forbidden.json", 403, "accessNotConfigured"),
])
async def test_bad_key_or_api_not_enabled_is_fatal(fake, name, status, words):
    fake.script = [(fixture(name), status)]
    with pytest.raises(SourceError) as caught:
        await client(fake).most_popular_music()
    assert caught.value.fatal and caught.value.status == status and words in caught.value.reason


async def test_forbidden_and_rate_limits(fake):
    forbidden = {"error": {"code": 403, "message": "Forbidden", "errors": [{"domain": "global", "reason": "forbidden"}]}}
    fake.script = [(forbidden, 403)]
    with pytest.raises(SourceError) as caught:
        await client(fake).most_popular_music()
    assert caught.value.fatal

    limited = {"error": {"code": 403, "message": "slow down",
                         "errors": [{"domain": "youtube.quota", "reason": "rateLimitExceeded"}]}}
    fake.script = [(limited, 403)]
    with pytest.raises(SourceError) as caught:
        await client(fake).most_popular_music()
    assert not caught.value.fatal and caught.value.retry_after_s == 60.0

    fake.script = [({"error": {"code": 503, "message": "backend error"}}, 503)]
    with pytest.raises(SourceError) as caught:
        await client(fake).most_popular_music()
    assert not caught.value.fatal and caught.value.status == 503


async def test_a_wrong_key_sent_to_the_fake_fails_like_the_real_one(fake):
    with pytest.raises(SourceError) as caught:
        await client(fake, key="AIza-wrong").most_popular_music()
    assert caught.value.fatal


async def test_the_key_travels_in_a_header_never_in_urls_logs_or_errors(fake, caplog):
    caplog.set_level(logging.DEBUG)
    await client(fake).most_popular_music(max_results=2)
    assert fake.requests[0]["key_header"] == KEY and "key" not in fake.requests[0]
    assert all(KEY not in r["url"] for r in fake.requests)
    assert all(KEY not in record.getMessage() for record in caplog.records)

    echoed = {"error": {"code": 400, "message": f"API key {KEY} not valid",
                        "errors": [{"domain": "global", "reason": "keyInvalid"}]}}
    fake.script = [(echoed, 400)]
    with pytest.raises(SourceError) as caught:
        await client(fake).most_popular_music()
    assert KEY not in str(caught.value) and caught.value.fatal

    unreachable = YouTubeClient(KEY, base_url="http://127.0.0.1:9/youtube/v3")
    with pytest.raises(SourceError) as caught:
        await unreachable.most_popular_music()
    assert KEY not in str(caught.value) and unreachable.units_used == 0  # never answered: nothing charged
    assert KEY not in repr(unreachable)


@pytest.mark.parametrize(("text", "seconds"), [
    ("PT3M21S", 201.0), ("PT45S", 45.0), ("PT1H", 3600.0), ("PT1H2M5S", 3725.0), ("P1DT2S", 86402.0),
    ("PT2M0.5S", 120.5), ("P0D", None), ("", None), (None, None), ("3:21", None),
])
def test_iso_8601_durations(text, seconds):
    assert parse_duration_s(text) == seconds


def test_quota_reset_follows_pacific_time_including_daylight_saving():
    # 23:30 PDT on 1 July is 06:30 UTC on 2 July: half an hour left
    assert seconds_until_quota_reset(datetime(2026, 7, 2, 6, 30, tzinfo=UTC)) == 1800.0
    # 00:00:30 PST: almost a whole day
    assert seconds_until_quota_reset(datetime(2026, 12, 4, 8, 0, 30, tzinfo=UTC)) == 24 * 3600 - 30
    # 00:30 PDT on 1 November 2026, the night clocks go back: 24.5 h to the next midnight (PST)
    assert seconds_until_quota_reset(datetime(2026, 11, 1, 7, 30, tzinfo=UTC)) == 24.5 * 3600


def test_no_key_no_client():
    with pytest.raises(SourceError) as caught:
        YouTubeClient("")
    assert caught.value.fatal
