"""Debouncing: many calls of `start()` in a short time run the slot once, after the last."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer


def debounce_timer(parent: QObject, interval_ms: int, slot: Callable[[], object]) -> QTimer:
    """A single-shot QTimer owned by `parent` that calls `slot` `interval_ms` after its last
    `start()` (0: on the next pass of the event loop). Panels use it to coalesce keystrokes and
    bursts of events into one refresh."""
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer
