"""System control routes: database maintenance (seed 000 `POST /api/system/maintenance`) and the
background services (seed 000 `/api/system/services/{name}/...`, seed 002 `/api/services`)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from studio.server.errors import ApiError, ok
from studio.server.keys import SERVICES
from studio.server.routing import RouteTable
from studio.server.schemas.system import (MaintenanceStartedOut, ServiceListOut, ServiceOut, ServiceRestartedOut,
                                          ServiceStartedOut, ServiceStoppedOut)
from studio.services.system.maintenance import ALIASES, OPERATIONS, MaintenanceBusy, MaintenanceError
from studio.services.system.services import ServiceActionRefused, UnknownService

routes = RouteTable()


def _system(request: web.Request):
    return request.app[SERVICES].system


class MaintenanceIn(BaseModel):
    """Which steps to run (default: all) and how old a file must be before cleanup may delete it."""

    model_config = ConfigDict(extra="forbid")
    operations: list[str] | None = Field(
        default=None, max_length=20,
        description=f"steps: {', '.join(OPERATIONS)}; the group names {', '.join(ALIASES)} stand for the steps "
                    "that do that (database_cleanup: request_log_prune and vacuum; index_optimization: optimize; "
                    "cache_clearing: temp_cleanup); omitted or empty: all")
    grace_hours: float = Field(default=1.0, ge=1.0, le=720.0,
                               description="media and temp files younger than this are never deleted (1 h at least)")


@routes.post("/api/system/maintenance", summary="Run database and data-folder maintenance as a job", tags=["system"],
             body=MaintenanceIn, admin=True,
             description="Queues a maintenance job (follow it at /api/jobs/{maintenance_id}): SQLite quick_check, "
                         "request-log retention, orphaned media files (named by no database row and older than "
                         "grace_hours), temp files, log rotation, ANALYZE + PRAGMA optimize, and VACUUM when no other "
                         "job runs (else a WAL checkpoint). The job's result reports what each step found and freed. "
                         "400 for an unknown operation name, 409 while another maintenance is queued or running. "
                         "The answer's status is 'processing'. Admin keys only.",
             response=MaintenanceStartedOut,
             responses={400: "An unknown operation name (the error lists the allowed ones)",
                        409: "Another maintenance is queued or running (details.maintenance_id names it)"})
async def start_maintenance(request: web.Request, body: MaintenanceIn) -> web.Response:
    system = _system(request)
    try:
        started = system.maintenance.start(body.operations, grace_s=body.grace_hours * 3600.0)
    except MaintenanceError as exc:
        raise ApiError(400, f"Invalid operations: {exc}", code="INVALID_REQUEST",
                       details={"parameter": "operations", "allowed": [*OPERATIONS, *ALIASES]}) from None
    except MaintenanceBusy as exc:
        raise ApiError(409, str(exc), details={"maintenance_id": exc.job_id}) from None
    job = started["job"]
    return ok({"maintenance_id": job["id"], "operations": started["operations"],
               "estimated_time": started["estimated_time"], "status_url": f"/api/jobs/{job['id']}",
               "queue_position": system.queue_position(job["id"]), "reasons": started["reasons"]},
              status="processing")


# --- services -----------------------------------------------------------------------------------
def _unknown(exc: UnknownService) -> ApiError:
    return ApiError(404, str(exc), details={"resource": "service", "id": exc.name, "services": exc.known})


def _control(request: web.Request, action: str) -> web.Response:
    name = request.match_info["service_name"]
    try:
        result = _system(request).services.control(name, action)
    except UnknownService as exc:
        raise _unknown(exc) from None
    except ServiceActionRefused as exc:
        raise ApiError(409, str(exc), details={"service": name, "action": action}) from None
    return ok(result)


@routes.get("/api/services", summary="List the studio's services", tags=["services"],
            description="Each background service (job workers, API server, request-log writer, trend monitor, "
                        "community polling, webhooks) with its state, measured last activity, uptime and what "
                        "start/stop/restart do (or why they are refused).", response=ServiceListOut)
async def list_services(request: web.Request) -> web.Response:
    return ok({"services": _system(request).services.list()})


@routes.get("/api/services/{service_name}", summary="One service's status", tags=["services"],
            description="The service's state, last activity, uptime and actions; 404 names the services there are.",
            response=ServiceOut, responses={404: "No service of that name (details.services lists them)"})
async def get_service(request: web.Request) -> web.Response:
    try:
        return ok({"service": _system(request).services.view(request.match_info["service_name"])})
    except UnknownService as exc:
        raise _unknown(exc) from None


_ACTION_TEXT = {
    "start": "Starts the service (job workers: take queued jobs again). Already running: nothing changes.",
    "stop": "Stops the service (job workers: take no new job; running jobs finish, queued ones wait). "
            "409 for the API server and its request-log writer (that would cut this caller off) and webhooks.",
    "restart": "Stops and starts the service; 409 where it cannot be (the API server, the request log, webhooks).",
}

_ACTION_OUT = {"start": ServiceStartedOut, "stop": ServiceStoppedOut, "restart": ServiceRestartedOut}
_DONE = {"start": "started", "stop": "stopped", "restart": "restarted"}


def _declare(prefix: str, tags: list[str], action: str) -> None:
    async def handler(request: web.Request) -> web.Response:
        return _control(request, action)

    handler.__name__ = f"{action}_service_{tags[0]}"
    routes.post(f"{prefix}/{{service_name}}/{action}", summary=f"{action.capitalize()} a service", tags=tags,
                admin=True, description=_ACTION_TEXT[action], response=_ACTION_OUT[action],
                responses={404: "No service of that name (details.services lists them)",
                           409: f"The service cannot be {_DONE[action]} (the message says why and what to do "
                                "instead)"})(handler)


for _prefix, _tags in (("/api/services", ["services"]), ("/api/system/services", ["system"])):
    for _action in ("start", "stop", "restart"):
        _declare(_prefix, _tags, _action)
