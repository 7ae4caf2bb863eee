"""Sentiment of community messages: VADER patched with a music-creator lexicon.

Plain VADER (the `vaderSentiment` package, whose lexicons ship in the wheel) misreads how creators
and their audiences talk: "this beat slaps" 0.0, "sick drop" -0.66, "this is fire" -0.34. The
lexicon in resources/community/lexicon.toml corrects it as data, in three tables:

- `words`: valences that override VADER's or add words it does not know ("slaps", "mid");
- `phrases`: several words read as one. VADER scores single words only, so each phrase is rewritten
  to one token before VADER reads the text ("Goes  crazy" -> "goes_crazy", "GOES CRAZY" ->
  "GOES_CRAZY" so the capitals still count) and that token gets the phrase's valence; VADER's rules
  still apply around it ("doesn't go hard" is negated);
- `emoji`: VADER swaps each emoji for its name and scores the words (🔥 -> "fire", -1.4); an entry
  maps the emoji to a token of its own instead.

Before scoring, curly apostrophes become straight ones (VADER's negations are spelled "don't") and
variation selectors and skin tones are dropped (VADER would glue them to the emoji's name: "❤️"
scored 0).

`score(text)` gives the compound score (-1..1) and its label with VADER's documented thresholds
(positive >= 0.05, negative <= -0.05). A long text is scored per sentence and averaged, as VADER's
authors advise for paragraphs (whole-text scoring also grows quadratically with length).
Thread-safe: nothing is written after construction; scoring uses local state only.
"""

from __future__ import annotations

import copy
import functools
import math
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    NEGATE,
    SentimentIntensityAnalyzer,
)

from studio.resources import resource_path

LEXICON_FILE = resource_path("community", "lexicon.toml")
VALENCE_MIN, VALENCE_MAX = -4.0, 4.0  # VADER's rating scale
POSITIVE_AT, NEGATIVE_AT = 0.05, -0.05  # VADER's documented thresholds on the compound score
LONG_TEXT_CHARS = 600  # beyond this, score sentence by sentence and average
LONG_TEXT_WORDS = 100  # the longest piece scored at once

_TABLES = ("words", "phrases", "emoji")
# curly apostrophes -> straight; variation selectors, zero-width joiner and skin tones -> nothing
_CLEAN = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\ufe0e": None, "\ufe0f": None,
                        "\u200d": None, **{chr(c): None for c in range(0x1F3FB, 0x1F400)}})
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


class LexiconError(ValueError):
    """The lexicon file is unusable; the message names the entry and what to fix."""


@dataclass(frozen=True)
class Sentiment:
    compound: float  # VADER's compound score, -1 (most negative) .. 1 (most positive)
    label: str  # positive | neutral | negative


@dataclass(frozen=True)
class Lexicon:
    words: Mapping[str, float]  # lower-case word -> valence
    phrases: Mapping[str, float]  # phrase as written (lower case) -> valence
    emoji: Mapping[str, float]  # one emoji character -> valence


def label_for(compound: float) -> str:
    """VADER's documented thresholds: positive >= 0.05, negative <= -0.05, else neutral."""
    if compound >= POSITIVE_AT:
        return "positive"
    if compound <= NEGATIVE_AT:
        return "negative"
    return "neutral"


def load_lexicon(path: Path = LEXICON_FILE) -> Lexicon:
    """The creator lexicon, validated: a bad entry fails loudly, naming it and what to fix."""
    name = Path(path).name
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise LexiconError(f"cannot read the sentiment lexicon {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(f"{name} is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - set(_TABLES))
    if unknown:
        raise LexiconError(f"{name}: unknown table(s) {unknown}; the lexicon has {list(_TABLES)}")
    tables: dict[str, dict[str, float]] = {}
    for table in _TABLES:
        entries: dict[str, float] = {}
        seen_in: dict[str, str] = {}
        groups = data.get(table, {})
        for group, items in groups.items():
            where = f"[{table}.{group}]"
            if not isinstance(items, dict):
                raise LexiconError(f"{name}: {table}.{group} must be a group table of entries: "
                                   f"write them under {where}")
            for term, valence in items.items():
                entry = f"{name} {where} {term!r}"
                key = _check_term(table, term, entry)
                entries[key] = _check_valence(valence, entry)
                same = key.replace("'", "") if table == "phrases" else key  # "i'm dead" is "im dead"
                if same in seen_in:
                    raise LexiconError(f"{entry}: already listed in [{table}.{seen_in[same]}]; keep one")
                seen_in[same] = group
        tables[table] = entries
    return Lexicon(**{t: MappingProxyType(v) for t, v in tables.items()})


def _check_valence(valence: object, entry: str) -> float:
    if isinstance(valence, bool) or not isinstance(valence, (int, float)) or not math.isfinite(valence):
        raise LexiconError(f"{entry}: the valence must be a number, got {valence!r}")
    if not VALENCE_MIN <= valence <= VALENCE_MAX:
        raise LexiconError(f"{entry} = {valence}: a valence must be within {VALENCE_MIN:+g}..{VALENCE_MAX:+g} "
                           "(VADER's scale)")
    return float(valence)


def _check_term(table: str, term: str, entry: str) -> str:
    """The term's key in the lexicon (lower case; emoji without selectors), or LexiconError."""
    if not term.strip():
        raise LexiconError(f"{entry}: the term is empty")
    if term != term.strip():
        raise LexiconError(f"{entry}: the term has spaces around it")
    if table == "emoji":
        key = term.translate(_CLEAN)
        if len(key) != 1 or unicodedata.category(key) != "So":
            raise LexiconError(f"{entry}: write one emoji per entry (words go under [words.*])")
        return key
    key = term.lower()
    if table == "words":
        if len(key.split()) != 1:
            raise LexiconError(f"{entry}: a word entry is one word; put several words under [phrases.*]")
        if key in BOOSTER_DICT or key in NEGATE:
            raise LexiconError(f"{entry}: VADER treats this word as an intensifier or a negation, "
                               "so a valence for it would be ignored")
        return key
    words = key.split()
    if len(words) < 2:
        raise LexiconError(f"{entry}: a phrase has two or more words; put one word under [words.*]")
    if not (key[0].isalnum() and key[-1].isalnum()):
        raise LexiconError(f"{entry}: a phrase starts and ends with a letter or a digit")
    return " ".join(words)


def _phrase_pattern(phrase: str) -> str:
    # any run of spaces between words; an apostrophe may be left out ("aint" = "ain't")
    return r"\s+".join("'?".join(re.escape(part) for part in word.split("'")) for word in phrase.split())


def _phrase_token(phrase: str) -> str:
    return re.sub(r"\W+", "_", phrase.replace("'", ""))


def _strip_apostrophes_and_space(text: str) -> str:
    return " ".join(text.lower().replace("'", "").split())


def _pieces(text: str):
    """A long text's sentences; a sentence still too long is cut every LONG_TEXT_WORDS words."""
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        for start in range(0, len(words), LONG_TEXT_WORDS):
            yield " ".join(words[start:start + LONG_TEXT_WORDS])


@functools.cache
def _plain_vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()  # reads the wheel's two lexicon files once


def plain_vader_label(text: str) -> str:
    """Plain VADER's label (no creator lexicon, no clean-up): the baseline the model is compared with."""
    return label_for(_plain_vader().polarity_scores(text or "")["compound"])


class SentimentModel:
    """VADER with the creator lexicon. `score(text)` is safe to call from several threads."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon if lexicon is not None else load_lexicon()
        vader = copy.copy(_plain_vader())  # shares nothing mutable: both dicts are replaced below
        words = dict(vader.lexicon)
        words.update(self.lexicon.words)
        emojis = dict(vader.emojis)
        for char, valence in self.lexicon.emoji.items():
            token = f"emoji_{ord(char):x}"
            emojis[char] = f"{token} "  # the space keeps a following word off the token
            words[token] = valence
        # phrase key (no apostrophes, single spaces) -> token; longest first so "this ain't it" wins over parts
        self._phrase_tokens: dict[str, str] = {}
        for phrase, valence in self.lexicon.phrases.items():
            token = _phrase_token(phrase)
            self._phrase_tokens[_strip_apostrophes_and_space(phrase)] = token
            words[token] = valence
        phrases = sorted(self.lexicon.phrases, key=len, reverse=True)
        self._phrases = (re.compile(r"(?<!\w)(?:" + "|".join(map(_phrase_pattern, phrases)) + r")(?!\w)",
                                    re.IGNORECASE) if phrases else None)
        vader.lexicon = words
        vader.emojis = emojis
        self._vader = vader

    def _rewrite(self, match: re.Match[str]) -> str:
        said = match.group(0)
        token = self._phrase_tokens[_strip_apostrophes_and_space(said)]
        return token.upper() if said.isupper() else token

    def prepare(self, text: str) -> str:
        """The text as VADER reads it: apostrophes and emoji cleaned, phrases made single tokens."""
        text = text.translate(_CLEAN)
        if self._phrases is not None:
            text = self._phrases.sub(self._rewrite, text)
        return text

    def compound(self, text: str) -> float:
        prepared = self.prepare(text or "")
        if len(prepared) <= LONG_TEXT_CHARS:
            return self._vader.polarity_scores(prepared)["compound"]
        scores = [self._vader.polarity_scores(piece)["compound"] for piece in _pieces(prepared)]
        return round(sum(scores) / len(scores), 4) if scores else 0.0

    def score(self, text: str) -> Sentiment:
        compound = self.compound(text)
        return Sentiment(compound, label_for(compound))
