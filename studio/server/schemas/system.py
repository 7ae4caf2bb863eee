"""Success bodies of the system area: auth, status/config/jobs/backups, docs, logs/errors,
models, maintenance and services, monitoring and resources."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from studio.server.schemas import Out
from studio.server.schemas.trends import TrendMonitorRunStats


# --- auth -----------------------------------------------------------------------------------
class LoginOut(Out):
    message: str
    session_id: str = Field(description="The session token: send it as 'Authorization: Bearer <token>' "
                                        "(also set as the session_id cookie)")
    expires_in: int = Field(description="Seconds until the session ends")


class MessageOut(Out):
    message: str


class ApiKeyRecord(Out):
    id: str
    name: str
    role: str = Field(description="'admin' or 'user'")
    created_at: str
    last_used_at: str | None
    revoked: bool
    revoked_at: str | None


class KeyListOut(Out):
    keys: list[ApiKeyRecord]


class KeyCreatedOut(Out):
    api_key: str = Field(description="The secret, shown this once")
    key: ApiKeyRecord
    message: str


class KeyRevokedOut(Out):
    key: ApiKeyRecord


# --- root, health and status ----------------------------------------------------------------
class ApiRootOut(Out):
    """The API's name and version, and where its documentation and main endpoints are."""

    name: str
    version: str
    docs: str = Field(description="Swagger UI")
    redoc: str = Field(description="ReDoc reference")
    openapi: str = Field(description="This API's OpenAPI document")
    health: str
    status: str
    websocket: str = Field(description="The WebSocket of live job and system events")


class HealthChecks(Out):
    database: str = Field(description="'ok', or 'error: <exception name>' when the database cannot be reached")
    disk_space: str = Field(description="'ok', or 'low: <n> MiB free' below 1 GiB free in the data dir")
    memory: str = Field(description="'ok', or 'low: <n> MiB available' below 512 MiB available")
    apis: Literal["ok", "none_configured", "degraded"] = Field(
        description="The outside platforms turned on: all reachable or not contacted yet (ok), none turned on "
                    "(none_configured), or one failed (degraded)")
    job_workers: Literal["ok", "stopped"] = Field(
        description="'stopped' while the job workers take no new job (POST /api/services/job_workers/stop)")


class HealthOut(Out):
    """The result of real checks: database, free disk, available memory, outside platforms, job workers."""

    status: Literal["healthy", "degraded", "unhealthy"] = Field(
        description="healthy: every check ok; degraded: the database works but another check is not ok; "
                    "unhealthy: the database cannot be reached (answered with HTTP 503)")
    version: str
    timestamp: str
    checks: HealthChecks


class StatusJobs(Out):
    queued: int
    processing: int
    max_concurrent: int = Field(description="Jobs that run at once")
    kinds: list[str] = Field(description="The job kinds this studio runs")


class StatusOut(Out):
    """What runs where: version, uptime, API URL, database backend, engine device and the job queue."""

    status: Literal["operational"]
    version: str
    timestamp: str
    uptime: str = Field(description="Since the studio started, e.g. '2 days, 3 hours, 4 minutes'")
    uptime_seconds: float
    api_url: str
    data_dir: str | None = Field(description="The data folder; null for keys that are not admin keys")
    database: str = Field(description="The database backend (the URL's scheme, e.g. 'sqlite')")
    device: str = Field(description="The engine's device, e.g. 'cpu' or a GPU's name; 'detecting…' while it "
                                    "is being probed, 'unavailable: <why>' when probing failed")
    jobs: StatusJobs


class SystemHealthFigures(Out):
    cpu_usage: float = Field(description="Percent of the machine's CPU")
    memory_usage: float = Field(description="Percent of the machine's memory in use")
    disk_usage: float = Field(description="Percent used of the disk holding the data dir")
    network_latency: float | None = Field(description="Always null: the studio pings no outside host (see reasons)")
    process_memory_mb: float = Field(description="The studio process's resident memory, MiB")


class ServiceState(Out):
    name: str
    status: Literal["running", "stopped"]
    last_activity: str | None = Field(description="When it last did work; null when none is on record "
                                                   "(reasons says so)")
    uptime: str | None = Field(description="How long it has run; null while stopped")
    workers: int | None = Field(default=None, description="job_workers only: worker threads")
    queued: int | None = Field(default=None, description="job_workers only: jobs waiting")
    processing: int | None = Field(default=None, description="job_workers only: jobs running")
    url: str | None = Field(default=None, description="api_server only: the API's URL")


class SystemStatusOut(Out):
    """Resource use measured now, each background service's state and the outside platforms' connections."""

    status: Literal["operational"]
    timestamp: str
    uptime: str = Field(description="Since the studio started, e.g. '0 hours, 12 minutes'")
    system_health: SystemHealthFigures
    services: list[ServiceState]
    api_connections: dict[str, Literal["connected", "error", "not_checked"]] = Field(
        description="Each outside platform turned on ('<area>.<source>'): its last contact worked, failed, or "
                    "it was not contacted yet. Platforms left off are not listed")
    reasons: dict[str, str] = Field(description="Why a figure is null, by its field path")


# --- configuration ------------------------------------------------------------------------
class GenerationSettings(Out):
    max_concurrent: int = Field(description="Engine jobs run at once")
    device: Literal["auto", "cpu", "cuda"]
    soundfont_path: str | None = Field(description="The SoundFont instruments render with; null: the "
                                                   "embedded General MIDI one")


class ServerSettings(Out):
    host: str
    port: int
    api_enabled: bool
    max_body_mb: int = Field(description="Largest request body accepted, MiB")
    session_ttl_s: int = Field(description="Lifetime of a login session, seconds")


class RateLimitOut(Out):
    requests: int = Field(description="Requests allowed per window for one caller")
    window_s: int = Field(description="The window, seconds")


class StorageSettings(Out):
    data_dir: str | None = Field(description="Null for keys that are not admin keys")
    database_url: str | None = Field(description="Null for keys that are not admin keys (it may hold a password)")


class Configuration(Out):
    generation_settings: GenerationSettings
    server: ServerSettings
    rate_limits: dict[str, RateLimitOut] = Field(
        description="Per endpoint group (a path prefix or pattern, and 'default')")
    storage: StorageSettings
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class ConfigOut(Out):
    configuration: Configuration


class ConfigUpdatedOut(Out):
    updated_settings: list[str] = Field(description="The settings whose value changed")
    restart_required: bool = Field(description="Whether a changed setting takes effect only after a restart")
    restart_fields: list[str] = Field(description="The changed settings that need a restart")


# --- jobs ---------------------------------------------------------------------------------
class JobFailure(Out):
    code: str = Field(description="e.g. JOB_FAILED, INTERNAL_ERROR or the kind's own code")
    message: str
    details: dict[str, Any] | None = Field(default=None, description="What the job's kind recorded about the "
                                                                     "failure (free-form, per kind)")


class JobRecord(Out):
    """A job of any kind: what it was asked, how far it got, and what came of it."""

    id: str
    kind: str = Field(description="e.g. music.generate, voice.synthesize, backup, system.maintenance")
    title: str | None
    status: Literal["queued", "processing", "completed", "failed", "cancelled"]
    progress: float = Field(description="Percent, 0-100")
    stage: str | None = Field(description="What it is doing now (free text per kind); null before it starts")
    params: dict[str, Any] = Field(description="What the job was asked to do (free-form, per kind)")
    result: dict[str, Any] | None = Field(description="What it produced (free-form, per kind); null until it "
                                                      "has completed")
    error: JobFailure | None = Field(description="Why it failed; null unless it failed")
    attempts: int
    retry_of: str | None = Field(description="The job this one re-runs")
    created_at: str
    started_at: str | None
    finished_at: str | None
    updated_at: str


class JobCancelRecord(JobRecord):
    cancel_requested: bool | None = Field(
        default=None, description="Present (true) when the job was running: it stops at its next step, then "
                                  "reads 'cancelled'. A queued job is cancelled at once (no field)")


class JobListOut(Out):
    total: int
    limit: int
    offset: int
    jobs: list[JobRecord]


class JobOut(Out):
    job: JobRecord


class JobCancelledOut(Out):
    job: JobCancelRecord


# --- backups ------------------------------------------------------------------------------
class BackupStartedOut(Out):
    backup_id: str = Field(description="The backup job's id")
    status_url: str = Field(description="Follow the job here")
    queue_position: int = Field(description="1-based place among waiting jobs; 0 once it runs")
    includes: list[str]


class BackupRecord(Out):
    id: str
    created_at: str
    status: Literal["queued", "processing", "completed", "failed", "cancelled"]
    size: str | None = Field(description="Readable size, e.g. '2.1 GB'; null until the archive exists")
    size_bytes: int | None = Field(description="Null until the archive exists")
    includes: list[str] = Field(description="What the archive holds: databases, configurations, "
                                            "generated_content")
    download_url: str | None = Field(description="Null until the archive exists")


class BackupListOut(Out):
    backups: list[BackupRecord]


# --- API documents ------------------------------------------------------------------------
class OpenApiDocument(Out):
    """This API's OpenAPI 3.1 description (https://spec.openapis.org/oas/v3.1.0)."""

    openapi: str
    info: dict[str, Any]
    servers: list[dict[str, Any]]
    paths: dict[str, dict[str, Any]] = Field(description="Operations per path and method (OpenAPI objects)")
    components: dict[str, Any] = Field(description="Schemas and security schemes (OpenAPI objects)")


# --- logs and recorded failures ----------------------------------------------------------
class LogEntry(Out):
    timestamp: str = Field(description="UTC, ISO-8601 with milliseconds")
    level: str = Field(description="debug, info, warning, error or critical")
    service: str = Field(description="The short name of the part that logged it (music, voices, api, jobs, ...)")
    logger: str | None = Field(description="The full logger name")
    message: str
    details: dict[str, Any] = Field(description="What the entry carried beside its message (free-form), and "
                                                "`exception` with a traceback where there was one")


class LogFilters(Out):
    level: Literal["debug", "info", "warning", "error", "critical"] = Field(description="The lowest level shown")
    service: str = Field(description="The service shown, or all")
    since: str | None
    until: str | None


class LogPageOut(Out):
    logs: list[LogEntry] = Field(description="Newest first")
    limit: int
    offset: int
    has_more: bool = Field(description="Whether another page follows")
    filters: LogFilters = Field(description="The filters applied, as understood")


class JobFailureEntry(Out):
    error_id: str = Field(description="'job_<job id>'")
    source: Literal["job"]
    occurred_at: str
    code: str
    message: str
    kind: str = Field(description="The job's kind")
    job_id: str


class RequestFailureEntry(Out):
    error_id: str = Field(description="'request_<n>'")
    source: Literal["request"]
    occurred_at: str
    code: str = Field(description="HTTP_<status>")
    message: str
    route: str | None = Field(description="The route template; null when no route matched")
    method: str
    status: int = Field(description="The 5xx status answered")
    request_id: str


FailureEntry = Annotated[JobFailureEntry | RequestFailureEntry, Field(discriminator="source")]


class FailureCounts(Out):
    job: int = Field(description="Failed jobs on record")
    request: int = Field(description="5xx requests in the request log")


class ErrorListOut(Out):
    total: int = Field(description="Failures of the chosen source")
    limit: int
    offset: int
    counts: FailureCounts
    errors: list[FailureEntry] = Field(description="Newest first")


class JobFailureDetail(JobFailureEntry):
    title: str | None
    error: JobFailure | None = Field(description="The error the job recorded")
    params: dict[str, str | int | float | bool | None] = Field(
        description="The job's parameters, summarised: long texts cut, lists and objects counted")
    attempts: int
    retry_of: str | None
    stage: str | None
    progress: float
    created_at: str
    started_at: str | None
    finished_at: str | None
    job_url: str


class RequestFailureDetail(RequestFailureEntry):
    path: str
    latency_ms: float
    key_id: str | None = Field(description="The API key that made the request; null for a session or none")
    log_entries: list[LogEntry] = Field(description="Log entries that name this request id, near its time")


class ErrorDetailOut(Out):
    error_details: Annotated[JobFailureDetail | RequestFailureDetail, Field(discriminator="source")]


# --- models -------------------------------------------------------------------------------
class ModelEntry(Out):
    id: str
    kind: Literal["soundfont", "voice", "tagger", "speaker_encoder"]
    name: str
    description: str
    source: str = Field(description="Where it comes from")
    license: str | None = Field(description="Null where not known")
    used_for: str
    builtin: bool = Field(description="Shipped with the studio")
    in_use: bool = Field(description="The studio uses it now")
    installed: bool = Field(description="Its file is present")
    size_bytes: int | None = Field(description="Null when the file is missing")
    sha256: str | None = Field(description="Null when the file is missing")
    path: str | None = Field(description="Where the file lies; null for keys that are not admin keys")
    installed_at: str | None = Field(default=None, description="SoundFonts and voices you installed only")
    config_file: str | None = Field(default=None, description="Piper voices only: the configuration file's name")
    base_voice: str | None = Field(default=None, description="Voices only: the id a character's "
                                   "voice_settings.base_voice takes to speak and sing with it")


class ModelListOut(Out):
    total: int
    models: list[ModelEntry]


class SoundFontFacts(Out):
    name: str
    version: str = Field(description="The SoundFont format version, e.g. '2.1'")
    presets: int
    samples: int


class SoundFontUnreadable(Out):
    error: str = Field(description="Why the file could not be read")


class ModelDetail(ModelEntry):
    soundfont: SoundFontFacts | SoundFontUnreadable | None = Field(
        default=None, description="A SoundFont whose file is present: what the file says of itself")


class ModelOut(Out):
    model: ModelDetail


class ModelInstalledOut(Out):
    model: ModelDetail
    already_installed: bool = Field(description="The same file was installed before (answered with 200)")
    selected: bool = Field(description="It was set as the SoundFont to render with (`use`); always false for a "
                                       "voice (pick it as a character's base_voice)")


# --- maintenance and services -------------------------------------------------------------
MaintenanceStep = Literal["integrity_check", "request_log_prune", "orphaned_media", "temp_cleanup", "log_rotation",
                          "optimize", "vacuum"]


class MaintenanceStartedOut(Out):
    maintenance_id: str = Field(description="The maintenance job's id")
    operations: list[MaintenanceStep] = Field(description="The steps that will run, in order")
    estimated_time: int | None = Field(description="Seconds, from the last finished maintenance; null when none "
                                                   "has finished yet (see reasons)")
    status_url: str = Field(description="Follow the job here; its result reports each step")
    queue_position: int = Field(description="1-based place among waiting jobs; 0 once it runs")
    reasons: dict[str, str] = Field(description="Why a figure is null, by field")


class ServiceActions(Out):
    start: str | None = Field(description="What start does; null when refused (see refused_actions)")
    stop: str | None = Field(description="What stop does; null when refused")
    restart: str | None = Field(description="What restart does; null when refused")


class ServiceView(Out):
    name: str
    description: str
    status: Literal["running", "stopped"]
    last_activity: str | None = Field(description="When it last did work; null when none is on record")
    uptime: str | None = Field(description="Null while stopped")
    uptime_seconds: float | None = Field(description="Null while stopped")
    actions: ServiceActions
    refused_actions: dict[Literal["start", "stop", "restart"], str] = Field(
        description="Each action that is refused (409), and why")
    # what each service adds about itself
    workers: int | None = Field(default=None, description="job_workers: worker threads")
    running_jobs: list[str] | None = Field(default=None, description="job_workers: ids of the jobs running now")
    held_by: list[str] | None = Field(default=None, description="job_workers: why workers take no new job "
                                                                "('stopped', 'maintenance'); empty when they do")
    url: str | None = Field(default=None, description="api_server: the API's URL")
    retention_days: int | None = Field(default=None, description="request_log: days a request is kept")
    next_scan: str | None = Field(default=None, description="trend_monitor: the next scheduled scan")
    last_error: str | None = Field(default=None, description="trend_monitor: the last scan's error")
    polling: list[str] | None = Field(default=None, description="community_live: the sources polled now")
    enabled_sources: list[str] | None = Field(default=None, description="community_live: the sources turned on")
    deliveries_in_flight: int | None = Field(default=None, description="webhooks: callbacks being delivered")


class ServiceListOut(Out):
    services: list[ServiceView]


class ServiceOut(Out):
    service: ServiceView


class ServiceActionDetails(Out):
    """What the service itself reported about the action (fields by service)."""

    polling: list[str] | None = Field(default=None, description="community_live: the sources now polled")
    message: str | None = None
    platforms: list[str] | None = Field(default=None, description="trend_monitor: the sources scanned")
    final_stats: TrendMonitorRunStats | None = Field(default=None, description="trend_monitor stop: the run that ended")
    next_scan: str | None = None
    already_running: bool | None = None
    was_running: bool | None = None


class _ServiceActionBase(Out):
    service: str
    was_running: bool
    state: Literal["running", "stopped"] = Field(description="The service's state after the action")
    what_it_did: str
    details: ServiceActionDetails | None = Field(default=None, description="Present when the service reported "
                                                                           "something")


class ServiceStartedOut(_ServiceActionBase):
    action: Literal["start"]
    start_time: str


class ServiceStoppedOut(_ServiceActionBase):
    action: Literal["stop"]
    final_uptime: str | None = Field(description="How long it had run; null when it was not running")
    stop_time: str


class ServiceRestartedOut(_ServiceActionBase):
    action: Literal["restart"]
    previous_uptime: str | None = Field(description="How long it had run; null when it was not running")
    restart_time: str


# --- monitoring and resources -------------------------------------------------------------
class Percentiles(Out):
    """Nearest-rank figures; every figure but count is null when there are no values."""

    count: int
    mean: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None


class CpuFigures(Out):
    percent: float = Field(description="Machine CPU use since the last read, percent")
    count_logical: int | None = Field(description="Null where the system does not tell")
    count_physical: int | None = Field(description="Null where the system does not tell")
    load_average: list[float] | None = Field(description="1, 5 and 15 minutes; null where the system has none")


class MemoryFigures(Out):
    total_bytes: int
    available_bytes: int
    used_bytes: int
    percent: float


class DiskFigures(Out):
    path: str | None = Field(description="The data dir; null for keys that are not admin keys")
    total_bytes: int
    used_bytes: int
    free_bytes: int
    percent_used: float | None = Field(description="Null for a disk of size 0")


class ProcessFigures(Out):
    pid: int
    rss_bytes: int
    vms_bytes: int
    cpu_percent: float = Field(description="Of one core, since the last read (as top shows it)")
    threads: int
    uptime_seconds: float
    open_files: int | None = Field(description="Null where the system does not tell")
    open_descriptors: int | None = Field(description="Null where the system does not tell")


class QueueFigures(Out):
    length: int = Field(description="Jobs waiting")
    processing: int
    workers: int


class JobCounts(Out):
    queued: int
    processing: int
    completed: int
    failed: int
    cancelled: int


class MetricsSample(Out):
    timestamp: str
    cpu_percent: float | None = Field(description="Null for the first sample (no interval yet)")
    process_cpu_percent: float | None = Field(description="Null for the first sample")
    memory_percent: float
    memory_used_bytes: int
    process_rss_bytes: int
    queue_length: int
    processing: int


class MetricsHistory(Out):
    interval_s: float = Field(description="Seconds between samples")
    capacity: int | None = Field(description="Samples kept at most")
    sampling: bool = Field(description="Whether sampling runs")
    samples: list[MetricsSample] = Field(description="Oldest first")


class MonitoringMetrics(Out):
    timestamp: str
    cpu: CpuFigures
    memory: MemoryFigures
    disk: DiskFigures
    process: ProcessFigures
    queue: QueueFigures
    jobs: JobCounts
    history: MetricsHistory | None = Field(default=None, description="With history=1 only")


class MonitoringMetricsOut(Out):
    metrics: MonitoringMetrics


class RequestFigures(Out):
    total: int
    per_minute: float
    error_rate: float | None = Field(description="Share of 5xx answers; null without requests")
    client_error_rate: float | None = Field(description="Share of 4xx answers; null without requests")
    latency_ms: Percentiles
    truncated: bool = Field(description="More requests fell in the window than were read (200,000)")


class RouteFigures(Out):
    route: str = Field(description="Method and route template, e.g. 'GET /api/jobs/{job_id}'")
    requests: int
    client_errors: int
    server_errors: int
    latency_ms: Percentiles


class JobKindFigures(Out):
    finished: int
    by_state: dict[str, int] = Field(description="Per final state (completed, failed, cancelled)")
    duration_s: Percentiles


class RenderFigures(Out):
    jobs: int
    audio_seconds: float
    compute_seconds: float
    realtime_factor: float = Field(description="Seconds of audio per second of compute, over all its jobs")
    realtime_factor_per_job: Percentiles


class Performance(Out):
    timestamp: str
    window_minutes: int
    since: str
    requests: RequestFigures
    routes: list[RouteFigures] = Field(description="Busiest first")
    jobs: dict[str, JobKindFigures] = Field(description="Per job kind finished in the window")
    render: dict[str, RenderFigures] = Field(description="Per job kind that recorded audio rendered")


class PerformanceOut(Out):
    performance: Performance


class GpuDevice(Out):
    index: int
    name: str
    compute_capability: str
    memory_total_bytes: int
    memory_used_bytes: int | None = Field(description="By every process; null when the device could not be asked "
                                                      "(see error)")
    memory_free_bytes: int | None = Field(description="Null when the device could not be asked (see error)")
    memory_allocated_bytes: int = Field(description="By this process")
    memory_reserved_bytes: int = Field(description="By this process")
    error: str | None = Field(default=None, description="Why the device's free memory could not be read")


class GpuReport(Out):
    timestamp: str
    engine_device: Literal["auto", "cpu", "cuda"] = Field(description="The device setting")
    available: bool
    reason: str | None = Field(description="Why no GPU can be used; null when one can")
    torch_version: str | None
    cuda_version: str | None = Field(description="Null for a build without CUDA")
    device_count: int
    devices: list[GpuDevice]
    memory_total_bytes: int | None = Field(description="Over all devices; null without a GPU")
    memory_used_bytes: int | None = Field(description="Over all devices; null without a GPU or when one could "
                                                      "not be asked")
    memory_reserved_bytes: int | None = Field(description="By this process over all devices; null without a GPU")


class GpuOut(Out):
    gpu: GpuReport


class SystemMemory(Out):
    total_bytes: int
    available_bytes: int
    used_bytes: int
    free_bytes: int
    percent: float


class SwapMemory(Out):
    total_bytes: int
    used_bytes: int
    free_bytes: int
    percent: float


class ProcessMemory(Out):
    pid: int
    rss_bytes: int
    vms_bytes: int
    percent_of_system: float


class MemoryReport(Out):
    timestamp: str
    system: SystemMemory
    swap: SwapMemory
    process: ProcessMemory


class MemoryOut(Out):
    memory: MemoryReport


class StoragePart(Out):
    bytes: int
    files: int
    path: str | None = Field(description="Null for keys that are not admin keys (and for no database file)")


class StorageBreakdown(Out):
    database: StoragePart = Field(description="The database with its WAL")
    media: StoragePart
    backups: StoragePart
    logs: StoragePart
    other: StoragePart


class StorageReport(Out):
    timestamp: str
    data_dir: str | None = Field(description="Null for keys that are not admin keys")
    database_backend: str
    total_bytes: int
    breakdown: StorageBreakdown
    disk: DiskFigures


class StorageOut(Out):
    storage: StorageReport
