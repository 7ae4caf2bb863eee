"""Music auto-tagging with musicnn (Pons & Serra 2019), ported to torch.

`load_tagger("MSD_musicnn")` (50 Million Song Dataset tags: genres, eras, moods) or
`load_tagger("MTT_musicnn")` (50 MagnaTagATune tags: instruments, vocals, tempo feel) returns a
`Tagger`; `Tagger.tag(audio, sample_rate_hz)` gives one probability per tag, averaged over 3 s
patches, plus the per-patch probabilities (musicnn's "taggram").

The weights are converted once from the musicnn 0.1.0 TensorFlow checkpoints by
`tools/convert_musicnn.py` (resources/models/musicnn_*.pt, ISC licence in musicnn_LICENSE.txt).
Only numpy and torch run here; there is no TensorFlow, librosa or download at run time.

Input pipeline, as musicnn's `extractor.py` does it (librosa 0.7 era, which it was trained with):

1. mix down to mono (mean of channels), resample to 16 kHz the way librosa 0.7 did it
   (resampy 0.2 `kaiser_best`, reproduced in torch as a polyphase conv; agrees with resampy to
   ~5e-7 on full-scale noise);
2. power mel spectrogram: periodic Hann window, n_fft 512, hop 256, centred frames with reflect
   padding, 96 Slaney-style mel bands (librosa's default `htk=False, norm="slaney"`, 0-8 kHz);
3. rounded to float16 (musicnn stores `audio_rep.astype(np.float16)`), then
   `log10(10000 * x + 1)` in float32: under numpy 1.x value-based casting (musicnn pins
   numpy < 1.17) the int 10000 promotes the float16 array to float32. (numpy >= 2 would keep
   float16 and overflow to inf above a mel power of ~6.55; that is not the original behaviour);
4. split into non-overlapping 187-frame (3 s) patches, the last partial patch dropped (musicnn's
   default `input_overlap=False`); audio shorter than one patch is repeat-padded (the training
   recipe's `pad_short: repeat-pad`) instead of failing as musicnn does.

Network (musicnn.models.build_musicnn, 7774timbraltemporal front end): batch norm on the input;
timbral convs 7x38 and 7x67 (204 filters each) and temporal convs 128x1, 64x1, 32x1 (51 filters
each), each ReLU -> batch norm -> max over frequency; mid-end three 7-wide 1-D convs (64 filters)
with residual connections, densely concatenated with the front end (753 channels); back-end max
and mean over time (interleaved per channel, 1506 values) -> batch norm -> dense 200 + ReLU ->
batch norm -> dense 50 -> sigmoid. TF1 batch norm uses epsilon 1e-3.

Speed on the CPU (`CpuForward`, used whenever the tagger runs on the CPU; the module's own
`forward` is the reference and runs on CUDA). The same arithmetic, reorganised; it agrees with
the module to ~1e-5 in the logits:

* the two timbral convs (1.1 of the 1.4 GMAC per patch) are computed through a DFT along the
  96 mel bands: a correlation with a 38/67-band kernel is a product per DFT bin, so each output
  channel costs a 7-tap complex product per bin (a batched GEMM with K = 14) and an inverse DFT
  restricted to the 59/30 valid bands (a GEMM with K = 98), 2.6x fewer multiply-adds than the
  im2col GEMM; both run on 16-frame blocks so the intermediate stays in cache;
* the three temporal convs read frame t's 128-frame window as a contiguous (128, 96) matrix of
  the padded input: one batched GEMM per kernel, no im2col copy;
* ReLU -> batch norm -> max over frequency is folded into a max of the conv output: relu and a
  per-channel affine map are monotonic, so the max commutes with them (channels whose batch
  norm scale is negative use negated weights: their min becomes a max).
The resampler skips the zero taps of its polyphase filter (grouped phases), and the STFT runs
in float32 (the float16 rounding that follows dominates its error).

Files are tagged as they decode (`Tagger.tag_file` / `tag_stream`, what the analysis service
runs): `_StreamingLogMel` resamples and transforms each decoded block as it comes (a block of
the resampler or a frame of the STFT only reads samples it would read in one go: the same
values), and every few finished patches go to the CPU workers, so decoding an MP3 overlaps the
network instead of preceding it.
"""

from __future__ import annotations

import json
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from studio.resources import resource_path

MODELS_DIR = resource_path("models")
MODEL_FILES = {"MSD_musicnn": "musicnn_msd.pt", "MTT_musicnn": "musicnn_mtt.pt"}
TAGS_FILE = "musicnn_tags.json"

SAMPLE_RATE_HZ = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # librosa.time_to_frames(3 s, sr=16000, n_fft=512, hop_length=256) + 1
BN_EPS = 1e-3  # tf.compat.v1.layers.batch_normalization default
MAX_KERNEL_VALUES = 50_000_000  # polyphase resampling filter size limit (rates with a small gcd)
PATCH_BATCH = 8  # patches per forward pass on the CPU (CpuForward keeps ~1 MB per patch alive)
STREAM_JOB_PATCHES = 4  # patches per worker job when tagging a stream: small jobs keep both workers busy to the end
GPU_PATCH_BATCH = 256  # patches per forward pass on a GPU


# ---------------------------------------------------------------------------------------------
# Network


class _FrontBlock(nn.Module):
    """conv (1 input channel) -> ReLU -> batch norm -> max over the frequency axis."""

    def __init__(self, filters: int, kernel: tuple[int, int], time_pad: tuple[int, int]):
        super().__init__()
        self.time_pad = time_pad
        self.conv = nn.Conv2d(1, filters, kernel)
        self.bn = nn.BatchNorm2d(filters, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, 1, time, mels)
        x = F.pad(x, (0, 0, *self.time_pad))
        return self.bn(F.relu(self.conv(x))).amax(dim=3)  # (batch, filters, time)


class _MidBlock(nn.Module):
    """7-wide conv over time with zero 'same' padding -> ReLU -> batch norm."""

    def __init__(self, channels_in: int, filters: int):
        super().__init__()
        self.conv = nn.Conv1d(channels_in, filters, 7, padding=3)
        self.bn = nn.BatchNorm1d(filters, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(F.relu(self.conv(x)))


class MusicnnNet(nn.Module):
    """musicnn's network. Input: log-mel patches (batch, time, 96); output: logits (batch, n_tags).
    Any number of time frames works (the model pools over time); musicnn feeds 187."""

    def __init__(self, n_tags: int = 50, n_mels: int = N_MELS, midend_filters: int = 64, backend_units: int = 200):
        super().__init__()
        self.input_bn = nn.BatchNorm2d(1, eps=BN_EPS)
        timbral = int(1.6 * 128)
        temporal = int(1.6 * 32)
        self.timbral74 = _FrontBlock(timbral, (7, int(0.4 * n_mels)), (3, 3))
        self.timbral77 = _FrontBlock(timbral, (7, int(0.7 * n_mels)), (3, 3))
        # TF 'same' padding for an even kernel k puts (k-1)//2 before and k//2 after
        self.temporal128 = _FrontBlock(temporal, (128, 1), (63, 64))
        self.temporal64 = _FrontBlock(temporal, (64, 1), (31, 32))
        self.temporal32 = _FrontBlock(temporal, (32, 1), (15, 16))
        front = 2 * timbral + 3 * temporal  # 561
        self.mid1 = _MidBlock(front, midend_filters)
        self.mid2 = _MidBlock(midend_filters, midend_filters)
        self.mid3 = _MidBlock(midend_filters, midend_filters)
        pooled = 2 * (front + 3 * midend_filters)  # 1506
        self.pool_bn = nn.BatchNorm1d(pooled, eps=BN_EPS)
        self.dense = nn.Linear(pooled, backend_units)
        self.dense_bn = nn.BatchNorm1d(backend_units, eps=BN_EPS)
        self.out = nn.Linear(backend_units, n_tags)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_bn(x.unsqueeze(1))  # (batch, 1, time, mels)
        front = torch.cat([self.timbral74(x), self.timbral77(x), self.temporal128(x), self.temporal64(x),
                           self.temporal32(x)], dim=1)  # (batch, 561, time)
        c1 = self.mid1(front)
        c2 = self.mid2(c1) + c1
        c3 = self.mid3(c2) + c2
        feats = torch.cat([front, c1, c2, c3], dim=1)  # (batch, 753, time)
        # TF concatenates [max, mean] on a trailing axis and flattens: interleaved per channel
        pooled = torch.stack([feats.amax(dim=2), feats.mean(dim=2)], dim=2).flatten(1)
        hidden = self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))
        return self.out(hidden)


_BLOCK_FRAMES = 16  # frames per cache block in CpuForward's timbral convs


def _bn_affine(bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Inference batch norm as scale * x + shift (float64)."""
    scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    return scale, bn.bias.detach().double() - bn.running_mean.double() * scale


class CpuForward:
    """`MusicnnNet.forward` reorganised for CPUs (see the module docstring): same weights, same
    result to float32 rounding (~1e-5 in the logits), about 4x faster on two AVX2 cores."""

    def __init__(self, net: MusicnnNet):
        self.net = net
        scale, shift = _bn_affine(net.input_bn)
        self.in_scale, self.in_shift = float(scale[0]), float(shift[0])
        self.n_mels = n = N_MELS
        self.bins = n // 2 + 1
        angle = 2 * np.pi * np.outer(np.arange(n), np.arange(self.bins)) / n
        self.dft = torch.from_numpy(np.concatenate([np.cos(angle), -np.sin(angle)], 1)).float()  # x @ dft: [Re | Im]
        self.timbral = [self._timbral_weights(net.timbral74), self._timbral_weights(net.timbral77)]
        # temporal kernels inside one 128-frame window: 'same' padding (k-1)//2 before -> offsets 0, 32, 48
        window = net.temporal128.conv.weight.shape[2]
        self.window = window
        self.temporal = [self._temporal_weights(blk, (window - 1) // 2 - (blk.conv.weight.shape[2] - 1) // 2)
                         for blk in (net.temporal128, net.temporal64, net.temporal32)]

    @staticmethod
    def _pooling(blk: _FrontBlock) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        scale, shift = _bn_affine(blk.bn)
        sign = torch.where(scale < 0, -1.0, 1.0).double()
        return sign, (scale.float(), shift.float(), sign.float(), blk.conv.bias.detach().float())

    def _timbral_weights(self, blk: _FrontBlock) -> dict:
        sign, post = self._pooling(blk)
        w = blk.conv.weight.detach().double()[:, 0] * sign[:, None, None]  # (C, 7, kf)
        channels, taps, kf = w.shape
        padded = torch.zeros(channels, taps, self.n_mels, dtype=torch.float64)
        padded[:, :, :kf] = w
        v = torch.fft.rfft(padded, dim=-1).conj()  # correlation theorem: X * conj(W)
        vr, vi = v.real.permute(2, 1, 0), v.imag.permute(2, 1, 0)  # (bins, taps, C)
        n, bins = self.n_mels, self.bins
        valid = n - kf + 1
        weight = np.full(bins, 2.0)
        weight[0] = 1.0
        if n % 2 == 0:
            weight[-1] = 1.0
        angle = 2 * np.pi * np.outer(np.arange(bins), np.arange(valid)) / n
        inverse = np.concatenate([weight[:, None] * np.cos(angle), -weight[:, None] * np.sin(angle)], 0).T / n
        return {"re": torch.cat([vr, -vi], 1).float().contiguous(),  # [Re X | Im X] @ re -> Re U
                "im": torch.cat([vi, vr], 1).float().contiguous(),
                "inverse": torch.from_numpy(np.ascontiguousarray(inverse)).float(),  # (valid bands, 2 bins)
                "taps": taps, "channels": channels, "post": post}

    def _temporal_weights(self, blk: _FrontBlock, offset: int) -> dict:
        sign, post = self._pooling(blk)
        w = blk.conv.weight.detach().double()[:, 0, :, 0] * sign[:, None]  # (C, k)
        return {"w": w.float().contiguous(), "offset": offset, "taps": w.shape[1], "post": post}

    @staticmethod
    def _finish(peak: torch.Tensor, post: tuple[torch.Tensor, ...]) -> torch.Tensor:
        scale, shift, sign, bias = post
        return F.relu(peak * sign + bias) * scale + shift

    def _timbral(self, spectrum: torch.Tensor, p: dict) -> torch.Tensor:
        """(batch, frames, C): max over bands of the conv, via the DFT along the mel axis."""
        bins, taps, channels = self.bins, p["taps"], p["channels"]
        batch, padded_frames, _ = spectrum.shape
        frames = padded_frames - taps + 1
        a = torch.cat([spectrum[..., :bins].unfold(1, taps, 1), spectrum[..., bins:].unfold(1, taps, 1)], -1)
        a = a.permute(2, 0, 1, 3).reshape(bins, batch * frames, 2 * taps)  # per bin: 7 taps of Re and Im
        rows = batch * frames
        peak = torch.empty(rows, channels)
        block = torch.empty(2 * bins, _BLOCK_FRAMES, channels)
        for start in range(0, rows, _BLOCK_FRAMES):
            m = min(_BLOCK_FRAMES, rows - start)
            u = block[:, :m] if m == _BLOCK_FRAMES else torch.empty(2 * bins, m, channels)
            torch.bmm(a[:, start:start + m], p["re"], out=u[:bins])
            torch.bmm(a[:, start:start + m], p["im"], out=u[bins:])
            y = p["inverse"] @ u.view(2 * bins, m * channels)  # (valid bands, m * C)
            torch.amax(y, 0, out=peak[start:start + m].view(-1))
        return self._finish(peak, p["post"]).view(batch, frames, channels)

    def _temporal(self, x: torch.Tensor) -> list[torch.Tensor]:
        batch, frames, n = x.shape
        w = self.window
        padded = F.pad(x, (0, 0, (w - 1) // 2, w // 2)).contiguous()
        outs = [torch.empty(batch, frames, p["w"].shape[0]) for p in self.temporal]
        for b in range(batch):
            windows = padded[b].as_strided((frames, w, n), (n, n, 1))  # frame t: rows t .. t+127
            for p, out in zip(self.temporal, outs):
                part = windows[:, p["offset"]:p["offset"] + p["taps"]]
                z = torch.bmm(p["w"].expand(frames, -1, -1), part)  # (frames, C, bands)
                torch.amax(z, -1, out=out[b])
        return [self._finish(o, p["post"]) for o, p in zip(outs, self.temporal)]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of (batch, frames, 96) log-mel patches, as `MusicnnNet.forward`."""
        net = self.net
        x = x.to(torch.float32) * self.in_scale + self.in_shift
        spectrum = F.pad(x, (0, 0, 3, 3)) @ self.dft  # (batch, frames + 6, 2 bins)
        front = torch.cat([self._timbral(spectrum, p) for p in self.timbral] + self._temporal(x), dim=2)
        front = front.transpose(1, 2)  # (batch, 561, frames)
        c1 = net.mid1(front)
        c2 = net.mid2(c1) + c1
        c3 = net.mid3(c2) + c2
        feats = torch.cat([front, c1, c2, c3], dim=1)
        pooled = torch.stack([feats.amax(dim=2), feats.mean(dim=2)], dim=2).flatten(1)
        hidden = net.dense_bn(F.relu(net.dense(net.pool_bn(pooled))))
        return net.out(hidden)


# ---------------------------------------------------------------------------------------------
# Input pipeline


def _hz_to_mel_slaney(hz: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    mels = hz / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, math.log(6.4) / 27.0
    return np.where(hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep, mels)


def _mel_to_hz_slaney(mels: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, math.log(6.4) / 27.0
    return np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), freqs)


@lru_cache(maxsize=4)
def mel_filterbank(sample_rate_hz: int = SAMPLE_RATE_HZ, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) float32 weights, computed as librosa.filters.mel does with its
    defaults (fmin 0, fmax sr/2, htk=False, norm='slaney', float32 rows)."""
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate_hz)
    mel_f = _mel_to_hz_slaney(np.linspace(_hz_to_mel_slaney(np.array(0.0)), _hz_to_mel_slaney(np.array(sample_rate_hz / 2.0)),
                                          n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    weights = np.zeros((n_mels, fft_freqs.size), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights


def mel_power_spectrogram(audio_16k: torch.Tensor) -> torch.Tensor:
    """(frames, 96) float32 power mel spectrogram of 16 kHz mono audio, like
    librosa.feature.melspectrogram(y, sr=16000, n_fft=512, hop_length=256, n_mels=96, pad_mode='reflect')."""
    y = audio_16k.to(torch.float32)
    pad = N_FFT // 2
    mode = "reflect" if y.numel() > pad else "constant"
    return _mel_frames(F.pad(y[None, None], (pad, pad), mode=mode)[0, 0])


def _mel_frames(padded: torch.Tensor) -> torch.Tensor:
    """(frames, 96) power mel of the frames that lie wholly in `padded` (the centred signal,
    already padded): frame t covers padded[t * HOP : t * HOP + N_FFT]."""
    window = torch.hann_window(N_FFT, periodic=True, dtype=torch.float32, device=padded.device)
    spec = torch.stft(padded, N_FFT, HOP, window=window, center=False, return_complex=True)  # (bins, frames)
    power = spec.abs().square()  # librosa keeps the STFT in complex64
    basis = torch.from_numpy(mel_filterbank()).to(power.device)
    return power.T @ basis.T


def log_compress(mel_power: torch.Tensor) -> torch.Tensor:
    """musicnn's `np.log10(10000 * x.astype(np.float16) + 1)` with numpy 1.x promotion: the power
    is rounded to float16, the rest is float32 (see the module docstring). Returns float32."""
    return torch.log10(mel_power.to(torch.float16).to(torch.float32) * 10000.0 + 1.0)


def log_mel_spectrogram(audio_16k: torch.Tensor) -> torch.Tensor:
    """(frames, 96) musicnn input representation of 16 kHz mono audio."""
    return log_compress(mel_power_spectrogram(audio_16k))


@lru_cache(maxsize=16)
def _resample_kernel(orig: int, new: int, zeros: int, rolloff: float, beta: float, table: int) -> tuple[np.ndarray, int]:
    """(new + 1, taps) polyphase filter: row j < new holds the weights of the input samples around
    output sample j of a block of `orig` inputs / `new` outputs; the extra last row is phase 0
    seen from the previous input sample (see below).

    The filter is resampy's: h(x) = rolloff * sinc(rolloff * x) * kaiser(x / zeros), |x| <= zeros,
    x in sample periods of the lower rate, gain min(1, new / orig). Like resampy 0.2 (which
    librosa 0.7 called) it steps through its filter table, `table` entries per zero crossing, in
    whole entries of int(scale * table) when downsampling, so taps sit at scale * frac + i * step
    instead of scale * (frac + i). resampy finds an output's position by adding 1 / ratio to a
    float64 register, so an output that falls on an input sample may be computed from the sample
    before it (frac = 1), which the step rounding makes slightly different: the last row."""
    scale = min(1.0, new / orig)
    step = int(scale * table) / table
    width = math.ceil(zeros / step) + 2
    pos = np.arange(new, dtype=np.float64) * orig / new  # output times in input samples
    n = np.concatenate([np.floor(pos), [-1.0]])[:, None]
    frac = np.concatenate([pos - np.floor(pos), [1.0]])[:, None]
    k = np.arange(-width, width + orig, dtype=np.float64)[None, :]  # input sample index in the block
    x = np.where(k <= n, scale * frac + (n - k) * step, scale * (1.0 - frac) + (k - n - 1) * step)
    window = np.i0(beta * np.sqrt(np.clip(1 - (x / zeros) ** 2, 0.0, None))) / np.i0(beta)
    kernel = np.where(x < zeros, rolloff * np.sinc(rolloff * x) * window, 0.0) * scale
    return kernel, width


def _register_below(blocks: int, new: int, orig: int, increment: float, chunk: int = 1 << 20) -> np.ndarray:
    """For each block b: is resampy's register (0 + increment + increment + ..., float64, added one
    output at a time) below b * orig when it reaches output b * new? Chunked, same rounding."""
    below = np.empty(blocks, dtype=bool)
    step = max(1, chunk // new) * new  # a whole number of blocks per chunk
    buf = np.empty(step + 1)
    start, done = 0.0, 0
    while done < blocks * new:
        m = min(step, blocks * new - done)
        reg = buf[:m + 1]
        reg[0] = start
        reg[1:] = increment
        np.cumsum(reg, out=reg)
        first = done // new
        below[first:first + m // new] = reg[:m:new] < np.arange(first, first + m // new) * float(orig)
        start, done = reg[m], done + m
    return below


@lru_cache(maxsize=16)
def _phase_groups(orig: int, new: int, zeros: int, rolloff: float, beta: float, table: int,
                  rows_per_group: int = 24) -> tuple[list[tuple[np.ndarray, int, np.ndarray]], int, int]:
    """The polyphase filter cut into groups of phases with neighbouring supports: (rows, first
    tap, taps) per group. Each row has about 2 * zeros / scale non-zero taps out of
    2 * width + orig, so convolving each group over its own support skips the zeros (about
    half the work when downsampling 44.1 kHz to 16 kHz). Also returns width and the full tap count."""
    kernel, width = _resample_kernel(orig, new, zeros, rolloff, beta, table)
    nonzero = kernel != 0.0
    first = np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), 0)
    last = np.where(nonzero.any(axis=1), kernel.shape[1] - nonzero[:, ::-1].argmax(axis=1), 1)
    order = np.argsort(first, kind="stable")
    groups = []
    for i in range(0, order.size, rows_per_group):
        rows = np.sort(order[i:i + rows_per_group])
        lo, hi = int(first[rows].min()), int(last[rows].max())
        groups.append((rows, lo, np.ascontiguousarray(kernel[rows, lo:hi])))
    return groups, width, kernel.shape[1]


def resample(audio: torch.Tensor, orig_hz: int, new_hz: int, *, zeros: int = 64,
             rolloff: float = 0.9475937167399596, beta: float = 14.769656459379492, table: int = 512) -> torch.Tensor:
    """Band-limited resampling of the last axis, computed polyphase (one strided conv, the rate
    ratio reduced by the gcd), reproducing librosa 0.7's `resample(res_type="kaiser_best")`,
    i.e. resampy 0.2's `kaiser_best` filter (64 zero crossings, roll-off 0.948, Kaiser beta
    14.77, 512 table entries per crossing), which musicnn's training data went through. Output
    length ceil(n * ratio); like librosa the samples past resampy's int(n * ratio) are zero."""
    orig_hz, new_hz = int(orig_hz), int(new_hz)
    if orig_hz == new_hz:
        return audio
    plan = _ResamplePlan.of(orig_hz, new_hz, zeros, rolloff, beta, table)
    shape = audio.shape
    n = shape[-1]
    target, valid = plan.lengths(n)
    x = F.pad(audio.reshape(-1, 1, n).to(torch.float32), (plan.width, plan.width + plan.orig))
    blocks = (x.shape[-1] - plan.taps) // plan.orig + 1
    y = plan.blocks(x, 0, blocks, plan.register_below(blocks))
    y = y[:, :target].clone()
    y[:, valid:] = 0.0
    return y.reshape(*shape[:-1], target)


@dataclass(frozen=True)
class _ResamplePlan:
    """The polyphase filter of one rate pair (see `resample`), and the blocks it computes."""

    orig_hz: int
    new_hz: int
    orig: int  # input samples per block (the rates divided by their gcd)
    new: int  # output samples per block
    groups: list
    width: int  # zero padding before the signal
    taps: int  # padded input samples one block reads

    @classmethod
    def of(cls, orig_hz: int, new_hz: int, zeros: int = 64, rolloff: float = 0.9475937167399596,
           beta: float = 14.769656459379492, table: int = 512) -> "_ResamplePlan":
        g = math.gcd(orig_hz, new_hz)
        orig, new = orig_hz // g, new_hz // g
        if new * (orig + 2 * zeros * orig // min(orig, new)) > MAX_KERNEL_VALUES:
            raise ValueError(f"cannot resample {orig_hz} Hz to {new_hz} Hz: the rates share too small a factor "
                             f"(gcd {g}); use a common sample rate such as 44100 or 48000 Hz")
        groups, width, taps = _phase_groups(orig, new, zeros, rolloff, beta, table)
        return cls(orig_hz, new_hz, orig, new, groups, width, taps)

    def lengths(self, n: int) -> tuple[int, int]:
        """librosa's output length ceil(n * ratio), and resampy's int(n * ratio) (zeros after)."""
        ratio = float(self.new_hz) / self.orig_hz
        return math.ceil(n * ratio), int(n * ratio)

    def register_below(self, blocks: int) -> torch.Tensor | None:
        """Per block: do outputs that land on an input sample come from the sample before (resampy's
        float64 time register ended just below it)? None when upsampling."""
        if self.new >= self.orig:
            return None
        return torch.from_numpy(_register_below(blocks, self.new, self.orig, self.orig_hz / float(self.new_hz)))

    def blocks(self, x: torch.Tensor, first: int, count: int, below: torch.Tensor | None) -> torch.Tensor:
        """Output samples of blocks first .. first + count - 1, (batch, count * new): `x` (batch, 1, L)
        holds the padded input from block `first` on (at least (count - 1) * orig + taps samples)
        and `below` the whole signal's register flags (`register_below`)."""
        orig, new = self.orig, self.new
        if len(self.groups) == 1:
            rows, lo, part = self.groups[0]
            kernel = torch.from_numpy(part).to(device=x.device, dtype=torch.float32)[:, None, :]
            y = F.conv1d(x[..., lo:], kernel, stride=orig)[..., :count]  # (batch, new + 1, count)
        else:
            y = torch.empty(x.shape[0], new + 1, count, dtype=torch.float32, device=x.device)
            for rows, lo, part in self.groups:  # each group of phases over its own non-zero taps
                kernel = torch.from_numpy(part).to(device=x.device, dtype=torch.float32)[:, None, :]
                y[:, torch.from_numpy(rows).to(x.device)] = F.conv1d(x[..., lo:], kernel, stride=orig)[..., :count]
        if below is not None:
            y[:, 0] = torch.where(below[first:first + count].to(y.device), y[:, new], y[:, 0])
        return y[:, :new].transpose(1, 2).reshape(x.shape[0], -1)


class _LengthMismatch(Exception):
    """The decoder delivered another number of frames than the file's header announced."""


class _StreamingLogMel:
    """musicnn's input (`log_mel_spectrogram` of `resample`d mono audio) computed block by block
    as decoded audio arrives, equal to the whole-signal computation: the resampler's blocks and
    the STFT's frames only read the samples they would read in one go (the zero padding before
    the signal, the reflection at both ends), so decoding can overlap the network."""

    def __init__(self, sample_rate_hz: int, total_frames: int):
        self.plan = _ResamplePlan.of(int(sample_rate_hz), SAMPLE_RATE_HZ) if sample_rate_hz != SAMPLE_RATE_HZ else None
        self.total_frames, self.pushed = int(total_frames), 0
        self.total_16k, self.valid_16k = self.plan.lengths(total_frames) if self.plan else (total_frames, total_frames)
        if self.plan:
            self.block_count = (total_frames + 2 * self.plan.width + self.plan.orig - self.plan.taps) // self.plan.orig + 1
            self.below = self.plan.register_below(self.block_count)
            self.raw = torch.zeros(self.plan.width)  # padded input from block `self.block` on
        self.block = 0
        self.emitted = 0  # 16 kHz samples produced
        self.frame = 0  # next mel frame
        self.frame_count = self.total_16k // HOP + 1
        self.centred = torch.empty(0)  # the reflect-padded 16 kHz signal from frame `self.frame` on
        self.head: torch.Tensor | None = torch.empty(0)  # the first samples, until the left reflection is known
        self.last = torch.empty(0)  # the newest 16 kHz samples (the right reflection at the end)

    def push(self, mono: torch.Tensor) -> torch.Tensor:
        """Log-mel frames (n, 96) made complete by these input samples."""
        self.pushed += mono.numel()
        if self.pushed > self.total_frames:
            raise _LengthMismatch(f"more than the {self.total_frames} frames announced")
        return self._frames(self._resampled(mono.to(torch.float32), final=False), final=False)

    def finish(self) -> torch.Tensor:
        """The remaining frames, once all input has been pushed."""
        if self.pushed != self.total_frames:
            raise _LengthMismatch(f"{self.pushed} frames decoded, {self.total_frames} announced")
        return self._frames(self._resampled(None, final=True), final=True)

    def _resampled(self, mono: torch.Tensor | None, final: bool) -> torch.Tensor:
        if self.plan is None:
            return mono if mono is not None else torch.empty(0)
        plan = self.plan
        self.raw = torch.cat([self.raw, mono if mono is not None else torch.zeros(plan.width + plan.orig)])
        ready = (self.raw.numel() - plan.taps) // plan.orig + 1 if self.raw.numel() >= plan.taps else 0
        count = min(ready, self.block_count - self.block)
        if count <= 0:
            return torch.empty(0)
        y = plan.blocks(self.raw[: (count - 1) * plan.orig + plan.taps].view(1, 1, -1), self.block, count, self.below)[0]
        self.raw = self.raw[count * plan.orig:]
        self.block += count
        start = self.emitted
        y = y[: max(0, self.total_16k - start)].clone()
        if start + y.numel() > self.valid_16k:
            y[max(0, self.valid_16k - start):] = 0.0
        self.emitted += y.numel()
        return y

    def _frames(self, y: torch.Tensor, final: bool) -> torch.Tensor:
        pad = N_FFT // 2
        if y.numel():
            self.last = torch.cat([self.last, y])[-(pad + 1):]
        if self.head is not None:  # the left reflection needs the first pad + 1 samples
            self.head = torch.cat([self.head, y])
            if self.head.numel() <= pad and not final:
                return torch.empty(0, N_MELS)
            y, self.head = torch.cat([self.head[1:pad + 1].flip(0), self.head]), None
        chunks = [self.centred, y]
        if final:
            chunks.append(self.last[:-1].flip(0)[:pad])  # the right reflection
        self.centred = torch.cat(chunks)
        count = min(self.frame_count - self.frame, (self.centred.numel() - N_FFT) // HOP + 1)
        if count <= 0:
            return torch.empty(0, N_MELS)
        mel = _mel_frames(self.centred[: (count - 1) * HOP + N_FFT])
        self.centred = self.centred[count * HOP:]
        self.frame += count
        return log_compress(mel)


def patches(logmel: torch.Tensor, patch_frames: int = PATCH_FRAMES, hop_frames: int | None = None) -> torch.Tensor:
    """(n_patches, patch_frames, mels): musicnn's batch_data. Non-overlapping by default; the last
    partial patch is dropped; a spectrogram shorter than one patch is repeat-padded to one."""
    hop_frames = hop_frames or patch_frames
    if logmel.shape[0] < patch_frames:
        reps = math.ceil(patch_frames / max(1, logmel.shape[0]))
        logmel = logmel.repeat(reps, 1)[:patch_frames]
    return logmel.unfold(0, patch_frames, hop_frames).transpose(1, 2).contiguous()


# ---------------------------------------------------------------------------------------------
# Public API


@dataclass(frozen=True)
class TagResult:
    tags: dict[str, float]  # tag -> probability averaged over patches, in the model's tag order
    per_patch: torch.Tensor  # (n_patches, n_tags) probabilities on the CPU, one row per 3 s
    model: str

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        return sorted(self.tags.items(), key=lambda kv: kv[1], reverse=True)[:k]


class Tagger:
    """A loaded musicnn model. Thread-safe for concurrent `tag` calls (inference only)."""

    def __init__(self, model: str, net: MusicnnNet, tags: list[str], version: str, device: torch.device):
        self.model = model
        self.net = net
        self.tags = list(tags)
        self.version = version
        self.device = device
        self._cpu_forward = CpuForward(net) if device.type == "cpu" else None

    def spectrogram(self, audio: torch.Tensor, sample_rate_hz: int) -> torch.Tensor:
        """(frames, 96) log-mel input of (channels, frames) or 1-D audio at any sample rate."""
        x = torch.as_tensor(audio)
        if x.dim() == 2:
            x = x.to(torch.float32).mean(dim=0)
        elif x.dim() != 1:
            raise ValueError(f"audio must be 1-D or (channels, frames), got shape {tuple(x.shape)}")
        if x.numel() == 0:
            raise ValueError("audio is empty")
        x = x.to(device=self.device, dtype=torch.float32)
        x = resample(x, int(sample_rate_hz), SAMPLE_RATE_HZ)
        return log_mel_spectrogram(x)

    def _forward(self, chunk: torch.Tensor) -> torch.Tensor:
        chunk = chunk.to(self.device)
        return self._cpu_forward(chunk) if self._cpu_forward is not None else self.net(chunk)

    def logits(self, patches_: torch.Tensor, batch_patches: int | None = None) -> torch.Tensor:
        """Logits of (n, frames, 96) log-mel patches, `batch_patches` at a time (default: 8 on
        the CPU, 256 on a GPU). On the CPU with several intra-op threads, the patches are split
        into one contiguous share per thread, each run single-threaded on its own worker
        (`_cpu_pool`): ~1.4x faster on two cores than letting each small GEMM use both."""
        size = batch_patches or (PATCH_BATCH if self._cpu_forward is not None else GPU_PATCH_BATCH)
        n = patches_.shape[0]
        if n == 0:
            return torch.empty(0, len(self.tags))
        threads = torch.get_num_threads()
        if self._cpu_forward is not None and threads > 1 and n > size:
            shares = [s for s in torch.tensor_split(patches_, min(threads, -(-n // size))) if s.shape[0]]
            pool = _cpu_pool(threads)
            return torch.cat(list(pool.map(lambda share: self._run_chunks(share, size), shares)))
        return self._run_chunks(patches_, size)

    def _run_chunks(self, patches_: torch.Tensor, size: int) -> torch.Tensor:
        with torch.inference_mode(), _exact_matmul(self.device):
            return torch.cat([self._forward(patches_[i:i + size]) for i in range(0, patches_.shape[0], size)])

    def _patches(self, audio: torch.Tensor, sample_rate_hz: int, patch_hop_s: float | None) -> torch.Tensor:
        hop = None if patch_hop_s is None else max(1, int((patch_hop_s * SAMPLE_RATE_HZ - N_FFT // 2) // HOP))
        return patches(self.spectrogram(audio, sample_rate_hz), hop_frames=hop)

    @torch.inference_mode()
    def tag(self, audio: torch.Tensor, sample_rate_hz: int, *, patch_hop_s: float | None = None) -> TagResult:
        """Tag probabilities of a clip. `patch_hop_s` (musicnn's `input_overlap`, which is really the
        hop between 3 s patches) defaults to none: back-to-back patches."""
        return self._result(torch.sigmoid(self.logits(self._patches(audio, sample_rate_hz, patch_hop_s))))

    def tag_stream(self, blocks, sample_rate_hz: int, total_frames: int,
                   on_decoded: Callable[[], None] | None = None) -> tuple[TagResult, torch.Tensor]:
        """Tag audio as it is decoded: `blocks` yields (channels, frames) or 1-D pieces of a
        `total_frames`-long signal. Each batch of patches goes to the CPU workers as soon as it is
        complete, while this thread decodes and converts the next blocks (`_StreamingLogMel`),
        so decoding overlaps the network. Same result as `tag` on the whole signal (to float
        rounding). Returns the result and the (frames, 96) log-mel. `on_decoded` is called once
        the input is used up (only the network is left). Short clips (under one patch), GPUs and
        a decoder that delivers another length than `total_frames` take the whole-signal path."""
        rate = int(sample_rate_hz)
        blocks = iter(blocks)  # a fallback mid-way continues where the stream stopped
        decoded: list[torch.Tensor] = []  # mono blocks, kept for the whole-signal path

        def mono_blocks():
            for block in blocks:
                decoded.append(self._mono(block))
                yield decoded[-1]

        def whole() -> tuple[TagResult, torch.Tensor]:
            audio = torch.cat([*decoded, *mono_blocks()])
            if on_decoded:
                on_decoded()
            logmel = self.spectrogram(audio, rate)
            return self._result(torch.sigmoid(self.logits(patches(logmel)))), logmel

        if self._cpu_forward is None or total_frames * SAMPLE_RATE_HZ < PATCH_FRAMES * HOP * rate:
            return whole()
        stream = _StreamingLogMel(rate, int(total_frames))
        pool = _cpu_pool(max(1, torch.get_num_threads()))
        frames: list[torch.Tensor] = []
        futures = []
        pending = torch.empty(0, N_MELS)  # frames not yet cut into patches

        def submit(new_frames: torch.Tensor, patches_per_job: int) -> None:
            """Send every group of `patches_per_job` whole patches in `pending` to the workers."""
            nonlocal pending
            frames.append(new_frames)
            pending = torch.cat([pending, new_frames])
            usable = pending.shape[0] // (patches_per_job * PATCH_FRAMES) * patches_per_job * PATCH_FRAMES
            if usable:
                chunk = pending[:usable].unfold(0, PATCH_FRAMES, PATCH_FRAMES).transpose(1, 2).contiguous()
                futures.append(pool.submit(self._run_chunks, chunk, PATCH_BATCH))
                pending = pending[usable:]

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # this thread converts while the workers run the network: a core each
        try:
            with torch.inference_mode():
                for block in mono_blocks():
                    submit(stream.push(block), STREAM_JOB_PATCHES)
                last = stream.finish()
                if on_decoded:
                    on_decoded()
                submit(last, 1)  # every whole patch left; musicnn drops the last partial one
                probs = torch.sigmoid(torch.cat([future.result() for future in futures]))
        except _LengthMismatch:  # e.g. an MP3 without a length tag: its header only estimated it
            for future in futures:
                future.cancel()
            torch.set_num_threads(threads)
            return whole()
        finally:
            torch.set_num_threads(threads)
        return self._result(probs), torch.cat(frames)

    def tag_file(self, path: str | Path, block_frames: int = 1 << 17) -> tuple[TagResult, torch.Tensor]:
        """`tag_stream` over a file read with soundfile (WAV, FLAC, OGG, MP3) in blocks."""
        import soundfile as sf

        with sf.SoundFile(str(path)) as f:
            total, rate = f.frames, f.samplerate
            blocks = (torch.from_numpy(block.T.copy()) for block in f.blocks(block_frames, dtype="float32", always_2d=True))
            return self.tag_stream(blocks, rate, total)

    @staticmethod
    def _mono(block) -> torch.Tensor:
        x = torch.as_tensor(block)
        return x.to(torch.float32).mean(dim=0) if x.dim() == 2 else x.to(torch.float32)

    @torch.inference_mode()
    def tag_many(self, clips: list[tuple[torch.Tensor, int]], *, batch_patches: int | None = None) -> list[TagResult]:
        """Tag several (audio, sample rate) clips with their patches pooled into shared batches
        (what makes a GPU busy); the same results as `tag` on each."""
        per_clip = [self._patches(audio, rate, None) for audio, rate in clips]
        if not per_clip:
            return []
        probs = torch.sigmoid(self.logits(torch.cat(per_clip), batch_patches))
        return [self._result(part) for part in torch.split(probs, [p.shape[0] for p in per_clip])]

    def _result(self, probs: torch.Tensor) -> TagResult:
        probs = probs.float().cpu()
        mean = probs.mean(dim=0).tolist()
        return TagResult(dict(zip(self.tags, mean, strict=True)), probs, self.model)


class _exact_matmul:
    """Keep TF32 off for the tagger's convs/matmuls on CUDA (they would cost ~1e-3 of accuracy)."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def __enter__(self):
        if self.cuda:
            self._cudnn = torch.backends.cudnn.allow_tf32
            self._mm = torch.backends.cuda.matmul.allow_tf32
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False

    def __exit__(self, *exc):
        if self.cuda:
            torch.backends.cudnn.allow_tf32 = self._cudnn
            torch.backends.cuda.matmul.allow_tf32 = self._mm


_POOL_LOCK = threading.Lock()
_POOLS: dict[int, ThreadPoolExecutor] = {}


def _single_threaded() -> None:
    # OpenMP's thread count and MKL's local one are per calling thread: this worker runs its
    # share on one core. (torch also keeps the last value as a process-wide default for threads
    # it starts itself; `_cpu_pool` puts the caller's back.)
    torch.set_num_threads(1)


def _cpu_pool(threads: int) -> ThreadPoolExecutor:
    """A pool of `threads` single-threaded torch workers for CPU inference (one per size)."""
    with _POOL_LOCK:
        pool = _POOLS.get(threads)
        if pool is None:
            pool = ThreadPoolExecutor(threads, thread_name_prefix="tagger-cpu", initializer=_single_threaded)
            list(pool.map(lambda _i: time.sleep(0.01), range(threads)))  # start every worker now
            torch.set_num_threads(threads)  # restore the process-wide default after the workers' set
            _POOLS[threads] = pool
        return pool


def available_models() -> list[str]:
    return [m for m, f in MODEL_FILES.items() if (MODELS_DIR / f).exists()]


_LOCK = threading.Lock()


def load_tagger(model: str = "MSD_musicnn", device: str | torch.device | None = None) -> Tagger:
    """The musicnn tagger `model` ("MSD_musicnn" or "MTT_musicnn") on `device` (default: CPU;
    the model is small and the CPU result matches the original to float rounding). Cached."""
    if model not in MODEL_FILES:
        raise ValueError(f"unknown tagger model {model!r}; choose one of {sorted(MODEL_FILES)}")
    dev = torch.device(device) if device is not None else torch.device("cpu")
    with _LOCK:
        return _load(model, str(dev))


@lru_cache(maxsize=8)
def _load(model: str, device: str) -> Tagger:
    path = MODELS_DIR / MODEL_FILES[model]
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run tools/convert_musicnn.py to create it")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    meta = blob["meta"]
    tags = json.loads((MODELS_DIR / TAGS_FILE).read_text())[model]
    if meta["model"] != model or meta["n_tags"] != len(tags):
        raise ValueError(f"{path} holds {meta['model']} with {meta['n_tags']} tags, expected {model} with {len(tags)}")
    net = MusicnnNet(n_tags=len(tags))
    missing, unexpected = net.load_state_dict(blob["state_dict"], strict=False)
    if unexpected or [m for m in missing if not m.endswith("num_batches_tracked")]:
        raise ValueError(f"{path}: unexpected state dict (missing {missing}, unexpected {unexpected})")
    dev = torch.device(device)
    net = net.to(dev).eval()
    version = f"musicnn-0.1.0/{model}/{meta['checkpoint_sha256'][:12]}"
    return Tagger(model, net, tags, version, dev)
