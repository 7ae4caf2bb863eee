"""API keys: ask for a name and role; show a new key once."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from studio.services.system.auth import ROLES
from studio.ui.dialogs.common import CopyField

ROLE_HINTS = {
    "admin": "admin: every endpoint, including keys, configuration and backups",
    "user": "user: every endpoint except the admin-only ones",
}


class CreateKeyDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Create API key")
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. my-script, obs-plugin")
        self.name_edit.setMaxLength(100)
        self.role_combo = QComboBox()
        for role in ROLES:
            self.role_combo.addItem(ROLE_HINTS.get(role, role), role)
        form.addRow("Name", self.name_edit)
        form.addRow("Role", self.role_combo)
        layout.addLayout(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Create")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.name_edit.textChanged.connect(lambda text: self.ok_button.setEnabled(bool(text.strip())))
        self.ok_button.setEnabled(False)

    def name(self) -> str:
        return self.name_edit.text().strip()

    def role(self) -> str:
        return self.role_combo.currentData()


class KeyCreatedDialog(QDialog):
    def __init__(self, key: str, record: dict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("API key created")
        self.setMinimumWidth(680)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(QLabel(f"Key <b>{record['name']}</b> ({record['role']}, id {record['id']})"))
        self.key_field = CopyField(key)
        layout.addWidget(self.key_field)
        warning = QLabel("This key is shown only once. Copy it now: Studio keeps only a hash of it.")
        warning.setObjectName("Warning")
        warning.setWordWrap(True)
        layout.addWidget(warning)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
