"""Single analyses: check a file, run the engine on it (`describe_file`) and record the outcome.

`predict_upload` is the API's synchronous POST /predict (heavy steps in a thread, the row written
on the loop between them); `predict_path` the same for a file on disk; `analyse_file` is the
blocking analysis itself (the GUI's worker and the batch worker call it) and `record` stores an
outcome computed elsewhere.

Transient failures (the engine raising RuntimeError / OSError / MemoryError, e.g. out of memory)
are retried up to `MAX_ATTEMPTS` times in all; a file that does not decode fails at once with
CORRUPT_AUDIO. Analyses run one at a time in the process (a lock around the compute): each uses
every core.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.engine.io.decode import (
    FORMATS,
    DecodeError,
    audio_files_in,
    format_from_name,
    probe_file,
    sniff_format,
)
from studio.services.analysis.errors import (
    AnalysisError,
    AudioTooLong,
    CorruptAudio,
    FileTooLarge,
    InferenceFailed,
    InvalidFileFormat,
    MissingParameter,
)
from studio.services.analysis.models import summarise_tags
from studio.timeutil import utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.analysis.models import AnalysisModels
    from studio.services.analysis.records import PredictionRecords

log = logging.getLogger(__name__)

SUPPORTED_FORMATS = FORMATS
SUPPORTED_TEXT = "Supported formats: " + ", ".join(f.upper() for f in SUPPORTED_FORMATS)
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_DURATION_S = 20 * 60.0
MIN_DURATION_S = 0.5
MAX_ATTEMPTS = 3
RETRY_DELAYS_S = (0.5, 2.0)  # before the 2nd and 3rd attempt


def detect_format(filename: str, head: bytes) -> str:
    """mp3/wav/flac/ogg from the content (the name only decides what the error says)."""
    if not head:
        raise CorruptAudio(f"'{filename}' is empty (0 bytes)", details="Upload an audio file with content")
    found = sniff_format(head)
    if found:
        return found
    ext = format_from_name(filename)
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


def corrupt(exc: DecodeError) -> CorruptAudio:
    """The engine's decode error as the user sees it."""
    return CorruptAudio(exc.message, details=SUPPORTED_TEXT if exc.unreadable else None)


def _finite(value: Any) -> Any:
    return value if not isinstance(value, float) or math.isfinite(value) else None


def event_loop() -> asyncio.AbstractEventLoop:
    """The running loop; under qasync in tests the loop steps through Qt without "running"."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop()


class Predictions:
    def __init__(self, ctx: Context, *, models: AnalysisModels, records: PredictionRecords) -> None:
        self.ctx = ctx
        self.models = models
        self.records = records
        self.max_file_bytes = MAX_FILE_BYTES
        self.max_duration_s = MAX_DURATION_S
        self.retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S
        self._compute_lock = threading.Lock()

    # --- checks -----------------------------------------------------------------------------------
    def check_path(self, path: Path) -> tuple[str, int]:
        """(format, size) of a file on disk, or the AnalysisError that says why it is not analysed."""
        if not path.is_file():
            raise MissingParameter(f"'{path}' is not a file")
        size = path.stat().st_size
        check_size(path.name, size, self.max_file_bytes)
        with open(path, "rb") as fh:
            return detect_format(path.name, fh.read(64)), size

    @staticmethod
    def audio_files_in(folder: str | Path, recursive: bool = False) -> list[Path]:
        """Supported audio files in a folder (by extension), sorted by name."""
        return audio_files_in(folder, recursive)

    # --- the analysis itself (worker threads) -----------------------------------------------------
    def analyse_file(self, path: str | Path, *, filename: str | None = None,
                     report: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Decode, measure and tag one file: blocking (run it off the loop). Returns the summary
        (genre, moods, tags, features...) plus `png` (spectrogram bytes), `logmel` (frames x 96
        numpy) and `timings_ms`. AnalysisError subclasses for bad input."""
        from studio.engine.analysis.describe import describe_file

        path = Path(path)
        name = filename or path.name
        report = report or (lambda stage: None)
        with self._compute_lock:
            tagger = self.models.tagger()
            started = time.perf_counter()
            report("processing")
            try:
                size = path.stat().st_size
            except OSError as exc:
                raise CorruptAudio(f"'{name}' cannot be read: {exc.strerror or exc}") from None
            check_size(name, size, self.max_file_bytes)
            with open(path, "rb") as fh:
                fmt = detect_format(name, fh.read(64))
            try:
                frames, rate = probe_file(path, name)
            except DecodeError as exc:
                raise corrupt(exc) from None
            duration = frames / rate
            if duration > self.max_duration_s:
                raise AudioTooLong(f"'{name}' lasts {duration / 60:.1f} min; up to {self.max_duration_s / 60:.0f} min "
                                   "are analysed", details={"duration_s": round(duration, 1), "max_s": self.max_duration_s})
            if duration < MIN_DURATION_S:
                raise CorruptAudio(f"'{name}' lasts {duration:.2f} s; at least {MIN_DURATION_S} s is needed")
            report("converting")
            try:
                described = describe_file(path, name, tagger, frames=frames, rate_hz=rate, on_stage=report)
            except DecodeError as exc:
                raise corrupt(exc) from None
            except ValueError as exc:  # a sample rate without a common factor with 16 kHz
                raise CorruptAudio(f"'{name}': {exc}") from None
            timings = {**described.timings_ms, "total": (time.perf_counter() - started) * 1000.0}

        summary = summarise_tags(described.tags, self.models.genre_set(tagger.model))
        features = described.features
        tempo, key = features.get("tempo") or {}, features.get("key") or {}
        return {
            **summary,
            "filename": name, "format": fmt, "size_bytes": size, "duration_s": round(described.duration_s, 3),
            "sample_rate_hz": rate, "channels": described.channels,
            "tempo_bpm": round(tempo.get("bpm") or 0.0, 1) or None, "tempo_confidence": tempo.get("confidence"),
            "key": key.get("key"),
            "key_confidence": key.get("confidence"),
            "loudness_lufs": _finite(features.get("loudness_lufs")),
            "features": features,
            "model": tagger.model, "model_version": tagger.version,
            "tag_probabilities": {t: round(p, 5) for t, p in described.tags.items()},
            "patches": described.patches,
            "timings_ms": {k: round(v, 1) for k, v in timings.items()},
            "png": described.png, "logmel": described.logmel,
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

    # --- single predictions (loop thread) ---------------------------------------------------------
    async def predict_upload(self, data: bytes, filename: str, *, source: str = "api") -> dict[str, Any]:
        """Store an upload, analyse it now (heavy steps in a thread) and return the prediction.
        Raises AnalysisError for bad input (the failed row stays in the history)."""
        filename = (filename or "upload").strip() or "upload"
        check_size(filename, len(data), self.max_file_bytes)
        fmt = detect_format(filename, data[:64])
        loop = event_loop()
        await loop.run_in_executor(None, self.models.tagger)  # a model that cannot load is a 503 before anything is stored
        stored = await loop.run_in_executor(None, functools.partial(self.ctx.store.write_bytes, data,
                                                                     prefix="upload", extension=fmt))
        row = self.records.new_row(filename=filename, fmt=fmt, size=len(data), sha=stored.sha256, upload_id=stored.id,
                                   source_path=None, source=source)
        self.records.add(row)
        return await self._run_now(row.id, stored.path, filename)

    async def predict_path(self, path: str | Path, *, source: str = "gui") -> dict[str, Any]:
        """Analyse a file on disk now (no copy is kept) and return the prediction."""
        path = Path(path)
        fmt, size = self.check_path(path)
        await event_loop().run_in_executor(None, self.models.tagger)
        row = self.records.new_row(filename=path.name, fmt=fmt, size=size, sha=None, upload_id=None,
                                   source_path=str(path), source=source)
        self.records.add(row)
        return await self._run_now(row.id, path, path.name)

    async def _run_now(self, prediction_id: str, path: Path, filename: str) -> dict[str, Any]:
        loop = event_loop()

        def report(stage: str) -> None:  # worker thread -> row update on the loop, in order
            future = asyncio.run_coroutine_threadsafe(self._state_coro(prediction_id, stage), loop)
            future.result(timeout=30)

        try:
            outcome, attempts = await loop.run_in_executor(
                None, functools.partial(self.analyse_with_retries, path, filename, report))
        except AnalysisError as exc:
            self.records.fail(prediction_id, exc.to_dict())
            exc.extra.setdefault("prediction_id", prediction_id)
            raise
        return self.records.complete(prediction_id, outcome, attempts)

    async def _state_coro(self, prediction_id: str, stage: str) -> None:
        self.records.set_state(prediction_id, stage)

    def record(self, outcome: dict[str, Any], *, source: str = "gui", path: str | Path | None = None) -> dict[str, Any]:
        """Store an `analyse_file` outcome computed elsewhere (the GUI's worker) as a completed prediction."""
        row = self.records.new_row(filename=outcome["filename"], fmt=outcome.get("format"),
                                   size=outcome.get("size_bytes", 0), sha=None, upload_id=None,
                                   source_path=str(path) if path else None, source=source)
        row.status, row.started_at, row.attempts = "predicting", utcnow(), 1
        self.records.add(row)
        return self.records.complete(row.id, outcome, 1)
