"""What every panel's charts share: a pyqtgraph plot in the theme's colours, and a chart page that
gives way to a sentence when there is nothing to draw (so an empty chart says why it is empty)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedWidget, QWidget

from studio.ui.theme import COLORS


def themed_plot(*, date_axis: bool = False, background: str = COLORS["panel"],
                interactive: bool = True) -> pg.PlotWidget:
    """A plot without pyqtgraph's menu and buttons, axes in the theme's muted colours; `date_axis`
    reads x as seconds since the epoch; `interactive=False` fixes the view (no drag or zoom)."""
    plot = pg.PlotWidget(background=background,
                         axisItems={"bottom": pg.DateAxisItem(orientation="bottom")} if date_axis else None)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    if not interactive:
        plot.setMouseEnabled(x=False, y=False)
    item = plot.getPlotItem()
    item.setContentsMargins(2, 4, 6, 2)
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(COLORS["border"]))
        axis.setTextPen(pg.mkPen(COLORS["muted"]))
    return plot


class HintedChart(QStackedWidget):
    """A chart page that gives way to a sentence (`hint`) when there is nothing to draw. Subclasses
    add their plot pages and switch to them when they draw."""

    def __init__(self, hint: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hint = QLabel(hint)
        self.hint.setObjectName("Muted")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.addWidget(self.hint)

    def show_hint(self, hint: str | None = None) -> None:
        if hint is not None:
            self.hint.setText(hint)
        self.setCurrentWidget(self.hint)
