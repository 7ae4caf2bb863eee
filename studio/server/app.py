"""Builds the aiohttp application and runs it on the current loop."""

from __future__ import annotations

import ipaddress
import logging
import sys
from typing import TYPE_CHECKING

from aiohttp import web

from studio.server import ws
from studio.server.keys import (
    SERVICES,
    OPENAPI_CACHE,
    RATE_LIMITER,
    REQUEST_LOG,
    ROUTE_SPECS,
    SETTINGS,
)
from studio.server.middleware import (
    RequestLogRecorder,
    auth_and_limits,
    request_context,
)
from studio.server.ratelimit import RateLimiter
from studio.server.routes import analysis, analytics, community, trends, voices
from studio.server.routes.music import ai, library
from studio.server.routes.system import auth, control, diagnostics, docs, models, monitoring, status
from studio.server.routing import RouteTable, router_paths

if TYPE_CHECKING:
    from studio.services import Services

log = logging.getLogger("studio.server")
API_SWITCH_INTERVAL_S = 0.0005

# Each area's route module contributes one table; later areas add theirs here.
# system: status/config/jobs/backups, auth, docs, logs/errors (diagnostics), models, maintenance and
# services (control), /metrics with monitoring and resources (monitoring)
ROUTE_TABLES: list[RouteTable] = [status.routes, auth.routes, docs.routes, diagnostics.routes, models.routes,
                                  control.routes, monitoring.routes, library.routes, ai.routes, analysis.routes,
                                  voices.routes, trends.routes, community.routes, analytics.routes, ws.routes]


def build_app(services: "Services") -> web.Application:
    app = web.Application(
        middlewares=[request_context, auth_and_limits],
        client_max_size=services.settings.max_body_mb * 1024 * 1024,
    )
    app[SERVICES] = services
    app[SETTINGS] = services.settings
    limiter = RateLimiter(services.settings.rate_limits)
    app[RATE_LIMITER] = limiter

    def on_event(name: str, data: dict) -> None:
        if name == "config_updated" and "rate_limits" in data.get("updated_settings", ()):
            limiter.configure(services.settings.rate_limits)

    unsubscribe = services.events.subscribe(on_event)
    recorder = RequestLogRecorder(services.system.record_requests, observe=services.system.metrics.observe_request)
    app[REQUEST_LOG] = recorder
    specs = [spec for table in ROUTE_TABLES for spec in table.specs]
    paths = router_paths(specs)
    for table in ROUTE_TABLES:
        table.install(app, paths)
    app[ROUTE_SPECS] = specs
    app[OPENAPI_CACHE] = {}
    docs.install_assets(app)

    async def on_startup(_app: web.Application) -> None:
        recorder.start()

    async def on_cleanup(_app: web.Application) -> None:
        unsubscribe()
        await recorder.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ApiServer:
    """The API running on the current event loop (the Qt loop in the GUI)."""

    def __init__(self, services: "Services") -> None:
        self.services = services
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self, host: str, port: int, allow_remote: bool = False) -> int:
        if not is_loopback(host):
            if not allow_remote:
                raise ValueError(f"refusing to listen on {host}: that exposes the API to the network; "
                                 "pass --allow-remote (or set allow_remote in the settings) to mean it")
            log.warning("the API listens on %s: other machines on that network can reach it; "
                        "every request still needs an API key", host)
        # The loop shares the GIL with worker threads (request-log inserts, job workers): at the
        # default 5 ms switch interval each socket call of the loop could wait 5 ms behind them, and
        # the p99 of GET /api/status at 64 connections was ~130 ms; at 0.5 ms it is ~40 ms.
        sys.setswitchinterval(API_SWITCH_INTERVAL_S)
        self._runner = web.AppRunner(build_app(self.services), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await site.start()
        sockets = site._server.sockets if site._server else []  # the real port when port=0
        self.port = sockets[0].getsockname()[1] if sockets else port
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        self.services.system.api_started(f"http://{shown_host}:{self.port}")
        log.info("API listening on http://%s:%d", host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.services.system.api_stopped()
