"""Small pieces the dialogs share."""

from __future__ import annotations

from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QWidget

from studio.ui.theme import icon


class CopyField(QWidget):
    """A read-only value with a Copy button (for URLs, keys and passwords)."""

    def __init__(self, value: str, *, monospace: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.edit = QLineEdit(value)
        self.edit.setReadOnly(True)
        self.edit.setCursorPosition(0)
        if monospace:
            font = QFont("monospace")
            font.setStyleHint(QFont.StyleHint.Monospace)
            self.edit.setFont(font)
        self.copy_button = QPushButton(icon("mdi6.content-copy"), "Copy")
        self.copy_button.setToolTip("Copy to the clipboard")
        self.copy_button.setAutoDefault(False)
        self.copy_button.clicked.connect(self.copy)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.copy_button)

    @property
    def value(self) -> str:
        return self.edit.text()

    def set_value(self, value: str) -> None:
        self.edit.setText(value)
        self.edit.setCursorPosition(0)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.edit.text())
        self.copy_button.setText("Copied")
