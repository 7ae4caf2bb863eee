"""The choices a voices form offers, read from the engine so the panel and dialogs need not."""

from __future__ import annotations


def emotion_names() -> list[str]:
    """The deliveries a voice can take (neutral, happy, ...)."""
    from studio.engine.instruments.voice import emotion_names as names

    return names()


def content_types() -> tuple[str, ...]:
    """The pieces the script writer writes (introduction, outro, ...)."""
    from studio.engine.composition.scripts import CONTENT_TYPES

    return CONTENT_TYPES


def music_styles() -> dict[str, str]:
    """Engine style id -> display name: what a character's music beds may be."""
    from studio.engine.composition.styles import styles

    return {style_id: style.name for style_id, style in styles().items()}
