
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit

from studio.engine.device import DeviceInfo
from studio.ui.panels import PANELS
from studio.ui.panels.system.api import ApiPanel
from studio.ui.panels.system.status import SystemPanel
from tests.support.steps_job import KIND

KEYS = ["create", "library", "voices", "trends", "community", "analytics", "analysis", "system", "api"]
AREAS = ["music", "music", "voices", "trends", "community", "analytics", "analysis", "system", "system"]


def test_window_opens_with_every_panel_in_order(window):
    assert window.isVisible()
    assert window.windowTitle() == "Studio"
    assert [p.key for p in window.panels] == KEYS
    assert [p.area for p in window.panels] == AREAS
    assert [window.sidebar.item(i).text() for i in range(window.sidebar.count())] == [p.title for p in PANELS]
    for panel in window.panels:
        assert panel.title and panel.icon and panel.key and panel.area
        assert not window.sidebar.item(window.panels.index(panel)).icon().isNull()


def test_every_panel_is_reachable_from_the_sidebar(window, qtbot):
    for index, key in enumerate(KEYS):
        item = window.sidebar.item(index)
        rect = window.sidebar.visualItemRect(item)
        qtbot.mouseClick(window.sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        assert window.stack.currentWidget() is window.panels[index]
        assert window.current_panel.key == key
        assert window.current_panel.isVisible()


def test_every_area_is_built_no_panel_promises_later(window):
    for panel in window.panels:
        window.show_panel(panel.key)
        joined = " ".join(label.text() for label in panel.findChildren(QLabel))
        assert "not built in this version" not in joined and "When it is built" not in joined


def test_ctrl_f_falls_back_to_the_sidebar_and_ctrl_enter_runs_the_panel_action(window, qtbot):
    window.show_panel("voices")
    window.stack.currentWidget().setFocus()
    window.search_action.trigger()
    assert QApplication.focusWidget() is window.sidebar

    window.show_panel("library")
    window.search_action.trigger()
    assert QApplication.focusWidget() is window.panel("library").filters.search_edit

    window.show_panel("system")
    window.search_action.trigger()
    assert QApplication.focusWidget() is window.panel("system").status_filter

    api = window.show_panel("api")
    assert isinstance(api, ApiPanel)
    window.primary_action.trigger()
    assert api.create_dialog is not None and api.create_dialog.isVisible()
    api.create_dialog.reject()


def test_shortcuts_are_bound(window):
    keys = {a.text(): [s.toString() for s in a.shortcuts()] for a in window.actions()}
    assert keys["&Open audio file…"] == ["Ctrl+O"]
    assert keys["&Settings…"] == ["Ctrl+,"]
    assert keys["&Quit"] == ["Ctrl+Q"]
    assert keys["Play / pause"] == ["Space"]
    assert keys["Search / filter"] == ["Ctrl+F"]
    assert set(keys["Run panel action"]) == {"Ctrl+Return", "Ctrl+Enter"}


def test_window_state_is_remembered_per_data_folder(services, window, qtbot, settings):
    window.show_panel("api")
    window.resize(1111, 777)
    window.jobs_dock.hide()
    window.close()
    assert (settings.home / "ui_state.ini").is_file()

    from studio.ui.app import create_main_window

    again = create_main_window(services)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    assert again.current_panel.key == "api"
    assert abs(again.size().width() - 1111) < 48  # the platform may adjust for its frame
    assert not again.jobs_dock.isVisible()
    again.close()


def test_status_bar_copies_the_api_url_and_counts_the_queue(window, services, qtbot, step_job):
    status = window.status
    assert "API off" in status.api_button.text()  # no server in this test
    window.set_api_status(True, "listening", "http://127.0.0.1:8123")
    assert status.api_button.text() == "API http://127.0.0.1:8123"
    QGuiApplication.clipboard().clear()
    qtbot.mouseClick(status.api_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "http://127.0.0.1:8123"
    assert "Copied" in status.currentMessage()

    assert status.queue_label.text() == "Queue: 0"
    first = services.context.jobs.submit(KIND, {})
    services.context.jobs.submit(KIND, {})
    qtbot.waitUntil(lambda: status.queue_label.text() == "Queue: 2", timeout=3000)
    step_job.gate.set()
    qtbot.waitUntil(lambda: status.queue_label.text() == "Queue: 0", timeout=5000)
    assert services.context.jobs.get(first["id"])["status"] == "completed"


def test_device_label_follows_detection(window, services, qtbot):
    assert window.status.device_label.text() == "Device: detecting…"
    services.context._device = DeviceInfo("cpu", "CPU (4 threads)", "2.x", False)
    qtbot.waitUntil(lambda: window.status.device_label.text() == "Device: CPU (4 threads)", timeout=2000)
    qtbot.waitUntil(lambda: not window.status.device_timer.isActive(), timeout=2000)


def test_space_does_not_play_while_typing(window, qtbot, sink):
    import numpy as np

    bar = window.player_bar
    bar.load_audio(np.zeros(44100, dtype=np.float32), 44100, "silence")
    window.play_action.trigger()
    assert bar.playing
    window.play_action.trigger()
    assert not bar.playing

    field = window.panel("api").url_field.edit
    window.show_panel("api")
    editable = QLineEdit(window.panel("api"))
    editable.show()
    editable.setFocus()
    qtbot.keyClick(editable, Qt.Key.Key_Space)
    assert editable.text() == " "
    assert not bar.playing
    assert field.isReadOnly()


def test_system_panel_is_a_real_panel(window):
    panel = window.show_panel("system")
    assert isinstance(panel, SystemPanel)
