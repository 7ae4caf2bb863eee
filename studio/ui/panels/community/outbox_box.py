"""The outbox: the replies a person approved (or a bot sent on its own) and where each one is:
waiting to send, sending, sent (with the platform's message id), failed (and why), or unconfirmed
(cut off by a crash mid-send on a platform that cannot deduplicate: check it on the platform).

The box only shows and signals; the panel calls `services.community.outbox`."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import when
from studio.ui.panels.community.common import (
    REPLY_STATUS_COLORS,
    REPLY_STATUS_TEXT,
    ago,
    platform_label,
    snippet,
)
from studio.ui.theme import icon
from studio.ui.widgets.tables import list_table

OUTBOX_COLUMNS = ("Status", "Platform", "Reply", "Approved by", "When")
OUTBOX_FILTERS = (("Everything approved", None), ("Waiting to send", "approved"), ("Sending", "sending"),
                  ("Sent", "sent"), ("Failed", "failed"), ("Unconfirmed", "unconfirmed"))
# Shown under "Everything approved": drafts and discarded replies are not in the outbox.
OUTBOX_STATUSES = ("approved", "sending", "sent", "failed", "unconfirmed")
ID_ROLE = Qt.ItemDataRole.UserRole


class OutboxBox(QGroupBox):
    """The status filter, the replies table and the actions on the selected reply."""

    filter_changed = Signal()
    open_message_requested = Signal(str)  # the message a reply answers
    discard_requested = Signal(str)  # a reply's id
    retry_requested = Signal(str)  # a failed reply's id: approve it again

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Outbox", parent)
        self.replies: list[dict[str, Any]] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        row = QHBoxLayout()
        self.status_combo = QComboBox()
        for label, value in OUTBOX_FILTERS:
            self.status_combo.addItem(label, value)
        self.status_combo.currentIndexChanged.connect(lambda _i: self.filter_changed.emit())
        row.addWidget(self.status_combo)
        self.count_label = QLabel("")
        self.count_label.setObjectName("Muted")
        row.addWidget(self.count_label, 1)
        layout.addLayout(row)

        self.stack = QStackedWidget()
        self.table = list_table(OUTBOX_COLUMNS, word_wrap=False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.stack.addWidget(self.table)
        self.empty_label = QLabel("")
        self.empty_label.setObjectName("Muted")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.empty_label)
        layout.addWidget(self.stack, 1)

        self.detail_label = QLabel("")
        self.detail_label.setWordWrap(True)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.detail_label)
        buttons = QHBoxLayout()
        self.open_button = QPushButton(icon("mdi6.forum-outline"), "Open the message")
        self.open_button.setToolTip("Show the message this reply answers in the inbox")
        self.open_button.clicked.connect(self._open)
        buttons.addWidget(self.open_button)
        self.retry_button = QPushButton(icon("mdi6.send-outline"), "Send again")
        self.retry_button.clicked.connect(lambda: self._emit(self.retry_requested))
        buttons.addWidget(self.retry_button)
        self.discard_button = QPushButton(icon("mdi6.delete-outline"), "Discard")
        self.discard_button.setToolTip("Do not send this reply (one waiting, failed or unconfirmed)")
        self.discard_button.clicked.connect(lambda: self._emit(self.discard_requested))
        buttons.addWidget(self.discard_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self._selection_changed()

    def status(self) -> str | None:
        return self.status_combo.currentData()

    def show_replies(self, replies: list[dict[str, Any]], empty_text: str) -> None:
        status = self.status()
        self.replies = [r for r in replies if (r.get("status") == status if status else
                                               r.get("status") in OUTBOX_STATUSES)]
        selected = self.selected()
        selected_id = selected["id"] if selected else None
        table = self.table
        table.blockSignals(True)
        table.clearContents()
        table.setRowCount(len(self.replies))
        for r, reply in enumerate(self.replies):
            state = reply.get("status") or ""
            moment = reply.get("sent_at") or reply.get("approved_at") or reply.get("created_at")
            cells = (QTableWidgetItem(REPLY_STATUS_TEXT.get(state, state)),
                     QTableWidgetItem(platform_label(reply.get("platform"))),
                     QTableWidgetItem(snippet(reply.get("text"))),
                     QTableWidgetItem("the bot, on its own" if reply.get("auto") else (reply.get("approved_by") or "–")),
                     QTableWidgetItem(ago(moment)))
            cells[0].setForeground(QColor(REPLY_STATUS_COLORS.get(state, "#9aa3ad")))
            if reply.get("last_error"):
                cells[0].setToolTip(str(reply["last_error"]))
            cells[2].setToolTip(snippet(reply.get("text"), 600))
            cells[4].setToolTip(when(moment))
            for c, item in enumerate(cells):
                item.setData(ID_ROLE, reply["id"])
                table.setItem(r, c, item)
            if reply["id"] == selected_id:
                table.selectRow(r)
        table.blockSignals(False)
        n = len(self.replies)
        self.count_label.setText(f"{n} repl{'ies' if n != 1 else 'y'}" if n else "")
        if self.replies:
            self.stack.setCurrentWidget(self.table)
        else:
            self.empty_label.setText(empty_text)
            self.stack.setCurrentWidget(self.empty_label)
        self._selection_changed()

    def selected(self) -> dict[str, Any] | None:
        items = self.table.selectedItems()
        if not items:
            return None
        rid = items[0].data(ID_ROLE)
        return next((r for r in self.replies if r["id"] == rid), None)

    def select_reply(self, reply_id: str) -> bool:
        for r, reply in enumerate(self.replies):
            if reply["id"] == reply_id:
                self.table.selectRow(r)
                return True
        return False

    def _selection_changed(self) -> None:
        reply = self.selected()
        state = (reply or {}).get("status")
        self.open_button.setEnabled(bool(reply and reply.get("message_id")))
        self.retry_button.setEnabled(state in ("failed", "unconfirmed"))
        self.retry_button.setToolTip("Unconfirmed: look on the platform first, and send again only if the reply is "
                                     "not there" if state == "unconfirmed" else
                                     "Queue the failed reply once more (the line above says why the last try failed)")
        self.discard_button.setEnabled(state in ("approved", "failed", "unconfirmed"))
        if reply is None:
            self.detail_label.setText("")
            return
        bits = [REPLY_STATUS_TEXT.get(state, state or "")]
        if reply.get("platform_message_id"):
            bits.append(f"{platform_label(reply.get('platform'))} message id {reply['platform_message_id']}")
        if reply.get("attempts"):
            bits.append(f"{reply['attempts']} attempt{'s' if reply['attempts'] != 1 else ''}")
        if reply.get("send_after") and state == "approved":
            bits.append(f"not before {when(reply['send_after'])}")
        if reply.get("last_error"):
            bits.append(str(reply["last_error"]))
        self.detail_label.setText(" · ".join(bits))

    def _emit(self, signal) -> None:
        reply = self.selected()
        if reply is not None:
            signal.emit(reply["id"])

    def _open(self) -> None:
        reply = self.selected()
        if reply and reply.get("message_id"):
            self.open_message_requested.emit(reply["message_id"])
