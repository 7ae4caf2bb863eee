"""Analytics: what works, from the creator's real numbers.

A period selector and Import file… / Export report… at the top, then five pages: Overview (figure
cards and daily charts: revenue by origin or source, views, generations, API requests, compute
against the daily limit; with nothing imported, step-by-step where to export each file), Content
(what performed, sortable and searchable, with the insights and their sample sizes), Links (confirm
the suggested matches between imported items and the library), Sources (imports, the connected
YouTube channel, followed channels), Costs & API (prices, limits, endpoint use).

Everything comes from `services.analytics`; nothing is computed here. Imports, refreshes and
sign-ins run as coroutines on the qasync loop; a report is a job, offered for saving when its
`job_completed` event arrives.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QStandardPaths, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFrame,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.ui.panels.analytics.costs import CostsPage
from studio.ui.panels.analytics.dialogs import ExportDialog, ImportPreview
from studio.ui.panels.analytics.overview import OverviewPage
from studio.ui.panels.analytics.sources import SourcesPage
from studio.ui.panels.analytics.tables import ContentPage, LinksPage
from studio.ui.panels.base import Panel, PanelHost
from studio.ui.theme import icon
from studio.ui.widgets.debounce import debounce_timer

if TYPE_CHECKING:
    from studio.services.analytics import AnalyticsService

PERIODS = (("Last 7 days", "7d"), ("Last 30 days", "30d"), ("Last 90 days", "90d"), ("Last 12 months", "1y"),
           ("Everything", "all"))
FILE_FILTER = ("Statements and exports (*.zip *.csv *.tsv *.txt);;All files (*)")
REPORT_KIND = "analytics.report"
REFRESH_DELAY_MS = 300
CONTENT_LIMIT = 200
LINK_LIMIT = 500


class AnalyticsPanel(Panel):
    title = "Analytics"
    icon = "mdi6.chart-bar"
    key = "analytics"
    area = "analytics"
    subtitle = ("What works, from your own numbers: imported statements and exports, your connected channel and "
                "the studio's records. Nothing here is estimated without saying how.")

    def __init__(self, host: PanelHost, parent: QWidget | None = None) -> None:
        super().__init__(host, parent)
        self.last_error = ""
        self.pending_import: tuple[bytes, str] | None = None
        self.pending_reports: set[str] = set()
        self.saved_reports: dict[str, Path] = {}
        self.tasks: dict[str, asyncio.Future] = {}
        self.period_combo = QComboBox()
        for label, value in PERIODS:
            self.period_combo.addItem(label, value)
        self.period_combo.setCurrentIndex(1)
        self.period_combo.currentIndexChanged.connect(lambda: self.refresh_timer.start())
        self.import_button = QPushButton(icon("mdi6.file-upload-outline"), "Import file…")
        self.import_button.setObjectName("Primary")
        self.import_button.setToolTip("A YouTube Studio export (zip), a Spotify for Artists CSV, a DistroKid statement "
                                      "(TSV) or a TuneCore sales CSV: you see what it holds before anything is stored")
        self.import_button.clicked.connect(self.pick_import)
        self.export_button = QPushButton(icon("mdi6.file-pdf-box"), "Export report…")
        self.export_button.clicked.connect(self.pick_export)

        content = QWidget()
        body = QVBoxLayout(content)
        body.setContentsMargins(28, 24, 28, 16)
        body.setSpacing(10)
        body.addLayout(self.header(self.period_combo, self.import_button, self.export_button))
        self.error_label = QLabel("")
        self.error_label.setObjectName("Warning")
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        body.addWidget(self.error_label)
        self.tabs = QTabWidget()
        self.overview = OverviewPage()
        self.overview.revenue_by.currentIndexChanged.connect(lambda: self.refresh_timer.start())
        self.content_page = ContentPage()
        self.content_page.changed.connect(lambda: self.content_timer.start())
        self.links = LinksPage()
        self.links.changed.connect(lambda: self.links_timer.start())
        self.links.confirm_requested.connect(self.confirm_link)
        self.links.reject_requested.connect(self.reject_link)
        self.links.unlink_requested.connect(self.unlink)
        self.sources = SourcesPage()
        self.sources.delete_import_requested.connect(self.delete_import)
        self.sources.save_youtube_requested.connect(self.save_youtube)
        self.sources.sign_in_requested.connect(self.sign_in)
        self.sources.sign_out_requested.connect(self.sign_out)
        self.sources.refresh_requested.connect(self.refresh_youtube)
        self.sources.follow_requested.connect(self.follow)
        self.sources.unfollow_requested.connect(self.unfollow)
        self.sources.refresh_competitors_requested.connect(self.refresh_competitors)
        self.costs = CostsPage()
        self.costs.save_prices_requested.connect(self.save_prices)
        self.costs.save_limits_requested.connect(self.save_limits)
        for page, label in ((self.overview, "Overview"), (self.content_page, "Content"), (self.links, "Links"),
                            (self.sources, "Sources"), (self.costs, "Costs && API")):
            self.tabs.addTab(page, label)
        body.addWidget(self.tabs, 1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self.refresh_timer = debounce_timer(self, REFRESH_DELAY_MS, self.refresh)
        self.content_timer = debounce_timer(self, REFRESH_DELAY_MS, self.refresh_content)
        self.links_timer = debounce_timer(self, REFRESH_DELAY_MS, self.refresh_links)
        host.bridge.event.connect(self._on_event)
        self.refresh()

    @property
    def service(self) -> "AnalyticsService":
        return self.services.analytics

    def primary_action(self) -> None:
        self.pick_import()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.refresh_timer.start()

    # --- calls ---------------------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a service method; a failure shows inline (what to fix) and returns None."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # the service says what to fix; the panel shows it
            self._show_error(f"{what}: {self._reason(exc)}")
            return None

    @staticmethod
    def _reason(exc: BaseException) -> str:
        return str(getattr(exc, "reason", "") or exc) or type(exc).__name__

    def _show_error(self, text: str) -> None:
        self.last_error = text
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _run(self, key: str, what: str, make: Callable[[], Awaitable[Any]],
             done: Callable[[Any], None] | None = None) -> asyncio.Future | None:
        """Run a coroutine on the loop (one per `key`); its failure is shown inline."""
        if key in self.tasks and not self.tasks[key].done():
            return self.tasks[key]

        async def run() -> Any:
            try:
                result = await make()
            except Exception as exc:
                self._show_error(f"{what}: {self._reason(exc)}")
                return None
            self._show_error("")
            if done is not None:
                done(result)
            return result

        self.tasks[key] = asyncio.ensure_future(run())
        return self.tasks[key]

    def busy(self) -> bool:
        return any(not t.done() for t in self.tasks.values())

    def period(self):
        return self._call("The period", self.service.period, self.period_combo.currentData())

    # --- reading --------------------------------------------------------------------------------------
    def refresh(self) -> None:
        period = self.period()
        if period is None:
            return
        service = self.service
        figures = self._call("Could not read the figures", lambda: {
            "dashboard": service.dashboard.dashboard(period),
            "revenue": service.revenue.revenue(period),
            "by_source": service.ledger.series(period, by="source"),
            "audience": service.engagement.audience_series(period),
            "engagement": service.engagement.engagement(period),
            "api": service.usage.series(period),
            "costs": service.costs.summary(period),
            "history": service.costs.history(period),
            "limits": service.costs.limits(),
            "has_data": bool(service.imports.imports(limit=1)),
        })
        if figures is not None:
            self.figures = figures
            self.overview.show_figures(**figures)
        self.refresh_content()
        self.refresh_links()
        self.refresh_sources()
        self.refresh_costs(period)

    def refresh_content(self) -> None:
        period = self.period()
        if period is None:
            return
        filters = self.content_page.filters()
        content = self._call("Could not read the content", self.service.content.content, period, sort="performance",
                             limit=CONTENT_LIMIT, q=filters["q"], origin=filters["origin"])
        if content is not None:
            self.content_page.show_content(content, self.service.ledger.currency()["currency"])

    def refresh_links(self) -> None:
        filters = self.links.filters()
        result = self._call("Could not read the links", self.service.linking.items, status=filters["status"],
                            q=filters["q"], limit=LINK_LIMIT)
        if result is not None:
            self.links.show_items(*result)
            pending = self._call("Could not count the matches", self.service.linking.items, status="suggested", limit=1)
            count = pending[0] if pending else 0
            self.tabs.setTabText(2, f"Links ({count} to confirm)" if count else "Links")

    def refresh_sources(self) -> None:
        imports = self._call("Could not read the imports", self.service.imports.imports)
        if imports is not None:
            self.sources.show_imports(imports)
        status = self._call("Could not read the YouTube connection", self.service.youtube.status)
        if status is not None:
            self.sources.show_youtube(status)
        competitors = self._call("Could not read the followed channels", self.service.youtube.competitors)
        if competitors is not None:
            self.sources.show_competitors(competitors)

    def refresh_costs(self, period=None) -> None:
        period = period or self.period()
        if period is None:
            return
        costs = self.service.costs
        data = self._call("Could not read the costs", lambda: (costs.summary(period), costs.prices(), costs.limits(),
                                                               costs.optimization(), self.service.usage.api_usage(period)))
        if data is not None:
            self.costs.show_costs(*data[:4])
            self.costs.show_api(data[4])

    # --- imports -------------------------------------------------------------------------------------------
    def pick_import(self) -> None:
        start = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
        name, _ = QFileDialog.getOpenFileName(self, "Import a statement or export", start, FILE_FILTER)
        if name:
            self.preview_import(Path(name))

    def preview_import(self, path: Path, *, ask: bool = True) -> ImportPreview | asyncio.Future | None:
        """Read `path` and show what it holds; import it when the user agrees (`ask=False` returns the
        dialog unopened, for tests)."""
        try:
            data = path.read_bytes()
            preview = self.service.imports.preview(data, path.name)
        except Exception as exc:  # AnalyticsError names the line and column
            QMessageBox.warning(self, "Cannot import this file", f"{path.name} could not be read:\n\n"
                                f"{self._reason(exc)}\n\nThe studio reads YouTube Studio exports (the zip), Spotify "
                                "for Artists CSVs, DistroKid statements (TSV) and TuneCore sales CSVs.")
            return None
        dialog = ImportPreview(preview, self)
        self.pending_import = (data, path.name)
        if not ask:
            return dialog
        if dialog.exec() == QDialog.DialogCode.Accepted:
            return self.import_pending()
        self.pending_import = None
        return None

    def import_pending(self) -> asyncio.Future | None:
        if self.pending_import is None:
            return None
        data, filename = self.pending_import
        self.pending_import = None

        def done(result: dict[str, Any]) -> None:
            linked, suggested = result.get("linked", 0), result.get("suggested", 0)
            self.host.show_status(f"Imported {result.get('rows', 0)} rows from {filename}: {linked} linked, "
                                  f"{suggested} matches to confirm under Links", 8000)
            if suggested:
                self.tabs.setCurrentWidget(self.links)
            self.refresh()
        return self._run("import", "The import failed", lambda: self.service.imports.import_file(data, filename), done)

    def delete_import(self, import_id: str) -> None:
        if self._call("Could not forget the import", self.service.imports.delete, import_id) is not None:
            self.refresh()

    # --- links ----------------------------------------------------------------------------------------------
    def _link(self, what: str, fn: Callable[[int], Any], item_id: int) -> Any:
        result = self._call(what, fn, item_id)
        if result is not None:
            self._show_error("")
            self.refresh()
        return result

    def confirm_link(self, item_id: int) -> Any:
        return self._link("Could not confirm the match", self.service.linking.confirm, item_id)

    def reject_link(self, item_id: int) -> Any:
        return self._link("Could not reject the match", self.service.linking.reject, item_id)

    def unlink(self, item_id: int) -> Any:
        return self._link("Could not remove the link", self.service.linking.unlink, item_id)

    # --- YouTube ---------------------------------------------------------------------------------------------
    def save_youtube(self) -> None:
        youtube = self.service.youtube
        fields = self.sources.youtube_fields()
        ok = self._call("Could not save the channel id", youtube.configure, fields["channel_id"] or None) is not None
        if ok and fields["api_key"]:
            ok = self._call("Could not store the API key", youtube.set_api_key, fields["api_key"]) is not None
        if ok and (fields["client_id"] or fields["client_secret"]):
            ok = self._call("Could not store the OAuth client", youtube.set_oauth_client, fields["client_id"],
                            fields["client_secret"]) is not None
        self.sources.clear_secrets()  # never kept in the fields, never shown back
        if ok:
            self._show_error("")
            self.host.show_status("YouTube connection saved")
        self.refresh_sources()

    def sign_in(self) -> asyncio.Future | None:
        def open_browser(url: str) -> None:
            QDesktopServices.openUrl(QUrl(url))
            self.host.show_status("Finish the sign-in in your browser", 10000)
        return self._run("sign_in", "Google sign-in did not finish", lambda: self.service.youtube.sign_in(open_browser),
                         lambda _r: self.refresh_sources())

    def sign_out(self) -> None:
        self._call("Could not sign out", self.service.youtube.sign_out)
        self.refresh_sources()

    def refresh_youtube(self) -> asyncio.Future | None:
        def done(result: dict[str, Any]) -> None:
            self.host.show_status(f"Read {result.get('videos', 0)} videos from your channel", 6000)
            self.refresh()
        return self._run("youtube", "Could not read your channel", lambda: self.service.youtube.refresh(), done)

    def follow(self, channel_id: str) -> None:
        if self._call("Could not follow the channel", self.service.youtube.follow, channel_id) is not None:
            self.sources.follow_edit.clear()
            self._show_error("")
        self.refresh_sources()

    def unfollow(self, channel_id: str) -> None:
        self._call("Could not stop following", self.service.youtube.unfollow, channel_id)
        self.refresh_sources()

    def refresh_competitors(self) -> asyncio.Future | None:
        return self._run("competitors", "Could not read the followed channels",
                         lambda: self.service.youtube.refresh_competitors(), lambda _r: self.refresh_sources())

    # --- costs ----------------------------------------------------------------------------------------------------
    def save_prices(self) -> None:
        if self._call("Could not save the prices", self.service.costs.set_prices, self.costs.prices()) is not None:
            self._show_error("")
            self.host.show_status("Prices saved: costs are computed with them from now on")
        self.refresh()

    def save_limits(self) -> None:
        if self._call("Could not save the limits", self.service.costs.set_limits, self.costs.limits()) is not None:
            self._show_error("")
            alerts = self._call("Could not check the limits", self.service.costs.check_limits) or []
            self.host.show_status("Limits saved" + (f": {alerts[0]['message']}" if alerts else ""), 8000)
        self.refresh_costs()

    # --- reports ----------------------------------------------------------------------------------------------------
    def pick_export(self) -> None:
        dialog = ExportDialog(self.service.reports.available(), self.period_combo.currentText(), self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.export_report(**dialog.choice())

    def export_report(self, *, format: str = "pdf", sections: list[str] | None = None) -> dict[str, Any] | None:
        if sections is not None and not sections:
            self._show_error("Choose at least one section for the report.")
            return None
        report = self._call("Could not start the report", self.service.reports.generate,
                            period=self.period_combo.currentData(), format=format, sections=sections)
        if report is not None:
            self.pending_reports.add(report["report_id"])
            self.export_button.setEnabled(False)
            self.export_button.setText("Making the report…")
            self.host.show_status("Making the report in the background (see Jobs)", 6000)
        return report

    def report_ready(self, report_id: str, *, ask: bool = True, target: Path | None = None) -> Path | None:
        """Offer the finished report for saving (`target` given: save there without asking)."""
        self.pending_reports.discard(report_id)
        self.export_button.setEnabled(True)
        self.export_button.setText("Export report…")
        found = self._call("The report cannot be read", self.service.reports.file, report_id)
        if found is None:
            return None
        path, name, _type = found
        if target is None and ask:
            start = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
            chosen, _ = QFileDialog.getSaveFileName(self, "Save the report", str(Path(start) / name))
            target = Path(chosen) if chosen else None
        if target is None:
            return None
        try:
            shutil.copyfile(path, target)
        except OSError as exc:
            self._show_error(f"Could not save the report: {exc.strerror or exc}")
            return None
        self.saved_reports[report_id] = target
        self.host.show_status(f"Report saved to {target}", 8000)
        return target

    # --- live events ------------------------------------------------------------------------------------------------
    def _on_event(self, name: str, data: dict) -> None:
        if data.get("kind") != REPORT_KIND or data.get("id") not in self.pending_reports:
            if name in ("job_completed",) and str(data.get("kind", "")).startswith(("music.", "voice")):
                self.refresh_timer.start()  # generations and voice content are counted
            return
        if name == "job_completed":
            self.report_ready(data["id"])
        elif name in ("job_failed", "job_cancelled"):
            self.pending_reports.discard(data["id"])
            self.export_button.setEnabled(True)
            self.export_button.setText("Export report…")
            self._show_error(f"The report was not made: {(data.get('error') or {}).get('message', name)}")
