from PySide6.QtCore import Qt

from tests.support.steps_job import KIND


def test_system_panel_shows_health_and_resources(window, services, qtbot):
    panel = window.show_panel("system")
    assert panel.health_status.text() in ("Healthy", "Degraded")
    assert panel.check_labels["database"].text() == "ok"
    assert panel.check_labels["apis"].text() == "none configured (optional)"
    assert panel.about_labels["data_dir"].text() == str(services.settings.home)
    assert panel.cards["memory_usage"].value.text().endswith("%")
    assert panel.cards["process_memory_mb"].value.text().endswith("MB")
    assert panel.timer.isActive()
    window.show_panel("create")
    assert not panel.timer.isActive()  # only refreshed while shown


def test_back_up_now_runs_a_backup_job(window, services, qtbot):
    panel = window.show_panel("system")
    assert panel.backups_empty.isVisible()
    qtbot.mouseClick(panel.backup_button, Qt.MouseButton.LeftButton)
    model = window.jobs_dock.model
    assert model.rowCount() == 1 and model.job_at(0)["kind"] == "backup"
    backup_id = model.job_at(0)["id"]
    qtbot.waitUntil(lambda: model.job(backup_id)["status"] == "completed", timeout=10000)
    qtbot.waitUntil(lambda: panel.backups_table.rowCount() == 1, timeout=2000)
    assert panel.backups_table.item(0, 1).text() == "completed"
    assert panel.backups_table.item(0, 2).text().endswith(("KB", "MB", "B"))
    assert not panel.backups_empty.isVisible()


def test_jobs_table_filters_by_status(window, services, qtbot, step_job):
    panel = window.show_panel("system")
    step_job.gate.set()
    done = services.context.jobs.submit(KIND, {})
    qtbot.waitUntil(lambda: services.context.jobs.get(done["id"])["status"] == "completed", timeout=5000)
    step_job.gate.clear()
    running = services.context.jobs.submit(KIND, {})
    qtbot.waitUntil(lambda: window.jobs_dock.model.job(running["id"])["status"] == "processing", timeout=5000)
    assert panel.jobs_proxy.rowCount() == 2
    panel.status_filter.setCurrentIndex(panel.status_filter.findData("completed"))
    assert panel.jobs_proxy.rowCount() == 1
    assert panel.jobs_proxy.index(0, 1).data() == done["id"]
    panel.status_filter.setCurrentIndex(panel.status_filter.findData("failed"))
    assert panel.jobs_proxy.rowCount() == 0 and panel.jobs_count.text() == "No jobs to show"
    step_job.gate.set()
    panel.status_filter.setCurrentIndex(0)
    assert panel.jobs_proxy.rowCount() == 2


def test_settings_button_opens_the_dialog(window, qtbot):
    panel = window.show_panel("system")
    qtbot.mouseClick(panel.settings_button, Qt.MouseButton.LeftButton)
    assert window.settings_dialog is not None and window.settings_dialog.isVisible()
    window.settings_dialog.reject()
