"""Loudness measurement (ITU-R BS.1770-4) and mastering to a loudness target in torch.

* `measure_loudness_lufs`: K-weighting, 400 ms blocks with 75 % overlap, absolute gate at
  -70 LUFS and relative gate 10 LU below the absolute-gated loudness. Equals pyloudnorm's
  BS.1770-exact meter (``filter_class="DeMan"``, the same filters) to < 0.01 LU and its default
  meter (RBJ approximations of the filters) to < 0.1 LU.
* `true_peak_dbtp`: BS.1770-4 annex 2 true peak, with more than the annex's minimum: 8x
  oversampling at 44.1/48 kHz (16x at 22.05 kHz) through a 32-tap-per-phase Kaiser-windowed
  sinc, run only on the blocks that can hold the maximum (exact; see `_BlockTruePeak`). The
  annex's 12-tap example filter read rendered music ~0.1 dB under ffmpeg's `ebur128` meter,
  and two 4x meters on different grids (ffmpeg resamples to 48 kHz first) still differ by up
  to ~0.06 dB where a mix has content near Nyquist; at 8x the reading is within ~0.01 dB of
  the continuous peak, at or above what 4x meters read (tests/engine/test_loudness_meters.py).
* `loudness_range_lu`: EBU Tech 3342 loudness range from 3 s short-term loudness.
* `master`: gain to the target, a true-peak-aware look-ahead limiter, then measure and
  iterate until the loudness is within ``tolerance_lu`` of the target and the true peak is at
  or below the ceiling.

Inputs are float tensors (..., channels, frames) (1-D = mono) on any device; leading dims are a
batch and results have the batch shape. Channel order for the BS.1770 weights is L, R, C, Ls, Rs
(surrounds weigh 1.41); more than 5 channels is an error.

Edge cases, on purpose without NaNs:
* Digital silence, or audio whose every block is below the -70 LUFS absolute gate, measures
  -inf LUFS (as pyloudnorm); its true peak is -inf dBTP for all-zero audio. `master` returns
  such audio unchanged with ``gain_applied_db = 0`` and a warning in the report.
* Audio shorter than one 400 ms gating block is measured as a single block over its whole
  length (BS.1770 leaves it undefined; pyloudnorm raises). Only whole blocks are used
  otherwise, as the Recommendation says (pyloudnorm also counts one final partial block).
* A target that cannot be reached under the ceiling (e.g. isolated clicks) ends where at most
  MAX_LIMITING_DB of limiting gets it, and the report's warnings say so.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from studio.engine.dsp.effects import (
    Chain,
    Compressor,
    HighPassFilter,
    _linked_block_peak,
    _upsample_linear,
    apply_biquads,
    db_to_gain,
    follow_envelope,
    run_jobs,
)

__all__ = [
    "k_weighting_sections",
    "measure_loudness_lufs",
    "loudness_range_lu",
    "true_peak_dbtp",
    "default_glue",
    "master",
    "limit_true_peak",
    "dip_true_peaks",
    "true_peak_oversampling",
    "METER_MARGIN_DB",
    "TARGET_LUFS",
    "TRUE_PEAK_CEILING_DBTP",
]

TARGET_LUFS = -14.0  # where a finished master sits: the streaming platforms' loudness norm
TRUE_PEAK_CEILING_DBTP = -1.0  # what streaming platforms ask of the files they receive (lossy exports: io/export.py)
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
_BLOCK_SEGMENTS = 4  # a 400 ms gating block is four 100 ms hops (75 % overlap)
_SHORT_TERM_SEGMENTS = 30  # 3 s short-term loudness for the loudness range
_CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)
MAX_LIMITING_DB = 24.0  # most gain the mastering limiter may be asked to absorb
# `master` lands true peaks this far under its ceiling: other BS.1770 meters (other filters,
# ffmpeg's resampling to 48 kHz first) read music ~0.01 dB apart from this one, and 16-bit
# dither adds up to 2 LSB; so files read <= the ceiling on any of them.
METER_MARGIN_DB = 0.05

# True-peak interpolation (BS.1770-4 annex 2): a polyphase low-pass at the oversampled rate,
# 32 taps per phase, Kaiser window (beta 9, ~90 dB stopband), cut off at the input's Nyquist
# frequency; about the design of ffmpeg's resampler, which its `ebur128` meter runs. (The
# annex's 12-tap example has ~0.2 dB of passband ripple and droops near Nyquist.)
_TRUE_PEAK_TAPS = 32
_TRUE_PEAK_KAISER_BETA = 9.0
# Output n of phase p interpolates between input frames n-16 and n-15 (an even-length filter
# falls between samples; the samples themselves are counted separately).
_TRUE_PEAK_DELAY_FRAMES = _TRUE_PEAK_TAPS // 2
TRUE_PEAK_MIN_RATE_HZ = 352800  # oversample at least to here: 8x 44.1 kHz (the annex asks 4x)


# ---------------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------------


def k_weighting_sections(sample_rate_hz: int) -> list[tuple[float, float, float, float, float]]:
    """The two K-weighting biquads (high shelf "head" filter, then the RLB high-pass).

    Derived from their analog prototypes by the bilinear transform (B. De Man's fit), which
    reproduces the coefficient tables of BS.1770-4 at 48 kHz and generalises to any rate.
    """
    k = math.tan(math.pi * 1681.974450955533 / sample_rate_hz)
    q = 0.7071752369554196
    vh = 10.0 ** (3.999843853973347 / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = ((vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
             2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0)
    k = math.tan(math.pi * 38.13547087602444 / sample_rate_hz)
    q = 0.5003270373238773
    a0 = 1.0 + k / q + k * k
    high_pass = (1.0, -2.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0)
    return [shelf, high_pass]


def _as_channels(audio: Tensor) -> Tensor:
    if not isinstance(audio, Tensor) or not audio.is_floating_point():
        raise TypeError("audio must be a floating-point torch.Tensor shaped (..., channels, frames)")
    audio = audio.unsqueeze(0) if audio.dim() == 1 else audio
    if audio.shape[-2] > len(_CHANNEL_WEIGHTS):
        raise ValueError(f"BS.1770 weights are defined for up to 5 channels (L R C Ls Rs), got {audio.shape[-2]}")
    return audio


def _weighted_energy(audio: Tensor, sample_rate_hz: int, block_frames: int) -> tuple[Tensor, int]:
    """K-weighted energy per block of ``block_frames``, channel-weighted and summed:
    (..., blocks) float64 (the last partial block is dropped). Audio shorter than one 400 ms
    gating block gives one block of its whole length (see the module notes); the returned
    block length says which."""
    x = _as_channels(audio)
    weighted = apply_biquads(x, sample_rate_hz, k_weighting_sections(sample_rate_hz))
    weights = torch.tensor(_CHANNEL_WEIGHTS[: x.shape[-2]], dtype=torch.float64, device=x.device)
    frames = x.shape[-1]
    if frames < _BLOCK_SEGMENTS * _hop_frames(sample_rate_hz):
        energy = weighted.square().sum(dim=-1, dtype=torch.float64).unsqueeze(-1)  # (..., C, 1)
        return (energy * weights.unsqueeze(-1)).sum(dim=-2), frames
    blocks = frames // block_frames
    energy = weighted[..., : blocks * block_frames].reshape(*weighted.shape[:-1], blocks, block_frames)
    # Norm of each (short) block in float32, squared in float64: ~3x faster than a float64
    # sum of squares, and a sum of a few thousand squares at most loses nothing that matters.
    energy = torch.linalg.vector_norm(energy, dim=-1).to(torch.float64).square()  # (..., C, blocks)
    return (energy * weights.unsqueeze(-1)).sum(dim=-2), block_frames


def _hop_frames(sample_rate_hz: int) -> int:
    return max(1, round(0.1 * sample_rate_hz))  # 100 ms: the gating step (75 % block overlap)


def _segments(block_energy: Tensor, block_frames: int, hop: int) -> tuple[Tensor, int]:
    """Sum per-block energies into 100 ms segments (block_frames divides hop). The lone block
    of a clip shorter than 400 ms passes through (any longer audio has >= 4 blocks)."""
    if block_frames == hop or block_energy.shape[-1] == 1:
        return block_energy, block_frames
    per = hop // block_frames
    count = block_energy.shape[-1] // per
    return block_energy[..., : count * per].reshape(*block_energy.shape[:-1], count, per).sum(-1), hop


def _window_power(segment_energy: Tensor, hop: int, window_segments: int) -> Tensor:
    """Mean square over sliding windows of whole segments, hop one segment: (..., windows)."""
    count = segment_energy.shape[-1]
    if count == 1 and window_segments == _BLOCK_SEGMENTS:  # the lone short block
        return segment_energy / max(hop, 1)
    if count < window_segments:
        return segment_energy[..., :0]
    csum = F.pad(torch.cumsum(segment_energy, dim=-1), (1, 0))
    return (csum[..., window_segments:] - csum[..., :-window_segments]) / (window_segments * hop)


def _power_to_lufs(power: Tensor) -> Tensor:
    return -0.691 + 10.0 * torch.log10(power)


def _gated_loudness(block_power: Tensor) -> Tensor:
    """BS.1770 two-stage gating over blocks (..., blocks) -> LUFS (...), -inf if none pass."""
    loudness = _power_to_lufs(block_power)
    above_absolute = loudness >= ABSOLUTE_GATE_LUFS
    absolute_mean = (block_power * above_absolute).sum(-1) / above_absolute.sum(-1).clamp_min(1)
    relative_gate = _power_to_lufs(absolute_mean) + RELATIVE_GATE_LU
    kept = (loudness > relative_gate.unsqueeze(-1)) & (loudness > ABSOLUTE_GATE_LUFS)
    mean = (block_power * kept).sum(-1) / kept.sum(-1).clamp_min(1)
    return torch.where(kept.any(-1), _power_to_lufs(mean), torch.full_like(mean, -math.inf))


def _integrated(segment_energy: Tensor, hop: int) -> Tensor:
    return _gated_loudness(_window_power(segment_energy, hop, _BLOCK_SEGMENTS))


def _loudness_range(segment_energy: Tensor, hop: int) -> Tensor:
    """EBU Tech 3342 loudness range from 100 ms segment energies (0 when under 3 s)."""
    if segment_energy.shape[-1] < _SHORT_TERM_SEGMENTS:
        return torch.zeros(segment_energy.shape[:-1], dtype=torch.float64, device=segment_energy.device)
    power = _window_power(segment_energy, hop, _SHORT_TERM_SEGMENTS)
    loudness = _power_to_lufs(power)
    above_absolute = loudness >= ABSOLUTE_GATE_LUFS
    mean = (power * above_absolute).sum(-1) / above_absolute.sum(-1).clamp_min(1)
    kept = above_absolute & (loudness >= (_power_to_lufs(mean) + LRA_RELATIVE_GATE_LU).unsqueeze(-1))
    values = torch.where(kept, loudness, torch.full_like(loudness, math.nan))
    levels = torch.tensor([0.10, 0.95], dtype=values.dtype, device=values.device)
    quantiles = torch.nanquantile(values, levels, dim=-1)
    spread = quantiles[1] - quantiles[0]
    return torch.where(kept.any(-1), spread, torch.zeros_like(spread))


def measure_loudness_lufs(audio: Tensor, sample_rate_hz: int) -> Tensor:
    """Integrated loudness (LUFS) per item: a float64 tensor of the batch shape (0-d for one
    track; use ``float()``). -inf for silence; see the module notes for short audio."""
    hop = _hop_frames(sample_rate_hz)
    return _integrated(*_weighted_energy(audio, sample_rate_hz, hop))


def loudness_range_lu(audio: Tensor, sample_rate_hz: int) -> Tensor:
    """Loudness range (EBU Tech 3342): spread between the 10th and 95th percentile of 3 s
    short-term loudness (every 100 ms) after a -70 LUFS absolute and -20 LU relative gate.
    0.0 when the audio is shorter than 3 s or silent."""
    hop = _hop_frames(sample_rate_hz)
    energy, length = _weighted_energy(audio, sample_rate_hz, hop)
    return _loudness_range(energy, length) if length == hop else torch.zeros(energy.shape[:-1], dtype=torch.float64, device=energy.device)


_TRUE_PEAK_BLOCK = 16  # output frames per row of the polyphase matmul
_TRUE_PEAK_CHUNK_ROWS = 16384  # rows per matmul on CPU: 256k frames, temporaries stay in cache


def true_peak_oversampling(sample_rate_hz: int) -> int:
    """Oversampling factor of the true-peak meter, a multiple of 4 that takes the rate to at
    least 352.8 kHz: 8 at 44.1 and 48 kHz, 16 at 22.05 kHz."""
    return 4 * max(1, math.ceil(TRUE_PEAK_MIN_RATE_HZ / (4 * max(int(sample_rate_hz), 1))))


@lru_cache(maxsize=8)
def true_peak_phases(oversampling: int = 4) -> Tensor:
    """(oversampling, 32) float64 taps: phase p interpolates at (p + 1/2) / oversampling of a
    frame past frame n-16 (see `_TRUE_PEAK_DELAY_FRAMES`). Each phase is normalised to unit DC
    gain, so a constant reads as itself."""
    length = oversampling * _TRUE_PEAK_TAPS
    offset = torch.arange(length, dtype=torch.float64) - (length - 1) / 2
    window = torch.kaiser_window(length, periodic=False, beta=_TRUE_PEAK_KAISER_BETA, dtype=torch.float64)
    prototype = torch.sinc(offset / oversampling) * window  # low-pass at the input's Nyquist
    phases = prototype.reshape(_TRUE_PEAK_TAPS, oversampling).T.contiguous()  # phase p: taps p, p + L, ...
    return phases / phases.sum(dim=-1, keepdim=True)


def _true_peak_gain_bound(oversampling: int) -> float:
    """Largest gain of any phase (sum of its |taps|), a hair up: no interpolated value exceeds
    it times the largest |sample| of its window, so a window max times this bounds the peak."""
    return max(1.0, float(true_peak_phases(oversampling).abs().sum(dim=-1).max())) * (1.0 + 1e-6)


@lru_cache(maxsize=8)
def _true_peak_block_matrix(block_frames: int, oversampling: int = 4) -> Tensor:
    """(block + 31, block * L): one block's window (15 frames before, 16 after) to the L
    phases' outputs of each of its frames, laid out frame-major."""
    taps = true_peak_phases(oversampling).to(torch.float32)
    matrix = torch.zeros((block_frames + _TRUE_PEAK_TAPS - 1, block_frames, oversampling))
    frame = torch.arange(block_frames)
    for j in range(_TRUE_PEAK_TAPS):
        matrix[frame + _TRUE_PEAK_TAPS - 1 - j, frame, :] = taps[:, j]
    return matrix.reshape(block_frames + _TRUE_PEAK_TAPS - 1, block_frames * oversampling)


def _frame_true_peak(audio: Tensor, oversampling: int = 4) -> Tensor:
    """The full computation (every frame; the reference `_BlockTruePeak` is tested against).
    Per-frame peak magnitude including the oversampled values between the frame and the next
    one, linked over channels: (..., frames).

    The interpolation (32 taps per phase) is a matmul of overlapping windows (read in place
    through a strided view) with a fixed banded matrix: BLAS work instead of a strided
    convolution. On CPU it goes in chunks of 256k frames so the oversampled phase outputs stay
    in cache; on a GPU one chunk per channel."""
    x = _as_channels(audio)
    frames = x.shape[-1]
    rows = x.reshape(-1, frames).to(torch.float32)
    block, span = _TRUE_PEAK_BLOCK, _TRUE_PEAK_BLOCK + _TRUE_PEAK_TAPS - 1
    before = _TRUE_PEAK_TAPS - 1 - _TRUE_PEAK_DELAY_FRAMES
    count = -(-frames // block)
    padded = rows.new_zeros((rows.shape[0], before + count * block + _TRUE_PEAK_DELAY_FRAMES))
    padded[:, before : before + frames] = rows
    matrix = _true_peak_block_matrix(block, oversampling).to(x.device)
    chunk = _TRUE_PEAK_CHUNK_ROWS if x.device.type == "cpu" else max(count, 1)
    peak = rows.new_empty((rows.shape[0], count * block))
    for r in range(rows.shape[0]):
        for start in range(0, count, chunk):
            n = min(count, start + chunk) - start
            windows = padded.as_strided((n, span), (block, 1), padded.storage_offset() + r * padded.stride(0) + start * block)
            phases = (windows @ matrix).abs_().view(n, block, oversampling).amax(dim=-1)
            samples = padded[r, before + start * block : before + (start + n) * block].abs().view(n, block)
            torch.maximum(phases, samples, out=peak[r, start * block : (start + n) * block].view(n, block))
    peak = peak[:, :frames]
    return peak.reshape(*x.shape[:-1], frames).amax(dim=-2).to(audio.dtype)


_TRUE_PEAK_EXACT_BLOCKS = 1 << 15  # blocks per gathered chunk of the exact computation


class _BlockTruePeak:
    """True peak (oversampled, linked over channels) per block of ``block_frames``, equal to
    ``_block_max(_frame_true_peak(x, oversampling), block_frames)`` but computed only where it
    can matter.

    A cheap upper bound per block comes first: the largest |sample| in the block's window times
    the largest gain of any interpolation phase. `peaks_above(threshold)` then runs the exact
    interpolation only on the blocks whose bound exceeds the threshold (mastered or limited
    audio has few of them: the bulk sits well under its peaks) and keeps the bound elsewhere,
    where both are <= the threshold. So a limiter that only asks "how far over the ceiling is
    each block?" gets exactly the answer of the full computation, at a fraction of its cost.
    """

    def __init__(self, audio: Tensor, block_frames: int, oversampling: int = 4):
        x = _as_channels(audio).to(torch.float32)
        self.batch_shape = x.shape[:-2]
        self.channels, self.frames = x.shape[-2], x.shape[-1]
        self.block = block_frames
        self.oversampling = oversampling
        rows = x.reshape(-1, self.channels, self.frames)
        items = rows.shape[0]
        self.blocks = -(-self.frames // block_frames)
        before = _TRUE_PEAK_TAPS - 1 - _TRUE_PEAK_DELAY_FRAMES  # 15 frames of history per window
        self.before = before
        # Zero-padded copy: every block's window (15 before, 16 after) lies inside it.
        length = before + self.blocks * block_frames + _TRUE_PEAK_DELAY_FRAMES
        self.padded = rows.new_zeros((items * self.channels, length))
        self.padded[:, before : before + self.frames] = rows.reshape(-1, self.frames)
        # Upper bound: max |sample| (linked over channels) over the window of frames
        # b*block-15 .. b*block+block+15, taken as the max over the neighbouring blocks it touches.
        level = _linked_block_peak(rows, block_frames)  # (items, blocks)
        self.sample_peak = level.amax(dim=-1)
        reach = -(-(_TRUE_PEAK_TAPS - 1) // block_frames)
        window_max = F.max_pool1d(level.unsqueeze(1), 2 * reach + 1, stride=1, padding=reach).squeeze(1)
        self.bound = window_max * _true_peak_gain_bound(oversampling)
        self.peak = self.bound.clone()
        self.exact = torch.zeros_like(self.bound, dtype=torch.bool)

    def _compute(self, which: Tensor) -> None:
        """Exact peaks of the (item, block) pairs where ``which`` is True."""
        item, block_index = which.nonzero(as_tuple=True)
        span = self.block + _TRUE_PEAK_TAPS - 1
        matrix = _true_peak_block_matrix(self.block, self.oversampling).to(self.padded.device)
        offsets = torch.arange(span, device=self.padded.device)
        channel = torch.arange(self.channels, device=self.padded.device)
        frame_in_block = torch.arange(self.block, device=self.padded.device)
        for c0 in range(0, item.shape[0], _TRUE_PEAK_EXACT_BLOCKS):
            it, bl = item[c0 : c0 + _TRUE_PEAK_EXACT_BLOCKS], block_index[c0 : c0 + _TRUE_PEAK_EXACT_BLOCKS]
            start = bl * self.block  # window start in padded coordinates (15 frames of history)
            rows = (it * self.channels).unsqueeze(-1) + channel  # (n, C)
            windows = self.padded[rows.unsqueeze(-1), (start.unsqueeze(-1) + offsets).unsqueeze(1)]  # (n, C, span)
            phases = (windows @ matrix).abs_().view(*windows.shape[:-1], self.block, self.oversampling).amax(dim=-1)
            samples = windows[..., self.before : self.before + self.block].abs()
            per_frame = torch.maximum(phases, samples).amax(dim=-2)  # (n, block), linked
            valid = (start.unsqueeze(-1) + frame_in_block) < self.frames  # frames past the end do not count
            self.peak[it, bl] = torch.where(valid, per_frame, torch.zeros_like(per_frame)).amax(dim=-1)
        self.exact[item, block_index] = True

    def peaks_above(self, threshold: Tensor | float) -> Tensor:
        """Per-block peaks (*batch, blocks), exact wherever the exact value may exceed
        ``threshold`` (linear, a float or one per item); elsewhere an upper bound <= threshold."""
        limit = torch.as_tensor(threshold, dtype=self.bound.dtype, device=self.bound.device)
        limit = limit.reshape(-1, 1) if limit.dim() else limit
        todo = (self.bound > limit) & ~self.exact
        if bool(todo.any()):
            self._compute(todo)
        return self.peak.reshape(*self.batch_shape, self.blocks)

    def maximum(self) -> Tensor:
        """Exact true peak per item (*batch): blocks are refined from the highest bound down,
        until no block left can beat the largest exact peak found."""
        best = self.sample_peak.clone()  # the true peak is never below the sample peak
        while True:
            todo = (self.bound > best.unsqueeze(-1)) & ~self.exact
            if not bool(todo.any()):
                break
            # Refine the most promising blocks first; their peaks usually rule out the rest.
            chosen = torch.zeros_like(todo)
            candidates = torch.where(todo, self.bound, torch.zeros_like(self.bound))
            count = min(_TRUE_PEAK_EXACT_BLOCKS, int(todo.sum(dim=-1).max()))
            top = candidates.topk(count, dim=-1).indices
            chosen.scatter_(-1, top, True)
            self._compute(chosen & todo)
            best = torch.maximum(best, torch.where(self.exact, self.peak, torch.zeros_like(self.peak)).amax(dim=-1))
        return best.reshape(self.batch_shape)


def true_peak_dbtp(audio: Tensor, sample_rate_hz: int) -> Tensor:
    """Maximum true peak (dBTP) per item per BS.1770-4 annex 2: oversampled 8x at 44.1 kHz
    (`true_peak_oversampling`) and linked over channels. Never below the sample peak.
    -inf for all-zero audio.

    Exact, but the interpolation only runs on the blocks that can hold the maximum (see
    `_BlockTruePeak`)."""
    x = _as_channels(audio)
    if x.shape[-1] == 0:
        return torch.full(x.shape[:-2], -math.inf, dtype=torch.float64, device=x.device)
    peaks = _BlockTruePeak(x, _TRUE_PEAK_BLOCK, true_peak_oversampling(sample_rate_hz))
    return 20.0 * torch.log10(peaks.maximum().to(torch.float64))


# ---------------------------------------------------------------------------------------------
# Mastering
# ---------------------------------------------------------------------------------------------


def default_glue() -> Chain:
    """A gentle bus treatment for audio already at about -14 LUFS: a 25 Hz rumble filter and
    1.5:1 compression with slow attack, so transients pass and the mix is held together."""
    return Chain([HighPassFilter(cutoff_frequency_hz=25.0), Compressor(threshold_db=-14.0, ratio=1.5, attack_ms=30.0, release_ms=250.0, knee_db=8.0)])


def _window_max(x: Tensor, span: int) -> Tensor:
    """out[..., i] = max(x[..., i : i + span]): length n - span + 1, the same values as
    ``max_pool1d(x, span, stride=1)``. Windows doubled in width (2, 4, 8 ...) and one last
    overlapping step: ~log2(span) element-wise maxima instead of span comparisons per point
    (25 -> 15 ms for the limiter's 31-point look-ahead over 1.1 M control points)."""
    width = 1
    while 2 * width <= span:
        x = torch.maximum(x[..., :-width], x[..., width:])
        width *= 2
    if width < span:
        x = torch.maximum(x[..., : -(span - width)], x[..., span - width :])
    return x


def _window_mean(x: Tensor, span: int) -> Tensor:
    """out[..., i] = mean(x[..., i : i + span]) from a float64 running sum (length n - span + 1;
    15 -> 7 ms against avg_pool1d for the limiter's look-ahead)."""
    total = F.pad(torch.cumsum(x, dim=-1, dtype=torch.float64), (1, 0))
    return ((total[..., span:] - total[..., :-span]) / span).to(x.dtype)


def _limiter_reduction_db(required_db: Tensor, lookahead_blocks: int, release_blocks: float) -> Tensor:
    """Smooth gain reduction (dB, >= 0) that is at least ``required_db`` at every control point.

    1. max over each point and its neighbours, so linearly interpolating the result between
       control points never undershoots (frames between two points see both);
    2. instant-attack, exponential-release hold (`follow_envelope`'s first stage);
    3. look-ahead attack: a running max over the L points before, then a mean over the L points
       after. Each averaged value came from a window that contains the point itself, so the
       mean is still >= the requirement there, and the reduction ramps in over L points before
       a peak instead of jumping.
    """
    lead = required_db.shape[:-1]
    r = required_db.reshape(-1, 1, required_db.shape[-1])
    r = _window_max(F.pad(r, (1, 1)), 3)
    r = follow_envelope(r, 0.0, release_blocks)
    span = max(1, lookahead_blocks)
    r = _window_max(F.pad(r, (span - 1, 0)), span)
    # The running mean rounds differently from avg_pool1d's; a hair up keeps "the mean of
    # windows that each hold the requirement is >= the requirement" true in float64.
    r = _window_mean(F.pad(r, (0, span - 1)), span) * (1.0 + 1e-12)
    return r.reshape(*lead, -1)


def _limiter_block_frames(sample_rate_hz: int) -> int:
    """Control period of the limiter: about 1/6000 s, and a divisor of the 100 ms hop so that
    loudness can be estimated from per-block energies."""
    hop = _hop_frames(sample_rate_hz)
    block = max(1, int(sample_rate_hz // 6000))
    while hop % block:
        block -= 1
    return block


def _report(**values) -> dict:
    return {k: (v.tolist() if isinstance(v, Tensor) else v) for k, v in values.items()}


def master(
    audio: Tensor,
    sample_rate_hz: int,
    target_lufs: float = TARGET_LUFS,
    true_peak_ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP,
    *,
    glue: Callable[[Tensor, int], Tensor] | None = None,
    lookahead_ms: float = 5.0,
    release_ms: float = 100.0,
    tolerance_lu: float = 0.1,
    max_iterations: int = 8,
) -> tuple[Tensor, dict]:
    """Master to ``target_lufs`` integrated loudness with true peaks <= ``true_peak_ceiling_dbtp``
    (by METER_MARGIN_DB, so independent meters agree).

    1. Gain the input to the target; apply the optional ``glue`` effect (e.g. `default_glue()`)
       at that known level, so its thresholds mean something.
    2. Analyse once: K-weighted energy and oversampled true peak per limiter block (~0.17 ms).
    3. Search the gain on those block values: the limiter's gain-reduction curve (look-ahead,
       smooth, stereo-linked; `_limiter_reduction_db`) keeps every block's true peak under the
       ceiling, and the loudness of the limited signal is estimated from the block energies
       times the block gains. A secant step raises the gain by the shortfall (limiting makes
       loudness grow slower than gain); at most ``max_iterations`` steps per render. This loop
       costs nothing per frame.
    4. Render once and measure exactly (BS.1770 loudness, true peak). If the loudness is off by
       more than ``tolerance_lu`` or the true peak is over (the gain changes themselves move
       inter-sample peaks a little), correct the target gain / lower the internal ceiling and
       go back to 3 (at most 3 renders). After the last pass an item still over the ceiling is scaled down to it,
       which is exact since true peak scales with gain.

    The limiter reaches full reduction over ``lookahead_ms`` before a peak (no latency: this is
    offline) and recovers with time constant ``release_ms``.

    Output samples satisfy |x| <= 10**(ceiling/20) (< 1 for a negative ceiling). Returns
    (audio, report); report values are floats for one track and nested lists of the batch shape
    for batched input: integrated_lufs, true_peak_dbtp, sample_peak_dbfs, gain_applied_db (static
    gain before the limiter, glue stage included), limiter_max_reduction_db, loudness_range_lu,
    input_integrated_lufs, iterations (exact renders) and warnings (list of strings).
    """
    x = _as_channels(audio)
    squeeze_mono = audio.dim() == 1
    frames = x.shape[-1]
    batch_shape = x.shape[:-2]
    warnings: list[str] = []
    if frames == 0:
        empty = torch.full(batch_shape, -math.inf, dtype=torch.float64)
        zeros = torch.zeros(batch_shape, dtype=torch.float64)
        return audio, _report(
            integrated_lufs=empty, true_peak_dbtp=empty, sample_peak_dbfs=empty, gain_applied_db=zeros,
            limiter_max_reduction_db=zeros, loudness_range_lu=zeros, input_integrated_lufs=empty, iterations=0,
            warnings=["empty input: returned unchanged"],
        )

    def per_item(values: Tensor) -> Tensor:  # (batch) -> broadcastable against (batch, C, N)
        return values.reshape(*batch_shape, 1, 1).to(x.dtype)

    hop = _hop_frames(sample_rate_hz)
    block = _limiter_block_frames(sample_rate_hz)
    energy, energy_block = _weighted_energy(x, sample_rate_hz, block)
    input_lufs = _integrated(*_segments(energy, energy_block, hop))
    silent = ~torch.isfinite(input_lufs)
    if bool(silent.any()):
        warnings.append("silent input (below the -70 LUFS gate): returned unchanged")
    glue_gain_db = torch.zeros_like(input_lufs)
    if glue is not None:
        glue_gain_db = torch.where(silent, glue_gain_db, target_lufs - input_lufs)
        x = torch.where(per_item(silent) > 0, x, glue(x * per_item(db_to_gain(glue_gain_db)), sample_rate_hz))

    # Analysis of the limiter's input, per control block: loudness and true peaks (these computed
    # exactly only on the blocks that the gain being tried could push over the ceiling, see
    # `_BlockTruePeak`); the two are independent, so they run side by side on the CPU.
    analysis = [lambda: _BlockTruePeak(x, block, true_peak_oversampling(sample_rate_hz))]
    if glue is not None:
        analysis.append(lambda: _weighted_energy(x, sample_rate_hz, block))
    block_peaks, *measured = run_jobs(analysis, x.device)
    if measured:
        energy, energy_block = measured[0]
    control_hz = sample_rate_hz / block
    lookahead_blocks = max(1, round(lookahead_ms * 1e-3 * control_hz))
    release_blocks = release_ms * 1e-3 * control_hz
    short = energy_block != block  # one whole-clip block: its gain is the mean block gain

    def limiter_gain_db(gain_db: Tensor, ceiling_db: Tensor) -> tuple[Tensor, Tensor]:
        # Blocks whose peak is under ceiling - gain need no reduction: their exact peak is moot.
        # (The threshold sits a hair low so float rounding cannot make a kept bound count.)
        peaks = block_peaks.peaks_above(db_to_gain(ceiling_db - gain_db).to(torch.float32) * (1.0 - 1e-5))
        peak_db = 20.0 * torch.log10(peaks.to(torch.float64).clamp_min(1e-10))
        required = (peak_db + (gain_db - ceiling_db).unsqueeze(-1)).clamp_min(0.0)
        reduction = _limiter_reduction_db(required, lookahead_blocks, release_blocks)
        return gain_db.unsqueeze(-1) - reduction, reduction

    def estimated_lufs(curve_db: Tensor) -> Tensor:
        power_gain = torch.pow(10.0, curve_db / 10.0)
        if short:
            weighted = energy * power_gain.mean(-1, keepdim=True)
        else:
            weighted = energy * power_gain[..., : energy.shape[-1]]
        return _integrated(*_segments(weighted, energy_block, hop))

    start_lufs = _integrated(*_segments(energy, energy_block, hop))
    silent = silent | ~torch.isfinite(start_lufs)
    gain_db = torch.where(silent, torch.zeros_like(start_lufs), target_lufs - start_lufs)
    # Never push more than MAX_LIMITING_DB into the limiter: past that, more gain only turns up
    # what lies between peaks (e.g. a click track cannot reach the target).
    max_gain_db = gain_db + MAX_LIMITING_DB
    aim_lufs = torch.full_like(gain_db, target_lufs)  # moved by the exact-vs-estimate difference
    # True peaks must end at or under `ceiling` (METER_MARGIN_DB under the requested one). The
    # limiter aims 0.01 dB lower still: peaks it pins land within float rounding of its target,
    # and that must not count as over (it would cost another render).
    ceiling = true_peak_ceiling_dbtp - METER_MARGIN_DB
    ceiling_db = torch.full_like(gain_db, ceiling - 0.01)
    renders = 0
    for renders in range(1, 4):
        previous: tuple[Tensor, Tensor] | None = None
        for _ in range(max_iterations):
            curve_db, reduction = limiter_gain_db(gain_db, ceiling_db)
            estimate = estimated_lufs(curve_db)
            error = torch.where(silent, torch.zeros_like(gain_db), aim_lufs - estimate)
            if bool((error.abs() <= tolerance_lu / 4).all()):
                break
            slope = torch.ones_like(gain_db)
            if previous is not None:
                step_gain, step_lufs = gain_db - previous[0], estimate - previous[1]
                moved = step_gain.abs() > 1e-9
                slope = torch.where(moved, (step_lufs / torch.where(moved, step_gain, slope)).clamp(0.1, 1.0), slope)
            previous = (gain_db, estimate)
            gain_db = torch.minimum(gain_db + error / slope, max_gain_db)
        curve = db_to_gain(curve_db)
        curve = torch.where(silent.unsqueeze(-1), torch.ones_like(curve), curve).to(x.dtype)
        y = x * _upsample_linear(curve, block, frames).unsqueeze(-2)
        (final_energy, final_length), peak = run_jobs(
            [lambda: _weighted_energy(y, sample_rate_hz, hop), lambda: true_peak_dbtp(y, sample_rate_hz)], y.device)
        loudness = _integrated(final_energy, final_length)
        over = peak - ceiling
        off = torch.where(silent, torch.zeros_like(loudness), target_lufs - loudness)
        if bool(((off.abs() <= tolerance_lu) & (over <= 0.0)).all()):
            break
        aim_lufs = aim_lufs + torch.where(off.abs() > tolerance_lu / 2, off, torch.zeros_like(off))
        ceiling_db = torch.where(over > 0.0, ceiling_db - over - 0.02, ceiling_db)

    over = torch.where(silent, torch.zeros_like(peak), peak - ceiling)
    if bool((over > 0.0).any()):  # last resort
        scale = db_to_gain(-over.clamp_min(0.0))
        y = y * per_item(scale)
        final_energy = final_energy * (scale * scale).unsqueeze(-1)  # energy scales with gain squared
        loudness = _integrated(final_energy, final_length)
        peak = true_peak_dbtp(y, sample_rate_hz)
    y = y.clamp(-1.0, 1.0)  # a no-op for ceilings below 0 dBTP; guards a ceiling set above it
    if bool(((~silent) & ((loudness - target_lufs).abs() > 0.5)).any()):
        warnings.append(f"could not reach {target_lufs} LUFS under a {true_peak_ceiling_dbtp} dBTP ceiling for some input")

    report = _report(
        integrated_lufs=loudness,
        true_peak_dbtp=peak,
        sample_peak_dbfs=20.0 * torch.log10(y.abs().amax(dim=(-2, -1)).to(torch.float64)),
        gain_applied_db=torch.where(silent, torch.zeros_like(gain_db), gain_db + glue_gain_db),
        limiter_max_reduction_db=reduction.amax(dim=-1) if reduction.shape[-1] else torch.zeros_like(gain_db),
        loudness_range_lu=_loudness_range(final_energy, final_length) if final_length == hop else torch.zeros_like(gain_db),
        input_integrated_lufs=input_lufs,
        iterations=renders,
        warnings=warnings,
    )
    return (y[0] if squeeze_mono else y), report


def limit_true_peak(audio: Tensor, sample_rate_hz: int, true_peak_ceiling_dbtp: float, *,
                    gain_db: float = 0.0) -> tuple[Tensor, dict]:
    """One track (channels, frames) gained by ``gain_db``, its true peak brought under
    ``true_peak_ceiling_dbtp`` (by METER_MARGIN_DB) and its integrated loudness kept where the
    gain puts it: `master` aimed at that loudness, i.e. its limiter without glue. Audio already
    under the ceiling is only gained; audio too quiet to gate (no loudness to keep) is scaled
    down. The report has the result's ``true_peak_dbtp`` and ``integrated_lufs``."""
    peak = float(true_peak_dbtp(audio, sample_rate_hz)) + gain_db
    loudness = float(measure_loudness_lufs(audio, sample_rate_hz)) + gain_db
    ceiling = true_peak_ceiling_dbtp - METER_MARGIN_DB
    if peak <= ceiling or not math.isfinite(loudness):
        gain_db = min(gain_db, gain_db + ceiling - peak)
        peak_after = peak + min(0.0, ceiling - peak)
        out = audio if gain_db == 0.0 else audio * db_to_gain(gain_db)
        return out, {"true_peak_dbtp": peak_after, "integrated_lufs": loudness + min(0.0, ceiling - peak)}
    limited, report = master(audio, sample_rate_hz, loudness, true_peak_ceiling_dbtp)
    return limited, {"true_peak_dbtp": report["true_peak_dbtp"], "integrated_lufs": report["integrated_lufs"]}


def dip_true_peaks(audio: Tensor, sample_rate_hz: int, reference: Tensor, ceiling_dbtp: float, *,
                   lookahead_ms: float = 30.0, release_ms: float = 100.0) -> tuple[Tensor, float]:
    """Smooth gain dips on one track (channels, frames) where ``reference`` (the same length,
    e.g. its lossy decode) has true peaks over ``ceiling_dbtp``, each dip as deep as the
    reference's excess there: the limiter's gain curve, driven by another signal's peaks. The
    long look-ahead covers an MP3 granule (13 ms) before a peak, where codec noise spreads.
    Returns (audio, deepest dip in dB); audio unchanged where the reference is under."""
    x, ref = _as_channels(audio), _as_channels(reference)
    if ref.shape[-1] != x.shape[-1] or x.dim() != 2:
        raise ValueError("dip_true_peaks takes one track and a reference of the same length")
    block = _limiter_block_frames(sample_rate_hz)
    limit = db_to_gain(ceiling_dbtp)
    peaks = _BlockTruePeak(ref, block, true_peak_oversampling(sample_rate_hz)).peaks_above(limit * (1.0 - 1e-5))
    required = (20.0 * torch.log10(peaks.to(torch.float64).clamp_min(1e-10)) - ceiling_dbtp).clamp_min(0.0)
    if not bool((required > 0).any()):
        return audio, 0.0
    control_hz = sample_rate_hz / block
    reduction = _limiter_reduction_db(required, max(1, round(lookahead_ms * 1e-3 * control_hz)), release_ms * 1e-3 * control_hz)
    curve = db_to_gain(-reduction).to(x.dtype)
    out = x * _upsample_linear(curve, block, x.shape[-1]).unsqueeze(-2)
    return (out[0] if audio.dim() == 1 else out), float(reduction.max())
