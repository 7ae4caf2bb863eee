"""The built-in script writer: what a voice character says, written from its persona.

Scripts (introductions, outros, track commentary, announcements, free scripts) and short
captions are assembled from the sentence banks in resources/voices/writing.toml, filled with the
character's own greetings, phrases and vocabulary, the topic and the mood. A seeded RNG picks
and orders the lines, so the same request gives the same words and another seed other words.
The length follows the requested duration at the character's speaking rate.

No model, no network: this is the offline default. The voices service can ask a local LLM
(Ollama) instead and falls back to this writer when none is configured or reachable.
"""

from __future__ import annotations

import random
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from studio.resources import resource_path

WRITING_FILE = resource_path("voices", "writing.toml")
CONTENT_TYPES = ("introduction", "outro", "track_commentary", "announcement", "script")
# seed 000's batch example names "intro" and "outro"; both spellings are accepted
CONTENT_TYPE_ALIASES = {"intro": "introduction", "commentary": "track_commentary"}
MAX_TOPIC_CHARS = 200


@dataclass(frozen=True)
class Persona:
    """What the writer needs to know of a character."""

    name: str
    genre: str
    greetings: tuple[str, ...] = ()
    signoffs: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    vocabulary: tuple[str, ...] = ()
    emotion_tags: tuple[str, ...] = ()


@dataclass
class Script:
    content_type: str
    topic: str
    mood: str
    text: str
    word_count: int
    duration_estimate_s: float
    emotion_tags: list[str] = field(default_factory=list)
    source: str = "built-in writer"

    def to_dict(self) -> dict:
        return {"content_type": self.content_type, "topic": self.topic, "mood": self.mood, "script": self.text,
                "word_count": self.word_count, "duration_estimate": round(self.duration_estimate_s, 1),
                "emotion_tags": list(self.emotion_tags), "source": self.source}


@lru_cache(maxsize=1)
def writing_bank() -> dict:
    with open(WRITING_FILE, "rb") as fh:
        return tomllib.load(fh)


def normalise_content_type(content_type: str) -> str:
    """'intro' -> 'introduction'; ValueError naming the allowed types for an unknown one."""
    key = content_type.strip().lower().replace("-", "_").replace(" ", "_")
    key = CONTENT_TYPE_ALIASES.get(key, key)
    if key not in CONTENT_TYPES:
        allowed = ", ".join(CONTENT_TYPES + tuple(CONTENT_TYPE_ALIASES))
        raise ValueError(f"unknown content_type {content_type!r}; allowed: {allowed}")
    return key


def moods() -> list[str]:
    return list(writing_bank()["moods"])


def count_words(text: str) -> int:
    return len(re.findall(r"[\w'’-]+", text))


def estimate_duration_s(text: str, speed: float = 1.0) -> float:
    """Seconds to say `text` at the writer's speaking rate times `speed`, with a short pause per sentence."""
    wpm = float(writing_bank()["speaking_rate_wpm"]) * max(speed, 0.1)
    sentences = max(1, len(re.findall(r"[.!?]+", text)))
    return count_words(text) * 60.0 / wpm + 0.25 * sentences


def _filler(persona: Persona, topic: str, mood: str, rng: random.Random):
    mood_words = writing_bank()["moods"].get(mood) or writing_bank()["moods"]["neutral"]
    vocabulary = list(persona.vocabulary) or ["fresh"]
    phrases = list(persona.phrases) or ["the music speaks for itself"]
    rng.shuffle(vocabulary)
    used = {"adj": 0}

    def fill(template: str) -> str:
        def adj() -> str:
            word = vocabulary[used["adj"] % len(vocabulary)]
            used["adj"] += 1
            return word

        out = template
        while "{adj}" in out:
            out = out.replace("{adj}", adj(), 1)
        phrase = rng.choice(phrases)
        values = {"topic": topic, "genre": persona.genre, "name": persona.name, "mood": rng.choice(mood_words),
                  "phrase": phrase, "phrase_cap": phrase[:1].upper() + phrase[1:]}
        values["mood_cap"] = values["mood"][:1].upper() + values["mood"][1:]
        for key, value in values.items():
            out = out.replace("{" + key + "}", value)
        return out[:1].upper() + out[1:]

    return fill


def write_script(persona: Persona, content_type: str, *, topic: str | None = None, mood: str = "neutral",
                 duration_s: float = 30.0, speed: float = 1.0, seed: int = 0) -> Script:
    """A script of about `duration_s` seconds when spoken at `speed`."""
    kind = normalise_content_type(content_type)
    if duration_s <= 0:
        raise ValueError("duration_s must be positive")
    bank = writing_bank()["content_types"][kind]
    topic = (topic or "").strip()[:MAX_TOPIC_CHARS] or bank["default_topic"]
    mood = mood if mood in writing_bank()["moods"] else "neutral"
    rng = random.Random(f"{persona.name}|{kind}|{topic}|{mood}|{seed}")
    fill = _filler(persona, topic, mood, rng)
    target_words = duration_s * float(writing_bank()["speaking_rate_wpm"]) * speed / 60.0

    opening = [fill(rng.choice(persona.greetings))] if persona.greetings else []
    opening.append(fill(rng.choice(bank["openers"])))
    closing = [fill(rng.choice(bank["closers"]))]
    if persona.signoffs:
        closing.append(fill(rng.choice(persona.signoffs)))
    body_pool = list(bank["body"])
    rng.shuffle(body_pool)
    body: list[str] = []
    words = sum(count_words(s) for s in opening + closing)
    for template in body_pool:
        if words >= target_words * 0.92:
            break
        line = fill(template)
        body.append(line)
        words += count_words(line)
    sentences = opening + body + closing
    if duration_s < 6:  # a sting: the greeting and the opener only
        sentences = opening
    text = " ".join(sentences)
    tags = list(persona.emotion_tags[:2]) + ([mood] if mood != "neutral" and mood not in persona.emotion_tags else [])
    return Script(content_type=kind, topic=topic, mood=mood, text=text, word_count=count_words(text),
                  duration_estimate_s=estimate_duration_s(text, speed), emotion_tags=tags[:3])


def write_caption(persona: Persona, *, context: str = "", tone: str = "neutral", max_length: int = 220,
                  seed: int = 0) -> str:
    """A social caption (one or two sentences, an emoji, hashtags) of at most `max_length` characters."""
    if max_length < 20:
        raise ValueError("max_length must be at least 20 characters")
    captions = writing_bank()["captions"]
    topic = context.strip()[:MAX_TOPIC_CHARS] or "your next playlist"
    rng = random.Random(f"{persona.name}|caption|{topic}|{tone}|{seed}")
    fill = _filler(persona, topic, tone if tone in writing_bank()["moods"] else "neutral", rng)
    text = fill(rng.choice(captions["templates"])).replace("{emoji}", rng.choice(captions["emoji"]))
    tags = [persona.genre] + list(persona.vocabulary[:4])
    hashtags = " ".join("#" + re.sub(r"[^\w]", "", t.title()) for t in tags[: captions["hashtags_per_caption"]])
    full = f"{text} {hashtags}"
    if len(full) <= max_length:
        return full
    if len(text) <= max_length:
        return text
    return text[: max_length - 1].rstrip() + "…"
