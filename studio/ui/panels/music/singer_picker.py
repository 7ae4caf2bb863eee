"""Who sings a generation's lyrics: a lead instrument, or one of the voice characters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox, QWidget

if TYPE_CHECKING:
    from studio.services.voices import VoicesService


class SingerPicker(QComboBox):
    """The singer choices; `currentData()` is the character id, None for a lead instrument."""

    def __init__(self, voices: VoicesService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.voices = voices
        self.setToolTip("Who sings the lyrics: a voice character (Voices panel) or a lead instrument")
        self.refresh()

    def refresh(self) -> None:
        """The singer choices: a lead instrument, then every voice character."""
        current = self.currentData()
        self.blockSignals(True)
        self.clear()
        self.addItem("A lead instrument (no singer)", None)
        _total, characters = self.voices.characters.list_characters(limit=1000)
        for c in characters:
            self.addItem(f"{c['name']} ({c['genre']})", c["id"])
        self.setCurrentIndex(max(0, self.findData(current)))
        self.blockSignals(False)
