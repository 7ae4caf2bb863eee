"""Success bodies of the trends area (/api/trending/...): monitoring and its schedule, the stored
trends and their scores, patterns and analytics, answering a trend with a track, the sources.

Figures the studio cannot know are null, and the body's `reasons` map (field name -> why) says
why; model names start with "Trend" so they stay apart from other areas' in /openapi.json."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from studio.server.schemas import Out, absent
from studio.server.schemas.music import ResolvedSpecOut

Period = Literal["peak_hours", "normal_hours", "overnight"]
OpportunityLevel = Literal["HIGH", "MEDIUM", "LOW"]
Strategy = Literal["fast_follower", "own_take"]
JobStatus = Literal["queued", "processing", "completed", "failed", "cancelled"]

REASONS = "Why a figure is null (or what it could not use): field name -> reason"




# --- monitoring and its schedule -----------------------------------------------------------------
class TrendIntervals(Out):
    """Minutes between scans in each period of the local day."""

    peak_hours: int = Field(description="Minutes between scans 12:00-16:00 and 19:00-23:00 local time")
    normal_hours: int = Field(description="Minutes between scans 07:00-12:00, 16:00-19:00 and 23:00-24:00")
    overnight: int = Field(description="Minutes between scans 00:00-07:00")


class TrendIntervalHours(Out):
    """The local hours each period covers, in words."""

    peak_hours: str
    normal_hours: str
    overnight: str


class TrendAutoAnswer(Out):
    enabled: bool = Field(description="Whether scans answer new trends automatically")
    min_viral_score: float = Field(description="Lowest viral_score (0-100) answered automatically")
    max_daily_hijacks: int = Field(description="Automatic answers per local day at most")


class TrendMonitorStarted(Out):
    message: str
    already_running: bool
    monitoring_platforms: int = Field(description="How many sources are enabled (their names in `platforms`)")
    platforms: list[str] = Field(description="Names of the enabled sources")
    scan_interval: int = Field(description="Minutes between scans in the current period")
    interval_period: Period = Field(description="The period of the local day now")
    next_scan: str | None = Field(description="When the next scan runs (ISO 8601 UTC)")
    started_at: str | None = Field(description="When this monitoring run started (ISO 8601 UTC)")
    reasons: dict[str, str] = Field(description=REASONS)


class TrendMonitorRunStats(Out):
    """Figures of the latest monitoring run (the one running, or the last one)."""

    uptime: str | None = Field(description="How long the run lasted, e.g. '6 hours 23 minutes'; null when "
                                           "monitoring was never started")
    uptime_s: float | None = Field(description="The same in seconds; null when monitoring was never started")
    trends_processed: int = Field(description="Chart items the run's scans read")
    hijacks_generated: int = Field(description="Answers (tracks) made during the run, by hand or automatically")
    auto_answers: int = Field(description="Answers the run made automatically")
    scans_done: int
    started_at: str = absent("Absent when monitoring was never started")
    stopped_at: str | None = absent("Null while the run goes on; absent when monitoring was never started")
    reasons: dict[str, str] = absent("Present only when monitoring was never started: why uptime is null")


class TrendMonitorStopped(Out):
    message: str
    was_running: bool
    final_stats: TrendMonitorRunStats


class TrendScheduleSaved(Out):
    schedule_id: str
    next_scan: str | None = Field(description="When the next scan runs (ISO 8601 UTC); null while monitoring is "
                                              "stopped")
    estimated_daily_scans: int = Field(description="Sum over the 24 hours of 60 / that hour's interval")
    intervals: TrendIntervals
    interval_hours: TrendIntervalHours
    priority_platforms: list[str] = Field(description="Sources scanned first")
    auto_hijack: TrendAutoAnswer
    alert_threshold: float = Field(description="viral_score from which a new trend is announced (trend_detected)")
    reasons: dict[str, str] = Field(description=REASONS)


class TrendLastScan(Out):
    """The latest scheduled scan of this run of the studio."""

    started_at: str = Field(description="When it started (written as 'YYYY-MM-DD HH:MM:SS+00:00'; scan_time "
                                        "is the same moment in ISO 8601)")
    scan_time: str
    priority: list[str] = Field(description="Priority sources scanned first")
    scanned: list[str] = Field(description="Sources read")
    errors: dict[str, str] = Field(description="Source name -> why it could not be read")
    items: int = Field(description="Chart items read")
    new_items: int
    auto_answers: list[str] = Field(description="Ids of the answers made automatically")


class TrendScheduleState(Out):
    running: bool = Field(description="Whether monitoring is on (kept across restarts)")
    task_running: bool = Field(description="Whether the scanning task runs in this process now")
    next_scan: str | None = Field(description="Null while monitoring is stopped")
    current_period: Period
    scan_interval: int = Field(description="Minutes between scans in the current period")
    estimated_daily_scans: int
    monitoring_platforms: list[str] = Field(description="Names of the enabled sources")
    intervals: TrendIntervals
    interval_hours: TrendIntervalHours
    priority_platforms: list[str]
    auto_hijack: TrendAutoAnswer
    alert_threshold: float
    stats: TrendMonitorRunStats
    last_scan: TrendLastScan | None = Field(description="Null before the first scheduled scan of this process")
    last_error: str | None


# --- trends ------------------------------------------------------------------------------------
class TrendSuggestedSpec(Out):
    """The generation fields suggested to answer the trend (empty while it is not scored yet)."""

    prompt: str = absent("The suggested answer in words")
    style: str | None = absent("A studio style id; null when none fits")
    mood: str | None = absent("A studio mood; null when no tag or title word names one")
    tempo: float | None = absent("BPM; null when neither the source nor a measured preview gives one")
    duration: float | None = absent("Seconds; null when the source gives no duration")


class TrendMeasuredTag(Out):
    tag: str
    probability: float


class TrendPreviewAnalysis(Out):
    """What the studio measured on the item's 30 s Deezer preview."""

    tempo_bpm: float | None
    tempo_confidence: float | None
    key: str | None
    key_confidence: float | None
    genre: str | None
    genre_confidence: float | None
    tags: list[TrendMeasuredTag]
    analysed_at: str | None
    model: str | None = Field(description="The tagger model that measured the tags")
    basis: str


class TrendPreviewFailure(Out):
    """The preview could not be measured."""

    error: str
    analysed_at: str | None


class Trend(Out):
    id: str
    title: str
    artist: str | None
    platform: str | None = Field(description="The source where it ranks best")
    platforms: list[str] = Field(description="Every source that carried it ('import' for imported charts)")
    chart: str | None = Field(description="The chart of its best rank")
    rank: int | None
    chart_size: int | None
    viral_score: float | None = Field(description="0-100, from its stored snapshots; null while not scored")
    growth_rate: float | None = Field(description="Change per hour, in growth_unit; null before two scans of a "
                                                  "chart")
    growth_unit: str | None = Field(description="e.g. 'views/h', 'streams/h' or 'positions/h'")
    growth_basis: str | None
    opportunity_level: OpportunityLevel | None
    opportunity_basis: str | None
    style: str | None = Field(description="The studio style it fits, or null")
    style_basis: str | None
    suggested_response: str | None = Field(description="The suggested answer in words")
    suggested_spec: TrendSuggestedSpec
    suggestion_basis: str | None
    estimated_revenue: float | None = Field(description="Always null: no revenue data can be imported or "
                                                        "connected yet")
    time_sensitive: bool | None = Field(description="Whether it is expected to fade within 72 h; null when no "
                                                    "decay was observed")
    expires_at: str | None
    expiry_basis: str | None
    first_seen: str
    last_seen: str
    published_at: str | None
    duration_s: float | None
    bpm: float | None = Field(description="The source's own tempo, when it gives one")
    tags: list[str]
    url: str | None
    preview_url: str | None
    preview_analysis: TrendPreviewAnalysis | TrendPreviewFailure | None = Field(
        description="Measured on the Deezer preview (only when the Deezer source's analyse_previews is on); null "
                    "when not measured")
    imported: bool = Field(description="Whether an imported chart file carried it")
    reasons: dict[str, str] = Field(description=REASONS)


class TrendList(Out):
    scan_time: str | None = Field(description="The latest scan or import; null before the first")
    total_trends: int = Field(description="Items seen within window_h hours of the latest scan")
    filtered_trends: int = Field(description="Of those, the items the platform filter kept")
    trends: list[Trend] = Field(description="The first `limit` of them, in the requested order")
    window_h: float = Field(description="Hours before the latest scan that count as current")
    sort: str = absent("The order used; absent before the first scan")
    platform: str = absent("The platform filter used; absent before the first scan")


class TrendSnapshotRow(Out):
    """The item on one chart at one scan."""

    scanned_at: str
    source: str
    chart: str
    rank: int | None
    chart_size: int | None
    metrics: dict[str, float] = Field(description="The source's own counts: views, playcount, listeners, "
                                                  "streams, likes...")
    imported_from: str | None = Field(description="The file an imported row came from")


class TrendScoreComponent(Out):
    value: float | None = Field(description="0-1; null when it cannot be computed")
    weight: float = Field(description="Its share of the score (the weights of missing components are shared out)")
    points: float | None = Field(description="100 x weight x value")
    basis: str = absent("How the value was reached (when it is known)")
    reason: str = absent("Why it is missing (when it is null)")


class TrendScoreBreakdown(Out):
    components: dict[Literal["rank", "rank_velocity", "growth", "breadth"], TrendScoreComponent] = Field(
        description="Empty while the trend is not scored")
    total: float | None = Field(description="The viral_score")
    formula: str | None
    basis: str | None


class TrendDetail(Trend):
    history: list[TrendSnapshotRow] = Field(description="Its snapshots, oldest first (the latest 500)")
    score_breakdown: TrendScoreBreakdown


class TrendAnswerCustomizations(Out):
    """What the answer asked for beyond the trend's suggested spec."""

    style_variation: str = absent()
    duration: float = absent("Seconds")
    target_audience: str = absent()
    audio_quality: Literal["draft", "standard", "high"] = absent()
    auto: bool = absent("Present (true) on answers monitoring made automatically")


class TrendAnswerRecord(Out):
    hijack_id: str
    trend_id: str
    generation_id: str
    job_id: str = Field(description="The same as generation_id")
    strategy: Strategy
    customizations: TrendAnswerCustomizations
    auto: bool
    schedule_upload: bool
    score_at_answer: float | None = Field(description="The trend's viral_score when it was answered")
    created_at: str


class TrendDetailOut(Out):
    trend: TrendDetail
    answers: list[TrendAnswerRecord] = Field(description="Answers made to this trend, newest first")


class TrendPlatformCount(Out):
    platform: str
    opportunities: int


class TrendAnalytics(Out):
    period: str = Field(description="The period asked for, e.g. 7d")
    period_days: int
    trends_detected: int = Field(description="Items first seen in the period")
    hijacks_attempted: int = Field(description="Answers made in the period")
    successful_hijacks: int = Field(description="Of those, answers whose generation completed")
    success_rate: float | None = Field(description="Percent; null when nothing was answered in the period")
    success_basis: str
    revenue_generated: float | None = Field(description="Always null: no revenue data can be imported or "
                                                        "connected yet")
    top_platforms: list[TrendPlatformCount]
    top_platforms_basis: str
    reasons: dict[str, str] = Field(description=REASONS)


# --- patterns ---------------------------------------------------------------------------------
class TrendHourCell(Out):
    day: int = Field(description="0 = Monday")
    hour: int = Field(description="0-23, UTC")
    count: int


class TrendPeakHours(Out):
    hours: list[str] = Field(description="The busiest UTC hours (3 at most), e.g. '14:00-15:00'")
    counts: list[int] = Field(description="Rising items per UTC hour, 24 numbers from 00:00")
    cells: list[TrendHourCell]
    sample_size: int
    timezone: Literal["UTC"]


class TrendBestDays(Out):
    days: list[str] = Field(description="The busiest days (3 at most), e.g. 'Sunday'")
    counts: dict[str, int] = Field(description="Rising items per day name, Monday to Sunday")
    sample_size: int


class TrendKeyword(Out):
    keyword: str
    count: int = Field(description="Rising items carrying the word")
    lift: float = Field(description="How much more often it appears in rising items than in the others")


class TrendKeywords(Out):
    keywords: list[TrendKeyword]
    sample_size: int
    baseline_size: int


class TrendRange(Out):
    """The 25th-75th percentile range of the rising items."""

    range: str = Field(description="e.g. '150-210 seconds'")
    min: float = Field(description="25th percentile")
    max: float = Field(description="75th percentile")
    median: float
    sample_size: int


class TrendTempoRange(TrendRange):
    basis: str


class TrendTempoBin(Out):
    bpm_from: int
    bpm_to: int
    items: int


class TrendTempoHistogram(Out):
    bins: list[TrendTempoBin]
    bin_bpm: int
    sample_size: int
    from_source: int = Field(description="Tempos the sources gave")
    measured: int = Field(description="Tempos measured on Deezer previews")
    basis: str


class TrendPatternSet(Out):
    """Each is null, with a `reasons` entry, when nothing supports it."""

    peak_hours: TrendPeakHours | None
    best_days: TrendBestDays | None
    trending_keywords: TrendKeywords | None
    optimal_duration: TrendRange | None
    tempo_range: TrendTempoRange | None
    tempo_histogram: TrendTempoHistogram | None
    success_factors: list[str] | None = Field(description="Always null for now: needs performance data of "
                                                          "answered tracks")


class TrendPatterns(Out):
    genre: str | None
    analysis_period: str = Field(description="The timeframe asked for, e.g. 30d")
    patterns: TrendPatternSet
    reasons: dict[str, str] = Field(description=REASONS)
    rising_items: int = Field(description="Items first seen rising within the timeframe")
    timezone: Literal["UTC"]
    basis: str


# --- answering --------------------------------------------------------------------------------
class TrendUploadState(Out):
    requested: bool
    available: bool = Field(description="Always false: no channel can be connected yet")
    reason: str


class TrendAnswerQueued(Out):
    hijack_id: str
    trend_id: str
    generation_id: str = Field(description="The generation job (GET /api/music/status/{generation_id} follows it)")
    title: str
    strategy: Strategy
    strategy_meaning: str
    estimated_completion: str
    estimated_time: float = Field(description="Seconds")
    estimate_basis: str
    queue_position: int = Field(description="1-based among waiting jobs; 0 once running")
    generation_steps: list[str]
    resolved_spec: ResolvedSpecOut
    credits_used: float
    schedule_upload: TrendUploadState
    auto: bool = Field(description="Whether monitoring made it automatically (false here)")


class TrendOriginal(Out):
    id: str
    title: str | None = Field(description="Null when the trend is no longer stored")
    artist: str | None
    viral_score: float | None = Field(description="Its score now")
    viral_score_at_answer: float | None
    first_seen: str | None


class TrendOurResponse(Out):
    generation_id: str
    generation_status: JobStatus | None = Field(description="Null when the job is no longer stored")
    track_id: str | None = Field(description="Null until the track is ready")
    title: str | None
    ready_at: str | None
    upload_time: str | None = Field(description="Always null for now: nothing can be uploaded yet")
    current_views: int | None = Field(description="Always null for now: nothing can be uploaded yet")
    engagement_rate: float | None = Field(description="Always null for now: nothing can be uploaded yet")
    revenue_generated: float | None = Field(description="Always null for now: nothing can be uploaded yet")
    trending_position: str | None = Field(description="Always null for now (e.g. '#23' once it can be known)")


class TrendSuccessMetrics(Out):
    hijack_speed: str | None = Field(description="From the trend's first sighting to the track being ready, e.g. "
                                                 "'90 minutes'; null until the track is ready")
    hijack_speed_s: float | None
    hijack_speed_basis: str
    viral_capture: float | None = Field(description="Always null for now: needs performance data")
    roi_percentage: float | None = Field(description="Always null for now: needs performance data")


class TrendAnswerPerformance(Out):
    hijack_id: str
    created_at: str
    strategy: Strategy
    customizations: TrendAnswerCustomizations
    schedule_upload: TrendUploadState
    original_trend: TrendOriginal
    our_response: TrendOurResponse
    success_metrics: TrendSuccessMetrics
    reasons: dict[str, str] = Field(description=REASONS)


# --- sources ----------------------------------------------------------------------------------
class TrendDeezerConfig(Out):
    genre_ids: list[int] = Field(description="Deezer genre ids (0 = all)")
    limit: int
    track_details: bool
    analyse_previews: bool = Field(description="Measure the 30 s previews (tempo, key, tags)")


class TrendAppleMusicConfig(Out):
    storefront: str = Field(description="Two-letter country code")
    limit: int


class TrendLastfmConfig(Out):
    chart: Literal["top", "geo", "tag"]
    country: str | None
    tag: str | None
    limit: int


class TrendYouTubeConfig(Out):
    region: str = Field(description="Two-letter country code")
    max_results: int


class TrendFeedConfig(Out):
    url: str


class TrendSource(Out):
    name: str = Field(description="deezer, apple_music, lastfm, youtube, or feed:<id> for an added feed")
    label: str
    kind: Literal["chart", "video_chart", "feed"]
    enabled: bool
    needs_key: bool
    has_key: bool
    key_masked: str | None = Field(description="The key's last characters (e.g. '••••abcd'); never the key")
    key_hint: str | None = Field(description="Where to get a key, for sources that need one")
    status: Literal["disabled", "idle", "scanning", "ok", "error"]
    last_scan: str | None
    items_last_scan: int
    trends_found: int = Field(description="Stored items this source carried")
    api_quota_remaining: int | None = Field(description="Units left today (YouTube); null where the platform "
                                                        "publishes no quota")
    quota_basis: str
    error_rate: float | None = Field(description="Errors / scans over the last 50 scans (0-1); null before the "
                                                 "first scan")
    error_rate_basis: str
    error: str | None = Field(description="The last error while the status is 'error'")
    config: (TrendDeezerConfig | TrendAppleMusicConfig | TrendLastfmConfig | TrendYouTubeConfig
             | TrendFeedConfig) = Field(description="The source's settings (by source)")
    url: str | None = Field(description="A feed's URL")
    scans_total: int
    errors_total: int


class TrendPlatformList(Out):
    platforms: list[TrendSource]


class TrendSourceList(Out):
    sources: list[TrendSource]


class TrendSourceOut(Out):
    source: TrendSource


class TrendScanRetention(Out):
    """YouTube data older than 30 days deleted by this scan."""

    snapshots_deleted: int
    items_deleted: int


class TrendPreviewStep(Out):
    analysed: int | None = Field(description="Previews measured; null when the step stopped")
    failed: int | None
    skipped: str | None = Field(description="Why the step did not run (or stopped); null when it ran")


class TrendScanResult(Out):
    scanned: list[str] = Field(description="Sources read")
    errors: dict[str, str] = Field(description="Source name -> why it could not be read")
    skipped: dict[str, str] = Field(description="Source name -> why it was not read (disabled)")
    new_items: int
    items: int = Field(description="Snapshots stored")
    detected: list[str] = Field(description="Ids of the new trends announced (viral_score at the alert threshold "
                                            "or above)")
    scan_time: str
    retention: TrendScanRetention
    previews: TrendPreviewStep = absent("Present when Deezer was read with analyse_previews on")


class TrendImportResult(Out):
    imported: int = Field(description="Rows stored")
    items: int = Field(description="Distinct items")
    new_items: int
    file: str
    charts: list[str]
    scan_time: str

