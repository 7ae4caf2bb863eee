"""The sources: each one's status, on/off and counts; the user's own key for Last.fm and YouTube
(write-only: typed, stored, never shown back); feed URLs to add.

The box only shows; the panel calls the service when the user asks (its signals)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import number, when
from studio.ui.panels.trends.common import ago, platform_label
from studio.ui.theme import COLORS, icon

SOURCE_COLUMNS = ("On", "Source", "Status", "Last scan", "Items", "Quota left", "Key")
STATUS_TEXT_COLORS = {"ok": COLORS["success"], "scanning": COLORS["accent"], "error": COLORS["danger"],
                      "idle": COLORS["text"], "disabled": COLORS["muted"]}


class SourcesBox(QGroupBox):
    """The sources table, the key row and the feed row."""

    enable_toggled = Signal(str, bool)  # a source's name, on or off
    save_key_requested = Signal()
    clear_key_requested = Signal()
    add_feed_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Sources", parent)
        self.sources: list[dict[str, Any]] = []  # the rows shown, as the panel read them
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        self.sources_table = QTableWidget(0, len(SOURCE_COLUMNS))
        self.sources_table.setHorizontalHeaderLabels(SOURCE_COLUMNS)
        self.sources_table.verticalHeader().setVisible(False)
        self.sources_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.sources_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.sources_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sources_table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sources_table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.sources_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # a long name elides (tooltip has it)
        self.sources_table.itemSelectionChanged.connect(self._source_selected)
        layout.addWidget(self.sources_table, 1)

        key_row = QHBoxLayout()
        key_row.setSpacing(6)
        self.key_caption = QLabel("Key")
        self.key_caption.setObjectName("Muted")
        key_row.addWidget(self.key_caption)
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("Select Last.fm or YouTube, paste your own API key")
        self.key_edit.returnPressed.connect(self.save_key_requested)
        key_row.addWidget(self.key_edit, 1)
        self.key_save_button = QPushButton(icon("mdi6.key-plus"), "Save key")
        self.key_save_button.clicked.connect(lambda: self.save_key_requested.emit())
        key_row.addWidget(self.key_save_button)
        self.key_clear_button = QPushButton(icon("mdi6.key-remove"), "Remove")
        self.key_clear_button.setToolTip("Forget the stored key of the selected source")
        self.key_clear_button.clicked.connect(lambda: self.clear_key_requested.emit())
        key_row.addWidget(self.key_clear_button)
        layout.addLayout(key_row)
        self.key_state = QLabel("")
        self.key_state.setObjectName("Muted")
        self.key_state.setWordWrap(True)
        layout.addWidget(self.key_state)

        feed_row = QHBoxLayout()
        feed_row.setSpacing(6)
        self.feed_edit = QLineEdit()
        self.feed_edit.setPlaceholderText("Any RSS/Atom feed URL, e.g. a YouTube channel's uploads feed")
        self.feed_edit.returnPressed.connect(self.add_feed_requested)
        feed_row.addWidget(self.feed_edit, 1)
        self.feed_button = QPushButton(icon("mdi6.rss"), "Add feed")
        self.feed_button.clicked.connect(lambda: self.add_feed_requested.emit())
        feed_row.addWidget(self.feed_button)
        layout.addLayout(feed_row)
        self._source_selected()

    def show_sources(self, sources: list[dict[str, Any]]) -> None:
        """One row per source, keeping the selected one selected."""
        self.sources = sources
        selected = self.selected_source()
        selected_name = selected["name"] if selected else None
        table = self.sources_table
        table.blockSignals(True)
        table.setRowCount(len(self.sources))
        for r, source in enumerate(self.sources):
            check = QCheckBox()
            check.setChecked(bool(source.get("enabled")))
            check.setToolTip(f"Read {source.get('label') or source['name']} when scanning")
            check.toggled.connect(lambda on, name=source["name"]: self.enable_toggled.emit(name, on))
            holder = QWidget()
            holder_layout = QHBoxLayout(holder)
            holder_layout.setContentsMargins(6, 0, 6, 0)
            holder_layout.addWidget(check)
            table.setCellWidget(r, 0, holder)
            status = str(source.get("status") or "idle")
            status_text = status if not source.get("error") else f"{status}: {source['error']}"
            quota = source.get("api_quota_remaining")
            if source.get("needs_key"):
                key_text = "key stored" if source.get("has_key") else "no key"
            else:
                key_text = "not needed"
            values = (source.get("label") or platform_label(source["name"]), status_text,
                      ago(source.get("last_scan")), number(source.get("items_last_scan"), 0),
                      number(quota, 0) if quota is not None else "–", key_text)
            for c, value in enumerate(values, start=1):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, source["name"])
                if c == 1:
                    item.setToolTip(f"{value} ({source['name']})" + (f"\n{source['url']}" if source.get("url") else ""))
                elif c == 3:
                    item.setToolTip(when(source.get("last_scan")))
                elif c == 2:
                    item.setForeground(QColor(STATUS_TEXT_COLORS.get(status, COLORS["text"])))
                    item.setToolTip(status_text + (f"\nerror rate {source['error_rate'] * 100:.0f}% of the last scans"
                                                   if source.get("error_rate") is not None else ""))
                elif c == 5:
                    item.setToolTip(source.get("quota_basis") or "")
                elif c == 6 and source.get("needs_key") and not source.get("has_key"):
                    item.setForeground(QColor(COLORS["warning"]))
                table.setItem(r, c, item)
            if source["name"] == selected_name:
                table.selectRow(r)
        table.blockSignals(False)
        # As tall as its rows: the page scrolls, not the table.
        rows_h = sum(table.rowHeight(r) for r in range(table.rowCount())) or table.verticalHeader().defaultSectionSize()
        table.setFixedHeight(table.horizontalHeader().height() + rows_h + 2 * table.frameWidth() + 2)
        self._source_selected()

    def selected_source(self) -> dict[str, Any] | None:
        items = self.sources_table.selectedItems()
        if not items:
            return None
        name = items[0].data(Qt.ItemDataRole.UserRole)
        return next((s for s in self.sources if s["name"] == name), None)

    def select_source(self, name: str) -> bool:
        for r, source in enumerate(self.sources):
            if source["name"] == name:
                self.sources_table.selectRow(r)
                return True
        return False

    def _source_selected(self) -> None:
        source = self.selected_source()
        keyed = bool(source and source.get("needs_key"))
        for widget in (self.key_edit, self.key_save_button):
            widget.setEnabled(keyed)
        self.key_clear_button.setEnabled(bool(keyed and source.get("has_key")))
        self.key_edit.setPlaceholderText(
            f"Paste your own {platform_label(source['name'])} API key" if keyed
            else "Select Last.fm or YouTube to enter a key")
        if not keyed:
            self.key_caption.setText("Key")
            self.key_state.setText("Last.fm and YouTube read with your own API key: select one to enter it. "
                                   "Deezer, Apple Music and feeds need none." if source is None or not source
                                   else f"{source.get('label') or platform_label(source['name'])} needs no key.")
            return
        label = source.get("label") or platform_label(source["name"])
        self.key_caption.setText(f"{label} key")
        if source.get("has_key"):
            masked = source.get("key_masked") or source.get("masked_key") or ""
            self.key_state.setText(f"Key stored{f' ({masked})' if masked else ''}. Typing a new one replaces it; "
                                   "it is never shown again.")
        else:
            hint = source.get("key_hint")
            self.key_state.setText(f"No key stored: {label} stays off until you paste your own API key here"
                                   + (f" ({hint})." if hint else "."))

