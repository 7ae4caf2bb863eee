"""Horizontal probability bars (pyqtgraph): one labelled bar per item, best at the top, the value
printed at the end of each bar. Used by the Analyze panel for genres and moods."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QLabel, QStackedWidget, QWidget

from studio.ui.theme import COLORS


class ProbabilityBars(QStackedWidget):
    """`set_items([(label, value 0..1), ...])` draws them best first; `clear()` shows the hint."""

    def __init__(self, hint: str = "Nothing analysed yet", *, color: str | None = None, max_items: int = 8,
                 min_scale: float = 0.3, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.max_items = max_items
        self.min_scale = min_scale  # the x axis spans at least 0..min_scale: weak values look weak
        self.color = QColor(color or COLORS["accent"])
        self.items: list[tuple[str, float]] = []
        self.hint = QLabel(hint)
        self.hint.setObjectName("Muted")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.addWidget(self.hint)

        self.plot = pg.PlotWidget(background=COLORS["panel"])
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        item = self.plot.getPlotItem()
        item.hideAxis("bottom")
        item.setContentsMargins(4, 4, 4, 4)
        axis = item.getAxis("left")
        axis.setPen(pg.mkPen(COLORS["border"]))
        axis.setTextPen(pg.mkPen(COLORS["text"]))
        axis.setStyle(tickLength=0)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.62, width=[], brush=pg.mkBrush(self.color), pen=pg.mkPen(None))
        self.plot.addItem(self.bars)
        self.value_labels: list[pg.TextItem] = []
        self.addWidget(self.plot)
        self.setMinimumHeight(90)

    def set_items(self, items: list[tuple[str, float]]) -> None:
        ranked = sorted(((str(k), float(v)) for k, v in items), key=lambda kv: kv[1], reverse=True)[: self.max_items]
        self.items = ranked
        for label in self.value_labels:
            self.plot.removeItem(label)
        self.value_labels = []
        if not ranked:
            self.clear()
            return
        n = len(ranked)
        ys = [n - 1 - i for i in range(n)]  # best at the top
        values = [max(0.0, min(1.0, v)) for _k, v in ranked]
        self.bars.setOpts(x0=[0.0] * n, y=ys, width=values, height=0.62)
        self.plot.getPlotItem().getAxis("left").setTicks([[(y, name) for y, (name, _v) in zip(ys, ranked)]])
        top = max(values)
        font = QFont()
        font.setPointSizeF(8.5)
        for y, value in zip(ys, values):
            text = pg.TextItem(f"{value * 100:.0f}%", color=COLORS["muted"], anchor=(0, 0.5))
            text.setFont(font)
            text.setPos(value + top * 0.02, y)
            self.plot.addItem(text)
            self.value_labels.append(text)
        self.plot.setXRange(0, max(top * 1.18, self.min_scale), padding=0)
        self.plot.setYRange(-0.6, n - 0.4, padding=0)
        self.setCurrentWidget(self.plot)

    def clear(self, hint: str | None = None) -> None:
        if hint is not None:
            self.hint.setText(hint)
        self.items = []
        self.setCurrentWidget(self.hint)
