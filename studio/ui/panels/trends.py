"""Trends: what is rising in music on the sources the user enabled, and a way to answer it with a
track of their own.

From top to bottom: the sources (status, on/off, the user's own key for Last.fm and YouTube, feed
URLs, Scan now) beside the monitor (start/stop, scan intervals by time of day); the current trends
as a sortable table beside the selected one's detail (why it scored what it scored, its rank or
count per scan as a chart, the suggested response, Answer with a track / Open in Create); the
patterns of rising items (publish hours × weekdays, keywords, tempo and length ranges, each with
the number of items it rests on). "Import chart file…" reads a chart CSV, shows its rows, and
imports them when the user agrees.

Everything comes from `services.trends` (its parts sources, scanner, catalog, patterns, imports,
monitor, answers); nothing is computed here. Scans and imports run as coroutines on the qasync loop,
so the window stays responsive; `trend_detected`, `trends_scanned` (and source, import, monitor)
events refresh the panel while it is open.
"""

from __future__ import annotations

import asyncio
import csv
import inspect
import io
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import when
from studio.ui.panels.base import Panel, PanelHost
from studio.ui.panels.trends_widgets import HistoryChart, Heatmap, SortItem, parse_time
from studio.ui.theme import COLORS, icon
from studio.ui.widgets.debounce import debounce_timer

SOURCE_COLUMNS = ("On", "Source", "Status", "Last scan", "Items", "Quota left", "Key")
TREND_COLUMNS = ("Platform", "Title", "Artist", "Score", "Growth/h", "Age")
TREND_LIMIT = 200
REFRESH_DELAY_MS = 300
PREVIEW_ROWS = 200
STATUS_TEXT_COLORS = {"ok": COLORS["success"], "scanning": COLORS["accent"], "error": COLORS["danger"],
                      "idle": COLORS["text"], "disabled": COLORS["muted"]}
LEVEL_COLORS = {"HIGH": COLORS["success"], "MEDIUM": COLORS["warning"], "LOW": COLORS["muted"]}
TIMEFRAMES = ((7, "7 days"), (30, "30 days"), (90, "90 days"))
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CHART_FILTER = "Chart files (*.csv *.tsv *.txt);;All files (*)"
TREND_EVENTS = ("trend_detected", "trends_scanned", "trend_sources_changed", "trend_monitor_changed",
                "trends_imported")


def platform_label(name: str | None) -> str:
    text = str(name or "–")
    if text.startswith("feed:"):
        return "feed"
    if text.startswith("import"):
        return "imported"
    return {"apple_music": "Apple Music", "lastfm": "Last.fm", "youtube": "YouTube", "deezer": "Deezer"}.get(
        text, text.replace("_", " "))


def age_text(first_seen: str | None, now: datetime | None = None) -> tuple[str, float | None]:
    """'3 h', '2 d' since `first_seen`, and the age in hours (for sorting)."""
    t = parse_time(first_seen)
    if t is None:
        return "–", None
    hours = max(0.0, ((now or datetime.now(timezone.utc)).timestamp() - t) / 3600)
    if hours < 1:
        return f"{hours * 60:.0f} min", hours
    if hours < 48:
        return f"{hours:.0f} h", hours
    return f"{hours / 24:.0f} d", hours


def ago(moment: str | None, now: datetime | None = None) -> str:
    """'never', 'just now', '5 min ago', '3 h ago', '2 d ago' (the full time goes in a tooltip)."""
    t = parse_time(moment)
    if t is None:
        return "never"
    seconds = max(0.0, (now or datetime.now(timezone.utc)).timestamp() - t)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} d ago"


def number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if abs(v) >= 1e6:
        return f"{v / 1e6:.{digits}f} M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.{digits}f} k"
    return f"{v:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{v:.0f}"


def growth_text(growth: float | None, unit: str | None) -> str:
    """Per hour (the column says so): '+3.5 places' (rank velocity) or '+1.2 k views' (the source's own count)."""
    if growth is None:
        return "–"
    if not unit or unit == "positions/h":
        return f"{float(growth):+.1f}" + (" places" if unit else "")
    sign = "+" if float(growth) >= 0 else "−"
    return f"{sign}{number(abs(float(growth)))} {unit.removesuffix('/h')}"


def field(row: Any, name: str, default: Any = None) -> Any:
    """A field of a dict or of an object (a parsed chart entry)."""
    if isinstance(row, dict):
        return row.get(name, default)
    return getattr(row, name, default)


class ImportPreview(QDialog):
    """The rows a chart file parsed into, shown before they are imported."""

    def __init__(self, filename: str, rows: list[Any], parent: QWidget | None = None, *, note: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Import {filename}")
        self.resize(760, 460)
        layout = QVBoxLayout(self)
        shown = rows[:PREVIEW_ROWS]
        summary = QLabel(f"{len(rows)} row{'s' if len(rows) != 1 else ''} read from {filename}"
                         + (f" (the first {len(shown)} shown)" if len(shown) < len(rows) else "")
                         + ". They are stored as imported from this file, next to what the enabled sources report.")
        summary.setWordWrap(True)
        layout.addWidget(summary)
        if note:
            hint = QLabel(note)
            hint.setObjectName("Muted")
            hint.setWordWrap(True)
            layout.addWidget(hint)
        columns = ["rank", "title", "artist", "platform", "streams"]
        self.table = QTableWidget(len(shown), len(columns))
        self.table.setHorizontalHeaderLabels([c.capitalize() for c in columns])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        for r, row in enumerate(shown):
            metrics = field(row, "metrics") or {}
            chart = str(field(row, "chart") or "").split(":")
            platform = field(row, "platform") or (chart[2] if len(chart) > 2 else None) or field(row, "source")
            values = (field(row, "rank"), field(row, "title"), field(row, "artist"), platform,
                      metrics.get("streams", field(row, "streams")))
            for c, value in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem("" if value is None else
                                                          (number(value, 0) if c == 4 else str(value))))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = buttons.addButton(f"Import {len(rows)} rows", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setObjectName("Primary")
        self.import_button.setEnabled(bool(rows))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class TrendsPanel(Panel):
    title = "Trends"
    icon = "mdi6.trending-up"
    key = "trends"
    area = "trends"
    subtitle = ("What is rising in music on the sources you enable, scored from the scans this studio stored "
                "itself, and a quick way to answer it with a track of your own.")

    def __init__(self, host: PanelHost, parent: QWidget | None = None) -> None:
        super().__init__(host, parent)
        self.sources: list[dict[str, Any]] = []
        self.trends: list[dict[str, Any]] = []
        self.current: dict[str, Any] | None = None  # the shown trend's detail
        self.patterns: dict[str, Any] | None = None
        self.monitor_state: dict[str, Any] = {}
        self.last_error = ""
        self.last_answer: dict[str, Any] | None = None
        self.scan_future: asyncio.Future | None = None
        self.pending_import: tuple[bytes, str] | None = None

        self.scan_button = QPushButton(icon("mdi6.radar"), "Scan now")
        self.scan_button.setObjectName("Primary")
        self.scan_button.setToolTip("Read every enabled source once now (Ctrl+Enter)")
        self.scan_button.clicked.connect(self.scan_now)
        self.import_button = QPushButton(icon("mdi6.file-table-outline"), "Import chart file…")
        self.import_button.setToolTip("Read a chart CSV (e.g. a Spotify Charts download, or a list of title, artist, "
                                      "platform, rank) and see its rows before importing them")
        self.import_button.clicked.connect(self.pick_import)

        content = QWidget()
        body = QVBoxLayout(content)
        body.setContentsMargins(28, 24, 28, 16)
        body.setSpacing(12)
        body.addLayout(self.header(self.scan_button, self.import_button))
        self.error_label = QLabel("")
        self.error_label.setObjectName("Warning")
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        body.addWidget(self.error_label)
        # The trends first (what the panel is for); where they come from below them.
        top = QHBoxLayout()
        top.setSpacing(12)
        top.addWidget(self._build_trends(), 3)
        top.addWidget(self._build_detail(), 2)
        body.addLayout(top, 1)
        middle = QHBoxLayout()
        middle.setSpacing(12)
        middle.addWidget(self._build_sources(), 3)
        middle.addWidget(self._build_monitor(), 2)
        body.addLayout(middle)
        body.addWidget(self._build_patterns())

        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)

        self.refresh_timer = debounce_timer(self, REFRESH_DELAY_MS, self.refresh)
        host.bridge.event.connect(self._on_event)
        if self.service is None:
            self._show_error("The trends service is not part of this studio build, so there is nothing to show.")
            for widget in (self.scan_button, self.import_button, self.monitor_button):
                widget.setEnabled(False)
        else:
            self.refresh()

    # --- building ---------------------------------------------------------------------------------------
    def _build_sources(self) -> QGroupBox:
        box = QGroupBox("Sources")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        self.sources_table = QTableWidget(0, len(SOURCE_COLUMNS))
        self.sources_table.setHorizontalHeaderLabels(SOURCE_COLUMNS)
        self.sources_table.verticalHeader().setVisible(False)
        self.sources_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.sources_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.sources_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sources_table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sources_table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.sources_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # a long name elides (tooltip has it)
        self.sources_table.itemSelectionChanged.connect(self._source_selected)
        layout.addWidget(self.sources_table, 1)

        key_row = QHBoxLayout()
        key_row.setSpacing(6)
        self.key_caption = QLabel("Key")
        self.key_caption.setObjectName("Muted")
        key_row.addWidget(self.key_caption)
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("Select Last.fm or YouTube, paste your own API key")
        self.key_edit.returnPressed.connect(self.save_key)
        key_row.addWidget(self.key_edit, 1)
        self.key_save_button = QPushButton(icon("mdi6.key-plus"), "Save key")
        self.key_save_button.clicked.connect(self.save_key)
        key_row.addWidget(self.key_save_button)
        self.key_clear_button = QPushButton(icon("mdi6.key-remove"), "Remove")
        self.key_clear_button.setToolTip("Forget the stored key of the selected source")
        self.key_clear_button.clicked.connect(self.clear_key)
        key_row.addWidget(self.key_clear_button)
        layout.addLayout(key_row)
        self.key_state = QLabel("")
        self.key_state.setObjectName("Muted")
        self.key_state.setWordWrap(True)
        layout.addWidget(self.key_state)

        feed_row = QHBoxLayout()
        feed_row.setSpacing(6)
        self.feed_edit = QLineEdit()
        self.feed_edit.setPlaceholderText("Any RSS/Atom feed URL, e.g. a YouTube channel's uploads feed")
        self.feed_edit.returnPressed.connect(self.add_feed)
        feed_row.addWidget(self.feed_edit, 1)
        self.feed_button = QPushButton(icon("mdi6.rss"), "Add feed")
        self.feed_button.clicked.connect(self.add_feed)
        feed_row.addWidget(self.feed_button)
        layout.addLayout(feed_row)
        self._source_selected()
        return box

    def _build_monitor(self) -> QGroupBox:
        box = QGroupBox("Monitoring")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        top = QHBoxLayout()
        self.monitor_label = QLabel("Stopped")
        self.monitor_label.setObjectName("CardValue")
        top.addWidget(self.monitor_label, 1)
        self.monitor_button = QPushButton(icon("mdi6.play-circle-outline"), "Start")
        self.monitor_button.setToolTip("Scan the enabled sources on a schedule while the studio runs")
        self.monitor_button.clicked.connect(self.toggle_monitor)
        top.addWidget(self.monitor_button)
        layout.addLayout(top)
        self.monitor_detail = QLabel("")
        self.monitor_detail.setObjectName("Muted")
        self.monitor_detail.setWordWrap(True)
        layout.addWidget(self.monitor_detail)

        form = QGridLayout()
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(4)
        self.interval_spins: dict[str, QSpinBox] = {}
        for row, (key, label, default) in enumerate((("peak_hours", "Peak hours (12–16, 19–23)", 15),
                                                     ("normal_hours", "Other daytime hours", 30),
                                                     ("overnight", "Overnight (0–7)", 60))):
            caption = QLabel(label)
            caption.setObjectName("Muted")
            spin = QSpinBox()
            spin.setRange(5, 24 * 60)
            spin.setSingleStep(5)
            spin.setValue(default)
            spin.setSuffix(" min")
            form.addWidget(caption, row, 0)
            form.addWidget(spin, row, 1)
            self.interval_spins[key] = spin
        self.auto_check = QCheckBox("Answer automatically above score")
        self.auto_check.setToolTip("Off by default: queue a track for each new trend above this score, "
                                   "at most the given number a day")
        self.auto_score = QSpinBox()
        self.auto_score.setRange(0, 100)
        self.auto_score.setValue(85)
        self.auto_max = QSpinBox()
        self.auto_max.setRange(1, 50)
        self.auto_max.setValue(3)
        self.auto_max.setSuffix(" a day")
        auto_row = QHBoxLayout()
        auto_row.setSpacing(6)
        auto_row.addWidget(self.auto_score)
        auto_row.addWidget(self.auto_max)
        form.addWidget(self.auto_check, 3, 0)
        form.addLayout(auto_row, 3, 1)
        form.setColumnStretch(0, 1)
        layout.addLayout(form)
        self.schedule_button = QPushButton(icon("mdi6.calendar-clock"), "Apply schedule")
        self.schedule_button.clicked.connect(self.apply_schedule)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.schedule_button)
        layout.addLayout(row)
        layout.addStretch(1)
        return box

    def _build_trends(self) -> QGroupBox:
        box = QGroupBox("Current trends")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        row = QHBoxLayout()
        self.platform_combo = QComboBox()
        self.platform_combo.addItem("All platforms", "all")
        self.platform_combo.currentIndexChanged.connect(lambda _i: self.refresh_trends())
        row.addWidget(self.platform_combo)
        self.trend_count = QLabel("")
        self.trend_count.setObjectName("Muted")
        row.addWidget(self.trend_count, 1)
        layout.addLayout(row)

        self.trend_stack = QStackedWidget()
        self.trend_table = QTableWidget(0, len(TREND_COLUMNS))
        self.trend_table.setHorizontalHeaderLabels(TREND_COLUMNS)
        self.trend_table.verticalHeader().setVisible(False)
        self.trend_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.trend_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.trend_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.trend_table.setAlternatingRowColors(True)
        self.trend_table.setSortingEnabled(True)
        self.trend_table.setMinimumHeight(260)
        header = self.trend_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        self.trend_table.setColumnWidth(2, 120)
        self.trend_table.horizontalHeaderItem(4).setToolTip(
            "Change per hour between the two latest scans: of the source's own count (views, plays) where it "
            "gives one, else of the chart position (places climbed)")
        self.trend_table.itemSelectionChanged.connect(self._trend_selected)
        self.trend_stack.addWidget(self.trend_table)
        self.trend_empty = QLabel("")
        self.trend_empty.setObjectName("Muted")
        self.trend_empty.setWordWrap(True)
        self.trend_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.trend_empty.setTextFormat(Qt.TextFormat.RichText)
        self.trend_stack.addWidget(self.trend_empty)
        layout.addWidget(self.trend_stack, 1)
        return box

    def _build_detail(self) -> QGroupBox:
        box = QGroupBox("Selected trend")
        layout = QVBoxLayout(box)
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
        self.answer_button.clicked.connect(lambda: self.answer())
        buttons.addWidget(self.answer_button)
        self.create_button = QPushButton(icon("mdi6.tune-variant"), "Open in Create…")
        self.create_button.setToolTip("Fill the Create panel with the suggested response to change it first")
        self.create_button.clicked.connect(self.open_in_create)
        buttons.addWidget(self.create_button)
        self.library_button = QPushButton(icon("mdi6.music-box-multiple-outline"), "Show in Library")
        self.library_button.setToolTip("Open the answer track in the Library")
        self.library_button.clicked.connect(self.show_answer_in_library)
        self.library_button.setVisible(False)
        buttons.addWidget(self.library_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.answer_label = QLabel("")
        self.answer_label.setObjectName("Muted")
        self.answer_label.setWordWrap(True)
        layout.addWidget(self.answer_label)
        layout.addStretch(1)
        self._show_detail(None)
        return box

    def _build_patterns(self) -> QGroupBox:
        box = QGroupBox("Patterns of rising items")
        layout = QHBoxLayout(box)
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
        layout.addLayout(left, 3)

        right = QVBoxLayout()
        right.setSpacing(6)
        row = QHBoxLayout()
        self.timeframe_combo = QComboBox()
        for days, label in TIMEFRAMES:
            self.timeframe_combo.addItem(f"Last {label}", days)
        self.timeframe_combo.setCurrentIndex(1)
        self.timeframe_combo.currentIndexChanged.connect(lambda _i: self.refresh_patterns())
        row.addWidget(self.timeframe_combo)
        self.genre_combo = QComboBox()
        self.genre_combo.setEditable(True)
        self.genre_combo.addItem("All genres", None)
        self.genre_combo.lineEdit().setPlaceholderText("Genre or tag")
        self.genre_combo.activated.connect(lambda _i: self.refresh_patterns())
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
        right.addStretch(1)
        layout.addLayout(right, 2)
        return box

    @property
    def service(self) -> Any:
        """The trends service (None in a build without it: the panel says so)."""
        return getattr(self.services, "trends", None)

    # --- panel hooks ---------------------------------------------------------------------------------------
    def primary_action(self) -> None:
        self.scan_now()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self.service is not None:
            self.refresh_timer.start()

    # --- running calls ---------------------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a service method; a failure shows inline (what to fix) and returns None."""
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # the service says what is wrong; the panel shows it
            self._show_error(f"{what}: {self._reason(exc)}")
            return None
        return result

    @staticmethod
    def _reason(exc: BaseException) -> str:
        return str(getattr(exc, "message", "") or getattr(exc, "reason", "") or exc) or type(exc).__name__

    def _show_error(self, text: str) -> None:
        self.last_error = text
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _clear_error(self) -> None:
        self._show_error("")

    # --- refreshing ---------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        if self.service is None:
            return
        self.refresh_sources()
        self.refresh_monitor()
        self.refresh_trends()
        self.refresh_patterns()

    def refresh_sources(self) -> None:
        rows = self._call("Could not read the sources", self.service.sources.list_sources)
        if rows is None:
            return
        self.sources = list(rows)
        selected = self.selected_source()
        selected_name = selected["name"] if selected else None
        table = self.sources_table
        table.blockSignals(True)
        table.setRowCount(len(self.sources))
        for r, source in enumerate(self.sources):
            check = QCheckBox()
            check.setChecked(bool(source.get("enabled")))
            check.setToolTip(f"Read {source.get('label') or source['name']} when scanning")
            check.toggled.connect(lambda on, name=source["name"]: self.set_enabled(name, on))
            holder = QWidget()
            holder_layout = QHBoxLayout(holder)
            holder_layout.setContentsMargins(6, 0, 6, 0)
            holder_layout.addWidget(check)
            table.setCellWidget(r, 0, holder)
            status = str(source.get("status") or "idle")
            status_text = status if not source.get("error") else f"{status}: {source['error']}"
            quota = source.get("api_quota_remaining")
            if source.get("needs_key"):
                key_text = "key stored" if source.get("has_key") else "no key"
            else:
                key_text = "not needed"
            values = (source.get("label") or platform_label(source["name"]), status_text,
                      ago(source.get("last_scan")), number(source.get("items_last_scan"), 0),
                      number(quota, 0) if quota is not None else "–", key_text)
            for c, value in enumerate(values, start=1):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, source["name"])
                if c == 1:
                    item.setToolTip(f"{value} ({source['name']})" + (f"\n{source['url']}" if source.get("url") else ""))
                elif c == 3:
                    item.setToolTip(when(source.get("last_scan")))
                elif c == 2:
                    item.setForeground(QColor(STATUS_TEXT_COLORS.get(status, COLORS["text"])))
                    item.setToolTip(status_text + (f"\nerror rate {source['error_rate'] * 100:.0f}% of the last scans"
                                                   if source.get("error_rate") is not None else ""))
                elif c == 5:
                    item.setToolTip(source.get("quota_basis") or "")
                elif c == 6 and source.get("needs_key") and not source.get("has_key"):
                    item.setForeground(QColor(COLORS["warning"]))
                table.setItem(r, c, item)
            if source["name"] == selected_name:
                table.selectRow(r)
        table.blockSignals(False)
        # As tall as its rows: the page scrolls, not the table.
        rows_h = sum(table.rowHeight(r) for r in range(table.rowCount())) or table.verticalHeader().defaultSectionSize()
        table.setFixedHeight(table.horizontalHeader().height() + rows_h + 2 * table.frameWidth() + 2)
        self._source_selected()
        names = [s["name"] for s in self.sources]
        self._fill_platforms(names)

    def _fill_platforms(self, names: list[str]) -> None:
        combo = self.platform_combo
        current = combo.currentData()
        wanted = [n for n in names if not n.startswith("feed:")] + ["import"]
        if [combo.itemData(i) for i in range(1, combo.count())] == wanted:
            return
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("All platforms", "all")
        for name in wanted:
            combo.addItem(platform_label(name), name)
        combo.setCurrentIndex(max(0, combo.findData(current)))
        combo.blockSignals(False)

    def refresh_monitor(self) -> None:
        monitor = getattr(self.service, "monitor", None)
        if monitor is None:
            self.monitor_label.setText("Not available")
            self.monitor_button.setEnabled(False)
            self.schedule_button.setEnabled(False)
            return
        state = self._call("Could not read the monitor", monitor.state)
        if state is None:
            return
        self.monitor_state = dict(state)
        running = bool(state.get("running"))
        self.monitor_label.setText("Monitoring" if running else "Stopped")
        self.monitor_label.setStyleSheet(f"color: {COLORS['success'] if running else COLORS['muted']};")
        self.monitor_button.setText("Stop" if running else "Start")
        self.monitor_button.setIcon(icon("mdi6.stop-circle-outline" if running else "mdi6.play-circle-outline"))
        parts = []
        next_scan = state.get("next_scan_at") or state.get("next_scan")
        if running and next_scan:
            parts.append(f"next scan {when(next_scan)}")
        if state.get("scan_interval"):
            period = str(state.get("current_period") or "").replace("_", " ")
            parts.append(f"{'S' if running else 'When started, s'}cans every {state['scan_interval']} min at this hour"
                         f"{f' ({period})' if period else ''}, about {state.get('estimated_daily_scans', '–')} a day")
        stats = state.get("stats") or state
        if stats.get("scans_done"):
            parts.append(f"{stats['scans_done']} scans, {stats.get('trends_processed') or 0} items read, "
                         f"{stats.get('hijacks_generated') or 0} answered")
        if state.get("last_error"):
            parts.append(f"last error: {state['last_error']}")
        self.monitor_detail.setText(" · ".join(parts) if parts else
                                    "Scans the enabled sources more often at peak hours. Off until you start it.")
        intervals = state.get("intervals") or {}
        for key, spin in self.interval_spins.items():
            if intervals.get(key):
                spin.blockSignals(True)
                spin.setValue(int(intervals[key]))
                spin.blockSignals(False)
        auto = state.get("auto_answer") or state.get("auto_hijack") or {}
        if auto:
            self.auto_check.setChecked(bool(auto.get("enabled")))
            if auto.get("min_viral_score") is not None:
                self.auto_score.setValue(int(auto["min_viral_score"]))
            if auto.get("max_daily_hijacks") is not None:
                self.auto_max.setValue(int(auto["max_daily_hijacks"]))

    def refresh_trends(self) -> None:
        platform = self.platform_combo.currentData() or "all"
        result = self._call("Could not read the trends", self.service.catalog.current, platform=platform,
                            limit=TREND_LIMIT)
        if result is None:
            return
        self.trends = list(result.get("trends") or [])
        selected = self.current["id"] if self.current else None
        table = self.trend_table
        table.blockSignals(True)
        table.setSortingEnabled(False)
        table.clearContents()
        table.setRowCount(len(self.trends))
        now = datetime.now(timezone.utc)
        for r, trend in enumerate(self.trends):
            score = trend.get("viral_score")
            growth = trend.get("growth_rate")
            age, hours = age_text(trend.get("first_seen"), now)
            platforms = trend.get("platforms") or [trend.get("platform")]
            reasons = trend.get("reasons") or {}
            cells = (
                SortItem(platform_label(trend.get("platform")) + (f" +{len(platforms) - 1}" if len(platforms) > 1
                                                                  else ""), platform_label(trend.get("platform"))),
                SortItem(trend.get("title") or "", (trend.get("title") or "").lower()),
                SortItem(trend.get("artist") or "", (trend.get("artist") or "").lower()),
                SortItem("–" if score is None else f"{float(score):.0f}", None if score is None else float(score)),
                SortItem(growth_text(growth, trend.get("growth_unit")), None if growth is None else float(growth)),
                SortItem(age, hours),
            )
            cells[0].setToolTip(", ".join(platform_label(p) for p in platforms))
            full = (trend.get("title") or "") + (f" — {trend['artist']}" if trend.get("artist") else "")
            cells[1].setToolTip(full)
            cells[2].setToolTip(full)
            cells[3].setToolTip(f"opportunity {trend.get('opportunity_level') or '–'}"
                                + (f" · {reasons['viral_score']}" if reasons.get("viral_score") else ""))
            if trend.get("opportunity_level") in LEVEL_COLORS:
                cells[3].setForeground(QColor(LEVEL_COLORS[trend["opportunity_level"]]))
            cells[4].setToolTip(trend.get("growth_basis") or reasons.get("growth_rate") or "")
            cells[5].setToolTip(f"first seen {when(trend.get('first_seen'))}")
            for c, item in enumerate(cells):
                item.setData(Qt.ItemDataRole.UserRole, trend["id"])
                if c in (3, 4, 5):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(r, c, item)
        table.setSortingEnabled(True)
        if table.horizontalHeader().sortIndicatorSection() >= len(TREND_COLUMNS) or not self._sorted_once:
            table.sortItems(3, Qt.SortOrder.DescendingOrder)
            self._sorted_once = True
        for r in range(table.rowCount()):
            if table.item(r, 0).data(Qt.ItemDataRole.UserRole) == selected:
                table.selectRow(r)
        table.blockSignals(False)
        total = result.get("total_trends", len(self.trends))
        self.trend_count.setText(f"{len(self.trends)} of {total} · scanned {when(result.get('scan_time'))}"
                                 if self.trends else "")
        if self.trends:
            self.trend_stack.setCurrentWidget(self.trend_table)
        else:
            self.trend_empty.setText(self._empty_text())
            self.trend_stack.setCurrentWidget(self.trend_empty)
        if selected and not any(t["id"] == selected for t in self.trends):
            self._show_detail(None)
        elif selected:
            self.show_trend(selected)

    _sorted_once = False

    def _empty_text(self) -> str:
        enabled = [s for s in self.sources if s.get("enabled")]
        if not enabled:
            return ("<b>No source is enabled yet.</b><br>Enable Deezer or Apple Music under Sources below — no key "
                    "needed — then press Scan now.<br>Last.fm and YouTube need your own API key; any RSS/Atom feed "
                    "can be added by URL, and a chart CSV read in with Import chart file (top right).")
        if not any(s.get("last_scan") for s in enabled):
            return "<b>No scan yet.</b><br>Press Scan now, or start Monitoring to scan on a schedule."
        if self.platform_combo.currentData() not in (None, "all"):
            return "Nothing from this platform in the stored scans. Choose All platforms."
        return ("<b>The last scans found nothing.</b><br>Check the status of the sources above: an error says "
                "what to fix.")

    def refresh_patterns(self) -> None:
        part = getattr(self.service, "patterns", None)
        if part is None:
            return
        genre = self.genre_combo.currentText().strip()
        genre = None if not genre or genre == "All genres" else genre
        days = int(self.timeframe_combo.currentData() or 30)
        fn = getattr(part, "patterns", part)
        result = self._call("Could not compute the patterns", fn, genre=genre, timeframe_days=days)
        if result is None:
            return
        self.patterns = dict(result)
        self._show_patterns(self.patterns)

    # --- sources -----------------------------------------------------------------------------------------------
    def selected_source(self) -> dict[str, Any] | None:
        items = self.sources_table.selectedItems()
        if not items:
            return None
        name = items[0].data(Qt.ItemDataRole.UserRole)
        return next((s for s in self.sources if s["name"] == name), None)

    def select_source(self, name: str) -> bool:
        for r, source in enumerate(self.sources):
            if source["name"] == name:
                self.sources_table.selectRow(r)
                return True
        return False

    def _source_selected(self) -> None:
        source = self.selected_source()
        keyed = bool(source and source.get("needs_key"))
        for widget in (self.key_edit, self.key_save_button):
            widget.setEnabled(keyed)
        self.key_clear_button.setEnabled(bool(keyed and source.get("has_key")))
        self.key_edit.setPlaceholderText(
            f"Paste your own {platform_label(source['name'])} API key" if keyed
            else "Select Last.fm or YouTube to enter a key")
        if not keyed:
            self.key_caption.setText("Key")
            self.key_state.setText("Last.fm and YouTube read with your own API key: select one to enter it. "
                                   "Deezer, Apple Music and feeds need none." if source is None or not source
                                   else f"{source.get('label') or platform_label(source['name'])} needs no key.")
            return
        label = source.get("label") or platform_label(source["name"])
        self.key_caption.setText(f"{label} key")
        if source.get("has_key"):
            masked = source.get("key_masked") or source.get("masked_key") or ""
            self.key_state.setText(f"Key stored{f' ({masked})' if masked else ''}. Typing a new one replaces it; "
                                   "it is never shown again.")
        else:
            hint = source.get("key_hint")
            self.key_state.setText(f"No key stored: {label} stays off until you paste your own API key here"
                                   + (f" ({hint})." if hint else "."))

    def set_enabled(self, name: str, enabled: bool) -> dict[str, Any] | None:
        result = self._call(f"Could not {'enable' if enabled else 'disable'} {platform_label(name)}",
                            self.service.sources.configure, name, enabled=enabled)
        if result is not None:
            self._clear_error()
            self.host.show_status(f"{platform_label(name)} {'enabled: Scan now reads it' if enabled else 'disabled'}")
        self.refresh_timer.start()
        return result

    def save_key(self) -> dict[str, Any] | None:
        source = self.selected_source()
        key = self.key_edit.text().strip()
        if source is None or not source.get("needs_key"):
            return None
        if not key:
            self._show_error("Paste the API key first.")
            return None
        result = self._call(f"Could not store the {platform_label(source['name'])} key",
                            self.service.sources.set_key, source["name"], key)
        self.key_edit.clear()  # never kept in the field, never shown back
        if result is not None:
            self._clear_error()
            self.host.show_status(f"{platform_label(source['name'])} key stored")
            self.refresh_sources()
        return result

    def clear_key(self) -> None:
        source = self.selected_source()
        if source is None or not source.get("has_key"):
            return
        self._call("Could not remove the key", self.service.sources.clear_key, source["name"])
        self.refresh_sources()

    def add_feed(self) -> dict[str, Any] | None:
        url = self.feed_edit.text().strip()
        if not url:
            self._show_error("Type or paste the feed's URL first (it starts with https://).")
            return None
        result = self._call("Could not add the feed", self.service.sources.add_feed, url)
        if result is not None:
            self.feed_edit.clear()
            self._clear_error()
            self.refresh_sources()
        return result

    # --- scanning ------------------------------------------------------------------------------------------------
    def scan_now(self) -> asyncio.Future | None:
        """Scan the enabled sources (a coroutine on the loop); the panel refreshes when it is done."""
        if self.service is None or (self.scan_future is not None and not self.scan_future.done()):
            return self.scan_future
        if not any(s.get("enabled") for s in self.sources):
            self._show_error("No source is enabled: tick Deezer or Apple Music under Sources (no key needed), "
                             "then Scan now.")
            return None
        self.scan_button.setEnabled(False)
        self.scan_button.setText("Scanning…")
        self._clear_error()

        async def run() -> dict[str, Any] | None:
            try:
                result = self.service.scanner.scan()
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:  # shown; the sources show their own errors
                self._show_error(f"The scan failed: {self._reason(exc)}")
                return None
            finally:
                self.scan_button.setEnabled(True)
                self.scan_button.setText("Scan now")
            errors = result.get("errors") or {}
            if errors:
                self._show_error("Some sources could not be read: " + "; ".join(
                    f"{platform_label(name)}: {why}" for name, why in errors.items()))
            self.host.show_status(f"Scanned {len(result.get('scanned') or [])} sources: "
                                  f"{result.get('new_items', 0)} new items", 6000)
            self.refresh()
            return result

        self.scan_future = asyncio.ensure_future(run())
        return self.scan_future

    # --- monitoring ------------------------------------------------------------------------------------------------
    def _schedule_config(self) -> dict[str, Any]:
        return {"schedule_type": "custom",
                "intervals": {key: spin.value() for key, spin in self.interval_spins.items()},
                "auto_hijack": {"enabled": self.auto_check.isChecked(), "min_viral_score": self.auto_score.value(),
                                "max_daily_hijacks": self.auto_max.value()}}

    def toggle_monitor(self) -> Any:
        monitor = self.service.monitor
        running = bool(self.monitor_state.get("running"))
        if not running and not any(s.get("enabled") for s in self.sources):
            self._show_error("Enable a source first: monitoring scans only the enabled sources.")
            return None
        result = self._call("Could not stop monitoring" if running else "Could not start monitoring",
                            monitor.stop if running else monitor.start)
        return self._after(result, self.refresh_monitor)

    def apply_schedule(self) -> Any:
        result = self._call("Could not change the schedule", self.service.monitor.schedule, self._schedule_config())
        return self._after(result, lambda: (self.refresh_monitor(), self.host.show_status("Schedule saved")))

    def _after(self, result: Any, then: Callable[[], Any]) -> Any:
        """Run `then` once `result` is there (a coroutine is awaited on the loop)."""
        if not inspect.isawaitable(result):
            if result is not None:
                self._clear_error()
            then()
            return result

        async def run() -> Any:
            try:
                value = await result
            except Exception as exc:
                self._show_error(self._reason(exc))
                return None
            self._clear_error()
            then()
            return value

        return asyncio.ensure_future(run())

    # --- trends ------------------------------------------------------------------------------------------------------
    def trend_ids(self) -> list[str]:
        return [self.trend_table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(self.trend_table.rowCount())]

    def select_trend(self, trend_id: str) -> bool:
        for r in range(self.trend_table.rowCount()):
            if self.trend_table.item(r, 0).data(Qt.ItemDataRole.UserRole) == trend_id:
                self.trend_table.selectRow(r)
                return True
        return False

    def _trend_selected(self) -> None:
        items = self.trend_table.selectedItems()
        if items:
            self.show_trend(items[0].data(Qt.ItemDataRole.UserRole))

    def show_trend(self, trend_id: str) -> dict[str, Any] | None:
        try:
            detail = self.service.catalog.trend(trend_id)
        except Exception as exc:  # UnknownTrend: gone since (the 30-day rule), or another error
            self._show_detail(None, f"This trend is no longer stored ({self._reason(exc)})")
            return None
        self._show_detail(detail)
        return detail

    def _show_detail(self, trend: dict[str, Any] | None, note: str = "") -> None:
        self.current = trend
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
        if self.last_answer and self.last_answer.get("trend_id") == trend.get("id"):
            self._show_answer_state()
        else:
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

    def answer(self, customizations: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Answer the shown trend with a track: a generation job from its suggested response."""
        trend = self.current
        if trend is None:
            return None
        answers = getattr(self.service, "answers", None)
        if answers is None:
            self.open_in_create()
            return None
        result = self._call("The track was not queued", answers.answer, trend["id"],
                            customizations=customizations)
        if inspect.isawaitable(result):
            return self._after(result, lambda: None)
        if result is None:
            return None
        self._clear_error()
        self.last_answer = {**result, "job_status": "queued", "track_id": None}
        self._show_answer_state()
        self.host.show_status(f"Answering “{trend.get('title')}” with a track", 6000)
        return result

    def _show_answer_state(self) -> None:
        """Where the answer's generation job is: queued/rendering, ready (in the Library) or failed."""
        answer = self.last_answer or {}
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

    def show_answer_in_library(self) -> bool:
        track_id = (self.last_answer or {}).get("track_id")
        window = self.window()
        if not track_id or not hasattr(window, "show_panel"):
            return False
        select = getattr(window.show_panel("library"), "select_track", None)
        return bool(select(track_id)) if callable(select) else False

    def open_in_create(self) -> bool:
        """Fill the Create panel with the suggested response, for changing it before generating."""
        trend = self.current
        window = self.window()
        if trend is None or not hasattr(window, "show_panel"):
            return False
        fields = dict(trend.get("suggested_spec") or {})
        fields.setdefault("prompt", trend.get("suggested_response") or "")
        create = window.show_panel("create")
        apply = getattr(create, "apply_fields", None)
        if callable(apply):
            apply(fields, title=f"Answer to {trend.get('title')}"[:80])
        return True

    # --- patterns -------------------------------------------------------------------------------------------------
    def _show_patterns(self, result: dict[str, Any]) -> None:
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

    # --- importing ---------------------------------------------------------------------------------------------------
    def pick_import(self) -> None:
        start = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
        name, _ = QFileDialog.getOpenFileName(self, "Import a chart file", start, CHART_FILTER)
        if name:
            self.preview_import(Path(name))

    def parse_preview(self, data: bytes, filename: str) -> tuple[list[Any], str]:
        """The rows the service would import from `data` (the service's own parser when it offers a
        preview), else the file's rows as the CSV reader sees them, with a note saying so."""
        imports = self.service.imports
        for name in ("preview", "parse"):
            fn = getattr(imports, name, None)
            if callable(fn):
                rows = fn(data, filename)
                return list(rows.get("rows", rows.get("items", [])) if isinstance(rows, dict) else rows), ""
        text = data.decode("utf-8-sig", errors="replace")
        reader = csv.DictReader(io.StringIO(text))
        rows = []
        for row in reader:
            lowered = {str(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            rows.append({"rank": lowered.get("rank") or lowered.get("position"),
                         "title": lowered.get("track_name") or lowered.get("title"),
                         "artist": lowered.get("artist_names") or lowered.get("artist"),
                         "platform": lowered.get("platform") or lowered.get("source"),
                         "streams": lowered.get("streams")})
        return rows, "The rows as the file lists them; the import checks each one."

    def preview_import(self, path: Path, *, ask: bool = True) -> ImportPreview | dict[str, Any] | None:
        """Read `path`, show its rows, import them when the user agrees (`ask=False`: the preview
        dialog is returned unopened, for tests and scripts)."""
        try:
            data = path.read_bytes()
            rows, note = self.parse_preview(data, path.name)
        except Exception as exc:  # unreadable file, ChartFileError naming the line and column
            QMessageBox.warning(self, "Not a chart file", f"{path.name} could not be read as a chart:\n\n"
                                f"{self._reason(exc)}\n\nA Spotify Charts CSV, or a CSV with the columns title, "
                                "artist, platform, rank, can be imported.")
            return None
        dialog = ImportPreview(path.name, rows, self, note=note)
        self.pending_import = (data, path.name)
        if not ask:
            return dialog
        if dialog.exec() == QDialog.DialogCode.Accepted:
            return self.import_pending()
        self.pending_import = None
        return None

    def import_pending(self) -> asyncio.Future | None:
        """Import the previewed file. It runs on the loop, not on a pool thread: the import publishes
        `trends_imported`, and the event bus's subscribers (the API's WebSocket too) expect the loop's
        thread. The file was already parsed for the preview, so what is left is storing its rows."""
        if self.pending_import is None:
            return None
        data, filename = self.pending_import
        self.pending_import = None
        self.import_button.setEnabled(False)
        self.import_button.setText("Importing…")
        fn = self.service.imports.import_file

        async def run() -> Any:
            await asyncio.sleep(0)  # let the preview dialog close and the button repaint first
            try:
                result = fn(data, filename)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:  # TrendsError names the line and column
                self._task_failed("import", self._reason(exc))
                return None
            self._task_done("import", result)
            return result

        return asyncio.ensure_future(run())

    def busy(self) -> bool:
        return self.scan_future is not None and not self.scan_future.done()

    def _task_done(self, name: str, result: Any) -> None:
        if name == "import":
            self.import_button.setEnabled(True)
            self.import_button.setText("Import chart file…")
            self._clear_error()
            self.host.show_status(f"Imported {result.get('imported', 0)} rows from {result.get('file', 'the file')}",
                                  6000)
            self.refresh()

    def _task_failed(self, name: str, message: str) -> None:
        if name == "import":
            self.import_button.setEnabled(True)
            self.import_button.setText("Import chart file…")
            self._show_error(f"The import failed: {message}")

    # --- live events ------------------------------------------------------------------------------------------------
    def _on_event(self, name: str, data: dict) -> None:
        if self.service is not None and name in TREND_EVENTS:
            self.refresh_timer.start()
        elif (name in ("job_progress", "job_completed", "job_failed", "job_cancelled") and self.last_answer
              and data.get("id") == self.last_answer.get("generation_id")):
            self.last_answer["job_status"] = data.get("status") or name.removeprefix("job_")
            self.last_answer["track_id"] = (data.get("result") or {}).get("track_id")
            self.last_answer["job_error"] = (data.get("error") or {}).get("message")
            if self.current and self.current.get("id") == self.last_answer.get("trend_id"):
                self._show_answer_state()
