"""Seed 001 "AI Music Generation" API: /api/v1/ai/... in the `{success, data, message, timestamp,
request_id}` envelope (errors in the v1 error shape, which the middleware picks by path).

Thin shells over the same services as the seed-000 routes and the GUI: the music service
(`services.music`: generation, library, batches, playlists, statistics), `TemplateService` and
`WebhookService`.

- A generation is a `music.generate` job; its id (`gen_...`) is also the seed's `task_id`.
- `parameters` are the engine's `GenerationSpec` fields (genre, subgenre, mood, tempo, key
  "C_minor", duration, instrumental, lyrics{enabled, theme, language, style, text},
  primary_instruments, complexity, creativity, output_formats, audio_quality, seed) plus
  `ai_model` (see `AI_MODELS`; an unknown model is a 422).
- Lyrics files and the chord chart are always written (they are small); per-stem WAVs when
  `output_formats` is left out or names "stems".
- Webhooks: see studio.services.webhooks (HMAC-SHA256 over the raw body with the per-install
  secret, header X-Studio-Signature: sha256=<hex>, retries with backoff).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import timedelta
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, ValidationInfo, field_validator

from studio.jobs import CANCELLED, COMPLETED, FAILED, PROCESSING, QUEUED, JobStateError, UnknownJob
from studio.server.downloads import file_response
from studio.server.errors import ApiError, envelope, insufficient_credits, not_found
from studio.server.keys import SERVICES
from studio.server.routing import MAX_OFFSET, RouteTable, validation_error
from studio.server.schemas.music import (
    BatchQueuedOut,
    CancelOut,
    GenerationListOut,
    GenerationQueuedOut,
    GenerationStatusOut,
    PlaylistOut,
    PlaylistQueuedOut,
    RetryOut,
    TemplateGenerationQueuedOut,
    TemplateListOut,
    TemplateOut,
    TrackDeletedOut,
    TrackOut,
    TrackUpdatedOut,
    WebhookSecretOut,
)
from studio.services.music.catalogue import GenerationSpec
from studio.services.music.common import (
    CONVERTIBLE_AUDIO,
    GENERATE_KIND,
    FormatUnavailable,
    InsufficientCredits,
    LEAD_INSTRUMENT,
    SingerError,
    UnknownTrack,
)
from studio.services.music.playlists import DEFAULT_TRANSITION_S, plan_playlist
from studio.services.music.templates import AI_MODELS, DEFAULT_AI_MODEL, UnknownTemplate, check_ai_model, merge_parameters
from studio.services.webhooks import (
    DEFAULT_EVENTS,
    SIGNATURE_HEADER,
    WEBHOOK_EVENTS,
)
from studio.timeutil import iso, utcnow

routes = RouteTable()
TAGS = ["ai"]
PREFIX = "/api/v1/ai"
AUDIO_FORMATS = ("wav", "mp3", "flac", "ogg")
# Formats a track may be downloaded in -> key in the track's files.
DOWNLOAD_FORMATS = {"wav": "wav", "mp3": "mp3", "flac": "flac", "ogg": "ogg", "midi": "midi", "lrc": "lrc",
                    "lyrics_json": "lyrics_json", "chords": "chords", "chords_txt": "chords_txt"}
V1_DEFAULT_FORMATS = ["wav", "mp3", "midi", "stems", "lyrics", "chords"]
MODELS_DOC = ", ".join(f"'{name}'" for name in AI_MODELS)
WEBHOOK_DOC = (f"Webhooks: `callback_url` gets a JSON POST on each of `webhook_events` ({', '.join(WEBHOOK_EVENTS)}; "
               f"default {', '.join(DEFAULT_EVENTS)}), signed with header `{SIGNATURE_HEADER}: sha256=<hex>` = "
               "HMAC-SHA256 of the raw body keyed with this install's webhook secret (file `webhook_secret` in the "
               "data dir; admins: GET /api/v1/ai/webhooks/secret). Failed deliveries (network, 408, 429, 5xx) are "
               "retried after 1, 5, 25 and 125 s; attempts are listed with the generation.")


# What a generation request can be answered besides 200 (the parsing's 400/413/422 are added by /openapi.json)
SUBMIT_STATUSES = {400: "Malformed body, or a callback_url the studio may not call (an address on this machine "
                        "or a private network that is not allowed in the settings)",
                   402: "Today's credit budget is spent (error_code 1001)",
                   404: "The character_id or voice_id names no character or voice",
                   409: "The voice named is not ready (still being matched, or failed)",
                   422: "Invalid parameter; the message names the field (from the top of the request) and what to fix"}
# A file download: FileResponse answers these besides 200 (Range, If-None-Match, If-Modified-Since, If-Match)
FILE_STATUSES = {200: "The file", 206: "Part of the file (a Range request)",
                 304: "Not modified since the copy the client has",
                 412: "A precondition (If-Match, If-Unmodified-Since) failed",
                 416: "The Range asked for lies outside the file"}
# What a track's download can send: audio, MIDI, LRC lyrics and the text chord chart, JSON lyrics and chord chart
TRACK_MEDIA = {"audio/wav": "binary", "audio/mpeg": "binary", "audio/flac": "binary", "audio/ogg": "binary",
               "audio/midi": "binary", "text/plain": "text", "application/json": "binary"}


def _services(request: web.Request):
    return request.app[SERVICES]


async def _webhook(request: web.Request, body: Any, extra_default: list[str] = ()) -> dict[str, Any] | None:
    """The request's webhook, once its callback_url is known to be one the studio may call."""
    webhook = body.webhook(extra_default)
    if webhook:
        why = await _services(request).webhooks.refusal(webhook["url"])
        if why is not None:
            raise ApiError(400, f"callback_url is not called: {why}", details={"parameter": "callback_url"})
    return webhook


def _music(request: web.Request):
    return request.app[SERVICES].music


# --- request models -------------------------------------------------------------------------------
# How a request picks who sings (studio/engine/composition/singers.py makes the choice)
SINGER_DOC = (f"\"{LEAD_INSTRUMENT}\": a lead instrument plays the vocal melody. Left out, a sung track's singer "
              "is inferred (a character named in the prompt, female/male voice words, rap words) or is the "
              "style's default character; resolved_spec.sources.singer says who and why.")

class AiParameters(GenerationSpec):
    """The engine's generation fields plus the model to run them on."""

    ai_model: str | None = Field(default=None, description=f"Engine model: {MODELS_DOC} (the default).")
    character_id: str | None = Field(default=None, max_length=64,
                                     description=f"A voice character sings the lyrics (GET /api/characters); {SINGER_DOC}")
    voice_id: str | None = Field(default=None, max_length=64,
                                 description="A matched voice sings the lyrics (GET /api/voice/list).")

    @field_validator("ai_model")
    @classmethod
    def _known_model(cls, value: str | None) -> str | None:
        return check_ai_model(value)


class MetadataIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    project_id: str | None = Field(default=None, max_length=100)


class WebhookFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    callback_url: HttpUrl | None = Field(default=None, description="http(s) URL that receives webhook POSTs.")
    webhook_events: list[Literal[WEBHOOK_EVENTS]] | None = Field(  # type: ignore[valid-type]
        default=None, description=f"Events to send; default {', '.join(DEFAULT_EVENTS)}.")

    @field_validator("webhook_events")
    @classmethod
    def _events_need_url(cls, value, info: ValidationInfo):
        if value and "callback_url" in info.data and info.data["callback_url"] is None:
            raise ValueError("webhook_events needs a callback_url to send them to")
        return value

    def webhook(self, extra_default: list[str] = ()) -> dict[str, Any] | None:
        if self.callback_url is None:
            return None
        events = list(self.webhook_events) if self.webhook_events else [*DEFAULT_EVENTS, *extra_default]
        return {"url": str(self.callback_url), "events": list(dict.fromkeys(events))}


class GenerateIn(WebhookFields):
    parameters: AiParameters
    metadata: MetadataIn = Field(default_factory=MetadataIn)


class FromTemplateIn(WebhookFields):
    template_id: str = Field(min_length=1, max_length=64)
    customizations: AiParameters = Field(default_factory=AiParameters,
                                         description="Parameters laid over the template's (lyrics merge key by key).")
    metadata: MetadataIn = Field(default_factory=MetadataIn)


class VariationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variation_id: str = Field(min_length=1, max_length=64)
    customizations: AiParameters = Field(default_factory=AiParameters)
    metadata: MetadataIn | None = None


class BatchSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    concurrent_generations: int | None = Field(
        default=None, ge=1, le=16, description="At most this many of the batch render at once (default: no limit "
                                               "beyond the engine's worker count).")
    notify_when_all_complete: bool = Field(default=False, description="Send `batch_completed` when all have finished.")


class AiBatchIn(WebhookFields):
    base_parameters: AiParameters = Field(default_factory=AiParameters)
    variations: list[VariationIn] = Field(min_length=1, max_length=50)
    batch_settings: BatchSettingsIn = Field(default_factory=BatchSettingsIn)
    metadata: MetadataIn = Field(default_factory=MetadataIn)

    @field_validator("variations")
    @classmethod
    def _unique_ids(cls, value: list[VariationIn]) -> list[VariationIn]:
        seen: set[str] = set()
        for variation in value:
            if variation.variation_id in seen:
                raise ValueError(f"variation_id {variation.variation_id!r} is used twice")
            seen.add(variation.variation_id)
        return value


class PlaylistConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    total_duration: float = Field(ge=1, le=10800, description="Seconds of the whole mix.")
    track_count: int = Field(ge=1, le=20)
    cohesion_level: Literal["low", "medium", "high"] = "medium"
    transition_style: Literal["abrupt", "smooth", "crossfade"] = "crossfade"
    transition_duration: float | None = Field(
        default=None, ge=0.5, le=20, description="Seconds of each crossfade/smooth blend (default 4 / 8).")


class PlaylistParameters(AiParameters):
    tempo_range: tuple[float, float] | None = Field(default=None, description="[slowest, fastest] BPM, 40-240.")

    @field_validator("tempo_range")
    @classmethod
    def _range(cls, value):
        if value is not None:
            lo, hi = value
            if not (40 <= lo <= 240 and 40 <= hi <= 240) or lo > hi:
                raise ValueError("tempo_range must be [slowest, fastest] with both between 40 and 240 BPM")
        return value


class TrackVariationsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allow_key_changes: bool = False
    allow_tempo_variation: float = Field(default=0, ge=0, le=30, description="+- BPM around each planned tempo.")
    allow_instrumentation_variation: bool = False


class PlaylistIn(WebhookFields):
    playlist_config: PlaylistConfigIn
    base_parameters: PlaylistParameters = Field(default_factory=PlaylistParameters)
    track_variations: TrackVariationsIn = Field(default_factory=TrackVariationsIn)


class GenerationsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["queued", "processing", "completed", "failed", "cancelled"] | None = None
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    sort_by: Literal["created_at", "updated_at", "duration"] = "created_at"
    sort_order: Literal["asc", "desc"] = "desc"


class DownloadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal[tuple(DOWNLOAD_FORMATS)] | None = Field(  # type: ignore[valid-type]
        default=None, description="wav, mp3, flac, ogg, midi (or lrc, lyrics_json, chords, chords_txt); "
                                  "default: the first rendered of wav, mp3, flac, ogg.")
    stem: str | None = Field(default=None, max_length=40, pattern=r"^[A-Za-z0-9_-]+$",
                             description="A stem name, e.g. drums, bass, harmony, melody, vocals (WAV).")


class TrackPatchIn(BaseModel):
    # at least one field: an empty update is refused (422)
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    title: str = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    tags: list[str] = Field(default=None, max_length=20)
    is_public: bool = Field(default=None)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        cleaned = [t.strip() for t in value]
        if any(not t or len(t) > 50 for t in cleaned):
            raise ValueError("each tag must be 1-50 characters")
        return list(dict.fromkeys(cleaned))


class TemplatesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str | None = Field(default=None, max_length=40)
    subcategory: str | None = Field(default=None, max_length=40)
    search: str | None = Field(default=None, max_length=100)
    ai_model: str | None = Field(default=None, description=f"One of {MODELS_DOC}.")
    has_lyrics: bool | None = None

    @field_validator("ai_model")
    @classmethod
    def _known_model(cls, value: str | None) -> str | None:
        return check_ai_model(value)


class PlaylistDownloadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["wav", "mp3"] = "wav"


# --- helpers --------------------------------------------------------------------------------------------
def _prefixed(exc: ValidationError, prefix: str) -> ApiError:
    """A 422 whose parameters are named from the request's top (e.g. customizations.tempo)."""
    err = validation_error(exc, prefix)
    for item in err.details["errors"]:
        if item["parameter"] != prefix:
            item["parameter"] = f"{prefix}.{item['parameter']}"
    first = err.details["errors"][0]
    err.details["parameter"] = first["parameter"]
    err.message = f"Invalid parameter: {first['parameter']}: {first['constraint']}"
    return err


def spec_fields(params: AiParameters, metadata: MetadataIn | None = None) -> dict[str, Any]:
    """Engine spec fields from validated v1 parameters (only what the caller set, plus formats)."""
    fields = params.model_dump(by_alias=True, exclude_unset=True,
                               exclude={"ai_model", "tempo_range", "character_id", "voice_id"})
    if params.character_id or params.voice_id:
        fields["singer"] = {"character_id": params.character_id, "voice_id": params.voice_id}
    formats = fields.get("output_formats") or V1_DEFAULT_FORMATS
    fields["output_formats"] = list(dict.fromkeys([*formats, "lyrics", "chords"]))
    if metadata is not None and metadata.tags:
        fields["tags"] = list(dict.fromkeys([*fields.get("tags", []), *metadata.tags]))[:20]
    return fields


def _set_fields(params: AiParameters) -> dict[str, Any]:
    return params.model_dump(by_alias=True, exclude_unset=True)


def _merged(base: dict[str, Any], changes: AiParameters, where: str) -> AiParameters:
    try:
        return AiParameters.model_validate(merge_parameters(base, _set_fields(changes)))
    except ValidationError as exc:
        raise _prefixed(exc, where) from None


def _metadata_extra(metadata: MetadataIn | None, ai_model: str | None) -> dict[str, Any]:
    extra: dict[str, Any] = {"ai_model": ai_model or DEFAULT_AI_MODEL, "api": "v1"}
    if metadata is not None and metadata.project_id:
        extra["project_id"] = metadata.project_id
    return extra


def _eta(seconds: float | None) -> str | None:
    return iso(utcnow() + timedelta(seconds=float(seconds))) if seconds is not None else None


def _requested_formats(spec: dict[str, Any]) -> list[str]:
    wanted = spec.get("output_formats") or []
    return [f for f in (*AUDIO_FORMATS, "midi", "stems") if f in wanted]


def _queued_body(job: dict[str, Any]) -> dict[str, Any]:
    spec = job["resolved_spec"]
    return {
        "generation_id": job["id"], "task_id": job["id"], "status": job["status"],
        "estimated_completion_time": _eta(job["estimated_time_s"]), "estimated_time_seconds": job["estimated_time_s"],
        "queue_position": job["queue_position"], "credits_used": job["credits_used"],
        "ai_model": (job["params"] or {}).get("ai_model", DEFAULT_AI_MODEL),
        "track_preview": {"title": spec["title"], "estimated_duration": spec["duration_s"],
                          "formats": _requested_formats(spec)},
        "resolved_parameters": spec,
        "status_url": f"{PREFIX}/generations/{job['id']}",
    }


def _submit(music, fields: dict[str, Any], where: str, **kwargs) -> dict[str, Any]:
    try:
        return music.generation.submit_generation(fields, **kwargs)
    except ValidationError as exc:
        raise _prefixed(exc, where) from None
    except InsufficientCredits as exc:
        raise insufficient_credits(exc) from None
    except SingerError as exc:
        raise ApiError(exc.http_status, exc.message, details={"parameter": "parameters.character_id"}) from None


def _track_url(track_id: str, fmt: str | None = None, stem: str | None = None) -> str:
    query = [f"format={fmt}"] if fmt else []
    if stem:
        query.append(f"stem={stem}")
    return f"{PREFIX}/tracks/{track_id}/download" + (f"?{'&'.join(query)}" if query else "")


def _formats_available(files: dict[str, Any]) -> list[str]:
    return [f for f in (*AUDIO_FORMATS, "midi") if files.get(f)] + (["stems"] if files.get("stems") else [])


def _preview_url(track_id: str | None, files: dict[str, Any]) -> str | None:
    for fmt in ("mp3", "ogg", "wav", "flac"):
        if track_id and files.get(fmt):
            return _track_url(track_id, fmt)
    return None


def _generation_or_404(request: web.Request, generation_id: str) -> dict[str, Any]:
    try:
        job = _services(request).system.get_job(generation_id)
    except UnknownJob:
        raise not_found("generation", generation_id) from None
    if job["kind"] != GENERATE_KIND:
        raise not_found("generation", generation_id)
    return job


def _track_or_404(music, track_id: str) -> dict[str, Any]:
    try:
        return music.library.track_row(track_id)
    except UnknownTrack:
        raise not_found("track", track_id) from None


def _group_fields(params: dict[str, Any]) -> dict[str, Any]:
    return {k: params[k] for k in ("batch_id", "variation_id", "playlist_id", "playlist_position", "template_id",
                                   "project_id") if params.get(k) is not None}


# --- 1. generation ----------------------------------------------------------------------------------------
@routes.post(f"{PREFIX}/generate", summary="Generate music from parameters", tags=TAGS, body=GenerateIn,
             description=("Queues one generation. `parameters` are the engine's fields; `ai_model` one of "
                          f"{MODELS_DOC}. `metadata.title`/`description`/`tags` go onto the track and its files. "
                          + WEBHOOK_DOC),
             response=GenerationQueuedOut, responses=SUBMIT_STATUSES)
async def generate(request: web.Request, body: GenerateIn) -> web.Response:
    music = _music(request)
    fields = spec_fields(body.parameters, body.metadata)
    extra = _metadata_extra(body.metadata, body.parameters.ai_model)
    webhook = await _webhook(request, body)
    if webhook:
        extra["webhook"] = webhook
    job = _submit(music, fields, "parameters", title=body.metadata.title, description=body.metadata.description,
                  extra=extra)
    return envelope(request, _queued_body(job), "Music generation queued successfully")


@routes.post(f"{PREFIX}/generate-from-template", summary="Generate music from a template", tags=TAGS,
             body=FromTemplateIn,
             description="The template's parameters with `customizations` laid over them (see GET /api/v1/ai/templates). "
                         + WEBHOOK_DOC,
             response=TemplateGenerationQueuedOut,
             responses={**SUBMIT_STATUSES, 404: "No template with that template_id, or the character_id or voice_id "
                                                "names no character or voice"})
async def generate_from_template(request: web.Request, body: FromTemplateIn) -> web.Response:
    services = _services(request)
    try:
        template = services.music.templates.get(body.template_id)
    except UnknownTemplate:
        raise not_found("template", body.template_id) from None
    base = {**template.parameters, "ai_model": template.ai_model}
    params = _merged(base, body.customizations, "customizations")
    fields = spec_fields(params, body.metadata)
    extra = {**_metadata_extra(body.metadata, params.ai_model), "template_id": template.id}
    webhook = await _webhook(request, body)
    if webhook:
        extra["webhook"] = webhook
    job = _submit(services.music, fields, "customizations", title=body.metadata.title or template.name,
                  description=body.metadata.description or template.description, extra=extra)
    data = _queued_body(job)
    data["template_id"] = template.id
    return envelope(request, data, "Music generation queued successfully")


@routes.post(f"{PREFIX}/generate-batch", summary="Generate a batch of variations", tags=TAGS, body=AiBatchIn,
             description=("Each variation is `base_parameters` with its `customizations` laid over them. "
                          "`batch_settings.concurrent_generations` caps how many of the batch render at once (the "
                          "engine's worker count caps it too); the rest wait queued. All variations are validated and "
                          "paid for together: the batch is queued whole or not at all. " + WEBHOOK_DOC),
             response=BatchQueuedOut, responses=SUBMIT_STATUSES)
async def generate_batch(request: web.Request, body: AiBatchIn) -> web.Response:
    services = _services(request)
    base = _set_fields(body.base_parameters)
    items = []
    for index, variation in enumerate(body.variations):
        params = _merged(base, variation.customizations, f"variations.{index}.customizations")
        metadata = variation.metadata or body.metadata
        title = (variation.metadata.title if variation.metadata and variation.metadata.title
                 else f"{body.metadata.title} ({variation.variation_id})" if body.metadata.title else None)
        items.append({"fields": spec_fields(params, metadata), "title": title, "title_suffix": variation.variation_id,
                      "description": metadata.description,
                      "extra": {**_metadata_extra(metadata, params.ai_model), "variation_id": variation.variation_id}})
    settings = body.batch_settings
    concurrency = settings.concurrent_generations or len(items)
    webhook = await _webhook(request, body, ["batch_completed"] if settings.notify_when_all_complete else [])
    try:
        batch = services.music.batches.submit_batch(items, concurrency=concurrency,
                                       notify_when_all_complete=settings.notify_when_all_complete, webhook=webhook)
    except ValidationError as exc:
        raise _prefixed(exc, "variations") from None
    except InsufficientCredits as exc:
        raise insufficient_credits(exc) from None
    except SingerError as exc:
        raise ApiError(exc.http_status, exc.message, details={"parameter": "parameters.character_id"}) from None
    jobs = batch["jobs"]
    workers = services.system.max_concurrent
    data = {
        "batch_id": batch["batch_id"], "generation_ids": [j["id"] for j in jobs],
        "variations": [{"variation_id": v.variation_id, "generation_id": j["id"], "status": j["status"],
                        "stage": j.get("stage"), "title": j["resolved_spec"]["title"]}
                       for v, j in zip(body.variations, jobs)],
        "status": "processing", "completed": 0, "total": len(jobs),
        "concurrent_generations": min(concurrency, len(jobs)), "engine_workers": workers,
        "effective_concurrency": min(concurrency, len(jobs), workers),
        "notify_when_all_complete": settings.notify_when_all_complete,
        "credits_used": batch["credits_used"],
        "estimated_completion_time": _eta(max(j["estimated_time_s"] for j in jobs)),
    }
    return envelope(request, data, "Batch generation started successfully")


@routes.post(f"{PREFIX}/generate-playlist", summary="Generate a playlist and its continuous mix", tags=TAGS,
             body=PlaylistIn,
             description=("Plans `track_count` tracks from `base_parameters` (tempos across `tempo_range` as tight as "
                          "`cohesion_level` says, keys moving only when `allow_key_changes`, instrumentation varied "
                          "when allowed; the plan is in the response and repeats with the same `seed`), queues them, "
                          "then renders ONE continuous mix (WAV + MP3) with the `transition_style`: abrupt (a cut), "
                          "crossfade (equal-power, 4 s by default) or smooth (8 s S-curve blend). Tracks overlap at "
                          "each transition, so the mix lasts `total_duration`. Follow it at "
                          "GET /api/v1/ai/playlists/{playlist_id}. " + WEBHOOK_DOC),
             response=PlaylistQueuedOut, responses=SUBMIT_STATUSES)
async def generate_playlist(request: web.Request, body: PlaylistIn) -> web.Response:
    services = _services(request)
    config = body.playlist_config
    variations = body.track_variations
    base = spec_fields(body.base_parameters)
    base.pop("seed", None)
    seed = body.base_parameters.seed if body.base_parameters.seed is not None else secrets.randbelow(2**31 - 1)
    transition_s = config.transition_duration or DEFAULT_TRANSITION_S[config.transition_style]
    try:
        tracks, plan = plan_playlist(
            base, track_count=config.track_count, total_duration_s=config.total_duration,
            cohesion=config.cohesion_level, transition_style=config.transition_style, transition_s=transition_s,
            tempo_range=body.base_parameters.tempo_range, allow_key_changes=variations.allow_key_changes,
            tempo_variation_bpm=variations.allow_tempo_variation,
            instrumentation_variation=variations.allow_instrumentation_variation, seed=seed)
    except ValidationError as exc:
        raise _prefixed(exc, "base_parameters") from None
    except ValueError as exc:
        raise ApiError(422, f"Invalid parameter: playlist_config.{exc}",
                       details={"parameter": "playlist_config.total_duration", "value": config.total_duration,
                                "constraint": str(exc)}) from None
    webhook = await _webhook(request, body, ["playlist_completed"])
    try:
        playlist = services.music.playlists.submit_playlist(name=config.name, description=config.description, tracks=tracks, plan=plan,
                                             webhook=webhook,
                                             extra=_metadata_extra(None, body.base_parameters.ai_model))
    except ValidationError as exc:
        raise _prefixed(exc, "base_parameters") from None
    except InsufficientCredits as exc:
        raise insufficient_credits(exc) from None
    except SingerError as exc:
        raise ApiError(exc.http_status, exc.message, details={"parameter": "parameters.character_id"}) from None
    jobs = playlist["jobs"]
    data = {
        "playlist_id": playlist["playlist_id"], "name": config.name,
        "generation_ids": [j["id"] for j in jobs],
        "estimated_completion_time": _eta(max(j["estimated_time_s"] for j in jobs)),
        "track_order": list(range(1, len(jobs) + 1)),
        "tracks": [{**planned, "generation_id": j["id"], "title": j["resolved_spec"]["title"]}
                   for planned, j in zip(plan["tracks"], jobs)],
        "plan": {k: v for k, v in plan.items() if k != "tracks"},
        "mix": {"status": "waiting for tracks", "transition_style": config.transition_style,
                "transition_seconds": 0.0 if config.transition_style == "abrupt" else transition_s,
                "formats": ["wav", "mp3"]},
        "credits_used": playlist["credits_used"],
        "status_url": f"{PREFIX}/playlists/{playlist['playlist_id']}",
    }
    return envelope(request, data, "Playlist generation started successfully")


# --- playlists (the mix) --------------------------------------------------------------------------------------
def _playlist_or_404(request: web.Request, playlist_id: str) -> dict[str, Any]:
    try:
        return _music(request).playlists.playlist(playlist_id)
    except UnknownJob:
        raise not_found("playlist", playlist_id) from None


@routes.get(f"{PREFIX}/playlists/{{playlist_id}}", summary="A playlist: its tracks and its continuous mix",
            tags=TAGS, response=PlaylistOut, responses={404: "No playlist with that id"})
async def get_playlist(request: web.Request) -> web.Response:
    playlist_id = request.match_info["playlist_id"]
    data = _playlist_or_404(request, playlist_id)
    mix, tracks = data["mix"], data["tracks"]
    params, result = mix["params"] or {}, mix["result"] or {}
    status = {QUEUED: "generating", PROCESSING: "mixing"}.get(mix["status"], mix["status"])
    items = []
    for job in tracks:
        job_params = job["params"] or {}
        job_result = job["result"] or {}
        items.append({"position": job_params.get("playlist_position"), "generation_id": job["id"],
                      "status": job["status"], "progress": round(job["progress"]), "title": job["title"],
                      "track_id": job_result.get("track_id"), "duration": job_result.get("duration_s")})
    mix_body: dict[str, Any] = {"status": mix["status"], "stage": mix["stage"], "progress": round(mix["progress"]),
                                "transition_style": params["transition"]["style"]}
    if mix["status"] == COMPLETED:
        mix_body.update({
            "download_url": f"{PREFIX}/playlists/{playlist_id}/download?format=wav",
            "urls": {fmt: f"{PREFIX}/playlists/{playlist_id}/download?format={fmt}" for fmt in result.get("files", {})},
            "duration": result.get("duration_s"), "sample_rate": result.get("sample_rate_hz"),
            "bit_depth": result.get("bit_depth"), "transitions": result.get("transitions"),
            "placements": result.get("tracks"), "skipped_tracks": result.get("skipped"),
            "limiter_min_gain_db": result.get("limiter_min_gain_db")})
    if mix.get("error"):
        mix_body["error"] = mix["error"]
    body = {"playlist_id": playlist_id, "name": params.get("name"), "description": params.get("description"),
            "status": status, "created_at": mix["created_at"], "completed_at": mix["finished_at"],
            "completed": sum(1 for t in tracks if t["status"] == COMPLETED), "total": len(tracks),
            "tracks": items, "plan": params.get("plan"), "mix": mix_body}
    return envelope(request, body, "Playlist retrieved successfully")


@routes.get(f"{PREFIX}/playlists/{{playlist_id}}/download", summary="Download a playlist's continuous mix",
            tags=TAGS, query=PlaylistDownloadQuery, media={"audio/wav": "binary", "audio/mpeg": "binary"},
            responses={**FILE_STATUSES, 404: "No playlist with that id, or its mix is not rendered (yet)"})
async def download_playlist(request: web.Request, query: PlaylistDownloadQuery) -> web.StreamResponse:
    playlist_id = request.match_info["playlist_id"]
    mix = _playlist_or_404(request, playlist_id)["mix"]
    files = (mix["result"] or {}).get("files") or {}
    if mix["status"] != COMPLETED or query.format not in files:
        raise ApiError(404, f"playlist '{playlist_id}' has no {query.format} mix "
                            f"({'its mix is ' + mix['status'] if mix['status'] != COMPLETED else 'not rendered'})",
                       details={"playlist_id": playlist_id, "mix_status": mix["status"], "formats": sorted(files)})
    try:
        path, row = _music(request).library.media_file(files[query.format])
    except KeyError:
        raise not_found("file", files[query.format]) from None
    return file_response(path, row)


# --- 2. generation status and management --------------------------------------------------------------------
@routes.get(f"{PREFIX}/generations/{{generation_id}}", summary="Status of a generation", tags=TAGS,
            response=GenerationStatusOut, responses={404: "No generation with that id"})
async def generation_status(request: web.Request) -> web.Response:
    services = _services(request)
    music = services.music
    job = _generation_or_404(request, request.match_info["generation_id"])
    params, result = job["params"] or {}, job["result"] or {}
    spec = params.get("spec") or {}
    track = music.library.track_for_generation(job["id"]) if job["status"] == COMPLETED else None
    files = (track or {}).get("files_raw") or {}
    available = _formats_available(files)
    requested = _requested_formats(spec)
    data: dict[str, Any] = {
        "generation_id": job["id"], "task_id": job["id"], "status": job["status"], "progress": round(job["progress"]),
        "stage": job["stage"], "estimated_time_remaining": music.statistics.estimate_remaining_s(job),
        "created_at": job["created_at"], "started_at": job["started_at"], "updated_at": job["updated_at"],
        "completed_at": job["finished_at"] if job["status"] == COMPLETED else None,
        "finished_at": job["finished_at"],
        "title": job["title"], "ai_model": params.get("ai_model", DEFAULT_AI_MODEL),
        "track_preview": {
            "title": (track or {}).get("title") or spec.get("title") or job["title"],
            "duration": round(track["duration_s"], 2) if track else spec.get("duration_s"),
            "formats_available": available,
            "formats_processing": [f for f in requested if f not in available] if job["status"] in (QUEUED, PROCESSING)
            else [],
        },
        "quality_metrics": track["quality"] if track else None,
        **_group_fields(params),
    }
    if job["status"] == QUEUED:
        data["queue_position"] = services.system.queue_position(job["id"])
    if track is not None:
        data["track_id"] = track["id"]
        data["track_url"] = f"{PREFIX}/tracks/{track['id']}"
        data["preview_url"] = _preview_url(track["id"], files)
    elif job["status"] == COMPLETED and result.get("track_id"):
        data["track_id"] = result["track_id"]
        data["track_deleted"] = True
    if job["error"]:
        data["error"] = job["error"]
    if job["retry_of"]:
        data["retry_of"] = job["retry_of"]
    if params.get("webhook"):
        data["webhook"] = {**params["webhook"], "deliveries": services.webhooks.deliveries(job["id"])}
    return envelope(request, data, "Generation status retrieved successfully")


@routes.get(f"{PREFIX}/generations", summary="List generations", tags=TAGS, query=GenerationsQuery,
            response=GenerationListOut)
async def list_generations(request: web.Request, query: GenerationsQuery) -> web.Response:
    music = _music(request)
    total, jobs, summary = music.generation.list_generations(status=query.status, limit=query.limit, offset=query.offset,
                                                  sort_by=query.sort_by, descending=query.sort_order == "desc")
    items = []
    for job in jobs:
        params, result = job["params"] or {}, job["result"] or {}
        spec = params.get("spec") or {}
        files = result.get("files") or {}
        track_id = result.get("track_id")
        items.append({
            "generation_id": job["id"], "title": job["title"], "status": job["status"],
            "progress": round(job["progress"]),
            "duration": result.get("duration_s") if job["status"] == COMPLETED else spec.get("duration_s"),
            "genre": spec.get("genre"), "style": spec.get("style_name"), "mood": spec.get("mood"),
            "created_at": job["created_at"], "updated_at": job["updated_at"],
            "completed_at": job["finished_at"] if job["status"] == COMPLETED else None,
            "formats_available": _formats_available(files) if job["status"] == COMPLETED else [],
            "preview_url": _preview_url(track_id, files) if job["status"] == COMPLETED else None,
            "track_id": track_id, **_group_fields(params),
        })
    data = {"generations": items,
            "pagination": {"total": total, "limit": query.limit, "offset": query.offset,
                           "has_more": query.offset + len(items) < total},
            "summary": summary}
    return envelope(request, data, "Generations retrieved successfully")


@routes.post(f"{PREFIX}/generations/{{generation_id}}/cancel", summary="Cancel a queued or processing generation",
             tags=TAGS, response=CancelOut,
             responses={404: "No generation with that id",
                        409: "The generation has already finished (or finished before it could be cancelled)"})
async def cancel_generation(request: web.Request) -> web.Response:
    services = _services(request)
    generation_id = request.match_info["generation_id"]
    job = _generation_or_404(request, generation_id)
    previous = job["status"]
    try:
        data = services.system.cancel_job(generation_id)
    except JobStateError:
        raise ApiError(409, f"Generation '{generation_id}' is already {previous} and cannot be cancelled; only "
                            "queued or processing generations can be", code="GENERATION_NOT_CANCELLABLE",
                       details={"generation_id": generation_id, "status": previous}) from None
    if data["status"] != CANCELLED:  # running: the engine stops at its next check, within moments
        try:
            data = await services.system.wait_job(generation_id, timeout_s=5.0)
        except TimeoutError:
            data = services.system.get_job(generation_id)
    if data["status"] in (COMPLETED, FAILED):
        raise ApiError(409, f"Generation '{generation_id}' {data['status']} before it could be cancelled",
                       code="GENERATION_NOT_CANCELLABLE", details={"generation_id": generation_id, "status": data["status"]})
    cancelled = data["status"] == CANCELLED
    body = {"generation_id": generation_id, "previous_status": previous,
            "new_status": CANCELLED if cancelled else "cancelling",
            "cancelled_at": data["finished_at"] if cancelled else None,
            "credits_returned": float((job["params"] or {}).get("credits", 0.0)) if cancelled else 0.0}
    return envelope(request, body, "Generation cancelled successfully" if cancelled
                    else "Cancellation requested; the engine stops at its next step")


@routes.post(f"{PREFIX}/generations/{{generation_id}}/retry", summary="Retry a failed or cancelled generation",
             tags=TAGS, description="A new generation with the same resolved parameters (same seed, same audio).",
             response=RetryOut,
             responses={402: "Today's credit budget is spent (error_code 1001)", 404: "No generation with that id",
                        409: "The generation did not fail and was not cancelled"})
async def retry_generation(request: web.Request) -> web.Response:
    generation_id = request.match_info["generation_id"]
    _generation_or_404(request, generation_id)
    try:
        job = _music(request).generation.retry_generation(generation_id)
    except UnknownJob:
        raise not_found("generation", generation_id) from None
    except JobStateError as exc:
        raise ApiError(409, str(exc), code="GENERATION_NOT_RETRYABLE", details={"generation_id": generation_id}) from None
    except InsufficientCredits as exc:
        raise insufficient_credits(exc) from None
    except SingerError as exc:
        raise ApiError(exc.http_status, exc.message, details={"parameter": "parameters.character_id"}) from None
    body = {"original_generation_id": generation_id, "new_generation_id": job["id"], "status": job["status"],
            "queue_position": job["queue_position"], "estimated_completion_time": _eta(job["estimated_time_s"]),
            "status_url": f"{PREFIX}/generations/{job['id']}"}
    return envelope(request, body, "Generation retry queued successfully")


# --- 3. tracks ------------------------------------------------------------------------------------------------
def _describe_track_files(music, files: dict[str, Any]) -> dict[str, Any]:
    """Blocking (runs in a thread): facts read from every stored file, and the chord chart."""
    facts: dict[str, Any] = {}
    for key, value in files.items():
        if key == "stems":
            facts["stems"] = {}
            for name, media_id in value.items():
                try:
                    facts["stems"][name] = music.library.describe_media(media_id)
                except KeyError:
                    pass
        elif isinstance(value, str) and key in (*AUDIO_FORMATS, "midi"):
            try:
                facts[key] = music.library.describe_media(value)
            except KeyError:
                pass
    if files.get("chords"):
        try:
            path, _row = music.library.media_file(files["chords"])
            facts["chord_chart"] = json.loads(path.read_text(encoding="utf-8"))
        except (KeyError, OSError, ValueError):
            pass
    return facts


def _file_entry(fmt: str, url: str, info: dict[str, Any]) -> dict[str, Any]:
    entry = {"format": fmt, "url": url, "file_id": info["media_id"], "size_bytes": info["size_bytes"],
             "mime_type": info["mime_type"]}
    for key in ("bit_depth", "sample_rate", "channels", "duration", "bitrate_kbps", "codec", "track_count", "error"):
        if key in info:
            entry[key] = info[key]
    return entry


@routes.get(f"{PREFIX}/tracks/{{track_id}}", summary="A generated track: files, stems, lyrics, chords, metrics",
            tags=TAGS, description=("File sizes, sample rates, bit depths and durations are read from the stored "
                                    "files. Files are kept until the track is deleted (`expires_at` is null)."),
            response=TrackOut, responses={404: "No track with that id"})
async def get_track(request: web.Request) -> web.Response:
    music = _music(request)
    track_id = request.match_info["track_id"]
    track = _track_or_404(music, track_id)
    files = track["files_raw"]
    facts = await asyncio.to_thread(_describe_track_files, music, files)
    spec = track["spec"] or {}
    lyrics_options = spec.get("lyrics") or {}
    audio_files = [_file_entry(fmt, _track_url(track_id, fmt), facts[fmt]) for fmt in (*AUDIO_FORMATS, "midi")
                   if fmt in facts]
    stems = [{"stem_id": info["media_id"], "name": name.replace("_", " ").title(), "stem": name,
              **_file_entry("wav", _track_url(track_id, "wav", name), info)}
             for name, info in facts.get("stems", {}).items()]
    lyrics = None
    if track["lyrics"]:
        lyrics = {"text": track["lyrics"].get("text"), "formatted": track["lyrics"].get("formatted"),
                  "timestamps": track["lyrics"].get("timestamps", []), "language": lyrics_options.get("language", "en"),
                  "theme": lyrics_options.get("theme")}
        if files.get("lrc"):
            lyrics["lrc_url"] = _track_url(track_id, "lrc")
    chord_chart = None
    if "chord_chart" in facts:
        chart = facts["chord_chart"]
        chord_chart = {"url": _track_url(track_id, "chords"), "formats": ["json"] + (["txt"] if files.get("chords_txt") else []),
                       "urls": {"json": _track_url(track_id, "chords"),
                                **({"txt": _track_url(track_id, "chords_txt")} if files.get("chords_txt") else {})},
                       "key": chart.get("key"), "key_symbol": chart.get("key_symbol"), "tempo_bpm": chart.get("tempo_bpm"),
                       "time_signature": chart.get("time_signature"), "sections": chart.get("sections", [])}
    analysis = track["analysis"] or {}
    data = {
        "track_id": track_id, "generation_id": track["generation_id"], "title": track["title"],
        "description": track["description"],
        "metadata": {
            "genre": track["genre"], "subgenre": spec.get("style_name"), "style": track["style"], "mood": track["mood"],
            "tempo": track["tempo_bpm"], "key": track["key"], "duration": round(track["duration_s"], 3),
            "instrumental": track["instrumental"], "has_lyrics": bool(track["lyrics"]),
            "lyric_language": lyrics_options.get("language") if track["lyrics"] else None,
            "lyric_theme": lyrics_options.get("theme") if track["lyrics"] else None,
            "instruments": spec.get("instruments", []), "seed": track["seed"],
            "ai_model": DEFAULT_AI_MODEL,
        },
        "audio_files": audio_files,
        "stems": stems,
        "lyrics": lyrics,
        "chord_chart": chord_chart,
        "quality_metrics": track["quality"],
        "analysis": {"measured_tempo_bpm": (analysis.get("tempo") or {}).get("bpm"),
                     "measured_key": (analysis.get("key") or {}).get("key"),
                     "loudness_lufs": analysis.get("loudness_lufs"), "true_peak_dbtp": analysis.get("true_peak_dbtp"),
                     "dynamic_range_db": analysis.get("dynamic_range_db"),
                     "tags": analysis.get("tags", [])[:5],
                     "sections": [{"name": s.get("name") or s["label"].split()[0].lower(), "label": s["label"],
                                   "start_s": s["start_s"], "end_s": s.get("end_s"),
                                   "loudness_lufs": s.get("loudness_lufs"), "rms_dbfs": s.get("rms_dbfs"),
                                   "centroid_hz": s.get("centroid_hz")} for s in analysis.get("sections", [])],
                     "arrangement": analysis.get("arrangement")},
        "tags": track["tags"], "is_public": track["is_public"],
        "created_at": track["created_at"], "updated_at": track["updated_at"], "expires_at": None,
        "download_count": track["download_count"], "play_count": track["play_count"],
        "parent_track_id": track["parent_track_id"],
    }
    if track["generation_id"]:
        try:
            params = _services(request).system.get_job(track["generation_id"])["params"] or {}
            data["metadata"]["ai_model"] = params.get("ai_model", DEFAULT_AI_MODEL)
        except UnknownJob:
            pass
    return envelope(request, data, "Track details retrieved successfully")


@routes.get(f"{PREFIX}/tracks/{{track_id}}/download", summary="Download a track's file or stem", tags=TAGS,
            query=DownloadQuery, description="Streams the file (Range requests work). 404 when the track was not "
                                             "rendered in that format; the message lists the formats it has.",
            media=TRACK_MEDIA,
            responses={**FILE_STATUSES, 404: "No track with that id, or a format/stem it was not rendered in",
                       422: "Invalid format or stem name"})
async def download_track(request: web.Request, query: DownloadQuery) -> web.StreamResponse:
    music = _music(request)
    track_id = request.match_info["track_id"]
    track = _track_or_404(music, track_id)
    files = track["files_raw"]
    formats = [f for f in DOWNLOAD_FORMATS if files.get(DOWNLOAD_FORMATS[f])]
    if query.stem is not None:
        stems = files.get("stems") or {}
        if query.stem not in stems:
            have = ", ".join(sorted(stems)) or "none (it was rendered without 'stems' in output_formats)"
            raise ApiError(404, f"Track '{track_id}' has no stem '{query.stem}'; stems: {have}",
                           details={"track_id": track_id, "stem": query.stem, "available_stems": sorted(stems)})
        if query.format not in (None, "wav"):
            raise ApiError(404, f"Stems exist only as WAV; ask for format=wav (not {query.format})",
                           details={"track_id": track_id, "stem": query.stem, "available_formats": ["wav"]})
        media_id = stems[query.stem]
    else:
        fmt = query.format or next((f for f in ("wav", "mp3", "flac", "ogg") if files.get(f)), None)
        if fmt in CONVERTIBLE_AUDIO and not files.get(fmt):
            try:  # an audio format it was not rendered in: encoded from the master once, then kept
                files = {**files, fmt: await music.library.ensure_audio_format(track_id, fmt)}
            except FormatUnavailable:
                pass
            except UnknownTrack:
                raise not_found("track", track_id) from None
        if fmt is None or not files.get(DOWNLOAD_FORMATS[fmt]):
            raise ApiError(404, f"Track '{track_id}' was not rendered as {fmt or 'audio'}; available formats: "
                                f"{', '.join(formats) or 'none'}",
                           details={"track_id": track_id, "format": fmt, "available_formats": formats})
        media_id = files[DOWNLOAD_FORMATS[fmt]]
    try:
        path, row = music.library.media_file(media_id)
    except KeyError:
        raise not_found("file", media_id) from None
    if request.headers.get("Range") is None:
        music.library.count_download(track_id)
    return file_response(path, row)


@routes.delete(f"{PREFIX}/tracks/{{track_id}}", summary="Delete a track and all its files", tags=TAGS,
               response=TrackDeletedOut, responses={404: "No track with that id"})
async def delete_track(request: web.Request) -> web.Response:
    music = _music(request)
    track_id = request.match_info["track_id"]
    try:
        deleted = music.library.delete_track(track_id)
    except UnknownTrack:
        raise not_found("track", track_id) from None
    body = {"track_id": track_id, "deleted": True, "deleted_at": iso(utcnow()), "files_deleted": deleted}
    return envelope(request, body, "Track deleted successfully")


@routes.patch(f"{PREFIX}/tracks/{{track_id}}", summary="Update a track's title, description, tags, visibility",
              tags=TAGS, body=TrackPatchIn, response=TrackUpdatedOut,
              responses={404: "No track with that id", 422: "Invalid or empty update"})
async def update_track(request: web.Request, body: TrackPatchIn) -> web.Response:
    music = _music(request)
    track_id = request.match_info["track_id"]
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise ApiError(422, "Nothing to update: send at least one of title, description, tags, is_public",
                       details={"parameter": "body", "allowed": ["title", "description", "tags", "is_public"]})
    try:
        track = music.library.update_track(track_id, changes)
    except UnknownTrack:
        raise not_found("track", track_id) from None
    body_out = {"track_id": track_id, "updated_fields": list(changes), "updated_at": track["updated_at"],
                "track": {"title": track["title"], "description": track["description"], "tags": track["tags"],
                          "is_public": track["is_public"]}}
    return envelope(request, body_out, "Track metadata updated successfully")


# --- 4. templates ----------------------------------------------------------------------------------------------
def _template_summary(services, template, usage: dict[str, dict[str, Any]]) -> dict[str, Any]:
    used = usage.get(template.id) or {}
    preview = None
    files = used.get("latest_files") or {}
    track_id = used.get("latest_track_id")
    for fmt in ("mp3", "ogg", "wav", "flac"):
        if track_id and files.get(fmt) and services.music.library.media_exists(files[fmt]):
            preview = _track_url(track_id, fmt)
            break
    return {"template_id": template.id, "name": template.name, "description": template.description,
            "category": template.category, "subcategory": template.subcategory,
            "style": services.music.templates.style(template).id, "ai_model": template.ai_model,
            "has_lyrics": template.has_lyrics, "tags": template.tags,
            "usage_count": used.get("generations", 0), "preview_url": preview}


def _models() -> list[dict[str, Any]]:
    return [{"id": name, **info, "default": name == DEFAULT_AI_MODEL} for name, info in AI_MODELS.items()]


@routes.get(f"{PREFIX}/templates", summary="List generation templates", tags=TAGS, query=TemplatesQuery,
            description=(f"Filters combine. `ai_model`: one of {MODELS_DOC}. `usage_count` counts the generations "
                         "started from a template here; `preview_url` is the newest track made from it, if any."),
            response=TemplateListOut)
async def list_templates(request: web.Request, query: TemplatesQuery) -> web.Response:
    services = _services(request)
    found = services.music.templates.search(category=query.category, subcategory=query.subcategory, search=query.search,
                                 ai_model=query.ai_model, has_lyrics=query.has_lyrics)
    usage = services.music.templates.usage()
    data = {"templates": [_template_summary(services, t, usage) for t in found],
            "categories": services.music.templates.categories(), "total_templates": len(found),
            "all_templates": len(services.music.templates.templates), "ai_models": _models()}
    return envelope(request, data, "Templates retrieved successfully")


@routes.get(f"{PREFIX}/templates/{{template_id}}", summary="A template's details and parameters", tags=TAGS,
            response=TemplateOut, responses={404: "No template with that id"})
async def get_template(request: web.Request) -> web.Response:
    services = _services(request)
    template_id = request.match_info["template_id"]
    try:
        template = services.music.templates.get(template_id)
    except UnknownTemplate:
        raise not_found("template", template_id) from None
    usage = services.music.templates.usage()
    data = _template_summary(services, template, usage)
    resolved = services.music.templates.resolved(template)
    style = services.music.templates.style(template)
    used = usage.get(template.id) or {}
    data.update({
        "parameters": template.parameters,
        "resolved_defaults": {"style": resolved.style, "style_name": resolved.style_name, "genre": resolved.genre,
                              "mood": resolved.mood, "tempo": resolved.tempo_bpm, "key": resolved.key,
                              "duration": resolved.duration_s, "instrumental": resolved.instrumental,
                              "instruments": resolved.instruments, "complexity": resolved.complexity,
                              "creativity": resolved.creativity, "lyrics": resolved.lyrics.model_dump() if resolved.lyrics else None},
        "style_info": {"name": style.name, "tempo_range": [style.tempo_bpm[0], style.tempo_bpm[2]],
                       "default_tempo": style.tempo_bpm[1], "time_signature": f"{style.meter[0]}/{style.meter[1]}",
                       "modes": style.modes, "song_form": style.form},
        "customizable_parameters": sorted(f.alias or name for name, f in AiParameters.model_fields.items()),
        "usage": {"generations": used.get("generations", 0), "completed": used.get("completed", 0),
                  "latest_generation_id": used.get("latest_generation_id")},
        "example_request": {"template_id": template.id,
                            "customizations": {"tempo": resolved.tempo_bpm, "duration": 120},
                            "metadata": {"title": f"My {template.name}"}},
        "ai_model_info": {"id": template.ai_model, **AI_MODELS[template.ai_model]},
    })
    return envelope(request, data, "Template retrieved successfully")


# --- webhooks -------------------------------------------------------------------------------------------------
@routes.get(f"{PREFIX}/webhooks/secret", summary="The webhook signing secret and how to verify a delivery",
            tags=TAGS, admin=True, response=WebhookSecretOut, responses={403: "Needs an admin key"})
async def webhook_secret(request: web.Request) -> web.Response:
    hooks = _services(request).webhooks
    data = {"secret": hooks.secret, "algorithm": "HMAC-SHA256", "header": SIGNATURE_HEADER,
            "signature_format": "sha256=<hex HMAC-SHA256 of the raw request body, keyed with the secret>",
            "events": list(WEBHOOK_EVENTS), "retry_delays_s": list(hooks.retry_delays_s),
            "rotate": "delete the file webhook_secret in the data dir; a new one is made on the next delivery"}
    return envelope(request, data, "Webhook secret retrieved successfully")
