"""Composition root: builds one Context (settings, db, store, jobs, services) and starts the
GUI and/or the API server on one asyncio loop."""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import threading
from dataclasses import dataclass, field
from typing import Any

from studio.config import Settings
from studio.db import Database, MediaStore
from studio.engine.device import DeviceInfo, describe_device
from studio.events import EventBus
from studio.jobs import JobQueue
from studio.services.auth import AuthService, FirstRunCredentials

log = logging.getLogger("studio")


@dataclass
class Context:
    settings: Settings
    db: Database
    store: MediaStore
    events: EventBus
    jobs: JobQueue
    auth: AuthService
    system: Any = None  # SystemService; set in build_context (it needs the Context itself)
    music: Any = None  # MusicService
    analysis: Any = None  # AnalysisService (seed 004 predictions, the Analyze panel)
    voices: Any = None  # VoicesService (voice characters, scripts, speech, voice matching)
    templates: Any = None  # TemplateService (seed 001 templates)
    webhooks: Any = None  # WebhookService (seed 001 callbacks)
    rate_limiter: Any = None  # set by the API server when it runs
    server_running: bool = False
    api_url: str | None = None  # where the API really listens (None while it does not run)
    first_run: FirstRunCredentials | None = None
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

    def connector_status(self) -> dict[str, str]:
        """Outside platforms configured by the user (none are configured by default)."""
        return {}


def setup_logging(settings: Settings, *, verbose: bool = False) -> None:
    settings.ensure_dirs()
    root = logging.getLogger()
    if getattr(root, "_studio_configured", False):
        return
    root.setLevel(settings.log_level)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    file_handler = logging.handlers.RotatingFileHandler(settings.logs_dir / "studio.log", maxBytes=5 << 20, backupCount=3)
    file_handler.setFormatter(formatter)
    root.addHandler(file_handler)
    console = logging.StreamHandler()
    console.setFormatter(formatter)
    console.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.addHandler(console)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migration chatter at every start
    root._studio_configured = True  # type: ignore[attr-defined]


def build_context(settings: Settings | None = None) -> Context:
    """Open (and migrate) the database, the media store and the services. No threads started."""
    from studio.services.analysis import AnalysisService
    from studio.services.music import MusicService
    from studio.services.system import SystemService
    from studio.services.voices import VoicesService

    settings = settings or Settings()
    settings.ensure_dirs()
    db = Database(settings.effective_database_url)
    db.upgrade()
    store = MediaStore(settings.media_dir)
    removed = store.clean_temp()
    if removed:
        log.info("removed %d unfinished temp files left by an earlier run", removed)
    events = EventBus()
    jobs = JobQueue(db, events, max_concurrent=settings.max_concurrent)
    ctx = Context(settings=settings, db=db, store=store, events=events, jobs=jobs,
                  auth=AuthService(db, settings.session_ttl_s))
    ctx.system = SystemService(ctx)
    ctx.music = MusicService(ctx)
    ctx.analysis = AnalysisService(ctx)
    ctx.voices = VoicesService(ctx)
    for service in (ctx.system, ctx.music, ctx.analysis, ctx.voices):
        for handler in service.job_handlers():
            jobs.register(handler)
    from studio.services.templates import TemplateService
    from studio.services.webhooks import WebhookService

    ctx.templates = TemplateService(ctx)
    ctx.webhooks = WebhookService(ctx)
    events.subscribe(ctx.music.on_job_event)  # batch slots, playlist mixes
    events.subscribe(ctx.webhooks.on_event)  # generation callbacks
    events.subscribe(ctx.analysis.on_event)  # batch analysis rows, cancelled batches
    events.subscribe(ctx.voices.on_event)  # failed/cancelled speech and voice-matching jobs
    return ctx


def start_background(ctx: Context, loop: asyncio.AbstractEventLoop) -> None:
    """Start what runs beside the loop: device probe and job workers (after crash recovery)."""
    ctx.detect_device_async()
    ctx.jobs.start(loop)


def shutdown(ctx: Context) -> None:
    ctx.jobs.stop()
    ctx.db.dispose()


def print_first_run(credentials: FirstRunCredentials) -> None:
    print(
        "\nFirst start: these credentials are shown only once. Keep them somewhere safe.\n"
        f"  admin user:     {credentials.username}\n"
        f"  admin password: {credentials.password}\n"
        f"  API key:        {credentials.api_key}\n"
        "Lost them? `studio keys create --name NAME` makes a new key; "
        "`studio auth reset-password` a new password.\n",
        flush=True,
    )


async def serve_forever(ctx: Context, host: str, port: int, allow_remote: bool) -> None:
    """`studio serve`: the API without a window, until SIGINT/SIGTERM."""
    import signal

    from studio.server.app import ApiServer

    loop = asyncio.get_running_loop()
    start_background(ctx, loop)
    server = ApiServer(ctx)
    bound = await server.start(host, port, allow_remote=allow_remote)
    ctx.first_run = ctx.auth.bootstrap()
    if ctx.first_run:
        print_first_run(ctx.first_run)
    print(f"Studio API on {ctx.api_url}  (docs: {ctx.api_url}/docs)", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # pragma: no cover - Windows
            pass
    await stop.wait()
    await server.stop()
    await ctx.webhooks.drain(timeout_s=5.0)  # let deliveries under way finish their current attempt
    shutdown(ctx)
