"""System: health checks, resource figures, all jobs, backups and settings (Overview), and the
pages of the other modules here: Resources (charts, storage, GPU), Logs, Problems, Services and
Maintenance."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.jobs import STATUSES
from studio.ui.formatting import when
from studio.ui.panels.base import Panel, PanelHost
from studio.ui.panels.system.errors import ErrorsPage
from studio.ui.panels.system.logs import LogsPage
from studio.ui.panels.system.maintenance import MaintenancePage
from studio.ui.panels.system.resources import ResourcesPage
from studio.ui.panels.system.services import ServicesPage
from studio.ui.theme import COLORS, icon
from studio.ui.widgets.cards import Card
from studio.ui.widgets.jobs_dock import JOB_EVENTS, StatusFilterModel, make_jobs_view

REFRESH_MS = 2000
CHECK_LABELS = {
    "database": "Database",
    "disk_space": "Disk space",
    "memory": "Memory",
    "apis": "Outside services",
    "job_workers": "Background jobs",
}
CHECK_EXPLAIN = {"none_configured": "none configured (optional)"}


class SystemPanel(Panel):
    title = "System"
    icon = "mdi6.server"
    key = "system"
    area = "system"
    subtitle = "Health, resources, jobs, backups, logs and maintenance of this studio."

    def __init__(self, host: PanelHost, parent: QWidget | None = None) -> None:
        super().__init__(host, parent)
        self.settings_button = QPushButton(icon("mdi6.cog"), "Settings…")
        self.settings_button.setToolTip("Change the API, engine and rate-limit settings (Ctrl+,)")
        self.settings_button.clicked.connect(host.open_settings)

        content = QWidget()
        body = QVBoxLayout(content)
        body.setContentsMargins(0, 10, 0, 0)
        body.setSpacing(16)
        top = QHBoxLayout()
        top.setSpacing(16)
        top.addWidget(self._build_health(), 1)
        top.addWidget(self._build_about(), 1)
        body.addLayout(top)
        body.addWidget(self._build_resources())
        body.addWidget(self._build_jobs(), 1)
        body.addWidget(self._build_backups())
        overview = QScrollArea()
        overview.setWidgetResizable(True)
        overview.setFrameShape(QFrame.Shape.NoFrame)
        overview.setWidget(content)

        self.logs = LogsPage(self.services, host)
        self.errors = ErrorsPage(self.services, host)
        self.services_page = ServicesPage(self.services, host)
        self.resources = ResourcesPage(self.services, host)
        self.maintenance = MaintenancePage(self.services, host)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for page, label in ((overview, "Overview"), (self.resources, "Resources"), (self.logs, "Logs"),
                            (self.errors, "Problems"), (self.services_page, "Services"),
                            (self.maintenance, "Maintenance")):
            self.tabs.addTab(page, label)
        self.overview = overview

        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 24, 28, 16)
        outer.setSpacing(8)
        outer.addLayout(self.header(self.settings_button))
        outer.addWidget(self.tabs, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh_resources)
        host.bridge.event.connect(self._on_event)
        host.api_status_changed.connect(lambda *_: self.refresh_about())

    # --- building -------------------------------------------------------------------------------
    def _build_health(self) -> QGroupBox:
        box = QGroupBox("Health")
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(6)
        self.health_status = QLabel("–")
        self.health_status.setObjectName("CardValue")
        self.health_button = QPushButton(icon("mdi6.refresh"), "Check again")
        self.health_button.clicked.connect(self.refresh_health)
        grid.addWidget(self.health_status, 0, 0, 1, 2)
        grid.addWidget(self.health_button, 0, 2, Qt.AlignmentFlag.AlignRight)
        self.check_labels: dict[str, QLabel] = {}
        for row, (key, label) in enumerate(CHECK_LABELS.items(), start=1):
            name = QLabel(label)
            name.setObjectName("Muted")
            value = QLabel("–")
            grid.addWidget(name, row, 0)
            grid.addWidget(value, row, 1, 1, 2)
            self.check_labels[key] = value
        grid.setColumnStretch(1, 1)
        return box

    def _build_about(self) -> QGroupBox:
        box = QGroupBox("This studio")
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(6)
        self.about_labels: dict[str, QLabel] = {}
        for row, (key, label) in enumerate((("version", "Version"), ("uptime", "Up for"), ("device", "Device"),
                                            ("api_url", "API"), ("data_dir", "Data folder"),
                                            ("database", "Database"))):
            name = QLabel(label)
            name.setObjectName("Muted")
            value = QLabel("–")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)
            grid.addWidget(name, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, row, 1)
            self.about_labels[key] = value
        grid.setColumnStretch(1, 1)
        return box

    def _build_resources(self) -> QGroupBox:
        box = QGroupBox("Resources (measured every 2 s while this panel is shown)")
        row = QHBoxLayout(box)
        row.setSpacing(12)
        self.cards = {
            "cpu_usage": Card("CPU in use"),
            "memory_usage": Card("Memory in use"),
            "disk_usage": Card("Disk in use (data folder)"),
            "process_memory_mb": Card("Studio's memory"),
            "jobs": Card("Jobs running / waiting"),
        }
        for card in self.cards.values():
            row.addWidget(card, 1)
        return box

    def _build_jobs(self) -> QGroupBox:
        box = QGroupBox("Jobs")
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        label = QLabel("Show")
        label.setObjectName("Muted")
        self.status_filter = QComboBox()
        self.status_filter.addItem("All jobs", "")
        for status in STATUSES:
            self.status_filter.addItem(status.capitalize(), status)
        self.status_filter.currentIndexChanged.connect(self._filter_changed)
        row.addWidget(label)
        row.addWidget(self.status_filter)
        row.addStretch(1)
        self.jobs_count = QLabel()
        self.jobs_count.setObjectName("Muted")
        row.addWidget(self.jobs_count)
        layout.addLayout(row)
        self.jobs_proxy = StatusFilterModel(self)
        self.jobs_proxy.setSourceModel(self.host.jobs_model)
        self.jobs_view = make_jobs_view(self.jobs_proxy, box)
        self.jobs_view.setMinimumHeight(200)
        layout.addWidget(self.jobs_view)
        for signal in (self.jobs_proxy.rowsInserted, self.jobs_proxy.rowsRemoved, self.jobs_proxy.modelReset,
                       self.jobs_proxy.layoutChanged):
            signal.connect(self._update_jobs_count)
        self._update_jobs_count()
        return box

    def _build_backups(self) -> QGroupBox:
        box = QGroupBox("Backups")
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        explain = QLabel("A backup is one archive with the database, the settings and all media files.")
        explain.setObjectName("Muted")
        explain.setWordWrap(True)
        self.backup_button = QPushButton(icon("mdi6.archive-arrow-down"), "Back up now")
        self.backup_button.setObjectName("Primary")
        self.backup_button.clicked.connect(self.start_backup)
        self.backup_folder_button = QPushButton(icon("mdi6.folder-open"), "Open backups folder")
        self.backup_folder_button.clicked.connect(self.open_backups_folder)
        row.addWidget(explain, 1)
        row.addWidget(self.backup_folder_button)
        row.addWidget(self.backup_button)
        layout.addLayout(row)
        self.backups_table = QTableWidget(0, 4)
        self.backups_table.setHorizontalHeaderLabels(["Created", "Status", "Size", "Includes"])
        self.backups_table.verticalHeader().setVisible(False)
        self.backups_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.backups_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.backups_table.setAlternatingRowColors(True)
        self.backups_table.setShowGrid(False)
        self.backups_table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.backups_table.horizontalHeader().setDefaultAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.backups_table.setColumnWidth(0, 200)
        self.backups_table.setColumnWidth(1, 110)
        self.backups_table.setColumnWidth(2, 100)
        self.backups_table.verticalHeader().setDefaultSectionSize(28)
        self.backups_empty = QLabel("No backups yet.")
        self.backups_empty.setObjectName("Muted")
        layout.addWidget(self.backups_table)
        layout.addWidget(self.backups_empty)
        return box

    # --- refreshing -----------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.refresh()
        self.timer.start()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.timer.stop()
        super().hideEvent(event)

    def refresh(self) -> None:
        self.refresh_health()
        self.refresh_about()
        self.refresh_resources()
        self.refresh_backups()

    def refresh_health(self) -> None:
        health = self.services.system.health()
        status = health["status"]
        color = {"healthy": COLORS["success"], "degraded": COLORS["warning"]}.get(status, COLORS["danger"])
        self.health_status.setText(status.capitalize())
        self.health_status.setStyleSheet(f"color: {color};")
        self.health_status.setToolTip(f"checked at {health['timestamp']}")
        for key, label in self.check_labels.items():
            value = health["checks"].get(key, "not checked")
            ok = value in ("ok", "none_configured")
            label.setText(CHECK_EXPLAIN.get(value, value))
            color = COLORS["success"] if value == "ok" else (COLORS["muted"] if ok else COLORS["warning"])
            label.setStyleSheet(f"color: {color};")
        self.last_health = health

    def refresh_about(self) -> None:
        status = self.services.system.status()
        if self.host.api_running:
            api = f"{self.host.api_url} (running)"
        else:
            api = f"off — {self.host.api_message or 'not started'}"
        values = {"version": status["version"], "uptime": status["uptime"], "device": status["device"],
                  "api_url": api, "data_dir": status["data_dir"], "database": status["database"]}
        for key, value in values.items():
            self.about_labels[key].setText(str(value))

    def refresh_resources(self) -> None:
        if self.tabs.currentWidget() is not self.overview and hasattr(self, "last_status"):
            return  # measured only while the Overview page is shown
        data = self.services.system.system_status()
        health = data["system_health"]
        self.cards["cpu_usage"].set(f"{health['cpu_usage']:.0f}%")
        self.cards["memory_usage"].set(f"{health['memory_usage']:.0f}%")
        self.cards["disk_usage"].set(f"{health['disk_usage']:.0f}%")
        self.cards["process_memory_mb"].set(f"{health['process_memory_mb']:.0f} MB")
        queue = next((s for s in data["services"] if s["name"] == "job_workers"), {})
        self.cards["jobs"].set(f"{queue.get('processing', 0)} / {queue.get('queued', 0)}")
        self.cards["jobs"].setToolTip(f"{queue.get('workers', 0)} worker(s)")
        self.about_labels["uptime"].setText(data["uptime"])
        self.last_status = data

    def refresh_backups(self) -> None:
        backups = self.services.system.list_backups()
        self.backups_table.setRowCount(len(backups))
        for row, backup in enumerate(backups):
            cells = [when(backup["created_at"], ""), backup["status"], backup.get("size") or "",
                     ", ".join(backup["includes"]) if backup["includes"] else ""]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, backup["id"])
                self.backups_table.setItem(row, col, item)
        header_h = self.backups_table.horizontalHeader().sizeHint().height()
        self.backups_table.setFixedHeight(header_h + 28 * min(max(len(backups), 1), 6) + 6)
        self.backups_table.setVisible(bool(backups))
        self.backups_empty.setVisible(not backups)
        self.backups = backups

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name in JOB_EVENTS and name != "job_progress" and data.get("kind") == "backup":
            self.refresh_backups()

    def _filter_changed(self) -> None:
        self.jobs_proxy.set_status(self.status_filter.currentData())
        self._update_jobs_count()

    def _update_jobs_count(self, *_args) -> None:
        shown = self.jobs_proxy.rowCount()
        self.jobs_count.setText(f"{shown} job{'s' if shown != 1 else ''}" if shown else "No jobs to show")

    # --- actions --------------------------------------------------------------------------------
    def start_backup(self) -> None:
        try:
            job = self.services.system.start_backup()
        except Exception as exc:
            QMessageBox.warning(self, "Backup not started", str(exc))
            return
        self.host.show_status(f"Backup started ({job['id']}); its progress is in the Jobs dock")
        self.refresh_backups()

    def open_backups_folder(self) -> None:
        folder = self.services.system.backups_dir
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def show_page(self, name: str) -> QWidget:
        """Show a page by name: overview, resources, logs, errors, services or maintenance."""
        page = {"overview": self.overview, "resources": self.resources, "logs": self.logs, "errors": self.errors,
                "services": self.services_page, "maintenance": self.maintenance}[name]
        self.tabs.setCurrentWidget(page)
        return page

    def primary_action(self) -> None:
        """Ctrl+Enter: check health again."""
        self.refresh_health()

    def focus_search(self) -> None:
        """Ctrl+F: the log search on the Logs page, else the jobs status filter."""
        if self.tabs.currentWidget() is self.logs:
            self.logs.search_edit.setFocus()
        else:
            self.status_filter.setFocus()
