"""Success bodies of the analytics area: the dashboard, revenue, content performance, engagement, trends,
API usage, costs and limits, reports, imports and links, the connected YouTube channel and followed
channels.

Figures the studio has no data for are null, and `reasons` (figure name -> why) says why; `sources`
(figure name -> where it comes from) says what each figure is computed from."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from studio.server.schemas import Out

Reasons = Annotated[dict[str, str], Field(description="Why a figure is null or empty, by the figure's name "
                                                      "(empty when every figure has data)")]
Sources = Annotated[dict[str, str], Field(description="Where each figure comes from, by the figure's name (the "
                                                      "imported files and rows, or the studio's own records)")]

Origin = Literal["music_generation", "voice_empire", "trending_hijacker", "community_empire"]
ContentType = Literal["music_generation", "voice_empire", "trending_hijacker", "community_empire", "unattributed"]
Section = Literal["revenue_analysis", "content_performance", "system_health", "growth_projections", "engagement",
                  "costs"]
ReportType = Literal["comprehensive", "revenue", "content", "system"]
ReportFormat = Literal["pdf", "csv", "json"]
Source = Literal["youtube_studio", "spotify_artists", "distrokid", "tunecore", "youtube_data", "youtube_analytics"]
FileSource = Literal["youtube_studio", "spotify_artists", "distrokid", "tunecore"]
LinkStatus = Literal["none", "suggested", "confirmed", "rejected"]


# --- shared pieces ----------------------------------------------------------------------------------
class AnalyticsDataRange(Out):
    first: str | None = Field(description="First day (YYYY-MM-DD) any imported or connected figure covers; "
                                          "null before the first import")
    last: str | None = Field(description="Last day any imported or connected figure covers; null before the "
                                         "first import")


class AnalyticsOriginBreakdown(Out):
    """Revenue by what made the content (confirmed links); `unattributed` is money not linked to anything
    the studio made, or whose link is not confirmed."""

    music_generation: float
    voice_empire: float
    trending_hijacker: float
    community_empire: float
    unattributed: float


class AnalyticsProjectionInterval(Out):
    low: float
    high: float
    level: float = Field(description="Coverage of the prediction interval (0.8: 80 %)")


class AnalyticsProjection(Out):
    next_30d: float | None = Field(description="Projected revenue of the next 30 days; null with fewer than 28 "
                                               "days of daily revenue (see reason)")
    interval: AnalyticsProjectionInterval | None = Field(description="Prediction interval of next_30d; null with it")
    confidence: float | None = Field(description="0-100: how tight the interval is around the forecast; null "
                                                 "when there is no forecast or it is 0")
    horizon_days: int
    model: str = Field(description="The model fitted on the daily revenue")
    days_used: int = Field(description="Days of daily revenue the model was fitted on")
    reason: str | None = Field(description="Why there is no projection; null when there is one")


# --- dashboard --------------------------------------------------------------------------------------
class AnalyticsHealthBasis(Out):
    """What uptime is measured from; the fields present depend on whether the API server ran in the period."""

    runs: int = Field(description="Runs of the API server recorded")
    reason: str | None = Field(default=None, description="Why uptime is null (present only then)")
    ended_without_stop: int | None = Field(default=None, description="Runs that ended without a clean stop "
                                                                     "(crashes)")
    measured_from: str | None = Field(default=None, description="Start of the measured time (ISO 8601)")
    seconds_up: int | None = Field(default=None, description="Seconds the server was running in the measured time")
    thresholds: str = Field(description="The rules of overall_status")


class AnalyticsSystemHealth(Out):
    overall_status: Literal["excellent", "good", "degraded"] | None = Field(
        description="From uptime, 5xx rate and mean latency (see basis.thresholds); null without uptime or requests")
    uptime: str | None = Field(description="uptime_pct as text ('99.8%'); null before the API server ever ran")
    uptime_pct: float | None = Field(description="% of the period the API server was running; null before it ran")
    response_time_avg: float | None = Field(description="Mean latency in ms; null without requests in the period")
    error_rate: float | None = Field(description="% of requests answered 5xx; null without requests")
    requests: int
    basis: AnalyticsHealthBasis
    reasons: Reasons


class AnalyticsRevenueMetrics(Out):
    daily_revenue: float | None = Field(description="The period's revenue / its days; null without revenue data")
    monthly_projection: float | None = Field(description="Projected revenue of the next 30 days; null without "
                                                         "enough daily revenue (see reasons)")
    projection_interval: AnalyticsProjectionInterval | None
    projection_confidence: float | None = Field(description="0-100; null without a projection")
    growth_rate: float | None = Field(description="% change against the previous period of the same length; null "
                                                  "when that period has no revenue")
    diamond_systems_contribution: float | None = Field(
        description="% of the period's revenue attributed (confirmed links) to something the studio made; null "
                    "without revenue")
    total_revenue: float | None = Field(description="Null when no import or connected account has revenue")
    currency: str | None = Field(description="Currency of every amount (the one most rows use); null without "
                                             "revenue rows")
    breakdown: AnalyticsOriginBreakdown | None = Field(description="Revenue by origin; null without revenue data")


class AnalyticsLibraryMetrics(Out):
    total_generated: int = Field(description="Generation and extension jobs created in the period")
    successful_generations: int
    failed_generations: int
    tracks_in_library: int = Field(description="Library tracks made in the period")
    total_duration_hours: float
    average_quality_score: float | None = Field(description="Mean quality of the tracks made, 0-10; null when "
                                                            "none has quality metrics")
    reasons: Reasons
    sources: Sources


class AnalyticsDashboardOut(Out):
    timestamp: str
    period: str = Field(description="The period as asked (30d, all, ...)")
    start: str = Field(description="First day of the period (YYYY-MM-DD)")
    end: str = Field(description="Last day of the period (YYYY-MM-DD)")
    system_health: AnalyticsSystemHealth
    revenue_metrics: AnalyticsRevenueMetrics
    content_metrics: AnalyticsLibraryMetrics
    data_range: AnalyticsDataRange
    reasons: Reasons
    sources: Sources


# --- revenue ----------------------------------------------------------------------------------------
class AnalyticsRevenueDay(Out):
    date: str = Field(description="The day, or the first day of the week (Monday) or month with a weekly or "
                                  "monthly breakdown")
    revenue: float
    by_origin: AnalyticsOriginBreakdown
    generations: int = Field(description="Library tracks created")
    voice_content: int = Field(description="Voice content completed")
    hijacks: int = Field(description="Trend answers made")


class AnalyticsRevenueOut(Out):
    period: str
    start: str
    end: str
    currency: str | None = Field(description="Currency of every amount; null without revenue rows")
    total_revenue: float | None = Field(description="Null when no import or connected account has revenue")
    breakdown: AnalyticsOriginBreakdown | None = Field(description="Revenue by origin; null without revenue data")
    by_source: dict[str, float] = Field(description="Revenue by import source (youtube_studio, distrokid, ...); "
                                                    "empty without revenue data")
    by_platform: dict[str, float] = Field(description="Revenue by platform as the statements name it, largest "
                                                      "first; empty without revenue data")
    daily_data: list[AnalyticsRevenueDay] = Field(description="One entry per day, week or month (breakdown_by)")
    breakdown_by: Literal["daily", "weekly", "monthly"]
    projections: AnalyticsProjection
    growth_rate: float | None = Field(description="% change against the previous period of the same length; null "
                                                  "when that period has no revenue")
    data_range: AnalyticsDataRange
    other_currencies: dict[str, int] = Field(description="Revenue rows in other currencies, left out of the sums: "
                                                         "currency code -> rows")
    reasons: Reasons
    sources: Sources


# --- content ----------------------------------------------------------------------------------------
class AnalyticsContentEntry(Out):
    content_id: str = Field(description="The library track or voice content id, or 'item:<id>' for an item not "
                                        "linked to anything the studio made")
    item_ids: list[int] = Field(description="The platform items (videos, songs on statements) counted together")
    title: str | None
    type: ContentType = Field(description="What made it; 'unattributed' for an unlinked item")
    linked: bool
    views: int = Field(description="Views plus streams in the period")
    streams: int
    engagement: float | None = Field(description="(likes + comments + shares) / views × 100; null without views or "
                                                 "interactions")
    revenue: float | None = Field(description="Null when no item in the period has revenue")
    created_at: str | None = Field(description="When the studio made it, or the platform's publish time for an "
                                               "unlinked item; null when unknown")
    platforms: list[str]


class AnalyticsInsightGroup(Out):
    """One group an insight compares; the key field depends on the insight (genre, band, hour or origin)."""

    genre: str | None = None
    band: str | None = None
    hour: str | None = None
    origin: ContentType | None = None
    mean_views: int | None = None
    mean_engagement: float | None = None
    n: int = Field(description="Content in the group")


class AnalyticsInsightDetail(Out):
    sample_size: int = Field(description="Linked content the insight is computed from")
    reason: str | None = Field(default=None, description="Why the insight is empty (present only then)")
    basis: str | None = Field(default=None, description="How the insight is computed")
    groups: list[AnalyticsInsightGroup] | None = None
    baseline: float | None = Field(default=None, description="engagement_factors: mean engagement of generated "
                                                             "tracks with no character, trend or community promotion")


class AnalyticsInsightDetails(Out):
    best_genres: AnalyticsInsightDetail
    optimal_duration: AnalyticsInsightDetail
    peak_upload_times: AnalyticsInsightDetail
    engagement_factors: AnalyticsInsightDetail


class AnalyticsPerformanceInsights(Out):
    """From linked content with views in the period; fewer than 3 pieces leave them empty (see details)."""

    best_genres: list[str] = Field(description="Up to 3 genres by mean views per linked track")
    optimal_duration: str | None = Field(description="Duration band with the highest mean views; null without data")
    peak_upload_times: list[str] = Field(description="Publish hours (UTC, 'HH:00') with the highest mean views")
    engagement_factors: list[Literal["voice_character", "trend_timing", "community_promotion"]] = Field(
        description="Origins whose mean engagement beats plain generated tracks")
    details: AnalyticsInsightDetails


class AnalyticsContentOut(Out):
    period: str
    sort: Literal["performance", "views", "revenue", "engagement", "recent"]
    total: int = Field(description="Content matching the filters (before the limit)")
    top_performing: list[AnalyticsContentEntry]
    performance_insights: AnalyticsPerformanceInsights
    reasons: Reasons
    sources: Sources


class AnalyticsCharacterContent(Out):
    title: str | None
    views: int
    engagement: float | None


class AnalyticsCharacterFigures(Out):
    name: str
    character_id: str
    total_content: int = Field(description="The character's completed voice content")
    linked_content: int = Field(description="Its content linked to imported or connected figures in the period")
    total_views: int | None = Field(description="Null when none of its content is linked")
    average_engagement: float | None = Field(description="Mean engagement rate (%); null without engagement data")
    revenue_generated: float | None = Field(description="Null when its linked content has no revenue")
    growth_rate: float | None = Field(description="% change of views against the previous period; null when that "
                                                  "period has no views")
    top_performing_content: list[AnalyticsCharacterContent]
    reasons: Reasons
    period: str


class AnalyticsCharactersOut(Out):
    period: str
    characters: list[AnalyticsCharacterFigures]


# --- API usage --------------------------------------------------------------------------------------
class AnalyticsEndpointUsage(Out):
    endpoint: str
    method: str
    requests: int
    avg_response_time: float | None = Field(description="Mean latency in ms")
    p95_response_time: float | None = Field(description="95th percentile latency in ms (upper edge of its bucket); "
                                                        "null when it falls in the slowest bucket")
    error_rate: float | None = Field(description="% of requests answered 4xx or 5xx")
    server_error_rate: float | None = Field(description="% of requests answered 5xx")


class AnalyticsQuotaLimit(Out):
    daily_units: int
    used_today: int = Field(description="Units used today (YouTube's day: from midnight Pacific time)")


class AnalyticsQuotaLimits(Out):
    youtube: AnalyticsQuotaLimit


class AnalyticsApiUsageOut(Out):
    period: str
    total_requests: int
    successful_requests: int = Field(description="Requests answered below 400")
    error_rate: float | None = Field(description="% answered 4xx or 5xx; null without requests")
    client_error_rate: float | None = Field(description="% answered 4xx; null without requests")
    server_error_rate: float | None = Field(description="% answered 5xx; null without requests")
    endpoint_usage: list[AnalyticsEndpointUsage] = Field(description="Per endpoint, busiest first")
    quota_usage: dict[str, int] = Field(description="Quota units each connector spent in the period")
    connector_requests: dict[str, int] = Field(description="Requests each connector made in the period")
    quota_limits: AnalyticsQuotaLimits
    reasons: Reasons
    sources: Sources


# --- engagement and trends --------------------------------------------------------------------------
class AnalyticsEngagementOverview(Out):
    total_users: int = Field(description="Community members the studio knows")
    active_users: int = Field(description="Members who wrote in the period")
    engagement_rate: float | None = Field(description="(likes + comments + shares) / views × 100 over every "
                                                      "platform; null without views")
    retention_rate: float | None = Field(description="Always null: none of the supported exports or APIs carries "
                                                     "a retention figure")


class AnalyticsPlatformEngagement(Out):
    """A platform's figures in the period; each is null where no source of that platform carries it."""

    platform: str
    views: int | None
    streams: int | None
    listeners: int | None
    subscribers: int | None = Field(description="Subscribers gained")
    likes: int | None
    comments: int | None
    avg_watch_time: float | None = Field(description="Seconds: watch time / views")
    likes_per_video: float | None = Field(description="Per item with views in the period")
    comments_per_video: float | None


class AnalyticsEngagementOut(Out):
    period: str
    platform: str = Field(description="The platform asked for, lower case ('all')")
    engagement_overview: AnalyticsEngagementOverview
    platform_engagement: list[AnalyticsPlatformEngagement] = Field(description="Busiest platform first")
    reasons: Reasons
    sources: Sources


class AnalyticsTrendWeek(Out):
    week_start: str
    days: int = Field(description="Days of the period in this week (the last may be shorter)")
    views: float
    streams: float
    revenue: float
    views_change_pct: float | None = Field(default=None, description="% change against the week before; absent "
                                                                     "on the first week, null when not comparable")
    streams_change_pct: float | None = None
    revenue_change_pct: float | None = None


class AnalyticsTrendTopic(Out):
    topic: str
    trending_items: int = Field(description="Trend items seen in the period that carry the tag")
    mean_viral_score: float | None = Field(description="Null when none of them has a viral score")


class AnalyticsTrendsOut(Out):
    period: str
    weekly: list[AnalyticsTrendWeek]
    topics: list[AnalyticsTrendTopic]
    reasons: Reasons
    sources: Sources


# --- overview ---------------------------------------------------------------------------------------
class AnalyticsOverviewMetrics(Out):
    total_views: int | None = Field(description="Null without imported or connected views in the period")
    total_revenue: float | None = Field(description="Null when no import or connected account has revenue")
    currency: str | None
    avg_view_duration: float | None = Field(description="Seconds; null when no source has watch time")
    engagement_rate: float | None = Field(description="A fraction: (likes + comments + shares) / views; null "
                                                      "without views")
    subscriber_growth: int | None = Field(description="Subscribers gained; null when no source carries it")


class AnalyticsOverviewOut(Out):
    period: str
    start: str
    end: str
    metrics: AnalyticsOverviewMetrics
    top_videos: list[AnalyticsContentEntry] = Field(description="Up to 10, by views")
    channel_performance: list[AnalyticsPlatformEngagement]
    reasons: Reasons
    sources: Sources


# --- reports ----------------------------------------------------------------------------------------
class AnalyticsJobError(Out):
    code: str
    message: str
    details: Any = Field(default=None, description="Free-form details of the failure, when the job gave any")


class AnalyticsReportOut(Out):
    report_id: str
    status: Literal["processing", "completed", "failed", "cancelled"]
    progress: float = Field(description="Percent done")
    report_type: ReportType
    period: str
    format: ReportFormat
    sections: list[Section]
    job_id: str | None = Field(description="The job that makes it (the same id as the report)")
    created_at: str
    finished_at: str | None
    download_url: str = Field(description="Where the file is, once completed")
    error: AnalyticsJobError | None = Field(description="Why the job failed; null otherwise")


class AnalyticsReportQueuedOut(AnalyticsReportOut):
    estimated_time: int = Field(description="Expected seconds to make it")


class AnalyticsReportListOut(Out):
    reports: list[AnalyticsReportOut] = Field(description="Newest first, at most 50")


class AnalyticsExportStartedOut(Out):
    report_id: str
    estimated_time: int = Field(description="Expected seconds to make it")
    download_url: str
    job_id: str
    status_url: str = Field(description="Where to read the report's state")


class AnalyticsReportTypeInfo(Out):
    id: ReportType
    title: str
    sections: list[Section]


class AnalyticsSectionInfo(Out):
    id: Section
    title: str


class AnalyticsReportsAvailableOut(Out):
    report_types: list[AnalyticsReportTypeInfo]
    sections: list[AnalyticsSectionInfo]
    formats: list[ReportFormat]


class AnalyticsGrowthSection(Out):
    projections: AnalyticsProjection
    growth_rate: float | None
    history_days: int
    reasons: Reasons
    sources: Sources


class AnalyticsContentSection(AnalyticsContentOut):
    library: AnalyticsLibraryMetrics


class AnalyticsHealthSection(Out):
    health: AnalyticsSystemHealth
    api_usage: AnalyticsApiUsageOut


class AnalyticsCostSummaryOut(Out):
    period: str
    currency: str = Field(description="The currency prices are set in (USD by default)")
    total_cost: float | None = Field(description="Null when no price is set")
    breakdown: dict[str, float | None] = Field(description="Cost per job kind; null values when no price is set")
    compute_seconds: dict[str, float] = Field(description="Measured run time per job kind, largest first")
    total_compute_seconds: float
    jobs: int = Field(description="Jobs that finished in the period")
    quota_units: dict[str, int] = Field(description="Quota units each connector spent")
    tracks_generated: int
    average_cost_per_track: float | None = Field(description="Music jobs' cost / tracks made; null without a price "
                                                             "or tracks")
    cost_per_compute_hour: float | None = Field(description="Null when no price is set")
    reasons: Reasons
    sources: Sources


class AnalyticsReportSections(Out):
    """The sections the report was asked with; each holds what the matching API answer holds."""

    revenue_analysis: AnalyticsRevenueOut | None = None
    growth_projections: AnalyticsGrowthSection | None = None
    content_performance: AnalyticsContentSection | None = None
    system_health: AnalyticsHealthSection | None = None
    engagement: AnalyticsEngagementOut | None = None
    costs: AnalyticsCostSummaryOut | None = None


class AnalyticsReportFileOut(Out):
    """A JSON report's file."""

    report_id: str
    report_type: ReportType
    period: str
    start: str
    end: str
    generated_at: str
    sections: AnalyticsReportSections


# --- costs ------------------------------------------------------------------------------------------
class AnalyticsCostHistoryOut(Out):
    period: str
    days: list[str]
    compute_seconds: list[float] = Field(description="Per day of `days`")
    compute_seconds_by_kind: dict[str, list[float]] = Field(description="Job kind -> seconds per day")
    cost: list[float] | None = Field(description="Per day; null when no price is set")
    quota_units: dict[str, list[int]] = Field(description="Connector -> units per day")
    reasons: Reasons


class AnalyticsSuggestion(Out):
    area: Literal["compute", "quota", "limits"]
    figure: float | None = Field(description="The figure behind it (a % or a count of days); null for a crossed "
                                             "limit")
    message: str


class AnalyticsOptimizationOut(Out):
    suggestions: list[AnalyticsSuggestion]
    period: str
    reasons: Reasons


class AnalyticsLimitsOut(Out):
    daily_compute_s: float | None = Field(description="Null: no limit")
    monthly_compute_s: float | None
    daily_cost: float | None
    monthly_cost: float | None
    daily_quota_units: dict[str, int] = Field(description="Connector -> units a day")
    alert_at_pct: float = Field(description="Warn at this % of a limit")


class AnalyticsCostAlert(Out):
    severity: Literal["warning", "critical"]
    service: str = Field(description="'compute', 'costs' or the connector")
    message: str
    action_required: bool
    estimated_reset: str = Field(description="When the limit's window starts again (ISO 8601)")
    limit: str = Field(description="The limit's name")
    used: float
    value: float = Field(description="The limit")


class AnalyticsLimitsSetOut(AnalyticsLimitsOut):
    alerts: list[AnalyticsCostAlert] = Field(description="Alerts this change fired (each fires once per limit and "
                                                         "window)")


class AnalyticsPricesOut(Out):
    currency: str
    electricity_per_kwh: float | None
    device_watts: float | None
    compute_per_hour: float | None
    cost_per_compute_hour: float | None = Field(description="compute_per_hour, else device_watts / 1000 × "
                                                            "electricity_per_kwh; null with neither")


# --- imports and links --------------------------------------------------------------------------------
class AnalyticsWindow(Out):
    start: str | None
    end: str | None


class AnalyticsStatRowOut(Out):
    line: int
    file: str = Field(description="The file (or the table inside an archive) the row is from")
    scope: Literal["item", "total"] = Field(description="A row of one video or song, or the channel's total")
    start_day: str | None
    end_day: str | None
    platform: str
    external_id: str | None
    isrc: str | None
    title: str | None
    artist: str | None
    country: str | None
    metrics: dict[str, float]
    revenue: float | None
    currency: str | None
    extra: dict[str, str]


class AnalyticsImportPreview(Out):
    file: str
    source: FileSource
    format: str
    window: AnalyticsWindow
    rows: int
    items: int = Field(description="Distinct videos or songs")
    mapped: dict[str, str] = Field(description="The file's column -> the figure it is read as")
    unmapped: list[str] = Field(description="Columns kept but not read")
    skipped: list[str] = Field(description="Lines left out, and why")
    sample: list[AnalyticsStatRowOut] = Field(description="The first rows as read")
    already_imported: bool


class AnalyticsImportResult(Out):
    import_id: str
    file: str | None
    source: Source
    format: str
    rows: int
    replaced: int = Field(description="Rows of older imports this one repeats, replaced")
    items: int
    new_items: int
    linked: int = Field(description="Items linked by an exact id")
    suggested: int = Field(description="Items given a suggested link (title match) to confirm")
    duplicate: bool = Field(description="The same file was imported before: nothing changed")


class AnalyticsImportOut(Out):
    """One of the two: `preview` (with ?preview=true) or `import`."""

    preview: AnalyticsImportPreview | None = None
    import_: AnalyticsImportResult | None = Field(default=None, alias="import")


class AnalyticsImportColumns(Out):
    mapped: dict[str, str] = Field(default_factory=dict, description="The file's column -> the figure it is read as")
    unmapped: list[str] = Field(default_factory=list, description="Columns kept but not read")


class AnalyticsImportRecord(Out):
    id: str
    source: Source
    kind: Literal["file", "connected"]
    file: str | None
    format: str
    rows: int
    rows_counted: int = Field(description="Rows still counted (newer imports replace rows they repeat)")
    window: AnalyticsWindow
    columns: AnalyticsImportColumns
    skipped: list[str]
    imported_at: str


class AnalyticsImportsOut(Out):
    imports: list[AnalyticsImportRecord] = Field(description="Newest first, at most 100")


class AnalyticsImportDeletedOut(Out):
    deleted: int = Field(description="Rows removed")


class AnalyticsItemOut(Out):
    id: int
    key: str
    platform: str
    external_id: str | None
    isrc: str | None
    title: str | None
    artist: str | None
    published_at: str | None
    duration_s: float | None
    link_status: LinkStatus
    link_method: Literal["isrc", "title", "manual"] | None
    link_score: float | None = Field(description="0-1 similarity of the titles for a suggestion")
    track_id: str | None
    content_id: str | None
    linked_title: str | None = Field(description="Title of the linked track or voice content")
    updated_at: str


class AnalyticsItemsOut(Out):
    total: int
    items: list[AnalyticsItemOut]


class AnalyticsItemChangedOut(Out):
    item: AnalyticsItemOut


# --- the connected channel and followed channels ----------------------------------------------------------
class AnalyticsYouTubeStatus(Out):
    api_key_set: bool
    api_key_masked: str | None = Field(description="The key's last characters only; null when none is set")
    has_oauth_client: bool
    signed_in: bool
    channel_id: str | None
    channel_title: str | None
    last_refresh: str | None
    stale: bool | None = Field(description="The last refresh is over 30 days old; null before any")
    error: str | None = Field(description="Why the last refresh failed")
    revenue_available: bool | None = Field(description="Whether the last refresh could read revenue; null with an "
                                                       "API key only or before any refresh")
    note: str | None
    videos: int | None
    instructions: list[str]


class AnalyticsYouTubeOut(Out):
    youtube: AnalyticsYouTubeStatus


class AnalyticsYouTubeRefresh(Out):
    channel_id: str | None
    videos: int
    rows: int
    revenue_available: bool | None = Field(description="Null when read with an API key only (no revenue)")
    note: str | None
    import_id: str


class AnalyticsYouTubeRefreshOut(Out):
    refresh: AnalyticsYouTubeRefresh


class AnalyticsSignInOut(Out):
    authorization_url: str = Field(description="Open this address in a browser to allow access")


class AnalyticsCompetitor(Out):
    channel_id: str
    title: str | None = Field(description="Null until the first reading")
    subscribers: float | None = Field(description="Null before a reading or when the channel hides it")
    views: float | None
    videos: float | None
    read_at: str | None
    since: str | None = Field(description="Time of the first reading kept, with at least two readings")
    subscribers_change: float | None = Field(description="Last reading minus the first kept; null with fewer than "
                                                         "two readings")
    views_change: float | None
    videos_change: float | None
    readings: int


class AnalyticsCompetitorsOut(Out):
    competitors: list[AnalyticsCompetitor]
    reasons: Reasons
    sources: Sources
