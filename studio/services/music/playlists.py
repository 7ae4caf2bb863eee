"""Playlists: tracks planned from one base (`plan_playlist`), queued as generations, then a
`music.playlist` job, held until the tracks finish, joins them into one continuous mix (the
engine's `mix_tracks`) that is recorded in the media store. The playlist id is the mix job's id."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from studio.db.models import Job, MediaFile
from studio.db.store import new_id
from studio.engine.pipeline.playlist_mix import (
    DECLICK_S,
    DEFAULT_TRANSITION_S,
    TRANSITION_STYLES,
)
from studio.jobs import (
    CANCELLED,
    COMPLETED,
    FAILED,
    JobCancelled,
    JobContext,
    JobError,
    JobHandler,
    UnknownJob,
    job_to_dict,
)
from studio.services.music.catalogue import MAX_DURATION_S, GenerationSpec
from studio.services.music.common import MIME_TYPES, PLAYLIST_KIND, safe_title
from studio.services.music.credits import credits_for

if TYPE_CHECKING:
    from studio.db import Database, MediaStore
    from studio.events import EventBus
    from studio.jobs import JobQueue
    from studio.services.music.credits import MusicCredits
    from studio.services.music.generation import MusicGeneration
    from studio.services.music.holds import HeldJobs
    from studio.services.music.library import MusicLibrary

__all__ = ["DEFAULT_TRANSITION_S", "TRANSITION_STYLES", "MusicPlaylists", "plan_playlist", "transition_overlap_s"]

FINISHED = (COMPLETED, FAILED, CANCELLED)
WAIT_POLL_S = 0.25  # how often a mix job that was started beside its tracks looks at them
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

    from studio.engine.composition.spec import key_name, resolve_spec

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


class MusicPlaylists:
    def __init__(self, *, generation: "MusicGeneration", credits: "MusicCredits", holds: "HeldJobs",
                 library: "MusicLibrary", db: "Database", store: "MediaStore", jobs: "JobQueue",
                 events: "EventBus") -> None:
        self.generation = generation
        self.credits = credits
        self.holds = holds
        self.library = library
        self.db = db
        self.store = store
        self.jobs = jobs
        self.events = events

    def job_handler(self) -> JobHandler:
        return JobHandler(kind=PLAYLIST_KIND, run=self._run_mix, complete=self._complete_mix, id_prefix="playlist")

    def submit_playlist(self, *, name: str, description: str | None, tracks: list[dict[str, Any]],
                        plan: dict[str, Any], webhook: dict[str, Any] | None = None,
                        source: str = "api", extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Queue a playlist's tracks (`tracks` from `plan_playlist`) and its mix job, which waits
        for them. All or nothing: singers, fields and the whole cost are checked first."""
        tracks = [self.generation.with_singer(fields) for fields in tracks]
        for fields in tracks:
            GenerationSpec.model_validate(fields)
        total_cost = round(sum(credits_for(float(f["duration"])) for f in tracks), 2)
        self.credits.check(total_cost)
        playlist_id = new_id("playlist")
        ids = [new_id("gen") for _ in tracks]
        group: dict[str, Any] = {**(extra or {}), "playlist_id": playlist_id}
        if webhook:
            group["webhook"] = webhook
        jobs = []
        for position, (fields, job_id) in enumerate(zip(tracks, ids), start=1):
            jobs.append(self.generation.submit_generation(
                fields, title=f"{name} - {position:02d}", source=source, job_id=job_id,
                extra={**group, "playlist_position": position}))
        params = {"name": name, "description": description, "generation_ids": ids, "plan": plan,
                  "transition": plan["transition"], "source": source}
        if webhook:
            params["webhook"] = webhook
        mix = self.holds.hold(PLAYLIST_KIND, params, title=f"{name} (mix)", stage="waiting for the playlist's tracks",
                              job_id=playlist_id)
        return {"playlist_id": playlist_id, "jobs": jobs, "mix_job": mix, "credits_used": total_cost}

    def playlist(self, playlist_id: str) -> dict[str, Any]:
        """The playlist's mix job and its tracks' jobs (UnknownJob for anything else)."""
        mix = self.jobs.get(playlist_id)
        if mix["kind"] != PLAYLIST_KIND:
            raise UnknownJob(playlist_id)
        ids = (mix["params"] or {}).get("generation_ids", [])
        with self.db.session() as s:
            rows = {j.id: job_to_dict(j) for j in s.scalars(select(Job).where(Job.id.in_(ids))).all()}
        return {"mix": mix, "tracks": [rows[i] for i in ids if i in rows]}

    # --- progress (event bus, loop thread) ------------------------------------------------------
    def on_track_finished(self, playlist_id: str, generation_id: str) -> None:
        """A track finished, failed or was cancelled: once all have, the mix may start."""
        if playlist_id not in self.holds:
            return
        try:
            mix = self.jobs.get(playlist_id)
        except KeyError:
            return
        ids = (mix["params"] or {}).get("generation_ids", [])
        if generation_id not in ids:
            return
        statuses = self.holds.statuses(ids)
        if all(statuses.get(i) in FINISHED for i in ids):
            self.holds.release(playlist_id)

    def on_mix_finished(self, data: dict[str, Any]) -> None:
        """The mix job finished, failed or was cancelled: announce the playlist."""
        params = data.get("params") or {}
        result = data.get("result") or {}
        self.events.publish("playlist_completed", {
            "subject_id": data["id"], "playlist_id": data["id"], "name": params.get("name"),
            "status": data["status"], "generation_ids": params.get("generation_ids", []),
            "mix": {"files": result.get("files"), "duration_s": result.get("duration_s")} if result else None,
            "error": data.get("error"), "webhook": params.get("webhook")})

    # --- the mix (worker thread, then the loop thread records it) -------------------------------
    def _run_mix(self, job: JobContext) -> dict[str, Any]:
        from studio.engine.pipeline.playlist_mix import mix_tracks

        params = job.params
        ids: list[str] = params["generation_ids"]
        job.progress(0.0, "waiting for the playlist's tracks")
        # After a restart this job may be queued beside its tracks; they were queued first, so
        # they are running or done by now and finish without this worker.
        while True:
            statuses = self.holds.statuses(ids)
            if all(statuses.get(i) in FINISHED for i in ids):
                break
            job.check_cancelled()
            time.sleep(WAIT_POLL_S)
        sources: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        for position, generation_id in enumerate(ids, start=1):
            track = self.library.track_for_generation(generation_id)
            files = (track or {}).get("files_raw") or {}
            media_id = next((files[f] for f in ("wav", "flac", "ogg", "mp3") if files.get(f)), None)
            path = None
            if media_id:
                try:
                    path = self.store.path(media_id)
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
        work = self.generation.work_dir(job.job_id)
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

    def _complete_mix(self, job: Job, result: dict[str, Any]) -> dict[str, Any]:
        report = result["report"]
        files: dict[str, str] = {}
        rows: list[MediaFile] = []
        name = safe_title((job.params or {}).get("name") or "playlist", "playlist")
        for fmt in ("wav", "mp3"):
            path = Path(report["files"][fmt])
            media_id = f"{job.id}.{fmt}"
            stored = self.store.adopt(path, media_id=media_id)
            rows.append(MediaFile(id=media_id, kind="playlist_mix", mime_type=MIME_TYPES[fmt], size_bytes=stored.size_bytes,
                                  sha256=stored.sha256, display_name=f"{name} (mix).{fmt}", job_id=job.id))
            files[fmt] = media_id
        shutil.rmtree(result["work_dir"], ignore_errors=True)
        with self.db.session() as s:
            for row in rows:
                s.merge(row)
        return {"files": files, "duration_s": report["duration_s"], "sample_rate_hz": report["sample_rate_hz"],
                "bit_depth": report["bit_depth"], "transitions": report["transitions"], "tracks": result["tracks"],
                "skipped": result["skipped"], "limiter_min_gain_db": report["limiter_min_gain_db"]}
