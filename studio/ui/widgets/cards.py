"""A figure card: a large value over what it is (the System and Analytics panels' figures)."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget


class Card(QFrame):
    """One figure: a value and what it is; the tooltip says where it comes from."""

    def __init__(self, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(2)
        self.value = QLabel("–")
        self.value.setObjectName("CardValue")
        self.caption = QLabel(label)
        self.caption.setObjectName("CardLabel")
        self.caption.setWordWrap(True)
        layout.addWidget(self.value)
        layout.addWidget(self.caption)

    def set(self, text: str, tooltip: str | None = None) -> None:
        self.value.setText(text)
        if tooltip is not None:
            self.setToolTip(tooltip)
