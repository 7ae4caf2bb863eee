"""What a prompt is about, for the lyric writer: the theme words kept, the sound words dropped.

A prompt like "dreamy synthwave night drive with female vocals" says both what the song is about
(night, drive) and how it sounds or who sings it (dreamy, synthwave, female vocals). Only the first
belongs in lyrics. The words that describe sound are the studio's own vocabularies, read as data:
style ids, names and keywords (styles.toml), mood keywords (moods.toml), instrument, tempo, vocal
and complexity words (prompt_words.toml), the lyric genres' keywords and the `[prompt]` stop list
of lyrics.toml, and the voice characters' names (resources/voices/characters.toml). A word that is
a lyric theme's keyword ("night", "rain", "neon") is a theme word even when a style or mood also
uses it. Anything else becomes a topic only if it looks like a noun (see `_noun_like`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pronouncing

from studio.engine.composition.styles import moods, prompt_words, styles
from studio.engine.datafiles import load_toml
from studio.resources import resource_path

MAX_TOPICS = 2
_DETERMINERS = ("my", "your", "our", "his", "her", "their")


@dataclass(frozen=True)
class Theme:
    themes: tuple[str, ...]  # lyric-bank themes the text names, in order ("night", "drive")
    topics: tuple[str, ...]  # other nouns worth singing about, with a determiner ("my dog", "the lighthouse")
    dropped: frozenset[str]  # words of the text that describe sound or singer: never sung


def tokens(text: str) -> list[str]:
    """Lowercase words; hyphens and slashes split ("lo-fi" -> lo, fi), "r&b" stays one word."""
    return re.findall(r"[a-z0-9&']+", re.sub(r"[-/_]", " ", text.lower().replace("\u2019", "'")))


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(t.strip("'") for t in tokens(text) if t.strip("'"))


@lru_cache(maxsize=1)
def _character_names() -> frozenset[str]:
    data = load_toml(resource_path("voices") / "characters.toml").get("characters", {})
    return frozenset(str(c.get("name", "")).lower() for c in data.values() if isinstance(c, dict) and c.get("name"))


_VOCAB: dict[int, tuple[dict, frozenset, dict]] = {}  # id(bank) -> (bank, sound phrases, theme phrases)


def _vocab(bank: dict) -> tuple[frozenset[tuple[str, ...]], dict[tuple[str, ...], str]]:
    cached = _VOCAB.get(id(bank))
    if cached is None or cached[0] is not bank:  # the bank is kept so its id is not reused
        _VOCAB.clear()
        cached = _VOCAB[id(bank)] = (bank, _sound_phrases(bank), _theme_phrases(bank))
    return cached[1], cached[2]


def sound_phrases(bank: dict) -> frozenset[tuple[str, ...]]:
    """Every word and phrase (as token tuples) that says how a song sounds or who sings it."""
    return _vocab(bank)[0]


def _sound_phrases(bank: dict) -> frozenset[tuple[str, ...]]:
    words: list[str] = []
    for style in styles().values():
        words += [style.id, style.name, style.genre, *style.keywords]
    for mood in moods().values():
        words += [mood.id, *mood.keywords]
    pw = prompt_words()
    words += [*pw.instruments, *pw.instruments.values(), *pw.slower.words, *pw.faster.words, *pw.vocals,
              *pw.complexity]
    for name, genre in bank["genres"].items():
        words += [name, *genre.get("keywords", []), *genre.get("styles", [])]
    words += bank["prompt"]["not_themes"]
    words += _character_names()
    return frozenset(p for p in map(_phrase, words) if p)


def _theme_phrases(bank: dict) -> dict[tuple[str, ...], str]:
    out: dict[tuple[str, ...], str] = {}
    for name, data in bank["themes"].items():
        for keyword in data.get("keywords", []):
            out.setdefault(_phrase(keyword), name)
    return out


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _is_word(word: str) -> bool:
    return bool(pronouncing.phones_for_word(word))


def _stem_is_word(stem: str) -> bool:
    """`stem` (a word minus a suffix) is a word itself, with a silent e or a doubled consonant undone."""
    if len(stem) < 3:
        return False
    options = [stem, stem + "e"]
    if len(stem) > 3 and stem[-1] == stem[-2]:
        options.append(stem[:-1])
    if stem.endswith("i"):
        options.append(stem[:-1] + "y")
    return any(_is_word(o) for o in options)


# endings of English adjectives, adverbs and verb forms ("ethereal", "hypnotic", "chilling", "lonely")
_ADJECTIVE_ENDINGS = ("ous", "ful", "ive", "ish", "less", "able", "ible", "est", "ical", "ial", "ral", "ic")
_DERIVED_ENDINGS = ("ing", "ed", "ly", "y")


def _noun_like(word: str, nouns: frozenset[str]) -> bool:
    """A guess that an unknown prompt word is a noun worth singing about: a dictionary word that
    does not end like an adjective or verb form, unless the data lists it as a noun."""
    if word in nouns or _singular(word) in nouns:
        return True
    if not word.isalpha() or len(word) < 3 or not _is_word(word):
        return False
    if word.endswith(_ADJECTIVE_ENDINGS) and len(word) >= 6:
        return False
    for ending in _DERIVED_ENDINGS:  # "dreamy" (dream), "chilling" (chill), "lonely" (lone): derived forms
        if word.endswith(ending) and _stem_is_word(word[: -len(ending)]):
            return False
    return True


def read_theme(text: str | None, bank: dict) -> Theme:
    """The themes, topics and dropped sound words of a theme text or prompt (see the module doc)."""
    if not text or not text.strip():
        return Theme((), (), frozenset())
    words = [t.strip("'") for t in tokens(text)]
    words = [w for w in words if w]
    taken = [False] * len(words)
    themes: list[str] = []
    dropped: set[str] = set()
    sound, theme_phrases = _vocab(bank)

    def find(phrase: tuple[str, ...]):
        n = len(phrase)
        for i in range(len(words) - n + 1):
            if not any(taken[i:i + n]) and tuple(words[i:i + n]) == phrase:
                yield i

    # longest phrases first: "deep house" is a style before "deep" is the ocean
    multi = sorted([(p, "theme", name) for p, name in theme_phrases.items() if len(p) > 1]
                   + [(p, "sound", None) for p in sound if len(p) > 1], key=lambda x: -len(x[0]))
    for phrase, kind, name in multi:
        for i in list(find(phrase)):
            for k in range(i, i + len(phrase)):
                taken[k] = True
            if kind == "theme":
                if name not in themes:
                    themes.append(name)
            else:
                dropped.update(phrase)
    ignore = frozenset(bank["writer"]["ignore_words"])
    nouns = frozenset(bank["prompt"]["topic_nouns"])
    topics: list[str] = []
    for i, word in enumerate(words):
        if taken[i]:
            continue
        single = _singular(word)
        name = theme_phrases.get((word,)) or theme_phrases.get((single,))
        if name:
            if name not in themes:
                themes.append(name)
        elif (word,) in sound or (single,) in sound:
            dropped.add(word)
        elif word in ignore or single in ignore or word.isdigit():
            continue
        elif i + 1 < len(words) and (words[i + 1],) in theme_phrases and _noun_like(words[i + 1], nouns):
            continue  # a modifier of a theme word ("dirt" of "dirt road" when only "road" is known)
        elif _noun_like(word, nouns) and len(topics) < MAX_TOPICS:
            before = words[i - 1] if i else ""
            after = words[i + 1] if i + 1 < len(words) and not taken[i + 1] else ""
            noun = word
            if after and after not in ignore and (after,) not in sound and _noun_like(after, nouns):
                noun, taken[i + 1] = f"{word} {after}", True  # a compound: "sunday mornings", "coffee shop"
            plural = noun.split()[-1] != _singular(noun.split()[-1])
            phrase = f"{before} {noun}" if before in _DETERMINERS else (noun if plural else f"the {noun}")
            if all(w not in t.split() for t in topics for w in noun.split()):
                topics.append(phrase)
    by_topic = {noun: name for name, nouns in bank["prompt"].get("topic_themes", {}).items() for noun in nouns}
    for topic in topics:  # "my dog" is sung at home, "the lighthouse" by the sea
        words_of = topic.split()[1:] if topic.split()[0] in (*_DETERMINERS, "the") else topic.split()
        name = by_topic.get(" ".join(words_of)) or by_topic.get(_singular(words_of[-1]))
        if name and name not in themes:
            themes.append(name)
    sayable = ignore - _not_theme_words(bank)  # function words of a phrase ("to" of "beats to study")
    dropped -= sayable
    dropped.update(_singular(w) for w in list(dropped))
    dropped.update(w + "s" for w in list(dropped) if not w.endswith("s"))
    theme_words = {w for p in theme_phrases for w in p}
    return Theme(tuple(themes), tuple(topics), frozenset(dropped - theme_words - sayable))


def _not_theme_words(bank: dict) -> frozenset[str]:
    return frozenset(w for p in bank["prompt"]["not_themes"] for w in _phrase(p))
