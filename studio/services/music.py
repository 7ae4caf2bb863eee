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
"""

from __future__ import annotations

import math
import shutil
import statistics
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from studio.db.models import Job, MediaFile, Track, utcnow
from studio.db.store import new_id
from studio.jobs import CANCELLED, COMPLETED, FAILED, PROCESSING, QUEUED, JobCancelled, JobContext, JobError, JobHandler

if TYPE_CHECKING:
    from studio.app import Context

GENERATE_KIND = "music.generate"
CREDITS_PER_MINUTE = 10.0
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


class UnknownTrack(KeyError):
    pass


def credits_for(duration_s: float) -> float:
    return round(CREDITS_PER_MINUTE * duration_s / 60.0, 2)


def iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


def _day_start(now: datetime) -> datetime:
    return now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


class MusicService:
    def __init__(self, ctx: "Context") -> None:
        self.ctx = ctx
        self.work_root = ctx.settings.home / "work"
        self._lock = threading.Lock()

    # --- jobs -------------------------------------------------------------------------------------
    def job_handlers(self) -> list[JobHandler]:
        return [JobHandler(kind=GENERATE_KIND, run=self._run, complete=self._complete, id_prefix="gen",
                           progress_event="generation_progress", progress_payload=self._progress_payload)]

    def _progress_payload(self, job: dict[str, Any]) -> dict[str, Any]:
        remaining = self.estimate_remaining_s(job)
        return {"generation_id": job["id"], "status": job["status"], "progress": job["progress"],
                "stage": job["stage"], "estimated_remaining_s": remaining,
                "track_id": (job.get("result") or {}).get("track_id"), "error": job.get("error")}

    # --- submission -------------------------------------------------------------------------------
    def submit(self, spec_fields: dict[str, Any], *, source: str = "api", title: str | None = None,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Validate and queue one generation. Raises pydantic.ValidationError (bad fields) or
        InsufficientCredits. Returns the job dict plus `resolved_spec`, `credits_used` and estimates."""
        from studio.engine.spec import GenerationSpec, resolve_spec

        spec = GenerationSpec.model_validate(spec_fields)
        resolved = resolve_spec(spec)
        return self._submit_resolved(resolved, source=source, title=title, extra=extra)

    def _submit_resolved(self, resolved, *, source: str, title: str | None, extra: dict[str, Any] | None = None,
                         duration_s: float | None = None) -> dict[str, Any]:
        cost = credits_for(duration_s if duration_s is not None else resolved.duration_s)
        with self._lock:  # balance check and submit together, so two requests cannot overspend
            balance = self.credit_balance()
            if balance is not None and cost > balance + 1e-9:
                raise InsufficientCredits(cost, balance)
            params = {"spec": resolved.model_dump(mode="json"), "credits": cost, "source": source, **(extra or {})}
            job = self.ctx.jobs.submit(GENERATE_KIND, params, title=title or resolved.title)
        job["resolved_spec"] = params["spec"]
        job["credits_used"] = cost
        job["queue_position"] = self.ctx.jobs.queue_position(job["id"])
        job["estimated_time_s"] = self.estimate_time_s(job)
        return job

    def submit_extend(self, track_id: str, additional_duration_s: float, *, seed: int | None = None,
                      source: str = "api", extra: dict[str, Any] | None = None) -> dict[str, Any]:
        from studio.engine.pipeline import MAX_DURATION_S

        track = self.track_row(track_id)
        if "score" not in (track["files_raw"] or {}):
            raise ValueError(f"track {track_id} has no stored score, so it cannot be extended")
        if not 1.0 <= additional_duration_s <= MAX_DURATION_S - track["duration_s"]:
            raise ValueError(f"additional_duration must be between 1 and {MAX_DURATION_S - track['duration_s']:g} "
                             f"seconds for this track (the longest track is {MAX_DURATION_S:g} s)")
        from studio.engine.spec import ResolvedSpec

        resolved = ResolvedSpec.model_validate(track["spec"])
        params_extra = {"extend_of": track_id, "additional_duration_s": additional_duration_s,
                        "extend_seed": seed, **(extra or {})}
        return self._submit_resolved(resolved, source=source, title=f"{track['title']} (extended)",
                                     extra=params_extra, duration_s=additional_duration_s)

    # --- the worker side ----------------------------------------------------------------------------
    def _work_dir(self, job_id: str) -> Path:
        return self.work_root / job_id

    def _run(self, job: JobContext) -> dict[str, Any]:
        from studio.engine.pipeline import Cancelled, extend, generate, load_score
        from studio.engine.spec import ResolvedSpec

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
                credits_used=float(params.get("credits", 0.0)),
            ))
        return {"track_id": track_id, "duration_s": summary["duration_s"], "files": files,
                "wall_s": result["wall_s"], "realtime_factor": result["realtime_factor"],
                "quality_metrics": summary["quality_metrics"],
                "estimated": summary["requested_vs_estimated"], "tags": summary["tags"][:5]}

    # --- estimates ------------------------------------------------------------------------------
    def measured_realtime_factor(self) -> float | None:
        """Median audio-seconds per wall-second of this machine's recent generations."""
        _total, jobs = self.ctx.jobs.list(kind=GENERATE_KIND, status=COMPLETED, limit=SPEED_SAMPLES)
        factors = [j["result"]["realtime_factor"] for j in jobs if (j.get("result") or {}).get("realtime_factor")]
        return statistics.median(factors) if factors else None

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

    def list_tracks(self, *, search: str | None = None, style: str | None = None, limit: int = 50, offset: int = 0,
                    sort_by: str = "created_at", descending: bool = True) -> tuple[int, list[dict[str, Any]]]:
        column = {"created_at": Track.created_at, "title": Track.title, "duration": Track.duration_s,
                  "tempo": Track.tempo_bpm, "style": Track.style}.get(sort_by, Track.created_at)
        with self.ctx.db.session() as s:
            query = select(Track)
            if search:
                like = f"%{search.lower()}%"
                query = query.where(func.lower(Track.title).like(like) | func.lower(Track.prompt).like(like)
                                    | func.lower(Track.style).like(like))
            if style:
                query = query.where(Track.style == style)
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = s.scalars(query.order_by(column.desc() if descending else column.asc()).limit(limit).offset(offset)).all()
            return total, [self._track_dict(t) for t in rows]

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

    def count_download(self, track_id: str) -> None:
        with self.ctx.db.session() as s:
            track = s.get(Track, track_id)
            if track is not None:
                track.download_count += 1

    def media_file(self, media_id: str) -> tuple[Path, dict[str, Any]]:
        """(path, row) of a stored file; KeyError for a malformed or unknown id."""
        path = self.ctx.store.path(media_id)  # validates the id shape: no paths can be named
        with self.ctx.db.session() as s:
            row = s.get(MediaFile, media_id)
            if row is None:
                raise KeyError(media_id)
            return path, {"id": row.id, "mime_type": row.mime_type, "size_bytes": row.size_bytes,
                          "display_name": row.display_name, "kind": row.kind, "job_id": row.job_id}

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
        from studio.engine.styles import styles as all_styles

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
