"""Cyclic garbage collection on the GUI thread only.

Python's cycle collector runs in whichever thread happens to allocate when a threshold is
crossed: a job worker, the tagger's pool, the API's executor. If a cycle it frees holds a Qt
object (a widget's Python wrapper, a signal connection's closure), that object's C++ destructor
then runs off the GUI thread, and Qt crashes (seen as a segfault "Garbage-collecting" inside a
generation job). So the GUI switches automatic collection off and runs the same generational
collections itself, from a timer on the GUI thread. Reference counting still frees everything
that is not in a cycle at once, in any thread.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_INTERVAL_MS = 200


class MainThreadGarbageCollector(QObject):
    """Owned by the QApplication; `install` once per application."""

    def __init__(self, parent: QObject, interval_ms: int = CHECK_INTERVAL_MS):
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> int:
        """Collect the generations whose thresholds are crossed, as the interpreter would."""
        count0, count1, count2 = gc.get_count()
        threshold0, threshold1, threshold2 = self.thresholds
        if count0 <= threshold0:
            return 0
        generation = 2 if count2 > threshold2 and count1 > threshold1 else 1 if count1 > threshold1 else 0
        return gc.collect(generation)


def install(app: QObject) -> MainThreadGarbageCollector:
    existing = app.findChild(MainThreadGarbageCollector)
    return existing if existing is not None else MainThreadGarbageCollector(app)
