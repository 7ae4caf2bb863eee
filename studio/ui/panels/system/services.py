"""System > Services: the studio's background parts (background jobs, local API, trend scans,
community polling, webhooks) with their state and last activity, and Start / Stop / Restart as the
registry allows them (a refused action says why in its tooltip). Stopping asks first."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPushButton, QTableWidgetItem, QWidget

from studio.ui.panels.system.common import Page, ago, reason, service_label
from studio.ui.theme import COLORS, icon
from studio.ui.widgets.tables import list_table

COLUMNS = ("Service", "State", "Last activity", "Running for", "What it does")
REFRESH_MS = 5000
ACTION_ICONS = {"start": "mdi6.play", "stop": "mdi6.stop", "restart": "mdi6.restart"}


def short_duration(text: str | None) -> str:
    """The registry's '0 days, 2 hours, 5 minutes' as '2 h 5 min'."""
    if not text:
        return "–"
    parts = []
    for chunk in text.split(", "):
        value, _, unit = chunk.partition(" ")
        if value == "0" and parts == []:
            continue
        parts.append(f"{value} {'d' if unit.startswith('day') else 'h' if unit.startswith('hour') else 'min'}")
    return " ".join(parts) or "under a minute"


class ServicesPage(Page):
    def __init__(self, services: Any, host: Any, parent: QWidget | None = None) -> None:
        super().__init__(services, host, parent)
        self.rows: list[dict[str, Any]] = []
        explain = QLabel("The parts of the studio that work in the background. Stopping one pauses its work until "
                         "you start it again; nothing is lost.")
        explain.setObjectName("Muted")
        explain.setWordWrap(True)
        self.layout_.addWidget(explain)
        self.table = list_table(COLUMNS, word_wrap=False)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for col in range(4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.layout_.addWidget(self.table, 1)

        row = QHBoxLayout()
        self.selected_label = QLabel("Select a service to start, stop or restart it.")
        self.selected_label.setObjectName("Muted")
        self.selected_label.setWordWrap(True)
        row.addWidget(self.selected_label, 1)
        self.buttons: dict[str, QPushButton] = {}
        for action in ("start", "stop", "restart"):
            button = QPushButton(icon(ACTION_ICONS[action]), action.capitalize())
            button.setEnabled(False)
            button.clicked.connect(lambda _=False, a=action: self.control(a))
            self.buttons[action] = button
            row.addWidget(button)
        self.layout_.addLayout(row)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)

    def on_show(self) -> None:
        self.refresh()
        self.timer.start()

    def on_hide(self) -> None:
        self.timer.stop()

    def refresh(self) -> None:
        if not self.busy("the services"):
            self.read("the services", self.services.system.services.list, self._show)

    def _show(self, rows: list[dict[str, Any]]) -> None:
        self.show_message("")
        selected = self.selected()
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, entry in enumerate(rows):
            running = entry["status"] == "running"
            cells = (service_label(entry["name"]), "Running" if running else "Stopped",
                     ago(entry.get("last_activity"), "nothing yet"),
                     short_duration(entry.get("uptime")) if running else "–", entry.get("description") or "")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 1:
                    item.setForeground(QBrush(QColor(COLORS["success"] if running else COLORS["warning"])))
                if c == 4:
                    item.setToolTip(text)
                self.table.setItem(r, c, item)
        if selected is not None:
            for r, entry in enumerate(rows):
                if entry["name"] == selected["name"]:
                    self.table.selectRow(r)
        self._update_buttons()

    def selected(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows()
        return self.rows[rows[0].row()] if rows and rows[0].row() < len(self.rows) else None

    def select(self, name: str) -> None:
        for r, entry in enumerate(self.rows):
            if entry["name"] == name:
                self.table.selectRow(r)

    def _update_buttons(self) -> None:
        entry = self.selected()
        if entry is None:
            for button in self.buttons.values():
                button.setEnabled(False)
                button.setToolTip("")
            return
        label = service_label(entry["name"])
        running = entry["status"] == "running"
        self.selected_label.setText(f"{label}: {'running' if running else 'stopped'}")
        for action, button in self.buttons.items():
            what = (entry.get("actions") or {}).get(action)
            refused = (entry.get("refused_actions") or {}).get(action)
            if what is None:
                button.setEnabled(False)
                button.setToolTip(f"Cannot {action} {label}: {refused}" if refused else "")
            elif (action == "start" and running) or (action == "stop" and not running):
                button.setEnabled(False)
                button.setToolTip(f"{label} is already {'running' if running else 'stopped'}.")
            else:
                button.setEnabled(True)
                button.setToolTip(what[:1].upper() + what[1:])

    def control(self, action: str) -> None:
        entry = self.selected()
        if entry is None:
            return
        label = service_label(entry["name"])
        if action == "stop":
            what = (entry.get("actions") or {}).get("stop") or ""
            answer = QMessageBox.question(
                self, f"Stop {label}?", f"Stop {label}?\n\nIt will {what}." if what else f"Stop {label}?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                return
        try:
            outcome = self.services.system.services.control(entry["name"], action)
        except Exception as exc:  # refused or failed: the service says why
            QMessageBox.warning(self, f"Could not {action} {label}", reason(exc))
            self.refresh()
            return
        state = "running" if outcome.get("state") == "running" else "stopped"
        self.host.show_status(f"{label}: {action} done; it is {state} now")
        self.refresh()
