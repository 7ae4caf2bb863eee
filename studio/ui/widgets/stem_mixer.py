"""Stem mixer: solo / mute / level per stem.

The widget only holds the switches; whoever owns it asks the music service to mix the stem files
with `gains()` (off the loop) and plays the result.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.ui.theme import COLORS, icon

STEM_ICONS = {
    "drums": "mdi6.metronome", "bass": "mdi6.guitar-electric", "harmony": "mdi6.piano", "melody": "mdi6.music-note",
    "pad": "mdi6.waves", "vocals": "mdi6.microphone-variant", "fx": "mdi6.auto-fix",
}


class StemMixer(QWidget):
    """One row per stem: name, Mute, Solo, level; and 'Play mix'."""

    play_requested = Signal()
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: dict[str, dict[str, QWidget]] = {}
        self.setStyleSheet(
            f"QToolButton#Mute:checked {{ background: #5a4516; border-color: {COLORS['warning']}; color: #ffffff; }}"
            f"QToolButton#Solo:checked {{ background: #2d4a86; border-color: {COLORS['accent']}; color: #ffffff; }}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(10)
        self.grid.setVerticalSpacing(6)
        layout.addLayout(self.grid)
        self.empty_label = QLabel("This track has no stems. Tick “Stems” under Output in Create to get them.")
        self.empty_label.setObjectName("Muted")
        self.empty_label.setWordWrap(True)
        layout.addWidget(self.empty_label)
        actions = QHBoxLayout()
        self.summary = QLabel()
        self.summary.setObjectName("Muted")
        self.summary.setWordWrap(True)
        self.reset_button = QPushButton(icon("mdi6.restore"), "Reset")
        self.reset_button.setToolTip("Unmute and unsolo every stem, levels back to 100%")
        self.reset_button.clicked.connect(self.reset)
        self.play_button = QPushButton(icon("mdi6.play-box-multiple"), "Play mix")
        self.play_button.setObjectName("Primary")
        self.play_button.setToolTip("Mix the audible stems and play the result in the player bar")
        self.play_button.clicked.connect(self.play_requested)
        actions.addWidget(self.summary, 1)
        actions.addWidget(self.reset_button)
        actions.addWidget(self.play_button)
        layout.addLayout(actions)
        layout.addStretch(1)
        self.set_stems([])

    def set_stems(self, names: list[str]) -> None:
        for widgets in self.rows.values():
            for widget in widgets.values():
                self.grid.removeWidget(widget)
                widget.deleteLater()
        self.rows = {}
        for row, name in enumerate(names):
            glyph = QLabel()
            glyph.setPixmap(icon(STEM_ICONS.get(name, "mdi6.music-note"), COLORS["muted"]).pixmap(18, 18))
            label = QLabel(name.capitalize())
            label.setMinimumWidth(70)
            mute = QToolButton()
            mute.setText("M")
            mute.setObjectName("Mute")
            mute.setCheckable(True)
            mute.setToolTip(f"Mute {name}")
            solo = QToolButton()
            solo.setText("S")
            solo.setObjectName("Solo")
            solo.setCheckable(True)
            solo.setToolTip(f"Solo {name}: only soloed stems are heard")
            level = QSlider(Qt.Orientation.Horizontal)
            level.setRange(0, 150)
            level.setValue(100)
            level.setToolTip(f"Level of {name}")
            level.setMinimumWidth(120)
            value = QLabel("100%")
            value.setObjectName("Muted")
            value.setMinimumWidth(40)
            mute.toggled.connect(self._changed)
            solo.toggled.connect(self._changed)
            level.valueChanged.connect(lambda v, lbl=value: lbl.setText(f"{v}%"))
            level.valueChanged.connect(self._changed)
            for col, widget in enumerate((glyph, label, mute, solo, level, value)):
                self.grid.addWidget(widget, row, col)
            self.rows[name] = {"glyph": glyph, "label": label, "mute": mute, "solo": solo, "level": level,
                               "value": value}
        self.grid.setColumnStretch(4, 1)
        self.empty_label.setVisible(not names)
        self.play_button.setEnabled(bool(names))
        self.reset_button.setEnabled(bool(names))
        self._changed()

    @property
    def names(self) -> list[str]:
        return list(self.rows)

    def set_muted(self, name: str, muted: bool) -> None:
        self.rows[name]["mute"].setChecked(muted)

    def set_solo(self, name: str, solo: bool) -> None:
        self.rows[name]["solo"].setChecked(solo)

    def set_level(self, name: str, percent: int) -> None:
        self.rows[name]["level"].setValue(percent)

    def reset(self) -> None:
        for widgets in self.rows.values():
            widgets["mute"].setChecked(False)
            widgets["solo"].setChecked(False)
            widgets["level"].setValue(100)

    def audible(self) -> list[str]:
        """Soloed stems if any is soloed, else the unmuted ones; a muted stem is never heard."""
        soloed = [n for n, w in self.rows.items() if w["solo"].isChecked()]
        pool = soloed or list(self.rows)
        return [n for n in pool if not self.rows[n]["mute"].isChecked() and self.rows[n]["level"].value() > 0]

    def gains(self) -> dict[str, float]:
        return {n: self.rows[n]["level"].value() / 100.0 for n in self.audible()}

    def _changed(self, *_args) -> None:
        audible = self.audible()
        if not self.rows:
            self.summary.setText("")
        elif not audible:
            self.summary.setText("Every stem is muted.")
        elif len(audible) == len(self.rows):
            self.summary.setText("All stems audible.")
        else:
            self.summary.setText("Audible: " + ", ".join(audible))
        self.play_button.setEnabled(bool(audible))
        self.changed.emit()
