"""Success bodies of the voices area: voice characters, what they say (scripts, speech, captions),
their content and figures, and the voices matched from recordings.

Model names carry a `Voice`/`Character` prefix: /openapi.json names its components after the
models, across every area. A field that a body may leave out is declared with `= None` and a
non-null type (absent, never null); `X | None` means the field is sent and may be null.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from studio.server.schemas import Out

ContentType = Literal["introduction", "outro", "track_commentary", "announcement", "script"]
ContentKind = Literal["synthesis", "introduction", "outro", "track_commentary", "announcement", "script",
                      "caption", "post"]
CharacterStatus = Literal["active", "paused", "error"]
ESTIMATE = "Seconds of work expected before the result is ready"
BASIS = "What the estimate rests on (measured jobs on this machine, or the assumption used)"
QUEUE = "1-based position among waiting jobs; 0 when the job already runs"
STATUS_URL = "GET it to follow the job (progress, result, error)"


# --- characters -----------------------------------------------------------------------------------
class CharacterVoiceSettings(Out):
    """The character's voice: a transform of the built-in voice, or a matched voice's timbre."""

    voice_id: str = Field(description="The voice it speaks with: 'piper_joe' (built-in) or a matched voice's id")
    base_voice: str = Field(description="The base voice its transform reshapes: 'en_US-joe-medium' (male), "
                                        "'hibari-heart' (female) or an installed Piper voice's id (GET /api/models)")
    pitch_semitones: float = Field(description="Pitch shift in semitones (-24..24)")
    formant_shift: float = Field(description="Spectral-envelope scale (0.5..2; above 1 brighter)")
    pitch_range: float = Field(description="Scale of the intonation around the mean (0..4; 1 unchanged)")
    speed: float = Field(description="Speaking rate (1 = the voice's own)")
    emotion: str = Field(description="Default delivery, e.g. 'neutral', 'calm', 'excited'")


class CharacterPersonalityTraits(Out):
    """Traits set for the character (each absent until set)."""

    extroversion: float = Field(default=None, description="0..1")
    creativity: float = Field(default=None, description="0..1")
    humor: float = Field(default=None, description="0..1")
    professionalism: float = Field(default=None, description="0..1")
    authenticity: float = Field(default=None, description="0..1")
    communication_style: str = None
    preferred_topics: list[str] = None
    content_tone: str = None
    temperature: float = Field(default=None, description="Writing temperature for a local LLM, 0..2")


class CharacterWords(Out):
    """What the script and caption writer draws on."""

    greetings: list[str]
    signoffs: list[str]
    phrases: list[str]
    vocabulary: list[str]
    emotion_tags: list[str]


class CharacterAppearance(Out):
    """Looks used for cover art; other keys the user sent are kept as they were sent (free-form)."""

    model_config = ConfigDict(extra="allow")
    face_reference_image_url: str = None
    hair_color: str = None
    eye_color: str = None
    style_keywords: list[str] = None


class VoiceCharacter(Out):
    """A voice character in full."""

    id: str
    name: str
    genre: str = Field(description="Free text (e.g. 'Lo-Fi'); empty when not set")
    style: str | None = Field(description="Engine style id used for its music beds; null when not set")
    personality: str = Field(description="One-line personality summary; empty when not set")
    personality_traits: CharacterPersonalityTraits
    backstory: str
    bio: str = Field(description="The same text as backstory")
    interests: list[str]
    age: int | None
    location: str | None
    timezone: str | None
    voice_settings: CharacterVoiceSettings
    voice_id: str = Field(description="voice_settings.voice_id")
    voice_quality: str | None = Field(description="A label of the voice (e.g. 'warm_male'); null when not set")
    words: CharacterWords
    content_schedule: str | None = Field(description="e.g. 'daily', 'weekly'; null when not set")
    status: CharacterStatus
    appearance: CharacterAppearance
    is_default: bool = Field(description="One of the default characters made by POST /api/voice/initialize")
    total_content: int = Field(description="Completed pieces of content")
    created_at: str
    updated_at: str
    last_active: str | None = Field(description="When it last got content; null before its first")


class VoiceCharacterSummary(VoiceCharacter):
    revenue_multiplier: float | None = Field(
        description="Its mean revenue per linked piece of content divided by the mean over all linked content; "
                    "null when none of its content is linked to imported or connected statistics with revenue")
    monthly_potential: float | None = Field(
        description="Its linked revenue of the last 30 days; null when it has none (see revenue_multiplier)")


class VoiceCharacterListOut(Out):
    total_characters: int
    characters: list[VoiceCharacterSummary]


class VoiceInitializedCharacter(Out):
    id: str
    name: str
    genre: str
    personality: str
    voice_id: str


class VoiceInitializeOut(Out):
    message: str
    characters_created: int = Field(description="0 when every default character existed already")
    total_characters: int
    total_setup_time: float = Field(description="Seconds")
    characters: list[VoiceInitializedCharacter] = Field(description="The characters created by this call")


class VoiceCharacterSettingsOut(Out):
    character: str = Field(description="The character's id")
    updated_fields: list[Literal["personality", "voice_settings", "schedule", "name", "backstory", "status"]] = Field(
        description="The fields that changed (a value sent equal to the stored one is not listed)")
    effective_immediately: bool
    voice_settings: CharacterVoiceSettings


class CharacterUpdatedOut(VoiceCharacter):
    updated_fields: list[Literal["name", "genre", "style", "personality_summary", "personality", "backstory",
                                 "interests", "age", "location", "timezone", "voice", "voice_quality", "words",
                                 "content_schedule", "status", "appearance"]] = Field(
        description="The stored fields that changed (a value sent equal to the stored one is not listed)")


class CharacterPageOut(Out):
    characters: list[VoiceCharacter]
    total: int = Field(description="Characters matching the filters, over all pages")
    limit: int
    offset: int


class CharacterDeletedOut(Out):
    character_id: str
    deleted: bool
    content_deleted: int
    voices_deleted: int = Field(description="Voices matched for this character, deleted with it")
    files_deleted: int = Field(description="Audio files removed from the media store")


# --- scripts and speech ---------------------------------------------------------------------------
class VoiceScript(Out):
    """A script written in the character's words."""

    content_type: ContentType
    topic: str
    mood: str
    script: str = Field(description="The words to be spoken")
    word_count: int
    duration_estimate: float = Field(description="Seconds it takes to speak at the character's speed")
    emotion_tags: list[str]
    source: str = Field(description="'built-in writer', or 'ollama:<model>' when a local LLM wrote it")
    seed: int = Field(description="Send it back to get the same script")


class VoiceContentQueuedOut(Out):
    content_id: str = Field(description="Also the job's id")
    character: str = Field(description="The character's id")
    content_type: ContentType
    estimated_time: float = Field(description=ESTIMATE)
    estimate_basis: str = Field(description=BASIS)
    queue_position: int = Field(description=QUEUE)
    script_preview: str = Field(description="The script's first ~160 characters")
    script: VoiceScript
    status_url: str = Field(description=STATUS_URL)


class VoiceScriptOut(Out):
    """The latest stored script (with content_id), or a new one (with topic, mood and seed)."""

    character: str = Field(description="The character's id")
    content_type: ContentType
    script: str
    word_count: int
    emotion_tags: list[str]
    duration_estimate: float | None = Field(
        description="Seconds: for a new script, the estimate; for a stored one, the length of its audio "
                    "(null while it is not voiced yet)")
    source: str = Field(description="'built-in writer', or 'ollama:<model>' when a local LLM wrote it")
    content_id: str = Field(default=None, description="The stored piece the script belongs to (absent for a new one)")
    topic: str = Field(default=None, description="New scripts only")
    mood: str = Field(default=None, description="New scripts only")
    seed: int = Field(default=None, description="New scripts only: send it back to get the same script")


class VoiceSynthesisQueuedOut(Out):
    synthesis_id: str = Field(description="Also the job's and the content's id")
    estimated_time: float = Field(description=ESTIMATE)
    estimate_basis: str = Field(description=BASIS)
    character: str = Field(description="The character's id")
    queue_position: int = Field(description=QUEUE)
    status_url: str = Field(description=STATUS_URL)
    download_url: str = Field(description="Where the audio is once the job is completed (404 before)")


class VoiceSpeechQueuedOut(Out):
    audio_id: str = Field(description="The content's id, also the job's")
    job_id: str
    status: Literal["processing"]
    character_id: str
    voice_id: str = Field(description="The voice it is spoken with: the one asked for, else the character's")
    estimated_time: float = Field(description=ESTIMATE)
    estimate_basis: str = Field(description=BASIS)
    status_url: str = Field(description=STATUS_URL)
    download_url: str = Field(description="Where the audio is once the job is completed (404 before)")


class VoiceBatchOperation(Out):
    character: str = Field(description="The character's id")
    content_type: ContentType
    content_id: str = Field(description="Also the job's id")
    estimated_time: float = Field(description=ESTIMATE)


class VoiceBatchOut(Out):
    batch_id: str
    total_operations: int
    estimated_time: float = Field(description="Sum of the operations' estimates, in seconds")
    operations: list[VoiceBatchOperation]


class CharacterCaptionOut(Out):
    content_id: str
    character_id: str
    content_type: Literal["caption", "post"]
    text: str
    length: int = Field(description="Characters in text")
    created_at: str


# --- content ---------------------------------------------------------------------------------------
class VoiceMusicBed(Out):
    """The music under a piece: a library track ('library') or a fresh instrumental ('generated')."""

    source: Literal["library", "generated"]
    track_id: str = Field(default=None, description="library only")
    title: str = Field(default=None, description="library only")
    style: str = Field(default=None, description="generated only: the engine style")
    duration_s: float = Field(default=None, description="generated only: the bed's length in seconds")


class VoiceJobError(Out):
    code: str
    message: str
    details: Any = Field(default=None, description="Free-form facts about the failure, when the job gave any")


class VoiceContentItem(Out):
    id: str
    character_id: str
    type: ContentKind
    title: str
    text: str
    emotion: str | None = Field(description="null for captions and posts")
    status: Literal["processing", "completed", "failed", "cancelled"]
    duration: float | None = Field(description="Seconds of audio; null until voiced, and for text-only pieces")
    created_at: str
    completed_at: str | None
    download_url: str | None = Field(description="null until the audio exists (and for text-only pieces)")
    files: dict[str, str] = Field(description="Audio format ('wav', 'mp3') -> media id; empty until voiced")
    job_id: str | None = Field(description="null for captions and posts (written at once)")
    word_count: int
    emotion_tags: list[str]
    script_source: str | None = Field(description="Who wrote a scripted piece; null for other pieces")
    music: VoiceMusicBed | None = Field(description="null when spoken without music")
    error: VoiceJobError | None = Field(description="Why a failed or cancelled piece ended (null otherwise, "
                                                    "and for a cancelled one that gave no reason)")
    views: None = Field(description="Always null: per-piece statistics are in the Analytics area")
    engagement: None = Field(description="Always null: per-piece statistics are in the Analytics area")


class VoiceContentHistoryOut(Out):
    character: str = Field(description="The character's id")
    total_content: int = Field(description="Pieces matching the filter, over all pages")
    page: int
    limit: int
    content: list[VoiceContentItem]
    performance_source: str


# --- figures ---------------------------------------------------------------------------------------
class VoiceContentTypeFigures(Out):
    count: int
    duration_s: float = Field(description="Seconds of audio of that type")


class VoiceTopContent(Out):
    title: str | None = Field(description="null when the statistics name no title")
    views: int
    engagement: float | None = Field(description="Interactions per 100 views; null without interactions")


class VoiceCharacterPerformance(Out):
    total_content: int
    content_by_type: dict[str, VoiceContentTypeFigures] = Field(description="Content type -> figures (completed pieces)")
    audio_minutes: float
    total_views: int | None = Field(description="null when none of its content is linked to statistics (see reasons)")
    average_engagement: float | None = Field(description="Percent; null without interactions")
    revenue_generated: float | None = Field(description="null without linked revenue")
    growth_rate: float | None = Field(description="Percent change of views against the 30 days before; null without "
                                                  "views then (see reasons)")
    top_performing_content: list[VoiceTopContent]
    linked_content: int = Field(default=None, description="Pieces linked to statistics (absent without the "
                                                          "analytics service)")
    reasons: dict[str, str] = Field(default=None, description="Figure -> why it is null (absent without the "
                                                              "analytics service)")
    period: str = Field(default=None, description="The period the figures cover, e.g. '30d'")
    performance_source: str = Field(description="Where the view and revenue figures come from")
    last_active: str | None


class VoiceCharacterAnalyticsOut(Out):
    character: str = Field(description="The character's id")
    performance: VoiceCharacterPerformance


class VoiceDashboardSummary(Out):
    total_characters: int
    active_characters: int
    total_content: int = Field(description="Completed pieces")
    matched_voices: int = Field(description="Matched voices ready to use")
    monthly_revenue: float | None = Field(description="null without linked revenue (see reasons)")
    total_views: int | None = Field(description="null when no content is linked to statistics")
    growth_rate: float | None = Field(description="Mean of the characters' view growth, percent; null without views "
                                                  "in the 30 days before")


class VoiceMostActive(Out):
    character: str = Field(description="The character's id")
    content: int = Field(description="Completed pieces")


class VoiceTopPerformer(Out):
    character: str = Field(description="The character's id")
    name: str
    views: int
    revenue: float | None
    engagement: float | None


class VoiceDashboardOut(Out):
    summary: VoiceDashboardSummary
    most_active: list[VoiceMostActive] = Field(description="Up to 3 characters with the most content")
    top_performers: list[VoiceTopPerformer] = Field(description="Up to 5 characters with the most views")
    performance_source: str
    reasons: dict[str, str] = Field(description="Figure -> why it is null")


# --- voices ----------------------------------------------------------------------------------------
class VoiceTransform(Out):
    """What synthesis applies to the base voice (empty until the match is ready)."""

    base_voice: str = Field(default=None, description="The base voice it was fitted on (absent: the male default)")
    pitch_semitones: float = None
    formant_shift: float = None
    pitch_range: float = None


class VoiceSampleFacts(Out):
    filename: str
    duration_s: float
    sample_rate_hz: int
    channels: int
    extension: str
    mime_type: str
    rms_dbfs: float = Field(description="Level of the recording")
    clipped_fraction: float
    warnings: list[str]


class VoicePitchStats(Out):
    median_hz: float
    spread_semitones: float
    voiced_frames: int


class VoiceFitCandidate(Out):
    pitch_semitones: float
    formant_shift: float
    similarity: float | None = Field(description="Speaker-embedding similarity; null without the speaker encoder")


class VoiceProfile(Out):
    """What voice matching measured. While processing: the samples; once ready: the fit as well;
    after a failure: the error. Empty for the built-in voice."""

    samples: list[VoiceSampleFacts] = None
    total_duration_s: float = None
    speaker_pitch: VoicePitchStats = None
    base_pitch: VoicePitchStats = None
    pitch_estimate_semitones: float = None
    formant_estimate: float = None
    candidates: list[VoiceFitCandidate] = None
    similarity_before: float | None = Field(default=None, description="Speaker similarity of the built-in voice; "
                                                                      "null without the speaker encoder")
    similarity_after: float | None = Field(default=None, description="Speaker similarity of the fitted voice; "
                                                                     "null without the speaker encoder")
    similarity_model: str | None = None
    base_voice: str = Field(default=None, description="The base voice the fit started from")
    analysed_s: float = Field(default=None, description="Seconds of the samples analysed")
    method: str = None
    error: VoiceJobError | None = Field(default=None, description="Why the match failed (null when cancelled "
                                                                  "without a reason)")


class VoiceRecord(Out):
    """A voice: the built-in one ('builtin') or one matched from recordings ('matched')."""

    voice_id: str
    id: str = Field(description="The same as voice_id")
    name: str
    description: str
    character_id: str | None = Field(description="The character it was matched for; null otherwise")
    status: Literal["processing", "ready", "failed", "cancelled"]
    transform: VoiceTransform
    profile: VoiceProfile
    job_id: str | None = Field(default=None, description="The matching job (matched voices only)")
    created_at: str | None = Field(description="null for the built-in voice")
    kind: Literal["matched", "builtin"]
    note: str = Field(default=None, description="Matched voices only: what matching is and is not")


class VoiceListOut(Out):
    voices: list[VoiceRecord] = Field(description="The built-in voice first, then matched voices, newest first")
    total: int


class CharacterVoicesOut(Out):
    character_id: str
    current_voice_id: str
    voices: list[VoiceRecord] = Field(description="Voices matched for the character, newest first")
    total: int


class CharacterVoiceDeletedOut(Out):
    voice_id: str
    deleted: bool
    files_deleted: int = Field(description="Sample recordings removed from the media store")


class VoiceCloneQueuedOut(Out):
    clone_id: str = Field(description="The matching job's id")
    voice_id: str = Field(description="The voice being made (status 'processing' until the job completes)")
    estimated_time: float = Field(description=ESTIMATE)
    estimate_basis: str = Field(description=BASIS)
    samples_uploaded: int
    total_duration: float = Field(description="Seconds of recordings")
    warnings: list[str] = Field(description="Problems that do not stop matching (e.g. clipped samples)")
    status_url: str = Field(description=STATUS_URL)


class CharacterCloneQueuedOut(VoiceCloneQueuedOut):
    job_id: str = Field(description="The same as clone_id")
    status: Literal["processing"]
