"""The main window: sidebar + panels, Jobs dock, player bar, status bar, menus and shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSettings, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QStackedWidget,
    QTextEdit,
    QToolBar,
    QWidget,
)

from studio import __version__
from studio.ui.bridge import EventBridge
from studio.ui.dialogs.first_run import FirstRunDialog
from studio.ui.dialogs.settings_dialog import SettingsDialog
from studio.ui.panels import PANELS, Panel, PanelHost
from studio.ui.theme import icon
from studio.ui.widgets.jobs_dock import JobsDock
from studio.ui.widgets.player_bar import AUDIO_FILTER, PlayerBar
from studio.ui.widgets.status_bar import StudioStatusBar

if TYPE_CHECKING:
    from studio.services import Services
    from studio.services.system.auth import FirstRunCredentials

UI_STATE_FILE = "ui_state.ini"
TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox)


def ui_state(settings) -> QSettings:
    """Window state lives in the data dir, so two studios with different STUDIO_HOME don't clash."""
    return QSettings(str(Path(settings.home) / UI_STATE_FILE), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(self, services: "Services", *, player_sink: Callable[[np.ndarray], object] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.setWindowTitle("Studio")
        self.setObjectName("MainWindow")
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.bridge = EventBridge(services.events, self)
        self.host = PanelHost(services, self.bridge, self)
        self.host._open_settings = self.open_settings
        self.host._show_status = lambda text, ms: self.statusBar().showMessage(text, ms)
        self.settings_dialog: SettingsDialog | None = None
        self.first_run_dialog: FirstRunDialog | None = None
        self._closing = False

        # --- player (panels may use it, so it exists before them) ------------------------------
        self.player_bar = PlayerBar(services, sink=player_sink)
        self.host.player = self.player_bar
        self.player_bar.load_failed.connect(lambda message: self.statusBar().showMessage(message, 8000))
        self.player_bar.loaded.connect(lambda title: self.statusBar().showMessage(f"Loaded {title}", 3000))

        # --- sidebar + panels -----------------------------------------------------------------
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("Sidebar")
        self.sidebar.setIconSize(QSize(20, 20))
        self.sidebar.setFixedWidth(184)
        self.sidebar.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack = QStackedWidget()
        self.panels: list[Panel] = []
        for panel_cls in PANELS:
            panel = panel_cls(self.host)
            self.panels.append(panel)
            self.stack.addWidget(panel)
            item = QListWidgetItem(icon(panel.icon), panel.title)
            item.setData(Qt.ItemDataRole.UserRole, panel.key)
            item.setToolTip(panel.subtitle or panel.title)
            self.sidebar.addItem(item)
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.sidebar)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        # --- jobs dock, player toolbar, status bar --------------------------------------------
        self.jobs_dock = JobsDock(services, self.host.jobs_model, self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.jobs_dock)
        self.resizeDocks([self.jobs_dock], [200], Qt.Orientation.Vertical)
        self.player_toolbar = QToolBar("Player", self)
        self.player_toolbar.setObjectName("PlayerToolbar")
        self.player_toolbar.setMovable(False)
        self.player_toolbar.setFloatable(False)
        self.player_toolbar.setContentsMargins(0, 0, 0, 0)
        self.player_toolbar.setStyleSheet("QToolBar { border: none; padding: 0; spacing: 0; }")
        self.player_toolbar.addWidget(self.player_bar)
        self.addToolBar(Qt.ToolBarArea.BottomToolBarArea, self.player_toolbar)
        self.status = StudioStatusBar(self.host, self)
        self.setStatusBar(self.status)

        self._build_actions()
        self.resize(1280, 840)
        self.sidebar.setCurrentRow(0)
        self.restore_state()

    # --- menus and shortcuts --------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, icon_name: str | None = None) -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut is not None:
            shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)  # shortcuts work with the menu bar hidden too
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action("&Open audio file…", self.open_audio_file, "Ctrl+O", "mdi6.folder-open")
        self.settings_action = self._action("&Settings…", self.open_settings, "Ctrl+,", "mdi6.cog")
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q", "mdi6.exit-to-app")
        self.play_action = self._action("Play / pause", self.play_pause, "Space", "mdi6.play-pause")
        self.primary_action = self._action("Run panel action", self.run_primary_action,
                                           ["Ctrl+Return", "Ctrl+Enter"])
        self.search_action = self._action("Search / filter", self.focus_search, "Ctrl+F", "mdi6.magnify")

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open_action)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        view_menu = menu.addMenu("&View")
        self.panel_actions: list[QAction] = []
        for index, panel in enumerate(self.panels):
            action = self._action(panel.title, lambda i=index: self.show_panel(i),
                                  f"Ctrl+{index + 1}" if index < 9 else None, panel.icon)
            view_menu.addAction(action)
            self.panel_actions.append(action)
        view_menu.addSeparator()
        dock_toggle = self.jobs_dock.toggleViewAction()
        dock_toggle.setShortcut(QKeySequence("Ctrl+J"))
        view_menu.addAction(dock_toggle)
        view_menu.addAction(self.search_action)

        play_menu = menu.addMenu("&Playback")
        play_menu.addAction(self.play_action)
        play_menu.addAction(self._action("Stop", self.player_bar.stop, None, "mdi6.stop"))

        help_menu = menu.addMenu("&Help")
        self.docs_action = self._action("API documentation", self.open_api_docs, None, "mdi6.book-open-variant")
        help_menu.addAction(self.docs_action)
        help_menu.addAction(self._action("Open data folder", self.open_data_folder, None, "mdi6.folder"))
        help_menu.addSeparator()
        help_menu.addAction(self._action("About Studio", self.about, None, "mdi6.information-outline"))
        self.host.api_status_changed.connect(lambda running, _m: self.docs_action.setEnabled(running))
        self.docs_action.setEnabled(self.host.api_running)

    # --- navigation -----------------------------------------------------------------------------
    @property
    def current_panel(self) -> Panel:
        return self.panels[self.stack.currentIndex()]

    def show_panel(self, which: int | str) -> Panel:
        index = which if isinstance(which, int) else next(
            i for i, p in enumerate(self.panels) if p.key == which)
        self.sidebar.setCurrentRow(index)
        return self.panels[index]

    def panel(self, key: str) -> Panel:
        return next(p for p in self.panels if p.key == key)

    def run_primary_action(self) -> None:
        action = getattr(self.current_panel, "primary_action", None)
        if callable(action):
            action()

    def focus_search(self) -> None:
        search = getattr(self.current_panel, "focus_search", None)
        if callable(search):
            search()
        else:
            self.sidebar.setFocus()

    def play_pause(self) -> None:
        focus = QApplication.focusWidget()
        if isinstance(focus, TEXT_INPUTS) or (isinstance(focus, QComboBox) and focus.isEditable()):
            return  # Space belongs to the text field
        self.player_bar.toggle_play()

    # --- actions --------------------------------------------------------------------------------
    def open_audio_file(self) -> None:
        state = ui_state(self.services.settings)
        start = str(state.value("player/last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open audio file", start, AUDIO_FILTER)
        if path:
            state.setValue("player/last_dir", str(Path(path).parent))
            self.player_bar.load_file(path)

    def open_settings(self) -> SettingsDialog:
        if self.settings_dialog is not None and self.settings_dialog.isVisible():
            self.settings_dialog.raise_()
            return self.settings_dialog
        dialog = SettingsDialog(self.services, self)
        dialog.saved.connect(self._settings_saved)
        self.settings_dialog = dialog
        dialog.open()
        return dialog

    def _settings_saved(self, result: dict) -> None:
        if not result.get("updated_settings"):
            return
        if result.get("restart_required"):
            fields = ", ".join(result.get("restart_fields", []))
            text = f"Settings saved. Restart Studio for these to take effect: {fields}."
            self.statusBar().showMessage(text, 10000)
            box = QMessageBox(QMessageBox.Icon.Information, "Restart required", text,
                              QMessageBox.StandardButton.Ok, self)
            box.open()
            self.restart_notice = box
        else:
            self.statusBar().showMessage("Settings saved and applied.", 5000)

    def open_api_docs(self) -> None:
        QDesktopServices.openUrl(QUrl(f"{self.host.api_url}/docs"))

    def open_data_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.services.settings.home)))

    def about(self) -> None:
        QMessageBox.about(self, "About Studio",
                          f"<b>Studio {__version__}</b><br>A desktop music studio with a local API.<br><br>"
                          f"Data folder: {self.services.settings.home}")

    def set_api_status(self, running: bool, message: str, url: str | None = None, *, short: str = "") -> None:
        self.host.set_api_status(running, message, url, short=short)

    def show_first_run(self, credentials: "FirstRunCredentials") -> FirstRunDialog:
        if self.host.api_running:
            url = self.host.api_url
        else:
            url = f"not running ({self.host.api_short or 'see the API panel'})"
        dialog = FirstRunDialog(credentials, url, self)
        self.first_run_dialog = dialog
        dialog.open()
        return dialog

    def show_api_problem(self, message: str) -> QMessageBox:
        """Non-blocking: the window stays usable without the API."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Local API not started",
                          f"{message}\n\nEverything in this window still works; only other tools cannot reach the API.",
                          QMessageBox.StandardButton.Ok, self)
        box.open()
        self.api_problem_box = box
        return box

    # --- state ----------------------------------------------------------------------------------
    def restore_state(self) -> None:
        state = ui_state(self.services.settings)
        geometry = state.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        layout = state.value("window/state")
        if layout is not None:
            self.restoreState(layout)
        key = state.value("window/panel")
        if key:
            for index, panel in enumerate(self.panels):
                if panel.key == key:
                    self.sidebar.setCurrentRow(index)
        volume = state.value("player/volume")
        if volume is not None:
            try:
                self.player_bar.volume_slider.setValue(int(volume))
            except (TypeError, ValueError):
                pass

    def save_state(self) -> None:
        state = ui_state(self.services.settings)
        state.setValue("window/geometry", self.saveGeometry())
        state.setValue("window/state", self.saveState())
        state.setValue("window/panel", self.current_panel.key)
        state.setValue("player/volume", self.player_bar.volume_slider.value())
        state.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if not self._closing:
            self._closing = True
            self.save_state()
            self.player_bar.shutdown()
            self.status.device_timer.stop()
            for panel in self.panels:
                timer = getattr(panel, "timer", None)
                if timer is not None:
                    timer.stop()
            self.bridge.close()
        super().closeEvent(event)
        self.closed.emit()
