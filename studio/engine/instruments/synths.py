"""Synthesised drums and synths, rendered in batches with torch.

`render_synth(instrument, notes)` turns `Notes` (the sampler's note arrays) into stereo audio
with a named patch (`list_patches()`) or a `SynthPatch` built by the caller. A patch is data:
one or more `Layer`s. Each layer is an oscillator bank (sine, triangle, saw, square, noise, or
a "metal" cluster of square waves) with stereo unison, an optional resonant filter with its
own envelope, an amplitude envelope, pitch modulation (pitch envelope, glides, vibrato) and
drive.

How it runs
-----------
As in the SoundFont sampler, every (voice, layer) is cut into *rows*: the parts of the voice
that fall into one output tile of `TILE_FRAMES` frames (a voice is rendered over its span
only, note plus release). Work happens at two rates, with Python loops over layers, batches
and blocks of rows only, never over samples or notes:

- per batch of rows (control rate): pitch, envelopes and filter cutoffs at the control points,
  the oscillator phases at each row's start, the filter coefficient tables of each row;
- per block of rows (audio rate): a block is a handful of large tensor ops into reusable work
  buffers (fresh multi-MB tensors per op cost more than the math on the CPU), and the finished
  block is added into the output in place: slices of consecutive tiles for each voice's run of
  rows, or one row-wise `index_add_` when a block holds many short voices.

State across the rows of a voice:

- the oscillator phase is in closed form. Between control points the phase step is linear, so
  the phase within a row is a fixed linear combination of the row's control points (one small
  GEMM for moving pitch, a multiply for a steady one), added to the phase at the row's start,
  which is a float64 prefix sum of exact row totals. No float32 error accumulates over long
  notes, and rows are independent;
- the DPW difference (see below) needs the parabola one frame before the row: each row simply
  computes one frame more;
- the filter's input and output history (see `_filter_block`) is chained with a scan.

A voice whose rows straddle two blocks or batches hands this state over in small per-voice
tensors, so the audio does not depend on the block size.

Chords: notes that start and end together with the same velocity (a pad's chord) are one voice
whose oscillator bank holds every chord tone (`_chord_groups`), so the filter and envelopes run
once per chord instead of once per note; a triad pad renders in about half the time.

Band-limited oscillators: DPW
-----------------------------
Saw and square waves use the second-order differentiated parabolic waveform (DPW, Välimäki
2005). The square of a naive saw is a parabola with no jump at the wrap; its first difference,
divided by the phase step, is a saw whose aliasing is about that of polyBLEP (both are second
order). DPW suits torch better than polyBLEP. It costs one square and one difference per
frame, where polyBLEP needs a masked piecewise polynomial around every wrap. The difference is
linear, so the detuned voices of a unison (and the two saws of a square) are summed first (one
GEMM over the components) and differentiated once; for a steady pitch the 1/step factor is a
per-voice constant, applied with the envelope after the (linear) filter. Sine is exact. The triangle is naive, because its harmonics fall by
12 dB/octave and the little that aliases sits far below them.

Control rate
------------
Envelopes and pitch curves are evaluated exactly every `CONTROL_STEP_FRAMES` frames and
interpolated linearly. The filter cutoff is held for one tile (128 frames, 2.9 ms at 44.1 kHz).

Determinism
-----------
Random start phases, noise offsets and the noise table come from numpy generators seeded with
`seed`, so they are identical on every device. On CPU `index_add_` adds in index order. On
CUDA it runs in torch's deterministic mode. The same input and seed give the same output on
the same device.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, fields
from functools import lru_cache
from typing import Callable

import numpy as np
import torch

from studio.engine.datafiles import DataFileError, load_toml
from studio.engine.dsp.effects import rbj_biquad
from studio.engine.instruments.sampler import Notes
from studio.engine.instruments.tiles import deterministic_on, host_empty, host_zeros
from studio.resources import resource_path

TILE_FRAMES = 128  # output tile = row length; also how long a filter cutoff is held
CONTROL_STEP_FRAMES = 16  # envelopes and pitch are exact every 16 frames, linear in between
FILTER_SUB_FRAMES = 16  # sub-blocks of the filter's closed form (see _filter_block)
SILENCE_DB = -80.0  # a voice ends once its envelope is 80 dB below full scale
NOISE_TABLE_FRAMES = 1 << 18  # 6 s of seeded noise at 44.1 kHz, read at random offsets
MAX_CUTOFF_RATIO = 0.45  # filter cutoffs are kept below 0.45 x the sample rate
MIN_CUTOFF_HZ = 20.0
CHOKE_MS = 5.0  # fade of a mono voice cut by the next one
DEFAULT_GLIDE_MS = 80.0  # slide time of a `Slides` entry with no glide_ms of its own
BURST_DECAY_DB = 40.0  # a clap burst falls 40 dB before the next one starts
METAL_RATIOS = (1.0, 1.4827, 1.8003, 2.5460, 2.6303, 3.8967)  # TR-808 cymbal oscillators (205.3 .. 800 Hz)
WAVEFORMS = ("sine", "triangle", "saw", "square", "noise", "metal")
FILTER_MODES = ("lowpass", "highpass", "bandpass")
_LN_1000 = math.log(1000.0)  # nepers in 60 dB
_SILENCE_NEPERS = -SILENCE_DB / 20.0 * math.log(10.0)


# -- patches: plain data --

@dataclass(frozen=True)
class Envelope:
    """Attack rises linearly. Decay and release are exponential (analog style): decay_ms is the
    time for the part above sustain_level to fall by 60 dB, release_ms the time for the level
    at note-off to fall by 60 dB. sustain_level is a linear amplitude, 0..1."""

    attack_ms: float = 2.0
    decay_ms: float = 300.0
    sustain_level: float = 1.0
    release_ms: float = 100.0


@dataclass(frozen=True)
class Filter:
    """Resonant 12 dB/octave filter (RBJ biquad) with a time-varying cutoff.

    cutoff = cutoff_frequency_hz x 2^((envelope_amount_semitones x envelope
             + key_tracking x (pitch - 60) + velocity_amount_semitones x velocity/127) / 12),
    clipped to 20 Hz .. 0.45 x sample rate. resonance 0..1 maps to Q 0.707..11.3.
    """

    mode: str = "lowpass"
    cutoff_frequency_hz: float = 2000.0
    resonance: float = 0.0
    envelope_amount_semitones: float = 0.0
    envelope: Envelope = Envelope(attack_ms=0.0, decay_ms=300.0, sustain_level=0.0, release_ms=300.0)
    key_tracking: float = 0.0
    velocity_amount_semitones: float = 0.0

    @property
    def q(self) -> float:
        return math.sqrt(0.5) * 16.0 ** min(max(self.resonance, 0.0), 1.0)


@dataclass(frozen=True)
class Layer:
    """One oscillator bank -> filter -> amplitude envelope -> drive.

    Pitch: root_pitch + key_tracking x (note pitch - root_pitch) + transpose_semitones, so
    drums (key_tracking 0) sound at root_pitch whatever key they are played on. voices > 1 is a
    unison spread over detune_cents (outermost voice to outermost voice) and panned across
    stereo_width. The pitch envelope adds pitch_env_semitones at note-on and falls 60 dB in
    pitch_env_decay_ms. Vibrato fades in over vibrato_delay_ms. drive > 0 saturates
    (tanh(drive x) / tanh(drive)). bursts > 1 retriggers the start bursts - 1 times,
    burst_spacing_ms apart (hand claps), before the main envelope.
    """

    waveform: str = "saw"
    level: float = 1.0
    voices: int = 1
    detune_cents: float = 0.0
    stereo_width: float = 0.0
    pulse_width: float = 0.5
    transpose_semitones: float = 0.0
    key_tracking: float = 1.0
    root_pitch: float = 60.0
    pitch_env_semitones: float = 0.0
    pitch_env_decay_ms: float = 50.0
    vibrato_rate_hz: float = 0.0
    vibrato_depth_cents: float = 0.0
    vibrato_delay_ms: float = 0.0
    random_phase: bool = True
    amp: Envelope = Envelope()
    filter: Filter | None = None
    drive: float = 0.0
    bursts: int = 1
    burst_spacing_ms: float = 10.0

    def __post_init__(self) -> None:
        if self.waveform not in WAVEFORMS:
            raise ValueError(f"unknown waveform {self.waveform!r}; expected one of {WAVEFORMS}")
        if self.filter is not None and self.filter.mode not in FILTER_MODES:
            raise ValueError(f"unknown filter mode {self.filter.mode!r}; expected one of {FILTER_MODES}")
        if self.voices < 1 or self.bursts < 1:
            raise ValueError("voices and bursts must be at least 1")


@dataclass(frozen=True)
class SynthPatch:
    """A named instrument. one_shot patches ignore note-off and ring out with their decay
    (drums). mono patches play one voice: overlapping notes are joined legato, and the pitch
    glides to each new note over glide_ms (808 slides), while a new note after a gap cuts the
    previous voice. A mono one-shot retriggers on every note, cutting the previous hit (a drum
    machine's kick). Velocity scales the level by (velocity / 127) ^ velocity_exponent."""

    name: str
    category: str  # "drums", "bass", "lead", "pad", "pluck", "keys", "fx"
    layers: tuple[Layer, ...]
    description: str = ""
    styles: tuple[str, ...] = ()
    gain_db: float = 0.0
    pan: float = 0.0
    one_shot: bool = False
    mono: bool = False
    glide_ms: float = 0.0
    velocity_exponent: float = 1.0

    def __post_init__(self) -> None:
        if self.one_shot and any(layer.amp.sustain_level > 0 for layer in self.layers):
            raise ValueError(f"one-shot patch {self.name!r} needs sustain_level 0 on every layer")


@dataclass
class Slides:
    """Per-note pitch slides for `render_synth`, arrays aligned with the Notes (scalars broadcast).

    Note i glides to target_pitch[i] (MIDI, NaN = no slide), starting start_offset_s[i] after
    its note-on and taking glide_ms[i] (NaN = the patch's glide_ms, or DEFAULT_GLIDE_MS).
    """

    target_pitch: np.ndarray
    start_offset_s: np.ndarray | float = 0.0
    glide_ms: np.ndarray | float = math.nan


def _hz_to_pitch(hz: float) -> float:
    return 69.0 + 12.0 * math.log2(hz / 440.0)


# -- the named patches: resources/music/patches.toml --

PATCHES_FILE = resource_path("music", "patches.toml")
_NESTED = {"amp": Envelope, "envelope": Envelope, "filter": Filter}


def _from_data(cls, data, path, entry: str):
    """A patch dataclass (`SynthPatch`, `Layer`, `Filter`, `Envelope`) from its TOML table,
    every field checked against the dataclass's type; a DataFileError naming the entry else."""
    if not isinstance(data, dict):
        raise DataFileError(path, entry, f"must be a table, not {type(data).__name__}")
    data = dict(data)
    if cls is Layer and "root_hz" in data:  # drums are tuned in Hz more naturally than in MIDI pitch
        if "root_pitch" in data:
            raise DataFileError(path, entry, "give root_pitch or root_hz, not both")
        hz = data.pop("root_hz")
        if not isinstance(hz, (int, float)) or isinstance(hz, bool) or hz <= 0:
            raise DataFileError(path, entry, f"root_hz {hz!r} must be a frequency above 0")
        data["root_pitch"] = _hz_to_pitch(hz)
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in known:
            raise DataFileError(path, entry, f"unknown field {key!r}; known: {', '.join(known)}")
        kind = known[key].type
        where = f"{entry}.{key}"
        if key in _NESTED:
            kwargs[key] = _from_data(_NESTED[key], value, path, where)
        elif key == "layers":
            if not isinstance(value, list) or not value:
                raise DataFileError(path, entry, "needs at least one [[layers]] table")
            kwargs[key] = tuple(_from_data(Layer, layer, path, f"{entry}.layers[{n}]") for n, layer in enumerate(value))
        elif kind == "tuple[str, ...]":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise DataFileError(path, where, f"{value!r} must be a list of strings")
            kwargs[key] = tuple(value)
        elif kind == "bool":
            if not isinstance(value, bool):
                raise DataFileError(path, where, f"{value!r} must be true or false")
            kwargs[key] = value
        elif kind == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                raise DataFileError(path, where, f"{value!r} must be a whole number")
            kwargs[key] = value
        elif kind == "float":
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise DataFileError(path, where, f"{value!r} must be a number")
            kwargs[key] = float(value)
        else:  # str
            if not isinstance(value, str):
                raise DataFileError(path, where, f"{value!r} must be a string")
            kwargs[key] = value
    missing = [f.name for f in fields(cls) if f.name not in kwargs and f.default is MISSING]
    if missing:
        raise DataFileError(path, entry, f"missing field {missing[0]!r}")
    try:
        return cls(**kwargs)
    except ValueError as exc:  # the dataclasses' own checks (waveform, filter mode, one-shot sustain)
        raise DataFileError(path, entry, str(exc)) from None


@lru_cache(maxsize=1)
def patches() -> dict[str, SynthPatch]:
    """The named patches, in the file's order."""
    return {name: _from_data(SynthPatch, {"name": name, **value} if isinstance(value, dict) else value,
                             PATCHES_FILE, name)
            for name, value in load_toml(PATCHES_FILE).items()}


def list_patches() -> list[SynthPatch]:
    """The built-in patches, drums first, then by category and name (for the UI and docs)."""
    return sorted(patches().values(), key=lambda p: (p.category != "drums", p.category, p.name))


def get_patch(name: str) -> SynthPatch:
    try:
        return patches()[name]
    except KeyError:
        raise KeyError(f"unknown synth patch {name!r}; known: {', '.join(sorted(patches()))}") from None


# -- note helpers --

def hat_roll(start_s: float, duration_s: float, rate_per_beat: float, tempo_bpm: float,
             velocity_curve: float | tuple[float, float] | Callable[[np.ndarray], np.ndarray] = (70.0, 110.0),
             *, pitch: float = 42.0, gate: float = 0.5) -> Notes:
    """Evenly spaced hits from start_s for duration_s: a hi-hat roll.

    rate_per_beat is hits per beat: 2 = 1/8, 4 = 1/16, 8 = 1/32, 3 = 1/8 triplets, 6 = 1/16
    triplets, 12 = 1/32 triplets. velocity_curve is a constant, a (first, last) pair ramped
    linearly, or a function of the position in the roll (0..1, one value per hit). Each hit
    lasts gate x the spacing; pitch defaults to the GM closed hi-hat key.
    """
    step_s = 60.0 / tempo_bpm / rate_per_beat
    count = max(int(math.floor(duration_s / step_s + 1e-9)), 0)
    position = np.arange(count) / max(count - 1, 1)
    if callable(velocity_curve):
        velocity = np.asarray(velocity_curve(position), dtype=np.float64)
    elif isinstance(velocity_curve, tuple):
        velocity = velocity_curve[0] + (velocity_curve[1] - velocity_curve[0]) * position
    else:
        velocity = np.full(count, float(velocity_curve))
    return Notes(start_s + step_s * np.arange(count), np.full(count, step_s * gate), np.full(count, pitch),
                 np.clip(np.rint(velocity), 1, 127))


def choke_notes(notes: Notes, chokers: Notes) -> Notes:
    """Shorten each note so that it ends at the next choker's start (open hat choked by the
    closed hat). Returns a new Notes; the notes' own order is kept."""
    if len(notes) == 0 or len(chokers) == 0:
        return notes
    times = np.sort(chokers.start_s)
    following = np.searchsorted(times, notes.start_s, side="right")  # first choker strictly after
    next_start = np.where(following < len(times), times[np.minimum(following, len(times) - 1)], np.inf)
    duration = np.minimum(notes.duration_s, next_start - notes.start_s)
    return Notes(**{f.name: (duration if f.name == "duration_s" else getattr(notes, f.name)) for f in fields(Notes)})


# -- planning (numpy): voices, envelopes, oscillator banks --

@dataclass
class _Voices:
    """Voices of a patch in seconds and note pitch (layer independent)."""

    start_s: np.ndarray
    off_s: np.ndarray  # note-off after the start
    cut_s: np.ndarray  # mono: where the next voice cuts this one (inf = never)
    pitch: np.ndarray  # pitch at the start
    velocity: np.ndarray
    gain: np.ndarray
    pan: np.ndarray
    event_voice: np.ndarray  # glides, sorted by voice then time
    event_s: np.ndarray  # glide start after the voice's start
    event_from: np.ndarray
    event_to: np.ndarray
    event_glide_s: np.ndarray

    def __len__(self) -> int:
        return len(self.start_s)


def _broadcast(value, n: int) -> np.ndarray:
    array = np.asarray(value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value, dtype=np.float64)
    return np.full(n, float(array)) if array.ndim == 0 else array


def _plan_voices(patch: SynthPatch, notes: Notes, slides: Slides | None) -> _Voices:
    playable = (notes.velocity >= 1) & (notes.gain > 0) & np.isfinite(notes.start_s) & np.isfinite(notes.pitch)
    playable &= (notes.duration_s >= 0) if patch.one_shot else (notes.duration_s > 0)
    idx = np.flatnonzero(playable)
    idx = idx[np.argsort(notes.start_s[idx], kind="stable")]
    start, end, pitch = notes.start_s[idx], notes.start_s[idx] + notes.duration_s[idx], notes.pitch[idx]
    n = len(idx)

    # Mono: a note that starts before every earlier note has ended joins that voice (legato);
    # mono one-shots (drum-machine kicks) retrigger instead and only cut the previous hit.
    new_voice = np.ones(n, dtype=bool)
    if patch.mono and not patch.one_shot and n > 1:
        new_voice[1:] = start[1:] >= np.maximum.accumulate(end)[:-1]
    voice_of = np.cumsum(new_voice) - 1
    firsts = np.flatnonzero(new_voice)
    v_start = start[firsts]
    v_end = np.maximum.reduceat(end, firsts) if n else np.zeros(0)
    cut = np.full(len(firsts), np.inf)
    if patch.mono and len(firsts) > 1:
        cut[:-1] = v_start[1:] - v_start[:-1]

    ev_voice, ev_time, ev_to, ev_glide = [], [], [], []
    joined = np.flatnonzero(~new_voice)  # legato notes: glide from the current pitch to theirs
    ev_voice.append(voice_of[joined])
    ev_time.append(start[joined] - v_start[voice_of[joined]])
    ev_to.append(pitch[joined])
    ev_glide.append(np.full(len(joined), patch.glide_ms / 1000.0))
    if slides is not None:
        total = len(notes)
        target = _broadcast(slides.target_pitch, total)[idx]
        offset = _broadcast(slides.start_offset_s, total)[idx]
        glide_ms = _broadcast(slides.glide_ms, total)[idx]
        default_ms = patch.glide_ms if patch.glide_ms > 0 else DEFAULT_GLIDE_MS
        glide_ms = np.where(np.isfinite(glide_ms), glide_ms, default_ms)
        has = np.flatnonzero(np.isfinite(target))
        ev_voice.append(voice_of[has])
        ev_time.append(start[has] + np.maximum(offset[has], 0.0) - v_start[voice_of[has]])
        ev_to.append(target[has])
        ev_glide.append(glide_ms[has] / 1000.0)
    ev_voice, ev_time, ev_to, ev_glide = (np.concatenate(a) for a in (ev_voice, ev_time, ev_to, ev_glide))
    order = np.lexsort((ev_time, ev_voice))
    ev_voice, ev_time, ev_to, ev_glide = ev_voice[order], ev_time[order], ev_to[order], ev_glide[order]

    # Each glide starts from wherever the pitch is at that moment, which may be the middle of the
    # previous glide: a short sequential pass over glide events (not samples).
    v_pitch = pitch[firsts]
    ev_from = np.empty(len(ev_voice))
    for k in range(len(ev_voice)):
        if k == 0 or ev_voice[k] != ev_voice[k - 1]:
            ev_from[k] = v_pitch[ev_voice[k]]
        else:
            progress = np.clip((ev_time[k] - ev_time[k - 1]) / max(ev_glide[k - 1], 1e-9), 0.0, 1.0)
            ev_from[k] = ev_from[k - 1] + (ev_to[k - 1] - ev_from[k - 1]) * progress

    return _Voices(
        start_s=v_start, off_s=v_end - v_start, cut_s=cut, pitch=v_pitch,
        velocity=notes.velocity[idx][firsts], gain=notes.gain[idx][firsts], pan=notes.pan[idx][firsts],
        event_voice=ev_voice.astype(np.int64), event_s=ev_time, event_from=ev_from, event_to=ev_to,
        event_glide_s=ev_glide,
    )


@dataclass(frozen=True)
class _EnvelopeFrames:
    """An Envelope in frames and nepers per frame."""

    attack: float
    decay_rate: float
    sustain: float
    release_rate: float

    @classmethod
    def of(cls, env: Envelope, sr: float) -> _EnvelopeFrames:
        frames = sr / 1000.0
        return cls(attack=max(env.attack_ms * frames, 1.0), decay_rate=_LN_1000 / max(env.decay_ms * frames, 1.0),
                   sustain=min(max(env.sustain_level, 0.0), 1.0),
                   release_rate=_LN_1000 / max(env.release_ms * frames, 1.0))


def _adsr(t, env: _EnvelopeFrames, off=None, level_at_off=None):
    """Envelope level at frames t since the start (numpy or torch); released at `off` unless
    off is None. Exponents are capped so that nothing underflows into denormals."""
    lib = torch if isinstance(t, torch.Tensor) else np
    rise = lib.clip(t / env.attack, 0.0, 1.0)
    fall = env.sustain + (1.0 - env.sustain) * lib.exp(-lib.clip((t - env.attack) * env.decay_rate, 0.0, 60.0))
    level = lib.where(t < env.attack, rise, fall)
    if off is None:
        return level
    released = level_at_off * lib.exp(-lib.clip((t - off) * env.release_rate, 0.0, 60.0))
    return lib.where(t >= off, released, level)


def _equal_power(pan: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equal-power pan law, written so that the centre gives bit-identical left and right."""
    angle = (np.clip(pan, -1.0, 1.0) + 1.0) * (math.pi / 4.0)
    return np.cos(angle), np.cos(math.pi / 2.0 - angle)


@dataclass
class _Bank:
    """The oscillator components of a layer: K phase-driven (or noise) components mixed into C
    channels. Each component belongs to one free-running oscillator (for its random start phase)."""

    kind: str  # "dpw" (saw/square/metal), "sine", "triangle", "noise"
    ratio: np.ndarray  # (K,) frequency ratio to the layer pitch
    offset: np.ndarray  # (K,) phase offset in cycles (the second saw of a square)
    oscillator: np.ndarray  # (K,) index of the free-running oscillator
    weights: np.ndarray  # (C, K) mix into channels (pan, unison level, DPW scale)

    @property
    def channels(self) -> int:
        return self.weights.shape[0]

    @property
    def oscillators(self) -> int:
        return int(self.oscillator.max()) + 1


def _oscillator_bank(layer: Layer, chord_semitones: tuple[float, ...] = (0.0,)) -> _Bank:
    """The layer's components for one voice; a voice that sounds a chord (see `_chord_groups`)
    has the whole bank once per chord tone, `chord_semitones` above the voice's pitch."""
    if chord_semitones != (0.0,):
        banks = [_oscillator_bank(layer) for _ in chord_semitones]
        ratios = [2.0 ** (layer.key_tracking * interval / 12.0) for interval in chord_semitones]
        per_tone = banks[0].oscillators
        return _Bank(
            kind=banks[0].kind,
            ratio=np.concatenate([b.ratio * r for b, r in zip(banks, ratios)]),
            offset=np.concatenate([b.offset for b in banks]),
            oscillator=np.concatenate([b.oscillator + i * per_tone for i, b in enumerate(banks)]),
            # DPW weights carry 1/ratio (each component's parabola moves ratio x faster)
            weights=np.concatenate([b.weights / (r if b.kind == "dpw" else 1.0) for b, r in zip(banks, ratios)], axis=1),
        )
    n = layer.voices
    spread = np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1)
    unison_ratio = 2.0 ** (spread * layer.detune_cents / 2400.0)
    stereo = n > 1 and layer.stereo_width > 0
    # Alternate sides so that detune and pan are not correlated (voice 0 right, 1 left, ...).
    pan = layer.stereo_width * spread * (-1.0) ** np.arange(n)
    channel_gain = np.stack(_equal_power(pan)) * math.sqrt(2.0) if stereo else np.ones((1, n))
    unison_gain = 1.0 / math.sqrt(n)

    if layer.waveform in ("square", "metal"):
        # A square is a saw minus a saw shifted by the pulse width; metal is six squares.
        partials = np.array(METAL_RATIOS) if layer.waveform == "metal" else np.ones(1)
        ratio = np.repeat((unison_ratio[:, None] * partials[None, :]).ravel(), 2)
        oscillator = np.repeat(np.arange(n * len(partials)), 2)
        unison = oscillator // len(partials)
        offset = np.tile([0.0, layer.pulse_width], n * len(partials))
        sign = np.tile([1.0, -1.0], n * len(partials)) / math.sqrt(len(partials))
        kind = "dpw"
    else:
        ratio, oscillator, unison = unison_ratio, np.arange(n), np.arange(n)
        offset, sign = np.zeros(n), np.ones(n)
        kind = {"saw": "dpw", "sine": "sine", "triangle": "triangle", "noise": "noise"}[layer.waveform]
    weights = channel_gain[:, unison] * unison_gain * sign
    if kind == "dpw":
        weights = weights / ratio  # a component's parabola moves ratio x faster than the base phase
    return _Bank(kind=kind, ratio=ratio, offset=offset, oscillator=oscillator, weights=weights)


# Columns of a layer's per-voice table (float64), gathered once per block.
_VOICE_COLUMNS = ("start", "first_tile", "piece_offset", "pitch0", "base_pitch", "velocity", "off", "env_off",
                  "level_at_off", "filter_level_at_off", "cut", "length", "gain_left", "gain_right")


@dataclass
class _LayerPlan:
    layer: Layer
    bank: _Bank
    amp: _EnvelopeFrames
    filter_env: _EnvelopeFrames | None
    burst_frames: float  # the main envelope starts after the bursts
    one_shot: bool
    voices: np.ndarray  # (voices, len(_VOICE_COLUMNS))
    piece_offset: np.ndarray  # (voices + 1,)
    phase0: np.ndarray  # (voices, oscillators) start phase in cycles
    noise_offset: np.ndarray  # (voices, K) where each noise component reads the noise table
    events: np.ndarray  # (events, 5): voice, frame, from, to, glide frames (in layer pitch)
    # The pitch can move within a voice (pitch envelope, vibrato, glides). Mono patches count as
    # moving whether or not this render has glides, so that a legato pair and one long note take
    # the same (bit-identical) path.
    modulated: bool


def _plan_layer(patch: SynthPatch, layer_index: int, voices: _Voices, sr: float, num_frames: int | None,
                seed: int, chord_semitones: tuple[float, ...] = (0.0,),
                stream: tuple[int, ...] = ()) -> tuple[_LayerPlan, np.ndarray]:
    """Per-voice parameters of one layer; also returns each voice's end frame. `stream` keeps
    the random phases of each chord group's render apart."""
    layer = patch.layers[layer_index]
    bank = _oscillator_bank(layer, chord_semitones)
    amp = _EnvelopeFrames.of(layer.amp, sr)
    filter_env = _EnvelopeFrames.of(layer.filter.envelope, sr) if layer.filter is not None else None
    burst_frames = (layer.bursts - 1) * layer.burst_spacing_ms * sr / 1000.0

    start = np.rint(voices.start_s * sr).astype(np.int64)
    off = np.maximum(np.rint(voices.off_s * sr), 1.0)
    cut = voices.cut_s * sr
    env_off = off - burst_frames
    level_at_off = _adsr(env_off, amp)
    # Audible length: the decay down to SILENCE_DB, or the release tail from note-off.
    decay_end = burst_frames + amp.attack + _SILENCE_NEPERS / amp.decay_rate
    if patch.one_shot:
        length = np.full(len(voices), decay_end)
    else:
        tail = np.maximum(_SILENCE_NEPERS + np.log(np.maximum(level_at_off, 1e-30)), 0.0) / amp.release_rate
        length = off + tail
        if amp.sustain == 0.0:
            length = np.minimum(length, decay_end)
    length = np.minimum(length, cut + CHOKE_MS * sr / 1000.0)
    length = np.ceil(np.maximum(length, 1.0))
    filter_level_at_off = _adsr(off, filter_env) if filter_env is not None else np.zeros(len(voices))

    def layer_pitch(p):
        return layer.root_pitch + layer.key_tracking * (p - layer.root_pitch) + layer.transpose_semitones

    level = layer.level * 10.0 ** (patch.gain_db / 20.0)
    static = level * (voices.velocity / 127.0) ** patch.velocity_exponent * voices.gain
    left, right = _equal_power(np.clip(voices.pan + patch.pan, -1.0, 1.0))
    if bank.channels == 2:  # unison already panned: the note's pan acts as a balance control
        left, right = left * math.sqrt(2.0), right * math.sqrt(2.0)

    T = TILE_FRAMES
    end = start + length.astype(np.int64)
    if num_frames is not None:
        end = np.minimum(end, num_frames)
    begin = np.maximum(start, 0)  # a voice that started before frame 0 is rendered from frame 0
    first_tile = begin // T
    piece_count = np.where(end > begin, (end - 1) // T - first_tile + 1, 0)
    piece_offset = np.concatenate([[0], np.cumsum(piece_count)])

    table = np.stack([
        start, first_tile, piece_offset[:-1], voices.pitch, layer_pitch(voices.pitch), voices.velocity,
        np.inf * np.ones(len(voices)) if patch.one_shot else off, np.inf * np.ones(len(voices)) if patch.one_shot else env_off,
        level_at_off, filter_level_at_off, cut, length, static * left, static * right,
    ], axis=1).astype(np.float64) if len(voices) else np.zeros((0, len(_VOICE_COLUMNS)))

    rng = np.random.default_rng([seed, layer_index + 1, *stream])
    n_osc = bank.oscillators
    phase0 = rng.random((len(voices), n_osc)) if layer.random_phase else np.zeros((len(voices), n_osc))
    noise_offset = rng.integers(0, NOISE_TABLE_FRAMES, (len(voices), len(bank.ratio)))
    events = np.stack([
        voices.event_voice, voices.event_s * sr, layer_pitch(voices.event_from), layer_pitch(voices.event_to),
        np.maximum(voices.event_glide_s * sr, 1.0),
    ], axis=1).astype(np.float64)

    plan = _LayerPlan(layer=layer, bank=bank, amp=amp, filter_env=filter_env, burst_frames=burst_frames,
                      one_shot=patch.one_shot, voices=table, piece_offset=piece_offset, phase0=phase0,
                      noise_offset=noise_offset, events=events,
                      modulated=bool(layer.pitch_env_semitones or (layer.vibrato_depth_cents and layer.vibrato_rate_hz)
                                     or patch.mono or len(events)))
    return plan, start + length.astype(np.int64)


# -- the resonant filter --

@dataclass
class _Biquad:
    """Per-row RBJ biquad coefficients in the form `_filter_block` evaluates (one row of tables
    when every row has the same cutoff).

    The recursive part z = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2) x is split into
    partial fractions: z[n] = d0 x[n] + 2 Re(w[n]) with one complex mode w[n] = p w[n-1] + R x[n]
    (p one pole of the conjugate pair, R its residue). Complex numbers are (real, imag) pairs of
    real tensors: complex exp on the CPU is ~10x slower than the real functions it is made of.
    All powers of p in the work dtype are of |p| <= 1 (no p^-n), so float32 keeps its precision.
    """

    impulse: torch.Tensor  # (rows, S + 1): y's response to a unit input, h[0 .. S-1], then a 0
    project: torch.Tensor  # (rows, 2, S): Re, Im of R p^(S-l), a sub-block's input -> the mode at its end
    free: torch.Tensor  # (rows, 2, S): (2 Re p^i, -2 Im p^i), a mode amplitude -> its free response
    high_pass: float  # y = z + high_pass x
    m: torch.Tensor  # (rows, 1) m = p^S, complex
    m_powers: torch.Tensor  # (rows, 1, nb) m^b, complex
    p_tail: tuple[torch.Tensor, torch.Tensor]  # (rows, 2) 2 p^(S-1), 2 p^(S-2), float64
    row_tail: tuple[torch.Tensor, torch.Tensor]  # (rows, 2) 2 p^(T-1), 2 p^(T-2), float64
    kx: tuple[torch.Tensor, torch.Tensor]  # (rows, 2) input history (x[-1], x[-2]) -> its mode amplitude
    ky: tuple[torch.Tensor, torch.Tensor]  # (rows, 2) output history (z[-1], z[-2]) -> its mode amplitude
    zero_input: torch.Tensor  # (2, 2, rows) z history -> (z[T-1], z[T-2]) with no input, float64

    @property
    def rows(self) -> int:
        return self.impulse.shape[0]

    def slice(self, r0: int, r1: int) -> _Biquad:
        def cut(value):
            if isinstance(value, tuple):
                return tuple(cut(v) for v in value)
            if not isinstance(value, torch.Tensor):
                return value
            return value[..., r0:r1] if value is self.zero_input else value[r0:r1]
        return _Biquad(**{f.name: cut(getattr(self, f.name)) for f in fields(self)})


_INDEX_CACHE: dict[tuple[str, torch.device], torch.Tensor] = {}


def _index(name: str, device: torch.device) -> torch.Tensor:
    """Gather pattern that turns per-row impulse responses into Toeplitz matrices."""
    key = (name, device)
    if key not in _INDEX_CACHE:
        S = FILTER_SUB_FRAMES
        lag = np.arange(S)[None, :] - np.arange(S)[:, None]  # H[l, i] = h[i - l] (i >= l), else the trailing 0
        index = np.where(lag >= 0, lag, S)
        _INDEX_CACHE[key] = torch.as_tensor(index.reshape(-1), device=device)
    return _INDEX_CACHE[key]


def _pole_power(log_r: torch.Tensor, theta: torch.Tensor, n: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """p^n as (real, imag) for poles p = exp(log_r + i theta) (rows,) and exponents n (...)."""
    shape = (-1,) + (1,) * n.dim()
    magnitude = torch.exp(log_r.view(shape) * n)
    angle = theta.view(shape) * n
    return magnitude * torch.cos(angle), magnitude * torch.sin(angle)


def _cmul(a_re, a_im, b_re, b_im):
    return a_re * b_re - a_im * b_im, a_re * b_im + a_im * b_re


def _biquad(cutoff_hz: torch.Tensor, q: float, mode: str, sample_rate_hz: float, dtype: torch.dtype) -> _Biquad:
    T, S = TILE_FRAMES, FILTER_SUB_FRAMES
    nb = T // S
    f64 = dict(dtype=torch.float64, device=cutoff_hz.device)
    cutoff = cutoff_hz.to(torch.float64).clamp(MIN_CUTOFF_HZ, MAX_CUTOFF_RATIO * sample_rate_hz)
    b0, b1, b2, a1, a2 = rbj_biquad(mode, 2.0 * math.pi * cutoff / sample_rate_hz, q)
    high_pass = 1.0 if mode == "highpass" else 0.0
    if high_pass:
        # High-pass as x plus (numerator - denominator)/denominator x: the recursive part then
        # sees small, low-pass-like taps. Fed the high-pass taps directly, the float32 modal sums
        # would cancel (a low cutoff's poles have residues of ~1/w0). The difference is taken in
        # float64, where it loses nothing that matters.
        b0, b1, b2 = b0 - 1.0, b1 - a1, b2 - a2

    # Poles: p = -a1/2 +- i sqrt(a2 - a1^2/4) (complex for Q > 0.5), |p|^2 = a2.
    re = -a1 / 2.0
    im = torch.sqrt((a2 - re * re).clamp(min=1e-30))
    log_r, theta = 0.5 * torch.log(a2), torch.atan2(im, re)
    # 1/D has residue A = p / (p - conj(p)); z = d0 x + (r0 + r1 z^-1)/D x, whose residue is
    # R = A (r0 + r1 / p).
    a_re, a_im = torch.full_like(re, 0.5), -re / (2.0 * im)
    d0 = b2 / a2
    r0, r1 = b0 - d0, b1 - d0 * a1
    inv_re, inv_im = _pole_power(log_r, theta, torch.tensor([-1.0, -2.0], **f64))  # p^-1, p^-2
    res_re, res_im = _cmul(a_re, a_im, r0 + r1 * inv_re[:, 0], r1 * inv_im[:, 0])

    # The sub-block tables in the work dtype: powers p^0 .. p^S, R p^n, and m^k = p^(S k). |p| <= 1,
    # and tiny magnitudes are clamped (1e-26) so that nothing turns into slow denormal floats.
    def powers(exponents):
        lr, th = log_r.to(dtype)[:, None], theta.to(dtype)[:, None]
        magnitude = torch.exp((lr * exponents).clamp(min=-60.0))
        return magnitude * torch.cos(th * exponents), magnitude * torch.sin(th * exponents)

    work = {"dtype": dtype, "device": cutoff.device}
    pn_re, pn_im = powers(torch.arange(S + 1, **work))
    rp_re, rp_im = _cmul(res_re.to(dtype)[:, None], res_im.to(dtype)[:, None], pn_re, pn_im)  # R p^n
    h = 2.0 * rp_re[:, :S]
    h[:, 0] += (d0 + high_pass).to(dtype)
    zero = torch.zeros_like(h[:, :1])
    impulse = torch.cat([h, zero], dim=1)
    project = torch.stack([rp_re[:, 1:].flip(1), rp_im[:, 1:].flip(1)], dim=1)  # R p^(S-l)
    mk_re, mk_im = powers(torch.arange(nb, **work) * S)

    # Input history x[-1], x[-2] enters as w[0] += b1 x[-1] + b2 x[-2], w[1] += b2 x[-1]: a mode
    # amplitude A (w[0] + w[1] / p).
    kx1 = _cmul(a_re, a_im, b1 + b2 * inv_re[:, 0], b2 * inv_im[:, 0])
    kx2 = (a_re * b2, a_im * b2)
    # Output history: 2 Re(alpha p^-1) = z[-1], 2 Re(alpha p^-2) = z[-2], solved for alpha.
    u1, u2, v1, v2 = inv_re[:, 0], inv_re[:, 1], inv_im[:, 0], inv_im[:, 1]
    det = 4.0 * (v1 * u2 - u1 * v2)
    ky_re = torch.stack([-2.0 * v2, 2.0 * v1], dim=1) / det[:, None]
    ky_im = torch.stack([-2.0 * u2, 2.0 * u1], dim=1) / det[:, None]
    tail_re, tail_im = _pole_power(log_r, theta, torch.tensor([T - 1.0, T - 2.0], **f64))
    zero_input = 2.0 * (tail_re[:, :, None] * ky_re[:, None, :] - tail_im[:, :, None] * ky_im[:, None, :])
    return _Biquad(
        impulse=impulse, project=project, free=torch.stack([2.0 * pn_re[:, :S], -2.0 * pn_im[:, :S]], dim=1),
        high_pass=high_pass, m=torch.complex(mk_re[:, 1:2], mk_im[:, 1:2]),
        m_powers=torch.complex(mk_re, mk_im)[:, None, :],
        p_tail=(2.0 * pn_re[:, [S - 1, S - 2]].to(torch.float64), 2.0 * pn_im[:, [S - 1, S - 2]].to(torch.float64)),
        row_tail=(2.0 * tail_re, 2.0 * tail_im),
        kx=(torch.stack([kx1[0], kx2[0]], dim=1), torch.stack([kx1[1], kx2[1]], dim=1)), ky=(ky_re, ky_im),
        zero_input=zero_input.permute(1, 2, 0).contiguous(),
    )


def _filter_block(x: torch.Tensor, bq: _Biquad, x_before: torch.Tensor, start_history: torch.Tensor,
                  first_rows: torch.Tensor, max_run: int, scratch: _Scratch | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Time-varying biquad over rows of consecutive tiles, without a loop over samples.

    x: (rows, C, T). Each row holds one tile of a voice with its own coefficients (the cutoff
    is held for a tile; `bq` has one row of tables per row, or one for all); the rows of a voice
    are consecutive. x_before (rows, C, 2) holds the two input samples before each row, in time
    order. first_rows lists the rows whose output history is not the row before's (a voice's
    first row in this block); start_history (2, C, len(first_rows)) holds theirs, (z[-1], z[-2]).
    Returns y (rows, C, T) and each row's outgoing history (z[T-1], z[T-2]) as (2, C, rows),
    float64.

    The recursion is a direct-form-I biquad, z = b0 x + b1 x[-1] + b2 x[-2] - a1 z[-1] - a2 z[-2],
    and the output is y = z (+ x for the high-pass, see `_biquad`). Within a row the
    coefficients are constant: z[n] = d0 x[n] + 2 Re(w[n]) with the complex mode
    w[n] = p w[n-1] + R x[n]. The row is cut into sub-blocks of S frames, and with zeta_b the
    mode amplitude entering sub-block b (p times the mode before it),
        y[bS + i] = sum_{l<=i} h[i-l] x[bS + l] + 2 Re(p^i zeta_b),
        zeta_(b+1) = m zeta_b + e_b,  e_b = R sum_l p^(S-l) x[bS + l],  m = p^S.
    All of it is batched matrix products, no scan over samples: the Toeplitz matrix of the
    impulse response h, the projections e_b, the chain over the nb sub-blocks of a row (an
    (2 nb, 2 nb) real matrix per row) and the free responses. What enters a row (zeta_0, from
    the input and output history) is known only once the rows before are done: across rows
    the history follows an affine map h' = Z h + zs, and the maps are composed with a
    Hillis-Steele scan (log2 of the longest run of rows) in float64. Keeping the input and
    output history (direct form I) across coefficient changes means the output stays
    continuous when the cutoff moves.
    """
    rows, C, T = x.shape
    S = FILTER_SUB_FRAMES
    nb = T // S
    f64 = torch.float64
    shared = bq.rows == 1  # one cutoff for all rows: plain GEMMs
    sub = x.view(rows, C * nb, S)

    # Each sub-block's response to its own input: y = x H (H the Toeplitz matrix of h), and the
    # mode at its end from its own input, e_b (complex, as (rows, C, nb)).
    y = scratch.get("filtered", rows, C, T) if scratch is not None else torch.empty_like(x)
    if shared:
        toeplitz = bq.impulse[0, _index("toeplitz", x.device)].view(S, S)
        torch.mm(x.view(-1, S), toeplitz, out=y.view(-1, S))
        project = torch.mm(bq.project[0], x.view(-1, S).T)  # (2, rows * C * nb)
        e = torch.complex(project[0], project[1]).view(rows, C, nb)
    else:
        toeplitz = scratch.get("toeplitz", rows, S * S) if scratch is not None else None
        toeplitz = torch.index_select(bq.impulse, 1, _index("toeplitz", x.device), out=toeplitz).view(rows, S, S)
        torch.bmm(sub, toeplitz, out=y.view(rows, C * nb, S))
        project = torch.bmm(bq.project, sub.transpose(1, 2))  # (rows, 2, C * nb)
        e = torch.complex(project[:, 0], project[:, 1]).view(rows, C, nb)
    # The mode amplitude entering each sub-block from the row's own input: zeta_(b+1) = m zeta_b + e_b
    # (a short loop over the nb sub-blocks, all rows at once).
    m, m_powers = bq.m, bq.m_powers  # (rows, 1), (rows, 1, nb) complex
    zeta = torch.empty_like(e)
    zeta[:, :, 0] = 0.0
    for b in range(nb - 1):
        torch.addcmul(e[:, :, b], m, zeta[:, :, b], out=zeta[:, :, b + 1])

    # Row-level work in float64, laid out (..., C, rows).
    def rows_last(t):  # (rows, C) -> (C, rows)
        return t.T.to(f64)

    kx_re, kx_im = (k.T for k in bq.kx)  # (2, rows)
    ky_re, ky_im = (k.T for k in bq.ky)
    x1, x2 = rows_last(x_before[:, :, 1]), rows_last(x_before[:, :, 0])  # x[-1], x[-2]
    alpha_re = x1 * kx_re[0] + x2 * kx_re[1]  # input history -> mode amplitude entering the row
    alpha_im = x1 * kx_im[0] + x2 * kx_im[1]
    # History after the row, from the input alone: (z[T-1], z[T-2]) = the last sub-block's own
    # response, its entering mode's and the row's.
    outputs = torch.stack([y[:, :, T - 1].T, y[:, :, T - 2].T]).to(f64)  # (2, C, rows)
    if bq.high_pass:
        outputs -= bq.high_pass * torch.stack([x[:, :, T - 1].T, x[:, :, T - 2].T]).to(f64)
    last_re, last_im = rows_last(zeta[:, :, -1].real), rows_last(zeta[:, :, -1].imag)
    pt_re, pt_im = (t.T[:, None, :] for t in bq.p_tail)  # (2, 1, rows)
    rt_re, rt_im = (t.T[:, None, :] for t in bq.row_tail)
    outputs += pt_re * last_re - pt_im * last_im + rt_re * alpha_re - rt_im * alpha_im

    # History scan: row r maps its incoming history h to Z_r h + zs_r, kept as one (2, 2 + C)
    # matrix [Z | zs] per row. A voice's first row in the block becomes a constant map (its
    # known history applied), so maps never leak across voices; composing all maps up to row r
    # gives the history after row r.
    maps = torch.empty(2, 2 + C, rows, dtype=f64, device=x.device)
    maps[:, :2] = bq.zero_input
    maps[:, 2:] = outputs
    start = start_history  # (2, C, first rows)
    z_first = maps[:, :2, first_rows]  # (2, 2, first rows)
    maps[:, 2:, first_rows] += z_first[:, 0, None] * start[0] + z_first[:, 1, None] * start[1]
    maps[:, :2, first_rows] = 0.0
    step = 1
    while step < max_run:
        later, earlier = maps[:, :, step:], maps[:, :, :-step]
        composed = torch.addcmul(later[:, 0:1] * earlier[0:1], later[:, 1:2], earlier[1:2])
        composed[:, 2:] += later[:, 2:]
        maps[:, :, step:] = composed
        step *= 2
    history_out = maps[:, 2:]  # (2, C, rows)
    incoming = torch.roll(history_out, 1, dims=2)
    incoming[:, :, first_rows] = start
    alpha_re += incoming[0] * ky_re[0] + incoming[1] * ky_re[1]
    alpha_im += incoming[0] * ky_im[0] + incoming[1] * ky_im[1]

    # zeta_b += m^b alpha: what entered the row, carried to each sub-block; then the free
    # responses 2 Re(p^i zeta_b) are added to y.
    zeta.addcmul_(m_powers, torch.complex(alpha_re.T, alpha_im.T).to(zeta.dtype)[:, :, None])
    zeta = torch.view_as_real(zeta)  # (rows, C, nb, 2)
    if shared:
        y.view(-1, S).addmm_(zeta.reshape(-1, 2), bq.free[0])
    else:
        y.view(rows, C * nb, S).baddbmm_(zeta.reshape(rows, C * nb, 2), bq.free)
    return y, history_out


def resonant_filter(audio: torch.Tensor, cutoff_frequency_hz: float | torch.Tensor, *, mode: str = "lowpass",
                    resonance: float = 0.0, sample_rate_hz: int = 44100) -> torch.Tensor:
    """Filter audio (..., frames) with the synths' resonant filter.

    cutoff_frequency_hz is a number or a per-frame tensor (frames,); a time-varying cutoff is
    sampled at the middle of every TILE_FRAMES tile and held for the tile.
    """
    if mode not in FILTER_MODES:
        raise ValueError(f"unknown filter mode {mode!r}; expected one of {FILTER_MODES}")
    shape = audio.shape
    frames = shape[-1]
    T = TILE_FRAMES
    tiles = max(-(-frames // T), 1)
    x = torch.nn.functional.pad(audio.reshape(-1, frames), (0, tiles * T - frames))
    C = x.shape[0]
    rows = x.view(C, tiles, T).permute(1, 0, 2).contiguous()
    if isinstance(cutoff_frequency_hz, torch.Tensor) and cutoff_frequency_hz.ndim > 0:
        centre = torch.clamp(torch.arange(tiles, device=audio.device) * T + T // 2, max=max(frames - 1, 0))
        cutoff = cutoff_frequency_hz.to(audio.device, torch.float64)[centre]
    else:
        cutoff = torch.full((1,), float(cutoff_frequency_hz), dtype=torch.float64, device=audio.device)
    bq = _biquad(cutoff, Filter(mode=mode, resonance=resonance).q, mode, float(sample_rate_hz), audio.dtype)
    x_before = torch.zeros(tiles, C, 2, dtype=audio.dtype, device=audio.device)
    x_before[1:] = rows[:-1, :, -2:]
    first_rows = torch.zeros(1, dtype=torch.int64, device=audio.device)
    history = torch.zeros(2, C, 1, dtype=torch.float64, device=audio.device)
    with torch.inference_mode():
        y, _ = _filter_block(rows, bq, x_before, history, first_rows, tiles)
    return y.permute(1, 0, 2).reshape(C, tiles * T)[:, :frames].reshape(shape)


# -- rendering (torch) --

def _default_block_frames(device: torch.device) -> int:
    # CPU: work buffers of up to ~8 MB (rows x oscillator components x tile); a block's small
    # row-level ops (the filter's scan) cost per op, so fewer, larger blocks measured fastest
    # on 2 cores; GPU: large blocks keep it busy.
    return 1 << 21 if device.type == "cpu" else 1 << 23


# Control-rate work (pitch, envelopes, filter coefficients, phases) is prepared for this many
# frames' worth of rows at once, then the blocks of that batch are rendered.
_BATCH_FRAMES = 1 << 21
# A block whose rows belong to at most this many voices adds them to the output as slices of
# consecutive tiles (cheaper than a row-wise index_add_).
_MAX_SLICE_RUNS = 8


class _Scratch:
    """Reusable block buffers. On CPU, allocating multi-MB tensors per op costs more than the
    math (fresh pages every time), so blocks write into these with out= and in-place ops."""

    def __init__(self, dtype: torch.dtype, device: torch.device):
        self.dtype, self.device = dtype, device
        self.buffers: dict[str, torch.Tensor] = {}

    def get(self, name: str, *shape: int) -> torch.Tensor:
        size = math.prod(shape)
        buffer = self.buffers.get(name)
        if buffer is None or buffer.numel() < size:
            buffer = self.buffers[name] = host_empty((size,), self.dtype, self.device)
        return buffer[:size].view(shape)


class _Carry:
    """Per-voice state handed from one batch or block to the next (zero = a voice that has not
    started)."""

    def __init__(self, voices: int, channels: int, dtype: torch.dtype, device: torch.device):
        self.phase = torch.zeros(voices, dtype=torch.float64, device=device)  # layer cycles before the next row
        self.x_tail = torch.zeros(voices, channels, 2, dtype=dtype, device=device)  # filter input history
        self.history = torch.zeros(2, channels, voices, dtype=torch.float64, device=device)  # filter output


@dataclass
class _Context:
    sr: float
    dtype: torch.dtype
    device: torch.device
    noise_rows: torch.Tensor | None  # (NOISE_TABLE_FRAMES + 1, T) view: row i = the seeded noise from i on
    grid: torch.Tensor  # (T/E + 1,) control points within a tile, float64
    cumulative: torch.Tensor  # (T/E + 1, T + 1): control points -> their running sum before each frame
    cumulative64: torch.Tensor  # the same in float64
    count: torch.Tensor  # (T + 1,) 0 .. T
    ramp: torch.Tensor  # (E,) position between control points

    @classmethod
    def make(cls, sr: float, dtype: torch.dtype, device: torch.device, noise: np.ndarray | None) -> _Context:
        T, E = TILE_FRAMES, CONTROL_STEP_FRAMES
        frame = np.arange(T)
        interp = np.zeros((T // E + 1, T))  # control points -> frames, linear in between
        interp[frame // E, frame] = 1.0 - (frame % E) / E
        interp[frame // E + 1, frame] += (frame % E) / E
        cumulative = np.concatenate([np.zeros((T // E + 1, 1)), np.cumsum(interp, axis=1)], axis=1)
        noise_rows = None
        if noise is not None:
            table = torch.as_tensor(np.concatenate([noise, noise[:T]]), device=device).to(dtype)
            noise_rows = table.unfold(0, T, 1)
        return cls(
            sr=sr, dtype=dtype, device=device, noise_rows=noise_rows,
            grid=torch.arange(0, T + 1, E, device=device, dtype=torch.float64),
            cumulative=torch.as_tensor(cumulative, device=device).to(dtype),
            cumulative64=torch.as_tensor(cumulative, device=device),
            count=torch.arange(T + 1, device=device, dtype=dtype),
            ramp=torch.arange(E, device=device, dtype=dtype) / E,
        )


@dataclass
class _LayerTables:
    plan: _LayerPlan
    voices: torch.Tensor  # (voices, len(_VOICE_COLUMNS)) float64
    piece_offset: torch.Tensor  # (voices,) int64
    phase0: torch.Tensor  # (voices, oscillators) float64
    noise_offset: torch.Tensor  # (voices, K) int64
    ratio64: torch.Tensor  # (K,)
    offset: torch.Tensor  # (K,) float64
    oscillator: torch.Tensor  # (K,) int64
    mix: torch.Tensor | None  # (C, K) components -> channels; None: one component, its weight in the envelope
    weight: float  # that weight
    angular: float  # 2 pi for sines (phases in radians), else 1 (cycles)
    ratio: torch.Tensor  # (K, 1) ratio x angular, in the work dtype
    event_key: torch.Tensor | None  # (events,) voice * 2^40 + frame, sorted
    events: torch.Tensor | None  # (events, 5) float64
    static_filter: _Biquad | None  # one row of tables when the cutoff never moves


def _to_device(plan: _LayerPlan, ctx: _Context) -> _LayerTables:
    def t(array, dtype=torch.float64):
        return torch.as_tensor(np.ascontiguousarray(array), device=ctx.device).to(dtype)

    bank = plan.bank
    spec = plan.layer.filter
    static_filter = None
    if spec is not None and not (spec.envelope_amount_semitones or spec.key_tracking or spec.velocity_amount_semitones):
        cutoff = torch.full((1,), spec.cutoff_frequency_hz, dtype=torch.float64, device=ctx.device)
        static_filter = _biquad(cutoff, spec.q, spec.mode, ctx.sr, ctx.dtype)
    events = plan.events if len(plan.events) else None
    event_key = None
    if events is not None:
        event_key = t(events[:, 0].astype(np.int64) * (1 << 40) + np.floor(events[:, 1]).astype(np.int64), torch.int64)
    # The waveforms as computed per frame (see _render_block), and the mix weights that undo it:
    # DPW: f - f^2 (f the phase shifted by half a cycle) = -(parabola) + constant, which the
    # difference removes; triangle: |f - 1/2| - 1/4 = (triangle) / 4.
    weights = bank.weights * {"dpw": -1.0, "triangle": 4.0}.get(bank.kind, 1.0)
    folded = weights.shape == (1, 1)
    angular = 2.0 * math.pi if bank.kind == "sine" else 1.0
    return _LayerTables(
        plan=plan, voices=t(plan.voices), piece_offset=t(plan.piece_offset[:-1], torch.int64),
        phase0=t(plan.phase0), noise_offset=t(plan.noise_offset, torch.int64), ratio64=t(bank.ratio),
        offset=t(bank.offset), oscillator=t(bank.oscillator, torch.int64),
        mix=None if folded else t(weights, ctx.dtype), weight=float(weights[0, 0]) if folded else 1.0,
        angular=angular, ratio=t(bank.ratio * angular, ctx.dtype)[:, None],
        event_key=event_key, events=t(events) if events is not None else None, static_filter=static_filter,
    )


def _segment_exclusive_cumsum(values: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    """Sum of the earlier values within each run of rows that starts where `first` is set."""
    total = torch.cumsum(values, 0)
    exclusive = total - values
    index = torch.arange(len(values), device=values.device)
    run_start = torch.cummax(torch.where(first, index, 0), 0).values
    return exclusive - exclusive[run_start]


def _glide_pitch(tables: _LayerTables, voice: torch.Tensor, t: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """Layer pitch at control times t (rows, n) after the voice's glide events."""
    key = voice[:, None] * (1 << 40) + t.clamp(min=0.0).floor().to(torch.int64)
    index = torch.searchsorted(tables.event_key, key, right=True) - 1
    safe = index.clamp(min=0)
    ev = tables.events[safe]  # (rows, n, 5)
    valid = (index >= 0) & (ev[..., 0].to(torch.int64) == voice[:, None])
    progress = ((t - ev[..., 1]) / ev[..., 4]).clamp(0.0, 1.0)
    gliding = ev[..., 2] + (ev[..., 3] - ev[..., 2]) * progress
    return torch.where(valid, gliding, base[:, None].expand_as(t))


@dataclass
class _Rows:
    """Control-rate data of a batch of rows (index 0 = the batch's first row). Row subsets that
    need extra work are listed as row indices with per-block bounds (index[bounds[k]:bounds[k+1]]
    falls in block k)."""

    voice: torch.Tensor  # (B,) int64
    tile: torch.Tensor  # (B,) output tile (0 for a row in the partial last tile, which goes to the tail)
    phase: torch.Tensor | None  # (K, B, 1) phase before the row's first frame (cycles or radians)
    step: torch.Tensor | None  # (K, B, 1) phase step per frame (steady pitch)
    control: torch.Tensor | None  # (B, T/E + 1) layer phase step at the control points (moving pitch)
    control_segments: tuple[torch.Tensor, torch.Tensor] | None  # the same as segments (DPW)
    noise_start: torch.Tensor | None  # (K, B) where each noise component reads the table
    envelope: tuple[torch.Tensor, torch.Tensor]  # (B, T/E, 1) amplitude at the control points (and
    #                                             folded factors), and its change to the next one
    gains: torch.Tensor  # (2, B, 1) left/right gain
    biquad: _Biquad | None  # per-row filter tables (moving cutoff)
    first: tuple[torch.Tensor, list[int]]  # a voice's first row in its block
    last: tuple[torch.Tensor, list[int]]  # a voice's last row in its block
    onset: tuple[torch.Tensor, list[int]]  # rows that start before the note-on (masked up to it)
    onset_mask: torch.Tensor  # (rows of onset, 1, T)
    partial: tuple[torch.Tensor, list[int]]  # rows in the partial last output tile


def _prepare_rows(tables: _LayerTables, ctx: _Context, carry: _Carry, b0: int, b1: int, block_rows: int,
                  full_tiles: int) -> _Rows:
    plan, layer, bank = tables.plan, tables.plan.layer, tables.plan.bank
    T, dtype, device, f64 = TILE_FRAMES, ctx.dtype, ctx.device, torch.float64
    piece = torch.arange(b0, b1, device=device)
    voice = torch.searchsorted(tables.piece_offset, piece, right=True) - 1
    v = dict(zip(_VOICE_COLUMNS, tables.voices.index_select(0, voice).unbind(1)))
    local = piece - v["piece_offset"].to(torch.int64)
    tile = v["first_tile"].to(torch.int64) + local
    t0 = (tile * T - v["start"].to(torch.int64)).to(f64)  # frames since the voice's start
    starts = local == 0  # a voice's first rendered row: its state starts from rest
    position = piece - b0
    voice_ends = torch.ones_like(starts)
    voice_ends[:-1] = voice[1:] != voice[:-1]
    tc = t0[:, None] + ctx.grid if plan.modulated else None  # control times (rows, T/E + 1), float64
    onset = (-t0).clamp(0.0, float(T))  # frames of a voice's first row before its note-on

    phase = step = control = noise_start = None
    envelope_factor = torch.full_like(t0, tables.weight)
    if bank.kind == "noise":
        noise_offset = tables.noise_offset.index_select(0, voice)
        noise_start = torch.remainder(noise_offset + t0.to(torch.int64)[:, None], NOISE_TABLE_FRAMES).T.contiguous()
    else:
        pitch = v["base_pitch"][:, None] if not plan.modulated else v["base_pitch"][:, None].expand_as(tc)
        if tables.events is not None:
            pitch = _glide_pitch(tables, voice, tc, v["base_pitch"])
        if layer.pitch_env_semitones:
            rate = _LN_1000 / max(layer.pitch_env_decay_ms * ctx.sr / 1000.0, 1.0)
            pitch = pitch + layer.pitch_env_semitones * torch.exp(-(tc.clamp(min=0.0) * rate).clamp(max=60.0))
        if layer.vibrato_depth_cents and layer.vibrato_rate_hz:
            fade = (tc / max(layer.vibrato_delay_ms * ctx.sr / 1000.0, 1.0)).clamp(0.0, 1.0)
            pitch = pitch + layer.vibrato_depth_cents / 100.0 * fade * torch.sin(
                (2.0 * math.pi * layer.vibrato_rate_hz / ctx.sr) * tc)
        increment = (440.0 / ctx.sr) * torch.exp2((pitch - 69.0) / 12.0)  # cycles per frame (steady: one point)
        increment = increment.clamp(1e-7, 0.49 / float(bank.ratio.max()))
        # The phase step is linear between control points, so the phase is their weighted sum
        # (ctx.cumulative). Frames before the note-on do not advance it.
        if plan.modulated:
            row_cycles = increment @ ctx.cumulative64[:, T]
            before_onset = (increment * ctx.cumulative64.index_select(1, onset.to(torch.int64)).T).sum(1)
            control = increment.to(dtype)
        else:
            steady = increment[:, 0]
            row_cycles, before_onset = steady * T, steady * onset
            step = (steady[:, None] * tables.ratio64 * tables.angular).to(dtype).T[:, :, None].contiguous()
            if bank.kind == "dpw":
                envelope_factor = envelope_factor / steady  # the DPW's 1/step, outside the (linear) filter
        advance = row_cycles - before_onset
        base = carry.phase.index_select(0, voice) + _segment_exclusive_cumsum(advance, starts | (position == 0))
        carry.phase[voice[voice_ends]] = (base + advance)[voice_ends]
        # Each component's phase before the row's first frame, in [0, 1) (DPW: + half a cycle).
        start = tables.phase0.index_select(0, voice)[:, tables.oscillator] + tables.offset
        start = start + tables.ratio64 * (base - before_onset)[:, None] + (0.5 if bank.kind == "dpw" else 0.0)
        phase = ((start - torch.floor(start)) * tables.angular).to(dtype).T[:, :, None].contiguous()

    # Amplitude envelope (bursts, then ADSR), choke, and the voice's span, at the control points,
    # in the work dtype (times since the voice's start: float32 keeps them to a frame).
    t = t0.to(dtype)[:, None] + ctx.grid.to(dtype)  # whole frames: exact in float32 below 2^24
    t_env = t - plan.burst_frames if plan.burst_frames else t
    env = _envelope_points(t_env, plan.amp, None if plan.one_shot else v["env_off"].to(dtype)[:, None],
                           v["level_at_off"].to(dtype)[:, None])
    if layer.bursts > 1:
        spacing = layer.burst_spacing_ms * ctx.sr / 1000.0
        rate = BURST_DECAY_DB / 20.0 * math.log(10.0) / spacing
        burst = torch.exp(-torch.remainder(t.clamp(min=0.0), spacing) * rate)
        env = torch.where(t_env < 0, burst, env)
    choke_frames = CHOKE_MS * ctx.sr / 1000.0
    env.mul_(torch.sub((v["cut"] + choke_frames).to(dtype)[:, None], t).div_(choke_frames).clamp_(0.0, 1.0))
    env.mul_((t >= 0) & (t < v["length"].to(dtype)[:, None])).mul_(envelope_factor.to(dtype)[:, None])
    gains = torch.stack([v["gain_left"], v["gain_right"]])
    if layer.drive > 0:
        gains = gains / math.tanh(layer.drive)

    biquad = None
    spec = layer.filter
    if spec is not None and tables.static_filter is None:  # cutoff held for the tile, taken at its middle
        t_mid = (t0 + T / 2).clamp(min=0.0)
        amount = spec.envelope_amount_semitones * _adsr(
            t_mid, plan.filter_env, None if plan.one_shot else v["off"], v["filter_level_at_off"])
        semitones = (amount + spec.key_tracking * (v["base_pitch"] - 60.0)
                     + spec.velocity_amount_semitones * v["velocity"] / 127.0)
        biquad = _biquad(spec.cutoff_frequency_hz * torch.exp2(semitones / 12.0), spec.q, spec.mode, ctx.sr, dtype)

    # Row subsets, split by block with one host sync for the batch.
    rows = b1 - b0
    in_block = position % block_rows
    subsets = [starts | (in_block == 0), voice_ends | (in_block == block_rows - 1), onset > 0, tile == full_tiles]
    indices = [torch.nonzero(mask).squeeze(1) for mask in subsets]
    edges = torch.arange(0, rows + block_rows, block_rows, device=device).clamp(max=rows)
    bounds = torch.cat([torch.searchsorted(index, edges) for index in indices]).view(len(indices), -1).tolist()
    first, last, onset_rows, partial = ((index, b) for index, b in zip(indices, bounds))
    onset_mask = (ctx.count[:T] >= onset[onset_rows[0]].to(dtype)[:, None]).to(dtype)[:, None, :]
    return _Rows(
        voice=voice, tile=torch.where(tile == full_tiles, 0, tile), phase=phase, step=step, control=control,
        control_segments=_segments(control, dtype) if control is not None and bank.kind == "dpw" else None,
        noise_start=noise_start, envelope=_segments(env, dtype), gains=gains.to(dtype)[:, :, None], biquad=biquad,
        first=first, last=last, onset=onset_rows, onset_mask=onset_mask, partial=partial,
    )


def _envelope_points(t: torch.Tensor, env: _EnvelopeFrames, off: torch.Tensor | None,
                     level_at_off: torch.Tensor) -> torch.Tensor:
    """`_adsr` for torch with few temporaries (the control points of a batch are large)."""
    level = torch.div(t, env.attack).clamp_(0.0, 1.0)
    fall = torch.sub(t, env.attack).mul_(env.decay_rate).clamp_(0.0, 60.0).neg_().exp_()
    level = torch.where(t < env.attack, level, fall.mul_(1.0 - env.sustain).add_(env.sustain))
    if off is not None:
        released = torch.sub(t, off).mul_(env.release_rate).clamp_(0.0, 60.0).neg_().exp_().mul_(level_at_off)
        level = torch.where(t >= off, released, level)
    return level


def _segments(points: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, n + 1) control points -> (rows, n, 1) start values and changes to the next point."""
    points = points.to(dtype)
    return points[:, :-1, None].contiguous(), (points[:, 1:] - points[:, :-1])[:, :, None].contiguous()


def _interpolate(segments: tuple[torch.Tensor, torch.Tensor], r0: int, r1: int, ctx: _Context,
                 out: torch.Tensor) -> torch.Tensor:
    """Control points of rows r0..r1 -> (rows, T) frames, linear in between."""
    start, change = segments
    view = out.view(r1 - r0, start.shape[1], -1)
    torch.mul(change[r0:r1], ctx.ramp, out=view)  # (a broadcast multiply then add: faster than addcmul)
    view.add_(start[r0:r1])
    return out


def _block_rows(subset: tuple[torch.Tensor, list[int]], k: int, r0: int) -> torch.Tensor | None:
    index, bounds = subset
    lo, hi = bounds[k], bounds[k + 1]
    return index[lo:hi] - r0 if hi > lo else None


def _render_layer(tables: _LayerTables, ctx: _Context, tiles: torch.Tensor, tail: torch.Tensor,
                  block_frames: int) -> None:
    plan = tables.plan
    total = int(plan.piece_offset[-1])
    if total == 0:
        return
    T = TILE_FRAMES
    width = max(len(plan.bank.ratio), plan.bank.channels, 2)
    block_rows = max(1, block_frames // (T * width))
    batch_rows = block_rows * max(1, _BATCH_FRAMES // (T * block_rows))
    carry = _Carry(len(plan.voices), plan.bank.channels, ctx.dtype, ctx.device)
    scratch = _Scratch(ctx.dtype, ctx.device)
    offsets = plan.piece_offset
    first_tile = plan.voices[:, _VOICE_COLUMNS.index("first_tile")].astype(np.int64)
    for b0 in range(0, total, batch_rows):
        b1 = min(b0 + batch_rows, total)
        rows = _prepare_rows(tables, ctx, carry, b0, b1, block_rows, tiles.shape[1])
        for k, r0 in enumerate(range(b0, b1, block_rows)):
            r1 = min(r0 + block_rows, b1)
            # The voices' runs of rows in this block (host side: no device sync).
            v0 = np.searchsorted(offsets, r0, side="right") - 1
            v1 = np.searchsorted(offsets, r1 - 1, side="right")
            run_start = np.maximum(offsets[v0:v1], r0)
            run_length = np.minimum(offsets[v0 + 1:v1 + 1], r1) - run_start
            runs = None
            if v1 - v0 <= _MAX_SLICE_RUNS:  # few voices: overlap-add tile ranges (row, tile, count)
                run_tile = first_tile[v0:v1] + run_start - offsets[v0:v1]
                run_count = np.minimum(run_length, tiles.shape[1] - run_tile)
                runs = [(int(a - r0), int(t), int(n)) for a, t, n in zip(run_start, run_tile, run_count) if n > 0]
            _render_block(tables, ctx, carry, rows, k, r0 - b0, r1 - b0, int(run_length.max()), runs, scratch,
                          tiles, tail)


def _render_block(tables: _LayerTables, ctx: _Context, carry: _Carry, rows: _Rows, k: int, r0: int, r1: int,
                  max_run: int, runs: list[tuple[int, int, int]] | None, scratch: _Scratch, tiles: torch.Tensor,
                  tail: torch.Tensor) -> None:
    layer, bank = tables.plan.layer, tables.plan.bank
    T, R, K, C = TILE_FRAMES, r1 - r0, len(bank.ratio), bank.channels

    # -- oscillators: (K, R, frames) components, mixed (one GEMM) into channels, then (R, C, T) --
    if bank.kind == "noise":
        frames = T
        wave = scratch.get("wave", K, R, T)
        torch.index_select(ctx.noise_rows, 0, rows.noise_start[:, r0:r1].reshape(-1), out=wave.view(K * R, T))
    else:
        # DPW needs the frame before the row too (its difference), the others the row's frames.
        frames = T + 1 if bank.kind == "dpw" else T
        wave = scratch.get("wave", K, R, frames)
        if rows.control is not None:
            cycles = scratch.get("cycles", R, frames)
            matrix = ctx.cumulative if bank.kind == "dpw" else ctx.cumulative[:, 1:]
            torch.mm(rows.control[r0:r1], matrix, out=cycles)
            torch.mul(cycles, tables.ratio[:, :, None], out=wave)
        else:
            torch.mul(rows.step[:, r0:r1], ctx.count if bank.kind == "dpw" else ctx.count[1:], out=wave)
        wave.add_(rows.phase[:, r0:r1])
        if bank.kind == "sine":
            wave.sin_()
        elif bank.kind == "triangle":
            wave.frac_().sub_(0.5).abs_().sub_(0.25)
        else:
            wave.frac_()
            wave.addcmul_(wave, wave, value=-1.0)
    if tables.mix is not None:
        mixed = torch.mm(tables.mix, wave.view(K, -1), out=scratch.get("mix", C, R * frames)).view(C, R, frames)
    else:
        mixed = wave  # (1, R, frames)
    x = scratch.get("x", R, C, T)
    if bank.kind == "dpw":
        # First difference of the parabola / phase step (steady pitch: 1/step is in the envelope).
        torch.sub(mixed[:, :, 1:], mixed[:, :, :-1], out=x.transpose(0, 1))
        if rows.control is not None:
            x.div_(_interpolate(rows.control_segments, r0, r1, ctx, scratch.get("step", R, T))[:, None, :])
    elif C == 1:
        x = mixed.view(R, 1, T)
    else:
        x.copy_(mixed.transpose(0, 1))
    onset = _block_rows(rows.onset, k, r0)
    if onset is not None:  # silence before the note-on
        lo = rows.onset[1][k]
        x[onset] *= rows.onset_mask[lo:lo + len(onset)]

    # -- filter --
    if layer.filter is not None:
        bq = tables.static_filter if tables.static_filter is not None else rows.biquad.slice(r0, r1)
        voice = rows.voice[r0:r1]
        first, last = _block_rows(rows.first, k, r0), _block_rows(rows.last, k, r0)
        x_before = torch.roll(x[:, :, -2:], 1, dims=0)
        x_before[first] = carry.x_tail[voice[first]]
        start_history = carry.history[:, :, voice[first]]
        carry.x_tail[voice[last]] = x[last, :, -2:]
        x, history_out = _filter_block(x, bq, x_before, start_history, first, max_run, scratch)
        carry.history[:, :, voice[last]] = history_out[:, :, last]

    # -- amplitude envelope, drive, pan, overlap-add --
    envelope = _interpolate(rows.envelope, r0, r1, ctx, scratch.get("envelope", R, T))
    x.mul_(envelope[:, None, :])
    if layer.drive > 0:
        x.mul_(layer.drive).tanh_()
    gains = rows.gains[:, r0:r1]  # (2, R, 1)
    partial = _block_rows(rows.partial, k, r0)
    if runs is not None:
        # Few voices: add each run of rows, panned, straight into its tiles (no stereo buffer).
        for channel in range(2):
            source = x[:, channel if C == 2 else 0]
            for row, first, count in runs:
                tiles[channel, first:first + count].addcmul_(source[row:row + count], gains[channel, row:row + count])
            if partial is not None:  # the partial last tile is added at the end
                tail[channel] += (source[partial] * gains[channel, partial]).sum(0)
        return
    stereo = scratch.get("stereo", 2, R, T)
    torch.mul(x.transpose(0, 1), gains, out=stereo)
    if partial is not None:  # the partial last tile is added at the end; these rows add zeros
        tail += stereo[:, partial].sum(1)
        stereo[:, partial] = 0.0
    if tiles.shape[1]:
        with deterministic_on(tiles.device):
            for channel in range(2):
                tiles[channel].index_add_(0, rows.tile[r0:r1], stereo[channel])


def _chord_groups(patch: SynthPatch, notes: Notes) -> list[tuple[tuple[float, ...], Notes, tuple[int, ...]]] | None:
    """Notes that start and end together with the same velocity, gain and pan (a chord on a pad)
    as one voice each, bucketed by the chord's shape: [(semitones above the lowest note, the
    lowest notes, random stream)]. None when nothing groups, or when the patch's voices could
    not share their filter and envelopes: mono/legato, a drive (not linear), a cutoff that
    follows the key.

    Why: a polyphonic patch filters and envelopes each voice, and everything after the
    oscillators is linear and identical for such notes, so a chord's tones are summed first and
    filtered once (3x less filter work on a triad pad; the oscillators cost the same). Only the
    random start phases differ from rendering the notes one by one.
    """
    n = len(notes.start_s)
    if n < 2 or patch.mono or not np.isfinite(notes.pitch).all() or any(layer.drive > 0 or (layer.filter is not None and layer.filter.key_tracking != 0.0)
                                  for layer in patch.layers):
        return None
    keys = np.stack([notes.start_s, notes.duration_s, notes.velocity, notes.gain, notes.pan], axis=1)
    _unique, group_of, sizes = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    if sizes.max() < 2:
        return None
    group_of = group_of.ravel()
    members = np.split(np.argsort(group_of, kind="stable"), np.cumsum(sizes)[:-1])
    shapes: dict[tuple[float, ...], list[int]] = {}
    for index in members:
        pitches = np.sort(notes.pitch[index])
        lowest = index[np.argmin(notes.pitch[index])]
        shapes.setdefault(tuple(float(p - pitches[0]) for p in pitches), []).append(int(lowest))
    groups = []
    for stream, (chord, lowest) in enumerate(sorted(shapes.items())):
        pick = np.sort(np.asarray(lowest))
        subset = Notes(**{f.name: getattr(notes, f.name)[pick] for f in fields(Notes)})
        groups.append((chord, subset, (stream,)))
    return groups


def render_synth(instrument: str | SynthPatch, notes: Notes, sample_rate_hz: int = 44100,
                 device: str | torch.device = "cpu", seed: int = 0, *, slides: Slides | None = None,
                 num_frames: int | None = None, dtype: torch.dtype = torch.float32,
                 block_frames: int | None = None) -> torch.Tensor:
    """Render notes with a synth patch (a name from list_patches() or a SynthPatch).

    Returns a (2, frames) tensor on `device`. frames defaults to the end of the last audible
    voice; pass num_frames to fix it. `slides` adds per-note pitch slides (808 slides).
    `seed` picks the random start phases and noise; the same input and seed give the same
    audio on the same device.
    """
    patch = get_patch(instrument) if isinstance(instrument, str) else instrument
    device = torch.device(device)
    sr = float(sample_rate_hz)
    groups = _chord_groups(patch, notes) if slides is None else None
    if groups is None:
        groups = [((0.0,), notes, ())]
    plans, ends, voice_count = [], [], 0
    for chord, group_notes, stream in groups:
        voices = _plan_voices(patch, group_notes, slides)
        voice_count += len(voices)
        for index in range(len(patch.layers)):
            plan, end = _plan_layer(patch, index, voices, sr, num_frames, seed, chord, stream)
            plans.append(plan)
            ends.append(end)
    if num_frames is None:
        num_frames = int(max((e.max() for e in ends if len(e)), default=0))
    if num_frames == 0 or voice_count == 0:
        return host_zeros((2, num_frames), dtype, device)

    T = TILE_FRAMES
    noise = None
    if any(layer.waveform == "noise" for layer in patch.layers):
        noise = np.random.default_rng([seed, 0]).uniform(-1.0, 1.0, NOISE_TABLE_FRAMES)
    ctx = _Context.make(sr, dtype, device, noise)
    # Voices are added into the output's whole tiles in place (a (2, tiles, T) view); the
    # partial last tile, if any, collects in `tail`.
    out = host_zeros((2, num_frames), dtype, device)
    full_tiles = num_frames // T
    tiles = out[:, :full_tiles * T].view(2, full_tiles, T)
    tail = torch.zeros(2, T, dtype=dtype, device=device)
    block = block_frames or _default_block_frames(device)
    with torch.inference_mode():
        for plan in plans:
            _render_layer(_to_device(plan, ctx), ctx, tiles, tail, block)
    if num_frames > full_tiles * T:
        out[:, full_tiles * T:] = tail[:, :num_frames - full_tiles * T]
    return out
