"""Creators' statements and exports read by column name from files written in each platform's format:
both DistroKid headers with a refund, TuneCore's quoted thousands in two currencies, YouTube Studio's
zip (BOM, a Total row first, the window in the zip's name), Spotify for Artists' songs and timeline,
and files that are cut short or unknown."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from studio.connectors.analytics_files import StatsFileError, detect_format, parse_number, parse_stats_file

FIXTURES = Path(__file__).parent / "fixtures" / "analytics"
YOUTUBE_ZIP = "Content 2026-03-01_2026-03-31 Nova Lane.zip"


def youtube_zip(*members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in members or ("Table data.csv", "Chart data.csv", "Totals.csv"):
            archive.write(FIXTURES / "youtube_studio" / name, name)
    return buffer.getvalue()


def read(name: str):
    return parse_stats_file((FIXTURES / name).read_bytes(), name)


def test_distrokid_old_header_with_a_refund():
    parsed = read("distrokid_v1.tsv")
    assert (parsed.source, parsed.format) == ("distrokid", "distrokid_v1")
    assert len(parsed.rows) == 4
    refund = parsed.rows[-1]
    assert refund.revenue == pytest.approx(-0.69) and refund.metrics["units"] == -1
    assert sum(r.revenue for r in parsed.rows) == pytest.approx(4.81 + 2.17 + 1.52 - 0.69)
    assert (refund.start_day, refund.end_day) == ("2026-03-01", "2026-03-31")  # the sale month
    assert parsed.rows[2].country is None  # OU = unknown
    assert parsed.rows[0].isrc == "QZABC2600001" and parsed.rows[0].platform == "Spotify"
    assert "Songwriter Royalties Withheld" in parsed.unmapped  # kept, not lost
    assert parsed.rows[0].extra["Team Percentage"] == "100"
    assert parsed.rows[0].raw.startswith("2026-04-05\t2026-03\tSpotify")  # the row's original text


def test_distrokid_new_header():
    parsed = read("distrokid_v2.tsv")
    assert parsed.format == "distrokid_v2"
    assert [r.title for r in parsed.rows] == ["Night Drive", "Night Drive", "City Lights Loop"]
    assert sum(r.revenue for r in parsed.rows) == pytest.approx(7.43)
    assert parsed.window == ("2026-04-01", "2026-04-30")


def test_tunecore_quoted_thousands_and_currencies():
    parsed = read("tunecore.csv")
    assert parsed.source == "tunecore"
    assert [r.metrics["units"] for r in parsed.rows] == [1204, 2310]
    assert [(r.revenue, r.currency) for r in parsed.rows] == [(pytest.approx(4.58), "USD"), (pytest.approx(8.77), "EUR")]


def test_youtube_studio_zip_skips_the_total_row_and_counts_each_day_once():
    parsed = parse_stats_file(youtube_zip(), YOUTUBE_ZIP)
    assert parsed.source == "youtube_studio" and parsed.window == ("2026-03-01", "2026-03-31")
    items = [r for r in parsed.rows if r.scope == "item"]
    days = [r for r in parsed.rows if r.scope == "total"]
    assert [r.external_id for r in items] == ["dQw4w9WgXcQ", "aBcDeFgHiJk"]  # no "Total"
    assert any("Total row" in s for s in parsed.skipped)
    night = items[0]
    assert night.metrics["views"] == 2400 and night.revenue == pytest.approx(10.10)
    assert night.published_at.startswith("2026-03-03") and night.duration_s == 212
    assert len(days) == 31  # Chart data and Totals name the same days: one row each
    assert days[0].metrics == {"views": 101.0, "watch_time_h": pytest.approx(4.1)}
    assert sum(r.revenue for r in days) == pytest.approx(sum(0.4 + d / 100 for d in range(1, 32)))


def test_youtube_table_alone_needs_the_window_in_its_name():
    data = (FIXTURES / "youtube_studio" / "Table data.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    with pytest.raises(StatsFileError, match="zip"):
        parse_stats_file(data, "Table data.csv")
    parsed = parse_stats_file(data, "Table data 2026-03-01_2026-03-31.csv")
    assert len(parsed.rows) == 2


def test_spotify_songs_and_timeline():
    songs = read("Nova Lane-songs-2026-03-01_2026-03-28.csv")
    assert songs.source == "spotify_artists"
    assert songs.rows[0].title == "Night Drive" and songs.rows[0].metrics["streams"] == 2411
    timeline = read("Nova Lane-timeline-2026-03-01_2026-03-10.csv")
    assert len(timeline.rows) == 10 and timeline.rows[0].metrics["listeners"] == 1001


def test_bad_files_name_the_line_and_column():
    with pytest.raises(StatsFileError, match=r"line 4.*cut short"):
        read("distrokid_truncated.tsv")
    bad = (FIXTURES / "distrokid_v1.tsv").read_text().replace("\t4.81", "\tfour")
    with pytest.raises(StatsFileError, match=r"line 2.*Earnings"):
        parse_stats_file(bad.encode(), "statement.tsv")
    with pytest.raises(StatsFileError):
        parse_stats_file(b"name,colour\nx,y\n", "mystery.csv")
    with pytest.raises(StatsFileError, match="zip"):
        parse_stats_file(b"PK\x03\x04 broken", YOUTUBE_ZIP)
    assert detect_format((FIXTURES / "tunecore.csv").read_bytes(), "tunecore.csv") == "tunecore"


@pytest.mark.parametrize(("text", "value"), [("1,234.56", 1234.56), ("1.234,56", 1234.56), ("1 234", 1234.0),
                                             ("12%", 12.0), ("$3.10", 3.10), ("", None), ("-0.69", -0.69)])
def test_numbers_in_the_forms_platforms_write(text, value):
    assert parse_number(text) == (pytest.approx(value) if value is not None else None)


def test_a_zip_that_unpacks_to_gigabytes_is_refused_before_reading(monkeypatch):
    import studio.connectors.analytics_files as files

    monkeypatch.setattr(files, "MAX_MEMBER_BYTES", 100)  # the fixture's members are a few hundred bytes
    with pytest.raises(StatsFileError, match="unpacks to more than"):
        parse_stats_file(youtube_zip(), YOUTUBE_ZIP)
