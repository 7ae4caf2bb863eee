"""Seed 004 "music genre classification" API under /api/v1/ (the `{success, data, message,
timestamp, request_id}` envelope; errors `{success: false, error: {code, message, details}}`).

Thin shells over `AnalysisService` and its parts (models, predictions, batches, records, stats);
the Analyze panel uses the same service:

    POST /api/v1/predict              multipart `file` -> genre, confidence, all_probabilities, moods, tags,
                                      tempo_bpm, key, processing_time_ms, model_version, spectrogram_url
    POST /api/v1/batch-predict        multipart `files[]` (+ `webhook_url`) -> 202 batch_id, status_url
    GET  /api/v1/batch/{batch_id}     the batch and each file's prediction
    GET  /api/v1/prediction/{id}      a prediction and its state (queued, processing, converting,
                                      predicting, completed, failed)
    GET  /api/v1/spectrograms/{id}.png  the log-mel spectrogram the model saw
    GET  /api/v1/genres               the genre set and the model tags each genre aggregates (public)
    GET  /api/v1/health               database, model, storage and queue checks; 503 "degraded" (public)
    GET  /api/v1/history, /stats      stored predictions and figures computed from them
    GET  /api/v1/models, POST /api/v1/models/deploy, GET /api/v1/metrics   admin only

Errors: INVALID_FILE_FORMAT (details list the supported formats), FILE_TOO_LARGE, CORRUPT_AUDIO,
AUDIO_TOO_LONG, MISSING_PARAMETER, INVALID_PARAMETER (400); MODEL_UNAVAILABLE (503);
MODEL_INFERENCE_FAILED (500, after 3 attempts). `/api/v1/health` and `/api/v1/metrics` are also
the paths seed 003 names for its health and metrics: health answers in seed 004's shape,
metrics in JSON or, with `?format=prometheus`, the studio's Prometheus exposition (the same text as
`GET /metrics`, made by the system service).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from studio.server import multipart
from studio.server.errors import ApiError, envelope, not_found
from studio.server.keys import SERVICES, REQUEST_ID
from studio.server.routing import MAX_OFFSET, RouteTable
from studio.server.schemas.analysis import (
    AnalysisBatch,
    AnalysisBatchAccepted,
    AnalysisDeployed,
    AnalysisGenres,
    AnalysisHealth,
    AnalysisHistory,
    AnalysisMetrics,
    AnalysisModels,
    AnalysisPrediction,
    AnalysisPredictionDetail,
    AnalysisStats,
)
from studio.services.analysis import (
    MAX_BATCH_FILES,
    STATES,
    AnalysisError,
    AnalysisService,
    FileTooLarge,
    MissingParameter,
    UnknownBatch,
    UnknownPrediction,
)
from studio.timeutil import now_iso

routes = RouteTable()
TAGS = ["analysis"]
PREFIX = "/api/v1"
UPLOAD_ERRORS = ("INVALID_FILE_FORMAT (details list the supported formats), FILE_TOO_LARGE, CORRUPT_AUDIO, "
                 "AUDIO_TOO_LONG or MISSING_PARAMETER (no file, or not a multipart form)")
MODEL_UNAVAILABLE = "MODEL_UNAVAILABLE: the active analysis model cannot be loaded (its weights are missing or broken)"


def _analysis(request: web.Request) -> AnalysisService:
    return request.app[SERVICES].analysis


def api_error(exc: AnalysisError) -> ApiError:
    return ApiError(exc.http_status, exc.message, code=exc.code, details=exc.details, extra=exc.extra)


async def read_form(request: web.Request, file_fields: tuple[str, ...], limit: int) -> tuple[list[tuple[bytes, str]], dict[str, str]]:
    """The multipart form, with seed 004's error codes (FILE_TOO_LARGE, MISSING_PARAMETER)."""
    try:
        return await multipart.read_form(request, file_fields, limit)
    except multipart.FileTooLargeError as exc:
        raise FileTooLarge(exc.message, details=exc.details) from None
    except multipart.FormError as exc:
        raise MissingParameter(exc.message, details=exc.details) from None


def _payload(prediction: dict[str, Any]) -> dict[str, Any]:
    """A prediction as the seed shows it (its own fields first), everything else after."""
    keys = ("prediction_id", "status", "genre", "confidence", "all_probabilities", "moods", "tags", "tempo_bpm",
            "key", "loudness_lufs", "duration_s", "processing_time_ms", "model_version", "spectrogram_url")
    out = {k: prediction.get(k) for k in keys}
    out.update({k: v for k, v in prediction.items() if k not in out})
    return out


# --- predictions ------------------------------------------------------------------------------------
@routes.post(f"{PREFIX}/predict", summary="Predict the genre (and moods, tags, tempo, key) of an audio file",
             tags=TAGS, form={"file": "file"},
             description="Multipart field `file`: MP3, WAV, FLAC or OGG, up to 50 MB and 20 minutes. Answers when the "
                         "analysis is done. `all_probabilities` are over the genre set of GET /api/v1/genres.",
             response=AnalysisPrediction,
             responses={400: f"The file cannot be analysed: {UPLOAD_ERRORS}, or more than one file",
                        500: "MODEL_INFERENCE_FAILED: the analysis failed 3 times in a row (error.prediction_id names "
                             "the failed prediction)",
                        503: MODEL_UNAVAILABLE})
async def predict(request: web.Request) -> web.Response:
    service = _analysis(request)
    try:
        files, _fields = await read_form(request, ("file",), service.predictions.max_file_bytes)
        if not files:
            raise MissingParameter("missing parameter 'file': send the audio file as the multipart field 'file'",
                                   details={"parameter": "file"})
        if len(files) > 1:
            raise MissingParameter("send one file as 'file' (use POST /api/v1/batch-predict for several)",
                                   details={"parameter": "file"})
        data, filename = files[0]
        prediction = await service.predictions.predict_upload(data, filename, source="api")
    except AnalysisError as exc:
        raise api_error(exc) from None
    return envelope(request, _payload(prediction), "Prediction completed")


@routes.post(f"{PREFIX}/batch-predict", summary="Queue several audio files for prediction", tags=TAGS,
             form={"files[]": "files", "webhook_url": "string"},
             description=f"Multipart fields `files[]` (1-{MAX_BATCH_FILES} audio files; `files` is accepted too) and an "
                         "optional `webhook_url` that receives a signed POST `{event: batch.completed, batch_id, status, "
                         "results: [{file, genre, confidence}], completed_at}` when the batch is done (signed like every studio webhook; retried 3 times, after 1, 5 and 25 s). "
                         "Every file's format and size is checked first; one bad file rejects the batch.",
             response=AnalysisBatchAccepted,
             responses={202: "Batch accepted: follow it at status_url",
                        400: f"A file cannot be analysed ({UPLOAD_ERRORS}; details.files lists each bad file), no "
                             f"file, more than {MAX_BATCH_FILES} files (INVALID_PARAMETER), or a webhook_url that is "
                             "not an http(s) URL or names an address that is not called (INVALID_PARAMETER)",
                        503: MODEL_UNAVAILABLE})
async def batch_predict(request: web.Request) -> web.Response:
    service = _analysis(request)
    try:
        files, fields = await read_form(request, ("files[]", "files", "file"), service.predictions.max_file_bytes)
        webhook = (fields.get("webhook_url") or "").strip() or None
        staged = await asyncio.to_thread(service.batches.stage, files, webhook_url=webhook)  # writes the uploads
        batch = service.batches.submit_staged(staged, webhook_url=webhook, source="api")
    except AnalysisError as exc:
        raise api_error(exc) from None
    data = {"batch_id": batch["batch_id"], "status": batch["status"], "total_files": batch["total_files"],
            "estimated_time_seconds": batch["estimated_time_seconds"], "status_url": batch["status_url"],
            "webhook_url": batch["webhook_url"]}
    return envelope(request, data, "Batch accepted", http_status=202)


@routes.get(f"{PREFIX}/batch/{{batch_id}}", summary="A batch's state and each file's prediction", tags=TAGS,
            response=AnalysisBatch, responses={404: "No batch with that id"})
async def batch_status(request: web.Request) -> web.Response:
    batch_id = request.match_info["batch_id"]
    try:
        batch = _analysis(request).batches.get(batch_id)
    except UnknownBatch:
        raise not_found("batch", batch_id) from None
    batch["results"] = [_payload(r) for r in batch["results"]]
    return envelope(request, batch)


@routes.get(f"{PREFIX}/prediction/{{prediction_id}}", summary="A prediction: its state and result", tags=TAGS,
            description=f"status: {', '.join(STATES)}. Failed predictions carry `error` {{code, message}}.",
            response=AnalysisPredictionDetail, responses={404: "No prediction with that id"})
async def prediction_status(request: web.Request) -> web.Response:
    prediction_id = request.match_info["prediction_id"]
    try:
        prediction = _analysis(request).records.prediction_details(prediction_id)
    except UnknownPrediction:
        raise not_found("prediction", prediction_id) from None
    return envelope(request, _payload(prediction))


@routes.get(f"{PREFIX}/spectrograms/{{prediction_id}}.png", summary="The log-mel spectrogram of a prediction (PNG)",
            tags=TAGS, media={"image/png": "binary"},
            responses={404: "No prediction with that id, or it has no spectrogram (not completed)"})
async def spectrogram(request: web.Request) -> web.StreamResponse:
    prediction_id = request.match_info["prediction_id"]
    try:
        path = _analysis(request).records.spectrogram_path(prediction_id)
    except UnknownPrediction:
        raise not_found("spectrogram", prediction_id) from None
    return web.FileResponse(path, headers={"Content-Type": "image/png", "Cache-Control": "private, max-age=86400"})


# --- catalogue and figures ---------------------------------------------------------------------------
@routes.get(f"{PREFIX}/genres", summary="The genres a prediction can name", tags=TAGS, public=True,
            response=AnalysisGenres)
async def genres(request: web.Request) -> web.Response:
    return envelope(request, _analysis(request).models.genres())


@routes.get(f"{PREFIX}/health", summary="Health: database, model, storage and queue checks", tags=TAGS, public=True,
            description="200 {status: healthy} when every component is up, else 503 {status: degraded}. Also "
                        "a `services` map (healthy, degraded, unhealthy or not_configured per service: "
                        "database, storage, disk_space, memory, job_queue, ml_pipeline, connectors) and `uptime` "
                        "(seconds), from the same checks as GET /api/health. The 503 body is the same health report "
                        "(status degraded), not an error.",
            response=AnalysisHealth, wrap=False,
            responses={503: ("Degraded: a component is down; the body is the same health report", AnalysisHealth)})
async def health(request: web.Request) -> web.Response:
    report = await asyncio.to_thread(_analysis(request).stats.health)  # loads the model the first time
    monitoring = request.app[SERVICES].system.monitoring
    report.update(await asyncio.to_thread(monitoring.health_services, report["components"]))
    report["request_id"] = request.get(REQUEST_ID, "")
    return web.json_response(report, status=200 if report["status"] == "healthy" else 503)


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    genre: str | None = Field(default=None, max_length=32)
    status: Literal["queued", "processing", "converting", "predicting", "completed", "failed"] | None = None
    source: Literal["api", "gui", "batch"] | None = None
    batch_id: str | None = Field(default=None, max_length=64)


@routes.get(f"{PREFIX}/history", summary="Stored predictions, newest first", tags=TAGS, query=HistoryQuery,
            response=AnalysisHistory)
async def history(request: web.Request, query: HistoryQuery) -> web.Response:
    total, rows = _analysis(request).records.history(limit=query.limit, offset=query.offset, genre=query.genre,
                                                     status=query.status, source=query.source,
                                                     batch_id=query.batch_id)
    return envelope(request, {"predictions": [_payload(r) for r in rows], "total": total, "limit": query.limit,
                              "offset": query.offset, "has_more": query.offset + len(rows) < total})


class StatsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int | None = Field(default=None, ge=1, le=3650, description="Only predictions of the last N days.")


@routes.get(f"{PREFIX}/stats", summary="Figures computed from the stored predictions", tags=TAGS, query=StatsQuery,
            response=AnalysisStats)
async def stats(request: web.Request, query: StatsQuery) -> web.Response:
    return envelope(request, _analysis(request).stats.summary(days=query.days))


# --- admin -------------------------------------------------------------------------------------------
@routes.get(f"{PREFIX}/models", summary="Installed analysis models and the active one", tags=TAGS, admin=True,
            response=AnalysisModels)
async def models(request: web.Request) -> web.Response:
    service = _analysis(request)
    models = await asyncio.to_thread(service.models.list_models)  # loads each installed model once
    return envelope(request, {"models": models, "active": service.models.active})


class DeployIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=64, description="An installed model: MSD_musicnn or MTT_musicnn.")


@routes.post(f"{PREFIX}/models/deploy", summary="Switch the active analysis model", tags=TAGS, admin=True, body=DeployIn,
             response=AnalysisDeployed,
             responses={400: "INVALID_PARAMETER: not a model the studio knows (details.allowed lists them)",
                        503: "MODEL_UNAVAILABLE: the model's weights are not installed, or it cannot be loaded"})
async def deploy(request: web.Request, body: DeployIn) -> web.Response:
    service = _analysis(request)
    try:
        if body.model in service.models.installed():
            await asyncio.to_thread(service.models.tagger, body.model)  # load it off the loop; deploy then finds it cached
        result = service.models.deploy(body.model)
    except AnalysisError as exc:
        raise api_error(exc) from None
    return envelope(request, result, f"{body.model} is now the active model")


class MetricsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["json", "prometheus"] = "json"


@routes.get(f"{PREFIX}/metrics", summary="Analysis metrics: states, latency, throughput, API traffic", tags=TAGS,
            admin=True, query=MetricsQuery,
            description="JSON: the analysis figures. `format=prometheus`: the studio's whole Prometheus exposition "
                        "(text format 0.0.4), the same as GET /metrics.",
            response=AnalysisMetrics, media={"text/plain": "text"})
async def metrics(request: web.Request, query: MetricsQuery) -> web.Response:
    if query.format == "prometheus":  # the studio's whole exposition, the same text as GET /metrics
        metrics = request.app[SERVICES].system.metrics
        text = await asyncio.to_thread(metrics.exposition)
        return web.Response(text=text, headers={"Content-Type": metrics.content_type, "X-Generated-At": now_iso()})
    return envelope(request, _analysis(request).stats.metrics())
