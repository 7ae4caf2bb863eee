"""Pausing Python's cycle collector while a large file becomes millions of small objects.

The collector's full passes walk every object of the process again and again while they are made
(json.loads of 100 000 messages: 0.7 s with it, 0.2 s without; a 200 000-row statement import:
about 0.4 s). Callers make no cycles worth collecting at once. Collection is switched back on
only if it was on: the GUI keeps automatic collection off and collects on its own thread
(studio.ui.gc_guard). Imports nothing of the studio, so every layer may use it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
