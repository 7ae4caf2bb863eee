"""Song lyrics from the local LLM named in Settings (`ollama_url` + `ollama_model`), as for
character scripts (services/voices/writing.py) and community drafts.

The engine's lyric writer asks an `OllamaLyricist` first when a generation runs inside
`lyrics.drafting(lyricist)` (on the worker thread), and checks what comes back
(`lyrics.check_draft`: the form, syllables per line within tolerance, none of the prompt's sound
or singer words, enough rhymes). Ollama not configured, not answering, or its draft refused: the
built-in writer writes the lyrics, and `source()` says which wrote them and why.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from studio.connectors.ollama import OllamaClient, OllamaUnavailable

if TYPE_CHECKING:
    from studio.config import Settings
    from studio.engine.composition.lyrics import LyricRequest

log = logging.getLogger(__name__)

BUILT_IN = "built-in writer"
SYSTEM = ("You are a songwriter. You write singable, concrete, grammatical lyrics in plain English. "
          "Answer with the lyrics only: section headers in square brackets and the lines under them; "
          "no title, no notes, no quotes, no emoji.")
TIMEOUT_S = 45.0


class OllamaLyricist:
    """A lyric drafter for `lyrics.drafting`: called on the engine's worker thread."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.ollama_url
        self.model = settings.ollama_model
        self.requests: list[LyricRequest] = []

    def __call__(self, request: LyricRequest) -> str | None:
        self.requests.append(request)
        if not self.url:
            request.outcome = "Ollama is not configured"
            return None
        client = OllamaClient(self.url, self.model, timeout_s=TIMEOUT_S)
        try:  # the worker thread has no event loop of its own: one for this call
            return asyncio.run(client.generate(request.prompt(), system=SYSTEM, temperature=0.8, seed=request.seed,
                                               max_tokens=700))
        except OllamaUnavailable as exc:
            request.outcome = f"Ollama failed ({exc})"
            log.info("lyrics from the built-in writer: %s", exc)
            return None

    def source(self) -> str | None:
        """Who wrote the lyrics of the last song: "ollama:<model>", or the built-in writer and why
        Ollama's draft was not used; None when no lyrics were written (instrumental, or given)."""
        if not self.requests:
            return None
        outcome = self.requests[-1].outcome
        if outcome == "used":
            return f"ollama:{self.model}"
        if outcome and outcome != "Ollama is not configured":
            log.info("Ollama's lyrics were not used: %s", outcome)
            return f"{BUILT_IN} (Ollama's draft refused: {outcome})" if not outcome.startswith("Ollama failed") \
                else f"{BUILT_IN} ({outcome})"
        return BUILT_IN
