"""The Analytics panel's overview page: figure cards (each tooltip says where the figure comes from)
and the daily charts; when nothing is imported yet, the steps to export a file from each service."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from studio.ui.formatting import number
from studio.ui.panels.analytics.charts import DailyChart
from studio.ui.widgets.cards import Card

ORIGIN_NAMES = {"music_generation": "generated tracks", "voice_empire": "voice characters",
                "trending_hijacker": "trend answers", "community_empire": "community-promoted",
                "unattributed": "unattributed"}
EMPTY_STEPS = (
    "<b>No statements or exports imported yet.</b> Every figure here comes from your own files and accounts:"
    "<ol style='margin-top:4px'>"
    "<li><b>YouTube</b>: YouTube Studio › Analytics › Advanced mode › choose the period › Export current view › "
    "Comma-separated values (.csv). Import the zip as it is.</li>"
    "<li><b>Spotify for Artists</b>: Music › Songs (or Audience) › choose the period › the download icon (CSV).</li>"
    "<li><b>DistroKid</b>: Bank › See excruciating detail › Download as TSV (the 'Excel' file).</li>"
    "<li><b>TuneCore</b>: Money › Sales Report › choose the months › Export (CSV).</li>"
    "</ol>Then press <b>Import file…</b> (top right), and confirm the matches to your tracks under <b>Links</b>. "
    "Or connect your channel under <b>Sources</b> to read YouTube's figures directly."
)


def money(value: Any, currency: str | None) -> str:
    if value is None:
        return "–"
    return f"{float(value):,.2f} {currency or ''}".strip()


def explain(key: str, figures: dict[str, Any], fallback: str = "") -> str:
    """The tooltip of a figure: why it is empty, else where it comes from."""
    reasons = figures.get("reasons") or {}
    sources = figures.get("sources") or {}
    return str(reasons.get(key) or sources.get(key) or fallback)


class OverviewPage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(10)
        self.empty = QLabel(EMPTY_STEPS)
        self.empty.setObjectName("EmptyState")
        self.empty.setTextFormat(Qt.TextFormat.RichText)
        self.empty.setWordWrap(True)
        self.empty.setVisible(False)
        layout.addWidget(self.empty)
        self.cards = {
            "revenue": Card("Revenue in the period"), "projection": Card("Projected next 30 days"),
            "views": Card("Views and streams"), "engagement": Card("Engagement rate"),
            "generated": Card("Tracks generated"), "uptime": Card("API uptime"),
            "latency": Card("Average API response"), "compute": Card("Compute time"),
        }
        grid = QGridLayout()
        grid.setSpacing(10)
        for i, card in enumerate(self.cards.values()):
            grid.addWidget(card, i // 4, i % 4)
        layout.addLayout(grid)
        self.revenue_by = QComboBox()
        self.revenue_by.addItem("by origin", "origin")
        self.revenue_by.addItem("by source", "source")
        self.revenue_chart = DailyChart("Revenue per day", stacked=True)
        self.revenue_legend = QLabel("")
        self.views_chart = DailyChart("Views per day")
        self.generations_chart = DailyChart("Tracks generated per day", stacked=True)
        self.requests_chart = DailyChart("API requests per day")
        self.compute_chart = DailyChart("Compute time per day", stacked=True)
        self.compute_legend = QLabel("")
        charts = QGridLayout()
        charts.setSpacing(12)
        charts.addLayout(self._titled("Revenue per day", self.revenue_chart, self.revenue_legend, self.revenue_by),
                         0, 0)
        charts.addLayout(self._titled("Views and streams per day", self.views_chart), 0, 1)
        charts.addLayout(self._titled("Tracks generated per day", self.generations_chart), 1, 0)
        charts.addLayout(self._titled("API requests per day (average response in the tooltip)", self.requests_chart),
                         1, 1)
        charts.addLayout(self._titled("Compute time per day (s) against the daily limit", self.compute_chart,
                                      self.compute_legend), 2, 0, 1, 2)
        layout.addLayout(charts)

    @staticmethod
    def _titled(title: str, chart: DailyChart, legend: QLabel | None = None, extra: QWidget | None = None):
        box = QVBoxLayout()
        box.setSpacing(4)
        row = QHBoxLayout()
        label = QLabel(title)
        label.setObjectName("SectionTitle")
        row.addWidget(label, 1)
        if extra is not None:
            row.addWidget(extra)
        box.addLayout(row)
        box.addWidget(chart)
        if legend is not None:
            legend.setTextFormat(Qt.TextFormat.RichText)
            legend.setWordWrap(True)
            box.addWidget(legend)
        return box

    def show_figures(self, *, dashboard: dict[str, Any], revenue: dict[str, Any], by_source: dict[str, list[float]],
                     audience: dict[str, list[float]], engagement: dict[str, Any], api: dict[str, Any],
                     costs: dict[str, Any], history: dict[str, Any], limits: dict[str, Any], has_data: bool) -> None:
        self.empty.setVisible(not has_data)
        currency = revenue.get("currency")
        metrics = dashboard.get("revenue_metrics") or {}
        self.cards["revenue"].set(money(revenue.get("total_revenue"), currency),
                                  explain("total_revenue", revenue, (revenue.get("sources") or {}).get("revenue", "")))
        projection = revenue.get("projections") or {}
        interval = projection.get("interval") or {}
        self.cards["projection"].set(
            money(projection.get("next_30d"), currency),
            projection.get("reason") or f"{projection.get('model')}; 80% interval {money(interval.get('low'), currency)}"
                                        f" – {money(interval.get('high'), currency)}; confidence "
                                        f"{projection.get('confidence')}%")
        views = sum(audience.get("views") or []) + sum(audience.get("streams") or [])
        self.cards["views"].set(number(views, 0 if views < 1e4 else 1) if views else "–",
                                "imported and connected views (YouTube) and streams (Spotify, stores)")
        overview = engagement.get("engagement_overview") or {}
        rate = overview.get("engagement_rate")
        self.cards["engagement"].set(f"{rate:.2f} %" if rate is not None else "–",
                                     explain("engagement_rate", engagement, "(likes + comments + shares) / views"))
        content = dashboard.get("content_metrics") or {}
        self.cards["generated"].set(str(content.get("total_generated", "–")),
                                    (content.get("sources") or {}).get("total_generated", ""))
        health = dashboard.get("system_health") or {}
        self.cards["uptime"].set(health.get("uptime") or "–",
                                 (health.get("reasons") or {}).get("uptime") or "time the API was up over the period, "
                                                                                "from its own start/stop records")
        latency = health.get("response_time_avg")
        self.cards["latency"].set(f"{latency:.0f} ms" if latency is not None else "–",
                                  (health.get("reasons") or {}).get("response_time_avg") or "mean over the request log")
        seconds = costs.get("total_compute_seconds") or 0.0
        cost = costs.get("total_cost")
        self.cards["compute"].set(f"{seconds / 60:.1f} min" + (f" · {money(cost, costs.get('currency'))}"
                                                               if cost is not None else ""),
                                  explain("total_cost", costs, ""))
        _ = metrics
        self.draw_revenue(revenue, by_source)
        days = [row["date"] for row in revenue.get("daily_data") or []]
        self.views_chart.set_series(days, {"views": audience.get("views") or [], "streams": audience.get("streams") or []},
                                    empty_hint="No views or streams imported for this period")
        self.generations_chart.set_series(days, {"tracks": [float(r.get("generations", 0)) for r in
                                                            revenue.get("daily_data") or []]},
                                          empty_hint="No track generated in this period")
        requests = api.get("requests") or []
        self.requests_chart.set_series(api.get("days") or [], {"requests": [float(v) for v in requests]},
                                       empty_hint="No API request logged in this period")
        latency_days = [f"{d}: {ms:.0f} ms" for d, ms, n in zip(api.get("days") or [], api.get("avg_latency_ms") or [],
                                                                  requests) if n]
        self.requests_chart.setToolTip("Average response per day:\n" + "\n".join(latency_days[-14:])
                                       if latency_days else "")
        self.compute_chart.set_series(history.get("days") or [], history.get("compute_seconds_by_kind") or {},
                                      empty_hint="No job ran in this period", limit=limits.get("daily_compute_s"))
        self.compute_legend.setText(self.compute_chart.legend_html())

    def draw_revenue(self, revenue: dict[str, Any], by_source: dict[str, list[float]]) -> None:
        rows = revenue.get("daily_data") or []
        days = [row["date"] for row in rows]
        if self.revenue_by.currentData() == "source":
            series = by_source
        else:
            series = {ORIGIN_NAMES.get(origin, origin): [float((r.get("by_origin") or {}).get(origin, 0.0))
                                                         for r in rows]
                      for origin in ORIGIN_NAMES}
        hint = ((revenue.get("reasons") or {}).get("total_revenue")
                or "No revenue in this period (the statements cover other months)")
        self.revenue_chart.set_series(days, series, empty_hint=hint)
        self.revenue_legend.setText(self.revenue_chart.legend_html())
