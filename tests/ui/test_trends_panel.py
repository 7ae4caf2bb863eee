"""The Trends panel against a trends service with fake sources: empty state without sources,
enabling a source, scanning (the table fills), the detail with the score breakdown, answering
with a track (a real generation job), opening Create pre-filled, keys write-only, import preview."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtWidgets import QCheckBox, QLineEdit

from keyring.backends import fail

from studio.connectors.charts import ChartEntry
from studio.services.system.secrets import Secrets
from studio.ui.panels.trends.panel import TrendsPanel


UTC = timezone.utc
# A fake Deezer chart read twice, half an hour apart: (platform id, title, artist, rank then, rank now)
CHART = [("101", "Midnight Rain", "Luna Park", 9, 2), ("102", "Neon Drive", "Kilo", 3, 5),
         ("103", "Paper Moons", "Iris Vale", 12, 11)]


def deezer_entries(which: int) -> list[ChartEntry]:
    return [ChartEntry(source="deezer", chart="deezer:chart:0", item_id=pid, title=title, artist=artist,
                       rank=ranks[which], bpm=84.0, tags=("Electro", "Pop"), duration_s=150.0,
                       published_at=datetime(2026, 11, 30, 14, 0, tzinfo=UTC))
            for pid, title, artist, *ranks in CHART]


@pytest.fixture
def trends(services, tmp_path):
    """The real trends service; Deezer read through an injected fake fetcher, keys in a file."""
    service = services.trends
    service.sources.secrets = Secrets(tmp_path / "secrets", keyring_backend=fail.Keyring())
    reads: list[dict] = []

    async def fake_deezer(config: dict) -> list[ChartEntry]:
        reads.append(config)
        return deezer_entries(1)

    service.sources.fetchers["deezer"] = fake_deezer
    service.reads = reads
    return service


@pytest.fixture
def panel(trends, window) -> TrendsPanel:
    panel = window.show_panel("trends")
    assert isinstance(panel, TrendsPanel)
    panel.refresh()
    return panel


def trend_id(panel, title: str) -> str:
    return next(t["id"] for t in panel.trends if t["title"] == title)


def enable_and_scan(panel, qt_loop, name="deezer"):
    """What a user does: tick the source, press Scan now. An earlier read of the same chart is
    stored first (half an hour ago), so the scan has something to grow from."""
    panel.service.scanner.ingest(deezer_entries(0), source="deezer",
                                 scanned_at=datetime.now(UTC) - timedelta(minutes=30))
    row = [s["name"] for s in panel.sources].index(name)
    panel.sources_box.sources_table.cellWidget(row, 0).findChild(QCheckBox).setChecked(True)
    panel.refresh_sources()
    future = panel.scan_now()
    assert future is not None
    return qt_loop.run_until_complete(asyncio.wait_for(future, 20))


def test_without_sources_the_panel_says_what_to_enable(panel, trends):
    assert panel.trend_list.trend_stack.currentWidget() is panel.trend_list.trend_empty
    text = panel.trend_list.trend_empty.text()
    assert "Enable Deezer or Apple Music" in text and "no key" in text
    assert panel.scan_now() is None  # nothing enabled: says so instead of scanning
    assert "No source is enabled" in panel.last_error
    assert trends.reads == []  # no network (here: no fetch) before a source is enabled
    assert {"deezer", "apple_music", "lastfm", "youtube"} <= {s["name"] for s in panel.sources}
    assert panel.detail.answer_button.isEnabled() is False


def test_scan_fills_the_table_and_the_detail_explains_the_score(panel, trends, qt_loop):
    result = enable_and_scan(panel, qt_loop)
    assert result["scanned"] == ["deezer"] and len(trends.reads) == 1
    assert panel.trend_list.trend_stack.currentWidget() is panel.trend_list.trend_table
    table = panel.trend_list.trend_table
    titles = [table.item(r, 1).text() for r in range(table.rowCount())]
    assert sorted(titles) == ["Midnight Rain", "Neon Drive", "Paper Moons"]
    scores = [t["viral_score"] for t in sorted(panel.trends, key=lambda t: -t["viral_score"])]
    assert [table.item(r, 3).text() for r in range(3)] == [f"{v:.0f}" for v in scores]  # best first
    assert {table.item(r, 0).text() for r in range(3)} == {"Deezer"}
    table.sortItems(4)  # growth ascending: Neon Drive fell (rank 3 -> 5)
    assert table.item(0, 1).text() == "Neon Drive"
    assert "places" in table.item(0, 4).text()

    rain = trend_id(panel, "Midnight Rain")
    assert panel.trend_list.select_trend(rain) and panel.current["id"] == rain
    why = panel.detail.breakdown_label.text()
    breakdown = trends.catalog.trend(rain)["score_breakdown"]
    assert f"<b>{breakdown['total']:.0f}</b> of 100" in why
    assert "rank velocity" in why and breakdown["components"]["rank_velocity"]["basis"] in why
    assert "Midnight Rain" in panel.detail.detail_title.text() and "Luna Park" in panel.detail.detail_title.text()
    assert panel.detail.history_chart.what == "rank" and len(panel.detail.history_chart.series["deezer"]) == 2
    assert panel.detail.response_label.text().startswith(panel.current["suggested_response"])
    row = [s["name"] for s in panel.sources].index("deezer")
    sources_table = panel.sources_box.sources_table
    assert sources_table.item(row, 2).text() == "ok" and sources_table.item(row, 4).text() == "3"


def test_answer_with_a_track_queues_a_generation(panel, trends, services, qt_loop):
    enable_and_scan(panel, qt_loop)
    drive = trend_id(panel, "Neon Drive")
    panel.trend_list.select_trend(drive)
    result = panel.answer()
    assert result is not None and result["trend_id"] == drive
    job = services.system.get_job(result["generation_id"])
    assert job["params"]["trend_id"] == drive
    assert "Queued" in panel.detail.answer_label.text() and result["generation_id"] in panel.detail.answer_label.text()
    # the job's events say where it is (a finished one, as the job queue announces it)
    services.events.publish("job_completed", {"id": result["generation_id"], "status": "completed",
                                              "result": {"track_id": "trk_answer"}})
    assert "Ready" in panel.detail.answer_label.text() and panel.detail.library_button.isVisibleTo(panel)
    services.system.cancel_job(result["generation_id"])  # the render itself is not what this test is about


def test_open_in_create_prefills_the_form(panel, trends, window, qt_loop):
    enable_and_scan(panel, qt_loop)
    panel.trend_list.select_trend(trend_id(panel, "Midnight Rain"))
    spec = panel.current["suggested_spec"]
    assert panel.open_in_create()
    create = window.current_panel
    assert create.key == "create"
    assert create.form.prompt_edit.toPlainText() == spec["prompt"]
    if spec.get("tempo"):
        assert create.form.tempo_spin.value() == round(spec["tempo"])


def test_keys_are_write_only(panel, trends):
    panel.sources_box.select_source("lastfm")
    assert panel.sources_box.key_edit.echoMode() == QLineEdit.EchoMode.Password
    assert "No key stored" in panel.sources_box.key_state.text()
    panel.sources_box.key_edit.setText("abcdef1234567890")
    panel.save_key()
    assert trends.sources.secrets.get("trends:lastfm") == "abcdef1234567890"
    assert panel.sources_box.key_edit.text() == ""
    assert "Key stored" in panel.sources_box.key_state.text() and "7890" in panel.sources_box.key_state.text()
    assert "abcdef" not in panel.sources_box.key_state.text()
    row = [s["name"] for s in panel.sources].index("lastfm")
    assert panel.sources_box.sources_table.item(row, 6).text() == "key stored"
    panel.clear_key()
    assert trends.sources.secrets.get("trends:lastfm") is None
    assert "No key stored" in panel.sources_box.key_state.text()


def test_feed_errors_show_inline(panel, trends):
    panel.sources_box.feed_edit.setText("not a url")
    assert panel.add_feed() is None
    assert "Could not add the feed" in panel.last_error and panel.error_label.isVisibleTo(panel)
    count = len(panel.sources)
    panel.sources_box.feed_edit.setText("https://example.org/feed.xml")
    assert panel.add_feed() is not None
    assert len(panel.sources) == count + 1 and panel.last_error == ""


def test_import_shows_a_preview_first(panel, trends, tmp_path, qt_loop, qtbot):
    path = tmp_path / "chart.csv"
    path.write_text("title,artist,platform,rank\nRain Song,Ana,tiktok,1\nDust,Bo,tiktok,2\n")
    dialog = panel.preview_import(path, ask=False)
    assert dialog.table.rowCount() == 2 and dialog.table.item(0, 1).text() == "Rain Song"
    assert dialog.table.item(0, 3).text() == "tiktok"
    assert "Import 2 rows" in dialog.import_button.text()
    assert trends.catalog.current()["trends"] == []  # nothing imported before the user agrees
    result = qt_loop.run_until_complete(asyncio.wait_for(panel.import_pending(), 20))
    assert result["imported"] == 2 and result["file"] == "chart.csv" and panel.import_button.isEnabled()
    qtbot.waitUntil(lambda: sorted(t["title"] for t in panel.trends) == ["Dust", "Rain Song"], timeout=5000)
    assert panel.trend_list.trend_table.item(0, 0).text() == "imported"


def test_monitor_and_patterns(panel, trends, qt_loop):
    assert panel.monitor_box.monitor_label.text() == "Stopped"
    panel.toggle_monitor()  # nothing enabled yet
    assert "Enable a source first" in panel.last_error
    enable_and_scan(panel, qt_loop)
    panel.toggle_monitor()
    assert trends.monitor.state()["running"] and panel.monitor_box.monitor_label.text() == "Monitoring"
    panel.monitor_box.interval_spins["peak_hours"].setValue(10)
    panel.apply_schedule()
    assert trends.monitor.state()["intervals"]["peak_hours"] == 10
    panel.toggle_monitor()
    assert not trends.monitor.state()["running"] and panel.monitor_box.monitor_label.text() == "Stopped"
    panel.refresh_patterns()
    found = trends.patterns.patterns(None, 30)
    for key, label in panel.patterns_box.pattern_labels.items():
        part = found["patterns"].get(key)
        if part is None:
            assert found["reasons"][key] in label.text()
        else:
            assert f"(from {part['sample_size']} item" in label.text()


def test_live_events_refresh_the_table(panel, trends, services, qtbot):
    trends.scanner.ingest(deezer_entries(1), source="deezer", scanned_at=datetime.now(UTC))
    services.events.publish("trends_scanned", {"scanned": ["deezer"]})
    qtbot.waitUntil(lambda: len(panel.trends) == 3, timeout=3000)


def test_a_failing_source_says_why_and_the_others_still_scan(panel, trends, qt_loop):
    from studio.connectors.charts import SourceError

    async def broken(config: dict) -> list[ChartEntry]:
        raise SourceError("apple_music", "the feed answered HTTP 503; try again later", status=503)

    trends.sources.fetchers["apple_music"] = broken
    trends.sources.configure("apple_music", enabled=True)
    panel.refresh_sources()
    result = enable_and_scan(panel, qt_loop)
    assert result["scanned"] == ["deezer"] and "apple_music" in result["errors"]
    assert "HTTP 503" in panel.last_error and panel.error_label.isVisibleTo(panel)
    row = [s["name"] for s in panel.sources].index("apple_music")
    assert panel.sources_box.sources_table.item(row, 2).text().startswith("error: ")
    assert len(panel.trends) == 3


def test_a_bad_chart_file_is_explained(panel, trends, tmp_path, message_boxes):
    path = tmp_path / "notes.csv"
    path.write_text("colour,shape\nred,round\n")
    assert panel.preview_import(path, ask=False) is None
    kind, title, text = message_boxes[-1]
    assert kind == "warning" and "notes.csv" in text and "title, artist, platform, rank" in text


def test_tempo_histogram_bars_and_empty_state(panel, trends, qt_loop):
    box = panel.patterns_box
    panel.refresh_patterns()  # nothing scanned: the empty state gives the service's reason
    reason = trends.patterns.patterns(None, 30)["reasons"]["tempo_histogram"]
    assert box.tempo_histogram.currentWidget() is box.tempo_histogram.hint
    assert reason in box.tempo_histogram.hint.text() and box.tempo_histogram.bars is None
    enable_and_scan(panel, qt_loop)
    panel.refresh_patterns()  # Midnight Rain and Paper Moons rose, both at 84 BPM
    assert box.tempo_histogram.currentWidget() is box.tempo_histogram.plot
    assert box.tempo_histogram.bins == [{"bpm_from": 80, "bpm_to": 90, "items": 2}]
    bars = box.tempo_histogram.bars.opts
    assert list(bars["height"]) == [2.0] and float(bars["x0"][0]) > 80 and float(bars["width"][0]) < 10
    assert "(from 2 items)" in box.tempo_caption.text()
