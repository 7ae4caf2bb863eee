"""API: where the local API listens, whether it runs, and its keys."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.dialogs.common import CopyField
from studio.ui.dialogs.keys import CreateKeyDialog, KeyCreatedDialog
from studio.ui.formatting import when
from studio.ui.panels.base import Panel, PanelHost
from studio.ui.theme import COLORS, icon

KEY_COLUMNS = ("Name", "ID", "Role", "Created", "Last used", "State")


class ApiPanel(Panel):
    title = "API"
    icon = "mdi6.api"
    key = "api"
    area = "system"
    subtitle = "Other tools script the studio through this HTTP API on your machine. Every request needs an API key."

    def __init__(self, host: PanelHost, parent: QWidget | None = None) -> None:
        super().__init__(host, parent)
        self.create_dialog: CreateKeyDialog | None = None
        self.created_dialog: KeyCreatedDialog | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(16)
        layout.addLayout(self.header())

        # --- server ---------------------------------------------------------------------------
        server = QGroupBox("Server")
        server_layout = QVBoxLayout(server)
        server_layout.setSpacing(10)
        state_row = QHBoxLayout()
        self.state_icon = QLabel()
        self.state_label = QLabel()
        self.state_label.setWordWrap(True)
        state_row.addWidget(self.state_icon)
        state_row.addWidget(self.state_label, 1)
        server_layout.addLayout(state_row)
        url_row = QHBoxLayout()
        url_caption = QLabel("Base URL")
        url_caption.setObjectName("Muted")
        self.url_field = CopyField(host.api_url)
        self.docs_button = QPushButton(icon("mdi6.book-open-variant"), "Open API docs")
        self.docs_button.setToolTip("Swagger UI of this API in your browser (served locally)")
        self.docs_button.clicked.connect(self.open_docs)
        url_row.addWidget(url_caption)
        url_row.addWidget(self.url_field, 1)
        url_row.addWidget(self.docs_button)
        server_layout.addLayout(url_row)
        self.example = QLabel()
        self.example.setObjectName("Muted")
        self.example.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.example.setWordWrap(True)
        server_layout.addWidget(self.example)
        layout.addWidget(server)

        # --- keys -----------------------------------------------------------------------------
        keys = QGroupBox("API keys")
        keys_layout = QVBoxLayout(keys)
        keys_layout.setSpacing(8)
        row = QHBoxLayout()
        explain = QLabel("Keys are stored as hashes: a key is shown once, when it is created.")
        explain.setObjectName("Muted")
        self.show_revoked = QCheckBox("Show revoked")
        self.show_revoked.toggled.connect(self.refresh_keys)
        self.revoke_button = QPushButton(icon("mdi6.key-remove"), "Revoke")
        self.revoke_button.setObjectName("Danger")
        self.revoke_button.setToolTip("Revoke the selected key: requests with it are refused from now on")
        self.revoke_button.clicked.connect(self.revoke_selected)
        self.create_button = QPushButton(icon("mdi6.key-plus"), "Create key…")
        self.create_button.setObjectName("Primary")
        self.create_button.setToolTip("Create a new API key (Ctrl+Enter)")
        self.create_button.clicked.connect(self.create_key)
        row.addWidget(explain, 1)
        row.addWidget(self.show_revoked)
        row.addWidget(self.revoke_button)
        row.addWidget(self.create_button)
        keys_layout.addLayout(row)
        self.keys_table = QTableWidget(0, len(KEY_COLUMNS))
        self.keys_table.setHorizontalHeaderLabels(list(KEY_COLUMNS))
        self.keys_table.verticalHeader().setVisible(False)
        self.keys_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.keys_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.keys_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.keys_table.setAlternatingRowColors(True)
        self.keys_table.setShowGrid(False)
        header = self.keys_table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(KEY_COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.keys_table.itemSelectionChanged.connect(self._update_buttons)
        keys_layout.addWidget(self.keys_table, 1)
        self.keys_empty = QLabel("No API keys. Create one to let a tool use the API.")
        self.keys_empty.setObjectName("Muted")
        keys_layout.addWidget(self.keys_empty)
        layout.addWidget(keys, 1)

        host.api_status_changed.connect(lambda *_: self.refresh_server())
        self.refresh_server()
        self.refresh_keys()

    # --- refreshing -----------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.refresh_server()
        self.refresh_keys()  # last-used times move while the API serves

    def refresh_server(self) -> None:
        running = self.host.api_running
        url = self.host.api_url
        self.url_field.set_value(url)
        self.docs_button.setEnabled(running)
        if running:
            self.state_icon.setPixmap(icon("mdi6.check-circle", COLORS["success"]).pixmap(20, 20))
            self.state_label.setText(f"Running on {url}")
        else:
            self.state_icon.setPixmap(icon("mdi6.alert-circle", COLORS["warning"]).pixmap(20, 20))
            self.state_label.setText(f"Not running: {self.host.api_message or 'the API was not started'}")
        self.example.setText(f"Try it: curl -H \"Authorization: Bearer YOUR_KEY\" {url}/api/health")

    def refresh_keys(self) -> None:
        keys = self.services.auth.list_keys(include_revoked=self.show_revoked.isChecked())
        self.keys = keys
        self.keys_table.setRowCount(len(keys))
        for row, key in enumerate(keys):
            cells = [key["name"], key["id"], key["role"], when(key["created_at"]), when(key["last_used_at"]),
                     "revoked" if key["revoked"] else "active"]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, key["id"])
                if key["revoked"]:
                    item.setForeground(Qt.GlobalColor.gray)
                self.keys_table.setItem(row, col, item)
        self.keys_table.setVisible(bool(keys))
        self.keys_empty.setVisible(not keys)
        self._update_buttons()

    def selected_key(self) -> dict[str, Any] | None:
        rows = self.keys_table.selectionModel().selectedRows()
        return self.keys[rows[0].row()] if rows else None

    def select_key(self, key_id: str) -> None:
        for row, key in enumerate(self.keys):
            if key["id"] == key_id:
                self.keys_table.selectRow(row)

    def _update_buttons(self) -> None:
        key = self.selected_key()
        self.revoke_button.setEnabled(key is not None and not key["revoked"])

    # --- actions --------------------------------------------------------------------------------
    def create_key(self) -> None:
        dialog = CreateKeyDialog(self)
        dialog.accepted.connect(lambda: self._create(dialog.name(), dialog.role()))
        self.create_dialog = dialog
        dialog.open()

    def _create(self, name: str, role: str) -> None:
        try:
            key, record = self.services.auth.create_key(name, role=role)
        except ValueError as exc:
            QMessageBox.warning(self, "Key not created", str(exc))
            return
        self.refresh_keys()
        self.select_key(record["id"])
        self.created_dialog = KeyCreatedDialog(key, record, self)
        self.created_dialog.open()

    def revoke_selected(self) -> None:
        key = self.selected_key()
        if key is None or key["revoked"]:
            return
        answer = QMessageBox.question(
            self, "Revoke API key",
            f"Revoke key “{key['name']}” ({key['id']})?\n\nTools using it get 401 from now on. This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            self.services.auth.revoke_key(key["id"])
        except KeyError:
            QMessageBox.warning(self, "Key not revoked", f"Key {key['id']} no longer exists.")
        self.refresh_keys()
        self.host.show_status(f"Revoked key {key['name']} ({key['id']})")

    def open_docs(self) -> None:
        QDesktopServices.openUrl(QUrl(f"{self.host.api_url}/docs"))

    def primary_action(self) -> None:
        """Ctrl+Enter: create a key."""
        self.create_key()
