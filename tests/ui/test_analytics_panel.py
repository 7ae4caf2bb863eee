"""The Analytics panel as a newcomer uses it: an empty studio says where to export each file; a
YouTube Studio export and a DistroKid statement are previewed (format, unmapped columns) and
imported; the suggested matches are confirmed under Links; the cards, charts and content table
show the service's figures; a PDF report is made as a job and saved; bad files get a dialog."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from studio.ui.panels.analytics.panel import AnalyticsPanel
from tests.connectors.test_analytics_files import FIXTURES, youtube_zip
from tests.services.test_analytics_ledger import add_track


@pytest.fixture
def panel(window) -> AnalyticsPanel:
    panel = window.show_panel("analytics")
    assert isinstance(panel, AnalyticsPanel)
    panel.refresh()
    return panel


def recent_zip(tmp_path) -> object:
    """The fixture export moved to the last 31 days, so the panel's default period (30 days) shows it."""
    end = date.today() - timedelta(days=1)
    start = end - timedelta(days=30)
    path = tmp_path / f"Content {start.isoformat()}_{end.isoformat()} Nova Lane.zip"
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(youtube_zip()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name in source.namelist():
            text = source.read(name).decode("utf-8-sig")
            for day in range(1, 32):
                text = text.replace(f"2026-03-{day:02d}", (start + timedelta(days=day - 1)).isoformat())
            text = text.replace('"Mar 3, 2026"', (start + timedelta(days=2)).isoformat())
            text = text.replace('"Mar 10, 2026"', (start + timedelta(days=9)).isoformat())
            out.writestr(name, "\ufeff" + text)
    path.write_bytes(buffer.getvalue())
    return path


def test_an_empty_studio_says_where_to_export_each_file(panel):
    assert panel.overview.empty.isVisibleTo(panel)
    text = panel.overview.empty.text()
    for service in ("YouTube Studio", "Spotify for Artists", "DistroKid", "TuneCore"):
        assert service in text
    assert panel.overview.cards["revenue"].value.text() == "–"
    assert panel.overview.cards["revenue"].toolTip()  # why it is empty
    assert panel.overview.revenue_chart.currentWidget() is panel.overview.revenue_chart.hint
    assert panel.content_page.empty.text()


def test_import_confirm_links_and_see_revenue_by_origin(panel, services, qt_loop, tmp_path, qtbot):
    add_track(services, "trk_night", "Night Drive")
    add_track(services, "trk_rain", "Rain On Glass")
    dialog = panel.preview_import(recent_zip(tmp_path), ask=False)
    assert "YouTube Studio export" in dialog.summary.text() and dialog.import_button.isEnabled()
    assert dialog.table.rowCount() > 0
    qt_loop.run_until_complete(asyncio.wait_for(panel.import_pending(), 20))
    assert panel.tabs.currentWidget() is panel.links  # matches to confirm: the Links page opens
    assert "2 to confirm" in panel.tabs.tabText(2)

    statement = FIXTURES / "distrokid_v2.tsv"
    dialog = panel.preview_import(statement, ask=False)
    assert "Date Inserted" in dialog.unmapped.text()  # the columns it keeps without using
    qt_loop.run_until_complete(asyncio.wait_for(panel.import_pending(), 20))

    links = panel.links
    links.status.setCurrentIndex(0)  # to confirm
    panel.refresh_links()
    assert {i["linked_title"] for i in links.items} == {"Night Drive", "Rain On Glass"}
    while links.items:
        links.table.selectRow(0)
        assert links.confirm_button.isEnabled()
        links.confirm_button.click()
        panel.refresh_links()
    assert panel.tabs.tabText(2) == "Links"

    period = services.analytics.period("30d")
    revenue = services.analytics.revenue.revenue(period)
    assert revenue["breakdown"]["music_generation"] > 0
    card = panel.overview.cards["revenue"].value.text()
    assert card == f"{revenue['total_revenue']:,.2f} USD"
    assert panel.overview.revenue_chart.currentWidget() is panel.overview.revenue_chart.plot
    assert "generated tracks" in panel.overview.revenue_legend.text()
    table = panel.content_page.table
    titles = {table.item(r, 0).text() for r in range(table.rowCount())}
    assert "Night Drive" in titles
    panel.content_page.search.setText("rain")
    panel.refresh_content()
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == ["Rain On Glass"]
    assert panel.sources.imports_table.rowCount() == 2


def test_a_pdf_report_is_made_as_a_job_and_saved(panel, services, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    target = tmp_path / "report.pdf"
    asked: list[str] = []

    def save_as(parent, caption, suggested, *args, **kwargs):
        asked.append(suggested)
        return str(target), ""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)
    report = panel.export_report(format="pdf", sections=["system_health", "costs"])
    assert report is not None and not panel.export_button.isEnabled()
    # the job's completion offers the file for saving
    qtbot.waitUntil(lambda: report["report_id"] in panel.saved_reports, timeout=30000)
    assert asked and asked[0].endswith(".pdf")
    assert target.read_bytes().startswith(b"%PDF")
    assert panel.export_button.isEnabled()
    assert panel.export_report(sections=[]) is None and "at least one section" in panel.last_error


def test_a_bad_file_gets_a_dialog_naming_the_line(panel, message_boxes):
    assert panel.preview_import(FIXTURES / "distrokid_truncated.tsv", ask=False) is None
    kind, title, text = message_boxes[-1]
    assert kind == "warning" and "line 4" in text and "DistroKid" in text


def test_costs_and_keys_are_set_from_the_panel(panel, services):
    from tests.services.test_community_sources import FakeSecrets

    services.analytics.youtube._secrets = FakeSecrets()
    panel.costs.kwh.setValue(0.3)
    panel.costs.watts.setValue(250)
    panel.save_prices()
    assert services.analytics.costs.prices()["cost_per_compute_hour"] == pytest.approx(0.075)
    panel.costs.daily_s.setValue(3600)
    panel.save_limits()
    assert services.analytics.costs.limits()["daily_compute_s"] == 3600
    panel.sources.key_edit.setText("AIzaSyD-fake-0123456789abcdefghijklmnopq")
    panel.sources.channel_edit.setText("not a channel")
    panel.save_youtube()
    assert "UC" in panel.last_error
    panel.sources.key_edit.setText("AIzaSyD-fake-0123456789abcdefghijklmnopq")
    panel.sources.channel_edit.setText("UCx9Q2nZ_NovaLaneMusic0a")
    panel.save_youtube()
    assert panel.sources.key_edit.text() == ""  # never kept in the field
    assert "API key stored" in panel.sources.youtube_status.text()
    assert panel.sources.refresh_button.isEnabled()
