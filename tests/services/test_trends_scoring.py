"""The trend formulas of services/trends/scoring.py on fixed snapshots, with hand-checked values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from studio.services.music.catalogue import MusicCatalogue
from studio.services.trends import scoring
from studio.services.trends.common import match_key, split_video_title
from studio.services.trends.scoring import Snap

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def deezer(hours: float, rank: int, size: int = 100) -> Snap:
    return Snap("deezer", "deezer:chart:0", at(hours), rank=rank, chart_size=size)


def test_growth_falls_back_to_rank_velocity_for_rank_only_sources():
    snaps = [deezer(0, 3), deezer(2, 1)]
    growth = scoring.growth_rate(snaps)
    # (3 - 1) positions / 2 h = +1 position per hour, rising
    assert growth["value"] == pytest.approx(1.0)
    assert growth["unit"] == "positions/h" and growth["kind"] == "rank_velocity"
    assert "#3 -> #1" in growth["basis"]


def test_scans_seconds_apart_say_nothing_the_last_one_ten_minutes_back_does():
    # "Scan now" twice: #9 -> #7 three seconds apart would be +2 400 positions/h.
    quick = [deezer(0, 9), deezer(3 / 3600, 7)]
    velocity = scoring.rank_velocity(quick)
    assert velocity["value"] is None and "10 minutes apart" in velocity["reason"]
    # With an earlier scan half an hour back, the pair is (that scan, the latest): (12 - 7) / (0.5 h + 3 s).
    velocity = scoring.rank_velocity([deezer(-0.5, 12), *quick])
    assert velocity["value"] == pytest.approx(5 / (0.5 + 3 / 3600)) and "#12 -> #7" in velocity["basis"]
    views = [Snap("youtube", "yt:US", at(h), rank=5, chart_size=50, metrics={"views": v})
             for h, v in ((0, 1000), (0.5, 1500), (0.5 + 3 / 3600, 1600))]
    growth = scoring.growth_rate(views)
    # 1000 -> 1600 over 0.5 h + 3 s, not 1500 -> 1600 over 3 s
    assert growth["value"] == pytest.approx(600 / (0.5 + 3 / 3600))


def test_growth_uses_the_items_own_count_in_metric_order():
    snaps = [Snap("youtube", "yt:US", at(0), rank=10, chart_size=50, metrics={"views": 1000, "likes": 5}),
             Snap("youtube", "yt:US", at(3), rank=10, chart_size=50, metrics={"views": 1600, "likes": 50}),
             Snap("lastfm", "lastfm:chart:top", at(0), rank=4, chart_size=50, metrics={"playcount": 10, "listeners": 5}),
             Snap("lastfm", "lastfm:chart:top", at(3), rank=4, chart_size=50, metrics={"playcount": 40, "listeners": 9})]
    growth = scoring.growth_rate(snaps)
    # views beat playcount: (1600 - 1000) / 3 h = 200 views/h; relative 600 / 1000 / 3 = 0.2 per hour
    assert growth["metric"] == "views" and growth["unit"] == "views/h"
    assert growth["value"] == pytest.approx(200.0)
    assert growth["relative_per_h"] == pytest.approx(0.2)


def test_growth_is_null_with_a_reason_until_two_scans():
    growth = scoring.growth_rate([deezer(0, 3)])
    assert growth["value"] is None
    assert "two scans" in growth["reason"]
    feed_only = scoring.growth_rate([Snap("feed:abc", "feed:abc", at(0))])
    assert feed_only["value"] is None and "neither counts nor a rank" in feed_only["reason"]


def test_viral_score_shares_out_missing_weights():
    score = scoring.viral_score([deezer(0, 3), deezer(2, 1)])
    parts = score["components"]
    # rank 1 - (1-1)/100 = 1.0; velocity 0.5 + 1.0 x 24 / 100 = 0.74; growth missing; breadth 1/3.
    # known weights 0.40 + 0.25 + 0.15 = 0.80: 100 x (0.40 + 0.185 + 0.05) / 0.80 = 79.375
    assert parts["rank"]["value"] == pytest.approx(1.0)
    assert parts["rank_velocity"]["value"] == pytest.approx(0.74)
    assert parts["growth"]["value"] is None and parts["growth"]["weight"] == 0.0 and parts["growth"]["reason"]
    assert parts["breadth"]["value"] == pytest.approx(1 / 3, abs=1e-4)
    assert parts["rank"]["weight"] == pytest.approx(0.5)
    assert parts["rank_velocity"]["weight"] == pytest.approx(0.3125)
    assert parts["breadth"]["weight"] == pytest.approx(0.1875)
    assert score["value"] == pytest.approx(79.4, abs=0.05)
    assert sum(p["points"] for p in parts.values() if p["points"] is not None) == pytest.approx(79.375, abs=0.02)


def test_viral_score_with_every_component():
    snaps = [Snap("youtube", "yt:US", at(0), rank=10, chart_size=50, metrics={"views": 1000}),
             Snap("youtube", "yt:US", at(3), rank=10, chart_size=50, metrics={"views": 1600})]
    score = scoring.viral_score(snaps)
    # rank 1 - 9/50 = 0.82; velocity 0 -> 0.5; growth 0.2/h x 24 = 4.8 a day / 0.5 -> 1.0 (clamped);
    # breadth 1/3: 100 x (0.40 x 0.82 + 0.25 x 0.5 + 0.20 x 1.0 + 0.15 / 3) = 70.3
    assert score["components"]["growth"]["value"] == pytest.approx(1.0)
    assert score["value"] == pytest.approx(70.3, abs=0.05)


def test_breadth_counts_the_sources_carrying_the_item():
    snaps = [deezer(0, 1), Snap("apple_music", "apple_music:us", at(0), rank=1, chart_size=100),
             Snap("lastfm", "lastfm:chart:top", at(0), rank=1, chart_size=50)]
    score = scoring.viral_score(snaps)
    # rank 1.0 and breadth 1.0 only: 100 x (0.40 + 0.15) / 0.55 = 100
    assert score["components"]["breadth"]["value"] == pytest.approx(1.0)
    assert score["value"] == pytest.approx(100.0)


def test_expiry_from_rank_decay():
    snaps = [deezer(0, 5), deezer(2, 1), deezer(6, 3), deezer(8, 5)]
    result = scoring.expiry(snaps, now=at(8))
    # best #1 at 2 h, now #5 at 8 h: (5 - 1) / 6 h = 0.667 positions/h; 101 - 5 = 96 positions -> 144 h
    assert result["expires_at"] == at(8 + 144)
    assert result["time_sensitive"] is False  # 144 h > 72 h
    short = scoring.expiry([deezer(0, 5, 10), deezer(2, 1, 10), deezer(6, 3, 10), deezer(8, 5, 10)], now=at(8))
    # chart of 10: 11 - 5 = 6 positions / 0.667 = 9 h
    assert short["expires_at"] == at(17) and short["time_sensitive"] is True


def test_expiry_from_growth_decay():
    snaps = [Snap("youtube", "yt:US", at(h), metrics={"views": v}) for h, v in ((0, 1000), (2, 1400), (4, 1600))]
    result = scoring.expiry(snaps, now=at(4))
    # g1 = 200/h, g2 = 100/h, midpoints 1 h and 3 h apart by 2 h: slows by 50 per hour; 100 / 50 = 2 h
    assert result["expires_at"] == at(6)
    assert result["time_sensitive"] is True


def test_expiry_is_null_with_a_reason_while_rising():
    result = scoring.expiry([deezer(0, 5), deezer(2, 1)], now=at(2))
    assert result["expires_at"] is None and result["time_sensitive"] is None
    assert "not falling" in result["reason"]


def test_style_fit_and_opportunity_level():
    find = MusicCatalogue.find_style
    tag_fit = scoring.style_fit(["Hip-Hop/Rap", "Music"], "Night Drive", find)
    assert tag_fit["fit"] == 1.0 and tag_fit["style"] == "boom_bap"
    title_fit = scoring.style_fit([], "Lofi Rain", find)
    assert title_fit["fit"] == 0.5 and title_fit["style"] == "lofi_hip_hop"
    none = scoring.style_fit([], "Blue Sky", find)
    assert none["fit"] == 0.0 and none["style"] is None
    # points = score x (0.5 + 0.5 x fit): HIGH >= 60, MEDIUM >= 35
    assert scoring.opportunity_level(79.4, 1.0)["value"] == "HIGH"
    assert scoring.opportunity_level(79.4, 0.0)["points"] == pytest.approx(39.7)
    assert scoring.opportunity_level(79.4, 0.0)["value"] == "MEDIUM"
    assert scoring.opportunity_level(50.0, 0.0)["value"] == "LOW"
    assert scoring.opportunity_level(None, 1.0)["value"] is None


def test_suggested_response_fields():
    catalogue = MusicCatalogue()
    fit = scoring.style_fit(["lofi", "sad"], "Rain", catalogue.find_style)
    item = {"title": "Rain", "artist": "Someone", "tags": ["lofi", "sad"], "bpm": 84.0, "duration_s": 700.0}
    result = scoring.suggest(item, fit, moods=catalogue.moods(), max_duration_s=catalogue.max_duration_s())
    spec = result["suggested_spec"]
    assert spec == {"prompt": result["suggested_response"], "style": "lofi_hip_hop", "mood": "sad", "tempo": 84.0,
                    "duration": catalogue.max_duration_s()}
    assert "Rain" in result["suggested_response"] and "84 BPM" in result["suggested_response"]
    unknown = scoring.suggest({"title": "X", "bpm": 0, "duration_s": None}, scoring.style_fit([], "X", catalogue.find_style),
                              moods=catalogue.moods(), max_duration_s=600)
    assert unknown["suggested_spec"]["tempo"] is None and "tempo" in unknown["reasons"]["suggested_spec.tempo"]
    assert unknown["suggested_spec"]["duration"] is None and unknown["reasons"]["suggested_spec.duration"]
    assert scoring.revenue() == {"value": None, "reason": "no revenue data imported or connected yet"}


def test_matching_keys():
    assert match_key("Song A (feat. X)", "Artist One") == match_key("Song A", "Artist One, X")
    assert match_key("Café Nights [Official Video]", "Beyoncé") == match_key("cafe nights", "BEYONCE")
    assert split_video_title("Artist One - Song A (Official Video)", "ArtistOneVEVO") == ("Song A (Official Video)",
                                                                                          "Artist One")
    assert match_key(*split_video_title("Artist One - Song A (Official Video)", "x")) == match_key("Song A", "Artist One")
