"""Voices area: seed 000's "Voice Cloning Empire" paths (`/api/voice/...`, `{"status": ...}` shape)
and seed 002's character paths (`/api/characters/...`, `/api/voice/generate`, `/api/voice/list`,
`{success, data, ...}` envelope). Thin shells over `VoicesService`; the Voices panel uses it too.

Units: seed 000's `pitch` (synthesize, voice_settings) is an offset in [-1, 1] where 1 is an
octave up (+12 semitones); seed 002's `pitch` is a frequency ratio (1.0 unchanged, 2.0 an octave
up). `speed` multiplies the character's own speaking rate in both. Durations are seconds.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from studio.server import multipart
from studio.server.downloads import file_response
from studio.server.errors import ApiError, envelope, not_found, ok
from studio.server.keys import SERVICES
from studio.server.routing import MAX_OFFSET, RouteTable, parse_model, read_json_object
from studio.server.schemas.voices import (
    CharacterCaptionOut,
    CharacterCloneQueuedOut,
    CharacterDeletedOut,
    CharacterPageOut,
    CharacterUpdatedOut,
    CharacterVoiceDeletedOut,
    CharacterVoicesOut,
    VoiceBatchOut,
    VoiceCharacter,
    VoiceCharacterAnalyticsOut,
    VoiceCharacterListOut,
    VoiceCharacterSettingsOut,
    VoiceCloneQueuedOut,
    VoiceContentHistoryOut,
    VoiceContentQueuedOut,
    VoiceDashboardOut,
    VoiceInitializeOut,
    VoiceListOut,
    VoiceScriptOut,
    VoiceSpeechQueuedOut,
    VoiceSynthesisQueuedOut,
)
from studio.services.voices import (
    MAX_CONTENT_DURATION_S,
    MAX_SAMPLE_BYTES,
    MAX_TEXT_CHARS,
    UnknownCharacter,
    UnknownContent,
    UnknownVoice,
    VoiceError,
)

routes = RouteTable()
TAGS = ["voices"]
CHARACTER_TAGS = ["characters"]
MAX_SAMPLES = 20
NO_CHARACTER = "No character with that id"
AUDIO = {"audio/wav": "binary", "audio/mpeg": "binary"}


def _voices(request: web.Request):
    return request.app[SERVICES].voices


def _error(exc: VoiceError) -> ApiError:
    details = {"parameter": exc.field} if exc.field else None
    return ApiError(exc.http_status, exc.message, details=details)


def _character_or_404(request: web.Request, character_id: str | None = None) -> dict[str, Any]:
    character_id = character_id or request.match_info["character_id"]
    try:
        return _voices(request).characters.get_character(character_id)
    except UnknownCharacter:
        raise not_found("character", character_id) from None


def _update(request: web.Request, character_id: str, changes: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The service's update, its errors in the family's shape (404 character/voice, 422 bad field)."""
    try:
        return _voices(request).characters.update_character(character_id, changes)
    except UnknownCharacter:
        raise not_found("character", character_id) from None
    except UnknownVoice as exc:
        raise not_found("voice", str(exc.args[0])) from None
    except VoiceError as exc:
        raise _error(exc) from None


def _semitones_from_offset(pitch: float | None) -> float:
    return 12.0 * pitch if pitch is not None else 0.0


def _semitones_from_ratio(pitch: float | None) -> float:
    return 12.0 * math.log2(pitch) if pitch else 0.0


def _summary(character: dict[str, Any], revenue: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A character as seed 000's lists show it (plus the rest of its fields). `revenue_multiplier` and
    `monthly_potential` come from the character's content linked to imported statistics (null when none is)."""
    figures = revenue.get(character["id"], {})
    out = {"id": character["id"], "name": character["name"], "genre": character["genre"],
           "personality": character["personality"], "backstory": character["backstory"],
           "voice_quality": character["voice_quality"], "voice_id": character["voice_id"],
           "total_content": character["total_content"], "last_active": character["last_active"],
           "revenue_multiplier": figures.get("revenue_multiplier"),
           "monthly_potential": figures.get("monthly_potential")}
    out.update({k: v for k, v in character.items() if k not in out})
    return out


# --- seed 000: characters ---------------------------------------------------------------------------
@routes.post("/api/voice/initialize", summary="Create the eight default voice characters", tags=TAGS,
             description="Idempotent: characters that exist already are kept; a second call creates none and says so.",
             response=VoiceInitializeOut)
async def initialize(request: web.Request) -> web.Response:
    result = _voices(request).characters.initialize()
    created = result["created"]
    message = (f"Created {len(created)} default characters" if created
               else "The default characters exist already; nothing was created")
    return ok({"message": message, "characters_created": len(created), "total_characters": result["total"],
               "total_setup_time": round(result["seconds"], 3),
               "characters": [{"id": c["id"], "name": c["name"], "genre": c["genre"], "personality": c["personality"],
                               "voice_id": c["voice_id"]} for c in created]})


@routes.get("/api/voice/characters", summary="All voice characters", tags=TAGS, response=VoiceCharacterListOut)
async def list_characters(request: web.Request) -> web.Response:
    total, characters = _voices(request).characters.list_characters(limit=1000)
    revenue = await asyncio.to_thread(_voices(request).content.revenue_fields)
    return ok({"total_characters": total, "characters": [_summary(c, revenue) for c in characters]})


class VoiceSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pitch: float | None = Field(default=None, ge=-1, le=1, description="Offset: 1 = an octave up, -1 = down.")
    pitch_semitones: float | None = Field(default=None, ge=-24, le=24)
    formant_shift: float | None = Field(default=None, ge=0.5, le=2.0)
    pitch_range: float | None = Field(default=None, ge=0, le=4)
    speed: float | None = Field(default=None, gt=0.25, le=4)
    emotion: str | None = Field(default=None, max_length=32)
    voice_id: str | None = Field(default=None, max_length=64)
    base_voice: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                                   description="The base voice: 'en_US-joe-medium' (male), 'hibari-heart' (female) "
                                               "or an installed Piper voice's id (GET /api/models?kind=voice)")


class CharacterUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    personality_update: str | None = Field(default=None, max_length=500)
    voice_settings: VoiceSettingsIn | None = None
    content_schedule: Literal["daily", "weekly", "monthly", "paused", "manual"] | None = None
    name: str | None = Field(default=None, min_length=1, max_length=100)
    backstory: str | None = Field(default=None, max_length=4000)
    status: Literal["active", "paused", "error"] | None = None


def _voice_changes(settings: VoiceSettingsIn) -> dict[str, Any]:
    voice = settings.model_dump(exclude_none=True, exclude={"pitch"})
    if settings.pitch is not None:
        voice["pitch_semitones"] = _semitones_from_offset(settings.pitch)
    return voice


@routes.put("/api/voice/characters/{character_id}", summary="Update a character's personality, voice or schedule",
            tags=TAGS, body=CharacterUpdateIn, response=VoiceCharacterSettingsOut,
            responses={404: "No character with that id, or voice_settings.voice_id names no voice",
                       422: "Nothing to update, or invalid voice settings (e.g. an unknown emotion)"})
async def update_character(request: web.Request, body: CharacterUpdateIn) -> web.Response:
    character_id = request.match_info["character_id"]
    changes: dict[str, Any] = {}
    if body.personality_update is not None:
        changes["personality_summary"] = body.personality_update
    if body.voice_settings is not None:
        changes["voice"] = _voice_changes(body.voice_settings)
    if body.content_schedule is not None:
        changes["content_schedule"] = body.content_schedule
    for name in ("name", "backstory", "status"):
        if getattr(body, name) is not None:
            changes[name] = getattr(body, name)
    if not changes:
        raise ApiError(422, "nothing to update: send personality_update, voice_settings, content_schedule, name, "
                            "backstory or status")
    character, updated = _update(request, character_id, changes)
    names = {"personality_summary": "personality", "voice": "voice_settings", "content_schedule": "schedule"}
    return ok({"character": character_id, "updated_fields": [names.get(f, f) for f in updated],
               "effective_immediately": True, "voice_settings": character["voice_settings"]})


class ContentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content_type: str = Field(default="introduction", description="introduction, outro, track_commentary, "
                                                                  "announcement or script (intro/commentary too).")
    duration: float = Field(default=30, ge=1, le=MAX_CONTENT_DURATION_S, description="Target length in seconds.")
    topic: str | None = Field(default=None, max_length=200)
    mood: str | None = Field(default=None, max_length=32)
    include_music: bool = False
    track_id: str | None = Field(default=None, max_length=64, description="A library track to use as the bed.")
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)


@routes.post("/api/voice/characters/{character_id}/generate", summary="Write and voice a piece of content", tags=TAGS,
             body=ContentIn, description="Writes the script now (returned as script_preview) and queues its voicing; "
                                         "with include_music, over a ducked bed (the given track, the character's "
                                         "newest track in its style, or a fresh instrumental).",
             response=VoiceContentQueuedOut,
             responses={404: "No character with that id, or track_id names no track",
                        422: "Unknown content type, duration out of range, an emotion the voice does not know, "
                             "or a track without audio"})
async def generate_content(request: web.Request, body: ContentIn) -> web.Response:
    character = _character_or_404(request)
    try:
        row = await _voices(request).speech.submit_content(character["id"], body.content_type, topic=body.topic,
                                                           mood=body.mood, duration_s=body.duration,
                                                           include_music=body.include_music, track_id=body.track_id,
                                                           seed=body.seed)
    except VoiceError as exc:
        raise _error(exc) from None
    script = row["script"]
    preview = script["script"] if len(script["script"]) <= 160 else script["script"][:157].rsplit(" ", 1)[0] + "..."
    return ok({"content_id": row["id"], "character": character["id"], "content_type": row["type"],
               "estimated_time": row["estimated_time"], "estimate_basis": row["estimate_basis"],
               "queue_position": row["queue_position"],
               "script_preview": preview, "script": script, "status_url": f"/api/jobs/{row['id']}"},
              status="processing")


class ScriptQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content_type: str | None = Field(default=None, description="Write a new script of this type instead of "
                                                               "returning the latest one.")
    topic: str | None = Field(default=None, max_length=200)
    mood: str | None = Field(default=None, max_length=32)
    duration: float = Field(default=45, ge=1, le=MAX_CONTENT_DURATION_S)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)


@routes.get("/api/voice/characters/{character_id}/script", summary="The character's latest script, or a new one",
            tags=TAGS, query=ScriptQuery,
            description="Without `content_type`: the script of the character's latest piece of content; when it has "
                        "none yet, a new introduction. With `content_type`: a new script (not stored).",
            response=VoiceScriptOut, responses={404: NO_CHARACTER, 422: "Unknown content type"})
async def get_script(request: web.Request, query: ScriptQuery) -> web.Response:
    character = _character_or_404(request)
    voices = _voices(request)
    latest = None if query.content_type else voices.content.latest_script(character["id"])
    if latest is not None:
        script = {"script": latest["text"], "word_count": latest["word_count"], "emotion_tags": latest["emotion_tags"],
                  "duration_estimate": latest["duration"] or None, "content_type": latest["type"],
                  "content_id": latest["id"], "source": latest["script_source"] or "built-in writer"}
    else:
        try:
            script = await voices.writer.write_script(character["id"], query.content_type or "introduction",
                                                      topic=query.topic, mood=query.mood, duration_s=query.duration,
                                                      seed=query.seed)
        except VoiceError as exc:
            raise _error(exc) from None
    return ok({"character": character["id"], **script})


class SynthesizeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, pattern=r"\S", description="Not only spaces.")
    emotion: str | None = Field(default=None, max_length=32)
    speed: float | None = Field(default=None, gt=0.25, le=4, description="Multiplies the character's speed.")
    pitch: float | None = Field(default=None, ge=-1, le=1, description="Offset: 1 = an octave up.")


@routes.post("/api/voice/characters/{character_id}/synthesize", summary="Speak a text in the character's voice",
             tags=TAGS, body=SynthesizeIn, response=VoiceSynthesisQueuedOut,
             responses={404: NO_CHARACTER, 422: "Empty or too long text, or an emotion the voice does not know"})
async def synthesize(request: web.Request, body: SynthesizeIn) -> web.Response:
    character = _character_or_404(request)
    try:
        row = _voices(request).speech.submit_synthesis(character["id"], body.text, emotion=body.emotion,
                                                       speed=body.speed,
                                                       pitch_semitones=_semitones_from_offset(body.pitch))
    except VoiceError as exc:
        raise _error(exc) from None
    return ok({"synthesis_id": row["id"], "estimated_time": row["estimated_time"],
               "estimate_basis": row["estimate_basis"], "character": character["id"],
               "queue_position": row["queue_position"], "status_url": f"/api/jobs/{row['id']}",
               "download_url": f"/api/voice/content/download/{row['id']}"}, status="processing")


@routes.get("/api/voice/characters/{character_id}/analytics", summary="A character's content figures", tags=TAGS,
            response=VoiceCharacterAnalyticsOut, responses={404: NO_CHARACTER})
async def character_analytics(request: web.Request) -> web.Response:
    character = _character_or_404(request)
    performance = _voices(request).content.character_analytics(character["id"])
    return ok({"character": character["id"], "performance": performance})


class VoiceBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    operation: str = Field(default="generate_content", max_length=60)
    characters: list[str] = Field(min_length=1, max_length=50)
    content_types: list[str] = Field(min_length=1, max_length=10)
    topic: str | None = Field(default=None, max_length=200)
    duration: float = Field(default=20, ge=1, le=MAX_CONTENT_DURATION_S)


@routes.post("/api/voice/characters/batch", summary="Content for several characters at once", tags=TAGS,
             body=VoiceBatchIn, description="Queues one content job per character and content type.",
             response=VoiceBatchOut,
             responses={404: "A character id names no character (nothing is queued)",
                        422: "Unknown content type, or more than 100 operations (characters x content types)"})
async def batch(request: web.Request, body: VoiceBatchIn) -> web.Response:
    try:
        result = await _voices(request).speech.submit_batch(body.operation, body.characters, body.content_types,
                                                            topic=body.topic, duration_s=body.duration)
    except UnknownCharacter as exc:
        raise not_found("character", str(exc.args[0])) from None
    except VoiceError as exc:
        raise _error(exc) from None
    return ok({"batch_id": result["batch_id"], "total_operations": len(result["operations"]),
               "estimated_time": result["estimated_time"], "operations": result["operations"]}, status="processing")


class ContentQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page: int = Field(default=1, ge=1, le=MAX_OFFSET)
    limit: int = Field(default=10, ge=1, le=100)
    type: str | None = Field(default=None, max_length=32)


@routes.get("/api/voice/characters/{character_id}/content", summary="A character's content, newest first", tags=TAGS,
            query=ContentQuery, response=VoiceContentHistoryOut, responses={404: NO_CHARACTER})
async def content_history(request: web.Request, query: ContentQuery) -> web.Response:
    character = _character_or_404(request)
    total, items = _voices(request).content.content_history(character["id"], limit=query.limit,
                                                            offset=(query.page - 1) * query.limit, kind=query.type)
    return ok({"character": character["id"], "total_content": total, "page": query.page, "limit": query.limit,
               "content": items, "performance_source": "per piece: null here; a character's linked statistics "
                                                       "are in /api/voice/characters/{id}/analytics"})


class DownloadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["wav", "mp3"] = "wav"


@routes.get("/api/voice/content/download/{content_id}", summary="Download a piece of content's audio", tags=TAGS,
            query=DownloadQuery, media=AUDIO,
            responses={200: "The audio file (audio/wav or audio/mpeg, as `format` asks)",
                       206: "Part of the file, for a Range request",
                       304: "Not modified since If-Modified-Since / If-None-Match (no body)",
                       404: "No content with that id, or it has no audio (yet, or a text-only piece)",
                       412: "If-Match / If-Unmodified-Since did not hold (no body)",
                       416: "The Range lies outside the file (no body)"})
async def download_content(request: web.Request, query: DownloadQuery) -> web.StreamResponse:
    content_id = request.match_info["content_id"]
    try:
        path, row = _voices(request).content.content_file(content_id, query.format)
    except (UnknownContent, KeyError):
        raise not_found("content audio", content_id) from None
    return file_response(path, row)


@routes.get("/api/voice/dashboard", summary="Characters, content and voices at a glance", tags=TAGS,
            response=VoiceDashboardOut)
async def dashboard(request: web.Request) -> web.Response:
    return ok(_voices(request).content.dashboard())


# --- voice matching (both families) -------------------------------------------------------------------
async def _clone_from_form(request: web.Request, character_id: str | None) -> dict[str, Any]:
    try:
        files, fields = await multipart.read_form(request, ("audio_samples", "audio_samples[]", "file", "files[]"),
                                                  MAX_SAMPLE_BYTES,
                                                  example="curl -F audio_samples=@me.wav -F voice_name=Me")
    except multipart.FileTooLargeError as exc:
        raise ApiError(413, exc.message, details=exc.details) from None
    except multipart.FormError as exc:
        raise ApiError(400, exc.message, details=exc.details) from None
    if len(files) > MAX_SAMPLES:
        raise ApiError(400, f"{len(files)} samples; send at most {MAX_SAMPLES}")
    name = fields.get("voice_name") or fields.get("name") or ""
    return _submit_clone(request, files, name, fields.get("voice_description") or fields.get("description") or "",
                         character_id)


def _submit_clone(request: web.Request, files: list[tuple[bytes, str]], name: str, description: str,
                  character_id: str | None) -> dict[str, Any]:
    try:
        return _voices(request).matching.submit_clone(files, name=name, description=description,
                                                      character_id=character_id)
    except UnknownCharacter:
        raise not_found("character", character_id or "") from None
    except VoiceError as exc:
        raise _error(exc) from None


@routes.post("/api/voice/clone", summary="Match a voice to recordings (pitch and timbre)", tags=TAGS,
             form={"audio_samples": "files", "voice_name": "string", "voice_description": "string"},
             description="Multipart: `audio_samples` (one or more WAV/FLAC/OGG/MP3 files, 3 s to 10 min in all), "
                         "`voice_name`, `voice_description`. Fits the built-in voice's pitch, intonation range and "
                         "formants to the speaker and reports speaker-embedding similarity before and after. This is "
                         "voice matching, not a neural clone.",
             response=VoiceCloneQueuedOut,
             responses={400: "Not a multipart form, no samples, more than 20, or unreadable, silent, too short or "
                             "too long samples",
                        413: "A sample over 100 MB", 422: "voice_name is missing"})
async def clone(request: web.Request) -> web.Response:
    result = await _clone_from_form(request, None)
    return ok({"clone_id": result["clone_id"], "voice_id": result["voice_id"],
               "estimated_time": result["estimated_time"], "estimate_basis": result["estimate_basis"],
               "samples_uploaded": result["samples_uploaded"],
               "total_duration": result["total_duration"], "warnings": result["warnings"],
               "status_url": f"/api/jobs/{result['clone_id']}"}, status="processing")


class SpeechIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, pattern=r"\S", description="Not only spaces.")
    voice_id: str | None = Field(default=None, max_length=64)
    speed: float = Field(default=1.0, gt=0.25, le=4)
    pitch: float = Field(default=1.0, ge=0.5, le=2.0, description="Frequency ratio: 1.0 unchanged, 2.0 an octave up.")
    emotion: str | None = Field(default=None, max_length=32)
    character_id: str | None = Field(default=None, max_length=64)


def _speak(request: web.Request, character_id: str, body: SpeechIn) -> web.Response:
    voices = _voices(request)
    try:
        row = voices.speech.submit_synthesis(character_id, body.text, emotion=body.emotion, speed=body.speed,
                                             pitch_semitones=_semitones_from_ratio(body.pitch), voice_id=body.voice_id)
    except UnknownVoice:
        raise not_found("voice", body.voice_id or "") from None
    except VoiceError as exc:
        raise _error(exc) from None
    data = {"audio_id": row["id"], "job_id": row["id"], "status": "processing", "character_id": character_id,
            "voice_id": body.voice_id or voices.characters.get_character(character_id)["voice_id"],
            "estimated_time": row["estimated_time"], "estimate_basis": row["estimate_basis"],
            "status_url": f"/api/jobs/{row['id']}", "download_url": f"/api/voice/content/download/{row['id']}"}
    return envelope(request, data, "Speech generation queued", http_status=202)


# --- seed 002: characters -------------------------------------------------------------------------------
class PersonalityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    extroversion: float | None = Field(default=None, ge=0, le=1)
    creativity: float | None = Field(default=None, ge=0, le=1)
    humor: float | None = Field(default=None, ge=0, le=1)
    professionalism: float | None = Field(default=None, ge=0, le=1)
    authenticity: float | None = Field(default=None, ge=0, le=1)
    communication_style: str | None = Field(default=None, max_length=40)
    preferred_topics: list[str] | None = Field(default=None, max_length=20)
    content_tone: str | None = Field(default=None, max_length=40)
    temperature: float | None = Field(default=None, ge=0, le=2)


class AppearanceIn(BaseModel):
    model_config = ConfigDict(extra="allow")  # kept for cover art; free-form beyond these
    face_reference_image_url: str | None = None
    hair_color: str | None = None
    eye_color: str | None = None
    style_keywords: list[str] | None = None


class WordsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    greetings: list[str] | None = Field(default=None, max_length=20)
    signoffs: list[str] | None = Field(default=None, max_length=20)
    phrases: list[str] | None = Field(default=None, max_length=40)
    vocabulary: list[str] | None = Field(default=None, max_length=60)
    emotion_tags: list[str] | None = Field(default=None, max_length=10)


class CharacterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=100)
    bio: str | None = Field(default=None, max_length=4000)
    age: int | None = Field(default=None, ge=0, le=200)
    location: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    interests: list[str] | None = Field(default=None, max_length=30)
    personality: PersonalityIn | None = None
    appearance: AppearanceIn | None = None
    genre: str | None = Field(default=None, max_length=64)
    style: str | None = Field(default=None, max_length=32, description="Engine style id for music beds.")
    personality_summary: str | None = Field(default=None, max_length=500)
    voice_settings: VoiceSettingsIn | None = None
    words: WordsIn | None = None
    content_schedule: str | None = Field(default=None, max_length=32)
    status: Literal["active", "paused", "error"] | None = None


def _character_fields(body: CharacterIn) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in ("name", "age", "location", "timezone", "interests", "genre", "style", "personality_summary",
                 "content_schedule", "status"):
        value = getattr(body, name)
        if value is not None:
            fields[name] = value
    if body.bio is not None:
        fields["backstory"] = body.bio
    if body.personality is not None:
        fields["personality"] = body.personality.model_dump(exclude_none=True)
    if body.appearance is not None:
        fields["appearance"] = body.appearance.model_dump(exclude_none=True)
    if body.voice_settings is not None:
        fields["voice"] = _voice_changes(body.voice_settings)
    if body.words is not None:
        fields["words"] = body.words.model_dump(exclude_none=True)
    return fields


@routes.post("/api/characters", summary="Create a character", tags=CHARACTER_TAGS, body=CharacterIn,
             response=VoiceCharacter,
             responses={201: "Character created", 404: "voice_settings.voice_id names no voice",
                        422: "Missing name, an unknown style, or invalid voice settings"})
async def create_character(request: web.Request, body: CharacterIn) -> web.Response:
    try:
        character = _voices(request).characters.create_character(_character_fields(body))
    except UnknownVoice as exc:
        raise not_found("voice", str(exc.args[0])) from None
    except VoiceError as exc:
        raise _error(exc) from None
    return envelope(request, character, "Character created", http_status=201)


class CharacterListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["active", "paused", "error"] | None = None
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    search: str | None = Field(default=None, max_length=100)


@routes.get("/api/characters", summary="Characters, filtered and paged", tags=CHARACTER_TAGS, query=CharacterListQuery,
            response=CharacterPageOut)
async def characters(request: web.Request, query: CharacterListQuery) -> web.Response:
    total, items = _voices(request).characters.list_characters(status=query.status, search=query.search,
                                                               limit=query.limit, offset=query.offset)
    return envelope(request, {"characters": items, "total": total, "limit": query.limit, "offset": query.offset})


@routes.get("/api/characters/{character_id}", summary="A character in full", tags=CHARACTER_TAGS,
            response=VoiceCharacter, responses={404: NO_CHARACTER})
async def character(request: web.Request) -> web.Response:
    return envelope(request, _character_or_404(request))


@routes.put("/api/characters/{character_id}", summary="Update a character (any fields)", tags=CHARACTER_TAGS,
            body=CharacterIn, response=CharacterUpdatedOut,
            responses={404: "No character with that id, or voice_settings.voice_id names no voice",
                       422: "Nothing to update, an unknown style, or invalid voice settings"})
async def put_character(request: web.Request, body: CharacterIn) -> web.Response:
    character_id = request.match_info["character_id"]
    fields = _character_fields(body)
    if not fields:
        raise ApiError(422, "nothing to update: send at least one character field")
    data, updated = _update(request, character_id, fields)
    return envelope(request, {**data, "updated_fields": updated}, "Character updated")


@routes.delete("/api/characters/{character_id}", summary="Delete a character, its content and its matched voices",
               tags=CHARACTER_TAGS, response=CharacterDeletedOut, responses={404: NO_CHARACTER})
async def delete_character(request: web.Request) -> web.Response:
    character_id = request.match_info["character_id"]
    try:
        counts = _voices(request).characters.delete_character(character_id)
    except UnknownCharacter:
        raise not_found("character", character_id) from None
    return envelope(request, {"character_id": character_id, "deleted": True, **counts}, "Character deleted")


class CaptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content_type: Literal["caption", "post"] = "caption"
    context: str = Field(default="", max_length=500)
    tone: str | None = Field(default=None, max_length=32)
    max_length: int = Field(default=220, ge=20, le=5000)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)


@routes.post("/api/characters/{character_id}/generate/content", summary="Write a caption or post in the character's "
             "words", tags=CHARACTER_TAGS, body=CaptionIn, response=CharacterCaptionOut,
             responses={404: NO_CHARACTER, 422: "max_length too short for a caption in the character's words"})
async def caption(request: web.Request, body: CaptionIn) -> web.Response:
    character = _character_or_404(request)
    try:
        row = _voices(request).writer.write_caption(character["id"], content_type=body.content_type,
                                                    context=body.context, tone=body.tone,
                                                    max_length=body.max_length, seed=body.seed)
    except VoiceError as exc:
        raise _error(exc) from None
    return envelope(request, {"content_id": row["id"], "character_id": character["id"], "content_type": row["type"],
                              "text": row["text"], "length": len(row["text"]), "created_at": row["created_at"]},
                    "Content generated")


class CloneJsonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    audio_url: str | None = Field(default=None, max_length=2000)
    audio_path: str | None = Field(default=None, max_length=2000)
    name: str = Field(min_length=1, max_length=100, pattern=r"\S", description="Not only spaces.")
    description: str = Field(default="", max_length=1000)


@routes.post("/api/characters/{character_id}/voice/clone", summary="Match a voice for a character", tags=CHARACTER_TAGS,
             description="JSON {audio_url | audio_path, name, description}, or multipart `audio_samples` + "
                         "`voice_name` like POST /api/voice/clone. When ready, the voice becomes the character's.",
             response=CharacterCloneQueuedOut,
             responses={202: "Voice matching queued",
                        400: "Malformed body; no audio_url/audio_path/samples; a path that is not a recording file "
                             "here; a URL that is refused (this machine or a private network), fails or is not "
                             "http(s); unreadable, silent, too short or too long samples",
                        403: "audio_path lies outside the folders the API may read (see Settings), or a cookie-authenticated "
                             "change from another site",
                        404: NO_CHARACTER, 413: "A sample over 100 MB (uploaded, read or downloaded)",
                        422: "Missing or empty name, or invalid JSON fields"})
async def character_clone(request: web.Request) -> web.Response:
    character = _character_or_404(request)
    if request.content_type.startswith("multipart/"):
        result = await _clone_from_form(request, character["id"])
    else:
        body = parse_model(CloneJsonIn, await read_json_object(request), "body")
        try:  # the service reads the path off the loop, or downloads the URL
            result = await _voices(request).matching.submit_clone_from(name=body.name, description=body.description,
                                                                       character_id=character["id"],
                                                                       audio_path=body.audio_path,
                                                                       audio_url=body.audio_url)
        except UnknownCharacter:
            raise not_found("character", character["id"]) from None
        except VoiceError as exc:
            raise _error(exc) from None
    return envelope(request, {"clone_id": result["clone_id"], "job_id": result["clone_id"],
                              "voice_id": result["voice_id"], "status": "processing",
                              "samples_uploaded": result["samples_uploaded"], "total_duration": result["total_duration"],
                              "estimated_time": result["estimated_time"], "estimate_basis": result["estimate_basis"],
                              "warnings": result["warnings"],
                              "status_url": f"/api/jobs/{result['clone_id']}"}, "Voice matching queued", http_status=202)


@routes.post("/api/characters/{character_id}/voice/generate", summary="Speech in the character's voice",
             tags=CHARACTER_TAGS, body=SpeechIn, response=VoiceSpeechQueuedOut,
             responses={202: "Speech generation queued", 404: "No character with that id, or voice_id names no voice",
                        409: "voice_id names a voice that is not ready (still matching, or failed)",
                        422: "Empty or too long text, or an emotion the voice does not know"})
async def character_speech(request: web.Request, body: SpeechIn) -> web.Response:
    character = _character_or_404(request)
    return _speak(request, character["id"], body)


@routes.get("/api/characters/{character_id}/voice/list", summary="The voices matched for a character",
            tags=CHARACTER_TAGS, response=CharacterVoicesOut, responses={404: NO_CHARACTER})
async def character_voices(request: web.Request) -> web.Response:
    character = _character_or_404(request)
    voices = _voices(request).catalog.list_voices(character["id"])
    return envelope(request, {"character_id": character["id"], "current_voice_id": character["voice_id"],
                              "voices": voices, "total": len(voices)})


@routes.delete("/api/characters/{character_id}/voice/{voice_id}", summary="Delete a character's matched voice",
               tags=CHARACTER_TAGS, response=CharacterVoiceDeletedOut,
               responses={404: "No character with that id, or no voice with that id matched for it",
                          409: "The built-in voice cannot be deleted"})
async def delete_character_voice(request: web.Request) -> web.Response:
    character = _character_or_404(request)
    voice_id = request.match_info["voice_id"]
    try:
        files = _voices(request).catalog.delete_voice(voice_id, character_id=character["id"])
    except UnknownVoice:
        raise not_found("voice", voice_id) from None
    except VoiceError as exc:
        raise _error(exc) from None
    return envelope(request, {"voice_id": voice_id, "deleted": True, "files_deleted": files}, "Voice deleted")


@routes.post("/api/voice/generate", summary="Speech from text (a character's voice, or a matched voice)", tags=TAGS,
             body=SpeechIn, description="`character_id` picks whose delivery to use (required: speech is always "
                                        "someone's); `voice_id` swaps in a matched voice's timbre.",
             response=VoiceSpeechQueuedOut,
             responses={202: "Speech generation queued", 404: "No character with that id, or voice_id names no voice",
                        409: "voice_id names a voice that is not ready (still matching, or failed)",
                        422: "character_id missing, empty or too long text, or an emotion the voice does not know"})
async def voice_generate(request: web.Request, body: SpeechIn) -> web.Response:
    if not body.character_id:
        raise ApiError(422, "character_id is required: name the character who speaks (GET /api/characters)",
                       details={"parameter": "character_id"})
    character = _character_or_404(request, body.character_id)
    return _speak(request, character["id"], body)


@routes.get("/api/voice/list", summary="Every voice: the built-in one and the matched ones", tags=TAGS,
            response=VoiceListOut)
async def voice_list(request: web.Request) -> web.Response:
    voices = _voices(request)
    items = [voices.catalog.builtin_voice()] + voices.catalog.list_voices()
    return envelope(request, {"voices": items, "total": len(items)})
