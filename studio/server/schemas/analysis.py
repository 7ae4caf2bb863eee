"""Success bodies of the analysis area (/api/v1/predict, batch-predict, prediction, genres, health,
history, stats, models, metrics): the `data` of the `{success, data, message, timestamp,
request_id}` envelope, except the health report, which is the whole body.

Model names start with "Analysis" so they stay apart from other areas' in /openapi.json."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from studio.server.schemas import Out, WebhookDeliveryOut, absent

PredictionState = Literal["queued", "processing", "converting", "predicting", "completed", "failed"]
AudioFormat = Literal["mp3", "wav", "flac", "ogg"]
ErrorCode = Literal["INVALID_FILE_FORMAT", "FILE_TOO_LARGE", "CORRUPT_AUDIO", "AUDIO_TOO_LONG", "MISSING_PARAMETER",
                    "INVALID_PARAMETER", "MODEL_UNAVAILABLE", "MODEL_INFERENCE_FAILED", "ANALYSIS_FAILED",
                    "INTERRUPTED", "CANCELLED"]
BatchState = Literal["queued", "processing", "completed", "completed_with_errors", "failed", "cancelled"]




# --- predictions ---------------------------------------------------------------------------------
class AnalysisMood(Out):
    mood: str
    probability: float = Field(description="The tagger's probability of the mood tag, 0-1")


class AnalysisTag(Out):
    tag: str
    probability: float = Field(description="0-1")


class AnalysisPredictionError(Out):
    code: ErrorCode = Field(description="INTERRUPTED: the studio stopped while it ran; CANCELLED: its batch was "
                                        "cancelled; the others as the API's errors")
    message: str
    details: Any = absent("Present for some errors: what to fix (free-form, e.g. the supported formats or the "
                           "size limit)")


class AnalysisPrediction(Out):
    """One prediction; the result fields are null until it has completed (and stay null when it failed)."""

    prediction_id: str
    status: PredictionState
    genre: str | None = Field(description="A genre id of GET /api/v1/genres")
    confidence: float | None = Field(description="The genre's share of all_probabilities, 0-1")
    all_probabilities: dict[str, float] | None = Field(description="Genre id -> probability (summing to 1), best "
                                                                   "first")
    moods: list[AnalysisMood] | None = Field(description="The 5 likeliest moods at most")
    tags: list[AnalysisTag] | None = Field(description="The tagger's 10 likeliest tags")
    tempo_bpm: float | None = Field(description="Null when no tempo could be found (or not completed)")
    key: str | None = Field(description="e.g. 'A_minor', 'F#_major'")
    loudness_lufs: float | None = Field(description="Integrated loudness; null for silence (or not completed)")
    duration_s: float | None
    processing_time_ms: float | None
    model_version: str | None
    spectrogram_url: str | None = Field(description="The log-mel spectrogram PNG the model saw")
    filename: str
    format: AudioFormat | None
    size_bytes: int
    source: Literal["api", "gui", "batch"] = Field(description="Where it was asked for")
    batch_id: str | None
    genre_scores: dict[str, float] | None = Field(description="Genre id -> raw score (the best probability among "
                                                              "the genre's model tags)")
    model: str | None = Field(description="The tagger model (MSD_musicnn or MTT_musicnn)")
    attempts: int = Field(description="Analysis attempts (transient failures are retried, 3 in all)")
    created_at: str
    started_at: str | None
    completed_at: str | None
    error: AnalysisPredictionError = absent("Present only when it failed")


class AnalysisTempo(Out):
    bpm: float = Field(description="0 when no tempo could be found")
    confidence: float


class AnalysisKey(Out):
    key: str
    tonic_pitch_class: int
    mode: Literal["major", "minor"]
    confidence: float
    correlation: float
    chroma: list[float] = Field(description="12 pitch-class shares from C")


class AnalysisFeatures(Out):
    """Everything measured on the audio; loudness figures are null for silence."""

    duration_s: float
    tempo: AnalysisTempo
    key: AnalysisKey
    loudness_lufs: float | None
    true_peak_dbtp: float | None
    sample_peak_dbfs: float | None
    rms_dbfs: float | None
    spectral_centroid_hz: float | None
    spectral_bandwidth_hz: float | None
    spectral_rolloff_hz: float | None
    dynamic_range_db: float | None
    clipped_samples: int
    loudness_range_lu: float | None
    dc_offset: float | None
    band_energy: dict[str, float] = Field(description="Band name -> share of spectral power")
    sample_rate_hz: int
    channels: int


class AnalysisPredictionDetail(AnalysisPrediction):
    """A prediction with everything measured (null until it has completed)."""

    features: AnalysisFeatures | None
    tag_probabilities: dict[str, float] | None = Field(description="Every tag of the model -> probability")
    timings_ms: dict[str, float] | None = Field(description="Stage -> milliseconds, 'total' included")
    sample_rate_hz: int | None
    channels: int | None


class AnalysisBatchMember(AnalysisPrediction):
    file: str = Field(description="The file's name (the same as filename)")


class AnalysisBatchAccepted(Out):
    batch_id: str
    status: BatchState
    total_files: int
    estimated_time_seconds: float = Field(description="From the speed of recent analyses here")
    status_url: str
    webhook_url: str | None


class AnalysisBatch(Out):
    batch_id: str
    status: BatchState
    total_files: int
    completed_files: int
    failed_files: int
    pending_files: int
    progress: float = Field(description="Percent of the files finished")
    status_url: str
    webhook_url: str | None
    created_at: str
    completed_at: str | None
    results: list[AnalysisBatchMember] = Field(description="Each file's prediction, in the order sent")
    webhook_deliveries: list[WebhookDeliveryOut] = absent("Present when the batch has a webhook_url")


class AnalysisHistory(Out):
    predictions: list[AnalysisPrediction] = Field(description="Newest first")
    total: int = Field(description="Predictions matching the filters")
    limit: int
    offset: int
    has_more: bool


# --- catalogue and figures -------------------------------------------------------------------------
class AnalysisGenre(Out):
    id: str
    name: str
    description: str
    sub_genres: list[str]
    model_tags: list[str] = Field(description="The tagger tags whose best probability is the genre's score")


class AnalysisGenres(Out):
    genres: list[AnalysisGenre]
    total: int
    model: str = Field(description="The active model, whose genre set this is")
    mood_tags: list[str]
    method: str = Field(description="How genre probabilities are computed")


class AnalysisComponents(Out):
    api: Literal["up", "down"]
    database: Literal["up", "down"]
    model: Literal["up", "down"]
    storage: Literal["up", "down"]
    queue: Literal["up", "down"]


class AnalysisHealth(Out):
    """The health report: the same shape for 200 (healthy) and 503 (degraded)."""

    status: Literal["healthy", "degraded"]
    version: str
    components: AnalysisComponents
    details: dict[str, str] = Field(description="Component -> why it is down (and the model's version when up)")
    model: str = Field(description="The active model")
    uptime_seconds: float = Field(description="Since the analysis service started")
    timestamp: str
    services: dict[str, Literal["healthy", "degraded", "unhealthy", "not_configured"]] = Field(
        description="Per service (database, storage, disk_space, memory, job_queue, ml_pipeline, connectors; one "
                    "is absent when it cannot be checked)")
    uptime: int = Field(description="Seconds since the studio started")
    request_id: str


class AnalysisPercentiles(Out):
    """Milliseconds; the figures are null when there is no sample."""

    count: int
    mean: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None


class AnalysisStats(Out):
    period_days: int | None = Field(description="The days asked for; null for all time")
    total_predictions: int
    completed: int
    failed: int
    in_progress: int
    success_rate: float | None = Field(description="Completed / all, 0-1; null without predictions")
    genre_distribution: dict[str, int] = Field(description="Genre id -> completed predictions")
    average_confidence: float | None = Field(description="Null without completed predictions")
    average_confidence_by_genre: dict[str, float]
    top_moods: dict[str, int] = Field(description="Mood -> predictions whose likeliest mood it is")
    processing_time_ms: AnalysisPercentiles
    audio_analysed_s: float
    by_source: dict[str, int] = Field(description="api, gui or batch -> predictions")
    by_model: dict[str, int]
    errors: dict[str, int] = Field(description="Error code -> failed predictions")
    last_24h: int
    last_7d: int


# --- admin -------------------------------------------------------------------------------------------
class AnalysisModel(Out):
    id: str
    name: str
    description: str
    installed: bool
    active: bool
    size_bytes: int | None = Field(description="Null when not installed")
    genres: list[str] = Field(description="The genre ids this model's genre set names")
    licence: str
    status: Literal["ready", "error", "not_installed"]
    version: str = absent("Present when ready")
    tags: list[str] = absent("The model's tags; present when ready")
    device: str = absent("Present when ready")
    error: str = absent("Why it cannot load; present when status is error")


class AnalysisModels(Out):
    models: list[AnalysisModel]
    active: str


class AnalysisDeployed(Out):
    model: str
    previous_model: str
    model_version: str
    deployed_at: str


class AnalysisStateCounts(Out):
    queued: int
    processing: int
    converting: int
    predicting: int
    completed: int
    failed: int


class AnalysisRouteTraffic(Out):
    requests: int
    errors: int = Field(description="Answers with a status of 400 or more")
    latency_ms: AnalysisPercentiles


class AnalysisModelFigures(Out):
    active: str
    load_time_ms: dict[str, float] = Field(description="Model -> milliseconds its first load took")
    errors: dict[str, str] = Field(description="Model -> why it last failed to load")
    device: str


class AnalysisQueueFigures(Out):
    batches_waiting_or_running: int
    workers: int


class AnalysisMetrics(Out):
    predictions: AnalysisStateCounts = Field(description="Stored predictions by state")
    predictions_last_hour: int = Field(description="Completed in the last hour")
    processing_time_ms: AnalysisPercentiles = Field(description="Of the last 1000 completed")
    api: dict[str, AnalysisRouteTraffic] = Field(description="Analysis route -> its traffic (from the request log)")
    model: AnalysisModelFigures
    queue: AnalysisQueueFigures
    uptime_seconds: float
    timestamp: str
