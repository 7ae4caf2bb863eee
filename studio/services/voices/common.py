"""What every part of the voices area shares: job kinds, limits, errors and small helpers."""

from __future__ import annotations

import re
from typing import Any

from studio.engine.composition.spec import MAX_DURATION_S
from studio.resources import resource_path

CHARACTERS_FILE = resource_path("voices", "characters.toml")
SYNTH_KIND = "voice.synthesize"
CONTENT_KIND = "voice.content"
CLONE_KIND = "voice.clone"
BUILTIN_VOICE_ID = "piper_joe"  # the catalogue's built-in voice: a character's own transform of its base voice
# Base voices (what a character's transform reshapes): the engine's built-in ids, or an installed
# Piper voice's model id (GET /api/models, kind "voice").
DEFAULT_BASE_VOICE = "en_US-joe-medium"  # male, Piper (engine.instruments.voice.DEFAULT_VOICE_ID)
FEMALE_BASE_VOICE = "hibari-heart"  # female, hibari (engine.instruments.voice.FEMALE_VOICE_ID)
MAX_TEXT_CHARS = 5000
# A spoken piece may ride on a generated music bed, so it is as long as a track can be.
MAX_CONTENT_DURATION_S = MAX_DURATION_S
MAX_BATCH_OPERATIONS = 100
MAX_SAMPLE_BYTES = 100 * 1024 * 1024  # one voice-matching recording
STATUSES = ("active", "paused", "error")
WORDS_KEYS = ("greetings", "signoffs", "phrases", "vocabulary", "emotion_tags")
VOICE_KEYS = ("voice_id", "base_voice", "pitch_semitones", "formant_shift", "pitch_range", "speed", "emotion")
EDITABLE = ("name", "genre", "style", "personality_summary", "personality", "backstory", "interests", "age",
            "location", "timezone", "voice", "voice_quality", "words", "content_schedule", "status", "appearance")
PERFORMANCE_SOURCE = ("none of the characters' content is linked to imported or connected statistics yet: import "
                      "your YouTube Studio or distributor files and confirm the links (Analytics > Links)")


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


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug[:48] or "character"


def voice_settings(voice: dict[str, Any], transform: dict[str, Any] | None = None, *, emotion: str | None = None,
                   speed: float | None = None, pitch_semitones: float = 0.0, base_voice: str | None = None):
    """The engine's VoiceSettings for a character's voice dict (a matched voice's `transform`
    replaces its timbre), with per-request emotion, speed factor and pitch offset. `base_voice`
    is the engine's value (a built-in id or an installed voice's path: `VoiceCatalog.engine_base_voice`)."""
    from studio.engine.instruments.voice import VoiceSettings

    timbre = transform or voice
    return VoiceSettings(
        base_voice=base_voice or DEFAULT_BASE_VOICE,
        pitch_semitones=float(timbre.get("pitch_semitones", 0.0)) + pitch_semitones,
        formant_shift=float(timbre.get("formant_shift", 1.0)),
        pitch_range=float(timbre.get("pitch_range", 1.0)),
        speed=float(voice.get("speed", 1.0)) * (speed if speed is not None else 1.0),
        emotion=emotion or voice.get("emotion") or "neutral",
    )
