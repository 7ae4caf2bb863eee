"""Middlewares: request id + error shapes + request log (outer), then auth + rate limits (inner)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
import logging
import secrets
import time
from urllib.parse import urlsplit

from aiohttp import web

from studio.server.errors import ApiError, error_body
from studio.server.keys import (
    SERVICES,
    IDENTITY,
    RATE_LIMITER,
    REQUEST_ID,
    REQUEST_LOG,
    SETTINGS,
)
from studio.server.routing import route_spec
from studio.services.system.auth import Identity

log = logging.getLogger("studio.server")

AUTH_HINT = ("send an API key as 'Authorization: Bearer <key>', 'X-API-Key: <key>' or '?api_key=<key>' "
             "(create one with `studio keys create --name NAME` or in the API panel), "
             "or a session token from POST /api/auth/login")


def error_response(request: web.Request, err: ApiError) -> web.Response:
    body = error_body(request.path, err, request.get(REQUEST_ID, ""))
    return web.json_response(body, status=err.status, headers=err.headers)


def _http_exception_to_api_error(request: web.Request, exc: web.HTTPException) -> ApiError:
    status = exc.status
    if status == 404:
        return ApiError(404, f"No endpoint at {request.path}; see /docs for the list of endpoints",
                        details={"path": request.path})
    if status == 405:
        allowed = sorted(getattr(exc, "allowed_methods", []) or [])
        return ApiError(405, f"{request.method} is not allowed on {request.path}; allowed: {', '.join(allowed)}",
                        details={"allowed_methods": allowed}, headers={"Allow": ", ".join(allowed)})
    if status == 413:
        limit_mb = request.app[SETTINGS].max_body_mb
        return ApiError(413, f"Request body too large: the limit is {limit_mb} MB", details={"max_body_mb": limit_mb})
    return ApiError(status, exc.reason or "Request failed")


@web.middleware
async def request_context(request: web.Request, handler) -> web.StreamResponse:
    request_id = f"req_{secrets.token_hex(8)}"
    request[REQUEST_ID] = request_id
    started = time.perf_counter()
    try:
        response = await handler(request)
    except ApiError as err:
        response = error_response(request, err)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(request, _http_exception_to_api_error(request, exc))
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("unhandled error in %s %s (%s)", request.method, request.path, request_id)
        response = error_response(request, ApiError(
            500, f"Internal server error; the log has the details under request id {request_id}"))
    if not response.prepared:
        response.headers["X-Request-ID"] = request_id
    latency_ms = (time.perf_counter() - started) * 1000.0
    recorder = request.app.get(REQUEST_LOG)
    if recorder is not None:
        identity: Identity | None = request.get(IDENTITY)
        spec = route_spec(request)
        recorder.record(request_id=request_id, method=request.method, path=request.path[:500],
                        route=spec.path if spec else None, status=response.status, latency_ms=latency_ms,
                        key_id=identity.subject if identity else None, client=request.remote)
    return response


def _by_cookie(request: web.Request) -> bool:
    """Whether the request authenticates with the session cookie alone (what a browser sends by itself)."""
    return (not request.headers.get("Authorization") and not request.headers.get("X-API-Key")
            and not request.query.get("api_key") and bool(request.cookies.get("session_id")))


def _check_same_origin(request: web.Request) -> None:
    """A change made with the session cookie must come from this studio's own pages: a form or
    script on another site can make the browser send the cookie (CSRF), but not a JSON content
    type without asking first, and not this host as its Origin."""
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc.lower() != (request.host or "").lower():
        raise ApiError(403, "a change with the session cookie must come from the studio's own pages; scripts use an "
                            "API key (Authorization: Bearer …)", code="FORBIDDEN")
    if origin == "null" or request.content_type in ("text/plain", "application/x-www-form-urlencoded"):
        raise ApiError(415, "send the body as application/json (or multipart/form-data for files)",
                       code="UNSUPPORTED_MEDIA_TYPE")


def credential(request: web.Request) -> str | None:
    """The token a request authenticates with, read the one way every route reads it."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return (request.headers.get("X-API-Key") or request.query.get("api_key")
            or request.cookies.get("session_id") or None)


async def authenticate(request: web.Request, token: str) -> Identity | None:
    auth = request.app[SERVICES].auth
    cached = auth.verify_key_cached(token)
    if cached is not False:
        return cached
    # argon2 takes tens of milliseconds: keep it off the loop.
    return await asyncio.to_thread(auth.authenticate, token)


def host_allowed(host_header: str | None, allowed: list[str]) -> bool:
    """A request must name this machine: an IP address, `localhost`, or a name in `allowed_hosts`.
    A web page that rebinds its own domain to 127.0.0.1 (DNS rebinding) sends that domain and is
    refused; an IP literal cannot be rebound."""
    host = (host_header or "").strip().lower()
    if host.startswith("["):  # [::1]:8000
        name = host[1:host.find("]")] if "]" in host else host[1:]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if not name:
        return False
    if name in ("localhost", "localhost.") or name in {h.strip().lower() for h in allowed}:
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


@web.middleware
async def auth_and_limits(request: web.Request, handler) -> web.StreamResponse:
    if not host_allowed(request.headers.get("Host"), request.app[SETTINGS].allowed_hosts):
        raise ApiError(421, "this server answers requests for this machine only (an IP address or localhost); "
                            "add the name you use to 'allowed_hosts' in the settings", code="MISDIRECTED_REQUEST")
    match = request.match_info
    if match.http_exception is not None:
        raise match.http_exception  # unknown route (404) or wrong method (405)
    limit_mb = request.app[SETTINGS].max_body_mb
    if request.content_length is not None and request.content_length > limit_mb * 1024 * 1024:
        raise web.HTTPRequestEntityTooLarge(max_size=limit_mb * 1024 * 1024, actual_size=request.content_length)
    spec = route_spec(request)
    if spec is None or spec.public:
        return await handler(request)  # docs assets and public endpoints

    token = credential(request)
    if token is None:
        raise ApiError(401, f"Missing authentication: {AUTH_HINT}")
    identity = await authenticate(request, token)
    if identity is None:
        raise ApiError(401, "Invalid, revoked or expired API key or session token",
                       details={"received_key": token[:8] + "...", "suggestion": AUTH_HINT})
    request[IDENTITY] = identity
    if request.method not in ("GET", "HEAD", "OPTIONS") and _by_cookie(request):
        _check_same_origin(request)
    if spec.admin and not identity.is_admin:
        raise ApiError(403, "This endpoint needs an admin key", details={"role": identity.role})

    limiter = request.app[RATE_LIMITER]
    decision = limiter.check(identity.subject, request.path)
    if decision is not None and not decision.allowed:
        raise ApiError(429, "Rate limit exceeded", headers={**decision.headers, "Retry-After": str(decision.retry_after_s)},
                       extra={"retry_after": decision.retry_after_s,
                              "limits": {"current": decision.describe(), "group": decision.group,
                                         "configure": "Settings > Rate limits, or PUT /api/system/config"}})
    response = await handler(request)
    if decision is not None and not response.prepared:
        response.headers.update(decision.headers)
    return response


class RequestLogRecorder:
    """Buffers request rows and writes them in batches off the loop (one small transaction a second)."""

    def __init__(self, write: Callable[[list[dict]], None], flush_interval_s: float = 1.0,
                 observe: Callable[[str, str | None, int, float], None] | None = None) -> None:
        self._write = write  # the system service stores them (the server never opens a DB session)
        self._observe = observe  # the Prometheus counters: (method, route template, status, latency_ms)
        self._rows: list[dict] = []
        self._interval = flush_interval_s
        self._task: asyncio.Task | None = None

    def record(self, **row) -> None:
        self._rows.append(row)
        if self._observe is not None:
            try:  # increments only; a metrics failure must not fail the request
                self._observe(row["method"], row.get("route"), row["status"], row["latency_ms"])
            except Exception:
                log.exception("could not count the request in the metrics")

    def start(self) -> None:
        self._task = asyncio.get_event_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            rows, self._rows = self._rows, []
            if rows:  # the insert runs in a thread: requests keep being answered while it commits
                await asyncio.to_thread(self._write_rows, rows)

    def _write_rows(self, rows: list[dict]) -> None:
        try:
            self._write(rows)
        except Exception:
            log.exception("could not write %d request log rows", len(rows))

    def flush(self) -> None:
        rows, self._rows = self._rows, []
        if rows:
            self._write_rows(rows)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.flush()
