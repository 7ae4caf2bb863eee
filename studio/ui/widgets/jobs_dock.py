"""Jobs: a live table model of the job queue, a progress-bar delegate, and the Jobs dock.

The model starts from `services.system.list_jobs()` and follows the bus (`job_queued`, `job_progress`,
`job_completed`, `job_failed`, `job_cancelled`), so a job submitted anywhere (a panel, the API,
the CLI of the same process) shows up and moves live.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QRectF,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QPainter, QPainterPath
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from studio.jobs import FINISHED, PROCESSING, QUEUED, JobStateError, UnknownJob
from studio.ui.formatting import when
from studio.ui.theme import COLORS, STATUS_COLORS, icon

if TYPE_CHECKING:
    from studio.services import Services
    from studio.ui.bridge import EventBridge

JOB_EVENTS = ("job_queued", "job_progress", "job_completed", "job_failed", "job_cancelled")
COLUMNS = ("Job", "ID", "Status", "Stage", "Progress")
COL_TITLE, COL_ID, COL_STATUS, COL_STAGE, COL_PROGRESS = range(len(COLUMNS))
JOB_ROLE = Qt.ItemDataRole.UserRole + 1


def job_label(job: dict[str, Any]) -> str:
    """What the job is, in the user's words; its internal kind (music.generate) is in the tooltip."""
    return job.get("title") or job.get("kind", "")


class JobsModel(QAbstractTableModel):
    """Jobs, newest first, kept up to date from the event bus."""

    def __init__(self, services: "Services", bridge: "EventBridge | None" = None, *, limit: int = 500,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.limit = limit
        self._rows: list[dict[str, Any]] = []
        self._index: dict[str, int] = {}
        self.reload()
        if bridge is not None:
            bridge.event.connect(self._on_event)

    # --- data in --------------------------------------------------------------------------------
    def reload(self) -> None:
        _total, jobs = self.services.system.list_jobs(limit=self.limit)
        self.beginResetModel()
        self._rows = list(jobs)
        self._reindex()
        self.endResetModel()

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name in JOB_EVENTS and "id" in data and "status" in data:
            self.upsert(data)

    def upsert(self, job: dict[str, Any]) -> None:
        row = self._index.get(job["id"])
        if row is not None:
            merged = {**self._rows[row], **job}
            if job.get("status") in FINISHED:
                merged.pop("cancel_requested", None)
            self._rows[row] = merged
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
            return
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._rows.insert(0, dict(job))
        self._reindex()
        self.endInsertRows()
        self._trim()

    def mark_cancel_requested(self, job_id: str) -> None:
        row = self._index.get(job_id)
        if row is not None and self._rows[row]["status"] == PROCESSING:
            self._rows[row]["cancel_requested"] = True
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def _trim(self) -> None:
        while len(self._rows) > self.limit:
            # drop the oldest finished job; keep unfinished ones whatever their age
            for row in range(len(self._rows) - 1, -1, -1):
                if self._rows[row]["status"] in FINISHED:
                    self.beginRemoveRows(QModelIndex(), row, row)
                    del self._rows[row]
                    self._reindex()
                    self.endRemoveRows()
                    break
            else:
                return

    def _reindex(self) -> None:
        self._index = {job["id"]: i for i, job in enumerate(self._rows)}

    # --- data out -------------------------------------------------------------------------------
    def job_at(self, row: int) -> dict[str, Any]:
        return self._rows[row]

    def row_of(self, job_id: str) -> int | None:
        return self._index.get(job_id)

    def job(self, job_id: str) -> dict[str, Any] | None:
        row = self._index.get(job_id)
        return None if row is None else self._rows[row]

    def active_count(self) -> int:
        return sum(1 for job in self._rows if job["status"] in (QUEUED, PROCESSING))

    def rowCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802 - Qt API
        return 0 if parent is not None and parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802 - Qt API
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        job = self._rows[index.row()]
        col = index.column()
        if role == JOB_ROLE:
            return job
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_TITLE:
                return job_label(job)
            if col == COL_ID:
                return job["id"]
            if col == COL_STATUS:
                return "cancelling" if job.get("cancel_requested") and job["status"] == PROCESSING else job["status"]
            if col == COL_STAGE:
                return job.get("stage") or ""
            if col == COL_PROGRESS:
                return f"{float(job.get('progress') or 0):.0f}%"
        if role == Qt.ItemDataRole.EditRole and col == COL_PROGRESS:
            return float(job.get("progress") or 0)
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_STATUS:
            return QColor(STATUS_COLORS.get(job["status"], COLORS["text"]))
        if role == Qt.ItemDataRole.ToolTipRole:
            error = job.get("error") or {}
            if error:
                return f"{error.get('code', 'error')}: {error.get('message', '')}"
            return f"{job['kind']} · created {when(job.get('created_at'), '?')}"
        return None


class ProgressDelegate(QStyledItemDelegate):
    """Paints the Progress column as a bar coloured by the job's status."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)

        job = index.data(JOB_ROLE) or {}
        fraction = max(0.0, min(1.0, float(job.get("progress") or 0) / 100.0))
        status = job.get("status", "")
        rect = QRectF(opt.rect).adjusted(6, 6, -6, -6)
        if rect.height() > 16:
            rect.setTop(rect.center().y() - 8)
            rect.setHeight(16)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        track = QPainterPath()
        track.addRoundedRect(rect, 4, 4)
        painter.fillPath(track, QColor(COLORS["alternate"]))
        if fraction > 0:
            filled = QRectF(rect)
            filled.setWidth(rect.width() * fraction)
            bar = QPainterPath()
            bar.addRoundedRect(filled, 4, 4)
            painter.fillPath(bar, QColor(STATUS_COLORS.get(status, COLORS["accent"])))
        painter.setPen(QColor(COLORS["text"]))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"{fraction * 100:.0f}%")
        painter.restore()


def make_jobs_view(model, parent: QWidget | None = None) -> QTableView:
    """A table of jobs with the progress delegate, single row selection."""
    view = QTableView(parent)
    view.setModel(model)
    view.setItemDelegateForColumn(COL_PROGRESS, ProgressDelegate(view))
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(28)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setSectionResizeMode(COL_TITLE, QHeaderView.ResizeMode.Stretch)
    header.setSectionResizeMode(COL_ID, QHeaderView.ResizeMode.Interactive)
    header.setSectionResizeMode(COL_STATUS, QHeaderView.ResizeMode.Interactive)
    header.setSectionResizeMode(COL_STAGE, QHeaderView.ResizeMode.Interactive)
    header.setSectionResizeMode(COL_PROGRESS, QHeaderView.ResizeMode.Fixed)
    view.setColumnWidth(COL_ID, 215)
    view.setColumnWidth(COL_STATUS, 100)
    view.setColumnWidth(COL_STAGE, 150)
    view.setColumnWidth(COL_PROGRESS, 130)
    return view


class StatusFilterModel(QSortFilterProxyModel):
    """Shows the jobs of one status (or all with an empty status)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._status = ""

    def set_status(self, status: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9
            self.beginFilterChange()
            self._status = status
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._status = status
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:  # noqa: N802
        if not self._status:
            return True
        return self.sourceModel().job_at(source_row)["status"] == self._status


class JobsDock(QDockWidget):
    """Live list of jobs with Cancel and Retry for the selected one."""

    def __init__(self, services: "Services", model: JobsModel, parent: QWidget | None = None) -> None:
        super().__init__("Jobs", parent)
        self.setObjectName("JobsDock")
        self.services = services
        self.model = model
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(6)

        self.view = make_jobs_view(model, body)
        layout.addWidget(self.view, 1)

        row = QHBoxLayout()
        self.summary = QLabel()
        self.summary.setObjectName("Muted")
        row.addWidget(self.summary, 1)
        self.cancel_button = QPushButton(icon("mdi6.close-circle-outline"), "Cancel")
        self.cancel_button.setToolTip("Stop the selected job (running jobs stop at their next step)")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.retry_button = QPushButton(icon("mdi6.restart"), "Retry")
        self.retry_button.setToolTip("Run the selected finished job again, as a new job with the same settings")
        self.retry_button.clicked.connect(self.retry_selected)
        row.addWidget(self.cancel_button)
        row.addWidget(self.retry_button)
        layout.addLayout(row)
        self.setWidget(body)

        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        model.dataChanged.connect(self._update_buttons)
        model.rowsInserted.connect(self._update_buttons)
        model.modelReset.connect(self._update_buttons)
        self._update_buttons()

    # --- selection ------------------------------------------------------------------------------
    def selected_job(self) -> dict[str, Any] | None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.job_at(rows[0].row())

    def select_job(self, job_id: str) -> bool:
        row = self.model.row_of(job_id)
        if row is None:
            return False
        self.view.selectRow(row)
        return True

    def _update_buttons(self, *_args) -> None:
        job = self.selected_job()
        status = job["status"] if job else None
        self.cancel_button.setEnabled(status in (QUEUED, PROCESSING) and not (job or {}).get("cancel_requested"))
        self.retry_button.setEnabled(status in FINISHED)
        active = self.model.active_count()
        self.summary.setText(f"{active} active · {self.model.rowCount()} shown" if self.model.rowCount()
                             else "No jobs yet. Long operations (renders, backups) appear here.")

    # --- actions --------------------------------------------------------------------------------
    def cancel_selected(self) -> None:
        job = self.selected_job()
        if job is None:
            return
        try:
            data = self.services.system.cancel_job(job["id"])
        except JobStateError as exc:
            QMessageBox.warning(self, "Cannot cancel", str(exc))
            return
        except UnknownJob:
            QMessageBox.warning(self, "Cannot cancel", f"Job {job['id']} no longer exists.")
            return
        if data.get("cancel_requested"):
            self.model.mark_cancel_requested(job["id"])
        else:
            self.model.upsert(data)
        self._update_buttons()

    def retry_selected(self) -> None:
        job = self.selected_job()
        if job is None:
            return
        try:
            new = self.services.system.retry_job(job["id"])
        except JobStateError as exc:
            QMessageBox.warning(self, "Cannot retry", str(exc))
            return
        except UnknownJob:
            QMessageBox.warning(self, "Cannot retry", f"Job {job['id']} no longer exists.")
            return
        except ValueError as exc:  # e.g. its kind is no longer registered
            QMessageBox.warning(self, "Cannot retry", str(exc))
            return
        self.model.upsert(new)
        self.select_job(new["id"])
