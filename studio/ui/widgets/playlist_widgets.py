"""Playlist mode of the Create panel: the options of a playlist (what `plan_playlist` takes, as in
seed 001's generate-playlist request) and a card that follows a queued playlist: its tracks, then
its continuous mix, which can be played in the player bar once it is rendered."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.services.music.playlists import DEFAULT_TRANSITION_S  # what the plan assumes when none is given
from studio.ui.theme import COLORS, STATUS_COLORS, icon

COHESION_CHOICES = (
    ("high", "High: one mood, tempos close, keys stay"),
    ("medium", "Medium: an arc, neighbouring keys"),
    ("low", "Low: free tempos and keys"),
)
TRANSITION_CHOICES = (("crossfade", "Crossfade"), ("smooth", "Smooth blend"), ("abrupt", "Cut"))
MAX_TRACKS = 20
FINISHED = ("completed", "failed", "cancelled")


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class PlaylistOptions(QGroupBox):
    """Track count, total length, cohesion, tempo range, key/tempo/instrument variation, transitions."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Playlist", parent)
        grid = QGridLayout(self)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(8)

        self.name_edit = QLineEdit()
        self.name_edit.setMaxLength(100)
        self.name_edit.setPlaceholderText("Playlist name (the tracks are titled “name - 01”, …)")
        self.count_spin = QSpinBox()
        self.count_spin.setRange(1, MAX_TRACKS)
        self.count_spin.setValue(5)
        self.count_spin.setSuffix(" tracks")
        self.total_spin = QSpinBox()
        self.total_spin.setRange(1, 10800)
        self.total_spin.setValue(600)
        self.total_spin.setSuffix(" s")
        self.total_spin.setToolTip("Length of the whole continuous mix; the tracks overlap at each transition")
        self.cohesion_combo = QComboBox()
        for value, label in COHESION_CHOICES:
            self.cohesion_combo.addItem(label, value)
        self.cohesion_combo.setCurrentIndex(1)
        self.cohesion_combo.setToolTip("How alike the tracks are: the share of the tempo range they use, "
                                       "how far keys move and what instruments change")

        tempo_row = QHBoxLayout()
        tempo_row.setSpacing(6)
        self.tempo_check = QCheckBox("From")
        self.tempo_check.setToolTip("Spread the tracks' tempos over this range (unticked: the form's tempo, "
                                    "or the style's)")
        self.tempo_lo = QSpinBox()
        self.tempo_hi = QSpinBox()
        for spin, value in ((self.tempo_lo, 90), (self.tempo_hi, 120)):
            spin.setRange(40, 240)
            spin.setValue(value)
            spin.setSuffix(" BPM")
        tempo_row.addWidget(self.tempo_check)
        tempo_row.addWidget(self.tempo_lo)
        tempo_row.addWidget(QLabel("to"))
        tempo_row.addWidget(self.tempo_hi)
        tempo_row.addStretch(1)

        self.variation_spin = QSpinBox()
        self.variation_spin.setRange(0, 30)
        self.variation_spin.setSpecialValueText("none")
        self.variation_spin.setPrefix("± ")
        self.variation_spin.setSuffix(" BPM")
        self.variation_spin.setToolTip("Move each planned tempo by up to this much (kept inside the range)")
        self.keys_check = QCheckBox("Key changes")
        self.keys_check.setToolTip("High cohesion moves to the relative key, medium walks the circle of fifths, "
                                   "low goes anywhere")
        self.instruments_check = QCheckBox("Vary instruments")
        self.instruments_check.setToolTip("When no instruments are ticked: later tracks change the pad (high), "
                                          "the harmony (medium) or harmony and melody (low)")
        checks = QHBoxLayout()
        checks.addWidget(self.keys_check)
        checks.addWidget(self.instruments_check)
        checks.addStretch(1)

        transition_row = QHBoxLayout()
        transition_row.setSpacing(6)
        self.transition_combo = QComboBox()
        for value, label in TRANSITION_CHOICES:
            self.transition_combo.addItem(label, value)
        self.transition_seconds = QDoubleSpinBox()
        self.transition_seconds.setRange(0.5, 20.0)
        self.transition_seconds.setDecimals(1)
        self.transition_seconds.setSuffix(" s")
        self.transition_seconds.setValue(DEFAULT_TRANSITION_S["crossfade"])
        transition_row.addWidget(self.transition_combo)
        transition_row.addWidget(self.transition_seconds)
        transition_row.addStretch(1)

        rows = (
            ("Name", self.name_edit, None, None),
            ("Tracks", self.count_spin, "Total length", self.total_spin),
            ("Cohesion", self.cohesion_combo, "Tempo variation", self.variation_spin),
        )
        for row, (label, widget, label2, widget2) in enumerate(rows):
            grid.addWidget(self._caption(label), row, 0)
            if widget2 is None:
                grid.addWidget(widget, row, 1, 1, 3)
            else:
                grid.addWidget(widget, row, 1)
                grid.addWidget(self._caption(label2), row, 2)
                grid.addWidget(widget2, row, 3)
        grid.addWidget(self._caption("Tempo range"), 3, 0)
        grid.addLayout(tempo_row, 3, 1, 1, 3)
        grid.addWidget(self._caption("Transitions"), 4, 0)
        grid.addLayout(transition_row, 4, 1, 1, 3)
        grid.addWidget(self._caption("Variation"), 5, 0)
        grid.addLayout(checks, 5, 1, 1, 3)
        note = QLabel("The form above is the base of every track; the Duration field is replaced by "
                      "total length ÷ tracks (plus the overlaps).")
        note.setObjectName("Muted")
        note.setWordWrap(True)
        grid.addWidget(note, 6, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)

        self.transition_combo.currentIndexChanged.connect(self._transition_changed)
        self.tempo_check.toggled.connect(self._tempo_state)
        for spin in (self.count_spin, self.total_spin, self.tempo_lo, self.tempo_hi, self.variation_spin,
                     self.transition_seconds):
            spin.valueChanged.connect(lambda *_a: self.changed.emit())
        for combo in (self.cohesion_combo,):
            combo.currentIndexChanged.connect(lambda *_a: self.changed.emit())
        for check in (self.keys_check, self.instruments_check):
            check.toggled.connect(lambda *_a: self.changed.emit())
        self.name_edit.textChanged.connect(lambda *_a: self.changed.emit())
        self._tempo_state()

    @staticmethod
    def _caption(text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName("Muted")
        return label

    def _transition_changed(self, *_args) -> None:
        style = self.transition_combo.currentData()
        self.transition_seconds.setEnabled(style != "abrupt")
        if style != "abrupt":
            self.transition_seconds.setValue(DEFAULT_TRANSITION_S[style])
        self.changed.emit()

    def _tempo_state(self, *_args) -> None:
        self.tempo_lo.setEnabled(self.tempo_check.isChecked())
        self.tempo_hi.setEnabled(self.tempo_check.isChecked())
        self.changed.emit()

    def name(self, fallback: str) -> str:
        return self.name_edit.text().strip() or fallback

    def plan_arguments(self, seed: int) -> dict[str, Any]:
        """Keyword arguments of `plan_playlist` (all but the base fields)."""
        style = self.transition_combo.currentData()
        tempo_range = None
        if self.tempo_check.isChecked():
            tempo_range = tuple(sorted((float(self.tempo_lo.value()), float(self.tempo_hi.value()))))
        return {
            "track_count": self.count_spin.value(), "total_duration_s": float(self.total_spin.value()),
            "cohesion": self.cohesion_combo.currentData(), "transition_style": style,
            "transition_s": 0.0 if style == "abrupt" else float(self.transition_seconds.value()),
            "tempo_range": tempo_range, "allow_key_changes": self.keys_check.isChecked(),
            "tempo_variation_bpm": float(self.variation_spin.value()),
            "instrumentation_variation": self.instruments_check.isChecked(), "seed": int(seed),
        }


class PlaylistCard(QFrame):
    """A playlist queued from Create: its tracks' progress, then its mix; Play mix / Show in Library."""

    play_requested = Signal(str)  # playlist id
    library_requested = Signal(str)

    def __init__(self, playlist_id: str, name: str, plan: dict[str, Any]) -> None:
        super().__init__()
        self.setObjectName("Card")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.playlist_id = playlist_id
        self.name = name
        self.plan = plan
        self.state: dict[str, Any] = {}
        self.mix_status = "queued"
        self.track_ids: list[str] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(4)
        top = QHBoxLayout()
        self.title_label = QLabel(f"<b>{_escape(name)}</b> {self._muted('· playlist')}")
        self.title_label.setWordWrap(True)
        self.title_label.setToolTip(playlist_id)
        self.status_label = QLabel()
        top.addWidget(self.title_label, 1)
        top.addWidget(self.status_label)
        layout.addLayout(top)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        layout.addWidget(self.progress)
        transition = plan.get("transition") or {}
        self.plan_label = QLabel(_escape(
            f"{plan.get('style_name')} · {plan.get('mood')} · {len(plan.get('tracks') or [])} × "
            f"{plan.get('track_duration_s'):g} s · {transition.get('style')}"))
        self.plan_label.setWordWrap(True)
        layout.addWidget(self.plan_label)
        self.tracks_label = QLabel()
        self.tracks_label.setWordWrap(True)
        self.tracks_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.tracks_label)
        self.result_label = QLabel()
        self.result_label.setObjectName("Muted")
        self.result_label.setWordWrap(True)
        layout.addWidget(self.result_label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.play_button = QPushButton(icon("mdi6.play-circle-outline"), "Play mix")
        self.play_button.setToolTip("Play the continuous mix in the player bar")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(lambda: self.play_requested.emit(self.playlist_id))
        self.library_button = QPushButton(icon("mdi6.bookshelf"), "Tracks in Library")
        self.library_button.setToolTip("Show this playlist's finished tracks in the Library")
        self.library_button.setEnabled(False)
        self.library_button.clicked.connect(lambda: self.library_requested.emit(self.playlist_id))
        buttons.addWidget(self.play_button)
        buttons.addWidget(self.library_button)
        layout.addLayout(buttons)

    @staticmethod
    def _muted(text: str) -> str:
        return f"<span style='color:{COLORS['muted']}'>{text}</span>"

    def update_state(self, state: dict[str, Any]) -> None:
        """`state`: services.music.playlists.playlist(id) — {"mix": job, "tracks": [jobs]}."""
        self.state = state
        mix, tracks = state["mix"], state["tracks"]
        n = max(1, len(tracks))
        done = sum(1 for t in tracks if t["status"] == "completed")
        finished = sum(1 for t in tracks if t["status"] in FINISHED)
        self.mix_status = mix["status"]
        # the tracks are 90 % of the way, the mix the rest
        track_share = sum(100.0 if t["status"] in FINISHED else float(t.get("progress") or 0) for t in tracks) / n
        value = 0.9 * track_share + 0.1 * float(mix.get("progress") or 0 if mix["status"] != "completed" else 100)
        self.progress.setValue(int(value))
        if mix["status"] == "completed":
            text = "completed"
        elif mix["status"] in ("failed", "cancelled"):
            text = mix["status"]
        elif finished < len(tracks):
            text = f"track {min(finished + 1, len(tracks))} of {len(tracks)}"
        else:
            text = "mixing"
        self.status_label.setText(text)
        self.status_label.setStyleSheet(f"color: {STATUS_COLORS.get(mix['status'], COLORS['muted'])};")
        lines = []
        planned = {p["position"]: p for p in self.plan.get("tracks") or []}
        for position, job in enumerate(tracks, start=1):
            p = planned.get(position, {})
            status = job["status"]
            if status == "processing":
                status = f"{float(job.get('progress') or 0):.0f}%"
            colour = STATUS_COLORS.get(job["status"], COLORS["muted"])
            lines.append(f"{position:02d} · {p.get('tempo', 0):g} BPM · {str(p.get('key', '')).replace('_', ' ')}"
                         f" <span style='color:{colour}'>{_escape(status)}</span>")
        self.tracks_label.setText("<br>".join(lines))
        self.track_ids = [(t.get("result") or {}).get("track_id") for t in tracks
                          if t["status"] == "completed" and (t.get("result") or {}).get("track_id")]
        self.library_button.setEnabled(bool(self.track_ids))
        result = mix.get("result") or {}
        self.play_button.setEnabled(mix["status"] == "completed" and bool(result.get("files")))
        if mix["status"] == "completed":
            skipped = len(result.get("skipped") or [])
            extra = f"; {skipped} track{'s' if skipped != 1 else ''} left out" if skipped else ""
            self.result_label.setText(f"Mix of {done} tracks, {float(result.get('duration_s') or 0):.1f} s{extra}.")
        elif mix["status"] == "failed":
            error = mix.get("error") or {}
            self.result_label.setText(f"Mix failed: {error.get('message') or error}")
            self.result_label.setStyleSheet(f"color: {COLORS['danger']};")
        elif mix["status"] == "cancelled":
            self.result_label.setText("Cancelled.")
        else:
            self.result_label.setText(f"{done} of {len(tracks)} tracks done; the mix is rendered when all are.")
