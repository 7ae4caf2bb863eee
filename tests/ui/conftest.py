"""Fixtures for GUI tests (pytest-qt, offscreen).

The Context is built in a temporary STUDIO_HOME. Its job queue runs on a qasync loop bound to the
test QApplication: workers hop back with `call_soon_threadsafe`, which qasync turns into Qt events,
so `qtbot.waitUntil` (which processes Qt events) is all it takes for job events to arrive.
"""

from __future__ import annotations

import asyncio
import os
import threading

import numpy as np
import pytest

from studio.app import build_services, shutdown
from studio.config import Settings
from tests.support.steps_job import StepsJob


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    for name in list(os.environ):
        if name.startswith("STUDIO_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("STUDIO_HOME", str(home))
    return Settings(home=home)


@pytest.fixture
def qt_loop(qapp):
    import qasync

    from studio.ui.app import ensure_app

    ensure_app()  # theme, application name
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def step_job() -> StepsJob:
    """The test job kind, held after its first step until the test sets `step_job.gate`."""
    return StepsJob(gate=threading.Event())


@pytest.fixture
def services(settings, qt_loop, step_job):
    built = build_services(settings)
    built.context.jobs.register(step_job.handler())
    built.context.jobs.start(qt_loop)
    yield built
    step_job.gate.set()
    shutdown(built)


class CollectingSink:
    """A null audio output that counts the frames it was handed."""

    def __init__(self) -> None:
        self.frames = 0
        self.blocks = 0

    def __call__(self, block: np.ndarray) -> None:
        assert block.ndim == 2 and block.shape[1] == 2
        self.frames += len(block)
        self.blocks += 1


@pytest.fixture
def sink() -> CollectingSink:
    return CollectingSink()


@pytest.fixture
def window(services, qtbot, sink):
    from studio.ui.app import create_main_window

    win = create_main_window(services, player_sink=sink)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


@pytest.fixture
def message_boxes(monkeypatch):
    """Records QMessageBox.warning/critical/information calls instead of opening modal boxes."""
    from PySide6.QtWidgets import QMessageBox

    calls: list[tuple[str, str, str]] = []

    def recorder(kind):
        def record(parent, title, text, *args, **kwargs):
            calls.append((kind, title, text))
            return QMessageBox.StandardButton.Ok
        return record

    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, kind, recorder(kind))
    return calls
