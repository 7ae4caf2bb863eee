"""The infrastructure every service shares: settings, database, media store, event bus, job queue
and the device the engine renders on, plus where the API server really listens.

Only infrastructure lives here. Services are built by the composition root (`studio.app`), each
with the services it uses as constructor arguments, and handed to the GUI and the server as one
`studio.services.Services`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from studio.config import Settings
from studio.db import Database, MediaStore
from studio.engine.device import DeviceInfo, describe_device
from studio.events import EventBus
from studio.jobs import JobQueue


@dataclass
class Context:
    settings: Settings
    db: Database
    store: MediaStore
    events: EventBus
    jobs: JobQueue
    server_running: bool = False
    api_url: str | None = None  # where the API really listens (None while it does not run)
    _device: DeviceInfo | None = field(default=None, repr=False)
    _device_error: str | None = field(default=None, repr=False)

    # --- device (torch import is slow: resolved in the background at start-up) ------------------
    def detect_device_async(self) -> None:
        threading.Thread(target=self._detect_device, name="device-probe", daemon=True).start()

    def _detect_device(self) -> None:
        try:
            self._device = describe_device(self.settings.device)
        except Exception as exc:  # e.g. cuda requested without a GPU
            self._device_error = str(exc)
        self.events.publish_threadsafe("device_ready", {"label": self.device_label(), "error": self._device_error})

    @property
    def device(self) -> DeviceInfo | None:
        return self._device

    def device_label(self) -> str:
        if self._device is not None:
            return self._device.label
        return f"unavailable: {self._device_error}" if self._device_error else "detecting…"

    @property
    def api_base_url(self) -> str:
        """The running API's URL, or the configured one when it does not run (yet)."""
        return self.api_url or self.settings.api_base_url
