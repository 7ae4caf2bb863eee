"""The Analytics panel's drill-down tables: content ranked by what it earned or drew (sortable,
searchable, with the insights and their sample sizes), and the links between imported items and the
library (confirm, reject or remove a suggested match)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import number
from studio.ui.panels.analytics.overview import ORIGIN_NAMES
from studio.ui.theme import icon
from studio.ui.widgets.tables import list_table


class NumberItem(QTableWidgetItem):
    """A cell that sorts by its number, not its text ("–" sorts lowest)."""

    def __init__(self, value: float | None, text: str) -> None:
        super().__init__(text)
        self.value = float(value) if value is not None else float("-inf")
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        return self.value < getattr(other, "value", float("-inf"))


class ContentPage(QWidget):
    changed = Signal()  # search text or origin changed: the panel reads the content again

    COLUMNS = ("Title", "Made by", "Views", "Engagement %", "Revenue", "Platforms")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        filters = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search titles…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.changed)
        self.origin = QComboBox()
        self.origin.addItem("Everything", None)
        for key, name in ORIGIN_NAMES.items():
            if key != "unattributed":
                self.origin.addItem(name.capitalize(), key)
        self.origin.currentIndexChanged.connect(self.changed)
        filters.addWidget(self.search, 1)
        filters.addWidget(self.origin)
        layout.addLayout(filters)
        self.table = list_table(self.COLUMNS, word_wrap=False)
        self.table.setSortingEnabled(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.empty = QLabel("")
        self.empty.setObjectName("Muted")
        self.empty.setWordWrap(True)
        layout.addWidget(self.empty)
        self.insights = QLabel("")
        self.insights.setTextFormat(Qt.TextFormat.RichText)
        self.insights.setWordWrap(True)
        layout.addWidget(self.insights)

    def filters(self) -> dict[str, Any]:
        return {"q": self.search.text().strip() or None, "origin": self.origin.currentData()}

    def show_content(self, content: dict[str, Any], currency: str | None) -> None:
        rows = list(content.get("top_performing") or [])
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(rows))
        for r, entry in enumerate(rows):
            title = QTableWidgetItem(entry.get("title") or "–")
            title.setToolTip("Linked to your library" if entry.get("linked") else
                             "Not linked to anything the studio made (confirm a match under Links)")
            self.table.setItem(r, 0, title)
            made_by = "not linked" if entry.get("type") == "unattributed" else ORIGIN_NAMES.get(entry.get("type"))
            self.table.setItem(r, 1, QTableWidgetItem(made_by or str(entry.get("type"))))
            self.table.setItem(r, 2, NumberItem(entry.get("views"), number(entry.get("views"), 1)))
            engagement = entry.get("engagement")
            self.table.setItem(r, 3, NumberItem(engagement, f"{engagement:.2f}" if engagement is not None else "–"))
            revenue = entry.get("revenue")
            self.table.setItem(r, 4, NumberItem(revenue, f"{revenue:,.2f} {currency or ''}".strip()
                                                if revenue is not None else "–"))
            self.table.setItem(r, 5, QTableWidgetItem(", ".join(entry.get("platforms") or [])))
        self.table.setSortingEnabled(True)
        # best first: by revenue where there is any, else by views (the service's "performance" order)
        by_revenue = any(e.get("revenue") for e in rows)
        self.table.sortItems(4 if by_revenue else 2, Qt.SortOrder.DescendingOrder)
        reasons = content.get("reasons") or {}
        self.empty.setText(reasons.get("top_performing", "") if not rows else "")
        self.empty.setVisible(not rows)
        self.insights.setText(insights_html(content.get("performance_insights") or {}))


def insights_html(insights: dict[str, Any]) -> str:
    details = insights.get("details") or {}
    parts = []
    for key, label in (("best_genres", "Best genres"), ("optimal_duration", "Length that does best"),
                       ("peak_upload_times", "Best publish hours (UTC)"), ("engagement_factors", "What lifts engagement")):
        value = insights.get(key)
        info = details.get(key) or {}
        shown = ", ".join(value) if isinstance(value, list) else (value or "")
        if shown:
            parts.append(f"<b>{label}:</b> {shown} <span style='color:gray'>(from {info.get('sample_size', 0)} "
                         f"items; {info.get('basis', '')})</span>")
        elif info.get("reason"):
            parts.append(f"<b>{label}:</b> <span style='color:gray'>{info['reason']}</span>")
    return "<br>".join(parts)


class LinksPage(QWidget):
    changed = Signal()
    confirm_requested = Signal(int)
    reject_requested = Signal(int)
    unlink_requested = Signal(int)

    COLUMNS = ("Imported as", "Platform", "ISRC / video", "Matched to", "Match", "Status")
    STATUS_NAMES = {"suggested": "to confirm", "confirmed": "linked", "none": "not linked", "rejected": "rejected"}

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items: list[dict[str, Any]] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        intro = QLabel("Imported videos and songs are matched to your library by video id, ISRC or title. A title "
                       "match is only a suggestion: confirm it, and its figures count for what the studio made. "
                       "Unlinked rows still count, as unattributed.")
        intro.setObjectName("Muted")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        filters = QHBoxLayout()
        self.status = QComboBox()
        self.status.addItem("To confirm", "suggested")
        self.status.addItem("Linked", "confirmed")
        self.status.addItem("Not linked", "none")
        self.status.addItem("Rejected", "rejected")
        self.status.addItem("All", None)
        self.status.currentIndexChanged.connect(self.changed)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search titles, ISRCs, video ids…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.changed)
        filters.addWidget(self.status)
        filters.addWidget(self.search, 1)
        layout.addLayout(filters)
        self.table = list_table(self.COLUMNS, word_wrap=False)
        self.table.setSortingEnabled(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection)
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.summary = QLabel("")
        self.summary.setObjectName("Muted")
        buttons.addWidget(self.summary, 1)
        self.confirm_button = QPushButton(icon("mdi6.link-variant"), "Confirm match")
        self.confirm_button.setObjectName("Primary")
        self.reject_button = QPushButton(icon("mdi6.link-variant-off"), "Not this track")
        self.unlink_button = QPushButton("Remove link")
        for button, signal in ((self.confirm_button, self.confirm_requested), (self.reject_button, self.reject_requested),
                               (self.unlink_button, self.unlink_requested)):
            button.setEnabled(False)
            button.clicked.connect(lambda _=False, s=signal: self._emit(s))
            buttons.addWidget(button)
        layout.addLayout(buttons)

    def filters(self) -> dict[str, Any]:
        return {"status": self.status.currentData(), "q": self.search.text().strip() or None}

    def selected(self) -> dict[str, Any] | None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        item_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return next((i for i in self.items if i["id"] == item_id), None)

    def _emit(self, signal) -> None:
        item = self.selected()
        if item is not None:
            signal.emit(int(item["id"]))

    def _selection(self) -> None:
        item = self.selected()
        status = item.get("link_status") if item else None
        self.confirm_button.setEnabled(status == "suggested")
        self.reject_button.setEnabled(status == "suggested")
        self.unlink_button.setEnabled(status in ("confirmed", "rejected"))

    def show_items(self, total: int, items: list[dict[str, Any]]) -> None:
        self.items = list(items)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.items))
        for r, item in enumerate(self.items):
            first = QTableWidgetItem(item.get("title") or item.get("external_id") or "–")
            first.setData(Qt.ItemDataRole.UserRole, item["id"])
            self.table.setItem(r, 0, first)
            self.table.setItem(r, 1, QTableWidgetItem(item.get("platform") or "–"))
            self.table.setItem(r, 2, QTableWidgetItem(item.get("isrc") or item.get("external_id") or "–"))
            self.table.setItem(r, 3, QTableWidgetItem(item.get("linked_title") or "–"))
            score = item.get("link_score")
            method = item.get("link_method") or ""
            self.table.setItem(r, 4, NumberItem(score, f"{method} {score * 100:.0f}%" if score is not None else method))
            self.table.setItem(r, 5, QTableWidgetItem(self.STATUS_NAMES.get(item.get("link_status"), "")))
        self.table.setSortingEnabled(True)
        self.summary.setText(f"{len(self.items)} of {total}" if total else "Nothing here")
        self._selection()
