"""Composition root: builds the Context (infrastructure) and the services, each given the services
it uses, then starts the GUI and/or the API server on one asyncio loop. Only entry points (the
CLI, the GUI's `main`, tools and tests) import this module."""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import logging.handlers
import os
import signal
from typing import TYPE_CHECKING

from studio.config import Settings
from studio.context import Context
from studio.db import Database, MediaStore
from studio.events import EventBus
from studio.jobs import JobQueue
from studio.services import Services
from studio.services.system.auth import AuthService, FirstRunCredentials
from studio.services.system.logs import LOG_BACKUP_COUNT, LOG_FILE_NAME, LOG_MAX_BYTES, JsonLinesFormatter

if TYPE_CHECKING:
    from studio.server.app import ApiServer
    from studio.ui.main_window import MainWindow

log = logging.getLogger("studio")


def setup_logging(settings: Settings, *, verbose: bool = False) -> None:
    settings.ensure_dirs()
    root = logging.getLogger()
    if getattr(root, "_studio_configured", False):
        return
    root.setLevel(settings.log_level)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The file gets JSON lines (what GET /api/system/logs reads back); the console stays readable.
    file_handler = logging.handlers.RotatingFileHandler(settings.logs_dir / LOG_FILE_NAME, maxBytes=LOG_MAX_BYTES,
                                                        backupCount=LOG_BACKUP_COUNT, encoding="utf-8")
    file_handler.setFormatter(JsonLinesFormatter())
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
    from studio.services.analytics import AnalyticsService
    from studio.services.community import CommunityService
    from studio.services.music import MusicService
    from studio.services.system import SystemService
    from studio.services.trends import TrendsService
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
    analysis = AnalysisService(ctx, webhooks=webhooks)
    services = Services(
        context=ctx,
        auth=auth,
        system=SystemService(ctx, auth=auth),
        music=music,
        analysis=analysis,
        voices=voices,
        webhooks=webhooks,
        trends=TrendsService(ctx, music=music, analysis=analysis),
        community=CommunityService(ctx, music=music, voices=voices),
        analytics=AnalyticsService(ctx),
    )
    voices.content.performance = services.analytics.content  # characters' figures come from linked statistics
    # the background parts that /api/services lists and controls (job workers, API are its own)
    services.system.services.add_studio_services(trends=services.trends, community=services.community,
                                                 webhooks=services.webhooks)
    services.system.models.active_tagger = lambda: analysis.models.active  # which tagger /api/models shows in use
    voices.catalog.installed_voices = services.system.models.installed_voices  # Piper voices as base voices
    for service in (services.system, services.music, services.analysis, services.voices, services.analytics):
        for handler in service.job_handlers():
            jobs.register(handler)
    events.subscribe(services.music.on_event)  # batch slots, playlist mixes
    events.subscribe(services.webhooks.on_event)  # generation callbacks
    events.subscribe(services.analysis.on_event)  # batch analysis rows, cancelled batches
    events.subscribe(services.voices.on_event)  # failed/cancelled speech and voice-matching jobs
    events.subscribe(services.analytics.costs.on_event)  # finished jobs: check the cost limits
    events.subscribe(services.system.metrics.on_event)  # job counts, durations and render speed for /metrics
    services.system.metrics.add_collector("analysis", services.analysis.stats.prometheus_families)
    return services


def start_background(services: Services, loop: asyncio.AbstractEventLoop) -> None:
    """Start what runs beside the loop: device probe and job workers (after crash recovery)."""
    # Everything built so far (modules, services, the window) lives as long as the process: keep it
    # out of the cycle collector's full passes, which otherwise walk it all and stall the loop for
    # ~0.1-0.2 s after bursts of short-lived objects (a trend scan's snapshots, a render's notes).
    gc.freeze()
    services.context.detect_device_async()
    services.context.jobs.start(loop)
    services.trends.monitor.resume(loop)  # monitoring that was on before the last exit goes on
    services.community.start(loop)  # approved replies left unsent, then polling of the enabled platforms
    services.analytics.start(loop)  # the cost limits' watch
    services.system.monitoring.start(loop)  # CPU, memory and queue every 5 s for the System charts


def shutdown(services: Services) -> bool:
    """Stop everything; False when an engine worker is still busy inside a step (see `exit_now`)."""
    services.trends.monitor.close()  # ends the task; the stored row still says whether it was on
    services.community.close()
    services.analytics.close()
    services.system.monitoring.stop()
    stopped = services.context.jobs.stop()
    services.context.db.dispose()
    return stopped


EXIT_NOW = -1  # _main's answer when a worker is still busy: the process must end without teardown


def exit_now(code: int = 0) -> None:
    """End the process without the interpreter's teardown. Used when a worker thread is still inside
    native code (torch, the speech model) after shutdown: tearing the runtime down under it aborts
    the process ("terminate called without an active exception"). The database is already closed,
    and its job stays `processing`, so the next start resumes it."""
    import sys

    logging.getLogger(__name__).warning("a job was still running at exit; it resumes at the next start")
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


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


async def serve_forever(services: Services, host: str, port: int, allow_remote: bool) -> bool:
    """`studio serve`: the API without a window, until SIGINT/SIGTERM. False when a job was still
    running at the end (the caller should then `exit_now`)."""
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
    return shutdown(services)


# --- the window (with the API on the same loop) -----------------------------------------------
async def start_api(services: Services, window: "MainWindow") -> "ApiServer | None":
    """Start the API on the running loop; on failure say why in the window and carry on without it."""
    from studio.server.app import ApiServer

    settings = services.settings
    host, port = settings.host, settings.port
    server = ApiServer(services)
    try:
        await server.start(host, port, allow_remote=settings.allow_remote)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            short = f"port {port} is in use"
            reason = (f"Cannot listen on {host}:{port}: the port is already in use. Another Studio (or another "
                      "program) may be using it: choose another port in Settings (Ctrl+,) and restart.")
        else:
            detail = os.strerror(exc.errno) if exc.errno else str(exc)
            short = f"cannot listen on {host}:{port}"
            reason = f"Cannot listen on {host}:{port}: {detail}. Check the host and port in Settings (Ctrl+,)."
    except ValueError as exc:  # a non-loopback host without allow_remote
        short = f"host {host} refused"
        reason = f"{exc}. Change the host or allow remote access in Settings (Ctrl+,)."
    else:
        window.set_api_status(True, f"listening on {services.api_url}", services.api_url)
        return server
    log.warning("API not started: %s", reason)
    try:
        await server.stop()
    except Exception:  # pragma: no cover - nothing to clean up after a failed bind
        log.debug("cleanup after failed API start", exc_info=True)
    window.set_api_status(False, reason, short=short)
    window.show_api_problem(reason)
    return None


async def _main(services: Services, api: bool) -> int:
    from PySide6.QtCore import QThreadPool, QTimer

    from studio.ui.app import create_main_window

    loop = asyncio.get_running_loop()
    window = create_main_window(services)
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    window.show()

    # Ctrl+C / SIGTERM close the window cleanly; the timer lets Python see the signal.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: window.close())
    wakeup = QTimer()
    wakeup.timeout.connect(lambda: None)
    wakeup.start(250)

    server = None
    try:
        start_background(services, loop)
        if not api:
            window.set_api_status(False, "started with --no-api", short="--no-api")
        elif not services.settings.api_enabled:
            window.set_api_status(False, "turned off in Settings", short="turned off in Settings")
        else:
            server = await start_api(services, window)
        services.first_run = services.auth.bootstrap()
        if services.first_run is not None:
            window.show_first_run(services.first_run)
        await closed.wait()
    finally:
        wakeup.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if server is not None:
            await server.stop()
        QThreadPool.globalInstance().waitForDone(2000)  # e.g. an audio file still decoding
        stopped = shutdown(services)
    return 0 if stopped else EXIT_NOW


def run_gui(settings: Settings, api: bool = True) -> int:
    """Open the studio window (and the local API unless `api` is False); returns the exit code."""
    import qasync

    from studio.ui.app import ensure_app

    setup_logging(settings)
    app = ensure_app()
    app.setQuitOnLastWindowClosed(False)  # the window's `closed` signal ends _main, which cleans up
    try:
        services = build_services(settings)
    except Exception as exc:
        from PySide6.QtWidgets import QMessageBox

        log.exception("cannot open the studio's data")
        QMessageBox.critical(None, "Studio cannot start",
                             f"Opening the data folder {settings.home} failed:\n\n{exc}\n\nSee {settings.logs_dir}.")
        return 1
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            code = loop.run_until_complete(_main(services, api))
    finally:
        asyncio.set_event_loop(None)
    if code == EXIT_NOW:
        exit_now(0)
    return code
