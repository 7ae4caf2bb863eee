"""Voices: the characters that front your music, what they say and how they sound.

Left, the characters (the eight defaults are one click away). Right, the selected character:
who they are, their voice (pitch, formants, intonation range, speed, delivery, or a matched
voice), a box to make them say something, a writer for scripted pieces (introductions, outros,
track commentary, announcements) voiced over an optional music bed, and their content history,
each piece playable in the player bar. "Match a voice…" fits a voice to your own recordings.

Everything goes through `services.voices` (the service the API uses); speech runs on the job queue and
finished pieces arrive through the event bus.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.services.voices import BUILTIN_VOICE_ID, VoiceError
from studio.ui.dialogs.character_dialog import CharacterDialog
from studio.ui.panels.base import Panel, PanelHost, empty_state
from studio.ui.theme import STATUS_COLORS, icon
from studio.ui.widgets.debounce import debounce_timer
from studio.ui.widgets.tasks import TaskRunner

REFRESH_DELAY_MS = 150
SAMPLE_FILTER = "Audio (*.wav *.flac *.ogg *.mp3)"
MOODS = ("neutral", "calm", "happy", "excited", "energetic", "mysterious", "serious", "sad", "warm")


class MatchVoiceDialog(QDialog):
    """The voice-matching wizard: drop or choose recordings (each is checked at once: length, rate,
    level, clipping), name the voice, Match; the dialog then follows the job and shows what was
    fitted and the similarity before and after. The voice is saved when the job completes."""

    def __init__(self, voices, characters: list[dict[str, Any]], current: str | None, parent=None) -> None:
        super().__init__(parent)
        self.voices = voices
        self.paths: list[Path] = []
        self.samples: list[dict[str, Any]] = []
        self.result: dict[str, Any] | None = None
        self.outcome: dict[str, Any] | None = None  # the finished voice
        self.setWindowTitle("Match a voice")
        self.setMinimumWidth(620)
        self.setAcceptDrops(True)
        layout = QVBoxLayout(self)
        note = QLabel("Voice matching fits the built-in voice's pitch, intonation and timbre (formants) to your "
                      "recordings and measures how close it gets. It is not a neural voice clone. Give it 3 s to "
                      "10 min of one person speaking, as WAV, FLAC, OGG or MP3: drop the files here or choose them.")
        note.setWordWrap(True)
        note.setObjectName("Muted")
        layout.addWidget(note)
        choose = QPushButton(icon("mdi6.folder-open"), "Choose recordings…")
        choose.clicked.connect(self.choose)
        self.sample_table = QTableWidget(0, 4)
        self.sample_table.setHorizontalHeaderLabels(["Sample", "Length", "Rate", "Check"])
        self.sample_table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.sample_table.verticalHeader().setVisible(False)
        self.sample_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sample_table.setMaximumHeight(140)
        self.total_label = QLabel("No recordings yet")
        self.total_label.setObjectName("Muted")
        top = QHBoxLayout()
        top.addWidget(self.total_label, 1)
        top.addWidget(choose)
        layout.addLayout(top)
        layout.addWidget(self.sample_table)
        form = QFormLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. My narrator voice")
        form.addRow("Name", self.name_edit)
        self.description_edit = QLineEdit()
        form.addRow("Description", self.description_edit)
        self.character_combo = QComboBox()
        self.character_combo.addItem("No character (use it anywhere)", None)
        for c in characters:
            self.character_combo.addItem(f"{c['name']} ({c['genre']})", c["id"])
        if current:
            self.character_combo.setCurrentIndex(max(0, self.character_combo.findData(current)))
        form.addRow("For", self.character_combo)
        layout.addLayout(form)
        self.progress_label = QLabel()
        self.progress_label.setWordWrap(True)
        self.progress_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.progress_label)
        self.error_label = QLabel()
        self.error_label.setObjectName("Error")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.match_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.match_button.setText("Match")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    # --- samples -----------------------------------------------------------------------------------
    def choose(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Recordings of one speaker", str(Path.home()), SAMPLE_FILTER)
        if names:
            self.set_paths([Path(n) for n in names])

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            self.set_paths(self.paths + paths)
            event.acceptProposedAction()

    def set_paths(self, paths: list[Path]) -> None:
        """Check each recording now and list what was found (or what is wrong with it)."""
        self.paths = list(dict.fromkeys(paths))
        self.samples = [self.voices.matching.inspect_sample(p) for p in self.paths]
        table = self.sample_table
        table.setRowCount(len(self.samples))
        for row, (path, info) in enumerate(zip(self.paths, self.samples)):
            ok = info.get("error") is None
            check = "; ".join(info.get("warnings") or []) or "ok" if ok else info["error"]
            cells = [path.name, f"{info['duration_s']:.1f} s" if ok else "–",
                     f"{info['sample_rate_hz'] / 1000:g} kHz" if ok else "–", check]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 3 and not ok:
                    item.setForeground(QColor(STATUS_COLORS["failed"]))
                table.setItem(row, col, item)
        total = sum(i["duration_s"] for i in self.samples if i.get("error") is None)
        bad = sum(1 for i in self.samples if i.get("error"))
        self.total_label.setText(f"{len(self.samples)} recording(s), {total:.1f} s of usable audio"
                                 + (f" · {bad} cannot be used" if bad else ""))

    # --- matching ------------------------------------------------------------------------------------
    def submit(self) -> dict[str, Any] | None:
        try:
            samples = [(p.read_bytes(), p.name) for p in self.paths]
            self.result = self.voices.matching.submit_clone(samples, name=self.name_edit.text(),
                                                            description=self.description_edit.text(),
                                                            character_id=self.character_combo.currentData())
        except (VoiceError, OSError) as exc:
            self.error_label.setText(getattr(exc, "message", None) or str(exc))
            return None
        self.error_label.clear()
        self.match_button.setEnabled(False)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Close")
        self.progress_label.setText(f"Analysing {self.result['total_duration']:.0f} s of recordings and fitting the "
                                    "voice… (you can close this; the voice appears when it is ready)")
        return self.result

    def job_event(self, name: str, data: dict[str, Any]) -> None:
        """The panel forwards the clone job's events: progress, then the outcome."""
        if not self.result or data.get("id") != self.result["clone_id"]:
            return
        if name == "job_progress":
            self.progress_label.setText(f"{data.get('stage') or 'working'}… {data.get('progress', 0):.0f}%")
        elif name == "job_completed":
            self.outcome = self.voices.catalog.get_voice(self.result["voice_id"])
            t, p = self.outcome["transform"], self.outcome["profile"]
            similarity = (f"Similarity to your recordings: <b>{p['similarity_before']:.2f}</b> before fitting → "
                          f"<b>{p['similarity_after']:.2f}</b> after" if p.get("similarity_after") is not None
                          else "Similarity could not be measured (speaker encoder missing)")
            self.progress_label.setText(
                f"Saved “{self.outcome['name']}”: pitch {t['pitch_semitones']:+.1f} st, formants "
                f"{t['formant_shift']:.2f}, intonation range {t['pitch_range']:.2f}.<br>{similarity}.")
            self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Done")
        elif name in ("job_failed", "job_cancelled"):
            message = (data.get("error") or {}).get("message", name.replace("job_", ""))
            self.progress_label.setText("")
            self.error_label.setText(f"Matching failed: {message}")
            self.match_button.setEnabled(True)


AVATAR_COLORS = ("#5b7cfa", "#e0795b", "#4fb286", "#b46fd6", "#d6a94f", "#5bb7d6", "#d65b8e", "#8f9a5b")


def avatar(name: str, size: int = 36) -> QIcon:
    """A round avatar with the name's initials, its colour picked from the name."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(AVATAR_COLORS[sum(map(ord, name)) % len(AVATAR_COLORS)]))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(0, 0, size, size)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(size // 2 - 2)
    painter.setFont(font)
    painter.setPen(QColor("#ffffff"))
    initials = "".join(part[0] for part in name.split()[:2]).upper() or "?"
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, initials)
    painter.end()
    return QIcon(pixmap)


class VoiceBatchDialog(QDialog):
    """Characters x content types: one voiced piece each, queued together (seed 000's batch)."""

    def __init__(self, voices, characters: list[dict[str, Any]], parent=None) -> None:
        super().__init__(parent)
        self.voices = voices
        self.result: dict[str, Any] | None = None
        self.future: asyncio.Future | None = None
        self.setWindowTitle("Batch content")
        layout = QVBoxLayout(self)
        who = QGroupBox("Characters")
        who_grid = QGridLayout(who)
        self.character_checks: dict[str, QCheckBox] = {}
        for i, c in enumerate(characters):
            check = QCheckBox(f"{c['name']} ({c['genre']})")
            self.character_checks[c["id"]] = check
            who_grid.addWidget(check, i // 2, i % 2)
        layout.addWidget(who)
        what = QGroupBox("Pieces")
        what_row = QHBoxLayout(what)
        self.type_checks: dict[str, QCheckBox] = {}
        for kind in voices.options.content_types():
            check = QCheckBox(kind.replace("_", " ").capitalize())
            self.type_checks[kind] = check
            what_row.addWidget(check)
        layout.addWidget(what)
        form = QFormLayout()
        self.topic_edit = QLineEdit()
        self.topic_edit.setPlaceholderText("What they talk about, e.g. this week's releases")
        self.duration_spin = QDoubleSpinBox()
        self.duration_spin.setRange(3, 300)
        self.duration_spin.setValue(20)
        self.duration_spin.setSuffix(" s")
        form.addRow("Topic", self.topic_edit)
        form.addRow("Length", self.duration_spin)
        layout.addLayout(form)
        self.error_label = QLabel()
        self.error_label.setObjectName("Error")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Queue")
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def set_selection(self, characters: list[str], kinds: list[str]) -> None:
        for char_id, check in self.character_checks.items():
            check.setChecked(char_id in characters)
        for kind, check in self.type_checks.items():
            check.setChecked(kind in kinds)

    def submit(self) -> asyncio.Future:
        characters = [c for c, check in self.character_checks.items() if check.isChecked()]
        kinds = [k for k, check in self.type_checks.items() if check.isChecked()]

        async def run() -> dict[str, Any] | None:
            try:
                self.result = await self.voices.speech.submit_batch("generate_content", characters, kinds,
                                                                    topic=self.topic_edit.text().strip() or None,
                                                                    duration_s=self.duration_spin.value())
            except VoiceError as exc:
                self.error_label.setText(exc.message)
                return None
            self.accept()
            return self.result

        self.future = asyncio.ensure_future(run())
        return self.future


class VoicesPanel(Panel):
    title = "Voices"
    icon = "mdi6.account-voice"
    key = "voices"
    area = "voices"
    subtitle = ("Characters that front your music: their personality, their words and their voice. Make them speak, "
                "write and voice intros and outros, or match a voice to your own recordings.")

    def __init__(self, host: PanelHost, parent: QWidget | None = None) -> None:
        super().__init__(host, parent)
        self.service = self.services.voices
        self.characters: list[dict[str, Any]] = []
        self.character: dict[str, Any] | None = None
        self.content_rows: list[dict[str, Any]] = []
        self.pending_play: str | None = None  # content id to play when its job finishes
        self.last_error = ""
        self.last_script: dict[str, Any] | None = None
        self._play_when_loaded = False
        self.match_dialog: MatchVoiceDialog | None = None

        self.init_button = QPushButton(icon("mdi6.account-multiple-plus"), "Create the default characters")
        self.init_button.clicked.connect(self.initialize)
        self.match_button = QPushButton(icon("mdi6.waveform"), "Match a voice…")
        self.match_button.clicked.connect(self.open_match_dialog)
        self.new_button = QPushButton(icon("mdi6.account-plus"), "New character…")
        self.new_button.clicked.connect(lambda: self.open_character_dialog(None))
        self.batch_button = QPushButton(icon("mdi6.playlist-plus"), "Batch…")
        self.batch_button.setToolTip("Write and voice pieces for several characters at once")
        self.batch_button.clicked.connect(self.open_batch_dialog)
        self.tasks = TaskRunner(self)
        self.tasks.done.connect(self._task_done)
        self.tasks.failed.connect(self._task_failed)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 16)
        layout.setSpacing(10)
        layout.addLayout(self.header(self.init_button, self.new_button, self.batch_button, self.match_button))

        self.empty = empty_state("mdi6.account-voice", "No characters yet")
        empty_note = QLabel("Create the eight default characters (Luna, Kai, Zara, Max, Nova, Rex, Aria, Jules), each "
                            "with a genre, a personality and a voice of their own, or add your own through the API.")
        empty_note.setWordWrap(True)
        empty_note.setObjectName("Muted")
        self.empty.layout().addWidget(empty_note)
        layout.addWidget(self.empty)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.character_list = QListWidget()
        self.character_list.setMinimumWidth(220)
        self.character_list.setIconSize(QSize(36, 36))
        self.character_list.currentItemChanged.connect(self._character_selected)
        self.splitter.addWidget(self.character_list)
        self.splitter.addWidget(self._build_detail())
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([240, 900])
        layout.addWidget(self.splitter, 1)

        self.refresh_timer = debounce_timer(self, REFRESH_DELAY_MS, self.refresh)
        host.bridge.event.connect(self._on_event)
        if host.player is not None:
            host.player.loaded.connect(self._player_loaded)
        self.refresh()

    # --- layout ---------------------------------------------------------------------------------------
    def _build_detail(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(8, 0, 6, 0)
        col.setSpacing(10)

        name_row = QHBoxLayout()
        self.name_label = QLabel()
        self.name_label.setObjectName("TrackTitle")
        self.edit_button = QPushButton(icon("mdi6.pencil"), "Edit…")
        self.edit_button.clicked.connect(lambda: self.open_character_dialog(self.character))
        self.delete_button = QPushButton(icon("mdi6.delete-outline"), "Delete…")
        self.delete_button.clicked.connect(self.delete_character)
        name_row.addWidget(self.name_label, 1)
        name_row.addWidget(self.edit_button)
        name_row.addWidget(self.delete_button)
        col.addLayout(name_row)
        self.about_label = QLabel()
        self.about_label.setWordWrap(True)
        self.about_label.setTextFormat(Qt.TextFormat.RichText)
        col.addWidget(self.about_label)

        voice_box = QGroupBox("Voice")
        grid = QGridLayout(voice_box)
        self.voice_combo = QComboBox()
        self.voice_combo.activated.connect(lambda _i: self.voice_note.setText(self._voice_note(self.voice_combo.currentData())))
        self.pitch_spin = self._spin(-24, 24, 0.5, " st", "Pitch shift in semitones (+12 is an octave up)")
        self.formant_spin = self._spin(0.6, 1.6, 0.01, "", "Timbre: above 1 a smaller, brighter voice; below 1 a "
                                                          "bigger, darker one")
        self.range_spin = self._spin(0.0, 3.0, 0.05, "", "Intonation range: 1 as spoken, below 1 flatter, above livelier")
        self.speed_spin = self._spin(0.5, 2.0, 0.05, "x", "Speaking rate")
        self.emotion_combo = QComboBox()
        self.emotion_combo.addItems(self.service.options.emotion_names())
        # The base voice the transform reshapes: built-in male/female, or a Piper voice installed in System > Models.
        self.base_voice_combo = QComboBox()
        self.base_voice_combo.setToolTip("The neural voice this character's pitch, formants and range reshape: the "
                                         "built-in male (Joe) or female (Heart) voice, or a Piper voice you installed "
                                         "(System > Models, or POST /api/models/install)")
        for i, (label, widget) in enumerate((("Base voice", self.base_voice_combo), ("Matched voice", self.voice_combo),
                                             ("Pitch", self.pitch_spin),
                                             ("Formants", self.formant_spin), ("Range", self.range_spin),
                                             ("Speed", self.speed_spin), ("Delivery", self.emotion_combo))):
            grid.addWidget(QLabel(label), i // 3, (i % 3) * 2)
            grid.addWidget(widget, i // 3, (i % 3) * 2 + 1)
        self.save_voice_button = QPushButton(icon("mdi6.content-save"), "Save voice")
        self.save_voice_button.clicked.connect(self.save_voice)
        self.preview_button = QPushButton(icon("mdi6.play-circle-outline"), "Preview")
        self.preview_button.setToolTip("Hear these settings (not saved yet) say a sample sentence")
        self.preview_button.clicked.connect(self.preview_voice)
        self.voice_note = QLabel()
        self.voice_note.setObjectName("Muted")
        self.voice_note.setWordWrap(True)
        grid.addWidget(self.voice_note, 3, 0, 1, 4)  # below the three rows of settings (7 fields)
        grid.addWidget(self.preview_button, 3, 4)
        grid.addWidget(self.save_voice_button, 3, 5)
        col.addWidget(voice_box)

        say_box = QGroupBox("Say something")
        say = QHBoxLayout(say_box)
        self.say_edit = QLineEdit()
        self.say_edit.setPlaceholderText("Type a sentence and press Speak (Ctrl+Enter)")
        self.say_edit.returnPressed.connect(self.speak)
        self.speak_button = QPushButton(icon("mdi6.account-voice"), "Speak")
        self.speak_button.setObjectName("Primary")
        self.speak_button.clicked.connect(self.speak)
        say.addWidget(self.say_edit, 1)
        say.addWidget(self.speak_button)
        col.addWidget(say_box)

        write_box = QGroupBox("Write and voice a piece")
        write = QGridLayout(write_box)
        self.type_combo = QComboBox()
        for kind in self.service.options.content_types():
            self.type_combo.addItem(kind.replace("_", " ").capitalize(), kind)
        self.topic_edit = QLineEdit()
        self.topic_edit.setPlaceholderText("Topic, e.g. my new album Midnight Rain")
        self.mood_combo = QComboBox()
        self.mood_combo.addItem("Character's own", None)
        for mood in MOODS:
            self.mood_combo.addItem(mood.capitalize(), mood)
        self.duration_spin = self._spin(3, 300, 1, " s", "Target length when spoken")
        self.duration_spin.setValue(20)
        self.music_check = QCheckBox("Over a music bed")
        self.music_check.setToolTip("The character's newest track in its style from the Library, or a fresh "
                                    "instrumental; ducked under the voice")
        self.write_button = QPushButton(icon("mdi6.script-text-outline"), "Write and voice")
        self.write_button.clicked.connect(self.write_and_voice)
        write.addWidget(QLabel("Type"), 0, 0)
        write.addWidget(self.type_combo, 0, 1)
        write.addWidget(QLabel("Mood"), 0, 2)
        write.addWidget(self.mood_combo, 0, 3)
        write.addWidget(QLabel("Length"), 0, 4)
        write.addWidget(self.duration_spin, 0, 5)
        write.addWidget(self.topic_edit, 1, 0, 1, 4)
        write.addWidget(self.music_check, 1, 4)
        write.addWidget(self.write_button, 1, 5)
        self.script_view = QPlainTextEdit()
        self.script_view.setPlaceholderText("The script appears here as soon as it is written; edit it and press "
                                            "Speak script, or write your own.")
        self.script_view.setMaximumHeight(110)
        write.addWidget(self.script_view, 2, 0, 1, 6)
        self.write_only_button = QPushButton(icon("mdi6.pencil-outline"), "Write script")
        self.write_only_button.setToolTip("Write a script in the character's words without voicing it")
        self.write_only_button.clicked.connect(self.write_script)
        self.speak_script_button = QPushButton(icon("mdi6.account-voice"), "Speak script")
        self.speak_script_button.clicked.connect(self.speak_script)
        script_buttons = QHBoxLayout()
        script_buttons.addStretch(1)
        script_buttons.addWidget(self.write_only_button)
        script_buttons.addWidget(self.speak_script_button)
        write.addLayout(script_buttons, 3, 0, 1, 6)
        col.addWidget(write_box)

        history_box = QGroupBox("Content")
        history = QVBoxLayout(history_box)
        self.content_table = QTableWidget(0, 5)
        self.content_table.setHorizontalHeaderLabels(["Type", "Title", "Length", "Status", "Made"])
        self.content_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.content_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.content_table.verticalHeader().setVisible(False)
        self.content_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.content_table.cellDoubleClicked.connect(lambda row, _col: self.play_content(row))
        self.content_table.setMinimumHeight(160)
        history.addWidget(self.content_table)
        self.content_empty = QLabel("Nothing yet: what this character says appears here, ready to play.")
        self.content_empty.setObjectName("Muted")
        history.addWidget(self.content_empty)
        buttons = QHBoxLayout()
        self.play_button = QPushButton(icon("mdi6.play"), "Play")
        self.play_button.clicked.connect(lambda: self.play_content(self.content_table.currentRow()))
        self.delete_content_button = QPushButton(icon("mdi6.delete-outline"), "Delete")
        self.delete_content_button.clicked.connect(self.delete_selected_content)
        self.status_label = QLabel()
        self.status_label.setObjectName("Muted")
        self.status_label.setWordWrap(True)
        buttons.addWidget(self.status_label, 1)
        buttons.addWidget(self.play_button)
        buttons.addWidget(self.delete_content_button)
        history.addLayout(buttons)
        col.addWidget(history_box, 1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(page)
        return scroll

    @staticmethod
    def _spin(low: float, high: float, step: float, suffix: str, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(low, high)
        spin.setSingleStep(step)
        spin.setDecimals(2)
        spin.setSuffix(suffix)
        spin.setToolTip(tip)
        return spin

    # --- data -----------------------------------------------------------------------------------------
    def refresh(self) -> None:
        _total, self.characters = self.service.characters.list_characters(limit=1000)
        selected = self.character["id"] if self.character else None
        has = bool(self.characters)
        self.empty.setVisible(not has)
        self.splitter.setVisible(has)
        self.init_button.setVisible(len(self.characters) < 8 or not has)
        self.character_list.blockSignals(True)
        self.character_list.clear()
        for c in self.characters:
            item = QListWidgetItem(avatar(c["name"]), self._list_text(c))
            item.setData(Qt.ItemDataRole.UserRole, c["id"])
            item.setToolTip(c["personality"])
            self.character_list.addItem(item)
        self.character_list.blockSignals(False)
        ids = [c["id"] for c in self.characters]
        if has:
            self.select_character(selected if selected in ids else ids[0])

    @staticmethod
    def _list_text(character: dict[str, Any]) -> str:
        count = character["total_content"]
        return f"{character['name']}\n{character['genre']} · {count} piece{'' if count == 1 else 's'}"

    def _update_counts(self) -> None:
        """New content finished: refresh the list's counts without touching the form."""
        _total, self.characters = self.service.characters.list_characters(limit=1000)
        by_id = {c["id"]: c for c in self.characters}
        for row in range(self.character_list.count()):
            item = self.character_list.item(row)
            character = by_id.get(item.data(Qt.ItemDataRole.UserRole))
            if character is not None:
                item.setText(self._list_text(character))

    def character_ids(self) -> list[str]:
        return [c["id"] for c in self.characters]

    def select_character(self, character_id: str) -> bool:
        for row in range(self.character_list.count()):
            if self.character_list.item(row).data(Qt.ItemDataRole.UserRole) == character_id:
                self.character_list.setCurrentRow(row)
                self._show_character(character_id)
                return True
        return False

    def _character_selected(self, current: QListWidgetItem | None, _previous=None) -> None:
        if current is not None:
            self._show_character(current.data(Qt.ItemDataRole.UserRole))

    def _show_character(self, character_id: str) -> None:
        self.character = self.service.characters.get_character(character_id)
        c = self.character
        self.name_label.setText(f"{c['name']} · {c['genre']}")
        traits = c["personality_traits"]
        facts = [f"<b>{c['personality']}</b>", c["backstory"]]
        if traits.get("content_tone"):
            facts.append(f"Tone: {traits['content_tone']} · style: {traits.get('communication_style', '–')}")
        where = ", ".join(x for x in (c.get("location"), c.get("timezone")) if x)
        if where:
            facts.append(where)
        self.about_label.setText("<br>".join(facts))
        voice = c["voice_settings"]
        self.voice_combo.clear()
        self.voice_combo.addItem("None", BUILTIN_VOICE_ID)
        for v in self.service.catalog.list_voices():
            if v["status"] == "ready" and v["character_id"] in (None, c["id"]):
                self.voice_combo.addItem(f"Matched: {v['name']}", v["voice_id"])
        self.voice_combo.setCurrentIndex(max(0, self.voice_combo.findData(voice.get("voice_id", BUILTIN_VOICE_ID))))
        self.base_voice_combo.clear()
        for base in self.service.catalog.base_voices():
            # short in the combo ("Heart, female"), the full name in its tooltip
            short = base["name"].split(" (", 1)[0]
            label = f"{short}, {base['gender']}" if base.get("gender") else f"{short} (installed)"
            self.base_voice_combo.addItem(label, base["id"])
            self.base_voice_combo.setItemData(self.base_voice_combo.count() - 1, base["name"],
                                              Qt.ItemDataRole.ToolTipRole)
        self.base_voice_combo.setCurrentIndex(max(0, self.base_voice_combo.findData(voice.get("base_voice"))))
        self.pitch_spin.setValue(float(voice.get("pitch_semitones", 0.0)))
        self.formant_spin.setValue(float(voice.get("formant_shift", 1.0)))
        self.range_spin.setValue(float(voice.get("pitch_range", 1.0)))
        self.speed_spin.setValue(float(voice.get("speed", 1.0)))
        self.emotion_combo.setCurrentText(voice.get("emotion", "neutral"))
        self.voice_note.setText(self._voice_note(self.voice_combo.currentData()))
        self._load_content()

    def _load_content(self) -> None:
        if self.character is None:
            return
        _total, self.content_rows = self.service.content.content_history(self.character["id"], limit=100)
        table = self.content_table
        table.setRowCount(len(self.content_rows))
        for row, item in enumerate(self.content_rows):
            length = f"{item['duration']:.1f} s" if item["duration"] else "–"
            cells = [item["type"].replace("_", " "), item["title"], length, item["status"],
                     (item["created_at"] or "")[:16].replace("T", " ")]
            for col, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if col == 3:
                    cell.setForeground(QColor(STATUS_COLORS.get(item["status"], "#cccccc")))
                cell.setToolTip(item["text"][:500] if item["text"] else "")
                table.setItem(row, col, cell)
        self.content_empty.setVisible(not self.content_rows)

    # --- actions ---------------------------------------------------------------------------------------
    def initialize(self) -> dict[str, Any]:
        result = self.service.characters.initialize()
        self.refresh()
        self.host.show_status(f"{len(result['created'])} characters created" if result["created"]
                              else "The default characters exist already")
        return result

    def save_voice(self) -> list[str]:
        if self.character is None:
            return []
        changes = {"voice": {"voice_id": self.voice_combo.currentData(),
                             "base_voice": self.base_voice_combo.currentData(), "pitch_semitones": self.pitch_spin.value(),
                             "formant_shift": self.formant_spin.value(), "pitch_range": self.range_spin.value(),
                             "speed": self.speed_spin.value(), "emotion": self.emotion_combo.currentText()}}
        try:
            _character, updated = self.service.characters.update_character(self.character["id"], changes)
        except VoiceError as exc:
            self._error(exc.message)
            return []
        self.status_label.setText("Voice saved" if updated else "Nothing changed")
        self._show_character(self.character["id"])
        return updated

    def speak(self, text: str | None = None) -> dict[str, Any] | None:
        if self.character is None:
            return None
        text = text if isinstance(text, str) else self.say_edit.text()
        try:
            row = self.service.speech.submit_synthesis(self.character["id"], text)
        except VoiceError as exc:
            self._error(exc.message)
            return None
        self.pending_play = row["id"]
        self.status_label.setText(f"Speaking… (about {row['estimated_time']:.0f} s)")
        self._load_content()
        return row

    def primary_action(self) -> None:
        self.speak()

    def write_and_voice(self) -> asyncio.Future | None:
        """Write the script (shown as soon as it exists), then the job voices it."""
        if self.character is None:
            return None
        character_id = self.character["id"]
        self.write_button.setEnabled(False)
        self.script_view.setPlainText("Writing…")

        async def run() -> dict[str, Any] | None:
            try:
                row = await self.service.speech.submit_content(character_id, self.type_combo.currentData(),
                                                               topic=self.topic_edit.text() or None,
                                                               mood=self.mood_combo.currentData(),
                                                               duration_s=self.duration_spin.value(),
                                                               include_music=self.music_check.isChecked())
            except VoiceError as exc:
                self._error(exc.message)
                self.script_view.clear()
                return None
            finally:
                self.write_button.setEnabled(True)
            self.last_script = row["script"]
            self.script_view.setPlainText(f"{row['script']['script']}\n\n({row['script']['word_count']} words, about "
                                          f"{row['script']['duration_estimate']:.0f} s · {row['script']['source']})")
            self.pending_play = row["id"]
            self.status_label.setText(f"Voicing… (about {row['estimated_time']:.0f} s)")
            self._load_content()
            return row

        return asyncio.ensure_future(run())

    def play_content(self, row: int) -> bool:
        if not 0 <= row < len(self.content_rows):
            return False
        item = self.content_rows[row]
        if item["status"] != "completed" or not item["files"]:
            self.status_label.setText("This piece has no audio yet" if item["type"] not in ("caption", "post")
                                      else "Captions are text: hover to read")
            return False
        path, _row = self.service.content.content_file(item["id"])
        if self.host.player is None:
            return False
        name = self.character["name"] if self.character else ""
        self.host.player.load_file(path, title=f"{name}: {item['title']}")
        self._play_when_loaded = True
        return True

    def _player_loaded(self, _title: str) -> None:
        if self._play_when_loaded and self.host.player is not None:
            self._play_when_loaded = False
            self.host.player.play()

    def delete_selected_content(self) -> bool:
        row = self.content_table.currentRow()
        if not 0 <= row < len(self.content_rows):
            return False
        item = self.content_rows[row]
        answer = QMessageBox.question(self, "Delete", f"Delete “{item['title']}” and its audio?")
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.service.content.delete_content(item["id"])
        self._load_content()
        return True

    def open_match_dialog(self) -> MatchVoiceDialog:
        dialog = MatchVoiceDialog(self.service, self.characters, self.character["id"] if self.character else None, self)
        self.match_dialog = dialog
        dialog.open()
        return dialog

    def _voice_note(self, voice_id: str | None) -> str:
        if voice_id in (None, BUILTIN_VOICE_ID):
            return "The base voice, reshaped by these settings."
        voice = self.service.catalog.get_voice(voice_id)
        profile = voice["profile"]
        fit = (f" Similarity to the recordings: {profile['similarity_before']:.2f} before fitting, "
               f"{profile['similarity_after']:.2f} after." if profile.get("similarity_after") is not None else "")
        return (f"“{voice['name']}” was matched to {profile.get('total_duration_s', 0):.0f} s of recordings: its pitch, "
                f"formants and range replace the ones above (not a neural clone).{fit}")

    def voice_form(self) -> dict[str, Any]:
        return {"voice_id": self.voice_combo.currentData(), "base_voice": self.base_voice_combo.currentData(),
                "pitch_semitones": self.pitch_spin.value(),
                "formant_shift": self.formant_spin.value(), "pitch_range": self.range_spin.value(),
                "speed": self.speed_spin.value(), "emotion": self.emotion_combo.currentText()}

    def preview_voice(self) -> None:
        """Speak a sample with the form's settings (unsaved) on a worker, then play it."""
        if self.character is None:
            return
        text = self.say_edit.text().strip() or (
            ((self.character.get("words") or {}).get("greetings") or [f"Hi, I'm {self.character['name']}."])[0]
            + " This is how I sound.")
        voice = self.voice_form()
        self.preview_button.setEnabled(False)
        self.status_label.setText("Preparing the preview…")
        self.tasks.start("preview", lambda: self.service.speech.preview_speech(text, voice))

    def _task_done(self, name: str, result: Any) -> None:
        if name == "preview":
            self.preview_button.setEnabled(True)
            audio, rate = result
            self.status_label.setText("Preview (not saved)")
            if self.host.player is not None:
                self.host.player.load_audio(audio, rate, f"{self.character['name']}: preview")
                self.host.player.play()

    def _task_failed(self, name: str, message: str) -> None:
        self.preview_button.setEnabled(True)
        self._error(f"Preview failed: {message}")

    def write_script(self) -> asyncio.Future | None:
        """Write a script into the editor (nothing voiced or stored)."""
        if self.character is None:
            return None
        character_id = self.character["id"]

        async def run() -> dict[str, Any] | None:
            try:
                script = await self.service.writer.write_script(character_id, self.type_combo.currentData(),
                                                                topic=self.topic_edit.text() or None,
                                                                mood=self.mood_combo.currentData(),
                                                                duration_s=self.duration_spin.value())
            except VoiceError as exc:
                self._error(exc.message)
                return None
            self.last_script = script
            self.script_view.setPlainText(script["script"])
            self.status_label.setText(f"{script['word_count']} words, about {script['duration_estimate']:.0f} s "
                                      f"· {script['source']}")
            return script

        return asyncio.ensure_future(run())

    def speak_script(self) -> dict[str, Any] | None:
        """Voice the editor's text as it is (edited or your own)."""
        return self.speak(self.script_view.toPlainText())

    def open_character_dialog(self, character: dict[str, Any] | None) -> CharacterDialog:
        dialog = CharacterDialog(self.service, character, self)
        dialog.accepted.connect(lambda: self._character_saved(dialog.result_character))
        dialog.open()
        return dialog

    def _character_saved(self, character: dict[str, Any] | None) -> None:
        self.refresh()
        if character:
            self.select_character(character["id"])

    def delete_character(self) -> bool:
        if self.character is None:
            return False
        c = self.character
        answer = QMessageBox.question(self, "Delete character",
                                      f"Delete {c['name']}, their {c['total_content']} pieces of content and the voices "
                                      "matched for them? This cannot be undone.")
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.service.characters.delete_character(c["id"])
        self.character = None
        self.refresh()
        return True

    def open_batch_dialog(self) -> VoiceBatchDialog:
        dialog = VoiceBatchDialog(self.service, self.characters, self)
        dialog.accepted.connect(lambda: self.status_label.setText(
            f"Batch queued: {len((dialog.result or {}).get('operations', []))} pieces"))
        dialog.open()
        return dialog

    def _error(self, message: str) -> None:
        self.last_error = message
        self.status_label.setText(message)
        if self.isVisible():
            QMessageBox.warning(self, "Voices", message)

    # --- events ----------------------------------------------------------------------------------------
    def _on_event(self, name: str, data: dict) -> None:
        kind = data.get("kind", "")
        if name == "job_progress" and kind == "voice.clone" and self.match_dialog is not None:
            self.match_dialog.job_event(name, data)
            return
        if name == "characters_changed":
            self.refresh_timer.start()
        elif name in ("job_completed", "job_failed", "job_cancelled") and kind.startswith("voice."):
            if kind == "voice.clone":
                if self.match_dialog is not None:
                    self.match_dialog.job_event(name, data)
                self.refresh_timer.start()
                result = data.get("result") or {}
                profile = result.get("profile") or {}
                if name == "job_completed" and profile.get("similarity_after") is not None:
                    self.status_label.setText(f"Voice matched: similarity {profile['similarity_before']:.2f} → "
                                              f"{profile['similarity_after']:.2f}")
                elif name == "job_failed":
                    self.status_label.setText(f"Voice matching failed: {(data.get('error') or {}).get('message')}")
                return
            self._load_content()
            self._update_counts()
            if data.get("id") == self.pending_play:
                self.pending_play = None
                if name == "job_completed":
                    self.status_label.setText("Done")
                    rows = [r["id"] for r in self.content_rows]
                    if data["id"] in rows:
                        self.content_table.selectRow(rows.index(data["id"]))
                        self.play_content(rows.index(data["id"]))
                else:
                    self.status_label.setText(f"Failed: {(data.get('error') or {}).get('message', name)}")
