"""The `predictions` table: each analysis's row through seed 004's state machine
queued -> processing (decoding) -> converting (log-mel spectrogram, features, the PNG) ->
predicting (the network) -> completed | failed, the history read back from it, and CSV export.

Rows are written on the loop thread. Files: an upload is kept in the media store while it waits
(so a re-queued batch can redo it) and removed once analysed; the spectrogram PNG
(`pred_<id>.png`) stays until its prediction is deleted.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from studio.db.models import MediaFile, Prediction
from studio.db.store import new_id
from studio.services.analysis.errors import UnknownPrediction
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.analysis.models import AnalysisModels

STATES = ("queued", "processing", "converting", "predicting", "completed", "failed")
FINAL_STATES = ("completed", "failed")


def spectrogram_url(prediction_id: str) -> str:
    return f"/api/v1/spectrograms/{prediction_id}.png"


class PredictionRecords:
    def __init__(self, ctx: Context, *, models: AnalysisModels) -> None:
        self.ctx = ctx
        self.models = models

    # --- writes (loop thread) ---------------------------------------------------------------------
    def recover_interrupted(self) -> None:
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
                    self.drop_upload(row)

    def new_row(self, *, filename: str, fmt: str | None, size: int, sha: str | None, upload_id: str | None,
                source_path: str | None, source: str, batch_id: str | None = None) -> Prediction:
        return Prediction(id=new_id("pred"), batch_id=batch_id, status="queued", source=source, filename=filename[:255],
                          file_format=fmt, size_bytes=size, sha256=sha, upload_id=upload_id,
                          source_path=source_path, model=self.models.active, attempts=0)

    def add(self, *rows: Prediction) -> None:
        with self.ctx.db.session() as s:
            s.add_all(rows)

    def set_state(self, prediction_id: str, status: str) -> None:
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

    def complete(self, prediction_id: str, outcome: dict[str, Any], attempts: int) -> dict[str, Any]:
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
            self.drop_upload(row)
            data = self.row_dict(row)
        self.ctx.events.publish("analysis_completed", data)
        return data

    def fail(self, prediction_id: str, error: dict[str, Any]) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            row = s.get(Prediction, prediction_id)
            row.status, row.error = "failed", error
            row.completed_at = row.updated_at = utcnow()
            self.drop_upload(row)
            data = self.row_dict(row)
        self.ctx.events.publish("analysis_failed", data)
        return data

    def fail_unfinished(self, batch_id: str, error: dict[str, Any]) -> None:
        """Fail a batch's rows that have not finished (the batch was cancelled)."""
        with self.ctx.db.session() as s:
            for row in s.scalars(select(Prediction).where(Prediction.batch_id == batch_id,
                                                          Prediction.status.notin_(FINAL_STATES))).all():
                row.status, row.error = "failed", error
                row.completed_at = row.updated_at = utcnow()
                self.drop_upload(row)

    def drop_upload(self, row: Prediction) -> None:
        if row.upload_id:
            self.ctx.store.delete(row.upload_id)
            row.upload_id = None

    def row_dict(self, row: Prediction) -> dict[str, Any]:
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

    # --- reads ------------------------------------------------------------------------------------
    def prediction(self, prediction_id: str) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            row = s.get(Prediction, prediction_id)
            if row is None:
                raise UnknownPrediction(prediction_id)
            return self.row_dict(row)

    def prediction_details(self, prediction_id: str) -> dict[str, Any]:
        """The row plus everything measured (features, every tag's probability)."""
        with self.ctx.db.session() as s:
            row = s.get(Prediction, prediction_id)
            if row is None:
                raise UnknownPrediction(prediction_id)
            data = self.row_dict(row)
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
            return total, [self.row_dict(r) for r in rows]

    def of_batch(self, batch_id: str) -> dict[str, dict[str, Any]]:
        """A batch's rows by prediction id (in no particular order)."""
        with self.ctx.db.session() as s:
            rows = s.scalars(select(Prediction).where(Prediction.batch_id == batch_id)).all()
            return {r.id: self.row_dict(r) for r in rows}

    def work_items(self, ids: list[str]) -> dict[str, tuple[str, str | None, str | None, str]]:
        """id -> (status, upload id, source path, filename) of the given rows (a batch worker's list)."""
        with self.ctx.db.session() as s:
            return {r.id: (r.status, r.upload_id, r.source_path, r.filename)
                    for r in s.scalars(select(Prediction).where(Prediction.id.in_(ids))).all()}

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
            self.drop_upload(row)
            s.delete(row)
        self.ctx.events.publish("analysis_deleted", {"prediction_id": prediction_id})

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
