"""Song lyrics from the Ollama model in Settings: asked for the song's form, checked by the engine,
and the built-in writer's lyrics whenever Ollama is missing, fails or writes something unusable."""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest

from studio.connectors.ollama import OllamaClient, OllamaUnavailable
from studio.engine.composition.lyrics import drafting, write_lyrics
from studio.services.music.lyricist import BUILT_IN, OllamaLyricist

FORM = [("Verse 1", "verse"), ("Chorus", "chorus"), ("Verse 2", "verse"), ("Chorus", "chorus")]
PROMPT = "dreamy synthwave night drive with female vocals"
ENDS = ["night", "light", "day", "way", "sky", "high", "road", "load"]


def _fake_song(prompt: str, word: str = "oh") -> str:
    """What a model that follows the request would write: each asked line with its syllables."""
    out = []
    for header, lines in re.findall(r"^\[([^\]]+)\] \d+ lines \(([^)]*)\)", prompt, re.MULTILINE):
        out.append(f"[{header}]")
        for k, count in enumerate(int(n) for n in re.findall(r"(\d+) syllables", lines)):
            out.append(" ".join(["Go"] + [word] * (count - 2) + [ENDS[k]]))
        out.append("")
    return "\n".join(out)


@pytest.fixture
def ollama(settings, monkeypatch):
    """Settings naming an Ollama model, and what its fake answers (a function of the prompt)."""
    settings.ollama_url, settings.ollama_model = "http://127.0.0.1:9", "llama3.2"
    state = {"answer": _fake_song, "asked": []}

    async def generate(self, prompt, *, system="", temperature=0.7, seed=None, max_tokens=400):
        state["asked"].append({"prompt": prompt, "system": system, "seed": seed})
        answer = state["answer"]
        if isinstance(answer, Exception):
            raise answer
        return answer(prompt)

    monkeypatch.setattr(OllamaClient, "generate", generate)
    return settings, state


def _write(lyricist):
    """On a worker thread, as the generation job runs the engine."""
    out = {}

    def run():
        with drafting(lyricist):
            out["song"] = write_lyrics(PROMPT, "dreamy", "electronic", FORM, np.random.default_rng(3))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return out["song"]


def test_ollama_writes_the_lyrics_when_its_draft_passes_the_checks(ollama):
    settings, state = ollama
    lyricist = OllamaLyricist(settings)
    song = _write(lyricist)
    assert lyricist.source() == "ollama:llama3.2"
    assert song[0].lines[0].startswith("Go oh") and song[1].lines == song[3].lines
    asked = state["asked"][0]["prompt"]
    assert "[Verse 1]" in asked and "[Verse 2]" in asked and "female" in asked.split("Do not use")[1]


@pytest.mark.parametrize("answer, why", [
    (OllamaUnavailable("cannot reach Ollama"), "Ollama failed (cannot reach Ollama)"),
    (lambda prompt: _fake_song(prompt, word="female"), "Ollama's draft refused"),
    (lambda prompt: "I am sorry, I can't help with that.", "no [Section] headers"),
])
def test_the_built_in_writer_writes_when_ollama_fails_or_its_draft_is_refused(ollama, answer, why):
    settings, state = ollama
    state["answer"] = answer
    lyricist = OllamaLyricist(settings)
    assert _write(lyricist) == write_lyrics(PROMPT, "dreamy", "electronic", FORM, np.random.default_rng(3))
    assert lyricist.source().startswith(BUILT_IN) and why in lyricist.source()


def test_without_lyrics_to_write_no_source_is_claimed(settings):
    lyricist = OllamaLyricist(settings)
    assert lyricist.source() is None
