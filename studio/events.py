"""In-process event bus: job progress, new trends, mentions and alerts, fanned out to the GUI
(Qt signals, see studio.ui.bridge) and to WebSocket clients (studio.server.ws).

Subscribers are called on the event loop's thread. Worker threads publish through
`publish_threadsafe`, which hops onto the loop first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Subscriber = Callable[[str, dict[str, Any]], None]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Register `callback(event, data)`; returns a function that unsubscribes it."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, event: str, data: dict[str, Any]) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event, data)
            except Exception:  # one broken subscriber must not starve the others
                log.exception("event subscriber failed on %s", event)

    def publish_threadsafe(self, event: str, data: dict[str, Any]) -> None:
        if self._loop is None or self._loop.is_closed():
            self.publish(event, data)
        else:
            self._loop.call_soon_threadsafe(self.publish, event, data)
