"""'Generated here': a card per job queued from the Create panel (what it renders, its progress,
what the analysis measured) and per playlist, newest first."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from studio.ui.panels.music.common import escape, key_label, spec_summary
from studio.ui.theme import COLORS, STATUS_COLORS, icon
from studio.ui.widgets.playlist_widgets import PlaylistCard

MAX_CARDS = 30


class JobCard(QFrame):
    """One generation queued from this panel: what it will render, its progress, what came out."""

    reuse_requested = Signal(object)  # this card
    library_requested = Signal(object)  # the track id

    def __init__(self, job: dict[str, Any], fields: dict[str, Any]) -> None:
        super().__init__()
        self.setObjectName("Card")
        self.job_id = job["id"]
        self.job = dict(job)
        self.fields = fields
        self.spec = job.get("resolved_spec") or {}
        self.track_id: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(4)
        top = QHBoxLayout()
        self.title_label = QLabel(escape(job.get("title") or self.spec.get("title") or self.job_id))
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
        self.spec_label = QLabel(escape(spec_summary(self.spec)) if self.spec else "")
        self.spec_label.setWordWrap(True)
        why = (self.spec or {}).get("sources", {}).get("singer")  # who sings and why
        self.spec_label.setToolTip("What this job renders (the resolved spec)" + (f"\nVocals: {why}" if why else ""))
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
        self.reuse_button.clicked.connect(lambda: self.reuse_requested.emit(self))
        self.library_button = QPushButton(icon("mdi6.bookshelf"), "Show in Library")
        self.library_button.setEnabled(False)
        self.library_button.clicked.connect(lambda: self.library_requested.emit(self.track_id))
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


class JobsView(QGroupBox):
    """The cards of this session's jobs and playlists; at most MAX_CARDS job cards are kept."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Generated here", parent)
        self.cards: dict[str, JobCard] = {}
        self.playlist_cards: dict[str, PlaylistCard] = {}
        layout = QVBoxLayout(self)
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

    def add_card(self, card: JobCard) -> JobCard:
        self.cards[card.job_id] = card
        self.jobs_empty.hide()
        self.cards_layout.insertWidget(0, card)
        while len(self.cards) > MAX_CARDS:
            oldest = next(iter(self.cards))
            old = self.cards.pop(oldest)
            self.cards_layout.removeWidget(old)
            old.deleteLater()
        self.cards_scroll.verticalScrollBar().setValue(0)
        return card

    def add_playlist_card(self, card: PlaylistCard) -> PlaylistCard:
        self.playlist_cards[card.playlist_id] = card
        self.jobs_empty.hide()
        self.cards_layout.insertWidget(0, card)
        self.cards_scroll.verticalScrollBar().setValue(0)
        return card
