"""The voices a character can speak with: the built-in voice and the matched ones (`voices` rows,
made by voice matching), whose fitted transform replaces a character's timbre; and the base voices
those transforms reshape (the built-in male and female voices, and Piper voices installed through
/api/models/install, which `installed_voices` lists: the composition root wires it to the system
area's model catalogue)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from studio.db.models import Character, MediaFile, Voice
from studio.services.voices.common import (
    BUILTIN_VOICE_ID,
    DEFAULT_BASE_VOICE,
    FEMALE_BASE_VOICE,
    UnknownVoice,
    VoiceError,
)
from studio.timeutil import iso

if TYPE_CHECKING:
    from studio.context import Context


class VoiceCatalog:
    def __init__(self, ctx: "Context") -> None:
        self.ctx = ctx
        # Installed Piper voices, each {id, name, path, ...}; set by the app (ModelCatalog.installed_voices).
        self.installed_voices: Callable[[], list[dict[str, Any]]] = lambda: []

    # --- base voices ------------------------------------------------------------------------------
    def base_voice_for(self, voice: dict[str, Any], transform: dict[str, Any] | None = None) -> str:
        """The engine's base voice for a character's voice dict: a matched voice's `transform` was
        fitted on a base voice of its own, which wins."""
        return self.engine_base_voice((transform or {}).get("base_voice") or voice.get("base_voice"))

    def base_voices(self) -> list[dict[str, Any]]:
        """Every base voice a character can be a transform of: built-in first, then installed."""
        from studio.engine.instruments.voice import BUILTIN_VOICES

        out = [{"id": voice_id, "name": facts["name"], "gender": facts["gender"], "kind": "builtin",
                "engine": facts["engine"]} for voice_id, facts in BUILTIN_VOICES.items()]
        out += [{"id": v["id"], "name": v["name"], "gender": None, "kind": "installed", "engine": "piper"}
                for v in self.installed_voices()]
        return out

    def engine_base_voice(self, base_voice: str | None) -> str:
        """What the engine takes for a base voice id: a built-in id as it is, an installed voice's
        model path. VoiceError (422) naming the choices for anything else."""
        if base_voice in (None, "", DEFAULT_BASE_VOICE, FEMALE_BASE_VOICE):
            return base_voice or DEFAULT_BASE_VOICE
        for voice in self.installed_voices():
            if base_voice in (voice["id"], voice["path"]):  # the path: a spec this studio resolved before
                return voice["path"]
        choices = ", ".join(v["id"] for v in self.base_voices())
        raise VoiceError(f"unknown base voice {str(base_voice)[:64]!r}; choose one of: {choices} (install Piper voices "
                         "with POST /api/models/install)", field="base_voice")

    @staticmethod
    def _voice_dict(row: Voice) -> dict[str, Any]:
        profile = dict(row.profile or {})
        profile.pop("sample_ids", None)
        return {"voice_id": row.id, "id": row.id, "name": row.name, "description": row.description,
                "character_id": row.character_id, "status": row.status, "transform": dict(row.transform or {}),
                "profile": profile, "job_id": row.job_id, "created_at": iso(row.created_at),
                "kind": "matched", "note": "matches pitch and timbre of the samples; it is not a neural voice clone"}

    @staticmethod
    def builtin_voice() -> dict[str, Any]:
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

    def ready_voice(self, voice_id: str) -> dict[str, Any]:
        """A voice a request names, to speak or sing with: UnknownVoice (404), or 409 while it is
        still being matched (or failed)."""
        voice = self.get_voice(voice_id)
        if voice["status"] != "ready":
            raise VoiceError(f"voice '{voice_id}' is {voice['status']}, not ready", field="voice_id", http_status=409)
        return voice

    def transform_for(self, voice_id: str | None) -> dict[str, Any] | None:
        """The transform a saved voice id lends, or None: the built-in voice, a deleted voice or
        one that is not ready leave the character's own timbre in place."""
        if voice_id in (None, BUILTIN_VOICE_ID):
            return None
        try:
            voice = self.get_voice(voice_id)
        except UnknownVoice:
            return None  # deleted since: the character's own transform applies
        return voice["transform"] if voice["status"] == "ready" else None

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
