"""Voices area: voice characters (personas with words and a voice), what they say and how.

One service behind the Voices panel and two documented API families: seed 000's
`/api/voice/...` and seed 002's `/api/characters/...`. `VoicesService` is the area's entry
object (what `services.voices` is); callers go through its parts
(`services.voices.characters.get_character(...)`), one module each:

- characters.py (`characters`): the `characters` rows; the eight defaults from
  resources/voices/characters.toml.
- catalog.py (`catalog`): the voices a character speaks with (the built-in Piper voice, matched voices).
- writing.py (`writer`): scripts and captions in a character's words (built-in writer, or Ollama).
- speech.py (`speech`): synthesis and scripted pieces as jobs, over an optional music bed.
- content.py (`content`): what was said (`voice_content` rows, their audio) and the figures
  counted from it.
- matching.py (`matching`): voice matching from recordings (uploaded, a local path, or a URL).
- singers.py (`singers`): a character's timbre for sung generations (the music service asks).
- options.py (`options`, the module itself): the choices the forms offer (emotions, content
  types, music styles).

Job kinds, limits and errors the parts share live in `common`. The entry object itself only
gives the composition root the area's job handlers and its event subscriber.
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
    def __init__(self, ctx: "Context") -> None:
        self.ctx = ctx
        self.catalog = VoiceCatalog(ctx)
        self.characters = Characters(ctx, catalog=self.catalog)
        self.content = Content(ctx, characters=self.characters)
        self.writer = Writer(ctx, characters=self.characters)
        self.speech = Speech(ctx, characters=self.characters, catalog=self.catalog, writer=self.writer)
        self.matching = VoiceMatching(ctx, characters=self.characters)
        self.singers = Singers(characters=self.characters, catalog=self.catalog)
        self.options = options  # a module: its functions read the engine, no state to hold

    def job_handlers(self) -> list[JobHandler]:
        return self.speech.job_handlers() + self.matching.job_handlers()

    def on_event(self, name: str, data: dict[str, Any]) -> None:
        """Event bus subscriber (loop thread): failed or cancelled jobs mark their rows."""
        self.speech.on_job_event(name, data)
        self.matching.on_job_event(name, data)
