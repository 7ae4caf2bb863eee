"""What every panel shares: the host it talks to, the base class and the empty-state block.

A panel is a QWidget subclass that declares `title`, `icon` (a qtawesome name), `key` (its own
name in the sidebar, unique) and `area` (the name its area has in every layer: `services/<area>`,
`server/routes/<area>`, `ui/panels/<area>`; music has two panels, Create and Library). It may define:

- `primary_action()`: what Ctrl+Enter does while the panel is shown;
- `focus_search()`: what Ctrl+F does (the window focuses the sidebar when a panel has none).

Panels reach services only through `host.services` (never the database, the engine or the HTTP API).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from studio.ui.theme import COLORS, icon

if TYPE_CHECKING:
    from studio.services import Services
    from studio.ui.bridge import EventBridge
    from studio.ui.widgets.player_bar import PlayerBar


class PanelHost(QObject):
    """What the main window lends to its panels: the Context, live events, the shared jobs model,
    the player bar, and a few window-level actions."""

    api_status_changed = Signal(bool, str)  # running, message

    def __init__(self, services: "Services", bridge: "EventBridge", parent: QObject | None = None) -> None:
        super().__init__(parent)
        from studio.ui.widgets.jobs_dock import JobsModel

        self.services = services
        self.bridge = bridge
        self.jobs_model: JobsModel = JobsModel(services, bridge, parent=self)
        self.player: PlayerBar | None = None
        self.api_running = bool(services.server_running)
        self.api_message = ""
        self.api_short = ""
        # The URL the server actually listens on; settings may name another port until a restart.
        self.api_url = services.settings.api_base_url
        self._open_settings: Callable[[], Any] | None = None
        self._show_status: Callable[[str, int], Any] | None = None

    def set_api_status(self, running: bool, message: str, url: str | None = None, *, short: str = "") -> None:
        """`message` says what happened; `short` is the few words the status bar has room for."""
        self.api_running = running
        self.api_message = message
        self.api_short = short
        if url:
            self.api_url = url
        self.api_status_changed.emit(running, message)

    def open_settings(self) -> None:
        if self._open_settings is not None:
            self._open_settings()

    def show_status(self, text: str, timeout_ms: int = 4000) -> None:
        if self._show_status is not None:
            self._show_status(text, timeout_ms)


class Panel(QWidget):
    title: str = ""
    icon: str = "mdi6.circle-outline"
    key: str = ""
    area: str = ""
    subtitle: str = ""

    def __init__(self, host: PanelHost, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.services = host.services
        self.setObjectName(f"Panel_{self.key}")

    def header(self, *extra: QWidget) -> QHBoxLayout:
        """Title and subtitle on the left, `extra` widgets (buttons) on the right."""
        row = QHBoxLayout()
        row.setSpacing(12)
        text = QVBoxLayout()
        text.setSpacing(2)
        title = QLabel(self.title)
        title.setObjectName("PanelTitle")
        text.addWidget(title)
        if self.subtitle:
            sub = QLabel(self.subtitle)
            sub.setObjectName("PanelSubtitle")
            sub.setWordWrap(True)
            text.addWidget(sub)
        row.addLayout(text, 1)
        for widget in extra:
            row.addWidget(widget, 0, Qt.AlignmentFlag.AlignTop)
        return row


def empty_state(icon_name: str, title: str, note: str = "") -> QFrame:
    """A framed 'nothing here yet' block: icon, title and an optional note."""
    frame = QFrame()
    frame.setObjectName("EmptyState")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(28, 24, 28, 24)
    layout.setSpacing(10)
    glyph = QLabel()
    glyph.setPixmap(icon(icon_name, COLORS["muted"]).pixmap(40, 40))
    glyph.setAlignment(Qt.AlignmentFlag.AlignHCenter)
    layout.addWidget(glyph)
    heading = QLabel(title)
    heading.setObjectName("EmptyTitle")
    heading.setAlignment(Qt.AlignmentFlag.AlignHCenter)
    heading.setWordWrap(True)
    layout.addWidget(heading)
    if note:
        foot = QLabel(note)
        foot.setObjectName("Muted")
        foot.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        foot.setWordWrap(True)
        layout.addWidget(foot)
    return frame
