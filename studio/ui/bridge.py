"""Event bus -> Qt signal.

Subscribers of `services.events` are called on the asyncio loop's thread, which in the GUI is Qt's main
thread (qasync), so re-emitting directly is safe: connected slots run on the GUI thread.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.events import EventBus


class EventBridge(QObject):
    """Emits `event(name, data)` for every event published on the bus."""

    event = Signal(str, dict)

    def __init__(self, events: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe = events.subscribe(self._on_event)

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        # Qt carries a `dict` signal argument as a QVariantMap, which needs string keys.
        self.event.emit(name, _string_keys(data))

    def close(self) -> None:
        """Stop listening (the window calls this when it closes)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None


def _string_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value
