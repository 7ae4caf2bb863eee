"""Create or edit a voice character: who they are, their personality traits and the words the
script writer gives them. (Their voice is tuned in the Voices panel itself, with a preview.)

`values()` is what the voices service's `create_character` / `update_character` take; the
service validates, and its message is shown in the dialog when something is wrong."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.services.voices import VoiceError

TRAITS = ("extroversion", "creativity", "humor", "professionalism", "authenticity", "temperature")
SCHEDULES = ("daily", "weekly", "monthly", "manual", "paused")
STATUSES = ("active", "paused")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _commas(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class CharacterDialog(QDialog):
    def __init__(self, voices, character: dict[str, Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.voices = voices
        self.character = character
        self.result_character: dict[str, Any] | None = None
        self.setWindowTitle(f"Edit {character['name']}" if character else "New character")
        self.setMinimumWidth(720)
        layout = QVBoxLayout(self)

        who = QGroupBox("Who they are")
        form = QFormLayout(who)
        self.name_edit = QLineEdit()
        self.genre_edit = QLineEdit()
        self.style_combo = QComboBox()
        self.style_combo.addItem("None", None)
        for style_id, style_name in voices.options.music_styles().items():
            self.style_combo.addItem(style_name, style_id)
        self.style_combo.setToolTip("The engine style of the music beds under this character's pieces")
        self.summary_edit = QLineEdit()
        self.summary_edit.setPlaceholderText("e.g. Dreamy meditation guide")
        self.backstory_edit = QPlainTextEdit()
        self.backstory_edit.setFixedHeight(70)
        self.age_spin = QSpinBox()
        self.age_spin.setRange(0, 200)
        self.age_spin.setSpecialValueText("–")
        self.location_edit = QLineEdit()
        self.timezone_edit = QLineEdit()
        self.interests_edit = QLineEdit()
        self.interests_edit.setPlaceholderText("comma separated")
        self.schedule_combo = QComboBox()
        self.schedule_combo.addItems(SCHEDULES)
        self.status_combo = QComboBox()
        self.status_combo.addItems(STATUSES)
        row = QHBoxLayout()
        row.addWidget(self.age_spin)
        row.addWidget(QLabel("Location"))
        row.addWidget(self.location_edit, 1)
        row.addWidget(QLabel("Time zone"))
        row.addWidget(self.timezone_edit)
        for label, widget in (("Name", self.name_edit), ("Genre", self.genre_edit), ("Music style", self.style_combo),
                              ("Persona", self.summary_edit), ("Backstory", self.backstory_edit), ("Age", row),
                              ("Interests", self.interests_edit), ("Schedule", self.schedule_combo),
                              ("Status", self.status_combo)):
            form.addRow(label, widget)
        layout.addWidget(who)

        traits = QGroupBox("Personality")
        grid = QGridLayout(traits)
        self.trait_sliders: dict[str, QSlider] = {}
        for i, name in enumerate(TRAITS):
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(0, 100)
            slider.setValue(50)
            self.trait_sliders[name] = slider
            grid.addWidget(QLabel(name.capitalize()), i // 2, (i % 2) * 2)
            grid.addWidget(slider, i // 2, (i % 2) * 2 + 1)
        self.style_edit = QLineEdit()
        self.style_edit.setPlaceholderText("communication style, e.g. casual")
        self.tone_edit = QLineEdit()
        self.tone_edit.setPlaceholderText("content tone, e.g. friendly")
        self.topics_edit = QLineEdit()
        self.topics_edit.setPlaceholderText("preferred topics, comma separated")
        grid.addWidget(QLabel("Speaks"), 3, 0)
        grid.addWidget(self.style_edit, 3, 1)
        grid.addWidget(QLabel("Tone"), 3, 2)
        grid.addWidget(self.tone_edit, 3, 3)
        grid.addWidget(QLabel("Topics"), 4, 0)
        grid.addWidget(self.topics_edit, 4, 1, 1, 3)
        layout.addWidget(traits)

        words = QGroupBox("Their words (what the script writer uses)")
        words_grid = QGridLayout(words)
        self.greetings_edit = QPlainTextEdit()
        self.signoffs_edit = QPlainTextEdit()
        self.phrases_edit = QPlainTextEdit()
        for edit, hint in ((self.greetings_edit, "Greetings, one per line"), (self.signoffs_edit, "Sign-offs, one per line"),
                           (self.phrases_edit, "Phrases they use, one per line")):
            edit.setPlaceholderText(hint)
            edit.setFixedHeight(64)
        self.vocabulary_edit = QLineEdit()
        self.vocabulary_edit.setPlaceholderText("Words they describe music with, comma separated")
        words_grid.addWidget(self.greetings_edit, 0, 0)
        words_grid.addWidget(self.signoffs_edit, 0, 1)
        words_grid.addWidget(self.phrases_edit, 0, 2)
        words_grid.addWidget(self.vocabulary_edit, 1, 0, 1, 3)
        layout.addWidget(words)

        self.error_label = QLabel()
        self.error_label.setObjectName("Error")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        if character:
            self._fill(character)

    def _fill(self, c: dict[str, Any]) -> None:
        self.name_edit.setText(c["name"])
        self.genre_edit.setText(c.get("genre") or "")
        self.style_combo.setCurrentIndex(max(0, self.style_combo.findData(c.get("style"))))
        self.summary_edit.setText(c.get("personality") or "")
        self.backstory_edit.setPlainText(c.get("backstory") or "")
        self.age_spin.setValue(c.get("age") or 0)
        self.location_edit.setText(c.get("location") or "")
        self.timezone_edit.setText(c.get("timezone") or "")
        self.interests_edit.setText(", ".join(c.get("interests") or []))
        self.schedule_combo.setCurrentText(c.get("content_schedule") or "weekly")
        self.status_combo.setCurrentText(c.get("status") or "active")
        traits = c.get("personality_traits") or {}
        for name, slider in self.trait_sliders.items():
            if isinstance(traits.get(name), (int, float)):
                slider.setValue(round(100 * min(1.0, float(traits[name]))))
        self.style_edit.setText(traits.get("communication_style") or "")
        self.tone_edit.setText(traits.get("content_tone") or "")
        self.topics_edit.setText(", ".join(traits.get("preferred_topics") or []))
        words = c.get("words") or {}
        self.greetings_edit.setPlainText("\n".join(words.get("greetings") or []))
        self.signoffs_edit.setPlainText("\n".join(words.get("signoffs") or []))
        self.phrases_edit.setPlainText("\n".join(words.get("phrases") or []))
        self.vocabulary_edit.setText(", ".join(words.get("vocabulary") or []))

    def values(self) -> dict[str, Any]:
        personality: dict[str, Any] = {name: slider.value() / 100 for name, slider in self.trait_sliders.items()}
        personality.update(communication_style=self.style_edit.text().strip() or None,
                           content_tone=self.tone_edit.text().strip() or None,
                           preferred_topics=_commas(self.topics_edit.text()))
        return {
            "name": self.name_edit.text().strip(), "genre": self.genre_edit.text().strip(),
            "style": self.style_combo.currentData(), "personality_summary": self.summary_edit.text().strip(),
            "backstory": self.backstory_edit.toPlainText().strip(), "age": self.age_spin.value() or None,
            "location": self.location_edit.text().strip() or None, "timezone": self.timezone_edit.text().strip() or None,
            "interests": _commas(self.interests_edit.text()), "content_schedule": self.schedule_combo.currentText(),
            "status": self.status_combo.currentText(),
            "personality": {k: v for k, v in personality.items() if v is not None},
            "words": {"greetings": _lines(self.greetings_edit.toPlainText()),
                      "signoffs": _lines(self.signoffs_edit.toPlainText()),
                      "phrases": _lines(self.phrases_edit.toPlainText()),
                      "vocabulary": _commas(self.vocabulary_edit.text())},
        }

    def save(self) -> dict[str, Any] | None:
        values = self.values()
        if not values["name"]:
            self.error_label.setText("Give the character a name.")
            return None
        try:
            if self.character is None:
                self.result_character = self.voices.characters.create_character(values)
            else:
                self.result_character, _updated = self.voices.characters.update_character(self.character["id"], values)
        except VoiceError as exc:
            self.error_label.setText(exc.message)
            return None
        self.accept()
        return self.result_character
