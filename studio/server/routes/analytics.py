"""Analytics, costs and reports: seed 000 `/api/analytics/...` (the `{"status": ...}` family), seed 002's
analytics paths (same implementation), seed 003 `/api/v1/analytics|costs|reports/...` (plain JSON),
and what the Analytics panel does, for scripting: imports, links, the connected YouTube channel,
followed channels.

Every handler is a thin shell over `services.analytics`. Figures the studio cannot know are `null`
with a `reasons` entry, and `sources` says where each figure comes from; the formulas are documented
in the service modules and shown with the endpoints here (/docs). Rate limits: 500 an hour for the
whole family (`rate_limits` in the settings).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from studio.server.errors import ApiError, not_found, ok
from studio.server.keys import SERVICES
from studio.server.multipart import FileTooLargeError, FormError, read_form
from studio.server.routing import CREDENTIAL_PATTERN, MAX_OFFSET, RouteTable
from studio.server.schemas.analytics import (
    AnalyticsApiUsageOut,
    AnalyticsCharactersOut,
    AnalyticsCompetitorsOut,
    AnalyticsContentOut,
    AnalyticsCostHistoryOut,
    AnalyticsCostSummaryOut,
    AnalyticsDashboardOut,
    AnalyticsEngagementOut,
    AnalyticsExportStartedOut,
    AnalyticsImportDeletedOut,
    AnalyticsImportOut,
    AnalyticsImportsOut,
    AnalyticsItemChangedOut,
    AnalyticsItemsOut,
    AnalyticsLimitsOut,
    AnalyticsLimitsSetOut,
    AnalyticsOptimizationOut,
    AnalyticsOverviewOut,
    AnalyticsPricesOut,
    AnalyticsReportFileOut,
    AnalyticsReportListOut,
    AnalyticsReportOut,
    AnalyticsReportQueuedOut,
    AnalyticsReportsAvailableOut,
    AnalyticsRevenueOut,
    AnalyticsSignInOut,
    AnalyticsTrendsOut,
    AnalyticsYouTubeOut,
    AnalyticsYouTubeRefreshOut,
)
from studio.services.analytics.common import AnalyticsError, UnknownImport, UnknownItem, UnknownReport
from studio.services.analytics.imports import MAX_IMPORT_BYTES
from studio.services.analytics.reports import FORMATS, REPORT_TYPES, SECTIONS

routes = RouteTable()
TAGS = ["analytics"]
V1_TAGS = ["analytics (v1)"]
NOT_FOUND = ((UnknownItem, "item"), (UnknownReport, "report"), (UnknownImport, "import"))
_BLANKS = r"[\s\x1c-\x1f]*"  # what str.strip() removes, which the services do before reading a value
# what parse_period reads: N days/weeks/months (30 days)/years/hours, or all, blanks around; empty: 30d
PERIOD = Field(default="30d", max_length=16,
               pattern=rf"^(?:|{_BLANKS}(?:[Aa][Ll][Ll]|[0-9]*[1-9][0-9]*[DdWwMmYyHh]){_BLANKS})$",
               description="7d, 30d, 12w, 2m (30 days each), 1y, 48h … at most 3660 days, or all (from the first "
                           "day with data)")
END = Field(default=None, max_length=10, description="last day of the period (YYYY-MM-DD); default today (UTC)")
Section = Literal[tuple(SECTIONS)]  # type: ignore[valid-type]
ReportType = Literal[tuple(REPORT_TYPES)]  # type: ignore[valid-type]
ReportFormat = Literal[tuple(FORMATS)]  # type: ignore[valid-type]
_sign_ins: set[asyncio.Task] = set()  # Google sign-ins waiting for the browser (kept so they are not collected)
_CHANNEL_ID = r"UC[0-9A-Za-z_-]{22}"  # the connected service's rule (connected.py), blanks around allowed
# a report file: the JSON one is described by AnalyticsReportFileOut, these by their media type
REPORT_MEDIA = {"application/pdf": "binary", "text/csv": "text"}
REPORT_FILE_STATUSES = {404: "No report with that id, or its file is gone",
                        409: "The report is not completed yet (still processing, failed or cancelled)"}

DASHBOARD_DOC = """System health, revenue and content figures of the period in one answer.

- `system_health`: uptime from the API server's runs (each up to its stop or, after a crash, its last
  heartbeat); mean latency and 5xx rate from the request log; `overall_status` "excellent" (uptime ≥ 99.5 %,
  5xx < 0.5 %, mean < 300 ms), "good" (≥ 98 %, < 2 %, < 1000 ms) or "degraded"; null without data.
- `revenue_metrics`: `daily_revenue` = the period's revenue / its days; `monthly_projection` = the 30-day
  projection (see GET /api/analytics/revenue) with its interval and confidence; `growth_rate` = % change
  against the previous period of the same length; `diamond_systems_contribution` = % of the period's revenue
  attributed (confirmed links) to something the studio made. Null with a reason without revenue data.
- `content_metrics`: generation jobs, hours of music and the mean quality (0-10) of the tracks made in the
  period."""

OVERVIEW_DOC = """The period's views, revenue, average view duration (seconds, where a source has watch time),
engagement rate (a fraction: (likes + comments + shares) / views) and subscribers gained, with the top 10
content by views and each platform's figures. Null with a reason where no import or connected account has
the figure."""

REVENUE_DOC = """Revenue per day (or week, or month) and by origin, from imported statements and exports and the
connected channel, in one currency (the one most rows use; rows in others are counted in `other_currencies`).
A figure over several days (a statement's month) is spread over its days. `breakdown` is by origin, what made
the content, through confirmed links (Analytics > Links); `unattributed` is money not linked to anything the
studio made. Each day also counts tracks made (`generations`), voice content completed and trend answers made
(`hijacks`). Without any revenue row, the amounts are null and `reasons` says what to import.

`projections`: ordinary least squares on up to 180 days of daily revenue (intercept, linear trend, day-of-week
effects); `next_30d` is the fitted sum of the next 30 days, floored at 0, with an 80 % prediction interval;
`confidence` = 100 × (1 − half-width / forecast), clipped to 0-100. Fewer than 28 days with revenue give nulls
and the reason. `growth_rate`: % change against the previous period of the same length; null when that period
has no revenue."""

CONTENT_DOC = """One entry per library track or voice content with confirmed links (all its platform items
together), and one per unlinked item (`content_id` "item:<id>", `type` "unattributed"). Figures over the period:
`views` (YouTube views + streams), `streams`, `revenue`, `engagement` = (likes + comments + shares) / views × 100.
`sort`: "performance" (revenue when any content has revenue, else views), "views", "revenue", "engagement",
"recent" (newest first).

`performance_insights` come from linked content with views in the period, each with its sample size in
`details`; fewer than 3 pieces give empty lists and the reason: `best_genres` (mean views per track, top 3),
`optimal_duration` (the duration band with the highest mean views), `peak_upload_times` (publish hours, UTC),
`engagement_factors` (origins whose mean engagement beats plain generated tracks)."""

USAGE_DOC = """Requests, successful requests (status < 400) and error rates of the local API from its request log
(summed per day and endpoint); per endpoint the mean latency and the 95th percentile (the upper edge of its
latency bucket); per connector the quota units and requests spent, and YouTube's daily quota (10 000 units, its
day starting at midnight Pacific time)."""

ENGAGEMENT_DOC = """`engagement_overview`: community members the studio knows (`total_users`), members who wrote
in the period (`active_users`), `engagement_rate` = (likes + comments + shares) / views × 100 over every
platform; `retention_rate` is always null (no supported export or API carries it). `platform_engagement`, per
platform: views, streams, listeners, subscribers gained, likes and comments in the period; `avg_watch_time`
(seconds) = watch time / views where a source has watch time; `likes_per_video` and `comments_per_video` per
item with views in the period. `platform` picks one platform (lower case)."""

REPORT_DOC = """Makes a report of the period as a job: PDF (tables and charts), CSV (section, figure, value,
source) or JSON (each section as the matching API answer, with its reasons and sources). Sections:
revenue_analysis, content_performance, system_health, growth_projections, engagement, costs; `report_type`
picks the default sections (comprehensive: all of them). The period is fixed when asked. Read the report's
state at GET /api/v1/reports/{report_id}; download it from `download_url` once it is completed."""

IMPORTS_DOC = """Reads a YouTube Studio export (a CSV, or the ZIP it downloads), a Spotify for Artists export, or a
DistroKid or TuneCore statement, sent as the multipart field `file`, and stores every row (its figures and its
original text). Importing the same file again changes nothing (`duplicate`); rows that repeat an older import's
rows (same source, item, days, platform and country) replace them. Items are then linked by exact ids (ISRC,
video id) or given title-match suggestions to confirm (GET /api/analytics/items). With `?preview=true` the file
is read and described without storing anything. A file that cannot be read is answered 422, naming the file,
the line and the column."""

COSTS_DOC = """Compute: each finished job's measured run time (finished − started), by job kind. Money only where
prices are set (PUT /api/v1/costs/prices): the cost per compute hour is `compute_per_hour` when set, else
`device_watts` / 1000 × `electricity_per_kwh`; with neither, every money figure is null and `reasons` says what
to set. Quota units per connector from the connectors' usage ledger."""

LIMITS_DOC = """Sets limits (null clears one; fields left out keep their value): `daily_compute_s`,
`monthly_compute_s`, `daily_cost`, `monthly_cost`, `daily_quota_units` ({connector: units}), `alert_at_pct`
(default 80). Today's and this month's use (UTC) is compared with each limit now, after every finished job and
every minute: a `system_alert` event goes out with severity "warning" once use reaches alert_at_pct of a limit
and "critical" at 100 %, each once per limit and day (or month). `alerts` lists those this change fired."""


def _analytics(request: web.Request):
    return request.app[SERVICES].analytics


@contextmanager
def _errors(parameter: str | None = None) -> Iterator[None]:
    try:
        yield
    except AnalyticsError as exc:
        raise ApiError(422, str(exc), details={"parameter": parameter} if parameter else None) from None
    except KeyError as exc:
        for kind, what in NOT_FOUND:
            if isinstance(exc, kind):
                raise not_found(what, str(exc.args[0]) if exc.args else "?") from None
        raise


def _period(request: web.Request, text: str, end: str | None = None):
    with _errors("period"):
        return _analytics(request).period(text, end_day=end)


def plain(payload: dict[str, Any], *, http_status: int = 200) -> web.Response:
    """Seed 003's answers: the object itself, no status wrapper."""
    return web.json_response(payload, status=http_status, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


class PeriodQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = PERIOD
    end: str | None = END


class RevenueQuery(PeriodQuery):
    breakdown: Literal["daily", "weekly", "monthly"] = "daily"


class ContentQuery(PeriodQuery):
    sort: Literal["performance", "views", "revenue", "engagement", "recent"] = "performance"
    limit: int = Field(default=20, ge=1, le=1000)
    q: str | None = Field(default=None, max_length=200, description="words in the title")
    origin: Literal["music_generation", "voice_empire", "trending_hijacker", "community_empire"] | None = None


class EngagementQuery(PeriodQuery):
    platform: str = Field(default="all", max_length=40, description="all, youtube, spotify, …")


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    report_type: ReportType = "comprehensive"
    period: str = PERIOD
    format: ReportFormat = "pdf"
    include_sections: list[Section] | None = Field(default=None, max_length=len(SECTIONS),
                                                   description="default: the report type's sections")


def _export(request: web.Request, body: ExportIn) -> dict[str, Any]:
    with _errors("report_type"):
        return _analytics(request).reports.generate(report_type=body.report_type, period=body.period,
                                                    format=body.format, sections=body.include_sections)


# --- seed 000 --------------------------------------------------------------------------------------
@routes.get("/api/analytics/dashboard", summary="System health, revenue and content figures", tags=TAGS,
            query=PeriodQuery, description=DASHBOARD_DOC, response=AnalyticsDashboardOut)
async def dashboard(request: web.Request, query: PeriodQuery) -> web.Response:
    period = _period(request, query.period, query.end)
    result = await asyncio.to_thread(_analytics(request).dashboard.dashboard, period)
    return ok({k: v for k, v in result.items() if k != "status"})


@routes.get("/api/analytics/revenue", summary="Revenue per day and by origin, with the 30-day projection",
            tags=TAGS, query=RevenueQuery, description=REVENUE_DOC, response=AnalyticsRevenueOut)
async def revenue(request: web.Request, query: RevenueQuery) -> web.Response:
    period = _period(request, query.period, query.end)
    with _errors("breakdown"):
        return ok(await asyncio.to_thread(_analytics(request).revenue.revenue, period, breakdown=query.breakdown))


async def _content(request: web.Request, query: ContentQuery) -> dict[str, Any]:
    period = _period(request, query.period, query.end)
    with _errors("sort"):
        return await asyncio.to_thread(_analytics(request).content.content, period, sort=query.sort,
                                       limit=query.limit, q=query.q, origin=query.origin)


@routes.get("/api/analytics/content", summary="What performs: content ranked, with insights and sample sizes",
            tags=TAGS, query=ContentQuery, description=CONTENT_DOC, response=AnalyticsContentOut)
async def content(request: web.Request, query: ContentQuery) -> web.Response:
    return ok(await _content(request, query))


@routes.get("/api/analytics/performance", summary="Content performance (the same figures as /content)",
            tags=TAGS, query=ContentQuery, description=CONTENT_DOC, response=AnalyticsContentOut)
async def performance(request: web.Request, query: ContentQuery) -> web.Response:
    return ok(await _content(request, query))


@routes.get("/api/analytics/api-usage", summary="Requests, errors and latency per endpoint, connector quota use",
            tags=TAGS, query=PeriodQuery, description=USAGE_DOC, response=AnalyticsApiUsageOut)
async def api_usage(request: web.Request, query: PeriodQuery) -> web.Response:
    period = _period(request, query.period, query.end)
    return ok(await asyncio.to_thread(_analytics(request).usage.api_usage, period))


@routes.get("/api/analytics/engagement", summary="Engagement per platform and the community's audience",
            tags=TAGS, query=EngagementQuery, description=ENGAGEMENT_DOC, response=AnalyticsEngagementOut)
async def engagement(request: web.Request, query: EngagementQuery) -> web.Response:
    period = _period(request, query.period, query.end)
    return ok(await asyncio.to_thread(_analytics(request).engagement.engagement, period, platform=query.platform))


@routes.get("/api/analytics/characters", summary="Each voice character's linked content figures", tags=TAGS,
            query=PeriodQuery, response=AnalyticsCharactersOut)
async def characters(request: web.Request, query: PeriodQuery) -> web.Response:
    """Views, engagement, revenue and growth of each character's content that is linked to imported or
    connected figures (Analytics > Links); null with a reason where none is."""
    period = _period(request, query.period, query.end)
    return ok({"period": period.label,
               "characters": await asyncio.to_thread(_analytics(request).content.characters, period)})


@routes.get("/api/analytics/trends", summary="Your figures week by week and the topics of current trends",
            tags=TAGS, query=PeriodQuery, response=AnalyticsTrendsOut)
async def trends(request: web.Request, query: PeriodQuery) -> web.Response:
    """weekly: views, streams and revenue per week with the change against the week before;
    topics: tags of the items the Trends area's scans saw in the period."""
    period = _period(request, query.period, query.end)
    return ok(await asyncio.to_thread(_analytics(request).engagement.trends, period))


@routes.post("/api/analytics/export", summary="Make a report (PDF, CSV or JSON) as a job", tags=TAGS, body=ExportIn,
             description=REPORT_DOC, response=AnalyticsExportStartedOut,
             responses={202: "The report job was queued; `status` is 'processing'"})
async def export(request: web.Request, body: ExportIn) -> web.Response:
    report = _export(request, body)
    return ok({"report_id": report["report_id"], "estimated_time": report["estimated_time"],
               "download_url": report["download_url"], "job_id": report["job_id"],
               "status_url": f"/api/v1/reports/{report['report_id']}"}, status="processing", http_status=202)


@routes.get("/api/analytics/reports", summary="Reports made, newest first", tags=TAGS, response=AnalyticsReportListOut)
async def reports_list(request: web.Request) -> web.Response:
    return ok({"reports": _analytics(request).reports.list()})


def _report_file(request: web.Request, report_id: str) -> web.StreamResponse:
    with _errors():
        report = _analytics(request).reports.get(report_id)
    if report["status"] != "completed":
        raise ApiError(409, f"the report is {report['status']}; download it once it is completed",
                       details={"status": report["status"], "progress": report["progress"]})
    with _errors():
        path, name, content_type = _analytics(request).reports.file(report_id)
    return web.FileResponse(path, headers={"Content-Type": content_type,
                                           "Content-Disposition": f'attachment; filename="{name}"'})


@routes.get("/api/analytics/reports/{file}", summary="Download a report (report_id.pdf|csv|json)", tags=TAGS,
            response=AnalyticsReportFileOut, wrap=False, media=REPORT_MEDIA, responses=REPORT_FILE_STATUSES)
async def report_download(request: web.Request) -> web.StreamResponse:
    report_id, _, _ext = request.match_info["file"].partition(".")
    return _report_file(request, report_id)


# --- imports and links ---------------------------------------------------------------------------------
class ImportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    preview: bool = Field(default=False, description="Read the file and show what it holds without storing it.")


@routes.post("/api/analytics/imports", summary="Import a YouTube Studio, Spotify for Artists, DistroKid or TuneCore "
             "file", tags=TAGS, query=ImportQuery, form={"file": "file"}, description=IMPORTS_DOC,
             response=AnalyticsImportOut,
             responses={413: "The file is over the import limit (256 MB)",
                        422: "No file in the field 'file', or a file that cannot be read (the message names the "
                             "file, the line and the column)"})
async def import_file(request: web.Request, query: ImportQuery) -> web.Response:
    try:
        files, _fields = await read_form(request, ("file",), MAX_IMPORT_BYTES, example="curl -F file=@statement.tsv")
    except FileTooLargeError as exc:
        raise ApiError(413, exc.message, details=exc.details) from None
    except FormError as exc:
        raise ApiError(400, exc.message, details=exc.details) from None
    if not files:
        raise ApiError(422, "send the file in the multipart field 'file'", details={"parameter": "file"})
    data, filename = files[0]
    imports = _analytics(request).imports
    with _errors("file"):
        if query.preview:
            return ok({"preview": await asyncio.to_thread(imports.preview, data, filename)})
        return ok({"import": await imports.import_file(data, filename)})


@routes.get("/api/analytics/imports", summary="Files imported and connected refreshes", tags=TAGS,
            response=AnalyticsImportsOut)
async def imports_list(request: web.Request) -> web.Response:
    return ok({"imports": _analytics(request).imports.imports()})


@routes.delete("/api/analytics/imports/{import_id}", summary="Forget an import and its rows", tags=TAGS,
               response=AnalyticsImportDeletedOut, responses={404: "No import with that id"})
async def import_delete(request: web.Request) -> web.Response:
    with _errors():
        return ok(_analytics(request).imports.delete(request.match_info["import_id"]))


class ItemsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["none", "suggested", "confirmed", "rejected"] | None = None
    q: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


@routes.get("/api/analytics/items", summary="Videos and songs the imports name, with their links", tags=TAGS,
            query=ItemsQuery, response=AnalyticsItemsOut)
async def items(request: web.Request, query: ItemsQuery) -> web.Response:
    total, rows = _analytics(request).linking.items(status=query.status, q=query.q, limit=query.limit,
                                                    offset=query.offset)
    return ok({"total": total, "items": rows})


def _item_id(request: web.Request) -> int:
    text = request.match_info["item_id"]
    if not (text.isascii() and text.isdigit()) or len(text) > 12:  # '²' is a digit int() refuses
        raise not_found("item", text)
    return int(text)


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    track_id: str | None = Field(default=None, max_length=64, description="link to this library track instead")
    content_id: str | None = Field(default=None, max_length=64, description="link to this voice content instead")


@routes.post("/api/analytics/items/{item_id}/confirm", summary="Confirm a suggested link, or link by hand",
             tags=TAGS, body=ConfirmIn, response=AnalyticsItemChangedOut,
             responses={404: "No item with that id",
                        422: "Both track_id and content_id, an unknown track or voice content, or no target for an "
                             "item without a suggested link"})
async def confirm(request: web.Request, body: ConfirmIn) -> web.Response:
    with _errors("track_id"):
        return ok({"item": _analytics(request).linking.confirm(_item_id(request), track_id=body.track_id,
                                                               content_id=body.content_id)})


@routes.post("/api/analytics/items/{item_id}/reject", summary="Reject a suggested link", tags=TAGS,
             response=AnalyticsItemChangedOut, responses={404: "No item with that id"})
async def reject(request: web.Request) -> web.Response:
    with _errors():
        return ok({"item": _analytics(request).linking.reject(_item_id(request))})


@routes.post("/api/analytics/items/{item_id}/unlink", summary="Remove an item's link", tags=TAGS,
             response=AnalyticsItemChangedOut, responses={404: "No item with that id"})
async def unlink(request: web.Request) -> web.Response:
    with _errors():
        return ok({"item": _analytics(request).linking.unlink(_item_id(request))})


# --- the connected channel and followed channels ------------------------------------------------------------
class YouTubeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel_id: str | None = Field(default=None, max_length=40, pattern=rf"^{_BLANKS}(?:{_CHANNEL_ID})?{_BLANKS}$",
                                   description="your channel (UC and 22 more characters); empty to clear")
    api_key: str | None = Field(default=None, max_length=200, pattern=r"^(?:|\s*[!-~]{20,}\s*)$",
                                description="write-only (a Google API key, no spaces); empty string removes it")
    client_id: str | None = Field(default=None, max_length=300, pattern=CREDENTIAL_PATTERN,
                                  description="OAuth client of type Desktop app")
    client_secret: str | None = Field(default=None, max_length=300, pattern=CREDENTIAL_PATTERN)


@routes.get("/api/analytics/youtube", summary="Your connected YouTube channel (keys never shown)", tags=TAGS,
            response=AnalyticsYouTubeOut)
async def youtube_status(request: web.Request) -> web.Response:
    return ok({"youtube": _analytics(request).youtube.status()})


@routes.put("/api/analytics/youtube", summary="Set your channel id, API key or OAuth client", tags=TAGS,
            body=YouTubeIn, response=AnalyticsYouTubeOut,
            responses={422: "A channel id, API key or OAuth client that is not valid (the message says which)"})
async def youtube_configure(request: web.Request, body: YouTubeIn) -> web.Response:
    youtube = _analytics(request).youtube
    fields = body.model_fields_set
    with _errors():
        if "channel_id" in fields:
            youtube.configure(body.channel_id)
        if "api_key" in fields:
            youtube.set_api_key(body.api_key) if body.api_key else youtube.clear_api_key()
        if body.client_id is not None or body.client_secret is not None:
            youtube.set_oauth_client(body.client_id or "", body.client_secret or "")
    return ok({"youtube": youtube.status()})


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = Field(default=90, ge=1, le=365, description="how many days back (the Analytics API's daily rows)")


@routes.post("/api/analytics/youtube/refresh", summary="Read your channel's figures now", tags=TAGS, body=RefreshIn,
             response=AnalyticsYouTubeRefreshOut,
             responses={422: "No API key or sign-in yet, no channel id with an API key only, or YouTube refused "
                             "(the message gives its reason)"})
async def youtube_refresh(request: web.Request, body: RefreshIn) -> web.Response:
    with _errors():
        return ok({"refresh": await _analytics(request).youtube.refresh(days=body.days)})


@routes.post("/api/analytics/youtube/sign-in", summary="Start Google sign-in: returns the address to open",
             tags=TAGS, response=AnalyticsSignInOut,
             responses={202: "Waiting for the person to sign in in their browser; `status` is 'waiting'",
                        422: "The sign-in cannot start (no OAuth client set: PUT /api/analytics/youtube)",
                        503: "The sign-in did not start within 10 seconds: try again"})
async def youtube_sign_in(request: web.Request) -> web.Response:
    """The sign-in finishes when the person allows access in the browser at `authorization_url`
    (the redirect comes back to this machine); GET /api/analytics/youtube then says `signed_in`."""
    youtube = _analytics(request).youtube
    url: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(youtube.sign_in(lambda link: url.done() or url.set_result(link)))
    _sign_ins.add(task)
    task.add_done_callback(_sign_ins.discard)
    task.add_done_callback(lambda t: t.cancelled() or t.exception())  # read: the result is in status()
    done, _ = await asyncio.wait({url, task}, timeout=10.0, return_when=asyncio.FIRST_COMPLETED)
    if url.done():
        return ok({"authorization_url": url.result()}, status="waiting", http_status=202)
    if task in done and isinstance(task.exception(), AnalyticsError):
        raise ApiError(422, str(task.exception()))
    task.cancel()
    raise ApiError(503, "the sign-in could not start: try again")


@routes.post("/api/analytics/youtube/sign-out", summary="Forget the Google sign-in", tags=TAGS,
             response=AnalyticsYouTubeOut)
async def youtube_sign_out(request: web.Request) -> web.Response:
    return ok({"youtube": _analytics(request).youtube.sign_out()})


class FollowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel_id: str = Field(min_length=1, max_length=40, pattern=rf"^{_BLANKS}{_CHANNEL_ID}{_BLANKS}$",
                            description="the channel's id (UC and 22 more characters)")


@routes.post("/api/analytics/competitors", summary="Follow a channel to compare with", tags=TAGS, body=FollowIn,
             response=AnalyticsCompetitorsOut, responses={422: "Not a channel id, or already 50 channels followed"})
async def follow(request: web.Request, body: FollowIn) -> web.Response:
    with _errors("channel_id"):
        return ok(_analytics(request).youtube.follow(body.channel_id))


@routes.delete("/api/analytics/competitors/{channel_id}", summary="Stop following a channel", tags=TAGS,
               response=AnalyticsCompetitorsOut, responses={422: "That channel is not followed"})
async def unfollow(request: web.Request) -> web.Response:
    with _errors("channel_id"):
        return ok(_analytics(request).youtube.unfollow(request.match_info["channel_id"]))


@routes.post("/api/analytics/competitors/refresh", summary="Read the followed channels' public figures now",
             tags=TAGS, response=AnalyticsCompetitorsOut,
             responses={422: "No channel followed, no API key or sign-in, or YouTube refused (the message gives its "
                             "reason)"})
async def competitors_refresh(request: web.Request) -> web.Response:
    with _errors():
        return ok(await _analytics(request).youtube.refresh_competitors())


# --- seed 003 (/api/v1) --------------------------------------------------------------------------------------
@routes.get("/api/v1/analytics/overview", summary="Views, revenue, watch time, engagement, subscribers", tags=V1_TAGS,
            query=PeriodQuery, description=OVERVIEW_DOC, response=AnalyticsOverviewOut, wrap=False)
async def v1_overview(request: web.Request, query: PeriodQuery) -> web.Response:
    period = _period(request, query.period, query.end)
    return plain(await asyncio.to_thread(_analytics(request).dashboard.overview, period))


@routes.get("/api/v1/analytics/revenue", summary="Revenue analytics", tags=V1_TAGS, query=RevenueQuery,
            description=REVENUE_DOC, response=AnalyticsRevenueOut, wrap=False)
async def v1_revenue(request: web.Request, query: RevenueQuery) -> web.Response:
    period = _period(request, query.period, query.end)
    with _errors("breakdown"):
        return plain(await asyncio.to_thread(_analytics(request).revenue.revenue, period, breakdown=query.breakdown))


@routes.get("/api/v1/analytics/engagement", summary="Engagement metrics", tags=V1_TAGS, query=EngagementQuery,
            description=ENGAGEMENT_DOC, response=AnalyticsEngagementOut, wrap=False)
async def v1_engagement(request: web.Request, query: EngagementQuery) -> web.Response:
    period = _period(request, query.period, query.end)
    return plain(await asyncio.to_thread(_analytics(request).engagement.engagement, period, platform=query.platform))


@routes.get("/api/v1/analytics/trends", summary="Your figures week by week and trending topics", tags=V1_TAGS,
            query=PeriodQuery, response=AnalyticsTrendsOut, wrap=False)
async def v1_trends(request: web.Request, query: PeriodQuery) -> web.Response:
    period = _period(request, query.period, query.end)
    return plain(await asyncio.to_thread(_analytics(request).engagement.trends, period))


@routes.get("/api/v1/analytics/competitors", summary="The channels you follow: public figures and changes",
            tags=V1_TAGS, response=AnalyticsCompetitorsOut, wrap=False)
async def v1_competitors(request: web.Request) -> web.Response:
    return plain(_analytics(request).youtube.competitors())


@routes.post("/api/v1/analytics/export", summary="Export analytics data (a report job)", tags=V1_TAGS, body=ExportIn,
             description=REPORT_DOC, response=AnalyticsReportQueuedOut, wrap=False,
             responses={202: "The report job was queued"})
async def v1_export(request: web.Request, body: ExportIn) -> web.Response:
    return plain(_export(request, body), http_status=202)


@routes.get("/api/v1/costs/summary", summary="Compute, quota units and money where prices are set", tags=V1_TAGS,
            query=PeriodQuery, description=COSTS_DOC, response=AnalyticsCostSummaryOut, wrap=False)
async def costs_summary(request: web.Request, query: PeriodQuery) -> web.Response:
    period = _period(request, query.period, query.end)
    return plain(await asyncio.to_thread(_analytics(request).costs.summary, period))


@routes.get("/api/v1/costs/history", summary="Costs per day", tags=V1_TAGS, query=PeriodQuery,
            response=AnalyticsCostHistoryOut, wrap=False)
async def costs_history(request: web.Request, query: PeriodQuery) -> web.Response:
    period = _period(request, query.period, query.end)
    return plain(await asyncio.to_thread(_analytics(request).costs.history, period))


@routes.get("/api/v1/costs/optimization", summary="What stands out in the last 30 days' costs", tags=V1_TAGS,
            response=AnalyticsOptimizationOut, wrap=False)
async def costs_optimization(request: web.Request) -> web.Response:
    return plain(await asyncio.to_thread(_analytics(request).costs.optimization))


class LimitsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    daily_compute_s: float | None = Field(default=None, gt=0, le=1e9)
    monthly_compute_s: float | None = Field(default=None, gt=0, le=1e9)
    daily_cost: float | None = Field(default=None, gt=0, le=1e9)
    monthly_cost: float | None = Field(default=None, gt=0, le=1e9)
    daily_quota_units: dict[str, Annotated[int, Field(gt=0, le=1_000_000_000)]] | None = Field(
        default=None, description='connector -> units a day, e.g. {"youtube": 8000}')
    alert_at_pct: float | None = Field(default=None, gt=0, le=100, description="warn at this share of a limit (null: the default)")


@routes.get("/api/v1/costs/limits", summary="The cost limits", tags=V1_TAGS, response=AnalyticsLimitsOut, wrap=False)
async def costs_limits(request: web.Request) -> web.Response:
    return plain(_analytics(request).costs.limits())


@routes.put("/api/v1/costs/limits", summary="Set limits; crossing one emits a system_alert", tags=V1_TAGS,
            body=LimitsIn, description=LIMITS_DOC, response=AnalyticsLimitsSetOut, wrap=False)
async def costs_set_limits(request: web.Request, body: LimitsIn) -> web.Response:
    costs = _analytics(request).costs
    with _errors():
        limits = costs.set_limits(body.model_dump(exclude_unset=True))
    alerts = await asyncio.to_thread(costs.check_limits)
    return plain({**limits, "alerts": alerts})


class PricesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    electricity_per_kwh: float | None = Field(default=None, ge=0, le=100)
    device_watts: float | None = Field(default=None, gt=0, le=100000)
    compute_per_hour: float | None = Field(default=None, ge=0, le=10000)
    currency: str | None = Field(default=None, min_length=3, max_length=3)


@routes.get("/api/v1/costs/prices", summary="The prices costs are computed with", tags=V1_TAGS,
            response=AnalyticsPricesOut, wrap=False)
async def costs_prices(request: web.Request) -> web.Response:
    return plain(_analytics(request).costs.prices())


@routes.put("/api/v1/costs/prices", summary="Set the price of a kWh, the machine's draw or a compute rate",
            tags=V1_TAGS, body=PricesIn, response=AnalyticsPricesOut, wrap=False)
async def costs_set_prices(request: web.Request, body: PricesIn) -> web.Response:
    with _errors():
        return plain(_analytics(request).costs.set_prices(body.model_dump(exclude_unset=True)))


@routes.get("/api/v1/reports/available", summary="Report types, sections and formats", tags=V1_TAGS,
            response=AnalyticsReportsAvailableOut, wrap=False)
async def reports_available(request: web.Request) -> web.Response:
    return plain(_analytics(request).reports.available())


@routes.post("/api/v1/reports/generate", summary="Generate a report (a job)", tags=V1_TAGS, body=ExportIn,
             description=REPORT_DOC, response=AnalyticsReportQueuedOut, wrap=False,
             responses={202: "The report job was queued"})
async def reports_generate(request: web.Request, body: ExportIn) -> web.Response:
    return plain(_export(request, body), http_status=202)


@routes.get("/api/v1/reports/{report_id}", summary="A report's state", tags=V1_TAGS, response=AnalyticsReportOut,
            wrap=False, responses={404: "No report with that id"})
async def report_get(request: web.Request) -> web.Response:
    with _errors():
        return plain(_analytics(request).reports.get(request.match_info["report_id"]))


@routes.get("/api/v1/reports/{report_id}/download", summary="Download a report", tags=V1_TAGS,
            response=AnalyticsReportFileOut, wrap=False, media=REPORT_MEDIA, responses=REPORT_FILE_STATUSES)
async def report_file(request: web.Request) -> web.StreamResponse:
    return _report_file(request, request.match_info["report_id"])
