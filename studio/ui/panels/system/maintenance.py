"""System > Maintenance: choose what to tidy (all by default), run it as a background job, follow
its progress, then read what each step found and did in plain words."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from studio.services.system.maintenance import KIND, OPERATIONS, MaintenanceBusy
from studio.ui.panels.system.common import Page, local_time, megabytes, reason
from studio.ui.theme import icon
from studio.ui.widgets.jobs_dock import JOB_EVENTS

# Each step as the user reads it: a name and what it does.
STEP_LABELS = {
    "integrity_check": ("Check the database", "Looks for damage in the studio's database."),
    "request_log_prune": ("Trim the API request log", "Deletes requests older than the days you keep; "
                          "the daily totals stay."),
    "orphaned_media": ("Remove unused media files", "Deletes files no track, voice or report uses any more "
                       "(older than an hour)."),
    "temp_cleanup": ("Remove leftover temporary files", "Unfinished files from interrupted work."),
    "log_rotation": ("Start a new log file", "The oldest saved log file is dropped."),
    "optimize": ("Refresh search statistics", "Keeps lists and searches fast."),
    "vacuum": ("Compact the database", "Gives unused space back to the disk (only while no other job runs)."),
}
STAGE_LABELS = {name: label for name, (label, _) in STEP_LABELS.items()} | {"finished": "Finishing",
                                                                           "queued": "Waiting to start",
                                                                           "starting": "Starting"}


def step_sentence(name: str, step: dict[str, Any]) -> str:
    """What one step found and did, in words."""
    status = step.get("status")
    if status == "skipped":
        return f"skipped: {step.get('reason', 'not needed')}"
    if status == "failed":
        return f"failed: {step.get('error', 'no reason recorded')}"
    freed = step.get("bytes_freed")
    freed_text = f", {megabytes(freed, 2)} freed" if freed else ""
    if name == "integrity_check":
        if step.get("integrity") == "ok":
            return "no problems found"
        return (f"found {step.get('problem_count', 'some')} problem(s): restore a backup before changing the "
                "database")
    if name == "request_log_prune":
        rows = step.get("rows_deleted", 0)
        return f"{rows} old row{'s' if rows != 1 else ''} deleted (requests are kept {step.get('retention_days')} days)"
    if name == "orphaned_media":
        deleted = step.get("files_deleted", 0)
        text = f"{deleted} of {step.get('files_scanned', 0)} files deleted{freed_text}"
        if step.get("kept_too_recent"):
            text += f"; {step['kept_too_recent']} recent file(s) kept for now"
        return text
    if name == "temp_cleanup":
        deleted = step.get("files_deleted", 0)
        return f"{deleted} file{'s' if deleted != 1 else ''} deleted{freed_text}" if deleted else "nothing to remove"
    if name == "log_rotation":
        return f"a new log file was started{freed_text}"
    if name == "optimize":
        return "statistics refreshed"
    if name == "vacuum":
        before, after = step.get("size_before_bytes"), step.get("size_after_bytes")
        sizes = f" ({megabytes(before, 2)} → {megabytes(after, 2)})" if before is not None else ""
        if step.get("vacuumed"):
            return f"compacted{sizes}{freed_text}"
        why = step.get("reason", "")
        return f"not compacted this time{': ' + why if why else ''}; pending changes were saved instead{sizes}"
    return "done"


def report_html(job: dict[str, Any]) -> str:
    """A finished maintenance job's result as an HTML list."""
    status = job.get("status")
    when = local_time(job.get("finished_at"))
    if status == "failed":
        message = (job.get("error") or {}).get("message") or "no reason recorded"
        return f"<p><b>Maintenance failed</b> ({when}): {message}</p>"
    if status == "cancelled":
        return f"<p><b>Maintenance was cancelled</b> ({when}).</p>"
    result = job.get("result") or {}
    steps = result.get("steps") or {}
    items = []
    for name in result.get("operations") or steps:
        step = steps.get(name, {})
        label = STEP_LABELS.get(name, (name.replace("_", " ").capitalize(), ""))[0]
        mark = {"failed": "✗", "skipped": "–"}.get(step.get("status"), "✓")
        items.append(f"{mark} <b>{label}</b>: {step_sentence(name, step)}")
    freed = result.get("bytes_freed") or 0
    took = result.get("duration_s")
    took_text = "" if not isinstance(took, (int, float)) else (" in under 0.1 s" if took < 0.1 else f" in {took:.1f} s")
    summary = (f"Finished {when}{took_text}"
               + f" · {megabytes(freed, 2)} freed in all")
    return f"<p><b>{summary}</b></p><p>{'<br>'.join(items)}</p>"


class MaintenancePage(Page):
    def __init__(self, services: Any, host: Any, parent: QWidget | None = None) -> None:
        super().__init__(services, host, parent)
        self.job_id: str | None = None
        self.job: dict[str, Any] | None = None

        choose = QGroupBox("What to do")
        grid = QGridLayout(choose)
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(4)
        self.checks: dict[str, QCheckBox] = {}
        for index, name in enumerate(OPERATIONS):
            label, explain = STEP_LABELS.get(name, (name, ""))
            check = QCheckBox(label)
            check.setChecked(True)
            check.setToolTip(explain)
            check.toggled.connect(self._update_button)
            self.checks[name] = check
            rows = (len(OPERATIONS) + 1) // 2
            grid.addWidget(check, index % rows, index // rows)
        self.layout_.addWidget(choose)

        row = QHBoxLayout()
        note = QLabel("Maintenance runs in the background; the studio stays usable. Nothing you made is deleted: "
                      "only files and rows nothing refers to.")
        note.setObjectName("Muted")
        note.setWordWrap(True)
        self.run_button = QPushButton(icon("mdi6.broom"), "Run maintenance")
        self.run_button.setObjectName("Primary")
        self.run_button.clicked.connect(self.start)
        row.addWidget(note, 1)
        row.addWidget(self.run_button, 0, Qt.AlignmentFlag.AlignTop)
        self.layout_.addLayout(row)

        result = QGroupBox("Last run")
        box = QVBoxLayout(result)
        self.stage_label = QLabel("Maintenance has not run yet.")
        self.stage_label.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        self.report = QTextBrowser()
        self.report.setOpenLinks(False)
        self.report.setMinimumHeight(150)
        box.addWidget(self.stage_label)
        box.addWidget(self.progress)
        box.addWidget(self.report, 1)
        self.layout_.addWidget(result, 1)
        host.bridge.event.connect(self._on_event)

    def on_show(self) -> None:
        if self.job_id is None and not self.busy("the last maintenance"):
            self.read("the last maintenance",
                      lambda: self.services.system.list_jobs(kind=KIND, limit=1)[1], self._last_loaded)

    def _last_loaded(self, jobs: list[dict[str, Any]]) -> None:
        if jobs and self.job_id is None:
            self.show_job(jobs[0])

    def operations(self) -> list[str]:
        return [name for name, check in self.checks.items() if check.isChecked()]

    def _update_button(self) -> None:
        running = self.job is not None and self.job.get("status") in ("queued", "processing")
        self.run_button.setEnabled(bool(self.operations()) and not running)

    def start(self) -> dict[str, Any] | None:
        chosen = self.operations()
        if not chosen:
            return None
        try:
            started = self.services.system.maintenance.start(chosen)
        except MaintenanceBusy as busy:
            QMessageBox.information(self, "Maintenance is already running",
                                    "Maintenance is already running. Its progress is shown here; start it again "
                                    "once it has finished.")
            job_id = self.job_id = busy.job_id
            self.read("the running maintenance", lambda: self.services.system.get_job(job_id), self.show_job)
            return None
        except Exception as exc:
            QMessageBox.warning(self, "Maintenance not started", reason(exc))
            return None
        job = started["job"]
        self.job_id = job["id"]
        self.report.clear()
        self.show_job(job)
        self.host.show_status("Maintenance started")
        return started

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name not in JOB_EVENTS or data.get("kind") != KIND:
            return
        if self.job_id is None or data.get("id") == self.job_id or data.get("status") == "queued":
            self.job_id = data.get("id")
            self.show_job(data)

    def show_job(self, job: dict[str, Any]) -> None:
        self.job = job
        status = job.get("status")
        running = status in ("queued", "processing")
        self.progress.setVisible(running)
        if running:
            stage = job.get("stage") or status
            self.progress.setValue(int(job.get("progress") or 0))
            self.stage_label.setText(f"Running: {STAGE_LABELS.get(stage, stage.replace('_', ' '))}…")
        else:
            self.stage_label.setText({"completed": "Done.", "failed": "Maintenance failed.",
                                      "cancelled": "Maintenance was cancelled."}.get(status, status or ""))
            self.report.setHtml(report_html(job))
        self._update_button()
