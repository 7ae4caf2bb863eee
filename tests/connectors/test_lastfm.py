"""LastfmClient against a fake Last.fm speaking its wire format: numbers as strings, geo ranks
from 0, tag ranks from 1 without counts, errors with HTTP 200, and the key kept out of every text."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import ClassVar

import pytest
from aiohttp import web

from studio.connectors.charts import SourceError
from studio.connectors.lastfm import LastfmClient, redact

FIXTURES = Path(__file__).parent / "fixtures"
KEY = "0123456789abcdef0123456789abcdef"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class FakeLastfm:
    """`/2.0/` answering by `method`; `script` queues answers (body, status) ahead of the fixtures."""

    FILES: ClassVar[dict[str, str]] = {"chart.gettoptracks": "lastfm_chart_toptracks.json", "geo.gettoptracks": "lastfm_geo_toptracks.json",
             "tag.gettoptracks": "lastfm_tag_toptracks.json"}

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[tuple[dict, int]] = []

    async def handle(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.requests.append({**query, "user_agent": request.headers.get("User-Agent", "")})
        if self.script:
            body, status = self.script.pop(0)
            return web.json_response(body, status=status)
        if query.get("api_key") != KEY:
            return web.json_response(fixture("lastfm_error_invalid_key.json"))  # HTTP 200, as Last.fm does
        return web.json_response(fixture(self.FILES[query["method"].lower()]))


@pytest.fixture
async def fake(aiohttp_server):
    fake = FakeLastfm()
    app = web.Application()
    app.router.add_get("/2.0/", fake.handle)
    server = await aiohttp_server(app)
    fake.url = f"http://127.0.0.1:{server.port}/2.0/"
    return fake


def client(fake, key: str = KEY, waits: list | None = None) -> LastfmClient:
    async def sleep(seconds: float) -> None:
        if waits is not None:
            waits.append(seconds)

    return LastfmClient(key, base_url=fake.url, sleep=sleep)


async def test_chart_top_tracks_turns_strings_into_numbers(fake):
    entries = await client(fake).top_tracks(limit=3)
    sent = fake.requests[-1]
    assert sent["method"] == "chart.getTopTracks" and sent["format"] == "json" and sent["limit"] == "3"
    assert sent["user_agent"].startswith("Studio/")
    assert [e.rank for e in entries] == [1, 2, 3]
    first, second = entries[0], entries[1]
    assert (first.source, first.chart, first.title, first.artist) == ("lastfm", "lastfm:chart:top", "Paper Lanterns",
                                                                     "Nova Lane")
    assert first.metrics == {"playcount": 8815530.0, "listeners": 1202331.0}
    assert first.item_id == "https://www.last.fm/music/Nova+Lane/_/Paper+Lanterns"  # empty mbid: the URL
    assert first.duration_s is None  # "0" = unknown
    assert second.item_id == "3f1c2a7e-5b7d-4c1e-9a51-0c2f6e9d8b10" and second.duration_s == 187.0
    assert first.tags == () and first.published_at is None


async def test_geo_ranks_count_from_zero_and_tag_ranks_from_one(fake):
    lastfm = client(fake)
    geo = await lastfm.geo_top_tracks("United States", limit=2)
    assert fake.requests[-1]["country"] == "United States"
    assert [(e.rank, e.title) for e in geo] == [(1, "Static Bloom"), (2, "Paper Lanterns")]
    assert geo[0].chart == "lastfm:geo:united states"
    assert geo[0].metrics == {"listeners": 204511.0}  # geo has no playcount

    tag = await lastfm.tag_top_tracks("lofi", limit=2)
    assert fake.requests[-1]["tag"] == "lofi"
    assert [(e.rank, e.title) for e in tag] == [(1, "Rain on the Window"), (2, "Slow Sunday")]
    assert tag[0].metrics == {} and tag[0].tags == ("lofi",) and tag[0].chart == "lastfm:tag:lofi"


async def test_a_single_track_as_a_bare_object_and_an_empty_tag(fake):
    one = fixture("lastfm_tag_toptracks.json")
    one["tracks"]["track"] = one["tracks"]["track"][0]
    fake.script = [(one, 200), ({"tracks": {"track": [], "@attr": {"tag": "nothing", "total": "0"}}}, 200)]
    lastfm = client(fake)
    assert [e.title for e in await lastfm.tag_top_tracks("lofi")] == ["Rain on the Window"]
    assert await lastfm.tag_top_tracks("nothing") == []


async def test_rate_limit_with_http_200_is_retried_then_reported(fake):
    waits: list[float] = []
    fake.script = [(fixture("lastfm_error_rate_limit.json"), 200)]
    entries = await client(fake, waits=waits).top_tracks(limit=3)
    assert len(entries) == 3 and len(fake.requests) == 2 and waits == [5.0]

    waits.clear()
    fake.requests.clear()
    fake.script = [(fixture("lastfm_error_rate_limit.json"), 200)] * 3
    with pytest.raises(SourceError) as caught:
        await client(fake, waits=waits).top_tracks()
    error = caught.value
    assert len(fake.requests) == 3 and waits == [5.0, 10.0]  # two retries, backing off
    assert not error.fatal and error.retry_after_s == 60.0 and error.source == "lastfm"
    assert "error 29" in error.reason


@pytest.mark.parametrize("code", [11, 16])
async def test_transient_errors_are_retried(fake, code):
    waits: list[float] = []
    fake.script = [({"error": code, "message": "Service temporarily unavailable"}, 200)]
    assert len(await client(fake, waits=waits).geo_top_tracks("Germany")) == 2
    assert waits == [2.0]


@pytest.mark.parametrize(("code", "status", "words"), [
    (10, 200, "not valid"),  # invalid key, with HTTP 200
    (10, 403, "not valid"),  # ... or with the status Last.fm sometimes sends
    (26, 200, "suspended"),
])
async def test_bad_or_suspended_keys_are_fatal_and_not_retried(fake, code, status, words):
    fake.script = [({"error": code, "message": f"key {KEY} refused"}, status)]
    with pytest.raises(SourceError) as caught:
        await client(fake).top_tracks()
    assert caught.value.fatal and words in caught.value.reason and len(fake.requests) == 1
    assert KEY not in str(caught.value) and KEY not in caught.value.reason  # even when echoed back


async def test_a_bad_parameter_is_reported_without_retrying(fake):
    fake.script = [({"error": 6, "message": "country param invalid"}, 200)]
    with pytest.raises(SourceError) as caught:
        await client(fake).geo_top_tracks("Atlantis")
    assert not caught.value.fatal and "country param invalid" in caught.value.reason and len(fake.requests) == 1


async def test_a_wrong_key_sent_to_the_fake_fails_like_the_real_one(fake):
    with pytest.raises(SourceError) as caught:
        await client(fake, key="not-my-key-xyz").top_tracks()
    assert caught.value.fatal and "error 10" in caught.value.reason


async def test_the_key_never_reaches_logs_or_error_texts(fake, caplog):
    caplog.set_level(logging.DEBUG)
    await client(fake).top_tracks()
    # the fake server's own access log is the platform's side, not the studio's
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("aiohttp"))
    assert "api_key=***" in logged and KEY not in logged  # httpx's request line, masked

    unreachable = LastfmClient(KEY, base_url="http://127.0.0.1:9/2.0/", sleep=_no_sleep)
    with pytest.raises(SourceError) as caught:
        await unreachable.top_tracks()
    assert KEY not in str(caught.value) and caught.value.__cause__ is None
    assert KEY not in repr(unreachable)
    assert redact(f"https://x/?method=a&api_key={KEY}&format=json") == "https://x/?method=a&api_key=***&format=json"


async def test_server_errors_are_retried_then_reported(fake):
    waits: list[float] = []
    fake.script = [({"oops": True}, 502)] * 3
    with pytest.raises(SourceError) as caught:
        await client(fake, waits=waits).top_tracks()
    assert caught.value.status == 502 and not caught.value.fatal and caught.value.retry_after_s == 30.0
    assert waits == [2.0, 4.0]


def test_no_key_no_client_and_the_pace_is_five_per_second():
    with pytest.raises(SourceError) as caught:
        LastfmClient("  ")
    assert caught.value.fatal
    pacer = LastfmClient(KEY).pacer
    assert (pacer.requests, pacer.per_s) == (5, 1.0)


async def _no_sleep(_seconds: float) -> None:
    return None
