"""What the System panel's pages share: plain-words names for the studio's parts, relative times,
sizes in MB, and a page base that reads through the thread pool and shows a failure in words."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from studio.ui.widgets.tasks import TaskRunner

# The registry's service names and the log's service names, as a user reads them.
SERVICE_LABELS = {
    "job_workers": "Background jobs",
    "api_server": "Local API",
    "request_log": "API request log",
    "trend_monitor": "Trend scans",
    "community_live": "Community inbox polling",
    "webhooks": "Webhook callbacks",
}
LOG_SERVICE_LABELS = {
    "music": "Music", "voices": "Voices", "analysis": "Analysis", "trends": "Trends", "community": "Community",
    "analytics": "Analytics", "system": "System", "api": "Local API", "database": "Database",
    "engine": "Engine", "jobs": "Background jobs", "ui": "Window", "studio": "Studio", "cli": "Command line",
    "webhooks": "Webhooks", "publishing": "Publishing", "aiohttp": "Web server", "root": "Other",
}


def job_kind_label(kind: str) -> str:
    """'system.maintenance' -> 'System: maintenance', 'backup' -> 'Backup'."""
    area, _, what = (kind or "").partition(".")
    if not what:
        return area.replace("_", " ").capitalize()
    return f"{log_service_label(area)}: {what.replace('_', ' ')}"


def service_label(name: str) -> str:
    return SERVICE_LABELS.get(name) or name.replace("_", " ").capitalize()


def log_service_label(name: str) -> str:
    return LOG_SERVICE_LABELS.get(name) or name.replace("_", " ").capitalize()


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def ago(value: str | None, missing: str = "never", now: datetime | None = None) -> str:
    """'just now', '12 s ago', '5 min ago', '3 h ago', '2 days ago' of an ISO time from a service."""
    at = parse_time(value)
    if at is None:
        return missing
    seconds = ((now or datetime.now(timezone.utc)) - at).total_seconds()
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{seconds:.0f} s ago"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    if seconds < 86400:
        return f"{seconds // 3600:.0f} h ago"
    days = int(seconds // 86400)
    return f"{days} day{'s' if days != 1 else ''} ago"


def local_time(value: str | None, *, seconds: bool = True) -> str:
    """An ISO time from a service in this computer's time zone: '2026-01-02 14:05:09'."""
    at = parse_time(value)
    if at is None:
        return ""
    return at.astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def megabytes(size_bytes: float | int | None, digits: int = 1) -> str:
    if size_bytes is None:
        return "–"
    mb = float(size_bytes) / (1 << 20)
    if mb >= 1024:
        return f"{mb / 1024:.{digits}f} GB"
    if 0 < mb < 0.05:
        return f"{float(size_bytes) / 1024:.0f} KB"
    return f"{mb:.{digits}f} MB"


def reason(exc: BaseException | str) -> str:
    """What a service's error says, without its type or a traceback."""
    if isinstance(exc, str):
        return exc
    return str(getattr(exc, "message", "") or exc) or type(exc).__name__


class Page(QWidget):
    """A page of the System panel: reads run on the thread pool (`read(name, fn, done)`), a failed
    read shows its reason in the page's message line; pages refresh when shown (`on_show`)."""

    def __init__(self, services: Any, host: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.host = host
        self.tasks = TaskRunner(self)
        self.tasks.done.connect(self._done)
        self.tasks.failed.connect(self._failed)
        self._callbacks: dict[str, Callable[[Any], None]] = {}
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 10, 0, 0)
        self.layout_.setSpacing(10)
        self.message = QLabel("")
        self.message.setObjectName("Warning")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.layout_.addWidget(self.message)

    def read(self, name: str, fn: Callable[[], Any], done: Callable[[Any], None]) -> None:
        self._callbacks[name] = done
        self.tasks.start(name, fn)

    def busy(self, name: str | None = None) -> bool:
        if name is not None:
            return self.tasks.busy(name)
        return any(self.tasks.busy(n) for n in self._callbacks)

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _done(self, name: str, result: Any) -> None:
        callback = self._callbacks.get(name)
        if callback is not None:
            callback(result)

    def _failed(self, name: str, message: str) -> None:
        self.show_message(f"Could not read {name}: {message}")

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.on_show()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.on_hide()
        super().hideEvent(event)

    def on_show(self) -> None:
        pass

    def on_hide(self) -> None:
        pass
