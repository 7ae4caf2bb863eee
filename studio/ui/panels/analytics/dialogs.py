"""The Analytics panel's dialogs: the preview of a statement or export before it is imported (the
format it was read as, the days it covers, the columns it could and could not map, its first rows),
and the report export (type, sections, format)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import number

FORMAT_NAMES = {
    "youtube_studio_zip": "a YouTube Studio export (zip)", "youtube_studio_table": "YouTube Studio 'Table data'",
    "youtube_studio_chart": "YouTube Studio 'Chart data' (per video and day)",
    "youtube_studio_totals": "YouTube Studio daily totals", "spotify_audience": "a Spotify for Artists audience timeline",
    "spotify_songs": "a Spotify for Artists songs list", "spotify_song_timeline": "a Spotify for Artists song timeline",
    "distrokid_v1": "a DistroKid statement (older columns)", "distrokid_v2": "a DistroKid statement",
    "tunecore": "a TuneCore sales statement",
}


def format_name(fmt: str | None) -> str:
    return FORMAT_NAMES.get(str(fmt), str(fmt or "an unknown format").replace("_", " "))


class ImportPreview(QDialog):
    """What a file holds, before it is imported."""

    def __init__(self, preview: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Import {preview.get('file')}")
        self.resize(820, 480)
        layout = QVBoxLayout(self)
        window = preview.get("window") or {}
        rows = int(preview.get("rows") or 0)
        span = (f" covering {window.get('start')} to {window.get('end')}" if window.get("start") else "")
        text = (f"Read as {format_name(preview.get('format'))}{span}: {rows} row{'s' if rows != 1 else ''} of "
                f"figures for {preview.get('items', 0)} video(s) or song(s).")
        if preview.get("already_imported"):
            text += " <b>This file was imported before: importing it again changes nothing.</b>"
        self.summary = QLabel(text)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        unmapped = list(preview.get("unmapped") or [])
        self.unmapped = QLabel("Columns kept as they are (not used in figures): " + ", ".join(unmapped)
                               if unmapped else "Every column was recognised.")
        self.unmapped.setObjectName("Muted")
        self.unmapped.setWordWrap(True)
        layout.addWidget(self.unmapped)
        skipped = list(preview.get("skipped") or [])
        if skipped:
            note = QLabel("Skipped: " + "; ".join(skipped[:3]) + (" …" if len(skipped) > 3 else ""))
            note.setObjectName("Muted")
            note.setWordWrap(True)
            layout.addWidget(note)
        sample = list(preview.get("sample") or [])
        columns = ("Days", "What", "Platform", "Figures", "Revenue")
        self.table = QTableWidget(len(sample), len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        for r, row in enumerate(sample):
            days = row.get("start_day") or ""
            if row.get("end_day") and row.get("end_day") != days:
                days = f"{days} – {row['end_day']}"
            what = row.get("title") or ("the whole channel/account" if row.get("scope") == "total" else "–")
            figures = ", ".join(f"{k.replace('_', ' ')} {number(v)}" for k, v in (row.get("metrics") or {}).items())
            revenue = (f"{row['revenue']:.2f} {row.get('currency') or ''}".strip()
                       if row.get("revenue") is not None else "–")
            for c, value in enumerate((days, what, row.get("platform") or "–", figures or "–", revenue)):
                self.table.setItem(r, c, QTableWidgetItem(str(value)))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = buttons.addButton(f"Import {rows} row{'s' if rows != 1 else ''}",
                                               QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setObjectName("Primary")
        self.import_button.setEnabled(rows > 0 and not preview.get("already_imported"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class ExportDialog(QDialog):
    """Which report to make: type, sections, format (the period is the panel's)."""

    def __init__(self, available: dict[str, Any], period_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export a report")
        layout = QVBoxLayout(self)
        intro = QLabel(f"A report of the shown period ({period_label}). Every figure in it names its source; the "
                       "file is made in the background and offered for saving when it is ready.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.format_combo = QComboBox()
        for fmt, label in (("pdf", "PDF (tables and charts)"), ("csv", "CSV (spreadsheet)"), ("json", "JSON (data)")):
            if fmt in available.get("formats", ()):
                self.format_combo.addItem(label, fmt)
        form.addRow("Format", self.format_combo)
        layout.addLayout(form)
        self.section_boxes: dict[str, QCheckBox] = {}
        for section in available.get("sections", ()):
            box = QCheckBox(section["title"])
            box.setChecked(True)
            self.section_boxes[section["id"]] = box
            layout.addWidget(box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.make_button = buttons.addButton("Make report", QDialogButtonBox.ButtonRole.AcceptRole)
        self.make_button.setObjectName("Primary")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def choice(self) -> dict[str, Any]:
        return {"format": self.format_combo.currentData(),
                "sections": [k for k, box in self.section_boxes.items() if box.isChecked()]}
