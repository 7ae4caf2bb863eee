import asyncio
import socket

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

import studio.app
from studio.app import run_gui, start_api
from studio.context import Context


def test_start_api_runs_the_server_and_reports_it(window, services, qt_loop):
    services.settings.port = 0
    server = qt_loop.run_until_complete(start_api(services, window))
    try:
        assert server is not None and services.server_running
        assert window.host.api_running
        assert window.host.api_url == f"http://127.0.0.1:{server.port}"
        assert window.status.api_button.text() == f"API http://127.0.0.1:{server.port}"
        assert window.panel("api").state_label.text().startswith("Running on")
    finally:
        qt_loop.run_until_complete(server.stop())


def test_a_busy_port_leaves_the_window_working_without_the_api(window, services, qt_loop):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        services.settings.port = busy.getsockname()[1]
        server = qt_loop.run_until_complete(start_api(services, window))
    assert server is None and not services.server_running
    port = services.settings.port
    assert f"Cannot listen on 127.0.0.1:{port}: the port is already in use" in window.host.api_message
    assert window.status.api_button.text() == f"API off: port {port} is in use"
    assert window.status.api_button.toolTip() == window.host.api_message
    assert window.api_problem_box.isVisible()  # non-blocking message
    assert "Not running: Cannot listen" in window.panel("api").state_label.text()
    window.api_problem_box.accept()


def test_a_remote_host_without_permission_is_refused_with_a_reason(window, services, qt_loop):
    services.settings.host = "0.0.0.0"
    server = qt_loop.run_until_complete(start_api(services, window))
    assert server is None
    assert "refusing to listen on 0.0.0.0" in window.host.api_message
    assert window.status.api_button.text() == "API off: host 0.0.0.0 refused"
    window.api_problem_box.accept()


def test_run_gui_starts_api_shows_first_run_once_and_shuts_down(settings, monkeypatch, qapp):
    monkeypatch.setattr(studio.app, "setup_logging", lambda *a, **k: None)
    monkeypatch.setattr(Context, "detect_device_async", lambda self: None)  # no torch import in tests
    settings.port = 0
    seen = {}

    def close_when_ready():
        from studio.ui.main_window import MainWindow

        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if windows and windows[0].host.api_running and windows[0].first_run_dialog is not None:
            win = windows[0]
            seen["url"] = win.host.api_url
            seen["key"] = win.first_run_dialog.api_key.value
            seen["password"] = win.first_run_dialog.password.value
            seen["loop_running"] = asyncio.get_event_loop().is_running()
            win.close()
        else:
            QTimer.singleShot(50, close_when_ready)

    QTimer.singleShot(50, close_when_ready)
    assert run_gui(settings, api=True) == 0
    assert seen["key"].startswith("sk_") and len(seen["password"]) >= 12
    assert seen["loop_running"]
    assert (settings.home / "ui_state.ini").is_file()
    port = int(seen["url"].rsplit(":", 1)[1])
    with socket.socket() as probe, pytest.raises(OSError):
        probe.settimeout(1)
        probe.connect(("127.0.0.1", port))  # the server was stopped
