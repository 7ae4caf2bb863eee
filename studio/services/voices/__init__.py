"""Voices area: voice characters (personas with words and a voice), what they say and how.

One service behind the Voices panel and two documented API families: seed 000's
`/api/voice/...` and seed 002's `/api/characters/...`. `VoicesService` is the area's entry
object (what `services.voices` is); the work is done by its parts, one module each:

- characters.py: the `characters` rows; the eight defaults from resources/voices/characters.toml.
- catalog.py: the voices a character speaks with (the built-in Piper voice, matched voices).
- writing.py: scripts and captions in a character's words (built-in writer, or Ollama).
- speech.py: synthesis and scripted pieces as jobs, over an optional music bed.
- content.py: what was said (`voice_content` rows, their audio) and the figures counted from it.
- matching.py: voice matching from recordings (uploaded, a local path, or a URL).
- singers.py: a character's timbre for sung generations (the music service asks).
- options.py: the choices the panel's forms offer (emotions, content types, music styles).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from studio.jobs import JobHandler
from studio.services.voices import options
from studio.services.voices.catalog import VoiceCatalog
from studio.services.voices.characters import Characters
from studio.services.voices.common import (
    BUILTIN_VOICE_ID,
    CHARACTERS_FILE,
    MAX_CONTENT_DURATION_S,
    MAX_SAMPLE_BYTES,
    MAX_TEXT_CHARS,
    UnknownCharacter,
    UnknownContent,
    UnknownVoice,
    VoiceError,
)
from studio.services.voices.content import Content
from studio.services.voices.matching import VoiceMatching
from studio.services.voices.singers import Singers
from studio.services.voices.speech import Speech
from studio.services.voices.writing import Writer

if TYPE_CHECKING:
    from studio.context import Context

__all__ = [
    "BUILTIN_VOICE_ID", "CHARACTERS_FILE", "MAX_CONTENT_DURATION_S", "MAX_SAMPLE_BYTES", "MAX_TEXT_CHARS",
    "UnknownCharacter", "UnknownContent", "UnknownVoice", "VoiceError", "VoicesService",
]


class VoicesService:
    """The voices area as one object: its parts, and their operations under one name each
    (`services.voices.get_character(...)`), so callers need not know which part does what."""

    def __init__(self, ctx: "Context") -> None:
        self.ctx = ctx
        self.catalog = VoiceCatalog(ctx)
        self.characters = Characters(ctx, catalog=self.catalog)
        self.content = Content(ctx, characters=self.characters)
        self.writer = Writer(ctx, characters=self.characters)
        self.speech = Speech(ctx, characters=self.characters, catalog=self.catalog, writer=self.writer)
        self.matching = VoiceMatching(ctx, characters=self.characters)
        self.singers = Singers(characters=self.characters, catalog=self.catalog)

        # characters
        self.initialize = self.characters.initialize
        self.list_characters = self.characters.list_characters
        self.get_character = self.characters.get_character
        self.create_character = self.characters.create_character
        self.update_character = self.characters.update_character
        self.delete_character = self.characters.delete_character
        # words
        self.write_script = self.writer.write_script
        self.write_caption = self.writer.write_caption
        # speech
        self.preview_speech = self.speech.preview_speech
        self.submit_synthesis = self.speech.submit_synthesis
        self.submit_content = self.speech.submit_content
        self.submit_batch = self.speech.submit_batch
        # content and figures
        self.content_history = self.content.content_history
        self.get_content = self.content.get_content
        self.latest_script = self.content.latest_script
        self.content_file = self.content.content_file
        self.delete_content = self.content.delete_content
        self.character_analytics = self.content.character_analytics
        self.dashboard = self.content.dashboard
        # voices and voice matching
        self.builtin_voice = self.catalog.builtin_voice
        self.list_voices = self.catalog.list_voices
        self.get_voice = self.catalog.get_voice
        self.delete_voice = self.catalog.delete_voice
        self.inspect_sample = self.matching.inspect_sample
        self.submit_clone = self.matching.submit_clone
        self.submit_clone_from = self.matching.submit_clone_from
        # singers (the music service)
        self.singer_options = self.singers.singer_options
        # form choices (the panel and its dialogs)
        self.emotion_names = options.emotion_names
        self.content_types = options.content_types
        self.music_styles = options.music_styles

    def job_handlers(self) -> list[JobHandler]:
        return self.speech.job_handlers() + self.matching.job_handlers()

    def on_event(self, name: str, data: dict[str, Any]) -> None:
        """Event bus subscriber (loop thread): failed or cancelled jobs mark their rows."""
        self.speech.on_job_event(name, data)
        self.matching.on_job_event(name, data)
