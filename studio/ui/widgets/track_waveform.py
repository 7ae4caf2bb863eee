"""A track's waveform for the Library: min/max peaks read block by block from the file (so a long
WAV is never held in memory whole), its sections marked, and a playhead.

`read_peaks` is plain blocking code: run it on a worker (see `studio.ui.widgets.tasks`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from studio.ui.theme import COLORS
from studio.ui.widgets.player_bar import ENVELOPE_BINS, WaveformView, envelope, pg

BLOCK_BINS = 256  # bins per block read from the file


def read_peaks(path: str | Path, bins: int = ENVELOPE_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(times_s, lows, highs, duration_s) of an audio file, reading it in blocks."""
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:
        sample_rate, total = f.samplerate, f.frames
        if total <= 0:
            raise ValueError(f"{Path(path).name} holds no audio frames")
        duration = total / sample_rate
        if total <= bins * 2:
            times, lows, highs = envelope(f.read(dtype="float32", always_2d=True), sample_rate, bins)
            return times, lows, highs, duration
        size = total // bins
        lows_parts: list[np.ndarray] = []
        highs_parts: list[np.ndarray] = []
        for block in f.blocks(blocksize=size * BLOCK_BINS, dtype="float32", always_2d=True):
            used = len(block) // size * size
            if used == 0:
                continue
            lo = block[:used].min(axis=1).reshape(-1, size).min(axis=1)
            hi = block[:used].max(axis=1).reshape(-1, size).max(axis=1)
            lows_parts.append(lo)
            highs_parts.append(hi)
    lows = np.concatenate(lows_parts)[:bins]
    highs = np.concatenate(highs_parts)[:bins]
    times = (np.arange(len(lows), dtype=np.float64) + 0.5) * size / sample_rate
    return times, lows, highs, duration


class TrackWaveform(WaveformView):
    """WaveformView plus section markers (dashed lines labelled 'Verse 1', 'Chorus 1', ...)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_label.setText("Select a track to see its waveform")
        self.markers: list[pg.InfiniteLine] = []
        self.plot.getViewBox().setDefaultPadding(0.0)

    def show_message(self, text: str) -> None:
        """No waveform (loading, missing file): say why in place of it."""
        self.empty_label.setText(text)
        self.setCurrentWidget(self.empty_label)

    def set_sections(self, sections: list[dict]) -> None:
        for line in self.markers:
            self.plot.removeItem(line)
        self.markers = []
        pen = pg.mkPen(COLORS["muted"], width=1, style=Qt.PenStyle.DashLine)
        for section in sections:
            start = float(section.get("start_s", 0.0))
            line = pg.InfiniteLine(pos=start, angle=90, movable=False, pen=pen,
                                   label=str(section.get("label", "")),
                                   labelOpts={"position": 0.92, "color": COLORS["muted"], "anchors": [(0, 0), (0, 0)]})
            self.plot.addItem(line)
            self.markers.append(line)

    def clear(self) -> None:
        super().clear()
        self.set_sections([])
        self.empty_label.setText("Select a track to see its waveform")
