"""System diagnostics: the studio's log (seed 000 `GET /api/system/logs`, seed 002 `GET /api/logs`) and
its recorded failures (seed 002 `GET /api/errors`, `GET /api/errors/{error_id}`). Admin keys only:
log lines and error texts may name files and folders on this machine."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from studio.server.errors import ApiError, not_found, ok
from studio.server.keys import SERVICES
from studio.server.routing import MAX_OFFSET, RouteTable
from studio.server.schemas.system import ErrorDetailOut, ErrorListOut, LogPageOut
from studio.services.system.failures import UnknownError
from studio.services.system.logs import LEVELS, LogQueryError

routes = RouteTable()
TAGS = ["system"]


def _system(request: web.Request):
    return request.app[SERVICES].system


class LogQuery(BaseModel):
    """Filters of the log. `level` is the lowest level shown (warning: warnings, errors and critical
    ones); `service` one service's short name (music, voices, api, jobs, ...) or all."""

    model_config = ConfigDict(extra="forbid")
    level: str | None = Field(default=None, max_length=20,
                              description=f"{', '.join(LEVELS)} or all; that level and above")
    service: str | None = Field(default="all", max_length=64, description="A service's short name, or all")
    since: str | None = Field(default=None, max_length=40, description="ISO-8601 time, e.g. 2024-01-15T14:00:00Z")
    until: str | None = Field(default=None, max_length=40, description="ISO-8601 time (inclusive)")
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=100_000)


async def _logs(request: web.Request, query: LogQuery) -> web.Response:
    try:
        page = await _system(request).logs.entries_async(level=query.level, service=query.service, since=query.since,
                                                         until=query.until, limit=query.limit, offset=query.offset)
    except LogQueryError as exc:
        details = {"parameter": exc.parameter}
        if exc.parameter == "level":
            details["allowed"] = [*LEVELS, "all"]
        raise ApiError(400, exc.message, details=details) from None
    return ok(page)


LOG_DESCRIPTION = ("The studio's own log (the JSON-lines file in the data dir's logs folder and its rotated "
                   "copies), newest first: timestamp (UTC), level, service, message and details. `level` keeps "
                   "that level and above; `since`/`until` bound the time; `has_more` says whether another page "
                   "follows. An unknown level or a time that is not ISO-8601 is a 400. Admin keys only.")
LOG_STATUSES = {400: "Unknown level, a time that is not ISO-8601, since later than until, or a service name that "
                     "is not a short name (letters, digits, _ . -)"}


@routes.get("/api/system/logs", summary="The studio's log, newest first, filtered", tags=TAGS, query=LogQuery,
            admin=True, description=LOG_DESCRIPTION, responses=LOG_STATUSES,
            response=LogPageOut)
async def system_logs(request: web.Request, query: LogQuery) -> web.Response:
    return await _logs(request, query)


@routes.get("/api/logs", summary="Application logs (level, service, limit, offset)", tags=TAGS, query=LogQuery,
            admin=True, description=LOG_DESCRIPTION, responses=LOG_STATUSES,
            response=LogPageOut)
async def logs(request: web.Request, query: LogQuery) -> web.Response:
    return await _logs(request, query)


class ErrorQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: Literal["all", "job", "request"] = Field(default="all", description="Failed jobs, 5xx requests or both")
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


@routes.get("/api/errors", summary="Recent failures: failed jobs and 5xx responses", tags=TAGS, query=ErrorQuery,
            admin=True,
            description="Recorded failures, newest first: jobs that failed (with the error they recorded) and API "
                        "requests answered with a 5xx (from the request log, kept `request_log_days`). Each has a "
                        "stable `error_id` (`job_<job id>` or `request_<n>`) for GET /api/errors/{error_id}. "
                        "Admin keys only.", response=ErrorListOut)
async def list_errors(request: web.Request, query: ErrorQuery) -> web.Response:
    return ok(_system(request).errors.list(source=query.source, limit=query.limit, offset=query.offset))


@routes.get("/api/errors/{error_id}", summary="One failure in detail", tags=TAGS, admin=True,
            description="A failed job: kind, title, a summary of its parameters (long texts cut), the recorded "
                        "error, attempts and times. A 5xx request: route, method, path, status, time, latency, "
                        "request id and the log entries that name that request id. 404 for an id that names no "
                        "recorded failure. Admin keys only.",
            responses={404: "No recorded failure has this id"}, response=ErrorDetailOut)
async def get_error(request: web.Request) -> web.Response:
    error_id = request.match_info["error_id"]
    try:
        return ok({"error_details": await _system(request).errors.get_async(error_id)})
    except UnknownError:
        raise not_found("error", error_id) from None
