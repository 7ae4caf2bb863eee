"""The GUI's application object and main window. `studio.app.run_gui` (the composition root)
starts them with the services and the optional API server on one qasync loop."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtWidgets import QApplication

from studio.ui import gc_guard
from studio.ui.theme import apply_dark_theme

if TYPE_CHECKING:
    from studio.services import Services
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
    """The window on existing services; starts no server and no threads (tests use this)."""
    from studio.ui.main_window import MainWindow

    ensure_app()
    return MainWindow(services, player_sink=player_sink)
