"""What the engine offers, for forms, pickers and request models (callers above the services never
import the engine): styles, moods, key names, instrument roles, audio qualities, the duration limit
and the generation spec model requests are validated against."""

from __future__ import annotations

from typing import Any

# The request model of a generation and the longest track: routes build their request models on them.
from studio.engine.composition.spec import MAX_DURATION_S as MAX_DURATION_S
from studio.engine.composition.spec import GenerationSpec as GenerationSpec


class MusicCatalogue:
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
        from studio.engine.composition.styles import instrument_roles

        return instrument_roles()

    @staticmethod
    def max_duration_s() -> float:
        """The longest track the engine renders (an extension included)."""
        return MAX_DURATION_S

    @staticmethod
    def audio_qualities() -> dict[str, tuple[int, int]]:
        """audio_quality -> (sample rate Hz, WAV bit depth), the engine's table."""
        from studio.engine.composition.spec import AUDIO_QUALITY

        return dict(AUDIO_QUALITY)

    @staticmethod
    def resolve(spec_fields: dict[str, Any]):
        """The engine's resolved spec of `spec_fields` (no singer lookup: see MusicGeneration.preview).
        Raises pydantic.ValidationError naming the bad field."""
        from studio.engine.composition.spec import resolve_spec

        return resolve_spec(GenerationSpec.model_validate(spec_fields))
