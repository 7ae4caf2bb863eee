"""Voice characters (personas with words and a voice): rows in `characters`; the eight defaults are
data in resources/voices/characters.toml, created by `initialize` (idempotent)."""

from __future__ import annotations

import time
import tomllib
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from studio.db.models import Character, MediaFile, Voice, VoiceContent
from studio.engine.composition import scripts
from studio.services.voices.common import (
    BUILTIN_VOICE_ID,
    DEFAULT_BASE_VOICE,
    CHARACTERS_FILE,
    EDITABLE,
    STATUSES,
    VOICE_KEYS,
    WORDS_KEYS,
    UnknownCharacter,
    VoiceError,
    slugify,
    voice_settings,
)
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.voices.catalog import VoiceCatalog


def default_characters() -> dict[str, dict[str, Any]]:
    with open(CHARACTERS_FILE, "rb") as fh:
        return tomllib.load(fh)["characters"]


def touch(s, character_id: str) -> None:
    """Mark the character active now (inside the caller's session)."""
    row = s.get(Character, character_id)
    if row is not None:
        row.last_active_at = utcnow()


class Characters:
    def __init__(self, ctx: "Context", *, catalog: "VoiceCatalog") -> None:
        self.ctx = ctx
        self.catalog = catalog  # a character's voice_id must name a voice that exists

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

    @staticmethod
    def _character_dict(row: Character, *, counts: dict[str, int] | None = None) -> dict[str, Any]:
        return {
            "id": row.id, "name": row.name, "genre": row.genre, "style": row.style,
            "personality": row.personality_summary, "personality_traits": dict(row.personality or {}),
            "backstory": row.backstory, "bio": row.backstory, "interests": list(row.interests or []),
            "age": row.age, "location": row.location, "timezone": row.timezone,
            "voice_settings": {"base_voice": DEFAULT_BASE_VOICE, **(row.voice or {})}, "voice_id": (row.voice or {}).get("voice_id", BUILTIN_VOICE_ID),
            "voice_quality": row.voice_quality, "words": dict(row.words or {}),
            "content_schedule": row.content_schedule, "status": row.status, "appearance": dict(row.appearance or {}),
            "is_default": bool(row.is_default), "total_content": (counts or {}).get(row.id, 0),
            "created_at": iso(row.created_at), "updated_at": iso(row.updated_at), "last_active": iso(row.last_active_at),
        }

    @staticmethod
    def _content_counts(s) -> dict[str, int]:
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
            voice = {"voice_id": BUILTIN_VOICE_ID, "base_voice": DEFAULT_BASE_VOICE, "pitch_semitones": 0.0, "formant_shift": 1.0, "pitch_range": 1.0,
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
                voice_settings({k: v for k, v in voice.items() if k not in ("voice_id", "base_voice")})
            except ValueError as exc:
                raise VoiceError(str(exc), field="voice") from None
            if voice.get("base_voice") is not None:
                self.catalog.engine_base_voice(voice["base_voice"])  # VoiceError 422 naming the choices
            if voice.get("voice_id") not in (None, BUILTIN_VOICE_ID):
                self.catalog.get_voice(voice["voice_id"])  # UnknownVoice -> 404

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

    @staticmethod
    def persona(character: dict[str, Any]) -> scripts.Persona:
        """The script writer's view of a character: its name, genre and words."""
        words = character.get("words") or {}
        return scripts.Persona(name=character["name"], genre=character.get("genre") or "music",
                               **{k: tuple(words.get(k) or ()) for k in WORDS_KEYS})
