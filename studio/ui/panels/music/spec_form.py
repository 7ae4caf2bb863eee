"""The Create panel's form: a prompt and as many GenerationSpec details as the user likes.

`fields()` reads the form as GenerationSpec fields (Auto fields left out, so the prompt decides);
`apply_fields()` fills it from them. Every edit emits `changed` (the panel's live preview follows).
The choices (styles, moods, keys, instruments, qualities, the longest duration) are the engine's,
read through the music service.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QCompleter,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.ui.panels.music.common import caption, escape, muted, shrinkable
from studio.ui.panels.music.singer_picker import LEAD_INSTRUMENT, SingerPicker
from studio.ui.theme import icon
from studio.ui.widgets.playlist_widgets import PlaylistOptions

if TYPE_CHECKING:
    from studio.services import Services

AUTO_STYLE = "Auto (from the prompt)"
INSTRUMENT_COLUMNS = 4
SEED_MAX = 2**31 - 1
DEFAULT_DURATION_S = 60
# Ready-made prompts to start from; each shows what the prompt parser picks up.
EXAMPLE_PROMPTS = (
    "calm lo-fi hip hop with piano and vinyl crackle, 80 bpm",
    "energetic synthwave for a night drive, 2 minutes",
    "dark trap beat with 808s in F minor",
    "happy acoustic folk song about summer with vocals",
    "dreamy ambient pads with strings, slow",
    "epic orchestral trailer music with brass and choir",
    "funky house groove with organ, 124 bpm",
)
OUTPUT_CHOICES = (
    ("wav", "WAV"), ("mp3", "MP3"), ("flac", "FLAC"), ("ogg", "OGG"), ("midi", "MIDI"),
    ("stems", "Stems"), ("lyrics", "Lyrics"), ("chords", "Chords"),
)
DEFAULT_OUTPUTS = ("wav", "mp3", "midi", "stems", "lyrics", "chords")
DEFAULT_QUALITY = "high"
QUALITY_NOTES = {"draft": "fast"}  # said after the engine's sample rate and bit depth
VOCALS_CHOICES = (("auto", "Auto"), ("instrumental", "Instrumental"), ("vocals", "With vocals"))
# GenerationSpec field (as the error's location names it) -> the label on this panel.
FIELD_LABELS = {
    "prompt": "Prompt", "style": "Style", "genre": "Style", "mood": "Mood", "tempo": "Tempo",
    "tempo_bpm": "Tempo", "key": "Key", "duration": "Duration", "duration_s": "Duration",
    "instrumental": "Vocals", "lyrics": "Lyrics", "theme": "Lyrics theme", "text": "Lyrics",
    "primary_instruments": "Instruments", "complexity": "Complexity", "creativity": "Creativity",
    "seed": "Seed", "tags": "Tags", "output_formats": "Output formats", "audio_quality": "Quality",
}


def describe_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """[(panel field label, message)] of a pydantic ValidationError."""
    out = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if not isinstance(p, int)]
        field = next((FIELD_LABELS[p] for p in reversed(loc) if p in FIELD_LABELS), loc[0] if loc else "Request")
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        out.append((field, message))
    return out


def quality_label(name: str, sample_rate_hz: int, bit_depth: int) -> str:
    """'Standard (44.1 kHz, 16-bit)' for an entry of the engine's quality table."""
    note = QUALITY_NOTES.get(name)
    return f"{name.capitalize()} ({sample_rate_hz / 1000:g} kHz, {bit_depth}-bit{', ' + note if note else ''})"


class SpecForm(QWidget):
    """Prompt, Music, (Playlist), Lyrics, Sound and Output boxes."""

    changed = Signal()
    reset_requested = Signal()  # Reset form: the panel resets what it adds (variations, template)
    template_cleared = Signal()  # the × on the template row

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.music = services.music.catalogue
        self.voices = services.voices
        self.max_duration_s = self.music.max_duration_s()
        self.qualities = self.music.audio_qualities()
        self.field_widgets: dict[str, QWidget] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 8, 0)
        layout.setSpacing(12)
        layout.addWidget(self._build_prompt())
        layout.addWidget(self._build_music())
        self.playlist_options = PlaylistOptions()
        self.playlist_options.hide()
        layout.addWidget(self.playlist_options)
        layout.addWidget(self._build_lyrics())
        layout.addWidget(self._build_sound())
        layout.addWidget(self._build_output())
        layout.addStretch(1)
        self._connect_changes()
        self.playlist_options.changed.connect(self._changed)
        self._update_lyrics_state()
        self._update_seed_state()

    # --- building -------------------------------------------------------------------------------
    def _build_prompt(self) -> QGroupBox:
        box = QGroupBox("Prompt")
        layout = QVBoxLayout(box)
        layout.setSpacing(8)
        self.prompt_edit = QPlainTextEdit()
        self.prompt_edit.setPlaceholderText("Describe the track: style, mood, instruments, tempo, key, length… "
                                            "e.g. “calm lo-fi hip hop with piano, 80 bpm”")
        self.prompt_edit.setFixedHeight(72)
        self.prompt_edit.setTabChangesFocus(True)
        layout.addWidget(self.prompt_edit)
        row = QHBoxLayout()
        self.examples_button = QToolButton()
        self.examples_button.setText("Examples")
        self.examples_button.setIcon(icon("mdi6.lightbulb-on-outline"))
        self.examples_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.examples_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.examples_button)
        for text in EXAMPLE_PROMPTS:
            menu.addAction(text, lambda t=text: self.set_prompt(t))
        self.examples_button.setMenu(menu)
        self.title_edit = QLineEdit()
        self.title_edit.setPlaceholderText("Title (optional: the prompt otherwise)")
        self.title_edit.setMaxLength(200)
        self.clear_button = QPushButton(icon("mdi6.backspace-outline"), "Reset form")
        self.clear_button.setToolTip("Back to an empty prompt and Auto everywhere")
        self.clear_button.clicked.connect(self.reset_requested)
        row.addWidget(self.examples_button)
        row.addWidget(self.title_edit, 1)
        row.addWidget(self.clear_button)
        layout.addLayout(row)
        self.template_row = QWidget()
        template_layout = QHBoxLayout(self.template_row)
        template_layout.setContentsMargins(0, 0, 0, 0)
        self.template_label = QLabel()
        self.template_label.setTextFormat(Qt.TextFormat.RichText)
        self.template_label.setWordWrap(True)
        self.template_clear = QToolButton()
        self.template_clear.setIcon(icon("mdi6.close"))
        self.template_clear.setToolTip("Stop recording this template on the generations (the form stays as it is)")
        self.template_clear.clicked.connect(self.template_cleared)
        template_layout.addWidget(self.template_label, 1)
        template_layout.addWidget(self.template_clear)
        self.template_row.hide()
        layout.addWidget(self.template_row)
        self.field_widgets["prompt"] = self.prompt_edit
        return box

    def _build_music(self) -> QGroupBox:
        box = QGroupBox("Music")
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(8)

        self.style_combo = QComboBox()
        self.style_combo.setEditable(True)
        self.style_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.style_combo.addItem(AUTO_STYLE, None)
        for style in sorted(self.music.styles().values(), key=lambda s: s.name.lower()):
            self.style_combo.addItem(style.name, style.id)
            self.style_combo.setItemData(self.style_combo.count() - 1,
                                         f"{style.genre} · {style.tempo_min:.0f}–{style.tempo_max:.0f} BPM",
                                         Qt.ItemDataRole.ToolTipRole)
        completer = QCompleter(self.style_combo.model(), self.style_combo)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.style_combo.setCompleter(completer)
        self.style_combo.lineEdit().setPlaceholderText("Type to search styles")
        self.style_combo.setToolTip("Type to search the styles, or pick one")

        self.mood_combo = QComboBox()
        self.mood_combo.addItem("Auto", None)
        for mood in sorted(self.music.moods()):
            self.mood_combo.addItem(mood.capitalize(), mood)

        self.tempo_spin = QSpinBox()
        self.tempo_spin.setRange(39, 240)
        self.tempo_spin.setSpecialValueText("Auto")
        self.tempo_spin.setSuffix(" BPM")
        self.tempo_spin.setValue(39)
        self.tempo_spin.setToolTip("40–240 BPM; Auto takes it from the prompt or the style")

        self.key_combo = QComboBox()
        self.key_combo.addItem("Auto", None)
        for mode in ("major", "minor"):
            for note in self.music.note_names():
                self.key_combo.addItem(f"{note} {mode}", f"{note}_{mode}")

        self.duration_spin = QSpinBox()
        self.duration_spin.setRange(0, int(self.max_duration_s))
        self.duration_spin.setSpecialValueText("Auto")
        self.duration_spin.setSuffix(" s")
        self.duration_spin.setValue(0)
        self.duration_spin.setToolTip(self.duration_tip())

        self.vocals_combo = QComboBox()
        for value, label in VOCALS_CHOICES:
            self.vocals_combo.addItem(label, value)

        for combo in (self.style_combo, self.mood_combo, self.key_combo, self.vocals_combo):
            shrinkable(combo)
        for row, (label, widget, label2, widget2) in enumerate((
            ("Style", self.style_combo, "Mood", self.mood_combo),
            ("Tempo", self.tempo_spin, "Key", self.key_combo),
            ("Duration", self.duration_spin, "Vocals", self.vocals_combo),
        )):
            grid.addWidget(caption(label), row, 0)
            grid.addWidget(widget, row, 1)
            grid.addWidget(caption(label2), row, 2)
            grid.addWidget(widget2, row, 3)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(3, 2)
        self.field_widgets.update(style=self.style_combo, genre=self.style_combo, mood=self.mood_combo,
                                   tempo=self.tempo_spin, key=self.key_combo, duration=self.duration_spin,
                                   instrumental=self.vocals_combo)
        return box

    def _build_lyrics(self) -> QGroupBox:
        self.lyrics_box = QGroupBox("Lyrics")
        layout = QVBoxLayout(self.lyrics_box)
        layout.setSpacing(8)
        row = QHBoxLayout()
        self.theme_radio = QRadioButton("Write them from a theme")
        self.own_radio = QRadioButton("Use my own")
        self.theme_radio.setChecked(True)
        self.lyrics_mode = QButtonGroup(self)
        self.lyrics_mode.addButton(self.theme_radio)
        self.lyrics_mode.addButton(self.own_radio)
        row.addWidget(self.theme_radio)
        row.addWidget(self.own_radio)
        row.addStretch(1)
        layout.addLayout(row)
        self.theme_edit = QLineEdit()
        self.theme_edit.setMaxLength(200)
        self.theme_edit.setPlaceholderText("What the song is about, e.g. “driving home in the rain” "
                                           "(empty: no lyrics unless Vocals says so)")
        self.lyrics_edit = QPlainTextEdit()
        self.lyrics_edit.setPlaceholderText("One line per sung line; a blank line between sections.")
        self.lyrics_edit.setFixedHeight(110)
        layout.addWidget(self.theme_edit)
        layout.addWidget(self.lyrics_edit)
        singer_row = QHBoxLayout()
        self.singer_combo = SingerPicker(self.voices)
        singer_row.addWidget(caption("Sung by"))
        singer_row.addWidget(self.singer_combo, 1)
        layout.addLayout(singer_row)
        self.lyrics_note = QLabel()
        self.lyrics_note.setObjectName("Muted")
        self.lyrics_note.setWordWrap(True)
        layout.addWidget(self.lyrics_note)
        self.field_widgets.update(lyrics=self.theme_edit, theme=self.theme_edit, text=self.lyrics_edit,
                                   singer=self.singer_combo, character_id=self.singer_combo)
        return self.lyrics_box

    def _build_sound(self) -> QGroupBox:
        box = QGroupBox("Sound")
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(8)
        instruments = QGridLayout()
        instruments.setHorizontalSpacing(12)
        instruments.setVerticalSpacing(6)
        self.instrument_checks: dict[str, QCheckBox] = {}
        labels_seen: set[str] = set()
        for name, (role, choice) in self.music.instrument_roles().items():
            label = choice.label or name
            if label in labels_seen:  # two words for one sound ("guitar", "acoustic_guitar")
                continue
            labels_seen.add(label)
            check = QCheckBox(label)
            check.setToolTip(f"plays the {role} part")
            index = len(self.instrument_checks)
            instruments.addWidget(check, index // INSTRUMENT_COLUMNS, index % INSTRUMENT_COLUMNS)
            self.instrument_checks[name] = check
        instruments_caption = caption("Instruments")
        instruments_caption.setToolTip("Lead instruments (up to 8). None ticked: from the prompt or the style.")
        grid.addWidget(instruments_caption, 0, 0, 1, 3)
        grid.addLayout(instruments, 1, 0, 1, 3)

        self.complexity_slider, self.complexity_value = self._slider(50)
        self.complexity_slider.setToolTip("How busy the parts are: 0 sparse, 100 dense")
        self.creativity_slider, self.creativity_value = self._slider(50)
        self.creativity_slider.setToolTip("How far melodies and harmony wander from the style's habits")
        grid.addWidget(caption("Complexity"), 2, 0)
        grid.addWidget(self.complexity_slider, 2, 1)
        grid.addWidget(self.complexity_value, 2, 2)
        grid.addWidget(caption("Creativity"), 3, 0)
        grid.addWidget(self.creativity_slider, 3, 1)
        grid.addWidget(self.creativity_value, 3, 2)
        grid.setColumnStretch(1, 1)
        self.field_widgets.update(primary_instruments=next(iter(self.instrument_checks.values())),
                                   complexity=self.complexity_slider,
                                   creativity=self.creativity_slider)
        return box

    def _build_output(self) -> QGroupBox:
        box = QGroupBox("Output")
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(8)

        seed_row = QHBoxLayout()
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, SEED_MAX)
        self.seed_spin.setValue(secrets.randbelow(SEED_MAX))
        self.seed_spin.setMinimumWidth(120)
        self.seed_lock = QToolButton()
        self.seed_lock.setCheckable(True)
        self.seed_lock.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.seed_lock.toggled.connect(self._update_seed_state)
        self.seed_dice = QToolButton()
        self.seed_dice.setIcon(icon("mdi6.dice-multiple"))
        self.seed_dice.setToolTip("Pick another seed")
        self.seed_dice.clicked.connect(lambda: self.seed_spin.setValue(secrets.randbelow(SEED_MAX)))
        seed_row.addWidget(self.seed_spin)
        seed_row.addWidget(self.seed_lock)
        seed_row.addWidget(self.seed_dice)
        seed_row.addStretch(1)
        grid.addWidget(caption("Seed"), 0, 0)
        grid.addLayout(seed_row, 0, 1)

        self.quality_combo = QComboBox()
        for value, (rate, bits) in self.qualities.items():
            self.quality_combo.addItem(quality_label(value, rate, bits), value)
        self.quality_combo.setCurrentIndex(self.quality_combo.findData(DEFAULT_QUALITY))
        shrinkable(self.quality_combo, 16)
        grid.addWidget(caption("Quality"), 1, 0)
        grid.addWidget(self.quality_combo, 1, 1)

        formats = QGridLayout()
        formats.setHorizontalSpacing(14)
        formats.setVerticalSpacing(6)
        self.format_checks: dict[str, QCheckBox] = {}
        for i, (value, label) in enumerate(OUTPUT_CHOICES):
            check = QCheckBox(label)
            check.setChecked(value in DEFAULT_OUTPUTS)
            formats.addWidget(check, i // 4, i % 4)
            self.format_checks[value] = check
        formats.setColumnStretch(4, 1)
        grid.addWidget(caption("Files"), 2, 0, Qt.AlignmentFlag.AlignTop)
        grid.addLayout(formats, 2, 1)

        self.tags_edit = QLineEdit()
        self.tags_edit.setPlaceholderText("comma separated, e.g. demo, night")
        grid.addWidget(caption("Tags"), 3, 0)
        grid.addWidget(self.tags_edit, 3, 1)
        grid.setColumnStretch(1, 1)
        self.field_widgets.update(seed=self.seed_spin, output_formats=self.format_checks["wav"],
                                   audio_quality=self.quality_combo, tags=self.tags_edit)
        return box

    def _slider(self, value: int) -> tuple[QSlider, QLabel]:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(0, 100)
        slider.setValue(value)
        label = QLabel(f"{value}%")
        label.setMinimumWidth(40)
        slider.valueChanged.connect(lambda v: label.setText(f"{v}%"))
        return slider, label

    def _connect_changes(self) -> None:
        schedule = self._changed
        self.prompt_edit.textChanged.connect(schedule)
        self.title_edit.textChanged.connect(schedule)
        self.style_combo.currentIndexChanged.connect(schedule)
        self.style_combo.editTextChanged.connect(schedule)
        for combo in (self.mood_combo, self.key_combo, self.quality_combo):
            combo.currentIndexChanged.connect(schedule)
        self.vocals_combo.currentIndexChanged.connect(self._update_lyrics_state)
        self.singer_combo.currentIndexChanged.connect(self._update_lyrics_state)
        self.style_combo.currentIndexChanged.connect(self._update_lyrics_state)  # rap styles say "rapped by"
        for spin in (self.tempo_spin, self.duration_spin, self.seed_spin):
            spin.valueChanged.connect(schedule)
        self.lyrics_mode.buttonToggled.connect(self._update_lyrics_state)
        self.theme_edit.textChanged.connect(schedule)
        self.lyrics_edit.textChanged.connect(schedule)
        for check in self.instrument_checks.values():
            check.toggled.connect(schedule)
        self.complexity_slider.valueChanged.connect(schedule)
        self.creativity_slider.valueChanged.connect(schedule)
        for check in self.format_checks.values():
            check.toggled.connect(schedule)
        self.tags_edit.textChanged.connect(schedule)

    def _changed(self, *_args) -> None:
        self.changed.emit()

    def duration_tip(self) -> str:
        return (f"1–{self.max_duration_s:g} seconds; Auto takes it from the prompt (“2 minutes”) "
                f"or {DEFAULT_DURATION_S} s")

    def refresh_singers(self) -> None:
        self.singer_combo.refresh()

    def show_template(self, name: str | None, category: str = "", description: str = "") -> None:
        """The row naming the template the form came from; hidden for None."""
        if name:
            self.template_label.setText(f"{muted('Template:')} <b>{escape(name)}</b> "
                                        f"{muted('· ' + escape(category))}")
            self.template_label.setToolTip(description)
        self.template_row.setVisible(bool(name))

    # --- state ----------------------------------------------------------------------------------
    def _update_lyrics_state(self, *_args) -> None:
        instrumental = self.vocals_combo.currentData() == "instrumental"
        own = self.own_radio.isChecked()
        self.lyrics_edit.setVisible(own)
        self.theme_edit.setVisible(not own)
        for widget in (self.theme_radio, self.own_radio, self.theme_edit, self.lyrics_edit, self.singer_combo):
            widget.setEnabled(not instrumental)
        choice = self.singer_combo.currentData()
        verb = self.music.vocals_verb(self.style_combo.currentData())
        if choice is None:
            who = f"{verb} by the singer the prompt or the style picks (see “Understood as”)"
        elif choice == LEAD_INSTRUMENT:
            who = f"played by a lead instrument (choose a singer to hear them {verb})"
        else:
            who = f"{verb} by {self.singer_combo.currentText().split(' (')[0]}"
        if instrumental:
            self.lyrics_note.setText("Vocals is set to Instrumental, so there are no lyrics.")
        elif self.own_radio.isChecked():
            self.lyrics_note.setText(f"Your lines are fitted to the melody and {who}.")
        else:
            self.lyrics_note.setText(f"Lyrics are written from the theme and {who}; they are exported as LRC/JSON "
                                     "with timings.")
        self._changed()

    def _update_seed_state(self, *_args) -> None:
        locked = self.seed_lock.isChecked()
        self.seed_spin.setEnabled(locked)
        self.seed_dice.setEnabled(locked)
        self.seed_lock.setIcon(icon("mdi6.lock" if locked else "mdi6.lock-open-variant"))
        self.seed_lock.setText("Locked" if locked else "Random")
        self.seed_lock.setToolTip("Locked: this seed is used, so the same settings give the same track. "
                                  "Click to unlock." if locked else
                                  "Unlocked: a new random seed for every generation. Click to lock the seed.")
        self._changed()

    def set_prompt(self, text: str) -> None:
        self.prompt_edit.setPlainText(text)
        self.prompt_edit.setFocus()

    def style_value(self) -> str | None:
        text = self.style_combo.currentText().strip()
        index = self.style_combo.findText(text, Qt.MatchFlag.MatchFixedString)
        if index >= 0:
            return self.style_combo.itemData(index)
        return text or None  # typed but not in the list: the spec's validation names the problem

    def instruments(self) -> list[str]:
        return [name for name, check in self.instrument_checks.items() if check.isChecked()]

    def fields(self) -> dict[str, Any]:
        """The GenerationSpec fields the form sets (Auto fields are left out, so the prompt decides)."""
        fields: dict[str, Any] = {}
        prompt = self.prompt_edit.toPlainText().strip()
        if prompt:
            fields["prompt"] = prompt
        style = self.style_value()
        if style:
            fields["style"] = style
        if self.mood_combo.currentData():
            fields["mood"] = self.mood_combo.currentData()
        if self.tempo_spin.value() != self.tempo_spin.minimum():
            fields["tempo"] = self.tempo_spin.value()
        if self.key_combo.currentData():
            fields["key"] = self.key_combo.currentData()
        if self.duration_spin.value() > 0:
            fields["duration"] = self.duration_spin.value()
        vocals = self.vocals_combo.currentData()
        if vocals != "auto":
            fields["instrumental"] = vocals == "instrumental"
        if vocals != "instrumental":
            if self.own_radio.isChecked():
                text = self.lyrics_edit.toPlainText().strip()
                if text:
                    fields["lyrics"] = {"enabled": True, "text": text}
            else:
                theme = self.theme_edit.text().strip()
                if theme:
                    fields["lyrics"] = {"enabled": True, "theme": theme}
            singer = self.singer_combo.singer_field()
            if singer is not None:  # Automatic leaves it to the prompt and the style
                fields["singer"] = singer
        instruments = self.instruments()
        if instruments:
            fields["primary_instruments"] = instruments
        fields["complexity"] = self.complexity_slider.value() / 100
        fields["creativity"] = self.creativity_slider.value() / 100
        if self.seed_lock.isChecked():
            fields["seed"] = self.seed_spin.value()
        tags = [t.strip() for t in self.tags_edit.text().split(",") if t.strip()]
        if tags:
            fields["tags"] = tags
        fields["output_formats"] = [k for k, check in self.format_checks.items() if check.isChecked()]
        fields["audio_quality"] = self.quality_combo.currentData()
        return fields

    def apply_fields(self, fields: dict[str, Any], *, title: str | None = None) -> None:
        """Fill the form from GenerationSpec fields (aliases `tempo`/`duration` or `tempo_bpm`/
        `duration_s`; `subgenre`/`genre` pick the style when `style` is absent); what `fields` leaves
        out goes back to Auto. The hook for a template gallery."""
        self.reset()
        self.prompt_edit.setPlainText(fields.get("prompt") or "")
        if title:
            self.title_edit.setText(title)
        style = fields.get("style") or fields.get("subgenre") or fields.get("genre")  # templates name genres
        if style:
            found = self.music.find_style(str(style))
            index = self.style_combo.findData(found.id if found else style)
            if index >= 0:
                self.style_combo.setCurrentIndex(index)
            else:
                self.style_combo.setEditText(str(style))
        if fields.get("mood"):
            self.mood_combo.setCurrentIndex(max(0, self.mood_combo.findData(str(fields["mood"]).lower())))
        tempo = fields.get("tempo", fields.get("tempo_bpm"))
        if tempo:
            self.tempo_spin.setValue(round(float(tempo)))
        if fields.get("key"):
            try:
                self.key_combo.setCurrentIndex(max(0, self.key_combo.findData(self.music.normalise_key(fields["key"]))))
            except ValueError:
                pass
        duration = fields.get("duration", fields.get("duration_s"))
        if duration:
            self.duration_spin.setValue(round(float(duration)))
        if fields.get("instrumental") is not None:
            self.vocals_combo.setCurrentIndex(self.vocals_combo.findData(
                "instrumental" if fields["instrumental"] else "vocals"))
        lyrics = fields.get("lyrics") or {}
        if lyrics.get("text"):
            self.own_radio.setChecked(True)
            self.lyrics_edit.setPlainText(lyrics["text"])
        elif lyrics.get("theme"):
            self.theme_radio.setChecked(True)
            self.theme_edit.setText(lyrics["theme"])
        self.singer_combo.set_singer_field(fields.get("singer"))
        wanted = set(fields.get("primary_instruments") or [])
        aliases = {"guitar": "acoustic_guitar", "acoustic_guitar": "guitar"}
        for name, check in self.instrument_checks.items():
            check.setChecked(name in wanted or aliases.get(name) in wanted)
        if isinstance(fields.get("complexity"), (int, float)):
            self.complexity_slider.setValue(round(100 * float(fields["complexity"])))
        if isinstance(fields.get("creativity"), (int, float)):
            self.creativity_slider.setValue(round(100 * float(fields["creativity"])))
        if fields.get("seed") is not None:
            self.seed_spin.setValue(int(fields["seed"]))
            self.seed_lock.setChecked(True)
        if fields.get("tags"):
            self.tags_edit.setText(", ".join(fields["tags"]))
        if fields.get("output_formats"):
            formats = set(fields["output_formats"])
            if formats & {"lrc", "lyrics_json"}:
                formats.add("lyrics")
            for key, check in self.format_checks.items():
                check.setChecked(key in formats)
        if fields.get("audio_quality") in self.qualities:
            self.quality_combo.setCurrentIndex(self.quality_combo.findData(fields["audio_quality"]))

    def reset(self) -> None:
        """Back to an empty prompt and Auto everywhere."""
        self.prompt_edit.clear()
        self.title_edit.clear()
        self.style_combo.setCurrentIndex(0)
        self.style_combo.setEditText(AUTO_STYLE)
        for combo in (self.mood_combo, self.key_combo, self.vocals_combo, self.singer_combo):
            combo.setCurrentIndex(0)
        self.tempo_spin.setValue(self.tempo_spin.minimum())
        self.duration_spin.setValue(0)
        self.theme_radio.setChecked(True)
        self.theme_edit.clear()
        self.lyrics_edit.clear()
        for check in self.instrument_checks.values():
            check.setChecked(False)
        self.complexity_slider.setValue(50)
        self.creativity_slider.setValue(50)
        self.seed_lock.setChecked(False)
        self.tags_edit.clear()
        for key, check in self.format_checks.items():
            check.setChecked(key in DEFAULT_OUTPUTS)
        self.quality_combo.setCurrentIndex(self.quality_combo.findData(DEFAULT_QUALITY))
