"""Voice matching: recordings of one speaker fit the built-in voice's pitch, intonation range and
formants (studio/engine/instruments/voice_match.py); the result is a `voices` row whose transform a
character may use instead of its own timbre. Not a neural voice clone."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from studio.connectors.outbound import AddressPolicy, OutboundRefused
from studio.db.models import Character, MediaFile, Voice
from studio.db.store import new_id
from studio.jobs import COMPLETED, JobContext, JobError, JobHandler
from studio.services.voices.common import CLONE_KIND, MAX_SAMPLE_BYTES, VoiceError
from studio.timeutil import utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.voices.characters import Characters

# Voice matching before any was measured here: a fixed part (the base voice, 6 candidate renders)
# plus the speaker's analysis per second of samples (WORLD harvest and envelopes, ~0.5x real time).
ASSUMED_CLONE_FIXED_S = 25.0
ASSUMED_CLONE_S_PER_S = 0.5
SAMPLE_DOWNLOAD_TIMEOUT_S = 30.0
_MB = 1024 * 1024


def _read_local_sample(path: Path, given: str) -> bytes:
    """Blocking (run it off the loop): the bytes of a local recording, at most MAX_SAMPLE_BYTES."""
    if not path.is_file():
        raise VoiceError(f"audio_path '{given}' is not a file on this machine", field="audio_path", http_status=400)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_SAMPLE_BYTES + 1)  # never more than the limit, even if the file grows
    except OSError as exc:
        raise VoiceError(f"audio_path '{given}' could not be read: {exc.strerror or exc}", field="audio_path",
                         http_status=400) from None
    if len(data) > MAX_SAMPLE_BYTES:
        raise VoiceError(f"'{path.name}' is larger than {MAX_SAMPLE_BYTES // _MB} MB", http_status=413)
    return data


async def _download_sample(url: str, policy: AddressPolicy) -> bytes:
    """The body of `url`, streamed and cut off past MAX_SAMPLE_BYTES; only from addresses `policy`
    allows, checked again on every redirect."""
    try:
        async with httpx.AsyncClient(timeout=SAMPLE_DOWNLOAD_TIMEOUT_S, follow_redirects=True, max_redirects=5,
                                     event_hooks={"request": [policy.on_request]}) as client:
            async with client.stream("GET", url) as resp:
                if resp.status_code != 200:
                    raise VoiceError(f"audio_url answered HTTP {resp.status_code}", field="audio_url", http_status=400)
                chunks, size = [], 0
                async for chunk in resp.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_SAMPLE_BYTES:
                        raise VoiceError(f"audio_url is larger than {MAX_SAMPLE_BYTES // _MB} MB", http_status=413)
                    chunks.append(chunk)
    except OutboundRefused as exc:
        raise VoiceError(f"audio_url is not fetched: {exc}", field="audio_url", http_status=400) from None
    except httpx.TooManyRedirects:
        raise VoiceError("audio_url redirects too many times", field="audio_url", http_status=400) from None
    except (httpx.HTTPError, httpx.InvalidURL):
        # one text for refused, reset and timed-out connections: the answer must not map ports
        raise VoiceError("could not download audio_url: its server did not send the file", field="audio_url",
                         http_status=400) from None
    return b"".join(chunks)


class VoiceMatching:
    def __init__(self, ctx: "Context", *, characters: "Characters") -> None:
        self.ctx = ctx
        self.characters = characters  # a voice matched for a character becomes its voice

    def job_handlers(self) -> list[JobHandler]:
        return [JobHandler(kind=CLONE_KIND, run=self._run_clone, complete=self._complete_clone, id_prefix="clone")]

    def on_job_event(self, name: str, data: dict[str, Any]) -> None:
        """A failed or cancelled match marks its voice row (loop thread)."""
        if name not in ("job_failed", "job_cancelled") or data.get("kind") != CLONE_KIND:
            return
        with self.ctx.db.session() as s:
            voice = s.get(Voice, (data.get("params") or {}).get("voice_id"))
            if voice is not None:
                voice.status = "failed" if name == "job_failed" else "cancelled"
                voice.updated_at = utcnow()
                voice.profile = {**(voice.profile or {}), "error": data.get("error")}

    def inspect_sample(self, path: Path) -> dict[str, Any]:
        """What voice matching would make of one recording: its facts, or {"error": why not}."""
        from studio.engine.instruments.voice_match import check_sample

        try:
            return check_sample(Path(path).read_bytes(), Path(path).name)
        except (ValueError, OSError) as exc:
            return {"error": str(exc), "duration_s": 0.0}

    async def read_sample(self, *, audio_path: str | None = None, audio_url: str | None = None) -> tuple[bytes, str]:
        """(bytes, file name) of one recording named by a local path or an http(s) URL (the path wins
        when both are given). The file is read on a worker thread and the URL fetched asynchronously,
        so the loop never waits on either. VoiceError 400 / 413 says what is wrong."""
        if audio_path:
            from studio.engine.instruments.voice_match import FORMATS

            try:
                path = self.ctx.settings.allowed_path(audio_path, "audio_path")
            except PermissionError as exc:
                raise VoiceError(str(exc), field="audio_path", http_status=403) from None
            except ValueError as exc:
                raise VoiceError(str(exc), field="audio_path", http_status=400) from None
            if path.suffix.lower() not in FORMATS:  # never read a file that cannot be a recording
                raise VoiceError(f"audio_path must be a WAV, FLAC, OGG or MP3 file, not '{path.suffix or path.name}'",
                                 field="audio_path", http_status=400)
            return await asyncio.to_thread(_read_local_sample, path, audio_path), path.name
        if audio_url:
            if not audio_url.startswith(("http://", "https://")):
                raise VoiceError("audio_url must be an http(s) URL", field="audio_url", http_status=400)
            data = await _download_sample(audio_url, AddressPolicy(self.ctx.settings.allowed_private_hosts))
            return data, Path(httpx.URL(audio_url).path).name or "sample.wav"
        raise VoiceError("send audio_url or audio_path (JSON), or audio_samples as multipart/form-data",
                         field="audio_url", http_status=400)

    async def submit_clone_from(self, *, name: str, description: str = "", character_id: str | None = None,
                                audio_path: str | None = None, audio_url: str | None = None) -> dict[str, Any]:
        """`submit_clone` with one recording named by a local path or a URL (see `read_sample`)."""
        sample = await self.read_sample(audio_path=audio_path, audio_url=audio_url)
        return self.submit_clone([sample], name=name, description=description, character_id=character_id)

    def submit_clone(self, samples: list[tuple[bytes, str]], *, name: str, description: str = "",
                     character_id: str | None = None) -> dict[str, Any]:
        """Validate the samples now (format, length, level), store them, queue the fitting.
        Nothing is stored when a sample is refused."""
        from studio.engine.instruments.voice_match import MAX_TOTAL_S, MIN_TOTAL_S, check_sample

        name = (name or "").strip()
        if not name:
            raise VoiceError("voice_name is required", field="voice_name")
        if character_id is not None:
            self.characters.get_character(character_id)
        if not samples:
            raise VoiceError("no audio samples: send one or more files as audio_samples", field="audio_samples",
                             http_status=400)
        checked = []
        for data, filename in samples:
            try:
                checked.append(check_sample(data, filename))
            except ValueError as exc:
                raise VoiceError(f"{filename or 'sample'}: {exc}", field="audio_samples", http_status=400) from None
        total_s = sum(c["duration_s"] for c in checked)
        if not MIN_TOTAL_S <= total_s <= MAX_TOTAL_S:
            raise VoiceError(f"the samples last {total_s:.1f} s in all; voice matching needs {MIN_TOTAL_S:g} s to "
                             f"{MAX_TOTAL_S / 60:g} min", field="audio_samples", http_status=400)
        sample_ids = []
        rows = []
        for (data, filename), info in zip(samples, checked):
            stored = self.ctx.store.write_bytes(data, prefix="sample", extension=info["extension"])
            sample_ids.append(stored.id)
            rows.append(MediaFile(id=stored.id, kind="voice_sample", mime_type=info["mime_type"],
                                  size_bytes=stored.size_bytes, sha256=stored.sha256,
                                  display_name=(filename or stored.id)[:255]))
        estimate, basis = self.estimate_clone_s(total_s)
        voice_id = new_id("voice")
        # The transform is fitted on the character's base voice (the male default without a character).
        base_voice = (self.characters.get_character(character_id)["voice_settings"].get("base_voice")
                      if character_id else None)
        job = self.ctx.jobs.submit(CLONE_KIND, {"voice_id": voice_id, "sample_ids": sample_ids,
                                                "base_voice": base_voice},
                                   title=f"Voice matching: {name}"[:200])
        with self.ctx.db.session() as s:
            for row in rows:
                s.add(row)
            s.add(Voice(id=voice_id, name=name[:100], description=(description or "")[:1000], character_id=character_id,
                        status="processing", job_id=job["id"],
                        profile={"sample_ids": sample_ids, "samples": [{"filename": f, **i} for (_d, f), i in zip(samples, checked)],
                                 "total_duration_s": round(total_s, 2)}))
        return {"clone_id": job["id"], "voice_id": voice_id, "samples_uploaded": len(samples),
                "total_duration": round(total_s, 2), "estimated_time": estimate, "estimate_basis": basis,
                "warnings": [w for c in checked for w in c.get("warnings", [])]}

    def estimate_clone_s(self, total_duration_s: float) -> tuple[float, str]:
        """(seconds a voice match of `total_duration_s` of samples takes, basis), from past matches."""
        from studio.engine.instruments.voice_match import MAX_ANALYSED_S

        analysed = min(total_duration_s, MAX_ANALYSED_S)
        _total, jobs = self.ctx.jobs.list(kinds=[CLONE_KIND], status=COMPLETED, limit=10)
        rates = [(j["result"]["wall_s"], j["result"]["profile"]["analysed_s"]) for j in jobs
                 if (j.get("result") or {}).get("wall_s") and (j["result"].get("profile") or {}).get("analysed_s")]
        if not rates:
            return round(ASSUMED_CLONE_FIXED_S + analysed * ASSUMED_CLONE_S_PER_S, 1), (
                "no voice match measured on this machine yet; assuming "
                f"{ASSUMED_CLONE_FIXED_S:g} s + {ASSUMED_CLONE_S_PER_S:g} s per second of samples")
        fixed = statistics.median(wall - seconds * ASSUMED_CLONE_S_PER_S for wall, seconds in rates)
        return (round(max(1.0, fixed) + analysed * ASSUMED_CLONE_S_PER_S, 1),
                f"median of the last {len(rates)} voice matches here")

    def _run_clone(self, job: JobContext) -> dict[str, Any]:
        from studio.engine.instruments.voice_match import fit_voice

        paths = [self.ctx.store.path(media_id) for media_id in job.params["sample_ids"]]
        started = time.perf_counter()
        base_id = job.params.get("base_voice")
        base_voice = self.characters.catalog.engine_base_voice(base_id)
        result = fit_voice(paths, base_voice=base_voice, progress=lambda f, stage: job.progress(100 * f, stage))
        if base_id:  # the transform belongs to the base voice it was fitted on
            result["transform"]["base_voice"] = base_id
        return {**result, "wall_s": round(time.perf_counter() - started, 2)}

    def _complete_clone(self, job, result: dict[str, Any]) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            row = s.get(Voice, (job.params or {}).get("voice_id"))
            if row is None:
                raise JobError("the voice was deleted while it was being matched", code="VOICE_DELETED")
            row.transform = result["transform"]
            row.profile = {**(row.profile or {}), **result["profile"]}
            row.status, row.updated_at = "ready", utcnow()
            if row.character_id:  # a voice matched for a character becomes its voice
                char = s.get(Character, row.character_id)
                if char is not None:
                    char.voice = {**(char.voice or {}), "voice_id": row.id}
        return result
