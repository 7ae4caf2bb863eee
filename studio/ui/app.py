"""GUI entry point: one QApplication, asyncio on Qt's loop (qasync), the Context, the optional
API server on the same loop, and the main window."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QThreadPool, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from studio.config import Settings
from studio.ui import gc_guard
from studio.ui.theme import apply_dark_theme

if TYPE_CHECKING:
    from studio.services import Services
    from studio.server.app import ApiServer
    from studio.ui.main_window import MainWindow

log = logging.getLogger("studio.ui")


def ensure_app() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    if not app.property("studio_themed"):  # restyling every widget again is slow: once per app
        app.setApplicationName("Studio")
        app.setOrganizationName("Studio")
        app.setDesktopFileName("studio")
        apply_dark_theme(app)
        app.setProperty("studio_themed", True)
    gc_guard.install(app)  # cycles are collected on this (the GUI) thread only
    return app


def create_main_window(services: "Services", *, player_sink: Callable[[np.ndarray], object] | None = None) -> "MainWindow":
    """The window on an existing Context; starts no server and no threads (tests use this)."""
    from studio.ui.main_window import MainWindow

    ensure_app()
    return MainWindow(services, player_sink=player_sink)


async def start_api(services: "Services", window: "MainWindow") -> "ApiServer | None":
    """Start the API on the running loop; on failure say why in the window and carry on without it."""
    from studio.server.app import ApiServer

    settings = services.settings
    host, port = settings.host, settings.port
    server = ApiServer(services)
    try:
        await server.start(host, port, allow_remote=settings.allow_remote)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            short = f"port {port} is in use"
            reason = (f"Cannot listen on {host}:{port}: the port is already in use. Another Studio (or another "
                      "program) may be using it: choose another port in Settings (Ctrl+,) and restart.")
        else:
            detail = os.strerror(exc.errno) if exc.errno else str(exc)
            short = f"cannot listen on {host}:{port}"
            reason = f"Cannot listen on {host}:{port}: {detail}. Check the host and port in Settings (Ctrl+,)."
    except ValueError as exc:  # a non-loopback host without allow_remote
        short = f"host {host} refused"
        reason = f"{exc}. Change the host or allow remote access in Settings (Ctrl+,)."
    else:
        window.set_api_status(True, f"listening on {services.api_url}", services.api_url)
        return server
    log.warning("API not started: %s", reason)
    try:
        await server.stop()
    except Exception:  # pragma: no cover - nothing to clean up after a failed bind
        log.debug("cleanup after failed API start", exc_info=True)
    window.set_api_status(False, reason, short=short)
    window.show_api_problem(reason)
    return None


async def _main(services: "Services", api: bool) -> int:
    from studio.app import shutdown, start_background

    loop = asyncio.get_running_loop()
    window = create_main_window(services)
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    window.show()

    # Ctrl+C / SIGTERM close the window cleanly; the timer lets Python see the signal.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: window.close())
    wakeup = QTimer()
    wakeup.timeout.connect(lambda: None)
    wakeup.start(250)

    server = None
    try:
        start_background(services, loop)
        if not api:
            window.set_api_status(False, "started with --no-api", short="--no-api")
        elif not services.settings.api_enabled:
            window.set_api_status(False, "turned off in Settings", short="turned off in Settings")
        else:
            server = await start_api(services, window)
        services.first_run = services.auth.bootstrap()
        if services.first_run is not None:
            window.show_first_run(services.first_run)
        await closed.wait()
    finally:
        wakeup.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if server is not None:
            await server.stop()
        QThreadPool.globalInstance().waitForDone(2000)  # e.g. an audio file still decoding
        shutdown(services)
    return 0


def run_gui(settings: Settings, api: bool = True) -> int:
    """Open the studio window (and the local API unless `api` is False); returns the exit code."""
    import qasync

    from studio.app import build_services, setup_logging

    setup_logging(settings)
    app = ensure_app()
    app.setQuitOnLastWindowClosed(False)  # the window's `closed` signal ends _main, which cleans up
    try:
        services = build_services(settings)
    except Exception as exc:
        log.exception("cannot open the studio's data")
        QMessageBox.critical(None, "Studio cannot start",
                             f"Opening the data folder {settings.home} failed:\n\n{exc}\n\nSee {settings.logs_dir}.")
        return 1
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            return loop.run_until_complete(_main(services, api))
    finally:
        asyncio.set_event_loop(None)
