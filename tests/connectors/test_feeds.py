"""FeedClient on a YouTube uploads feed and a plain RSS feed served by a fake host."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp import web

from studio.connectors.charts import USER_AGENT, Pacer, SourceError
from studio.connectors.feeds import FeedClient
from studio.connectors.outbound import AddressPolicy
from tests.connectors.conftest import FakeClock, reply


async def test_youtube_uploads_feed_gives_video_ids_and_counts_where_present(fake_platform):
    platform = await fake_platform({"/feeds/videos.xml": reply("youtube_uploads.xml", content_type="application/atom+xml")})
    url = platform.base_url + "/feeds/videos.xml?channel_id=UCzzzzzzzzzzzzzzzzzzzz01"
    entries = await FeedClient(allow_private_hosts=True).read(url)

    assert platform.requests == [{"path": "/feeds/videos.xml", "query": {"channel_id": "UCzzzzzzzzzzzzzzzzzzzz01"},
                                  "user_agent": USER_AGENT}]
    assert [e.item_id for e in entries] == ["aaaaaaaaa01", "aaaaaaaaa02", "aaaaaaaaa03"]
    first, premiere, old = entries
    assert (first.source, first.chart, first.rank) == ("feed", f"feed:{url}", None)
    assert (first.title, first.artist) == ("Rainy Window (lofi beat)", "Night Owl Beats")
    assert first.url == "https://www.youtube.com/watch?v=aaaaaaaaa01"
    assert first.published_at == datetime(2026, 11, 28, 15, 0, 7, tzinfo=UTC)
    assert first.metrics == {"views": 56789.0, "likes": 1234.0}
    assert premiere.metrics == {"views": 0.0}  # no starRating: no likes figure
    assert old.metrics == {} and old.artist == "Night Owl Beats"  # no author: the channel's title


async def test_rss_feed_items_tags_dates_and_a_chart_name_of_the_callers_choice(fake_platform):
    platform = await fake_platform({"/fresh.rss": reply("music_news_rss.xml", content_type="application/rss+xml")})
    entries = await FeedClient(allow_private_hosts=True).read(platform.base_url + "/fresh.rss", chart="feed:0a1b2c")

    assert len(entries) == 2  # the item without a title is skipped
    pick, untitled = entries
    assert (pick.item_id, pick.chart, pick.artist) == ("fresh-2026-48-01", "feed:0a1b2c", "Juno Park")
    assert pick.tags == ("indie", "dream pop")
    assert pick.published_at == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # +01:00 read as UTC
    assert pick.metrics == {}
    assert untitled.item_id == "https://example.org/fresh/untitled"  # no guid: the link identifies it
    assert untitled.published_at is None and untitled.artist == "Fresh Finds Weekly"


async def test_a_page_that_is_not_a_feed_and_a_failing_host(fake_platform):
    async def page(request):
        return web.Response(text="<html><body><h1>Welcome</h1></body></html>", content_type="text/html")

    async def failing(request):
        return web.Response(status=502, text="Bad Gateway")

    platform = await fake_platform({"/page": page, "/down.xml": failing})
    clock = FakeClock()
    client = FeedClient(pacer=Pacer(1, 1.0, clock=clock, sleep=clock.sleep), allow_private_hosts=True)
    with pytest.raises(SourceError) as caught:
        await client.read(platform.base_url + "/page")
    assert caught.value.fatal and "not an RSS or Atom feed" in caught.value.reason
    with pytest.raises(SourceError) as caught:
        await client.read(platform.base_url + "/down.xml")
    assert caught.value.status == 502 and not caught.value.fatal and caught.value.source == "feed"
    assert clock.sleeps == [1.0]  # one request a second to anyone's server


async def test_feeds_on_local_or_private_addresses_are_not_read_unless_allowed(fake_platform):
    platform = await fake_platform({"/fresh.rss": reply("music_news_rss.xml", content_type="application/rss+xml")})
    for url in (platform.base_url + "/fresh.rss", "http://localhost:9/x.rss", "http://169.254.169.254/latest/",
                "http://10.0.0.8/feed", "http://[::1]:9/feed", "file:///etc/passwd"):
        with pytest.raises(SourceError) as caught:
            await FeedClient().read(url)
        assert caught.value.fatal and "not fetched" in caught.value.reason
    assert platform.requests == []  # nothing reached the local server

    # A feed at an address taken as public that redirects to this machine is refused at the redirect.
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound(str(request.url.with_path("/fresh.rss")))

    moving = await fake_platform({"/public/moved": moved, "/fresh.rss": reply("music_news_rss.xml")})
    class TakesPublicPaths(AddressPolicy):
        def refusal(self, url: str) -> str | None:
            return None if "/public/" in url else "inside"

    with pytest.raises(SourceError) as caught:
        await FeedClient(policy=TakesPublicPaths()).read(moving.base_url + "/public/moved")
    assert "not fetched" in caught.value.reason
    assert [r["path"] for r in moving.requests] == ["/public/moved"]
