"""The Library's details pane: the selected track's title, actions, waveform, and its Overview
(requested and measured), Lyrics (the sung line follows playback), Chords and Stems tabs.

The pane only shows; the Library panel connects its buttons and fills it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import key_agreement, tempo_agreement
from studio.ui.theme import COLORS, icon
from studio.ui.widgets.player_bar import format_time
from studio.ui.widgets.stem_mixer import StemMixer
from studio.ui.widgets.track_waveform import TrackWaveform

QUALITY_LABELS = {
    "overall_quality": "Overall", "melodic_coherence": "Melodic coherence",
    "harmonic_consistency": "Harmonic consistency", "rhythmic_stability": "Rhythmic stability",
    "audio_fidelity": "Audio fidelity",
}


def key_label(key: str | None) -> str:
    return (key or "–").replace("_", " ")


def esc(text: Any) -> str:
    """`text` safe inside rich text."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;")


class TrackOverview(QWidget):
    """Requested and measured facts, the quality bars and the tagger's tags; for an answer to a
    trend, the trend it was made for (a link: `trend_requested`)."""

    trend_requested = Signal(str)  # the "Made for" link was clicked: the trend's id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 4, 4)
        layout.setSpacing(10)
        facts = QGroupBox("Requested and measured")
        grid = QGridLayout(facts)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(5)
        self.fact_labels: dict[str, QLabel] = {}
        self.fact_captions: dict[str, QLabel] = {}
        for row, (key, label) in enumerate((("made_for", "Made for"), ("prompt", "Prompt"), ("tempo", "Tempo"), ("key", "Key"),
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
            self.fact_captions[key] = caption
        made_for = self.fact_labels["made_for"]
        made_for.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        made_for.linkActivated.connect(self.trend_requested.emit)  # the link's href is the trend's id
        self.show_made_for(None)
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

    def fill(self, track: dict[str, Any], relative_key: Callable[[str], str | None]) -> None:
        """What was asked for and what the analysis measured; `relative_key` is the music service's."""
        analysis, spec = track.get("analysis") or {}, track.get("spec") or {}
        muted = COLORS["muted"]

        def fact(key: str, html: str) -> None:
            self.fact_labels[key].setText(html)

        fact("prompt", esc(track.get("prompt") or "–"))
        tempo = (analysis.get("tempo") or {})
        if tempo.get("bpm"):
            agree = tempo_agreement(track["tempo_bpm"], tempo["bpm"], tempo.get("confidence"))
            fact("tempo", f"{track['tempo_bpm']:g} BPM asked · <b>{tempo['bpm']:.1f} BPM</b> measured{agree} "
                          f"<span style='color:{muted}'>(confidence {100 * tempo.get('confidence', 0):.0f}%)</span>")
        else:
            fact("tempo", f"{track['tempo_bpm']:g} BPM asked · not measured")
        key = (analysis.get("key") or {})
        if key.get("key"):
            match = key_agreement(track["key"], key["key"], relative_key(track["key"]), key.get("confidence"))
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

    def show_made_for(self, trend_id: str | None, trend: dict[str, Any] | None = None) -> None:
        """The trend this track answers (`trend`: its stored row, None when it is gone since), or
        no row at all (`trend_id` None: an ordinary track)."""
        label = self.fact_labels["made_for"]
        for widget in (self.fact_captions["made_for"], label):
            widget.setVisible(trend_id is not None)
        label.setToolTip("")
        if trend_id is None:
            label.setText("")
        elif trend is None:  # removed by the 30-day rule: nothing to open
            label.setText("Answer to a trend no longer stored")
        else:
            who = f" by {esc(trend['artist'])}" if trend.get("artist") else ""
            label.setText(f"<a href='{esc(trend_id)}'>Answer to the trend “{esc(trend.get('title') or '')}”{who}</a>")
            label.setToolTip("Show this trend in Trends")


class LyricsView(QWidget):
    """The timed lyric lines under section headers; the line being sung is highlighted."""

    line_activated = Signal(float)  # a sung line was double-clicked: its start, seconds

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lines: list[dict[str, Any]] = []
        self._rows: list[int] = []
        self.current = -1
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        self.lyrics_list = QListWidget()
        self.lyrics_list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.lyrics_list.setWordWrap(True)
        self.lyrics_list.itemDoubleClicked.connect(self._clicked)
        self.note = QLabel()
        self.note.setObjectName("Muted")
        self.note.setWordWrap(True)
        layout.addWidget(self.lyrics_list, 1)
        layout.addWidget(self.note)

    def fill(self, track: dict[str, Any]) -> None:
        self.lyrics_list.clear()
        self.current = -1
        lyrics = track.get("lyrics") or {}
        self.lines = list(lyrics.get("timestamps") or [])
        previous = None
        self._rows = []
        for line in self.lines:
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
            self._rows.append(self.lyrics_list.count() - 1)
        if self.lines:
            self.note.setText("The line being sung is highlighted while the track plays.")
        elif track.get("instrumental"):
            self.note.setText("An instrumental track: no lyrics.")
        else:
            self.note.setText("No lyrics were exported with this track.")

    def highlight(self, index: int) -> None:
        """Mark the line being sung (-1: none)."""
        if index == self.current:
            return
        rows = self._rows
        if 0 <= self.current < len(rows):
            old = self.lyrics_list.item(rows[self.current])
            if old is not None:
                old.setBackground(QBrush())
                old.setForeground(QBrush(QColor(COLORS["text"])))
                font = old.font()
                font.setBold(False)
                old.setFont(font)
        self.current = index
        if 0 <= index < len(rows):
            item = self.lyrics_list.item(rows[index])
            item.setBackground(QBrush(QColor("#2d3a55")))
            item.setForeground(QBrush(QColor(COLORS["playhead"])))
            font = item.font()
            font.setBold(True)
            item.setFont(font)
            self.lyrics_list.scrollToItem(item, QAbstractItemView.ScrollHint.EnsureVisible)

    def current_text(self) -> str | None:
        if 0 <= self.current < len(self.lines):
            return self.lines[self.current].get("text")
        return None

    def line_at(self, position_s: float) -> int:
        """The index of the line sung at `position_s`, -1 between lines."""
        for i, line in enumerate(self.lines):
            if line.get("start", 0.0) <= position_s < line.get("end", 0.0):
                return i
        return -1

    def _clicked(self, item: QListWidgetItem) -> None:
        start = item.data(Qt.ItemDataRole.UserRole)
        if start is not None:
            self.line_activated.emit(float(start))


class TrackDetails(QStackedWidget):
    """'Select a track…', or the selected track's page."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(460)
        none = QLabel("Select a track to see its waveform, measurements, lyrics, chords and stems.")
        none.setObjectName("Muted")
        none.setAlignment(Qt.AlignmentFlag.AlignCenter)
        none.setWordWrap(True)
        self.addWidget(none)
        self.none_page = none

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
        self.stop_button = QToolButton()
        self.stop_button.setIcon(icon("mdi6.stop"))
        self.stop_button.setToolTip("Stop")
        self.extend_button = self._tool("mdi6.arrow-expand-right", "Extend…", "Add seconds to the end of this track "
                                        "(a new track; this one is kept)")
        self.variations_button = self._tool("mdi6.shuffle-variant", "Variations…",
                                            "Generate new takes of this track: the same settings, new seeds")
        self.edit_button = self._tool("mdi6.pencil", "Edit…", "Rename, describe and tag this track")
        self.export_button = self._tool("mdi6.export", "Export…", "Copy its files (formats, stems) into a folder")
        self.reveal_button = self._tool("mdi6.folder-open", "", "Show its audio file in the file manager")
        self.delete_button = self._tool("mdi6.delete", "", "Delete this track and its files")
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
        layout.addWidget(self.waveform)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.overview = TrackOverview()
        self.tabs.addTab(self._scroll(self.overview), icon("mdi6.information-outline"), "Overview")
        self.lyrics = LyricsView()
        self.tabs.addTab(self.lyrics, icon("mdi6.microphone-variant"), "Lyrics")
        self.tabs.addTab(self._build_chords(), icon("mdi6.music-clef-treble"), "Chords")
        self.stem_mixer = StemMixer()
        self.tabs.addTab(self._scroll(self.stem_mixer), icon("mdi6.tune-vertical"), "Stems")
        self.tabs.setMinimumHeight(250)
        layout.addWidget(self.tabs, 1)
        self.page = self._scroll(details)  # short windows scroll the details, nothing is squashed
        self.addWidget(self.page)

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

    @staticmethod
    def _tool(icon_name: str, text: str, tip: str) -> QPushButton:
        button = QPushButton(icon(icon_name), text)
        button.setToolTip(tip)
        return button

    @staticmethod
    def _scroll(widget: QWidget) -> QScrollArea:
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(widget)
        return scroll
