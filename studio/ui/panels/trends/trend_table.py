"""The current trends: the platform filter, the sortable table (best score first until the user
sorts) and, when there is nothing to show, a line saying what to do."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import when
from studio.ui.panels.trends.common import age_text, growth_text, platform_label
from studio.ui.theme import COLORS

TREND_COLUMNS = ("Platform", "Title", "Artist", "Score", "Growth/h", "Age")
LEVEL_COLORS = {"HIGH": COLORS["success"], "MEDIUM": COLORS["warning"], "LOW": COLORS["muted"]}
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


class SortItem(QTableWidgetItem):
    """A cell that sorts by the number stored under SORT_ROLE (missing values last), not its text."""

    def __init__(self, text: str, key: float | str | None = None) -> None:
        super().__init__(text)
        self.setData(SORT_ROLE, key)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if mine is None or theirs is None:
            if (mine is None) != (theirs is None):
                return theirs is None  # a value before a missing one
            return self.text() < other.text()  # (QTableWidgetItem.__lt__ would call back here)
        try:
            return mine < theirs
        except TypeError:
            return str(mine) < str(theirs)


class TrendTable(QGroupBox):
    """The platform filter, the table of trends and the empty state."""

    platform_changed = Signal()  # the filter changed: the panel reads the trends again
    trend_selected = Signal(str)  # a trend's id, when the user selects its row

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Current trends", parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        row = QHBoxLayout()
        self.platform_combo = QComboBox()
        self.platform_combo.addItem("All platforms", "all")
        self.platform_combo.currentIndexChanged.connect(lambda _i: self.platform_changed.emit())
        row.addWidget(self.platform_combo)
        self.trend_count = QLabel("")
        self.trend_count.setObjectName("Muted")
        row.addWidget(self.trend_count, 1)
        layout.addLayout(row)

        self.trend_stack = QStackedWidget()
        self.trend_table = QTableWidget(0, len(TREND_COLUMNS))
        self.trend_table.setHorizontalHeaderLabels(TREND_COLUMNS)
        self.trend_table.verticalHeader().setVisible(False)
        self.trend_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.trend_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.trend_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.trend_table.setAlternatingRowColors(True)
        self.trend_table.setSortingEnabled(True)
        self.trend_table.setMinimumHeight(260)
        header = self.trend_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        self.trend_table.setColumnWidth(2, 120)
        self.trend_table.horizontalHeaderItem(4).setToolTip(
            "Change per hour between the two latest scans: of the source's own count (views, plays) where it "
            "gives one, else of the chart position (places climbed)")
        self.trend_table.itemSelectionChanged.connect(self._trend_selected)
        self.trend_stack.addWidget(self.trend_table)
        self.trend_empty = QLabel("")
        self.trend_empty.setObjectName("Muted")
        self.trend_empty.setWordWrap(True)
        self.trend_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.trend_empty.setTextFormat(Qt.TextFormat.RichText)
        self.trend_stack.addWidget(self.trend_empty)
        layout.addWidget(self.trend_stack, 1)

    def platform(self) -> str:
        return self.platform_combo.currentData() or "all"

    def fill_platforms(self, names: list[str]) -> None:
        combo = self.platform_combo
        current = combo.currentData()
        wanted = [n for n in names if not n.startswith("feed:")] + ["import"]
        if [combo.itemData(i) for i in range(1, combo.count())] == wanted:
            return
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("All platforms", "all")
        for name in wanted:
            combo.addItem(platform_label(name), name)
        combo.setCurrentIndex(max(0, combo.findData(current)))
        combo.blockSignals(False)

    def show_trends(self, trends: list[dict[str, Any]], selected: str | None, count_text: str,
                    empty_text: str) -> None:
        """Fill the table with `trends`, keeping `selected` selected; `empty_text` shows when there are none."""
        table = self.trend_table
        table.blockSignals(True)
        table.setSortingEnabled(False)
        table.clearContents()
        table.setRowCount(len(trends))
        now = datetime.now(timezone.utc)
        for r, trend in enumerate(trends):
            score = trend.get("viral_score")
            growth = trend.get("growth_rate")
            age, hours = age_text(trend.get("first_seen"), now)
            platforms = trend.get("platforms") or [trend.get("platform")]
            reasons = trend.get("reasons") or {}
            cells = (
                SortItem(platform_label(trend.get("platform")) + (f" +{len(platforms) - 1}" if len(platforms) > 1
                                                                  else ""), platform_label(trend.get("platform"))),
                SortItem(trend.get("title") or "", (trend.get("title") or "").lower()),
                SortItem(trend.get("artist") or "", (trend.get("artist") or "").lower()),
                SortItem("–" if score is None else f"{float(score):.0f}", None if score is None else float(score)),
                SortItem(growth_text(growth, trend.get("growth_unit")), None if growth is None else float(growth)),
                SortItem(age, hours),
            )
            cells[0].setToolTip(", ".join(platform_label(p) for p in platforms))
            full = (trend.get("title") or "") + (f" — {trend['artist']}" if trend.get("artist") else "")
            cells[1].setToolTip(full)
            cells[2].setToolTip(full)
            cells[3].setToolTip(f"opportunity {trend.get('opportunity_level') or '–'}"
                                + (f" · {reasons['viral_score']}" if reasons.get("viral_score") else ""))
            if trend.get("opportunity_level") in LEVEL_COLORS:
                cells[3].setForeground(QColor(LEVEL_COLORS[trend["opportunity_level"]]))
            cells[4].setToolTip(trend.get("growth_basis") or reasons.get("growth_rate") or "")
            cells[5].setToolTip(f"first seen {when(trend.get('first_seen'))}")
            for c, item in enumerate(cells):
                item.setData(Qt.ItemDataRole.UserRole, trend["id"])
                if c in (3, 4, 5):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(r, c, item)
        table.setSortingEnabled(True)
        if table.horizontalHeader().sortIndicatorSection() >= len(TREND_COLUMNS) or not self._sorted_once:
            table.sortItems(3, Qt.SortOrder.DescendingOrder)
            self._sorted_once = True
        for r in range(table.rowCount()):
            if table.item(r, 0).data(Qt.ItemDataRole.UserRole) == selected:
                table.selectRow(r)
        table.blockSignals(False)
        self.trend_count.setText(count_text)
        if trends:
            self.trend_stack.setCurrentWidget(self.trend_table)
        else:
            self.trend_empty.setText(empty_text)
            self.trend_stack.setCurrentWidget(self.trend_empty)

    _sorted_once = False

    def trend_ids(self) -> list[str]:
        return [self.trend_table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(self.trend_table.rowCount())]

    def select_trend(self, trend_id: str) -> bool:
        for r in range(self.trend_table.rowCount()):
            if self.trend_table.item(r, 0).data(Qt.ItemDataRole.UserRole) == trend_id:
                self.trend_table.selectRow(r)
                return True
        return False

    def _trend_selected(self) -> None:
        items = self.trend_table.selectedItems()
        if items:
            self.trend_selected.emit(items[0].data(Qt.ItemDataRole.UserRole))
