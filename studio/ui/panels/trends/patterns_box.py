"""The patterns of rising items: publish hours × weekdays as a heatmap, the best days, keywords,
tempo and length ranges, and a tempo histogram, each with the number of items it rests on; filtered
by timeframe and genre."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from studio.ui.panels.trends.charts import Heatmap, TempoHistogram

TIMEFRAMES = ((7, "7 days"), (30, "30 days"), (90, "90 days"))
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class PatternsBox(QGroupBox):
    """The heatmap beside the pattern figures, their timeframe and genre filters and the tempo histogram."""

    changed = Signal()  # a filter changed: the panel reads the patterns again

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Patterns of rising items", parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(12)
        left = QVBoxLayout()
        left.setSpacing(4)
        self.heat_caption = QLabel("When rising items were published or rose (hour × weekday, UTC)")
        self.heat_caption.setObjectName("CardLabel")
        self.heat_caption.setWordWrap(True)
        left.addWidget(self.heat_caption)
        self.heatmap = Heatmap("No pattern yet: it appears after a few scans")
        self.heatmap.setFixedHeight(150)
        left.addWidget(self.heatmap)
        left.addStretch(1)  # the right column (with the histogram) is taller: keep the heatmap at the top
        layout.addLayout(left, 3)

        right = QVBoxLayout()
        right.setSpacing(6)
        row = QHBoxLayout()
        self.timeframe_combo = QComboBox()
        for days, label in TIMEFRAMES:
            self.timeframe_combo.addItem(f"Last {label}", days)
        self.timeframe_combo.setCurrentIndex(1)
        self.timeframe_combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        row.addWidget(self.timeframe_combo)
        self.genre_combo = QComboBox()
        self.genre_combo.setEditable(True)
        self.genre_combo.addItem("All genres", None)
        self.genre_combo.lineEdit().setPlaceholderText("Genre or tag")
        self.genre_combo.activated.connect(lambda _i: self.changed.emit())
        row.addWidget(self.genre_combo, 1)
        right.addLayout(row)
        self.pattern_form = QFormLayout()
        self.pattern_form.setHorizontalSpacing(10)
        self.pattern_form.setVerticalSpacing(4)
        self.pattern_labels: dict[str, QLabel] = {}
        for key, caption in (("peak_hours", "Peak hours"), ("best_days", "Best days"),
                             ("trending_keywords", "Keywords"), ("tempo_range", "Tempo"),
                             ("optimal_duration", "Length")):
            label = QLabel("–")
            label.setWordWrap(True)
            name = QLabel(caption)
            name.setObjectName("Muted")
            self.pattern_form.addRow(name, label)
            self.pattern_labels[key] = label
        right.addLayout(self.pattern_form)
        self.tempo_caption = QLabel("Tempo of rising items")
        self.tempo_caption.setObjectName("CardLabel")
        self.tempo_caption.setWordWrap(True)
        right.addWidget(self.tempo_caption)
        self.tempo_histogram = TempoHistogram("No tempo yet: it appears after a few scans")
        self.tempo_histogram.setFixedHeight(110)
        right.addWidget(self.tempo_histogram)
        right.addStretch(1)
        layout.addLayout(right, 2)

    def filters(self) -> tuple[str | None, int]:
        """The genre (None: all) and the number of days the patterns are read over."""
        genre = self.genre_combo.currentText().strip()
        genre = None if not genre or genre == "All genres" else genre
        days = int(self.timeframe_combo.currentData() or 30)
        return genre, days

    def show_patterns(self, result: dict[str, Any]) -> None:
        patterns = result.get("patterns", result)
        reasons = dict(result.get("reasons") or {}) | dict(patterns.get("reasons") or {})

        def sized(key: str, text: str) -> str:
            part = patterns.get(key)
            n = part.get("sample_size") if isinstance(part, dict) else None
            return f"{text}  (from {n} item{'s' if n != 1 else ''})" if n is not None else text

        def missing(key: str) -> str:
            return f"– {reasons[key]}" if reasons.get(key) else "–"

        hours = patterns.get("peak_hours")
        matrix = hours.get("matrix") or hours.get("heatmap") if isinstance(hours, dict) else None
        matrix = matrix or patterns.get("heatmap") or self._matrix(patterns)
        if matrix is not None:
            self.heatmap.set_matrix(matrix)
        else:
            self.heatmap.clear(f"No pattern yet: {reasons.get('peak_hours', 'it appears after a few scans')}")
        for key, label in self.pattern_labels.items():
            part = patterns.get(key)
            text = self._pattern_text(key, part)
            label.setText(sized(key, text) if text else missing(key))
        self._show_tempo(patterns.get("tempo_histogram"), reasons.get("tempo_histogram"))

    def _show_tempo(self, histogram: Any, reason: str | None) -> None:
        bins = histogram.get("bins") if isinstance(histogram, dict) else None
        if not bins:
            self.tempo_caption.setText("Tempo of rising items")
            self.tempo_histogram.clear(f"No tempo yet: {reason or 'it appears after a few scans'}")
            return
        n, measured = histogram.get("sample_size"), histogram.get("measured") or 0
        step = histogram.get("bin_bpm") or 10
        from_preview = f", {measured} measured from Deezer previews" if measured else ""
        self.tempo_caption.setText(f"Tempo of rising items, per {step} BPM  (from {n} item{'s' if n != 1 else ''}"
                                   f"{from_preview})")
        self.tempo_caption.setToolTip(histogram.get("basis") or "")
        self.tempo_histogram.set_bins(bins)

    @staticmethod
    def _matrix(patterns: dict[str, Any]) -> list[list[float]] | None:
        """A 7 × 24 matrix from per-(day, hour) counts when the service lists them as cells."""
        hours = patterns.get("peak_hours")
        cells = hours.get("cells") if isinstance(hours, dict) else None
        if not cells:
            return None
        matrix = [[0.0] * 24 for _ in range(7)]
        for cell in cells:
            day = cell.get("day")
            if isinstance(day, str):
                day = DAY_NAMES.index(day.lower()) if day.lower() in DAY_NAMES else None
            if day is not None and 0 <= int(cell.get("hour", -1)) < 24:
                matrix[int(day)][int(cell["hour"])] += float(cell.get("count", 1))
        return matrix

    @staticmethod
    def _pattern_text(key: str, part: Any) -> str:
        if part is None:
            return ""
        value = part
        if isinstance(part, dict):
            for name in ("values", "ranges", "keywords", "days", "hours", "range", "value", "text"):
                if part.get(name) not in (None, [], ""):
                    value = part[name]
                    break
            else:
                low, high = part.get("min", part.get("low")), part.get("max", part.get("high"))
                if low is None or high is None:
                    return ""
                unit = " BPM" if key == "tempo_range" else " s" if key == "optimal_duration" else ""
                return f"{float(low):.0f}–{float(high):.0f}{unit}"
        if isinstance(value, dict):
            unit = " BPM" if key == "tempo_range" else " s" if key == "optimal_duration" else ""
            low, high = value.get("min", value.get("low")), value.get("max", value.get("high"))
            return f"{float(low):.0f}–{float(high):.0f}{unit}" if low is not None and high is not None else ""
        if isinstance(value, (list, tuple)):
            words = []
            for entry in value[:10]:
                if isinstance(entry, dict):
                    name = entry.get("keyword") or entry.get("word") or entry.get("day") or entry.get("hours") \
                        or entry.get("range") or entry.get("hour")
                    words.append(str(name) if name is not None else "")
                else:
                    words.append(str(entry))
            return ", ".join(w for w in words if w)
        return str(value)
