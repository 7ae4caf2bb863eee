"""System routes: health, status, API root, system status/config, jobs, backups."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from studio import __version__
from studio.jobs import STATUSES, JobStateError, UnknownJob
from studio.server.errors import ApiError, not_found, ok
from studio.server.keys import IDENTITY, SERVICES
from studio.server.routing import MAX_OFFSET, RouteTable
from studio.server.schemas.system import (ApiRootOut, BackupListOut, BackupStartedOut, ConfigOut, ConfigUpdatedOut,
                                          HealthOut, JobCancelledOut, JobListOut, JobOut, StatusOut, SystemStatusOut)

routes = RouteTable()


def _services(request: web.Request):
    return request.app[SERVICES]


@routes.get("/api", summary="API root: name, version and links", tags=["system"], public=True,
            response=ApiRootOut, wrap=False)
async def api_root(request: web.Request) -> web.Response:
    return web.json_response({
        "name": "Studio local API",
        "version": __version__,
        "docs": "/docs",
        "redoc": "/redoc",
        "openapi": "/openapi.json",
        "health": "/api/health",
        "status": "/api/status",
        "websocket": "/ws",
    })


@routes.get("/api/health", summary="Health check with real component checks", tags=["system"], public=True,
            response=HealthOut, wrap=False,
            responses={503: ("Unhealthy: the database cannot be reached; the body is the same health report "
                             "(status 'unhealthy', the checks)", HealthOut)})
async def health(request: web.Request) -> web.Response:
    report = _services(request).system.health()
    return web.json_response(report, status=503 if report["status"] == "unhealthy" else 200)


@routes.get("/api/status", summary="What runs where: device, queue, uptime", tags=["system"],
            response=StatusOut, wrap=False)
async def status(request: web.Request) -> web.Response:
    report = _services(request).system.status()
    if not _is_admin(request):
        report["data_dir"] = None  # where the data lives is for admins
    return web.json_response(report)


def _is_admin(request: web.Request) -> bool:
    identity = request.get(IDENTITY)
    return identity is not None and identity.is_admin


@routes.get("/api/system/status", summary="System status: resources, services, connections", tags=["system"],
            response=SystemStatusOut, wrap=False)
async def system_status(request: web.Request) -> web.Response:
    return web.json_response(_services(request).system.system_status())


@routes.get("/api/settings", summary="Application settings (same as GET /api/system/config)", tags=["settings"],
            description="The same configuration, shape and rules as GET /api/system/config (`configuration` "
                        "grouped as generation_settings, server, rate_limits, storage, log_level; storage is "
                        "shown to admin keys only).", response=ConfigOut)
@routes.get("/api/system/config", summary="Current configuration", tags=["system"], response=ConfigOut,
            description="The settings the studio runs with, grouped as generation_settings, server, rate_limits, "
                        "storage and log_level. `storage` (where the data lives, the database URL) is shown to "
                        "admin keys only: other keys read nulls there.")
async def get_config(request: web.Request) -> web.Response:
    configuration = _services(request).system.config()
    if not _is_admin(request):
        # where the data lives and the database's URL (it may hold a password) are for admins
        configuration["storage"] = {key: None for key in configuration["storage"]}
    return ok({"configuration": configuration})


class GenerationSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_concurrent: int | None = Field(default=None, ge=1, le=16)
    device: Literal["auto", "cpu", "cuda"] | None = None
    soundfont_path: str | None = None


class ServerSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str | None = None
    port: int | None = Field(default=None, ge=0, le=65535)
    max_body_mb: int | None = Field(default=None, ge=1, le=4096)
    session_ttl_s: int | None = Field(default=None, ge=60)


class RateLimitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests: int = Field(ge=1)
    window_s: int = Field(ge=1)


class ConfigUpdate(BaseModel):
    """Only the groups and fields given are changed; give at least one setting."""

    model_config = ConfigDict(extra="forbid")
    generation_settings: GenerationSettingsIn | None = None
    server: ServerSettingsIn | None = None
    rate_limits: dict[str, RateLimitIn] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = None


CONFIG_UPDATE_STATUSES = {
    403: "Not an admin key; or generation_settings.soundfont_path names a file outside the folders allowed in "
         "Settings",
    422: "Nothing to update, an unknown or out-of-range field, or a value the settings refuse (e.g. a device this "
         "machine does not have); the message names the field",
}


@routes.put("/api/settings", summary="Update application settings (same as PUT /api/system/config)",
            tags=["settings"], body=ConfigUpdate, admin=True,
            description="The same body, validation, admin rule and answer as PUT /api/system/config "
                        "(updated_settings, restart_required, restart_fields).",
            response=ConfigUpdatedOut, responses=CONFIG_UPDATE_STATUSES)
@routes.put("/api/system/config", summary="Change configuration", tags=["system"], body=ConfigUpdate, admin=True,
            response=ConfigUpdatedOut, responses=CONFIG_UPDATE_STATUSES,
            description="Changes the settings given (only those), saves them and applies them. `restart_required` "
                        "says whether a changed setting (host, port, device, max_body_mb) takes effect only after "
                        "a restart. A soundfont_path must lie in a folder allowed in Settings or be a SoundFont "
                        "installed through POST /api/models/install or one the operating system installed (as "
                        "`studio doctor` lists them, e.g. /usr/share/sounds/sf2/FluidR3_GM.sf2). Admin keys only.")
async def put_config(request: web.Request, body: ConfigUpdate) -> web.Response:
    changes: dict[str, Any] = {}
    for group in (body.generation_settings, body.server):
        if group is not None:
            changes.update(group.model_dump(exclude_unset=True))
    if body.rate_limits is not None:
        current = {k: v.model_dump() for k, v in _services(request).settings.rate_limits.items()}
        changes["rate_limits"] = current | {k: v.model_dump() for k, v in body.rate_limits.items()}
    if body.log_level is not None:
        changes["log_level"] = body.log_level
    if not changes:
        raise ApiError(422, "Nothing to update: give at least one setting", details={"parameter": "body"})
    try:
        result = _services(request).system.update_config(changes, requested=True)
    except PermissionError as exc:
        raise ApiError(403, f"generation_settings.{exc}",
                       details={"parameter": "generation_settings.soundfont_path"}) from None
    except ValueError as exc:
        raise ApiError(422, f"Invalid setting: {exc}") from None
    return ok(result)


# --- jobs ---------------------------------------------------------------------------------------
class JobListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal[STATUSES] | None = None  # type: ignore[valid-type]
    kind: str | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


@routes.get("/api/jobs", summary="List jobs (every kind)", tags=["jobs"], query=JobListQuery, response=JobListOut)
async def list_jobs(request: web.Request, query: JobListQuery) -> web.Response:
    total, jobs = _services(request).system.list_jobs(kind=query.kind, status=query.status, limit=query.limit, offset=query.offset)
    return ok({"total": total, "limit": query.limit, "offset": query.offset, "jobs": jobs})


@routes.get("/api/jobs/{job_id}", summary="One job with progress, stage, result, error", tags=["jobs"],
            response=JobOut, responses={404: "No job with that id"})
async def get_job(request: web.Request) -> web.Response:
    job_id = request.match_info["job_id"]
    try:
        return ok({"job": _services(request).system.get_job(job_id)})
    except UnknownJob:
        raise not_found("job", job_id) from None


def _job_action(request: web.Request, action) -> dict:
    """Run cancel/retry on the job named in the path, mapping its errors to 404/409."""
    job_id = request.match_info["job_id"]
    try:
        return action(job_id)
    except UnknownJob:
        raise not_found("job", job_id) from None
    except JobStateError as exc:
        raise ApiError(409, str(exc), code="CONFLICT") from None


@routes.post("/api/jobs/{job_id}/cancel", summary="Cancel a queued or running job", tags=["jobs"],
             response=JobCancelledOut,
             responses={404: "No job with that id", 409: "The job has already finished (completed, failed or "
                                                         "cancelled)"})
async def cancel_job(request: web.Request) -> web.Response:
    return ok({"job": _job_action(request, _services(request).system.cancel_job)})


@routes.post("/api/jobs/{job_id}/retry", summary="Run a finished job again (new job, same params)", tags=["jobs"],
             response=JobOut, responses={404: "No job with that id", 409: "The job is still queued or running"},
             description="Queues a new job of the same kind with the same parameters (its retry_of names this "
                         "one); the answer's status is 'queued'.")
async def retry_job(request: web.Request) -> web.Response:
    return ok({"job": _job_action(request, _services(request).system.retry_job)}, status="queued")


# --- backups ------------------------------------------------------------------------------------
@routes.post("/api/system/backup", summary="Back up database, media and settings into one archive", tags=["system"],
             admin=True, response=BackupStartedOut,
             description="Queues a backup job (follow it at status_url); the answer's status is 'processing'. The "
                         "archive holds a consistent copy of the database, the media files and the settings; "
                         "GET /api/system/backups lists it once done. Admin keys only.")
async def start_backup(request: web.Request) -> web.Response:
    services = _services(request)
    job = services.system.start_backup()
    return ok({"backup_id": job["id"], "status_url": f"/api/jobs/{job['id']}",
               "queue_position": services.system.queue_position(job["id"]),
               "includes": ["databases", "generated_content", "configurations"]}, status="processing")


@routes.get("/api/system/backups", summary="List backups", tags=["system"], response=BackupListOut)
async def list_backups(request: web.Request) -> web.Response:
    return ok({"backups": _services(request).system.list_backups()})


@routes.get("/api/system/backups/download/{backup_id}", summary="Download a backup archive", tags=["system"],
            admin=True, media={"application/gzip": "binary"},
            responses={404: "No finished backup with that id (or its archive was removed)"})
async def download_backup(request: web.Request) -> web.StreamResponse:
    backup_id = request.match_info["backup_id"]
    try:
        path = _services(request).system.backup_path(backup_id)
    except (KeyError, UnknownJob):
        raise not_found("backup", backup_id) from None
    return web.FileResponse(path, headers={
        "Content-Type": "application/gzip",
        "Content-Disposition": f'attachment; filename="studio-{backup_id}.tar.gz"'})
