"""Words in a character's voice: scripts and captions from the built-in writer
(studio/engine/composition/scripts.py), or from a local LLM through Ollama when Settings name one
and it answers; the writer is the fallback. Captions are text rows written at once."""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any

from studio.db.models import VoiceContent
from studio.db.store import new_id
from studio.engine.composition import scripts
from studio.services.voices.characters import touch
from studio.services.voices.common import MAX_CONTENT_DURATION_S, MAX_TEXT_CHARS, VoiceError
from studio.services.voices.content import content_dict
from studio.timeutil import utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.voices.characters import Characters

log = logging.getLogger(__name__)


class Writer:
    def __init__(self, ctx: "Context", *, characters: "Characters") -> None:
        self.ctx = ctx
        self.characters = characters

    async def write_script(self, character_id: str, content_type: str, *, topic: str | None = None,
                           mood: str | None = None, duration_s: float = 30.0, seed: int | None = None) -> dict[str, Any]:
        """A script in the character's words: from Ollama when configured and reachable, else the built-in writer."""
        character = self.characters.get_character(character_id)
        try:
            kind = scripts.normalise_content_type(content_type)
        except ValueError as exc:
            raise VoiceError(str(exc), field="content_type") from None
        if not 1.0 <= duration_s <= MAX_CONTENT_DURATION_S:
            raise VoiceError(f"duration must be between 1 and {MAX_CONTENT_DURATION_S:g} seconds", field="duration")
        mood = (mood or (character["voice_settings"].get("emotion")) or "neutral").lower()
        speed = float(character["voice_settings"].get("speed", 1.0))
        seed = int(time.time() * 1000) % 2**31 if seed is None else seed
        written = scripts.write_script(self.characters.persona(character), kind, topic=topic, mood=mood,
                                       duration_s=duration_s, speed=speed, seed=seed)
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

    def write_caption(self, character_id: str, *, content_type: str = "caption", context: str = "",
                      tone: str | None = None, max_length: int = 220, seed: int | None = None) -> dict[str, Any]:
        """A caption/post text, stored in the character's content history."""
        character = self.characters.get_character(character_id)
        if content_type not in ("caption", "post"):
            raise VoiceError("content_type must be 'caption' or 'post'", field="content_type")
        seed = int(time.time() * 1000) % 2**31 if seed is None else seed
        try:
            text = scripts.write_caption(self.characters.persona(character), context=context,
                                         tone=(tone or "neutral").lower(), max_length=max_length, seed=seed)
        except ValueError as exc:
            raise VoiceError(str(exc), field="max_length") from None
        row = VoiceContent(id=new_id("content"), character_id=character_id, kind=content_type,
                           title=(context or content_type)[:200], text=text, status="completed",
                           params={"context": context, "tone": tone, "max_length": max_length, "seed": seed},
                           completed_at=utcnow())
        with self.ctx.db.session() as s:
            s.add(row)
            touch(s, character_id)
            s.flush()
            return content_dict(row)
