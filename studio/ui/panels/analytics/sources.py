"""The Analytics panel's sources page: the files imported so far (forget one), the connected YouTube
channel (API key, channel id, Google sign-in for daily figures and revenue, refresh) and the channels
followed for comparison. Keys are write-only: a field is cleared once stored and never filled back."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import number, when
from studio.ui.panels.analytics.dialogs import format_name
from studio.ui.widgets.tables import list_table


class SourcesPage(QWidget):
    delete_import_requested = Signal(str)
    save_youtube_requested = Signal()
    sign_in_requested = Signal()
    sign_out_requested = Signal()
    refresh_requested = Signal()
    follow_requested = Signal(str)
    unfollow_requested = Signal(str)
    refresh_competitors_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.imports: list[dict[str, Any]] = []
        self.followed: list[dict[str, Any]] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        files = QGroupBox("Imported files and refreshes")
        box = QVBoxLayout(files)
        self.imports_table = list_table(("File", "Read as", "Days", "Rows", "Imported"), word_wrap=False)
        header = self.imports_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.imports_table.setMinimumHeight(140)
        box.addWidget(self.imports_table)
        row = QHBoxLayout()
        self.imports_note = QLabel("Re-importing a file changes nothing; a newer statement replaces the rows of the "
                                   "days it repeats.")
        self.imports_note.setObjectName("Muted")
        self.imports_note.setWordWrap(True)
        row.addWidget(self.imports_note, 1)
        self.delete_button = QPushButton("Forget this import")
        self.delete_button.setToolTip("Remove its rows from every figure (links to your tracks are kept)")
        self.delete_button.clicked.connect(self._delete)
        row.addWidget(self.delete_button)
        box.addLayout(row)
        layout.addWidget(files)

        youtube = QGroupBox("Your YouTube channel")
        form_box = QVBoxLayout(youtube)
        self.youtube_status = QLabel("")
        self.youtube_status.setWordWrap(True)
        self.youtube_status.setTextFormat(Qt.TextFormat.RichText)
        form_box.addWidget(self.youtube_status)
        form = QFormLayout()
        self.channel_edit = QLineEdit()
        self.channel_edit.setPlaceholderText("UC… (YouTube Studio › Settings › Channel › Advanced settings)")
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("YouTube Data API key (stored in the system keyring)")
        self.client_id_edit = QLineEdit()
        self.client_id_edit.setPlaceholderText("….apps.googleusercontent.com (OAuth client of type Desktop app)")
        self.client_secret_edit = QLineEdit()
        self.client_secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.client_secret_edit.setPlaceholderText("client secret")
        form.addRow("Channel id", self.channel_edit)
        form.addRow("API key", self.key_edit)
        form.addRow("OAuth client id", self.client_id_edit)
        form.addRow("OAuth client secret", self.client_secret_edit)
        form_box.addLayout(form)
        buttons = QHBoxLayout()
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save_youtube_requested)
        self.sign_in_button = QPushButton("Sign in with Google…")
        self.sign_in_button.setToolTip("Opens your browser; read-only access to your channel's analytics")
        self.sign_in_button.clicked.connect(self.sign_in_requested)
        self.sign_out_button = QPushButton("Sign out")
        self.sign_out_button.clicked.connect(self.sign_out_requested)
        self.refresh_button = QPushButton("Refresh now")
        self.refresh_button.setObjectName("Primary")
        self.refresh_button.clicked.connect(self.refresh_requested)
        for button in (self.save_button, self.sign_in_button, self.sign_out_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        form_box.addLayout(buttons)
        self.instructions = QLabel("")
        self.instructions.setObjectName("Muted")
        self.instructions.setWordWrap(True)
        form_box.addWidget(self.instructions)
        layout.addWidget(youtube)

        rivals = QGroupBox("Channels you compare yourself with")
        rival_box = QVBoxLayout(rivals)
        add = QHBoxLayout()
        self.follow_edit = QLineEdit()
        self.follow_edit.setPlaceholderText("a channel's UC… id (the part after /channel/ in its address)")
        self.follow_button = QPushButton("Follow")
        self.follow_button.clicked.connect(lambda: self.follow_requested.emit(self.follow_edit.text().strip()))
        self.refresh_rivals_button = QPushButton("Read their figures")
        self.refresh_rivals_button.clicked.connect(self.refresh_competitors_requested)
        self.unfollow_button = QPushButton("Stop following")
        self.unfollow_button.clicked.connect(self._unfollow)
        for widget in (self.follow_edit, self.follow_button, self.refresh_rivals_button, self.unfollow_button):
            add.addWidget(widget, 1 if widget is self.follow_edit else 0)
        rival_box.addLayout(add)
        self.rivals_table = list_table(("Channel", "Subscribers", "Views", "Videos", "Change since", "Read"),
                                       word_wrap=False)
        self.rivals_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.rivals_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.rivals_table.setMinimumHeight(110)
        rival_box.addWidget(self.rivals_table)
        self.rivals_note = QLabel("")
        self.rivals_note.setObjectName("Muted")
        self.rivals_note.setWordWrap(True)
        rival_box.addWidget(self.rivals_note)
        layout.addWidget(rivals)
        layout.addStretch(1)

    def _delete(self) -> None:
        row = self.imports_table.currentRow()
        if 0 <= row < len(self.imports):
            self.delete_import_requested.emit(self.imports[row]["id"])

    def _unfollow(self) -> None:
        row = self.rivals_table.currentRow()
        if 0 <= row < len(self.followed):
            self.unfollow_requested.emit(self.followed[row]["channel_id"])

    def youtube_fields(self) -> dict[str, str]:
        return {"channel_id": self.channel_edit.text().strip(), "api_key": self.key_edit.text().strip(),
                "client_id": self.client_id_edit.text().strip(), "client_secret": self.client_secret_edit.text().strip()}

    def clear_secrets(self) -> None:
        for edit in (self.key_edit, self.client_secret_edit):
            edit.clear()

    def show_imports(self, imports: list[dict[str, Any]]) -> None:
        self.imports = list(imports)
        self.imports_table.setRowCount(len(self.imports))
        for r, entry in enumerate(self.imports):
            window = entry.get("window") or {}
            days = f"{window.get('start')} – {window.get('end')}" if window.get("start") else "–"
            name = entry.get("file") or ("YouTube channel refresh" if entry.get("kind") == "connected" else "–")
            values = (name, format_name(entry.get("format")), days, str(entry.get("rows_counted", entry.get("rows", ""))),
                      when(entry.get("imported_at")))
            for c, value in enumerate(values):
                self.imports_table.setItem(r, c, QTableWidgetItem(str(value)))
        self.delete_button.setEnabled(bool(self.imports))

    def show_youtube(self, status: dict[str, Any]) -> None:
        parts = []
        if status.get("channel_title") or status.get("channel_id"):
            parts.append(f"<b>{status.get('channel_title') or status.get('channel_id')}</b>")
        parts.append("API key stored" if status.get("api_key_set") else "no API key")
        parts.append("signed in with Google" if status.get("signed_in") else "not signed in")
        if status.get("last_refresh"):
            parts.append(f"last read {when(status['last_refresh'])} ({status.get('videos') or 0} videos)")
            if status.get("stale"):
                parts.append("<span style='color:#d29922'>older than 30 days: YouTube asks that it be refreshed or "
                             "deleted</span>")
        if status.get("note"):
            parts.append(status["note"])
        if status.get("error"):
            parts.append(f"<span style='color:#f85149'>{status['error']}</span>")
        self.youtube_status.setText(" · ".join(parts))
        if status.get("channel_id") and not self.channel_edit.text():
            self.channel_edit.setText(status["channel_id"])
        self.sign_in_button.setEnabled(bool(status.get("has_oauth_client")) and not status.get("signed_in"))
        self.sign_out_button.setEnabled(bool(status.get("signed_in")))
        self.refresh_button.setEnabled(bool(status.get("api_key_set") or status.get("signed_in")))
        self.instructions.setText("\n".join(status.get("instructions") or []))

    def show_competitors(self, data: dict[str, Any]) -> None:
        self.followed = list(data.get("competitors") or [])
        self.rivals_table.setRowCount(len(self.followed))
        for r, c in enumerate(self.followed):
            change = c.get("subscribers_change")
            changed = (f"{'+' if change >= 0 else ''}{number(change, 1)} subscribers since {when(c.get('since'))}"
                       if change is not None else "–")
            values = (c.get("title") or c.get("channel_id"), number(c.get("subscribers"), 1), number(c.get("views"), 1),
                      number(c.get("videos"), 0), changed, when(c.get("read_at")))
            for col, value in enumerate(values):
                self.rivals_table.setItem(r, col, QTableWidgetItem(str(value)))
        reasons = data.get("reasons") or {}
        self.rivals_note.setText(next(iter(reasons.values()), "") or (data.get("sources") or {}).get("figures", ""))
        self.unfollow_button.setEnabled(bool(self.followed))
        self.refresh_rivals_button.setEnabled(bool(self.followed))
