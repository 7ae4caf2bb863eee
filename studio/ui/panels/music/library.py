"""Library: every track, searchable; the selected one's waveform, measurements, lyrics, chords,
stems and files.

The list follows the bus: a finished generation (`job_completed`), an edit (`track_updated`) or a
deletion (`track_deleted`) shows up without a refresh. Files are read on worker threads (peaks,
decoding, stem mixes, exports) so the loop never waits on the disk.

Variations… queues N new takes of the selected track's spec with new seeds (one batch). A row
dragged out of the window carries its best audio file (WAV, else FLAC/MP3/OGG) as a file URL, so
dropping it on a desktop, a file manager or a DAW copies the file.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QMimeData, QStandardPaths, Qt, QTimer, QUrl
from PySide6.QtGui import QBrush, QColor, QDesktopServices, QDrag, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.services.music import MusicService

styles = MusicService.styles  # the engine's catalogue, through the service
vocals_verb = MusicService.vocals_verb
from studio.services.music import GENERATE_KIND, UnknownTrack
from studio.ui.dialogs.export_dialog import ExportDialog
from studio.ui.dialogs.track_edit import EditTrackDialog
from studio.ui.formatting import key_agreement, tempo_agreement, when
from studio.ui.panels.base import Panel, PanelHost
from studio.ui.theme import COLORS, icon
from studio.ui.widgets.debounce import debounce_timer
from studio.ui.widgets.player_bar import format_time
from studio.ui.widgets.stem_mixer import StemMixer, mix_stems
from studio.ui.widgets.tasks import TaskRunner
from studio.ui.widgets.track_waveform import TrackWaveform, read_peaks

PAGE_SIZE = 500
SEARCH_DELAY_MS = 250
POSITION_MS = 100
MAX_DURATION_S = 600.0  # the engine's longest track
COLUMNS = ("Title", "Style", "BPM", "Length", "Created")
# Date filter: label -> days back (0 = any time).
DATE_FILTERS = (("Any time", 0), ("Today", 1), ("Last 7 days", 7), ("Last 30 days", 30), ("Last year", 365))
# column -> list_tracks sort_by
SORT_COLUMNS = {0: "title", 1: "style", 2: "tempo", 3: "duration", 4: "created_at"}
SORTS = (
    ("Newest first", "created_at", True), ("Oldest first", "created_at", False),
    ("Title A–Z", "title", False), ("Title Z–A", "title", True),
    ("Longest", "duration", True), ("Shortest", "duration", False),
    ("Fastest", "tempo", True), ("Slowest", "tempo", False),
    ("Style A–Z", "style", False), ("Style Z–A", "style", True),
)
PLAYABLE = ("wav", "flac", "ogg", "mp3")
DRAG_FORMATS = ("wav", "flac", "mp3", "ogg")  # the file a dragged row carries: the best there is
MAX_VARIATIONS = 8
SEED_MAX = 2**31 - 1
QUALITY_LABELS = {
    "overall_quality": "Overall", "melodic_coherence": "Melodic coherence",
    "harmonic_consistency": "Harmonic consistency", "rhythmic_stability": "Rhythmic stability",
    "audio_fidelity": "Audio fidelity",
}


def key_label(key: str | None) -> str:
    return (key or "–").replace("_", " ")


def _read_audio(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    audio, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
    if len(audio) == 0:
        raise ValueError(f"{path.name} holds no audio frames")
    return audio, int(sample_rate)


def _mix_files(paths: dict[str, Path], gains: dict[str, float]) -> tuple[np.ndarray, int]:
    stems: dict[str, np.ndarray] = {}
    rate = None
    for name, path in paths.items():
        audio, sample_rate = _read_audio(path)
        if rate is not None and sample_rate != rate:
            raise ValueError(f"stem {name} is at {sample_rate} Hz, the others at {rate} Hz")
        rate = sample_rate
        stems[name] = audio
    return mix_stems(stems, gains), int(rate or 44100)


def variation_fields(track: dict[str, Any], seed: int) -> dict[str, Any]:
    """GenerationSpec fields that render `track` again with another seed: what it was asked for
    (prompt) and what it was resolved to (style, mood, key, tempo, length, vocals, options)."""
    spec = track.get("spec") or {}
    fields: dict[str, Any] = {
        "style": spec.get("style") or track.get("style"), "mood": spec.get("mood") or track.get("mood"),
        "key": spec.get("key") or track.get("key"), "tempo": spec.get("tempo_bpm") or track.get("tempo_bpm"),
        "duration": spec.get("duration_s") or track.get("duration_s"),
        "instrumental": spec.get("instrumental", track.get("instrumental")), "seed": int(seed),
    }
    if track.get("prompt"):
        fields["prompt"] = track["prompt"]
    for name in ("lyrics", "complexity", "creativity", "energy", "tags", "output_formats"):
        if spec.get(name) is not None:
            fields[name] = spec[name]
    rate, bits = spec.get("sample_rate_hz"), spec.get("bit_depth")
    if rate:
        fields["audio_quality"] = "draft" if rate < 44100 else "high" if (bits or 16) > 16 else "standard"
    return {k: v for k, v in fields.items() if v is not None}


def drag_copy_path(source: Path, title: str, track_id: str) -> Path:
    """A hard link to `source` named after the track (the store names files by id), so a drop
    makes "Title.wav"; the stored file itself when no link can be made."""
    safe = "".join(ch if ch.isalnum() or ch in " -_()" else "_" for ch in title).strip()[:120] or track_id
    folder = Path(tempfile.gettempdir()) / "studio-drag" / track_id
    target = folder / f"{safe}{source.suffix}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if target.exists() and not os.path.samefile(target, source):
            target.unlink()
        if not target.exists():
            os.link(source, target)
        return target
    except OSError:
        return source


class TrackTable(QTableWidget):
    """The track list; a row dragged out carries the track's audio file as a file URL."""

    def __init__(self, panel: LibraryPanel, rows: int, columns: int) -> None:
        super().__init__(rows, columns)
        self.panel = panel
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.last_drag: QDrag | None = None

    def mimeData(self, items) -> QMimeData:  # noqa: N802 (Qt's name)
        track_id = items[0].data(Qt.ItemDataRole.UserRole) if items else None
        data = self.panel.drag_mime_data(track_id) if track_id else None
        return data if data is not None else QMimeData()

    def startDrag(self, supported_actions) -> None:  # noqa: N802
        rows = self.selectionModel().selectedRows()
        if not rows:
            return
        track_id = self.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
        data = self.panel.drag_mime_data(track_id)
        if data is None:
            self.panel.host.show_status("This track has no audio file to drag out.", 5000)
            return
        drag = QDrag(self)
        drag.setMimeData(data)
        drag.setPixmap(icon("mdi6.file-music-outline").pixmap(32, 32))
        self.last_drag = drag
        drag.exec(Qt.DropAction.CopyAction)


class LibraryPanel(Panel):
    title = "Library"
    icon = "mdi6.bookshelf"
    key = "library"
    area = "music"
    subtitle = "Every track you generate: play it, read what was measured, mix its stems, export its files."

    def __init__(self, host: PanelHost, parent: QWidget | None = None) -> None:
        super().__init__(host, parent)
        self.tracks: list[dict[str, Any]] = []
        self.total = 0
        self.track: dict[str, Any] | None = None  # the selected track (full row)
        self.player_track_id: str | None = None  # the track whose audio the player bar holds
        self.player_source = ""  # "track" or "stems"
        self._installing = False
        self.lyrics_lines: list[dict[str, Any]] = []
        self._lyric_rows: list[int] = []
        self.current_lyric = -1
        self.sort_by, self.descending = "created_at", True
        self.export_dialog: ExportDialog | None = None
        self.edit_dialog: EditTrackDialog | None = None
        self.last_export: list[Path] = []

        self.tasks = TaskRunner(self)
        self.tasks.done.connect(self._task_done)
        self.tasks.failed.connect(self._task_failed)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 16)
        layout.setSpacing(12)
        layout.addLayout(self.header())
        layout.addLayout(self._build_filters())
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self._build_list())
        self.splitter.addWidget(self._build_details())
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 6)
        self.splitter.setSizes([480, 580])
        layout.addWidget(self.splitter, 1)

        self.search_timer = debounce_timer(self, SEARCH_DELAY_MS, self.refresh)
        self.refresh_timer = debounce_timer(self, 50, self.refresh)  # coalesces bursts of events into one refresh
        self.position_timer = QTimer(self)
        self.position_timer.setInterval(POSITION_MS)
        self.position_timer.timeout.connect(self._follow_position)

        host.bridge.event.connect(self._on_event)
        if host.player is not None:
            host.player.playing_changed.connect(self._player_playing_changed)
            host.player.loaded.connect(self._player_loaded)
        self.refresh()

    # --- building -------------------------------------------------------------------------------
    def _build_filters(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(8)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search titles, prompts and styles (Ctrl+F)")
        self.search_edit.addAction(icon("mdi6.magnify", COLORS["muted"]), QLineEdit.ActionPosition.LeadingPosition)
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(lambda _t: self.search_timer.start())
        self.style_filter = QComboBox()
        self.style_filter.addItem("All styles", "")
        for style in sorted(styles().values(), key=lambda s: s.name.lower()):
            self.style_filter.addItem(style.name, style.id)
        self.style_filter.currentIndexChanged.connect(lambda _i: self.refresh())
        self.tag_filter = QComboBox()
        self.tag_filter.setToolTip("Only tracks with this tag (tags are set with Edit…)")
        self.tag_filter.addItem("All tags", "")
        self.tag_filter.currentIndexChanged.connect(lambda _i: self.refresh())
        self.date_filter = QComboBox()
        for label, days in DATE_FILTERS:
            self.date_filter.addItem(label, days)
        self.date_filter.currentIndexChanged.connect(lambda _i: self.refresh())
        self.sort_combo = QComboBox()
        for label, sort_by, descending in SORTS:
            self.sort_combo.addItem(label, (sort_by, descending))
        self.sort_combo.currentIndexChanged.connect(self._sort_changed)
        self.count_label = QLabel()
        self.count_label.setObjectName("Muted")
        row.addWidget(self.search_edit, 1)
        row.addWidget(self.style_filter)
        row.addWidget(self.tag_filter)
        row.addWidget(self.date_filter)
        row.addWidget(self.sort_combo)
        row.addWidget(self.count_label)
        return row

    def _build_list(self) -> QWidget:
        self.list_stack = QStackedWidget()
        self.table = TrackTable(self, 0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(28)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(4, Qt.SortOrder.DescendingOrder)
        header.setSectionsClickable(True)
        header.sectionClicked.connect(self._header_clicked)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemDoubleClicked.connect(lambda _item: self.play_selected())
        self.table.setMinimumWidth(360)
        self.list_empty = QLabel()
        self.list_empty.setObjectName("Muted")
        self.list_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.list_empty.setWordWrap(True)
        empty_frame = QFrame()
        empty_frame.setObjectName("EmptyState")
        empty_layout = QVBoxLayout(empty_frame)
        glyph = QLabel()
        glyph.setPixmap(icon("mdi6.bookshelf", COLORS["muted"]).pixmap(40, 40))
        glyph.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty_layout.addStretch(1)
        empty_layout.addWidget(glyph)
        empty_layout.addWidget(self.list_empty)
        empty_layout.addStretch(1)
        self.list_stack.addWidget(self.table)
        self.list_stack.addWidget(empty_frame)
        return self.list_stack

    def _build_details(self) -> QWidget:
        self.details_stack = QStackedWidget()
        self.details_stack.setMinimumWidth(460)
        none = QLabel("Select a track to see its waveform, measurements, lyrics, chords and stems.")
        none.setObjectName("Muted")
        none.setAlignment(Qt.AlignmentFlag.AlignCenter)
        none.setWordWrap(True)
        self.details_stack.addWidget(none)
        self.details_none = none

        details = QWidget()
        layout = QVBoxLayout(details)
        layout.setContentsMargins(12, 0, 6, 0)
        layout.setSpacing(8)
        self.detail_title = QLabel()
        self.detail_title.setObjectName("CardValue")
        self.detail_title.setWordWrap(True)
        self.detail_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_line = QLabel()
        self.detail_line.setObjectName("Muted")
        self.detail_line.setWordWrap(True)
        layout.addWidget(self.detail_title)
        layout.addWidget(self.detail_line)

        actions = QHBoxLayout()
        actions.setSpacing(6)
        self.play_button = QPushButton(icon("mdi6.play", COLORS["accent_text"]), "Play")
        self.play_button.setObjectName("Primary")
        self.play_button.setToolTip("Play this track in the player bar (double-click a row does the same)")
        self.play_button.clicked.connect(self.toggle_play)
        self.stop_button = QToolButton()
        self.stop_button.setIcon(icon("mdi6.stop"))
        self.stop_button.setToolTip("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.extend_button = self._tool("mdi6.arrow-expand-right", "Extend…", "Add seconds to the end of this track "
                                        "(a new track; this one is kept)", self.extend_selected)
        self.variations_button = self._tool("mdi6.shuffle-variant", "Variations…",
                                            "Generate new takes of this track: the same settings, new seeds",
                                            self.variations_selected)
        self.edit_button = self._tool("mdi6.pencil", "Edit…", "Rename, describe and tag this track", self.edit_selected)
        self.export_button = self._tool("mdi6.export", "Export…", "Copy its files (formats, stems) into a folder",
                                        self.export_selected)
        self.reveal_button = self._tool("mdi6.folder-open", "", "Show its audio file in the file manager",
                                        self.reveal_selected)
        self.delete_button = self._tool("mdi6.delete", "", "Delete this track and its files", self.delete_selected)
        self.delete_button.setObjectName("Danger")
        actions.addWidget(self.play_button)
        actions.addWidget(self.stop_button)
        actions.addStretch(1)
        for button in (self.variations_button, self.extend_button, self.edit_button, self.export_button, self.reveal_button,
                       self.delete_button):
            actions.addWidget(button)
        layout.addLayout(actions)

        self.waveform = TrackWaveform()
        self.waveform.setFixedHeight(96)
        self.waveform.seek_requested.connect(self._waveform_seek)
        layout.addWidget(self.waveform)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._scroll(self._build_overview()), icon("mdi6.information-outline"), "Overview")
        self.tabs.addTab(self._build_lyrics(), icon("mdi6.microphone-variant"), "Lyrics")
        self.tabs.addTab(self._build_chords(), icon("mdi6.music-clef-treble"), "Chords")
        self.stem_mixer = StemMixer()
        self.stem_mixer.play_requested.connect(self.play_stem_mix)
        self.tabs.addTab(self._scroll(self.stem_mixer), icon("mdi6.tune-vertical"), "Stems")
        self.tabs.setMinimumHeight(250)
        layout.addWidget(self.tabs, 1)
        self.details_page = self._scroll(details)  # short windows scroll the details, nothing is squashed
        self.details_stack.addWidget(self.details_page)
        return self.details_stack

    def _build_overview(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 4, 4, 4)
        layout.setSpacing(10)
        facts = QGroupBox("Requested and measured")
        grid = QGridLayout(facts)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(5)
        self.fact_labels: dict[str, QLabel] = {}
        for row, (key, label) in enumerate((("prompt", "Prompt"), ("tempo", "Tempo"), ("key", "Key"),
                                            ("loudness", "Loudness"), ("dynamics", "Dynamics"),
                                            ("format", "Audio"), ("instruments", "Instruments"),
                                            ("seed", "Seed"), ("tags", "Your tags"))):
            caption = QLabel(label)
            caption.setObjectName("Muted")
            value = QLabel("–")
            value.setWordWrap(True)
            value.setTextFormat(Qt.TextFormat.RichText)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(caption, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, row, 1)
            self.fact_labels[key] = value
        grid.setColumnStretch(1, 1)
        layout.addWidget(facts)

        lower = QHBoxLayout()
        lower.setSpacing(10)
        quality = QGroupBox("Quality")
        qgrid = QGridLayout(quality)
        qgrid.setVerticalSpacing(5)
        self.quality_bars: dict[str, QProgressBar] = {}
        for row, (key, label) in enumerate(QUALITY_LABELS.items()):
            caption = QLabel(label)
            caption.setObjectName("Muted")
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setFormat("%v%")
            bar.setFixedHeight(16)
            qgrid.addWidget(caption, row, 0)
            qgrid.addWidget(bar, row, 1)
            self.quality_bars[key] = bar
        qgrid.setColumnStretch(1, 1)
        tags = QGroupBox("Heard as (tagger)")
        tags_layout = QVBoxLayout(tags)
        self.tags_label = QLabel("–")
        self.tags_label.setWordWrap(True)
        self.tags_label.setTextFormat(Qt.TextFormat.RichText)
        self.tags_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        tags_layout.addWidget(self.tags_label)
        tags_layout.addStretch(1)
        lower.addWidget(quality, 3)
        lower.addWidget(tags, 2)
        layout.addLayout(lower)
        layout.addStretch(1)
        return page

    def _build_lyrics(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 6, 0, 0)
        self.lyrics_list = QListWidget()
        self.lyrics_list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.lyrics_list.setWordWrap(True)
        self.lyrics_list.itemDoubleClicked.connect(self._lyric_clicked)
        self.lyrics_note = QLabel()
        self.lyrics_note.setObjectName("Muted")
        self.lyrics_note.setWordWrap(True)
        layout.addWidget(self.lyrics_list, 1)
        layout.addWidget(self.lyrics_note)
        return page

    def _build_chords(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 6, 0, 0)
        self.chords_text = QPlainTextEdit()
        self.chords_text.setReadOnly(True)
        self.chords_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.chords_text.setFont(font)
        layout.addWidget(self.chords_text)
        return page

    def _tool(self, icon_name: str, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(icon(icon_name), text)
        button.setToolTip(tip)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    @staticmethod
    def _scroll(widget: QWidget) -> QScrollArea:
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(widget)
        return scroll

    # --- the list -------------------------------------------------------------------------------
    def _refresh_tag_choices(self) -> None:
        """Offer every tag in use; keep the chosen one even if no track carries it any more."""
        chosen = self.tag_filter.currentData() or ""
        tags = self.services.music.all_tags()
        if chosen and chosen not in tags:
            tags.append(chosen)
        current = [self.tag_filter.itemData(i) for i in range(1, self.tag_filter.count())]
        if current == tags:
            return
        self.tag_filter.blockSignals(True)
        self.tag_filter.clear()
        self.tag_filter.addItem("All tags", "")
        for tag in tags:
            self.tag_filter.addItem(f"#{tag}", tag)
        self.tag_filter.setCurrentIndex(max(0, self.tag_filter.findData(chosen)))
        self.tag_filter.blockSignals(False)

    def refresh(self) -> None:
        """Reload the list with the current search, style and sort; keep the selection."""
        self.search_timer.stop()
        self.refresh_timer.stop()
        search = self.search_edit.text().strip() or None
        style = self.style_filter.currentData() or None
        self._refresh_tag_choices()
        tag = self.tag_filter.currentData() or None
        days = self.date_filter.currentData()
        since = datetime.now(timezone.utc) - timedelta(days=days) if days else None
        self.total, self.tracks = self.services.music.list_tracks(search=search, style=style, tag=tag, created_after=since,
                                                             limit=PAGE_SIZE, sort_by=self.sort_by,
                                                             descending=self.descending)
        keep = self.track["id"] if self.track else None
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.tracks))
        names = {k: v.name for k, v in styles().items()}
        for row, track in enumerate(self.tracks):
            created = when(track["created_at"], "")
            cells = [track["title"], names.get(track["style"], track["style"]), f"{track['tempo_bpm']:.0f}",
                     format_time(track["duration_s"]), created[:10]]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, track["id"])
                if col in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if col == 0:
                    item.setToolTip(f"{track['title']}\n{track.get('prompt') or ''}".strip())
                elif col == 4:
                    item.setToolTip(created)
                self.table.setItem(row, col, item)
        self.table.blockSignals(False)
        filtered = bool(search or style)
        if self.tracks:
            shown = f"{len(self.tracks)} of {self.total}" if self.total > len(self.tracks) else f"{self.total}"
            self.count_label.setText(f"{shown} track{'s' if self.total != 1 else ''}")
            self.list_stack.setCurrentWidget(self.table)
        else:
            self.count_label.setText("")
            self.list_empty.setText("No track matches this search or style." if filtered else
                                    "No tracks yet.\nTracks you generate in Create appear here as soon as they are done.")
            self.list_stack.setCurrentIndex(1)
        if keep and self.select_track(keep, show=False):
            return
        if keep:  # filtered out or deleted
            self.table.clearSelection()
            if not any(t["id"] == keep for t in self.tracks):
                self._show_none()

    def track_ids(self) -> list[str]:
        return [t["id"] for t in self.tracks]

    def select_track(self, track_id: str, *, show: bool = True) -> bool:
        """Select `track_id` in the list (clearing the search if it hides it); False if unknown."""
        ids = self.track_ids()
        if track_id not in ids and show:  # new since the last refresh, or hidden by the search
            self.search_edit.blockSignals(True)
            self.search_edit.clear()
            self.search_edit.blockSignals(False)
            self.style_filter.blockSignals(True)
            self.style_filter.setCurrentIndex(0)
            self.style_filter.blockSignals(False)
            self.refresh()
            ids = self.track_ids()
        if track_id not in ids:
            return False
        row = ids.index(track_id)
        if show or self.table.currentRow() != row:
            self.table.blockSignals(not show)
            self.table.selectRow(row)
            self.table.blockSignals(False)
        self.table.scrollToItem(self.table.item(row, 0))
        if show and (self.track is None or self.track["id"] != track_id):
            self.show_track(track_id)
        return True

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)

    def _selection_changed(self) -> None:
        track_id = self.selected_id()
        if track_id and (self.track is None or track_id != self.track["id"]):
            self.show_track(track_id)

    def _sort_changed(self, _index: int) -> None:
        self.sort_by, self.descending = self.sort_combo.currentData()
        self._sync_indicator()
        self.refresh()

    def _sync_indicator(self) -> None:
        col = next((c for c, s in SORT_COLUMNS.items() if s == self.sort_by), -1)
        order = Qt.SortOrder.DescendingOrder if self.descending else Qt.SortOrder.AscendingOrder
        self.table.horizontalHeader().setSortIndicator(col, order)

    def _header_clicked(self, col: int) -> None:
        sort_by = SORT_COLUMNS.get(col)
        if sort_by is None:  # the service cannot sort by it: keep the current order
            self._sync_indicator()
            return
        descending = (not self.descending) if sort_by == self.sort_by else sort_by in ("created_at", "duration", "tempo")
        index = next((i for i, (_l, s, d) in enumerate(SORTS) if s == sort_by and d == descending), -1)
        if index == self.sort_combo.currentIndex():
            self._sort_changed(index)
        else:
            self.sort_combo.setCurrentIndex(index)  # _sort_changed refreshes

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "job_completed" and (data.get("kind") == GENERATE_KIND
                                        or (data.get("result") or {}).get("track_id")):
            self.refresh_timer.start()
        elif name == "track_updated":
            self.refresh_timer.start()
            if self.track and data.get("track_id") == self.track["id"]:
                self.show_track(self.track["id"], reload_audio=False)
        elif name == "track_deleted":
            if self.track and data.get("track_id") == self.track["id"]:
                self._show_none()
            if data.get("track_id") == self.player_track_id:
                self._stop_if_playing(data["track_id"])
            self.refresh_timer.start()

    # --- the selected track ---------------------------------------------------------------------
    def _show_none(self) -> None:
        self.track = None
        self.tasks.forget("peaks")
        self.waveform.clear()
        self.details_stack.setCurrentWidget(self.details_none)

    def show_track(self, track_id: str, *, reload_audio: bool = True) -> None:
        try:
            track = self.services.music.track_row(track_id)
        except UnknownTrack:
            self._show_none()
            return
        self.track = track
        self.details_stack.setCurrentWidget(self.details_page)
        self.detail_title.setText(track["title"])
        names = {k: v.name for k, v in styles().items()}
        created = when(track["created_at"], "")
        created = f"{created[:16]} UTC" if created else ""
        parent = " · extended from another track" if track.get("parent_track_id") else ""
        singer = ((track.get("spec") or {}).get("singer") or {}).get("name")
        vocals = ("instrumental" if track["instrumental"] else f"{vocals_verb(track['style'])} by {singer}" if singer
                  else "with vocals")
        self.detail_line.setText(
            f"{names.get(track['style'], track['style'])} · {track['mood']} · {key_label(track['key'])} · "
            f"{track['tempo_bpm']:.0f} BPM · {format_time(track['duration_s'])} · {vocals} · {created}{parent}")
        self._fill_overview(track)
        self._fill_lyrics(track)
        self._fill_chords(track)
        self.stem_mixer.set_stems(list((track["files_raw"].get("stems") or {}).keys()))
        self._update_actions()
        if reload_audio:
            self._load_peaks(track)

    def _fill_overview(self, track: dict[str, Any]) -> None:
        analysis, spec = track.get("analysis") or {}, track.get("spec") or {}
        muted = COLORS["muted"]

        def fact(key: str, html: str) -> None:
            self.fact_labels[key].setText(html)

        def esc(text: Any) -> str:
            return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

        fact("prompt", esc(track.get("prompt") or "–"))
        tempo = (analysis.get("tempo") or {})
        if tempo.get("bpm"):
            agree = tempo_agreement(track["tempo_bpm"], tempo["bpm"])
            fact("tempo", f"{track['tempo_bpm']:g} BPM asked · <b>{tempo['bpm']:.1f} BPM</b> measured{agree} "
                          f"<span style='color:{muted}'>(confidence {100 * tempo.get('confidence', 0):.0f}%)</span>")
        else:
            fact("tempo", f"{track['tempo_bpm']:g} BPM asked · not measured")
        key = (analysis.get("key") or {})
        if key.get("key"):
            match = key_agreement(track["key"], key["key"], MusicService.relative_key(track["key"]))
            fact("key", f"{key_label(track['key'])} asked · <b>{key_label(key['key'])}</b> measured{match} "
                        f"<span style='color:{muted}'>(confidence {100 * key.get('confidence', 0):.0f}%)</span>")
        else:
            fact("key", f"{key_label(track['key'])} asked · not measured")
        if analysis.get("loudness_lufs") is not None:
            fact("loudness", f"<b>{analysis['loudness_lufs']:.1f} LUFS</b> integrated · true peak "
                             f"{analysis.get('true_peak_dbtp', float('nan')):.1f} dBTP")
        else:
            fact("loudness", "not measured")
        parts = []
        if analysis.get("dynamic_range_db") is not None:
            parts.append(f"dynamic range {analysis['dynamic_range_db']:.1f} dB")
        if analysis.get("loudness_range_lu") is not None:
            parts.append(f"loudness range {analysis['loudness_range_lu']:.1f} LU")
        if analysis.get("clipped_samples") is not None:
            parts.append(f"{analysis['clipped_samples']} clipped samples")
        fact("dynamics", " · ".join(parts) or "–")
        rate = analysis.get("sample_rate_hz") or spec.get("sample_rate_hz")
        bits = spec.get("bit_depth")
        fmt = [f"{rate / 1000:g} kHz" if rate else "", f"{bits}-bit" if bits else "",
               f"{analysis.get('channels', 2)} ch", f"{track['duration_s']:.1f} s",
               f"rendered on {analysis['device']}" if analysis.get("device") else ""]
        fact("format", " · ".join(p for p in fmt if p))
        fact("instruments", esc(", ".join(spec.get("instruments") or []) or "–"))
        fact("seed", str(track.get("seed", "–")))
        fact("tags", esc(", ".join(track.get("tags") or [])) or f"<span style='color:{muted}'>none (Edit… adds some)</span>")
        quality = track.get("quality") or {}
        for name, bar in self.quality_bars.items():
            value = quality.get(name)
            bar.setValue(round(100 * value) if value is not None else 0)
            bar.setEnabled(value is not None)
        tags = analysis.get("tags") or []
        if tags:
            self.tags_label.setText("<br>".join(
                f"{esc(t['tag'])} <span style='color:{muted}'>{100 * t['probability']:.0f}%</span>" for t in tags[:8]))
        else:
            self.tags_label.setText(f"<span style='color:{muted}'>no tags</span>")

    def _fill_lyrics(self, track: dict[str, Any]) -> None:
        self.lyrics_list.clear()
        self.current_lyric = -1
        lyrics = track.get("lyrics") or {}
        self.lyrics_lines = list(lyrics.get("timestamps") or [])
        previous = None
        self._lyric_rows = []
        for line in self.lyrics_lines:
            if line.get("section") != previous:
                header = QListWidgetItem(f"[{line.get('section') or ''}]")
                header.setForeground(QBrush(QColor(COLORS["muted"])))
                header.setFlags(Qt.ItemFlag.NoItemFlags)
                self.lyrics_list.addItem(header)
                previous = line.get("section")
            item = QListWidgetItem(line.get("text", ""))
            item.setToolTip(f"{format_time(line.get('start', 0))} – {format_time(line.get('end', 0))}; "
                            "double-click to play from here")
            item.setData(Qt.ItemDataRole.UserRole, float(line.get("start", 0.0)))
            self.lyrics_list.addItem(item)
            self._lyric_rows.append(self.lyrics_list.count() - 1)
        if self.lyrics_lines:
            self.lyrics_note.setText("The line being sung is highlighted while the track plays.")
        elif track.get("instrumental"):
            self.lyrics_note.setText("An instrumental track: no lyrics.")
        else:
            self.lyrics_note.setText("No lyrics were exported with this track.")

    def _fill_chords(self, track: dict[str, Any]) -> None:
        media_id = (track["files_raw"] or {}).get("chords_txt")
        text = "No chord chart was exported with this track (tick “Chords” under Output in Create)."
        if media_id:
            try:
                path, _row = self.services.music.media_file(media_id)
                text = path.read_text(encoding="utf-8")
            except (KeyError, OSError) as exc:
                text = f"The chord chart cannot be read: {exc}"
        self.chords_text.setPlainText(text)

    def _load_peaks(self, track: dict[str, Any]) -> None:
        path = self._audio_path(track)
        self.waveform.set_sections([])
        if path is None:
            self.tasks.forget("peaks")
            self.waveform.show_message("This track has no audio file to draw.")
            return
        self.waveform.show_message("Reading the waveform…")
        self.tasks.start("peaks", lambda: (track["id"], read_peaks(path)))

    def _audio_path(self, track: dict[str, Any]) -> Path | None:
        files = track.get("files_raw") or {}
        for fmt in PLAYABLE:
            if isinstance(files.get(fmt), str):
                try:
                    return self.services.music.media_file(files[fmt])[0]
                except KeyError:
                    continue
        return None

    def _update_actions(self) -> None:
        has = self.track is not None
        files = (self.track or {}).get("files_raw") or {}
        for button in (self.edit_button, self.export_button, self.delete_button):
            button.setEnabled(has)
        self.play_button.setEnabled(has and any(isinstance(files.get(f), str) for f in PLAYABLE))
        self.variations_button.setEnabled(has and bool((self.track or {}).get("spec")))
        self.reveal_button.setEnabled(has and bool(files))
        self.extend_button.setEnabled(has and "score" in files
                                      and (self.track or {}).get("duration_s", MAX_DURATION_S) < MAX_DURATION_S - 1)
        if has and "score" not in files:
            self.extend_button.setToolTip("This track has no stored score, so it cannot be extended")
        mine = has and self.player_track_id == self.track["id"]
        playing = mine and self.host.player is not None and self.host.player.playing
        self.play_button.setText("Pause" if playing else "Play")
        self.play_button.setIcon(icon("mdi6.pause" if playing else "mdi6.play", COLORS["accent_text"]))
        self.stop_button.setEnabled(mine)

    # --- background results ---------------------------------------------------------------------
    def _task_done(self, name: str, result: Any) -> None:
        if name == "peaks":
            track_id, (times, lows, highs, duration) = result
            if self.track and self.track["id"] == track_id:
                self.waveform.set_envelope(times, lows, highs, duration)
                self.waveform.set_sections((self.track.get("analysis") or {}).get("sections") or [])
        elif name == "play":
            track_id, title, source, (audio, sample_rate) = result
            self._install(track_id, title, source, audio, sample_rate)

    def _task_failed(self, name: str, message: str) -> None:
        if name == "peaks":
            self.waveform.show_message(f"No waveform: {message}")
        elif name == "play":
            self.host.show_status(f"Cannot play: {message}", 8000)
            if self.host.player is not None:
                self.host.player.show_message(f"Cannot play: {message}")

    # --- playback -------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        player = self.host.player
        if self.track and player is not None and self.player_track_id == self.track["id"] and player.playing:
            player.pause()
        else:
            self.play_selected()

    def play_selected(self) -> None:
        """Play the selected track (from where it was if the player already holds it)."""
        track, player = self.track, self.host.player
        if track is None or player is None:
            return
        if self.player_track_id == track["id"] and self.player_source == "track" and player.player.loaded:
            player.play()
            return
        path = self._audio_path(track)
        if path is None:
            self.host.show_status("This track has no audio file to play.", 6000)
            return
        self.host.show_status(f"Opening {track['title']}…", 3000)
        self.tasks.start("play", lambda: (track["id"], track["title"], "track", _read_audio(path)))

    def play_stem_mix(self) -> None:
        """Mix the audible stems (mute/solo/level in the Stems tab) and play the result."""
        track = self.track
        if track is None or self.host.player is None:
            return
        gains = self.stem_mixer.gains()
        stems = (track["files_raw"].get("stems") or {})
        paths = {}
        for name in gains:
            try:
                paths[name] = self.services.music.media_file(stems[name])[0]
            except KeyError:
                continue
        if not paths:
            self.host.show_status("No audible stem to mix.", 5000)
            return
        if len(paths) == len(stems) and all(abs(g - 1.0) < 1e-6 for g in gains.values()):
            label = "all stems"
        else:
            label = ", ".join(f"{n}" + (f" {100 * g:.0f}%" if abs(g - 1.0) > 1e-6 else "") for n, g in gains.items())
        title = f"{track['title']} ({label})"
        self.tasks.start("play", lambda: (track["id"], title, "stems", _mix_files(paths, gains)))

    def _install(self, track_id: str, title: str, source: str, audio: np.ndarray, sample_rate: int) -> None:
        player = self.host.player
        if player is None:
            return
        position = player.player.position_s if self.player_track_id == track_id else 0.0
        self._installing = True
        try:
            player.load_audio(audio, sample_rate, title)
        finally:
            self._installing = False
        self.player_track_id = track_id
        self.player_source = source
        if 0 < position < player.player.duration_s:
            player.seek(position)  # switching between the full track and a stem mix keeps the place
        player.play()
        self._update_actions()

    def stop(self) -> None:
        if self.host.player is not None and self.player_track_id:
            self.host.player.stop()
        self._update_actions()

    def _player_loaded(self, _title: str) -> None:
        if not self._installing:  # something else was opened in the player bar
            self.player_track_id = None
            self.player_source = ""
            self._highlight_lyric(-1)
            self._update_actions()

    def _player_playing_changed(self, playing: bool) -> None:
        if playing:
            self.position_timer.start()
        else:
            self.position_timer.stop()
            self._follow_position()
        self._update_actions()

    def _follow_position(self) -> None:
        player = self.host.player
        if player is None or not self.track or self.player_track_id != self.track["id"]:
            return
        position = player.player.position_s
        self.waveform.set_playhead(position)
        index = -1
        for i, line in enumerate(self.lyrics_lines):
            if line.get("start", 0.0) <= position < line.get("end", 0.0):
                index = i
                break
        self._highlight_lyric(index)

    def _highlight_lyric(self, index: int) -> None:
        if index == self.current_lyric:
            return
        rows = self._lyric_rows
        if 0 <= self.current_lyric < len(rows):
            old = self.lyrics_list.item(rows[self.current_lyric])
            if old is not None:
                old.setBackground(QBrush())
                old.setForeground(QBrush(QColor(COLORS["text"])))
                font = old.font()
                font.setBold(False)
                old.setFont(font)
        self.current_lyric = index
        if 0 <= index < len(rows):
            item = self.lyrics_list.item(rows[index])
            item.setBackground(QBrush(QColor("#2d3a55")))
            item.setForeground(QBrush(QColor(COLORS["playhead"])))
            font = item.font()
            font.setBold(True)
            item.setFont(font)
            self.lyrics_list.scrollToItem(item, QAbstractItemView.ScrollHint.EnsureVisible)

    def current_lyric_text(self) -> str | None:
        if 0 <= self.current_lyric < len(self.lyrics_lines):
            return self.lyrics_lines[self.current_lyric].get("text")
        return None

    def _waveform_seek(self, seconds: float) -> None:
        player = self.host.player
        if player is not None and self.track and self.player_track_id == self.track["id"]:
            player.seek(seconds)
            self._follow_position()

    def _lyric_clicked(self, item: QListWidgetItem) -> None:
        start = item.data(Qt.ItemDataRole.UserRole)
        if start is None or self.track is None:
            return
        if self.player_track_id == self.track["id"] and self.host.player is not None:
            self.host.player.seek(float(start))
            self.host.player.play()
        else:
            self.play_selected()

    def _stop_if_playing(self, track_id: str) -> None:
        player = self.host.player
        if player is not None and self.player_track_id == track_id:
            player.stop()
            self.player_track_id = None
            self.player_source = ""

    # --- actions --------------------------------------------------------------------------------
    def extend_selected(self, seconds: float | None = None) -> dict[str, Any] | None:
        """Queue an extension of the selected track by `seconds` (asked for when None)."""
        track = self.track
        if track is None:
            return None
        most = MAX_DURATION_S - float(track["duration_s"])
        if seconds is None:
            value, ok = QInputDialog.getDouble(
                self, "Extend track", f"Add how many seconds to “{track['title']}”? (1–{most:.0f})",
                min(30.0, most), 1.0, most, 0)
            if not ok:
                return None
            seconds = value
        try:
            job = self.services.music.submit_extend(track["id"], float(seconds), source="gui")
        except Exception as exc:  # ValueError (bad length, no score), credits, unknown track
            QMessageBox.warning(self, "Not extended", str(exc))
            return None
        self.host.show_status(f"Extending “{track['title']}” by {seconds:g} s; the longer version appears "
                              "here as a new track when it is done.", 8000)
        return job

    def variations_selected(self, count: int | None = None) -> list[dict[str, Any]]:
        """Queue `count` new takes (asked for when None) of the selected track: its spec, new seeds."""
        track = self.track
        if track is None or not track.get("spec"):
            return []
        if count is None:
            value, ok = QInputDialog.getInt(self, "Variations", f"How many new takes of “{track['title']}”? "
                                            "Same settings, a new seed each.", 2, 1, MAX_VARIATIONS)
            if not ok:
                return []
            count = value
        seeds: list[int] = []
        while len(seeds) < count:
            seed = secrets.randbelow(SEED_MAX)
            if seed != track.get("seed") and seed not in seeds:
                seeds.append(seed)
        items = [{"fields": variation_fields(track, seed), "title": f"{track['title']} (take {i + 2})",
                  "extra": {"variation_of": track["id"], "variation_id": f"take_{i + 2}",
                            **({"prompt": track["prompt"]} if track.get("prompt") else {})}}
                 for i, seed in enumerate(seeds)]
        try:
            batch = self.services.music.submit_batch(items, concurrency=count, notify_when_all_complete=False,
                                                source="gui")
        except Exception as exc:  # ValidationError (an old spec), credits
            QMessageBox.warning(self, "No variations queued", str(exc))
            return []
        self.host.show_status(f"Queued {count} variation{'s' if count != 1 else ''} of “{track['title']}”; "
                              "they appear here when done.", 8000)
        return batch["jobs"]

    def drag_path(self, track_id: str) -> Path | None:
        """The file a drag of `track_id` carries: its best audio file, named after the track."""
        try:
            track = self.track if self.track and self.track["id"] == track_id else self.services.music.track_row(track_id)
        except UnknownTrack:
            return None
        files = track.get("files_raw") or {}
        for fmt in DRAG_FORMATS:
            if isinstance(files.get(fmt), str):
                try:
                    path = self.services.music.media_file(files[fmt])[0]
                except KeyError:
                    continue
                if path.is_file():
                    return drag_copy_path(path, track["title"], track_id)
        return None

    def drag_mime_data(self, track_id: str) -> QMimeData | None:
        path = self.drag_path(track_id)
        if path is None:
            return None
        data = QMimeData()
        data.setUrls([QUrl.fromLocalFile(str(path))])
        data.setText(str(path))
        return data

    def show_tracks(self, track_ids: list[str], *, search: str | None = None) -> bool:
        """Show a group of tracks (a playlist's): the search narrowed to `search`, the first selected."""
        self.style_filter.blockSignals(True)
        self.style_filter.setCurrentIndex(0)
        self.style_filter.blockSignals(False)
        self.search_edit.blockSignals(True)
        self.search_edit.setText(search or "")
        self.search_edit.blockSignals(False)
        self.refresh()
        return bool(track_ids) and self.select_track(track_ids[0])

    def edit_selected(self) -> EditTrackDialog | None:
        if self.track is None:
            return None
        dialog = EditTrackDialog(self.track, self)
        dialog.accepted.connect(lambda: self.save_edit(dialog.track["id"], dialog.changes()))
        self.edit_dialog = dialog
        dialog.open()
        return dialog

    def save_edit(self, track_id: str, changes: dict[str, Any]) -> None:
        if not changes:
            return
        try:
            self.services.music.update_track(track_id, changes)
        except Exception as exc:
            QMessageBox.warning(self, "Not saved", str(exc))
            return
        self.host.show_status("Track saved.", 3000)

    def export_folder(self) -> str:
        music = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MusicLocation)
        return str(Path(music or Path.home()) / "Studio exports")

    def export_selected(self) -> ExportDialog | None:
        if self.track is None:
            return None
        dialog = ExportDialog(self.services.music, self.track, self.export_folder(), self)
        dialog.exported.connect(self._exported)
        self.export_dialog = dialog
        dialog.open()
        return dialog

    def _exported(self, written: list[Path]) -> None:
        self.last_export = written
        if written:
            self.host.show_status(f"Exported {len(written)} file{'s' if len(written) != 1 else ''} to "
                                  f"{written[0].parent}", 8000)

    def reveal_selected(self) -> bool:
        """Open the folder holding the track's audio file in the file manager."""
        if self.track is None:
            return False
        path = self._audio_path(self.track)
        if path is None:
            files = self.track.get("files_raw") or {}
            media_id = next((v for v in files.values() if isinstance(v, str)), None)
            if media_id is None:
                return False
            path = self.services.music.media_file(media_id)[0]
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))

    def delete_selected(self, *, confirm: bool = True) -> bool:
        track = self.track
        if track is None:
            return False
        if confirm:
            answer = QMessageBox.question(
                self, "Delete track",
                f"Delete “{track['title']}” and all its files (audio, stems, MIDI, lyrics)? This cannot be undone.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                return False
        self._stop_if_playing(track["id"])
        try:
            self.services.music.delete_track(track["id"])
        except UnknownTrack:
            pass
        self._show_none()
        self.refresh()
        self.host.show_status(f"Deleted “{track['title']}”.", 4000)
        return True

    def focus_search(self) -> None:
        """Ctrl+F: the search box."""
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def primary_action(self) -> None:
        """Ctrl+Enter: play / pause the selected track."""
        self.toggle_play()
