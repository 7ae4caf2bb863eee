"""Composition root: builds the Context (infrastructure) and the services, each given the services
it uses, then starts the GUI and/or the API server on one asyncio loop. Only entry points (the
CLI, the GUI's `main`, tools and tests) import this module."""

from __future__ import annotations

import asyncio
import logging
import logging.handlers

from studio.config import Settings
from studio.context import Context
from studio.db import Database, MediaStore
from studio.events import EventBus
from studio.jobs import JobQueue
from studio.services import Services
from studio.services.auth import AuthService, FirstRunCredentials

log = logging.getLogger("studio")


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


def build_services(settings: Settings | None = None) -> Services:
    """Open (and migrate) the database, the media store and the services. No threads started."""
    from studio.services.analysis import AnalysisService
    from studio.services.music import MusicService
    from studio.services.system import SystemService
    from studio.services.templates import TemplateService
    from studio.services.voices import VoicesService
    from studio.services.webhooks import WebhookService

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
    ctx = Context(settings=settings, db=db, store=store, events=events, jobs=jobs)
    auth = AuthService(db, settings.session_ttl_s)
    webhooks = WebhookService(ctx)
    voices = VoicesService(ctx)
    music = MusicService(ctx, voices=voices)
    services = Services(
        context=ctx,
        auth=auth,
        system=SystemService(ctx, auth=auth),
        music=music,
        analysis=AnalysisService(ctx, webhooks=webhooks),
        voices=voices,
        templates=TemplateService(ctx),
        webhooks=webhooks,
    )
    for service in (services.system, services.music, services.analysis, services.voices):
        for handler in service.job_handlers():
            jobs.register(handler)
    events.subscribe(services.music.on_job_event)  # batch slots, playlist mixes
    events.subscribe(services.webhooks.on_event)  # generation callbacks
    events.subscribe(services.analysis.on_event)  # batch analysis rows, cancelled batches
    events.subscribe(services.voices.on_event)  # failed/cancelled speech and voice-matching jobs
    return services


def start_background(services: Services, loop: asyncio.AbstractEventLoop) -> None:
    """Start what runs beside the loop: device probe and job workers (after crash recovery)."""
    services.context.detect_device_async()
    services.context.jobs.start(loop)


def shutdown(services: Services) -> None:
    services.context.jobs.stop()
    services.context.db.dispose()


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


async def serve_forever(services: Services, host: str, port: int, allow_remote: bool) -> None:
    """`studio serve`: the API without a window, until SIGINT/SIGTERM."""
    import signal

    from studio.server.app import ApiServer

    loop = asyncio.get_running_loop()
    start_background(services, loop)
    server = ApiServer(services)
    await server.start(host, port, allow_remote=allow_remote)
    services.first_run = services.auth.bootstrap()
    if services.first_run:
        print_first_run(services.first_run)
    print(f"Studio API on {services.api_url}  (docs: {services.api_url}/docs)", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # pragma: no cover - Windows
            pass
    await stop.wait()
    await server.stop()
    await services.webhooks.drain(timeout_s=5.0)  # let deliveries under way finish their current attempt
    shutdown(services)
