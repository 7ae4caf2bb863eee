"""Music theory the composer needs: scales, Roman-numeral chords in a key, chord spelling, voice leading."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)  # natural minor; V/V7 written upper case give the leading tone
BLUES_SCALE_MINOR = (0, 3, 5, 6, 7, 10)
BLUES_SCALE_MAJOR = (0, 2, 3, 4, 7, 9)

SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
# Keys written with sharps (tonic pitch classes): G D A E B F# major, E B F# C# G# minor.
SHARP_MAJOR_TONICS = {7, 2, 9, 4, 11, 6}
SHARP_MINOR_TONICS = {4, 11, 6, 1, 8}

_ROMAN_DEGREES = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7}
ROMAN_PATTERN = re.compile(r"^(?P<acc>[b#]?)(?P<numeral>VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)"
                           r"(?P<quality>o|ø|\+)?(?P<ext>m7b5|maj9|maj7|7|9|11|sus4|sus2|add9|6)?$")


def scale_of(mode: str) -> tuple[int, ...]:
    return MAJOR_SCALE if mode == "major" else MINOR_SCALE


def uses_sharps(tonic_pitch_class: int, mode: str) -> bool:
    return tonic_pitch_class in (SHARP_MAJOR_TONICS if mode == "major" else SHARP_MINOR_TONICS)


def note_name(pitch_class: int, sharps: bool) -> str:
    return (SHARP_NAMES if sharps else FLAT_NAMES)[pitch_class % 12]


@dataclass(frozen=True)
class ChordSpec:
    roman: str
    root_pitch_class: int
    intervals: tuple[int, ...]  # semitones above the root, root first
    symbol: str

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        return tuple((self.root_pitch_class + i) % 12 for i in self.intervals)

    @property
    def triad_pitch_classes(self) -> tuple[int, ...]:
        return tuple((self.root_pitch_class + i) % 12 for i in self.intervals[:3])

    @property
    def fifth_interval(self) -> int:
        return self.intervals[2] if len(self.intervals) > 2 else 7


def parse_roman(roman: str, tonic_pitch_class: int, mode: str, *, extensions: str = "keep") -> ChordSpec:
    """A Roman numeral ("vi7", "bVII", "V9", "iio", "IVsus4") as a chord in the key.

    Degrees come from the mode's scale (natural minor for minor keys); the numeral's case sets
    the triad (upper major, lower minor, "o" diminished, "+" augmented). `extensions`:
    "keep" as written, "triads" drops 7ths/9ths (simple arrangements), "add7" adds a 7th to
    plain triads (complex arrangements).
    """
    match = ROMAN_PATTERN.match(roman.strip())
    if not match:
        raise ValueError(f"cannot read chord {roman!r}; write Roman numerals like 'vi7', 'IVmaj7', 'bVII'")
    numeral, quality, ext = match["numeral"], match["quality"], match["ext"]
    if ext == "m7b5":  # half-diminished written as a suffix, e.g. "iim7b5" (= "iiø7")
        quality, ext = "ø", "7"
    degree = _ROMAN_DEGREES[numeral.lower()]
    shift = {"b": -1, "#": 1, "": 0}[match["acc"]]
    root = (tonic_pitch_class + scale_of(mode)[degree - 1] + shift) % 12
    upper = numeral.isupper()
    if quality == "o":
        triad = (0, 3, 6)
    elif quality == "+":
        triad = (0, 4, 8)
    elif quality == "ø":
        triad = (0, 3, 6)
        ext = ext or "7"
    else:
        triad = (0, 4, 7) if upper else (0, 3, 7)
    if extensions == "triads" and ext not in ("sus4", "sus2"):
        ext = None
    elif extensions == "add7" and ext is None and quality is None:
        ext = "maj7" if upper and degree in (1, 4) and not (mode == "minor" and degree == 1) else "7"

    intervals = list(triad)
    minor_third = triad[1] == 3
    if ext in ("sus4", "sus2"):
        intervals[1] = 5 if ext == "sus4" else 2
    seventh = None
    if ext in ("7", "9", "11"):
        seventh = 9 if quality == "o" else 10
    elif ext in ("maj7", "maj9"):
        seventh = 11
    if seventh is not None:
        intervals.append(seventh)
    if ext in ("9", "maj9", "add9", "11"):
        intervals.append(14)
    if ext == "11":
        intervals.append(17)
    if ext == "6":
        intervals.append(9)

    sharps = uses_sharps(tonic_pitch_class, mode)
    name = note_name(root, sharps)
    if quality == "o":
        suffix = "dim7" if seventh == 9 else "dim"
    elif quality == "ø":
        suffix = "m7b5"
    elif quality == "+":
        suffix = "aug"
    elif ext in ("sus4", "sus2"):
        suffix = ext
    else:
        base = "m" if minor_third else ""
        suffix = base + {None: "", "7": "7", "9": "9", "11": "11", "maj7": "maj7", "maj9": "maj9", "add9": "add9", "6": "6"}[ext]
    return ChordSpec(roman=roman, root_pitch_class=root, intervals=tuple(intervals), symbol=name + suffix)


def nearest_pitch(pitch_class: int, target: float) -> int:
    """The MIDI note of `pitch_class` closest to `target`."""
    base = int(round(target)) - ((int(round(target)) - pitch_class) % 12)
    return base if target - base <= 6 else base + 12


def place_in_range(pitch: int, low: int, high: int) -> int:
    """Fold a pitch by octaves into [low, high] (high - low >= 11)."""
    while pitch < low:
        pitch += 12
    while pitch > high:
        pitch -= 12
    return pitch


def voice_chord(pitch_classes: tuple[int, ...], previous: list[int] | None, low: int, high: int,
                max_voices: int = 4) -> list[int]:
    """A close-ish voicing of the chord within [low, high] that moves least from `previous`.

    Candidates: every inversion of the chord stacked upward from each start note in the
    lowest octave of the range. Cost: total semitone movement against the previous voicing
    (matched in sorted order), plus a pull toward the middle of the range so the harmony does
    not drift to an edge over a long song.
    """
    pcs = list(dict.fromkeys(pitch_classes))[:max_voices]
    centre = (low + high) / 2
    best, best_cost = None, float("inf")
    for rotation in range(len(pcs)):
        order = pcs[rotation:] + pcs[:rotation]
        for start in range(low, low + 12):
            if start % 12 != order[0]:
                continue
            voicing = [start]
            for pc in order[1:]:
                nxt = voicing[-1] + ((pc - voicing[-1]) % 12 or 12)
                voicing.append(nxt)
            if voicing[-1] > high:
                continue
            mean = sum(voicing) / len(voicing)
            cost = 0.35 * abs(mean - centre)
            if previous:
                a, b = sorted(voicing), sorted(previous)
                n = min(len(a), len(b))
                cost += sum(abs(x - y) for x, y in zip(a[:n], b[:n]))
            if cost < best_cost:
                best, best_cost = voicing, cost
    if best is None:  # range narrower than the chord: stack from low anyway
        best = [nearest_pitch(pcs[0], low + 6)]
        for pc in pcs[1:]:
            best.append(best[-1] + ((pc - best[-1]) % 12 or 12))
    return best


def scale_pitches(tonic_pitch_class: int, scale: tuple[int, ...], low: int, high: int) -> list[int]:
    """All MIDI notes of the scale within [low, high], ascending."""
    allowed = {(tonic_pitch_class + s) % 12 for s in scale}
    return [p for p in range(low, high + 1) if p % 12 in allowed]


def progression_symbols(chords: list[ChordSpec]) -> list[str]:
    return [c.symbol for c in chords]


def all_voicings_cost(voicings: list[list[int]]) -> int:
    """Total semitone movement between consecutive voicings (smaller = smoother voice leading)."""
    total = 0
    for a, b in itertools.pairwise(voicings):
        n = min(len(a), len(b))
        total += sum(abs(x - y) for x, y in zip(sorted(a)[:n], sorted(b)[:n]))
    return total
