"""Music area: generation jobs, the track library, credits and analytics.

One service behind the GUI's Create/Library panels and both documented API families (seed 000
`/api/music/...`, seed 001 `/api/v1/ai/...`).

- A generation is a `music.generate` job (id `gen_...`). Its handler runs the engine pipeline in
  a worker thread into a scratch folder; on completion (loop thread) the files are moved into
  the media store under ids derived from the job id (`gen_x.mp3`, `gen_x.drums.wav`, ...) and a
  `Track` row is written. A crash before that leaves no track and no stray media; the job is
  re-queued at the next start and renders again from its stored (resolved) spec.
- Credits are a local compute budget: `Settings.daily_credits` per UTC day (0 = unlimited),
  each generation costs `CREDITS_PER_MINUTE` per minute of requested audio. Failed and
  cancelled generations give their credits back.
- Time estimates come from the measured speed of this machine's recent generations.
- Seed 001 adds titled submissions, batches (a `concurrent_generations` cap: members beyond it
  are job rows held queued until a slot frees; a restart simply queues them) and playlists
  (tracks planned from one base by `plan_playlist`, then a `music.playlist` job, held until the
  tracks finish, joins them into one continuous mix with `mix_tracks`).
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import statistics
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, cast, func, select

from studio.db.models import Job, MediaFile, Track, utcnow
from studio.db.store import new_id
from studio.services.media import media_file
from studio.jobs import CANCELLED, COMPLETED, FAILED, PROCESSING, QUEUED, JobCancelled, JobContext, JobError, JobHandler

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.voices import VoicesService
    from studio.engine.io.export import TrackMetadata

GENERATE_KIND = "music.generate"
PLAYLIST_KIND = "music.playlist"  # a playlist's continuous mix, run once its tracks have finished
CREDITS_PER_MINUTE = 10.0
CONVERTIBLE_AUDIO = ("wav", "flac", "ogg", "mp3")  # can be encoded from the master after the render
LOSSLESS_MASTERS = ("wav", "flac")
# Until this machine has finished a generation there is no measured speed; the estimate then
# assumes this real-time factor and says so (`estimate_basis`).
ASSUMED_REALTIME_FACTOR = 4.0
SPEED_SAMPLES = 10  # recent generations the speed estimate is the median of

MIME_TYPES = {
    "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "mp3": "audio/mpeg", "mid": "audio/midi",
    "lrc": "text/plain; charset=utf-8", "txt": "text/plain; charset=utf-8", "json": "application/json",
    "mp4": "video/mp4", "png": "image/png",
}
# export_track's result key -> (media id suffix, media kind)
FILE_SUFFIXES = {
    "wav": ("wav", "audio"), "flac": ("flac", "audio"), "ogg": ("ogg", "audio"), "mp3": ("mp3", "audio"),
    "midi": ("mid", "midi"), "lrc": ("lrc", "lyrics"), "lyrics_json": ("lyrics.json", "lyrics"),
    "chords": ("chords.json", "chords"), "chords_txt": ("chords.txt", "chords"), "score": ("score.json", "score"),
}


class InsufficientCredits(Exception):
    def __init__(self, needed: float, balance: float) -> None:
        super().__init__(f"this generation needs {needed:g} credits but {balance:g} are left today; "
                         "shorten it, wait for tomorrow's allowance or raise daily_credits in Settings")
        self.needed = needed
        self.balance = balance


class SingerError(Exception):
    """The singer a generation names does not exist or is not ready; `http_status` says which."""

    def __init__(self, http_status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.message = message


class FormatUnavailable(Exception):
    """The track has no file in that format and none can be made (no master audio to encode from)."""


class UnknownTrack(KeyError):
    pass


def measured_realtime_factor(ctx: "Context") -> float | None:
    """Median audio-seconds per wall-second of this machine's recent generations."""
    _total, jobs = ctx.jobs.list(kind=GENERATE_KIND, status=COMPLETED, limit=SPEED_SAMPLES)
    factors = [j["result"]["realtime_factor"] for j in jobs if (j.get("result") or {}).get("realtime_factor")]
    return statistics.median(factors) if factors else None


def credits_for(duration_s: float) -> float:
    return round(CREDITS_PER_MINUTE * duration_s / 60.0, 2)


def iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


def _day_start(now: datetime) -> datetime:
    return now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


class MusicService:
    def __init__(self, ctx: "Context", *, voices: "VoicesService") -> None:
        self.ctx = ctx
        self.voices = voices  # singers for sung generations
        self.work_root = ctx.settings.home / "work"
        self._lock = threading.Lock()
        self._held: set[str] = set()  # job rows queued but kept off the workers (batch slots, playlist mixes)
        self._conversion_locks: dict[tuple[str, str], asyncio.Lock] = {}

    # --- catalogue: what the engine offers, for forms and pickers (the UI never imports the engine) --
    @staticmethod
    def styles() -> dict[str, Any]:
        """Style id -> Style (name, genre, tempo_min/max, ...), from resources/music/styles.toml."""
        from studio.engine.composition.styles import styles

        return styles()

    @staticmethod
    def vocals_verb(style_id: str | None) -> str:
        """"rapped" (hip-hop styles) or "sung": how a singer voices the style's lyrics."""
        from studio.engine.composition.styles import vocals_verb

        return vocals_verb(style_id)

    @staticmethod
    def find_style(text: str):
        from studio.engine.composition.styles import find_style

        return find_style(text)

    @staticmethod
    def moods() -> list[str]:
        from studio.engine.composition.styles import moods

        return sorted(moods())

    @staticmethod
    def note_names() -> tuple[str, ...]:
        from studio.engine.composition.spec import NOTE_NAMES

        return tuple(NOTE_NAMES)

    @staticmethod
    def normalise_key(text: str) -> str:
        """'Eb minor' / 'F#_major' -> the engine's key name; ValueError when it is not a key."""
        from studio.engine.composition.spec import key_name, parse_key

        return key_name(*parse_key(text))

    @staticmethod
    def relative_key(key: str) -> str | None:
        """The relative major/minor of an engine key name ("D_minor" -> "F_major"); None for a non-key."""
        from studio.engine.composition.spec import relative_key

        try:
            return relative_key(key)
        except ValueError:
            return None

    @staticmethod
    def instrument_roles() -> dict[str, Any]:
        """Instrument word -> (role it plays, instrument choice with its label)."""
        from studio.engine.composition.composer import INSTRUMENT_ROLES

        return INSTRUMENT_ROLES

    def preview(self, spec_fields: dict[str, Any]):
        """What a request is understood as (the resolved spec), without rendering anything.
        Raises pydantic.ValidationError naming the bad field, SingerError for an unknown singer."""
        from studio.engine.composition.spec import GenerationSpec, resolve_spec

        return resolve_spec(GenerationSpec.model_validate(self.with_singer(spec_fields)))

    # --- jobs -------------------------------------------------------------------------------------
    def job_handlers(self) -> list[JobHandler]:
        return [JobHandler(kind=GENERATE_KIND, run=self._run, complete=self._complete, id_prefix="gen",
                           progress_event="generation_progress", progress_payload=self._progress_payload),
                JobHandler(kind=PLAYLIST_KIND, run=self._run_playlist_mix, complete=self._complete_playlist_mix,
                           id_prefix="playlist")]

    def _progress_payload(self, job: dict[str, Any]) -> dict[str, Any]:
        remaining = self.estimate_remaining_s(job)
        return {"generation_id": job["id"], "status": job["status"], "progress": job["progress"],
                "stage": job["stage"], "estimated_remaining": remaining, "estimated_remaining_s": remaining,
                "track_id": (job.get("result") or {}).get("track_id"), "error": job.get("error")}

    # --- submission -------------------------------------------------------------------------------
    def submit(self, spec_fields: dict[str, Any], *, source: str = "api", title: str | None = None,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Validate and queue one generation. Raises pydantic.ValidationError (bad fields) or
        InsufficientCredits. Returns the job dict plus `resolved_spec`, `credits_used` and estimates.
        A `title` names the track and its files (the prompt does otherwise)."""
        return self.submit_generation(spec_fields, title=title, source=source, extra=extra)

    def _submit_resolved(self, resolved, *, source: str, title: str | None, extra: dict[str, Any] | None = None,
                         duration_s: float | None = None, job_id: str | None = None,
                         hold_stage: str | None = None) -> dict[str, Any]:
        """The one place a generation job is created: credit check and submit under one lock, so
        two requests cannot overspend. `hold_stage` keeps the row queued but off the workers."""
        cost = credits_for(duration_s if duration_s is not None else resolved.duration_s)
        with self._lock:
            balance = self.credit_balance()
            if balance is not None and cost > balance + 1e-9:
                raise InsufficientCredits(cost, balance)
            params = {"spec": resolved.model_dump(mode="json"), "credits": cost, "source": source, **(extra or {})}
            if hold_stage:
                job = self._hold_job(GENERATE_KIND, params, title=title or resolved.title, stage=hold_stage,
                                     job_id=job_id or new_id("gen"))
            else:
                job = self.ctx.jobs.submit(GENERATE_KIND, params, title=title or resolved.title, job_id=job_id)
        job["resolved_spec"] = params["spec"]
        job["credits_used"] = cost
        job["queue_position"] = self.ctx.jobs.queue_position(job["id"])
        job["estimated_time_s"] = self.estimate_time_s(job)
        return job

    def submit_extend(self, track_id: str, additional_duration_s: float, *, seed: int | None = None,
                      source: str = "api", extra: dict[str, Any] | None = None) -> dict[str, Any]:
        from studio.engine.pipeline.generate import MAX_DURATION_S

        track = self.track_row(track_id)
        if "score" not in (track["files_raw"] or {}):
            raise ValueError(f"track {track_id} has no stored score, so it cannot be extended")
        if not 1.0 <= additional_duration_s <= MAX_DURATION_S - track["duration_s"]:
            raise ValueError(f"additional_duration must be between 1 and {MAX_DURATION_S - track['duration_s']:g} "
                             f"seconds for this track (the longest track is {MAX_DURATION_S:g} s)")
        from studio.engine.composition.spec import ResolvedSpec

        resolved = ResolvedSpec.model_validate(track["spec"])
        params_extra = {"extend_of": track_id, "additional_duration_s": additional_duration_s,
                        "extend_seed": seed, **(extra or {})}
        return self._submit_resolved(resolved, source=source, title=f"{track['title']} (extended)",
                                     extra=params_extra, duration_s=additional_duration_s)

    # --- the worker side ----------------------------------------------------------------------------
    def _work_dir(self, job_id: str) -> Path:
        return self.work_root / job_id

    def _run(self, job: JobContext) -> dict[str, Any]:
        from studio.engine.pipeline.generate import Cancelled, extend, generate, load_score
        from studio.engine.composition.spec import ResolvedSpec

        params = job.params
        spec = ResolvedSpec.model_validate(params["spec"])
        work = self._work_dir(job.job_id)
        shutil.rmtree(work, ignore_errors=True)  # a re-run after a crash starts clean
        work.mkdir(parents=True)
        settings = self.ctx.settings
        common = dict(out_dir=work, basename="track", soundfont=settings.soundfont_path, device=settings.device,
                      progress=lambda fraction, stage: job.progress(100.0 * fraction, stage),
                      cancel=lambda: job.cancelled)
        try:
            if params.get("extend_of"):
                score_id = self.track_row(params["extend_of"])["files_raw"]["score"]
                previous = load_score(self.ctx.store.path(score_id))
                previous.spec = spec
                result = extend(previous, float(params["additional_duration_s"]), seed=params.get("extend_seed"), **common)
            else:
                result = generate(spec, **common)
        except Cancelled:
            shutil.rmtree(work, ignore_errors=True)
            raise JobCancelled() from None
        except (ValueError, FileNotFoundError, KeyError) as exc:
            shutil.rmtree(work, ignore_errors=True)
            raise JobError(str(exc), code="GENERATION_FAILED") from None
        summary = result.summary()
        wall = sum(result.timings_s.values())
        return {"work_dir": str(work), "summary": summary, "wall_s": round(wall, 3),
                "realtime_factor": round(result.duration_s / max(wall, 1e-9), 2)}

    def _complete(self, job: Job, result: dict[str, Any]) -> dict[str, Any]:
        """Loop thread: move the files into the media store and record the track."""
        summary = result["summary"]
        files: dict[str, Any] = {}
        media_rows: list[MediaFile] = []

        def adopt(path: str, suffix: str, kind: str, label: str) -> str:
            media_id = f"{job.id}.{suffix}"
            stored = self.ctx.store.adopt(Path(path), media_id=media_id)
            extension = suffix.rsplit(".", 1)[-1]
            media_rows.append(MediaFile(id=media_id, kind=kind, mime_type=MIME_TYPES.get(extension, "application/octet-stream"),
                                        size_bytes=stored.size_bytes, sha256=stored.sha256, display_name=label,
                                        job_id=job.id))
            return media_id

        title = summary["resolved_spec"]["title"]
        safe_title = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in title).strip() or "track"
        for key, path in summary["files"].items():
            if key == "stems":
                files["stems"] = {stem: adopt(p, f"{stem}.wav", "stem", f"{safe_title} ({stem}).wav")
                                  for stem, p in path.items()}
            elif key in FILE_SUFFIXES:
                suffix, kind = FILE_SUFFIXES[key]
                files[key] = adopt(path, suffix, kind, f"{safe_title}.{suffix}")
        shutil.rmtree(result["work_dir"], ignore_errors=True)

        spec = summary["resolved_spec"]
        params = job.params or {}
        track_id = new_id("trk")
        analysis = dict(summary["analysis"])
        analysis["tags"] = summary["tags"]
        analysis["tagger_model"] = summary["tagger_model"]
        analysis["master"] = summary["master"]
        analysis["sections"] = summary["sections"]
        analysis["timings_s"] = summary["timings_s"]
        analysis["device"] = summary["device"]
        lyrics = None
        if "lyrics_json" in files:
            import json

            lyrics = json.loads(self.ctx.store.path(files["lyrics_json"]).read_text())
        with self.ctx.db.session() as s:
            for row in media_rows:
                s.merge(row)
            s.add(Track(
                id=track_id, generation_id=job.id, title=title[:200], prompt=(params.get("prompt") or spec.get("title")),
                style=spec["style"], genre=spec["genre"], mood=spec["mood"], tempo_bpm=spec["tempo_bpm"], key=spec["key"],
                duration_s=summary["duration_s"], seed=spec["seed"], instrumental=int(spec["instrumental"]),
                tags=list(spec.get("tags") or []), spec=spec, files=files, analysis=analysis,
                quality=summary["quality_metrics"], lyrics=lyrics, parent_track_id=params.get("extend_of"),
                credits_used=float(params.get("credits", 0.0)), description=params.get("description"),
            ))
        return {"track_id": track_id, "duration_s": summary["duration_s"], "files": files,
                "wall_s": result["wall_s"], "realtime_factor": result["realtime_factor"],
                "quality_metrics": summary["quality_metrics"],
                "estimated": summary["requested_vs_estimated"], "tags": summary["tags"][:5]}

    # --- estimates ------------------------------------------------------------------------------
    def measured_realtime_factor(self) -> float | None:
        """Median audio-seconds per wall-second of this machine's recent generations."""
        return measured_realtime_factor(self.ctx)

    def _job_audio_s(self, job: dict[str, Any]) -> float:
        params = job.get("params") or {}
        if params.get("additional_duration_s"):
            return float(params["spec"]["duration_s"]) + float(params["additional_duration_s"])
        return float(params.get("spec", {}).get("duration_s", 60.0))

    def estimate_time_s(self, job: dict[str, Any]) -> float:
        """Seconds until `job` is done: its own render plus the queue ahead of it."""
        factor = self.measured_realtime_factor() or ASSUMED_REALTIME_FACTOR
        own = self._job_audio_s(job) / factor
        ahead = 0.0
        _n, waiting = self.ctx.jobs.list(kind=GENERATE_KIND, status=QUEUED, limit=1000, newest_first=False)
        _m, running = self.ctx.jobs.list(kind=GENERATE_KIND, status=PROCESSING, limit=100)
        for other in running:
            if other["id"] != job["id"]:
                ahead += self._job_audio_s(other) / factor * (1.0 - other["progress"] / 100.0)
        for other in waiting:
            if other["id"] == job["id"]:
                break
            ahead += self._job_audio_s(other) / factor
        workers = max(1, self.ctx.jobs.max_concurrent)
        return round(own + ahead / workers, 1)

    def estimate_remaining_s(self, job: dict[str, Any]) -> float | None:
        if job["status"] not in (QUEUED, PROCESSING):
            return 0.0 if job["status"] == COMPLETED else None
        factor = self.measured_realtime_factor() or ASSUMED_REALTIME_FACTOR
        if job["status"] == PROCESSING:
            return round(self._job_audio_s(job) / factor * (1.0 - job["progress"] / 100.0), 1)
        return self.estimate_time_s(job)

    def estimate_basis(self) -> str:
        factor = self.measured_realtime_factor()
        if factor is None:
            return f"no generation measured on this machine yet; assuming {ASSUMED_REALTIME_FACTOR:g}x real time"
        return f"median speed of the last {SPEED_SAMPLES} generations here: {factor:.1f}x real time"

    # --- credits ----------------------------------------------------------------------------------
    def credits_used_since(self, since: datetime) -> float:
        """Credits of generations since `since` that did not fail or get cancelled."""
        with self.ctx.db.session() as s:
            rows = s.execute(select(Job.params, Job.status).where(Job.kind == GENERATE_KIND, Job.created_at >= since)).all()
        return round(sum(float((p or {}).get("credits", 0.0)) for p, status in rows if status not in (FAILED, CANCELLED)), 2)

    def credit_balance(self) -> float | None:
        """Credits left today; None when the allowance is unlimited."""
        allowance = self.ctx.settings.daily_credits
        if not allowance:
            return None
        return max(0.0, round(allowance - self.credits_used_since(_day_start(utcnow())), 2))

    def credits(self) -> dict[str, Any]:
        now = utcnow()
        allowance = self.ctx.settings.daily_credits
        used = self.credits_used_since(_day_start(now))
        balance = self.credit_balance()
        return {
            "credits": balance if balance is not None else "unlimited",
            "credits_used_today": used,
            "daily_allowance": allowance or "unlimited",
            "credits_per_minute": CREDITS_PER_MINUTE,
            "subscription_type": "local",
            "renewal_date": iso(_day_start(now) + timedelta(days=1)),
        }

    # --- tracks ---------------------------------------------------------------------------------------
    def track_row(self, track_id: str) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            track = s.get(Track, track_id)
            if track is None:
                raise UnknownTrack(track_id)
            return self._track_dict(track)

    def track_for_generation(self, generation_id: str) -> dict[str, Any] | None:
        with self.ctx.db.session() as s:
            track = s.scalars(select(Track).where(Track.generation_id == generation_id)).first()
            return self._track_dict(track) if track else None

    @staticmethod
    def _track_dict(track: Track) -> dict[str, Any]:
        return {
            "id": track.id, "generation_id": track.generation_id, "title": track.title,
            "description": track.description, "prompt": track.prompt, "style": track.style, "genre": track.genre,
            "mood": track.mood, "tempo_bpm": track.tempo_bpm, "key": track.key, "duration_s": track.duration_s,
            "seed": track.seed, "instrumental": bool(track.instrumental), "tags": list(track.tags or []),
            "is_public": bool(track.is_public), "spec": track.spec, "files_raw": track.files or {},
            "analysis": track.analysis or {}, "quality": track.quality or {}, "lyrics": track.lyrics,
            "parent_track_id": track.parent_track_id, "credits_used": track.credits_used,
            "download_count": track.download_count, "play_count": track.play_count,
            "created_at": iso(track.created_at), "updated_at": iso(track.updated_at),
        }

    def list_tracks(self, *, search: str | None = None, style: str | None = None, tag: str | None = None,
                    created_after: datetime | None = None, limit: int = 50, offset: int = 0,
                    sort_by: str = "created_at", descending: bool = True) -> tuple[int, list[dict[str, Any]]]:
        """Tracks matching every filter given: `search` in title/prompt/style/tags, an exact
        `style` id, a user `tag`, made after `created_after`."""
        column = {"created_at": Track.created_at, "title": Track.title, "duration": Track.duration_s,
                  "tempo": Track.tempo_bpm, "style": Track.style}.get(sort_by, Track.created_at)
        with self.ctx.db.session() as s:
            query = select(Track)
            if search:
                like = f"%{search.lower()}%"
                query = query.where(func.lower(Track.title).like(like) | func.lower(Track.prompt).like(like)
                                    | func.lower(Track.style).like(like) | func.lower(cast(Track.tags, String)).like(like))
            if style:
                query = query.where(Track.style == style)
            if tag:  # tags are a JSON list of strings: match the quoted element in its text form
                query = query.where(cast(Track.tags, String).like(f'%{json.dumps(tag)}%'))
            if created_after is not None:
                query = query.where(Track.created_at >= created_after)
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = s.scalars(query.order_by(column.desc() if descending else column.asc()).limit(limit).offset(offset)).all()
            return total, [self._track_dict(t) for t in rows]

    def all_tags(self) -> list[str]:
        """Every user tag on a track, for filter pickers."""
        with self.ctx.db.session() as s:
            lists = s.scalars(select(Track.tags)).all()
        return sorted({t for tags in lists for t in (tags or [])}, key=str.lower)

    def update_track(self, track_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        allowed = {"title", "description", "tags", "is_public"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))}; editable: {', '.join(sorted(allowed))}")
        with self.ctx.db.session() as s:
            track = s.get(Track, track_id)
            if track is None:
                raise UnknownTrack(track_id)
            for key, value in changes.items():
                setattr(track, key, int(value) if key == "is_public" else value)
            track.updated_at = utcnow()
            s.flush()
            data = self._track_dict(track)
        self.ctx.events.publish("track_updated", {"track_id": track_id})
        return data

    def delete_track(self, track_id: str) -> int:
        """Remove the track and its files; returns how many files were deleted."""
        with self.ctx.db.session() as s:
            track = s.get(Track, track_id)
            if track is None:
                raise UnknownTrack(track_id)
            ids = list(_media_ids(track.files or {}))
            s.delete(track)
            for media_id in ids:
                row = s.get(MediaFile, media_id)
                if row is not None:
                    s.delete(row)
        deleted = sum(self.ctx.store.delete(media_id) for media_id in ids)
        self.ctx.events.publish("track_deleted", {"track_id": track_id})
        return deleted

    def conversion_source(self, track: dict[str, Any], fmt: str) -> tuple[Path, TrackMetadata]:
        """(master audio file, tags) to encode `track` as `fmt` from, for a format it was not
        rendered in; FormatUnavailable when `fmt` is not an audio format or there is no master."""
        from studio.engine.io.export import TrackMetadata

        files = track.get("files_raw") or {}
        if fmt not in CONVERTIBLE_AUDIO:
            raise FormatUnavailable(f"only audio formats ({', '.join(CONVERTIBLE_AUDIO)}) can be made after the "
                                    f"render; '{fmt}' comes from the render itself")
        source_id = next((files[f] for f in LOSSLESS_MASTERS if files.get(f)), None)
        if source_id is None:
            raise FormatUnavailable(f"track '{track['id']}' has no lossless master (WAV or FLAC) to encode {fmt} from")
        meta = TrackMetadata(title=track["title"], genre=track.get("genre") or "", tempo_bpm=track.get("tempo_bpm") or 0,
                             key=track.get("key") or "")
        return self.ctx.store.path(source_id), meta

    async def ensure_audio_format(self, track_id: str, fmt: str) -> str:
        """Media id of the track's audio as `fmt`: the rendered file, or the first time it is asked
        for, one encoded from the lossless master (off the loop) and kept with the track's files so
        later downloads reuse it. UnknownTrack / FormatUnavailable when that cannot be."""
        track = self.track_row(track_id)
        if (track["files_raw"] or {}).get(fmt):
            return track["files_raw"][fmt]
        source, meta = self.conversion_source(track, fmt)
        lock = self._conversion_locks.setdefault((track_id, fmt), asyncio.Lock())
        async with lock:  # two requests for the same file encode it once
            track = self.track_row(track_id)
            if (track["files_raw"] or {}).get(fmt):
                return track["files_raw"][fmt]
            temp = self.ctx.store.temp_path(f".{fmt}")
            try:
                await asyncio.to_thread(transcode_audio, source, temp, fmt, meta)
            except Exception:
                temp.unlink(missing_ok=True)
                raise
            media_id = f"{track['generation_id'] or track_id}.{fmt}"
            stored = self.ctx.store.adopt(temp, media_id=media_id)
            safe_title = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in track["title"]).strip() or "track"
            with self.ctx.db.session() as s:
                s.merge(MediaFile(id=media_id, kind="audio", mime_type=MIME_TYPES[fmt], size_bytes=stored.size_bytes,
                                  sha256=stored.sha256, display_name=f"{safe_title}.{fmt}", job_id=track["generation_id"]))
                row = s.get(Track, track_id)
                if row is None:  # deleted while encoding: drop the orphan file
                    self.ctx.store.delete(media_id)
                    raise UnknownTrack(track_id)
                row.files = {**(row.files or {}), fmt: media_id}  # a new dict, so the JSON column is saved
                row.updated_at = utcnow()
            return media_id

    def count_download(self, track_id: str) -> None:
        with self.ctx.db.session() as s:
            track = s.get(Track, track_id)
            if track is not None:
                track.download_count += 1

    def media_file(self, media_id: str) -> tuple[Path, dict[str, Any]]:
        """(path, row) of a stored file; KeyError for a malformed or unknown id."""
        return media_file(self.ctx, media_id)

    # --- seed 001 (/api/v1/ai): titled submissions, batches, playlists ---------------------------
    def submit_generation(self, spec_fields: dict[str, Any], *, title: str | None = None,
                          description: str | None = None, source: str = "api", extra: dict[str, Any] | None = None,
                          job_id: str | None = None, hold_stage: str | None = None,
                          title_suffix: str | None = None) -> dict[str, Any]:
        """Queue one generation; a `title` names the track and its files, `description` is stored with it.

        `hold_stage` keeps the job row queued but off the workers until `release_held` (a batch's
        concurrency limit); `job_id` pre-chooses the id (batch and playlist members)."""
        from studio.engine.composition.spec import GenerationSpec, resolve_spec

        resolved = resolve_spec(GenerationSpec.model_validate(self.with_singer(spec_fields)))
        if title and title.strip():
            resolved = resolved.model_copy(update={"title": title.strip()[:200]})
        elif title_suffix:
            resolved = resolved.model_copy(update={"title": f"{resolved.title} ({title_suffix})"[:200]})
        extra = dict(extra or {})
        if description:
            extra["description"] = description
        return self._submit_resolved(resolved, source=source, title=None, extra=extra, job_id=job_id,
                                     hold_stage=hold_stage)

    def with_singer(self, spec_fields: dict[str, Any]) -> dict[str, Any]:
        """A `singer` naming a character and/or a matched voice gets that voice's settings (what
        the engine sings with). SingerError for an unknown or unready one."""
        from studio.services.voices import UnknownCharacter, UnknownVoice, VoiceError

        singer = spec_fields.get("singer")
        if hasattr(singer, "model_dump"):
            singer = singer.model_dump()
        if not singer or not (singer.get("character_id") or singer.get("voice_id")):
            return spec_fields
        try:
            resolved = self.voices.singer_options(singer.get("character_id"), singer.get("voice_id"))
        except UnknownCharacter:
            raise SingerError(404, f"character '{singer.get('character_id')}' was not found (GET /api/voice/characters "
                                   "lists them)") from None
        except UnknownVoice:
            raise SingerError(404, f"voice '{singer.get('voice_id')}' was not found (GET /api/voice/list)") from None
        except VoiceError as exc:
            raise SingerError(exc.http_status, exc.message) from None
        return {**spec_fields, "singer": resolved}

    def _hold_job(self, kind: str, params: dict[str, Any], *, title: str | None, stage: str, job_id: str) -> dict[str, Any]:
        """A queued job row the workers do not see yet. A restart queues it like any other row."""
        from studio.jobs import job_to_dict

        with self.ctx.db.session() as s:
            job = Job(id=job_id, kind=kind, params=params, status=QUEUED, progress=0.0, title=title, attempts=0,
                      stage=stage)
            s.add(job)
            s.flush()
            data = job_to_dict(job)
        self._held.add(job_id)
        self.ctx.events.publish("job_queued", data)
        return data

    def release_held(self, job_id: str) -> bool:
        """Hand a held job to the workers; False when it is not held (any more) or no longer queued."""
        if job_id not in self._held:
            return False
        self._held.discard(job_id)
        with self.ctx.db.session() as s:
            job = s.get(Job, job_id)
            if job is None or job.status != QUEUED:
                return False
            job.stage, job.updated_at = None, utcnow()
            kind, params = job.kind, dict(job.params or {})
        self.ctx.jobs.enqueue_existing(job_id, kind, params)
        return True

    def submit_batch(self, items: list[dict[str, Any]], *, concurrency: int, notify_when_all_complete: bool,
                     webhook: dict[str, Any] | None = None, source: str = "api") -> dict[str, Any]:
        """Queue variations as one batch; at most `concurrency` of them run at once.

        `items`: [{"fields": spec fields, "title", "description", "extra"}]. Fields must already be
        valid (pydantic.ValidationError otherwise). All or nothing on the credit budget."""
        from studio.engine.composition.spec import GenerationSpec

        items = [{**item, "fields": self.with_singer(item["fields"])} for item in items]  # all singers exist
        durations = [GenerationSpec.model_validate(item["fields"]).duration_s for item in items]
        total_cost = round(sum(credits_for(d) for d in durations), 2)
        balance = self.credit_balance()
        if balance is not None and total_cost > balance + 1e-9:
            raise InsufficientCredits(total_cost, balance)
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
            jobs.append(self.submit_generation(item["fields"], title=item.get("title"), description=item.get("description"),
                                               source=source, extra={**(item.get("extra") or {}), **group},
                                               job_id=job_id, hold_stage=hold, title_suffix=item.get("title_suffix")))
        return {"batch_id": batch_id, "jobs": jobs, "credits_used": total_cost, "concurrency": concurrency}

    def submit_playlist(self, *, name: str, description: str | None, tracks: list[dict[str, Any]],
                        plan: dict[str, Any], webhook: dict[str, Any] | None = None,
                        source: str = "api", extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Queue a playlist's tracks (`tracks` from `plan_playlist`) and its mix job, which waits
        for them. The playlist id is the mix job's id."""
        from studio.engine.composition.spec import GenerationSpec

        tracks = [self.with_singer(fields) for fields in tracks]
        for fields in tracks:
            GenerationSpec.model_validate(fields)
        total_cost = round(sum(credits_for(float(f["duration"])) for f in tracks), 2)
        balance = self.credit_balance()
        if balance is not None and total_cost > balance + 1e-9:
            raise InsufficientCredits(total_cost, balance)
        playlist_id = new_id("playlist")
        ids = [new_id("gen") for _ in tracks]
        group: dict[str, Any] = {**(extra or {}), "playlist_id": playlist_id}
        if webhook:
            group["webhook"] = webhook
        jobs = []
        for position, (fields, job_id) in enumerate(zip(tracks, ids), start=1):
            jobs.append(self.submit_generation(
                fields, title=f"{name} - {position:02d}", source=source, job_id=job_id,
                extra={**group, "playlist_position": position}))
        params = {"name": name, "description": description, "generation_ids": ids, "plan": plan,
                  "transition": plan["transition"], "source": source}
        if webhook:
            params["webhook"] = webhook
        mix = self._hold_job(PLAYLIST_KIND, params, title=f"{name} (mix)", stage="waiting for the playlist's tracks",
                             job_id=playlist_id)
        return {"playlist_id": playlist_id, "jobs": jobs, "mix_job": mix, "credits_used": total_cost}

    def retry_generation(self, generation_id: str) -> dict[str, Any]:
        """A new generation with the same (resolved) parameters; only failed or cancelled ones.
        Raises UnknownJob, JobStateError or InsufficientCredits."""
        from studio.jobs import JobStateError, UnknownJob

        job = self.ctx.jobs.get(generation_id)
        if job["kind"] != GENERATE_KIND:
            raise UnknownJob(generation_id)
        if job["status"] not in (FAILED, CANCELLED):
            hint = ("it is still running; cancel it first or wait" if job["status"] in (QUEUED, PROCESSING)
                    else "it completed; generate again for another take (the same seed gives the same audio)")
            raise JobStateError(f"generation {generation_id} is {job['status']}: only failed or cancelled "
                                f"generations can be retried ({hint})")
        cost = float((job["params"] or {}).get("credits", 0.0))
        with self._lock:
            balance = self.credit_balance()
            if balance is not None and cost > balance + 1e-9:
                raise InsufficientCredits(cost, balance)
            new = self.ctx.jobs.retry(generation_id)
        new["queue_position"] = self.ctx.jobs.queue_position(new["id"])
        new["estimated_time_s"] = self.estimate_time_s(new)
        return new

    def on_job_event(self, name: str, data: dict[str, Any]) -> None:
        """Event bus subscriber: free batch slots, start playlist mixes, announce finished groups."""
        if name not in ("job_completed", "job_failed", "job_cancelled"):
            return
        if name == "job_cancelled":
            self._held.discard(data["id"])
        params = data.get("params") or {}
        if data.get("kind") == GENERATE_KIND:
            if params.get("batch_id") and data["id"] in (params.get("batch") or {}).get("generation_ids", []):
                self._batch_progress(params)
            if params.get("playlist_id"):
                self._playlist_progress(params["playlist_id"], data["id"])
        elif data.get("kind") == PLAYLIST_KIND:  # the mix finished, failed or was cancelled
            result = data.get("result") or {}
            self.ctx.events.publish("playlist_completed", {
                "subject_id": data["id"], "playlist_id": data["id"], "name": params.get("name"),
                "status": data["status"], "generation_ids": params.get("generation_ids", []),
                "mix": {"files": result.get("files"), "duration_s": result.get("duration_s")} if result else None,
                "error": data.get("error"), "webhook": params.get("webhook")})

    def _statuses(self, job_ids: list[str]) -> dict[str, str]:
        with self.ctx.db.session() as s:
            return dict(s.execute(select(Job.id, Job.status).where(Job.id.in_(job_ids))).all())

    def _batch_progress(self, params: dict[str, Any]) -> None:
        batch = params["batch"]
        ids = batch["generation_ids"]
        statuses = self._statuses(ids)
        active = sum(1 for i in ids if statuses.get(i) == PROCESSING
                     or (statuses.get(i) == QUEUED and i not in self._held))
        for job_id in ids:
            if active >= batch["concurrency"]:
                break
            if statuses.get(job_id) == QUEUED and self.release_held(job_id):
                active += 1
        if all(statuses.get(i) in (COMPLETED, FAILED, CANCELLED) for i in ids):
            counts = {st: sum(1 for i in ids if statuses.get(i) == st) for st in (COMPLETED, FAILED, CANCELLED)}
            self.ctx.events.publish("batch_completed", {
                "subject_id": params["batch_id"], "batch_id": params["batch_id"], "generation_ids": ids,
                "total": len(ids), **counts,
                "webhook": params.get("webhook") if batch.get("notify_when_all_complete") else None})

    def _playlist_progress(self, playlist_id: str, generation_id: str) -> None:
        if playlist_id not in self._held:
            return
        try:
            mix = self.ctx.jobs.get(playlist_id)
        except KeyError:
            return
        ids = (mix["params"] or {}).get("generation_ids", [])
        if generation_id not in ids:
            return
        statuses = self._statuses(ids)
        if all(statuses.get(i) in (COMPLETED, FAILED, CANCELLED) for i in ids):
            self.release_held(playlist_id)

    def playlist(self, playlist_id: str) -> dict[str, Any]:
        """The playlist's mix job and its tracks' jobs (UnknownJob for anything else)."""
        from studio.jobs import UnknownJob

        mix = self.ctx.jobs.get(playlist_id)
        if mix["kind"] != PLAYLIST_KIND:
            raise UnknownJob(playlist_id)
        ids = (mix["params"] or {}).get("generation_ids", [])
        with self.ctx.db.session() as s:
            from studio.jobs import job_to_dict

            rows = {j.id: job_to_dict(j) for j in s.scalars(select(Job).where(Job.id.in_(ids))).all()}
        return {"mix": mix, "tracks": [rows[i] for i in ids if i in rows]}

    # --- the playlist mix (worker thread) --------------------------------------------------------
    def _run_playlist_mix(self, job: JobContext) -> dict[str, Any]:
        import time as _time

        params = job.params
        ids: list[str] = params["generation_ids"]
        job.progress(0.0, "waiting for the playlist's tracks")
        # After a restart this job may be queued beside its tracks; they were queued first, so
        # they are running or done by now and finish without this worker.
        while True:
            statuses = self._statuses(ids)
            if all(statuses.get(i) in (COMPLETED, FAILED, CANCELLED) for i in ids):
                break
            job.check_cancelled()
            _time.sleep(0.25)
        sources: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        for position, generation_id in enumerate(ids, start=1):
            track = self.track_for_generation(generation_id)
            files = (track or {}).get("files_raw") or {}
            media_id = next((files[f] for f in ("wav", "flac", "ogg", "mp3") if files.get(f)), None)
            path = None
            if media_id:
                try:
                    path = self.ctx.store.path(media_id)
                except KeyError:
                    path = None
            if track is None or path is None:
                skipped.append({"position": position, "generation_id": generation_id,
                                "status": statuses.get(generation_id), "reason": "no finished track with audio"})
                continue
            sources.append({"position": position, "generation_id": generation_id, "track_id": track["id"],
                            "title": track["title"], "path": path})
        if not sources:
            raise JobError("none of the playlist's tracks finished, so there is nothing to mix",
                           code="PLAYLIST_EMPTY", details={"skipped": skipped})
        work = self._work_dir(job.job_id)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        transition = params["transition"]
        try:
            report = mix_tracks([s["path"] for s in sources], work / "mix.wav", work / "mix.mp3",
                                style=transition["style"], length_s=float(transition["seconds"]),
                                title=params.get("name") or "Playlist",
                                progress=lambda f, stage: job.progress(100.0 * f, stage), cancelled=lambda: job.cancelled)
        except Exception:
            shutil.rmtree(work, ignore_errors=True)
            raise
        if job.cancelled:
            shutil.rmtree(work, ignore_errors=True)
            raise JobCancelled()
        for source, placed in zip(sources, report.pop("placements")):
            source.update(placed)
            source.pop("path")
        return {"work_dir": str(work), "report": report, "tracks": sources, "skipped": skipped}

    def _complete_playlist_mix(self, job: Job, result: dict[str, Any]) -> dict[str, Any]:
        report = result["report"]
        files: dict[str, str] = {}
        rows: list[MediaFile] = []
        name = (job.params or {}).get("name") or "playlist"
        safe = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in name).strip() or "playlist"
        for fmt in ("wav", "mp3"):
            path = Path(report["files"][fmt])
            media_id = f"{job.id}.{fmt}"
            stored = self.ctx.store.adopt(path, media_id=media_id)
            rows.append(MediaFile(id=media_id, kind="playlist_mix", mime_type=MIME_TYPES[fmt], size_bytes=stored.size_bytes,
                                  sha256=stored.sha256, display_name=f"{safe} (mix).{fmt}", job_id=job.id))
            files[fmt] = media_id
        shutil.rmtree(result["work_dir"], ignore_errors=True)
        with self.ctx.db.session() as s:
            for row in rows:
                s.merge(row)
        return {"files": files, "duration_s": report["duration_s"], "sample_rate_hz": report["sample_rate_hz"],
                "bit_depth": report["bit_depth"], "transitions": report["transitions"], "tracks": result["tracks"],
                "skipped": result["skipped"], "limiter_min_gain_db": report["limiter_min_gain_db"]}

    # --- seed 001 listings and file facts ----------------------------------------------------------
    def list_generations(self, *, status: str | None = None, limit: int = 20, offset: int = 0,
                         sort_by: str = "created_at", descending: bool = True
                         ) -> tuple[int, list[dict[str, Any]], dict[str, int]]:
        """(matching total, page of job dicts, counts by status over all generations)."""
        from studio.jobs import STATUSES, job_to_dict

        duration = func.coalesce(Job.result["duration_s"].as_float(), Job.params[("spec", "duration_s")].as_float())
        column = {"created_at": Job.created_at, "updated_at": Job.updated_at, "duration": duration}[sort_by]
        with self.ctx.db.session() as s:
            query = select(Job).where(Job.kind == GENERATE_KIND)
            if status:
                query = query.where(Job.status == status)
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            order = column.desc() if descending else column.asc()
            rows = s.scalars(query.order_by(order, Job.id).limit(limit).offset(offset)).all()
            jobs = [job_to_dict(j) for j in rows]
            counts = dict(s.execute(select(Job.status, func.count()).where(Job.kind == GENERATE_KIND)
                                    .group_by(Job.status)).all())
        summary = {"total_generations": sum(counts.values()), **{st: int(counts.get(st, 0)) for st in STATUSES}}
        return total, jobs, summary

    def media_exists(self, media_id: str) -> bool:
        return self.ctx.store.exists(media_id)

    def describe_media(self, media_id: str) -> dict[str, Any]:
        """What is really in a stored file, read from the file (blocking: call it off the loop).
        KeyError when the file is unknown."""
        path, row = self.media_file(media_id)
        info: dict[str, Any] = {"media_id": media_id, "size_bytes": path.stat().st_size, "mime_type": row["mime_type"]}
        extension = media_id.rsplit(".", 1)[-1]
        if extension in ("wav", "flac", "ogg", "mp3"):
            import soundfile as sf

            try:
                sound = sf.info(str(path))
            except (RuntimeError, sf.LibsndfileError) as exc:
                info["error"] = f"unreadable: {exc}"
                return info
            info.update(sample_rate=sound.samplerate, channels=sound.channels, duration=round(sound.duration, 3),
                        codec=sound.subtype)
            bits = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64}
            if sound.subtype in bits:
                info["bit_depth"] = bits[sound.subtype]
            if extension in ("mp3", "ogg") and sound.duration > 0:
                info["bitrate_kbps"] = round(info["size_bytes"] * 8 / sound.duration / 1000.0)  # average, container included
        elif extension == "mid":
            import mido

            try:
                midi = mido.MidiFile(str(path))
                info.update(track_count=len(midi.tracks), duration=round(midi.length, 3),
                            ticks_per_beat=midi.ticks_per_beat)
            except (OSError, ValueError, EOFError) as exc:
                info["error"] = f"unreadable: {exc}"
        return info

    # --- analytics ---------------------------------------------------------------------------------
    def analytics(self, period_days: int) -> dict[str, Any]:
        since = utcnow() - timedelta(days=period_days)
        with self.ctx.db.session() as s:
            jobs = s.execute(select(Job.status, Job.params).where(Job.kind == GENERATE_KIND, Job.created_at >= since)).all()
            tracks = s.execute(select(Track.style, Track.duration_s).where(Track.created_at >= since)).all()
        finished = [status for status, _ in jobs if status in (COMPLETED, FAILED)]
        successful = sum(1 for status in finished if status == COMPLETED)
        styles: dict[str, int] = {}
        for style, _d in tracks:
            styles[style] = styles.get(style, 0) + 1
        from studio.engine.composition.styles import styles as all_styles

        names = {k: v.name for k, v in all_styles().items()}
        return {
            "total_generations": len(jobs),
            "successful_generations": successful,
            "failed_generations": len(finished) - successful,
            "success_rate": round(100.0 * successful / len(finished), 1) if finished else 0.0,
            "total_duration_minutes": round(sum(d for _s, d in tracks) / 60.0, 2),
            "credits_used": round(sum(float((p or {}).get("credits", 0.0)) for st, p in jobs
                                      if st not in (FAILED, CANCELLED)), 2),
            "top_styles": [{"style": names.get(k, k), "style_id": k, "count": n}
                           for k, n in sorted(styles.items(), key=lambda kv: (-kv[1], kv[0]))[:10]],
        }


def _media_ids(files: dict[str, Any]):
    for value in files.values():
        if isinstance(value, dict):
            yield from value.values()
        elif isinstance(value, str):
            yield value


def parse_period_days(period: str) -> int:
    """'7d', '30d', '12h' (rounded up to a day), '1y' -> days; ValueError otherwise."""
    text = (period or "").strip().lower()
    units = {"d": 1, "w": 7, "m": 30, "y": 365}
    if len(text) >= 2 and text[:-1].isdigit():
        n, unit = int(text[:-1]), text[-1]
        if unit == "h":
            return max(1, math.ceil(n / 24))
        if unit in units and n > 0:
            return n * units[unit]
    raise ValueError(f"period {period!r} is not like '7d', '30d', '12w' or '1y'")


# --- playlists: planning and the continuous mix ------------------------------------------------------

TRANSITION_STYLES = ("abrupt", "smooth", "crossfade")
# Seconds two neighbouring tracks overlap by default. abrupt: none (a 10 ms de-click at the cut);
# crossfade: equal-power curves; smooth: a longer equal-power blend with S-shaped curves that
# start and end without a step in slope.
DEFAULT_TRANSITION_S = {"abrupt": 0.0, "crossfade": 4.0, "smooth": 8.0}
DECLICK_S = 0.01
MIX_CEILING = 10 ** (-1.0 / 20.0)  # sample peak of the mix at most -1 dBFS (the tracks are mastered there)
COHESION_TEMPO_SPAN = {"high": 0.3, "medium": 0.7, "low": 1.0}  # share of tempo_range the tracks use
_HARMONY_POOL = ("piano", "rhodes", "guitar", "organ", "harp")
_MELODY_POOL = ("flute", "vibraphone", "saxophone", "bells", "synth", "violin")
_PAD_POOL = ("strings", "pad", "choir")


def transition_overlap_s(style: str, seconds: float) -> float:
    return 0.0 if style == "abrupt" else float(seconds)


def plan_playlist(base_fields: dict[str, Any], *, track_count: int, total_duration_s: float, cohesion: str,
                  transition_style: str, transition_s: float, tempo_range: tuple[float, float] | None,
                  allow_key_changes: bool, tempo_variation_bpm: float, instrumentation_variation: bool,
                  seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Spec fields for each track of a playlist and a description of the plan.

    Durations: the tracks overlap at each transition, so each lasts
    (total + (n - 1) * overlap) / n and the mix lasts `total_duration_s`.
    Tempo: spread over the middle share of `tempo_range` that `cohesion` allows (high 30 %,
    medium 70 %, low all of it); high cohesion climbs steadily, medium rises to the middle track
    and falls back, low is shuffled; then each moves by up to +-`tempo_variation_bpm` (kept inside the range).
    Key: the base key (given, or the style's) for every track unless `allow_key_changes`; then
    high cohesion moves only to the relative key, medium walks the circle of fifths one step at
    a time, low may go anywhere. Instrumentation (when allowed and none is named): the first
    track keeps the style's sounds; later ones change the pad (high), the harmony (medium) or
    the harmony and the melody (low). Everything comes from `seed`: same request, same plan.
    Raises ValueError naming the field for an impossible plan.
    """
    import numpy as np

    from studio.engine.pipeline.generate import MAX_DURATION_S
    from studio.engine.composition.spec import GenerationSpec, key_name, resolve_spec

    rng = np.random.default_rng(seed)
    n = int(track_count)
    overlap = transition_overlap_s(transition_style, transition_s)
    per_track = (float(total_duration_s) + (n - 1) * overlap) / n
    if per_track < max(1.0, 2.5 * overlap) or per_track > MAX_DURATION_S:
        low = max(1.0, 2.5 * overlap)
        raise ValueError(f"total_duration: {total_duration_s:g} s over {n} tracks makes {per_track:.1f} s a track; "
                         f"each track must last {low:g}-{MAX_DURATION_S:g} s with a {overlap:g} s {transition_style} "
                         f"(change total_duration, track_count or transition_duration)")
    base = resolve_spec(GenerationSpec.model_validate({**base_fields, "seed": seed}))

    if tempo_range is not None:
        lo, hi = sorted(float(t) for t in tempo_range)
    elif base_fields.get("tempo") is not None:
        lo = hi = float(base_fields["tempo"])
    else:
        lo = hi = base.tempo_bpm
    centre, half = (lo + hi) / 2.0, (hi - lo) / 2.0 * COHESION_TEMPO_SPAN[cohesion]
    tempos = list(np.linspace(centre - half, centre + half, n)) if n > 1 else [centre]
    if cohesion == "medium" and n > 2:  # an arc: up to the fastest in the middle, then back down
        ascending = sorted(tempos)
        tempos = ascending[::2] + ascending[1::2][::-1]
    elif cohesion == "low":
        tempos = list(rng.permutation(tempos))
    if tempo_variation_bpm:
        bound_lo, bound_hi = (lo, hi) if tempo_range is not None else (40.0, 240.0)
        tempos = [float(np.clip(t + rng.uniform(-tempo_variation_bpm, tempo_variation_bpm), bound_lo, bound_hi))
                  for t in tempos]
    tempos = [round(max(40.0, min(240.0, t)), 1) for t in tempos]

    tonic, mode = base.tonic_pitch_class, base.mode
    keys = [(tonic, mode)]

    def relative(key):
        pc, m = key
        return ((pc + 3) % 12, "major") if m == "minor" else ((pc + 9) % 12, "minor")

    for _ in range(1, n):
        previous = keys[-1]
        if not allow_key_changes:
            keys.append((tonic, mode))
        elif cohesion == "high":
            keys.append(relative(previous))
        elif cohesion == "medium":
            pc, m = previous
            options = [relative(previous), ((pc + 7) % 12, m), ((pc + 5) % 12, m)]
            keys.append(options[int(rng.integers(len(options)))])
        else:
            options = [(pc, m) for pc in range(12) for m in ("major", "minor") if (pc, m) != previous]
            keys.append(options[int(rng.integers(len(options)))])

    vary = instrumentation_variation and not base_fields.get("primary_instruments")
    pools = {"high": (_PAD_POOL,), "medium": (_HARMONY_POOL,), "low": (_HARMONY_POOL, _MELODY_POOL)}[cohesion]
    tracks: list[dict[str, Any]] = []
    for index in range(n):
        fields = {k: v for k, v in base_fields.items() if k != "seed"}
        fields.update(tempo=tempos[index], key=key_name(*keys[index]), duration=round(per_track, 2),
                      seed=int(rng.integers(0, 2**31 - 1)))
        if vary and index > 0:
            fields["primary_instruments"] = [pool[int(rng.integers(len(pool)))] for pool in pools]
        tracks.append(fields)
    plan = {
        "seed": seed, "style": base.style, "style_name": base.style_name, "mood": base.mood,
        "track_duration_s": round(per_track, 2), "tempo_range": [lo, hi],
        "transition": {"style": transition_style, "seconds": overlap if transition_style != "abrupt" else DECLICK_S},
        "tracks": [{"position": i + 1, "tempo": t["tempo"], "key": t["key"], "duration": t["duration"], "seed": t["seed"],
                    "primary_instruments": t.get("primary_instruments") or base_fields.get("primary_instruments") or []}
                   for i, t in enumerate(tracks)],
    }
    return tracks, plan


def transcode_audio(source: Path, target: Path, fmt: str, metadata: TrackMetadata) -> Path:
    """Encode an audio file as `fmt` (blocking). A PCM source going to WAV/FLAC keeps its samples
    and bit depth exactly; lossy targets are encoded from its float samples."""
    import numpy as np
    import soundfile as sf

    from studio.engine.io.export import write_audio

    subtype = sf.info(str(source)).subtype
    bit_depth = 24 if subtype == "PCM_24" else 16
    if subtype in ("PCM_16", "PCM_24"):
        frames, rate = sf.read(str(source), dtype="int16" if bit_depth == 16 else "int32", always_2d=True)
        audio = np.ascontiguousarray(frames.T)
    else:
        audio, rate, _subtype = _read_audio(source, None)
    return write_audio(target, audio, rate, fmt, bit_depth=bit_depth, metadata=metadata)


def _read_audio(path: Path, sample_rate_hz: int | None) -> tuple[Any, int, str]:
    """(channels, frames) float32 stereo, its rate (resampled to `sample_rate_hz` when given), subtype."""
    import numpy as np
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    subtype = sf.info(str(path)).subtype
    audio = np.ascontiguousarray(data.T)
    if audio.shape[0] == 1:
        audio = np.repeat(audio, 2, axis=0)
    elif audio.shape[0] > 2:
        audio = audio[:2]
    if sample_rate_hz is not None and rate != sample_rate_hz:  # linear interpolation: only for odd inputs
        frames = int(round(audio.shape[1] * sample_rate_hz / rate))
        old_t = np.arange(audio.shape[1]) / rate
        new_t = np.arange(frames) / sample_rate_hz
        audio = np.stack([np.interp(new_t, old_t, ch).astype(np.float32) for ch in audio])
        rate = sample_rate_hz
    return audio, rate, subtype


def _fade_curves(frames: int, style: str):
    """(fade-out, fade-in) gains over `frames`; both equal-power (out^2 + in^2 = 1)."""
    import numpy as np

    t = (np.arange(frames, dtype=np.float64) + 0.5) / max(frames, 1)
    if style == "smooth":
        t = t * t * (3.0 - 2.0 * t)  # smoothstep: no step in slope at either end
    angle = t * np.pi / 2.0
    return np.cos(angle).astype(np.float32), np.sin(angle).astype(np.float32)


def _limit(block, sample_rate_hz: int, ceiling: float = MIX_CEILING):
    """Keep a block's sample peaks under `ceiling` with a smoothed gain (5 ms attack and release):
    the windowed minimum of the needed gain, averaged over the same window, is never above it."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    peak = np.abs(block).max(axis=0)
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    if need.min() >= 1.0:
        return block, 1.0
    w = max(1, int(0.005 * sample_rate_hz))
    mins = sliding_window_view(np.pad(need, (w, w), mode="edge"), 2 * w + 1).min(axis=1)
    gain = np.convolve(np.pad(mins, (w, w), mode="edge"), np.full(2 * w + 1, 1.0 / (2 * w + 1)), mode="valid")
    return (block * gain.astype(np.float32)), float(gain.min())


def mix_tracks(paths: list[Path], wav_path: Path, mp3_path: Path, *, style: str, length_s: float, title: str,
               progress=None, cancelled=None) -> dict[str, Any]:
    """Join tracks into one continuous mix with `style` transitions (see DEFAULT_TRANSITION_S),
    streaming WAV (the first track's PCM depth) and MP3 to disk. Each transition lasts at most
    45 % of the shorter of its two tracks. Returns the files, each track's place in the mix and
    each transition's, the length and the limiter's deepest gain (1.0 = untouched)."""
    import numpy as np
    import soundfile as sf

    from studio.engine.io.export import MP3_BITRATE_KBPS
    from studio.engine.io.mp3 import Mp3Writer

    if style not in TRANSITION_STYLES:
        raise ValueError(f"transition style {style!r}; allowed: {', '.join(TRANSITION_STYLES)}")
    progress = progress or (lambda fraction, stage: None)
    first, rate, subtype = _read_audio(paths[0], None)
    pcm = subtype if subtype in ("PCM_16", "PCM_24") else "PCM_16"
    block = 1 << 16
    placements: list[dict[str, Any]] = []
    transitions: list[dict[str, Any]] = []
    min_gain = 1.0
    written = 0
    with sf.SoundFile(str(wav_path), "w", rate, 2, pcm, format="WAV") as wav, \
            Mp3Writer(mp3_path, rate, 2, bitrate_kbps=MP3_BITRATE_KBPS) as mp3:
        wav.title, wav.software = title[:200], "Studio"

        def emit(audio) -> None:
            nonlocal written
            clipped = np.clip(audio, -1.0, 1.0)
            frames = np.ascontiguousarray(clipped.T)
            for start in range(0, frames.shape[0], block):
                wav.write(frames[start:start + block])
                mp3.write(clipped[:, start:start + block])
            written += audio.shape[1]

        pending = first
        placements.append({"start_s": 0.0, "end_s": round(first.shape[1] / rate, 3)})
        for index, path in enumerate(paths[1:], start=1):
            if cancelled is not None and cancelled():
                break
            progress(index / (len(paths) + 1), "mixing")
            audio, _rate, _subtype = _read_audio(path, rate)
            if style == "abrupt":
                d = max(1, min(int(DECLICK_S * rate), pending.shape[1] // 4, audio.shape[1] // 4))
                ramp = np.linspace(1.0, 0.0, d, dtype=np.float32)
                pending[:, -d:] *= ramp
                audio[:, :d] *= ramp[::-1]
                emit(pending)
                start = written
                transitions.append({"after_position": index, "start_s": round(start / rate, 3), "duration_s": 0.0})
            else:
                n = int(min(length_s * rate, 0.45 * pending.shape[1], 0.45 * audio.shape[1]))
                n = max(n, 1)
                emit(pending[:, :-n])
                start = written
                fade_out, fade_in = _fade_curves(n, style)
                joint, gain = _limit(pending[:, -n:] * fade_out + audio[:, :n] * fade_in, rate)
                min_gain = min(min_gain, gain)
                emit(joint)
                transitions.append({"after_position": index, "start_s": round(start / rate, 3),
                                    "duration_s": round(n / rate, 3)})
            placements.append({"start_s": round(start / rate, 3), "end_s": round((start + audio.shape[1]) / rate, 3)})
            pending = audio if style == "abrupt" else audio[:, n:]
        progress(len(paths) / (len(paths) + 1), "encoding")
        emit(pending)
    _tag_mp3(mp3_path, title)
    progress(1.0, "encoding")
    return {"files": {"wav": str(wav_path), "mp3": str(mp3_path)}, "duration_s": round(written / rate, 3),
            "sample_rate_hz": rate, "bit_depth": 24 if pcm == "PCM_24" else 16, "placements": placements,
            "transitions": transitions, "limiter_min_gain_db": round(20 * math.log10(max(min_gain, 1e-9)), 2)}


def _tag_mp3(path: Path, title: str) -> None:
    try:
        from mutagen.id3 import TIT2, TPE1, TSSE
        from mutagen.mp3 import MP3

        audio = MP3(str(path))
        if audio.tags is None:
            audio.add_tags()
        for frame in (TIT2(encoding=3, text=title), TPE1(encoding=3, text="Studio"), TSSE(encoding=3, text="Studio")):
            audio.tags.add(frame)
        audio.save(v2_version=3)
    except Exception as exc:  # tags are a nicety; the audio is what matters
        import logging

        logging.getLogger(__name__).warning("could not tag %s: %s", path, exc)
