"""A track's waveform for the Library and Analysis panels: the min/max peaks the system service
measures (`services.system.waveform_peaks`, read on a worker), its sections marked, and a playhead.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from studio.ui.theme import COLORS
from studio.ui.widgets.player_bar import WaveformView


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
