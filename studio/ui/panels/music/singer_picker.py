"""Who sings a generation's lyrics: Automatic (the prompt's voice words or the style's default
character), one of the voice characters, or a lead instrument."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox, QWidget

from studio.services.music.common import LEAD_INSTRUMENT

if TYPE_CHECKING:
    from studio.services.voices import VoicesService


class SingerPicker(QComboBox):
    """The singer choices; `currentData()` is None for Automatic, a character id, or LEAD_INSTRUMENT."""

    def __init__(self, voices: VoicesService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.voices = voices
        self.setToolTip("Who sings the lyrics. Automatic: a character named in the prompt, the voice it asks for "
                        "(“female vocals”, “male”, “rap”) or the style's default character; “Understood as” "
                        "says who and why")
        self.refresh()

    def refresh(self) -> None:
        """The singer choices: Automatic, every voice character, then the lead instrument."""
        current = self.currentData()
        self.blockSignals(True)
        self.clear()
        self.addItem("Automatic (from the prompt and style)", None)
        _total, characters = self.voices.characters.list_characters(limit=1000)
        for c in characters:
            self.addItem(f"{c['name']} ({c['genre']})", c["id"])
        self.addItem("Instrumental lead (no singer)", LEAD_INSTRUMENT)
        self.setCurrentIndex(max(0, self.findData(current)))
        self.blockSignals(False)

    def singer_field(self) -> dict | str | None:
        """The spec's `singer` for the choice: None (Automatic), {"character_id": ...} or LEAD_INSTRUMENT."""
        data = self.currentData()
        if data is None or data == LEAD_INSTRUMENT:
            return data
        return {"character_id": data}

    def set_singer_field(self, singer) -> None:
        """Select the choice of a spec's `singer` (a dict with character_id, LEAD_INSTRUMENT or None)."""
        data = singer.get("character_id") if isinstance(singer, dict) else singer
        self.setCurrentIndex(max(0, self.findData(data)) if data is not None else 0)
