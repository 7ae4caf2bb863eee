"""The selected trend: its title and facts, why it scored what it scored, its rank or count per scan
as a chart, the suggested response, the answer buttons and where the answer track is.

The box only shows; the panel fills it and acts on its buttons."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import when
from studio.ui.panels.trends.charts import HistoryChart
from studio.ui.panels.trends.common import platform_label
from studio.ui.theme import COLORS, icon


class TrendDetail(QGroupBox):
    """The shown trend's detail and its Answer with a track / Open in Create / Show in Library buttons."""

    answer_requested = Signal()
    create_requested = Signal()
    library_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Selected trend", parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        self.detail_title = QLabel("Select a trend")
        self.detail_title.setObjectName("TrackTitle")
        self.detail_title.setWordWrap(True)
        self.detail_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.detail_title)
        self.detail_meta = QLabel("")
        self.detail_meta.setObjectName("Muted")
        self.detail_meta.setWordWrap(True)
        layout.addWidget(self.detail_meta)

        why_caption = QLabel("Why this score")
        why_caption.setObjectName("CardLabel")
        layout.addWidget(why_caption)
        self.breakdown_label = QLabel("–")
        self.breakdown_label.setWordWrap(True)
        self.breakdown_label.setTextFormat(Qt.TextFormat.RichText)
        self.breakdown_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.breakdown_label)

        self.chart_caption = QLabel("History")
        self.chart_caption.setObjectName("CardLabel")
        self.chart_caption.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.chart_caption)
        self.history_chart = HistoryChart()
        self.history_chart.setFixedHeight(130)
        layout.addWidget(self.history_chart)

        response_caption = QLabel("Suggested response")
        response_caption.setObjectName("CardLabel")
        layout.addWidget(response_caption)
        self.response_label = QLabel("–")
        self.response_label.setWordWrap(True)
        self.response_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.response_label)

        buttons = QHBoxLayout()
        self.answer_button = QPushButton(icon("mdi6.music-note-plus"), "Answer with a track")
        self.answer_button.setObjectName("Primary")
        self.answer_button.setToolTip("Queue a track made from the suggested response; it lands in the Library, "
                                      "linked to this trend")
        self.answer_button.clicked.connect(lambda: self.answer_requested.emit())
        buttons.addWidget(self.answer_button)
        self.create_button = QPushButton(icon("mdi6.tune-variant"), "Open in Create…")
        self.create_button.setToolTip("Fill the Create panel with the suggested response to change it first")
        self.create_button.clicked.connect(lambda: self.create_requested.emit())
        buttons.addWidget(self.create_button)
        self.library_button = QPushButton(icon("mdi6.music-box-multiple-outline"), "Show in Library")
        self.library_button.setToolTip("Open the answer track in the Library")
        self.library_button.clicked.connect(lambda: self.library_requested.emit())
        self.library_button.setVisible(False)
        buttons.addWidget(self.library_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.answer_label = QLabel("")
        self.answer_label.setObjectName("Muted")
        self.answer_label.setWordWrap(True)
        layout.addWidget(self.answer_label)
        layout.addStretch(1)
        self.show_trend(None)

    def show_trend(self, trend: dict[str, Any] | None, note: str = "") -> None:
        """Show `trend` (None: the hint, or `note` saying why there is none); the answer line is cleared,
        the panel shows the answer's state when it has one for this trend."""
        for widget in (self.answer_button, self.create_button):
            widget.setEnabled(trend is not None)
        if trend is None:
            self.detail_title.setText("Select a trend")
            self.detail_meta.setText(note or "Its score, why it scored that, its history and a suggested response "
                                             "show here.")
            self.breakdown_label.setText("–")
            self.history_chart.clear("Select a trend to see its history")
            self.chart_caption.setText("History")
            self.response_label.setText("–")
            self.answer_label.setText("")
            self.library_button.setVisible(False)
            return
        artist = trend.get("artist")
        self.detail_title.setText(f"{trend.get('title') or '–'}" + (f" — {artist}" if artist else ""))
        platforms = ", ".join(platform_label(p) for p in trend.get("platforms") or [trend.get("platform")])
        meta = [f"on {platforms}"]
        if trend.get("rank") is not None:
            meta.append(f"best rank #{trend['rank']}")
        if trend.get("opportunity_level"):
            meta.append(f"opportunity {trend['opportunity_level'].lower()}")
        meta.append(f"first seen {when(trend.get('first_seen'))}")
        if trend.get("time_sensitive") and trend.get("expires_at"):
            meta.append(f"fading: expected off the charts by {when(trend['expires_at'])}")
        self.detail_meta.setText(" · ".join(meta))
        self.breakdown_label.setText(self._breakdown_html(trend))
        what = self.history_chart.set_history(trend.get("history") or [])
        caption = {"": "History", "rank": "Rank per scan (1 = top of the chart)"}.get(what, f"{what.capitalize()} per scan")
        legend = self.history_chart.legend_html(platform_label)
        self.chart_caption.setText(f"{caption}&nbsp;&nbsp;{legend}" if legend else caption)
        spec = trend.get("suggested_spec") or {}
        response = trend.get("suggested_response") or "–"
        bits = [f"{k} {str(spec[k]).replace('_', ' ')}" for k in ("style", "mood") if spec.get(k)]
        if spec.get("tempo"):
            bits.append(f"{float(spec['tempo']):.0f} BPM")
        if spec.get("duration"):
            bits.append(f"{float(spec['duration']):.0f} s")
        self.response_label.setText(response + (f"\n({' · '.join(bits)})" if bits else ""))
        self.answer_label.setText("")
        self.library_button.setVisible(False)

    @staticmethod
    def _breakdown_html(trend: dict[str, Any]) -> str:
        """The score and what made it, from the service's breakdown (components, weights, basis texts)."""
        score = trend.get("viral_score")
        reasons = trend.get("reasons") or {}
        breakdown = trend.get("score_breakdown") or {}
        head = (f"<b>{float(score):.0f}</b> of 100" if score is not None
                else f"No score yet: {reasons.get('viral_score', 'not enough scans')}")
        lines = [head]
        components = breakdown.get("components", breakdown) if isinstance(breakdown, dict) else {}
        rows = []
        for name, part in components.items():
            if name in ("total", "score", "formula", "basis", "value"):
                continue
            label = name.replace("_", " ")
            if isinstance(part, dict):
                points = part.get("points", part.get("contribution"))
                value = part.get("value", part.get("score"))
                weight = part.get("weight")
                basis = part.get("basis") or part.get("reason") or ""
                if points is None and value is None:
                    figure = "not counted"
                else:
                    figure = (f"{float(points):.1f} pts" if points is not None else f"{float(value):.2f}"
                              if isinstance(value, (int, float)) else "–")
                    if weight:
                        figure += f" (weight {float(weight):.2g})"
                rows.append(f"<b>{label}</b>: {figure}"
                            + (f"<br><span style='color:{COLORS['muted']}'>{basis}</span>" if basis else ""))
            elif isinstance(part, (int, float)):
                rows.append(f"<b>{label}</b>: {float(part):.2f}")
        lines.extend(rows)
        basis = breakdown.get("basis") or breakdown.get("formula") if isinstance(breakdown, dict) else None
        if basis:
            lines.append(f"<span style='color:{COLORS['muted']}'>{basis}</span>")
        growth_basis = trend.get("growth_basis") or reasons.get("growth_rate")
        if growth_basis:
            lines.append(f"<span style='color:{COLORS['muted']}'>Growth: {growth_basis}</span>")
        return "<br>".join(lines)

    def show_answer_state(self, answer: dict[str, Any]) -> None:
        """Where the answer's generation job is: queued/rendering, ready (in the Library) or failed."""
        job_id = answer.get("generation_id") or answer.get("job_id") or "–"
        status = answer.get("job_status")
        self.library_button.setVisible(bool(answer.get("track_id")))
        if status == "completed":
            self.answer_label.setText(f"Ready: “{answer.get('title') or 'the answer'}” is in the Library, linked to "
                                      "this trend.")
        elif status in ("failed", "cancelled"):
            self.answer_label.setText(f"The answer track was not made (job {job_id} {status}"
                                      + (f": {answer['job_error']}" if answer.get("job_error") else "") + ").")
        else:
            when_done = answer.get("estimated_completion")
            self.answer_label.setText(
                f"Queued: the track is being made (job {job_id}" + (f", ready about {when(when_done)}" if when_done
                                                                   else "")
                + "). Follow it under Jobs; it lands in the Library, linked to this trend.")
