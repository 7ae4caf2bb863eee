"""The preview of a messages file (a DiscordChatExporter JSON, a Telegram Desktop `result.json` or a
CSV): the format it was read as, how many messages it holds, how many lines were skipped, and the
first messages, shown before anything is imported."""

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

from studio.ui.formatting import when
from studio.ui.panels.community.common import platform_label, snippet

FORMAT_NAMES = {"discord_chat_exporter": "a DiscordChatExporter export", "telegram_export": "a Telegram Desktop export",
                "csv": "a CSV file"}


def _author(message: dict[str, Any]) -> str:
    author = message.get("author")
    if isinstance(author, dict):
        return str(author.get("name") or "–")
    return str(author or message.get("author_name") or "–")


class ImportPreview(QDialog):
    """What a messages file holds, before it is imported."""

    def __init__(self, filename: str, preview: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Import {filename}")
        self.resize(760, 460)
        layout = QVBoxLayout(self)
        total = int(preview.get("total") or 0)
        skipped = int(preview.get("skipped") or 0)
        messages = list(preview.get("messages") or [])
        fmt = FORMAT_NAMES.get(str(preview.get("format")), str(preview.get("format") or "an unknown format"))
        text = (f"Read as {fmt} of {platform_label(preview.get('platform'))} messages: "
                f"{total} message{'s' if total != 1 else ''}"
                + (f", {skipped} line{'s' if skipped != 1 else ''} skipped (not messages, or empty)" if skipped else "")
                + (f". The first {len(messages)} are shown." if 0 < len(messages) < total else ".")
                + " They are stored as history (marked with this file's name, not as messages to answer); "
                  "messages already stored are not imported twice.")
        self.summary = QLabel(text)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        columns = ("Time", "From", "Channel", "Message")
        self.table = QTableWidget(len(messages), len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        for r, message in enumerate(messages):
            values = (when(message.get("sent_at"), "–"), _author(message),
                      message.get("channel_name") or message.get("channel") or "", snippet(message.get("text"), 200))
            for c, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                if c == 3:
                    item.setToolTip(snippet(message.get("text"), 600))
                self.table.setItem(r, c, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = buttons.addButton(f"Import {total} message{'s' if total != 1 else ''}",
                                               QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setObjectName("Primary")
        self.import_button.setEnabled(total > 0)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
