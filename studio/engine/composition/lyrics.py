"""Song lyrics: read the user's lyrics, write lyrics from a theme, split lines into sung syllables.

Everything is offline. Syllable counts come from the CMU pronouncing dictionary (`pronouncing`),
with a vowel-group heuristic for words it does not know; the display split of a word into
syllables comes from `pyphen` hyphenation, adjusted to that count. Written lyrics are filled from
the word banks, line templates and word lists in `resources/music/lyrics.toml` (checked when
loaded: `DataFileError` names the entry); rhyming line ends rhyme per
the CMU dictionary (`pronouncing.rhymes`).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pronouncing
import pyphen

from studio.engine.composition.styles import moods as mood_presets
from studio.engine.datafiles import DataFileError, load_toml
from studio.resources import resource_path

MUSIC_DIR = resource_path("music")


@dataclass
class LyricsSection:
    label: str  # "Verse 1", "Chorus", "Bridge": as shown to users; "[Verse 1]" in text
    kind: str  # "verse" | "chorus" | "bridge" | "intro" | "outro" | "pre-chorus" | "hook" ...
    lines: list[str] = field(default_factory=list)


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

_SLOT_BANK = {"place": "place", "thing": "thing", "lights": "lights", "things": "things", "verb": "verbs",
              "ving": "verbs", "past": "verbs", "move": "moves", "moving": "moves", "desc": "desc", "feel": "feel",
              "time": "time", "when": "when", "image": "images", "topic": "topic"}
_FORM = {"verb": 0, "ving": 1, "past": 2, "move": 0, "moving": 1}
_BANKS = ("place", "thing", "lights", "things", "verbs", "moves", "desc", "feel", "time", "when", "images")
_THEME_WEIGHT, _MOOD_WEIGHT, _GENRE_WEIGHT, _COMMON_WEIGHT, _TOPIC_WEIGHT = 5.0, 2.5, 1.5, 1.0, 6.0


LYRICS_FILE = MUSIC_DIR / "lyrics.toml"
_SOURCE_KEYS = frozenset((*_BANKS, "lines", "templates", "keywords", "themes", "pads", "styles"))
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
            else:
                strings(f"{entry}.{key}", value)
            forms = {"verbs": 3, "moves": 2}.get(key)
            for word in value if forms else ():
                if word.count("|") != forms - 1:
                    shape = "base|ing|past" if forms == 3 else "base|ing"
                    fail(f"{entry}.{key}", f"{word!r} must be written {shape}")

    for table in ("writer", "templates", "common", "themes", "moods", "genres"):
        if not isinstance(bank.get(table), dict):
            fail(table, "is missing (the writer needs it)")
    writer = bank["writer"]
    for key in ("fallback_themes", "fallback_pads", "ignore_words"):
        strings(f"writer.{key}", writer.get(key))
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
        self.banks: dict[str, dict[str, float]] = {name: {} for name in (*_BANKS, "topic")}
        self.mood = _match_mood(mood)
        self.genre = _match_genre(genre)
        mood_data = bank["moods"].get(self.mood, {}) if self.mood else {}
        genre_data = bank["genres"].get(self.genre, {}) if self.genre else {}

        themes, topics = _match_themes(theme)
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
        self.common_lines: list[str] = list(bank["common"].get("lines", []))
        for name in themes:
            data = bank["themes"][name]
            self._add(data, _THEME_WEIGHT)
            self.stock.extend(data.get("lines", []))
        for word in topics:
            self.banks["topic"][word] = _TOPIC_WEIGHT
            target = "things" if word.endswith("s") and not word.endswith("ss") else "thing"
            self.banks[target][word] = _TOPIC_WEIGHT
        self.pads = list(genre_data.get("pads", [])) or list(bank["writer"]["fallback_pads"])
        self.templates = {role: list(lines) for role, lines in bank["templates"].items()}
        self.mood_templates = {role: list(lines) for role, lines in mood_data.get("templates", {}).items()}
        self._arrays: dict[str, tuple[list[str], np.ndarray]] = {}
        self._forms: dict[str, dict[str, float]] = {}
        self._rhyming: dict[tuple[str, str, bool], list[str]] = {}

    def _add(self, data: dict, weight: float) -> None:
        for name in _BANKS:
            for entry in data.get(name, []):
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
                elif name == "topic":
                    entry = entry if entry.endswith("s") else f"the {entry}"
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


def _match_themes(theme: str | None) -> tuple[list[str], list[str]]:
    """Themes whose keywords occur in the theme text, and the leftover content words (topics)."""
    if not theme or not theme.strip():
        return [], []
    text = " " + " ".join(_tokens(theme)) + " "
    tokens = _tokens(theme)
    matched: list[str] = []
    used: set[str] = set()
    for name, data in lyric_bank()["themes"].items():
        for keyword in data.get("keywords", []):
            kw = " ".join(_tokens(keyword))
            hit = f" {kw} " in text or (" " not in kw and (kw + "s") in tokens)
            if hit:
                if name not in matched:
                    matched.append(name)
                used.update(kw.split())
                used.add(kw + "s")
    topics = []
    for token in tokens:
        if token in used or token in _ignore_words() or len(token) < 3 or not token.isalpha():
            continue
        if token not in topics:
            topics.append(token)
    return matched, topics[:3]


@lru_cache(maxsize=1)
def _ignore_words() -> frozenset[str]:
    return frozenset(lyric_bank()["writer"]["ignore_words"])


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
                head = text if text.startswith(("I ", "I'")) else text[:1].lower() + text[1:]
                text = _clean(pad + " " + head)
                if lo <= syllable_count(text) <= hi:
                    fitting = [text]
                    score *= 0.3  # a padded line is a last resort
        if not fitting:
            return None
        # ad-libs ("Oh, ...") only now and then, when the line fits without them
        w = np.array([0.3 if _AD_LIB.match(t) else 1.0 for t in fitting])
        text = fitting[int(self.rng.choice(len(fitting), p=w / w.sum()))]
        kept_fills = [f for f in fills if f.lower() in text.lower()]
        if _clashes(kept_fills, text):
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
        common = [t for t in self.vocab.common_lines if t not in stock]
        templates = base + mood + stock + extra + short + common
        weights = ([1.0] * len(base) + [1.6] * len(mood) + [0.8] * len(stock) + [0.3] * len(extra)
                   + [1.5] * len(short) + [0.1] * len(common))
        for i, t in enumerate(templates):
            if "{topic}" in t:
                weights[i] = 2.5
            weights[i] /= 1.0 + self.used_templates.get(t, 0)
        w = np.array(weights)
        return templates, w / w.sum()

    def _make(self, template: str, templates: list[str], p: np.ndarray, role: str,
              rhyme_with: str | None = None) -> _Line | None:
        made = self._fill(template, self.lo, self.hi, rhyme_with)
        if made is None and self.lo >= 9:
            made = self._compound(templates, p, template, rhyme_with)
        if made is None:
            return None
        text, score, fills = made
        if text in self.used_lines:
            return None
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
        return _Line(text, template, end, keys, score, frozenset(w for f in fills for w in _tokens(f)), phrases)

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

    def _rhyming_set(self, role: str, pool: list[_Line], n: int, avoid: list[_Line] | None = None,
                     anchor: str | None = None) -> list[_Line] | None:
        """`n` lines whose last words rhyme with each other (and with `anchor` when given), none of
        them rhyming with or repeating a template of the `avoid` lines."""
        avoid = avoid or []
        avoid_keys = frozenset().union(*(a.keys for a in avoid)) if avoid else frozenset()
        avoid_templates = {a.template for a in avoid}

        def usable(line: _Line) -> bool:
            return not (line.keys & avoid_keys) and line.template not in avoid_templates

        usable_pool = [x for x in pool if usable(x)]
        if anchor is not None:
            starts: list[_Line | None] = [None]
        else:  # lines whose last word has rhymes to offer, the better ones first
            pool_ends = sorted({x.end for x in usable_pool})
            viable = [x for x in usable_pool if self._rhyme_supply(role, x.end, pool_ends) >= n - 1]
            starts = self._weighted_order(viable, 10)
        for start in starts:
            target = anchor if start is None else start.end
            chosen = [] if start is None else [start]
            partners = [x for x in usable_pool if self._compatible(x, chosen, anchor)]
            if len(partners) < 2 * (n - len(chosen)):
                partners += [x for x in self._partners(role, target, 12 + 4 * n) if usable(x)]
            while len(chosen) < n:
                ok = [x for x in partners if self._compatible(x, chosen, anchor)]
                if not ok:
                    break
                s = np.array([x.score / (1.0 + 6.0 * sum(len(x.words & c.words) for c in chosen)) for x in ok])
                chosen.append(ok[int(self.rng.choice(len(ok), p=s / s.sum()))])
            if len(chosen) == n:
                return chosen
        return None

    # ------------------------------------------------------------------ sections
    def section(self, role: str, n_lines: int, hook: list[str] | None = None) -> list[str]:
        for attempt in range(3):
            self.strict = attempt < 2
            pool = self.candidates(role, attempts=100 + 60 * attempt)
            lines = self._arrange(role, n_lines, pool, hook)
            if lines is not None:
                self.strict = True
                for text in lines:
                    self.used_lines.add(text)
                    end = last_word(text)
                    self.used_ends[end] = self.used_ends.get(end, 0) + 1
                return lines
        self.strict = True
        raise ValueError(f"could not write rhyming {role} lines of {self.lo}-{self.hi} syllables; "
                         "widen syllables_per_line")

    def _note(self, lines: list[_Line]) -> list[str]:
        for line in lines:
            self.used_templates[line.template] = self.used_templates.get(line.template, 0) + 1
            self.used_phrases |= line.phrases
        return [line.text for line in lines]

    def _arrange(self, role: str, n: int, pool: list[_Line], hook: list[str] | None) -> list[str] | None:
        if role == "outro" and hook and n == 2:  # the outro returns to the chorus's hook line
            partner = self._rhyming_set(role, pool, 1, anchor=last_word(hook[0]))
            if partner and partner[0].text != hook[0]:
                return [hook[0]] + self._note(partner)
        if n <= 2:
            pair = self._rhyming_set(role, pool, 2)
            return self._note(pair) if pair else None
        if role == "chorus" and n == 4 and self.rng.random() < 0.5:
            trio = self._rhyming_set(role, pool, 3)
            if trio:
                hook_line, a, b = self._note(trio)
                return [hook_line, a, hook_line, b]
        first = self._rhyming_set(role, pool, 2)
        if not first:
            return None
        second = self._rhyming_set(role, pool, 2, avoid=first)
        if not second:
            return None
        a1, a2 = self._note(first)
        b1, b2 = self._note(second)
        if role == "verse" and self.rng.random() < 0.5:
            return [a1, b1, a2, b2]  # ABAB
        return [a1, a2, b1, b2]  # AABB


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


def _line_count(role: str, kind: str, rng: np.random.Generator) -> int:
    if role in ("verse", "chorus") and kind in ("verse", "chorus"):
        return 4
    if role == "bridge":
        return 2 if rng.random() < 0.5 else 4
    if role in ("intro", "outro", "pre") or kind in ("hook", "post-chorus"):
        return 2
    return 4


def write_lyrics(theme: str | None, mood: str, genre: str, sections: list[tuple[str, str]],
                 rng: np.random.Generator, *, syllables_per_line: tuple[int, int] = (6, 10)) -> list[LyricsSection]:
    """Lyrics for the song form `sections` ((label, kind) in song order), written from `theme`.

    Verses rhyme ABAB or AABB, choruses AABB or around a repeated hook line (H A H A); bridges
    (2 or 4 lines), intros, outros and pre-choruses (2 lines) rhyme in couplets; the outro comes
    back to the chorus hook when there is a chorus. Every line's syllable count (see
    `syllable_count`) lies in `syllables_per_line`. Repeating kinds (chorus, pre-chorus, hook)
    have the same lines each time; other sections are all different. Same `rng` state, same lyrics.
    """
    lo, hi = int(syllables_per_line[0]), int(syllables_per_line[1])
    if lo > hi:
        raise ValueError(f"syllables_per_line {syllables_per_line}: the minimum is above the maximum")
    if hi < 4 or lo > 20:
        raise ValueError(f"syllables_per_line {syllables_per_line}: lines need 4 to 20 syllables")
    vocab = _Vocab(theme, mood, genre, rng)
    writer = _Writer(vocab, rng, max(1, lo), hi)
    written: dict[str, list[str]] = {}
    hook: list[str] | None = None
    out: list[LyricsSection] = []
    for label, kind in sections:
        kind = (kind or "verse").strip().lower()
        role = lyric_bank()["writer"]["section_roles"].get(kind, "verse")
        if kind in _REPEATING_KINDS and kind in written:
            lines = list(written[kind])
        else:
            lines = writer.section(role, _line_count(role, kind, rng), hook)
            written[kind] = lines
            if role == "chorus" and hook is None:
                hook = lines
        out.append(LyricsSection(label, kind, list(lines)))
    return out
