"""Speech: a character's text voiced by the embedded Piper voice, transformed per character (pitch,
formants, range, speed; studio/engine/instruments/voice.py), or with a matched voice's timbre.

Every synthesis and every scripted piece is a `voice_content` row with a job (`voice.synthesize` /
`voice.content`); the audio goes into the media store. Content appears in the character's history
as soon as it is done."""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from studio.db.models import MediaFile, Track, VoiceContent
from studio.db.store import new_id
from studio.engine.composition import scripts
from studio.jobs import COMPLETED, JobContext, JobHandler
from studio.services.voices.characters import touch
from studio.services.voices.common import (
    BUILTIN_VOICE_ID,
    CONTENT_KIND,
    MAX_BATCH_OPERATIONS,
    MAX_CONTENT_DURATION_S,
    MAX_TEXT_CHARS,
    SYNTH_KIND,
    VoiceError,
    voice_settings,
)
from studio.services.voices.content import content_dict
from studio.timeutil import utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.voices.catalog import VoiceCatalog
    from studio.services.voices.characters import Characters
    from studio.services.voices.writing import Writer

# Speech synthesis speed on this machine is measured per job; until then this is assumed.
ASSUMED_SPEECH_REALTIME_FACTOR = 5.0
MUSIC_BED_PAD_S = 5.0


def check_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise VoiceError("text is empty: write what the character should say", field="text")
    if len(text) > MAX_TEXT_CHARS:
        raise VoiceError(f"text is {len(text)} characters; the limit is {MAX_TEXT_CHARS}", field="text")
    return text


class Speech:
    def __init__(self, ctx: "Context", *, characters: "Characters", catalog: "VoiceCatalog",
                 writer: "Writer") -> None:
        self.ctx = ctx
        self.characters = characters
        self.catalog = catalog
        self.writer = writer  # content pieces are scripted first
        self.work_root = ctx.settings.home / "work" / "voices"

    def job_handlers(self) -> list[JobHandler]:
        return [
            JobHandler(kind=SYNTH_KIND, run=self._run_speech, complete=self._complete_speech, id_prefix="synth"),
            JobHandler(kind=CONTENT_KIND, run=self._run_speech, complete=self._complete_speech, id_prefix="content"),
        ]

    def on_job_event(self, name: str, data: dict[str, Any]) -> None:
        """Failed or cancelled speech jobs mark their content rows (loop thread)."""
        if name not in ("job_failed", "job_cancelled") or data.get("kind") not in (SYNTH_KIND, CONTENT_KIND):
            return
        with self.ctx.db.session() as s:
            row = s.get(VoiceContent, data["id"])
            if row is not None:
                row.status = "failed" if name == "job_failed" else "cancelled"
                row.result = {"error": data.get("error")}
                row.completed_at = utcnow()

    def estimate_speech_s(self, text_duration_s: float, *, with_music: bool = False) -> tuple[float, str]:
        """(seconds of work to voice `text_duration_s` of speech, what the figure rests on): the
        median speed of this machine's recent speech jobs, and of its music renders for a bed."""
        _total, jobs = self.ctx.jobs.list(kinds=[SYNTH_KIND, CONTENT_KIND], status=COMPLETED, limit=10)
        factors = [j["result"]["realtime_factor"] for j in jobs if (j.get("result") or {}).get("realtime_factor")]
        if factors:
            factor, basis = statistics.median(factors), f"median speed of the last {len(factors)} speech jobs here"
        else:
            factor = ASSUMED_SPEECH_REALTIME_FACTOR
            basis = f"no speech measured on this machine yet; assuming {factor:g}x real time"
        seconds = text_duration_s / max(factor, 0.1)
        if with_music:
            from studio.services.music.statistics import ASSUMED_REALTIME_FACTOR, measured_realtime_factor

            music_factor = measured_realtime_factor(self.ctx.jobs) or ASSUMED_REALTIME_FACTOR
            seconds += (text_duration_s + MUSIC_BED_PAD_S) / music_factor
        return round(seconds + 0.5, 1), basis

    def preview_speech(self, text: str, voice: dict[str, Any]):
        """(audio, rate) of `text` with voice settings that need not be saved yet (the Voices
        panel's Preview). Blocking: call it off the GUI thread. A matched `voice_id` lends its timbre."""
        from studio.engine.instruments.voice import speak

        text = check_text(text)
        transform = self.catalog.transform_for(voice.get("voice_id"))
        return speak(text, voice_settings({k: v for k, v in voice.items() if k != "voice_id"}, transform,
                                          base_voice=self.catalog.base_voice_for(voice, transform)))

    def submit_synthesis(self, character_id: str, text: str, *, emotion: str | None = None,
                         speed: float | None = None, pitch_semitones: float = 0.0, voice_id: str | None = None,
                         title: str | None = None) -> dict[str, Any]:
        """Queue `text` in the character's voice (or with a matched voice's timbre: `voice_id`);
        returns the content row (its id is the job's)."""
        character = self.characters.get_character(character_id)
        text = check_text(text)
        transform = None
        if voice_id and voice_id != BUILTIN_VOICE_ID:
            transform = self.catalog.ready_voice(voice_id)["transform"]  # UnknownVoice -> 404, not ready -> 409
        settings = self._settings_or_422(character, emotion=emotion, speed=speed, pitch_semitones=pitch_semitones,
                                         transform=transform)
        params = {"character_id": character_id, "text": text, "settings": settings, "music": None,
                  "voice_id": voice_id or character["voice_id"]}
        return self._submit_speech(SYNTH_KIND, character, "synthesis", params, title or text[:60])

    async def submit_content(self, character_id: str, content_type: str, *, topic: str | None = None,
                             mood: str | None = None, duration_s: float = 30.0, include_music: bool = False,
                             track_id: str | None = None, seed: int | None = None) -> dict[str, Any]:
        """Write a script now (its preview is returned at once) and queue its voicing, over a music bed
        when `include_music`: the given library track, else the character's newest track in its
        style, else a fresh instrumental in its style rendered by the job."""
        from studio.engine.instruments.voice import emotion_names

        character = self.characters.get_character(character_id)
        written = await self.writer.write_script(character_id, content_type, topic=topic, mood=mood,
                                                 duration_s=duration_s, seed=seed)
        emotion = mood if mood in emotion_names() else None
        settings = self._settings_or_422(character, emotion=emotion)
        music = self._music_bed(character, track_id, duration_s) if include_music else None
        params = {"character_id": character_id, "text": written["script"], "settings": settings, "music": music,
                  "script": written}
        title = f"{written['content_type'].replace('_', ' ').title()}: {written['topic']}"[:200]
        row = self._submit_speech(CONTENT_KIND, character, written["content_type"], params, title)
        row["script"] = written
        return row

    async def submit_batch(self, operation: str, character_ids: list[str], content_types: list[str], *,
                           topic: str | None = None, duration_s: float = 20.0) -> dict[str, Any]:
        """Characters x content types as content jobs (seed 000's batch operations)."""
        if not character_ids:
            raise VoiceError("characters is empty: name at least one character id", field="characters")
        if not content_types:
            raise VoiceError("content_types is empty: e.g. [\"intro\", \"outro\", \"track_commentary\"]",
                             field="content_types")
        if len(character_ids) * len(content_types) > MAX_BATCH_OPERATIONS:
            raise VoiceError(f"{len(character_ids) * len(content_types)} operations; the limit is "
                             f"{MAX_BATCH_OPERATIONS} per batch", field="characters")
        for character_id in character_ids:
            self.characters.get_character(character_id)  # UnknownCharacter -> 404 before anything is queued
        for content_type in content_types:
            try:
                scripts.normalise_content_type(content_type)
            except ValueError as exc:
                raise VoiceError(str(exc), field="content_types") from None
        batch_id = new_id("voice_batch")
        items = []
        for character_id in character_ids:
            for content_type in content_types:
                row = await self.submit_content(character_id, content_type, topic=topic or operation.replace("_", " "),
                                                duration_s=duration_s)
                items.append({"character": character_id, "content_type": row["type"], "content_id": row["id"],
                              "estimated_time": row["estimated_time"]})
        return {"batch_id": batch_id, "operation": operation, "operations": items,
                "estimated_time": round(sum(i["estimated_time"] for i in items), 1)}

    def _music_bed(self, character: dict[str, Any], track_id: str | None, duration_s: float) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            if track_id:
                track = s.get(Track, track_id)
                if track is None:
                    raise VoiceError(f"track '{track_id}' was not found", field="track_id", http_status=404)
            else:
                query = select(Track).order_by(Track.created_at.desc())
                track = (s.scalars(query.where(Track.style == character.get("style"))).first()
                         if character.get("style") else None)
            if track is not None:
                media_id = next(((track.files or {}).get(f) for f in ("wav", "flac", "ogg", "mp3")
                                 if (track.files or {}).get(f)), None)
                if media_id:
                    return {"source": "library", "track_id": track.id, "title": track.title,
                            "path": str(self.ctx.store.path(media_id))}
                if track_id:
                    raise VoiceError(f"track '{track_id}' has no audio file", field="track_id")
        style = character.get("style") or "lofi_hip_hop"
        return {"source": "generated", "style": style, "duration_s": min(duration_s + MUSIC_BED_PAD_S, MAX_CONTENT_DURATION_S)}

    def _settings_or_422(self, character: dict[str, Any], *, transform: dict[str, Any] | None = None,
                         **overrides) -> dict[str, Any]:
        own = character["voice_settings"]
        transform = transform or self.catalog.transform_for(own.get("voice_id"))
        base_voice = self.catalog.base_voice_for(own, transform)  # VoiceError when it was uninstalled
        try:
            settings = voice_settings(own, transform, base_voice=base_voice, **overrides)
        except ValueError as exc:
            raise VoiceError(str(exc), field="emotion" if "emotion" in str(exc) else "voice_settings") from None
        return {"base_voice": settings.base_voice, "pitch_semitones": settings.pitch_semitones, "formant_shift": settings.formant_shift,
                "pitch_range": settings.pitch_range, "speed": settings.speed, "emotion": settings.emotion}

    def _submit_speech(self, kind: str, character: dict[str, Any], content_kind: str, params: dict[str, Any],
                       title: str) -> dict[str, Any]:
        job = self.ctx.jobs.submit(kind, params, title=f"{character['name']}: {title}"[:200])
        row = VoiceContent(id=job["id"], character_id=character["id"], kind=content_kind, title=title[:200],
                           text=params["text"], emotion=params["settings"]["emotion"], status="processing",
                           job_id=job["id"], params={k: v for k, v in params.items() if k != "text"})
        with self.ctx.db.session() as s:
            s.add(row)
            touch(s, character["id"])
            s.flush()
            out = content_dict(row)
        spoken_s = scripts.estimate_duration_s(params["text"], params["settings"]["speed"])
        out["estimated_time"], out["estimate_basis"] = self.estimate_speech_s(
            spoken_s, with_music=params.get("music") is not None)
        out["queue_position"] = self.ctx.jobs.queue_position(job["id"])
        return out

    def _run_speech(self, job: JobContext) -> dict[str, Any]:
        """Worker: voice the text, lay it over the bed when asked, write WAV + MP3 into a work dir."""
        from studio.engine.io.decode import read_audio
        from studio.engine.io.export import write_audio
        from studio.engine.instruments.voice import VoiceSettings, speak
        from studio.engine.pipeline.voiceover import voice_over

        params = job.params
        started = time.perf_counter()
        job.progress(5, "synthesising")
        audio, rate = speak(params["text"], VoiceSettings(**params["settings"]))
        bed = bed_rate = None
        music = params.get("music")
        if music:
            job.progress(45, "preparing the music")
            if music["source"] == "library":
                data, bed_rate = read_audio(music["path"])
                bed = data.T
            else:
                bed, bed_rate = self._render_bed(job, music, len(audio) / rate)
        job.progress(80, "mixing" if bed is not None else "mastering")
        mix, out_rate, report = voice_over(audio, rate, bed, bed_rate)
        job.check_cancelled()
        work = self.work_root / job.job_id
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        job.progress(92, "exporting")
        files = {fmt: str(write_audio(work / f"content.{fmt}", mix, out_rate, fmt)) for fmt in ("wav", "mp3")}
        wall = time.perf_counter() - started
        duration_s = mix.shape[-1] / out_rate
        return {"work_dir": str(work), "files": files, "duration_s": round(duration_s, 3),
                "speech_duration_s": report["voice_duration_s"], "mix": report, "wall_s": round(wall, 3),
                "realtime_factor": round(report["voice_duration_s"] / max(wall, 1e-6), 2)}

    def _render_bed(self, job: JobContext, music: dict[str, Any], speech_s: float):
        from studio.engine.composition.spec import GenerationSpec
        from studio.engine.pipeline.generate import generate

        spec = GenerationSpec(style=music["style"], duration=max(8.0, min(MAX_CONTENT_DURATION_S, speech_s + MUSIC_BED_PAD_S)),
                              instrumental=True, seed=abs(hash(job.job_id)) % 2**31)
        result = generate(spec, progress=lambda f, stage: job.progress(45 + 30 * f, f"music: {stage}"),
                          cancel=lambda: job.cancelled, tag=False)
        return result.track.mix.detach().cpu().numpy(), result.track.sample_rate_hz

    def _complete_speech(self, job, result: dict[str, Any]) -> dict[str, Any]:
        """Loop thread: files into the media store, the content row completed."""
        files: dict[str, str] = {}
        rows: list[MediaFile] = []
        from studio.services.music.common import MIME_TYPES

        for fmt, path in result["files"].items():
            media_id = f"{job.id}.{fmt}"
            stored = self.ctx.store.adopt(Path(path), media_id=media_id)
            rows.append(MediaFile(id=media_id, kind="voice", mime_type=MIME_TYPES[fmt], size_bytes=stored.size_bytes,
                                  sha256=stored.sha256, display_name=f"{job.title or job.id}.{fmt}"[:255], job_id=job.id))
            files[fmt] = media_id
        shutil.rmtree(result["work_dir"], ignore_errors=True)
        with self.ctx.db.session() as s:
            for row in rows:
                s.merge(row)
            content = s.get(VoiceContent, job.id)
            if content is not None:
                content.status, content.media_id = "completed", files.get("wav")
                content.duration_s = result["duration_s"]
                content.result = {"files": files, "speech_duration_s": result["speech_duration_s"], "mix": result["mix"]}
                content.completed_at = utcnow()
        out = {k: v for k, v in result.items() if k not in ("work_dir", "files")}
        return {**out, "files": files}
