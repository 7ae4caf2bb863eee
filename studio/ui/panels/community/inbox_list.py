"""The inbox: the filters (platform, needs a reply, mentions, sentiment, search), the messages
newest first, and, when there is nothing to show, a line saying what to connect or import.

The box only shows and signals; the panel reads `services.community.inbox` with `filters()`."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import when
from studio.ui.panels.community.common import (
    SENTIMENT_COLORS,
    ago,
    platform_icon,
    platform_label,
    snippet,
)
from studio.ui.theme import COLORS, icon
from studio.ui.widgets.debounce import debounce_timer
from studio.ui.widgets.tables import list_table

INBOX_COLUMNS = ("", "From", "Message", "Sentiment", "When")
SEARCH_DELAY_MS = 300
ID_ROLE = Qt.ItemDataRole.UserRole


class InboxList(QGroupBox):
    """Filters, the messages table and the empty state."""

    filters_changed = Signal()  # the panel reads the inbox again
    message_selected = Signal(str)  # a message's id
    more_requested = Signal()  # "Show more": the next page

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Inbox", parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)

        row = QHBoxLayout()
        row.setSpacing(6)
        self.platform_combo = QComboBox()
        self.platform_combo.addItem("All platforms", None)
        for name in ("discord", "telegram", "youtube"):
            self.platform_combo.addItem(platform_label(name), name)
        self.platform_combo.currentIndexChanged.connect(lambda _i: self.filters_changed.emit())
        row.addWidget(self.platform_combo)
        self.needs_reply_button = self._toggle("Needs reply", "mdi6.reply-outline",
                                               "Only messages addressed to you that nobody has answered yet")
        row.addWidget(self.needs_reply_button)
        self.mentions_button = self._toggle("Mentions", "mdi6.at",
                                            "Only messages addressed to you: a mention of your bot, a reply to it, a "
                                            "direct message, a comment on your video")
        row.addWidget(self.mentions_button)
        self.sentiment_combo = QComboBox()
        self.sentiment_combo.addItem("Any sentiment", None)
        for label in ("positive", "neutral", "negative"):
            self.sentiment_combo.addItem(label.capitalize(), label)
        self.sentiment_combo.setToolTip("The sentiment read from the text (or the label you set on a message)")
        self.sentiment_combo.currentIndexChanged.connect(lambda _i: self.filters_changed.emit())
        row.addStretch(1)
        layout.addLayout(row)

        search_row = QHBoxLayout()
        search_row.setSpacing(6)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search text or author (Ctrl+F)")
        self.search_edit.setClearButtonEnabled(True)
        self.search_timer = debounce_timer(self, SEARCH_DELAY_MS, self.filters_changed.emit)
        self.search_edit.textChanged.connect(lambda _t: self.search_timer.start())
        search_row.addWidget(self.search_edit, 1)
        search_row.addWidget(self.sentiment_combo)
        self.member_chip = QPushButton(icon("mdi6.close"), "")
        self.member_chip.setToolTip("Show everyone's messages again")
        self.member_chip.setVisible(False)
        self.member_chip.clicked.connect(lambda: self.set_member(None))
        search_row.addWidget(self.member_chip)
        layout.addLayout(search_row)
        self.member_id: str | None = None

        self.stack = QStackedWidget()
        self.table = list_table(INBOX_COLUMNS, word_wrap=False)
        self.table.setToolTip("J or ↓: next message · K or ↑: previous · Ctrl+Enter: approve & send the draft · "
                              "Delete: discard the draft")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)  # a long name elides (tooltip has it)
        self.table.setColumnWidth(1, 104)
        header.setMinimumSectionSize(24)
        self.table.horizontalHeaderItem(0).setToolTip("↩: the message needs a reply")
        self.table.itemSelectionChanged.connect(self._selected)
        self.stack.addWidget(self.table)
        self.empty_label = QLabel("")
        self.empty_label.setObjectName("Muted")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setTextFormat(Qt.TextFormat.RichText)
        self.empty_label.setMargin(12)
        self.stack.addWidget(self.empty_label)
        layout.addWidget(self.stack, 1)

        foot = QHBoxLayout()
        self.count_label = QLabel("")
        self.count_label.setObjectName("Muted")
        foot.addWidget(self.count_label, 1)
        self.more_button = QPushButton("Show more")
        self.more_button.setToolTip("Load the next, older messages")
        self.more_button.clicked.connect(lambda: self.more_requested.emit())
        self.more_button.setVisible(False)
        foot.addWidget(self.more_button)
        layout.addLayout(foot)
        self.messages: list[dict[str, Any]] = []

    def _toggle(self, text: str, icon_name: str, tip: str) -> QPushButton:
        button = QPushButton(icon(icon_name), text)
        button.setCheckable(True)
        button.setToolTip(tip)
        button.toggled.connect(lambda _on: self.filters_changed.emit())
        return button

    # --- what the panel reads --------------------------------------------------------------------
    def filters(self) -> dict[str, Any]:
        """The keyword arguments of `inbox.messages` the filters stand for (unset ones left out)."""
        found: dict[str, Any] = {}
        if self.platform_combo.currentData():
            found["platform"] = self.platform_combo.currentData()
        if self.needs_reply_button.isChecked():
            found["needs_reply"] = True
        if self.mentions_button.isChecked():
            found["mentions"] = True
        if self.sentiment_combo.currentData():
            found["sentiment"] = self.sentiment_combo.currentData()
        search = self.search_edit.text().strip()
        if search:
            found["search"] = search
        if self.member_id:
            found["member_id"] = self.member_id
        return found

    def filtered(self) -> bool:
        return bool(self.filters())

    def set_member(self, member: dict[str, Any] | None) -> None:
        """Only this member's messages (None: everyone's), shown as a removable chip."""
        self.member_id = member["id"] if member else None
        self.member_chip.setText(f"Only {member.get('username') or 'this member'}" if member else "")
        self.member_chip.setVisible(member is not None)
        self.filters_changed.emit()

    def show_counts(self, counts: dict[str, Any]) -> None:
        """Counts on the filter buttons: how many need a reply, how many are mentions."""
        needs, mentions = counts.get("needs_reply"), counts.get("mentions")
        self.needs_reply_button.setText("Needs reply" + (f" ({needs})" if needs else ""))
        self.mentions_button.setText("Mentions" + (f" ({mentions})" if mentions else ""))
        per_platform = counts.get("platforms") or {}
        for i in range(1, self.platform_combo.count()):
            name = self.platform_combo.itemData(i)
            n = per_platform.get(name)
            self.platform_combo.setItemText(i, platform_label(name) + (f" ({n})" if n else ""))

    # --- showing ---------------------------------------------------------------------------------
    def show_messages(self, messages: list[dict[str, Any]], selected: str | None, total: int,
                      empty_text: str, *, capped: bool = False) -> None:
        """Fill the table, keeping `selected` selected; `empty_text` shows when there are none."""
        self.messages = messages
        table = self.table
        table.blockSignals(True)
        table.clearContents()
        table.setRowCount(len(messages))
        for r, message in enumerate(messages):
            sentiment = message.get("sentiment") or {}
            label = sentiment.get("label") or "–"
            author = (message.get("author") or {}).get("name") or "–"
            platform = message.get("platform")
            channel = message.get("channel_name")
            cells = (
                QTableWidgetItem(""),
                QTableWidgetItem(author),
                QTableWidgetItem(snippet(message.get("text"))),
                QTableWidgetItem(label + (" ✎" if sentiment.get("label_source") == "user" else "")),
                QTableWidgetItem(ago(message.get("sent_at"), suffix="")),
            )
            if message.get("needs_reply"):
                cells[0].setIcon(icon("mdi6.reply", COLORS["warning"]))
            cells[0].setToolTip("Needs a reply" if message.get("needs_reply") else "")
            cells[1].setIcon(platform_icon(platform))
            where = f"{platform_label(platform)}" + (f" · #{channel}" if channel else "")
            cells[1].setToolTip(f"{author} on {where}" + (f" · imported from {message['imported_from']}"
                                                           if message.get("imported_from") else ""))
            cells[2].setToolTip(snippet(message.get("text"), 600))
            if label in SENTIMENT_COLORS:
                cells[3].setForeground(QColor(SENTIMENT_COLORS[label]))
            if sentiment.get("score") is not None:
                cells[3].setToolTip(f"{sentiment['score']} on the 0–10 scale (5 = neutral)"
                                    + (" · your correction" if sentiment.get("label_source") == "user" else ""))
            cells[4].setToolTip(when(message.get("sent_at")))
            unread = message.get("status") == "new"
            for c, item in enumerate(cells):
                item.setData(ID_ROLE, message["id"])
                if unread:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                table.setItem(r, c, item)
            if message["id"] == selected:
                table.selectRow(r)
        table.blockSignals(False)
        shown = len(messages)
        of = f"{total:,}+".replace(",", " ") if capped else str(total)
        self.count_label.setText(f"{shown} of {of} message{'s' if total != 1 else ''}" if shown else "")
        self.more_button.setVisible(shown < total)
        if messages:
            self.stack.setCurrentWidget(self.table)
        else:
            self.empty_label.setText(empty_text)
            self.stack.setCurrentWidget(self.empty_label)

    def mark_read(self, message_id: str) -> None:
        """The opened message is no longer bold."""
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item is not None and item.data(ID_ROLE) == message_id:
                for c in range(self.table.columnCount()):
                    cell = self.table.item(r, c)
                    font = QFont(cell.font())
                    font.setBold(False)
                    cell.setFont(font)

    # --- selection -------------------------------------------------------------------------------
    def message_ids(self) -> list[str]:
        return [self.table.item(r, 0).data(ID_ROLE) for r in range(self.table.rowCount())]

    def selected_id(self) -> str | None:
        items = self.table.selectedItems()
        return items[0].data(ID_ROLE) if items else None

    def select_message(self, message_id: str) -> bool:
        for r, mid in enumerate(self.message_ids()):
            if mid == message_id:
                self.table.selectRow(r)
                return True
        return False

    def step(self, delta: int) -> str | None:
        """Select the next (+1) or previous (-1) message; the id selected, or None at either end."""
        rows = self.table.rowCount()
        if not rows:
            return None
        current = self.table.currentRow() if self.selected_id() else -1
        target = 0 if current < 0 else current + delta
        if not 0 <= target < rows:
            return None
        self.table.selectRow(target)
        self.table.scrollToItem(self.table.item(target, 0))
        return self.table.item(target, 0).data(ID_ROLE)

    def _selected(self) -> None:
        message_id = self.selected_id()
        if message_id:
            self.message_selected.emit(message_id)
