"""Song lyrics: read the user's lyrics, write lyrics from a theme, split lines into sung syllables.

Everything is offline. Syllable counts come from the CMU pronouncing dictionary (`pronouncing`),
with a vowel-group heuristic for words it does not know; the display split of a word into
syllables comes from `pyphen` hyphenation, adjusted to that count. Written lyrics are filled from
the word banks, line templates and word lists in `resources/music/lyrics.toml` (checked when
loaded: `DataFileError` names the entry), about what the theme text means (`lyric_theme`: the
prompt's style, mood, instrument and singer words are never sung); each section follows a rhyme
scheme and per-line syllable targets from the same file, and rhyming line ends rhyme per the
CMU dictionary (`pronouncing`). A service may put a drafter (a local LLM) in front of the
writer with `drafting`; its lyrics are used only when `check_draft` accepts them.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pronouncing
import pyphen

from studio.engine.composition.lyric_theme import read_theme
from studio.engine.composition.styles import moods as mood_presets
from studio.engine.datafiles import DataFileError, load_toml
from studio.resources import resource_path

MUSIC_DIR = resource_path("music")


@dataclass
class LyricsSection:
    label: str  # "Verse 1", "Chorus", "Bridge": as shown to users; "[Verse 1]" in text
    kind: str  # "verse" | "chorus" | "bridge" | "intro" | "outro" | "pre-chorus" | "hook" ...
    lines: list[str] = field(default_factory=list)
    # written lyrics only: the rhyme scheme ("ABAB", "HAHA": same letter, last words rhyme; H is the
    # repeated hook line) and each line's syllable target (a line has its target +-1 syllables)
    scheme: str = ""
    targets: list[int] = field(default_factory=list)


# ============================================================================ parsing and formatting

_BRACKET_HEADER = re.compile(r"^\s*[\[(]\s*([^\])]+?)\s*[\])]\s*:?\s*$")
_BARE_HEADER = re.compile(
    r"^\s*((?:pre[- ]?chorus|post[- ]?chorus|verse|chorus|refrain|bridge|intro|outro|hook|interlude|breakdown)"
    r"(?:\s*\d+)?)\s*:\s*$", re.IGNORECASE)
_KIND_ALIASES = {"refrain": "chorus", "prechorus": "pre-chorus", "pre chorus": "pre-chorus",
                 "postchorus": "post-chorus", "post chorus": "post-chorus"}
_REPEATING_KINDS = frozenset({"chorus", "pre-chorus", "post-chorus", "hook"})


def section_kind(label: str) -> str:
    """The kind of a section label: "Verse 2" -> "verse", "Pre-Chorus" -> "pre-chorus", "Refrain" -> "chorus"."""
    text = re.sub(r"\(.*?\)", " ", label.lower())  # "Verse 2 (rap)"
    text = re.sub(r"\bx\s*\d+\b|\d+", " ", text)  # numbers, "x2"
    text = re.sub(r"[^a-z\- ]+", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" -")
    if not text:
        return "verse"
    text = _KIND_ALIASES.get(text, text)
    return text.replace(" ", "-")


def _header(line: str) -> str | None:
    match = _BRACKET_HEADER.match(line) or _BARE_HEADER.match(line)
    if not match:
        return None
    label = re.sub(r"\s+", " ", match.group(1)).strip()
    return label or None


def parse_lyrics(text: str) -> list[LyricsSection]:
    """Sections of user-written lyrics, lines kept as written.

    "[Verse 1]" / "[Chorus]" headers (also "(Chorus)" and "Chorus:") start sections. Without
    headers, blank-line separated stanzas become "Verse 1", "Verse 2"...; a stanza that appears
    again verbatim is the "Chorus". A repeating section whose header has no lines ("[Chorus]" on
    its own) repeats the lines of the last section of that label or kind.
    """
    if text is None or not str(text).strip():
        raise ValueError("lyrics are empty: give at least one line of text "
                         "(optionally in sections headed like [Verse 1] and [Chorus])")
    blocks: list[tuple[str | None, list[str]]] = []  # (header label or None, lines)
    current: tuple[str | None, list[str]] | None = None
    for raw in str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        label = _header(line)
        if label is not None:
            current = (label, [])
            blocks.append(current)
        elif not line:
            if current is not None and current[0] is None and current[1]:
                current = None  # a blank line ends a headerless stanza
        else:
            if current is None:
                current = (None, [])
                blocks.append(current)
            current[1].append(line)
    blocks = [b for b in blocks if b[0] is not None or b[1]]
    if not any(lines for _, lines in blocks):
        raise ValueError("lyrics have section headers but no lines to sing")

    stanza_counts: dict[tuple[str, ...], int] = {}
    for label, lines in blocks:
        if label is None:
            key = tuple(_norm_line(x) for x in lines)
            stanza_counts[key] = stanza_counts.get(key, 0) + 1

    sections: list[LyricsSection] = []
    # headerless stanzas continue the numbering after any headed verses
    verse_no = sum(1 for label, _ in blocks if label is not None and section_kind(label) == "verse")
    numbered = 0
    for label, lines in blocks:
        if label is None:
            key = tuple(_norm_line(x) for x in lines)
            if stanza_counts[key] > 1:
                sections.append(LyricsSection("Chorus", "chorus", list(lines)))
            else:
                numbered += 1
                sections.append(LyricsSection(f"Verse {verse_no + numbered}", "verse", list(lines)))
            continue
        kind = section_kind(label)
        body = list(lines)
        if not body and kind in _REPEATING_KINDS:
            earlier = [s for s in sections if s.lines and (s.label.lower() == label.lower() or s.kind == kind)]
            if earlier:
                body = list(earlier[-1].lines)
        sections.append(LyricsSection(label, kind, body))
    return sections


def _norm_line(line: str) -> str:
    return re.sub(r"\s+", " ", line.strip().lower())


def sections_text(sections: list[LyricsSection]) -> str:
    """The formatted lyrics: "[Verse 1]\\nline\\nline\\n\\n[Chorus]\\n..."."""
    blocks = []
    for section in sections:
        blocks.append("\n".join([f"[{section.label}]", *section.lines]))
    return "\n\n".join(blocks)


# ============================================================================ syllables

_HYPHENATOR = pyphen.Pyphen(lang="en_US")
_VOWELS = "aeiouy"
_SYMBOL_WORDS = {"&": "and", "+": "plus", "@": "at", "%": "percent"}
_DIGRAPHS = {"th", "sh", "ch", "ph", "wh", "gh"}
_VOWEL_TEAMS = {"ai", "ay", "ea", "ee", "ei", "ey", "ie", "oa", "oe", "oi", "oo", "ou", "ow", "oy", "ue", "ui",
                "au", "aw", "ew", "eau", "ye", "uy"}


@lru_cache(maxsize=65536)
def _phones(word: str) -> tuple[str, ...]:
    """CMU pronunciations of a word, trying the usual spellings of sung words ("rollin'" -> "rolling")."""
    w = word.lower()
    candidates = [w, w.strip("'"), w.replace("\u2019", "'")]
    if w.endswith("in'"):
        candidates.append(w[:-1] + "g")
    candidates.append(w.replace("'", ""))
    for candidate in candidates:
        if candidate:
            phones = pronouncing.phones_for_word(candidate)
            if phones:
                return tuple(phones)
    return ()


def _heuristic_count(word: str) -> int:
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return 0
    if word.isupper() and len(w) <= 4 and not re.search(r"[aeiou]", w):  # "DJ", "TV": spelled out
        return sum(3 if c == "w" else 1 for c in w)
    groups = re.findall(r"[aeiouy]+", w[1:] if w[0] == "y" else w)
    n = len(groups)
    if n > 1 and w.endswith("e") and not w.endswith(("le", "ee", "ye")) and w[-2] not in _VOWELS:
        n -= 1  # silent final e
    elif n > 1 and w.endswith("ed") and len(w) > 3 and w[-3] not in "td" + _VOWELS:
        n -= 1  # "walked"
    elif n > 1 and w.endswith("es") and len(w) > 3 and w[-3] not in "szxcgh" + _VOWELS:
        n -= 1  # "makes"
    n += len(re.findall(r"[^aeiou](?:ia|io|eo|ua|uo)", w))  # hiatus: "piano", "neon"
    return max(1, n)


@lru_cache(maxsize=65536)
def word_syllable_count(word: str) -> int:
    """Syllables of one word: the CMU count (first pronunciation) if known, else a vowel-group heuristic."""
    phones = _phones(word)
    if phones:
        return max(1, pronouncing.syllable_count(phones[0]))
    return _heuristic_count(word)


def _vowel_mask(w: str) -> list[bool]:
    mask = []
    for i, c in enumerate(w):
        if c in "aeiou":
            mask.append(True)
        elif c == "y":  # a vowel unless it starts the word or a syllable before a vowel
            mask.append(i > 0 and not (i + 1 < len(w) and w[i + 1] in "aeiou"))
        else:
            mask.append(False)
    return mask


def _split_points(w: str) -> dict[int, float]:
    """Candidate split positions in a lowercase word with a preference weight each."""
    points: dict[int, float] = {}
    letters = re.sub(r"[^a-z]", "", w)
    if letters == w:
        for p in _HYPHENATOR.positions(w):
            points[p] = 3.0
    if w.endswith("n't") and len(w) > 3 and w[-4] not in _VOWELS:
        points[len(w) - 3] = 3.0
    mask = _vowel_mask(w)
    groups: list[tuple[int, int]] = []
    i = 0
    while i < len(w):
        if mask[i]:
            j = i
            while j < len(w) and mask[j]:
                j += 1
            groups.append((i, j))
            i = j
        else:
            i += 1
    for start, end in groups:  # hiatus inside a vowel group: "ne|on", "pi|a|no"
        team = w[start:end]
        for k in range(start + 1, end):
            if w[k - 1:k + 1] not in _VOWEL_TEAMS or len(team) > 2:
                points.setdefault(k, 0.5)
    for (_, end1), (start2, _) in itertools.pairwise(groups):
        cluster = w[end1:start2]
        if "'" in cluster:
            continue
        if len(cluster) == 1 or (len(cluster) == 2 and cluster in _DIGRAPHS):
            p = end1
        elif cluster.startswith("ck"):
            p = end1 + 2
        else:
            p = end1 + 1
        points.setdefault(p, 1.5)
    return {p: s for p, s in points.items() if 0 < p < len(w)}


@lru_cache(maxsize=65536)
def _split_word(word: str, count: int) -> tuple[str, ...]:
    """`word` (letters and apostrophes, original case) cut into exactly `count` display pieces."""
    if count <= 1 or len(word) <= 1:
        pieces = [word]
    else:
        w = word.lower()
        scored = _split_points(w)
        need = count - 1
        if len(scored) < need:
            for p in range(1, len(w)):
                scored.setdefault(p, 0.0)
        if len(scored) < need:
            pieces = list(word)
        else:
            best: tuple[float, tuple[int, ...]] | None = None
            candidates = sorted(scored)
            for combo in itertools.combinations(candidates, need):
                cuts = (0, *combo, len(w))
                score = sum(scored[p] for p in combo)
                lengths = [b - a for a, b in itertools.pairwise(cuts)]
                score -= 0.1 * (max(lengths) - min(lengths))  # balanced pieces break ties
                for a, b in itertools.pairwise(cuts):
                    piece = w[a:b]
                    if not any(c in _VOWELS for c in piece) and piece != "n't":
                        score -= 4.0
                    if len(piece) == 1:
                        score -= 2.0 if piece not in "aeiouy" else 0.5
                if best is None or score > best[0]:
                    best = (score, combo)
            cuts = (0, *best[1], len(w))
            pieces = [word[a:b] for a, b in itertools.pairwise(cuts)]
    while len(pieces) < count:  # more sung syllables than letters ("W"): held continuations
        pieces.append("-")
    return tuple(pieces)


# ---------------------------------------------------------------------------- numbers

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINALS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
             "nine": "ninth", "twelve": "twelfth"}


def _int_words(n: int) -> list[str]:
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        return [_ONES[n // 100], "hundred"] + (_int_words(n % 100) if n % 100 else [])
    for size, name in ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if n >= size:
            return _int_words(n // size) + [name] + (_int_words(n % size) if n % size else [])
    return [str(n)]


def number_words(token: str) -> list[str]:
    """A numeral as sung words: "24" -> twenty four, "1999" -> nineteen ninety nine, "3.5", "90s", "1st"."""
    match = re.fullmatch(r"(\d[\d,]*)(?:\.(\d+))?(st|nd|rd|th|s|'s)?", token.lower())
    if not match:
        return [token]
    whole, decimals, suffix = match.group(1).replace(",", ""), match.group(2), match.group(3)
    # past 15 digits a numeral is read digit by digit (and never converted: Python refuses int() of
    # a string over 4 300 digits, which a pasted line of zeros is)
    n = int(whole) if len(whole) <= 15 else 10**16
    if decimals is None and len(whole) == 4 and "," not in match.group(1) and (1100 <= n <= 1999 or 2010 <= n <= 2099):
        hi, lo = divmod(n, 100)  # a year
        words = _int_words(hi) + (["hundred"] if lo == 0 else (["oh"] + _int_words(lo) if lo < 10 else _int_words(lo)))
    elif len(whole) > 1 and whole.startswith("0"):
        words = [_ONES[int(d)] if d != "0" else "oh" for d in whole]
    elif n > 10**15:
        words = [_ONES[int(d)] for d in whole]
    else:
        words = _int_words(n)
    if decimals:
        words += ["point"] + [_ONES[int(d)] for d in decimals[:15]]
    if suffix in ("st", "nd", "rd", "th"):
        last = words[-1]
        words[-1] = _ORDINALS.get(last) or (last[:-1] + "ieth" if last.endswith("y") else last + "th")
    elif suffix in ("s", "'s"):
        last = words[-1]
        words[-1] = last[:-1] + "ies" if last.endswith("y") else last + ("es" if last.endswith("x") else "s")
    return words


# ---------------------------------------------------------------------------- lines

_SEGMENT = re.compile(r"\d[\d,]*(?:\.\d+)?(?:st|nd|rd|th|'s|s)?(?![a-zA-Z])|\d+|[A-Za-z'\u2019]+|[^A-Za-z'\u2019\d]+")


def _token_pieces(token: str) -> list[str]:
    """Display syllables of one whitespace-separated token, punctuation kept on its neighbour."""
    pieces: list[str] = []
    pending = ""  # punctuation before the first syllable
    for seg in _SEGMENT.findall(token):
        if seg[0].isdigit():
            for word in number_words(seg):
                pieces.extend(_split_word(word, word_syllable_count(word)))
        elif re.search(r"[A-Za-z]", seg):
            if seg.startswith("'") and not _phones(seg):  # an opening quote, not an elision
                stripped = seg.lstrip("'")
                if pieces:
                    pieces[-1] += seg[: len(seg) - len(stripped)]
                else:
                    pending += seg[: len(seg) - len(stripped)]
                seg = stripped
            if seg.endswith("'") and not _phones(seg) and not seg.lower().endswith("in'"):
                core = seg.rstrip("'")
                quote = seg[len(core):]
            else:
                core, quote = seg, ""
            if core:
                split = list(_split_word(core, word_syllable_count(core)))
                split[-1] += quote
                pieces.extend(split)
            elif quote:
                pending += quote
        else:
            symbol = seg.strip()
            if symbol in _SYMBOL_WORDS:
                count = word_syllable_count(_SYMBOL_WORDS[symbol])
                pieces.extend([seg] + ["-"] * (count - 1))
                continue
            if pieces:
                pieces[-1] += seg
            else:
                pending += seg
        if pending and pieces:
            pieces[0] = pending + pieces[0]
            pending = ""
    if pending:
        pieces.append(pending)  # punctuation-only token: handled by the caller
    return pieces


def syllables(line: str) -> list[str]:
    """The sung syllables of a line, in order, as display pieces.

    "Neon lights reflect" -> ["Ne", "on", "lights", "re", "flect"]. Per word the count is the
    CMU count (first pronunciation) or a vowel-group heuristic; the split follows pyphen's
    hyphenation, merged or split to that count. Punctuation stays on the last syllable of its
    word (opening quotes on the first); a token of punctuation alone joins the syllable before
    it. Numbers are spelled out ("24" -> "twen", "ty", "four").
    """
    out: list[str] = []
    carry = ""
    for token in line.split():
        if not re.search(r"[A-Za-z0-9&@%+]", token):
            if out:
                out[-1] += " " + token if token[0] in "-\u2013\u2014" else token
            else:
                carry += token
            continue
        pieces = _token_pieces(token)
        if carry and pieces:
            pieces[0] = carry + " " + pieces[0] if carry[-1] in "-\u2013\u2014" else carry + pieces[0]
            carry = ""
        out.extend(pieces)
    return out


def syllable_count(line: str) -> int:
    """Number of sung syllables in a line (== len(syllables(line)))."""
    return len(syllables(line))


# ============================================================================ writing

_SLOT_BANK = {"place": "place", "spot": "spot", "thing": "thing", "lights": "lights", "things": "things", "verb": "verbs",
              "ving": "verbs", "past": "verbs", "move": "moves", "moving": "moves", "desc": "desc", "feel": "feel",
              "time": "time", "when": "when", "image": "images", "topic": "topic"}
_FORM = {"verb": 0, "ving": 1, "past": 2, "move": 0, "moving": 1}
_BANKS = ("place", "air", "thing", "lights", "things", "verbs", "moves", "desc", "feel", "time", "when", "images")
_THEME_WEIGHT, _MOOD_WEIGHT, _GENRE_WEIGHT, _COMMON_WEIGHT, _TOPIC_WEIGHT = 5.0, 2.5, 1.5, 1.0, 6.0


LYRICS_FILE = MUSIC_DIR / "lyrics.toml"
_SOURCE_KEYS = frozenset((*_BANKS, "lines", "templates", "keywords", "themes", "pads", "styles", "meter"))
_TEMPLATE_ROLES = ("verse", "chorus", "bridge", "pre", "intro", "outro", "short")


@lru_cache(maxsize=1)
def lyric_bank() -> dict:
    """The parsed `resources/music/lyrics.toml`, checked (`_check_bank`)."""
    bank = load_toml(LYRICS_FILE)
    _check_bank(bank)
    return bank


def _check_bank(bank: dict) -> None:
    """Raise DataFileError naming the entry when the lyric bank lacks what the writer reads, has
    a key it would ignore, a template with a slot no bank fills, or a verb without its forms."""
    def fail(entry: str, problem: str):
        raise DataFileError(LYRICS_FILE, entry, problem)

    def strings(entry: str, value) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            fail(entry, f"must be a list of strings, not {value!r}"[:200])
        return value

    def templates(entry: str, lines) -> None:
        for text in strings(entry, lines):
            for slot in re.findall(r"\{([^}]*)\}", text):
                if slot not in _SLOT_BANK:
                    fail(entry, f"template {text!r}: unknown slot {{{slot}}}; slots: {', '.join(_SLOT_BANK)}")
            outside = re.sub(r"\[[^\[\]]*\]", "", text)  # what is left once every [optional part] is gone
            if "[" in outside or "]" in outside:
                fail(entry, f"template {text!r}: an optional [part] is not closed")

    def source(entry: str, data) -> None:  # a theme, mood, genre or the common bank
        if not isinstance(data, dict):
            fail(entry, "must be a table")
        for key, value in data.items():
            if key not in _SOURCE_KEYS:
                fail(f"{entry}.{key}", f"is not a bank the writer reads; known: {', '.join(sorted(_SOURCE_KEYS))}")
            if key == "templates":
                if not isinstance(value, dict):
                    fail(f"{entry}.templates", "must be a table of role = [templates]")
                for role, lines in value.items():
                    templates(f"{entry}.templates.{role}", lines)
            elif key == "lines":
                templates(f"{entry}.lines", value)
            elif key == "meter":
                if not isinstance(value, int) or not -3 <= value <= 3:
                    fail(f"{entry}.meter", "must be a whole number of syllables between -3 and 3")
                continue
            else:
                strings(f"{entry}.{key}", value)
            forms = {"verbs": 3, "moves": 2}.get(key)
            for word in value if forms else ():
                if word.count("|") != forms - 1:
                    shape = "base|ing|past" if forms == 3 else "base|ing"
                    fail(f"{entry}.{key}", f"{word!r} must be written {shape}")

    for table in ("writer", "templates", "common", "themes", "moods", "genres", "prompt"):
        if not isinstance(bank.get(table), dict):
            fail(table, "is missing (the writer needs it)")
    writer = bank["writer"]
    for key in ("fallback_themes", "fallback_pads", "ignore_words"):
        strings(f"writer.{key}", writer.get(key))
    for key in ("not_themes", "topic_nouns"):
        strings(f"prompt.{key}", bank["prompt"].get(key))
    topic_themes = bank["prompt"].get("topic_themes", {})
    if not isinstance(topic_themes, dict):
        fail("prompt.topic_themes", "must be a table of theme = [nouns]")
    for name, nouns in topic_themes.items():
        strings(f"prompt.topic_themes.{name}", nouns)
        if name not in bank["themes"]:
            fail(f"prompt.topic_themes.{name}", f"{name!r} is not a theme")
    schemes = writer.get("schemes")
    if not isinstance(schemes, dict) or "verse" not in schemes:
        fail("writer.schemes", "is missing: section kind or role = [rhyme schemes], verse at least")
    for kind, options in schemes.items():
        for scheme in strings(f"writer.schemes.{kind}", options) or fail(f"writer.schemes.{kind}", "is empty"):
            if not re.fullmatch(r"[A-GHX]+", scheme) or ("H" in scheme and "A" not in scheme):
                fail(f"writer.schemes.{kind}", f"{scheme!r}: letters A-G rhyme, X does not, H (the hook line) "
                                               "rhymes with A")
    meter = writer.get("meter")
    if not isinstance(meter, dict) or "verse" not in meter:
        fail("writer.meter", "is missing: template role = [[syllable offsets], ...], verse at least")
    for role, patterns in meter.items():
        if role not in _TEMPLATE_ROLES:
            fail(f"writer.meter.{role}", f"is not a template role; roles: {', '.join(_TEMPLATE_ROLES)}")
        if not isinstance(patterns, list) or not patterns or not all(
                isinstance(p, list) and p and all(isinstance(x, int) and -4 <= x <= 4 for x in p) for p in patterns):
            fail(f"writer.meter.{role}", "must be a list of non-empty lists of offsets between -4 and 4")
    roles = writer.get("section_roles")
    if not isinstance(roles, dict) or not roles:
        fail("writer.section_roles", "is missing: section kind = template role")
    for kind, role in roles.items():
        if role not in _TEMPLATE_ROLES:
            fail(f"writer.section_roles.{kind}", f"{role!r} is not a template role; roles: {', '.join(_TEMPLATE_ROLES)}")
    if "verse" not in bank["templates"]:
        fail("templates.verse", "is missing: it is the fallback for every role")
    for role, lines in bank["templates"].items():
        if role not in _TEMPLATE_ROLES:
            fail(f"templates.{role}", f"is not a template role; roles: {', '.join(_TEMPLATE_ROLES)}")
        templates(f"templates.{role}", lines)
    source("common", bank["common"])
    for table in ("themes", "moods", "genres"):
        for name, data in bank[table].items():
            source(f"{table}.{name}", data)
    for name in writer["fallback_themes"]:
        if name not in bank["themes"]:
            fail("writer.fallback_themes", f"{name!r} is not a theme")


@lru_cache(maxsize=4096)
def _template(text: str) -> tuple[tuple[str, bool], ...]:
    """A template as (text, optional) segments."""
    segments = []
    for match in re.finditer(r"\[([^\]]*)\]|([^\[]+)", text):
        if match.group(1) is not None:
            segments.append((match.group(1), True))
        else:
            segments.append((match.group(2), False))
    return tuple(segments)


@lru_cache(maxsize=65536)
def rhyme_keys(word: str) -> frozenset[str]:
    """CMU rhyming parts of a word's pronunciations; two words rhyme when these intersect."""
    return frozenset(pronouncing.rhyming_part(p) for p in pronouncing.phones_for_word(word.lower()))


def last_word(line: str) -> str:
    words = re.findall(r"[A-Za-z']+", line)
    return words[-1].lower().strip("'") if words else ""


@lru_cache(maxsize=65536)
def _rhyme_forms(word: str) -> frozenset[tuple[str, str]]:
    """(rhyming part, the phone before it) per pronunciation."""
    forms = set()
    for phones in pronouncing.phones_for_word(word):
        part = pronouncing.rhyming_part(phones)
        before = phones.split()[: len(phones.split()) - len(part.split())]
        forms.add((part, before[-1] if before else ""))
    return frozenset(forms)


def words_rhyme(a: str, b: str) -> bool:
    """True when `a` and `b` make a true rhyme: `b` is among `pronouncing.rhymes(a)` and the sounds
    before the rhyming part differ ("light"/"night", not the identical "night"/"tonight")."""
    a, b = a.lower(), b.lower()
    if a == b:
        return False
    return any(pa == pb and oa != ob for pa, oa in _rhyme_forms(a) for pb, ob in _rhyme_forms(b))


class _Vocab:
    """The merged word banks for one song: word -> weight per bank, plus templates and ad-libs."""

    def __init__(self, theme: str | None, mood: str, genre: str, rng: np.random.Generator):
        bank = lyric_bank()
        self.banks: dict[str, dict[str, float]] = {name: {} for name in (*_BANKS, "topic", "spot")}
        self.mood = _match_mood(mood)
        self.genre = _genre_named_in(theme) or _match_genre(genre)  # "lofi hip hop": lofi, not the style's Hip-Hop
        mood_data = bank["moods"].get(self.mood, {}) if self.mood else {}
        genre_data = bank["genres"].get(self.genre, {}) if self.genre else {}

        read = read_theme(theme, bank)
        self.banned = read.dropped  # the prompt's sound and singer words: never sung
        themes, topics = list(read.themes), list(read.topics)
        if not themes:  # nothing (known) asked for: the mood's and genre's usual subjects
            pool_m = list(mood_data.get("themes", [])) or list(bank["writer"]["fallback_themes"])
            pool_g = list(genre_data.get("themes", []))
            first = pool_m[int(rng.integers(len(pool_m)))]
            rest = [t for t in (pool_g or pool_m) if t != first] or [t for t in pool_m if t != first]
            themes = [first] + ([rest[int(rng.integers(len(rest)))]] if rest else [])
        self.themes = themes
        self.topics = topics

        self._add(bank["common"], _COMMON_WEIGHT)
        self._add(genre_data, _GENRE_WEIGHT)
        self._add(mood_data, _MOOD_WEIGHT)
        self.stock: list[str] = []
        self.common_lines: list[str] = self._allowed(bank["common"].get("lines", []))
        for name in themes:
            data = bank["themes"][name]
            self._add(data, _THEME_WEIGHT)
            self.stock.extend(self._allowed(data.get("lines", [])))
        self.banks["spot"] = dict(self.banks["place"])  # {spot}: places only; {place}: places and surroundings
        for word, weight in self.banks["air"].items():
            self.banks["place"][word] = max(self.banks["place"].get(word, 0.0), weight)
        for phrase in topics:  # only {topic} slots take them: their templates are written for any noun
            self.banks["topic"][phrase] = _TOPIC_WEIGHT
        self.pads = self._allowed(genre_data.get("pads", [])) or list(bank["writer"]["fallback_pads"])
        self.templates = {role: self._allowed(lines) for role, lines in bank["templates"].items()}
        self.mood_templates = {role: self._allowed(lines) for role, lines in mood_data.get("templates", {}).items()}
        self.meter_shift = int(genre_data.get("meter", 0))
        self._arrays: dict[str, tuple[list[str], np.ndarray]] = {}
        self._forms: dict[str, dict[str, float]] = {}
        self._rhyming: dict[tuple[str, str, bool], list[str]] = {}

    def _allowed(self, texts: list[str]) -> list[str]:
        """The texts (lines, templates, bank words) with none of the banned words."""
        return [t for t in texts
                if not self.banned.intersection(_tokens(re.sub(r"\{[a-z]+\}|\|", " ", t)))]

    def _add(self, data: dict, weight: float) -> None:
        for name in _BANKS:
            for entry in self._allowed(data.get(name, [])):
                current = self.banks[name].get(entry, 0.0)
                self.banks[name][entry] = max(current, weight)

    def has(self, slot: str) -> bool:
        return bool(self.banks[_SLOT_BANK[slot]])

    def pick(self, slot: str, rng: np.random.Generator) -> tuple[str, float]:
        """A weighted random word for a slot, and its weight."""
        if slot not in self._arrays:
            self._arrays[slot] = _weights(self.entries(slot))
        words, p = self._arrays[slot]
        entry = words[int(rng.choice(len(words), p=p))]
        return entry, self.entries(slot)[entry]

    def entries(self, slot: str) -> dict[str, float]:
        """Words (in the slot's form) a slot can take, with their weights."""
        cache = self._forms.get(slot)
        if cache is None:
            name = _SLOT_BANK[slot]
            bank = dict(self.banks[name])
            if name == "things":
                for w, v in self.banks["lights"].items():
                    bank[w] = max(bank.get(w, 0.0), v)
            cache = {}
            for entry, weight in bank.items():
                if slot in _FORM:
                    forms = entry.split("|")
                    entry = forms[min(_FORM[slot], len(forms) - 1)]
                cache[entry] = max(cache.get(entry, 0.0), weight)
            self._forms[slot] = cache
        return cache

    def rhyming_entries(self, slot: str, target: str, strict: bool) -> list[str]:
        """The slot's words whose last word rhymes with `target`."""
        key = (slot, target, strict)
        if key not in self._rhyming:
            self._rhyming[key] = [e for e in self.entries(slot) if _rhyme(target, last_word(e), strict)]
        return self._rhyming[key]

    def pick_rhyming(self, slot: str, target: str, rng: np.random.Generator, strict: bool) -> tuple[str, float] | None:
        options = self.rhyming_entries(slot, target, strict)
        if not options:
            return None
        weights = self.entries(slot)
        w = np.array([weights[e] for e in options], dtype=np.float64)
        entry = options[int(rng.choice(len(options), p=w / w.sum()))]
        return entry, weights[entry]


def _weights(bank: dict[str, float]) -> tuple[list[str], np.ndarray]:
    words = list(bank)
    w = np.array([bank[x] for x in words], dtype=np.float64)
    return words, w / w.sum()


def _rhyme(a: str, b: str, strict: bool) -> bool:
    """A true rhyme (`words_rhyme`), or with `strict` off any two words `pronouncing.rhymes` pairs."""
    if strict:
        return words_rhyme(a, b)
    a, b = a.lower(), b.lower()
    return a != b and bool(rhyme_keys(a) & rhyme_keys(b))


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _match_mood(mood: str | None) -> str | None:
    if not mood:
        return None
    key = mood.strip().lower()
    moods = lyric_bank()["moods"]
    if key in moods:
        return key
    for mood_id, preset in mood_presets().items():  # the prompt vocabulary of moods.toml: "melancholic" -> sad
        if mood_id in moods and key in (k.lower() for k in preset.keywords):
            return mood_id
    for word in _tokens(key):
        if word in moods:
            return word
    return None


def _genre_named_in(text: str | None) -> str | None:
    """The lyric genre whose keyword the text names first ("synthwave night drive" -> synthwave)."""
    if not text:
        return None
    padded = " " + " ".join(_tokens(text.replace("-", " ").replace("_", " "))) + " "
    found = [(padded.find(f" {' '.join(_tokens(k.replace('-', ' ')))} "), name)
             for name, data in lyric_bank()["genres"].items() for k in data.get("keywords", [])]
    found = [(at, name) for at, name in found if at >= 0]
    return min(found)[1] if found else None


def _match_genre(genre: str | None) -> str | None:
    if not genre:
        return None
    key = genre.strip().lower()
    norm = re.sub(r"[\s\-]+", "_", key)
    genres = lyric_bank()["genres"]
    for name, data in genres.items():
        if norm == name or norm in data.get("styles", []):
            return name
    text = " " + " ".join(_tokens(key.replace("_", " "))) + " "
    for name, data in genres.items():
        if any(f" {' '.join(_tokens(k))} " in text for k in data.get("keywords", [])):
            return name
    return None


@dataclass
class _Line:
    text: str
    template: str
    end: str
    keys: frozenset[str]
    score: float
    words: frozenset[str]
    phrases: frozenset[str] = frozenset()  # multi-word fills (images), used once a song
    count: int = 0  # syllables


def _clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.!?])", r"\1", text)
    text = re.sub(r",(\s*,)+", ",", text)
    text = text.strip(" ,")

    def article(match: re.Match) -> str:
        a, word = match.group(1), match.group(2)
        phones = _phones(word)
        vowel = phones[0][0] in "AEIOU" if phones else word[0].lower() in "aeiou"
        return (a + "n " if vowel else a + " ") + word

    text = re.sub(r"\b([Aa]) ([A-Za-z']+)", article, text)
    return text[:1].upper() + text[1:]


_FILLERS = frozenset(("oh", "and", "but", "so", "yeah", "hey", "uh", "ayy", "ooh", "well", "baby", "just", "whoa", "mm"))


def _core(text: str) -> str:
    """A line (or half of one) without its ad-libs and leading conjunction, lowercased."""
    words = _tokens(text)
    while words and words[0] in _FILLERS:
        words = words[1:]
    return " ".join(words)


def _opening(text: str) -> tuple[str, ...]:
    """The first three words after an ad-lib or conjunction: "I still hear you" of two lines is one too many."""
    words = _core(text).split()
    return tuple(words[:3])


def _clashes(fills: list[str], text: str) -> bool:
    """True when a filled word repeats another word of the line ("the night tonight", "wild ... wild")."""
    tokens = [t for t in _tokens(text) if len(t) >= 4]
    for fill in fills:
        for word in (t for t in _tokens(fill) if len(t) >= 4):
            if sum(1 for t in tokens if word in t or t in word or t[:4] == word[:4]) > 1:
                return True
    return False


_AD_LIB = re.compile(r"^(oh|ooh|yeah|hey|uh|ayy|whoa|well|lord|baby|ow|come on),", re.IGNORECASE)


class _Writer:
    """Writes the sections of one song, remembering what it used so verses do not repeat."""

    def __init__(self, vocab: _Vocab, rng: np.random.Generator, lo: int, hi: int):
        self.vocab, self.rng, self.lo, self.hi = vocab, rng, lo, hi
        self.strict = True  # true rhymes only; relaxed to any CMU rhyme as a last resort
        self.used_lines: set[str] = set()
        self.used_cores: set[str] = set()  # `_core` of each part of each line written
        self.used_ends: dict[str, int] = {}
        self.used_templates: dict[str, int] = {}
        self.used_phrases: set[str] = set()
        self._supply: dict[tuple[str, str, bool], set[str]] = {}

    def rhymes(self, a: str, b: str) -> bool:
        return _rhyme(a, b, self.strict)

    # ------------------------------------------------------------------ single lines
    def _fill(self, template: str, lo: int, hi: int, rhyme_with: str | None = None
              ) -> tuple[str, float, list[str]] | None:
        segments = _template(template)
        for text, _ in segments:
            for name in re.findall(r"\{([a-z]+)\}", text):
                if name not in _SLOT_BANK or not self.vocab.has(name):
                    return None
        slot_total = sum(len(re.findall(r"\{[a-z]+\}", text)) for text, _ in segments)
        filled: list[tuple[str, bool]] = []
        fills: list[str] = []
        score = 1.0
        seen = 0
        for text, optional in segments:
            def slot(match: re.Match) -> str:
                nonlocal score, seen
                seen += 1
                picked = None
                if rhyme_with is not None and seen == slot_total:  # the slot that ends the line
                    picked = self.vocab.pick_rhyming(match.group(1), rhyme_with, self.rng, self.strict)
                word, weight = picked or self.vocab.pick(match.group(1), self.rng)
                fills.append(word)
                score += max(0.0, weight - 1.0)
                return word

            filled.append((re.sub(r"\{([a-z]+)\}", slot, text), optional))
        optional_idx = [i for i, (_, opt) in enumerate(filled) if opt]
        options = []
        for mask in itertools.product((False, True), repeat=len(optional_idx)):
            keep = dict(zip(optional_idx, mask))
            options.append(_clean(" ".join(t for i, (t, opt) in enumerate(filled) if not opt or keep[i])))
        options = list(dict.fromkeys(options))
        if rhyme_with is not None:
            options = [t for t in options if self.rhymes(rhyme_with, last_word(t))]
        fitting = [t for t in options if lo <= syllable_count(t) <= hi]
        if not fitting:
            short = [t for t in options if syllable_count(t) == lo - 1 and not _AD_LIB.match(t)]
            if short:  # an ad-lib in front ("oh,", "yeah,")
                text = short[int(self.rng.integers(len(short)))]
                pad = self.vocab.pads[int(self.rng.integers(len(self.vocab.pads)))]
                # "Baby, all the ..." rather than "Baby, and all the ..." when it still fits
                for head in dict.fromkeys((re.sub(r"^(And|But|So) ", "", text), text)):
                    head = head if head.startswith(("I ", "I'")) else head[:1].lower() + head[1:]
                    padded = _clean(pad + " " + head)
                    if lo <= syllable_count(padded) <= hi:
                        fitting = [padded]
                        score *= 0.3  # a padded line is a last resort
                        break
        if not fitting:
            return None
        # ad-libs ("Oh, ...") only now and then, when the line fits without them
        w = np.array([0.3 if _AD_LIB.match(t) else 1.0 for t in fitting])
        text = fitting[int(self.rng.choice(len(fitting), p=w / w.sum()))]
        kept_fills = [f for f in fills if f.lower() in text.lower()]
        if _clashes(kept_fills, text) or re.search(r"\b[Tt]he [A-Z][a-z]", text):  # "the July is ours"
            return None
        return text, score, kept_fills

    def _templates(self, role: str) -> tuple[list[str], np.ndarray]:
        base = [t for t in self.vocab.templates.get(role, self.vocab.templates["verse"])
                if "{topic}" not in t or self.vocab.topics]
        mood = self.vocab.mood_templates.get(role, [])
        stock = self.vocab.stock if role in ("verse", "chorus", "bridge", "pre", "outro") else []
        # short sections borrow the verse's (and the outro the chorus's) lines now and then
        borrowed = {"bridge": ["verse"], "pre": ["verse"], "intro": ["verse"], "outro": ["chorus", "verse"]}
        extra = [t for r in borrowed.get(role, []) for t in self.vocab.templates.get(r, [])
                 if t not in base and ("{topic}" not in t or self.vocab.topics)]
        short = self.vocab.templates.get("short", []) if self.hi <= 7 else []
        # the generic lines: once a song at most, and not in a chorus while true rhymes are sought
        common = [t for t in self.vocab.common_lines if t not in stock and not self.used_templates.get(t)
                  and (role != "chorus" or not self.strict)]
        templates = base + mood + stock + extra + short + common
        weights = ([1.0] * len(base) + [1.6] * len(mood) + [0.8] * len(stock) + [0.3] * len(extra)
                   + [1.5] * len(short) + [0.1] * len(common))
        for i, t in enumerate(templates):
            if "{topic}" in t:
                weights[i] = 1.5
            weights[i] /= 1.0 + self.used_templates.get(t, 0)
        w = np.array(weights)
        return templates, w / w.sum()

    def _make(self, template: str, templates: list[str], p: np.ndarray, role: str,
              rhyme_with: str | None = None) -> _Line | None:
        made = self._fill(template, self.lo, self.hi, rhyme_with)
        if made is None and self.hi >= 9:
            made = self._compound(templates, p, template, rhyme_with)
        if made is None:
            return None
        text, score, fills = made
        if text in self.used_lines or any(_core(part) in self.used_cores for part in text.split(", ")):
            return None  # a line, or half of one, sung in an earlier section
        end = last_word(text)
        keys = rhyme_keys(end)
        if not keys:
            return None
        phrases = frozenset(f.lower() for f in fills if f.count(" ") >= 2)
        if phrases & self.used_phrases:
            return None
        if template in self.vocab.stock:
            score += _THEME_WEIGHT
        elif template in self.vocab.common_lines:
            score *= 0.5  # generic lines: there for the rhyme, not the theme
        if template in self.vocab.mood_templates.get(role, []):
            score += 1.5
        if "{topic}" in template or any(t in _tokens(text) for t in self.vocab.topics):
            score += _TOPIC_WEIGHT
        score /= 1.0 + 2.0 * self.used_ends.get(end, 0)
        return _Line(text, template, end, keys, score, frozenset(w for f in fills for w in _tokens(f)), phrases,
                     syllable_count(text))

    def candidates(self, role: str, attempts: int = 100) -> list[_Line]:
        templates, p = self._templates(role)
        out: dict[str, _Line] = {}
        for _ in range(attempts):
            template = templates[int(self.rng.choice(len(templates), p=p))]
            line = self._make(template, templates, p, role)
            if line is not None and line.text not in out:
                out[line.text] = line
        return list(out.values())

    def _compound(self, templates: list[str], p: np.ndarray, main_template: str, rhyme_with: str | None = None):
        """A long line from two short ones: "Neon lights in the rain, I can almost see the skyline"."""
        main = self._fill(main_template, 3, self.hi - 3, rhyme_with)
        if main is None:
            return None
        count = syllable_count(main[0])
        for _ in range(4):
            lead_template = templates[int(self.rng.choice(len(templates), p=p))]
            lead = self._fill(lead_template, max(3, self.lo - count), self.hi - count)
            if lead is None:
                continue
            tail = main[0]
            if lead[0].rstrip(",.").lower() == tail.lower():
                continue
            if not tail.startswith(("I ", "I'")):
                tail = tail[:1].lower() + tail[1:]
            text = _clean(lead[0].rstrip(",.") + ", " + tail)
            if self.lo <= syllable_count(text) <= self.hi and not _clashes(lead[2] + main[2], text):
                return text, (lead[1] + main[1]) / 2, lead[2] + main[2]
        return None

    # ------------------------------------------------------------------ rhymes
    def _partners(self, role: str, target: str, attempts: int) -> list[_Line]:
        """Lines written to end on a rhyme for `target`."""
        templates, p = self._templates(role)
        keep = [i for i, t in enumerate(templates) if self._can_end_on(t, target)]
        if not keep:
            return []
        q = p[keep] / p[keep].sum()
        out: dict[str, _Line] = {}
        for _ in range(attempts):
            template = templates[keep[int(self.rng.choice(len(keep), p=q))]]
            line = self._make(template, templates, p, role, rhyme_with=target)
            if line is not None:
                out.setdefault(line.text, line)
        return list(out.values())

    def _rhyme_supply(self, role: str, end: str, pool_ends: list[str]) -> int:
        """How many distinct words could rhyme with `end`: in the pool or writable by a template."""
        key = (role, end, self.strict)
        if key not in self._supply:
            words: set[str] = set()
            templates, _ = self._templates(role)
            for template in templates:
                for kind, value in _template_ends(template):
                    if kind == "word":
                        words.add(value)
                    elif value in _SLOT_BANK and self.vocab.has(value):
                        words.update(last_word(e) for e in self.vocab.rhyming_entries(value, end, self.strict))
            self._supply[key] = {w for w in words if self.rhymes(end, w)}
        return len(self._supply[key] | {w for w in pool_ends if self.rhymes(end, w)})

    def _can_end_on(self, template: str, target: str) -> bool:
        for kind, value in _template_ends(template):
            if kind == "word" and self.rhymes(target, value):
                return True
            if kind == "slot" and value in _SLOT_BANK and self.vocab.has(value) \
                    and self.vocab.rhyming_entries(value, target, self.strict):
                return True
        return False

    def _compatible(self, line: _Line, chosen: list[_Line], anchor: str | None) -> bool:
        if any(_opening(c.text) == _opening(line.text) for c in chosen):
            return False
        ends = [c.end for c in chosen] + ([anchor] if anchor else [])
        for end in ends:
            if end == line.end or end.endswith(line.end) or line.end.endswith(end) or not self.rhymes(end, line.end):
                return False
        return all(c.template != line.template and c.text != line.text for c in chosen)

    def _weighted_order(self, lines: list[_Line], limit: int) -> list[_Line]:
        if not lines:
            return []
        s = np.array([x.score for x in lines], dtype=np.float64)
        k = min(limit, len(lines))
        idx = self.rng.choice(len(lines), size=k, replace=False, p=s / s.sum())
        return [lines[int(i)] for i in idx]

    def _rhyming_set(self, role: str, pool: list[_Line], windows: list[tuple[int, int]],
                     avoid: list[_Line] | None = None, anchor: str | None = None) -> list[_Line] | None:
        """One line per syllable window, their last words rhyming with each other (and with `anchor`
        when given), none of them rhyming with or repeating a template of the `avoid` lines."""
        n = len(windows)
        avoid = avoid or []
        avoid_keys = frozenset().union(*(a.keys for a in avoid)) if avoid else frozenset()
        avoid_templates = {a.template for a in avoid}
        avoid_openings = {_opening(a.text) for a in avoid}

        def usable(line: _Line) -> bool:  # and not starting as another line of the section does
            return not (line.keys & avoid_keys) and line.template not in avoid_templates \
                and _opening(line.text) not in avoid_openings

        def fits(line: _Line, k: int) -> bool:
            return windows[k][0] <= line.count <= windows[k][1]

        usable_pool = [x for x in pool if usable(x)]
        if anchor is not None:
            starts: list[_Line | None] = [None]
        else:  # lines whose last word has rhymes to offer, the better ones first
            pool_ends = sorted({x.end for x in usable_pool})
            viable = [x for x in usable_pool if fits(x, 0) and self._rhyme_supply(role, x.end, pool_ends) >= n - 1]
            starts = self._weighted_order(viable, 10)
        for start in starts:
            target = anchor if start is None else start.end
            chosen = [] if start is None else [start]
            partners = [x for x in usable_pool if self._compatible(x, chosen, anchor)]
            if len(partners) < 2 * (n - len(chosen)):
                partners += [x for x in self._partners(role, target, 12 + 4 * n) if usable(x)]
            while len(chosen) < n:
                ok = [x for x in partners if fits(x, len(chosen)) and self._compatible(x, chosen, anchor)]
                if not ok:
                    break
                s = np.array([x.score / (1.0 + 6.0 * sum(len(x.words & c.words) for c in chosen)) for x in ok])
                chosen.append(ok[int(self.rng.choice(len(ok), p=s / s.sum()))])
            if len(chosen) == n:
                return chosen
        return None

    # ------------------------------------------------------------------ sections
    def section(self, role: str, scheme: str, windows: list[tuple[int, int]], hook: list[str] | None = None,
                full: tuple[int, int] | None = None, others: tuple[str, ...] = ()) -> tuple[list[str], str]:
        """The lines of one section and their scheme: `scheme` says which rhyme, `windows` the
        syllables of each. True rhymes in the windows first, in `scheme` and then in the `others`
        schemes; then any CMU rhyme; then, rather than no song, windows widened by a syllable and
        at last to `full` (the caller's whole range)."""
        others = tuple(x for x in others if x != scheme)
        tries = [(True, scheme, windows)] * 2 + [(True, other, windows) for other in others]
        tries += [(False, shape, windows) for shape in (scheme, *others)]
        if full:
            tries += [(False, scheme, [(max(full[0], a - 1), min(full[1], b + 1)) for a, b in windows]),
                      (False, scheme, [full] * len(windows))]
        for attempt, (strict, shape, wins) in enumerate(tries):
            self.strict = strict
            self.lo, self.hi = min(a for a, _ in wins), max(b for _, b in wins)
            pool = self.candidates(role, attempts=100 + 60 * min(attempt, 2))
            lines = self._arrange(role, shape, wins, pool, hook)
            if lines is not None:
                self.strict = True
                for text in lines:
                    self.used_lines.add(text)
                    self.used_cores.update(_core(part) for part in text.split(", ") if len(_tokens(part)) >= 3)
                    end = last_word(text)
                    self.used_ends[end] = self.used_ends.get(end, 0) + 1
                return lines, shape
        self.strict = True
        raise ValueError(f"could not write rhyming {role} lines of {self.lo}-{self.hi} syllables; "
                         "widen syllables_per_line")

    def _note(self, lines: list[_Line]) -> list[str]:
        for line in lines:
            self.used_templates[line.template] = self.used_templates.get(line.template, 0) + 1
            self.used_phrases |= line.phrases
        return [line.text for line in lines]

    def _arrange(self, role: str, scheme: str, windows: list[tuple[int, int]], pool: list[_Line],
                 hook: list[str] | None) -> list[str] | None:
        if role == "outro" and hook and scheme == "AA" and windows[0][0] <= syllable_count(hook[0]) <= windows[0][1]:
            partner = self._rhyming_set(role, pool, windows[1:], anchor=last_word(hook[0]))
            if partner and partner[0].text != hook[0]:  # the outro returns to the chorus's hook line
                return [hook[0]] + self._note(partner)
        placed: list[_Line | None] = [None] * len(scheme)
        chosen: list[_Line] = []
        for members in _rhyme_groups(scheme, windows):
            lines = self._rhyming_set(role, pool, [w for _, w in members], avoid=chosen)
            if not lines:
                return None
            chosen += lines
            for (positions, _), line in zip(members, lines):
                for k in positions:
                    placed[k] = line
        self._note(chosen)
        return [line.text for line in placed]


def _rhyme_groups(scheme: str, windows: list[tuple[int, int]]) -> list[list[tuple[list[int], tuple[int, int]]]]:
    """Per rhyme group, its members: (the positions one line fills, that line's syllable window).
    H (the hook, sung at each H) leads group A; each X is a group of its own."""
    groups: dict[str, list[tuple[list[int], tuple[int, int]]]] = {}
    hook = [k for k, letter in enumerate(scheme) if letter == "H"]
    for k, letter in enumerate(scheme):
        if letter == "H":
            if k == hook[0]:
                lo, hi = max(windows[j][0] for j in hook), min(windows[j][1] for j in hook)
                groups.setdefault("A", []).insert(0, (hook, (lo, hi) if lo <= hi else windows[k]))
        else:
            groups.setdefault(f"X{k}" if letter == "X" else letter, []).append(([k], windows[k]))
    return list(groups.values())


@lru_cache(maxsize=4096)
def _template_ends(template: str) -> tuple[tuple[str, str], ...]:
    """What can end a template's line: ("slot", name) or ("word", word), optional tails dropped or not."""
    ends = []
    for text, optional in reversed(_template(template)):
        tokens = re.findall(r"\{[a-z]+\}|[A-Za-z']+", text)
        if tokens:
            token = tokens[-1]
            ends.append(("slot", token[1:-1]) if token.startswith("{") else ("word", token.lower().strip("'")))
            if not optional:
                break
    return tuple(ends)


def _schemes(kind: str, role: str) -> list[str]:
    schemes = lyric_bank()["writer"]["schemes"]
    return schemes.get(kind) or schemes.get(role) or schemes["verse"]


def _plan(kind: str, role: str, rng: np.random.Generator, lo: int, hi: int, shift: int,
          targets: list[int] | None) -> tuple[str, list[int]]:
    """A section's rhyme scheme and syllable targets (see [writer.schemes] and [writer.meter])."""
    writer = lyric_bank()["writer"]
    options = _schemes(kind, role)
    if targets:
        options = [x for x in options if len(x) == len(targets)] or [
            "".join("ABCDEFG"[i // 2] for i in range(len(targets) - len(targets) % 2)) + "X" * (len(targets) % 2)]
    scheme = options[int(rng.integers(len(options)))]
    if targets:
        return scheme, [int(t) for t in targets]
    patterns = writer["meter"].get(role) or writer["meter"]["verse"]
    pattern = patterns[int(rng.integers(len(patterns)))]
    centre = round((lo + hi) / 2) + shift
    return scheme, [min(hi, max(lo, centre + pattern[i % len(pattern)])) for i in range(len(scheme))]


# ---------------------------------------------------------------------------- drafts (a local LLM)

@dataclass
class LyricRequest:
    """What a drafter is asked to write: the form to fill, what the song is about, what not to say."""

    form: list[LyricsSection]  # label, kind, scheme and targets of each section to write (lines empty)
    about: list[str]  # the theme's subjects and topics ("night", "drive", "my dog")
    mood: str
    avoid: frozenset[str]  # the prompt's sound and singer words (and their plurals): a draft using one is refused
    seed: int
    named: tuple[str, ...] = ()  # those of the `avoid` words the prompt itself used, for the instruction
    tolerance: int = 2  # syllables a drafted line may be off its target
    outcome: str = ""  # set by write_lyrics: "used", or why the draft was refused

    def prompt(self) -> str:
        """The instruction for an LLM: headers, lines, rhymes and syllables per section."""
        parts = [f"Write song lyrics about {', '.join(self.about) or 'a feeling'}. Mood: {self.mood}.",
                 ("Every line is a plain, grammatical sentence or phrase a person would sing; the song tells "
                  "one story, verse 2 moves it on, the chorus sums it up. Write exactly these sections, "
                  "each under its header in square brackets, and nothing else:")]
        for section in _unique(self.form):
            lines = "; ".join(f"line {k + 1}: {t} syllables" for k, t in enumerate(section.targets))
            rhyme = _scheme_words(section.scheme)
            parts.append(f"[{section.label}] {len(section.targets)} lines ({lines}); {rhyme}.")
        if self.named or self.avoid:
            parts.append("Do not use these words: " + ", ".join(self.named or sorted(self.avoid)) + ".")
        return "\n".join(parts)


def _unique(form: list[LyricsSection]) -> list[LyricsSection]:
    """The sections to write: a repeating kind (the chorus) once."""
    seen: set[str] = set()
    out = []
    for section in form:
        if section.kind in _REPEATING_KINDS:
            if section.kind in seen:
                continue
            seen.add(section.kind)
        out.append(section)
    return out


def _scheme_words(scheme: str) -> str:
    """ "ABAB" -> "lines 1, 3 rhyme; lines 2, 4 rhyme"; H: the repeated hook line, rhyming with A."""
    hook = [str(k + 1) for k, x in enumerate(scheme) if x == "H"]
    plain = scheme.replace("H", "A")
    pairs = [f"lines {', '.join(str(k + 1) for k, x in enumerate(plain) if x == group)} rhyme"
             for group in dict.fromkeys(x for x in plain if x != "X") if plain.count(group) > 1]
    if len(hook) > 1:
        pairs.append(f"lines {' and '.join(hook)} are the same hook line")
    return "; ".join(pairs) or "no rhyme needed"


Drafter = Callable[[LyricRequest], "str | None"]
_DRAFTER: ContextVar[Drafter | None] = ContextVar("lyric_drafter", default=None)


@contextmanager
def drafting(drafter: Drafter | None):
    """Within the block (on this thread), `write_lyrics` asks `drafter` first (a service's local
    LLM; the engine itself never calls out). None: the built-in writer only."""
    token = _DRAFTER.set(drafter)
    try:
        yield
    finally:
        _DRAFTER.reset(token)


def check_draft(text: str, request: LyricRequest) -> tuple[list[LyricsSection] | None, str]:
    """A drafter's lyrics as the requested form, or None and why not: every section present with
    its number of lines, each line within `tolerance` syllables of its target, none of the
    `avoid` words, at least half the rhymes the schemes ask for, hook lines where H says."""
    cleaned = re.sub(r"[*#_`]+", "", str(text or ""))
    first = re.search(r"^\s*\[[^\]]+\]\s*$", cleaned, re.MULTILINE)
    if first is None:
        return None, "no [Section] headers"
    try:
        drafted = parse_lyrics(cleaned[first.start():])
    except ValueError as exc:
        return None, str(exc)
    by_label = {s.label.lower(): s for s in drafted}
    by_kind: dict[str, list[LyricsSection]] = {}
    for s in drafted:
        by_kind.setdefault(s.kind, []).append(s)
    written: dict[str, list[str]] = {}
    pairs = rhymed = 0
    for want in _unique(request.form):
        got, same_kind = by_label.get(want.label.lower()), by_kind.get(want.kind, [])
        if got is None and same_kind:
            got = same_kind[0]
        if got in same_kind:
            same_kind.remove(got)
        if got is None:
            return None, f"no [{want.label}]"
        lines = [line.strip().strip('"') for line in got.lines if line.strip()]
        if len(lines) != len(want.targets):
            return None, f"[{want.label}] has {len(lines)} lines, not {len(want.targets)}"
        for line, target in zip(lines, want.targets):
            count = syllable_count(line)
            if abs(count - target) > request.tolerance:
                return None, f"[{want.label}] {line!r}: {count} syllables, not {target}"
            if not re.search(r"[A-Za-z]", line) or re.search(r"[\[\]{}<>*#_=|\\/@:]", line):
                return None, f"[{want.label}] {line!r}: not a plain line of words"
            if request.avoid.intersection(_tokens(line)):
                return None, f"[{want.label}] {line!r} uses a word of the prompt's sound or singer"
        for letter in set(want.scheme) - {"X"}:
            at = [k for k, x in enumerate(want.scheme) if x == letter or (letter == "A" and x == "H")]
            for a, b in itertools.combinations(at, 2):
                if want.scheme[a] == want.scheme[b] == "H":
                    if _norm_line(lines[a]) != _norm_line(lines[b]):
                        return None, f"[{want.label}] the hook lines {a + 1} and {b + 1} differ"
                    continue
                pairs += 1
                rhymed += bool(rhyme_keys(last_word(lines[a])) & rhyme_keys(last_word(lines[b])))
        written[want.label] = lines
    if pairs and rhymed * 2 < pairs:
        return None, f"only {rhymed} of {pairs} rhymes"
    out, firsts = [], {}
    for section in request.form:
        lines = written.get(section.label) or firsts.get(section.kind, [])
        firsts.setdefault(section.kind, lines)
        out.append(LyricsSection(section.label, section.kind, list(lines), section.scheme, list(section.targets)))
    return out, "used"


def _drafted(drafter: Drafter, theme: str | None, mood: str, vocab: _Vocab, form: list[LyricsSection],
             rng: np.random.Generator) -> list[LyricsSection] | None:
    seed = int(copy.deepcopy(rng).integers(2**31))  # a copy: the built-in writer's draws stay the same
    about = list(vocab.topics) + [t for t in vocab.themes]
    request = LyricRequest(form=[LyricsSection(s.label, s.kind, [], s.scheme, list(s.targets)) for s in form],
                           about=about, mood=mood or "any", avoid=vocab.banned, seed=seed,
                           named=tuple(sorted(set(_tokens(theme or "")) & vocab.banned)))
    try:
        text = drafter(request)
    except Exception as exc:  # noqa: BLE001 - a drafter's failure must never cost the song its lyrics
        request.outcome = f"the drafter failed: {exc}"
        return None
    if not text:
        request.outcome = request.outcome or "no draft"
        return None
    sections, why = check_draft(text, request)
    request.outcome = why
    return sections


def write_lyrics(theme: str | None, mood: str, genre: str, sections: list[tuple[str, str]],
                 rng: np.random.Generator, *, syllables_per_line: tuple[int, int] = (6, 10),
                 line_syllables: dict[str, list[int]] | None = None) -> list[LyricsSection]:
    """Lyrics for the song form `sections` ((label, kind) in song order), written from `theme`.

    `theme` may be the whole prompt: only what it is about is sung (`lyric_theme.read_theme`),
    never its style, mood, instrument or singer words. Each section draws a rhyme scheme from
    [writer.schemes] (verses ABAB or AABB, choruses AABB or around a repeated hook line, HAHA;
    two-line sections a couplet) and syllable targets from [writer.meter] inside
    `syllables_per_line`; every line has its target +-1 syllables (see `syllable_count`).
    `line_syllables` (section label or kind -> one target per line) sets the lines and targets
    of a section instead, e.g. from a melody written first. The outro comes back to the chorus
    hook when it fits. Repeating kinds (chorus, pre-chorus, hook) have the same lines each time;
    other sections are all different. Same `rng` state, same lyrics.

    Inside `drafting(drafter)`, the drafter (a local LLM) is asked first; its lyrics are used when
    `check_draft` accepts them, else these are written as without it.
    """
    lo, hi = int(syllables_per_line[0]), int(syllables_per_line[1])
    if lo > hi:
        raise ValueError(f"syllables_per_line {syllables_per_line}: the minimum is above the maximum")
    if hi < 4 or lo > 20:
        raise ValueError(f"syllables_per_line {syllables_per_line}: lines need 4 to 20 syllables")
    for key, targets in (line_syllables or {}).items():
        if not targets or not all(2 <= int(t) <= 24 for t in targets):
            raise ValueError(f"line_syllables[{key!r}]: give 2 to 24 syllables for each line")
    lo = max(1, lo)
    vocab = _Vocab(theme, mood, genre, rng)
    roles = lyric_bank()["writer"]["section_roles"]
    form: list[LyricsSection] = []  # labels, kinds, schemes and targets; repeats share the first's plan
    planned: dict[str, LyricsSection] = {}
    for label, kind in sections:
        kind = (kind or "verse").strip().lower()
        if kind in _REPEATING_KINDS and kind in planned:
            first = planned[kind]
            form.append(LyricsSection(label, kind, [], first.scheme, list(first.targets)))
            continue
        asked = (line_syllables or {}).get(label) or (line_syllables or {}).get(kind)
        scheme, targets = _plan(kind, roles.get(kind, "verse"), rng, lo, hi, vocab.meter_shift, asked)
        form.append(LyricsSection(label, kind, [], scheme, targets))
        planned.setdefault(kind, form[-1])

    drafter = _DRAFTER.get()
    if drafter is not None:
        drafted = _drafted(drafter, theme, mood, vocab, form, rng)
        if drafted is not None:
            return drafted

    writer = _Writer(vocab, rng, lo, hi)
    written: dict[str, tuple[list[str], str]] = {}
    hook: list[str] | None = None
    out: list[LyricsSection] = []
    for section in form:
        role = roles.get(section.kind, "verse")
        if section.kind in _REPEATING_KINDS and section.kind in written:
            lines, section.scheme = list(written[section.kind][0]), written[section.kind][1]
        else:
            explicit = bool(line_syllables) and bool(line_syllables.get(section.label) or line_syllables.get(section.kind))
            windows = [(max(1, t - 1), t + 1) if explicit else (max(lo, t - 1), min(hi, t + 1))
                       for t in section.targets]
            options = tuple(x for x in _schemes(section.kind, role) if len(x) == len(section.scheme))
            lines, section.scheme = writer.section(role, section.scheme, windows, hook,
                                                   full=None if explicit else (lo, hi), others=options)
            written[section.kind] = (lines, section.scheme)
            if role == "chorus" and hook is None:
                hook = [line for k, line in enumerate(lines) if section.scheme[k] in "HA"][:1] or lines[:1]
        out.append(LyricsSection(section.label, section.kind, list(lines), section.scheme, list(section.targets)))
    return out
