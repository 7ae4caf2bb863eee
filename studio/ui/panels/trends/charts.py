"""The Trends panel's charts: a trend's rank/metric history, the hours × days heatmap and the tempo
histogram of rising items (pyqtgraph, theme colours)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from studio.ui.panels.trends.common import parse_time
from studio.ui.theme import COLORS
from studio.ui.widgets.charts import HintedChart, themed_plot

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SOURCE_COLORS = ("#5b8def", "#3fb950", "#d29922", "#c678dd", "#f85149", "#56b6c2")


class _HintedPlot(HintedChart):
    """A hinted chart with one plot page."""

    def __init__(self, hint: str, parent: QWidget | None = None) -> None:
        super().__init__(hint, parent)
        self.plot = themed_plot()
        self.addWidget(self.plot)


class HistoryChart(_HintedPlot):
    """A trend's history: rank per scan (rank 1 at the top), one line per source; for sources
    without ranks, their own count (views, playcount...) per scan. `hint` shows when there is none."""

    def __init__(self, hint: str = "Select a trend to see its history", parent: QWidget | None = None) -> None:
        super().__init__(hint, parent)
        self.plot.setAxisItems({"bottom": pg.DateAxisItem(orientation="bottom")})
        bottom = self.plot.getPlotItem().getAxis("bottom")
        bottom.setPen(pg.mkPen(COLORS["border"]))
        bottom.setTextPen(pg.mkPen(COLORS["muted"]))
        self.what = ""  # "rank" or the metric drawn, for tests and the caption
        self.series: dict[str, list[tuple[float, float]]] = {}
        self.colors: dict[str, str] = {}  # source -> its line's colour (the caption names them)
        self.setMinimumHeight(120)

    def legend_html(self, label=lambda name: name) -> str:
        """The sources drawn, each in its line's colour (a legend inside the plot would hide lines)."""
        return " ".join(f"<span style='color:{color}'>■ {label(source)}</span>" for source, color in self.colors.items())

    def set_history(self, history: list[dict[str, Any]]) -> str:
        """Draw `history` ([{scanned_at, source, rank, metrics}]); return what the y axis shows."""
        self.plot.clear()
        ranked: dict[str, list[tuple[float, float]]] = {}
        counted: dict[str, list[tuple[float, float]]] = {}
        metric_name = ""
        for point in history:
            t = parse_time(point.get("scanned_at"))
            if t is None:
                continue
            source = str(point.get("source") or "?")
            if point.get("rank") is not None:
                ranked.setdefault(source, []).append((t, float(point["rank"])))
            metrics = point.get("metrics") or {}
            for name in ("views", "playcount", "listeners", "streams", "likes"):
                if metrics.get(name) is not None and (not metric_name or name == metric_name):
                    metric_name = metric_name or name
                    counted.setdefault(source, []).append((t, float(metrics[name])))
                    break
        series, self.what = (ranked, "rank") if ranked else (counted, metric_name)
        self.series = series
        if not series:
            self.hint.setText("No history yet: it builds up with each scan")
            self.setCurrentWidget(self.hint)
            return ""
        self.colors = {}
        for i, (source, points) in enumerate(sorted(series.items())):
            points.sort()
            xs, ys = np.array([p[0] for p in points]), np.array([p[1] for p in points])
            color = self.colors[source] = SOURCE_COLORS[i % len(SOURCE_COLORS)]
            self.plot.plot(xs, ys, pen=pg.mkPen(color, width=2), symbol="o", symbolSize=5,
                           symbolBrush=color, symbolPen=None)
        self.plot.getPlotItem().invertY(self.what == "rank")  # rank 1 is the top of the chart
        self.plot.getPlotItem().setLabel("left", "rank" if self.what == "rank" else self.what,
                                         color=COLORS["muted"])
        self.plot.autoRange()
        self.setCurrentWidget(self.plot)
        return self.what

    def clear(self, hint: str | None = None) -> None:
        self.plot.clear()
        self.series = {}
        self.colors = {}
        self.what = ""
        self.show_hint(hint)


class Heatmap(_HintedPlot):
    """Hours (columns, 0-23) × days (rows, Mon-Sun) as shades of the accent colour: how many
    rising items were published or rose in each hour of each weekday."""

    def __init__(self, hint: str = "No pattern yet", parent: QWidget | None = None) -> None:
        super().__init__(hint, parent)
        self.plot.setMouseEnabled(x=False, y=False)
        item = self.plot.getPlotItem()
        item.getAxis("left").setTicks([[(i + 0.5, day) for i, day in enumerate(DAYS)]])
        item.getAxis("bottom").setTicks([[(h + 0.5, f"{h:02d}") for h in range(0, 24, 3)]])
        item.invertY(True)
        self.image = pg.ImageItem()
        self.image.setLookupTable(self._lut())
        self.plot.addItem(self.image)
        self.matrix: np.ndarray | None = None
        self.setMinimumHeight(130)

    @staticmethod
    def _lut() -> np.ndarray:
        base = np.array(pg.mkColor(COLORS["base"]).getRgb()[:3], dtype=float)
        accent = np.array(pg.mkColor(COLORS["accent"]).getRgb()[:3], dtype=float)
        steps = np.linspace(0.0, 1.0, 256)[:, None]
        return (base + (accent - base) * steps).astype(np.uint8)

    def set_matrix(self, matrix: list[list[float]] | np.ndarray) -> None:
        """`matrix[day][hour]`: 7 rows (Monday first) × 24 columns of counts."""
        data = np.asarray(matrix, dtype=float)
        if data.shape != (7, 24) or not np.any(data > 0):
            self.clear()
            return
        self.matrix = data
        self.image.setImage(data.T, levels=(0.0, float(data.max())))  # ImageItem: x first
        self.image.setRect(0, 0, 24, 7)
        self.plot.setXRange(0, 24, padding=0)
        self.plot.setYRange(0, 7, padding=0)
        self.setCurrentWidget(self.plot)

    def clear(self, hint: str | None = None) -> None:
        self.matrix = None
        self.show_hint(hint)


class TempoHistogram(_HintedPlot):
    """Rising items per tempo bin ({bpm_from, bpm_to, items}) as accent-coloured bars; `hint` (the
    service's reason) shows when no rising item has a tempo."""

    def __init__(self, hint: str = "No tempo yet", parent: QWidget | None = None) -> None:
        super().__init__(hint, parent)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.getPlotItem().getAxis("left").setWidth(28)
        self.bins: list[dict[str, Any]] = []
        self.bars: pg.BarGraphItem | None = None
        self.setMinimumHeight(90)

    def set_bins(self, bins: list[dict[str, Any]]) -> None:
        """Draw `bins`; an empty list (or only empty bins) shows the hint."""
        self.plot.clear()
        self.bars = None
        self.bins = [b for b in bins if b.get("bpm_from") is not None and b.get("bpm_to") is not None]
        if not any(int(b.get("items") or 0) for b in self.bins):
            self.clear()
            return
        lows = np.array([float(b["bpm_from"]) for b in self.bins])
        highs = np.array([float(b["bpm_to"]) for b in self.bins])
        counts = np.array([float(b.get("items") or 0) for b in self.bins])
        width = highs - lows
        self.bars = pg.BarGraphItem(x0=lows + width * 0.06, width=width * 0.88, height=counts,
                                    brush=COLORS["accent"], pen=pg.mkPen(None))
        self.plot.addItem(self.bars)
        item = self.plot.getPlotItem()
        # Tick every bin edge when few, else every other: labels must not overlap in a narrow box.
        step = 1 if len(self.bins) <= 8 else 2
        edges = [*lows.tolist(), float(highs[-1])]
        item.getAxis("bottom").setTicks([[(e, f"{e:g}") for e in edges[::step]]])
        top = int(counts.max())
        item.getAxis("left").setTicks([[(n, str(n)) for n in range(0, top + 1, max(1, (top + 3) // 4))]])
        # Room beside the outer bars, or the axis drops the first and last edge labels.
        margin_bpm = 0.4 * float(width[0])
        self.plot.setXRange(float(lows[0]) - margin_bpm, float(highs[-1]) + margin_bpm, padding=0)
        self.plot.setYRange(0, top * 1.1, padding=0)
        self.setCurrentWidget(self.plot)

    def clear(self, hint: str | None = None) -> None:
        self.plot.clear()
        self.bars = None
        self.bins = []
        self.show_hint(hint)
