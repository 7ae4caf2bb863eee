"""Create: describe a track (a prompt, and as many details as you like) and generate it.

What the prompt is understood as is shown live, before generating (`resolve_spec` is cheap and
renders nothing); after a job is queued its card shows what was actually rendered (the seed
included) and, when it finishes, what the analysis measured. Variations queue N jobs of the
same spec with different seeds.

`apply_fields(fields)` fills the form from GenerationSpec fields: the hook the template gallery
uses (Templates button); a generation started from a template records its id, so the gallery's
usage counts are real. Playlist mode plans N tracks from the form (`plan_playlist`), queues them
and their continuous mix (`submit_playlist`), follows them on a card and plays the mix.
"""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QCompleter,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.services.music import MusicService, SingerError

# The engine's catalogue, through the music service (panels never import the engine).
styles, moods, find_style = MusicService.styles, MusicService.moods, MusicService.find_style
vocals_verb = MusicService.vocals_verb
from studio.services.music import (
    GENERATE_KIND,
    PLAYLIST_KIND,
    InsufficientCredits,
    credits_for,
    plan_playlist,
)
from studio.ui.panels.base import Panel, PanelHost
from studio.ui.theme import COLORS, STATUS_COLORS, icon
from studio.ui.widgets.debounce import debounce_timer
from studio.ui.widgets.jobs_dock import JOB_EVENTS
from studio.ui.widgets.playlist_widgets import PlaylistCard, PlaylistOptions
from studio.ui.widgets.tasks import TaskRunner
from studio.ui.widgets.template_gallery import TemplateGallery

AUTO_STYLE = "Auto (from the prompt)"
PREVIEW_DELAY_MS = 150
MAX_VARIATIONS = 8
MAX_CARDS = 30
INSTRUMENT_COLUMNS = 4
SINGLE, PLAYLIST = "single", "playlist"
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
QUALITY_LABELS = {
    "draft": "Draft (22 kHz, fast)",
    "standard": "Standard (44.1 kHz, 16-bit)",
    "high": "High (44.1 kHz, 24-bit)",
}
VOCALS_CHOICES = (("auto", "Auto"), ("instrumental", "Instrumental"), ("vocals", "With vocals"))
# GenerationSpec field (as the error's location names it) -> the label on this panel.
FIELD_LABELS = {
    "prompt": "Prompt", "style": "Style", "genre": "Style", "mood": "Mood", "tempo": "Tempo",
    "tempo_bpm": "Tempo", "key": "Key", "duration": "Duration", "duration_s": "Duration",
    "instrumental": "Vocals", "lyrics": "Lyrics", "theme": "Lyrics theme", "text": "Lyrics",
    "primary_instruments": "Instruments", "complexity": "Complexity", "creativity": "Creativity",
    "seed": "Seed", "tags": "Tags", "output_formats": "Output formats", "audio_quality": "Quality",
}


def key_label(key: str) -> str:
    return key.replace("_", " ")


def describe_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """[(panel field label, message)] of a pydantic ValidationError."""
    out = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if not isinstance(p, int)]
        field = next((FIELD_LABELS[p] for p in reversed(loc) if p in FIELD_LABELS), loc[0] if loc else "Request")
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        out.append((field, message))
    return out


def _muted(text: str) -> str:
    return f"<span style='color:{COLORS['muted']}'>{text}</span>"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def spec_summary(spec: dict[str, Any]) -> str:
    """One line of a resolved spec: 'Lo-fi Hip Hop · calm · F major · 76 BPM · 4 s · seed 123'."""
    vocals = "instrumental" if spec.get("instrumental") else "with vocals"
    return " · ".join([
        str(spec.get("style_name") or spec.get("style")), str(spec.get("mood")), key_label(str(spec.get("key"))),
        f"{float(spec.get('tempo_bpm', 0)):g} BPM", f"{float(spec.get('duration_s', 0)):g} s", vocals,
        f"seed {spec.get('seed')}",
    ])


class JobCard(QFrame):
    """One generation queued from this panel: what it will render, its progress, what came out."""

    def __init__(self, panel: CreatePanel, job: dict[str, Any], fields: dict[str, Any]) -> None:
        super().__init__()
        self.setObjectName("Card")
        self.panel = panel
        self.job_id = job["id"]
        self.job = dict(job)
        self.fields = fields
        self.spec = job.get("resolved_spec") or {}
        self.track_id: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(4)
        top = QHBoxLayout()
        self.title_label = QLabel(_escape(job.get("title") or self.spec.get("title") or self.job_id))
        self.title_label.setStyleSheet("font-weight: 600;")
        self.title_label.setWordWrap(True)
        self.title_label.setToolTip(self.job_id)
        self.status_label = QLabel()
        top.addWidget(self.title_label, 1)
        top.addWidget(self.status_label)
        layout.addLayout(top)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        layout.addWidget(self.progress)
        self.spec_label = QLabel(_escape(spec_summary(self.spec)) if self.spec else "")
        self.spec_label.setWordWrap(True)
        self.spec_label.setToolTip("What this job renders (the resolved spec)")
        layout.addWidget(self.spec_label)
        self.result_label = QLabel()
        self.result_label.setObjectName("Muted")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.result_label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.reuse_button = QPushButton(icon("mdi6.content-duplicate"), "Reuse settings")
        self.reuse_button.setToolTip("Fill the form with what this job rendered, its seed locked")
        self.reuse_button.clicked.connect(lambda: panel.reuse(self))
        self.library_button = QPushButton(icon("mdi6.bookshelf"), "Show in Library")
        self.library_button.setEnabled(False)
        self.library_button.clicked.connect(lambda: panel.show_in_library(self.track_id))
        buttons.addWidget(self.reuse_button)
        buttons.addWidget(self.library_button)
        layout.addLayout(buttons)
        self.update_job(job)

    def update_job(self, job: dict[str, Any]) -> None:
        self.job.update(job)
        status = self.job.get("status", "queued")
        self.progress.setValue(int(self.job.get("progress") or 0))
        stage = self.job.get("stage") or ""
        text = status if status in ("completed", "failed", "cancelled") or not stage or stage == status \
            else f"{status} · {stage}"
        self.status_label.setText(text)
        self.status_label.setStyleSheet(f"color: {STATUS_COLORS.get(status, COLORS['muted'])};")
        if status == "completed":
            result = self.job.get("result") or {}
            self.track_id = result.get("track_id")
            self.library_button.setEnabled(bool(self.track_id))
            self.result_label.setText(self._measured(result))
            self.result_label.setObjectName("Muted")
        elif status == "failed":
            error = self.job.get("error") or {}
            self.result_label.setText(f"Failed: {error.get('message') or error}")
            self.result_label.setStyleSheet(f"color: {COLORS['danger']};")
        elif status == "cancelled":
            self.result_label.setText("Cancelled.")

    def set_remaining(self, seconds: float | None) -> None:
        if seconds and self.job.get("status") in ("queued", "processing"):
            self.result_label.setText(f"About {seconds:.0f} s left")

    @staticmethod
    def _measured(result: dict[str, Any]) -> str:
        parts = []
        estimated = result.get("estimated") or {}
        tempo = estimated.get("tempo_bpm")
        if tempo and len(tempo) == 2 and tempo[1]:
            parts.append(f"tempo {tempo[1]:.0f} BPM (asked {tempo[0]:g})")
        key = estimated.get("key")
        if key and len(key) == 2 and key[1]:
            parts.append(f"key {key_label(key[1])} (asked {key_label(key[0])})")
        quality = (result.get("quality_metrics") or {}).get("overall_quality")
        if quality is not None:
            parts.append(f"quality {quality * 100:.0f}%")
        if result.get("duration_s"):
            parts.append(f"{result['duration_s']:.1f} s")
        if result.get("wall_s"):
            parts.append(f"rendered in {result['wall_s']:.1f} s")
        return "Measured: " + ", ".join(parts) if parts else "Done."


class CreatePanel(Panel):
    title = "Create"
    icon = "mdi6.music-note-plus"
    key = "create"
    area = "music"
    subtitle = "Describe a track in words, set as many details as you like, and generate it. Ctrl+Enter generates."

    def __init__(self, host: PanelHost, parent: QWidget | None = None) -> None:
        super().__init__(host, parent)
        self.cards: dict[str, JobCard] = {}
        self.last_jobs: list[dict[str, Any]] = []
        self.last_error: list[tuple[str, str]] = []
        self.preview_spec: dict[str, Any] | None = None
        self._field_widgets: dict[str, QWidget] = {}
        self.mode = SINGLE
        self.template_id: str | None = None
        self.playlist_cards: dict[str, PlaylistCard] = {}
        self.last_playlist: dict[str, Any] | None = None
        self.preview_plan: dict[str, Any] | None = None
        self.playlist_seed = secrets.randbelow(SEED_MAX)  # the next playlist's plan seed when unlocked
        self.mix_playlist_id: str | None = None  # the playlist whose mix the player bar holds
        self.tasks = TaskRunner(self)
        self.tasks.done.connect(self._task_done)
        self.tasks.failed.connect(self._task_failed)

        form = QWidget()
        form_layout = QVBoxLayout(form)
        form_layout.setContentsMargins(0, 0, 8, 0)
        form_layout.setSpacing(12)
        form_layout.addWidget(self._build_prompt())
        form_layout.addWidget(self._build_music())
        self.playlist_options = PlaylistOptions()
        self.playlist_options.hide()
        form_layout.addWidget(self.playlist_options)
        form_layout.addWidget(self._build_lyrics())
        form_layout.addWidget(self._build_sound())
        form_layout.addWidget(self._build_output())
        form_layout.addStretch(1)
        form_scroll = QScrollArea()
        form_scroll.setWidgetResizable(True)
        form_scroll.setFrameShape(QFrame.Shape.NoFrame)
        form_scroll.setWidget(form)
        self.form_scroll = form_scroll
        self.gallery = TemplateGallery(self.services.templates, {
            t.subcategory: (find_style(t.subcategory).name if find_style(t.subcategory) else t.subcategory)
            for t in self.services.templates.templates})
        self.gallery.use_requested.connect(self.use_template)
        self.gallery.close_requested.connect(lambda: self.show_gallery(False))
        self.gallery.setMinimumHeight(160)
        self.gallery.hide()
        self.form_splitter = QSplitter(Qt.Orientation.Vertical)
        self.form_splitter.setChildrenCollapsible(False)
        self.form_splitter.addWidget(self.gallery)
        self.form_splitter.addWidget(form_scroll)
        self.form_splitter.setStretchFactor(0, 2)
        self.form_splitter.setStretchFactor(1, 3)

        preview_scroll = QScrollArea()
        preview_scroll.setWidgetResizable(True)
        preview_scroll.setFrameShape(QFrame.Shape.NoFrame)
        preview_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        preview_scroll.setWidget(self._build_preview())
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 4)
        top_layout.setSpacing(8)
        top_layout.addWidget(preview_scroll, 1)
        top_layout.addWidget(self._build_generate_bar())
        self.side_splitter = QSplitter(Qt.Orientation.Vertical)
        self.side_splitter.setChildrenCollapsible(False)
        self.side_splitter.addWidget(top)
        self.side_splitter.addWidget(self._build_jobs())
        self.side_splitter.setStretchFactor(0, 0)  # the preview takes what it needs, the jobs the rest
        self.side_splitter.setStretchFactor(1, 1)
        self.side_splitter.setMinimumWidth(300)
        self.side_splitter.setMaximumWidth(440)

        columns = QHBoxLayout()
        columns.setSpacing(16)
        columns.addWidget(self.form_splitter, 3)
        columns.addWidget(self.side_splitter, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 16)
        layout.setSpacing(14)
        layout.addLayout(self.header(*self._build_header_buttons()))
        layout.addLayout(columns, 1)

        self.preview_timer = debounce_timer(self, PREVIEW_DELAY_MS, self.update_preview)
        self._connect_changes()
        self.playlist_options.changed.connect(self._schedule_preview)
        host.bridge.event.connect(self._on_event)
        self._update_lyrics_state()
        self._update_seed_state()
        self.update_preview()

    # --- building -------------------------------------------------------------------------------
    def _build_header_buttons(self) -> list[QWidget]:
        self.templates_button = QPushButton(icon("mdi6.view-grid-outline"), "Templates")
        self.templates_button.setCheckable(True)
        self.templates_button.setToolTip("Browse the ready-made templates and fill the form from one")
        self.templates_button.toggled.connect(self.show_gallery)
        modes = QWidget()
        row = QHBoxLayout(modes)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.single_button = QPushButton(icon("mdi6.music-note"), "Single track")
        self.playlist_button = QPushButton(icon("mdi6.playlist-music"), "Playlist")
        self.single_button.setToolTip("Generate one track (or N variations of it)")
        self.playlist_button.setToolTip("Plan several tracks from this form and mix them into one continuous playlist")
        self.mode_group = QButtonGroup(self)
        for button in (self.single_button, self.playlist_button):
            button.setCheckable(True)
            self.mode_group.addButton(button)
            row.addWidget(button)
        self.single_button.setChecked(True)
        self.playlist_button.toggled.connect(lambda on: self.set_mode(PLAYLIST if on else SINGLE))
        checked = (f"QPushButton:checked {{ background: {COLORS['accent']}; color: {COLORS['accent_text']}; "
                   f"border-color: {COLORS['accent']}; }}")
        for button in (self.templates_button, self.single_button, self.playlist_button):
            button.setStyleSheet(checked)
        return [self.templates_button, modes]

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
        self.clear_button.clicked.connect(self.reset_form)
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
        self.template_clear.clicked.connect(lambda: self.set_template(None))
        template_layout.addWidget(self.template_label, 1)
        template_layout.addWidget(self.template_clear)
        self.template_row.hide()
        layout.addWidget(self.template_row)
        self._field_widgets["prompt"] = self.prompt_edit
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
        for style in sorted(styles().values(), key=lambda s: s.name.lower()):
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
        for mood in sorted(moods()):
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
            for note in MusicService.note_names():
                self.key_combo.addItem(f"{note} {mode}", f"{note}_{mode}")

        self.duration_spin = QSpinBox()
        self.duration_spin.setRange(0, 600)
        self.duration_spin.setSpecialValueText("Auto")
        self.duration_spin.setSuffix(" s")
        self.duration_spin.setValue(0)
        self.duration_spin.setToolTip(f"1–600 seconds; Auto takes it from the prompt (“2 minutes”) "
                                      f"or {DEFAULT_DURATION_S} s")

        self.vocals_combo = QComboBox()
        for value, label in VOCALS_CHOICES:
            self.vocals_combo.addItem(label, value)

        for combo in (self.style_combo, self.mood_combo, self.key_combo, self.vocals_combo):
            self._shrinkable(combo)
        for row, (label, widget, label2, widget2) in enumerate((
            ("Style", self.style_combo, "Mood", self.mood_combo),
            ("Tempo", self.tempo_spin, "Key", self.key_combo),
            ("Duration", self.duration_spin, "Vocals", self.vocals_combo),
        )):
            grid.addWidget(self._caption(label), row, 0)
            grid.addWidget(widget, row, 1)
            grid.addWidget(self._caption(label2), row, 2)
            grid.addWidget(widget2, row, 3)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(3, 2)
        self._field_widgets.update(style=self.style_combo, genre=self.style_combo, mood=self.mood_combo,
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
        self.singer_combo = QComboBox()
        self.singer_combo.setToolTip("Who sings the lyrics: a voice character (Voices panel) or a lead instrument")
        self.refresh_singers()
        singer_row.addWidget(self._caption("Sung by"))
        singer_row.addWidget(self.singer_combo, 1)
        layout.addLayout(singer_row)
        self.lyrics_note = QLabel()
        self.lyrics_note.setObjectName("Muted")
        self.lyrics_note.setWordWrap(True)
        layout.addWidget(self.lyrics_note)
        self._field_widgets.update(lyrics=self.theme_edit, theme=self.theme_edit, text=self.lyrics_edit,
                                   singer=self.singer_combo, character_id=self.singer_combo)
        return self.lyrics_box

    def refresh_singers(self) -> None:
        """The singer choices: a lead instrument, then every voice character."""
        current = self.singer_combo.currentData()
        self.singer_combo.blockSignals(True)
        self.singer_combo.clear()
        self.singer_combo.addItem("A lead instrument (no singer)", None)
        _total, characters = self.services.voices.list_characters(limit=1000)
        for c in characters:
            self.singer_combo.addItem(f"{c['name']} ({c['genre']})", c["id"])
        self.singer_combo.setCurrentIndex(max(0, self.singer_combo.findData(current)))
        self.singer_combo.blockSignals(False)

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
        for name, (role, choice) in MusicService.instrument_roles().items():
            label = choice.label or name
            if label in labels_seen:  # two words for one sound ("guitar", "acoustic_guitar")
                continue
            labels_seen.add(label)
            check = QCheckBox(label)
            check.setToolTip(f"plays the {role} part")
            index = len(self.instrument_checks)
            instruments.addWidget(check, index // INSTRUMENT_COLUMNS, index % INSTRUMENT_COLUMNS)
            self.instrument_checks[name] = check
        instruments_caption = self._caption("Instruments")
        instruments_caption.setToolTip("Lead instruments (up to 8). None ticked: from the prompt or the style.")
        grid.addWidget(instruments_caption, 0, 0, 1, 3)
        grid.addLayout(instruments, 1, 0, 1, 3)

        self.complexity_slider, self.complexity_value = self._slider(50)
        self.complexity_slider.setToolTip("How busy the parts are: 0 sparse, 100 dense")
        self.creativity_slider, self.creativity_value = self._slider(50)
        self.creativity_slider.setToolTip("How far melodies and harmony wander from the style's habits")
        grid.addWidget(self._caption("Complexity"), 2, 0)
        grid.addWidget(self.complexity_slider, 2, 1)
        grid.addWidget(self.complexity_value, 2, 2)
        grid.addWidget(self._caption("Creativity"), 3, 0)
        grid.addWidget(self.creativity_slider, 3, 1)
        grid.addWidget(self.creativity_value, 3, 2)
        grid.setColumnStretch(1, 1)
        self._field_widgets.update(primary_instruments=next(iter(self.instrument_checks.values())),
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
        grid.addWidget(self._caption("Seed"), 0, 0)
        grid.addLayout(seed_row, 0, 1)

        self.quality_combo = QComboBox()
        for value, label in QUALITY_LABELS.items():
            self.quality_combo.addItem(label, value)
        self.quality_combo.setCurrentIndex(self.quality_combo.findData("high"))
        self._shrinkable(self.quality_combo, 16)
        grid.addWidget(self._caption("Quality"), 1, 0)
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
        grid.addWidget(self._caption("Files"), 2, 0, Qt.AlignmentFlag.AlignTop)
        grid.addLayout(formats, 2, 1)

        self.tags_edit = QLineEdit()
        self.tags_edit.setPlaceholderText("comma separated, e.g. demo, night")
        grid.addWidget(self._caption("Tags"), 3, 0)
        grid.addWidget(self.tags_edit, 3, 1)
        grid.setColumnStretch(1, 1)
        self._field_widgets.update(seed=self.seed_spin, output_formats=self.format_checks["wav"],
                                   audio_quality=self.quality_combo, tags=self.tags_edit)
        return box

    def _build_preview(self) -> QGroupBox:
        box = QGroupBox("Understood as")
        layout = QVBoxLayout(box)
        layout.setSpacing(6)
        self.preview_grid = QGridLayout()
        self.preview_grid.setHorizontalSpacing(12)
        self.preview_grid.setVerticalSpacing(4)
        self.preview_labels: dict[str, QLabel] = {}
        for row, (key, label) in enumerate((("style", "Style"), ("mood", "Mood"), ("key", "Key"),
                                            ("tempo_bpm", "Tempo"), ("duration_s", "Duration"),
                                            ("instrumental", "Vocals"), ("instruments", "Instruments"),
                                            ("seed", "Seed"), ("title", "Title"))):
            caption = self._caption(label)
            value = QLabel("–")
            value.setWordWrap(True)
            value.setTextFormat(Qt.TextFormat.RichText)
            self.preview_grid.addWidget(caption, row, 0, Qt.AlignmentFlag.AlignTop)
            self.preview_grid.addWidget(value, row, 1)
            self.preview_labels[key] = value
        self.preview_grid.setColumnStretch(1, 1)
        layout.addLayout(self.preview_grid)
        self.plan_label = QLabel()
        self.plan_label.setWordWrap(True)
        self.plan_label.setTextFormat(Qt.TextFormat.RichText)
        self.plan_label.setToolTip("The playlist's plan: each track's tempo, key and length (the same seed "
                                   "gives the same plan)")
        self.plan_label.hide()
        layout.addWidget(self.plan_label)
        layout.addStretch(1)
        self.preview_error = QLabel()
        self.preview_error.setWordWrap(True)
        self.preview_error.setStyleSheet(f"color: {COLORS['danger']};")
        self.preview_error.hide()
        layout.insertWidget(1, self.preview_error)
        return box

    def _build_jobs(self) -> QGroupBox:
        box = QGroupBox("Generated here")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(6, 12, 6, 6)
        self.jobs_empty = QLabel("Nothing generated yet in this session. Jobs you start here show their "
                                 "progress, what was rendered and what the analysis measured.")
        self.jobs_empty.setObjectName("Muted")
        self.jobs_empty.setWordWrap(True)
        self.jobs_empty.setAlignment(Qt.AlignmentFlag.AlignTop)
        content = QWidget()
        self.cards_layout = QVBoxLayout(content)
        self.cards_layout.setContentsMargins(0, 0, 4, 0)
        self.cards_layout.setSpacing(8)
        self.cards_layout.addWidget(self.jobs_empty)
        self.cards_layout.addStretch(1)
        self.cards_scroll = QScrollArea()
        self.cards_scroll.setWidgetResizable(True)
        self.cards_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.cards_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.cards_scroll.setWidget(content)
        self.cards_scroll.setMinimumHeight(90)
        layout.addWidget(self.cards_scroll)
        return box

    def _build_generate_bar(self) -> QWidget:
        bar = QWidget()
        layout = QVBoxLayout(bar)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.cost_label = QLabel()
        self.cost_label.setObjectName("Muted")
        self.cost_label.setWordWrap(True)
        layout.addWidget(self.cost_label)
        row = QHBoxLayout()
        row.setSpacing(8)
        variations_caption = self.variations_caption = self._caption("Variations")
        self.variations_spin = QSpinBox()
        self.variations_spin.setRange(1, MAX_VARIATIONS)
        self.variations_spin.setToolTip("Generate this many tracks of the same spec, each with its own seed "
                                        "(a locked seed counts up: seed, seed+1, …)")
        variations_caption.setToolTip(self.variations_spin.toolTip())
        self.generate_button = QPushButton(icon("mdi6.creation", COLORS["accent_text"]), "Generate")
        self.generate_button.setObjectName("Primary")
        self.generate_button.setToolTip("Queue the generation (Ctrl+Enter)")
        self.generate_button.setMinimumWidth(140)
        self.generate_button.clicked.connect(self.generate)
        row.addWidget(variations_caption)
        row.addWidget(self.variations_spin)
        row.addStretch(1)
        row.addWidget(self.generate_button)
        layout.addLayout(row)
        return bar

    @staticmethod
    def _shrinkable(combo: QComboBox, chars: int = 10) -> QComboBox:
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(chars)
        return combo

    @staticmethod
    def _caption(text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName("Muted")
        return label

    def _slider(self, value: int) -> tuple[QSlider, QLabel]:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(0, 100)
        slider.setValue(value)
        label = QLabel(f"{value}%")
        label.setMinimumWidth(40)
        slider.valueChanged.connect(lambda v: label.setText(f"{v}%"))
        return slider, label

    def _connect_changes(self) -> None:
        schedule = self._schedule_preview
        self.prompt_edit.textChanged.connect(schedule)
        self.title_edit.textChanged.connect(schedule)
        self.style_combo.currentIndexChanged.connect(schedule)
        self.style_combo.editTextChanged.connect(schedule)
        for combo in (self.mood_combo, self.key_combo, self.quality_combo):
            combo.currentIndexChanged.connect(schedule)
        self.vocals_combo.currentIndexChanged.connect(self._update_lyrics_state)
        self.singer_combo.currentIndexChanged.connect(self._update_lyrics_state)
        self.style_combo.currentIndexChanged.connect(self._update_lyrics_state)  # rap styles say "rapped by"
        for spin in (self.tempo_spin, self.duration_spin, self.seed_spin, self.variations_spin):
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

    # --- state ----------------------------------------------------------------------------------
    def _schedule_preview(self, *_args) -> None:
        self.preview_timer.start()

    def _update_lyrics_state(self, *_args) -> None:
        instrumental = self.vocals_combo.currentData() == "instrumental"
        own = self.own_radio.isChecked()
        self.lyrics_edit.setVisible(own)
        self.theme_edit.setVisible(not own)
        for widget in (self.theme_radio, self.own_radio, self.theme_edit, self.lyrics_edit, self.singer_combo):
            widget.setEnabled(not instrumental)
        singer = self.singer_combo.currentText().split(" (")[0] if self.singer_combo.currentData() else None
        verb = vocals_verb(self.style_combo.currentData())
        who = f"{verb} by {singer}" if singer else f"played by a lead instrument (choose a singer to hear them {verb})"
        if instrumental:
            self.lyrics_note.setText("Vocals is set to Instrumental, so there are no lyrics.")
        elif self.own_radio.isChecked():
            self.lyrics_note.setText(f"Your lines are fitted to the melody and {who}.")
        else:
            self.lyrics_note.setText(f"Lyrics are written from the theme and {who}; they are exported as LRC/JSON "
                                     "with timings.")
        self._schedule_preview()

    def _update_seed_state(self, *_args) -> None:
        locked = self.seed_lock.isChecked()
        self.seed_spin.setEnabled(locked)
        self.seed_dice.setEnabled(locked)
        self.seed_lock.setIcon(icon("mdi6.lock" if locked else "mdi6.lock-open-variant"))
        self.seed_lock.setText("Locked" if locked else "Random")
        self.seed_lock.setToolTip("Locked: this seed is used, so the same settings give the same track. "
                                  "Click to unlock." if locked else
                                  "Unlocked: a new random seed for every generation. Click to lock the seed.")
        self._schedule_preview()

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
            if self.singer_combo.currentData():
                fields["singer"] = {"character_id": self.singer_combo.currentData()}
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
        self.reset_form()
        self.prompt_edit.setPlainText(fields.get("prompt") or "")
        if title:
            self.title_edit.setText(title)
        style = fields.get("style") or fields.get("subgenre") or fields.get("genre")  # templates name genres
        if style:
            found = find_style(str(style))
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
                self.key_combo.setCurrentIndex(max(0, self.key_combo.findData(MusicService.normalise_key(fields["key"]))))
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
        singer = (fields.get("singer") or {}).get("character_id")
        self.singer_combo.setCurrentIndex(max(0, self.singer_combo.findData(singer)))
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
        if fields.get("audio_quality") in QUALITY_LABELS:
            self.quality_combo.setCurrentIndex(self.quality_combo.findData(fields["audio_quality"]))
        self.update_preview()

    def reset_form(self) -> None:
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
        self.quality_combo.setCurrentIndex(self.quality_combo.findData("high"))
        self.variations_spin.setValue(1)
        self.set_template(None)

    # --- the live preview -----------------------------------------------------------------------
    def update_preview(self) -> dict[str, Any] | None:
        """Resolve the form as the engine would (no audio); show it or the field that is wrong."""
        self.preview_timer.stop()
        fields = self.fields()
        self.preview_plan = None
        try:
            if self.mode == PLAYLIST:
                _tracks, plan = self.plan_playlist()
                self.preview_plan = plan
                fields = {**self.playlist_base_fields(), "duration": plan["track_duration_s"]}
            resolved = self.services.music.preview(fields)
        except ValidationError as exc:
            return self._preview_failed(describe_errors(exc))
        except SingerError as exc:  # the character was deleted meanwhile
            self.refresh_singers()
            return self._preview_failed([("Sung by", exc.message)])
        except ValueError as exc:  # an impossible playlist plan (it names the field)
            return self._preview_failed([("Playlist", str(exc))])
        self.last_error = []
        self.preview_error.hide()
        spec = resolved.model_dump(mode="json")
        self.preview_spec = spec
        sources = spec["sources"]
        title = self.title_edit.text().strip() or spec["title"]

        def show(key: str, value: str, source_key: str | None = None) -> None:
            source = sources.get(source_key or key, "")
            label = self.preview_labels[key]
            label.setEnabled(True)
            label.setText(f"<b>{_escape(value)}</b>" + (f" {_muted('· ' + _escape(source))}" if source else ""))

        show("style", f"{spec['style_name']} ({spec['genre']})")
        show("mood", spec["mood"])
        show("key", key_label(spec["key"]))
        show("tempo_bpm", f"{spec['tempo_bpm']:g} BPM")
        show("duration_s", f"{spec['duration_s']:g} s")
        if spec["instrumental"]:
            vocals = "instrumental"
        elif spec.get("lyrics") and spec["lyrics"].get("text"):
            vocals = "with vocals, your lyrics"
        elif spec.get("lyrics") and spec["lyrics"].get("theme"):
            vocals = f"with vocals, lyrics about “{spec['lyrics']['theme']}”"
        else:
            vocals = "with vocals"
        if spec.get("singer"):
            vocals += f", {vocals_verb(spec.get('style'))} by {spec['singer']['name']}"
        show("instrumental", vocals)
        show("instruments", ", ".join(spec["instruments"]))
        if self.mode == PLAYLIST:
            how = "locked" if self.seed_lock.isChecked() else "a new one after each playlist"
            label = self.preview_labels["seed"]
            label.setEnabled(True)
            label.setText(f"<b>{self.plan_seed()}</b> {_muted('· the plan’s; ' + how)}")
        elif self.seed_lock.isChecked():
            seeds = self._seeds()
            show("seed", str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]} … {seeds[-1]}")
        else:
            self.preview_labels["seed"].setEnabled(True)
            self.preview_labels["seed"].setText(f"<b>random</b> {_muted('· new each time; lock it to repeat a track')}")
        if self.mode == PLAYLIST and self.preview_plan is not None:
            plan = self.preview_plan
            title = f"{self.playlist_name()} - 01 … {len(plan['tracks']):02d}"
            show("duration_s", f"{spec['duration_s']:g} s a track, "
                               f"{self.playlist_options.total_spin.value():g} s mixed")
            rows = [f"{t['position']:02d} · {t['tempo']:g} BPM · {_escape(key_label(t['key']))}"
                    + (f" · {_escape(', '.join(t['primary_instruments']))}" if t["primary_instruments"] else "")
                    for t in plan["tracks"]]
            transition = plan["transition"]
            blend = "cut" if transition["style"] == "abrupt" else f"{transition['style']} {transition['seconds']:g} s"
            self.plan_label.setText(f"<b>Plan</b> {_muted('· ' + _escape(blend))}<br>" + "<br>".join(rows))
        self.plan_label.setVisible(self.mode == PLAYLIST and self.preview_plan is not None)
        self.preview_labels["title"].setText(f"<b>{_escape(title)}</b>")
        self.preview_labels["title"].setEnabled(True)
        self._update_cost(spec["duration_s"])
        return spec

    def _preview_failed(self, errors: list[tuple[str, str]]) -> None:
        self.last_error = errors
        self.preview_error.setText("<br>".join(f"<b>{_escape(f)}</b>: {_escape(m)}" for f, m in errors))
        self.preview_error.show()
        self.preview_spec = None
        self.plan_label.hide()
        for label in self.preview_labels.values():
            label.setEnabled(False)
        self.generate_button.setEnabled(True)  # generating says the same, in a dialog
        self._update_cost(None)
        return None

    def _update_cost(self, duration_s: float | None) -> None:
        n = self.playlist_options.count_spin.value() if self.mode == PLAYLIST else self.variations_spin.value()
        if duration_s is None:
            self.cost_label.setText("Fix the fields above to see the cost.")
            return
        cost = credits_for(duration_s) * n
        balance = self.services.music.credit_balance()
        left = "unlimited credits" if balance is None else f"{balance:g} credits left today"
        what = f"{n} tracks" if n > 1 else "This track"
        self.cost_label.setText(f"{what} of {duration_s:g} s: {cost:g} credits ({left}).")

    # --- generating -----------------------------------------------------------------------------
    def _seeds(self) -> list[int | None]:
        n = self.variations_spin.value()
        if not self.seed_lock.isChecked():
            return [None] * n
        start = self.seed_spin.value()
        return [(start + i) % (SEED_MAX + 1) for i in range(n)]

    def generate(self) -> list[dict[str, Any]]:
        """Queue one job, or N variations (same spec, N seeds); in Playlist mode, the playlist (its
        tracks' jobs are returned). Problems open a dialog naming the field."""
        if self.mode == PLAYLIST:
            playlist = self.generate_playlist()
            return playlist["jobs"] if playlist else []
        fields = self.fields()
        title = self.title_edit.text().strip() or None
        prompt = fields.get("prompt")
        jobs: list[dict[str, Any]] = []
        seeds = self._seeds()
        for i, seed in enumerate(seeds):
            spec_fields = dict(fields)
            if seed is not None:
                spec_fields["seed"] = seed
            job_title = f"{title} ({i + 1})" if title and len(seeds) > 1 else title
            try:
                job = self.services.music.submit(spec_fields, source="gui", title=job_title,
                                            extra=self._extra(prompt) or None)
            except ValidationError as exc:
                self._show_invalid(exc)
                break
            except InsufficientCredits as exc:
                done = f"{len(jobs)} of {len(seeds)} queued. " if jobs else ""
                QMessageBox.warning(self, "Not enough credits", f"{done}Not queued: {exc}.")
                break
            except Exception as exc:  # a service problem: say it, don't crash the window
                QMessageBox.warning(self, "Generation not started", str(exc))
                break
            jobs.append(job)
            self._add_card(job, spec_fields)
        if jobs:
            eta = max(j.get("estimated_time_s") or 0 for j in jobs)
            what = f"{len(jobs)} variations" if len(jobs) > 1 else f"“{jobs[0]['resolved_spec']['title']}”"
            self.host.show_status(f"Queued {what}; ready in about {eta:.0f} s. Progress is in the Jobs dock.", 8000)
        self.last_jobs = jobs
        self.update_preview()
        return jobs

    def _extra(self, prompt: str | None) -> dict[str, Any]:
        """What the jobs record besides the spec: the prompt, and the template the form came from."""
        extra: dict[str, Any] = {}
        if prompt:
            extra["prompt"] = prompt
        if self.template_id:
            extra["template_id"] = self.template_id
        return extra

    def primary_action(self) -> None:
        """Ctrl+Enter: generate."""
        self.generate()

    # --- templates ------------------------------------------------------------------------------
    def show_gallery(self, show: bool = True) -> None:
        if show:
            self.gallery.refresh()  # usage counts change as generations finish
        was_visible = self.gallery.isVisibleTo(self)
        self.gallery.setVisible(show)
        if show and not was_visible:
            total = max(400, sum(self.form_splitter.sizes()))
            self.form_splitter.setSizes([total * 11 // 20, total * 9 // 20])
        if self.templates_button.isChecked() != show:
            self.templates_button.blockSignals(True)
            self.templates_button.setChecked(show)
            self.templates_button.blockSignals(False)

    def use_template(self, template_id: str) -> None:
        """Fill the form with a template's parameters; later generations record the template."""
        template = self.services.templates.get(template_id)
        quality = self.quality_combo.currentData()
        formats = [k for k, check in self.format_checks.items() if check.isChecked()]
        self.apply_fields(template.parameters, title=None)
        if "audio_quality" not in template.parameters:  # the template does not say: keep the user's choice
            self.quality_combo.setCurrentIndex(self.quality_combo.findData(quality))
        if "output_formats" not in template.parameters:
            for key, check in self.format_checks.items():
                check.setChecked(key in formats)
        self.set_template(template_id)
        self.host.show_status(f"Form filled from the template “{template.name}”; change anything before generating.",
                              5000)

    def set_template(self, template_id: str | None) -> None:
        self.template_id = template_id
        if template_id:
            template = self.services.templates.get(template_id)
            self.template_label.setText(f"{_muted('Template:')} <b>{_escape(template.name)}</b> "
                                        f"{_muted('· ' + _escape(template.category))}")
            self.template_label.setToolTip(template.description)
        self.template_row.setVisible(bool(template_id))
        if hasattr(self, "gallery"):
            self.gallery.set_in_use(template_id)

    # --- playlist mode --------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        self.mode = mode
        playlist = mode == PLAYLIST
        (self.playlist_button if playlist else self.single_button).setChecked(True)
        self.playlist_options.setVisible(playlist)
        self.variations_spin.setVisible(not playlist)
        self.variations_caption.setVisible(not playlist)
        self.duration_spin.setEnabled(not playlist)
        self.duration_spin.setToolTip("In Playlist mode each track's length comes from the total length and "
                                      "the track count" if playlist else
                                      f"1–600 seconds; Auto takes it from the prompt (“2 minutes”) "
                                      f"or {DEFAULT_DURATION_S} s")
        self.generate_button.setText("Generate playlist" if playlist else "Generate")
        self.generate_button.setToolTip("Queue the playlist's tracks and its mix (Ctrl+Enter)" if playlist
                                        else "Queue the generation (Ctrl+Enter)")
        self.update_preview()

    def plan_seed(self) -> int:
        return self.seed_spin.value() if self.seed_lock.isChecked() else self.playlist_seed

    def playlist_base_fields(self) -> dict[str, Any]:
        """The form as every track's base (its duration and seed come from the plan)."""
        return {k: v for k, v in self.fields().items() if k not in ("duration", "seed")}

    def playlist_name(self) -> str:
        return self.playlist_options.name(self.title_edit.text().strip() or
                                          (f"{self.preview_plan['style_name']} playlist" if self.preview_plan
                                           else "Playlist"))

    def plan_playlist(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """(tracks' spec fields, plan) for the form and the playlist options; raises ValidationError
        or ValueError (an impossible plan)."""
        return plan_playlist(self.playlist_base_fields(), **self.playlist_options.plan_arguments(self.plan_seed()))

    def generate_playlist(self) -> dict[str, Any] | None:
        """Plan and queue the playlist (tracks + continuous mix); a card follows it."""
        try:
            tracks, plan = self.plan_playlist()
        except ValidationError as exc:
            self._show_invalid(exc)
            return None
        except ValueError as exc:
            QMessageBox.warning(self, "Check the playlist", f"The playlist was not queued.\n\n{exc}")
            return None
        self.preview_plan = plan
        name = self.playlist_name()
        try:
            playlist = self.services.music.submit_playlist(name=name, description=None, tracks=tracks, plan=plan,
                                                      source="gui", extra=self._extra(self.fields().get("prompt")))
        except ValidationError as exc:
            self._show_invalid(exc)
            return None
        except InsufficientCredits as exc:
            QMessageBox.warning(self, "Not enough credits", f"The playlist was not queued: {exc}.")
            return None
        except Exception as exc:
            QMessageBox.warning(self, "Playlist not started", str(exc))
            return None
        card = PlaylistCard(playlist["playlist_id"], name, plan)
        card.play_requested.connect(self.play_mix)
        card.library_requested.connect(self.show_playlist_in_library)
        self.playlist_cards[card.playlist_id] = card
        self.jobs_empty.hide()
        self.cards_layout.insertWidget(0, card)
        self.cards_scroll.verticalScrollBar().setValue(0)
        self._refresh_playlist(card.playlist_id)
        if not self.seed_lock.isChecked():
            self.playlist_seed = secrets.randbelow(SEED_MAX)
        self.last_playlist = playlist
        self.last_jobs = playlist["jobs"]
        eta = max((j.get("estimated_time_s") or 0) for j in playlist["jobs"])
        self.host.show_status(f"Queued the playlist “{name}”: {len(tracks)} tracks (about {eta:.0f} s each at "
                              "most), then their mix.", 8000)
        self.update_preview()
        return playlist

    def _refresh_playlist(self, playlist_id: str) -> None:
        card = self.playlist_cards.get(playlist_id)
        if card is None:
            return
        try:
            card.update_state(self.services.music.playlist(playlist_id))
        except KeyError:
            pass

    def play_mix(self, playlist_id: str) -> None:
        """Play the playlist's continuous mix in the player bar (decoded off the loop)."""
        card = self.playlist_cards.get(playlist_id)
        player = self.host.player
        if card is None or player is None:
            return
        files = (card.state.get("mix", {}).get("result") or {}).get("files") or {}
        media_id = files.get("wav") or files.get("mp3")
        if not media_id:
            self.host.show_status("This playlist has no mix yet.", 5000)
            return
        try:
            path, _row = self.services.music.media_file(media_id)
        except KeyError:
            self.host.show_status("The mix file is missing.", 6000)
            return
        title = f"{card.name} (mix)"
        self.host.show_status(f"Opening {title}…", 3000)

        def read():
            import soundfile as sf

            audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
            return playlist_id, title, audio, int(rate)

        self.tasks.start("mix", read)

    def _task_done(self, name: str, result: Any) -> None:
        if name == "mix" and self.host.player is not None:
            playlist_id, title, audio, rate = result
            self.host.player.load_audio(audio, rate, title)
            self.mix_playlist_id = playlist_id
            self.host.player.play()

    def _task_failed(self, name: str, message: str) -> None:
        if name == "mix":
            self.host.show_status(f"Cannot play the mix: {message}", 8000)

    def show_playlist_in_library(self, playlist_id: str) -> None:
        card = self.playlist_cards.get(playlist_id)
        window = self.window()
        if card is None or not card.track_ids or not hasattr(window, "show_panel"):
            return
        library = window.show_panel("library")
        show = getattr(library, "show_tracks", None)
        if callable(show):
            show(card.track_ids, search=card.name)

    def _show_invalid(self, exc: ValidationError) -> None:
        errors = describe_errors(exc)
        self.last_error = errors
        first = errors[0][0] if errors else ""
        for key, label in FIELD_LABELS.items():
            if label == first and key in self._field_widgets:
                self._field_widgets[key].setFocus()
                break
        text = "\n".join(f"{field}: {message}" for field, message in errors)
        QMessageBox.warning(self, f"Check {first or 'the form'}", f"The track was not queued.\n\n{text}")

    def _add_card(self, job: dict[str, Any], fields: dict[str, Any]) -> JobCard:
        card = JobCard(self, job, fields)
        self.cards[job["id"]] = card
        self.jobs_empty.hide()
        self.cards_layout.insertWidget(0, card)
        while len(self.cards) > MAX_CARDS:
            oldest = next(iter(self.cards))
            old = self.cards.pop(oldest)
            self.cards_layout.removeWidget(old)
            old.deleteLater()
        self.cards_scroll.verticalScrollBar().setValue(0)
        return card

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "characters_changed":
            self.refresh_singers()
            return
        if name in JOB_EVENTS and self.playlist_cards:
            playlist_id = (data.get("id") if data.get("kind") == PLAYLIST_KIND
                           else (data.get("params") or {}).get("playlist_id"))
            if playlist_id in self.playlist_cards:
                self._refresh_playlist(playlist_id)
                return
        if name in JOB_EVENTS and data.get("kind") == GENERATE_KIND and data.get("id") in self.cards:
            self.cards[data["id"]].update_job(data)
            if name == "job_completed":
                self._update_cost(self.preview_spec["duration_s"] if self.preview_spec else None)
        elif name == "generation_progress" and data.get("generation_id") in self.cards:
            self.cards[data["generation_id"]].set_remaining(data.get("estimated_remaining_s"))

    def reuse(self, card: JobCard) -> None:
        """Fill the form with what `card`'s job rendered (its seed locked)."""
        spec = card.spec
        fields = {
            "prompt": card.fields.get("prompt"), "style": spec.get("style"), "mood": spec.get("mood"),
            "tempo": spec.get("tempo_bpm"), "key": spec.get("key"), "duration": spec.get("duration_s"),
            "instrumental": spec.get("instrumental"), "lyrics": spec.get("lyrics") or card.fields.get("lyrics"),
            "primary_instruments": card.fields.get("primary_instruments") or [],
            "complexity": spec.get("complexity"), "creativity": spec.get("creativity"), "seed": spec.get("seed"),
            "tags": spec.get("tags") or [], "output_formats": card.fields.get("output_formats"),
            "audio_quality": card.fields.get("audio_quality"),
        }
        self.apply_fields(fields)

    def show_in_library(self, track_id: str | None) -> None:
        window = self.window()
        if not track_id or not hasattr(window, "show_panel"):
            return
        library = window.show_panel("library")
        select = getattr(library, "select_track", None)
        if callable(select):
            select(track_id)

    def focus_search(self) -> None:
        """Ctrl+F: the style search."""
        self.style_combo.setFocus()
        self.style_combo.lineEdit().selectAll()
