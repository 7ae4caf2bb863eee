"""The preview of a chart file: the rows it parsed into, shown before they are imported."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import number

PREVIEW_ROWS = 200


def field(row: Any, name: str, default: Any = None) -> Any:
    """A field of a dict or of an object (a parsed chart entry)."""
    if isinstance(row, dict):
        return row.get(name, default)
    return getattr(row, name, default)


class ImportPreview(QDialog):
    """The rows a chart file parsed into, shown before they are imported."""

    def __init__(self, filename: str, rows: list[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Import {filename}")
        self.resize(760, 460)
        layout = QVBoxLayout(self)
        shown = rows[:PREVIEW_ROWS]
        summary = QLabel(f"{len(rows)} row{'s' if len(rows) != 1 else ''} read from {filename}"
                         + (f" (the first {len(shown)} shown)" if len(shown) < len(rows) else "")
                         + ". They are stored as imported from this file, next to what the enabled sources report.")
        summary.setWordWrap(True)
        layout.addWidget(summary)
        columns = ["rank", "title", "artist", "platform", "streams"]
        self.table = QTableWidget(len(shown), len(columns))
        self.table.setHorizontalHeaderLabels([c.capitalize() for c in columns])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        for r, row in enumerate(shown):
            metrics = field(row, "metrics") or {}
            chart = str(field(row, "chart") or "").split(":")
            platform = field(row, "platform") or (chart[2] if len(chart) > 2 else None) or field(row, "source")
            values = (field(row, "rank"), field(row, "title"), field(row, "artist"), platform,
                      metrics.get("streams", field(row, "streams")))
            for c, value in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem("" if value is None else
                                                          (number(value, 0) if c == 4 else str(value))))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = buttons.addButton(f"Import {len(rows)} rows", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setObjectName("Primary")
        self.import_button.setEnabled(bool(rows))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
