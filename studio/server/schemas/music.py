"""Success bodies of the music area: the core music API (/api/music/...: generate, status, list,
extend, batch, credits, analytics) and the AI music API (/api/v1/ai/...: generations, batches,
playlists, tracks, templates, webhooks).

Fields a handler adds only in some states are optional (`_absent`): not required, never null
unless their type says so.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from studio.server.schemas import Out, WebhookDeliveryOut, absent




JobStatus = Literal["queued", "processing", "completed", "failed", "cancelled"]
OutputFormat = Literal["wav", "mp3", "flac", "ogg", "midi", "stems"]
TransitionStyle = Literal["abrupt", "smooth", "crossfade"]


# --- shared parts -----------------------------------------------------------------------------
class LyricsOptionsOut(Out):
    enabled: bool
    theme: str | None = Field(description="What the written lyrics are about; null when not given")
    language: Literal["en"]
    style: str | None = Field(description="Lyric style, e.g. 'poetic'; null when not given")
    text: str | None = Field(description="Lyrics sung as given; null when they are written from the theme")


class SingerOut(Out):
    name: str
    character_id: str | None
    voice_id: str | None
    base_voice: str | None = Field(default=None, description="The voice its timbre reshapes: a built-in voice id "
                                   "('en_US-joe-medium' male, 'hibari-heart' female) or an installed Piper voice's "
                                   "model file; null: the male default")
    pitch_semitones: float
    formant_shift: float
    pitch_range: float


class ResolvedSpecOut(Out):
    """Every value the engine renders with, decided (explicit, from the prompt, or the style's default)."""

    style: str = Field(description="Style id, e.g. 'lofi_hip_hop'")
    style_name: str
    genre: str
    mood: str
    tempo_bpm: float
    key: str = Field(description="Like 'C_minor' or 'F#_major'")
    tonic_pitch_class: int = Field(description="0 (C) to 11 (B)")
    mode: Literal["major", "minor"]
    duration_s: float
    instrumental: bool
    lyrics: LyricsOptionsOut | None = Field(description="null for an instrumental")
    instruments: list[str]
    textures: list[str]
    complexity: float = Field(description="0..1")
    creativity: float = Field(description="0..1")
    energy: float = Field(description="0..1")
    seed: int = Field(description="The same seed and parameters give the same audio")
    tags: list[str]
    output_formats: list[str]
    sample_rate_hz: int
    bit_depth: int = Field(description="Bit depth of the WAV files")
    title: str
    sources: dict[str, str] = Field(description="Per decided value, where it came from (free text)")
    singer: SingerOut | None = Field(description="Who sings the lyrics; null for an instrumental or when a lead "
                                                 "instrument plays the vocal melody (sources.singer says why)")


class JobErrorOut(Out):
    code: str = Field(description="e.g. GENERATION_FAILED, INTERNAL_ERROR")
    message: str
    details: dict[str, Any] = absent("Free-form facts about the failure")


class QualityMetricsOut(Out):
    """Measured on the rendered audio and its score, each 0..1."""

    melodic_coherence: float
    harmonic_consistency: float
    rhythmic_stability: float
    audio_fidelity: float
    overall_quality: float


# --- /api/music/... ---------------------------------------------------------------------------
class MusicGenerateOut(Out):
    generation_id: str
    estimated_time: float = Field(description="Seconds until the generation is done, the queue ahead included")
    credits_used: float
    queue_position: int = Field(description="1-based position among waiting jobs; 0 when already running")
    webhook_url: str = Field(description="Where to poll its status (GET)")
    resolved_spec: ResolvedSpecOut
    estimate_basis: str = Field(description="How estimated_time was estimated")


class MusicStatusMetadataOut(Out):
    title: str
    artist: str
    genre: str = Field(description="The style's name")
    bpm: float = Field(description="The requested tempo")
    key: str
    mood: str
    estimated_bpm: float | None = Field(description="Tempo measured on the audio; null when not measured")
    estimated_key: str | None = Field(description="Key measured on the audio; null when not measured")
    tags: list[str] = Field(description="Up to 5 tags the audio tagger gave the track")


class MusicStatusOut(Out):
    status: JobStatus = absent("The generation's state (always sent)")
    generation_id: str
    progress: int = Field(description="0-100")
    stage: str | None = Field(description="What the engine is doing; null before it starts")
    created_at: str
    queue_position: int = absent("While queued or processing: 1-based position among waiting jobs (0 when running)")
    estimated_time_remaining: float | None = absent("While queued or processing: seconds left (null when unknown)")
    error: JobErrorOut = absent("When failed")
    audio_url: str = absent("When completed: the MP3 (or WAV, FLAC, OGG) download")
    file_size: int = absent("When completed: bytes of the audio_url file")
    video_url: str = absent("When completed with a music video")
    files: dict[str, str] = absent("When completed: download URL per file kind (wav, mp3, midi, lrc, "
                                    "lyrics_json, chords, chords_txt, ...)")
    stems: dict[str, str] = absent("When completed with stems: download URL per stem name")
    track_id: str = absent("When completed")
    duration: float = absent("When completed: seconds")
    metadata: MusicStatusMetadataOut = absent("When completed")


class MusicListItemOut(Out):
    id: str
    prompt: str = Field(description="The prompt, or the title when there was none")
    title: str
    status: JobStatus
    progress: int
    created_at: str
    duration: float | None = Field(description="Seconds of the finished track; null until it is finished")
    download_url: str = absent("When a finished track has MP3 or WAV audio")
    track_id: str = absent("With download_url")


class MusicListOut(Out):
    total: int
    page: int
    limit: int
    generations: list[MusicListItemOut]


class MusicExtendOut(Out):
    status: Literal["processing"] = absent("Always 'processing': the extension is queued")
    extend_id: str = Field(description="The extension's generation id (a new track; the original is kept)")
    generation_id: str = Field(description="Same as extend_id")
    estimated_time: float = Field(description="Seconds")
    credits_used: float
    queue_position: int


class MusicBatchOut(Out):
    status: Literal["processing"] = absent("Always 'processing': the batch is queued")
    batch_id: str
    total_generations: int
    estimated_time: float = Field(description="Seconds until the last of the batch is done")
    generation_ids: list[str]
    credits_used: float


class CreditsOut(Out):
    credits: float | None = Field(description="Credits left today. null only when no daily allowance is set "
                                              "(then unlimited is true)")
    credits_used_today: float
    daily_allowance: float | None = Field(description="Credits per UTC day (set in Settings, 'Credits per day'); "
                                                      "null when none is set")
    unlimited: bool = Field(description="true when no daily allowance is set: generations are not limited")
    credits_per_minute: float = Field(description="What a minute of requested audio costs")
    subscription_type: Literal["local"]
    renewal_date: str = Field(description="When today's allowance renews (next UTC midnight)")


class TopStyleOut(Out):
    style: str = Field(description="The style's name")
    style_id: str
    count: int


class AnalyticsOut(Out):
    period: str
    total_generations: int
    successful_generations: int
    failed_generations: int
    success_rate: float = Field(description="Percent of finished generations that completed (0 when none finished)")
    total_duration_minutes: float
    credits_used: float
    top_styles: list[TopStyleOut] = Field(description="Up to 10, most used first")


# --- /api/v1/ai/...: generation ---------------------------------------------------------------
class TrackPreviewQueuedOut(Out):
    title: str
    estimated_duration: float = Field(description="Seconds")
    formats: list[OutputFormat] = Field(description="The audio, MIDI and stems formats that will be rendered")


class GenerationQueuedOut(Out):
    generation_id: str
    task_id: str = Field(description="Same as generation_id")
    status: JobStatus
    estimated_completion_time: str | None = Field(description="When it should be done; null when unknown")
    estimated_time_seconds: float
    queue_position: int = Field(description="1-based position among waiting jobs; 0 when already running")
    credits_used: float
    ai_model: str
    track_preview: TrackPreviewQueuedOut
    resolved_parameters: ResolvedSpecOut
    status_url: str


class TemplateGenerationQueuedOut(GenerationQueuedOut):
    template_id: str


class BatchVariationOut(Out):
    variation_id: str
    generation_id: str
    status: JobStatus
    stage: str | None = Field(description="e.g. waiting for a batch slot; null when free to start")
    title: str


class BatchQueuedOut(Out):
    batch_id: str
    generation_ids: list[str]
    variations: list[BatchVariationOut]
    status: Literal["processing"]
    completed: int
    total: int
    concurrent_generations: int = Field(description="How many of the batch may render at once")
    engine_workers: int
    effective_concurrency: int = Field(description="The smaller of concurrent_generations and engine_workers")
    notify_when_all_complete: bool
    credits_used: float
    estimated_completion_time: str | None = Field(description="null when unknown")


class PlannedTrackOut(Out):
    position: int = Field(description="1-based")
    tempo: float
    key: str
    duration: float = Field(description="Seconds")
    seed: int
    primary_instruments: list[str]


class PlaylistTrackQueuedOut(PlannedTrackOut):
    generation_id: str
    title: str


class PlaylistTransitionPlanOut(Out):
    style: TransitionStyle
    seconds: float = Field(description="Overlap of each transition (a short de-click for 'abrupt')")


class PlaylistPlanOut(Out):
    seed: int
    style: str
    style_name: str
    mood: str
    track_duration_s: float
    tempo_range: list[float] = Field(description="[slowest, fastest] BPM")
    transition: PlaylistTransitionPlanOut


class PlaylistPlanWithTracksOut(PlaylistPlanOut):
    tracks: list[PlannedTrackOut]


class PlaylistMixQueuedOut(Out):
    status: Literal["waiting for tracks"]
    transition_style: TransitionStyle
    transition_seconds: float
    formats: list[Literal["wav", "mp3"]]


class PlaylistQueuedOut(Out):
    playlist_id: str
    name: str
    generation_ids: list[str]
    estimated_completion_time: str | None = Field(description="When the last track should be done; null when unknown")
    track_order: list[int]
    tracks: list[PlaylistTrackQueuedOut]
    plan: PlaylistPlanOut
    mix: PlaylistMixQueuedOut
    credits_used: float
    status_url: str


# --- /api/v1/ai/playlists/{playlist_id} -------------------------------------------------------
class PlaylistTrackOut(Out):
    position: int = Field(description="1-based place in the mix")
    generation_id: str
    status: JobStatus
    progress: int
    title: str
    track_id: str | None = Field(description="null until the track is finished")
    duration: float | None = Field(description="Seconds; null until the track is finished")


class MixTransitionOut(Out):
    after_position: int
    start_s: float
    duration_s: float


class MixPlacementOut(Out):
    position: int
    generation_id: str
    track_id: str
    title: str
    start_s: float
    end_s: float


class MixSkippedOut(Out):
    position: int
    generation_id: str
    status: JobStatus | None
    reason: str


class PlaylistMixOut(Out):
    status: JobStatus
    stage: str | None
    progress: int
    transition_style: TransitionStyle
    download_url: str = absent("When the mix is completed: the WAV download")
    urls: dict[str, str] = absent("When completed: download URL per format (wav, mp3)")
    duration: float = absent("When completed: seconds")
    sample_rate: int = absent("When completed")
    bit_depth: int = absent("When completed")
    transitions: list[MixTransitionOut] = absent("When completed")
    placements: list[MixPlacementOut] = absent("When completed: where each track sits in the mix")
    skipped_tracks: list[MixSkippedOut] = absent("When completed: tracks left out (they did not finish)")
    limiter_min_gain_db: float = absent("When completed: the deepest gain reduction at a transition")
    error: JobErrorOut = absent("When the mix failed")


class PlaylistOut(Out):
    playlist_id: str
    name: str
    description: str | None
    status: Literal["generating", "mixing", "completed", "failed", "cancelled"]
    created_at: str
    completed_at: str | None = Field(description="When the mix finished (completed, failed or cancelled); "
                                                 "null until then")
    completed: int = Field(description="Tracks finished")
    total: int
    tracks: list[PlaylistTrackOut]
    plan: PlaylistPlanWithTracksOut
    mix: PlaylistMixOut


# --- /api/v1/ai/generations ---------------------------------------------------------------------
class TrackPreviewOut(Out):
    title: str
    duration: float = Field(description="Seconds: the track's when finished, else the requested length")
    formats_available: list[OutputFormat]
    formats_processing: list[OutputFormat] = Field(description="Requested formats not rendered yet (while queued "
                                                               "or processing)")


class GenerationWebhookOut(Out):
    url: str
    events: list[str]
    deliveries: list[WebhookDeliveryOut]


class GenerationStatusOut(Out):
    generation_id: str
    task_id: str = Field(description="Same as generation_id")
    status: JobStatus
    progress: int = Field(description="0-100")
    stage: str | None
    estimated_time_remaining: float | None = Field(description="Seconds; 0 when completed, null when failed or "
                                                               "cancelled")
    created_at: str
    started_at: str | None
    updated_at: str
    completed_at: str | None = Field(description="null unless completed")
    finished_at: str | None = Field(description="When it completed, failed or was cancelled")
    title: str
    ai_model: str
    track_preview: TrackPreviewOut
    quality_metrics: QualityMetricsOut | None = Field(description="null until completed (or after its track "
                                                                  "was deleted)")
    batch_id: str = absent("When part of a batch")
    variation_id: str = absent("When part of a batch")
    playlist_id: str = absent("When part of a playlist")
    playlist_position: int = absent("When part of a playlist")
    template_id: str = absent("When made from a template")
    project_id: str = absent("When the request named one")
    queue_position: int = absent("While queued")
    track_id: str = absent("When completed")
    track_url: str = absent("When completed and its track exists")
    preview_url: str | None = absent("When completed and its track exists; null when it has no audio")
    track_deleted: Literal[True] = absent("When completed but its track was deleted since")
    error: JobErrorOut = absent("When failed")
    retry_of: str = absent("When this is a retry: the generation it retries")
    webhook: GenerationWebhookOut = absent("When the request named a callback_url")


class GenerationListItemOut(Out):
    generation_id: str
    title: str
    status: JobStatus
    progress: int
    duration: float | None = Field(description="Seconds: the track's when completed, else the requested length")
    genre: str | None
    style: str | None = Field(description="The style's name")
    mood: str | None
    created_at: str
    updated_at: str
    completed_at: str | None
    formats_available: list[OutputFormat]
    preview_url: str | None
    track_id: str | None = Field(description="null until completed")
    batch_id: str = absent("When part of a batch")
    variation_id: str = absent("When part of a batch")
    playlist_id: str = absent("When part of a playlist")
    playlist_position: int = absent("When part of a playlist")
    template_id: str = absent("When made from a template")
    project_id: str = absent("When the request named one")


class PaginationOut(Out):
    total: int
    limit: int
    offset: int
    has_more: bool


class GenerationSummaryOut(Out):
    """Counts over all generations, whatever the filter."""

    total_generations: int
    queued: int
    processing: int
    completed: int
    failed: int
    cancelled: int


class GenerationListOut(Out):
    generations: list[GenerationListItemOut]
    pagination: PaginationOut
    summary: GenerationSummaryOut


class CancelOut(Out):
    generation_id: str
    previous_status: Literal["queued", "processing"]
    new_status: Literal["cancelled", "cancelling"] = Field(description="'cancelling' when the engine had not "
                                                                       "stopped within 5 s; it stops at its next step")
    cancelled_at: str | None = Field(description="null while cancelling")
    credits_returned: float = Field(description="0 while cancelling")


class RetryOut(Out):
    original_generation_id: str
    new_generation_id: str
    status: JobStatus
    queue_position: int
    estimated_completion_time: str | None
    status_url: str


# --- /api/v1/ai/tracks/{track_id} ---------------------------------------------------------------
class TrackMetadataOut(Out):
    genre: str
    subgenre: str | None = Field(description="The style's name")
    style: str = Field(description="Style id")
    mood: str
    tempo: float
    key: str
    duration: float = Field(description="Seconds")
    instrumental: bool
    has_lyrics: bool
    lyric_language: str | None = Field(description="null without lyrics")
    lyric_theme: str | None = Field(description="null without lyrics or theme")
    instruments: list[str]
    seed: int
    ai_model: str


class AudioFileOut(Out):
    """Facts read from the stored file."""

    format: Literal["wav", "mp3", "flac", "ogg", "midi"]
    url: str
    file_id: str
    size_bytes: int
    mime_type: str
    bit_depth: int = absent("PCM audio")
    sample_rate: int = absent("Audio")
    channels: int = absent("Audio")
    duration: float = absent("Seconds")
    bitrate_kbps: int = absent("MP3 and OGG: average, container included")
    codec: str = absent("Audio, e.g. PCM_16, MPEG_LAYER_III")
    track_count: int = absent("MIDI")
    error: str = absent("When the file could not be read")


class StemFileOut(AudioFileOut):
    stem_id: str = Field(description="The stem's file id")
    name: str = Field(description="Display name, e.g. 'Drums'")
    stem: str = Field(description="Stem name for ?stem=, e.g. drums")


class LyricLineOut(Out):
    start: float = Field(description="Seconds")
    end: float
    text: str
    section: str


class TrackLyricsOut(Out):
    text: str
    formatted: str = Field(description="With [Section] headings")
    timestamps: list[LyricLineOut]
    language: str
    theme: str | None
    lrc_url: str = absent("When an LRC file was rendered")


class ChordUrlsOut(Out):
    json_: str = Field(alias="json")
    txt: str = absent("When a text chart was rendered")


class ChordSectionOut(Out):
    label: str
    name: str
    start_s: float
    bars: list[list[str]] = Field(description="Per bar, the chords in the order they sound ([] = none)")


class ChordChartOut(Out):
    url: str = Field(description="The JSON chart")
    formats: list[Literal["json", "txt"]]
    urls: ChordUrlsOut
    key: str
    key_symbol: str = Field(description="e.g. Cm")
    tempo_bpm: float
    time_signature: str
    sections: list[ChordSectionOut]


class AudioTagOut(Out):
    tag: str
    probability: float


class SectionAnalysisOut(Out):
    """One section of the form, measured on the rendered mix (null: not measured, e.g. a track
    made before sections were measured, or a section too short or silent)."""

    name: str = Field(description="intro, verse, chorus, bridge, build, drop, breakdown, outro")
    label: str = Field(description="e.g. 'Verse 1'")
    start_s: float
    end_s: float | None
    loudness_lufs: float | None = Field(description="Integrated loudness of the section (ITU-R BS.1770)")
    rms_dbfs: float | None
    centroid_hz: float | None = Field(description="Spectral centroid of the section")


class ArrangementOut(Out):
    """How far apart the sections measure: what a listener hears as the song developing."""

    sections_measured: int
    loudness_spread_db: float = Field(description="Loudest minus quietest section, LU")
    centroid_spread_pct: float = Field(description="Spectral centroid range as a percent of its mean")
    band_distance_max: float = Field(description="Largest band-balance distance between two sections, 0..1")
    body_loudness_spread_db: float = Field(description="Loudness spread of the sections between intro and outro, LU")
    hook_lift_db: float | None = Field(description="Choruses/drops minus verses, builds and bridges, LU; null without both")
    static: bool = Field(description="True when all sections measure alike (one texture throughout)")


class TrackAnalysisOut(Out):
    """Measured on the rendered audio; a figure is null when it was not measured."""

    measured_tempo_bpm: float | None
    measured_key: str | None
    loudness_lufs: float | None
    true_peak_dbtp: float | None
    dynamic_range_db: float | None
    tags: list[AudioTagOut] = Field(description="Up to 5")
    sections: list[SectionAnalysisOut] = Field(description="Per section of the form, in order")
    arrangement: ArrangementOut | None = Field(description="null for a track made before sections were measured")


class TrackOut(Out):
    track_id: str
    generation_id: str | None
    title: str
    description: str | None
    metadata: TrackMetadataOut
    audio_files: list[AudioFileOut]
    stems: list[StemFileOut]
    lyrics: TrackLyricsOut | None = Field(description="null for an instrumental")
    chord_chart: ChordChartOut | None = Field(description="null when no chord chart was rendered")
    quality_metrics: QualityMetricsOut
    analysis: TrackAnalysisOut
    tags: list[str]
    is_public: bool
    created_at: str
    updated_at: str
    expires_at: None = Field(description="Always null: files are kept until the track is deleted")
    download_count: int
    play_count: int
    parent_track_id: str | None = Field(description="The track this one extends; null otherwise")


class TrackDeletedOut(Out):
    track_id: str
    deleted: Literal[True]
    deleted_at: str
    files_deleted: int


class TrackFieldsOut(Out):
    title: str
    description: str | None
    tags: list[str]
    is_public: bool


class TrackUpdatedOut(Out):
    track_id: str
    updated_fields: list[Literal["title", "description", "tags", "is_public"]]
    updated_at: str
    track: TrackFieldsOut


# --- /api/v1/ai/templates -------------------------------------------------------------------------
class TemplateSummaryOut(Out):
    template_id: str
    name: str
    description: str
    category: str
    subcategory: str
    style: str = Field(description="The engine style it plays")
    ai_model: str
    has_lyrics: bool
    tags: list[str]
    usage_count: int = Field(description="Generations started from it here")
    preview_url: str | None = Field(description="The newest track made from it; null when none")


class TemplateCategoryOut(Out):
    name: str
    count: int


class AiModelInfoOut(Out):
    id: str
    name: str
    description: str
    supports_lyrics: bool
    max_duration_s: float


class AiModelOut(AiModelInfoOut):
    default: bool


class TemplateListOut(Out):
    templates: list[TemplateSummaryOut]
    categories: list[TemplateCategoryOut]
    total_templates: int = Field(description="Templates matching the filters")
    all_templates: int
    ai_models: list[AiModelOut]


class ResolvedDefaultsOut(Out):
    style: str
    style_name: str
    genre: str
    mood: str
    tempo: float
    key: str
    duration: float
    instrumental: bool
    instruments: list[str]
    complexity: float
    creativity: float
    lyrics: LyricsOptionsOut | None


class StyleInfoOut(Out):
    name: str
    tempo_range: list[float] = Field(description="[slowest, fastest] BPM")
    default_tempo: float
    time_signature: str
    modes: list[str]
    song_form: list[str]


class TemplateUsageOut(Out):
    generations: int
    completed: int
    latest_generation_id: str | None


class ExampleCustomizationsOut(Out):
    tempo: float
    duration: float


class ExampleMetadataOut(Out):
    title: str


class ExampleRequestOut(Out):
    template_id: str
    customizations: ExampleCustomizationsOut
    metadata: ExampleMetadataOut


class TemplateOut(TemplateSummaryOut):
    parameters: dict[str, Any] = Field(description="The template's generation parameters, as a request would "
                                                   "send them (free-form: any of the generation fields)")
    resolved_defaults: ResolvedDefaultsOut
    style_info: StyleInfoOut
    customizable_parameters: list[str]
    usage: TemplateUsageOut
    example_request: ExampleRequestOut = Field(description="A POST /api/v1/ai/generate-from-template body")
    ai_model_info: AiModelInfoOut


class WebhookSecretOut(Out):
    secret: str
    algorithm: Literal["HMAC-SHA256"]
    header: str
    signature_format: str
    events: list[str]
    retry_delays_s: list[float]
    rotate: str = Field(description="How to rotate the secret")
