"""Cycles are collected on the GUI thread, by the app's timer, never by a worker thread."""

import gc
import threading
import weakref

from studio.ui import gc_guard
from studio.ui.app import ensure_app


class Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the cycle collector frees it


def test_app_collects_cycles_on_its_own_thread(qtbot):
    app = ensure_app()
    guard = gc_guard.install(app)
    assert gc_guard.install(app) is guard  # one per application
    assert not gc.isenabled()
    collected_in: list[str] = []
    probe = Node()
    weakref.finalize(probe, lambda: collected_in.append(threading.current_thread().name))
    del probe

    def churn():  # allocation in a worker crosses the thresholds but must not collect there
        junk = [Node() for _ in range(5 * guard.thresholds[0])]
        del junk

    worker = threading.Thread(target=churn, name="worker")
    worker.start()
    worker.join()
    assert collected_in == []
    qtbot.waitUntil(lambda: bool(collected_in), timeout=3000)
    assert collected_in == [threading.main_thread().name]


def test_check_collects_only_past_the_threshold(qtbot):
    guard = gc_guard.install(ensure_app())
    gc.collect()
    assert guard.check() == 0  # nothing allocated since
