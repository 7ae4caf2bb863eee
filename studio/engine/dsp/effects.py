"""Audio effects in torch: small frozen dataclasses that are plain callables on tensors.

Every effect is called as ``effect(audio, sample_rate_hz) -> audio`` on a float tensor shaped
``(..., channels, frames)`` (a 1-D tensor is one mono channel); the shape, dtype and device are
kept, and leading dimensions are a batch. Parameter names carry their units (``threshold_db``,
``attack_ms``, ``cutoff_frequency_hz``), as in pedalboard. ``Chain([...])`` applies a list.
Every effect also has an in-place form, ``effect.process_(audio, sample_rate_hz)`` (torch's
trailing underscore): it overwrites ``audio`` with the result and returns it; calling the effect
is ``process_`` on a copy.

How the work is vectorised (no Python loop per sample anywhere):

* Biquad EQ filters are exact IIR filters run as a chunked scan (`apply_biquads`): the signal
  is cut into 64-frame blocks; each block's output is a 64x64 Toeplitz matmul of its own input
  plus the response to the filter state left by earlier blocks, and those states (a few
  numbers per block) follow a linear recurrence solved by a blocked, recursive scan. All of it
  is matmuls, so it runs at BLAS speed on CPU and batches on GPU, and it equals a causal
  biquad run from rest (scipy's ``lfilter``) to float32 precision. A whole EQ is one cascade.
* Long FIR work (reverb) is FFT convolution (`fft_convolve`): overlap-add with an FFT of about
  four times the kernel length, block after block, so memory stays small however long the
  track and the FFT size depends on the kernel, not the track length.
* Dynamics (compressor, ducker) run at a control rate of ~3 kHz: the detector takes the peak of
  each block of frames (so no peak is missed), the gain curve is computed per block and
  linearly interpolated back. The envelope follower is the "smooth decoupled peak detector":
  instant attack with exponential release, then a one-pole low-pass for the attack. The first
  stage, ``r[n] = max(x[n], a * r[n-1])``, is solved exactly without a recursion as
  ``r[n] = a**n * cummax(x[k] / a**k)``, done in the log domain in float64; the one-pole stage
  is a first-order `apply_biquads`.
* Modulated delays (chorus, wow/flutter) read the input at ``n + offset[n]`` with linear
  interpolation: the offset is small and bounded, so it is computed in float32 relative to the
  frame index and split into a whole and a fractional part, and the two taps are gathers.
  Feedback delay echoes are a sum of shifted copies of the input.
* On the CPU, work over the whole track goes in chunks of about 1 MB of samples
  (`_chunk_frames`): temporaries stay small, in cache and reused, instead of full-length
  buffers whose first touch (page faults) can cost more than the arithmetic. On other devices
  a chunk is the whole signal (up to 2**22 frames).

Randomness (reverb impulse response, vinyl crackle) comes only from a ``seed`` through a CPU
``torch.Generator``, so the same parameters give the same audio on every run and device.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Literal, Protocol, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "Effect",
    "Chain",
    "Gain",
    "HighPassFilter",
    "LowPassFilter",
    "LowShelfFilter",
    "HighShelfFilter",
    "PeakFilter",
    "ParametricEQ",
    "Compressor",
    "SidechainDucker",
    "Reverb",
    "Delay",
    "tempo_synced_delay_ms",
    "Chorus",
    "Saturation",
    "StereoWidth",
    "VinylCrackle",
    "WowFlutter",
    "BitCrush",
    "fft_convolve",
    "apply_biquads",
    "biquad_coefficients",
    "rbj_biquad",
    "BIQUAD_KINDS",
    "follow_envelope",
    "db_to_gain",
    "gain_to_db",
]

CONTROL_RATE_HZ = 3000.0  # dynamics gain curves are computed at about this rate
_SILENCE_DB = -200.0  # floor for levels of digital silence

Coefficients = tuple[float, float, float, float, float]  # b0, b1, b2, a1, a2 with a0 = 1


class Effect(Protocol):
    def __call__(self, audio: Tensor, sample_rate_hz: int) -> Tensor: ...


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def db_to_gain(db):
    """Decibels to a linear amplitude factor (float or tensor)."""
    if isinstance(db, Tensor):
        return torch.pow(10.0, db / 20.0)
    return 10.0 ** (db / 20.0)


def gain_to_db(gain):
    """Linear amplitude to decibels; zero maps to -200 dB rather than -inf."""
    if isinstance(gain, Tensor):
        return 20.0 * torch.log10(gain.abs().clamp_min(10.0 ** (_SILENCE_DB / 20.0)))
    return 20.0 * math.log10(max(abs(gain), 10.0 ** (_SILENCE_DB / 20.0)))


def _next_pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def _check_audio(audio: Tensor) -> None:
    if not isinstance(audio, Tensor) or not audio.is_floating_point():
        raise TypeError("audio must be a floating-point torch.Tensor shaped (..., channels, frames)")


def _linked_block_peak(audio: Tensor, block_frames: int) -> Tensor:
    """Peak |audio| over all channels (stereo-linked detection) and each block of frames:
    (..., blocks), the last block partial. Chunk by chunk: |x|, the max over the few channels,
    then a max-pool over the blocks (much faster on CPU than a max over a short inner axis)."""
    x = audio.unsqueeze(0) if audio.dim() == 1 else audio
    frames = x.shape[-1]
    blocks = -(-frames // block_frames)
    peak = x.new_empty((*x.shape[:-2], blocks))
    step = _chunk_frames(x, multiple=block_frames)
    for start, stop in _spans(frames, step):
        level = x[..., start:stop].abs().amax(dim=-2)
        pooled = F.max_pool1d(level.reshape(-1, 1, stop - start), block_frames, ceil_mode=True)
        peak[..., start // block_frames : -(-stop // block_frames)] = pooled.reshape(*level.shape[:-1], -1)
    return peak


def _per_channel(gain: Tensor, audio: Tensor) -> Tensor:
    """A (..., frames) gain curve broadcast against (..., channels, frames) audio."""
    return gain if audio.dim() == 1 else gain.unsqueeze(-2)


def _control_period_frames(sample_rate_hz: int) -> int:
    return max(1, int(sample_rate_hz // CONTROL_RATE_HZ))


def _pad_frames(x: Tensor, frames: int) -> Tensor:
    """Zero-pad the last axis to ``frames`` (one copy; F.pad would also fill the whole buffer)."""
    if x.shape[-1] == frames:
        return x
    out = x.new_empty((*x.shape[:-1], frames))
    out[..., : x.shape[-1]].copy_(x)
    out[..., x.shape[-1] :].zero_()
    return out


def _block_max(x: Tensor, block_frames: int) -> Tensor:
    """Max over consecutive blocks of the last axis (zero-padded at the end): (..., blocks)."""
    if block_frames == 1:
        return x
    n = x.shape[-1]
    blocks = -(-n // block_frames)
    x = _pad_frames(x, blocks * block_frames)
    return x.reshape(*x.shape[:-1], blocks, block_frames).amax(dim=-1)


def _upsample_linear(control: Tensor, block_frames: int, frames: int) -> Tensor:
    """Linear interpolation of per-block values back to frames, each value sitting at the
    centre of its block (edges held), like ``F.interpolate(..., align_corners=False)`` but
    written as two broadcast lerps, which is several times faster on CPU."""
    if block_frames == 1:
        return control[..., :frames]
    padded = torch.cat([control[..., :1], control, control[..., -1:]], dim=-1)
    offset = (torch.arange(block_frames, device=control.device, dtype=control.dtype) + 0.5) / block_frames
    first = offset < 0.5  # frames before the block centre blend with the previous block
    head = torch.lerp(padded[..., :-2, None], padded[..., 1:-1, None], (offset[first] + 0.5))
    tail = torch.lerp(padded[..., 1:-1, None], padded[..., 2:, None], (offset[~first] - 0.5))
    return torch.cat([head, tail], dim=-1).flatten(-2)[..., :frames]


_CPU_CHUNK_VALUES = 1 << 18  # samples (all rows) per chunk of the chunked loops on the CPU
_CPU_CHUNK_FRAMES = (1 << 12, 1 << 20)  # ...within these bounds on the frames
_DEVICE_CHUNK_FRAMES = 1 << 22  # other devices: whole signals up to 95 s at 44.1 kHz


def _chunk_frames(audio: Tensor, minimum: int = 1, multiple: int = 1) -> int:
    """Frames per chunk of a chunked loop over ``audio``: on the CPU about 1 MB of float32
    samples over all rows (temporaries the size of a core's L2 cache, and few enough ops that
    dispatch costs little; see the module docstring), the whole signal on other devices (up to
    2**22 frames, so float32 frame offsets within a chunk stay exact); at least ``minimum``, a
    multiple of ``multiple``."""
    if audio.device.type == "cpu":
        rows = max(1, audio.numel() // max(1, audio.shape[-1]))
        size = min(max(_CPU_CHUNK_VALUES // rows, _CPU_CHUNK_FRAMES[0]), _CPU_CHUNK_FRAMES[1])
    else:
        size = min(audio.shape[-1], _DEVICE_CHUNK_FRAMES)
    size = max(size, minimum, 1)
    return -(-size // multiple) * multiple


def _broadcast_shapes(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    """torch.broadcast_shapes for two shapes (that one imports sympy on first use: ~1 s)."""
    size = max(len(a), len(b))
    a, b = (1,) * (size - len(a)) + tuple(a), (1,) * (size - len(b)) + tuple(b)
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
        raise ValueError(f"shapes {a} and {b} do not broadcast")
    return tuple(y if x == 1 else x for x, y in zip(a, b))


def _spans(frames: int, chunk: int, reverse: bool = False) -> list[tuple[int, int]]:
    """(start, stop) of consecutive chunks of ``chunk`` frames covering ``frames``."""
    spans = [(s, min(frames, s + chunk)) for s in range(0, frames, chunk)]
    return spans[::-1] if reverse else spans


def _scale_by_curve_(audio: Tensor, control: Tensor, block_frames: int) -> Tensor:
    """In place: audio *= `_upsample_linear` (control, block_frames, frames), the per-block curve
    (..., blocks) broadcast over channels. The same numbers as the full curve, built a chunk of
    blocks at a time."""
    frames = audio.shape[-1]
    if frames == 0:
        return audio
    if block_frames == 1:
        return audio.mul_(_per_channel(control[..., :frames], audio))
    blocks = control.shape[-1]
    padded = torch.cat([control[..., :1], control, control[..., -1:]], dim=-1)
    offset = (torch.arange(block_frames, device=control.device, dtype=control.dtype) + 0.5) / block_frames
    first = offset < 0.5
    head_weight, tail_weight = offset[first] + 0.5, offset[~first] - 0.5
    split = head_weight.shape[0]
    step = max(1, _chunk_frames(audio) // block_frames)
    curve = control.new_empty((*control.shape[:-1], min(step, blocks), block_frames))
    for j0 in range(0, blocks, step):
        j1 = min(blocks, j0 + step)
        start, stop = j0 * block_frames, min(frames, j1 * block_frames)
        if start >= stop:
            break
        gain = curve[..., : j1 - j0, :]
        torch.lerp(padded[..., j0:j1, None], padded[..., j0 + 1 : j1 + 1, None], head_weight, out=gain[..., :split])
        torch.lerp(padded[..., j0 + 1 : j1 + 1, None], padded[..., j0 + 2 : j1 + 2, None], tail_weight, out=gain[..., split:])
        audio[..., start:stop].mul_(_per_channel(gain.flatten(-2)[..., : stop - start], audio))
    return audio


JOB_THREADS = 2  # CPU threads of `run_jobs` (the engine's speed target is a 2-core machine)


_MMAP_THRESHOLD_BYTES = 4 << 20


@lru_cache(maxsize=1)
def _limit_malloc_retention() -> None:
    """glibc gives each thread its own malloc arena and, by default, raises the size from which
    a buffer gets its own mmap (returned to the system when freed) up to 32 MB; buffers below
    it stay cached in the arena that freed them. With jobs on threads, each arena kept its own
    cache of multi-MB temporaries: +0.4 GB peak memory on a 3-minute track. A fixed 4 MB
    threshold returns such buffers on free (measured: peak back to that of a serial render).
    Process-wide and harmless elsewhere; a no-op without glibc."""
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, _MMAP_THRESHOLD_BYTES)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def run_jobs(jobs: Sequence[Callable[[], object]], device: torch.device) -> list:
    """Run independent jobs; on the CPU on JOB_THREADS threads (torch releases the GIL inside
    its ops), elsewhere in order. Returns their results in order; re-raises the first error.

    Why threads: the engine's work is thousands of small ops. torch's intra-op (OpenMP)
    threads split each op and meet at a barrier after it, which gains little at these sizes,
    and when other processes keep the cores busy a barrier waits for a descheduled thread: the
    same render measured up to 10x slower on a loaded 2-core machine. Whole jobs side by side
    keep both cores busy without those barriers. Each job must write only its own buffers."""
    jobs = list(jobs)
    if device.type != "cpu" or JOB_THREADS <= 1 or len(jobs) <= 1:
        return [job() for job in jobs]
    _limit_malloc_retention()
    inference = torch.is_inference_mode_enabled()  # thread-local in torch: carried over to the workers

    def run(job: Callable[[], object]) -> object:
        with torch.inference_mode(inference):
            return job()

    with ThreadPoolExecutor(max_workers=min(JOB_THREADS, len(jobs))) as pool:
        futures = [pool.submit(run, job) for job in jobs]
        try:
            return [future.result() for future in futures]
        except BaseException:  # e.g. cancelled: drop the jobs not yet started
            pool.shutdown(cancel_futures=True)
            raise


# ---------------------------------------------------------------------------------------------
# Convolution and biquads
# ---------------------------------------------------------------------------------------------


_FFT_CALL_VALUES = 1 << 22  # samples per FFT call of the overlap-add (rows x blocks x FFT size)


def fft_convolve(audio: Tensor, kernel: Tensor, out: Tensor | None = None) -> Tensor:
    """Causal linear convolution along the last axis, truncated to the input length.

    ``kernel`` (..., taps) broadcasts against ``audio`` (..., frames) (e.g. one kernel per
    channel with shape (channels, taps)). Overlap-add: blocks of ``hop`` input frames go through
    FFTs of size N = 4 x next_pow2(taps) (hop = N - taps + 1) and each block's last ``taps - 1``
    output frames are added to the next block's first. Several blocks of all rows go through one
    FFT call (an FFT call has a large fixed cost on the CPU), a batch after another, so memory
    stays small and the FFT size depends on the kernel, not the track length (a short signal is
    one FFT). ``out`` (the result's shape) receives the result and may be ``audio`` itself: a
    batch's input is read before its output is written.
    """
    return _convolve_into(audio, kernel, out, keep=0.0)


def _convolve_into(audio: Tensor, kernel: Tensor, out: Tensor | None, keep: float,
                   gains: Sequence[float] | None = None) -> Tensor:
    """out = keep * out + gains * (audio convolved with kernel), see `fft_convolve`; ``gains``
    holds one factor per row of the broadcast batch (None: all 1), ``out`` None is a new tensor
    (``keep`` is then ignored)."""
    frames, taps = audio.shape[-1], kernel.shape[-1]
    batch = _broadcast_shapes(audio.shape[:-1], kernel.shape[:-1])
    if out is None:
        out, keep = torch.empty((*batch, frames), dtype=audio.dtype, device=audio.device), 0.0
    if out.shape != (*batch, frames):
        raise ValueError(f"out has shape {tuple(out.shape)}, the convolution {(*batch, frames)}")
    if frames == 0 or taps == 0:
        return out.zero_() if keep == 0.0 else out.mul_(keep)
    if not out.is_contiguous():
        result = _convolve_into(audio, kernel, None, 0.0, gains)
        return out.copy_(result) if keep == 0.0 else out.mul_(keep).add_(result)
    work_dtype = audio.dtype if audio.dtype in (torch.float32, torch.float64) else torch.float32
    rows = math.prod(batch)
    x = audio.expand(*batch, frames).reshape(rows, frames)  # a view for the usual shapes
    y_out = out.view(rows, frames)
    n_fft = min(max(4 * _next_pow2(taps), 16384), _next_pow2(frames + taps - 1))
    hop = n_fft - taps + 1  # >= frames when the whole signal is one FFT
    blocks = -(-frames // hop)
    group = max(1, min(rows, _FFT_CALL_VALUES // n_fft))  # rows per call...
    per_call = max(1, min(blocks, _FFT_CALL_VALUES // (group * n_fft)))  # ...times blocks per call
    kernel_rows = kernel.reshape(-1, taps)
    kernel_of_row = torch.arange(kernel_rows.shape[0]).reshape(kernel.shape[:-1]).expand(batch).reshape(-1).tolist()
    spectra = torch.fft.rfft(kernel_rows.to(device=audio.device, dtype=work_dtype), n=n_fft)
    key, h = None, spectra
    for r0 in range(0, rows, group):
        r1 = min(rows, r0 + group)
        new_key = (tuple(kernel_of_row[r0:r1]), None if gains is None else tuple(gains[r0:r1]))
        if new_key != key:  # rows of a batch usually repeat the previous group's kernels
            key = new_key
            h = spectra.index_select(0, torch.tensor(key[0], device=audio.device))
            if gains is not None:
                h *= torch.tensor(key[1], dtype=work_dtype, device=audio.device).unsqueeze(-1)
            h = h.unsqueeze(-2)  # (rows, 1, bins) against (rows, blocks, bins)
        buffer = x.new_zeros((r1 - r0, per_call, n_fft), dtype=work_dtype)
        tail = x.new_zeros((r1 - r0, taps - 1), dtype=work_dtype)
        for b0 in range(0, blocks, per_call):
            start, stop = b0 * hop, min(frames, (b0 + per_call) * hop)
            full, rest = divmod(stop - start, hop)  # whole blocks, frames of a last partial one
            count = full + (1 if rest else 0)
            buffer[:, :full, :hop].copy_(x[r0:r1, start : start + full * hop].unflatten(-1, (full, hop)))
            if rest:
                buffer[:, full, :rest].copy_(x[r0:r1, start + full * hop : stop])
                buffer[:, full, rest:hop].zero_()
            if count < per_call:
                buffer[:, count:].zero_()
            spectrum = torch.fft.rfft(buffer, n=n_fft)  # (out= is slower here: a copy, another plan)
            spectrum.mul_(h)
            y = torch.fft.irfft(spectrum, n=n_fft)
            if taps > 1:  # overlap-add: each block's tail onto the next block's head
                y[:, 1:count, : taps - 1].add_(y[:, : count - 1, hop:])
                y[:, 0, : taps - 1].add_(tail)
                tail.copy_(y[:, count - 1, hop:])
            pieces = [(y_out[r0:r1, start : start + full * hop].unflatten(-1, (full, hop)), y[:, :full, :hop])]
            if rest:
                pieces.append((y_out[r0:r1, start + full * hop : stop], y[:, full, :rest]))
            for target, result in pieces:
                if keep == 0.0:
                    target.copy_(result)
                elif keep == 1.0:
                    target.add_(result)
                else:
                    target.mul_(keep).add_(result)
    return out


BIQUAD_KINDS = ("lowpass", "highpass", "bandpass", "lowshelf", "highshelf", "peak")


def rbj_biquad(kind: str, w0, q, gain_db: float = 0.0):
    """RBJ Audio-EQ-Cookbook biquad taps, normalised so a0 = 1: (b0, b1, b2, a1, a2).

    ``w0`` = 2 pi f / sample rate, a float or a tensor of them (the synths' cutoff per tile; then
    every tap is a tensor). ``kind`` is one of BIQUAD_KINDS. Shelves use the Q form (q = 1/sqrt(2)
    is the steepest shelf without overshoot); at the frequency a peak filter has exactly
    ``gain_db``, a shelf half of it, low/high-pass filters a gain of ``q``, the band-pass 0 dB.
    The one implementation: the EQ filters (`biquad_coefficients`) and the synths' resonant
    filter both call it.
    """
    cos, sin = (torch.cos, torch.sin) if isinstance(w0, Tensor) else (math.cos, math.sin)
    a = 10.0 ** (gain_db / 40.0)
    cos_w0, alpha = cos(w0), sin(w0) / (2.0 * q)
    one_minus_cos = 2.0 * sin(w0 / 2.0) ** 2  # 1 - cos(w0) without cancellation at low w0
    den = (1.0 + alpha, -2.0 * cos_w0, 1.0 - alpha)
    if kind == "lowpass":
        b = (one_minus_cos / 2.0, one_minus_cos, one_minus_cos / 2.0)
    elif kind == "highpass":
        b = ((1.0 + cos_w0) / 2.0, -(1.0 + cos_w0), (1.0 + cos_w0) / 2.0)
    elif kind == "bandpass":
        b = (alpha, 0.0 * alpha, -alpha)
    elif kind == "peak":
        b = (1.0 + alpha * a, -2.0 * cos_w0, 1.0 - alpha * a)
        den = (1.0 + alpha / a, -2.0 * cos_w0, 1.0 - alpha / a)
    elif kind in ("lowshelf", "highshelf"):
        s = 1.0 if kind == "lowshelf" else -1.0  # the high shelf mirrors the signs of the cos terms
        root = 2.0 * math.sqrt(a) * alpha
        b = (
            a * ((a + 1) - s * (a - 1) * cos_w0 + root),
            s * 2 * a * ((a - 1) - s * (a + 1) * cos_w0),
            a * ((a + 1) - s * (a - 1) * cos_w0 - root),
        )
        den = ((a + 1) + s * (a - 1) * cos_w0 + root, -s * 2 * ((a - 1) + s * (a + 1) * cos_w0), (a + 1) + s * (a - 1) * cos_w0 - root)
    else:
        raise ValueError(f"unknown biquad kind {kind!r}; expected one of {BIQUAD_KINDS}")
    a0 = den[0]
    return (b[0] / a0, b[1] / a0, b[2] / a0, den[1] / a0, den[2] / a0)


def biquad_coefficients(
    kind: str, frequency_hz: float, sample_rate_hz: int, gain_db: float = 0.0, q: float = 0.7071067811865476
) -> Coefficients:
    """`rbj_biquad` at ``frequency_hz``, checked to lie between 0 and Nyquist, as floats."""
    nyquist_hz = sample_rate_hz / 2.0
    if not 0.0 < frequency_hz < nyquist_hz:
        raise ValueError(f"{kind} frequency {frequency_hz} Hz must lie between 0 and Nyquist ({nyquist_hz:g} Hz)")
    if q <= 0.0:
        raise ValueError(f"q must be positive, got {q}")
    return rbj_biquad(kind, 2.0 * math.pi * frequency_hz / sample_rate_hz, q, gain_db)


_IIR_BLOCK_FRAMES = 64  # block length of the chunked IIR (a 64x64 Toeplitz matmul per block)
_SCAN_BLOCK = 8  # block length of each level of the state scan (small: the states are a few numbers)


def _state_space(sections: Sequence[Coefficients]) -> tuple[Tensor, Tensor, Tensor, float]:
    """(A, B, C, D) of a biquad cascade, float64: s' = A s + B x, y = C s + D x.

    Each section is in transposed direct form II (state z1, z2), and the sections are joined in
    series, so the state stays well conditioned even for low, resonant filters (no expansion
    into one high-order polynomial)."""
    a_m = torch.zeros((0, 0), dtype=torch.float64)
    b_v = torch.zeros(0, dtype=torch.float64)
    c_v = torch.zeros(0, dtype=torch.float64)
    d_s = 1.0
    for b0, b1, b2, a1, a2 in sections:
        a_s = torch.tensor([[-a1, 1.0], [-a2, 0.0]], dtype=torch.float64)
        b_s = torch.tensor([b1 - a1 * b0, b2 - a2 * b0], dtype=torch.float64)
        c_s = torch.tensor([1.0, 0.0], dtype=torch.float64)
        d = b_v.shape[0]
        joined = torch.zeros((d + 2, d + 2), dtype=torch.float64)
        joined[:d, :d] = a_m
        joined[d:, :d] = torch.outer(b_s, c_v)  # this section's input is the previous output
        joined[d:, d:] = a_s
        a_m, b_v, c_v, d_s = joined, torch.cat([b_v, b_s * d_s]), torch.cat([b0 * c_v, c_s]), b0 * d_s
    return a_m, b_v, c_v, d_s


@lru_cache(maxsize=64)
def _iir_block_matrices(sections: tuple[Coefficients, ...], block: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Matrices of the block form of a state-space filter, for blocks of ``block`` frames:

    y_block = x_block @ toeplitz_t + s @ observe_t   (s = state entering the block)
    s_next  = s @ A^block.T + x_block @ reach_t
    """
    a_m, b_v, c_v, d_s = _state_space(sections)
    powers = [torch.eye(a_m.shape[0], dtype=torch.float64)]
    for _ in range(block):
        powers.append(powers[-1] @ a_m)
    impulse = torch.tensor([d_s] + [float(c_v @ powers[k - 1] @ b_v) for k in range(1, block)], dtype=torch.float64)
    lag = torch.arange(block).unsqueeze(-1) - torch.arange(block)  # lag[i, j] = i - j
    toeplitz = torch.where(lag >= 0, impulse[lag.clamp_min(0)], torch.zeros((), dtype=torch.float64))
    observe = torch.stack([c_v @ powers[k] for k in range(block)])  # (block, d)
    reach = torch.stack([powers[block - 1 - j] @ b_v for j in range(block)], dim=1)  # (d, block)
    return toeplitz.T.contiguous(), observe.T.contiguous(), reach.T.contiguous(), powers[block]


@lru_cache(maxsize=64)
def _scan_level(transition_key: bytes, d: int) -> tuple[Tensor, Tensor, Tensor]:
    """Matrices of one level of `_linear_scan` for a transition matrix T (float64, CPU):
    ``within`` (block*d, block*d) with blocks T^(k-j) for k >= j, ``spread`` (d, block*d) with
    blocks T^(i+1), and T^block for the next level. Cached: a filter's levels never change."""
    transition = torch.frombuffer(bytearray(transition_key), dtype=torch.float64).reshape(d, d)
    block = _SCAN_BLOCK
    powers = [torch.eye(d, dtype=torch.float64)]
    for _ in range(block):
        powers.append(powers[-1] @ transition)
    stacked = torch.stack(powers[:block])  # stacked[m] = T^m
    lag = torch.arange(block).unsqueeze(-1) - torch.arange(block)
    within = torch.where((lag >= 0)[..., None, None], stacked[lag.clamp_min(0)], torch.zeros((), dtype=torch.float64))
    within = within.permute(0, 2, 1, 3).reshape(block * d, block * d)  # acts on flattened (j, e)
    spread = torch.cat([p.T for p in powers[1 : block + 1]], dim=1)
    return within.T.contiguous(), spread, powers[block]


def _linear_scan(u: Tensor, transition: Tensor) -> Tensor:
    """v[k] = sum_{j <= k} transition^(k-j) u[j] along axis -2 of u (..., K, d), float64.

    Blocked and recursive: within blocks of _SCAN_BLOCK steps the sum is one matmul with a
    block lower-triangular matrix of powers; the blocks' totals are scanned the same way with
    transition^_SCAN_BLOCK, then carried into the blocks. O(K) work, O(log K) depth."""
    steps, d = u.shape[-2], u.shape[-1]
    transition = transition.to(device="cpu", dtype=torch.float64).contiguous()
    within_t, spread, next_transition = _scan_level(transition.numpy().tobytes(), d)
    within_t, spread = within_t.to(u.device), spread.to(u.device)
    block = _SCAN_BLOCK
    count = -(-steps // block)
    ub = F.pad(u, (0, 0, 0, count * block - steps)).reshape(*u.shape[:-2], count, block * d)
    local = (ub @ within_t).reshape(*u.shape[:-2], count, block, d)
    if count > 1:
        carry = _linear_scan(local[..., -1, :], next_transition)  # inclusive scan of block totals
        entering = F.pad(carry[..., :-1, :], (0, 0, 1, 0))  # state entering each block
        local = local + (entering @ spread).reshape(local.shape)
    return local.reshape(*u.shape[:-2], count * block, d)[..., :steps, :]


def apply_biquads(audio: Tensor, sample_rate_hz: int, sections: Sequence[Coefficients], out: Tensor | None = None) -> Tensor:
    """Run a cascade of biquads (causal, from rest, exact IIR) over the last axis.

    The signal is cut into blocks of 64 frames. A block's output is its own input through the
    first 64 taps of the impulse response (a Toeplitz matmul) plus the response to the state
    left by earlier blocks; those states follow a linear recurrence over blocks, solved by
    `_linear_scan`. Everything is matmuls (BLAS/cuBLAS); the result equals scipy's ``lfilter``
    to float32 precision, with no truncation of the infinite response. ``out`` (audio's shape)
    receives the result and may be ``audio`` itself (the states are computed from the whole
    input first, then each block's output only needs its own input).
    """
    _check_audio(audio)
    del sample_rate_hz  # the coefficients already encode it; kept for a uniform signature
    frames = audio.shape[-1]
    if not sections or frames == 0:
        return audio if out is None or out is audio else out.copy_(audio)
    key = tuple(tuple(float(c) for c in s) for s in sections)
    toeplitz_t, observe_t, reach_t, transition = _iir_block_matrices(key, _IIR_BLOCK_FRAMES)
    dtype = audio.dtype if audio.dtype in (torch.float32, torch.float64) else torch.float32
    toeplitz_t, observe_t, reach_t = (m.to(device=audio.device, dtype=dtype) for m in (toeplitz_t, observe_t, reach_t))
    block, order = _IIR_BLOCK_FRAMES, reach_t.shape[1]
    x = audio.to(dtype).reshape(-1, frames).contiguous()
    rows, full = x.shape[0], frames // block
    rest = frames - full * block
    count = full + (1 if rest else 0)
    if x.device.type != "cpu":
        # One matrix of all blocks of all rows (zero-padding the last block costs a copy; on
        # a GPU that beats launching per-row work).
        blocks = _pad_frames(x, count * block).view(rows * count, block)
        drive = (blocks @ reach_t).view(rows, count, order)
        entering = _entering_states(drive, transition, dtype)
        y = blocks @ toeplitz_t
        y.addmm_(entering.reshape(rows * count, order), observe_t)
        y = y.view(rows, count * block)[:, :frames].reshape(audio.shape).to(audio.dtype)
        return y if out is None else out.copy_(y)
    # CPU: view each row's whole blocks in place (they are contiguous within a row, not across
    # rows) and pad only the last block; outputs go straight into the result, a chunk of
    # blocks at a time (through a small buffer when the result is the input itself).
    bodies = [x[r, : full * block].view(full, block) for r in range(rows)]
    tail = x.new_zeros((rows, block))
    tail[:, :rest] = x[:, full * block :]
    # (order x block) @ (block x blocks): the long axis as BLAS columns is ~2x faster than
    # (blocks x block) @ (block x order) with its 2-4 output columns.
    drive = torch.stack([(reach_t.T @ b.T).T for b in bodies]) if full else x.new_zeros((rows, 0, order))
    if rest:
        drive = torch.cat([drive, (tail @ reach_t).unsqueeze(1)], dim=1)
    entering = _entering_states(drive, transition, dtype)
    direct = out is not None and out.dtype == dtype and out.is_contiguous()
    y = out.view(rows, frames) if direct else torch.empty_like(x)
    aliased = y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    step = max(1, _chunk_frames(x[:1]) // block)  # one row at a time
    buffer = x.new_empty((min(step, full), block)) if aliased and full else None
    for r, body in enumerate(bodies):
        for b0 in range(0, full, step):
            b1 = min(full, b0 + step)
            target = y[r, b0 * block : b1 * block].view(b1 - b0, block)
            result = torch.mm(body[b0:b1], toeplitz_t, out=buffer[: b1 - b0] if aliased else target)
            result.addmm_(entering[r, b0:b1], observe_t)
            if aliased:
                target.copy_(result)
    if rest:
        y[:, full * block :] = (tail @ toeplitz_t + entering[:, full] @ observe_t)[:, :rest]
    if direct:
        return out
    y = y.reshape(audio.shape).to(audio.dtype)
    return y if out is None else out.copy_(y)


def _entering_states(drive: Tensor, transition: Tensor, dtype: torch.dtype) -> Tensor:
    """State entering each block (rows, blocks, order) from each block's own contribution to
    the state after it. Scanned in float64: these few numbers per block carry the filter's
    memory, and low-frequency poles sit close to 1."""
    state = _linear_scan(drive.to(torch.float64), transition)
    return F.pad(state[:, :-1, :], (0, 0, 1, 0)).to(dtype)


# ---------------------------------------------------------------------------------------------
# Envelope follower
# ---------------------------------------------------------------------------------------------


def follow_envelope(level: Tensor, attack_frames: float, release_frames: float) -> Tensor:
    """Smooth a non-negative control signal (..., n) the way an analog detector does.

    Stage 1, release: r[n] = max(x[n], a_r * r[n-1]) (instant attack, exponential fall with time
    constant ``release_frames``). It is a max-plus linear recurrence, so its closed form
    r[n] = max_k x[k] * a_r**(n-k) becomes one cummax in the log domain (float64 keeps the
    n * log(a_r) offsets exact enough for hours of audio at the control rate).
    Stage 2, attack: a one-pole low-pass with time constant ``attack_frames`` (run exactly by
    `apply_biquads`). Together: the "smooth decoupled peak detector" of Giannoulis,
    Massberg and Reiss (JAES 2012).
    """
    if level.shape[-1] == 0:
        return level
    out_dtype = level.dtype
    x = level.to(torch.float64)
    if release_frames > 0.0:
        log_a = -1.0 / release_frames
        n = torch.arange(x.shape[-1], dtype=torch.float64, device=x.device)
        scaled = torch.log(x.clamp_min(1e-30)) - n * log_a
        x = torch.exp(torch.cummax(scaled, dim=-1).values + n * log_a)
        x = torch.where(x < 1e-20, torch.zeros_like(x), x)  # undo the clamp that made log(0) finite
    if attack_frames > 0.0:
        a = math.exp(-1.0 / attack_frames)
        x = apply_biquads(x, 0, [(1.0 - a, 0.0, 0.0, -a, 0.0)])  # y = a*y + (1-a)*x, exactly
    return x.to(out_dtype)


# ---------------------------------------------------------------------------------------------
# Effects
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    """Applies effects in order: ``Chain([HighPassFilter(80), Compressor()])(audio, 44100)``."""

    effects: Sequence[Callable[[Tensor, int], Tensor]] = ()

    def __call__(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        for effect in self.effects:
            audio = effect(audio, sample_rate_hz)
        return audio

    def process_(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        """In place (an effect without ``process_`` is called and its result copied back)."""
        for effect in self.effects:
            process = getattr(effect, "process_", None)
            audio = process(audio, sample_rate_hz) if process is not None else audio.copy_(effect(audio, sample_rate_hz))
        return audio


@dataclass(frozen=True)
class Gain:
    gain_db: float = 0.0

    def __call__(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        return audio * db_to_gain(self.gain_db)

    def process_(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        return audio.mul_(db_to_gain(self.gain_db))


class _Filter:
    """Base of the biquad filters: subclasses say which sections they are."""

    def sections(self, sample_rate_hz: int) -> list[Coefficients]:
        raise NotImplementedError

    def __call__(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        return apply_biquads(audio, sample_rate_hz, self.sections(sample_rate_hz))

    def process_(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        return apply_biquads(audio, sample_rate_hz, self.sections(sample_rate_hz), out=audio)


@dataclass(frozen=True)
class HighPassFilter(_Filter):
    """12 dB/octave high-pass (2nd order); q = 0.707 is Butterworth (-3 dB at the cutoff)."""

    cutoff_frequency_hz: float = 50.0
    q: float = 0.7071067811865476

    def sections(self, sample_rate_hz: int) -> list[Coefficients]:
        return [biquad_coefficients("highpass", self.cutoff_frequency_hz, sample_rate_hz, q=self.q)]


@dataclass(frozen=True)
class LowPassFilter(_Filter):
    """12 dB/octave low-pass (2nd order); q = 0.707 is Butterworth (-3 dB at the cutoff)."""

    cutoff_frequency_hz: float = 5000.0
    q: float = 0.7071067811865476

    def sections(self, sample_rate_hz: int) -> list[Coefficients]:
        return [biquad_coefficients("lowpass", self.cutoff_frequency_hz, sample_rate_hz, q=self.q)]


@dataclass(frozen=True)
class LowShelfFilter(_Filter):
    frequency_hz: float = 200.0
    gain_db: float = 0.0
    q: float = 0.7071067811865476

    def sections(self, sample_rate_hz: int) -> list[Coefficients]:
        return [biquad_coefficients("lowshelf", self.frequency_hz, sample_rate_hz, self.gain_db, self.q)]


@dataclass(frozen=True)
class HighShelfFilter(_Filter):
    frequency_hz: float = 6000.0
    gain_db: float = 0.0
    q: float = 0.7071067811865476

    def sections(self, sample_rate_hz: int) -> list[Coefficients]:
        return [biquad_coefficients("highshelf", self.frequency_hz, sample_rate_hz, self.gain_db, self.q)]


@dataclass(frozen=True)
class PeakFilter(_Filter):
    """Bell: ``gain_db`` at ``frequency_hz``, bandwidth set by ``q``."""

    frequency_hz: float = 1000.0
    gain_db: float = 0.0
    q: float = 1.0

    def sections(self, sample_rate_hz: int) -> list[Coefficients]:
        return [biquad_coefficients("peak", self.frequency_hz, sample_rate_hz, self.gain_db, self.q)]


@dataclass(frozen=True)
class ParametricEQ(_Filter):
    """Several filter bands applied as one cascade (a single convolution for the whole EQ)."""

    bands: Sequence[_Filter] = ()

    def sections(self, sample_rate_hz: int) -> list[Coefficients]:
        return [s for band in self.bands for s in band.sections(sample_rate_hz)]


@dataclass(frozen=True)
class Compressor:
    """Feed-forward compressor with a soft knee, stereo-linked peak detection.

    Above ``threshold_db`` (dBFS of the peak level) the level rises 1/``ratio`` dB per input
    dB; the knee blends the two slopes over ``knee_db``. ``attack_ms`` and ``release_ms`` are
    time constants of the gain envelope (see `follow_envelope`).
    """

    threshold_db: float = -18.0
    ratio: float = 4.0
    attack_ms: float = 10.0
    release_ms: float = 120.0
    makeup_gain_db: float = 0.0
    knee_db: float = 6.0

    def __post_init__(self) -> None:
        if self.ratio < 1.0:
            raise ValueError(f"ratio must be >= 1 (1 = no compression), got {self.ratio}")
        if self.attack_ms < 0 or self.release_ms < 0 or self.knee_db < 0:
            raise ValueError("attack_ms, release_ms and knee_db must be >= 0")

    def gain_reduction_db(self, level_db: Tensor) -> Tensor:
        """Static curve: how many dB to take off a signal whose level is ``level_db`` (>= 0)."""
        over = level_db - self.threshold_db
        slope = 1.0 - 1.0 / self.ratio
        hard = slope * over.clamp_min(0.0)
        if self.knee_db <= 0.0:
            return hard
        w = self.knee_db
        soft = slope * (over + w / 2.0) ** 2 / (2.0 * w)
        in_knee = (2.0 * over).abs() <= w
        return torch.where(in_knee, soft, torch.where(2.0 * over < -w, torch.zeros_like(over), hard))

    def _control_gain(self, audio: Tensor, sample_rate_hz: int) -> tuple[Tensor, int]:
        """Linear gain per control block (..., blocks), and the block length in frames."""
        block = _control_period_frames(sample_rate_hz)
        level_db = gain_to_db(_linked_block_peak(audio, block))
        control_hz = sample_rate_hz / block
        reduction_db = follow_envelope(
            self.gain_reduction_db(level_db), self.attack_ms * 1e-3 * control_hz, self.release_ms * 1e-3 * control_hz
        )
        return db_to_gain(self.makeup_gain_db - reduction_db), block

    def __call__(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        return self.process_(audio.clone(memory_format=torch.contiguous_format), sample_rate_hz)

    def process_(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        gain, block = self._control_gain(audio, sample_rate_hz)
        return _scale_by_curve_(audio, gain.to(audio.dtype), block)


@dataclass(frozen=True, eq=False)
class SidechainDucker:
    """Turns the audio down by ``depth_db`` while the ``key`` signal (e.g. the kick stem) is
    above ``threshold_db``, fading in over ``attack_ms`` and back over ``release_ms``.

    ``key`` is (..., channels, frames) or (frames,); it is trimmed or zero-padded to the audio's
    length and broadcast over its batch dimensions.
    """

    key: Tensor
    depth_db: float = 6.0
    threshold_db: float = -30.0
    attack_ms: float = 5.0
    release_ms: float = 150.0

    def __post_init__(self) -> None:
        if self.depth_db < 0:
            raise ValueError("depth_db is the attenuation in dB and must be >= 0")

    def _control_gain(self, frames: int, sample_rate_hz: int, device=None) -> tuple[Tensor, int]:
        """Linear gain per control block (..., blocks), and the block length in frames."""
        key = self.key.to(device) if device is not None else self.key
        key = key[..., :frames] if key.shape[-1] >= frames else F.pad(key, (0, frames - key.shape[-1]))
        block = _control_period_frames(sample_rate_hz)
        above = (gain_to_db(_linked_block_peak(key, block)) >= self.threshold_db).to(torch.float32)
        control_hz = sample_rate_hz / block
        reduction_db = follow_envelope(
            above * self.depth_db, self.attack_ms * 1e-3 * control_hz, self.release_ms * 1e-3 * control_hz
        )
        return db_to_gain(-reduction_db), block

    def gain_curve(self, frames: int, sample_rate_hz: int, device=None) -> Tensor:
        """Linear gain per frame, (..., frames) following the key's batch shape."""
        control, block = self._control_gain(frames, sample_rate_hz, device)
        return _upsample_linear(control, block, frames)

    def __call__(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        return self.process_(audio.clone(memory_format=torch.contiguous_format), sample_rate_hz)

    def process_(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        control, block = self._control_gain(audio.shape[-1], sample_rate_hz, audio.device)
        return _scale_by_curve_(audio, control.to(audio.dtype), block)


@lru_cache(maxsize=16)
def _reverb_ir(room_size: float, decay_s: float, damping: float, seed: int, sample_rate_hz: int, channels: int) -> Tensor:
    """Synthetic room impulse response (channels, taps), float32 on CPU, unit energy per channel.

    Sparse early reflections over a window that grows with ``room_size``, then a diffuse tail of
    Gaussian noise (independent per channel, for stereo width) that fades in over the early
    window and decays with RT60 = ``decay_s`` at low frequencies. Damping shortens the RT60 of
    higher bands (the noise is split into 4 bands with complementary raised-cosine masks, each
    band gets its own exponential envelope, then the bands are summed).
    """
    gen = torch.Generator().manual_seed(int(seed))
    pre_delay_s = 0.005 + 0.025 * room_size
    early_s = 0.01 + 0.07 * room_size
    taps = int((pre_delay_s + 1.1 * decay_s) * sample_rate_hz) + 1  # 1.1 x RT60: tail at -66 dB
    t = torch.arange(taps, dtype=torch.float64) / sample_rate_hz
    n_fft = _next_pow2(taps)  # band-split a power-of-two block of noise (fast FFT), keep `taps`
    noise = torch.randn((channels, n_fft), generator=gen, dtype=torch.float64)

    spectrum = torch.fft.rfft(noise)
    freqs = torch.fft.rfftfreq(n_fft, 1.0 / sample_rate_hz, dtype=torch.float64)
    edges_hz = (250.0, 1000.0, 4000.0)
    log_f = torch.log2(freqs.clamp_min(1.0))
    # Complementary crossovers: an octave-wide raised-cosine transition around each edge.
    steps = [torch.clamp(log_f - math.log2(e) + 0.5, 0.0, 1.0) for e in edges_hz]
    steps = [0.5 - 0.5 * torch.cos(math.pi * s) for s in steps]
    masks = [1.0 - steps[0]] + [steps[i] - steps[i + 1] for i in range(len(steps) - 1)] + [steps[-1]]
    tail = torch.zeros((channels, taps), dtype=torch.float64)
    for band, mask in enumerate(masks):
        rt60_s = decay_s * (1.0 - 0.8 * damping * band / (len(masks) - 1))
        envelope = torch.exp(-3.0 * math.log(10.0) * (t - pre_delay_s).clamp_min(0.0) / rt60_s)
        tail += torch.fft.irfft(spectrum * mask, n=n_fft)[:, :taps] * envelope
    onset = ((t - pre_delay_s) / early_s).clamp(0.0, 1.0)  # diffuse field builds up
    tail *= onset

    count = 6 + int(18 * room_size)
    times = pre_delay_s + early_s * torch.rand((channels, count), generator=gen, dtype=torch.float64)
    signs = torch.where(torch.rand((channels, count), generator=gen) < 0.5, -1.0, 1.0).to(torch.float64)
    early = torch.zeros_like(tail)
    index = (times * sample_rate_hz).long().clamp_max(taps - 1)
    gains = signs * 3.0 * torch.exp(-3.0 * math.log(10.0) * (times - pre_delay_s) / decay_s)
    early.scatter_add_(1, index, gains)

    ir = tail + early
    fade = max(1, taps // 20)  # avoid a step at the truncation point
    ir[:, -fade:] *= torch.linspace(1.0, 0.0, fade, dtype=torch.float64)
    ir /= ir.square().sum(dim=-1, keepdim=True).sqrt().clamp_min(1e-12)
    return ir.to(torch.float32)


@dataclass(frozen=True)
class Reverb:
    """Convolution reverb with a deterministic synthetic impulse response (see `_reverb_ir`).

    ``room_size`` 0..1 sets pre-delay (5-30 ms) and the spread of early reflections;
    ``decay_s`` is the RT60; ``damping`` 0..1 makes high frequencies die sooner (up to 5x).
    Output = dry_level * dry + wet_level * wet; the IR has unit energy, so a noise-like input
    gives a wet signal of about the input's RMS. The tail after the last input frame is cut
    (shape is preserved): pad the input with silence to keep it. For a send bus use
    ``dry_level=0``, or `send_` to add the returns of several sources in one call.
    """

    room_size: float = 0.5
    decay_s: float = 1.5
    damping: float = 0.5
    wet_level: float = 0.3
    dry_level: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.room_size <= 1.0 or not 0.0 <= self.damping <= 1.0:
            raise ValueError("room_size and damping must lie in 0..1")
        if self.decay_s <= 0.0:
            raise ValueError("decay_s must be positive")

    def _ir(self, sample_rate_hz: int, channels: int) -> Tensor:
        """The cached impulse response itself: read-only."""
        return _reverb_ir(float(self.room_size), float(self.decay_s), float(self.damping), int(self.seed), int(sample_rate_hz), int(channels))

    def impulse_response(self, sample_rate_hz: int, channels: int = 2) -> Tensor:
        """(channels, taps) float32 on CPU, a copy of the cached response."""
        return self._ir(sample_rate_hz, channels).clone()

    def _kernel(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        ir = self._ir(sample_rate_hz, 1 if audio.dim() == 1 else audio.shape[-2])
        kernel = ir[0] if audio.dim() == 1 else ir
        return kernel if self.wet_level == 1.0 else kernel * self.wet_level

    def __call__(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        if self.wet_level == 0.0:
            return audio * self.dry_level
        if self.dry_level == 0.0:
            return _convolve_into(audio, self._kernel(audio, sample_rate_hz), None, keep=0.0)
        return _convolve_into(audio, self._kernel(audio, sample_rate_hz), audio * self.dry_level, keep=1.0)

    def process_(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        if self.wet_level == 0.0:
            return audio.mul_(self.dry_level)
        return _convolve_into(audio, self._kernel(audio, sample_rate_hz), audio, keep=self.dry_level)

    def send_(self, audio: Tensor, sample_rate_hz: int, levels: Sequence[float]) -> Tensor:
        """A send bus, in place: each item ``i`` of ``audio`` (items, channels, frames) gets its
        own wet signal times ``levels[i]`` added (``dry_level`` and ``wet_level`` are not used).
        One batched convolution; every item keeps its own return."""
        _check_audio(audio)
        if audio.dim() != 3 or len(levels) != audio.shape[0]:
            raise ValueError("send_ takes audio (items, channels, frames) and one level per item")
        channels = audio.shape[-2]
        gains = [float(level) for level in levels for _ in range(channels)]
        return _convolve_into(audio, self._ir(sample_rate_hz, channels), audio, keep=1.0, gains=gains)


def tempo_synced_delay_ms(tempo_bpm: float, beats: float = 0.5, dotted: bool = False, triplet: bool = False) -> float:
    """Delay time of a note value at a tempo: beats=1 is a quarter note, 0.5 an eighth."""
    if tempo_bpm <= 0:
        raise ValueError("tempo_bpm must be positive")
    beats = beats * (1.5 if dotted else 1.0) * (2.0 / 3.0 if triplet else 1.0)
    return 60000.0 / tempo_bpm * beats


@dataclass(frozen=True)
class Delay:
    """Feedback echo: the n-th echo comes n * ``delay_ms`` after the sound with gain
    ``feedback`` ** (n-1). Output = (1 - mix) * dry + mix * echoes. With ``ping_pong`` (stereo)
    the echoes of the mono sum alternate left, right, left, ... Echoes below -80 dB are dropped.

    The echoes are summed as shifted, scaled copies of the input, a chunk of output at a time
    from the end backwards (a chunk only reads earlier frames, so it works in place).
    """

    delay_ms: float = 250.0
    feedback: float = 0.35
    mix: float = 0.3
    ping_pong: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.feedback < 1.0:
            raise ValueError("feedback must lie in [0, 1)")
        if self.delay_ms <= 0:
            raise ValueError("delay_ms must be positive")

    @classmethod
    def tempo_synced(cls, tempo_bpm: float, beats: float = 0.5, **kwargs) -> "Delay":
        return cls(delay_ms=tempo_synced_delay_ms(tempo_bpm, beats), **kwargs)

    def __call__(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        return self.process_(audio.clone(memory_format=torch.contiguous_format), sample_rate_hz)

    def process_(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        frames = audio.shape[-1]
        step = max(1, round(self.delay_ms * 1e-3 * sample_rate_hz))
        if step >= frames:
            return audio.mul_(1.0 - self.mix)
        echoes = 1 if self.feedback == 0 else int(math.log(1e-4) / math.log(self.feedback)) + 1
        echoes = min(echoes, (frames - 1) // step)
        ping_pong = self.ping_pong and audio.dim() >= 2 and audio.shape[-2] == 2
        chunk = _chunk_frames(audio, minimum=echoes * step)  # the window read is chunk + echoes x step
        for start, stop in _spans(frames, chunk, reverse=True):
            wet = torch.zeros_like(audio[..., start:stop])
            first = max(0, start - echoes * step)  # earliest input frame this chunk's echoes read
            # Ping-pong echoes the mono sum, left on even k, right on odd k.
            source = audio[..., first : max(first, stop - step)]
            source = source.mean(dim=-2) if ping_pong else source
            for k in range(echoes):  # echo k + 1 comes (k + 1) steps late with gain feedback**k
                lag = (k + 1) * step
                if stop - lag <= 0:
                    break
                lo = max(0, start - lag)
                target = wet[..., k % 2, lo + lag - start :] if ping_pong else wet[..., lo + lag - start :]
                target.add_(source[..., lo - first : stop - lag - first], alpha=self.feedback**k)
            audio[..., start:stop].lerp_(wet, self.mix)
        return audio


def _modulated_read_(audio: Tensor, offsets: Callable[[int, int], Tensor], reach: tuple[float, float], mix: float,
                     chunk: int) -> Tensor:
    """In place: audio[..., n] = lerp(audio[..., n], audio read at n + offset[n], mix).

    ``offsets(start, stop)`` gives the (new, float32) offsets of frames start..stop-1 shaped
    (stop - start,), shared by every row, or (channels, stop - start); ``reach`` = (back, ahead)
    bounds them: -back <= offset <= ahead. The read position is clamped to the signal (frames
    0 and frames - 1 hold outside it) and interpolated linearly: the offset's floor plus the
    frame index is one int64 index per chunk, shared across rows, that gathers the first tap
    from the input and the second from the input shifted by a frame. Chunks of ``chunk`` >=
    back frames go forward and each result is written back only after the next chunk has read
    its input, so every read sees the original input.
    """
    frames = audio.shape[-1]
    if frames < 2:
        return audio
    back, ahead = math.ceil(reach[0]) + 1, math.ceil(reach[1]) + 2
    if chunk < back:
        raise ValueError("chunks must be at least as long as the reach back")
    exact = chunk + back + ahead < 1 << 24  # whole frame numbers within a chunk are exact in float32
    ramp = torch.arange(min(chunk, frames), device=audio.device, dtype=torch.float32 if exact else torch.float64)
    pending: tuple[int, int, Tensor] | None = None
    for start, stop in _spans(frames, chunk):
        lo, hi = max(0, start - back), min(frames, stop + ahead)
        source = audio[..., lo:hi]  # nothing here is overwritten yet (the previous chunk is pending)
        offset = offsets(start, stop)
        # Keep the position within 0 .. frames - 1 (bounds relative to the chunk: exact).
        if start - back < 0:
            offset = torch.maximum(offset, -(ramp[: stop - start] + start))
        if stop + ahead > frames:
            offset = torch.minimum(offset, (frames - 1 - start) - ramp[: stop - start])
        whole = torch.floor(offset)
        fraction = offset.sub_(whole).to(audio.dtype)
        index = whole.to(ramp.dtype).add_(ramp[: stop - start]).add_(start - lo)  # whole numbers: exact
        if hi == frames:  # the last frame itself: read it as the second tap of the frame before
            last = index >= hi - lo - 1
            index = torch.where(last, index - 1.0, index)
            fraction = torch.where(last, torch.ones_like(fraction), fraction)
        index = index.to(torch.int64).expand(*source.shape[:-1], stop - start)
        read = torch.gather(source, -1, index)
        read.lerp_(torch.gather(source[..., 1:], -1, index), fraction)
        if mix != 1.0:
            torch.lerp(audio[..., start:stop], read, mix, out=read)
        if pending is not None:
            audio[..., pending[0] : pending[1]].copy_(pending[2])
        pending = (start, stop, read)
    if pending is not None:
        audio[..., pending[0] : pending[1]].copy_(pending[2])
    return audio


@dataclass(frozen=True)
class Chorus:
    """A copy read through a delay of ``centre_delay_ms`` +- ``depth_ms`` swept by a sine at
    ``rate_hz`` (90 degrees apart between left and right), mixed with the dry signal."""

    rate_hz: float = 0.8
    depth_ms: float = 2.0
    centre_delay_ms: float = 7.0
    mix: float = 0.5

    def __post_init__(self) -> None:
        if self.depth_ms < 0 or self.centre_delay_ms < self.depth_ms:
            raise ValueError("need 0 <= depth_ms <= centre_delay_ms")

    def __call__(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        return self.process_(audio.clone(memory_format=torch.contiguous_format), sample_rate_hz)

    def process_(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        frames = audio.shape[-1]
        if frames == 0:
            return audio
        channels = 1 if audio.dim() == 1 else audio.shape[-2]
        centre = self.centre_delay_ms * 1e-3 * sample_rate_hz  # frames
        depth = self.depth_ms * 1e-3 * sample_rate_hz
        omega = 2 * math.pi * self.rate_hz / sample_rate_hz  # LFO radians per frame
        phases = [c * math.pi / 2 for c in range(channels)]
        reach = centre + depth  # reads only behind: the offset is -delay
        chunk = _chunk_frames(audio, minimum=int(reach) + 2)
        # sin(omega * (start + i) + phase) = sin(a) cos(omega i) + cos(a) sin(omega i), a = omega * start + phase:
        # exact angles per chunk (float64 scalars), small float32 tables within it.
        within = torch.arange(min(chunk, frames), device=audio.device, dtype=torch.float64) * omega
        cos_within = (torch.cos(within) * -depth).float()  # -depth scales the sweep: offset = -delay
        sin_within = (torch.sin(within) * -depth).float()

        def offsets(start: int, stop: int) -> Tensor:
            angles = [omega * start + phase for phase in phases]
            sin_a = torch.tensor([[math.sin(a)] for a in angles], dtype=torch.float32, device=audio.device)
            cos_a = torch.tensor([[math.cos(a)] for a in angles], dtype=torch.float32, device=audio.device)
            offset = cos_within[: stop - start] * sin_a
            offset.addcmul_(sin_within[: stop - start], cos_a).sub_(centre)
            return offset if audio.dim() > 1 else offset[0]

        return _modulated_read_(audio, offsets, (reach, 0.0), self.mix, chunk)


_TANH_LIMIT = 40.0  # bound on 2x for tanh via expm1 (no overflow; tanh(20) is 1 even in float64)


@dataclass(frozen=True)
class Saturation:
    """Waveshaper: ``curve`` of the input driven by ``drive_db``; |wet| <= output gain.

    ``tanh`` is smooth; ``soft_clip`` is the cubic 1.5x - 0.5x^3 (flat beyond |x| = 1), harder.
    """

    drive_db: float = 6.0
    mix: float = 1.0
    output_gain_db: float = 0.0
    curve: Literal["tanh", "soft_clip"] = "tanh"

    def __post_init__(self) -> None:
        if self.curve not in ("tanh", "soft_clip"):
            raise ValueError("curve must be 'tanh' or 'soft_clip'")

    def __call__(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        return self.process_(audio.clone(memory_format=torch.contiguous_format), sample_rate_hz)

    def process_(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        drive, output_gain = db_to_gain(self.drive_db), db_to_gain(self.output_gain_db)
        for start, stop in _spans(audio.shape[-1], _chunk_frames(audio)):
            dry = audio[..., start:stop]
            if self.curve == "tanh":  # tanh(x) = expm1(2x) / (expm1(2x) + 2): exact, and faster on CPU
                wet = (dry * (2.0 * drive)).clamp_(-_TANH_LIMIT, _TANH_LIMIT).expm1_()
                wet.div_(wet + 2.0)
            else:
                wet = dry * drive
                wet.clamp_(-1.0, 1.0)
                cube = wet.pow(3)
                wet.mul_(1.5).sub_(cube, alpha=0.5)
            if output_gain != 1.0:
                wet.mul_(output_gain)
            if self.mix == 1.0:
                dry.copy_(wet)
            else:
                dry.lerp_(wet, self.mix)
        return audio


@dataclass(frozen=True)
class GuitarAmp:
    """High-gain guitar amp into a speaker cabinet, for metal's rhythm and lead guitars.

    A tightening high-pass (the low end blurs once clipped), ``drive_db`` of gain into a tanh
    stage (the amp's preamp: the clean SoundFont guitar becomes a saturated, compressed wall), then
    the cabinet: two low-passes at ``cabinet_hz`` (a 4x12 speaker's steep roll-off) and a
    ``scoop_db`` bell at ``scoop_hz`` (the scooped mids of the genre). The output has the input's
    RMS, so the stem keeps its place in the mix.
    """

    drive_db: float = 30.0
    tight_hz: float = 110.0
    cabinet_hz: float = 5200.0
    scoop_hz: float = 650.0
    scoop_db: float = -5.0

    def __call__(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        return self.process_(audio.clone(memory_format=torch.contiguous_format), sample_rate_hz)

    def process_(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        before = float(torch.linalg.vector_norm(audio))
        if before == 0.0:
            return audio
        HighPassFilter(cutoff_frequency_hz=self.tight_hz).process_(audio, sample_rate_hz)
        Saturation(drive_db=self.drive_db, mix=1.0, curve="tanh").process_(audio, sample_rate_hz)
        cabinet_hz = min(self.cabinet_hz, 0.45 * sample_rate_hz)
        ParametricEQ(bands=(LowPassFilter(cutoff_frequency_hz=cabinet_hz), LowPassFilter(cutoff_frequency_hz=cabinet_hz),
                            PeakFilter(frequency_hz=self.scoop_hz, gain_db=self.scoop_db, q=0.8))).process_(audio, sample_rate_hz)
        after = float(torch.linalg.vector_norm(audio))
        if after > 0.0:
            audio.mul_(before / after)
        return audio


@dataclass(frozen=True)
class StereoWidth:
    """Mid/side width: 0 = mono, 1 = unchanged, 2 = side doubled. Non-stereo audio is returned
    unchanged."""

    width: float = 1.0

    def __post_init__(self) -> None:
        if self.width < 0:
            raise ValueError("width must be >= 0")

    def __call__(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        if audio.dim() < 2 or audio.shape[-2] != 2:
            return audio
        return self.process_(audio.clone(memory_format=torch.contiguous_format), sample_rate_hz)

    def process_(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        if audio.dim() < 2 or audio.shape[-2] != 2:
            return audio
        for start, stop in _spans(audio.shape[-1], _chunk_frames(audio)):
            left, right = audio[..., 0, start:stop], audio[..., 1, start:stop]
            mid = (left + right).mul_(0.5)
            side = (left - right).mul_(0.5).mul_(self.width)
            torch.add(mid, side, out=left)
            torch.sub(mid, side, out=right)
        return audio


@dataclass(frozen=True)
class VinylCrackle:
    """Adds record crackle: ``density_per_s`` clicks a second per channel, peaks up to
    ``level_db`` (dBFS, cube-law distributed so most clicks are quiet), each a 0.1 ms decaying
    pop, plus optional surface hiss at ``hiss_level_db`` RMS (None for none). Seeded."""

    density_per_s: float = 6.0
    level_db: float = -30.0
    hiss_level_db: float | None = -66.0
    seed: int = 0

    def _draw(self, shape: torch.Size, sample_rate_hz: int) -> tuple[torch.Generator, Tensor | None, Tensor | None]:
        """The generator after the clicks, and the clicks: flat indices into ``shape`` (row-major)
        and values, each click's pop written where it lands (the convolution of the clicks with
        the pop, cut at the end of its row)."""
        gen = torch.Generator().manual_seed(int(self.seed))
        frames = shape[-1]
        rows = int(math.prod(shape[:-1]))
        clicks = int(round(self.density_per_s * frames / sample_rate_hz))
        if clicks <= 0 or frames <= 0:
            return gen, None, None
        position = torch.randint(0, frames, (rows, clicks), generator=gen)
        amplitude = torch.rand((rows * clicks,), generator=gen) ** 3 * db_to_gain(self.level_db)
        amplitude *= torch.where(torch.rand((rows * clicks,), generator=gen) < 0.5, -1.0, 1.0)
        pop = torch.exp(-torch.arange(max(2, int(sample_rate_hz * 0.001)), dtype=torch.float32) / (1e-4 * sample_rate_hz))
        where = position.unsqueeze(-1) + torch.arange(pop.shape[0])  # (rows, clicks, pop)
        inside = where < frames
        where = where + (torch.arange(rows) * frames).view(rows, 1, 1)
        return gen, where[inside], (amplitude.view(rows, clicks, 1) * pop)[inside]

    def _hiss_spans(self, total: int) -> list[tuple[int, int]]:
        """The hiss is drawn in these flat spans, in order (one stream, however it is used)."""
        return _spans(total, _HISS_CHUNK_VALUES) if self.hiss_level_db is not None else []

    def noise(self, shape: torch.Size, sample_rate_hz: int) -> Tensor:
        """The crackle alone, float32 on CPU (so every device gets the same numbers)."""
        gen, where, values = self._draw(shape, sample_rate_hz)
        crackle = torch.zeros(tuple(shape)) if self.hiss_level_db is None else torch.empty(tuple(shape))
        flat = crackle.view(-1)
        for start, stop in self._hiss_spans(flat.shape[0]):
            flat[start:stop].normal_(generator=gen).mul_(db_to_gain(self.hiss_level_db))
        if where is not None:
            flat.index_put_((where,), values, accumulate=True)  # CPU: deterministic
        return crackle

    def __call__(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        return audio + self.noise(audio.shape, sample_rate_hz).to(device=audio.device, dtype=audio.dtype)

    def process_(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        if audio.device.type != "cpu" or not audio.is_contiguous():
            return audio.add_(self.noise(audio.shape, sample_rate_hz).to(device=audio.device, dtype=audio.dtype))
        gen, where, values = self._draw(audio.shape, sample_rate_hz)
        flat = audio.view(-1)
        hiss = None
        for start, stop in self._hiss_spans(flat.shape[0]):  # no full-length noise tensor
            hiss = torch.empty(stop - start) if hiss is None or hiss.shape[0] < stop - start else hiss[: stop - start]
            flat[start:stop].add_(hiss.normal_(generator=gen).mul_(db_to_gain(self.hiss_level_db)))
        if where is not None:
            flat.index_put_((where,), values.to(audio.dtype), accumulate=True)
        return audio


_HISS_CHUNK_VALUES = 1 << 16  # samples of vinyl hiss drawn at a time


_WOW_GRID_FRAMES = 16  # the wow/flutter read offset is integrated on this grid, then interpolated


@dataclass(frozen=True)
class WowFlutter:
    """Tape/vinyl speed wobble: pitch deviates by ``depth_cents`` at ``wow_rate_hz`` plus
    ``flutter_depth_cents`` at ``flutter_rate_hz``. The read position is the running sum of the
    instantaneous speed 2**(cents/1200) (so the pitch really follows the cents curve), centred
    on the input.

    The sum is evaluated on a grid of 16 frames without visiting every frame (Euler-Maclaurin:
    trapezoids with their end corrections plus half the last term; the speed is smooth, so
    this is within a few thousandths of a frame of the frame-by-frame sum) and interpolated
    linearly in between, so the pitch follows the curve in 16-frame steps. The offset from
    the frame index stays small and goes to the gather in float32.
    """

    wow_rate_hz: float = 0.5
    depth_cents: float = 8.0
    flutter_rate_hz: float = 6.0
    flutter_depth_cents: float = 2.0

    def read_offsets(self, frames: int, sample_rate_hz: int) -> Tensor:
        """Offset of the read position from the frame index at frames 0, 16, 32, ... (one grid
        point past the last frame), float64 on CPU, centred (mean zero over the frames): about
        sum_{m <= n} (speed[m] - 1)."""
        grid = _WOW_GRID_FRAMES
        points = frames // grid + 2
        t = torch.arange(points, dtype=torch.float64) * grid
        k = math.log(2.0) / 1200.0  # speed = exp(k * cents)
        w_wow, w_flutter = 2 * math.pi * self.wow_rate_hz / sample_rate_hz, 2 * math.pi * self.flutter_rate_hz / sample_rate_hz
        cents = self.depth_cents * torch.sin(w_wow * t) + self.flutter_depth_cents * torch.sin(w_flutter * t + 1.0)
        slope = self.depth_cents * w_wow * torch.cos(w_wow * t) + self.flutter_depth_cents * w_flutter * torch.cos(w_flutter * t + 1.0)
        excess = torch.expm1(k * cents)  # speed - 1
        excess_slope = k * slope * (1.0 + excess)
        step = grid / 2 * (excess[:-1] + excess[1:]) + grid**2 / 12 * (excess_slope[:-1] - excess_slope[1:])
        drift = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(step, dim=0)]) + excess / 2
        # Mean over frames 0..frames-1 of the linear interpolation between grid points.
        length = (frames - torch.arange(points - 1, dtype=torch.float64) * grid).clamp(0, grid)
        total = (length * drift[:-1] + (drift[1:] - drift[:-1]) * length * (length - 1) / (2 * grid)).sum()
        return drift - total / frames

    def __call__(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        if audio.shape[-1] == 0 or (self.depth_cents == 0 and self.flutter_depth_cents == 0):
            return audio
        return self.process_(audio.clone(memory_format=torch.contiguous_format), sample_rate_hz)

    def process_(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        frames = audio.shape[-1]
        if frames == 0 or (self.depth_cents == 0 and self.flutter_depth_cents == 0):
            return audio
        grid = _WOW_GRID_FRAMES
        centred = self.read_offsets(frames, sample_rate_hz)
        reach = (float(-centred.min()), float(centred.max()))
        points = centred.to(device=audio.device, dtype=torch.float32)
        weight = torch.arange(grid, device=audio.device, dtype=torch.float32) / grid

        def offsets(start: int, stop: int) -> Tensor:  # start is a multiple of the grid
            j0, j1 = start // grid, -(-stop // grid)
            return torch.lerp(points[j0:j1, None], points[j0 + 1 : j1 + 1, None], weight).flatten()[: stop - start]

        chunk = _chunk_frames(audio, minimum=int(reach[0]) + 2, multiple=grid)
        return _modulated_read_(audio, offsets, reach, 1.0, chunk)


@dataclass(frozen=True)
class BitCrush:
    """Quantise to ``bit_depth`` bits (levels k / 2**(bits-1), k = -2**(bits-1) .. 2**(bits-1) - 1,
    clipping outside) and sample-and-hold every
    ``downsample_factor`` frames (or at ``target_sample_rate_hz`` when given; may be
    fractional). ``mix`` blends with the dry signal."""

    bit_depth: float = 8.0
    downsample_factor: float = 1.0
    target_sample_rate_hz: float | None = None
    mix: float = 1.0

    def __post_init__(self) -> None:
        if self.bit_depth < 1:
            raise ValueError("bit_depth must be >= 1")
        if self.downsample_factor < 1:
            raise ValueError("downsample_factor must be >= 1")

    def __call__(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        return self.process_(audio.clone(memory_format=torch.contiguous_format), sample_rate_hz)

    def process_(self, audio: Tensor, sample_rate_hz: int) -> Tensor:
        _check_audio(audio)
        factor = self.downsample_factor
        if self.target_sample_rate_hz is not None:
            factor = max(1.0, sample_rate_hz / self.target_sample_rate_hz)
        steps = 2.0 ** (self.bit_depth - 1.0)
        # From the end backwards: a held frame is never later than the frame it fills.
        for start, stop in _spans(audio.shape[-1], _chunk_frames(audio), reverse=True):
            dry = audio[..., start:stop]
            if factor > 1.0:
                n = torch.arange(start, stop, device=audio.device, dtype=torch.float64)
                held = torch.floor(torch.floor(n / factor) * factor).long()
                lo = max(0, math.floor(math.floor(start / factor) * factor) - 1)
                wet = torch.gather(audio[..., lo:stop], -1, held.sub_(lo).expand(dry.shape)).mul_(steps)
            else:
                wet = dry * steps
            # an ADC's two's-complement range: -steps .. steps-1 levels, clipping beyond
            wet.round_().clamp_(-steps, steps - 1.0).div_(steps)
            if self.mix == 1.0:
                dry.copy_(wet)
            else:
                dry.lerp_(wet, self.mix)
        return audio
