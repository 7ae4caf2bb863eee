"""Webhook callbacks for generations (seed 001 `callback_url` + `webhook_events`).

A generation submitted with a callback keeps `{"url", "events"}` under `webhook` in its job
params (so a retried job calls back too). This service listens to the job events on the event
bus and POSTs JSON to the URL when a subscribed event happens:

    generation_started    the engine picked the job up
    generation_completed  the track is in the library (payload has track_id and links)
    generation_failed     the engine gave up (payload has the error)
    generation_cancelled  cancelled before it finished
    batch_completed       every generation of a batch has finished (batch_settings.notify_when_all_complete)
    playlist_completed    a playlist's tracks and its continuous mix are done

Request: `POST <callback_url>` with a JSON body
`{"event", "delivery_id", "timestamp", "data": {...}}` and the headers

    X-Studio-Event: generation_completed
    X-Studio-Delivery: dlv_<hex>            (the same on every retry of one delivery)
    X-Studio-Signature: sha256=<hex>        HMAC-SHA256 of the raw body with the webhook secret

The webhook secret is per install: 64 hex characters in `<data dir>/webhook_secret` (created
on first use, readable only by the owner; delete the file to rotate it). Admins can read it with
`GET /api/v1/ai/webhooks/secret`. Verify a delivery by computing
`hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()` over the exact bytes received and
comparing it with the header in constant time.

A delivery counts as done on any 2xx. Network errors, timeouts, 408, 429 and 5xx are retried
after `RETRY_DELAYS_S` (1, 5, 25 and 125 s: five attempts in all); other answers are final.
Every attempt is recorded in `<data dir>/webhooks/<subject id>.json` (status code or error,
time, duration) and shown with the generation (`GET /api/v1/ai/generations/{id}`).

Other areas deliver their own documented payloads through `send_payload` with the same
signature, retries and records (the analysis area's seed 004 `batch.completed`, recorded under
the batch id).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.connectors.outbound import AddressPolicy, OutboundRefused
from studio.db.store import new_id
from studio.timeutil import now_iso

if TYPE_CHECKING:
    from studio.context import Context

log = logging.getLogger(__name__)

GENERATION_EVENTS = ("generation_started", "generation_completed", "generation_failed", "generation_cancelled")
GROUP_EVENTS = ("batch_completed", "playlist_completed")
WEBHOOK_EVENTS = GENERATION_EVENTS + GROUP_EVENTS
DEFAULT_EVENTS = ["generation_started", "generation_completed", "generation_failed"]
RETRY_DELAYS_S = (1.0, 5.0, 25.0, 125.0)
TIMEOUT_S = 10.0
SIGNATURE_HEADER = "X-Studio-Signature"
EVENT_HEADER = "X-Studio-Event"
DELIVERY_HEADER = "X-Studio-Delivery"
SECRET_FILE_NAME = "webhook_secret"

# Job bus events -> webhook events (a job's start is its first `job_progress`, stage "starting").
_JOB_EVENTS = {"job_completed": "generation_completed", "job_failed": "generation_failed",
               "job_cancelled": "generation_cancelled"}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _retryable(status: int | None) -> bool:
    return status is None or status in (408, 429) or status >= 500


class WebhookService:
    def __init__(self, ctx: "Context") -> None:
        self.ctx = ctx
        self.retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S
        self.timeout_s = TIMEOUT_S
        self._tasks: set[asyncio.Task] = set()
        self._started: set[str] = set()
        self._secret: str | None = None

    # --- secret ---------------------------------------------------------------------------------
    @property
    def secret_path(self) -> Path:
        return self.ctx.settings.home / SECRET_FILE_NAME

    @property
    def secret(self) -> str:
        """The per-install signing secret, created on first use."""
        path = self.secret_path
        if self._secret is not None and path.is_file():
            return self._secret
        try:
            value = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            value = ""
        if len(value) < 32:
            value = secrets.token_hex(32)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(value + "\n")
            os.replace(tmp, path)
        self._secret = value
        return value

    # --- events ---------------------------------------------------------------------------------
    def on_event(self, name: str, data: dict[str, Any]) -> None:
        """Event bus subscriber (loop thread)."""
        if name in GROUP_EVENTS:
            hook = data.get("webhook") or {}
            if hook.get("url") and name in hook.get("events", []):
                payload = {k: v for k, v in data.items() if k != "webhook"}
                self.send(hook["url"], name, payload, subject=data.get("subject_id") or "group")
            return
        if name not in _JOB_EVENTS and name != "job_progress":
            return
        from studio.services.music.common import GENERATE_KIND

        if data.get("kind") != GENERATE_KIND:
            return
        hook = (data.get("params") or {}).get("webhook") or {}
        if not hook.get("url"):
            return
        if name == "job_progress":
            if data.get("status") != "processing" or data["id"] in self._started:
                return
            self._started.add(data["id"])
            event = "generation_started"
        else:
            self._started.discard(data["id"])
            event = _JOB_EVENTS[name]
        if event in hook.get("events", DEFAULT_EVENTS):
            self.send(hook["url"], event, self.generation_payload(data), subject=data["id"])

    def generation_payload(self, job: dict[str, Any]) -> dict[str, Any]:
        params = job.get("params") or {}
        result = job.get("result") or {}
        base = self.ctx.api_base_url
        payload: dict[str, Any] = {
            "generation_id": job["id"], "status": job["status"], "title": job.get("title"),
            "progress": round(job.get("progress") or 0), "created_at": job.get("created_at"),
            "started_at": job.get("started_at"), "finished_at": job.get("finished_at"),
            "status_url": f"{base}/api/v1/ai/generations/{job['id']}",
        }
        for key in ("batch_id", "variation_id", "playlist_id", "template_id", "project_id"):
            if params.get(key):
                payload[key] = params[key]
        if job["status"] == "completed" and result.get("track_id"):
            payload["track_id"] = result["track_id"]
            payload["track_url"] = f"{base}/api/v1/ai/tracks/{result['track_id']}"
            payload["duration"] = result.get("duration_s")
            payload["formats_available"] = sorted(k for k, v in (result.get("files") or {}).items()
                                                  if k in ("wav", "mp3", "flac", "ogg", "midi"))
            payload["quality_metrics"] = result.get("quality_metrics")
        if job.get("error"):
            payload["error"] = job["error"]
        return payload

    # --- delivery -------------------------------------------------------------------------------
    def send(self, url: str, event: str, data: dict[str, Any], *, subject: str) -> str | None:
        """Queue one delivery of the studio's envelope `{event, delivery_id, timestamp, data}`
        (with its retries) on the running loop; returns its id."""
        envelope = {"event": event, "delivery_id": None, "timestamp": now_iso("milliseconds"), "data": data}  # id filled in below
        return self.send_payload(url, event, envelope, subject=subject)

    def send_payload(self, url: str, event: str, payload: dict[str, Any], *, subject: str,
                     max_retries: int | None = None) -> str | None:
        """Queue one delivery of `payload` as it is (an area's documented shape, e.g. seed 004's
        `batch.completed`) with `delivery_id` set, signed, retried and recorded under `subject`
        like every webhook; returns its id. `max_retries` cuts the one retry schedule short where
        an area's contract says so (seed 004: "retry 3 times")."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.warning("webhook %s for %s not sent: no running event loop", event, subject)
            return None
        delivery_id = new_id("dlv")
        record = {"delivery_id": delivery_id, "event": event, "url": url, "status": "pending", "attempts": []}
        self._save_record(subject, record)
        body = json.dumps({**payload, "delivery_id": delivery_id}, default=str, ensure_ascii=False).encode()
        delays = self.retry_delays_s if max_retries is None else self.retry_delays_s[:max_retries]
        task = loop.create_task(self._deliver(url, event, body, subject, record, delays))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delivery_id

    async def refusal(self, url: str) -> str | None:
        """Why `url` will not be called back (an address on this machine or a private network that
        the user did not allow), checked when a request names it; None when it may be."""
        try:
            await AddressPolicy(self.ctx.settings.allowed_private_hosts).check(url)
        except OutboundRefused as exc:
            return str(exc)
        return None

    async def _deliver(self, url: str, event: str, body: bytes, subject: str, record: dict,
                       retry_delays_s: tuple[float, ...]) -> None:
        import httpx

        headers = {"Content-Type": "application/json", "User-Agent": "Studio-Webhooks/1",
                   EVENT_HEADER: event, DELIVERY_HEADER: record["delivery_id"],
                   SIGNATURE_HEADER: sign(self.secret, body)}
        delays = (0.0, *retry_delays_s)
        policy = AddressPolicy(self.ctx.settings.allowed_private_hosts)
        async with httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False,
                                     event_hooks={"request": [policy.on_request]}) as client:
            for attempt, delay in enumerate(delays, start=1):
                if delay:
                    record["next_attempt_in_s"] = delay
                    self._save_record(subject, record)
                    await asyncio.sleep(delay)
                started = time.perf_counter()
                entry: dict[str, Any] = {"attempt": attempt, "at": now_iso("milliseconds")}
                status: int | None = None
                try:
                    response = await client.post(url, content=body, headers=headers)
                    status = entry["status_code"] = response.status_code
                except OutboundRefused as exc:  # the address is inside: asking again will not change that
                    entry["error"] = f"refused: {exc}"
                    record["attempts"].append(entry)
                    record["status"] = "failed"
                    log.warning("webhook %s not sent: %s", event, exc)
                    break
                except httpx.HTTPError as exc:
                    entry["error"] = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                entry["duration_ms"] = round((time.perf_counter() - started) * 1000.0, 1)
                record["attempts"].append(entry)
                record.pop("next_attempt_in_s", None)
                if status is not None and 200 <= status < 300:
                    record["status"] = "delivered"
                    break
                if not _retryable(status) or attempt == len(delays):
                    record["status"] = "failed"
                    log.warning("webhook %s to %s failed after %d attempt(s): %s", event, url, attempt,
                                entry.get("error") or f"HTTP {status}")
                    break
        self._save_record(subject, record)

    @property
    def in_flight(self) -> int:
        """Deliveries under way (attempting or waiting to retry)."""
        return sum(1 for task in self._tasks if not task.done())

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait for the deliveries under way (tests, shutdown)."""
        tasks = [t for t in self._tasks if not t.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)

    # --- records --------------------------------------------------------------------------------
    def _records_path(self, subject: str) -> Path:
        safe = "".join(ch for ch in subject if ch.isalnum() or ch in "_-")[:80] or "unknown"
        return self.ctx.settings.home / "webhooks" / f"{safe}.json"

    def deliveries(self, subject: str) -> list[dict[str, Any]]:
        path = self._records_path(subject)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return data if isinstance(data, list) else []

    def _save_record(self, subject: str, record: dict[str, Any]) -> None:
        records = self.deliveries(subject)
        for index, existing in enumerate(records):
            if existing.get("delivery_id") == record["delivery_id"]:
                records[index] = record
                break
        else:
            records.append(record)
        path = self._records_path(subject)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(records, indent=1), encoding="utf-8")
        os.replace(tmp, path)
