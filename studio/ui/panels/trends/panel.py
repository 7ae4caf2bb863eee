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
events refresh the panel while it is open. The parts (listed in the package's docstring) only show
and signal; this panel makes the calls and keeps the state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import when
from studio.ui.panels.base import Panel, PanelHost
from studio.ui.panels.trends.common import platform_label
from studio.ui.panels.trends.import_dialog import ImportPreview
from studio.ui.panels.trends.monitor_box import MonitorBox
from studio.ui.panels.trends.patterns_box import PatternsBox
from studio.ui.panels.trends.sources_box import SourcesBox
from studio.ui.panels.trends.trend_detail import TrendDetail
from studio.ui.panels.trends.trend_table import TrendTable
from studio.ui.theme import icon
from studio.ui.widgets.debounce import debounce_timer

if TYPE_CHECKING:
    from studio.services.trends import TrendsService

TREND_LIMIT = 200
REFRESH_DELAY_MS = 300
CHART_FILTER = "Chart files (*.csv *.tsv *.txt);;All files (*)"
TREND_EVENTS = ("trend_detected", "trends_scanned", "trend_sources_changed", "trend_monitor_changed",
                "trends_imported")


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
        self.trend_list = TrendTable()
        self.trend_list.platform_changed.connect(self.refresh_trends)
        self.trend_list.trend_selected.connect(self.show_trend)
        self.detail = TrendDetail()
        self.detail.answer_requested.connect(lambda: self.answer())
        self.detail.create_requested.connect(self.open_in_create)
        self.detail.library_requested.connect(self.show_answer_in_library)
        top = QHBoxLayout()
        top.setSpacing(12)
        top.addWidget(self.trend_list, 3)
        top.addWidget(self.detail, 2)
        body.addLayout(top, 1)
        self.sources_box = SourcesBox()
        self.sources_box.enable_toggled.connect(self.set_enabled)
        self.sources_box.save_key_requested.connect(self.save_key)
        self.sources_box.clear_key_requested.connect(self.clear_key)
        self.sources_box.add_feed_requested.connect(self.add_feed)
        self.monitor_box = MonitorBox()
        self.monitor_box.toggle_requested.connect(self.toggle_monitor)
        self.monitor_box.apply_requested.connect(self.apply_schedule)
        middle = QHBoxLayout()
        middle.setSpacing(12)
        middle.addWidget(self.sources_box, 3)
        middle.addWidget(self.monitor_box, 2)
        body.addLayout(middle)
        self.patterns_box = PatternsBox()
        self.patterns_box.changed.connect(self.refresh_patterns)
        body.addWidget(self.patterns_box)

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
        self.refresh()

    @property
    def service(self) -> "TrendsService":
        return self.services.trends

    # --- panel hooks ---------------------------------------------------------------------------------------
    def primary_action(self) -> None:
        self.scan_now()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
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
        self.refresh_sources()
        self.refresh_monitor()
        self.refresh_trends()
        self.refresh_patterns()

    def refresh_sources(self) -> None:
        rows = self._call("Could not read the sources", self.service.sources.list_sources)
        if rows is None:
            return
        self.sources = list(rows)
        self.sources_box.show_sources(self.sources)
        names = [s["name"] for s in self.sources]
        self.trend_list.fill_platforms(names)

    def refresh_monitor(self) -> None:
        state = self._call("Could not read the monitor", self.service.monitor.state)
        if state is None:
            return
        self.monitor_state = dict(state)
        self.monitor_box.show_state(state)

    def refresh_trends(self) -> None:
        platform = self.trend_list.platform()
        result = self._call("Could not read the trends", self.service.catalog.current, platform=platform,
                            limit=TREND_LIMIT)
        if result is None:
            return
        self.trends = list(result.get("trends") or [])
        selected = self.current["id"] if self.current else None
        total = result.get("total_trends", len(self.trends))
        self.trend_list.show_trends(
            self.trends, selected,
            f"{len(self.trends)} of {total} · scanned {when(result.get('scan_time'))}" if self.trends else "",
            "" if self.trends else self._empty_text())
        if selected:  # kept when it left the table (older, or opened from the Library); a gone one says so
            self.show_trend(selected)

    def _empty_text(self) -> str:
        enabled = [s for s in self.sources if s.get("enabled")]
        if not enabled:
            return ("<b>No source is enabled yet.</b><br>Enable Deezer or Apple Music under Sources below — no key "
                    "needed — then press Scan now.<br>Last.fm and YouTube need your own API key; any RSS/Atom feed "
                    "can be added by URL, and a chart CSV read in with Import chart file (top right).")
        if not any(s.get("last_scan") for s in enabled):
            return "<b>No scan yet.</b><br>Press Scan now, or start Monitoring to scan on a schedule."
        if self.trend_list.platform_combo.currentData() not in (None, "all"):
            return "Nothing from this platform in the stored scans. Choose All platforms."
        return ("<b>The last scans found nothing.</b><br>Check the status of the sources above: an error says "
                "what to fix.")

    def refresh_patterns(self) -> None:
        genre, days = self.patterns_box.filters()
        result = self._call("Could not compute the patterns", self.service.patterns.patterns, genre=genre,
                            timeframe_days=days)
        if result is None:
            return
        self.patterns = dict(result)
        self.patterns_box.show_patterns(self.patterns)

    # --- sources -----------------------------------------------------------------------------------------------
    def set_enabled(self, name: str, enabled: bool) -> dict[str, Any] | None:
        result = self._call(f"Could not {'enable' if enabled else 'disable'} {platform_label(name)}",
                            self.service.sources.configure, name, enabled=enabled)
        if result is not None:
            self._clear_error()
            self.host.show_status(f"{platform_label(name)} {'enabled: Scan now reads it' if enabled else 'disabled'}")
        self.refresh_timer.start()
        return result

    def save_key(self) -> dict[str, Any] | None:
        source = self.sources_box.selected_source()
        key = self.sources_box.key_edit.text().strip()
        if source is None or not source.get("needs_key"):
            return None
        if not key:
            self._show_error("Paste the API key first.")
            return None
        result = self._call(f"Could not store the {platform_label(source['name'])} key",
                            self.service.sources.set_key, source["name"], key)
        self.sources_box.key_edit.clear()  # never kept in the field, never shown back
        if result is not None:
            self._clear_error()
            self.host.show_status(f"{platform_label(source['name'])} key stored")
            self.refresh_sources()
        return result

    def clear_key(self) -> None:
        source = self.sources_box.selected_source()
        if source is None or not source.get("has_key"):
            return
        self._call("Could not remove the key", self.service.sources.clear_key, source["name"])
        self.refresh_sources()

    def add_feed(self) -> dict[str, Any] | None:
        url = self.sources_box.feed_edit.text().strip()
        if not url:
            self._show_error("Type or paste the feed's URL first (it starts with https://).")
            return None
        result = self._call("Could not add the feed", self.service.sources.add_feed, url)
        if result is not None:
            self.sources_box.feed_edit.clear()
            self._clear_error()
            self.refresh_sources()
        return result

    # --- scanning ------------------------------------------------------------------------------------------------
    def scan_now(self) -> asyncio.Future | None:
        """Scan the enabled sources (a coroutine on the loop); the panel refreshes when it is done."""
        if self.scan_future is not None and not self.scan_future.done():
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
                result = await self.service.scanner.scan()
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
        result = self._call("Could not change the schedule", self.service.monitor.schedule,
                            self.monitor_box.schedule_config())
        self._after(result, self.refresh_monitor)
        if result is not None:
            self.host.show_status("Schedule saved")
        return result

    def _after(self, result: Any, then: Callable[[], Any]) -> Any:
        """After a monitor call: clear the error when it went through, then `then` either way."""
        if result is not None:
            self._clear_error()
        then()
        return result

    # --- trends ------------------------------------------------------------------------------------------------------
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
        self.detail.show_trend(trend, note)
        if trend is not None and self.last_answer and self.last_answer.get("trend_id") == trend.get("id"):
            self._show_answer_state()

    def answer(self, customizations: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Answer the shown trend with a track: a generation job from its suggested response."""
        trend = self.current
        if trend is None:
            return None
        result = self._call("The track was not queued", self.service.answers.answer, trend["id"],
                            customizations=customizations)
        if result is None:
            return None
        self._clear_error()
        self.last_answer = {**result, "job_status": "queued", "track_id": None}
        self._show_answer_state()
        self.host.show_status(f"Answering “{trend.get('title')}” with a track", 6000)
        return result

    def _show_answer_state(self) -> None:
        self.detail.show_answer_state(self.last_answer or {})

    def show_answer_in_library(self) -> bool:
        track_id = (self.last_answer or {}).get("track_id")
        if not track_id:
            return False
        return self.window().show_panel("library").select_track(track_id)

    def open_in_create(self) -> bool:
        """Fill the Create panel with the suggested response, for changing it before generating."""
        trend = self.current
        if trend is None:
            return False
        fields = dict(trend.get("suggested_spec") or {})
        fields.setdefault("prompt", trend.get("suggested_response") or "")
        self.window().show_panel("create").apply_fields(fields, title=f"Answer to {trend.get('title')}"[:80])
        return True

    # --- importing ---------------------------------------------------------------------------------------------------
    def pick_import(self) -> None:
        start = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
        name, _ = QFileDialog.getOpenFileName(self, "Import a chart file", start, CHART_FILTER)
        if name:
            self.preview_import(Path(name))

    def preview_import(self, path: Path, *, ask: bool = True) -> ImportPreview | dict[str, Any] | None:
        """Read `path`, show its rows, import them when the user agrees (`ask=False`: the preview
        dialog is returned unopened, for tests and scripts)."""
        try:
            data = path.read_bytes()
            rows = self.service.imports.parse(data, path.name)
        except Exception as exc:  # unreadable file, ChartFileError naming the line and column
            QMessageBox.warning(self, "Not a chart file", f"{path.name} could not be read as a chart:\n\n"
                                f"{self._reason(exc)}\n\nA Spotify Charts CSV, or a CSV with the columns title, "
                                "artist, platform, rank, can be imported.")
            return None
        dialog = ImportPreview(path.name, rows, self)
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

        async def run() -> Any:
            await asyncio.sleep(0)  # let the preview dialog close and the button repaint first
            try:
                result = await self.service.imports.import_file(data, filename)
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
        if name in TREND_EVENTS:
            self.refresh_timer.start()
        elif (name in ("job_progress", "job_completed", "job_failed", "job_cancelled") and self.last_answer
              and data.get("id") == self.last_answer.get("generation_id")):
            self.last_answer["job_status"] = data.get("status") or name.removeprefix("job_")
            self.last_answer["track_id"] = (data.get("result") or {}).get("track_id")
            self.last_answer["job_error"] = (data.get("error") or {}).get("message")
            if self.current and self.current.get("id") == self.last_answer.get("trend_id"):
                self._show_answer_state()
