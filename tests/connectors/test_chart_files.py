"""parse_chart_file on a Spotify Charts download, its older variant and hand-made lists."""

from __future__ import annotations

import codecs

import pytest

from studio.connectors.chart_files import ChartFileError, parse_chart_file
from tests.connectors.conftest import fixture_bytes

SPOTIFY = "spotify_regional_global_weekly_2026-11-26.csv"


def test_spotify_charts_csv_with_a_bom():
    data = fixture_bytes(SPOTIFY)
    assert data.startswith(codecs.BOM_UTF8)
    entries = parse_chart_file(data, SPOTIFY)

    assert [(e.rank, e.title) for e in entries] == [(1, "Paper Lanterns"), (2, "Concrete Bloom"),
                                                    (3, "Saltwater Radio, Pt. 2")]
    first, second, _ = entries
    assert (first.source, first.chart) == ("import", f"import:{SPOTIFY}")
    assert first.item_id == "spotify:track:0000000000000000000001"
    assert first.artist == "Mira Vale" and first.metrics == {"streams": 41234567.0}
    assert second.artist == "The Lowlight Club, Juno Park"  # the file's own artist list, quoted comma kept


def test_older_spotify_download_with_a_note_above_the_header():
    entries = parse_chart_file(fixture_bytes("spotify_legacy_regional_daily.csv"), "regional-global-daily.csv")
    assert [(e.rank, e.title, e.artist, e.metrics["streams"]) for e in entries] == [
        (1, "Paper Lanterns", "Mira Vale", 1234567.0), (2, "Concrete Bloom", "The Lowlight Club", 1100000.0)]
    assert entries[0].item_id == "https://open.spotify.com/track/0000000000000000000001"


def test_hand_made_list_with_semicolons_platforms_and_blank_cells():
    entries = parse_chart_file(fixture_bytes("handmade_list.csv"), "my list.csv")
    assert [(e.chart, e.rank, e.title, e.artist, e.tags) for e in entries] == [
        ("import:my list.csv:tiktok", 1, "Coffee Shop Static", "Mira Vale", ("lofi", "chill")),
        ("import:my list.csv:tiktok", 2, "Basement Choir", "The Lowlight Club", ()),
        ("import:my list.csv", None, "Sunday Loop", "Juno Park", ("house",)),
    ]
    assert entries[0].item_id == "mira vale - coffee shop static"  # stable from one import to the next
    assert all(e.metrics == {} for e in entries)


def test_any_header_case_tabs_and_utf16_from_a_spreadsheet():
    text = "SONG\tArtist\tPosition\r\nÉté Noir\tLéa Mono\t7\r\n"
    entries = parse_chart_file(codecs.BOM_UTF16_LE + text.encode("utf-16-le"), "sheet.txt")
    assert [(e.title, e.artist, e.rank) for e in entries] == [("Été Noir", "Léa Mono", 7)]
    # an old Windows export, neither UTF-8 nor with a BOM
    entries = parse_chart_file("title,artist\nCaf\xe9 Loop,Mira Vale\n".encode("cp1252"), "win.csv")
    assert entries[0].title == "Café Loop"


@pytest.mark.parametrize(("data", "line", "column", "words"), [
    (b"title,artist,rank\nA,B,1\nC,D,first\n", 3, "rank", "not a whole number"),
    (b"Title,Artist,Rank\nA,B,0\n", 2, "Rank", "not a whole number"),
    (b"title,artist\nA,B\n,D\n", 3, "title", "title is empty"),
    (b"title,streams\nA,lots\n", 2, "streams", "not a count"),
    (b"rank,uri,artist_names,track_name,streams\n1,spotify:track:x,A,B,10\n,spotify:track:y,C,D,9\n", 3, "rank",
     "rank is empty"),
    (b"title,artist,rank\nA, B,C,2\n", 2, None, "4 cells but the header names 3"),
    (b"artist,when\nA,today\n", 1, None, "no header row naming a title column"),
    (b"\n\n", 1, None, "empty"),
    (b"PK\x03\x04\x14\x00\x06\x00", 1, None, "save it as CSV"),
])
def test_a_bad_file_names_the_line_and_column(data, line, column, words):
    with pytest.raises(ChartFileError) as caught:
        parse_chart_file(data, "bad.csv")
    error = caught.value
    assert (error.line, error.column) == (line, column)
    assert words in str(error)
    assert str(error).startswith(f"line {line}" + (f", column {column!r}" if column else ""))


def test_a_trailing_separator_is_not_an_extra_cell():
    entries = parse_chart_file(b"title,artist,\nA,B,\n", "excel.csv")
    assert [(e.title, e.artist) for e in entries] == [("A", "B")]
