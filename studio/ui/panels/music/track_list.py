"""The Library's list: the filter row (search, style, tag, date, sort) and the track table.

A row dragged out of the window carries the track's best audio file as a file URL (the panel says
which file, `mime_data`), so dropping it on a desktop, a file manager or a DAW copies the file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import when
from studio.ui.theme import COLORS, icon
from studio.ui.widgets.player_bar import format_time

COLUMNS = ("Title", "Style", "BPM", "Length", "Created")
# Date filter: label -> days back (0 = any time).
DATE_FILTERS = (("Any time", 0), ("Today", 1), ("Last 7 days", 7), ("Last 30 days", 30), ("Last year", 365))
# column -> list_tracks sort_by
SORT_COLUMNS = {0: "title", 1: "style", 2: "tempo", 3: "duration", 4: "created_at"}
SORTS = (
    ("Newest first", "created_at", True), ("Oldest first", "created_at", False),
    ("Title A–Z", "title", False), ("Title Z–A", "title", True),
    ("Longest", "duration", True), ("Shortest", "duration", False),
    ("Fastest", "tempo", True), ("Slowest", "tempo", False),
    ("Style A–Z", "style", False), ("Style Z–A", "style", True),
)


class TrackFilters(QWidget):
    """Search, style, tag, date and sort, and the count of what is shown."""

    changed = Signal()  # a filter changed: the list reloads
    search_changed = Signal()  # typing: the list reloads after a pause
    sort_changed = Signal()

    def __init__(self, styles: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search titles, prompts and styles (Ctrl+F)")
        self.search_edit.addAction(icon("mdi6.magnify", COLORS["muted"]), QLineEdit.ActionPosition.LeadingPosition)
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(lambda _t: self.search_changed.emit())
        self.style_filter = QComboBox()
        self.style_filter.addItem("All styles", "")
        for style in sorted(styles.values(), key=lambda s: s.name.lower()):
            self.style_filter.addItem(style.name, style.id)
        self.style_filter.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.tag_filter = QComboBox()
        self.tag_filter.setToolTip("Only tracks with this tag (tags are set with Edit…)")
        self.tag_filter.addItem("All tags", "")
        self.tag_filter.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.date_filter = QComboBox()
        for label, days in DATE_FILTERS:
            self.date_filter.addItem(label, days)
        self.date_filter.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.sort_combo = QComboBox()
        for label, sort_by, descending in SORTS:
            self.sort_combo.addItem(label, (sort_by, descending))
        self.sort_combo.currentIndexChanged.connect(lambda _i: self.sort_changed.emit())
        self.count_label = QLabel()
        self.count_label.setObjectName("Muted")
        row.addWidget(self.search_edit, 1)
        row.addWidget(self.style_filter)
        row.addWidget(self.tag_filter)
        row.addWidget(self.date_filter)
        row.addWidget(self.sort_combo)
        row.addWidget(self.count_label)

    def set_tags(self, tags: list[str]) -> None:
        """Offer every tag in use; keep the chosen one even if no track carries it any more."""
        chosen = self.tag_filter.currentData() or ""
        if chosen and chosen not in tags:
            tags.append(chosen)
        current = [self.tag_filter.itemData(i) for i in range(1, self.tag_filter.count())]
        if current == tags:
            return
        self.tag_filter.blockSignals(True)
        self.tag_filter.clear()
        self.tag_filter.addItem("All tags", "")
        for tag in tags:
            self.tag_filter.addItem(f"#{tag}", tag)
        self.tag_filter.setCurrentIndex(max(0, self.tag_filter.findData(chosen)))
        self.tag_filter.blockSignals(False)


class TrackTable(QTableWidget):
    """The track list; a row dragged out carries the track's audio file as a file URL."""

    def __init__(self, mime_data: Callable[[str], QMimeData | None], no_file: Callable[[], None],
                 rows: int, columns: int) -> None:
        super().__init__(rows, columns)
        self.mime_data = mime_data  # track id -> what a drag of it carries (None: it has no audio file)
        self.no_file = no_file  # said when a row without a file is dragged
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.last_drag: QDrag | None = None

    def mimeData(self, items) -> QMimeData:  # noqa: N802 (Qt's name)
        track_id = items[0].data(Qt.ItemDataRole.UserRole) if items else None
        data = self.mime_data(track_id) if track_id else None
        return data if data is not None else QMimeData()

    def startDrag(self, supported_actions) -> None:  # noqa: N802
        rows = self.selectionModel().selectedRows()
        if not rows:
            return
        track_id = self.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
        data = self.mime_data(track_id)
        if data is None:
            self.no_file()
            return
        drag = QDrag(self)
        drag.setMimeData(data)
        drag.setPixmap(icon("mdi6.file-music-outline").pixmap(32, 32))
        self.last_drag = drag
        drag.exec(Qt.DropAction.CopyAction)


class TrackList(QStackedWidget):
    """The table, or a note when nothing is there."""

    def __init__(self, mime_data: Callable[[str], QMimeData | None], no_file: Callable[[], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = TrackTable(mime_data, no_file, 0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(28)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(4, Qt.SortOrder.DescendingOrder)
        header.setSectionsClickable(True)
        self.table.setMinimumWidth(360)
        self.list_empty = QLabel()
        self.list_empty.setObjectName("Muted")
        self.list_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.list_empty.setWordWrap(True)
        empty_frame = QFrame()
        empty_frame.setObjectName("EmptyState")
        empty_layout = QVBoxLayout(empty_frame)
        glyph = QLabel()
        glyph.setPixmap(icon("mdi6.bookshelf", COLORS["muted"]).pixmap(40, 40))
        glyph.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty_layout.addStretch(1)
        empty_layout.addWidget(glyph)
        empty_layout.addWidget(self.list_empty)
        empty_layout.addStretch(1)
        self.addWidget(self.table)
        self.addWidget(empty_frame)

    def fill(self, tracks: list[dict[str, Any]], style_names: dict[str, str], *, filtered: bool) -> None:
        """One row per track (signals blocked: filling is not a selection), or the empty state."""
        self.table.blockSignals(True)
        self.table.setRowCount(len(tracks))
        for row, track in enumerate(tracks):
            created = when(track["created_at"], "")
            cells = [track["title"], style_names.get(track["style"], track["style"]), f"{track['tempo_bpm']:.0f}",
                     format_time(track["duration_s"]), created[:10]]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, track["id"])
                if col in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if col == 0:
                    item.setToolTip(f"{track['title']}\n{track.get('prompt') or ''}".strip())
                elif col == 4:
                    item.setToolTip(created)
                self.table.setItem(row, col, item)
        self.table.blockSignals(False)
        if tracks:
            self.setCurrentWidget(self.table)
        else:
            self.list_empty.setText("No track matches this search or style." if filtered else
                                    "No tracks yet.\nTracks you generate in Create appear here as soon as they are done.")
            self.setCurrentIndex(1)

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)

    def set_sort_indicator(self, sort_by: str, descending: bool) -> None:
        col = next((c for c, s in SORT_COLUMNS.items() if s == sort_by), -1)
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        self.table.horizontalHeader().setSortIndicator(col, order)
