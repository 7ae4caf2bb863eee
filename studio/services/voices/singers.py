"""Singers for sung generations: the music service asks for a character's (or a matched voice's)
timbre as the engine's SingerOptions fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from studio.services.voices.common import BUILTIN_VOICE_ID

if TYPE_CHECKING:
    from studio.services.voices.catalog import VoiceCatalog
    from studio.services.voices.characters import Characters


class Singers:
    def __init__(self, *, characters: "Characters", catalog: "VoiceCatalog") -> None:
        self.characters = characters
        self.catalog = catalog

    def singer_options(self, character_id: str | None = None, voice_id: str | None = None) -> dict[str, Any]:
        """The engine's SingerOptions for a character (its voice, or its matched voice) and/or a
        matched voice: what a generation with sung vocals needs. UnknownCharacter / UnknownVoice."""
        transform: dict[str, Any] | None = None
        voice = None
        if voice_id and voice_id != BUILTIN_VOICE_ID:
            voice = self.catalog.ready_voice(voice_id)  # UnknownVoice -> 404, not ready -> 409
            transform = voice["transform"]
        if character_id:
            character = self.characters.get_character(character_id)
            transform = transform or self.catalog.transform_for(character["voice_settings"].get("voice_id"))
            timbre = transform or character["voice_settings"]
            name = character["name"]
        else:
            timbre, name = transform or {}, voice["name"] if voice else "Joe (built-in voice)"
        base = (transform or {}).get("base_voice") or (character["voice_settings"].get("base_voice")
                                                        if character_id else None)
        return {"name": name, "character_id": character_id, "voice_id": voice_id,
                "base_voice": self.catalog.engine_base_voice(base),
                "pitch_semitones": float(timbre.get("pitch_semitones", 0.0)),
                "formant_shift": float(timbre.get("formant_shift", 1.0)),
                "pitch_range": float(timbre.get("pitch_range", 1.0))}
