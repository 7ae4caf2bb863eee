"""First start: the admin password and the first API key, shown once."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from studio.services.system.auth import FirstRunCredentials
from studio.ui.dialogs.common import CopyField


class FirstRunDialog(QDialog):
    def __init__(self, credentials: FirstRunCredentials, api_url: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to Studio: your credentials")
        self.setMinimumWidth(780)
        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        intro = QLabel(
            "This is the first start in this data folder, so Studio created an admin login and an API key "
            "for the local API. Other tools send the key in an <code>Authorization: Bearer</code> header."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        warning = QLabel("These are shown only once. Copy them somewhere safe now: "
                         "Studio stores only hashes and cannot show them again.")
        warning.setObjectName("Warning")
        warning.setWordWrap(True)
        layout.addWidget(warning)
        form = QFormLayout()
        form.setSpacing(8)
        self.username = CopyField(credentials.username)
        self.password = CopyField(credentials.password)
        self.api_key = CopyField(credentials.api_key)
        self.api_url = CopyField(api_url) if api_url.startswith("http") else QLabel(f"the API is {api_url}")
        form.addRow("Admin user", self.username)
        form.addRow("Admin password", self.password)
        form.addRow("API key", self.api_key)
        form.addRow("API URL", self.api_url)
        layout.addLayout(form)
        lost = QLabel("Lost them? The API panel creates new keys; "
                      "<code>studio auth reset-password</code> sets a new password.")
        lost.setObjectName("Muted")
        lost.setWordWrap(True)
        layout.addWidget(lost)
        buttons = QDialogButtonBox()
        done = buttons.addButton("I have saved them", QDialogButtonBox.ButtonRole.AcceptRole)
        done.setObjectName("Primary")
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
