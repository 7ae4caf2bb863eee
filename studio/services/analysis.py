"""Analysis area: what a piece of audio sounds like (genre, moods, tags from the musicnn tagger;
tempo, key, loudness and spectrum measured from the audio) and the history of those analyses.

One service behind the GUI's Analyze panel and seed 004's API (`/api/v1/predict`, ...).

- A prediction is a `predictions` row with the seed's state machine
  queued -> processing (decoding) -> converting (log-mel spectrogram, features, the PNG) ->
  predicting (the network) -> completed | failed. `predict_upload` runs one at once (the API's
  synchronous POST /predict: heavy steps in a thread, the row written on the loop between them).
  A batch is an `analysis.batch` job (id `batch_...`) on the job queue: its worker analyses the
  batch's files one after another and reports each state through the event bus, whose
  subscriber (this service, on the loop) writes the rows; a crash re-queues the job and it
  carries on with the files not finished yet. When it has finished, an optional webhook gets
  the seed's `batch.completed` payload (signed like every studio webhook, retried 3 times).
- Transient failures (the engine raising RuntimeError / OSError / MemoryError, e.g. out of
  memory) are retried up to `MAX_ATTEMPTS` times in all; a file that does not decode fails at
  once with CORRUPT_AUDIO.
- Files: the upload is kept in the media store while it waits (so a re-queued batch can redo
  it) and removed once analysed; the spectrogram PNG (`pred_<id>.png`, musicnn's 96-band
  log-mel input drawn with a magma-like colour map) stays.
- The genre set, with the tags each genre aggregates, is data: resources/analysis/genres.toml.
  musicnn's outputs are independent per-tag probabilities; a genre scores the best of its tags,
  `all_probabilities` are the scores normalised over the genre set and `confidence` is the
  winner's share (`genre_scores` keeps the raw scores).
- The active model (MSD_musicnn by default, or MTT_musicnn) is kept in `<data dir>/analysis.json`.
- Analyses run one at a time in the process (a lock around the compute): each uses every core.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import hashlib
import io
import json
import logging
import math
import os
import statistics
import struct
import threading
import time
import tomllib
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, select

from studio.db.models import Job, MediaFile, Prediction, RequestLog, utcnow
from studio.db.store import new_id
from studio.jobs import (
    CANCELLED,
    COMPLETED,
    FAILED,
    PROCESSING,
    QUEUED,
    JobCancelled,
    JobContext,
    JobHandler,
)
from studio.resources import resource_path

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.webhooks import WebhookService

log = logging.getLogger(__name__)

BATCH_KIND = "analysis.batch"
GENRES_FILE = resource_path("analysis", "genres.toml")
STATE_FILE_NAME = "analysis.json"
DEFAULT_MODEL = "MSD_musicnn"
MODEL_DESCRIPTIONS = {
    "MSD_musicnn": "musicnn trained on the Million Song Dataset: 50 Last.fm tags (genres, eras, moods, vocals)",
    "MTT_musicnn": "musicnn trained on MagnaTagATune: 50 tags (instruments, vocals, tempo feel, a few genres)",
}

SUPPORTED_FORMATS = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg"}
SUPPORTED_TEXT = "Supported formats: " + ", ".join(f.upper() for f in SUPPORTED_FORMATS)
EXTENSIONS = {".mp3": "mp3", ".wav": "wav", ".wave": "wav", ".flac": "flac", ".ogg": "ogg", ".oga": "ogg"}
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_DURATION_S = 20 * 60.0
MIN_DURATION_S = 0.5
MAX_BATCH_FILES = 50
MAX_ATTEMPTS = 3
RETRY_DELAYS_S = (0.5, 2.0)  # before the 2nd and 3rd attempt
WEBHOOK_RETRY_DELAYS_S = (1.0, 5.0, 25.0)  # "retry 3 times"
WEBHOOK_TIMEOUT_S = 10.0
TOP_TAGS = 10
TOP_MOODS = 5
STATES = ("queued", "processing", "converting", "predicting", "completed", "failed")
FINAL_STATES = ("completed", "failed")
SPECTROGRAM_MAX_COLUMNS = 1200
SPECTROGRAM_ROW_SCALE = 2  # each of the 96 mel bands is drawn 2 pixels high

# magma-like colour map anchors (position, r, g, b)
_COLORMAP = np.array([
    (0.00, 0, 0, 4), (0.13, 28, 16, 68), (0.25, 79, 18, 123), (0.38, 129, 37, 129), (0.50, 181, 54, 122),
    (0.63, 229, 80, 100), (0.75, 251, 135, 97), (0.88, 254, 194, 135), (1.00, 252, 253, 191)], dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# Errors


class AnalysisError(Exception):
    """A problem with the input the user can fix; `code` and `http_status` are seed 004's."""

    code = "ANALYSIS_FAILED"
    http_status = 400

    def __init__(self, message: str, *, details: Any = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        out = {"code": self.code, "message": self.message}
        if self.details is not None:
            out["details"] = self.details
        return out


class InvalidFileFormat(AnalysisError):
    code = "INVALID_FILE_FORMAT"


class FileTooLarge(AnalysisError):
    code = "FILE_TOO_LARGE"


class CorruptAudio(AnalysisError):
    code = "CORRUPT_AUDIO"


class AudioTooLong(AnalysisError):
    code = "AUDIO_TOO_LONG"


class MissingParameter(AnalysisError):
    code = "MISSING_PARAMETER"


class InvalidParameter(AnalysisError):
    code = "INVALID_PARAMETER"


class ModelUnavailable(AnalysisError):
    code = "MODEL_UNAVAILABLE"
    http_status = 503


class InferenceFailed(AnalysisError):
    code = "MODEL_INFERENCE_FAILED"
    http_status = 500


class UnknownPrediction(KeyError):
    pass


class UnknownBatch(KeyError):
    pass


# ---------------------------------------------------------------------------------------------
# Files


def sniff_format(head: bytes) -> str | None:
    """The audio container a file's first bytes announce, or None."""
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] >> 1) & 0x3:
        return "mp3"  # MPEG audio frame sync with a valid layer
    return None


def detect_format(filename: str, head: bytes) -> str:
    """mp3/wav/flac/ogg from the content (the name only decides what the error says)."""
    if not head:
        raise CorruptAudio(f"'{filename}' is empty (0 bytes)", details="Upload an audio file with content")
    found = sniff_format(head)
    if found:
        return found
    ext = EXTENSIONS.get(Path(filename).suffix.lower())
    if ext:
        raise CorruptAudio(f"'{filename}' is named like {ext.upper()} but its content is not {ext.upper()} audio",
                           details="The file may be damaged or mislabelled; " + SUPPORTED_TEXT)
    suffix = Path(filename).suffix.lower() or "(no extension)"
    raise InvalidFileFormat(f"The uploaded file format is not supported: '{filename}' {suffix}",
                            details=SUPPORTED_TEXT, extra={"supported_formats": [f.upper() for f in SUPPORTED_FORMATS]})


def check_size(filename: str, size: int, limit: int) -> None:
    if size > limit:
        raise FileTooLarge(f"'{filename}' is {size / 1048576:.1f} MB; files up to {limit / 1048576:.0f} MB are analysed",
                           details={"size_bytes": size, "max_bytes": limit})


DECODE_BLOCK_FRAMES = 1 << 17  # ~3 s at 44.1 kHz: blocks small enough for decoding to overlap tagging


def probe_file(path: Path, filename: str) -> tuple[int, int]:
    """(frames, sample rate) from the file's header; CorruptAudio when it is not readable audio."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception as exc:  # noqa: BLE001 - libsndfile raises LibsndfileError, RuntimeError, TypeError...
        raise CorruptAudio(f"'{filename}' could not be decoded: {exc}", details=SUPPORTED_TEXT) from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise CorruptAudio(f"'{filename}' holds no audio frames")
    return int(info.frames), int(info.samplerate)


def decode_blocks(path: Path, filename: str, kept: list[np.ndarray]):
    """Yield (channels, frames) float32 tensors of at most 5 channels, block by block, appending
    each decoded (frames, channels) block to `kept`; CorruptAudio when decoding fails or finds
    NaN/infinite samples."""
    import soundfile as sf
    import torch

    try:
        with sf.SoundFile(str(path)) as f:
            for block in f.blocks(DECODE_BLOCK_FRAMES, dtype="float32", always_2d=True):
                if not np.isfinite(block).all():
                    raise CorruptAudio(f"'{filename}' holds invalid (NaN or infinite) samples")
                kept.append(block)
                yield torch.from_numpy(np.ascontiguousarray(block[:, :5].T))
    except CorruptAudio:
        raise
    except Exception as exc:  # noqa: BLE001 - as in probe_file
        raise CorruptAudio(f"'{filename}' could not be decoded: {exc}", details=SUPPORTED_TEXT) from None


def render_spectrogram_png(logmel: np.ndarray, *, max_columns: int = SPECTROGRAM_MAX_COLUMNS,
                           row_scale: int = SPECTROGRAM_ROW_SCALE) -> bytes:
    """PNG of a (frames, bands) log-mel spectrogram: time left to right, low bands at the bottom,
    colour from the 0..99.5th percentile (magma-like map). Frames are averaged into at most
    `max_columns` columns. Plain zlib + struct, no imaging library."""
    mel = np.asarray(logmel, dtype=np.float64)
    if mel.ndim != 2 or mel.shape[0] == 0:
        raise ValueError("spectrogram must be (frames, bands) with at least one frame")
    frames = mel.shape[0]
    columns = min(frames, max_columns)
    edges = np.linspace(0, frames, columns + 1).astype(int)
    sums = np.add.reduceat(mel, edges[:-1], axis=0)
    img = sums / np.diff(edges)[:, None]  # (columns, bands)
    top = max(float(np.percentile(img, 99.5)), 1e-6)
    level = np.clip(img / top, 0.0, 1.0).T[::-1]  # (bands, columns), low bands at the bottom
    level = np.repeat(level, row_scale, axis=0)
    rgb = np.stack([np.interp(level, _COLORMAP[:, 0], _COLORMAP[:, i]) for i in (1, 2, 3)], axis=-1)
    return png_bytes(np.round(rgb).astype(np.uint8))


def png_bytes(rgb: np.ndarray) -> bytes:
    """A minimal PNG (8-bit RGB, no filter) of an (height, width, 3) uint8 array."""
    height, width, _ = rgb.shape
    raw = np.concatenate([np.zeros((height, 1), dtype=np.uint8), rgb.reshape(height, width * 3)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


# ---------------------------------------------------------------------------------------------
# Genre sets


def load_genre_sets(path: Path = GENRES_FILE) -> dict[str, dict[str, Any]]:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def summarise_tags(tags: dict[str, float], genre_set: dict[str, Any]) -> dict[str, Any]:
    """genre, confidence, all_probabilities, genre_scores, moods and top tags from per-tag probabilities."""
    scores = {g["id"]: max((tags.get(t, 0.0) for t in g["tags"]), default=0.0) for g in genre_set["genres"]}
    total = sum(scores.values())
    if total > 0:
        probs = {g: s / total for g, s in scores.items()}
    else:
        probs = {g: 1.0 / len(scores) for g in scores}
    ranked = sorted(probs.items(), key=lambda kv: kv[1], reverse=True)
    genre, confidence = ranked[0]
    moods = sorted(((m, tags[m]) for m in genre_set.get("mood_tags", []) if m in tags), key=lambda kv: kv[1], reverse=True)
    top = sorted(tags.items(), key=lambda kv: kv[1], reverse=True)[:TOP_TAGS]
    return {
        "genre": genre,
        "confidence": round(confidence, 4),
        "all_probabilities": {g: round(p, 4) for g, p in ranked},
        "genre_scores": {g: round(scores[g], 4) for g, _ in ranked},
        "moods": [{"mood": m.lower(), "probability": round(p, 4)} for m, p in moods[:TOP_MOODS]],
        "tags": [{"tag": t, "probability": round(p, 4)} for t, p in top],
    }


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


def spectrogram_url(prediction_id: str) -> str:
    return f"/api/v1/spectrograms/{prediction_id}.png"


def _finite(value: Any) -> Any:
    return value if not isinstance(value, float) or math.isfinite(value) else None


# ---------------------------------------------------------------------------------------------
# Service


class AnalysisService:
    def __init__(self, ctx: Context, *, webhooks: "WebhookService") -> None:
        self.ctx = ctx
        self.webhooks = webhooks
        self.started_monotonic = time.monotonic()
        self.genre_sets = load_genre_sets()
        self.max_file_bytes = MAX_FILE_BYTES
        self.max_duration_s = MAX_DURATION_S
        self.retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S
        self.webhook_retry_delays_s: tuple[float, ...] = WEBHOOK_RETRY_DELAYS_S
        self.tagger_loader: Callable[[str, str], Any] | None = None  # tests inject failures here
        self._compute_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._model = self._read_state().get("model") or DEFAULT_MODEL
        self._model_errors: dict[str, str] = {}
        self._load_times_s: dict[str, float] = {}
        self._webhook_tasks: set[asyncio.Task] = set()
        self._outcomes: dict[str, tuple[dict[str, Any], int]] = {}  # batch worker -> loop, by prediction id
        self._recover_interrupted()

    # --- models -----------------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.ctx.settings.home / STATE_FILE_NAME

    def _read_state(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_state(self, data: dict[str, Any]) -> None:
        tmp = self.state_path.with_name(f".{STATE_FILE_NAME}.tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, self.state_path)

    @property
    def model_name(self) -> str:
        return self._model

    @staticmethod
    def installed_models() -> list[str]:
        from studio.engine.analysis.tagger import available_models

        return available_models()

    @staticmethod
    def known_models() -> list[str]:
        from studio.engine.analysis.tagger import MODEL_FILES

        return list(MODEL_FILES)

    def device(self) -> str:
        setting = self.ctx.settings.device
        if setting == "cpu":
            return "cpu"
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def tagger(self, model: str | None = None):
        """The loaded tagger (cached by the engine); ModelUnavailable when it cannot load."""
        name = model or self._model
        started = time.perf_counter()
        try:
            if self.tagger_loader is not None:
                tagger = self.tagger_loader(name, self.device())
            else:
                from studio.engine.analysis.tagger import load_tagger

                tagger = load_tagger(name, self.device())
        except (FileNotFoundError, ValueError, RuntimeError, OSError) as exc:
            self._model_errors[name] = f"{type(exc).__name__}: {exc}"
            raise ModelUnavailable(f"the {name} model cannot be loaded: {exc}",
                                   details="Check resources/models (tools/convert_musicnn.py writes the weights)") from None
        self._model_errors.pop(name, None)
        self._load_times_s.setdefault(name, time.perf_counter() - started)
        return tagger

    def model_info(self, name: str) -> dict[str, Any]:
        from studio.engine.analysis.tagger import MODEL_FILES, MODELS_DIR

        path = MODELS_DIR / MODEL_FILES[name]
        info: dict[str, Any] = {
            "id": name, "name": name, "description": MODEL_DESCRIPTIONS.get(name, ""),
            "installed": path.exists(), "active": name == self._model,
            "size_bytes": path.stat().st_size if path.exists() else None,
            "genres": [g["id"] for g in self.genre_set(name)["genres"]],
            "licence": "ISC (musicnn 0.1.0, Pons & Serra 2019), resources/models/musicnn_LICENSE.txt",
        }
        if path.exists():
            try:
                tagger = self.tagger(name)
                info.update(version=tagger.version, tags=list(tagger.tags), device=str(tagger.device), status="ready")
            except ModelUnavailable as exc:
                info.update(status="error", error=exc.message)
        else:
            info["status"] = "not_installed"
        return info

    def models(self) -> list[dict[str, Any]]:
        return [self.model_info(name) for name in self.known_models()]

    def deploy(self, name: str) -> dict[str, Any]:
        """Make `name` the active model (it must be installed and load)."""
        if name not in self.known_models():
            raise InvalidParameter(f"unknown model '{name}'; installed models: {', '.join(self.installed_models())}",
                                   details={"parameter": "model", "allowed": self.known_models()})
        if name not in self.installed_models():
            raise ModelUnavailable(f"the {name} weights are not installed",
                                   details="Run tools/convert_musicnn.py to convert them")
        tagger = self.tagger(name)
        previous, self._model = self._model, name
        state = self._read_state()
        state["model"] = name
        self._write_state(state)
        self.ctx.events.publish("analysis_model_changed", {"model": name, "previous": previous, "version": tagger.version})
        return {"model": name, "previous_model": previous, "model_version": tagger.version,
                "deployed_at": iso(utcnow())}

    def genre_set(self, model: str | None = None) -> dict[str, Any]:
        return self.genre_sets[model or self._model]

    def genres(self) -> dict[str, Any]:
        genre_set = self.genre_set()
        return {
            "genres": [{"id": g["id"], "name": g["name"], "description": g["description"],
                        "sub_genres": list(g.get("sub_genres", [])), "model_tags": list(g["tags"])}
                       for g in genre_set["genres"]],
            "total": len(genre_set["genres"]),
            "model": self._model,
            "mood_tags": [m.lower() for m in genre_set.get("mood_tags", [])],
            "method": ("Each genre scores the highest probability among its model_tags (musicnn's per-tag "
                       "sigmoid outputs, averaged over 3 s patches); all_probabilities normalise those scores "
                       "to sum to 1 and confidence is the winner's share."),
        }

    # --- the analysis itself (worker threads) -----------------------------------------------------
    def analyse_file(self, path: str | Path, *, filename: str | None = None,
                     report: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Decode, measure and tag one file: blocking (run it off the loop). Returns the summary
        (genre, moods, tags, features...) plus `png` (spectrogram bytes), `logmel` (frames x 96
        numpy) and `timings_ms`. AnalysisError subclasses for bad input."""
        import torch

        from studio.engine.analysis.features import analyse_audio

        path = Path(path)
        name = filename or path.name
        report = report or (lambda stage: None)
        timings: dict[str, float] = {}
        with self._compute_lock:
            tagger = self.tagger()
            started = time.perf_counter()
            report("processing")
            try:
                size = path.stat().st_size
            except OSError as exc:
                raise CorruptAudio(f"'{name}' cannot be read: {exc.strerror or exc}") from None
            check_size(name, size, self.max_file_bytes)
            with open(path, "rb") as fh:
                fmt = detect_format(name, fh.read(64))
            frames, rate = probe_file(path, name)
            duration = frames / rate
            if duration > self.max_duration_s:
                raise AudioTooLong(f"'{name}' lasts {duration / 60:.1f} min; up to {self.max_duration_s / 60:.0f} min "
                                   "are analysed", details={"duration_s": round(duration, 1), "max_s": self.max_duration_s})
            if duration < MIN_DURATION_S:
                raise CorruptAudio(f"'{name}' lasts {duration:.2f} s; at least {MIN_DURATION_S} s is needed")

            # Decoding, conversion and the network overlap (`Tagger.tag_stream`); the decoded
            # blocks are kept, and once they are all in, the features are measured on them while
            # the workers finish the network.
            report("converting")
            kept: list[np.ndarray] = []
            measured: dict[str, Any] = {}

            def decoded() -> None:
                report("predicting")
                audio_np = np.ascontiguousarray(np.concatenate(kept).T) if kept else np.zeros((1, 0), np.float32)
                if audio_np.shape[1] == 0:
                    raise CorruptAudio(f"'{name}' holds no audio frames")
                step = time.perf_counter()
                measured["audio"] = audio_np
                measured["features"] = analyse_audio(torch.from_numpy(audio_np[:5]), rate).to_dict()
                timings["features"] = (time.perf_counter() - step) * 1000.0

            try:
                result, logmel = tagger.tag_stream(decode_blocks(path, name, kept), rate, frames, on_decoded=decoded)
            except ValueError as exc:  # a sample rate without a common factor with 16 kHz
                raise CorruptAudio(f"'{name}': {exc}") from None
            audio_np, features = measured["audio"], measured["features"]
            duration = audio_np.shape[1] / rate
            timings["decode_features_and_predict"] = (time.perf_counter() - started) * 1000.0
            step = time.perf_counter()
            png = render_spectrogram_png(logmel.cpu().numpy())
            probs = result.per_patch
            timings["spectrogram"] = (time.perf_counter() - step) * 1000.0
            timings["total"] = (time.perf_counter() - started) * 1000.0

        summary = summarise_tags(result.tags, self.genre_set(tagger.model))
        tempo, key = features.get("tempo") or {}, features.get("key") or {}
        return {
            **summary,
            "filename": name, "format": fmt, "size_bytes": size, "duration_s": round(duration, 3),
            "sample_rate_hz": rate, "channels": int(audio_np.shape[0]),
            "tempo_bpm": round(tempo.get("bpm") or 0.0, 1) or None, "tempo_confidence": tempo.get("confidence"),
            "key": key.get("key"),
            "key_confidence": key.get("confidence"),
            "loudness_lufs": _finite(features.get("loudness_lufs")),
            "features": features,
            "model": tagger.model, "model_version": tagger.version,
            "tag_probabilities": {t: round(p, 5) for t, p in result.tags.items()},
            "patches": int(probs.shape[0]),
            "timings_ms": {k: round(v, 1) for k, v in timings.items()},
            "png": png, "logmel": logmel.cpu().numpy(),
        }

    def analyse_with_retries(self, path: Path, filename: str,
                             report: Callable[[str], None] | None = None) -> tuple[dict[str, Any], int]:
        """`analyse_file`, retried on transient failures: (outcome, attempts)."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self.analyse_file(path, filename=filename, report=report), attempt
            except AnalysisError:
                raise
            except (RuntimeError, OSError, MemoryError) as exc:
                log.warning("analysis of %s failed (attempt %d of %d): %s", filename, attempt, MAX_ATTEMPTS, exc)
                if attempt == MAX_ATTEMPTS:
                    raise InferenceFailed(f"analysing '{filename}' failed {MAX_ATTEMPTS} times: {type(exc).__name__}: {exc}",
                                          details={"attempts": attempt}) from None
                time.sleep(self.retry_delays_s[min(attempt - 1, len(self.retry_delays_s) - 1)] if self.retry_delays_s else 0)
        raise AssertionError("unreachable")

    # --- rows (loop thread) -----------------------------------------------------------------------
    def _recover_interrupted(self) -> None:
        """At start-up: single analyses a crash interrupted failed; batch members waiting again."""
        with self.ctx.db.session() as s:
            rows = s.scalars(select(Prediction).where(Prediction.status.notin_(FINAL_STATES))).all()
            for row in rows:
                if row.batch_id:
                    row.status, row.updated_at = "queued", utcnow()
                else:
                    row.status = "failed"
                    row.error = {"code": "INTERRUPTED", "message": "the studio stopped while this file was analysed; "
                                                                   "upload it again"}
                    row.completed_at = row.updated_at = utcnow()
                    self._drop_upload(row)

    def _new_row(self, *, filename: str, fmt: str | None, size: int, sha: str | None, upload_id: str | None,
                 source_path: str | None, source: str, batch_id: str | None = None) -> Prediction:
        return Prediction(id=new_id("pred"), batch_id=batch_id, status="queued", source=source, filename=filename[:255],
                          file_format=fmt, size_bytes=size, sha256=sha, upload_id=upload_id,
                          source_path=source_path, model=self._model, attempts=0)

    def _set_state(self, prediction_id: str, status: str) -> None:
        with self.ctx.db.session() as s:
            row = s.get(Prediction, prediction_id)
            if row is None or row.status in FINAL_STATES:
                return
            row.status, row.updated_at = status, utcnow()
            if status == "processing":
                if row.started_at is None:
                    row.started_at = row.updated_at
                row.attempts += 1
            data = {"prediction_id": row.id, "status": status, "batch_id": row.batch_id, "filename": row.filename}
        self.ctx.events.publish("analysis_progress", data)

    def _complete(self, prediction_id: str, outcome: dict[str, Any], attempts: int) -> dict[str, Any]:
        spec_id = f"{prediction_id}.png"
        temp = self.ctx.store.temp_path(".png")
        temp.write_bytes(outcome["png"])
        stored = self.ctx.store.adopt(temp, media_id=spec_id)
        keep = {k: v for k, v in outcome.items() if k not in ("png", "logmel")}
        with self.ctx.db.session() as s:
            row = s.get(Prediction, prediction_id)
            s.merge(MediaFile(id=spec_id, kind="spectrogram", mime_type="image/png", size_bytes=stored.size_bytes,
                              sha256=stored.sha256, display_name=f"{Path(row.filename).stem} spectrogram.png",
                              job_id=row.batch_id))
            row.status = "completed"
            row.spectrogram_id = spec_id
            row.model, row.model_version = outcome["model"], outcome["model_version"]
            row.genre, row.confidence = outcome["genre"], outcome["confidence"]
            row.duration_s, row.tempo_bpm, row.key = outcome["duration_s"], outcome["tempo_bpm"], outcome["key"]
            row.file_format = row.file_format or outcome["format"]
            row.result = keep
            row.attempts = max(row.attempts, attempts)
            row.processing_time_ms = outcome["timings_ms"]["total"]
            row.completed_at = row.updated_at = utcnow()
            row.error = None
            self._drop_upload(row)
            data = self._row_dict(row)
        self.ctx.events.publish("analysis_completed", data)
        return data

    def _fail(self, prediction_id: str, error: dict[str, Any]) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            row = s.get(Prediction, prediction_id)
            row.status, row.error = "failed", error
            row.completed_at = row.updated_at = utcnow()
            self._drop_upload(row)
            data = self._row_dict(row)
        self.ctx.events.publish("analysis_failed", data)
        return data

    def _drop_upload(self, row: Prediction) -> None:
        if row.upload_id:
            self.ctx.store.delete(row.upload_id)
            row.upload_id = None

    def _row_dict(self, row: Prediction) -> dict[str, Any]:
        result = row.result or {}
        data: dict[str, Any] = {
            "prediction_id": row.id, "status": row.status, "filename": row.filename, "format": row.file_format,
            "size_bytes": row.size_bytes, "source": row.source, "batch_id": row.batch_id,
            "genre": row.genre, "confidence": row.confidence,
            "all_probabilities": result.get("all_probabilities"), "genre_scores": result.get("genre_scores"),
            "moods": result.get("moods"), "tags": result.get("tags"),
            "tempo_bpm": row.tempo_bpm, "key": row.key, "loudness_lufs": result.get("loudness_lufs"),
            "duration_s": row.duration_s, "processing_time_ms": row.processing_time_ms,
            "model": row.model, "model_version": row.model_version, "attempts": row.attempts,
            "spectrogram_url": spectrogram_url(row.id) if row.spectrogram_id else None,
            "created_at": iso(row.created_at), "started_at": iso(row.started_at), "completed_at": iso(row.completed_at),
        }
        if row.error:
            data["error"] = row.error
        return data

    # --- single predictions -----------------------------------------------------------------------
    async def predict_upload(self, data: bytes, filename: str, *, source: str = "api") -> dict[str, Any]:
        """Store an upload, analyse it now (heavy steps in a thread) and return the prediction.
        Raises AnalysisError for bad input (the failed row stays in the history)."""
        filename = (filename or "upload").strip() or "upload"
        check_size(filename, len(data), self.max_file_bytes)
        fmt = detect_format(filename, data[:64])
        loop = _loop()
        await loop.run_in_executor(None, self.tagger)  # a model that cannot load is a 503 before anything is stored
        stored = await loop.run_in_executor(None, functools.partial(self.ctx.store.write_bytes, data,
                                                                     prefix="upload", extension=fmt))
        row = self._new_row(filename=filename, fmt=fmt, size=len(data), sha=stored.sha256, upload_id=stored.id,
                            source_path=None, source=source)
        with self.ctx.db.session() as s:
            s.add(row)
        return await self._run_now(row.id, stored.path, filename)

    async def predict_path(self, path: str | Path, *, source: str = "gui") -> dict[str, Any]:
        """Analyse a file on disk now (no copy is kept) and return the prediction."""
        path = Path(path)
        fmt, size = self.check_path(path)
        await _loop().run_in_executor(None, self.tagger)
        row = self._new_row(filename=path.name, fmt=fmt, size=size, sha=None, upload_id=None,
                            source_path=str(path), source=source)
        with self.ctx.db.session() as s:
            s.add(row)
        return await self._run_now(row.id, path, path.name)

    def check_path(self, path: Path) -> tuple[str, int]:
        """(format, size) of a file on disk, or the AnalysisError that says why it is not analysed."""
        if not path.is_file():
            raise MissingParameter(f"'{path}' is not a file")
        size = path.stat().st_size
        check_size(path.name, size, self.max_file_bytes)
        with open(path, "rb") as fh:
            return detect_format(path.name, fh.read(64)), size

    async def _run_now(self, prediction_id: str, path: Path, filename: str) -> dict[str, Any]:
        loop = _loop()

        def report(stage: str) -> None:  # worker thread -> row update on the loop, in order
            future = asyncio.run_coroutine_threadsafe(self._state_coro(prediction_id, stage), loop)
            future.result(timeout=30)

        try:
            outcome, attempts = await loop.run_in_executor(
                None, functools.partial(self.analyse_with_retries, path, filename, report))
        except AnalysisError as exc:
            self._fail(prediction_id, exc.to_dict())
            exc.extra.setdefault("prediction_id", prediction_id)
            raise
        return self._complete(prediction_id, outcome, attempts)

    async def _state_coro(self, prediction_id: str, stage: str) -> None:
        self._set_state(prediction_id, stage)

    def record(self, outcome: dict[str, Any], *, source: str = "gui", path: str | Path | None = None) -> dict[str, Any]:
        """Store an `analyse_file` outcome computed elsewhere (the GUI's worker) as a completed prediction."""
        row = self._new_row(filename=outcome["filename"], fmt=outcome.get("format"), size=outcome.get("size_bytes", 0),
                            sha=None, upload_id=None, source_path=str(path) if path else None, source=source)
        row.status, row.started_at, row.attempts = "predicting", utcnow(), 1
        with self.ctx.db.session() as s:
            s.add(row)
        return self._complete(row.id, outcome, 1)

    # --- batches ------------------------------------------------------------------------------------
    def job_handlers(self) -> list[JobHandler]:
        return [JobHandler(kind=BATCH_KIND, run=self._run_batch, complete=self._complete_batch, id_prefix="batch",
                           progress_event="analysis_batch_progress", progress_payload=self._batch_progress_payload)]

    def submit_batch(self, files: list[tuple[bytes, str]] | None = None, *, paths: list[str | Path] | None = None,
                     webhook_url: str | None = None, source: str = "api") -> dict[str, Any]:
        """Queue a batch: uploads (bytes, filename) or files on disk. Every file's size and format
        is checked first; one bad file rejects the batch (AnalysisError naming it). The API runs
        `stage_batch` in a thread (it writes the uploads) and `submit_staged` on the loop."""
        return self.submit_staged(self.stage_batch(files, paths=paths, webhook_url=webhook_url),
                                  webhook_url=webhook_url, source=source)

    def stage_batch(self, files: list[tuple[bytes, str]] | None = None, *, paths: list[str | Path] | None = None,
                    webhook_url: str | None = None) -> list[dict[str, Any]]:
        """Check every file and store the uploads (blocking: a worker thread may run it). Loads the
        model too, so that a batch the model cannot run is refused (503) before it is queued."""
        items: list[dict[str, Any]] = []
        problems: list[dict[str, Any]] = []
        for data, filename in files or []:
            filename = (filename or "upload").strip() or "upload"
            try:
                check_size(filename, len(data), self.max_file_bytes)
                items.append({"filename": filename, "data": data, "format": detect_format(filename, data[:64])})
            except AnalysisError as exc:
                problems.append({"file": filename, **exc.to_dict()})
        for p in paths or []:
            p = Path(p)
            try:
                fmt, size = self.check_path(p)
                items.append({"filename": p.name, "path": str(p), "format": fmt, "size": size})
            except AnalysisError as exc:
                problems.append({"file": p.name, **exc.to_dict()})
        if not items and not problems:
            raise MissingParameter("no files: send one or more audio files as files[]",
                                   details={"parameter": "files[]"})
        if len(items) + len(problems) > MAX_BATCH_FILES:
            raise InvalidParameter(f"a batch holds at most {MAX_BATCH_FILES} files, got {len(items) + len(problems)}",
                                   details={"parameter": "files[]", "max_files": MAX_BATCH_FILES})
        if problems:
            first = problems[0]
            error = {cls.code: cls for cls in (InvalidFileFormat, FileTooLarge, CorruptAudio, MissingParameter)}.get(
                first["code"], CorruptAudio)
            raise error(f"{len(problems)} of {len(items) + len(problems)} files cannot be analysed: {first['message']}",
                        details={"files": problems},
                        extra={"supported_formats": [f.upper() for f in SUPPORTED_FORMATS]})
        if webhook_url is not None and not webhook_url.startswith(("http://", "https://")):
            raise InvalidParameter("webhook_url must be an http(s) URL", details={"parameter": "webhook_url"})
        self.tagger()
        staged = []
        for item in items:
            entry = {"filename": item["filename"], "format": item["format"], "size": item.get("size", 0),
                     "path": item.get("path"), "upload_id": None, "sha256": None}
            if "data" in item:
                stored = self.ctx.store.write_bytes(item.pop("data"), prefix="upload", extension=item["format"])
                entry.update(upload_id=stored.id, sha256=stored.sha256, size=stored.size_bytes)
            staged.append(entry)
        return staged

    def submit_staged(self, staged: list[dict[str, Any]], *, webhook_url: str | None = None,
                      source: str = "api") -> dict[str, Any]:
        """Loop thread: the batch's rows and its `analysis.batch` job."""
        batch_id = new_id("batch")
        rows = [self._new_row(filename=item["filename"], fmt=item["format"], size=item["size"], sha=item["sha256"],
                              upload_id=item["upload_id"], source_path=item["path"], source=source, batch_id=batch_id)
                for item in staged]
        with self.ctx.db.session() as s:
            s.add_all(rows)
        params = {"prediction_ids": [r.id for r in rows], "webhook_url": webhook_url, "source": source}
        job = self.ctx.jobs.submit(BATCH_KIND, params, title=f"Analyse {len(rows)} file{'s' * (len(rows) != 1)}",
                                   job_id=batch_id)
        return self.batch(job["id"]) | {"estimated_time_seconds": self.estimate_batch_s(rows)}

    def estimate_batch_s(self, rows: list[Prediction]) -> float:
        """From the median speed (processing ms per MB) of recent analyses here."""
        with self.ctx.db.session() as s:
            recent = s.execute(select(Prediction.processing_time_ms, Prediction.size_bytes)
                               .where(Prediction.status == "completed", Prediction.processing_time_ms.is_not(None))
                               .order_by(Prediction.completed_at.desc()).limit(20)).all()
        rates = [ms / max(size, 1) for ms, size in recent if size]
        per_byte_ms = statistics.median(rates) if rates else 2.0 / 1048576 * 1000  # assume 2 s per MB
        return round(sum(r.size_bytes for r in rows) * per_byte_ms / 1000.0, 1)

    def _run_batch(self, job: JobContext) -> dict[str, Any]:
        """Worker thread: analyse the batch's unfinished files in order."""
        ids = list(job.params.get("prediction_ids") or [])
        with self.ctx.db.session() as s:
            rows = {r.id: (r.status, r.upload_id, r.source_path, r.filename)
                    for r in s.scalars(select(Prediction).where(Prediction.id.in_(ids))).all()}
        todo = [i for i in ids if i in rows and rows[i][0] not in FINAL_STATES]
        done = len(ids) - len(todo)
        publish = self.ctx.events.publish_threadsafe
        for prediction_id in todo:
            job.check_cancelled()
            _status, upload_id, source_path, filename = rows[prediction_id]
            job.progress(100.0 * done / max(1, len(ids)), f"{filename} ({done + 1}/{len(ids)})")
            try:
                path = self.ctx.store.path(upload_id) if upload_id else Path(source_path or "")
            except KeyError:
                publish("analysis_row", {"op": "fail", "id": prediction_id,
                                         "error": {"code": "CORRUPT_AUDIO", "message": f"the upload of '{filename}' is gone"}})
                done += 1
                continue

            def report(stage: str, pid: str = prediction_id) -> None:
                publish("analysis_row", {"op": "state", "id": pid, "status": stage})
                job.check_cancelled()

            try:
                outcome, attempts = self.analyse_with_retries(path, filename, report)
            except JobCancelled:
                raise
            except AnalysisError as exc:
                publish("analysis_row", {"op": "fail", "id": prediction_id, "error": exc.to_dict()})
            else:
                with self._state_lock:  # arrays and PNG bytes stay off the bus (it also feeds /ws)
                    self._outcomes[prediction_id] = (outcome, attempts)
                publish("analysis_row", {"op": "complete", "id": prediction_id})
            done += 1
        return {"prediction_ids": ids, "total_files": len(ids)}

    def on_event(self, name: str, data: dict[str, Any]) -> None:
        """Event bus subscriber (loop thread): row writes reported by batch workers; cancelled batches."""
        if name == "analysis_row":
            if data["op"] == "state":
                self._set_state(data["id"], data["status"])
            elif data["op"] == "complete":
                with self._state_lock:
                    outcome, attempts = self._outcomes.pop(data["id"])
                self._complete(data["id"], outcome, attempts)
            elif data["op"] == "fail":
                self._fail(data["id"], data["error"])
        elif name == "job_cancelled" and data.get("kind") == BATCH_KIND:
            with self.ctx.db.session() as s:
                for row in s.scalars(select(Prediction).where(Prediction.batch_id == data["id"],
                                                              Prediction.status.notin_(FINAL_STATES))).all():
                    row.status, row.error = "failed", {"code": "CANCELLED", "message": "the batch was cancelled"}
                    row.completed_at = row.updated_at = utcnow()
                    self._drop_upload(row)

    def _batch_progress_payload(self, job: dict[str, Any]) -> dict[str, Any]:
        return {"batch_id": job["id"], "status": job["status"], "progress": job["progress"], "stage": job["stage"]}

    def _complete_batch(self, job: Job, result: dict[str, Any]) -> dict[str, Any]:
        """Loop thread, after the worker: send the webhook if one was asked for."""
        url = (job.params or {}).get("webhook_url")
        if url:
            payload = self.webhook_payload(job.id, finished_at=utcnow())
            try:
                loop = _loop()
            except RuntimeError:
                log.warning("batch %s webhook not sent: no event loop", job.id)
            else:
                task = loop.create_task(self._deliver_webhook(url, payload))
                self._webhook_tasks.add(task)
                task.add_done_callback(self._webhook_tasks.discard)
            result = {**result, "webhook_url": url}
        return result

    def webhook_payload(self, batch_id: str, finished_at: datetime | None = None) -> dict[str, Any]:
        rows = self.batch_rows(batch_id)
        status = "completed" if all(r["status"] == "completed" for r in rows) else (
            "failed" if all(r["status"] == "failed" for r in rows) else "completed_with_errors")
        results = []
        for r in rows:
            item = {"file": r["filename"], "prediction_id": r["prediction_id"], "status": r["status"],
                    "genre": r["genre"], "confidence": r["confidence"]}
            if r.get("error"):
                item["error"] = r["error"]
            results.append(item)
        return {"event": "batch.completed", "batch_id": batch_id, "status": status, "results": results,
                "completed_at": iso(finished_at or utcnow())}

    async def _deliver_webhook(self, url: str, payload: dict[str, Any]) -> None:
        """POST the seed's payload, signed with the install's webhook secret; retried 3 times."""
        import httpx

        from studio.services.webhooks import (
            DELIVERY_HEADER,
            EVENT_HEADER,
            SIGNATURE_HEADER,
            sign,
        )

        delivery_id = new_id("dlv")
        body = json.dumps({**payload, "delivery_id": delivery_id}, default=str, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "Studio-Webhooks/1", EVENT_HEADER: payload["event"],
                   DELIVERY_HEADER: delivery_id, SIGNATURE_HEADER: sign(self.webhooks.secret, body)}
        record: dict[str, Any] = {"delivery_id": delivery_id, "event": payload["event"], "url": url,
                                  "status": "pending", "attempts": []}
        async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_S, follow_redirects=False) as client:
            for attempt, delay in enumerate((0.0, *self.webhook_retry_delays_s), start=1):
                if delay:
                    await asyncio.sleep(delay)
                entry: dict[str, Any] = {"attempt": attempt, "at": iso(utcnow())}
                try:
                    response = await client.post(url, content=body, headers=headers)
                    entry["status_code"] = response.status_code
                except httpx.HTTPError as exc:
                    entry["error"] = f"{type(exc).__name__}: {exc}".rstrip(": ")
                record["attempts"].append(entry)
                code = entry.get("status_code")
                if code is not None and 200 <= code < 300:
                    record["status"] = "delivered"
                    break
                if code is not None and code < 500 and code not in (408, 429):
                    record["status"] = "failed"
                    break
            else:
                record["status"] = "failed"
        if record["status"] != "delivered":
            log.warning("batch webhook %s to %s failed: %s", payload["batch_id"], url, record["attempts"][-1])
        self._save_delivery(payload["batch_id"], record)

    def _delivery_path(self, batch_id: str) -> Path:
        safe = "".join(ch for ch in batch_id if ch.isalnum() or ch in "_-")[:80]
        return self.ctx.settings.home / "webhooks" / f"{safe}.json"

    def _save_delivery(self, batch_id: str, record: dict[str, Any]) -> None:
        path = self._delivery_path(batch_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        records = self.deliveries(batch_id) + [record]
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(records, indent=1), encoding="utf-8")
        os.replace(tmp, path)

    def deliveries(self, batch_id: str) -> list[dict[str, Any]]:
        try:
            data = json.loads(self._delivery_path(batch_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return data if isinstance(data, list) else []

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait for webhook deliveries under way (tests, shutdown)."""
        tasks = [t for t in self._webhook_tasks if not t.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)

    def batch_rows(self, batch_id: str) -> list[dict[str, Any]]:
        with self.ctx.db.session() as s:
            rows = s.scalars(select(Prediction).where(Prediction.batch_id == batch_id)).all()
            data = {r.id: self._row_dict(r) for r in rows}
        try:
            order = self.ctx.jobs.get(batch_id)["params"].get("prediction_ids") or list(data)
        except KeyError:
            order = list(data)
        return [data[i] for i in order if i in data]

    def batch(self, batch_id: str) -> dict[str, Any]:
        from studio.jobs import UnknownJob

        try:
            job = self.ctx.jobs.get(batch_id)
        except UnknownJob:
            raise UnknownBatch(batch_id) from None
        if job["kind"] != BATCH_KIND:
            raise UnknownBatch(batch_id)
        rows = self.batch_rows(batch_id)
        counts = {state: sum(1 for r in rows if r["status"] == state) for state in STATES}
        finished = counts["completed"] + counts["failed"]
        status = {QUEUED: "queued", PROCESSING: "processing", COMPLETED: "completed", FAILED: "failed",
                  CANCELLED: "cancelled"}[job["status"]]
        if status == "completed" and counts["failed"]:
            status = "completed_with_errors" if counts["completed"] else "failed"
        data = {
            "batch_id": batch_id, "status": status, "total_files": len(rows), "completed_files": counts["completed"],
            "failed_files": counts["failed"], "pending_files": len(rows) - finished,
            "progress": round(100.0 * finished / max(1, len(rows)), 1),
            "status_url": f"/api/v1/batch/{batch_id}", "webhook_url": (job["params"] or {}).get("webhook_url"),
            "created_at": job["created_at"], "completed_at": job["finished_at"],
            "results": [{"file": r["filename"], **r} for r in rows],
        }
        if data["webhook_url"]:
            data["webhook_deliveries"] = self.deliveries(batch_id)
        return data

    def cancel_batch(self, batch_id: str) -> dict[str, Any]:
        self.batch(batch_id)
        self.ctx.jobs.cancel(batch_id)
        return self.batch(batch_id)

    # --- reads ------------------------------------------------------------------------------------
    def prediction(self, prediction_id: str) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            row = s.get(Prediction, prediction_id)
            if row is None:
                raise UnknownPrediction(prediction_id)
            return self._row_dict(row)

    def prediction_details(self, prediction_id: str) -> dict[str, Any]:
        """The row plus everything measured (features, every tag's probability)."""
        with self.ctx.db.session() as s:
            row = s.get(Prediction, prediction_id)
            if row is None:
                raise UnknownPrediction(prediction_id)
            data = self._row_dict(row)
            result = row.result or {}
            data["features"] = result.get("features")
            data["tag_probabilities"] = result.get("tag_probabilities")
            data["timings_ms"] = result.get("timings_ms")
            data["sample_rate_hz"] = result.get("sample_rate_hz")
            data["channels"] = result.get("channels")
            return data

    def source_path(self, prediction_id: str) -> str | None:
        """The file on disk a GUI analysis read (None for uploads, which are not kept)."""
        with self.ctx.db.session() as s:
            row = s.get(Prediction, prediction_id)
            if row is None:
                raise UnknownPrediction(prediction_id)
            return row.source_path

    def spectrogram_path(self, prediction_id: str) -> Path:
        with self.ctx.db.session() as s:
            row = s.get(Prediction, prediction_id)
            spec = row.spectrogram_id if row else None
        if not spec:
            raise UnknownPrediction(prediction_id)
        try:
            return self.ctx.store.path(spec)
        except KeyError:
            raise UnknownPrediction(prediction_id) from None

    def history(self, *, limit: int = 20, offset: int = 0, genre: str | None = None, status: str | None = None,
                source: str | None = None, batch_id: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        with self.ctx.db.session() as s:
            query = select(Prediction)
            if genre:
                query = query.where(Prediction.genre == genre)
            if status:
                query = query.where(Prediction.status == status)
            if source:
                query = query.where(Prediction.source == source)
            if batch_id:
                query = query.where(Prediction.batch_id == batch_id)
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = s.scalars(query.order_by(Prediction.created_at.desc(), Prediction.id).limit(limit).offset(offset)).all()
            return total, [self._row_dict(r) for r in rows]

    def delete_prediction(self, prediction_id: str) -> None:
        with self.ctx.db.session() as s:
            row = s.get(Prediction, prediction_id)
            if row is None:
                raise UnknownPrediction(prediction_id)
            if row.spectrogram_id:
                self.ctx.store.delete(row.spectrogram_id)
                media = s.get(MediaFile, row.spectrogram_id)
                if media is not None:
                    s.delete(media)
            self._drop_upload(row)
            s.delete(row)
        self.ctx.events.publish("analysis_deleted", {"prediction_id": prediction_id})

    def stats(self, *, days: int | None = None) -> dict[str, Any]:
        """Figures computed from the stored predictions (all time, or the last `days`)."""
        since = utcnow() - timedelta(days=days) if days else None
        with self.ctx.db.session() as s:
            query = select(Prediction)
            if since is not None:
                query = query.where(Prediction.created_at >= since)
            rows = s.scalars(query).all()
            data = [(r.status, r.genre, r.confidence, r.processing_time_ms, r.source, r.model, r.duration_s,
                     (r.error or {}).get("code"), r.created_at, r.result or {}) for r in rows]
        completed = [d for d in data if d[0] == "completed"]
        by_genre: dict[str, int] = {}
        conf_by_genre: dict[str, list[float]] = {}
        moods: dict[str, int] = {}
        for d in completed:
            by_genre[d[1]] = by_genre.get(d[1], 0) + 1
            conf_by_genre.setdefault(d[1], []).append(d[2] or 0.0)
            top_mood = (d[9].get("moods") or [{}])[0].get("mood")
            if top_mood:
                moods[top_mood] = moods.get(top_mood, 0) + 1
        times = sorted(d[3] for d in completed if d[3] is not None)
        now = utcnow()
        errors: dict[str, int] = {}
        for d in data:
            if d[0] == "failed":
                errors[d[7] or "UNKNOWN"] = errors.get(d[7] or "UNKNOWN", 0) + 1
        return {
            "period_days": days, "total_predictions": len(data), "completed": len(completed),
            "failed": sum(1 for d in data if d[0] == "failed"),
            "in_progress": sum(1 for d in data if d[0] not in FINAL_STATES),
            "success_rate": round(len(completed) / len(data), 4) if data else None,
            "genre_distribution": dict(sorted(by_genre.items(), key=lambda kv: -kv[1])),
            "average_confidence": round(statistics.fmean(d[2] or 0.0 for d in completed), 4) if completed else None,
            "average_confidence_by_genre": {g: round(statistics.fmean(v), 4) for g, v in conf_by_genre.items()},
            "top_moods": dict(sorted(moods.items(), key=lambda kv: -kv[1])),
            "processing_time_ms": _percentiles(times),
            "audio_analysed_s": round(sum(d[6] or 0.0 for d in completed), 1),
            "by_source": _count(d[4] for d in data),
            "by_model": _count(d[5] for d in completed),
            "errors": errors,
            "last_24h": sum(1 for d in data if d[8] and d[8] >= now - timedelta(hours=24)),
            "last_7d": sum(1 for d in data if d[8] and d[8] >= now - timedelta(days=7)),
        }

    def health(self) -> dict[str, Any]:
        """Seed 004 `GET /health`: real checks of the database, the model, the storage and the queue."""
        components: dict[str, str] = {"api": "up"}
        details: dict[str, str] = {}
        try:
            self.ctx.db.ping()
            components["database"] = "up"
        except Exception as exc:  # noqa: BLE001 - any failure means the database is down
            components["database"], details["database"] = "down", f"{type(exc).__name__}: {exc}"
        try:
            tagger = self.tagger()
            components["model"] = "up"
            details["model"] = tagger.version
        except ModelUnavailable as exc:
            components["model"], details["model"] = "down", exc.message
        try:
            probe = self.ctx.store.temp_path(".probe")
            probe.write_bytes(b"ok")
            probe.unlink()
            components["storage"] = "up"
        except OSError as exc:
            components["storage"], details["storage"] = "down", str(exc)
        workers = getattr(self.ctx.jobs, "_threads", [])
        components["queue"] = "up" if any(t.is_alive() for t in workers) else "down"
        if components["queue"] == "down":
            details["queue"] = "no job worker is running: batches wait until the studio's workers start"
        healthy = all(v == "up" for v in components.values())
        from studio import __version__

        return {
            "status": "healthy" if healthy else "degraded",
            "version": __version__,
            "components": components,
            "details": details,
            "model": self._model,
            "uptime_seconds": round(time.monotonic() - self.started_monotonic, 1),
            "timestamp": iso(utcnow()),
        }

    def metrics(self) -> dict[str, Any]:
        """Admin figures: predictions by state, latency percentiles, throughput, API traffic of
        the analysis routes (from the request log), the model and the queue."""
        now = utcnow()
        with self.ctx.db.session() as s:
            by_status = dict(s.execute(select(Prediction.status, func.count()).group_by(Prediction.status)).all())
            hour = s.scalar(select(func.count()).where(Prediction.completed_at >= now - timedelta(hours=1),
                                                       Prediction.status == "completed")) or 0
            times = sorted(t for (t,) in s.execute(select(Prediction.processing_time_ms).where(
                Prediction.status == "completed", Prediction.processing_time_ms.is_not(None))
                .order_by(Prediction.completed_at.desc()).limit(1000)).all())
            api_rows = s.execute(select(RequestLog.route, RequestLog.status, RequestLog.latency_ms).where(
                RequestLog.route.in_(ANALYSIS_ROUTES))).all()
            queued_batches = s.scalar(select(func.count()).where(Job.kind == BATCH_KIND,
                                                                 Job.status.in_((QUEUED, PROCESSING)))) or 0
        requests: dict[str, dict[str, Any]] = {}
        for route, status, latency in api_rows:
            entry = requests.setdefault(route, {"count": 0, "errors": 0, "latencies": []})
            entry["count"] += 1
            entry["errors"] += int(status >= 400)
            entry["latencies"].append(latency)
        api = {route: {"requests": e["count"], "errors": e["errors"],
                       "latency_ms": _percentiles(sorted(e["latencies"]))} for route, e in requests.items()}
        return {
            "predictions": {state: int(by_status.get(state, 0)) for state in STATES},
            "predictions_last_hour": hour,
            "processing_time_ms": _percentiles(times),
            "api": api,
            "model": {"active": self._model, "load_time_ms": {k: round(v * 1000, 1) for k, v in self._load_times_s.items()},
                      "errors": dict(self._model_errors), "device": self.device()},
            "queue": {"batches_waiting_or_running": queued_batches, "workers": self.ctx.jobs.max_concurrent},
            "uptime_seconds": round(time.monotonic() - self.started_monotonic, 1),
            "timestamp": iso(now),
        }

    def prometheus(self) -> str:
        """`metrics()` in the Prometheus text format (seed 003 asks /api/v1/metrics for that)."""
        m = self.metrics()
        lines = ["# HELP studio_predictions Predictions by state.", "# TYPE studio_predictions gauge"]
        lines += [f'studio_predictions{{status="{k}"}} {v}' for k, v in m["predictions"].items()]
        lines += ["# HELP studio_prediction_processing_ms Processing time of completed predictions.",
                  "# TYPE studio_prediction_processing_ms summary"]
        for q in ("p50", "p95", "p99"):
            value = m["processing_time_ms"].get(q)
            if value is not None:
                lines.append(f'studio_prediction_processing_ms{{quantile="0.{q[1:]}"}} {value}')
        lines += ["# TYPE studio_uptime_seconds counter", f"studio_uptime_seconds {m['uptime_seconds']}"]
        return "\n".join(lines) + "\n"

    # --- export -----------------------------------------------------------------------------------
    @staticmethod
    def csv_text(rows: list[dict[str, Any]]) -> str:
        """CSV of predictions: file, status, genre, confidence, tempo, key, loudness, moods, tags."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["file", "status", "genre", "confidence", "tempo_bpm", "key", "loudness_lufs", "duration_s",
                         "top_moods", "top_tags", "model", "prediction_id", "error"])
        for r in rows:
            writer.writerow([
                r.get("filename"), r.get("status"), r.get("genre") or "",
                "" if r.get("confidence") is None else f"{r['confidence']:.4f}",
                "" if r.get("tempo_bpm") is None else f"{r['tempo_bpm']:.1f}", r.get("key") or "",
                "" if r.get("loudness_lufs") is None else f"{r['loudness_lufs']:.1f}",
                "" if r.get("duration_s") is None else f"{r['duration_s']:.1f}",
                "; ".join(f"{m['mood']} {m['probability']:.2f}" for m in r.get("moods") or []),
                "; ".join(f"{t['tag']} {t['probability']:.2f}" for t in (r.get("tags") or [])[:5]),
                r.get("model") or "", r.get("prediction_id"), (r.get("error") or {}).get("message", ""),
            ])
        return out.getvalue()

    def export_csv(self, rows: list[dict[str, Any]], path: str | Path) -> Path:
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(self.csv_text(rows), encoding="utf-8", newline="")
        os.replace(tmp, path)
        return path

    @staticmethod
    def audio_files_in(folder: str | Path, recursive: bool = False) -> list[Path]:
        """Supported audio files in a folder (by extension), sorted by name."""
        folder = Path(folder)
        pattern = folder.rglob("*") if recursive else folder.glob("*")
        return sorted((p for p in pattern if p.is_file() and p.suffix.lower() in EXTENSIONS), key=lambda p: p.name.lower())


ANALYSIS_ROUTES = ("/api/v1/predict", "/api/v1/batch-predict", "/api/v1/prediction/{prediction_id}",
                   "/api/v1/batch/{batch_id}", "/api/v1/history", "/api/v1/stats", "/api/v1/genres")


def _loop() -> asyncio.AbstractEventLoop:
    """The running loop; under qasync in tests the loop steps through Qt without "running"."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop()


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"count": 0, "mean": None, "p50": None, "p95": None, "p99": None, "max": None}

    def at(q: float) -> float:
        return round(values[min(len(values) - 1, math.ceil(q * len(values)) - 1)], 1)

    return {"count": len(values), "mean": round(statistics.fmean(values), 1), "p50": at(0.5), "p95": at(0.95),
            "p99": at(0.99), "max": round(values[-1], 1)}


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        if v:
            out[v] = out.get(v, 0) + 1
    return out


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
