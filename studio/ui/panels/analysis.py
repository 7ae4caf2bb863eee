"""Analyze: drop or pick any audio file and see what it sounds like: its waveform, the log-mel
spectrogram the tagger hears, genre and mood bars, tempo, key and loudness. A folder is analysed
as a batch (the `analysis.batch` job, shown with a progress bar) and its results export to CSV.
Every analysis, from here or from the API (POST /api/v1/predict), lands in the history.

The panel reaches the analysis service through `host.services` only. A single file is analysed on Qt's
thread pool (`TaskRunner`) and recorded on the GUI thread; a batch runs on the job queue and its
rows arrive through the event bus.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.services.analysis import SUPPORTED_FORMATS, AnalysisError, UnknownPrediction
from studio.ui.formatting import KEY_CONFIDENCE_MIN, TEMPO_CONFIDENCE_MIN, confidence_text, when
from studio.ui.panels.base import Panel, PanelHost
from studio.ui.theme import COLORS, STATUS_COLORS, icon
from studio.ui.widgets.debounce import debounce_timer
from studio.ui.widgets.player_bar import format_time
from studio.ui.widgets.prob_bars import ProbabilityBars
from studio.ui.widgets.spectrogram_view import SpectrogramView
from studio.ui.widgets.tasks import TaskRunner
from studio.ui.widgets.track_waveform import TrackWaveform

AUDIO_FILTER = "Audio files (" + " ".join(f"*.{ext}" for ext in SUPPORTED_FORMATS) + ");;All files (*)"
HISTORY_COLUMNS = ("File", "Genre", "Conf.", "BPM", "Key")
HISTORY_LIMIT = 200
REFRESH_DELAY_MS = 200
STAGE_TEXT = {"processing": "Decoding…", "converting": "Computing the spectrogram and features…",
              "predicting": "Running the tagger…"}


def key_label(key: str | None) -> str:
    return (key or "–").replace("_", " ")


def _card(caption: str) -> tuple[QFrame, QLabel, QLabel]:
    frame = QFrame()
    frame.setObjectName("Card")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(12, 8, 12, 8)
    layout.setSpacing(2)
    label = QLabel(caption)
    label.setObjectName("CardLabel")
    value = QLabel("–")
    value.setObjectName("CardValue")
    note = QLabel("")
    note.setWordWrap(True)
    note.setObjectName("Muted")
    layout.addWidget(label)
    layout.addWidget(value)
    layout.addWidget(note)
    return frame, value, note


class AnalyzePanel(Panel):
    title = "Analyze"
    icon = "mdi6.waveform"
    key = "analysis"
    area = "analysis"
    subtitle = ("Drop an audio file (MP3, WAV, FLAC, OGG) or a folder here: genre and mood from the musicnn tagger, "
                "tempo, key and loudness measured from the audio.")

    def __init__(self, host: PanelHost, parent: QWidget | None = None) -> None:
        super().__init__(host, parent)
        self.service = self.services.analysis
        self.current: dict[str, Any] | None = None  # the shown prediction (row dict)
        self.current_path: Path | None = None
        self.pending_path: Path | None = None
        self.batch_id: str | None = None
        self.batch_skipped: list[str] = []
        self.history_rows: list[dict[str, Any]] = []
        self.last_export: Path | None = None
        self.last_error = ""
        self.setAcceptDrops(True)

        self.tasks = TaskRunner(self)
        self.tasks.done.connect(self._task_done)
        self.tasks.failed.connect(self._task_failed)

        self.open_button = QPushButton(icon("mdi6.file-music-outline"), "Open file…")
        self.open_button.setObjectName("Primary")
        self.open_button.setToolTip("Analyse an audio file (Ctrl+Enter)")
        self.open_button.clicked.connect(self.pick_file)
        self.folder_button = QPushButton(icon("mdi6.folder-music-outline"), "Analyse folder…")
        self.folder_button.clicked.connect(self.pick_folder)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 16)
        layout.setSpacing(10)
        layout.addLayout(self.header(self.open_button, self.folder_button))
        page = QWidget()
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 6, 0)
        page_layout.setSpacing(10)
        page_layout.addWidget(self._build_result())
        page_layout.addWidget(self._build_lists(), 1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(page)
        layout.addWidget(self.scroll, 1)

        self.refresh_timer = debounce_timer(self, REFRESH_DELAY_MS, self.refresh_history)
        host.bridge.event.connect(self._on_event)
        self.refresh_history()

    # --- layout ---------------------------------------------------------------------------------------
    def _build_result(self) -> QWidget:
        """File and status, the figure cards, then waveform + spectrogram beside the genre/mood bars."""
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.file_label = QLabel("No file analysed yet")
        self.file_label.setObjectName("TrackTitle")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.file_label)
        self.status_label = QLabel("Drop a file here, or use Open file…")
        self.status_label.setObjectName("Muted")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)

        cards = QHBoxLayout()
        cards.setSpacing(8)
        self.cards: dict[str, tuple[QLabel, QLabel]] = {}
        for key, caption in (("genre", "Genre"), ("tempo", "Tempo"), ("key", "Key"), ("loudness", "Loudness"),
                             ("duration", "Length")):
            frame, value, note = _card(caption)
            cards.addWidget(frame, 1)
            self.cards[key] = (value, note)
        layout.addLayout(cards)

        body = QHBoxLayout()
        body.setSpacing(10)
        left = QVBoxLayout()
        left.setSpacing(8)
        self.waveform = TrackWaveform()
        self.waveform.empty_label.setText("The waveform of the analysed file shows here")
        self.waveform.setFixedHeight(72)
        left.addWidget(self.waveform)
        spectro_box = QGroupBox("Log-mel spectrogram: what the tagger hears (96 mel bands, 0–8 kHz)")
        spectro_layout = QVBoxLayout(spectro_box)
        spectro_layout.setContentsMargins(8, 8, 8, 8)
        self.spectrogram = SpectrogramView("The spectrogram of the analysed file shows here")
        self.spectrogram.setFixedHeight(170)
        spectro_layout.addWidget(self.spectrogram)
        left.addWidget(spectro_box)
        self.tags_label = QLabel("")
        self.tags_label.setObjectName("Muted")
        self.tags_label.setWordWrap(True)
        self.tags_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        left.addWidget(self.tags_label)
        left.addStretch(1)
        body.addLayout(left, 3)

        right = QVBoxLayout()
        right.setSpacing(8)
        genre_box = QGroupBox("Genres (share of the genre scores)")
        genre_layout = QVBoxLayout(genre_box)
        genre_layout.setContentsMargins(6, 6, 6, 6)
        self.genre_bars = ProbabilityBars("Genre shares appear after an analysis", max_items=7)
        self.genre_bars.setFixedHeight(168)
        genre_layout.addWidget(self.genre_bars)
        mood_box = QGroupBox("Moods (tag probabilities)")
        mood_layout = QVBoxLayout(mood_box)
        mood_layout.setContentsMargins(6, 6, 6, 6)
        self.mood_bars = ProbabilityBars("Mood tags appear after an analysis", color=COLORS["success"], max_items=5)
        self.mood_bars.setFixedHeight(118)
        mood_layout.addWidget(self.mood_bars)
        right.addWidget(genre_box)
        right.addWidget(mood_box)
        right.addStretch(1)
        body.addLayout(right, 2)
        layout.addLayout(body)
        return page

    def _build_lists(self) -> QWidget:
        """History (every analysis, newest first) beside the folder batch box."""
        lists = QWidget()
        layout = QHBoxLayout(lists)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)

        history_box = QGroupBox("History")
        history_layout = QVBoxLayout(history_box)
        history_layout.setContentsMargins(8, 8, 8, 8)
        self.history_table = QTableWidget(0, len(HISTORY_COLUMNS))
        self.history_table.setHorizontalHeaderLabels(HISTORY_COLUMNS)
        self.history_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.history_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history_table.verticalHeader().setVisible(False)
        self.history_table.setAlternatingRowColors(True)
        self.history_table.setMinimumHeight(150)
        header = self.history_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(HISTORY_COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.history_table.itemSelectionChanged.connect(self._history_selected)
        history_layout.addWidget(self.history_table, 1)
        self.history_empty = QLabel("No analyses yet: drop a file or a folder on this panel.")
        self.history_empty.setObjectName("Muted")
        self.history_empty.setWordWrap(True)
        history_layout.addWidget(self.history_empty)
        row = QHBoxLayout()
        self.history_count = QLabel("")
        self.history_count.setObjectName("Muted")
        row.addWidget(self.history_count, 1)
        self.delete_button = QPushButton(icon("mdi6.delete-outline"), "Remove")
        self.delete_button.setToolTip("Remove the selected analysis from the history")
        self.delete_button.clicked.connect(self.delete_selected)
        self.delete_button.setEnabled(False)
        row.addWidget(self.delete_button)
        self.export_history_button = QPushButton(icon("mdi6.file-delimited-outline"), "Export CSV…")
        self.export_history_button.setToolTip("Save the history as a CSV file")
        self.export_history_button.clicked.connect(lambda: self.pick_export("history"))
        row.addWidget(self.export_history_button)
        history_layout.addLayout(row)
        layout.addWidget(history_box, 3)

        batch_box = QGroupBox("Folder analysis")
        batch_layout = QVBoxLayout(batch_box)
        batch_layout.setContentsMargins(8, 8, 8, 8)
        self.batch_label = QLabel("Analyse every audio file of a folder: Analyse folder…, or drop a folder here. "
                                  "The results go to the history and export to CSV.")
        self.batch_label.setObjectName("Muted")
        self.batch_label.setWordWrap(True)
        batch_layout.addWidget(self.batch_label)
        self.batch_progress = QProgressBar()
        self.batch_progress.setRange(0, 1)
        self.batch_progress.setValue(0)
        self.batch_progress.setFormat("%v / %m files")
        self.batch_progress.setVisible(False)
        batch_layout.addWidget(self.batch_progress)
        batch_layout.addStretch(1)
        buttons = QHBoxLayout()
        self.cancel_batch_button = QPushButton(icon("mdi6.stop-circle-outline"), "Cancel")
        self.cancel_batch_button.setEnabled(False)
        self.cancel_batch_button.clicked.connect(self.cancel_batch)
        self.export_batch_button = QPushButton(icon("mdi6.file-delimited-outline"), "Export batch CSV…")
        self.export_batch_button.setEnabled(False)
        self.export_batch_button.clicked.connect(lambda: self.pick_export("batch"))
        buttons.addWidget(self.cancel_batch_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_batch_button)
        batch_layout.addLayout(buttons)
        layout.addWidget(batch_box, 2)
        return lists

    # --- panel hooks ----------------------------------------------------------------------------------
    def primary_action(self) -> None:
        self.pick_file()

    # --- drag and drop ----------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        self.open_paths(paths)

    def open_paths(self, paths: list[Path]) -> None:
        """A dropped file is analysed; a folder, or several files, becomes a batch."""
        if len(paths) == 1 and paths[0].is_file():
            self.analyse_file(paths[0])
        elif len(paths) == 1 and paths[0].is_dir():
            self.analyse_folder(paths[0])
        else:
            files = [p for p in paths if p.is_file()]
            for folder in (p for p in paths if p.is_dir()):
                files.extend(self.service.predictions.audio_files_in(folder))
            self.analyse_files(files, label=f"{len(files)} dropped files")

    # --- single files -------------------------------------------------------------------------------------
    def pick_file(self) -> None:
        start = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MusicLocation)
        name, _ = QFileDialog.getOpenFileName(self, "Analyse an audio file", start, AUDIO_FILTER)
        if name:
            self.analyse_file(Path(name))

    def analyse_file(self, path: str | Path) -> None:
        """Analyse `path` off the GUI thread; the result shows (and is stored) when it is done."""
        path = Path(path)
        self.pending_path = path
        self.last_error = ""
        self.file_label.setText(path.name)
        self._set_status(f"Analysing {path.name}… (decoding, spectrogram, tagger)", COLORS["muted"])
        self.open_button.setEnabled(False)
        self.waveform.show_message("Reading the waveform…")
        self.tasks.start("peaks", lambda: self.services.system.waveform_peaks(path))
        self.tasks.start("analyse", lambda: self.service.predictions.analyse_file(path))

    def busy(self) -> bool:
        return self.tasks.busy("analyse")

    # --- folders (batch jobs) -----------------------------------------------------------------------------
    def pick_folder(self) -> None:
        start = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MusicLocation)
        folder = QFileDialog.getExistingDirectory(self, "Analyse every audio file of a folder", start)
        if folder:
            self.analyse_folder(Path(folder))

    def analyse_folder(self, folder: str | Path) -> str | None:
        folder = Path(folder)
        files = self.service.predictions.audio_files_in(folder)
        if not files:
            self._set_batch_text(f"No MP3, WAV, FLAC or OGG files in {folder.name or folder}.", COLORS["warning"])
            return None
        return self.analyse_files(files, label=f"“{folder.name or folder}”")

    def analyse_files(self, files: list[Path], label: str) -> str | None:
        """Queue a batch job for the files that can be analysed; say which were skipped and why."""
        usable: list[Path] = []
        skipped: list[str] = []
        for path in files:
            try:
                self.service.predictions.check_path(path)
                usable.append(path)
            except AnalysisError as exc:
                skipped.append(f"{path.name}: {exc.message}")
        self.batch_skipped = skipped
        if not usable:
            self._set_batch_text(f"Nothing to analyse in {label}: " + "; ".join(skipped[:3]), COLORS["warning"])
            return None
        try:
            batch = self.service.batches.submit(paths=usable, source="gui")
        except AnalysisError as exc:
            self._set_batch_text(exc.message, COLORS["danger"])
            return None
        self.batch_id = batch["batch_id"]
        self.batch_progress.setVisible(True)
        self.batch_progress.setRange(0, len(usable))
        self.batch_progress.setValue(0)
        self.cancel_batch_button.setEnabled(True)
        self.export_batch_button.setEnabled(False)
        note = f" ({len(skipped)} skipped: {'; '.join(skipped[:2])}{'…' if len(skipped) > 2 else ''})" if skipped else ""
        self._set_batch_text(f"Analysing {len(usable)} files of {label}…{note}", COLORS["muted"])
        return self.batch_id

    def cancel_batch(self) -> None:
        if self.batch_id:
            try:
                self.service.batches.cancel(self.batch_id)
            except Exception as exc:  # noqa: BLE001 - already finished: say so, keep the panel alive
                self._set_batch_text(f"Could not cancel: {exc}", COLORS["warning"])

    def _update_batch(self) -> None:
        if not self.batch_id:
            return
        batch = self.service.batches.get(self.batch_id)
        done = batch["completed_files"] + batch["failed_files"]
        self.batch_progress.setValue(done)
        if batch["status"] in ("queued", "processing"):
            return
        self.cancel_batch_button.setEnabled(False)
        self.export_batch_button.setEnabled(True)
        text = {"completed": "Done", "completed_with_errors": "Done, with errors", "failed": "Failed",
                "cancelled": "Cancelled"}.get(batch["status"], batch["status"])
        color = {"completed": COLORS["success"], "cancelled": COLORS["muted"]}.get(batch["status"], COLORS["warning"])
        failed = [r for r in batch["results"] if r["status"] == "failed"]
        detail = f"; {len(failed)} failed ({failed[0]['filename']}: {failed[0]['error']['message']})" if failed else ""
        self._set_batch_text(f"{text}: {batch['completed_files']} of {batch['total_files']} files analysed{detail}.",
                             color)

    def batch_finished(self) -> bool:
        return bool(self.batch_id) and not self.cancel_batch_button.isEnabled()

    # --- export -------------------------------------------------------------------------------------------
    def pick_export(self, which: str) -> None:
        start = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        name, _ = QFileDialog.getSaveFileName(self, "Export analyses as CSV", str(Path(start) / f"analyses-{which}.csv"),
                                              "CSV files (*.csv)")
        if name:
            self.export_csv(Path(name), which)

    def export_csv(self, path: str | Path, which: str = "batch") -> Path | None:
        rows = self.service.batches.rows(self.batch_id) if which == "batch" and self.batch_id else \
            self.service.records.history(limit=10_000)[1]
        try:
            self.last_export = self.service.records.export_csv(rows, path)
        except OSError as exc:
            QMessageBox.warning(self, "Export failed", f"Could not write {path}: {exc}")
            return None
        self.host.show_status(f"Exported {len(rows)} analyses to {self.last_export}")
        return self.last_export

    # --- history --------------------------------------------------------------------------------------------
    def refresh_history(self) -> None:
        selected = self.current["prediction_id"] if self.current else None
        total, self.history_rows = self.service.records.history(limit=HISTORY_LIMIT)
        names = {g["id"]: g["name"] for g in self.service.models.genres()["genres"]}
        table = self.history_table
        table.blockSignals(True)
        table.setRowCount(len(self.history_rows))
        for r, row in enumerate(self.history_rows):
            conf = "" if row["confidence"] is None else f"{row['confidence'] * 100:.0f}%"
            bpm = "" if row["tempo_bpm"] is None else f"{row['tempo_bpm']:.0f}"
            genre = names.get(row["genre"], row["genre"]) if row["genre"] else row["status"]
            values = (row["filename"], genre, conf, bpm, key_label(row["key"]) if row["key"] else "")
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, row["prediction_id"])
                item.setToolTip(f"{row['filename']} · analysed {when(row['created_at'])} · "
                                f"{ {'api': 'through the API', 'gui': 'here'}.get(row['source'], row['source'])} · "
                                f"{row['status']}")
                if row["status"] != "completed" and c == 1:
                    item.setForeground(QColor(STATUS_COLORS.get(row["status"], COLORS["muted"])))
                table.setItem(r, c, item)
            if row["prediction_id"] == selected:
                table.selectRow(r)
        table.blockSignals(False)
        self.history_empty.setVisible(not self.history_rows)
        table.setVisible(bool(self.history_rows))
        self.history_count.setText(f"{total} analysis" if total == 1 else f"{total} analyses")
        self.delete_button.setEnabled(bool(table.selectedItems()))

    def history_ids(self) -> list[str]:
        return [row["prediction_id"] for row in self.history_rows]

    def _history_selected(self) -> None:
        items = self.history_table.selectedItems()
        self.delete_button.setEnabled(bool(items))
        if items:
            self.show_prediction(items[0].data(Qt.ItemDataRole.UserRole))

    def select_prediction(self, prediction_id: str) -> bool:
        for r, row in enumerate(self.history_rows):
            if row["prediction_id"] == prediction_id:
                self.history_table.selectRow(r)
                return True
        return False

    def show_prediction(self, prediction_id: str) -> None:
        """Show a stored analysis: figures from the row, the stored spectrogram, the waveform when
        the file is still where it was analysed."""
        try:
            details = self.service.records.prediction_details(prediction_id)
        except UnknownPrediction:
            self.refresh_history()
            return
        self.current = details
        self._show_summary(details)
        if details["status"] != "completed":
            self.spectrogram.clear_image("No spectrogram: this analysis did not complete")
            self.waveform.show_message("No waveform")
            return
        try:
            spec_path = self.service.records.spectrogram_path(prediction_id)
            self.tasks.start("spectrogram", lambda: spec_path.read_bytes())
        except UnknownPrediction:
            self.spectrogram.clear_image("The spectrogram file is missing")
        with_source = self._source_path(prediction_id)
        if with_source is not None:
            self.current_path = with_source
            self.tasks.start("peaks", lambda: self.services.system.waveform_peaks(with_source))
        else:
            self.current_path = None
            self.waveform.show_message("The audio was uploaded through the API and is not kept: no waveform")

    def _source_path(self, prediction_id: str) -> Path | None:
        path = self.service.records.source_path(prediction_id)
        return Path(path) if path and Path(path).is_file() else None

    def delete_selected(self) -> bool:
        items = self.history_table.selectedItems()
        if not items:
            return False
        prediction_id = items[0].data(Qt.ItemDataRole.UserRole)
        self.service.records.delete_prediction(prediction_id)
        if self.current and self.current["prediction_id"] == prediction_id:
            self._clear_result()
        self.refresh_history()
        return True

    # --- showing results -------------------------------------------------------------------------------------
    def _set_status(self, text: str, color: str) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet(f"color: {color};")

    def _set_batch_text(self, text: str, color: str) -> None:
        self.batch_label.setText(text)
        self.batch_label.setStyleSheet(f"color: {color};")

    def _clear_result(self) -> None:
        self.current = None
        self.file_label.setText("No file analysed yet")
        self._set_status("Drop a file here, or use Open file…", COLORS["muted"])
        for value, note in self.cards.values():
            value.setText("–")
            note.setText("")
        self.genre_bars.clear()
        self.mood_bars.clear()
        self.tags_label.setText("")
        self.spectrogram.clear_image()
        self.waveform.clear()
        self.waveform.empty_label.setText("The waveform of the analysed file shows here")

    def _show_summary(self, p: dict[str, Any]) -> None:
        self.file_label.setText(p["filename"])
        if p["status"] != "completed":
            error = p.get("error") or {}
            self._set_status(f"Not analysed: {error.get('message', p['status'])}", COLORS["danger"])
            for value, note in self.cards.values():
                value.setText("–")
                note.setText("")
            self.genre_bars.clear("No genres: the analysis failed")
            self.mood_bars.clear("No moods: the analysis failed")
            self.tags_label.setText("")
            return
        names = {g["id"]: g["name"] for g in self.service.models.genres()["genres"]} \
            if p.get("model") == self.service.models.active else {}
        genre_name = names.get(p["genre"], p["genre"])
        source = {"api": "via the API", "gui": "here", "batch": "in a batch"}.get(p["source"], p["source"])
        self._set_status(f"Analysed {source} · {when(p['completed_at'])} · {p['processing_time_ms'] / 1000:.2f} s · "
                         f"{p['model_version']}", COLORS["muted"])
        self.cards["genre"][0].setText(genre_name)
        self.cards["genre"][1].setText(f"{p['confidence'] * 100:.0f}% of the genre scores")
        tempo = p.get("tempo_bpm")
        features = p.get("features") or {}
        self.cards["tempo"][0].setText(f"{tempo:.1f} BPM" if tempo else "–")
        tempo_conf = (features.get("tempo") or {}).get("confidence")
        self.cards["tempo"][1].setText(confidence_text(tempo_conf, TEMPO_CONFIDENCE_MIN))
        self.cards["key"][0].setText(key_label(p.get("key")))
        key_conf = (features.get("key") or {}).get("confidence")
        self.cards["key"][1].setText(confidence_text(key_conf, KEY_CONFIDENCE_MIN))
        lufs = p.get("loudness_lufs")
        self.cards["loudness"][0].setText(f"{lufs:.1f} LUFS" if lufs is not None else "silent")
        peak = features.get("true_peak_dbtp")
        self.cards["loudness"][1].setText(f"true peak {peak:.1f} dBTP" if peak is not None else "")
        self.cards["duration"][0].setText(format_time(p.get("duration_s") or 0))
        rate, channels = features.get("sample_rate_hz"), features.get("channels")
        self.cards["duration"][1].setText(
            f"{(p.get('format') or '').upper()} · {rate / 1000:g} kHz · {'stereo' if channels == 2 else f'{channels} ch'}"
            if rate and channels else (p.get("format") or "").upper())
        probs = p.get("all_probabilities") or {}
        self.genre_bars.set_items([(names.get(g, g), v) for g, v in probs.items()])
        self.mood_bars.set_items([(m["mood"], m["probability"]) for m in p.get("moods") or []])
        tags = p.get("tags") or []
        self.tags_label.setText("Top tags: " + ", ".join(f"{t['tag']} {t['probability'] * 100:.0f}%" for t in tags[:8]))

    # --- task results ------------------------------------------------------------------------------------------
    def _task_done(self, name: str, result: Any) -> None:
        if name == "analyse":
            self.open_button.setEnabled(True)
            path = self.pending_path
            png = result["png"]
            recorded = self.service.predictions.record(result, source="gui", path=path)
            self.current_path = path
            self.current = self.service.records.prediction_details(recorded["prediction_id"])
            self._show_summary(self.current)
            self.spectrogram.set_png(png)
            self.refresh_history()
            self.select_prediction(recorded["prediction_id"])
            self.host.show_status(f"Analysed {result['filename']}: {result['genre']}")
        elif name == "peaks":
            times, lows, highs, duration = result
            self.waveform.set_envelope(times, lows, highs, duration)
        elif name == "spectrogram":
            self.spectrogram.set_png(result)

    def _task_failed(self, name: str, message: str) -> None:
        if name == "analyse":
            self.open_button.setEnabled(True)
            self.last_error = message
            self._set_status(f"Could not analyse {self.pending_path.name if self.pending_path else 'the file'}: "
                             f"{message}", COLORS["danger"])
            for value, note in self.cards.values():
                value.setText("–")
                note.setText("")
            self.genre_bars.clear("No genres: the file could not be analysed")
            self.mood_bars.clear("No moods: the file could not be analysed")
            self.spectrogram.clear_image("No spectrogram: the file could not be analysed")
            self.tags_label.setText("")
        elif name == "peaks":
            self.waveform.show_message(f"No waveform: {message}")
        elif name == "spectrogram":
            self.spectrogram.clear_image(f"The spectrogram could not be read: {message}")

    # --- live events -------------------------------------------------------------------------------------------
    def _on_event(self, name: str, data: dict) -> None:
        if name in ("analysis_progress", "analysis_completed", "analysis_failed", "analysis_deleted"):
            self.refresh_timer.start()
            if self.batch_id and data.get("batch_id") == self.batch_id:
                self._update_batch()
        elif name in ("job_completed", "job_failed", "job_cancelled") and data.get("id") == self.batch_id:
            self._update_batch()
            self.refresh_timer.start()
        elif name == "analysis_model_changed":
            self.refresh_timer.start()

