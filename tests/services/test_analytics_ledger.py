"""The analytics ledger, links and imports on small hand-made rows: spreading a figure over its days,
channel totals with unattributed remainders, origins from the links, re-imports that change nothing,
overlapping imports that replace rows instead of counting them twice, snapshots."""

from __future__ import annotations

from datetime import date

import pytest

from studio.connectors.analytics_files import ParsedStats, StatRow
from studio.db.models import CommunityReply, Track, TrendAnswer
from studio.services.analytics.common import AnalyticsError, Period, UnknownItem, parse_period
from studio.services.analytics.linking import item_key, normalise_title


def row(line: int, *, scope: str = "item", start: str, end: str, revenue: float | None = None,
        title: str | None = None, isrc: str | None = None, video: str | None = None, platform: str = "Spotify",
        country: str | None = None, **metrics: float) -> StatRow:
    return StatRow(line=line, file="statement.tsv", raw=f"raw line {line}", scope=scope, start_day=start, end_day=end,
                   platform=platform, external_id=video, isrc=isrc, upc=None, title=title, artist="Me",
                   country=country, published_at=None, duration_s=None, metrics=dict(metrics), revenue=revenue,
                   currency="USD" if revenue is not None else None, extra={})


def parsed(rows: list[StatRow], source: str = "distrokid") -> ParsedStats:
    return ParsedStats(source=source, format=f"{source}_test", rows=rows, mapped={}, unmapped=[],
                       window=(None, None), skipped=[])


def march() -> Period:
    return Period(date(2026, 3, 1), date(2026, 3, 31), "march")


def add_track(services, track_id: str, title: str, **fields) -> None:
    with services.context.db.session() as s:
        s.add(Track(id=track_id, generation_id=fields.pop("generation_id", f"gen_{track_id}"), title=title,
                    style="lofi", genre="Lo-Fi", mood="calm", tempo_bpm=80.0, key="C major", duration_s=90.0, seed=1,
                    **fields))


def test_a_month_is_spread_evenly_and_a_period_counts_its_days(services):
    analytics = services.analytics
    analytics.imports.store(parsed([row(2, start="2026-03-01", end="2026-03-31", revenue=31.0, title="Night Drive")]),
                            filename="a.tsv", sha256="a")
    assert analytics.ledger.totals(march()) == {"all": pytest.approx(31.0)}
    half = Period(date(2026, 3, 17), date(2026, 4, 15), "30d")
    assert analytics.ledger.totals(half)["all"] == pytest.approx(15.0)
    series = analytics.ledger.series(march())["all"]
    assert len(series) == 31 and series[0] == pytest.approx(1.0)
    assert analytics.ledger.data_range() == (date(2026, 3, 1), date(2026, 3, 31))


def test_channel_totals_leave_the_rest_unattributed_and_shape_the_spread(services):
    analytics = services.analytics
    days = [row(i, scope="total", start=f"2026-03-0{i}", end=f"2026-03-0{i}", revenue=float(i), platform="youtube")
            for i in range(1, 5)]  # 1 + 2 + 3 + 4 = 10 over four days
    video = row(9, start="2026-03-01", end="2026-03-04", revenue=5.0, video="vid1", title="Lo-fi Rain",
                platform="youtube")
    analytics.imports.store(parsed(days + [video], source="youtube_studio"), filename="yt.zip", sha256="yt")
    period = Period(date(2026, 3, 1), date(2026, 3, 4), "4d")
    assert analytics.ledger.totals(period)["all"] == pytest.approx(10.0)  # the channel's own total, not 15
    by_item = analytics.ledger.series(period, by="item")
    item_id = next(k for k in by_item if k != "unattributed")
    # the video's 5.0 follows the channel's daily shape 1:2:3:4
    assert by_item[item_id] == pytest.approx([0.5, 1.0, 1.5, 2.0])
    assert by_item["unattributed"] == pytest.approx([0.5, 1.0, 1.5, 2.0])


def test_origins_follow_confirmed_links_only(services):
    analytics = services.analytics
    add_track(services, "t_gen", "Night Drive")
    add_track(services, "t_trend", "Summer Anthem", generation_id="job_trend")
    add_track(services, "t_sung", "Moon Song", spec={"singer": {"character_id": "luna"}})
    add_track(services, "t_promo", "Coding Beats")
    with services.context.db.session() as s:
        s.add(TrendAnswer(id="hijack_1", trend_id="trend_1", job_id="job_trend", strategy="remix"))
        s.add(CommunityReply(id="reply_1", platform="discord", text="try Coding Beats", status="sent",
                             grounded_track_ids=["t_promo"]))
    rows = [row(i, start="2026-03-01", end="2026-03-31", revenue=31.0, title=title)
            for i, title in enumerate(["Night Drive", "Summer Anthem", "Moon Song", "Coding Beats", "Unknown Song"], 2)]
    result = analytics.imports.store(parsed(rows), filename="s.tsv", sha256="s")
    assert result["suggested"] == 4 and result["linked"] == 0
    assert analytics.ledger.totals(march(), by="origin") == {"unattributed": pytest.approx(155.0)}
    _total, suggested = analytics.linking.items(status="suggested")
    for item in suggested:
        analytics.linking.confirm(item["id"])
    totals = analytics.ledger.totals(march(), by="origin")
    assert totals == {"music_generation": pytest.approx(31.0), "trending_hijacker": pytest.approx(31.0),
                      "voice_empire": pytest.approx(31.0), "community_empire": pytest.approx(31.0),
                      "unattributed": pytest.approx(31.0)}


def test_confirming_stores_the_isrc_so_the_next_statement_links_itself(services):
    analytics = services.analytics
    add_track(services, "t1", "Night Drive")
    analytics.imports.store(parsed([row(2, start="2026-03-01", end="2026-03-31", revenue=3.0, title="Night Drive",
                                        isrc="QZ-ABC-26-00001")]), filename="1.tsv", sha256="1")
    _n, [item] = analytics.linking.items()
    assert item["link_status"] == "suggested" and item["linked_title"] == "Night Drive"
    analytics.linking.confirm(item["id"])
    with services.context.db.session() as s:
        assert s.get(Track, "t1").isrc == "QZABC2600001"
    # a different title for the same recording (ISRC) is the same item, already confirmed
    result = analytics.imports.store(parsed([row(2, start="2026-04-01", end="2026-04-30", revenue=3.0,
                                                 title="Night Drive (Radio Edit)", isrc="QZABC2600001")]),
                                     filename="2.tsv", sha256="2")
    assert result["new_items"] == 0
    assert analytics.ledger.totals(Period(date(2026, 3, 1), date(2026, 4, 30), "x"), by="origin") == {
        "music_generation": pytest.approx(6.0)}


def test_reimporting_changes_nothing_and_overlapping_exports_replace_rows(services):
    analytics = services.analytics
    first = parsed([row(2, start="2026-03-01", end="2026-03-31", revenue=31.0, title="A"),
                    row(3, start="2026-03-01", end="2026-03-31", revenue=-1.0, title="A")])  # a refund
    analytics.imports.store(first, filename="old.tsv", sha256="old")
    again = analytics.imports.store(first, filename="old.tsv", sha256="old")
    assert again["duplicate"] is True
    assert analytics.ledger.totals(march())["all"] == pytest.approx(30.0)
    # a newer statement that repeats March and adds April: March counts once
    newer = parsed(first.rows + [row(4, start="2026-04-01", end="2026-04-30", revenue=30.0, title="A")])
    result = analytics.imports.store(newer, filename="new.tsv", sha256="new")
    assert result["replaced"] == 2
    assert analytics.ledger.totals(Period(date(2026, 3, 1), date(2026, 4, 30), "x"))["all"] == pytest.approx(60.0)
    imports = analytics.imports.imports()
    assert [i["rows_counted"] for i in imports] == [3, 0]
    analytics.imports.delete(imports[0]["id"])
    assert analytics.ledger.totals(march()) == {}


def test_snapshots_replace_the_previous_lifetime_row(services):
    analytics = services.analytics
    one = parsed([row(1, start="2026-03-01", end="2026-03-10", video="v1", title="Clip", platform="youtube",
                      views=100.0)], source="youtube_data")
    analytics.imports.store(one, filename=None, sha256=None, kind="connected", snapshot=True)
    two = parsed([row(1, start="2026-03-01", end="2026-03-20", video="v1", title="Clip", platform="youtube",
                      views=400.0)], source="youtube_data")
    analytics.imports.store(two, filename=None, sha256=None, kind="connected", snapshot=True)
    assert analytics.ledger.totals(march(), value="views")["all"] == pytest.approx(400.0)


def test_other_currencies_are_left_out_of_sums(services):
    analytics = services.analytics
    usd = [row(i, start="2026-03-01", end="2026-03-31", revenue=31.0, title=f"T{i}") for i in range(2, 5)]
    eur = row(9, start="2026-03-01", end="2026-03-31", revenue=100.0, title="T9")
    eur.currency = "EUR"
    analytics.imports.store(parsed(usd + [eur], source="tunecore"), filename="t.csv", sha256="t")
    assert analytics.ledger.currency() == {"currency": "USD", "other_currencies": {"EUR": 1}}
    assert analytics.ledger.totals(march())["all"] == pytest.approx(93.0)


def test_bad_requests_say_what_to_fix(services):
    ledger = services.analytics.ledger
    with pytest.raises(AnalyticsError, match="unknown figure"):
        ledger.series(march(), value="money")
    with pytest.raises(AnalyticsError, match="average"):
        ledger.series(march(), value="avg_view_duration_s")
    with pytest.raises(AnalyticsError, match="group by"):
        ledger.series(march(), by="colour")
    with pytest.raises(AnalyticsError, match="not like"):
        parse_period("fortnight")
    with pytest.raises(UnknownItem):
        services.analytics.linking.confirm(999)


def test_periods_and_keys():
    period = parse_period("7d", end_day="2026-03-31")
    assert (period.start_day, period.end_day, period.days) == (date(2026, 3, 25), date(2026, 3, 31), 7)
    assert period.previous().end_day == date(2026, 3, 24)
    assert parse_period("all", end_day="2026-03-31", first_day=date(2025, 1, 1)).days == 455
    assert normalise_title("Café Nights (feat. Luna) - Radio Edit") == "cafe nights"
    assert item_key("youtube", external_id="abc", isrc=None, title="x", artist=None, source="youtube_studio") == "yt:abc"
    assert item_key("Spotify", external_id=None, isrc="qz-abc-26-00001", title="x", artist=None,
                    source="distrokid") == "isrc:QZABC2600001"
    assert item_key("Spotify", external_id=None, isrc=None, title="  ", artist=None, source="distrokid") is None
