"""Voices area: voice characters (personas with words and a voice), what they say and how.

One service behind the Voices panel and two documented API families: seed 000's
`/api/voice/...` and seed 002's `/api/characters/...`.

- Characters are rows (`characters`); the eight defaults are data in
  resources/voices/characters.toml, created by `initialize` (idempotent).
- Words: scripts and captions come from the built-in writer (studio/engine/composition/scripts.py), or from a
  local LLM through Ollama when Settings name one and it answers; the writer is the fallback.
- Voice: the embedded Piper voice, transformed per character (pitch, formants, range, speed;
  studio/engine/instruments/voice.py). A character may instead use a matched voice (`voices` rows, made by
  voice matching from uploaded samples), whose fitted transform replaces the character's timbre.
- Every synthesis and every scripted piece is a `voice_content` row with a job
  (`voice.synthesize` / `voice.content`); the audio goes into the media store. Captions are text
  rows written at once. Content appears in the character's history as soon as it is done.
- Performance figures (views, engagement, revenue, growth) come only from published content's
  imported statistics, which the studio does not have yet: they are 0 and responses say so.
"""

from __future__ import annotations

import logging
import re
import shutil
import statistics
import time
import tomllib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from studio.db.models import Character, MediaFile, Track, Voice, VoiceContent, utcnow
from studio.db.store import new_id
from studio.engine.composition import scripts
from studio.jobs import CANCELLED, COMPLETED, FAILED, JobContext, JobError, JobHandler
from studio.resources import resource_path
from studio.services.media import media_file

if TYPE_CHECKING:
    from studio.context import Context

log = logging.getLogger(__name__)

CHARACTERS_FILE = resource_path("voices", "characters.toml")
SYNTH_KIND = "voice.synthesize"
CONTENT_KIND = "voice.content"
CLONE_KIND = "voice.clone"
BUILTIN_VOICE_ID = "piper_joe"  # the embedded Piper voice every character is a transform of
MAX_TEXT_CHARS = 5000
MAX_CONTENT_DURATION_S = 600.0
MAX_BATCH_OPERATIONS = 100
STATUSES = ("active", "paused", "error")
WORDS_KEYS = ("greetings", "signoffs", "phrases", "vocabulary", "emotion_tags")
VOICE_KEYS = ("voice_id", "pitch_semitones", "formant_shift", "pitch_range", "speed", "emotion")
EDITABLE = ("name", "genre", "style", "personality_summary", "personality", "backstory", "interests", "age",
            "location", "timezone", "voice", "voice_quality", "words", "content_schedule", "status", "appearance")
PERFORMANCE_SOURCE = ("no published content with imported statistics yet: views, engagement and revenue are "
                      "counted from your platforms once publishing is connected")
# Speech synthesis speed on this machine is measured per job; until then this is assumed.
ASSUMED_SPEECH_REALTIME_FACTOR = 5.0
# Voice matching before any was measured here: a fixed part (the base voice, 6 candidate renders)
# plus the speaker's analysis per second of samples (WORLD harvest and envelopes, ~0.5x real time).
ASSUMED_CLONE_FIXED_S = 25.0
ASSUMED_CLONE_S_PER_S = 0.5
MUSIC_BED_PAD_S = 5.0


class VoiceError(Exception):
    """Bad input the user can fix; `http_status` 422 unless said otherwise."""

    http_status = 422

    def __init__(self, message: str, *, field: str | None = None, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if http_status is not None:
            self.http_status = http_status


class UnknownCharacter(KeyError):
    pass


class UnknownContent(KeyError):
    pass


class UnknownVoice(KeyError):
    pass


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug[:48] or "character"


def default_characters() -> dict[str, dict[str, Any]]:
    with open(CHARACTERS_FILE, "rb") as fh:
        return tomllib.load(fh)["characters"]


def _voice_settings(voice: dict[str, Any], transform: dict[str, Any] | None = None, *, emotion: str | None = None,
                    speed: float | None = None, pitch_semitones: float = 0.0):
    """The engine's VoiceSettings for a character's voice dict (a matched voice's `transform`
    replaces its timbre), with per-request emotion, speed factor and pitch offset."""
    from studio.engine.instruments.voice import VoiceSettings

    timbre = transform or voice
    return VoiceSettings(
        pitch_semitones=float(timbre.get("pitch_semitones", 0.0)) + pitch_semitones,
        formant_shift=float(timbre.get("formant_shift", 1.0)),
        pitch_range=float(timbre.get("pitch_range", 1.0)),
        speed=float(voice.get("speed", 1.0)) * (speed if speed is not None else 1.0),
        emotion=emotion or voice.get("emotion") or "neutral",
    )


class VoicesService:
    def __init__(self, ctx: "Context") -> None:
        self.ctx = ctx
        self.work_root = ctx.settings.home / "work" / "voices"

    # --- jobs -------------------------------------------------------------------------------------
    def job_handlers(self) -> list[JobHandler]:
        return [
            JobHandler(kind=SYNTH_KIND, run=self._run_speech, complete=self._complete_speech, id_prefix="synth"),
            JobHandler(kind=CONTENT_KIND, run=self._run_speech, complete=self._complete_speech, id_prefix="content"),
            JobHandler(kind=CLONE_KIND, run=self._run_clone, complete=self._complete_clone, id_prefix="clone"),
        ]

    def on_event(self, name: str, data: dict[str, Any]) -> None:
        """Event bus subscriber (loop thread): failed or cancelled jobs mark their rows."""
        if name not in ("job_failed", "job_cancelled") or data.get("kind") not in (SYNTH_KIND, CONTENT_KIND, CLONE_KIND):
            return
        status = "failed" if name == "job_failed" else "cancelled"
        with self.ctx.db.session() as s:
            if data["kind"] == CLONE_KIND:
                voice = s.get(Voice, (data.get("params") or {}).get("voice_id"))
                if voice is not None:
                    voice.status, voice.updated_at = status, utcnow()
                    voice.profile = {**(voice.profile or {}), "error": data.get("error")}
                return
            row = s.get(VoiceContent, data["id"])
            if row is not None:
                row.status = status
                row.result = {"error": data.get("error")}
                row.completed_at = utcnow()

    # --- characters -----------------------------------------------------------------------------
    def initialize(self) -> dict[str, Any]:
        """Create the default characters that do not exist yet; a second call creates none."""
        started = time.perf_counter()
        created: list[dict[str, Any]] = []
        with self.ctx.db.session() as s:
            for char_id, data in default_characters().items():
                if s.get(Character, char_id) is not None:
                    continue
                row = Character(id=char_id, is_default=1, **self._fields_from_data(data))
                s.add(row)
                s.flush()
                created.append(self._character_dict(row))
            total = s.scalar(select(func.count()).select_from(Character)) or 0
        if created:
            self.ctx.events.publish("characters_changed", {"created": [c["id"] for c in created]})
        return {"created": created, "total": total, "seconds": time.perf_counter() - started}

    @staticmethod
    def _fields_from_data(data: dict[str, Any]) -> dict[str, Any]:
        fields = {k: data[k] for k in EDITABLE if k in data and k not in ("voice", "words")}
        fields["voice"] = {"voice_id": BUILTIN_VOICE_ID, **(data.get("voice") or {})}
        fields["words"] = {k: list((data.get("words") or {}).get(k, [])) for k in WORDS_KEYS}
        return fields

    def _character_dict(self, row: Character, *, counts: dict[str, int] | None = None) -> dict[str, Any]:
        return {
            "id": row.id, "name": row.name, "genre": row.genre, "style": row.style,
            "personality": row.personality_summary, "personality_traits": dict(row.personality or {}),
            "backstory": row.backstory, "bio": row.backstory, "interests": list(row.interests or []),
            "age": row.age, "location": row.location, "timezone": row.timezone,
            "voice_settings": dict(row.voice or {}), "voice_id": (row.voice or {}).get("voice_id", BUILTIN_VOICE_ID),
            "voice_quality": row.voice_quality, "words": dict(row.words or {}),
            "content_schedule": row.content_schedule, "status": row.status, "appearance": dict(row.appearance or {}),
            "is_default": bool(row.is_default), "total_content": (counts or {}).get(row.id, 0),
            "created_at": iso(row.created_at), "updated_at": iso(row.updated_at), "last_active": iso(row.last_active_at),
        }

    def _content_counts(self, s) -> dict[str, int]:
        rows = s.execute(select(VoiceContent.character_id, func.count()).where(VoiceContent.status == "completed")
                         .group_by(VoiceContent.character_id)).all()
        return {char_id: n for char_id, n in rows}

    def list_characters(self, *, status: str | None = None, search: str | None = None, limit: int = 100,
                        offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
        with self.ctx.db.session() as s:
            query = select(Character)
            if status:
                query = query.where(Character.status == status)
            if search:
                like = f"%{search.lower()}%"
                query = query.where(func.lower(Character.name).like(like) | func.lower(Character.backstory).like(like)
                                    | func.lower(Character.genre).like(like))
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = s.scalars(query.order_by(Character.created_at, Character.id).limit(limit).offset(offset)).all()
            counts = self._content_counts(s)
            return total, [self._character_dict(r, counts=counts) for r in rows]

    def get_character(self, character_id: str) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            row = s.get(Character, character_id)
            if row is None:
                raise UnknownCharacter(character_id)
            return self._character_dict(row, counts=self._content_counts(s))

    def create_character(self, fields: dict[str, Any]) -> dict[str, Any]:
        name = (fields.get("name") or "").strip()
        if not name:
            raise VoiceError("name is required", field="name")
        self._check_fields(fields)
        with self.ctx.db.session() as s:
            base = slugify(fields.get("id") or f"{name}_{fields.get('genre') or ''}")
            char_id, n = base, 2
            while s.get(Character, char_id) is not None:
                char_id, n = f"{base}_{n}", n + 1
            data = {k: v for k, v in fields.items() if k in EDITABLE and v is not None}
            voice = {"voice_id": BUILTIN_VOICE_ID, "pitch_semitones": 0.0, "formant_shift": 1.0, "pitch_range": 1.0,
                     "speed": 1.0, "emotion": "neutral", **(data.pop("voice", None) or {})}
            words = {k: list((data.pop("words", None) or {}).get(k, [])) for k in WORDS_KEYS}
            row = Character(id=char_id, voice=voice, words=words, **data)
            s.add(row)
            s.flush()
            out = self._character_dict(row)
        self.ctx.events.publish("characters_changed", {"created": [char_id]})
        return out

    def _check_fields(self, fields: dict[str, Any]) -> None:
        if fields.get("status") is not None and fields["status"] not in STATUSES:
            raise VoiceError(f"status must be one of {', '.join(STATUSES)}", field="status")
        if fields.get("style"):
            from studio.engine.composition.styles import styles

            if fields["style"] not in styles():
                raise VoiceError(f"unknown style {fields['style']!r}; allowed: {', '.join(styles())}", field="style")
        voice = fields.get("voice") or {}
        unknown = set(voice) - set(VOICE_KEYS)
        if unknown:
            raise VoiceError(f"unknown voice setting(s) {', '.join(sorted(unknown))}; allowed: {', '.join(VOICE_KEYS)}",
                             field="voice")
        if voice:
            try:
                _voice_settings({k: v for k, v in voice.items() if k != "voice_id"})
            except ValueError as exc:
                raise VoiceError(str(exc), field="voice") from None
            if voice.get("voice_id") not in (None, BUILTIN_VOICE_ID):
                self.get_voice(voice["voice_id"])  # UnknownVoice -> 404

    def update_character(self, character_id: str, changes: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Apply `changes` (EDITABLE keys; `voice` and `words` merge into what is there);
        returns the character and the names of the fields that changed."""
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise VoiceError(f"cannot change {', '.join(sorted(unknown))}; editable: {', '.join(EDITABLE)}")
        self._check_fields(changes)
        updated: list[str] = []
        with self.ctx.db.session() as s:
            row = s.get(Character, character_id)
            if row is None:
                raise UnknownCharacter(character_id)
            for key, value in changes.items():
                if key in ("voice", "words", "personality", "appearance"):
                    value = {**(getattr(row, key) or {}), **(value or {})}
                if getattr(row, key) != value:
                    setattr(row, key, value)
                    updated.append(key)
            if updated:
                row.updated_at = utcnow()
            out = self._character_dict(row, counts=self._content_counts(s))
        if updated:
            self.ctx.events.publish("characters_changed", {"updated": [character_id]})
        return out, updated

    def delete_character(self, character_id: str) -> dict[str, int]:
        """Remove the character, its content (and files) and the voices matched for it."""
        with self.ctx.db.session() as s:
            row = s.get(Character, character_id)
            if row is None:
                raise UnknownCharacter(character_id)
            content = s.scalars(select(VoiceContent).where(VoiceContent.character_id == character_id)).all()
            voices = s.scalars(select(Voice).where(Voice.character_id == character_id)).all()
            media = [m for c in content for m in ((c.result or {}).get("files") or {}).values()]
            for voice in voices:
                media += list((voice.profile or {}).get("sample_ids", []))
            for item in list(content) + list(voices):
                s.delete(item)
            for media_id in media:
                file_row = s.get(MediaFile, media_id)
                if file_row is not None:
                    s.delete(file_row)
            s.delete(row)
        files = sum(self.ctx.store.delete(m) for m in media)
        self.ctx.events.publish("characters_changed", {"deleted": [character_id]})
        return {"content_deleted": len(content), "voices_deleted": len(voices), "files_deleted": files}

    # --- words --------------------------------------------------------------------------------
    def persona(self, character: dict[str, Any]) -> scripts.Persona:
        words = character.get("words") or {}
        return scripts.Persona(name=character["name"], genre=character.get("genre") or "music",
                               **{k: tuple(words.get(k) or ()) for k in WORDS_KEYS})

    async def write_script(self, character_id: str, content_type: str, *, topic: str | None = None,
                           mood: str | None = None, duration_s: float = 30.0, seed: int | None = None) -> dict[str, Any]:
        """A script in the character's words: from Ollama when configured and reachable, else the built-in writer."""
        character = self.get_character(character_id)
        try:
            kind = scripts.normalise_content_type(content_type)
        except ValueError as exc:
            raise VoiceError(str(exc), field="content_type") from None
        if not 1.0 <= duration_s <= MAX_CONTENT_DURATION_S:
            raise VoiceError(f"duration must be between 1 and {MAX_CONTENT_DURATION_S:g} seconds", field="duration")
        mood = (mood or (character["voice_settings"].get("emotion")) or "neutral").lower()
        speed = float(character["voice_settings"].get("speed", 1.0))
        seed = int(time.time() * 1000) % 2**31 if seed is None else seed
        written = scripts.write_script(self.persona(character), kind, topic=topic, mood=mood, duration_s=duration_s,
                                       speed=speed, seed=seed)
        result = written.to_dict()
        llm_text = await self._llm_script(character, kind, written.topic, mood, duration_s, seed)
        if llm_text:
            result.update(script=llm_text, word_count=scripts.count_words(llm_text),
                          duration_estimate=round(scripts.estimate_duration_s(llm_text, speed), 1),
                          source=f"ollama:{self.ctx.settings.ollama_model}")
        result["seed"] = seed
        return result

    async def _llm_script(self, character: dict[str, Any], kind: str, topic: str, mood: str, duration_s: float,
                          seed: int) -> str | None:
        settings = self.ctx.settings
        if not settings.ollama_url:
            return None
        from studio.connectors.ollama import OllamaClient, OllamaUnavailable

        words = round(duration_s * 150 / 60)
        traits = character.get("personality_traits") or {}
        system = (f"You are {character['name']}, a {character.get('genre')} music host. Personality: "
                  f"{character.get('personality')}. Backstory: {character.get('backstory')} Tone: "
                  f"{traits.get('content_tone', 'friendly')}; style: {traits.get('communication_style', 'casual')}. "
                  "Write only the words to be spoken: no stage directions, no emoji, no hashtags, no quotes.")
        prompt = (f"Write a spoken {kind.replace('_', ' ')} of about {words} words about {topic}. "
                  f"Mood: {mood}. Speak in the first person as {character['name']}.")
        client = OllamaClient(settings.ollama_url, settings.ollama_model)
        try:
            text = await client.generate(prompt, system=system, temperature=float(traits.get("temperature", 0.7)),
                                         seed=seed, max_tokens=max(64, words * 2))
        except OllamaUnavailable as exc:
            log.info("script from the built-in writer: %s", exc)
            return None
        text = re.sub(r"\s+", " ", text.replace("*", "")).strip().strip('"')
        return text[:MAX_TEXT_CHARS] or None

    def latest_script(self, character_id: str) -> dict[str, Any] | None:
        """The most recent scripted piece of the character (what seed 000's GET .../script returns)."""
        self.get_character(character_id)
        with self.ctx.db.session() as s:
            row = s.scalars(select(VoiceContent).where(VoiceContent.character_id == character_id,
                                                       VoiceContent.kind.in_(scripts.CONTENT_TYPES))
                            .order_by(VoiceContent.created_at.desc())).first()
            return self._content_dict(row) if row else None

    def write_caption(self, character_id: str, *, content_type: str = "caption", context: str = "",
                      tone: str | None = None, max_length: int = 220, seed: int | None = None) -> dict[str, Any]:
        """A caption/post text, stored in the character's content history."""
        character = self.get_character(character_id)
        if content_type not in ("caption", "post"):
            raise VoiceError("content_type must be 'caption' or 'post'", field="content_type")
        seed = int(time.time() * 1000) % 2**31 if seed is None else seed
        try:
            text = scripts.write_caption(self.persona(character), context=context,
                                         tone=(tone or "neutral").lower(), max_length=max_length, seed=seed)
        except ValueError as exc:
            raise VoiceError(str(exc), field="max_length") from None
        row = VoiceContent(id=new_id("content"), character_id=character_id, kind=content_type,
                           title=(context or content_type)[:200], text=text, status="completed",
                           params={"context": context, "tone": tone, "max_length": max_length, "seed": seed},
                           completed_at=utcnow())
        with self.ctx.db.session() as s:
            s.add(row)
            self._touch(s, character_id)
            s.flush()
            return self._content_dict(row)

    @staticmethod
    def _touch(s, character_id: str) -> None:
        row = s.get(Character, character_id)
        if row is not None:
            row.last_active_at = utcnow()

    # --- speech -----------------------------------------------------------------------------------
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
            from studio.services.music import ASSUMED_REALTIME_FACTOR, measured_realtime_factor

            music_factor = measured_realtime_factor(self.ctx) or ASSUMED_REALTIME_FACTOR
            seconds += (text_duration_s + MUSIC_BED_PAD_S) / music_factor
        return round(seconds + 0.5, 1), basis

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

    def preview_speech(self, text: str, voice: dict[str, Any]):
        """(audio, rate) of `text` with voice settings that need not be saved yet (the Voices
        panel's Preview). Blocking: call it off the GUI thread. A matched `voice_id` lends its timbre."""
        from studio.engine.instruments.voice import speak

        text = self._check_text(text)
        transform = None
        if voice.get("voice_id") not in (None, BUILTIN_VOICE_ID):
            try:
                matched = self.get_voice(voice["voice_id"])
                transform = matched["transform"] if matched["status"] == "ready" else None
            except UnknownVoice:
                transform = None
        return speak(text, _voice_settings({k: v for k, v in voice.items() if k != "voice_id"}, transform))

    def _voice_for(self, character: dict[str, Any]) -> dict[str, Any] | None:
        voice_id = character["voice_settings"].get("voice_id") or BUILTIN_VOICE_ID
        if voice_id == BUILTIN_VOICE_ID:
            return None
        try:
            voice = self.get_voice(voice_id)
        except UnknownVoice:
            return None  # deleted since: the character's own transform applies
        return voice["transform"] if voice["status"] == "ready" else None

    def submit_synthesis(self, character_id: str, text: str, *, emotion: str | None = None,
                         speed: float | None = None, pitch_semitones: float = 0.0, voice_id: str | None = None,
                         title: str | None = None) -> dict[str, Any]:
        """Queue `text` in the character's voice (or with a matched voice's timbre: `voice_id`);
        returns the content row (its id is the job's)."""
        character = self.get_character(character_id)
        text = self._check_text(text)
        transform = None
        if voice_id and voice_id != BUILTIN_VOICE_ID:
            voice = self.get_voice(voice_id)  # UnknownVoice -> 404
            if voice["status"] != "ready":
                raise VoiceError(f"voice '{voice_id}' is {voice['status']}, not ready", field="voice_id",
                                 http_status=409)
            transform = voice["transform"]
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
        character = self.get_character(character_id)
        written = await self.write_script(character_id, content_type, topic=topic, mood=mood, duration_s=duration_s,
                                          seed=seed)
        emotion = mood if mood in _emotion_names() else None
        settings = self._settings_or_422(character, emotion=emotion)
        music = self._music_bed(character, track_id, duration_s) if include_music else None
        params = {"character_id": character_id, "text": written["script"], "settings": settings, "music": music,
                  "script": written}
        title = f"{written['content_type'].replace('_', ' ').title()}: {written['topic']}"[:200]
        row = self._submit_speech(CONTENT_KIND, character, written["content_type"], params, title)
        row["script"] = written
        return row

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
        return {"source": "generated", "style": style, "duration_s": min(duration_s + MUSIC_BED_PAD_S, 600.0)}

    def _settings_or_422(self, character: dict[str, Any], *, transform: dict[str, Any] | None = None,
                         **overrides) -> dict[str, Any]:
        try:
            settings = _voice_settings(character["voice_settings"], transform or self._voice_for(character),
                                       **overrides)
        except ValueError as exc:
            raise VoiceError(str(exc), field="emotion" if "emotion" in str(exc) else "voice_settings") from None
        return {"pitch_semitones": settings.pitch_semitones, "formant_shift": settings.formant_shift,
                "pitch_range": settings.pitch_range, "speed": settings.speed, "emotion": settings.emotion}

    @staticmethod
    def _check_text(text: str) -> str:
        text = (text or "").strip()
        if not text:
            raise VoiceError("text is empty: write what the character should say", field="text")
        if len(text) > MAX_TEXT_CHARS:
            raise VoiceError(f"text is {len(text)} characters; the limit is {MAX_TEXT_CHARS}", field="text")
        return text

    def _submit_speech(self, kind: str, character: dict[str, Any], content_kind: str, params: dict[str, Any],
                       title: str) -> dict[str, Any]:
        job = self.ctx.jobs.submit(kind, params, title=f"{character['name']}: {title}"[:200])
        row = VoiceContent(id=job["id"], character_id=character["id"], kind=content_kind, title=title[:200],
                           text=params["text"], emotion=params["settings"]["emotion"], status="processing",
                           job_id=job["id"], params={k: v for k, v in params.items() if k != "text"})
        with self.ctx.db.session() as s:
            s.add(row)
            self._touch(s, character["id"])
            s.flush()
            out = self._content_dict(row)
        spoken_s = scripts.estimate_duration_s(params["text"], params["settings"]["speed"])
        out["estimated_time"], out["estimate_basis"] = self.estimate_speech_s(
            spoken_s, with_music=params.get("music") is not None)
        out["queue_position"] = self.ctx.jobs.queue_position(job["id"])
        return out

    def _run_speech(self, job: JobContext) -> dict[str, Any]:
        """Worker: voice the text, lay it over the bed when asked, write WAV + MP3 into a work dir."""
        import soundfile as sf

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
                data, bed_rate = sf.read(music["path"], dtype="float32", always_2d=True)
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
        from studio.engine.pipeline.generate import generate
        from studio.engine.composition.spec import GenerationSpec

        spec = GenerationSpec(style=music["style"], duration=max(8.0, min(600.0, speech_s + MUSIC_BED_PAD_S)),
                              instrumental=True, seed=abs(hash(job.job_id)) % 2**31)
        result = generate(spec, progress=lambda f, stage: job.progress(45 + 30 * f, f"music: {stage}"),
                          cancel=lambda: job.cancelled, tag=False)
        return result.track.mix.detach().cpu().numpy(), result.track.sample_rate_hz

    def _complete_speech(self, job, result: dict[str, Any]) -> dict[str, Any]:
        """Loop thread: files into the media store, the content row completed."""
        files: dict[str, str] = {}
        rows: list[MediaFile] = []
        from studio.services.music import MIME_TYPES

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

    def singer_options(self, character_id: str | None = None, voice_id: str | None = None) -> dict[str, Any]:
        """The engine's SingerOptions for a character (its voice, or its matched voice) and/or a
        matched voice: what a generation with sung vocals needs. UnknownCharacter / UnknownVoice."""
        transform: dict[str, Any] | None = None
        voice = None
        if voice_id and voice_id != BUILTIN_VOICE_ID:
            voice = self.get_voice(voice_id)
            if voice["status"] != "ready":
                raise VoiceError(f"voice '{voice_id}' is {voice['status']}, not ready", field="voice_id",
                                 http_status=409)
            transform = voice["transform"]
        if character_id:
            character = self.get_character(character_id)
            timbre = transform or self._voice_for(character) or character["voice_settings"]
            name = character["name"]
        else:
            timbre, name = transform or {}, voice["name"] if voice else "Joe (built-in voice)"
        return {"name": name, "character_id": character_id, "voice_id": voice_id,
                "pitch_semitones": float(timbre.get("pitch_semitones", 0.0)),
                "formant_shift": float(timbre.get("formant_shift", 1.0)),
                "pitch_range": float(timbre.get("pitch_range", 1.0))}

    # --- content ----------------------------------------------------------------------------------
    def _content_dict(self, row: VoiceContent) -> dict[str, Any]:
        files = (row.result or {}).get("files") or {}
        script = (row.params or {}).get("script") or {}
        return {
            "id": row.id, "character_id": row.character_id, "type": row.kind, "title": row.title, "text": row.text,
            "emotion": row.emotion, "status": row.status, "duration": row.duration_s,
            "created_at": iso(row.created_at), "completed_at": iso(row.completed_at),
            "download_url": f"/api/voice/content/download/{row.id}" if files else None,
            "files": files, "job_id": row.job_id,
            "word_count": scripts.count_words(row.text) if row.text else 0,
            "emotion_tags": script.get("emotion_tags", []), "script_source": script.get("source"),
            "music": {k: v for k, v in ((row.params or {}).get("music") or {}).items() if k != "path"} or None,
            "error": (row.result or {}).get("error") if row.status in ("failed", "cancelled") else None,
            # performance comes from published content's statistics, which do not exist yet
            "views": 0, "engagement": 0.0,
        }

    def content_history(self, character_id: str, *, limit: int = 10, offset: int = 0,
                        kind: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        self.get_character(character_id)
        with self.ctx.db.session() as s:
            query = select(VoiceContent).where(VoiceContent.character_id == character_id)
            if kind:
                query = query.where(VoiceContent.kind == kind)
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = s.scalars(query.order_by(VoiceContent.created_at.desc()).limit(limit).offset(offset)).all()
            return total, [self._content_dict(r) for r in rows]

    def get_content(self, content_id: str) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            row = s.get(VoiceContent, content_id)
            if row is None:
                raise UnknownContent(content_id)
            return self._content_dict(row)

    def content_file(self, content_id: str, fmt: str = "wav") -> tuple[Path, dict[str, Any]]:
        """(path, media row) of a content's audio; UnknownContent when there is none (yet)."""
        content = self.get_content(content_id)
        media_id = content["files"].get(fmt)
        if not media_id:
            raise UnknownContent(content_id)
        return media_file(self.ctx, media_id)

    def delete_content(self, content_id: str) -> int:
        with self.ctx.db.session() as s:
            row = s.get(VoiceContent, content_id)
            if row is None:
                raise UnknownContent(content_id)
            media = list(((row.result or {}).get("files") or {}).values())
            s.delete(row)
            for media_id in media:
                file_row = s.get(MediaFile, media_id)
                if file_row is not None:
                    s.delete(file_row)
        return sum(self.ctx.store.delete(m) for m in media)

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
            self.get_character(character_id)  # UnknownCharacter -> 404 before anything is queued
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

    # --- figures ---------------------------------------------------------------------------------
    def character_analytics(self, character_id: str) -> dict[str, Any]:
        character = self.get_character(character_id)
        with self.ctx.db.session() as s:
            rows = s.execute(select(VoiceContent.kind, func.count(), func.coalesce(func.sum(VoiceContent.duration_s), 0.0))
                             .where(VoiceContent.character_id == character_id, VoiceContent.status == "completed")
                             .group_by(VoiceContent.kind)).all()
        by_type = {kind: {"count": n, "duration_s": round(float(seconds), 1)} for kind, n, seconds in rows}
        return {"total_content": sum(v["count"] for v in by_type.values()), "content_by_type": by_type,
                "audio_minutes": round(sum(v["duration_s"] for v in by_type.values()) / 60.0, 2),
                "total_views": 0, "average_engagement": 0.0, "revenue_generated": 0.0, "growth_rate": 0.0,
                "top_performing_content": [], "performance_source": PERFORMANCE_SOURCE,
                "last_active": character["last_active"]}

    def dashboard(self) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            total = s.scalar(select(func.count()).select_from(Character)) or 0
            active = s.scalar(select(func.count()).select_from(Character).where(Character.status == "active")) or 0
            content = s.scalar(select(func.count()).select_from(VoiceContent)
                               .where(VoiceContent.status == "completed")) or 0
            voices = s.scalar(select(func.count()).select_from(Voice).where(Voice.status == "ready")) or 0
            busiest = s.execute(select(VoiceContent.character_id, func.count()).where(VoiceContent.status == "completed")
                                .group_by(VoiceContent.character_id).order_by(func.count().desc()).limit(3)).all()
        return {"summary": {"total_characters": total, "active_characters": active, "total_content": content,
                            "matched_voices": voices, "monthly_revenue": 0.0, "growth_rate": 0.0},
                "most_active": [{"character": c, "content": n} for c, n in busiest],
                "top_performers": [], "performance_source": PERFORMANCE_SOURCE}

    # --- voices (voice matching) ------------------------------------------------------------------
    def _voice_dict(self, row: Voice) -> dict[str, Any]:
        profile = dict(row.profile or {})
        profile.pop("sample_ids", None)
        return {"voice_id": row.id, "id": row.id, "name": row.name, "description": row.description,
                "character_id": row.character_id, "status": row.status, "transform": dict(row.transform or {}),
                "profile": profile, "job_id": row.job_id, "created_at": iso(row.created_at),
                "kind": "matched", "note": "matches pitch and timbre of the samples; it is not a neural voice clone"}

    def builtin_voice(self) -> dict[str, Any]:
        return {"voice_id": BUILTIN_VOICE_ID, "id": BUILTIN_VOICE_ID, "name": "Joe (Piper, US English)",
                "description": "The embedded neural voice every character is a transform of", "character_id": None,
                "status": "ready", "transform": {}, "profile": {}, "kind": "builtin", "created_at": None}

    def list_voices(self, character_id: str | None = None) -> list[dict[str, Any]]:
        with self.ctx.db.session() as s:
            query = select(Voice).order_by(Voice.created_at.desc())
            if character_id is not None:
                query = query.where(Voice.character_id == character_id)
            return [self._voice_dict(v) for v in s.scalars(query).all()]

    def get_voice(self, voice_id: str) -> dict[str, Any]:
        if voice_id == BUILTIN_VOICE_ID:
            return self.builtin_voice()
        with self.ctx.db.session() as s:
            row = s.get(Voice, voice_id)
            if row is None:
                raise UnknownVoice(voice_id)
            return self._voice_dict(row)

    def delete_voice(self, voice_id: str, *, character_id: str | None = None) -> int:
        """Remove a matched voice and its samples; characters using it fall back to their own timbre."""
        if voice_id == BUILTIN_VOICE_ID:
            raise VoiceError("the built-in voice cannot be deleted", field="voice_id", http_status=409)
        with self.ctx.db.session() as s:
            row = s.get(Voice, voice_id)
            if row is None or (character_id is not None and row.character_id != character_id):
                raise UnknownVoice(voice_id)
            media = list((row.profile or {}).get("sample_ids", []))
            s.delete(row)
            for media_id in media:
                file_row = s.get(MediaFile, media_id)
                if file_row is not None:
                    s.delete(file_row)
            for char in s.scalars(select(Character)).all():
                if (char.voice or {}).get("voice_id") == voice_id:
                    char.voice = {**char.voice, "voice_id": BUILTIN_VOICE_ID}
        return sum(self.ctx.store.delete(m) for m in media)

    def inspect_sample(self, path: Path) -> dict[str, Any]:
        """What voice matching would make of one recording: its facts, or {"error": why not}."""
        from studio.engine.instruments.voice_match import check_sample

        try:
            return check_sample(Path(path).read_bytes(), Path(path).name)
        except (ValueError, OSError) as exc:
            return {"error": str(exc), "duration_s": 0.0}

    def submit_clone(self, samples: list[tuple[bytes, str]], *, name: str, description: str = "",
                     character_id: str | None = None) -> dict[str, Any]:
        """Validate the samples now (format, length, level), store them, queue the fitting.
        Nothing is stored when a sample is refused."""
        from studio.engine.instruments.voice_match import MAX_TOTAL_S, MIN_TOTAL_S, check_sample

        name = (name or "").strip()
        if not name:
            raise VoiceError("voice_name is required", field="voice_name")
        if character_id is not None:
            self.get_character(character_id)
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
        job = self.ctx.jobs.submit(CLONE_KIND, {"voice_id": voice_id, "sample_ids": sample_ids},
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

    def _run_clone(self, job: JobContext) -> dict[str, Any]:
        from studio.engine.instruments.voice_match import fit_voice

        paths = [self.ctx.store.path(media_id) for media_id in job.params["sample_ids"]]
        started = time.perf_counter()
        result = fit_voice(paths, progress=lambda f, stage: job.progress(100 * f, stage))
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


def _emotion_names() -> list[str]:
    from studio.engine.instruments.voice import emotion_names

    return emotion_names()

