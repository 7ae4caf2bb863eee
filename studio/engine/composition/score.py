"""The score: what the composer writes and everything downstream reads.

Times are in seconds from the start of the track, with swing and humanisation already applied
(what is heard); `beat` fields keep the grid position for MIDI export, chord charts and
analysis. A score is plain data: it can be rendered, exported as MIDI, analysed or extended.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from studio.engine.instruments.sampler import Notes
from studio.engine.composition.spec import ResolvedSpec

STEMS = ("drums", "bass", "harmony", "melody", "vocals", "fx")
Stem = Literal["drums", "bass", "harmony", "melody", "vocals", "fx"]


@dataclass
class NoteEvent:
    start_s: float
    duration_s: float
    pitch: int  # MIDI key; for drums the General MIDI drum key (36 kick, 38 snare, 42 closed hat...)
    velocity: int  # 1..127
    beat: float  # grid position in beats from the start (before swing/humanisation)


@dataclass
class Part:
    """One instrument line. `stem` groups parts into the exported stems."""

    name: str  # "drums", "bass", "keys", "pad", "lead", "vocal melody", "riser"...
    stem: Stem
    source: Literal["sf2", "synth"]
    program: int = 0  # General MIDI program (sf2 source; also the MIDI export's program)
    patch: str | None = None  # synth patch (synth source); drums: a synth kit maps keys to patches
    is_drum: bool = False
    label: str = ""  # human name, e.g. "Rhodes"
    gain_db: float = 0.0
    pan: float = 0.0  # -1 left .. 1 right
    notes: list[NoteEvent] = field(default_factory=list)

    def to_notes(self) -> Notes:
        """The sampler/synth input for this part (program/drum flags broadcast)."""
        n = len(self.notes)
        start = np.fromiter((e.start_s for e in self.notes), np.float64, n)
        duration = np.fromiter((e.duration_s for e in self.notes), np.float64, n)
        pitch = np.fromiter((e.pitch for e in self.notes), np.float64, n)
        velocity = np.fromiter((e.velocity for e in self.notes), np.float64, n)
        return Notes(start, duration, pitch, velocity, program=self.program, is_drum=self.is_drum, pan=self.pan)


@dataclass
class Section:
    name: str  # intro, verse, chorus, bridge, build, drop, breakdown, outro
    label: str  # "Verse 1", "Chorus 2"
    start_bar: int
    bars: int
    start_s: float
    end_s: float
    energy: float  # 0..1, the arc across the song


@dataclass
class Chord:
    start_s: float
    duration_s: float
    beat: float
    bar: int
    symbol: str  # "Am7", "Fmaj7", "G"
    roman: str  # "vi7"
    root_pitch_class: int
    pitch_classes: tuple[int, ...]  # root, third, fifth, then extensions

    @property
    def triad_pitch_classes(self) -> tuple[int, ...]:
        return tuple(self.pitch_classes[:3])


@dataclass
class Syllable:
    text: str  # as sung, e.g. "mel", "o", "dy"
    start_s: float
    end_s: float
    pitch: int


@dataclass
class LyricLine:
    section: str  # "Verse 1"
    text: str
    start_s: float
    end_s: float
    syllables: list[Syllable] = field(default_factory=list)


@dataclass
class Score:
    spec: ResolvedSpec
    tempo_bpm: float
    beats_per_bar: int
    beat_unit: int  # time-signature denominator
    swing: float
    sections: list[Section]
    chords: list[Chord]
    parts: list[Part]
    lyrics: list[LyricLine] = field(default_factory=list)
    tail_s: float = 2.0  # release/reverb tail after the last bar

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.tempo_bpm

    @property
    def bars(self) -> int:
        return sum(section.bars for section in self.sections)

    @property
    def music_end_s(self) -> float:
        """End of the last bar."""
        return self.sections[-1].end_s if self.sections else 0.0

    @property
    def total_s(self) -> float:
        """Length of the rendered audio: the bars plus the tail."""
        return self.music_end_s + self.tail_s

    def parts_in(self, stem: str) -> list[Part]:
        return [part for part in self.parts if part.stem == stem]

    @property
    def stems(self) -> list[str]:
        """Stems that have at least one note, in `STEMS` order."""
        used = {part.stem for part in self.parts if part.notes}
        return [stem for stem in STEMS if stem in used]

    def section_at(self, time_s: float) -> Section | None:
        for section in self.sections:
            if section.start_s <= time_s < section.end_s:
                return section
        return None

    # -- persistence (the library keeps the score beside the audio so a track can be extended) --

    SCHEMA_VERSION = 1

    def to_dict(self) -> dict:
        """Plain JSON-ready data; `Score.from_dict(score.to_dict())` gives an equal score."""
        data = {k: v for k, v in asdict(self).items() if k != "spec"}
        data["spec"] = self.spec.model_dump(mode="json")
        data["schema_version"] = self.SCHEMA_VERSION
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Score":
        version = data.get("schema_version")
        if version != cls.SCHEMA_VERSION:
            raise ValueError(f"score schema version {version!r} is not supported (expected {cls.SCHEMA_VERSION})")
        return cls(
            spec=ResolvedSpec.model_validate(data["spec"]),
            tempo_bpm=float(data["tempo_bpm"]), beats_per_bar=int(data["beats_per_bar"]),
            beat_unit=int(data["beat_unit"]), swing=float(data["swing"]),
            sections=[Section(**s) for s in data["sections"]],
            chords=[Chord(**{**c, "pitch_classes": tuple(c["pitch_classes"])}) for c in data["chords"]],
            parts=[Part(**{**p, "notes": [NoteEvent(**e) for e in p["notes"]]}) for p in data["parts"]],
            lyrics=[LyricLine(**{**line, "syllables": [Syllable(**s) for s in line["syllables"]]})
                    for line in data["lyrics"]],
            tail_s=float(data["tail_s"]),
        )
