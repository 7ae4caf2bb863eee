"""Seed 000 "Core Music Generation API": /api/music/... (the `{"status": ...}` family).

Every handler is a thin shell over the music service (`services.music`: generation, library,
batches, credits, statistics); the GUI's Create and Library panels use the same service.
"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from studio.jobs import UnknownJob
from studio.server.downloads import file_response
from studio.server.errors import ApiError, insufficient_credits, not_found, ok
from studio.server.keys import SERVICES
from studio.server.routing import MAX_OFFSET, RouteTable, validation_error
from studio.server.schemas.music import (
    AnalyticsOut,
    CreditsOut,
    MusicBatchOut,
    MusicExtendOut,
    MusicGenerateOut,
    MusicListOut,
    MusicStatusOut,
)
from studio.services.music.catalogue import MAX_DURATION_S
from studio.services.music.common import (
    CONVERTIBLE_AUDIO,
    GENERATE_KIND,
    FormatUnavailable,
    InsufficientCredits,
    LEAD_INSTRUMENT,
    SingerError,
    UnknownTrack,
)
from studio.services.music.statistics import parse_period_days

routes = RouteTable()
TAGS = ["music"]
SUBMIT_STATUSES = {402: "Today's credit budget is spent (error_code 1001)",
                   404: "The character_id or voice names no character or voice",
                   409: "The voice named is not ready (still being matched, or failed)",
                   422: "Invalid parameter; the message names the field and what to fix"}
# A file download: FileResponse answers these besides 200 (Range, If-None-Match, If-Modified-Since, If-Match)
FILE_STATUSES = {200: "The file", 206: "Part of the file (a Range request)",
                 304: "Not modified since the copy the client has",
                 412: "A precondition (If-Match, If-Unmodified-Since) failed",
                 416: "The Range asked for lies outside the file"}


def _music(request: web.Request):
    return request.app[SERVICES].music


# How a request picks who sings (studio/engine/composition/singers.py makes the choice)
SINGER_DOC = (f"\"{LEAD_INSTRUMENT}\": a lead instrument plays the vocal melody. Left out, a sung track's singer "
              "is inferred (a character named in the prompt, female/male voice words, rap words) or is the "
              "style's default character; resolved_spec.sources.singer says who and why.")

class MusicGenerateIn(BaseModel):
    """A generation request: a prompt and/or the fields it should use (fields win over the prompt in
    custom/auto mode)."""

    model_config = ConfigDict(extra="forbid")
    prompt: str | None = Field(default=None, max_length=1000)
    style: str | None = Field(default=None, max_length=60, description="A style or genre, e.g. 'lo-fi hip hop'.")
    duration: float = Field(default=60, ge=1, le=MAX_DURATION_S, description="Seconds.")
    mode: Literal["simple", "custom", "auto"] = Field(
        default="custom", description="simple: the prompt decides everything; custom/auto: fields win over the prompt.")
    lyrics: str | None = Field(default=None, max_length=5000, description="Lyrics to sing, used as given.")
    instrumental: bool | None = None
    tags: list[str] = Field(default_factory=list, max_length=20)
    mood: str | None = None
    tempo: float | None = Field(default=None, ge=40, le=240)
    key: str | None = Field(default=None, description="Like 'C_minor', 'F#_major' or 'Eb minor'.")
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    output_formats: list[str] | None = Field(
        default=None, description="Any of wav, mp3, flac, ogg, midi (or mid), stems, lyrics, lrc, lyrics_json, chords "
                                  "(default: wav, mp3, midi, stems, lyrics, chords).")
    audio_quality: Literal["draft", "standard", "high"] | None = None
    character_id: str | None = Field(default=None, max_length=64,
                                     description=f"A voice character sings the lyrics (GET /api/voice/characters); {SINGER_DOC}")
    voice: str | None = Field(default=None, max_length=64,
                              description="A matched voice (voice_id from GET /api/voice/list) sings the lyrics.")


def engine_fields(body: MusicGenerateIn) -> dict[str, Any]:
    fields: dict[str, Any] = {"prompt": body.prompt, "duration": body.duration, "tags": body.tags}
    if body.mode != "simple":
        for name in ("style", "mood", "tempo", "key", "instrumental", "audio_quality"):
            value = getattr(body, name)
            if value is not None:
                fields[name] = value
    elif body.instrumental is not None:
        fields["instrumental"] = body.instrumental
    if body.seed is not None:
        fields["seed"] = body.seed
    fields["output_formats"] = body.output_formats or ["wav", "mp3", "midi", "stems", "lyrics", "chords"]
    if body.lyrics:
        fields["lyrics"] = {"enabled": True, "text": body.lyrics}
        fields.setdefault("instrumental", False)
    if body.character_id or body.voice:
        fields["singer"] = {"character_id": body.character_id, "voice_id": body.voice}
    return fields


def submit_or_raise(music, fields: dict[str, Any], *, source: str, where: str = "body", title: str | None = None,
                    extra: dict | None = None) -> dict[str, Any]:
    """Submit a generation, turning bad fields into 422 and an empty budget into 402/1001."""
    try:
        return music.generation.submit_generation(fields, source=source, title=title, extra=extra)
    except ValidationError as exc:
        raise validation_error(exc, where) from None
    except InsufficientCredits as exc:
        raise insufficient_credits(exc) from None
    except SingerError as exc:
        raise ApiError(exc.http_status, exc.message, details={"parameter": "character_id"}) from None


# Stored files are audio, MIDI, lyrics (LRC text, JSON), chord charts (JSON, text), scores (JSON) and
# analysis spectrograms (PNG): the row's type is sent
DOWNLOAD_MEDIA = {"audio/mpeg": "binary", "audio/wav": "binary", "audio/flac": "binary", "audio/ogg": "binary",
                  "audio/midi": "binary", "text/plain": "text", "application/json": "binary", "image/png": "binary"}


def download_url(file_id: str) -> str:
    return f"/api/music/download/{file_id}"


def _status_body(services, job: dict[str, Any]) -> dict[str, Any]:
    music = services.music
    body: dict[str, Any] = {
        "status": job["status"], "generation_id": job["id"], "progress": round(job["progress"]),
        "stage": job["stage"], "created_at": job["created_at"],
    }
    if job["status"] in ("queued", "processing"):
        body["queue_position"] = services.system.queue_position(job["id"])
        body["estimated_time_remaining"] = music.statistics.estimate_remaining_s(job)
    if job["status"] == "failed":
        body["error"] = job["error"]
    track = music.library.track_for_generation(job["id"]) if job["status"] == "completed" else None
    if track is not None:
        files = track["files_raw"]
        audio = files.get("mp3") or files.get("wav") or files.get("flac") or files.get("ogg")
        if audio:
            body["audio_url"] = download_url(audio)
            body["file_size"] = music.library.media_file(audio)[1]["size_bytes"]
        if files.get("mp4"):
            body["video_url"] = download_url(files["mp4"])
        body["files"] = {k: download_url(v) for k, v in files.items() if isinstance(v, str) and k != "score"}
        if files.get("stems"):
            body["stems"] = {k: download_url(v) for k, v in files["stems"].items()}
        body["track_id"] = track["id"]
        body["duration"] = round(track["duration_s"], 2)
        body["metadata"] = {"title": track["title"], "artist": "Studio", "genre": track["spec"]["style_name"],
                            "bpm": track["tempo_bpm"], "key": track["key"], "mood": track["mood"],
                            "estimated_bpm": track["analysis"].get("tempo", {}).get("bpm"),
                            "estimated_key": track["analysis"].get("key", {}).get("key"),
                            "tags": [t["tag"] for t in track["analysis"].get("tags", [])[:5]]}
    return body


def _job_or_404(request: web.Request, generation_id: str) -> dict[str, Any]:
    try:
        job = request.app[SERVICES].system.get_job(generation_id)
    except UnknownJob:
        raise not_found("generation", generation_id) from None
    if job["kind"] != GENERATE_KIND:
        raise not_found("generation", generation_id)
    return job


@routes.post("/api/music/generate", summary="Generate music from a prompt and/or parameters", tags=TAGS,
             body=MusicGenerateIn, response=MusicGenerateOut, responses=SUBMIT_STATUSES)
async def generate(request: web.Request, body: MusicGenerateIn) -> web.Response:
    music = _music(request)
    job = submit_or_raise(music, engine_fields(body), source="api", extra={"prompt": body.prompt})
    return ok({"generation_id": job["id"], "estimated_time": job["estimated_time_s"],
               "credits_used": job["credits_used"], "queue_position": job["queue_position"],
               "webhook_url": f"/api/music/status/{job['id']}", "resolved_spec": job["resolved_spec"],
               "estimate_basis": music.statistics.estimate_basis()})


@routes.get("/api/music/status/{generation_id}", summary="Progress and result of a generation", tags=TAGS,
            response=MusicStatusOut, responses={404: "No generation with that id"})
async def status(request: web.Request) -> web.Response:
    job = _job_or_404(request, request.match_info["generation_id"])
    return web.json_response(_status_body(request.app[SERVICES], job))


@routes.get("/api/music/download/{file_id}", summary="Download a generated file (Range supported)", tags=TAGS,
            description=("file_id as given in status/list responses, e.g. gen_x.mp3, gen_x.wav, gen_x.mid, "
                         "gen_x.drums.wav. An audio format the track was not rendered in (gen_x.flac, gen_x.ogg) is "
                         "encoded from its master on the first request, then kept."),
            media=DOWNLOAD_MEDIA, responses={**FILE_STATUSES, 404: "No file with that id"})
async def download(request: web.Request) -> web.StreamResponse:
    file_id = request.match_info["file_id"]
    library = _music(request).library
    generation_id, _, fmt = file_id.rpartition(".")
    if fmt in CONVERTIBLE_AUDIO and generation_id.startswith("gen_") and "." not in generation_id:
        # gen_x.flac of a track rendered without FLAC: encoded from its master once, then kept
        track = library.track_for_generation(generation_id)
        if track is not None:
            try:
                file_id = await library.ensure_audio_format(track["id"], fmt)
            except (FormatUnavailable, UnknownTrack):
                pass
    try:
        path, row = library.media_file(file_id)
    except KeyError:
        raise not_found("file", file_id) from None
    if row["job_id"]:
        track = library.track_for_generation(row["job_id"])
        if track is not None and request.headers.get("Range") is None:
            library.count_download(track["id"])
    return file_response(path, row)


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page: int = Field(default=1, ge=1, le=MAX_OFFSET)
    limit: int = Field(default=20, ge=1, le=100)
    status: Literal["queued", "processing", "completed", "failed", "cancelled"] | None = None


@routes.get("/api/music/list", summary="List generations, newest first", tags=TAGS, query=ListQuery,
            response=MusicListOut)
async def list_generations(request: web.Request, query: ListQuery) -> web.Response:
    total, jobs = request.app[SERVICES].system.list_jobs(kind=GENERATE_KIND, status=query.status, limit=query.limit,
                                             offset=(query.page - 1) * query.limit)
    items = []
    for job in jobs:
        item = {"id": job["id"], "prompt": (job["params"] or {}).get("prompt") or job["title"], "title": job["title"],
                "status": job["status"], "progress": round(job["progress"]), "created_at": job["created_at"],
                "duration": (job["result"] or {}).get("duration_s")}
        files = (job["result"] or {}).get("files") or {}
        audio = files.get("mp3") or files.get("wav")
        if audio:
            item["download_url"] = download_url(audio)
            item["track_id"] = job["result"].get("track_id")
        items.append(item)
    return ok({"total": total, "page": query.page, "limit": query.limit, "generations": items})


class ExtendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    audio_id: str = Field(description="A generation id (gen_...), a track id (trk_...) or a file id (gen_....mp3).")
    additional_duration: float = Field(ge=1, le=MAX_DURATION_S, description="Seconds to add.")
    continue_style: bool = Field(default=True, description="Keep key, tempo and style (the only mode there is).")
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    character_id: str | None = Field(default=None, min_length=1, max_length=64,
                                     description="Who sings the extension (a voice character's id, or 'instrument' "
                                                 "for the lead instrument); absent: whoever sang the track.")
    voice_id: str | None = Field(default=None, min_length=1, max_length=64,
                                 description="A matched voice to sing the extension with.")


def resolve_track_id(library, audio_id: str) -> str:
    """A track id from a track id, generation id or file id; 404 otherwise."""
    if audio_id.startswith("trk_"):
        try:
            return library.track_row(audio_id)["id"]
        except UnknownTrack:
            raise not_found("track", audio_id) from None
    generation_id = audio_id.split(".", 1)[0]
    track = library.track_for_generation(generation_id)
    if track is None:
        raise not_found("audio", audio_id)
    return track["id"]


@routes.post("/api/music/extend", summary="Continue a generated track", tags=TAGS, body=ExtendIn,
             response=MusicExtendOut,
             responses={402: "Today's credit budget is spent (error_code 1001)",
                        404: "audio_id names no generation, track or file, or character_id/voice_id no singer",
                        409: "The matched voice named is not ready (still matching, or failed)",
                        422: "Invalid parameter: continue_style=false, a track that cannot be extended (no stored "
                             "score), a length past the longest track, or a singer for an instrumental track"})
async def extend(request: web.Request, body: ExtendIn) -> web.Response:
    music = _music(request)
    if not body.continue_style:
        raise ApiError(422, "continue_style=false is not supported: an extension always keeps the track's key, "
                            "tempo and style; generate a new track for something different",
                       details={"parameter": "continue_style"})
    track_id = resolve_track_id(music.library, body.audio_id)
    try:
        singer = ({"character_id": body.character_id, "voice_id": body.voice_id}
                  if body.character_id or body.voice_id else None)
        job = music.generation.submit_extend(track_id, body.additional_duration, seed=body.seed, singer=singer)
    except SingerError as exc:
        raise ApiError(exc.http_status, exc.message, details={"parameter": "character_id"}) from None
    except ValueError as exc:
        parameter = "character_id" if "instrumental" in str(exc) else "additional_duration"
        raise ApiError(422, str(exc), details={"parameter": parameter}) from None
    except InsufficientCredits as exc:
        raise insufficient_credits(exc) from None
    return ok({"extend_id": job["id"], "generation_id": job["id"], "estimated_time": job["estimated_time_s"],
               "credits_used": job["credits_used"], "queue_position": job["queue_position"]}, status="processing")


class BatchItem(MusicGenerateIn):
    pass


class MusicBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    generations: list[BatchItem] = Field(min_length=1, max_length=50)


@routes.post("/api/music/batch", summary="Queue several generations at once", tags=TAGS, body=MusicBatchIn,
             response=MusicBatchOut, responses=SUBMIT_STATUSES)
async def batch(request: web.Request, body: MusicBatchIn) -> web.Response:
    # One batch through the service: validated and paid for whole (queued entirely or not at all),
    # its group recorded with every generation.
    items = [{"fields": engine_fields(item), "extra": {"prompt": item.prompt}} for item in body.generations]
    try:
        batch = _music(request).batches.submit_batch(items, concurrency=len(items), notify_when_all_complete=False)
    except SingerError as exc:
        raise ApiError(exc.http_status, exc.message, details={"parameter": "character_id"}) from None
    except ValidationError as exc:
        raise validation_error(exc, f"generations.{getattr(exc, 'batch_index', 0)}") from None
    except InsufficientCredits as exc:
        raise insufficient_credits(exc) from None
    jobs = batch["jobs"]
    estimated = max(job["estimated_time_s"] for job in jobs)
    return ok({"batch_id": batch["batch_id"], "total_generations": len(jobs), "estimated_time": estimated,
               "generation_ids": [job["id"] for job in jobs], "credits_used": batch["credits_used"]},
              status="processing")


@routes.get("/api/music/credits", summary="Local compute budget: balance and today's use", tags=TAGS,
            response=CreditsOut,
            description=("Credits are numbers: `credits` is what is left of today's allowance (`daily_allowance`, "
                         "set in Settings as 'Credits per day'). With no allowance set, generations are unlimited: "
                         "`unlimited` is true and `credits` and `daily_allowance` are null. A generation costs "
                         "`credits_per_minute` per minute of requested audio; failed and cancelled ones give their "
                         "credits back."))
async def credits(request: web.Request) -> web.Response:
    return ok(_music(request).credits.summary())


MAX_PERIOD_DAYS = 36500


class AnalyticsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(default="30d", pattern=r"^\s*[0-9]+[hdwmyHDWMY]\s*$",
                        description="A number and a unit: h (hours, rounded up to a day), d, w, m (30 days) or "
                                    "y, e.g. 7d, 30d, 12w, 1y")


@routes.get("/api/music/analytics", summary="Generation totals for a period, from the database", tags=TAGS,
            query=AnalyticsQuery, response=AnalyticsOut)
async def analytics(request: web.Request, query: AnalyticsQuery) -> web.Response:
    try:
        days = parse_period_days(query.period)
    except ValueError as exc:
        raise ApiError(422, str(exc), details={"parameter": "period", "value": query.period}) from None
    # a period past year 1 (e.g. 10000y) overflowed the date arithmetic (a 500); a century covers every generation
    days = min(days, MAX_PERIOD_DAYS)
    return ok({"period": query.period, **_music(request).statistics.analytics(days)})
