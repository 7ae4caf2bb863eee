"""The trends service on fake fetchers (no network): scanning, matching across sources, a failing
source, YouTube's 30-day rule, file import, announcements, the current list and one trend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from studio.connectors.charts import ChartEntry, SourceError
from studio.services.trends.common import TrendsError, UnknownSource, UnknownTrend

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakeSecrets:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name):
        return self.values.get(name)

    def set(self, name, value):
        self.values[name] = value

    def delete(self, name):
        self.values.pop(name, None)

    def has(self, name):
        return name in self.values

    def masked(self, name):
        return "••••" + self.values[name][-4:] if name in self.values else None


@pytest.fixture
def trends(services):
    trends = services.trends
    clock = Clock(T0)
    for part in (trends.sources, trends.scanner, trends.catalog, trends.imports, trends.patterns):
        part.clock = clock
    trends.sources.secrets = FakeSecrets()
    return trends


def entry(source, chart, item_id, title, artist, rank=None, **kw) -> ChartEntry:
    return ChartEntry(source=source, chart=chart, item_id=item_id, title=title, artist=artist, rank=rank, **kw)


def returning(*lists):
    """A fake fetcher giving these lists on successive scans (the last one again after that)."""
    calls = []

    async def fetch(config):
        calls.append(config)
        return list(lists[min(len(calls), len(lists)) - 1])
    fetch.calls = calls
    return fetch


def events_of(services, name):
    seen = []
    services.events.subscribe(lambda event, data: seen.append(data) if event == name else None)
    return seen


DEEZER = [entry("deezer", "deezer:chart:0", "d1", "Song A (feat. X)", "Artist One", 1, isrc="USAAA0000001",
                bpm=92.0, duration_s=180.0, preview_url="https://cdn/preview-d1.mp3"),
          entry("deezer", "deezer:chart:0", "d2", "Lofi Rain", "Beat Maker", 2),
          entry("deezer", "deezer:chart:0", "d3", "Song C", "Artist Three", 3),
          entry("deezer", "deezer:chart:0", "d4", "Song D", "Artist Four", 4),
          entry("deezer", "deezer:chart:0", "d5", "Song E", "Artist Five", 5)]
APPLE = [entry("apple_music", "apple_music:us:most-played", "a1", "Song A", "Artist One", 1,
               tags=("Hip-Hop/Rap",)),
         entry("apple_music", "apple_music:us:most-played", "a9", "Other Song", "Someone", 2)]


async def test_sources_start_disabled_and_are_configured(trends):
    listed = {s["name"]: s for s in trends.sources.list_sources()}
    assert list(listed)[:4] == ["deezer", "apple_music", "lastfm", "youtube"]
    assert all(not s["enabled"] and s["status"] == "disabled" for s in listed.values())
    assert listed["youtube"]["needs_key"] and listed["youtube"]["api_quota_remaining"] == 10_000
    assert listed["deezer"]["api_quota_remaining"] is None and listed["deezer"]["quota_basis"]
    source = trends.sources.configure("deezer", enabled=True, config={"genre_ids": [0, 116]})
    assert source["enabled"] and source["status"] == "idle" and source["config"]["genre_ids"] == [0, 116]
    with pytest.raises(TrendsError):
        trends.sources.configure("deezer", config={"colour": "red"})
    with pytest.raises(TrendsError):
        trends.sources.configure("youtube", config={"region": "USA"})
    with pytest.raises(UnknownSource):
        trends.sources.configure("tiktok", enabled=True)
    # keys: write-only, shown masked
    shown = trends.sources.set_key("lastfm", "abcdefgh12345678")
    assert shown["has_key"] and shown["key_masked"] == "••••5678"
    assert "abcdefgh12345678" not in repr(trends.sources.list_sources())
    assert not trends.sources.clear_key("lastfm")["has_key"]
    with pytest.raises(TrendsError):
        trends.sources.set_key("deezer", "x")
    feed = trends.sources.add_feed("https://www.youtube.com/feeds/videos.xml?channel_id=UC123")
    assert feed["name"].startswith("feed:") and feed["enabled"] and feed["kind"] == "feed"
    with pytest.raises(TrendsError):
        trends.sources.add_feed("ftp://example.com/feed")


async def test_client_for_uses_settings_and_key(trends):
    from studio.connectors.charts import SourceError as Err

    client = trends.sources.client_for("deezer")
    assert client.base_url == trends.sources.settings.deezer_url.rstrip("/")
    with pytest.raises(Err) as exc:
        trends.sources.client_for("youtube")
    assert exc.value.fatal and "no API key" in exc.value.reason


async def test_scan_matches_across_sources_and_announces_new_items(services, trends):
    detected = events_of(services, "trend_detected")
    scanned = events_of(services, "trends_scanned")
    trends.sources.configure("deezer", enabled=True)
    trends.sources.configure("apple_music", enabled=True)
    trends.sources.fetchers["deezer"] = returning(DEEZER)
    trends.sources.fetchers["apple_music"] = returning(APPLE)
    result = await trends.scanner.scan()
    assert sorted(result["scanned"]) == ["apple_music", "deezer"] and result["errors"] == {}
    assert result["items"] == 7
    assert result["new_items"] == 6  # Song A is one item on two sources
    current = trends.catalog.current(limit=50)
    assert current["total_trends"] == 6 and current["scan_time"] == "2026-03-02T12:00:00Z"
    song_a = next(t for t in current["trends"] if t["title"].startswith("Song A"))
    assert sorted(song_a["platforms"]) == ["apple_music", "deezer"]
    # Song A: rank 1 of 5 on Deezer and 1 of 2 on Apple -> 1.0; breadth 2/3; no velocity nor growth yet:
    # 100 x (0.40 x 1.0 + 0.15 x 2/3) / 0.55 = 90.9
    assert song_a["viral_score"] == pytest.approx(90.9, abs=0.05)
    assert song_a["estimated_revenue"] is None
    assert song_a["reasons"]["estimated_revenue"] == "no revenue data imported or connected yet"
    assert song_a["growth_rate"] is None and "two scans" in song_a["reasons"]["growth_rate"]
    assert song_a["suggested_spec"]["style"] == "boom_bap" and song_a["suggested_spec"]["tempo"] == 92.0
    assert song_a["opportunity_level"] == "HIGH"
    # announced: new items at or above 70. Song A 90.9; Other Song #2 of 2 on Apple: 1 - 1/2 = 0.5 ->
    # (0.20 + 0.05) / 0.55 = 45.5; Lofi Rain #2 of 5: 0.8 -> (0.32 + 0.05) / 0.55 = 67.3: not announced.
    assert [d["title"] for d in detected] == ["Song A (feat. X)"]
    assert detected[0]["id"] == song_a["id"] and "history" not in detected[0]
    assert result["detected"] == [song_a["id"]]
    assert scanned[-1]["new_items"] == 6
    # a later scan: the same items climb; nothing is new, so nothing is announced again
    trends.scanner.clock.now = T0 + timedelta(hours=2)
    moved = [replace(DEEZER[1], rank=1), replace(DEEZER[0], rank=2), *DEEZER[2:]]
    trends.sources.fetchers["deezer"] = returning(moved)
    again = await trends.scanner.scan(["deezer"])
    assert again["new_items"] == 0 and len(detected) == 1
    lofi = next(t for t in trends.catalog.current(limit=50)["trends"] if t["title"] == "Lofi Rain")
    # Lofi Rain #2 -> #1 of 5 over 2 h: +0.5 positions/h
    assert lofi["growth_rate"] == pytest.approx(0.5) and lofi["growth_unit"] == "positions/h"
    detail = trends.catalog.trend(lofi["id"])
    assert [h["rank"] for h in detail["history"]] == [2, 1]
    assert set(detail["score_breakdown"]["components"]) == {"rank", "rank_velocity", "growth", "breadth"}
    with pytest.raises(UnknownTrend):
        trends.catalog.trend("trend_nope")


async def test_matching_by_isrc_first(trends):
    trends.scanner.ingest(DEEZER[:1], source="deezer", scanned_at=T0)
    touched, created = trends.scanner.ingest(
        [entry("lastfm", "lastfm:chart:top", "lf1", "A Different Title", "Another Name", 1, isrc="usaaa0000001")],
        source="lastfm", scanned_at=T0)
    assert created == [] and len(touched) == 1
    # the same platform id next time matches even when the title changed
    touched2, created2 = trends.scanner.ingest(
        [entry("lastfm", "lastfm:chart:top", "lf1", "Renamed", "Nobody", 1)], source="lastfm", scanned_at=T0)
    assert created2 == [] and touched2 == touched


async def test_a_failing_source_marks_itself_and_others_still_store(trends):
    async def broken(config):
        raise SourceError("apple_music", "rss.applemarketingtools.com had a server error (HTTP 503)", status=503)

    async def crashing(config):
        raise RuntimeError("boom with a secret in the text")

    trends.sources.configure("deezer", enabled=True)
    trends.sources.configure("apple_music", enabled=True)
    trends.sources.configure("lastfm", enabled=True)
    trends.sources.fetchers.update(deezer=returning(DEEZER), apple_music=broken, lastfm=crashing)
    result = await trends.scanner.scan()
    assert result["scanned"] == ["deezer"]
    assert result["errors"]["apple_music"] == "rss.applemarketingtools.com had a server error (HTTP 503)"
    assert result["errors"]["lastfm"] == "unexpected error (RuntimeError)"
    listed = {s["name"]: s for s in trends.sources.list_sources()}
    assert listed["apple_music"]["status"] == "error" and listed["apple_music"]["error_rate"] == 1.0
    assert "HTTP 503" in listed["apple_music"]["error"]
    assert listed["deezer"]["status"] == "ok" and listed["deezer"]["items_last_scan"] == 5
    assert listed["deezer"]["error_rate"] == 0.0 and listed["deezer"]["trends_found"] == 5
    assert trends.catalog.current()["total_trends"] == 5
    # disabled and unknown names
    trends.sources.configure("lastfm", enabled=False)
    skipped = await trends.scanner.scan(["lastfm"])
    assert "lastfm" in skipped["skipped"] and skipped["scanned"] == []
    with pytest.raises(UnknownSource):
        await trends.scanner.scan(["tiktok"])


async def test_youtube_rows_are_deleted_after_30_days_without_refresh(trends):
    old = T0 - timedelta(days=31)
    video = entry("youtube", "youtube:mostPopular:US", "v1", "Old Artist - Old Video (Official Video)", "OldArtistVEVO",
                  1, metrics={"views": 1000.0})
    both_yt = entry("youtube", "youtube:mostPopular:US", "v2", "Artist One - Song A", "Artist One", 2,
                    metrics={"views": 5.0})
    gone_ids, _ = trends.scanner.ingest([video, both_yt], source="youtube", scanned_at=old)
    kept_ids, _ = trends.scanner.ingest(DEEZER[:1], source="deezer", scanned_at=T0 - timedelta(days=1))
    assert kept_ids[0] == gone_ids[1]  # the Deezer song matched the video "Artist One - Song A"
    trends.sources.configure("youtube", enabled=True)
    trends.sources.fetchers["youtube"] = returning([])
    result = await trends.scanner.scan(["youtube"])
    assert result["retention"] == {"snapshots_deleted": 2, "items_deleted": 1}
    with pytest.raises(UnknownTrend):
        trends.catalog.trend(gone_ids[0])
    kept = trends.catalog.trend(kept_ids[0])
    assert [h["source"] for h in kept["history"]] == ["deezer"]


async def test_youtube_quota_is_counted(trends):
    trends.sources.add_quota("youtube", 3)
    youtube = next(s for s in trends.sources.list_sources() if s["name"] == "youtube")
    assert youtube["api_quota_remaining"] == 9_997 and "3 used today" in youtube["quota_basis"]


SPOTIFY_CSV = (b"rank,uri,artist_names,track_name,source,peak_rank,previous_rank,weeks_on_chart,streams\n"
               b"1,spotify:track:111,Artist One,Song A,Label,1,2,3,1200345\n"
               b"2,spotify:track:222,New Artist,Fresh Tune,Label,2,5,1,987654\n")


async def test_import_a_spotify_charts_csv(services, trends):
    imported = events_of(services, "trends_imported")
    trends.scanner.ingest(DEEZER[:1], source="deezer", scanned_at=T0)
    result = await trends.imports.import_file(SPOTIFY_CSV, "regional-global-daily-2026-03-01.csv")
    assert result["imported"] == 2 and result["items"] == 2 and result["new_items"] == 1
    assert result["file"] == "regional-global-daily-2026-03-01.csv" and imported == [result]
    current = trends.catalog.current(limit=10)
    song_a = next(t for t in current["trends"] if t["title"].startswith("Song A"))
    assert sorted(song_a["platforms"]) == ["deezer", "import"] and song_a["imported"]
    fresh = next(t for t in current["trends"] if t["title"] == "Fresh Tune")
    history = trends.catalog.trend(fresh["id"])["history"]
    assert history[0]["source"] == "import" and history[0]["metrics"] == {"streams": 987654.0}
    assert history[0]["imported_from"] == "regional-global-daily-2026-03-01.csv"
    assert trends.catalog.current(platform="import")["filtered_trends"] == 2
    with pytest.raises(TrendsError) as exc:
        await trends.imports.import_file(b"rank,title\nx,Song\n", "bad.csv")
    assert "line" in str(exc.value)


async def test_current_sorts_and_filters(trends):
    trends.scanner.ingest(DEEZER, source="deezer", scanned_at=T0)
    trends.scanner.ingest(APPLE, source="apple_music", scanned_at=T0)
    ids = [row["id"] for row in trends.catalog.current(limit=50, sort="first_seen")["trends"]]
    trends.catalog.rescore(ids, T0)
    by_rank = trends.catalog.current(limit=3, sort="rank")
    assert [t["rank"] for t in by_rank["trends"]] == [1, 2, 2]
    assert by_rank["filtered_trends"] == 6 and len(by_rank["trends"]) == 3
    apple = trends.catalog.current(platform="apple_music")
    assert apple["filtered_trends"] == 2 and apple["total_trends"] == 6
    scores = [t["viral_score"] for t in trends.catalog.current(limit=50)["trends"]]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(TrendsError):
        trends.catalog.current(sort="loudness")


async def test_patterns_and_analytics(trends):
    first = [entry("deezer", "deezer:chart:0", f"d{i}", title, "Someone", i, bpm=bpm, duration_s=dur)
             for i, (title, bpm, dur) in enumerate((("Rain Study", 80.0, 120.0), ("Rain Focus", 90.0, 150.0),
                                                    ("Night Drive", 120.0, 200.0), ("Other", None, None)), start=1)]
    trends.scanner.ingest(first, source="deezer", scanned_at=T0)
    climbed = [replace(e, rank={1: 4, 2: 1, 3: 2, 4: 3}[e.rank]) for e in first]
    later = T0 + timedelta(hours=2)  # a Monday, 14:00 UTC
    touched, _ = trends.scanner.ingest(climbed, source="deezer", scanned_at=later)
    trends.catalog.rescore(touched, later)
    trends.patterns.clock.now = later
    result = trends.patterns.patterns(None, 30)
    # Rain Focus #2 -> #1, Night Drive #3 -> #2, Other #4 -> #3 rose; Rain Study fell
    assert result["rising_items"] == 3
    patterns = result["patterns"]
    assert patterns["peak_hours"]["hours"] == ["14:00-15:00"] and patterns["peak_hours"]["sample_size"] == 3
    assert patterns["best_days"]["days"] == ["Monday"]
    assert patterns["tempo_range"]["sample_size"] == 2 and patterns["tempo_range"]["median"] == 105.0
    assert patterns["optimal_duration"]["min"] == pytest.approx(162.5)
    assert patterns["success_factors"] is None and result["reasons"]["success_factors"]
    assert patterns["trending_keywords"] is None  # no word in two rising items
    lofi = trends.patterns.patterns("jazz", 30)
    assert lofi["rising_items"] == 0 and lofi["patterns"]["peak_hours"] is None and lofi["reasons"]["peak_hours"]
    analytics = trends.catalog.analytics(7)
    assert analytics["trends_detected"] == 4 and analytics["hijacks_attempted"] == 0
    assert analytics["success_rate"] is None and analytics["revenue_generated"] is None
    assert analytics["top_platforms"] == [{"platform": "deezer", "opportunities": 4}]


async def test_deezer_fetch_fills_bpm_and_isrc_from_track_details(trends, monkeypatch):
    class FakeDeezer:
        def __init__(self):
            self.details = []

        async def chart(self, genre_id=0, limit=100):
            return [entry("deezer", f"deezer:chart:{genre_id}", "d7", "Tune", "Band", 1)]

        async def track(self, track_id):
            self.details.append(track_id)
            return {"id": track_id, "isrc": "GBXYZ0000007", "bpm": 124.0, "release_date": None,
                    "duration_s": 201.0, "preview_url": "https://cdn/p.mp3"}

    fake = FakeDeezer()
    monkeypatch.setattr(trends.sources, "client_for", lambda name: fake)
    entries = await trends.sources.fetch("deezer")
    assert entries[0].isrc == "GBXYZ0000007" and entries[0].bpm == 124.0 and fake.details == ["d7"]
    trends.scanner.ingest(entries, source="deezer", scanned_at=T0)
    await trends.sources.fetch("deezer")
    assert fake.details == ["d7"]  # detailed once: the stored item has its ISRC
