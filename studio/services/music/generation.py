"""Generations: validating and queueing `music.generate` jobs (with their credit check), running the
engine in a worker thread, recording the finished track, extending tracks and retrying.

A generation is a `music.generate` job (id `gen_...`). Its handler runs the engine pipeline in a
worker thread into a scratch folder; on completion (loop thread) the files are moved into the
media store under ids derived from the job id (`gen_x.mp3`, `gen_x.drums.wav`, ...) and a `Track`
row is written. A crash before that leaves no track and no stray media; the job is re-queued at
the next start and renders again from its stored (resolved) spec.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from studio.db.models import Job, MediaFile, Track
from studio.db.store import new_id
from studio.jobs import (
    CANCELLED,
    FAILED,
    PROCESSING,
    QUEUED,
    STATUSES,
    JobCancelled,
    JobContext,
    JobError,
    JobHandler,
    JobStateError,
    UnknownJob,
    job_to_dict,
)
from studio.services.music.catalogue import MAX_DURATION_S, GenerationSpec
from studio.services.music.common import (
    FILE_SUFFIXES,
    GENERATE_KIND,
    LEAD_INSTRUMENT,
    MIME_TYPES,
    SingerError,
    safe_title,
)
from studio.services.music.credits import credits_for
from studio.services.music.lyricist import OllamaLyricist

if TYPE_CHECKING:
    from studio.config import Settings
    from studio.db import Database, MediaStore
    from studio.jobs import JobQueue
    from studio.services.music.credits import MusicCredits
    from studio.services.music.holds import HeldJobs
    from studio.services.music.library import MusicLibrary
    from studio.services.music.statistics import MusicStatistics
    from studio.services.voices import VoicesService


class MusicGeneration:
    def __init__(self, *, settings: "Settings", db: "Database", store: "MediaStore", jobs: "JobQueue",
                 voices: "VoicesService", credits: "MusicCredits", library: "MusicLibrary",
                 statistics: "MusicStatistics", holds: "HeldJobs") -> None:
        self.settings = settings
        self.db = db
        self.store = store
        self.jobs = jobs
        self.voices = voices  # singers for sung generations
        self.credits = credits
        self.library = library
        self.statistics = statistics
        self.holds = holds
        self.work_root = settings.home / "work"

    def job_handler(self) -> JobHandler:
        return JobHandler(kind=GENERATE_KIND, run=self._run, complete=self._complete, id_prefix="gen",
                          progress_event="generation_progress", progress_payload=self._progress_payload)

    def _progress_payload(self, job: dict[str, Any]) -> dict[str, Any]:
        remaining = self.statistics.estimate_remaining_s(job)
        return {"generation_id": job["id"], "status": job["status"], "progress": job["progress"],
                "stage": job["stage"], "estimated_remaining": remaining, "estimated_remaining_s": remaining,
                "track_id": (job.get("result") or {}).get("track_id"), "error": job.get("error")}

    # --- what a request means -------------------------------------------------------------------
    def with_singer(self, spec_fields: dict[str, Any]) -> dict[str, Any]:
        """A `singer` naming a character and/or a matched voice gets that voice's settings (what
        the engine sings with). SingerError for an unknown or unready one."""
        from studio.services.voices import UnknownCharacter, UnknownVoice, VoiceError

        singer = spec_fields.get("singer")
        if hasattr(singer, "model_dump"):
            singer = singer.model_dump()
        if isinstance(singer, dict) and singer.get("base_voice"):  # a base voice id, never a path a request names
            try:
                singer = {**singer, "base_voice": self.voices.catalog.engine_base_voice(singer["base_voice"])}
            except VoiceError as exc:
                raise SingerError(exc.http_status, exc.message) from None
            spec_fields = {**spec_fields, "singer": singer}
        if not isinstance(singer, dict) or not (singer.get("character_id") or singer.get("voice_id")):
            return spec_fields  # none (inferred), "instrument", or a timbre given as-is
        if singer.get("character_id") == LEAD_INSTRUMENT and not singer.get("voice_id"):
            return {**spec_fields, "singer": LEAD_INSTRUMENT}  # the APIs' character_id "instrument"
        try:
            resolved = self.voices.singers.singer_options(singer.get("character_id"), singer.get("voice_id"))
        except UnknownCharacter:
            default = self._default_singer(singer)
            if default is not None:
                return {**spec_fields, "singer": default}
            raise SingerError(404, f"character '{singer.get('character_id')}' was not found (GET /api/voice/characters "
                                   "lists them)") from None
        except UnknownVoice:
            raise SingerError(404, f"voice '{singer.get('voice_id')}' was not found (GET /api/voice/list)") from None
        except VoiceError as exc:
            raise SingerError(exc.http_status, exc.message) from None
        return {**spec_fields, "singer": resolved}

    def _default_singer(self, singer: dict[str, Any]):
        """Before any character exists, a default character (resources/voices/characters.toml) can be
        named as it sings when inferred; once characters exist only they can."""
        from studio.engine.composition.singers import find_singer

        if singer.get("voice_id") or self.singer_candidates() is not None:
            return None
        found = find_singer(singer["character_id"])
        return found.options.model_dump() if found is not None and found.id == singer["character_id"] else None

    def singer_candidates(self) -> list | None:
        """The active voice characters as the engine's singer candidates (who sings a sung request
        that names nobody); None before any exist, so the studio's default characters sing."""
        from studio.engine.composition.singers import candidate

        _total, characters = self.voices.characters.list_characters(status="active", limit=1000)
        if not characters:
            return None
        return [candidate(c, self.voices.singers.singer_options(c["id"])) for c in characters]

    def preview(self, spec_fields: dict[str, Any]):
        """What a request is understood as (the resolved spec, its singer chosen), without rendering
        anything. Raises pydantic.ValidationError naming the bad field, SingerError for an unknown singer."""
        from studio.engine.composition.spec import resolve_spec

        spec = GenerationSpec.model_validate(self.with_singer(spec_fields))
        return resolve_spec(spec, singers=self.singer_candidates())

    # --- submission -----------------------------------------------------------------------------
    def submit_generation(self, spec_fields: dict[str, Any], *, title: str | None = None,
                          description: str | None = None, source: str = "api", extra: dict[str, Any] | None = None,
                          job_id: str | None = None, hold_stage: str | None = None,
                          title_suffix: str | None = None) -> dict[str, Any]:
        """Validate and queue one generation. Raises pydantic.ValidationError (bad fields),
        SingerError or InsufficientCredits. Returns the job dict plus `resolved_spec`, `credits_used`
        and estimates. A `title` names the track and its files (the prompt does otherwise),
        `description` is stored with it.

        `hold_stage` keeps the job row queued but off the workers until the holds release it (a
        batch's concurrency limit); `job_id` pre-chooses the id (batch and playlist members)."""
        resolved = self.preview(spec_fields)
        if title and title.strip():
            resolved = resolved.model_copy(update={"title": title.strip()[:200]})
        elif title_suffix:
            resolved = resolved.model_copy(update={"title": f"{resolved.title} ({title_suffix})"[:200]})
        extra = dict(extra or {})
        if description:
            extra["description"] = description
        return self._submit_resolved(resolved, source=source, title=None, extra=extra, job_id=job_id,
                                     hold_stage=hold_stage)

    def _submit_resolved(self, resolved, *, source: str, title: str | None, extra: dict[str, Any] | None = None,
                         duration_s: float | None = None, job_id: str | None = None,
                         hold_stage: str | None = None) -> dict[str, Any]:
        """The one place a generation job is created: credit check and submit under one lock, so
        two requests cannot overspend. `hold_stage` keeps the row queued but off the workers."""
        cost = credits_for(duration_s if duration_s is not None else resolved.duration_s)
        with self.credits.lock:
            self.credits.check(cost)
            params = {"spec": resolved.model_dump(mode="json"), "credits": cost, "source": source, **(extra or {})}
            if hold_stage:
                job = self.holds.hold(GENERATE_KIND, params, title=title or resolved.title, stage=hold_stage,
                                      job_id=job_id or new_id("gen"))
            else:
                job = self.jobs.submit(GENERATE_KIND, params, title=title or resolved.title, job_id=job_id)
        job["resolved_spec"] = params["spec"]
        job["credits_used"] = cost
        job["queue_position"] = self.jobs.queue_position(job["id"])
        job["estimated_time_s"] = self.statistics.estimate_time_s(job)
        return job

    def submit_extend(self, track_id: str, additional_duration_s: float, *, seed: int | None = None,
                      singer: dict[str, Any] | None = None,
                      source: str = "api", extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Continue a track by `additional_duration_s` in its key, tempo and style (a new track,
        the original kept), sung by `singer` ({character_id, voice_id}; "instrument" for the lead
        instrument) when given, else by whoever sang it. ValueError for a track without a stored
        score, a length past the longest track, or a singer for an instrumental; UnknownTrack;
        InsufficientCredits; SingerError."""
        from studio.engine.composition.spec import ResolvedSpec, SingerOptions, recast_singer

        track = self.library.track_row(track_id)
        if "score" not in (track["files_raw"] or {}):
            raise ValueError(f"track {track_id} has no stored score, so it cannot be extended")
        if not 1.0 <= additional_duration_s <= MAX_DURATION_S - track["duration_s"]:
            raise ValueError(f"additional_duration must be between 1 and {MAX_DURATION_S - track['duration_s']:g} "
                             f"seconds for this track (the longest track is {MAX_DURATION_S:g} s)")
        resolved = ResolvedSpec.model_validate(track["spec"])
        if singer:
            chosen = self.with_singer({"singer": singer})["singer"]
            resolved = recast_singer(resolved, chosen if chosen == LEAD_INSTRUMENT else SingerOptions.model_validate(chosen),
                                     "character_id" if singer.get("character_id") else "voice_id")
        params_extra = {"extend_of": track_id, "additional_duration_s": additional_duration_s,
                        "extend_seed": seed, **(extra or {})}
        return self._submit_resolved(resolved, source=source, title=f"{track['title']} (extended)",
                                     extra=params_extra, duration_s=additional_duration_s)

    def retry_generation(self, generation_id: str) -> dict[str, Any]:
        """A new generation with the same (resolved) parameters; only failed or cancelled ones.
        Raises UnknownJob, JobStateError or InsufficientCredits."""
        job = self.jobs.get(generation_id)
        if job["kind"] != GENERATE_KIND:
            raise UnknownJob(generation_id)
        if job["status"] not in (FAILED, CANCELLED):
            hint = ("it is still running; cancel it first or wait" if job["status"] in (QUEUED, PROCESSING)
                    else "it completed; generate again for another take (the same seed gives the same audio)")
            raise JobStateError(f"generation {generation_id} is {job['status']}: only failed or cancelled "
                                f"generations can be retried ({hint})")
        cost = float((job["params"] or {}).get("credits", 0.0))
        with self.credits.lock:
            self.credits.check(cost)
            new = self.jobs.retry(generation_id)
        new["queue_position"] = self.jobs.queue_position(new["id"])
        new["estimated_time_s"] = self.statistics.estimate_time_s(new)
        return new

    # --- listings -------------------------------------------------------------------------------
    def list_generations(self, *, status: str | None = None, limit: int = 20, offset: int = 0,
                         sort_by: str = "created_at", descending: bool = True
                         ) -> tuple[int, list[dict[str, Any]], dict[str, int]]:
        """(matching total, page of job dicts, counts by status over all generations)."""
        duration = func.coalesce(Job.result["duration_s"].as_float(), Job.params[("spec", "duration_s")].as_float())
        column = {"created_at": Job.created_at, "updated_at": Job.updated_at, "duration": duration}[sort_by]
        with self.db.session() as s:
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

    # --- the worker side ------------------------------------------------------------------------
    def work_dir(self, job_id: str) -> Path:
        return self.work_root / job_id

    def _run(self, job: JobContext) -> dict[str, Any]:
        from studio.engine.composition.lyrics import drafting
        from studio.engine.composition.spec import ResolvedSpec
        from studio.engine.pipeline.generate import (
            Cancelled,
            extend,
            generate,
            load_score,
        )

        params = job.params
        spec = ResolvedSpec.model_validate(params["spec"])
        work = self.work_dir(job.job_id)
        shutil.rmtree(work, ignore_errors=True)  # a re-run after a crash starts clean
        work.mkdir(parents=True)
        settings = self.settings
        common = dict(out_dir=work, basename="track", soundfont=settings.soundfont_path, device=settings.device,
                      progress=lambda fraction, stage: job.progress(100.0 * fraction, stage),
                      cancel=lambda: job.cancelled)
        # lyrics the engine writes: the Ollama model in Settings drafts them first (services/music/lyricist.py)
        lyricist = OllamaLyricist(settings) if settings.ollama_url else None
        try:
            with drafting(lyricist):
                if params.get("extend_of"):
                    score_id = self.library.track_row(params["extend_of"])["files_raw"]["score"]
                    previous = load_score(self.store.path(score_id))
                    previous.spec = spec
                    result = extend(previous, float(params["additional_duration_s"]), seed=params.get("extend_seed"),
                                    **common)
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
        out = {"work_dir": str(work), "summary": summary, "wall_s": round(wall, 3),
               "realtime_factor": round(result.duration_s / max(wall, 1e-9), 2)}
        if lyricist is not None and lyricist.source():
            out["lyrics_by"] = lyricist.source()
        return out

    def _complete(self, job: Job, result: dict[str, Any]) -> dict[str, Any]:
        """Loop thread: move the files into the media store and record the track."""
        summary = result["summary"]
        files: dict[str, Any] = {}
        media_rows: list[MediaFile] = []

        def adopt(path: str, suffix: str, kind: str, label: str) -> str:
            media_id = f"{job.id}.{suffix}"
            stored = self.store.adopt(Path(path), media_id=media_id)
            extension = suffix.rsplit(".", 1)[-1]
            media_rows.append(MediaFile(id=media_id, kind=kind, mime_type=MIME_TYPES.get(extension, "application/octet-stream"),
                                        size_bytes=stored.size_bytes, sha256=stored.sha256, display_name=label,
                                        job_id=job.id))
            return media_id

        title = summary["resolved_spec"]["title"]
        name = safe_title(title)
        for key, path in summary["files"].items():
            if key == "stems":
                files["stems"] = {stem: adopt(p, f"{stem}.wav", "stem", f"{name} ({stem}).wav")
                                  for stem, p in path.items()}
            elif key in FILE_SUFFIXES:
                suffix, kind = FILE_SUFFIXES[key]
                files[key] = adopt(path, suffix, kind, f"{name}.{suffix}")
        shutil.rmtree(result["work_dir"], ignore_errors=True)

        spec = summary["resolved_spec"]
        params = job.params or {}
        track_id = new_id("trk")
        analysis = dict(summary["analysis"])
        analysis["tags"] = summary["tags"]
        analysis["tagger_model"] = summary["tagger_model"]
        analysis["master"] = summary["master"]
        analysis["sections"] = summary["sections"]
        analysis["arrangement"] = summary.get("arrangement")  # absent from summaries made before it was measured
        analysis["timings_s"] = summary["timings_s"]
        analysis["device"] = summary["device"]
        if result.get("lyrics_by"):  # the Ollama model, or the built-in writer and why not Ollama
            analysis["lyrics_by"] = result["lyrics_by"]
        lyrics = None
        if "lyrics_json" in files:
            lyrics = json.loads(self.store.path(files["lyrics_json"]).read_text())
        with self.db.session() as s:
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
