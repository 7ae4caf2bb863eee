"""What to generate: the request (`GenerationSpec`) and what the engine understood (`ResolvedSpec`).

A spec takes the fields of seed 000 (prompt, style, duration, lyrics, instrumental, tags) and of
seed 001 (genre, subgenre, mood, tempo, key, lyrics options, primary_instruments, complexity,
creativity, output_formats, audio_quality) plus `seed`. `resolve_spec` fills whatever the fields
leave open from the prompt's words and the style preset; explicit fields always win, and
`ResolvedSpec.sources` says where each value came from.
"""

from __future__ import annotations

import re
import secrets
from typing import Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from studio.engine.composition import singers as singer_rules
from studio.engine.composition.singers import SingerCandidate
from studio.engine.composition.styles import Style, find_style, moods, prompt_words, styles

NOTE_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
KEY_PATTERN = re.compile(r"^([A-Ga-g])([#b]?)[_ ]?(major|minor|maj|min|m)?$")
# What a generation can export: audio formats, MIDI, per-stem WAVs, lyrics (both files, or one of
# "lrc"/"lyrics_json") and the chord chart. "mid" is accepted for "midi".
OUTPUT_FORMATS = ("wav", "mp3", "flac", "ogg", "midi", "stems", "lyrics", "lrc", "lyrics_json", "chords")
FORMAT_ALIASES = {"mid": "midi"}
MAX_DURATION_S = 600.0  # the longest track the engine renders, an extension included


def normalise_formats(formats) -> list[str]:
    """Lower-case, aliases resolved, duplicates dropped; ValueError naming the allowed formats."""
    out: list[str] = []
    unknown: list[str] = []
    for fmt in formats:
        name = FORMAT_ALIASES.get(str(fmt).strip().lower(), str(fmt).strip().lower())
        if name in OUTPUT_FORMATS:
            if name not in out:
                out.append(name)
        else:
            unknown.append(str(fmt))
    if unknown:
        raise ValueError(f"unknown output format(s) {', '.join(map(repr, unknown))}; "
                         f"allowed: {', '.join(OUTPUT_FORMATS)} (or 'mid')")
    return out
# audio_quality -> (sample rate Hz, WAV bit depth)
AUDIO_QUALITY = {"draft": (22050, 16), "standard": (44100, 16), "high": (44100, 24)}


class LyricsOptions(BaseModel):
    """Lyrics of a sung track: written from a theme, or the given `text` used as-is."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    theme: str | None = Field(default=None, max_length=200)
    language: Literal["en"] = "en"
    style: str | None = Field(default=None, max_length=100)
    text: str | None = Field(default=None, max_length=5000)


class SingerOptions(BaseModel):
    """Who sings the lyrics: the built-in voice reshaped (studio/engine/instruments/voice.py). A sung
    request without one gets one inferred (studio/engine/composition/singers.py)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="Studio voice", max_length=100)
    character_id: str | None = Field(default=None, max_length=64)
    voice_id: str | None = Field(default=None, max_length=64)
    # The base voice the transform reshapes: a built-in id (male "en_US-joe-medium", female
    # "hibari-heart") or, once the studio resolved it, an installed Piper voice's path.
    base_voice: str | None = Field(default=None, max_length=1000)
    pitch_semitones: float = Field(default=0.0, ge=-24, le=24)
    formant_shift: float = Field(default=1.0, ge=0.5, le=2.0)
    pitch_range: float = Field(default=1.0, ge=0.0, le=4.0)


class GenerationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    prompt: str | None = Field(default=None, max_length=1000, description="Free text; fills open fields.")
    style: str | None = Field(default=None, description="A style id, name or alias, e.g. 'lo-fi hip hop'.")
    genre: str | None = Field(default=None, max_length=60)
    subgenre: str | None = Field(default=None, max_length=60)
    mood: str | None = Field(default=None, description="One of the moods, e.g. calm, happy, energetic.")
    tempo_bpm: float | None = Field(default=None, ge=40, le=240, alias="tempo")
    key: str | None = Field(default=None, description="Like 'C_minor', 'F#_major' or 'Eb minor'.")
    duration_s: float = Field(default=60.0, ge=1.0, le=MAX_DURATION_S, alias="duration")
    instrumental: bool | None = None
    lyrics: LyricsOptions | None = None
    primary_instruments: list[str] = Field(default_factory=list, max_length=8)
    complexity: float | str = Field(default=0.5, description="0..1 or simple/low/medium/high/complex.")
    creativity: float = Field(default=0.5, ge=0.0, le=1.0)
    energy: float | None = Field(default=None, ge=0.0, le=1.0)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    tags: list[str] = Field(default_factory=list, max_length=20)
    output_formats: list[str] = Field(default_factory=lambda: ["wav", "mp3", "midi"])
    audio_quality: Literal["draft", "standard", "high"] = "high"
    singer: SingerOptions | Literal["instrument"] | None = Field(
        default=None, description="Sing the lyrics with this voice; \"instrument\": a lead instrument plays the "
                                  "vocal melody; none: inferred from the prompt or the style's default character.")

    @field_validator("style")
    @classmethod
    def _known_style(cls, value: str | None) -> str | None:
        if value is not None and find_style(value) is None:
            raise ValueError(f"unknown style {value!r}; allowed: {', '.join(sorted(styles()))}")
        return value

    @field_validator("mood")
    @classmethod
    def _known_mood(cls, value: str | None) -> str | None:
        if value is not None and value.lower() not in moods():
            raise ValueError(f"unknown mood {value!r}; allowed: {', '.join(sorted(moods()))}")
        return value.lower() if value else value

    @field_validator("key")
    @classmethod
    def _valid_key(cls, value: str | None) -> str | None:
        if value is not None:
            parse_key(value)  # raises ValueError naming the format
        return value

    @field_validator("complexity")
    @classmethod
    def _complexity(cls, value: float | str) -> float:
        if isinstance(value, str):
            words = prompt_words().complexity  # resources/music/prompt_words.toml
            if value.lower() not in words:
                raise ValueError(f"complexity must be 0..1 or one of: {', '.join(words)}")
            return words[value.lower()]
        if not 0.0 <= value <= 1.0:
            raise ValueError("complexity must be between 0 and 1")
        return float(value)

    @field_validator("output_formats")
    @classmethod
    def _formats(cls, value: list[str]) -> list[str]:
        return normalise_formats(value) or ["wav"]


def parse_key(text: str) -> tuple[int, str]:
    """'C_minor' / 'F#_major' / 'Eb minor' / 'Am' -> (pitch class 0-11, 'major'|'minor')."""
    match = KEY_PATTERN.match(text.strip())
    if not match:
        raise ValueError(f"key {text!r} is not like 'C_minor', 'F#_major' or 'Eb_minor'")
    letter, accidental, mode = match.groups()
    pitch_class = (_PITCH_CLASS[letter.upper()] + {"#": 1, "b": -1, "": 0}[accidental]) % 12
    return pitch_class, "minor" if (mode or "major").lower() in ("minor", "min", "m") else "major"


def key_name(pitch_class: int, mode: str) -> str:
    return f"{NOTE_NAMES[pitch_class % 12]}_{mode}"


def relative_key(key: str) -> str:
    """The relative major of a minor key and the relative minor of a major one (the same notes):
    "D_minor" -> "F_major", "C_major" -> "A_minor". ValueError when `key` is not a key."""
    tonic, mode = parse_key(key)
    return key_name((tonic + 3) % 12, "major") if mode == "minor" else key_name((tonic + 9) % 12, "minor")


class ResolvedSpec(BaseModel):
    """Every value the engine needs, decided; `sources` says where each came from."""

    style: str
    style_name: str
    genre: str
    mood: str
    tempo_bpm: float
    key: str
    tonic_pitch_class: int
    mode: Literal["major", "minor"]
    duration_s: float
    instrumental: bool
    lyrics: LyricsOptions | None
    instruments: list[str]
    textures: list[str]
    complexity: float
    creativity: float
    energy: float
    seed: int
    tags: list[str]
    output_formats: list[str]
    sample_rate_hz: int
    bit_depth: int
    title: str
    sources: dict[str, str]
    singer: SingerOptions | None = None  # None: no vocals, or a lead instrument plays the vocal melody


def _find_words(prompt: str, words) -> list[str]:
    text = f" {prompt.lower()} "
    # A word matches whole, plural included ("808s", "pads").
    return [w for w in words if re.search(rf"(?<![a-z0-9]){re.escape(w)}s?(?![a-z0-9])", text)]


def _word_position(prompt: str, word: str) -> int:
    match = re.search(rf"(?<![a-z0-9]){re.escape(word)}", prompt.lower())
    return match.start() if match else len(prompt)


def _infer_style(text: str) -> tuple[Style | None, str | None]:
    """The style whose longest keyword appears in the text ("lo-fi hip hop" beats "hip hop")."""
    best: tuple[int, Style, str] | None = None
    for style in styles().values():
        for word in _find_words(text, [*style.keywords, style.name.lower()]):
            if best is None or len(word) > best[0]:
                best = (len(word), style, word)
    return (best[1], best[2]) if best else (None, None)


def gm_instrument_name(program: int) -> str:
    """General MIDI name of a (0-based) program, e.g. 33 -> "Electric Bass (finger)"."""
    from pretty_midi import program_to_instrument_name  # the GM table pretty_midi ships

    return program_to_instrument_name(int(program))


def _verb(style: Style) -> str:
    return " raps" if style.vocal_delivery == "rap" else " sings"


def resolve_spec(spec: GenerationSpec, singers: Sequence[SingerCandidate] | None = None) -> ResolvedSpec:
    """`spec` with every open value decided. `singers`: the characters a sung track may be sung by
    when the request names none (the voices service's); None: the studio's default characters."""
    prompt = spec.prompt or ""
    sources: dict[str, str] = {}

    # Style: explicit style > subgenre > genre > prompt words > pop.
    style = None
    for field, value in (("style", spec.style), ("subgenre", spec.subgenre), ("genre", spec.genre)):
        if value:
            style = find_style(value) or _infer_style(value)[0]
            if style:
                sources["style"] = f"{field} {value!r}"
                break
    if style is None and prompt:
        style, word = _infer_style(prompt)
        if style:
            sources["style"] = f"prompt word {word!r}"
    if style is None:
        style = styles()["pop"]
        sources["style"] = "default (nothing in the request named a style)"

    # Mood: explicit > prompt words (most matches) > nearest to the style's energy.
    if spec.mood:
        mood, sources["mood"] = moods()[spec.mood], "explicit"
    else:
        # Most keyword matches wins; on a tie, the mood named first ("sad song about rain": sad).
        ranked = []
        for m in moods().values() if prompt else ():
            found = _find_words(prompt, m.keywords)
            if found:
                first = min(_word_position(prompt, w) for w in found)
                ranked.append((-len(found), first, m.id))
        if ranked:
            mood = moods()[min(ranked)[2]]
            sources["mood"] = f"prompt words {_find_words(prompt, mood.keywords)}"
        else:
            mood = min(moods().values(), key=lambda m: abs(m.energy - style.energy))
            sources["mood"] = "style default"

    # Key: explicit > "in A minor" in the prompt > the style's key, turned to the mood's mode.
    key_match = re.search(r"\b(?:in\s+)?([A-G][#b]?)\s*(major|minor)\b", prompt)
    if spec.key:
        tonic, mode = parse_key(spec.key)
        sources["key"] = "explicit"
    elif key_match:
        tonic, mode = parse_key(f"{key_match.group(1)}_{key_match.group(2)}")
        sources["key"] = f"prompt {key_match.group(0)!r}"
    else:
        tonic, mode = parse_key(style.default_key)
        sources["key"] = "style default"
        if mood.prefer_mode != mode and mood.prefer_mode in style.modes:
            tonic = (tonic + (9 if mode == "major" else 3)) % 12  # the relative key keeps the notes
            mode = mood.prefer_mode
            sources["key"] = f"style default, relative {mode} for mood {mood.id}"

    # Tempo: explicit > "92 bpm" in the prompt > style default bent by the mood and tempo words.
    bpm_match = re.search(r"(\d{2,3})\s*bpm", prompt.lower())
    if spec.tempo_bpm is not None:
        tempo, sources["tempo_bpm"] = float(spec.tempo_bpm), "explicit"
    elif bpm_match and 40 <= int(bpm_match.group(1)) <= 240:
        tempo, sources["tempo_bpm"] = float(bpm_match.group(1)), f"prompt {bpm_match.group(0)!r}"
    else:
        factor = mood.tempo_factor
        words = prompt_words()
        if _find_words(prompt, words.slower.words):
            factor *= words.slower.factor
        if _find_words(prompt, words.faster.words):
            factor *= words.faster.factor
        tempo = round(min(style.tempo_max, max(style.tempo_min, style.tempo_default * factor)))
        sources["tempo_bpm"] = f"style {style.tempo_min:.0f}-{style.tempo_max:.0f} BPM, mood {mood.id}"

    # Duration: explicit field > "2 minutes" / "90 seconds" in the prompt > 60 s.
    duration = spec.duration_s
    sources["duration_s"] = "explicit" if "duration_s" in spec.model_fields_set else "default"
    if "duration_s" not in spec.model_fields_set:
        dur_match = re.search(r"(\d+(?:\.\d+)?)\s*(minutes?|mins?|seconds?|secs?|s)\b", prompt.lower())
        if dur_match:
            value = float(dur_match.group(1)) * (60 if dur_match.group(2).startswith("m") else 1)
            if 1 <= value <= MAX_DURATION_S:
                duration, sources["duration_s"] = value, f"prompt {dur_match.group(0)!r}"

    # Lyrics and instrumental: explicit > lyrics > a named singer > "instrumental" words > vocal words.
    lyrics = spec.lyrics if spec.lyrics and spec.lyrics.enabled else None
    named = spec.singer if isinstance(spec.singer, SingerOptions) else None
    if spec.instrumental is not None:
        instrumental, sources["instrumental"] = spec.instrumental, "explicit"
    elif lyrics is not None:
        instrumental, sources["instrumental"] = False, "lyrics requested"
    elif named is not None:
        instrumental, sources["instrumental"] = False, f"sung by {named.name}"
        lyrics = LyricsOptions(enabled=True, theme=(prompt or style.name)[:200])
    elif why := singer_rules.asks_for_instrumental(prompt):
        instrumental, sources["instrumental"] = True, why
    elif why := singer_rules.asks_for_vocals(prompt):
        instrumental, sources["instrumental"] = False, why
        lyrics = LyricsOptions(enabled=True, theme=prompt[:200])
    else:
        instrumental, sources["instrumental"] = True, "default (no lyrics requested)"
    if instrumental:
        lyrics = None
    # Who sings: the named singer > the lead instrument asked for > inferred (singers.py).
    singer: SingerOptions | None = None
    if instrumental:
        sources["singer"] = "no vocals (instrumental)"
    elif named is not None:
        singer = named
        how = f"character_id {named.character_id!r}" if named.character_id else (
            f"voice {named.voice_id!r}" if named.voice_id else "singer")
        sources["singer"] = f"explicit {how} -> {named.name}"
    elif spec.singer == singer_rules.LEAD_INSTRUMENT:
        sources["singer"] = "explicit: a lead instrument plays the vocal melody"
    else:
        singer, sources["singer"] = singer_rules.choose_singer(prompt, style, singers)
    if singer is not None:
        sources["singer"] += _verb(style)

    instruments = list(dict.fromkeys(spec.primary_instruments))
    if instruments:
        sources["instruments"] = "explicit"
    else:
        named = prompt_words().instruments
        instruments = list(dict.fromkeys(named[w] for w in _find_words(prompt, named)))
        sources["instruments"] = "prompt words" if instruments else "style defaults"
    if not instruments:  # say what the style will play
        choices = [style.harmony, style.melody, style.bass] + ([style.pad] if style.pad else [])
        instruments = list(dict.fromkeys(c.label or c.patch or gm_instrument_name(c.program) for c in choices))

    energy = spec.energy if spec.energy is not None else round(0.5 * style.energy + 0.5 * mood.energy, 2)
    sources["energy"] = "explicit" if spec.energy is not None else "style and mood"
    seed = spec.seed if spec.seed is not None else secrets.randbelow(2**31)
    sources["seed"] = "explicit" if spec.seed is not None else "random (set one to repeat this track)"
    sample_rate_hz, bit_depth = AUDIO_QUALITY[spec.audio_quality]
    title = (spec.prompt or f"{mood.id.title()} {style.name}").strip()[:80]

    return ResolvedSpec(
        style=style.id, style_name=style.name, genre=style.genre, mood=mood.id, tempo_bpm=float(tempo),
        key=key_name(tonic, mode), tonic_pitch_class=tonic, mode=mode, duration_s=float(duration),
        instrumental=instrumental, lyrics=lyrics, instruments=instruments, textures=style.textures, complexity=float(spec.complexity),
        creativity=spec.creativity, energy=energy, seed=seed, tags=spec.tags, output_formats=spec.output_formats,
        sample_rate_hz=sample_rate_hz, bit_depth=bit_depth, title=title, sources=sources, singer=singer,
    )


def recast_singer(resolved: ResolvedSpec, singer: SingerOptions | Literal["instrument"], how: str) -> ResolvedSpec:
    """`resolved` voiced by another singer (or the lead instrument), `how` saying who asked, e.g.
    "--singer": an extension sung by someone else. ValueError for an instrumental (no lyrics to sing)."""
    if resolved.instrumental:
        raise ValueError("this track is instrumental: it has no vocal line to sing (generate it with vocals)")
    style = styles()[resolved.style]
    if isinstance(singer, SingerOptions):
        why = f"explicit {how} -> {singer.name}{_verb(style)}"
    else:
        singer, why = None, f"explicit {how}: a lead instrument plays the vocal melody"
    return resolved.model_copy(update={"singer": singer, "sources": {**resolved.sources, "singer": why}})
