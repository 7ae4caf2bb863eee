"""The System panel's tool pages: logs (filters, live tail), maintenance, services, resources, problems."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from studio.timeutil import iso
from tests.support.steps_job import KIND


def write_log(services, *entries: tuple[str, str, str], at: datetime | None = None) -> None:
    """Append JSON lines (level, service, message) to the studio's log file, as the app writes them."""
    path = services.system.logs.path
    path.parent.mkdir(parents=True, exist_ok=True)
    at = at or datetime.now(timezone.utc)
    with open(path, "a", encoding="utf-8") as fh:
        for index, (level, service, message) in enumerate(entries):
            stamp = iso(at + timedelta(milliseconds=index), "milliseconds")
            fh.write(json.dumps({"timestamp": stamp, "level": level, "service": service,
                                 "logger": f"studio.services.{service}", "message": message,
                                 "details": {"track_id": "trk_1"} if level == "error" else {}}) + "\n")


def messages(page) -> list[str]:
    return [page.table.item(r, 3).text() for r in range(page.table.rowCount())]


def test_logs_show_entries_and_filter_them(window, services, qtbot):
    write_log(services, ("info", "music", "track rendered"), ("warning", "trends", "deezer answered slowly"),
              ("error", "music", "export failed: disk full"))
    panel = window.show_panel("system")
    page = panel.show_page("logs")
    qtbot.waitUntil(lambda: page.table.rowCount() == 3, timeout=5000)
    assert messages(page) == ["track rendered", "deezer answered slowly", "export failed: disk full"]
    assert page.table.item(1, 2).text() == "Trends"
    page.table.selectRow(2)
    assert "export failed: disk full" in page.details.toPlainText()
    assert "track_id: trk_1" in page.details.toPlainText()

    page.level_combo.setCurrentIndex(page.level_combo.findData("warning"))
    qtbot.waitUntil(lambda: page.table.rowCount() == 2, timeout=5000)
    page.service_combo.setCurrentIndex(page.service_combo.findData("music"))
    qtbot.waitUntil(lambda: messages(page) == ["export failed: disk full"], timeout=5000)
    page.level_combo.setCurrentIndex(0)
    page.search_edit.setText("rendered")
    qtbot.waitUntil(lambda: messages(page) == ["track rendered"], timeout=5000)
    page.search_edit.setText("nothing like this")
    qtbot.waitUntil(lambda: page.table.rowCount() == 0, timeout=5000)
    assert page.count_label.text() == "No entries match these filters."


def test_logs_time_range_leaves_out_older_entries(window, services, qtbot):
    write_log(services, ("info", "system", "two days ago"), at=datetime.now(timezone.utc) - timedelta(days=2))
    write_log(services, ("info", "system", "just now"))
    page = window.show_panel("system").show_page("logs")
    qtbot.waitUntil(lambda: messages(page) == ["just now"], timeout=5000)  # last 24 hours by default
    page.range_combo.setCurrentIndex(page.range_combo.findData(0))  # everything
    qtbot.waitUntil(lambda: messages(page) == ["two days ago", "just now"], timeout=5000)


def test_live_tail_appends_new_entries(window, services, qtbot):
    write_log(services, ("info", "music", "first"))
    page = window.show_panel("system").show_page("logs")
    qtbot.waitUntil(lambda: messages(page) == ["first"], timeout=5000)
    page.live_check.setChecked(True)
    assert page.live_timer.isActive()
    write_log(services, ("info", "music", "second"), ("error", "voices", "third"))
    qtbot.waitUntil(lambda: messages(page) == ["first", "second", "third"], timeout=6000)
    page.poll()  # nothing new: nothing added twice
    qtbot.wait(200)
    assert messages(page) == ["first", "second", "third"]
    window.show_panel("create")
    assert not page.live_timer.isActive()  # only while shown


def test_maintenance_runs_and_shows_its_report(window, services, qtbot, message_boxes):
    page = window.show_panel("system").show_page("maintenance")
    assert all(check.isChecked() for check in page.checks.values())
    page.checks["log_rotation"].setChecked(False)
    qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    assert page.job_id is not None and not page.run_button.isEnabled()
    qtbot.waitUntil(lambda: page.job is not None and page.job["status"] == "completed", timeout=20000)
    report = page.report.toPlainText()
    assert "Check the database: no problems found" in report
    assert "Trim the API request log: 0 old rows deleted" in report
    assert "Start a new log file" not in report
    assert "freed in all" in report and "MB" in report
    assert page.run_button.isEnabled()


def test_maintenance_already_running_is_said_in_words(window, services, qtbot, message_boxes, step_job):
    step_job.gate.clear()
    services.context.jobs.set_max_concurrent(1)
    blocker = services.context.jobs.submit(KIND, {})  # holds the only worker: maintenance stays queued
    qtbot.waitUntil(lambda: services.context.jobs.get(blocker["id"])["status"] == "processing", timeout=5000)
    services.system.maintenance.start()
    page = window.show_panel("system").show_page("maintenance")
    page.start()  # as a click that came before the page knew
    assert message_boxes and message_boxes[-1][1] == "Maintenance is already running"
    assert "Traceback" not in message_boxes[-1][2]
    queued = page.job_id
    qtbot.waitUntil(lambda: page.job is not None and page.job["id"] == queued, timeout=5000)
    assert page.stage_label.text().startswith("Running") and not page.run_button.isEnabled()
    step_job.gate.set()


def test_services_stop_and_start_the_background_jobs(window, services, qtbot, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page = window.show_panel("system").show_page("services")
    qtbot.waitUntil(lambda: any(r["name"] == "job_workers" for r in page.rows), timeout=5000)
    names = [page.table.item(r, 0).text() for r in range(page.table.rowCount())]
    assert "Background jobs" in names and "job_workers" not in names
    page.select("job_workers")
    assert not page.buttons["start"].isEnabled() and page.buttons["stop"].isEnabled()
    qtbot.mouseClick(page.buttons["stop"], Qt.MouseButton.LeftButton)
    assert not services.context.jobs.accepting
    row = names.index("Background jobs")
    qtbot.waitUntil(lambda: page.table.item(row, 1).text() == "Stopped", timeout=5000)
    assert page.buttons["start"].isEnabled() and not page.buttons["stop"].isEnabled()
    qtbot.mouseClick(page.buttons["start"], Qt.MouseButton.LeftButton)
    assert services.context.jobs.accepting
    qtbot.waitUntil(lambda: page.table.item(row, 1).text() == "Running", timeout=5000)


def test_refused_actions_say_why_in_the_tooltip(window, services, qtbot):
    page = window.show_panel("system").show_page("services")
    qtbot.waitUntil(lambda: any(r["name"] == "webhooks" for r in page.rows), timeout=5000)
    page.select("webhooks")
    assert not page.buttons["stop"].isEnabled()
    assert page.buttons["stop"].toolTip().startswith("Cannot stop Webhook callbacks: ")


def test_resources_charts_draw_the_samples(window, services, qtbot):
    monitor = services.system.monitoring
    page = window.show_panel("system").show_page("resources")
    assert page.cpu_chart.points == 0 and page.cpu_chart.currentWidget() is page.cpu_chart.hint
    for _ in range(3):
        qtbot.wait(50)  # CPU use is measured between two samples
        monitor.sample()
    page.refresh()
    assert page.cpu_chart.points == 3 and page.memory_chart.points == 3 and page.queue_chart.points == 3
    assert page.cpu_chart.currentWidget() is page.cpu_chart.plot
    assert page.timer.isActive()
    qtbot.waitUntil(lambda: page.storage is not None, timeout=10000)
    size, _ = page.storage_rows["database"]
    assert size.text().endswith(("KB", "MB"))
    assert "Free on this disk" in page.free_label.text()
    qtbot.waitUntil(lambda: page.gpu is not None, timeout=30000)
    assert page.gpu_state.text() in ("None", "Available", "In use")
    if page.gpu_state.text() == "None":
        assert "renders on the CPU" in page.gpu_detail.text()


def test_problems_list_failed_jobs_with_details(window, services, qtbot):
    failed = services.context.jobs.submit(KIND, {"fail_at": 0})
    qtbot.waitUntil(lambda: services.context.jobs.get(failed["id"])["status"] == "failed", timeout=5000)
    page = window.show_panel("system").show_page("errors")
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=5000)
    assert page.table.item(0, 2).text() == "step 0 failed on purpose"
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: "Attempts: 1" in page.details.toPlainText(), timeout=5000)
