"""Batched SoundFont sample playback in torch.

`render_notes(soundfont, notes)` turns a list of notes into stereo audio. The work is split in
two stages:

1. Planning (numpy, CPU): every note is matched to the zones (layers) of its preset through a
   key x velocity lookup table; each (note, zone) pair becomes a *voice* with its pitch ratio,
   loop points, envelope, gain and pan, and a length that ends when the voice can no longer be
   heard (release tail below -96 dB, or the end of a one-shot sample).
2. Rendering (torch, on the device): voices are cut into *pieces*, the parts of a voice that
   fall into one output tile of `TILE_FRAMES` frames. A block of pieces is a (pieces, TILE)
   matrix: the playback phase is computed for all of it at once, turned into a sample index
   and a fraction, and linear interpolation reads each sample with the step to the next one
   (one gather), then the volume envelope and the pan gains are applied. The output is written
   in place: each block is added into the (tracks, 2, frames) result as slices of consecutive
   tiles for each voice's run of pieces, or with one row-wise `index_add_` per track when a
   block holds many short voices. Looping zones are stored with their loop unrolled past its
   end for as far as one tile can read (see `_compact_samples`), so a piece's start is wrapped
   into the loop once and no sample needs wrapping.

There is no Python loop per sample or per note, only per block of pieces (per-piece parameters
are prepared for a batch of blocks at once). Memory stays bounded by the block size, the output
and the (compacted) sample data of the zones actually used. Same input on the same device gives
the same output: each output sample receives the pieces in order (slice adds, and CPU
`index_add_` adds in index order; on CUDA it runs in torch's deterministic mode), so the block
size does not change the result.

CPU threads: the work is a few hundred large element-wise ops, parallelised by torch (OpenMP).
With OpenMP's default spin-waiting, every op stalls when another process holds a core; run the
process with OMP_WAIT_POLICY=PASSIVE (set before torch is imported) to keep that cheap.

Not modelled (yet): the modulation/vibrato LFOs, the modulation envelope, the low-pass filter,
modulators other than the default velocity-to-attenuation curve, chorus and reverb sends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Sequence

import numpy as np
import torch

from studio.engine.instruments.soundfont import DRUM_BANK, SoundFont, Zone
from studio.engine.instruments.tiles import deterministic_on, host_zeros

TILE_FRAMES = 256  # output tile = length of a piece; small enough to waste little at note edges
ENVELOPE_STEP_FRAMES = 16  # the envelope is evaluated every 16 frames and linearly interpolated
NOISE_FLOOR_CB = 960.0  # a voice ends once it is 96 dB (16-bit noise floor) below full scale
EMU_ATTENUATION_FACTOR = 0.4  # FluidSynth and EMU hardware scale initialAttenuation by 0.4
VELOCITY_RANGE_CB = 960.0  # default velocity-to-attenuation modulator: 96 dB, concave curve
CHOKE_RELEASE_S = 0.01  # release of a voice cut by a newer one of the same exclusive class
_LN10_OVER_200 = math.log(10.0) / 200.0  # amplitude = exp(-cB * ln(10) / 200)


@dataclass
class Notes:
    """Notes as equal-length arrays (numpy, torch or lists); scalars are broadcast.

    pitch is a MIDI key (fractional values detune); velocity is 1..127; drums use is_drum=True
    (bank 128, program = kit number); pan is -1 (left) .. 1 (right) added to the zone's pan;
    gain is a linear factor.
    """

    start_s: np.ndarray
    duration_s: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    program: np.ndarray | int = 0
    bank: np.ndarray | int = 0
    is_drum: np.ndarray | bool = False
    pan: np.ndarray | float = 0.0
    gain: np.ndarray | float = 1.0

    def __post_init__(self) -> None:
        arrays = {f.name: _as_numpy(getattr(self, f.name)) for f in fields(self)}
        n = len(arrays["start_s"])
        for name, value in arrays.items():
            if value.ndim == 0:
                value = np.full(n, value)
            if value.shape != (n,):
                raise ValueError(f"Notes.{name} has shape {value.shape}; expected ({n},) like start_s")
            arrays[name] = value
        self.start_s = arrays["start_s"].astype(np.float64)
        self.duration_s = arrays["duration_s"].astype(np.float64)
        self.pitch = arrays["pitch"].astype(np.float64)
        self.velocity = arrays["velocity"].astype(np.float64)
        self.program = arrays["program"].astype(np.int64)
        self.bank = arrays["bank"].astype(np.int64)
        self.is_drum = arrays["is_drum"].astype(bool)
        self.pan = arrays["pan"].astype(np.float64)
        self.gain = arrays["gain"].astype(np.float64)

    def __len__(self) -> int:
        return len(self.start_s)

    @property
    def end_s(self) -> np.ndarray:
        return self.start_s + self.duration_s

    @classmethod
    def concat(cls, parts: Sequence[Notes]) -> Notes:
        if not parts:
            return cls(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})


def _as_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


@dataclass
class VoicePlan:
    """Per-voice parameters (numpy arrays of equal length) plus the compacted sample buffer."""

    sample_rate_hz: int
    num_frames: int
    samples: np.ndarray  # float32: the used zones' sample data, back to back
    note: np.ndarray  # index of the note each voice plays
    track: np.ndarray
    start_frame: np.ndarray  # int64, output frame of the note-on
    length_frames: np.ndarray  # int64, frames rendered (note + audible release tail)
    off_frames: np.ndarray  # note-off, frames after the start
    phase_step: np.ndarray  # float64, sample positions advanced per output frame
    segment: np.ndarray  # int64, offset of the zone's data in `samples`
    last_index: np.ndarray  # int64, last readable position relative to the segment
    loop_segment: np.ndarray  # int64, offset of the zone's looping copy (the loop unrolled, see _compact_samples)
    loop_last: np.ndarray  # int64, last readable position relative to the looping copy
    loop_start: np.ndarray  # int64, relative to the segment
    loop_end: np.ndarray
    loop_always: np.ndarray  # bool: sample mode 1
    loop_until_release: np.ndarray  # bool: sample mode 3
    loop_release_frame: np.ndarray  # int64: where a mode-3 voice stops looping (tile-aligned)
    loop_release_phase: np.ndarray  # float64: its phase at that frame
    delay_frames: np.ndarray  # float32 volume envelope, in frames
    attack_frames: np.ndarray
    hold_end_frames: np.ndarray
    decay_cb_per_frame: np.ndarray
    sustain_cb: np.ndarray
    release_cb_per_frame: np.ndarray
    release_level: np.ndarray  # envelope amplitude at note-off
    gain_left: np.ndarray  # static gain (attenuation, velocity, note gain) x pan law
    gain_right: np.ndarray

    def __len__(self) -> int:
        return len(self.start_frame)


_ZONE_FIELDS = ("start", "end", "loop_start", "loop_end", "sample_rate_hz", "root_key", "tune_cents",
                "scale_tuning_cents", "sample_mode", "attenuation_cb", "pan", "delay_s", "attack_s", "hold_s",
                "decay_s", "sustain_cb", "release_s", "key_to_hold_tc", "key_to_decay_tc", "exclusive_class",
                "fixed_key", "fixed_velocity")


def _zone_arrays(zones: Sequence[Zone]) -> dict[str, np.ndarray]:
    return {name: np.array([getattr(z, name) for z in zones]) for name in _ZONE_FIELDS}


def plan_voices(soundfont: SoundFont, notes: Notes, sample_rate_hz: int = 44100, *,
                track: np.ndarray | None = None, num_frames: int | None = None) -> VoicePlan:
    """Match notes to zones and work out every voice's playback parameters (CPU, vectorised)."""
    sr = float(sample_rate_hz)
    track = np.zeros(len(notes), dtype=np.int64) if track is None else np.asarray(track, dtype=np.int64)
    finite = np.isfinite(notes.start_s) & np.isfinite(notes.duration_s) & np.isfinite(notes.pitch)
    playable = finite & (notes.duration_s > 0) & (notes.velocity >= 1) & (notes.gain > 0)
    bank = np.where(notes.is_drum, DRUM_BANK, notes.bank)
    program = np.clip(notes.program, 0, 127)
    key = np.clip(np.rint(notes.pitch), 0, 127).astype(np.int64)
    velocity = np.clip(np.rint(notes.velocity), 1, 127).astype(np.int64)

    # Zone selection: one lookup per preset group, all layers at once.
    note_parts, zone_parts, tables = [], [], []
    zone_offset = 0
    slot = bank * 128 + program
    for slot_value in np.unique(slot[playable]):
        preset = soundfont.preset_zones(int(slot_value) // 128, int(slot_value) % 128)
        if not preset.zones:
            continue
        members = np.flatnonzero(playable & (slot == slot_value))
        layers = preset.lookup[key[members], velocity[members]]  # (notes, layers)
        row, col = np.nonzero(layers >= 0)
        note_parts.append(members[row])
        zone_parts.append(layers[row, col].astype(np.int64) + zone_offset)
        tables.append(_zone_arrays(preset.zones))
        zone_offset += len(preset.zones)
    if not note_parts:
        return _empty_plan(sample_rate_hz, num_frames)
    n = np.concatenate(note_parts)
    zone_table = {name: np.concatenate([t[name] for t in tables]) for name in _ZONE_FIELDS}
    z = {name: values[np.concatenate(zone_parts)] for name, values in zone_table.items()}

    # Pitch: cents away from the sample's root key, then the sample-rate ratio.
    play_key = np.where(z["fixed_key"] >= 0, z["fixed_key"], notes.pitch[n])
    cents = (play_key - z["root_key"]) * z["scale_tuning_cents"] + z["tune_cents"]
    phase_step = np.exp2(cents / 1200.0) * z["sample_rate_hz"] / sr

    # Level: initialAttenuation (EMU-scaled) + the SF2 default velocity curve (concave, 96 dB),
    # which works out to an amplitude of (velocity/127)^2.
    play_velocity = np.where(z["fixed_velocity"] >= 1, z["fixed_velocity"], velocity[n])
    velocity_cb = np.minimum(-400.0 * np.log10(play_velocity / 127.0), VELOCITY_RANGE_CB)
    static_cb = EMU_ATTENUATION_FACTOR * z["attenuation_cb"] + velocity_cb
    static_gain = np.exp(-static_cb * _LN10_OVER_200) * notes.gain[n]
    headroom_cb = NOISE_FLOOR_CB + 200.0 * np.log10(np.maximum(static_gain, 1e-30))  # cB left above the floor
    pan = np.clip(z["pan"] + notes.pan[n], -1.0, 1.0)
    angle = (pan + 1.0) * (math.pi / 4.0)  # equal-power pan law: centre = -3 dB per side

    # Volume envelope in frames; hold and decay scale with the key (keynumToVolEnvHold/Decay).
    delay = z["delay_s"] * sr
    attack = np.maximum(z["attack_s"] * sr, 1.0)
    hold = z["hold_s"] * np.exp2(z["key_to_hold_tc"] * (60 - play_key) / 1200.0) * sr
    decay = np.maximum(z["decay_s"] * np.exp2(z["key_to_decay_tc"] * (60 - play_key) / 1200.0) * sr, 1.0)
    release = np.maximum(z["release_s"] * sr, 1.0)
    sustain_cb = z["sustain_cb"]

    start_frame = np.rint(notes.start_s[n] * sr).astype(np.int64)
    off = np.maximum(np.rint(notes.duration_s[n] * sr), 1.0)
    release = _apply_exclusive_classes(z["exclusive_class"], track[n], slot[n], start_frame, off, release, sr)

    hold_end = delay + attack + hold
    release_level = _envelope_before_release(off, delay, attack, hold_end, 960.0 / decay, sustain_cb)
    release_level_cb = -200.0 * np.log10(np.maximum(release_level, 1e-30))
    # Audible length: the release tail down to the floor, or sooner when the decay gets there.
    length = off + release * np.maximum(headroom_cb - release_level_cb, 0.0) / NOISE_FLOOR_CB
    decays_out = sustain_cb >= headroom_cb
    length = np.where(decays_out, np.minimum(length, hold_end + decay * np.maximum(headroom_cb, 0) / 960.0), length)

    # Loops. Mode-3 voices stop looping at the first tile boundary after note-off.
    seg_start, seg_end = z["start"], z["end"]
    loop_start = z["loop_start"] - seg_start
    loop_end = z["loop_end"] - seg_start
    loop_len = np.maximum(loop_end - loop_start, 1)
    loop_always = z["sample_mode"] == 1
    loop_until_release = z["sample_mode"] == 3
    absolute_off = start_frame + off.astype(np.int64)
    loop_release_frame = -(-absolute_off // TILE_FRAMES) * TILE_FRAMES - start_frame
    linear = phase_step * loop_release_frame
    loop_release_phase = np.where(linear >= loop_end, loop_start + np.fmod(linear - loop_start, loop_len), linear)
    sample_len = seg_end - seg_start
    last_index = np.where(loop_always, loop_end - 1, sample_len - 1)
    one_shot_end = np.where(
        loop_until_release,
        loop_release_frame + (last_index - loop_release_phase) / phase_step,
        last_index / phase_step,
    )
    length = np.where(loop_always, length, np.minimum(length, one_shot_end))
    length = np.ceil(np.maximum(length, 0.0)).astype(np.int64)

    keep = (length > 0) & (headroom_cb > 0)
    samples, segment, loop_segment, loop_last = _compact_samples(
        soundfont, seg_start, seg_end, z["loop_start"], z["loop_end"], loop_always, loop_until_release, phase_step, keep)
    end_frames = start_frame + length
    if num_frames is None:
        num_frames = max(int(end_frames[keep].max()), 0) if keep.any() else 0

    def k(values):
        return np.ascontiguousarray(values[keep])

    return VoicePlan(
        sample_rate_hz=int(sample_rate_hz), num_frames=int(num_frames), samples=samples,
        note=k(n), track=k(track[n]), start_frame=k(start_frame), length_frames=k(length),
        off_frames=k(off), phase_step=k(phase_step), segment=k(segment),
        last_index=k(last_index), loop_segment=k(loop_segment), loop_last=k(loop_last),
        loop_start=k(loop_start), loop_end=k(loop_end),
        loop_always=k(loop_always), loop_until_release=k(loop_until_release),
        loop_release_frame=k(loop_release_frame), loop_release_phase=k(loop_release_phase),
        delay_frames=k(delay), attack_frames=k(attack), hold_end_frames=k(hold_end),
        decay_cb_per_frame=k(960.0 / decay), sustain_cb=k(sustain_cb),
        release_cb_per_frame=k(960.0 / release), release_level=k(release_level),
        gain_left=k(static_gain * np.cos(angle)), gain_right=k(static_gain * np.sin(angle)),
    )


def _envelope_before_release(t, delay, attack, hold_end, decay_cb_per_frame, sustain_cb):
    """Volume envelope amplitude at frame t (numpy or torch), ignoring note-off.

    Attack rises linearly in amplitude; decay falls linearly in centibels down to the sustain
    level. Both factors are 1 outside their stage, so their product covers all stages."""
    lib = torch if isinstance(t, torch.Tensor) else np
    rise = lib.clip((t - delay) / attack, 0.0, 1.0)
    decay_cb = lib.minimum(lib.clip((t - hold_end) * decay_cb_per_frame, 0.0, None), sustain_cb)
    return rise * lib.exp(-decay_cb * _LN10_OVER_200)


def _apply_exclusive_classes(exclusive, track, slot, start, off, release, sr):
    """A voice with exclusiveClass > 0 is cut (quick release) when a later note of the same
    class starts on the same preset and track: open hi-hats are choked by closed ones.
    Updates `off` in place and returns the adjusted release times."""
    chosen = np.flatnonzero(exclusive > 0)
    if len(chosen) == 0:
        return release
    _, group = np.unique(np.stack([track[chosen], slot[chosen], exclusive[chosen]]), axis=1, return_inverse=True)
    group = group.ravel()
    order = np.lexsort((start[chosen], group))
    g_sorted, s_sorted = group[order], start[chosen][order]
    s_rel = s_sorted - s_sorted.min()  # >= 0, so group * span + start sorts by group, then start
    combined = g_sorted * (int(s_rel.max()) + 2) + s_rel
    after = np.searchsorted(combined, combined, side="right")  # first voice starting strictly later
    has_next = after < len(order)
    after_c = np.minimum(after, len(order) - 1)
    has_next &= g_sorted[after_c] == g_sorted
    voices = chosen[order][has_next]
    cut = s_sorted[after_c][has_next] - start[voices]
    release = release.copy()
    cut_earlier = cut < off[voices]
    off[voices] = np.where(cut_earlier, cut, off[voices])
    release[voices] = np.where(cut_earlier, np.minimum(release[voices], CHOKE_RELEASE_S * sr), release[voices])
    return release


def _compact_samples(soundfont, seg_start, seg_end, loop_start, loop_end, loop_always, loop_until_release,
                     phase_step, keep):
    """Copy the sample data of the zones in use into one float32 buffer.

    Each distinct zone gets its own segment: the sample and the one sample after its end
    (silence in a well-formed SoundFont). A looping zone also gets a looping copy instead (mode
    1) or besides (mode 3, which plays the linear data after the release): the data up to the
    loop end, followed by the loop body repeated for as far as one output tile of its fastest
    voice reads past the loop end. A tile of a looping voice then reads straight through, with
    no wrapping per sample: its start is wrapped into the loop once per tile.
    Returns (samples, segment, loop_segment, loop_last) with one offset per voice."""
    mode = np.where(loop_always, 1, np.where(loop_until_release, 3, 0))
    keys = np.stack([seg_start, seg_end, loop_start, loop_end, mode], axis=1)
    unique, inverse = np.unique(keys[keep], axis=0, return_inverse=True)
    inverse = inverse.ravel()
    fastest = np.zeros(len(unique))
    np.maximum.at(fastest, inverse, phase_step[keep])
    pieces, segments, loops, lasts, total = [], [], [], [], 0
    for (s, e, ls, le, m), step in zip(unique.tolist(), fastest):
        segment = loop = total
        last = 0
        if m != 1:
            pieces.append(soundfont.samples_float(s, e + 1))
            total += len(pieces[-1])
        if m in (1, 3):
            body = soundfont.samples_float(ls, max(le, ls + 1))
            reach = (le - ls) + math.ceil(step * TILE_FRAMES) + 2
            data = np.concatenate([soundfont.samples_float(s, ls), np.tile(body, -(-reach // len(body)))])
            loop, last = total, len(data) - 2
            if m == 1:
                segment = loop
            pieces.append(data)
            total += len(data)
        segments.append(segment)
        loops.append(loop)
        lasts.append(last)

    def per_voice(values):
        out = np.zeros(len(keys), dtype=np.int64)
        if len(values):
            out[keep] = np.asarray(values, dtype=np.int64)[inverse]
        return out

    samples = np.concatenate(pieces) if pieces else np.zeros(1, dtype=np.float32)
    return samples.astype(np.float32, copy=False), per_voice(segments), per_voice(loops), per_voice(lasts)


def _empty_plan(sample_rate_hz: int, num_frames: int | None) -> VoicePlan:
    empty = {f.name: np.zeros(0) for f in fields(VoicePlan)}
    empty.update(sample_rate_hz=int(sample_rate_hz), num_frames=int(num_frames or 0),
                 samples=np.zeros(1, dtype=np.float32))
    return VoicePlan(**empty)


# -- rendering --

def _default_block_frames(device: torch.device) -> int:
    # CPU: ~1 MB work buffers (measured fastest on 2 cores: smaller blocks pay more per-op
    # overhead, larger ones fall out of cache); GPU: large blocks keep it busy.
    return 1 << 18 if device.type == "cpu" else 1 << 23


# Per-piece parameters are prepared for many blocks at once (one batch), so a block itself is
# just ~15 large element-wise ops: the per-op overhead of small tensors stays amortised.
_BATCH_FRAMES = 1 << 20
# A block whose pieces belong to at most this many voices adds them to the output as slices of
# consecutive tiles (cheaper than a row-wise index_add_).
_MAX_SLICE_RUNS = 8

# Columns of the per-voice tables gathered for each batch of pieces (one gather per table
# instead of one per parameter). Positions/frames are float64: exact up to 2^53.
_WIDE = ("start", "first_tile", "piece_offset", "step", "segment", "last", "loop_segment", "loop_last",
         "loop_start", "loop_end", "loop_always", "loop_until_release", "loop_release_frame", "loop_release_phase")
_ENV = ("delay", "attack", "hold_end", "decay_rate", "sustain", "off", "release_rate", "release_level",
        "end", "gain_left", "gain_right")


def render_plan(plan: VoicePlan, *, tracks: int = 1, device: str | torch.device = "cpu",
                dtype: torch.dtype = torch.float32, block_frames: int | None = None) -> torch.Tensor:
    """Render a VoicePlan to a (tracks, 2, frames) tensor on `device`."""
    device = torch.device(device)
    T = TILE_FRAMES
    n_frames = plan.num_frames
    out = host_zeros((tracks, 2, n_frames), dtype, device)
    if len(plan) == 0 or n_frames == 0:
        return out

    # Voices in track order (then by start), so that a block's pieces go to few output tracks.
    order = np.lexsort((plan.start_frame, plan.track))
    track = plan.track[order].astype(np.int64)
    start = plan.start_frame[order]
    # Pieces: voice v covers output tiles first_tile[v] .. last tile (clipped to the output;
    # a note that starts before 0 s is heard from 0 s on).
    end = np.minimum(start + plan.length_frames[order], n_frames)
    first_tile = np.maximum(start, 0) // T
    piece_count = np.where(end > np.maximum(start, 0), (np.maximum(end, 1) - 1) // T - first_tile + 1, 0)
    piece_offset = np.concatenate([[0], np.cumsum(piece_count)])
    total_pieces = int(piece_offset[-1])

    def column(values):
        return np.asarray(values)[order]

    wide = np.stack([
        start, first_tile, piece_offset[:-1], column(plan.phase_step), column(plan.segment),
        column(plan.last_index), column(plan.loop_segment), column(plan.loop_last), column(plan.loop_start),
        column(plan.loop_end), column(plan.loop_always), column(plan.loop_until_release),
        column(plan.loop_release_frame), column(plan.loop_release_phase),
    ], axis=1).astype(np.float64)
    env = np.stack([
        column(plan.delay_frames), column(plan.attack_frames), column(plan.hold_end_frames),
        column(plan.decay_cb_per_frame), column(plan.sustain_cb), column(plan.off_frames),
        column(plan.release_cb_per_frame), column(plan.release_level), column(plan.length_frames),
        column(plan.gain_left), column(plan.gain_right),
    ], axis=1)
    samples = torch.as_tensor(plan.samples, device=device).to(dtype)
    tables = _VoiceTables(
        wide=torch.as_tensor(wide, device=device),
        env=torch.as_tensor(env, device=device).to(dtype),
        piece_offset=torch.as_tensor(piece_offset[:-1], device=device),
        # Each sample with the step to the next one: linear interpolation reads both with one gather.
        pairs=torch.stack([samples, torch.cat([samples[1:], samples[-1:]]) - samples], dim=1),
    )

    # Whole output tiles of each (track, channel) are views of `out`; a partial last tile is
    # collected in `tail` and copied in at the end.
    full_tiles = n_frames // T
    tiles = out[:, :, :full_tiles * T].view(tracks, 2, full_tiles, T)
    tail = torch.zeros(tracks, 2, T, dtype=dtype, device=device)
    voice_last_tile = first_tile + piece_count - 1
    partial_voice = np.flatnonzero((piece_count > 0) & (voice_last_tile == full_tiles))
    partial_piece = piece_offset[partial_voice + 1] - 1

    block = max(1, min(total_pieces, (block_frames or _default_block_frames(device)) // T))
    batch = max(block, _BATCH_FRAMES // T // block * block)  # a whole number of blocks
    work = _Workspace(block, dtype, device)
    with torch.inference_mode():
        for b0 in range(0, total_pieces, batch):
            pieces = _prepare_pieces(b0, min(b0 + batch, total_pieces), tables, work, full_tiles)
            for p0 in range(0, pieces.count, block):
                p1 = min(p0 + block, pieces.count)
                stereo = _render_block(pieces, p0, p1, tables.pairs, work)
                g0, g1 = b0 + p0, b0 + p1  # pieces of the whole plan
                v0 = np.searchsorted(piece_offset, g0, side="right") - 1
                v1 = np.searchsorted(piece_offset, g1 - 1, side="right")
                lo, hi = np.searchsorted(partial_piece, [g0, g1])
                for piece, voice in zip(partial_piece[lo:hi].tolist(), partial_voice[lo:hi].tolist()):
                    tail[track[voice]] += stereo[:, piece - g0]
                    stereo[:, piece - g0] = 0.0
                _overlap_add(tiles, stereo, pieces.tile[p0:p1], g0, piece_offset, first_tile, track, v0, v1)
    if n_frames > full_tiles * T:
        out[:, :, full_tiles * T:] = tail[:, :, :n_frames - full_tiles * T]
    return out


def _overlap_add(tiles: torch.Tensor, stereo: torch.Tensor, tile: torch.Tensor, g0: int, piece_offset: np.ndarray,
                 first_tile: np.ndarray, track: np.ndarray, v0: int, v1: int) -> None:
    """Add a block's (2, pieces, T) into the output tiles (tracks, 2, full tiles, T): for few
    voices as slices of consecutive tiles, else with a row-wise index_add_ per track. Either way
    each output sample receives the pieces in order, so the result does not depend on the block
    size."""
    full_tiles = tiles.shape[2]
    if not full_tiles:
        return
    g1 = g0 + stereo.shape[1]
    run_start = np.maximum(piece_offset[v0:v1], g0)
    run_end = np.minimum(piece_offset[v0 + 1:v1 + 1], g1)
    if v1 - v0 <= _MAX_SLICE_RUNS:
        run_tile = first_tile[v0:v1] + run_start - piece_offset[v0:v1]
        run_count = np.minimum(run_end - run_start, full_tiles - run_tile)
        for a, t, n, k in zip(run_start.tolist(), run_tile.tolist(), run_count.tolist(), track[v0:v1].tolist()):
            if n > 0:
                tiles[k, :, t:t + n].add_(stereo[:, a - g0:a - g0 + n])
        return
    # Pieces are in track order: one index_add_ per track and channel.
    tracks = track[v0:v1]
    edges = np.flatnonzero(np.diff(tracks)) + 1
    with deterministic_on(tiles.device):
        for lo, hi in zip(np.r_[0, edges], np.r_[edges, len(tracks)]):
            a, b = int(run_start[lo]) - g0, int(run_end[hi - 1]) - g0
            for channel in range(2):
                tiles[int(tracks[lo]), channel].index_add_(0, tile[a:b], stereo[channel, a:b])


@dataclass
class _VoiceTables:
    wide: torch.Tensor  # (voices, len(_WIDE)) float64
    env: torch.Tensor  # (voices, len(_ENV)) in the output dtype
    piece_offset: torch.Tensor  # (voices,) first piece of each voice
    pairs: torch.Tensor  # (samples, 2): the compacted sample data, each sample with the step to the next


class _Workspace:
    """Reusable block buffers. On CPU, allocating multi-MB tensors per op costs more than the
    math (fresh pages every time), so each block writes into these with out=/in-place ops."""

    def __init__(self, block: int, dtype: torch.dtype, device: torch.device):
        T, R = TILE_FRAMES, ENVELOPE_STEP_FRAMES
        self.phase = torch.empty((block, T), dtype=dtype, device=device)
        self.envelope = torch.empty((block, T), dtype=dtype, device=device)
        self.index = torch.empty((block, T), dtype=torch.int64, device=device)
        pair_dtype = torch.float64 if dtype == torch.float32 else torch.complex128
        self.pairs = torch.empty(block * T, dtype=pair_dtype, device=device)  # two samples per element
        self.mono = torch.empty(block * T, dtype=dtype, device=device)
        self.stereo = torch.empty((2, block, T), dtype=dtype, device=device)
        self.frame = torch.arange(T, dtype=dtype, device=device)  # frame within a tile
        self.ramp = torch.arange(R, dtype=dtype, device=device) / R  # position between envelope points
        self.grid = torch.arange(T // R + 1, dtype=dtype, device=device) * R  # envelope points in a tile


@dataclass
class _Pieces:
    """Per-piece parameters for a batch of pieces (index 0 = the batch's first piece)."""

    count: int
    step: torch.Tensor  # (P, 1) phase step per output frame
    start_fraction: torch.Tensor  # (P, 1) fractional phase at the piece's first frame
    base: torch.Tensor  # (P, 1) int64 sample index of that frame in the compacted buffer
    envelope: torch.Tensor  # (P, T/R, 1) envelope points
    slope: torch.Tensor  # (P, T/R, 1) envelope change between points
    gain_left: torch.Tensor  # (P, 1)
    gain_right: torch.Tensor
    tile: torch.Tensor  # (P,) output tile (0 for a piece in the partial last tile)
    # Rows whose indices must be clamped into the sample (a voice's first piece: frames before
    # note-on; one-shots running out).
    clamp_rows: torch.Tensor
    clamp_params: torch.Tensor  # (rows, 2) int64: lowest and highest index
    clamp_bounds: list[int]  # clamp_rows[bounds[k]:bounds[k+1]] fall in block k


def _prepare_pieces(p0: int, p1: int, tables: _VoiceTables, work: _Workspace, full_tiles: int) -> _Pieces:
    T, P = TILE_FRAMES, p1 - p0
    device = tables.wide.device
    dtype = tables.env.dtype
    # Which voice each piece belongs to, and where in that voice the piece starts.
    piece = torch.arange(p0, p1, device=device)
    voice = torch.searchsorted(tables.piece_offset, piece, right=True) - 1
    w = dict(zip(_WIDE, tables.wide.index_select(0, voice).unbind(1)))
    local = piece - w["piece_offset"]  # 0 for a voice's first piece
    tile = w["first_tile"] + local
    t0 = tile * T - w["start"]  # frames since note-on at the piece's first frame (< 0 before it)

    # Phase (sample position) at the piece start, float64: positions reach millions of samples.
    # A looping piece starts inside the loop and reads the zone's looping copy (the loop unrolled
    # past its end, see _compact_samples), so no sample of it needs wrapping.
    step, loop_start, loop_end = w["step"], w["loop_start"], w["loop_end"]
    loop_len = (loop_end - loop_start).clamp(min=1)
    linear = step * t0
    wrapped = torch.where(linear >= loop_end, loop_start + torch.fmod(linear - loop_start, loop_len), linear)
    until_release = w["loop_until_release"] > 0
    released = until_release & (t0 >= w["loop_release_frame"])
    loops = (w["loop_always"] > 0) | (until_release & ~released)
    phase = torch.where(loops, wrapped, linear)
    phase = torch.where(released, w["loop_release_phase"] + step * (t0 - w["loop_release_frame"]), phase)
    whole = torch.floor(phase)
    segment = torch.where(loops, w["loop_segment"], w["segment"])
    last = torch.where(loops, w["loop_last"], w["last"])
    reach = whole + step * T + 1  # furthest index a piece can read

    # Rows that can leave the sample get clamped: a voice's first piece (frames before note-on),
    # one-shots running out.
    block = work.phase.shape[0]
    clamps = (local == 0) | (reach > last)
    clamp_rows = torch.nonzero(clamps).squeeze(1)
    edges = torch.arange(0, P + block, block, device=device).clamp(max=P)
    bounds = torch.searchsorted(clamp_rows, edges).tolist()

    e = dict(zip(_ENV, tables.env.index_select(0, voice).unsqueeze(2).unbind(1)))  # (P, 1) columns
    points = _envelope_points(t0.to(dtype)[:, None] + work.grid, e)  # (P, T/R + 1)
    return _Pieces(
        count=P,
        step=step.to(dtype)[:, None],
        start_fraction=(phase - whole).to(dtype)[:, None],
        base=(whole + segment).to(torch.int64)[:, None],
        envelope=points[:, :-1, None].contiguous(),
        slope=(points[:, 1:] - points[:, :-1])[:, :, None].contiguous(),
        gain_left=e["gain_left"],
        gain_right=e["gain_right"],
        tile=torch.where(tile >= full_tiles, 0, tile).to(torch.int64),
        clamp_rows=clamp_rows,
        clamp_params=torch.stack([segment, segment + last], 1)[clamp_rows].to(torch.int64),
        clamp_bounds=bounds,
    )


def _render_block(pieces: _Pieces, p0: int, p1: int, pairs: torch.Tensor, work: _Workspace) -> torch.Tensor:
    """Render pieces p0..p1 of a batch; returns their (2, pieces, T) stereo audio (a work buffer)."""
    T, R, P = TILE_FRAMES, ENVELOPE_STEP_FRAMES, p1 - p0
    k = p0 // work.phase.shape[0]  # block number within the batch

    # Phase per frame = fraction at the piece start + step * frame (>= 0), split into the sample
    # index (truncation = floor) and the fraction. (mul + add_ rather than addcmul: on CPU
    # addcmul with broadcast columns is ~3x slower.)
    frac, index = work.phase[:P], work.index[:P]
    torch.mul(pieces.step[p0:p1], work.frame, out=frac)
    frac.add_(pieces.start_fraction[p0:p1])
    index.copy_(frac)
    frac.frac_()
    index.add_(pieces.base[p0:p1])
    # Keep indices inside the sample (frames before note-on, after a one-shot's end).
    lo, hi = pieces.clamp_bounds[k], pieces.clamp_bounds[k + 1]
    if hi > lo:
        rows = pieces.clamp_rows[lo:hi] - p0
        lowest, highest = pieces.clamp_params[lo:hi].unsqueeze(2).unbind(1)
        index[rows] = torch.minimum(torch.maximum(index[rows], lowest), highest)

    # Linear interpolation between the two neighbouring samples (one gather of both).
    mono = work.mono[:P * T]
    both = torch.index_select(pairs.view(work.pairs.dtype).view(-1), 0, index.view(-1), out=work.pairs[:P * T])
    both = both.view(pairs.dtype).view(P * T, 2)
    torch.addcmul(both[:, 0], frac.view(-1), both[:, 1], out=mono)

    # Volume envelope: exact every ENVELOPE_STEP_FRAMES frames, linear in between.
    envelope = work.envelope[:P].view(P, T // R, R)
    torch.mul(pieces.slope[p0:p1], work.ramp, out=envelope)
    envelope.add_(pieces.envelope[p0:p1])
    mono.mul_(envelope.view(-1))

    # Pan to stereo.
    mono, stereo = mono.view(P, T), work.stereo[:, :P]
    torch.mul(mono, pieces.gain_left[p0:p1], out=stereo[0])
    torch.mul(mono, pieces.gain_right[p0:p1], out=stereo[1])
    return stereo


def _envelope_points(t: torch.Tensor, e: dict[str, torch.Tensor]) -> torch.Tensor:
    """Envelope amplitude at frames t (since note-on); 0 outside the voice."""
    before = _envelope_before_release(t, e["delay"], e["attack"], e["hold_end"], e["decay_rate"], e["sustain"])
    # Release: falls linearly in cB from the level at note-off. Capped at 1440 cB (-144 dB) so
    # the exponential never produces denormal floats.
    release_cb = ((t - e["off"]) * e["release_rate"]).clamp_(0.0, 1440.0)
    after = e["release_level"] * torch.exp(release_cb.mul_(-_LN10_OVER_200))
    env = torch.where(t < e["off"], before, after)
    return env.masked_fill_((t < 0) | (t >= e["end"]), 0.0)


def render_notes(soundfont: SoundFont, notes: Notes, sample_rate: int = 44100, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32, *, num_frames: int | None = None,
                 block_frames: int | None = None) -> torch.Tensor:
    """Render notes with a SoundFont; returns a (2, frames) tensor on `device`.

    frames defaults to the end of the last audible release tail; pass num_frames to fix it.
    """
    plan = plan_voices(soundfont, notes, sample_rate, num_frames=num_frames)
    return render_plan(plan, tracks=1, device=device, dtype=dtype, block_frames=block_frames)[0]


def render_notes_batch(soundfont: SoundFont, tracks: Sequence[Notes], sample_rate: int = 44100,
                       device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, *,
                       num_frames: int | None = None, block_frames: int | None = None) -> torch.Tensor:
    """Render several note lists in one pass (one batch on the GPU); returns (tracks, 2, frames)."""
    notes = Notes.concat(list(tracks))
    track = np.concatenate([np.full(len(t), i, dtype=np.int64) for i, t in enumerate(tracks)]) if tracks else None
    plan = plan_voices(soundfont, notes, sample_rate, track=track, num_frames=num_frames)
    return render_plan(plan, tracks=max(len(tracks), 1), device=device, dtype=dtype, block_frames=block_frames)
