"""Insights: the overview figures as cards (each one computed from the stored messages, or `–` with
the reason), sentiment over time and the topics people talk about, for a period and a platform.

The box only shows and signals; the panel calls `services.community.insights` and `topics`."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import number
from studio.ui.panels.community.charts import SentimentChart, TopicsChart
from studio.ui.panels.community.common import platform_label

PERIODS = ((7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days"))
# The overview's figures, in the order shown: (key, caption, unit, how the service computes it)
CARDS = (
    ("total_members", "Members", "", "Everyone the studio has seen write, on every platform"),
    ("daily_interactions", "Messages per day", "", "Messages sent in the period ÷ its days"),
    ("sentiment_score", "Sentiment (0–10)", "",
     "Mean sentiment of the period's messages (your own left out): (compound + 1) × 5, 5 is neutral"),
    ("automation_percentage", "Answered by the bots alone", "%",
     "Replies the Discord/Telegram bots sent without approval ÷ replies sent in the period"),
    ("growth_rate", "Member growth", "%", "Members first seen in the period ÷ members seen before it"),
    ("engagement_improvement", "Reactions per message", "%",
     "Change of reactions per message against the period just before"),
)

class Card(QFrame):
    """One figure: its value, what it is, and (for a missing one) why."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(1)
        self.value = QLabel("–")
        self.value.setObjectName("CardValue")
        self.caption = QLabel(caption)
        self.caption.setObjectName("CardLabel")
        self.caption.setWordWrap(True)
        self.why = QLabel("")
        self.why.setObjectName("Muted")
        self.why.setWordWrap(True)
        self.why.setVisible(False)
        top = QHBoxLayout()  # the value and what it is on one line: the charts below get the height
        top.setSpacing(8)
        top.addWidget(self.value, 0, Qt.AlignmentFlag.AlignVCenter)
        top.addWidget(self.caption, 1, Qt.AlignmentFlag.AlignVCenter)
        layout.addLayout(top)
        layout.addWidget(self.why)
        layout.addStretch(1)

    def set(self, text: str, tip: str = "", why: str = "") -> None:
        """The value, how it is computed (tooltip) and, for a missing one, why (shown under it)."""
        self.value.setText(text)
        self.setToolTip(tip)
        self.why.setText(why)
        self.why.setVisible(bool(why))


class InsightsBox(QWidget):
    """Period and platform, the overview cards, sentiment over time and topics."""

    changed = Signal()  # the period or the platform changed: the panel reads again

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        row = QHBoxLayout()
        self.period_combo = QComboBox()
        for days, label in PERIODS:
            self.period_combo.addItem(label, days)
        self.period_combo.setCurrentIndex(1)
        self.period_combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        row.addWidget(self.period_combo)
        self.platform_combo = QComboBox()
        self.platform_combo.addItem("All platforms", None)
        for name in ("discord", "telegram", "youtube"):
            self.platform_combo.addItem(platform_label(name), name)
        self.platform_combo.setToolTip("The charts' platform (the cards count every platform)")
        self.platform_combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        row.addWidget(self.platform_combo)
        self.basis_label = QLabel("")
        self.basis_label.setObjectName("Muted")
        self.basis_label.setWordWrap(True)
        row.addWidget(self.basis_label, 1)
        layout.addLayout(row)

        grid = QGridLayout()
        grid.setSpacing(8)
        self.cards: dict[str, Card] = {}
        for i, (key, caption, _unit, _basis) in enumerate(CARDS):
            card = self.cards[key] = Card(caption)
            grid.addWidget(card, 0, i)
        layout.addLayout(grid)

        # The charts under plain captions (no group box frames: a laptop screen keeps their axes).
        charts = QHBoxLayout()
        charts.setSpacing(16)
        sentiment_layout = QVBoxLayout()
        sentiment_layout.setSpacing(2)
        self.sentiment_caption = QLabel(f"<b>Sentiment over time</b>&nbsp;&nbsp;messages per day&nbsp;&nbsp;"
                                        f"{SentimentChart.legend_html()}")
        self.sentiment_caption.setObjectName("CardLabel")
        self.sentiment_caption.setTextFormat(Qt.TextFormat.RichText)
        self.sentiment_caption.setWordWrap(True)
        sentiment_layout.addWidget(self.sentiment_caption)
        self.sentiment_chart = SentimentChart()
        sentiment_layout.addWidget(self.sentiment_chart, 1)
        charts.addLayout(sentiment_layout, 3)
        topics_layout = QVBoxLayout()
        topics_layout.setSpacing(2)
        self.topics_caption = QLabel("<b>Topics</b>&nbsp;&nbsp;messages per topic · their mean sentiment (0–10)")
        self.topics_caption.setObjectName("CardLabel")
        self.topics_caption.setTextFormat(Qt.TextFormat.RichText)
        self.topics_caption.setWordWrap(True)
        topics_layout.addWidget(self.topics_caption)
        self.topics_chart = TopicsChart()
        topics_layout.addWidget(self.topics_chart, 1)
        charts.addLayout(topics_layout, 2)
        layout.addLayout(charts, 1)

    def filters(self) -> tuple[int, str | None]:
        """The period in days and the platform (None: all)."""
        return int(self.period_combo.currentData() or 30), self.platform_combo.currentData()

    def show_overview(self, result: dict[str, Any]) -> None:
        overview = result.get("overview", result) or {}
        reasons = dict(result.get("reasons") or {}) | dict(overview.get("reasons") or {})
        for key, _caption, unit, basis in CARDS:
            value = overview.get(key)
            if value is None:  # the service says why ("overview.<figure>": reason)
                self.cards[key].set("–", basis, reasons.get(f"overview.{key}") or reasons.get(key) or "not known yet")
            else:
                sign = "+" if unit == "%" and key != "automation_percentage" and float(value) > 0 else ""
                self.cards[key].set(f"{sign}{number(value)}{unit}", basis)
        self.basis_label.setText("Computed from the stored messages; hover a figure to see how")

    def show_series(self, series: list[dict[str, Any]], hint: str | None = None) -> None:
        self.sentiment_chart.set_series(series)
        if self.sentiment_chart.currentWidget() is self.sentiment_chart.hint and hint:
            self.sentiment_chart.show_hint(hint)

    def show_topics(self, topics: list[dict[str, Any]], hint: str | None = None) -> None:
        self.topics_chart.set_topics(topics)
        if self.topics_chart.currentWidget() is self.topics_chart.hint and hint:
            self.topics_chart.show_hint(hint)
