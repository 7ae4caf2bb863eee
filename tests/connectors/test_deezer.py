"""DeezerClient against a fake Deezer speaking its wire format, HTTP-200 errors included."""

from __future__ import annotations

import asyncio
import socket
from datetime import date

import pytest
from aiohttp import web

from studio.connectors.charts import USER_AGENT, Pacer, SourceError
from studio.connectors.deezer import DeezerClient
from tests.connectors.conftest import FakeClock, reply


async def test_chart_reads_positions_popularity_and_strings_as_numbers(fake_platform):
    platform = await fake_platform({"/chart/{genre}/tracks": reply("deezer_chart_0_tracks.json")})
    entries = await DeezerClient(platform.base_url).chart()

    assert platform.requests == [{"path": "/chart/0/tracks", "query": {"limit": "100"}, "user_agent": USER_AGENT}]
    # the fourth track has no title: nothing to show or match, so it is left out
    assert [e.item_id for e in entries] == ["3135553001", "3135553002", "3135553003"]
    first, second, third = entries
    assert (first.source, first.chart, first.rank) == ("deezer", "deezer:chart:0", 1)
    assert (first.title, first.artist) == ("Paper Lanterns (Night Version)", "Mira Vale")
    assert first.duration_s == 187.0 and first.metrics == {"deezer_rank": 912345.0}
    assert first.url == "https://www.deezer.com/track/3135553001"
    assert first.preview_url.startswith("https://cdnt-preview.dzcdn.net/")
    assert first.bpm is None and first.isrc is None  # the chart does not carry them: track() does
    # figures sent as strings become floats
    assert second.duration_s == 204.0 and second.metrics == {"deezer_rank": 887000.0}
    # no position: its place in the list; no popularity figure: no metric rather than a made-up 0
    assert third.rank == 3 and third.metrics == {} and third.preview_url is None


async def test_chart_of_a_genre_keeps_to_the_limit(fake_platform):
    platform = await fake_platform({"/chart/{genre}/tracks": reply("deezer_chart_0_tracks.json")})
    entries = await DeezerClient(platform.base_url + "/").chart(genre_id=116, limit=2)
    assert platform.requests[0]["path"] == "/chart/116/tracks"
    assert platform.requests[0]["query"] == {"limit": "2"}
    assert [(e.chart, e.rank) for e in entries] == [("deezer:chart:116", 1), ("deezer:chart:116", 2)]


async def test_track_details_with_known_and_unknown_bpm(fake_platform):
    platform = await fake_platform({"/track/3135553001": reply("deezer_track.json"),
                                    "/track/3135553002": reply("deezer_track_unknown_bpm.json")})
    client = DeezerClient(platform.base_url)
    known = await client.track(3135553001)
    assert known == {"id": "3135553001", "title": "Paper Lanterns (Night Version)", "artist": "Mira Vale",
                     "isrc": "ZZA0O2600001", "bpm": 121.4, "gain_db": -8.7, "release_date": date(2026, 10, 30),
                     "duration_s": 187.0,
                     "preview_url": "https://cdnt-preview.dzcdn.net/api/1/1/a/b/c/0/abc0000000000000000000000000001.mp3"}
    unknown = await client.track("3135553002")
    assert unknown["bpm"] is None  # Deezer's 0 means "not known", not 0 BPM
    assert unknown["gain_db"] == -9.1 and unknown["release_date"] is None


async def test_genres(fake_platform):
    platform = await fake_platform({"/genre": reply("deezer_genres.json")})
    genres = await DeezerClient(platform.base_url).genres()
    assert genres == [{"id": 0, "name": "All"}, {"id": 132, "name": "Pop"}, {"id": 116, "name": "Rap/Hip Hop"},
                      {"id": 113, "name": "Dance"}]


async def test_quota_error_sent_with_http_200_says_when_to_come_back(fake_platform):
    platform = await fake_platform({"/chart/{genre}/tracks": reply("deezer_error_quota.json")})
    with pytest.raises(SourceError) as caught:
        await DeezerClient(platform.base_url).chart()
    error = caught.value
    assert (error.source, error.status, error.retry_after_s, error.fatal) == ("deezer", 200, 5.0, False)
    assert "quota" in error.reason.lower() and "Quota limit exceeded" in error.reason


async def test_no_data_error_is_fatal(fake_platform):
    platform = await fake_platform({"/track/{id}": reply("deezer_error_no_data.json")})
    with pytest.raises(SourceError) as caught:
        await DeezerClient(platform.base_url).track(1)
    assert caught.value.fatal and caught.value.retry_after_s is None
    assert caught.value.reason == "Deezer error 800: no data"


async def test_server_errors_and_malformed_json_become_plain_reasons(fake_platform):
    async def busy(request):
        return web.Response(status=503, text="<html>Service Unavailable</html>", content_type="text/html")

    async def truncated(request):
        return web.Response(text='{"data": [{"id": 1, "title": "cut', content_type="application/json")

    async def a_list(request):
        return web.json_response([1, 2, 3])

    platform = await fake_platform({"/chart/{genre}/tracks": busy, "/track/{id}": truncated, "/genre": a_list})
    client = DeezerClient(platform.base_url)
    with pytest.raises(SourceError) as caught:
        await client.chart()
    assert caught.value.status == 503 and "server error (HTTP 503)" in caught.value.reason
    assert not caught.value.fatal
    with pytest.raises(SourceError, match="not valid JSON"):
        await client.track(1)
    with pytest.raises(SourceError, match="not a JSON object"):
        await client.genres()


async def test_timeout_and_unreachable_host(fake_platform):
    async def slow(request):
        await asyncio.sleep(2)
        return web.json_response({"data": []})

    platform = await fake_platform({"/chart/{genre}/tracks": slow})
    with pytest.raises(SourceError) as caught:
        await DeezerClient(platform.base_url, timeout_s=0.2).chart()
    assert "did not answer within 0.2 s" in caught.value.reason

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SourceError, match="cannot reach 127.0.0.1"):
        await DeezerClient(f"http://127.0.0.1:{port}").genres()


async def test_paces_itself_at_deezers_rate(fake_platform):
    assert (DeezerClient().pacer.requests, DeezerClient().pacer.per_s) == (50, 5.0)
    platform = await fake_platform({"/genre": reply("deezer_genres.json")})
    clock = FakeClock()
    client = DeezerClient(platform.base_url, pacer=Pacer(50, 5.0, clock=clock, sleep=clock.sleep))
    for _ in range(50):
        await client.genres()
    assert clock.sleeps == []
    await client.genres()  # the 51st inside the same 5 s waits for the window to slide
    assert clock.sleeps == [5.0] and len(platform.requests) == 51
