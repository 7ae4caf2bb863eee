"""System > Problems: recent failures as recorded (jobs that failed, API requests the studio
could not answer), with the details of the one selected."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QWidget,
)

from studio.ui.panels.system.common import Page, job_kind_label, local_time
from studio.ui.theme import icon
from studio.ui.widgets.tables import list_table

COLUMNS = ("Time", "What failed", "Message")
SOURCES = (("All problems", "all"), ("Failed jobs", "job"), ("Failed API requests", "request"))
LIMIT = 100
DETAIL_LABELS = {"title": "Job", "kind": "Kind", "stage": "Stopped at", "attempts": "Attempts",
                 "created_at": "Created", "started_at": "Started", "finished_at": "Finished", "params": "Settings",
                 "route": "Address", "method": "Method", "status": "Answer", "request_id": "Request id",
                 "latency_ms": "Took (ms)", "code": "Code"}


def what_failed(entry: dict[str, Any]) -> str:
    if entry.get("source") == "job":
        return f"Job: {job_kind_label(entry.get('kind') or '')}"
    return "API request"


def describe(detail: dict[str, Any]) -> str:
    lines = [f"{what_failed(detail)} — {local_time(detail.get('occurred_at'))}", "", detail.get("message") or ""]
    error = detail.get("error") or {}
    if isinstance(error.get("details"), dict) and error["details"]:
        lines += ["", *(f"{k}: {v}" for k, v in error["details"].items())]
    lines.append("")
    for key, label in DETAIL_LABELS.items():
        value = detail.get(key)
        if value in (None, "", {}):
            continue
        if key.endswith("_at"):
            value = local_time(value)
        elif key == "params":
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        lines.append(f"{label}: {value}")
    for entry in detail.get("log_entries") or []:
        lines += ["", f"Log ({local_time(entry.get('timestamp'))}): {entry.get('message')}"]
        exception = (entry.get("details") or {}).get("exception")
        if exception:
            lines.append(str(exception))
    return "\n".join(lines)


class ErrorsPage(Page):
    def __init__(self, services: Any, host: Any, parent: QWidget | None = None) -> None:
        super().__init__(services, host, parent)
        self.rows: list[dict[str, Any]] = []
        row = QHBoxLayout()
        self.source_combo = QComboBox()
        for label, value in SOURCES:
            self.source_combo.addItem(label, value)
        self.source_combo.currentIndexChanged.connect(lambda *_: self.refresh())
        self.count_label = QLabel("")
        self.count_label.setObjectName("Muted")
        self.refresh_button = QPushButton(icon("mdi6.refresh"), "Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        row.addWidget(self.source_combo)
        row.addWidget(self.count_label, 1)
        row.addWidget(self.refresh_button)
        self.layout_.addLayout(row)
        self.table = list_table(COLUMNS, word_wrap=False)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 150)
        self.table.setColumnWidth(1, 220)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.itemSelectionChanged.connect(self._selected)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select a problem to see what is known about it.")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        self.layout_.addWidget(splitter, 1)

    def on_show(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        source = self.source_combo.currentData()
        self.read("the problems", lambda: self.services.system.errors.list(source=source, limit=LIMIT), self._show)

    def _show(self, result: dict[str, Any]) -> None:
        self.show_message("")
        self.rows = list(result.get("errors") or [])
        self.table.setRowCount(len(self.rows))
        for r, entry in enumerate(self.rows):
            for c, text in enumerate((local_time(entry.get("occurred_at")), what_failed(entry),
                                      entry.get("message") or "")):
                item = QTableWidgetItem(text)
                if c == 2:
                    item.setToolTip(text)
                self.table.setItem(r, c, item)
        total = result.get("total", 0)
        self.count_label.setText(f"{total} recorded" if total else "No problems recorded.")
        self.details.clear()

    def _selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.rows):
            self.details.clear()
            return
        error_id = self.rows[rows[0].row()]["error_id"]
        self.details.setPlainText("Reading…")
        self.read("the problem's details", lambda: self.services.system.errors.get(error_id),
                  lambda detail: self.details.setPlainText(describe(detail)))
