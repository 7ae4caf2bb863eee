"""The musical knowledge the composer reads: style presets, drum grooves and moods (resources/music)."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
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
    form: list[str]
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


def _load(name: str) -> dict:
    with open(MUSIC_DIR / name, "rb") as fh:
        return tomllib.load(fh)


@lru_cache(maxsize=1)
def styles() -> dict[str, Style]:
    return {key: Style(id=key, **value) for key, value in _load("styles.toml").items()}


def vocals_verb(style_id: str | None) -> str:
    """How a singer voices this style's lyrics, for messages: "rapped" or "sung"."""
    style = styles().get(style_id or "")
    return "rapped" if style is not None and style.vocal_delivery == "rap" else "sung"


@lru_cache(maxsize=1)
def grooves() -> dict[str, Groove]:
    return {key: Groove(id=key, **value) for key, value in _load("grooves.toml").items()}


@lru_cache(maxsize=1)
def moods() -> dict[str, Mood]:
    return {key: Mood(id=key, **value) for key, value in _load("moods.toml").items()}


def find_style(name: str) -> Style | None:
    """A style by id, display name or keyword ("lo-fi hip hop", "lofi_hip_hop", "Lo-fi hip hop")."""
    wanted = _normalise(name)
    for style in styles().values():
        if wanted in (_normalise(style.id), _normalise(style.name)) or wanted in map(_normalise, style.keywords):
            return style
    return None


def _normalise(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())
