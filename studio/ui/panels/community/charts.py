"""The Community panel's charts (pyqtgraph, theme colours): sentiment over time (the day's score on
the 0-10 scale, and the day's messages stacked by sentiment) and the topics people talk about
(mentions per topic, each bar coloured by the topic's sentiment).

Each chart gives way to a sentence when it has nothing to draw."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from studio.ui.panels.community.common import SENTIMENT_COLORS
from studio.ui.theme import COLORS
from studio.ui.widgets.charts import HintedChart, themed_plot

DAY_S = 86400


def day_start(day: Any) -> float | None:
    """Seconds since the epoch of a day ('2026-03-01', or a full ISO time), at 00:00 UTC."""
    if not day:
        return None
    try:
        moment = datetime.fromisoformat(str(day).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return datetime(moment.year, moment.month, moment.day, tzinfo=timezone.utc).timestamp()


class SentimentChart(HintedChart):
    """Per day: the messages by sentiment as stacked bars (left axis) and the day's score as a line on
    the 0-10 scale (right axis, 5 = neutral dashed), in one plot so it keeps its axes on a short
    screen. The score is drawn in the bars' view, scaled so 10 is the top of the chart; the right
    axis is labelled in score units."""

    def __init__(self, hint: str = "No messages in this period", parent: QWidget | None = None) -> None:
        super().__init__(hint, parent)
        self.count_plot = themed_plot(date_axis=True, interactive=False)
        item = self.count_plot.getPlotItem()
        item.setLabel("left", "messages", color=COLORS["muted"])
        item.getAxis("left").setWidth(40)
        item.showAxis("right")
        right = item.getAxis("right")
        right.setPen(pg.mkPen(COLORS["border"]))
        right.setTextPen(pg.mkPen(COLORS["accent"]))
        right.setLabel("score", color=COLORS["accent"])
        right.setWidth(34)
        self.addWidget(self.count_plot)
        self.page = self.count_plot
        self.days: list[float] = []
        self.scores: list[float | None] = []
        self.counts: dict[str, list[int]] = {}
        self.setMinimumHeight(120)

    def set_series(self, series: list[dict[str, Any]]) -> None:
        """Draw `series` ([{day, score, positive, neutral, negative}]); no message in it shows the hint."""
        points = sorted((t, p) for p in series if (t := day_start(p.get("day"))) is not None)
        counts = {label: [int(p.get(label) or 0) for _t, p in points] for label in SENTIMENT_COLORS}
        self.count_plot.clear()
        if not points or not any(sum(v) for v in counts.values()):
            self.days, self.scores, self.counts = [], [], {}
            self.show_hint()
            return
        self.days = [t for t, _p in points]
        self.scores = [None if p.get("score") is None else float(p["score"]) for _t, p in points]
        self.counts = counts
        xs = np.array(self.days) + DAY_S / 2  # a bar (and its point) in the middle of its day
        bottom = np.zeros(len(xs))
        for label, color in SENTIMENT_COLORS.items():
            heights = np.array(counts[label], dtype=float)
            if heights.any():
                self.count_plot.addItem(pg.BarGraphItem(x=xs, y0=bottom, height=heights, width=DAY_S * 0.8,
                                                        brush=color, pen=pg.mkPen(None)))
            bottom = bottom + heights
        top = max(1.0, float(bottom.max())) * 1.15
        per_point = top / 10.0  # one score point in message units
        self.count_plot.addItem(pg.InfiniteLine(pos=5 * per_point, angle=0,
                                                pen=pg.mkPen(COLORS["border"], style=Qt.PenStyle.DashLine)))
        known = [(x, v) for x, v in zip(xs, self.scores) if v is not None]  # a day without messages has no score
        if known:
            self.count_plot.plot([k[0] for k in known], [k[1] * per_point for k in known],
                                 pen=pg.mkPen(COLORS["accent"], width=2), symbol="o", symbolSize=5,
                                 symbolBrush=COLORS["accent"], symbolPen=None)
        item = self.count_plot.getPlotItem()
        item.getAxis("right").setTicks([[(v * per_point, str(v)) for v in (0, 5, 10)]])
        self.count_plot.setYRange(0, top, padding=0)
        self.count_plot.setXRange(float(xs[0]) - DAY_S, float(xs[-1]) + DAY_S, padding=0)
        self.setCurrentWidget(self.page)

    @staticmethod
    def legend_html() -> str:
        bars = " ".join(f"<span style='color:{color}'>■ {label}</span>" for label, color in SENTIMENT_COLORS.items())
        return f"{bars} <span style='color:{COLORS['accent']}'>— score (0–10)</span>"


class TopicsChart(HintedChart):
    """Mentions per topic as horizontal bars (most talked-about on top), coloured by the topic's
    sentiment, each named beside its bar (axis tick labels would drop names in a short chart)."""

    def __init__(self, hint: str = "No topics in this period", parent: QWidget | None = None) -> None:
        super().__init__(hint, parent)
        self.plot = themed_plot(interactive=False)
        self.plot.getPlotItem().hideAxis("left")
        self.plot.getPlotItem().hideAxis("bottom")  # each bar says its count
        self.addWidget(self.plot)
        self.topics: list[dict[str, Any]] = []
        self.names: list[str] = []  # the labels drawn, top first
        self.setMinimumHeight(110)

    @staticmethod
    def topic_color(topic: dict[str, Any]) -> str:
        sentiment = topic.get("sentiment")
        if isinstance(sentiment, dict):
            sentiment = sentiment.get("score", sentiment.get("label"))
        if isinstance(sentiment, str):
            return SENTIMENT_COLORS.get(sentiment, COLORS["accent"])
        if isinstance(sentiment, (int, float)):  # the 0-10 scale
            return SENTIMENT_COLORS["positive" if sentiment >= 5.25 else "negative" if sentiment <= 4.75
                                    else "neutral"]
        return COLORS["accent"]

    def set_topics(self, topics: list[dict[str, Any]]) -> None:
        self.plot.clear()
        self.topics = [t for t in topics if int(t.get("mentions") or 0) > 0]
        self.names = []
        if not self.topics:
            self.show_hint()
            return
        top = max(float(t["mentions"]) for t in self.topics)
        rows = len(self.topics)
        for i, topic in enumerate(self.topics):
            y = float(rows - 1 - i)  # the first topic at the top
            mentions = float(topic["mentions"])
            self.plot.addItem(pg.BarGraphItem(x0=[0.0], y=[y], height=[0.62], width=[mentions],
                                              brush=self.topic_color(topic), pen=pg.mkPen(None)))
            name = str(topic.get("label") or topic.get("topic") or "–").replace("_", " ")
            self.names.append(name)
            sentiment = topic.get("sentiment")
            text = f"{name} · {int(mentions)}" + (f" · {sentiment}/10" if isinstance(sentiment, (int, float)) else "")
            label = pg.TextItem(text, color=COLORS["text"], anchor=(0, 0.5))
            label.setPos(mentions + top * 0.02, y)
            self.plot.addItem(label)
        # room on the right of the longest bar for its name
        self.plot.setXRange(0, top * 1.9, padding=0)
        self.plot.setYRange(-0.6, rows - 0.4, padding=0)
        self.setCurrentWidget(self.plot)
