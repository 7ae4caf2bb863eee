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
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

MODELS_DIR = Path(__file__).resolve().parents[2] / "resources" / "models"
MODEL_FILES = {"MSD_musicnn": "musicnn_msd.pt", "MTT_musicnn": "musicnn_mtt.pt"}
TAGS_FILE = "musicnn_tags.json"

SAMPLE_RATE_HZ = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # librosa.time_to_frames(3 s, sr=16000, n_fft=512, hop_length=256) + 1
BN_EPS = 1e-3  # tf.compat.v1.layers.batch_normalization default
MAX_KERNEL_VALUES = 50_000_000  # polyphase resampling filter size limit (rates with a small gcd)
PATCH_BATCH = 16  # patches per forward pass (bounds memory: ~9 MB of activations per patch)


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
    y = audio_16k.to(torch.float64)
    pad = N_FFT // 2
    mode = "reflect" if y.numel() > pad else "constant"
    y = F.pad(y[None, None], (pad, pad), mode=mode)[0, 0]
    window = torch.hann_window(N_FFT, periodic=True, dtype=torch.float64, device=y.device)
    spec = torch.stft(y, N_FFT, HOP, window=window, center=False, return_complex=True)  # (bins, frames)
    power = spec.to(torch.complex64).abs().square()  # librosa keeps the STFT in complex64
    basis = torch.from_numpy(mel_filterbank()).to(power.device)
    return (basis @ power).T.contiguous()


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
    start, done = 0.0, 0
    while done < blocks * new:
        m = min(chunk * new, blocks * new - done)  # a whole number of blocks
        reg = np.cumsum(np.concatenate([[start], np.full(m, increment)]))
        first = done // new
        below[first:first + m // new] = reg[:m:new] < np.arange(first, first + m // new) * float(orig)
        start, done = reg[m], done + m
    return below


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
    g = math.gcd(orig_hz, new_hz)
    orig, new = orig_hz // g, new_hz // g
    if new * (orig + 2 * zeros * orig // min(orig, new)) > MAX_KERNEL_VALUES:
        raise ValueError(f"cannot resample {orig_hz} Hz to {new_hz} Hz: the rates share too small a factor "
                         f"(gcd {g}); use a common sample rate such as 44100 or 48000 Hz")
    kernel_np, width = _resample_kernel(orig, new, zeros, rolloff, beta, table)
    shape = audio.shape
    n = shape[-1]
    ratio = float(new_hz) / orig_hz
    target, valid = math.ceil(n * ratio), int(n * ratio)  # librosa's and resampy's lengths
    x = audio.reshape(-1, 1, n).to(torch.float32)
    kernel = torch.from_numpy(kernel_np).to(device=x.device, dtype=torch.float32)[:, None, :]
    x = F.pad(x, (width, width + orig))
    y = F.conv1d(x, kernel, stride=orig)  # (batch, new + 1, blocks)
    if new < orig:
        # outputs that land on an input sample: did resampy's float64 time register end up just below it?
        below = torch.from_numpy(_register_below(y.shape[-1], new, orig, 1.0 / ratio)).to(y.device)
        y[:, 0] = torch.where(below, y[:, new], y[:, 0])
    y = y[:, :new].transpose(1, 2).reshape(x.shape[0], -1)[:, :target].clone()
    y[:, valid:] = 0.0
    return y.reshape(*shape[:-1], target)


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

    @torch.inference_mode()
    def tag(self, audio: torch.Tensor, sample_rate_hz: int, *, patch_hop_s: float | None = None) -> TagResult:
        """Tag probabilities of a clip. `patch_hop_s` (musicnn's `input_overlap`, which is really the
        hop between 3 s patches) defaults to none: back-to-back patches."""
        hop = None if patch_hop_s is None else max(1, int((patch_hop_s * SAMPLE_RATE_HZ - N_FFT // 2) // HOP))
        x = patches(self.spectrogram(audio, sample_rate_hz), hop_frames=hop)
        outs = []
        with _exact_matmul(self.device):
            for i in range(0, x.shape[0], PATCH_BATCH):
                outs.append(torch.sigmoid(self.net(x[i:i + PATCH_BATCH])))
        probs = torch.cat(outs).float().cpu()
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
