"""AppleMusicClient against a fake RSS generator serving the most-played JSON shape."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp import web

from studio.connectors.apple_music import AppleMusicClient
from studio.connectors.charts import USER_AGENT, SourceError
from tests.connectors.conftest import reply

ROUTE = "/api/v2/{storefront}/music/most-played/{size}/{kind}.json"


async def test_most_played_ranks_by_position_and_skips_the_catch_all_genre(fake_platform):
    platform = await fake_platform({ROUTE: reply("apple_most_played_us_songs_10.json")})
    entries = await AppleMusicClient(platform.base_url).most_played(limit=10)

    assert platform.requests == [{"path": "/api/v2/us/music/most-played/10/songs.json", "query": {},
                                  "user_agent": USER_AGENT}]
    # the third result has neither id nor name; the ones after it keep their real position
    assert [(e.rank, e.item_id) for e in entries] == [(1, "1800000001"), (2, "1800000002"), (4, "1800000004")]
    first = entries[0]  # its advisory is the live feed's misspelt "Explict"
    assert (first.source, first.chart) == ("apple_music", "apple_music:us:most-played")
    assert (first.title, first.artist, first.tags) == ("Paper Lanterns", "Mira Vale", ("Pop",))
    assert first.published_at == datetime(2026, 10, 30, tzinfo=UTC)
    assert first.url == "https://music.apple.com/us/album/paper-lanterns/1800000000?i=1800000001"
    assert first.metrics == {} and first.duration_s is None  # the feed has no counts
    assert entries[1].tags == ("Hip-Hop/Rap",)
    assert entries[2].published_at is None  # no releaseDate


async def test_asks_for_the_smallest_list_that_holds_the_limit(fake_platform):
    platform = await fake_platform({ROUTE: reply("apple_most_played_us_songs_10.json")})
    client = AppleMusicClient(platform.base_url)
    entries = await client.most_played(storefront="GB", limit=2)
    await client.most_played(limit=30, kind="albums")
    await client.most_played(limit=500)
    assert [r["path"] for r in platform.requests] == ["/api/v2/gb/music/most-played/10/songs.json",
                                                      "/api/v2/us/music/most-played/50/albums.json",
                                                      "/api/v2/us/music/most-played/100/songs.json"]
    assert [e.rank for e in entries] == [1, 2] and entries[0].chart == "apple_music:gb:most-played"
    with pytest.raises(ValueError):
        await client.most_played(storefront="usa")
    with pytest.raises(ValueError):
        await client.most_played(kind="videos")


async def test_unknown_storefront_missing_feed_and_bad_json(fake_platform):
    async def not_found(request):
        return web.Response(status=404, text="Not Found")

    async def no_feed(request):
        return web.json_response({"feed": {"title": "Top Songs", "country": "zz"}})

    async def broken(request):
        return web.Response(text="<!DOCTYPE html><html>maintenance</html>", content_type="text/html")

    platform = await fake_platform({"/api/v2/xx/music/most-played/{size}/{kind}.json": not_found,
                                    "/api/v2/zz/music/most-played/{size}/{kind}.json": no_feed,
                                    "/api/v2/us/music/most-played/{size}/{kind}.json": broken})
    client = AppleMusicClient(platform.base_url)
    with pytest.raises(SourceError) as caught:
        await client.most_played(storefront="xx")
    assert caught.value.fatal and caught.value.status == 404 and caught.value.source == "apple_music"
    with pytest.raises(SourceError, match="no feed results"):
        await client.most_played(storefront="zz")
    with pytest.raises(SourceError, match="not valid JSON"):
        await client.most_played()
