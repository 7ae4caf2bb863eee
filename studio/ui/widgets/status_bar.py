"""Status bar: API URL (click copies it), engine device, and queue length."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QStatusBar, QToolButton, QWidget

from studio.ui.theme import COLORS, icon
from studio.ui.widgets.debounce import debounce_timer
from studio.ui.widgets.jobs_dock import JOB_EVENTS

if TYPE_CHECKING:
    from studio.ui.panels.base import PanelHost

DEVICE_POLL_MS = 500


class StudioStatusBar(QStatusBar):
    def __init__(self, host: "PanelHost", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.services = host.services
        self.setSizeGripEnabled(False)

        self.api_button = QToolButton()
        self.api_button.setObjectName("ApiUrl")
        self.api_button.setAutoRaise(True)
        self.api_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.api_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.api_button.clicked.connect(self.copy_api_url)
        self.device_label = QLabel()
        self.device_label.setToolTip("Device the engine renders on")
        self.queue_label = QLabel()
        self.queue_label.setToolTip("Jobs waiting or running")
        for widget in (self.api_button, self.device_label, self.queue_label):
            self.addPermanentWidget(widget)

        host.api_status_changed.connect(self._on_api_status)
        self._on_api_status(host.api_running, host.api_message)

        self.device_timer = QTimer(self)
        self.device_timer.setInterval(DEVICE_POLL_MS)
        self.device_timer.timeout.connect(self.refresh_device)
        self.refresh_device()  # keeps polling until the background probe has an answer

        # Queue counts come from the database; coalesce bursts of events into one query.
        self._queue_pending = debounce_timer(self, 0, self.refresh_queue)
        host.bridge.event.connect(self._on_event)
        self.refresh_queue()

    # --- API --------------------------------------------------------------------------------
    def _on_api_status(self, running: bool, message: str) -> None:
        if running:
            self.api_button.setText(f"API {self.host.api_url}")
            self.api_button.setIcon(icon("mdi6.lan-connect", COLORS["success"]))
            self.api_button.setToolTip("The local API is running. Click to copy its URL.")
        else:
            short = self.host.api_short or (message if len(message) <= 50 else message[:47] + "…")
            self.api_button.setText(f"API off{': ' + short if short else ''}")
            self.api_button.setIcon(icon("mdi6.lan-disconnect", COLORS["warning"]))
            self.api_button.setToolTip(message or "The local API is not running.")

    def copy_api_url(self) -> None:
        if not self.host.api_running:
            self.showMessage(self.host.api_message or "The local API is not running.", 6000)
            return
        QGuiApplication.clipboard().setText(self.host.api_url)
        self.showMessage(f"Copied {self.host.api_url} to the clipboard", 3000)

    # --- device -----------------------------------------------------------------------------
    def refresh_device(self) -> None:
        label = self.services.device_label()
        self.device_label.setText(f"Device: {label}")
        resolved = self.services.device is not None or label.startswith("unavailable")
        if resolved:
            self.device_timer.stop()
        elif not self.device_timer.isActive():
            self.device_timer.start()

    # --- queue ------------------------------------------------------------------------------
    def _on_event(self, name: str, _data: dict[str, Any]) -> None:
        # queued -> processing keeps the sum the same; only these change it
        if name in JOB_EVENTS and name != "job_progress":
            self._queue_pending.start()

    def refresh_queue(self) -> None:
        counts = self.services.system.job_counts()
        waiting, running = counts.get("queued", 0), counts.get("processing", 0)
        self.queue_count = waiting + running
        self.queue_label.setText(f"Queue: {self.queue_count}")
        self.queue_label.setToolTip(f"{running} running, {waiting} waiting")
