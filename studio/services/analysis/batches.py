"""Batches: several files analysed on the job queue.

A batch is an `analysis.batch` job (id `batch_...`): its worker analyses the batch's files one
after another and reports each state through the event bus, whose subscriber (on the loop)
writes the rows; a crash re-queues the job and it carries on with the files not finished yet.
When it has finished, an optional webhook gets seed 004's `batch.completed` payload, delivered by
the studio's `WebhookService` (signed, retried and recorded like every studio webhook).
"""

from __future__ import annotations

import statistics
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from studio.connectors.outbound import AddressPolicy
from studio.db.models import Job, Prediction
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
    UnknownJob,
)
from studio.services.analysis.errors import (
    AnalysisError,
    CorruptAudio,
    FileTooLarge,
    InvalidFileFormat,
    InvalidParameter,
    MissingParameter,
    UnknownBatch,
)
from studio.services.analysis.predictions import SUPPORTED_FORMATS, check_size, detect_format
from studio.services.analysis.records import FINAL_STATES, STATES
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.analysis.models import AnalysisModels
    from studio.services.analysis.predictions import Predictions
    from studio.services.analysis.records import PredictionRecords
    from studio.services.webhooks import WebhookService

BATCH_KIND = "analysis.batch"
MAX_BATCH_FILES = 50
WEBHOOK_EVENT = "batch.completed"
WEBHOOK_RETRIES = 3  # seed 004: a failed batch.completed delivery is retried 3 times


class Batches:
    def __init__(self, ctx: Context, *, models: AnalysisModels, records: PredictionRecords,
                 predictions: Predictions, webhooks: WebhookService) -> None:
        self.ctx = ctx
        self.models = models
        self.records = records
        self.predictions = predictions
        self.webhooks = webhooks
        self._lock = threading.Lock()
        self._outcomes: dict[str, tuple[dict[str, Any], int]] = {}  # batch worker -> loop, by prediction id

    def job_handlers(self) -> list[JobHandler]:
        return [JobHandler(kind=BATCH_KIND, run=self._run, complete=self._complete, id_prefix="batch",
                           progress_event="analysis_batch_progress", progress_payload=self._progress_payload)]

    # --- submission -------------------------------------------------------------------------------
    def submit(self, files: list[tuple[bytes, str]] | None = None, *, paths: list[str | Path] | None = None,
               webhook_url: str | None = None, source: str = "api") -> dict[str, Any]:
        """Queue a batch: uploads (bytes, filename) or files on disk. Every file's size and format
        is checked first; one bad file rejects the batch (AnalysisError naming it). The API runs
        `stage` in a thread (it writes the uploads) and `submit_staged` on the loop."""
        return self.submit_staged(self.stage(files, paths=paths, webhook_url=webhook_url),
                                  webhook_url=webhook_url, source=source)

    def stage(self, files: list[tuple[bytes, str]] | None = None, *, paths: list[str | Path] | None = None,
              webhook_url: str | None = None) -> list[dict[str, Any]]:
        """Check every file and store the uploads (blocking: a worker thread may run it). Loads the
        model too, so that a batch the model cannot run is refused (503) before it is queued."""
        max_bytes = self.predictions.max_file_bytes
        items: list[dict[str, Any]] = []
        problems: list[dict[str, Any]] = []
        for data, filename in files or []:
            filename = (filename or "upload").strip() or "upload"
            try:
                check_size(filename, len(data), max_bytes)
                items.append({"filename": filename, "data": data, "format": detect_format(filename, data[:64])})
            except AnalysisError as exc:
                problems.append({"file": filename, **exc.to_dict()})
        for p in paths or []:
            p = Path(p)
            try:
                fmt, size = self.predictions.check_path(p)
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
        if webhook_url is not None:
            why = AddressPolicy(self.ctx.settings.allowed_private_hosts).refusal(webhook_url)  # blocking DNS: a thread
            if why is not None:
                raise InvalidParameter(f"webhook_url is not called: {why}", details={"parameter": "webhook_url"})
        self.models.tagger()
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
        rows = [self.records.new_row(filename=item["filename"], fmt=item["format"], size=item["size"],
                                     sha=item["sha256"], upload_id=item["upload_id"], source_path=item["path"],
                                     source=source, batch_id=batch_id)
                for item in staged]
        self.records.add(*rows)
        params = {"prediction_ids": [r.id for r in rows], "webhook_url": webhook_url, "source": source}
        job = self.ctx.jobs.submit(BATCH_KIND, params, title=f"Analyse {len(rows)} file{'s' * (len(rows) != 1)}",
                                   job_id=batch_id)
        return self.get(job["id"]) | {"estimated_time_seconds": self.estimate_s(rows)}

    def estimate_s(self, rows: list[Prediction]) -> float:
        """From the median speed (processing ms per MB) of recent analyses here."""
        with self.ctx.db.session() as s:
            recent = s.execute(select(Prediction.processing_time_ms, Prediction.size_bytes)
                               .where(Prediction.status == "completed", Prediction.processing_time_ms.is_not(None))
                               .order_by(Prediction.completed_at.desc()).limit(20)).all()
        rates = [ms / max(size, 1) for ms, size in recent if size]
        per_byte_ms = statistics.median(rates) if rates else 2.0 / 1048576 * 1000  # assume 2 s per MB
        return round(sum(r.size_bytes for r in rows) * per_byte_ms / 1000.0, 1)

    # --- the worker -------------------------------------------------------------------------------
    def _run(self, job: JobContext) -> dict[str, Any]:
        """Worker thread: analyse the batch's unfinished files in order."""
        ids = list(job.params.get("prediction_ids") or [])
        rows = self.records.work_items(ids)
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
                outcome, attempts = self.predictions.analyse_with_retries(path, filename, report)
            except JobCancelled:
                raise
            except AnalysisError as exc:
                publish("analysis_row", {"op": "fail", "id": prediction_id, "error": exc.to_dict()})
            else:
                with self._lock:  # arrays and PNG bytes stay off the bus (it also feeds /ws)
                    self._outcomes[prediction_id] = (outcome, attempts)
                publish("analysis_row", {"op": "complete", "id": prediction_id})
            done += 1
        return {"prediction_ids": ids, "total_files": len(ids)}

    def on_event(self, name: str, data: dict[str, Any]) -> None:
        """Event bus subscriber (loop thread): row writes reported by batch workers; cancelled batches."""
        if name == "analysis_row":
            if data["op"] == "state":
                self.records.set_state(data["id"], data["status"])
            elif data["op"] == "complete":
                with self._lock:
                    outcome, attempts = self._outcomes.pop(data["id"])
                self.records.complete(data["id"], outcome, attempts)
            elif data["op"] == "fail":
                self.records.fail(data["id"], data["error"])
        elif name == "job_cancelled" and data.get("kind") == BATCH_KIND:
            self.records.fail_unfinished(data["id"], {"code": "CANCELLED", "message": "the batch was cancelled"})

    def _progress_payload(self, job: dict[str, Any]) -> dict[str, Any]:
        return {"batch_id": job["id"], "status": job["status"], "progress": job["progress"], "stage": job["stage"]}

    def _complete(self, job: Job, result: dict[str, Any]) -> dict[str, Any]:
        """Loop thread, after the worker: send the webhook if one was asked for."""
        url = (job.params or {}).get("webhook_url")
        if url:
            self.webhooks.send_payload(url, WEBHOOK_EVENT, self.webhook_payload(job.id, finished_at=utcnow()),
                                       subject=job.id, max_retries=WEBHOOK_RETRIES)
            result = {**result, "webhook_url": url}
        return result

    def webhook_payload(self, batch_id: str, finished_at: datetime | None = None) -> dict[str, Any]:
        rows = self.rows(batch_id)
        status = "completed" if all(r["status"] == "completed" for r in rows) else (
            "failed" if all(r["status"] == "failed" for r in rows) else "completed_with_errors")
        results = []
        for r in rows:
            item = {"file": r["filename"], "prediction_id": r["prediction_id"], "status": r["status"],
                    "genre": r["genre"], "confidence": r["confidence"]}
            if r.get("error"):
                item["error"] = r["error"]
            results.append(item)
        return {"event": WEBHOOK_EVENT, "batch_id": batch_id, "status": status, "results": results,
                "completed_at": iso(finished_at or utcnow())}

    # --- reads ------------------------------------------------------------------------------------
    def rows(self, batch_id: str) -> list[dict[str, Any]]:
        """The batch's predictions in the order they were submitted."""
        data = self.records.of_batch(batch_id)
        try:
            order = self.ctx.jobs.get(batch_id)["params"].get("prediction_ids") or list(data)
        except KeyError:
            order = list(data)
        return [data[i] for i in order if i in data]

    def get(self, batch_id: str) -> dict[str, Any]:
        try:
            job = self.ctx.jobs.get(batch_id)
        except UnknownJob:
            raise UnknownBatch(batch_id) from None
        if job["kind"] != BATCH_KIND:
            raise UnknownBatch(batch_id)
        rows = self.rows(batch_id)
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
            data["webhook_deliveries"] = self.webhooks.deliveries(batch_id)
        return data

    def cancel(self, batch_id: str) -> dict[str, Any]:
        self.get(batch_id)
        self.ctx.jobs.cancel(batch_id)
        return self.get(batch_id)
