"""The Analytics panel's charts (pyqtgraph, theme colours): a daily series per group (revenue by
origin or by source, views and engagement, generations, requests and latency, compute against a
limit). Each chart is a hinted chart: with nothing to draw it says why instead."""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from studio.ui.theme import COLORS
from studio.ui.widgets.charts import HintedChart, themed_plot

SERIES_COLORS = ("#5b8def", "#3fb950", "#d29922", "#c678dd", "#f85149", "#56b6c2", "#9aa3ad")


def day_seconds(day: str) -> float:
    """Seconds since the epoch of a day's noon UTC (the date axis puts the label under the bar)."""
    d = date.fromisoformat(day[:10])
    return datetime(d.year, d.month, d.day, 12, tzinfo=timezone.utc).timestamp()


class DailyChart(HintedChart):
    """Daily values, one line (or stacked bars) per named series; `limit` draws a dashed line."""

    def __init__(self, hint: str, *, stacked: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(hint, parent)
        self.plot = themed_plot(date_axis=True, interactive=False)
        self.addWidget(self.plot)
        self.stacked = stacked
        self.colors: dict[str, str] = {}
        self.series: dict[str, list[float]] = {}
        self.setMinimumHeight(170)

    def legend_html(self) -> str:
        return " ".join(f"<span style='color:{c}'>■ {name}</span>" for name, c in self.colors.items())

    def set_series(self, days: list[str], series: dict[str, list[float]], *, empty_hint: str,
                   limit: float | None = None) -> bool:
        """Draw `series` over `days`; all zeros or nothing shows `empty_hint`. Returns whether it drew."""
        self.plot.clear()
        self.colors = {}
        drawn = {name: values for name, values in series.items() if any(v for v in values)}
        self.series = drawn
        if not days or not drawn:
            self.show_hint(empty_hint)
            return False
        xs = np.array([day_seconds(d) for d in days])
        width = 86400 * 0.8
        bottom = np.zeros(len(days))
        for i, (name, values) in enumerate(drawn.items()):
            color = self.colors[name] = SERIES_COLORS[i % len(SERIES_COLORS)]
            ys = np.array(values, dtype=float)
            if self.stacked:
                self.plot.addItem(pg.BarGraphItem(x=xs, y0=bottom, height=ys, width=width, brush=color, pen=None))
                bottom = bottom + ys
            else:
                # days after the last figure are not known yet (statements arrive later): not drawn as 0
                last = int(np.flatnonzero(ys)[-1]) + 1
                self.plot.plot(xs[:last], ys[:last], pen=pg.mkPen(color, width=2))
        if limit is not None:
            line = pg.InfiniteLine(pos=limit, angle=0, pen=pg.mkPen(COLORS["danger"], width=1,
                                                                    style=pg.QtCore.Qt.PenStyle.DashLine))
            self.plot.addItem(line)
        self.setCurrentWidget(self.plot)
        return True
