"""Analysis area: what a piece of audio sounds like (genre, moods, tags from the musicnn tagger;
tempo, key, loudness and spectrum measured from the audio) and the history of those analyses.

One service behind the GUI's Analyze panel and seed 004's API (`/api/v1/predict`, ...).
`AnalysisService` is the area's entry object (what `services.analysis` is); callers go through
its parts (`services.analysis.records.history(...)`), one module each:

- models.py (`models`): the active tagger model, loading and deploying it, the genre sets.
- predictions.py (`predictions`): one file: checks, the engine run with retries, predict now, record.
- batches.py (`batches`): several files on the job queue, the `batch.completed` webhook.
- records.py (`records`): the `predictions` rows: state machine, history, CSV export.
- stats.py (`stats`): statistics, health checks and metrics.

The errors callers catch live in `errors`. The audio work (decoding, tagging, features, the
spectrogram PNG) is the engine's (`studio.engine.io.decode`, `studio.engine.analysis.describe`);
webhooks go through the studio's `WebhookService`. The entry object itself only gives the
composition root the area's job handlers and its event subscriber.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from studio.services.analysis.batches import BATCH_KIND, MAX_BATCH_FILES, Batches
from studio.services.analysis.errors import (
    AnalysisError,
    AudioTooLong,
    CorruptAudio,
    FileTooLarge,
    InferenceFailed,
    InvalidFileFormat,
    InvalidParameter,
    MissingParameter,
    ModelUnavailable,
    UnknownBatch,
    UnknownPrediction,
)
from studio.services.analysis.models import AnalysisModels
from studio.services.analysis.predictions import SUPPORTED_FORMATS, Predictions
from studio.services.analysis.records import STATES, PredictionRecords
from studio.services.analysis.stats import AnalysisStats

if TYPE_CHECKING:
    from studio.context import Context
    from studio.jobs import JobHandler
    from studio.services.webhooks import WebhookService

__all__ = [
    "BATCH_KIND", "MAX_BATCH_FILES", "STATES", "SUPPORTED_FORMATS", "AnalysisService",
    "AnalysisError", "AudioTooLong", "CorruptAudio", "FileTooLarge", "InferenceFailed", "InvalidFileFormat",
    "InvalidParameter", "MissingParameter", "ModelUnavailable", "UnknownBatch", "UnknownPrediction",
]


class AnalysisService:
    def __init__(self, ctx: Context, *, webhooks: WebhookService) -> None:
        self.ctx = ctx
        self.models = AnalysisModels(ctx)
        self.records = PredictionRecords(ctx, models=self.models)
        self.predictions = Predictions(ctx, models=self.models, records=self.records)
        self.batches = Batches(ctx, models=self.models, records=self.records, predictions=self.predictions,
                               webhooks=webhooks)
        self.stats = AnalysisStats(ctx, models=self.models)
        self.records.recover_interrupted()

    def job_handlers(self) -> list[JobHandler]:
        return self.batches.job_handlers()

    def on_event(self, name: str, data: dict[str, Any]) -> None:
        """Event bus subscriber (loop thread): batch workers' row writes, cancelled batches."""
        self.batches.on_event(name, data)
