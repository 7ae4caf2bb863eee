"""Run blocking work (file reads, decoding, copies) on Qt's thread pool and get the result back on
the GUI thread, so the loop is never held up.

`TaskRunner.start(name, fn)` runs `fn()` on a pool thread; its result arrives as `done(name, result)`
(or `failed(name, message)`) on the thread the runner lives in. A newer task of the same name makes
the older one's result stale: it is dropped, so a slow load cannot overwrite a newer one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _TaskSignals(QObject):
    done = Signal(str, int, object)  # name, token, result
    failed = Signal(str, int, str)  # name, token, message


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], name: str, token: int, signals: _TaskSignals) -> None:
        super().__init__()
        self.fn, self.name, self.token, self.signals = fn, name, token, signals

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # reported to the GUI, which says what went wrong
            try:
                self.signals.failed.emit(self.name, self.token, str(exc) or type(exc).__name__)
            except RuntimeError:  # the receiver was closed meanwhile
                pass
            return
        try:
            self.signals.done.emit(self.name, self.token, result)
        except RuntimeError:
            pass


class TaskRunner(QObject):
    done = Signal(str, object)
    failed = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._signals = _TaskSignals(self)
        self._signals.done.connect(self._on_done)
        self._signals.failed.connect(self._on_failed)
        self._tokens: dict[str, int] = {}
        self._running: dict[str, int] = {}

    def start(self, name: str, fn: Callable[[], Any]) -> None:
        token = self._tokens.get(name, 0) + 1
        self._tokens[name] = token
        self._running[name] = token
        QThreadPool.globalInstance().start(_Task(fn, name, token, self._signals))

    def forget(self, name: str) -> None:
        """Drop the result of the running task `name`, if any."""
        self._tokens[name] = self._tokens.get(name, 0) + 1
        self._running.pop(name, None)

    def busy(self, name: str) -> bool:
        return name in self._running

    def _on_done(self, name: str, token: int, result: Any) -> None:
        if self._tokens.get(name) != token:
            return
        self._running.pop(name, None)
        self.done.emit(name, result)

    def _on_failed(self, name: str, token: int, message: str) -> None:
        if self._tokens.get(name) != token:
            return
        self._running.pop(name, None)
        self.failed.emit(name, message)
