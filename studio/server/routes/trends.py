"""Seed 000 "Live Trending Hijacker API": /api/trending/... (the `{"status": ...}` family).

The nine seed paths (start, current, hijack/{trend_id}, analytics, platforms, patterns, schedule,
hijacks/{hijack_id}/performance, stop) plus what the Trends panel does, for scripting: sources
(list, enable/configure/key, add a feed), scan now, import a chart file, one trend's detail.
Every handler is a thin shell over `services.trends` (sources, scanner, catalog, patterns,
imports, monitor, answers). The whole family is one rate-limit group, `/api/trending/` (100 per
hour by default, like the seed; `rate_limits` in the settings).

Numbers the studio cannot know are `null` with a `reasons` entry; keys are write-only.
"""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from studio.server.errors import ApiError, insufficient_credits, not_found, ok
from studio.server.keys import SERVICES
from studio.server.multipart import FileTooLargeError, FormError, read_form
from studio.server.routing import CREDENTIAL_PATTERN, RouteTable, validation_error
from studio.server.schemas.trends import (
    TrendAnalytics,
    TrendAnswerPerformance,
    TrendAnswerQueued,
    TrendDetailOut,
    TrendImportResult,
    TrendList,
    TrendMonitorStarted,
    TrendMonitorStopped,
    TrendPatterns,
    TrendPlatformList,
    TrendScanResult,
    TrendScheduleSaved,
    TrendScheduleState,
    TrendSourceList,
    TrendSourceOut,
)
from studio.services.music.catalogue import MAX_DURATION_S
from studio.services.music.common import InsufficientCredits, SingerError
from studio.services.music.statistics import parse_period_days
from studio.services.trends import scoring
from studio.services.trends.answers import STRATEGIES, UnknownAnswer
from studio.services.trends.common import SORTS, UnknownSource, UnknownTrend
from studio.services.trends.monitor import (
    MAX_INTERVAL_MIN,
    MIN_INTERVAL_MIN,
    ScheduleError,
)

# How every figure of a trend is computed, shown with the endpoints that return them (/docs).
SCORING_DOC = "Every figure is computed from the scans this studio stored.\n\n" + (scoring.__doc__ or "")

routes = RouteTable()
TAGS = ["trending"]
MAX_IMPORT_BYTES = 20 * 1024 * 1024
# what parse_period_days reads: a whole number and a unit (hours, days, weeks, months, years)
PERIOD_PATTERN = r"^\s*[0-9]+[hdwmyHDWMY]\s*$"
# a longer period reaches back before the year 1: a datetime overflow (it was a 500)
MAX_PERIOD_DAYS = 365_000


def _trends(request: web.Request):
    return request.app[SERVICES].trends


def _days(value: str, parameter: str) -> int:
    try:
        days = parse_period_days(value)
    except ValueError as exc:
        raise ApiError(422, str(exc), details={"parameter": parameter, "value": value}) from None
    if days > MAX_PERIOD_DAYS:
        raise ApiError(422, f"{parameter} {value!r} is longer than {MAX_PERIOD_DAYS} days (1000 years)",
                       details={"parameter": parameter, "value": value})
    return days


# --- monitoring -------------------------------------------------------------------------------
@routes.post("/api/trending/start", summary="Start live trend monitoring", tags=TAGS, response=TrendMonitorStarted)
async def start(request: web.Request) -> web.Response:
    """Scans the enabled sources at once, then on the schedule (POST /api/trending/schedule).
    monitoring_platforms = the number of enabled sources (their names in `platforms`)."""
    return ok(_trends(request).monitor.start())


@routes.post("/api/trending/stop", summary="Stop live trend monitoring", tags=TAGS, response=TrendMonitorStopped)
async def stop(request: web.Request) -> web.Response:
    """final_stats of the run that ends: uptime, items the scans processed, answers made meanwhile."""
    return ok(_trends(request).monitor.stop())


class IntervalsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    peak_hours: int | None = Field(default=None, ge=MIN_INTERVAL_MIN, le=MAX_INTERVAL_MIN,
                                   description="Minutes between scans 12:00-16:00 and 19:00-23:00 local time.")
    normal_hours: int | None = Field(default=None, ge=MIN_INTERVAL_MIN, le=MAX_INTERVAL_MIN,
                                     description="Minutes between scans 07:00-12:00, 16:00-19:00, 23:00-24:00.")
    overnight: int | None = Field(default=None, ge=MIN_INTERVAL_MIN, le=MAX_INTERVAL_MIN,
                                  description="Minutes between scans 00:00-07:00.")


class AutoHijackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = Field(default=None, description="Answer new trends automatically (off by default).")
    min_viral_score: float | None = Field(default=None, ge=0, le=100)
    max_daily_hijacks: int | None = Field(default=None, ge=0, le=1000, description="Per local day.")


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schedule_type: Literal["custom", "default"] = Field(
        default="custom", description="default: back to 15/30/60 minutes.")
    intervals: IntervalsIn | None = None
    priority_platforms: list[str] | None = Field(default=None, max_length=50,
                                                 description="Source names scanned first (GET /api/trending/sources).")
    auto_hijack: AutoHijackIn | None = None
    alert_threshold: float | None = Field(default=None, ge=0, le=100,
                                          description="viral_score from which a new trend raises trend_detected.")


@routes.post("/api/trending/schedule", summary="Set the monitoring schedule", tags=TAGS, body=ScheduleIn,
             response=TrendScheduleSaved,
             responses={422: "Invalid parameter, or a priority platform that is not a source here (details.parameter "
                             "names the field)"})
async def schedule(request: web.Request, body: ScheduleIn) -> web.Response:
    """estimated_daily_scans = sum over the 24 hours of 60 / that hour's interval."""
    try:
        result = _trends(request).monitor.schedule(body.model_dump(exclude_none=True))
    except ScheduleError as exc:
        raise ApiError(422, exc.message, details={"parameter": exc.field}) from None
    return ok(result)


@routes.get("/api/trending/schedule", summary="The monitoring schedule and its state", tags=TAGS,
            response=TrendScheduleState)
async def schedule_state(request: web.Request) -> web.Response:
    return ok(_trends(request).monitor.state())


# --- trends -----------------------------------------------------------------------------------
class CurrentQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: str = Field(default="all", max_length=100, description="'all' or a source name.")
    limit: int = Field(default=20, ge=1, le=200)
    sort: Literal[SORTS] = Field(default="viral_score", description="Order, best first.")  # type: ignore[valid-type]


@routes.get("/api/trending/current", summary="Current trends, scored from stored snapshots", tags=TAGS,
            query=CurrentQuery, description=SCORING_DOC, response=TrendList)
async def current(request: web.Request, query: CurrentQuery) -> web.Response:
    try:
        result = _trends(request).catalog.current(platform=query.platform, limit=query.limit, sort=query.sort)
    except ValueError as exc:
        raise ApiError(422, str(exc), details={"parameter": "sort/platform"}) from None
    return ok(result)


@routes.get("/api/trending/trends/{trend_id}", summary="One trend: history, score breakdown, suggested response",
            tags=TAGS, description=SCORING_DOC, response=TrendDetailOut,
            responses={404: "No stored trend with that id"})
async def trend_detail(request: web.Request) -> web.Response:
    trend_id = request.match_info["trend_id"]
    trends = _trends(request)
    try:
        trend = trends.catalog.trend(trend_id)
    except UnknownTrend:
        raise not_found("trend", trend_id) from None
    return ok({"trend": trend, "answers": trends.answers.list_answers(trend_id)})


class AnalyticsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(default="7d", max_length=20, pattern=PERIOD_PATTERN,
                        description="A whole number and a unit (h, d, w, m, y), e.g. 7d, 30d, 12w, 1y; "
                                    "at most 1000 years")


@routes.get("/api/trending/analytics", summary="Trends detected and answers made in a period", tags=TAGS,
            query=AnalyticsQuery, response=TrendAnalytics)
async def analytics(request: web.Request, query: AnalyticsQuery) -> web.Response:
    days = _days(query.period, "period")
    return ok({"period": query.period, **_trends(request).catalog.analytics(days)})


class PatternsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    genre: str | None = Field(default=None, max_length=60)
    timeframe: str = Field(default="30d", max_length=20, pattern=PERIOD_PATTERN,
                           description="A whole number and a unit (h, d, w, m, y), e.g. 7d, 30d, 12w; "
                                       "at most 1000 years")


@routes.get("/api/trending/patterns", summary="When and what rises: hours, days, keywords, durations, tempos",
            tags=TAGS, query=PatternsQuery, response=TrendPatterns)
async def patterns(request: web.Request, query: PatternsQuery) -> web.Response:
    days = _days(query.timeframe, "timeframe")
    result = _trends(request).patterns.patterns(query.genre, days)
    return ok({"genre": query.genre, "analysis_period": query.timeframe, **result} if "patterns" in result
              else {"genre": query.genre, "analysis_period": query.timeframe, "patterns": result})


# --- answering --------------------------------------------------------------------------------
class CustomizationsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    style_variation: str | None = Field(default=None, max_length=100,
                                        description="Words added to the prompt, e.g. add_trap_elements.")
    duration: float | None = Field(default=None, ge=1, le=MAX_DURATION_S, description="Seconds.")
    target_audience: str | None = Field(default=None, max_length=100, description="Added to the prompt as 'for ...'.")
    audio_quality: Literal["draft", "standard", "high"] | None = Field(
        default=None, description="Render quality: draft renders fastest (default high).")


class HijackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    response_strategy: Literal[tuple(STRATEGIES)] = Field(  # type: ignore[valid-type]
        default="fast_follower", description="; ".join(f"{k}: {v}" for k, v in STRATEGIES.items()))
    customizations: CustomizationsIn | None = None
    schedule_upload: bool = Field(default=False, description="Accepted; not available until a channel can be "
                                                             "connected (reported in the response).")


@routes.post("/api/trending/hijack/{trend_id}", summary="Answer a trend with a track (a real generation)",
             tags=TAGS, body=HijackIn, response=TrendAnswerQueued,
             responses={402: "Not enough credits left today for this generation",
                        404: "No stored trend with that id",
                        422: "Invalid parameter (also a generation field the trend's spec and the customizations "
                             "cannot make)"})
async def hijack(request: web.Request, body: HijackIn) -> web.Response:
    """Queues a generation from the trend's suggested spec plus the customizations; the track is
    linked to the trend (GET /api/music/status/{generation_id} follows it)."""
    trend_id = request.match_info["trend_id"]
    customizations = body.customizations.model_dump(exclude_none=True) if body.customizations else {}
    try:
        result = _trends(request).answers.answer(trend_id, strategy=body.response_strategy,
                                                 customizations=customizations, schedule_upload=body.schedule_upload)
    except UnknownTrend:
        raise not_found("trend", trend_id) from None
    except ValidationError as exc:
        raise validation_error(exc, "customizations") from None
    except InsufficientCredits as exc:
        raise insufficient_credits(exc) from None
    except SingerError as exc:
        raise ApiError(exc.http_status, exc.message) from None
    return ok(result, status="processing")


@routes.get("/api/trending/hijacks/{hijack_id}/performance", summary="How an answer did", tags=TAGS,
            response=TrendAnswerPerformance, responses={404: "No answer with that id"})
async def performance(request: web.Request) -> web.Response:
    hijack_id = request.match_info["hijack_id"]
    try:
        return ok(_trends(request).answers.performance(hijack_id))
    except UnknownAnswer:
        raise not_found("hijack", hijack_id) from None


# --- sources ----------------------------------------------------------------------------------
@routes.get("/api/trending/platforms", summary="Per-source status, last scan, quota and error rate", tags=TAGS,
            response=TrendPlatformList)
async def platforms(request: web.Request) -> web.Response:
    return ok({"platforms": _trends(request).sources.list_sources()})


@routes.get("/api/trending/sources", summary="Trend sources and their settings (keys never shown)", tags=TAGS,
            response=TrendSourceList)
async def list_sources(request: web.Request) -> web.Response:
    return ok({"sources": _trends(request).sources.list_sources()})


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = Field(default=None, description="Network access to the platform only once enabled.")
    config: dict | None = Field(default=None, description="genre ids, storefront, country, tag, region, url.")
    key: str | None = Field(default=None, max_length=500, pattern=CREDENTIAL_PATTERN,
                            description="Write-only API key (printable ASCII, no spaces); empty string removes it.")


@routes.put("/api/trending/sources/{name}", summary="Enable, configure or set the key of a source", tags=TAGS,
            body=SourceIn, response=TrendSourceOut,
            responses={404: "No source with that name",
                       422: "Invalid parameter: an unknown or bad setting, or a key for a source that needs none"})
async def configure_source(request: web.Request, body: SourceIn) -> web.Response:
    name = request.match_info["name"]
    sources = _trends(request).sources
    try:
        if body.key is not None:
            if body.key.strip():
                sources.set_key(name, body.key.strip())
            else:
                sources.clear_key(name)
        source = sources.configure(name, enabled=body.enabled, config=body.config)
    except UnknownSource:
        raise not_found("source", name) from None
    except ValueError as exc:
        raise ApiError(422, str(exc), details={"parameter": "config"}) from None
    return ok({"source": source})


class FeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://", description="An RSS or Atom feed URL.")


@routes.post("/api/trending/sources/feeds", summary="Add an RSS/Atom feed as a source", tags=TAGS, body=FeedIn,
             response=TrendSourceOut, responses={201: "The feed's source (enabled at once; adding a URL again "
                                                      "returns the same source)"})
async def add_feed(request: web.Request, body: FeedIn) -> web.Response:
    try:
        source = _trends(request).sources.add_feed(body.url)
    except ValueError as exc:
        raise ApiError(422, str(exc), details={"parameter": "url"}) from None
    return ok({"source": source}, http_status=201)


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: list[str] | None = Field(default=None, max_length=50, description="Default: every enabled source.")


@routes.post("/api/trending/scan", summary="Scan sources now", tags=TAGS, body=ScanIn, response=TrendScanResult,
             responses={404: "A named source does not exist"})
async def scan(request: web.Request, body: ScanIn) -> web.Response:
    try:
        result = await _trends(request).scanner.scan(body.sources)
    except UnknownSource as exc:
        raise not_found("source", str(exc.args[0]) if exc.args else "?") from None
    return ok(result)


@routes.post("/api/trending/import", summary="Import a chart file (Spotify Charts CSV or a hand-made list)",
             tags=TAGS, form={"file": "file"}, response=TrendImportResult,
             responses={400: "Not a multipart form, or a broken one",
                        413: "The file is over the 20 MB limit",
                        422: "No file in the field 'file', or a file that cannot be read (the message names the "
                             "line and column)"})
async def import_file(request: web.Request) -> web.Response:
    try:
        files, _fields = await read_form(request, ("file",), MAX_IMPORT_BYTES, example="curl -F file=@chart.csv")
    except FileTooLargeError as exc:
        raise ApiError(413, exc.message, details=exc.details) from None
    except FormError as exc:
        raise ApiError(400, exc.message, details=exc.details) from None
    if not files:
        raise ApiError(422, "send the chart file in the multipart field 'file'", details={"parameter": "file"})
    data, filename = files[0]
    try:
        result = await _trends(request).imports.import_file(data, filename)
    except ValueError as exc:  # the file's line and column are in the message
        raise ApiError(422, str(exc), details={"parameter": "file", "file": filename}) from None
    return ok(result)
