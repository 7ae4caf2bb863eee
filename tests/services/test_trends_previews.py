"""Measuring Deezer previews (issue #15: "tempo ... from analysing the 30 s Deezer preview with the
studio's own tempo/key/genre analysis where the user allows it"): a fake Deezer CDN serves a click
track synthesised here at a known tempo; the scan fetches it only when the user turned
`analyse_previews` on, only from Deezer's own hosts, analyses it with the analysis service's run,
keeps the figures (not the audio) and the suggested response uses the measured tempo."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from aiohttp import web

from studio.connectors.charts import ChartEntry, SourceError
from studio.connectors.deezer import DeezerClient
from studio.services.trends.common import TrendsError

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CLICK_BPM = 120.0
RATE_HZ = 22050


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def click_mp3(tmp_path_factory) -> bytes:
    """8 s of 1 kHz clicks at 120 BPM, encoded with the engine's MP3 writer."""
    from studio.engine.io.export import write_audio

    audio = np.zeros(RATE_HZ * 8, np.float32)
    n = np.arange(int(0.03 * RATE_HZ))
    click = (np.sin(2 * np.pi * 1000 * n / RATE_HZ) * np.exp(-n / (0.005 * RATE_HZ))).astype(np.float32)
    for beat in range(int(8 * CLICK_BPM / 60)):
        start = int(beat * 60 / CLICK_BPM * RATE_HZ)
        audio[start:start + len(click)] += 0.8 * click
    path = write_audio(tmp_path_factory.mktemp("preview") / "click.mp3", audio[None], RATE_HZ, "mp3")
    return path.read_bytes()


@dataclass
class FakeCdn:
    base_url: str = ""
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def fake_cdn(aiohttp_server):
    """A server answering GET /preview/{name} with `routes[name]` (bytes, or a status int)."""
    async def start(routes: dict) -> FakeCdn:
        cdn = FakeCdn()

        async def preview(request: web.Request) -> web.StreamResponse:
            name = request.match_info["name"]
            cdn.requests.append(name)
            answer = routes[name]
            if isinstance(answer, int):
                return web.Response(status=answer)
            if isinstance(answer, str):  # a redirect target
                raise web.HTTPFound(answer)
            return web.Response(body=answer, content_type="audio/mpeg")

        app = web.Application()
        app.router.add_get("/preview/{name}", preview)
        server = await aiohttp_server(app)
        cdn.base_url = str(server.make_url("")).rstrip("/")
        return cdn
    return start


@pytest.fixture
def trends(services):
    trends = services.trends
    clock = Clock(T0)
    for part in (trends.sources, trends.scanner, trends.catalog, trends.previews):
        part.clock = clock
    return trends


def deezer_entries(base_url: str, names: list[str], **extra) -> list[ChartEntry]:
    return [ChartEntry(source="deezer", chart="deezer:chart:0", item_id=f"d{i}", title=f"Song {name}",
                       artist="Artist", rank=i, preview_url=f"{base_url}/preview/{name}",
                       **extra.get(name, {}))
            for i, name in enumerate(names, start=1)]


def use_deezer(services, trends, cdn_url: str, entries: list[ChartEntry], *, analyse: bool | None) -> None:
    services.settings.deezer_url = cdn_url  # the fake stands for Deezer's own host
    config = {"analyse_previews": analyse} if analyse is not None else None
    trends.sources.configure("deezer", enabled=True, config=config)

    async def fetch(config):
        return list(entries)
    trends.sources.fetchers["deezer"] = fetch


def by_title(trends) -> dict:
    return {t["title"]: t for t in trends.catalog.current(limit=50)["trends"]}


def temp_files(services) -> list:
    return [p for p in (services.context.settings.media_dir / ".tmp").iterdir()]


async def test_measured_tempo_is_stored_and_used_when_deezer_has_no_bpm(services, trends, fake_cdn, click_mp3):
    cdn = await fake_cdn({"a.mp3": click_mp3, "b.mp3": click_mp3})
    # b has Deezer's own bpm: its preview is not fetched
    entries = deezer_entries(cdn.base_url, ["a.mp3", "b.mp3"], **{"b.mp3": {"bpm": 90.0}})
    use_deezer(services, trends, cdn.base_url, entries, analyse=True)

    result = await trends.scanner.scan()

    assert result["previews"] == {"analysed": 1, "failed": 0, "skipped": None}
    assert cdn.requests == ["a.mp3"]
    trend = by_title(trends)["Song a.mp3"]
    measured = trend["preview_analysis"]
    assert measured["tempo_bpm"] == pytest.approx(CLICK_BPM, abs=2.0)
    assert 0.0 <= measured["tempo_confidence"] <= 1.0
    assert measured["key"] and measured["genre"] and measured["tags"]
    assert measured["analysed_at"] == "2026-03-02T12:00:00Z"
    assert "30 s Deezer preview" in measured["basis"] and "preview_analysis" not in trend["reasons"]
    # the suggested response uses it, and says where it comes from
    assert trend["suggested_spec"]["tempo"] == pytest.approx(CLICK_BPM, abs=2.0)
    assert (f"tempo measured from the 30 s Deezer preview (confidence {measured['tempo_confidence']:.2f})"
            in trend["suggestion_basis"])
    assert "suggested_spec.tempo" not in trend["reasons"]
    assert trend["bpm"] is None  # Deezer's figure stays Deezer's: the measurement is kept apart
    other = by_title(trends)["Song b.mp3"]
    assert other["suggested_spec"]["tempo"] == 90.0 and other["preview_analysis"] is None
    assert "tempo from the source's bpm 90.0" in other["suggestion_basis"]
    # no audio is kept
    assert temp_files(services) == []

    # the next scan does not fetch an analysed preview again
    trends.scanner.clock.now = T0 + timedelta(hours=1)
    again = await trends.scanner.scan()
    assert again["previews"] == {"analysed": 0, "failed": 0, "skipped": None} and cdn.requests == ["a.mp3"]


async def test_previews_are_not_fetched_unless_the_user_allows_it(services, trends, fake_cdn, click_mp3):
    cdn = await fake_cdn({"a.mp3": click_mp3})
    use_deezer(services, trends, cdn.base_url, deezer_entries(cdn.base_url, ["a.mp3"]), analyse=None)
    assert trends.sources.get("deezer")["config"]["analyse_previews"] is False  # off by default

    result = await trends.scanner.scan()

    assert cdn.requests == [] and "previews" not in result and result["new_items"] == 1
    trend = by_title(trends)["Song a.mp3"]
    assert trend["preview_analysis"] is None and trend["suggested_spec"]["tempo"] is None
    assert "analyse_previews" in trend["reasons"]["suggested_spec.tempo"]
    assert "analyse_previews" in trend["reasons"]["preview_analysis"]


async def test_setting_is_validated(trends):
    assert trends.sources.configure("deezer", config={"analyse_previews": True})["config"]["analyse_previews"] is True
    with pytest.raises(TrendsError):
        trends.sources.configure("deezer", config={"analyse_previews": "false"})
    with pytest.raises(TrendsError):
        trends.sources.configure("apple_music", config={"analyse_previews": True})


async def test_a_preview_on_another_host_is_refused(services, trends, fake_cdn, click_mp3):
    elsewhere = await fake_cdn({"a.mp3": click_mp3, "b.mp3": click_mp3})
    # the fake Deezer answers hop.mp3 with a redirect to the other host
    deezer = await fake_cdn({"hop.mp3": f"{elsewhere.base_url}/preview/b.mp3"})
    entries = deezer_entries(elsewhere.base_url, ["a.mp3"])  # names another host outright
    entries.append(ChartEntry(source="deezer", chart="deezer:chart:0", item_id="d9", title="Song hop",
                              artist="Artist", rank=9, preview_url=f"{deezer.base_url}/preview/hop.mp3"))
    use_deezer(services, trends, deezer.base_url, entries, analyse=True)

    result = await trends.scanner.scan()

    assert elsewhere.requests == []  # never asked, directly or through the redirect
    assert deezer.requests == ["hop.mp3"]
    assert result["previews"] == {"analysed": 0, "failed": 2, "skipped": None} and result["new_items"] == 2
    for title in ("Song a.mp3", "Song hop"):
        refused = by_title(trends)[title]
        assert "is not one of deezer's own hosts" in refused["preview_analysis"]["error"]
        assert refused["suggested_spec"]["tempo"] is None
        assert "could not be measured" in refused["reasons"]["suggested_spec.tempo"]
        assert refused["reasons"]["preview_analysis"] == refused["preview_analysis"]["error"]


def test_deezer_preview_hosts():
    client = DeezerClient("http://127.0.0.1:5555")
    assert client.is_preview_url("https://cdnt-preview.dzcdn.net/api/1/1/a/b/c/0/abc.mp3?hdnea=exp=1")
    assert client.is_preview_url("http://127.0.0.1:5555/preview/a.mp3")  # the configured base URL's host
    assert not client.is_preview_url("http://cdnt-preview.dzcdn.net/a.mp3")  # not https
    assert not client.is_preview_url("https://dzcdn.net.example.com/a.mp3")
    assert not client.is_preview_url("http://127.0.0.1:5556/preview/a.mp3")  # another port: another server
    assert not client.is_preview_url("file:///etc/passwd") and not client.is_preview_url("")


async def test_deezer_preview_is_size_capped(fake_cdn):
    cdn = await fake_cdn({"big.mp3": b"\xff\xfb" * 6000})
    client = DeezerClient(cdn.base_url)
    assert len(await client.preview(f"{cdn.base_url}/preview/big.mp3")) == 12000
    with pytest.raises(SourceError) as exc:
        await client.preview(f"{cdn.base_url}/preview/big.mp3", max_bytes=10_000)
    assert exc.value.fatal and "more than" in exc.value.reason


async def test_a_failing_analysis_leaves_the_scan_intact(services, trends, fake_cdn, click_mp3, monkeypatch):
    cdn = await fake_cdn({"junk.mp3": b"<html>not audio</html>" * 10, "a.mp3": click_mp3, "b.mp3": click_mp3})
    entries = deezer_entries(cdn.base_url, ["junk.mp3", "a.mp3", "b.mp3"])
    use_deezer(services, trends, cdn.base_url, entries, analyse=True)
    real = services.analysis.predictions.analyse_file

    def analyse_file(path, **kw):
        if cdn.requests[-1] == "b.mp3":
            raise RuntimeError("out of memory")
        return real(path, **kw)
    monkeypatch.setattr(services.analysis.predictions, "analyse_file", analyse_file)

    result = await trends.scanner.scan()

    assert result["scanned"] == ["deezer"] and result["errors"] == {} and result["new_items"] == 3
    assert result["previews"] == {"analysed": 1, "failed": 2, "skipped": None}
    trends_now = by_title(trends)
    assert all(t["viral_score"] is not None for t in trends_now.values())  # scored as ever
    # the analysis service's own check: the bytes are not audio (CORRUPT_AUDIO)
    assert "its content is not MP3 audio" in trends_now["Song junk.mp3"]["preview_analysis"]["error"]
    assert trends_now["Song b.mp3"]["preview_analysis"]["error"] == "analysis failed (RuntimeError)"
    assert trends_now["Song a.mp3"]["preview_analysis"]["tempo_bpm"] == pytest.approx(CLICK_BPM, abs=2.0)
    assert temp_files(services) == []


async def test_a_preview_step_that_breaks_leaves_the_scan_intact(services, trends, fake_cdn, click_mp3,
                                                                 monkeypatch):
    cdn = await fake_cdn({"a.mp3": click_mp3})
    use_deezer(services, trends, cdn.base_url, deezer_entries(cdn.base_url, ["a.mp3"]), analyse=True)

    async def broken(entries, scanned_at):
        raise KeyError("bug")
    monkeypatch.setattr(trends.previews, "analyse_scan", broken)

    result = await trends.scanner.scan()

    assert result["new_items"] == 1 and result["errors"] == {}
    assert result["previews"]["skipped"] == "unexpected error (KeyError)"
    assert by_title(trends)["Song a.mp3"]["viral_score"] is not None


async def test_a_transient_failure_is_retried_next_scan(services, trends, fake_cdn, click_mp3):
    routes = {"a.mp3": 503}
    cdn = await fake_cdn(routes)
    use_deezer(services, trends, cdn.base_url, deezer_entries(cdn.base_url, ["a.mp3"]), analyse=True)

    first = await trends.scanner.scan()
    assert first["previews"]["analysed"] == 0 and "server error" in first["previews"]["skipped"]
    assert by_title(trends)["Song a.mp3"]["preview_analysis"] is None  # nothing marked

    routes["a.mp3"] = click_mp3
    trends.scanner.clock.now = T0 + timedelta(hours=1)
    second = await trends.scanner.scan()
    assert second["previews"]["analysed"] == 1 and cdn.requests == ["a.mp3", "a.mp3"]
