"""The musical knowledge the composer reads (resources/music): style presets, drum grooves,
moods, named instruments and the bass and harmony patterns. Each file is checked when it is
loaded; a wrong entry raises `DataFileError` naming the file, the entry and what is wrong."""

from __future__ import annotations

from functools import lru_cache
from numbers import Real
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from studio.engine.datafiles import DataFileError, load_toml, validated
from studio.resources import resource_path

MUSIC_DIR = resource_path("music")

GROOVE_VOICES = ("kick", "snare", "clap", "rim", "hat_closed", "hat_pedal", "hat_open", "ride", "crash",
                 "tom_low", "tom_mid", "tom_high", "shaker", "tambourine", "cowbell")


class InstrumentChoice(BaseModel):
    """One stem's sound: a General MIDI program of the SoundFont, or a synth patch."""

    model_config = ConfigDict(extra="forbid")
    source: Literal["sf2", "synth"]
    program: int | None = Field(default=None, ge=0, le=127)
    patch: str | None = None
    label: str | None = None
    pattern: str | None = None  # bass / harmony pattern family
    density: float | None = Field(default=None, ge=0, le=1)  # melody notes per beat, roughly
    pitch_range: tuple[int, int] | None = None  # MIDI notes the melody stays within
    scale: str | None = None  # e.g. "blues" for the melody's scale

    @model_validator(mode="after")
    def _sound_is_named(self) -> "InstrumentChoice":
        if self.source == "sf2" and self.program is None:
            raise ValueError("an sf2 instrument needs a General MIDI `program`")
        if self.source == "synth" and not self.patch:
            raise ValueError("a synth instrument needs a `patch`")
        return self


class Effects(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reverb: float = Field(ge=0, le=1)
    delay: float = Field(ge=0, le=1)
    lofi: bool = False
    vinyl: bool = False
    wow: bool = False
    sidechain: bool = False
    saturation: float = Field(default=0.0, ge=0, le=1)
    width: float = Field(default=1.0, ge=0, le=2)
    lowpass_hz: float | None = None
    amp_drive_db: float = Field(default=0.0, ge=0, le=48)  # > 0: electric guitar parts through a guitar amp


class Style(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    genre: str
    keywords: list[str]
    tempo_bpm: tuple[float, float, float]  # min, default, max
    half_time: bool = False
    meter: tuple[int, int]
    swing: float = Field(ge=0, le=0.34)
    modes: list[str]
    default_key: str
    progressions: dict[str, list[list[str]]]
    harmonic_rhythm_beats: int = Field(ge=1)
    groove: str
    fill_every_bars: int = Field(ge=0)
    hat_rolls: bool = False
    kit: Literal["sf2", "synth", "none"]
    drums_level: float = Field(default=1.0, ge=0, le=1)
    vocal_delivery: Literal["sung", "rap"] = "sung"  # how a singer voices the lyrics (studio/engine/instruments/singing.py)
    bass: InstrumentChoice
    harmony: InstrumentChoice
    melody: InstrumentChoice
    pad: InstrumentChoice | None = None
    fx: Effects
    form_family: str = "song"  # resources/music/forms.toml: section orders and arrangement
    energy: float = Field(ge=0, le=1)
    textures: list[str] = []

    @property
    def tempo_min(self) -> float:
        return self.tempo_bpm[0]

    @property
    def tempo_default(self) -> float:
        return self.tempo_bpm[1]

    @property
    def tempo_max(self) -> float:
        return self.tempo_bpm[2]

    @property
    def form(self) -> list[str]:
        """The family's longest section order (what a full-length song of this style runs through)."""
        return list(form_families()[self.form_family].forms[-1])


class Groove(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    steps: int

    def voices(self) -> dict[str, str]:
        return {k: v for k, v in (self.model_extra or {}).items() if k in GROOVE_VOICES}


class Mood(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    keywords: list[str]
    valence: float = Field(ge=-1, le=1)
    energy: float = Field(ge=0, le=1)
    tempo_factor: float = Field(gt=0.5, lt=1.5)
    prefer_mode: Literal["major", "minor"]


def _entries(name: str, model: type[BaseModel]) -> dict:
    path = MUSIC_DIR / name
    return {key: validated(model, path, key, {"id": key, **value} if isinstance(value, dict) else value)
            for key, value in load_toml(path).items()}


@lru_cache(maxsize=1)
def styles() -> dict[str, Style]:
    entries = _entries("styles.toml", Style)
    families = form_families()
    for key, style in entries.items():
        if style.form_family not in families:
            raise DataFileError(MUSIC_DIR / "styles.toml", key, f"form_family {style.form_family!r} is not a family of "
                                f"forms.toml ({', '.join(sorted(families))})")
    return entries


# -- song forms and arrangement (forms.toml) --

SECTION_KINDS = ("intro", "verse", "pre-chorus", "chorus", "bridge", "build", "drop", "breakdown", "outro")


class Layers(BaseModel):
    """What plays in one section kind (see forms.toml)."""

    model_config = ConfigDict(extra="forbid")
    drums: Literal["off", "sparse", "half", "full", "busy", "build"] = "full"
    bass: Literal["off", "roots", "full"] = "full"
    harmony: Literal["off", "sustain", "full"] = "full"
    pad: bool = True
    melody: bool = True
    lift: bool = False


def _check_kinds(arrangement: dict[str, Layers]) -> dict[str, Layers]:
    for name in arrangement:
        kind = name[:-2] if name.endswith(" 1") else name
        if kind not in SECTION_KINDS:
            raise ValueError(f"arrangement {name!r}: not a section kind ({', '.join(SECTION_KINDS)}, or '<kind> 1')")
    return arrangement


class FormFamily(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    forms: list[list[Literal[SECTION_KINDS]]] = Field(min_length=1)  # shortest to longest
    arrangement: dict[str, Layers] = {}

    @model_validator(mode="after")
    def _valid(self) -> "FormFamily":
        _check_kinds(self.arrangement)
        for form in self.forms:
            hooks = [i for i, k in enumerate(form) if k in ("chorus", "drop")]
            early = [k for k in form[: hooks[0]] if k in ("bridge", "breakdown")] if hooks else []
            if not hooks:
                raise ValueError(f"form {form}: needs a chorus or a drop")
            if early:
                raise ValueError(f"form {form}: a {early[0]} comes before the first {form[hooks[0]]}")
        return self


class _Arrangement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entries: dict[str, Layers]

    @model_validator(mode="after")
    def _valid(self) -> "_Arrangement":
        _check_kinds(self.entries)
        return self


class _BridgeProgressions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    major: list[list[str]] = Field(min_length=1)
    minor: list[list[str]] = Field(min_length=1)


@lru_cache(maxsize=1)
def form_families() -> dict[str, FormFamily]:
    return _forms_file()[0]


@lru_cache(maxsize=1)
def _forms_file() -> tuple[dict[str, FormFamily], dict[str, Layers], dict[str, list[list[str]]]]:
    path = MUSIC_DIR / "forms.toml"
    data = load_toml(path)
    for table in ("arrangement", "families", "bridge_progressions"):
        if not isinstance(data.get(table), dict):
            raise DataFileError(path, table, "is missing: the file needs [arrangement.<kind>], [families.<id>] "
                                             "and [bridge_progressions]")
    default = validated(_Arrangement, path, "arrangement", {"entries": data["arrangement"]}).entries
    families = {key: validated(FormFamily, path, f"families.{key}", {"id": key, **value})
                for key, value in data["families"].items()}
    bridges = validated(_BridgeProgressions, path, "bridge_progressions", data["bridge_progressions"]).model_dump()
    return families, default, bridges


def section_layers(family: str, kind: str, first: bool) -> Layers:
    """What plays in a section of `kind` (the first of its kind when `first`) in a `family` song."""
    families, default, _ = _forms_file()
    own = families[family].arrangement
    for table in (own, default):
        if first and f"{kind} 1" in table:
            return table[f"{kind} 1"]
        if kind in table:
            return table[kind]
    return Layers()


def bridge_progressions(mode: str) -> list[list[str]]:
    return _forms_file()[2]["minor" if mode == "minor" else "major"]


def vocals_verb(style_id: str | None) -> str:
    """How a singer voices this style's lyrics, for messages: "rapped" or "sung"."""
    style = styles().get(style_id or "")
    return "rapped" if style is not None and style.vocal_delivery == "rap" else "sung"


@lru_cache(maxsize=1)
def grooves() -> dict[str, Groove]:
    return _entries("grooves.toml", Groove)


@lru_cache(maxsize=1)
def moods() -> dict[str, Mood]:
    return _entries("moods.toml", Mood)


# -- named instruments (instruments.toml) --

ROLES = ("harmony", "pad", "melody", "bass")


class NamedInstrument(InstrumentChoice):
    role: Literal["harmony", "pad", "melody", "bass"]


@lru_cache(maxsize=1)
def instrument_roles() -> dict[str, tuple[str, InstrumentChoice]]:
    """Instrument word -> (the part it plays, how it sounds), in the file's order."""
    path = MUSIC_DIR / "instruments.toml"
    out = {}
    for name, value in load_toml(path).items():
        entry = validated(NamedInstrument, path, name, value)
        out[name] = (entry.role, InstrumentChoice(**entry.model_dump(exclude={"role"}, exclude_unset=True)))
    return out


# -- what prompt words mean (prompt_words.toml) --

class TempoWords(BaseModel):
    model_config = ConfigDict(extra="forbid")
    factor: float = Field(gt=0.5, lt=2.0)
    words: list[str] = Field(min_length=1)


class PromptWords(BaseModel):
    """Word -> instrument (in the file's order), tempo-bending words, vocal words, complexity words."""

    model_config = ConfigDict(extra="forbid")
    instruments: dict[str, str]
    named_only: list[str]
    slower: TempoWords
    faster: TempoWords
    vocals: list[str] = Field(min_length=1)
    complexity: dict[str, float]


@lru_cache(maxsize=1)
def prompt_words() -> PromptWords:
    path = MUSIC_DIR / "prompt_words.toml"
    data = load_toml(path)
    for table in ("instruments", "named_only", "tempo", "vocals", "complexity"):
        if not isinstance(data.get(table), dict):
            raise DataFileError(path, table, "is missing: the file needs [instruments], [named_only], "
                                             "[tempo.slower], [tempo.faster], [vocals] and [complexity]")
    tempo = data["tempo"]
    for entry in ("slower", "faster"):
        if entry not in tempo:
            raise DataFileError(path, f"tempo.{entry}", "is missing")
    words = PromptWords(
        instruments=validated(_WordMap, path, "instruments", {"entries": data["instruments"]}).entries,
        named_only=validated(_NameList, path, "named_only", data["named_only"]).instruments,
        slower=validated(TempoWords, path, "tempo.slower", tempo["slower"]),
        faster=validated(TempoWords, path, "tempo.faster", tempo["faster"]),
        vocals=validated(_WordList, path, "vocals", data["vocals"]).words,
        complexity=validated(_Complexity, path, "complexity", {"entries": data["complexity"]}).entries,
    )
    known = set(instrument_roles()) | set(words.named_only)
    for word, instrument in words.instruments.items():
        if instrument not in known:
            raise DataFileError(path, f"instruments.{word}", f"names {instrument!r}, which is neither in "
                                f"instruments.toml nor in [named_only]")
    return words


class _WordMap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entries: dict[str, str] = Field(min_length=1)


class _NameList(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instruments: list[str]


class _WordList(BaseModel):
    model_config = ConfigDict(extra="forbid")
    words: list[str] = Field(min_length=1)


class _Complexity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entries: dict[str, float] = Field(min_length=1)

    @model_validator(mode="after")
    def _in_range(self):
        for word, value in self.entries.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{word} = {value:g}: a complexity is between 0 and 1")
        return self


# -- bass and harmony patterns (patterns.toml) --

BASS_TONES = ("R", "5", "8", "3", "6", "b7", "A")  # root, fifth, octave, third, sixth, flat 7th, approach
HARMONY_KINDS = ("chord", "roll", "down", "up", "arp", "power")
DEFAULT_BASS_PATTERN = "sustained_roots"
DEFAULT_HARMONY_PATTERN = "block_chords"
Step = tuple[float, float, str]  # beat offset in the bar, length in beats, what to play


@lru_cache(maxsize=1)
def patterns() -> dict[str, dict[str, list[Step]]]:
    """{"bass": {family: steps}, "harmony": {family: steps}}; offsets keep the type they are
    written with (a whole number stays an int), as the composer's beats always have."""
    path = MUSIC_DIR / "patterns.toml"
    data = load_toml(path)
    out: dict[str, dict[str, list[Step]]] = {}
    for part, allowed, default in (("bass", BASS_TONES, DEFAULT_BASS_PATTERN),
                                   ("harmony", HARMONY_KINDS, DEFAULT_HARMONY_PATTERN)):
        families = data.get(part)
        if not isinstance(families, dict):
            raise DataFileError(path, part, "is missing: the file needs a [bass] and a [harmony] table")
        out[part] = {name: _steps(path, f"{part}.{name}", steps, allowed) for name, steps in families.items()}
        if default not in out[part]:
            raise DataFileError(path, part, f"needs the family {default!r}, the fallback for unknown names")
    unknown = set(data) - {"bass", "harmony"}
    if unknown:
        raise DataFileError(path, sorted(unknown)[0], "is not a part: the file has [bass] and [harmony] tables only")
    return out


def _steps(path: Path, entry: str, steps, allowed: tuple[str, ...]) -> list[Step]:
    if not isinstance(steps, list) or not steps:
        raise DataFileError(path, entry, "must be a non-empty list of steps [offset, length, what]")
    out = []
    for n, step in enumerate(steps, 1):
        if not (isinstance(step, list) and len(step) == 3):
            raise DataFileError(path, entry, f"step {n}: {step!r} is not [offset in beats, length in beats, what]")
        offset, length, what = step
        for label, value in (("offset", offset), ("length", length)):
            if not isinstance(value, Real) or isinstance(value, bool):
                raise DataFileError(path, entry, f"step {n}: {label} {value!r} is not a number of beats")
        if not 0 <= offset < 16:
            raise DataFileError(path, entry, f"step {n}: offset {offset!r} lies outside the bar (0 to 16 beats)")
        if length <= 0:
            raise DataFileError(path, entry, f"step {n}: length {length!r} must be above 0")
        if what not in allowed:
            raise DataFileError(path, entry, f"step {n}: {what!r} is not one of {', '.join(allowed)}")
        out.append((offset, length, what))
    return out


def find_style(name: str) -> Style | None:
    """A style by id, display name or keyword ("lo-fi hip hop", "lofi_hip_hop", "Lo-fi hip hop")."""
    wanted = _normalise(name)
    for style in styles().values():
        if wanted in (_normalise(style.id), _normalise(style.name)) or wanted in map(_normalise, style.keywords):
            return style
    return None


def _normalise(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())
