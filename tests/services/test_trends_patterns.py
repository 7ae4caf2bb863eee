"""The tempo histogram of rising items (issue #15: "patterns as charts ... tempo histogram"): 10-BPM
bins counted by hand from the source's bpm and, where the source gives none, the tempo measured on
the Deezer preview; the same tempos feed the tempo range; null with a reason when none has one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from studio.connectors.charts import ChartEntry

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def trends(services):
    trends = services.trends
    clock = Clock(T0)
    for part in (trends.sources, trends.scanner, trends.catalog, trends.previews, trends.patterns):
        part.clock = clock
    return trends


# (platform id, title, source bpm, rank at T0, rank two hours later); all but "Falls" rise
CHART = [("d1", "Falls", 95.0, 1, 6), ("d2", "Slow One", 84.0, 2, 1), ("d3", "Slow Two", 88.0, 3, 2),
         ("d4", "Quick", 112.0, 4, 3), ("d5", "Measured", None, 5, 4), ("d6", "Unreadable", None, 6, 5)]


def chart(which: int, with_bpm: bool = True) -> list[ChartEntry]:
    return [ChartEntry(source="deezer", chart="deezer:chart:0", item_id=pid, title=title, artist="Someone",
                       rank=ranks[which], bpm=bpm if with_bpm else None)
            for pid, title, bpm, *ranks in CHART]


async def scan_twice(trends, with_bpm: bool = True) -> dict[str, str]:
    """The chart read at T0 and again two hours later, as the scanner reads it from a fake fetcher."""
    reads = [chart(0, with_bpm), chart(1, with_bpm)]

    async def fake_deezer(config):
        return reads.pop(0)
    trends.sources.fetchers["deezer"] = fake_deezer
    trends.sources.configure("deezer", enabled=True)
    await trends.scanner.scan()
    trends.scanner.clock.now = T0 + timedelta(hours=2)
    await trends.scanner.scan()
    return {t["title"]: t["id"] for t in trends.catalog.current(limit=50)["trends"]}


async def test_tempo_histogram_counts_source_and_measured_tempos(trends):
    ids = await scan_twice(trends)
    # What the preview step stores: a measured tempo, and a refused preview (an error, no tempo).
    trends.previews._store(ids["Measured"], {"tempo_bpm": 101.5, "tempo_confidence": 0.8, "key": "A minor"})
    trends.previews._store(ids["Unreadable"], {"error": "preview not read: HTTP 403"})
    result = trends.patterns.patterns(None, 30)
    assert result["rising_items"] == 5
    histogram = result["patterns"]["tempo_histogram"]
    # 84, 88 -> 80-90; nothing in 90-100 (95 fell); 101.5 (measured) -> 100-110; 112 -> 110-120
    assert histogram["bins"] == [{"bpm_from": 80, "bpm_to": 90, "items": 2},
                                 {"bpm_from": 90, "bpm_to": 100, "items": 0},
                                 {"bpm_from": 100, "bpm_to": 110, "items": 1},
                                 {"bpm_from": 110, "bpm_to": 120, "items": 1}]
    assert histogram["sample_size"] == 4 and histogram["from_source"] == 3 and histogram["measured"] == 1
    assert histogram["bin_bpm"] == 10
    assert "3 from the source's bpm, 1 measured from the 30 s Deezer preview" in histogram["basis"]
    tempo = result["patterns"]["tempo_range"]  # the same four tempos: 84, 88, 101.5, 112
    assert tempo["sample_size"] == 4 and tempo["median"] == pytest.approx(94.8, abs=0.01)
    assert tempo["min"] == pytest.approx(87.0) and tempo["max"] == pytest.approx(104.1)
    assert tempo["basis"] == histogram["basis"].split("; ", 1)[1]
    assert "tempo_histogram" not in result["reasons"]


async def test_tempo_histogram_is_null_with_a_reason(trends):
    await scan_twice(trends, with_bpm=False)
    result = trends.patterns.patterns(None, 30)
    assert result["rising_items"] == 5
    assert result["patterns"]["tempo_histogram"] is None and result["patterns"]["tempo_range"] is None
    assert result["reasons"]["tempo_histogram"] == ("none of the 5 rising items has a tempo (from its source, "
                                                    "or measured on its Deezer preview)")
    nothing = trends.patterns.patterns("jazz", 30)
    assert nothing["patterns"]["tempo_histogram"] is None
    assert "rose within the last 30 days" in nothing["reasons"]["tempo_histogram"]
