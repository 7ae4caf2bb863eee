"""Batches: variations queued together, paid for together, at most `concurrency` rendering at once.
Members beyond the cap are job rows held queued; each finished member frees a slot. When all have
finished, `batch_completed` is published (with the webhook when the batch asked to be notified)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from studio.db.store import new_id
from studio.jobs import CANCELLED, COMPLETED, FAILED, PROCESSING, QUEUED
from studio.services.music.catalogue import GenerationSpec
from studio.services.music.credits import credits_for

if TYPE_CHECKING:
    from studio.events import EventBus
    from studio.services.music.credits import MusicCredits
    from studio.services.music.generation import MusicGeneration
    from studio.services.music.holds import HeldJobs

FINISHED = (COMPLETED, FAILED, CANCELLED)


class MusicBatches:
    def __init__(self, *, generation: "MusicGeneration", credits: "MusicCredits", holds: "HeldJobs",
                 events: "EventBus") -> None:
        self.generation = generation
        self.credits = credits
        self.holds = holds
        self.events = events

    def submit_batch(self, items: list[dict[str, Any]], *, concurrency: int, notify_when_all_complete: bool,
                     webhook: dict[str, Any] | None = None, source: str = "api") -> dict[str, Any]:
        """Queue variations as one batch; at most `concurrency` of them run at once.

        `items`: [{"fields": spec fields, "title", "description", "extra", "title_suffix"}]. All or
        nothing: every item is validated (pydantic.ValidationError, its `batch_index` attribute
        naming the item) and every singer looked up (SingerError) before anything is queued, and
        the whole cost checked against the budget (InsufficientCredits). Every member's params
        record the group: `batch_id` and `batch` (ids, concurrency, notify flag)."""
        items = [{**item, "fields": self.generation.with_singer(item["fields"])} for item in items]  # all singers exist
        durations = []
        for index, item in enumerate(items):
            try:
                durations.append(GenerationSpec.model_validate(item["fields"]).duration_s)
            except Exception as exc:
                exc.batch_index = index  # which item, for an error that names it
                raise
        total_cost = round(sum(credits_for(d) for d in durations), 2)
        self.credits.check(total_cost)
        batch_id = new_id("batch")
        ids = [new_id("gen") for _ in items]
        concurrency = max(1, int(concurrency))
        group = {"batch_id": batch_id, "batch": {"generation_ids": ids, "concurrency": concurrency,
                                                 "notify_when_all_complete": notify_when_all_complete}}
        if webhook:
            group["webhook"] = webhook
        jobs = []
        for index, (item, job_id) in enumerate(zip(items, ids)):
            hold = f"waiting for a batch slot ({concurrency} at a time)" if index >= concurrency else None
            jobs.append(self.generation.submit_generation(
                item["fields"], title=item.get("title"), description=item.get("description"), source=source,
                extra={**(item.get("extra") or {}), **group}, job_id=job_id, hold_stage=hold,
                title_suffix=item.get("title_suffix")))
        return {"batch_id": batch_id, "jobs": jobs, "credits_used": total_cost, "concurrency": concurrency}

    def on_member_finished(self, generation_id: str, params: dict[str, Any]) -> None:
        """A member finished, failed or was cancelled: free its slot; announce the finished batch."""
        batch = params.get("batch") or {}
        if not params.get("batch_id") or generation_id not in batch.get("generation_ids", []):
            return
        ids = batch["generation_ids"]
        statuses = self.holds.statuses(ids)
        active = sum(1 for i in ids if statuses.get(i) == PROCESSING
                     or (statuses.get(i) == QUEUED and i not in self.holds))
        for job_id in ids:
            if active >= batch["concurrency"]:
                break
            if statuses.get(job_id) == QUEUED and self.holds.release(job_id):
                active += 1
        if all(statuses.get(i) in FINISHED for i in ids):
            counts = {st: sum(1 for i in ids if statuses.get(i) == st) for st in FINISHED}
            self.events.publish("batch_completed", {
                "subject_id": params["batch_id"], "batch_id": params["batch_id"], "generation_ids": ids,
                "total": len(ids), **counts,
                "webhook": params.get("webhook") if batch.get("notify_when_all_complete") else None})
