"""System > Logs: the studio's own log, newest at the bottom, with filters (level, part of the
studio, words, time range) and a Live mode that appends new entries every 2 s.

Reading the log files runs on the thread pool (`services.system.logs.entries`); the table only
ever gets rows appended (live) or prepended (older ones), so a row the user looks at stays put.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QBrush, QColor, QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QWidget,
)

from studio.timeutil import iso
from studio.ui.panels.system.common import Page, local_time, log_service_label
from studio.ui.theme import COLORS, icon
from studio.ui.widgets.debounce import debounce_timer
from studio.ui.widgets.tables import list_table

LEVEL_CHOICES = (("All levels", "all"), ("Info and above", "info"), ("Warnings and errors", "warning"),
                 ("Errors only", "error"))
RANGE_CHOICES = (("Last 15 minutes", 900), ("Last hour", 3600), ("Last 24 hours", 86400),
                 ("Last 7 days", 7 * 86400), ("Everything", 0))
# the studio's own parts, offered before any entry of theirs was read
KNOWN_SERVICES = ("music", "voices", "analysis", "trends", "community", "analytics", "system", "api", "jobs",
                  "database", "engine", "ui")
PAGE_SIZE = 300
LIVE_INTERVAL_MS = 2000
LEVEL_COLORS = {"error": COLORS["danger"], "critical": COLORS["danger"], "warning": COLORS["warning"],
                "debug": COLORS["muted"]}
COLUMNS = ("Time", "Level", "Part of the studio", "Message")


def entry_key(entry: dict[str, Any]) -> tuple:
    return entry["timestamp"], entry.get("logger"), entry["level"], entry["message"]


def describe(entry: dict[str, Any]) -> str:
    """An entry in full, as the details box shows it."""
    lines = [f"Time:     {local_time(entry['timestamp'])} (your time; {entry['timestamp']} UTC)",
             f"Level:    {entry['level'].capitalize()}",
             f"Part:     {log_service_label(entry['service'])}" + (f"  ({entry['logger']})" if entry.get("logger") else ""),
             "", entry["message"]]
    details = dict(entry.get("details") or {})
    exception = details.pop("exception", None)
    if details:
        lines += ["", "Details:"]
        for key, value in details.items():
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
            lines.append(f"  {key}: {text}")
    if exception:
        lines += ["", str(exception)]
    return "\n".join(lines)


class LogsPage(Page):
    def __init__(self, services: Any, host: Any, parent: QWidget | None = None) -> None:
        super().__init__(services, host, parent)
        self.entries: list[dict[str, Any]] = []  # oldest first, as the table shows them
        self.keys: set[tuple] = set()
        self.query: dict[str, Any] = {}
        self.has_more = False

        filters = QHBoxLayout()
        filters.setSpacing(8)
        self.level_combo = QComboBox()
        for label, value in LEVEL_CHOICES:
            self.level_combo.addItem(label, value)
        self.service_combo = QComboBox()
        self.service_combo.addItem("All parts", "all")
        for name in KNOWN_SERVICES:
            self.service_combo.addItem(log_service_label(name), name)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search messages (exact words)…")
        self.search_edit.setClearButtonEnabled(True)
        self.range_combo = QComboBox()
        for label, seconds in RANGE_CHOICES:
            self.range_combo.addItem(label, seconds)
        self.range_combo.setCurrentIndex(2)
        self.live_check = QCheckBox("Live")
        self.live_check.setToolTip("Add new entries as they are written (checked every 2 seconds)")
        self.refresh_button = QPushButton(icon("mdi6.refresh"), "Refresh")
        filters.addWidget(self.level_combo)
        filters.addWidget(self.service_combo)
        filters.addWidget(self.search_edit, 1)
        filters.addWidget(self.range_combo)
        filters.addWidget(self.live_check)
        filters.addWidget(self.refresh_button)
        self.layout_.addLayout(filters)

        self.table = list_table(COLUMNS, word_wrap=False)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 150)
        self.table.setColumnWidth(1, 80)
        self.table.setColumnWidth(2, 150)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select an entry to see it in full.")
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        self.layout_.addWidget(splitter, 1)

        footer = QHBoxLayout()
        self.count_label = QLabel("")
        self.count_label.setObjectName("Muted")
        self.older_button = QPushButton(icon("mdi6.arrow-up"), "Show older entries")
        self.older_button.setEnabled(False)
        self.older_button.clicked.connect(self.load_older)
        self.folder_button = QPushButton(icon("mdi6.folder-open"), "Open logs folder")
        self.folder_button.clicked.connect(self.open_folder)
        footer.addWidget(self.count_label, 1)
        footer.addWidget(self.older_button)
        footer.addWidget(self.folder_button)
        self.layout_.addLayout(footer)

        self.reload_timer = debounce_timer(self, 350, self.reload)
        for combo in (self.level_combo, self.service_combo, self.range_combo):
            combo.currentIndexChanged.connect(lambda *_: self.reload_timer.start())
        self.search_edit.textChanged.connect(lambda *_: self.reload_timer.start())
        self.refresh_button.clicked.connect(self.reload)
        self.live_timer = QTimer(self)
        self.live_timer.setInterval(LIVE_INTERVAL_MS)
        self.live_timer.timeout.connect(self.poll)
        self.live_check.toggled.connect(self._live_toggled)
        self.loaded_once = False

    # --- visibility -----------------------------------------------------------------------------
    def on_show(self) -> None:
        if not self.loaded_once:
            self.reload()
        else:
            self.poll()  # what was written meanwhile, appended
        if self.live_check.isChecked():
            self.live_timer.start()

    def on_hide(self) -> None:
        self.live_timer.stop()

    def _live_toggled(self, on: bool) -> None:
        if on and self.isVisible():
            self.poll()
            self.live_timer.start()
        else:
            self.live_timer.stop()

    # --- reading --------------------------------------------------------------------------------
    def filters(self) -> dict[str, Any]:
        seconds = self.range_combo.currentData()
        since = iso(datetime.now(timezone.utc) - timedelta(seconds=seconds)) if seconds else None
        text = self.search_edit.text().strip()
        return {"level": self.level_combo.currentData(), "service": self.service_combo.currentData(),
                "since": since, "contains": text or None}

    def reload(self) -> None:
        """Read the newest entries that pass the filters (replaces what is shown)."""
        self.loaded_once = True
        self.query = self.filters()
        query = dict(self.query)
        self.tasks.forget("new log entries")  # a tail read under the old filters is stale now
        self.read("the log", lambda: self.services.system.logs.entries(**query, limit=PAGE_SIZE), self._loaded)

    def _loaded(self, result: dict[str, Any]) -> None:
        self.show_message("")
        entries = list(reversed(result["logs"]))
        self.entries, self.keys = [], set()
        self.table.setRowCount(0)
        self.details.clear()
        self._append(entries)
        self.has_more = bool(result["has_more"])
        self.table.scrollToBottom()
        self._update_footer()

    def load_older(self) -> None:
        query = dict(self.query)
        offset = len(self.entries)
        self.read("older log entries",
                  lambda: self.services.system.logs.entries(**query, limit=PAGE_SIZE, offset=offset), self._older)

    def _older(self, result: dict[str, Any]) -> None:
        older = [e for e in reversed(result["logs"]) if entry_key(e) not in self.keys]
        self.has_more = bool(result["has_more"])
        if older:
            scroll = self.table.verticalScrollBar()
            from_bottom = scroll.maximum() - scroll.value()
            for index, entry in enumerate(older):
                self.table.insertRow(index)
                self._fill_row(index, entry)
                self.keys.add(entry_key(entry))
            self.entries[:0] = older
            scroll.setValue(scroll.maximum() - from_bottom)
        self._update_footer()

    def poll(self) -> None:
        """Live: read what was written since the newest entry shown and append it."""
        if not self.query or self.busy("the log") or self.busy("new log entries"):
            return
        query = dict(self.query)
        if self.entries:
            query["since"] = self.entries[-1]["timestamp"]
        self.read("new log entries", lambda: self.services.system.logs.entries(**query, limit=PAGE_SIZE), self._tail)

    def _tail(self, result: dict[str, Any]) -> None:
        new = [e for e in reversed(result["logs"]) if entry_key(e) not in self.keys]
        if not new:
            return
        scroll = self.table.verticalScrollBar()
        at_bottom = scroll.value() >= scroll.maximum() - 2
        self._append(new)
        if at_bottom:  # following the tail; a user who scrolled up keeps their place
            self.table.scrollToBottom()
        self._update_footer()

    # --- the table ------------------------------------------------------------------------------
    def _append(self, entries: list[dict[str, Any]]) -> None:
        start = self.table.rowCount()
        self.table.setRowCount(start + len(entries))
        for offset, entry in enumerate(entries):
            self._fill_row(start + offset, entry)
            self.keys.add(entry_key(entry))
        self.entries.extend(entries)

    def _fill_row(self, row: int, entry: dict[str, Any]) -> None:
        service = entry["service"]
        if self.service_combo.findData(service) < 0:
            self.service_combo.addItem(log_service_label(service), service)
        first_line = entry["message"].splitlines()[0] if entry["message"] else ""
        cells = (local_time(entry["timestamp"]), entry["level"].capitalize(), log_service_label(service), first_line)
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if col == 1 and entry["level"] in LEVEL_COLORS:
                item.setForeground(QBrush(QColor(LEVEL_COLORS[entry["level"]])))
            if col == 3:
                item.setToolTip(entry["message"][:500])
            self.table.setItem(row, col, item)

    def selected_entry(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows()
        return self.entries[rows[0].row()] if rows else None

    def _show_selected(self) -> None:
        entry = self.selected_entry()
        self.details.setPlainText(describe(entry) if entry else "")

    def _update_footer(self) -> None:
        count = len(self.entries)
        if count:
            self.count_label.setText(f"{count} entr{'ies' if count != 1 else 'y'} shown"
                                     + (" · older ones exist" if self.has_more else ""))
        else:
            self.count_label.setText("No entries match these filters." if self.query.get("contains")
                                     or self.query.get("level") not in (None, "all")
                                     or self.query.get("service") not in (None, "all")
                                     else "Nothing was logged in this time range.")
        self.older_button.setEnabled(self.has_more)

    def open_folder(self) -> None:
        folder = self.services.system.logs.path.parent
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

