"""Audio analysis: tempo, key, loudness and spectrum of a track, and the seed 001 quality metrics.

Everything is measured from the audio (the score only enters `quality_metrics`), in torch on the
tensor's device, and returned as Python floats. Audio is (channels, frames) float; 1-D is mono.

* `estimate_tempo`: the track is downmixed and decimated to ~11 kHz. Onset strength: a 40-band
  mel power spectrogram (~46 ms Hann windows, ~120 frames per second), compressed as
  log(1 + 10^4 power / peak) (logarithmic over the top ~40 dB, so near-silent bands do not weigh
  like loud ones), spectral flux (frame-to-frame increase per band, half-wave rectified,
  averaged over bands), minus a 1 s moving average, rectified again.
  1. Its autocorrelation (unbiased, 1 at lag 0) times a log-Gaussian tempo prior (centre
     110 BPM, one octave standard deviation): the best local peak in the tempo range, refined
     by parabolic interpolation, is the first beat lag.
  2. Octave errors: the first lag times 1/3, 1/2, 2/3, 1, 3/2, 2 and 3 and the 8 strongest
     prior-weighted peaks (each snapped to its nearest autocorrelation peak; those in the tempo
     range) are scored with a pulse train: mean onset strength under pulses at the period (best
     phase, chosen again every 10 s), divided by sqrt(period), times prior ** 0.5. On an even
     click the true period beats its double and its half by sqrt(2); the prior breaks near-ties.
  3. The winner is refined by a least-squares fit through the autocorrelation peaks at its
     multiples (up to half the clip), which pins the period to a small fraction of a frame.
  Confidence is the normalised autocorrelation at the final lag (0..1). Silence, or a clip
  shorter than about two beats, gives bpm 0.0 with confidence 0.0. Dense subdivisions leave a
  real ambiguity: a half-time groove (kick on 1, snare on 3) at 174 reads as 87, and a 70 BPM
  groove with loud 16th hats may read as 140, as listeners may tap them.
* `estimate_key`: chroma from the magnitude STFT (~0.37 s windows, ~92 ms hop) of the downmix
  decimated to ~5.5 kHz, mapped to semitones MIDI 28..95 (triangular weights one semitone wide
  in log frequency: a constant-Q-like log-frequency mapping). Drums are kept out by a soft
  harmonic-percussive mask on that semitone spectrogram (median over 0.6 s of time for the
  sustained part, over 7 semitones for the broadband part; mask H^2 / (H^2 + P^2)). The result
  is compressed as log(1 + 3 x / peak), summed over time and folded to 12 pitch classes.
  Pearson correlation with Temperley's major and minor key profiles (his revision of
  Krumhansl-Kessler; the minor's lowered 7th raised for natural minor, see MINOR_PROFILE) in
  all 24 rotations; the best wins. confidence =
  (best - runner-up) / (1 - runner-up), clipped to 0..1. Keys are named by
  `studio.engine.composition.spec.key_name` (flats: "Gb_major", "Db_minor"; `spec.parse_key` reads sharps
  too).
* `analyse_audio`: the above plus BS.1770 loudness, loudness range and true peak (the
  `mastering` meter's own steps, one K-weighting pass), sample peak, RMS, spectral centroid /
  bandwidth / roll-off, dynamic range, clipping, DC and band energies. A 180 s stereo 44.1 kHz
  track takes about 1 s on one CPU core, two thirds of it the BS.1770 loudness and true peak.
* `quality_metrics`: the five seed 001 `quality_metrics` values, each 0..1 (formulas in its
  docstring).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, is_dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from studio.engine.dsp.mastering import (
    TARGET_LUFS,
    TRUE_PEAK_CEILING_DBTP,
    _BLOCK_SEGMENTS,
    _hop_frames,
    _integrated,
    _loudness_range,
    _power_to_lufs,
    _weighted_energy,
    _window_power,
    true_peak_dbtp,
)
from studio.engine.composition.spec import key_name

if TYPE_CHECKING:
    from studio.engine.composition.score import Score

__all__ = [
    "TempoEstimate",
    "KeyEstimate",
    "AudioAnalysis",
    "estimate_tempo",
    "estimate_key",
    "analyse_audio",
    "quality_metrics",
    "chroma_vector",
    "key_correlations",
    "MAJOR_PROFILE",
    "MINOR_PROFILE",
]

ANALYSIS_RATE_HZ = 11025.0  # tempo and key work on the downmix decimated to about this rate
CHROMA_RATE_HZ = 5512.5  # the chroma (notes up to B6, 1976 Hz) is taken at about this rate
ONSET_FRAME_RATE_HZ = 120.0  # onset-envelope frames per second
TEMPO_PRIOR_BPM = 110.0
TEMPO_PRIOR_OCTAVES = 1.0
OCTAVE_PRIOR_POWER = 0.5
PULSE_PERIOD_POWER = 0.5  # pulse-train score = mean pulse strength / period ** this
_OCTAVE_RATIOS = (1 / 3, 1 / 2, 2 / 3, 1.0, 3 / 2, 2.0, 3.0)
_PEAK_CANDIDATES = 8  # strongest autocorrelation peaks scored besides the first lag's multiples
_CHROMA_MIDI = (28, 96)  # E1 .. B6
_CHROMA_WINDOW_S = 0.37  # STFT window of the chroma (4096 frames at 11 kHz: 2.7 Hz bins)
_CHROMA_HOP_DIVISOR = 4  # hop = window / 4 (~92 ms)
_HARMONIC_MEDIAN_S = 0.6  # time median that keeps sustained notes
_PERCUSSIVE_MEDIAN_SEMITONES = 7  # frequency median that keeps broadband hits
_CHROMA_GAIN = 3.0  # per-frame compression log(1 + gain * level / peak)
_LOG_GAIN = 1e4  # onset spectrogram compression: log(1 + gain * power / peak)

# Temperley's (1999, "What's key for key?") revision of the Krumhansl-Kessler profiles, tonic
# first. The minor profile rates the raised leading tone as highly as the major one does, which
# separates relative and parallel keys better on harmonic-minor material (checked against the
# Krumhansl-Kessler ratings, kept below, on rendered progressions and scales).
# One change: Temperley rates the minor key's lowered 7th at 1.5, as foreign as a chromatic
# note; here it is 3.5, level with the 2nd and the 6th. Natural minor (i-VI-III-VII, i-VII-VI)
# is how most minor-key pop, rock and electronic music is written, and with 1.5 such songs read
# as their relative major or as the key of their VI. Measured on symbolic pitch-class
# durations with known keys: 355 Bach chorales (key signature + final bass note) 279 -> 317
# right (minor 63 -> 101 of 134); 3159 Essen folk melodies (key signature + final note, nearly
# all major) 2459 -> 2442; 252 composed scores of the 21 styles 137 -> 184. On 42 rendered
# 30 s tracks of the 21 styles the audio estimate went 25 -> 32 right.
MAJOR_PROFILE = (5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0)
MINOR_PROFILE = (5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 3.5, 4.0)
KRUMHANSL_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KRUMHANSL_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
# Scale steps counted "in key" by harmonic_consistency: major, natural minor plus the leading tone.
_SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10, 11)}
# Bands for the spectral balance (Hz; the last ends at Nyquist).
BAND_EDGES_HZ = (20.0, 150.0, 500.0, 2000.0, 5000.0, 10000.0)
BAND_NAMES = ("sub", "low", "low_mid", "high_mid", "presence", "air")


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


def _jsonable(value):
    if is_dataclass(value):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # -inf LUFS / dBTP of silence: JSON has no infinity
    return value


@dataclass
class TempoEstimate:
    bpm: float  # 0.0 when no tempo could be found (silence, too short)
    confidence: float  # 0..1: normalised onset autocorrelation at the beat lag


@dataclass
class KeyEstimate:
    key: str  # "A_minor", "F#_major" spelled as studio.engine.composition.spec.key_name
    tonic_pitch_class: int
    mode: str  # "major" | "minor"
    confidence: float  # 0..1: margin to the runner-up key (see the module notes)
    correlation: float  # Pearson correlation of the chroma with the winning key profile
    chroma: tuple[float, ...] = ()  # 12 pitch-class shares from C, summing to 1 (zeros for silence)


@dataclass
class AudioAnalysis:
    duration_s: float
    tempo: TempoEstimate
    key: KeyEstimate
    loudness_lufs: float  # BS.1770 integrated; -inf for silence (None in to_dict)
    true_peak_dbtp: float
    sample_peak_dbfs: float
    rms_dbfs: float  # over all channels; a full-scale sine is -3.01 dBFS
    spectral_centroid_hz: float
    spectral_bandwidth_hz: float
    spectral_rolloff_hz: float  # 85 % of the spectral magnitude lies below
    dynamic_range_db: float  # 95th minus 10th percentile of 400 ms momentary loudness (gated at -70 LUFS)
    clipped_samples: int  # samples (all channels) with |x| >= 1.0
    loudness_range_lu: float = 0.0  # EBU Tech 3342 LRA (0 under 3 s)
    dc_offset: float = 0.0  # largest per-channel mean
    band_energy: dict[str, float] = field(default_factory=dict)  # share of spectral power per band
    sample_rate_hz: int = 0
    channels: int = 0

    def to_dict(self) -> dict:
        return _jsonable(self)


# ---------------------------------------------------------------------------------------------
# Shared preparation
# ---------------------------------------------------------------------------------------------


def _as_channels(audio: Tensor) -> Tensor:
    if not isinstance(audio, Tensor) or not audio.is_floating_point():
        raise TypeError("audio must be a floating-point torch.Tensor shaped (channels, frames) or (frames,)")
    if audio.dim() == 1:
        audio = audio.unsqueeze(0)
    if audio.dim() != 2:
        raise ValueError(f"audio must be (channels, frames) or (frames,), got shape {tuple(audio.shape)}")
    return audio


def _check_rate(sample_rate_hz: int) -> None:
    if not sample_rate_hz or sample_rate_hz <= 0:
        raise ValueError(f"sample_rate_hz must be positive, got {sample_rate_hz}")


@lru_cache(maxsize=8)
def _decimation_filter(factor: int) -> np.ndarray:
    """Kaiser-windowed sinc low-pass for decimation by `factor`: 8 taps per phase, cut-off at
    0.85 of the new Nyquist frequency, unit gain at DC. Shape (8, factor): row i, column r is
    the tap applied to input frame (n + i) * factor + r for output n (after the pad)."""
    taps = 8 * factor
    t = np.arange(taps) - (taps - 1) / 2.0
    cutoff = 0.85 * 0.5 / factor  # cycles per input sample
    h = 2 * cutoff * np.sinc(2 * cutoff * t) * np.kaiser(taps, 6.0)
    return (h / h.sum()).reshape(8, factor).astype(np.float32)


def _downmix(x: Tensor) -> Tensor:
    """Mono float32 mean of the channels of a (channels, frames) tensor."""
    mono = x[0].to(torch.float32, copy=True)
    for channel in x[1:]:
        mono.add_(channel)  # row adds: much faster than a reduction over the channel dim
    return mono.mul_(1.0 / x.shape[0]) if x.shape[0] > 1 else mono


def _decimate(mono: Tensor, sample_rate_hz: float, target_hz: float = ANALYSIS_RATE_HZ) -> tuple[Tensor, float]:
    """Decimate by an integer factor to about `target_hz`: a polyphase FIR as 8
    matrix-vector products over contiguous views (no strided copies)."""
    factor = max(1, round(sample_rate_hz / target_hz))
    if factor == 1:
        return mono, float(sample_rate_hz)
    taps = torch.from_numpy(_decimation_filter(factor)).to(mono.device)
    rows_per_output = taps.shape[0]
    n_out = -(-mono.numel() // factor)
    delay = (rows_per_output * factor) // 2
    padded = mono.new_zeros((n_out + rows_per_output) * factor)
    padded[delay : delay + mono.numel()] = mono
    rows = padded.view(-1, factor)
    out = rows[:n_out] @ taps[0]
    for i in range(1, rows_per_output):
        out.add_(rows[i : i + n_out] @ taps[i])
    return out, sample_rate_hz / factor


def _downmix_decimate(audio: Tensor, sample_rate_hz: int) -> tuple[Tensor, float]:
    """Mono float32 downmix decimated to about ANALYSIS_RATE_HZ: (frames,), rate."""
    return _decimate(_downmix(_as_channels(audio)), sample_rate_hz)


def _stft_power(mono: Tensor, n_fft: int, hop: int) -> Tensor:
    """|STFT|^2 (bins, frames), Hann window, centred frames."""
    if mono.numel() < n_fft:
        mono = F.pad(mono, (0, n_fft - mono.numel()))
    window = torch.hann_window(n_fft, device=mono.device, dtype=mono.dtype)
    spec = torch.stft(mono, n_fft, hop, window=window, center=True, pad_mode="constant", return_complex=True)
    return torch.addcmul(spec.real.square(), spec.imag, spec.imag)


def _hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


@lru_cache(maxsize=8)
def _mel_filterbank(sample_rate_hz: float, n_fft: int, n_mels: int = 40, fmin: float = 30.0,
                    fmax: float = 8000.0) -> np.ndarray:
    """Triangular mel filters (n_mels, n_fft // 2 + 1), each with unit area."""
    fmax = min(fmax, sample_rate_hz / 2)
    freqs = np.arange(n_fft // 2 + 1) * sample_rate_hz / n_fft
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    bank = np.maximum(0.0, np.minimum((freqs - lower) / (centre - lower), (upper - freqs) / (upper - centre)))
    bank /= np.maximum(bank.sum(axis=1, keepdims=True), 1e-12)
    return bank.astype(np.float32)


@lru_cache(maxsize=8)
def _semitone_filterbank(sample_rate_hz: float, n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    """STFT bin -> semitone: ((semitones, n_fft // 2 + 1) weights, MIDI numbers). Each bin's MIDI
    pitch p = 69 + 12 log2(f / 440) gets weight max(0, 1 - |p - m|) towards semitone m (a
    log-frequency triangle one semitone wide), each row normalised to unit sum, so low notes
    (few bins) weigh as much as high ones."""
    freqs = np.arange(n_fft // 2 + 1) * sample_rate_hz / n_fft
    with np.errstate(divide="ignore"):
        pitch = 69.0 + 12.0 * np.log2(np.where(freqs > 0, freqs, 1e-9) / 440.0)
    low, high = _CHROMA_MIDI
    high = min(high, int(69 + 12 * math.log2(0.45 * sample_rate_hz / 440.0)))
    midi = np.arange(low, high)
    weights = np.maximum(0.0, 1.0 - np.abs(pitch[None, :] - midi[:, None]))
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    return weights.astype(np.float32), midi


# ---------------------------------------------------------------------------------------------
# Tempo
# ---------------------------------------------------------------------------------------------


def _onset_envelope(mono: Tensor, rate_hz: float) -> tuple[Tensor, float]:
    """Onset strength (frames,) >= 0 at ~ONSET_FRAME_RATE_HZ and its frame rate."""
    hop = max(1, round(rate_hz / ONSET_FRAME_RATE_HZ))
    n_fft = 1 << max(6, math.ceil(math.log2(rate_hz * 0.04)))
    power = _stft_power(mono, n_fft, hop)
    bank = torch.from_numpy(_mel_filterbank(float(rate_hz), n_fft)).to(power.device)
    mel = bank @ power  # (mels, frames)
    # log(1 + 10^4 x / peak): log magnitude over the top ~40 dB, linear (quiet) below.
    level = torch.log1p(mel * (_LOG_GAIN / mel.max().clamp_min(1e-20)))
    flux = F.relu(level[:, 1:] - level[:, :-1]).mean(dim=0)
    flux = F.pad(flux, (1, 0))
    fps = rate_hz / hop
    width = max(3, int(round(fps)) | 1)  # 1 s moving average, odd
    return _detrend(flux, width), fps


def _detrend(flux: Tensor, width: int) -> Tensor:
    trend = F.avg_pool1d(flux.view(1, 1, -1), width, stride=1, padding=width // 2, count_include_pad=False).view(-1)
    return F.relu(flux - trend[: flux.numel()])


def _autocorrelation(env: Tensor, max_lag: int) -> Tensor:
    """Unbiased autocorrelation of the mean-removed envelope, 1 at lag 0: (max_lag + 1,) float64 on CPU."""
    x = env.to(torch.float64) - env.to(torch.float64).mean()
    n = x.numel()
    size = 1 << math.ceil(math.log2(max(2 * n, 2)))
    spectrum = torch.fft.rfft(x, size)
    ac = torch.fft.irfft(spectrum.real.square() + spectrum.imag.square(), size)[: max_lag + 1].cpu()
    ac = ac / (n - torch.arange(ac.numel(), dtype=torch.float64))
    return ac / ac[0] if ac[0] > 0 else torch.zeros_like(ac)


def _parabolic(values: np.ndarray, i: int) -> tuple[float, float]:
    """Vertex (position, height) of the parabola through values[i-1..i+1]."""
    if i <= 0 or i >= len(values) - 1:
        return float(i), float(values[i])
    a, b, c = values[i - 1], values[i], values[i + 1]
    denom = a - 2 * b + c
    if denom >= 0:
        return float(i), float(b)
    delta = float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5))
    return i + delta, float(b - 0.25 * (a - c) * delta)


def _prior(bpm: np.ndarray | float) -> np.ndarray | float:
    return np.exp(-0.5 * (np.log2(np.maximum(bpm, 1e-9) / TEMPO_PRIOR_BPM) / TEMPO_PRIOR_OCTAVES) ** 2)


def _snap_to_peak(ac: np.ndarray, lag: float, tolerance: float = 0.04) -> tuple[float, float] | None:
    """The highest autocorrelation peak within `tolerance` (relative) of `lag`, interpolated."""
    lo = max(1, int(math.floor(lag * (1 - tolerance))))
    hi = min(len(ac) - 2, int(math.ceil(lag * (1 + tolerance))))
    if hi < lo:
        return None
    i = lo + int(np.argmax(ac[lo : hi + 1]))
    return _parabolic(ac, i)


def _pulse_salience(env: np.ndarray, period: float, segment_frames: int) -> float:
    """Mean onset strength under a pulse train of `period` frames at its best phase, the phase
    chosen afresh in each segment of ~`segment_frames` (so a period off by a small fraction of
    a frame cannot drift off the beats over a long track), averaged over the segments."""
    n = len(env)
    length = min(n, max(segment_frames, int(4 * period) + 1))
    count = int((length - period) // period) + 1
    if count < 2:
        return 0.0
    starts = np.arange(0, n - length + 1, length)[:, None, None]
    phases = np.arange(int(math.ceil(period)))[None, :, None]
    offsets = np.minimum(np.rint(phases + np.arange(count)[None, None, :] * period).astype(np.int64), length - 1)
    return float(env[starts + offsets].mean(axis=2).max(axis=1).mean())


def _tempo_from_envelope(env: Tensor, fps: float, min_bpm: float, max_bpm: float) -> tuple[float, float]:
    n = env.numel()
    lag_min, lag_max = fps * 60.0 / max_bpm, fps * 60.0 / min_bpm
    if n < 2 * lag_min + 2 or float(env.max()) <= 0.0:
        return 0.0, 0.0
    ac = _autocorrelation(env, max(int(math.ceil(lag_max * 1.1)) + 2, n // 2)).numpy()
    ac = ac[: max(3, min(len(ac), n - 1))]

    # 1. Prior-weighted autocorrelation: the best local peak in the tempo range.
    lags = np.arange(max(1, int(math.floor(lag_min))), min(len(ac) - 1, int(math.ceil(lag_max)) + 1))
    if lags.size == 0:
        return 0.0, 0.0
    weighted = ac[lags] * _prior(fps * 60.0 / lags)
    is_peak = (ac[lags] >= ac[lags - 1]) & (ac[lags] >= ac[np.minimum(lags + 1, len(ac) - 1)])
    if is_peak.any():
        weighted = np.where(is_peak, weighted, -np.inf)
    first, _ = _parabolic(ac, int(lags[int(np.argmax(weighted))]))

    # 2. Octave errors: score the strongest autocorrelation peaks and the first lag's multiples
    #    (each snapped to its nearest peak) with a pulse train.
    smooth = F.max_pool1d(env.view(1, 1, -1).float(), 3, stride=1, padding=1).view(-1).cpu().numpy()
    targets = [first * ratio for ratio in _OCTAVE_RATIOS]
    peak_lags = lags[is_peak & (ac[lags] > 0)]
    strongest = peak_lags[np.argsort(ac[peak_lags] * _prior(fps * 60.0 / peak_lags))[::-1][:_PEAK_CANDIDATES]]
    targets += [float(lag) for lag in strongest]
    best_period, best_score, seen = first, -1.0, []
    for target in targets:
        if not (lag_min * 0.97 <= target <= lag_max * 1.03):
            continue
        snapped = _snap_to_peak(ac, target) if target < len(ac) - 2 else None
        period = snapped[0] if snapped else target
        # A candidate outside the tempo range after snapping (222 BPM funk 16ths against a
        # 220 cap) would be clipped to the edge and win as a tempo nobody counts.
        if not lag_min <= period <= lag_max:
            continue
        if any(abs(period - other) <= 0.01 * other for other in seen):
            continue
        seen.append(period)
        salience = _pulse_salience(smooth, period, int(10 * fps)) / period**PULSE_PERIOD_POWER
        score = salience * _prior(fps * 60.0 / period) ** OCTAVE_PRIOR_POWER
        if score > best_score:
            best_period, best_score = period, score

    # 3. Refine: least-squares period through the autocorrelation peaks at its multiples.
    num = den = 0.0
    k = 1
    while k * best_period <= min(len(ac) - 2, n / 2) and k <= 16:
        peak = _snap_to_peak(ac, k * best_period, tolerance=min(0.04, 3.0 / (k * best_period) + 0.01))
        if peak is not None and peak[1] > 0:
            num += peak[1] * k * peak[0]
            den += peak[1] * k * k
        k += 1
    period = num / den if den > 0 else best_period
    confidence = float(np.interp(period, np.arange(len(ac)), ac)) if period < len(ac) - 1 else 0.0
    bpm = float(np.clip(fps * 60.0 / period, min_bpm, max_bpm))
    return bpm, float(np.clip(confidence, 0.0, 1.0))


def estimate_tempo(audio: Tensor, sample_rate_hz: int, *, min_bpm: float = 50.0,
                   max_bpm: float = 220.0) -> TempoEstimate:
    """Tempo in BPM between `min_bpm` and `max_bpm` (method in the module notes)."""
    _check_rate(sample_rate_hz)
    if not 0 < min_bpm < max_bpm:
        raise ValueError("need 0 < min_bpm < max_bpm")
    mono, rate = _downmix_decimate(audio, sample_rate_hz)
    return _tempo(mono, rate, min_bpm, max_bpm)


def _tempo(mono: Tensor, rate: float, min_bpm: float = 50.0, max_bpm: float = 220.0) -> TempoEstimate:
    env, fps = _onset_envelope(mono, rate)
    bpm, confidence = _tempo_from_envelope(env, fps, min_bpm, max_bpm)
    return TempoEstimate(bpm=round(bpm, 2), confidence=round(confidence, 3))


def _beat_regularity(mono: Tensor, rate: float, bpm: float) -> float:
    """Highest normalised onset autocorrelation within 3 % of the beat lag of `bpm` (or of twice
    that lag), clipped to 0..1; 0 when the clip is too short."""
    if bpm <= 0:
        return 0.0
    env, fps = _onset_envelope(mono, rate)
    lag = fps * 60.0 / bpm
    n = env.numel()
    if n < 2 * lag + 2 or float(env.max()) <= 0:
        return 0.0
    ac = _autocorrelation(env, min(n - 1, int(math.ceil(2 * lag * 1.03)) + 2)).numpy()
    best = 0.0
    for target in (lag, 2 * lag):
        if target * 1.03 < len(ac) - 1:
            peak = _snap_to_peak(ac, target, tolerance=0.03)
            if peak is not None:
                best = max(best, peak[1])
    return float(np.clip(best, 0.0, 1.0))


# ---------------------------------------------------------------------------------------------
# Key
# ---------------------------------------------------------------------------------------------


def _median_filter(x: Tensor, width: int, dim: int) -> Tensor:
    """Running median of odd `width` along `dim` (edges replicated)."""
    moved = x.transpose(dim, -1)
    padded = F.pad(moved.unsqueeze(0), (width // 2, width // 2), mode="replicate").squeeze(0)
    return padded.unfold(-1, width, 1).median(dim=-1).values.transpose(dim, -1)


def _chroma(mono: Tensor, rate: float) -> np.ndarray:
    mono, rate = _decimate(mono, rate, CHROMA_RATE_HZ)
    n_fft = 1 << max(8, round(math.log2(rate * _CHROMA_WINDOW_S)))
    hop = n_fft // _CHROMA_HOP_DIVISOR
    magnitude = _stft_power(mono, n_fft, hop).sqrt_()
    weights, midi = _semitone_filterbank(float(rate), n_fft)
    semis = torch.from_numpy(weights).to(magnitude.device) @ magnitude  # (semitones, frames)
    peak = float(semis.max()) if semis.numel() else 0.0
    if peak <= 0:
        return np.zeros(12)
    # Harmonic-percussive split on the semitone spectrogram: sustained notes survive a median
    # over time, drum hits a median over frequency; keep the harmonic share (soft mask).
    semis = semis / peak
    harmonic = _median_filter(semis, max(1, round(_HARMONIC_MEDIAN_S * rate / hop)) | 1, dim=1)
    percussive = _median_filter(semis, _PERCUSSIVE_MEDIAN_SEMITONES, dim=0)
    h2, p2 = harmonic.square(), percussive.square()
    tonal = semis * h2 / (h2 + p2).clamp_min(1e-20)
    per_semitone = torch.log1p(_CHROMA_GAIN * tonal).sum(dim=1).to(torch.float64).cpu().numpy()
    summed = np.bincount(midi % 12, weights=per_semitone, minlength=12)
    total = summed.sum()
    return summed / total if total > 0 else np.zeros(12)


def chroma_vector(audio: Tensor, sample_rate_hz: int) -> np.ndarray:
    """The 12 pitch-class shares (C first, summing to 1; zeros for silence) `estimate_key` uses."""
    _check_rate(sample_rate_hz)
    return _chroma(*_downmix_decimate(audio, sample_rate_hz))


def key_correlations(chroma) -> np.ndarray:
    """Pearson correlation of a 12-bin chroma with every key profile: (2, 12) array, row 0
    major and row 1 minor, column = tonic pitch class. Zeros for a flat chroma."""
    chroma = np.asarray(chroma, dtype=np.float64)
    centred = chroma - chroma.mean()
    norm = np.linalg.norm(centred)
    out = np.zeros((2, 12))
    if norm <= 1e-12:
        return out
    for row, profile in enumerate((MAJOR_PROFILE, MINOR_PROFILE)):
        p = np.asarray(profile) - np.mean(profile)
        p /= np.linalg.norm(p)
        for tonic in range(12):
            out[row, tonic] = float(np.dot(centred / norm, np.roll(p, tonic)))
    return out


def _key_from_chroma(chroma: np.ndarray) -> KeyEstimate:
    corr = key_correlations(chroma)
    order = np.argsort(corr.ravel())[::-1]
    best, second = corr.ravel()[order[0]], corr.ravel()[order[1]]
    mode, tonic = ("major", "minor")[order[0] // 12], int(order[0] % 12)
    if not np.any(chroma):
        return KeyEstimate(key_name(0, "major"), 0, "major", 0.0, 0.0, tuple([0.0] * 12))
    confidence = float(np.clip((best - second) / max(1.0 - second, 1e-9), 0.0, 1.0))
    return KeyEstimate(key=key_name(tonic, mode), tonic_pitch_class=tonic, mode=mode,
                       confidence=round(confidence, 3), correlation=round(float(best), 4),
                       chroma=tuple(round(float(c), 4) for c in chroma))


def estimate_key(audio: Tensor, sample_rate_hz: int) -> KeyEstimate:
    """Musical key (method in the module notes). Silence gives C_major with confidence 0."""
    return _key_from_chroma(chroma_vector(audio, sample_rate_hz))


# ---------------------------------------------------------------------------------------------
# Full analysis
# ---------------------------------------------------------------------------------------------


def _db(amplitude: float) -> float:
    return 20.0 * math.log10(amplitude) if amplitude > 0 else -math.inf


def _spectral_stats(mono: Tensor, sample_rate_hz: int) -> tuple[float, float, float, dict[str, float]]:
    """Centroid, bandwidth (magnitude-weighted standard deviation around the centroid) and 85 %
    roll-off of the long-term average magnitude spectrum of the downmix (~46 ms Hann frames,
    no overlap), and the share of power in each band of BAND_EDGES_HZ."""
    n_fft = 1 << max(6, math.ceil(math.log2(sample_rate_hz * 0.046)))
    frames = mono.numel() // n_fft
    if frames == 0:
        mono, frames = F.pad(mono, (0, n_fft - mono.numel())), 1
    window = torch.hann_window(n_fft, device=mono.device, dtype=mono.dtype)
    spectrum = torch.fft.rfft(mono[: frames * n_fft].view(frames, n_fft) * window)
    power = torch.addcmul(spectrum.real.square(), spectrum.imag, spectrum.imag).to(torch.float64)
    magnitude = power.sqrt().mean(dim=0).cpu().numpy()
    power = power.mean(dim=0).cpu().numpy()
    freqs = np.arange(magnitude.size) * sample_rate_hz / n_fft
    total = magnitude.sum()
    if total <= 0:
        return 0.0, 0.0, 0.0, {name: 0.0 for name in BAND_NAMES}
    centroid = float((freqs * magnitude).sum() / total)
    bandwidth = float(np.sqrt(((freqs - centroid) ** 2 * magnitude).sum() / total))
    rolloff = float(freqs[min(int(np.searchsorted(np.cumsum(magnitude), 0.85 * total)), freqs.size - 1)])
    edges = [*BAND_EDGES_HZ, sample_rate_hz / 2 + 1]
    band_power = np.array([power[(freqs >= lo) & (freqs < hi)].sum() if lo < sample_rate_hz / 2 else 0.0
                           for lo, hi in zip(edges[:-1], edges[1:])])
    shares = band_power / band_power.sum() if band_power.sum() > 0 else band_power
    return centroid, bandwidth, rolloff, {name: round(float(s), 4) for name, s in zip(BAND_NAMES, shares)}


def _loudness_figures(x: Tensor, sample_rate_hz: int) -> tuple[float, float, float]:
    """Integrated loudness, loudness range and momentary dynamic range from one K-weighting pass
    (the `mastering` meter's own steps, so the numbers equal `measure_loudness_lufs` and
    `loudness_range_lu`)."""
    hop = _hop_frames(sample_rate_hz)
    energy, length = _weighted_energy(x, sample_rate_hz, hop)
    lufs = float(_integrated(energy, length))
    if length != hop:
        return lufs, 0.0, 0.0
    lra = float(_loudness_range(energy, hop))
    momentary = _power_to_lufs(_window_power(energy, hop, _BLOCK_SEGMENTS))
    kept = momentary[momentary > -70.0]
    if kept.numel() < 2:
        return lufs, lra, 0.0
    quantiles = torch.quantile(kept, torch.tensor([0.10, 0.95], dtype=kept.dtype, device=kept.device))
    return lufs, lra, float(quantiles[1] - quantiles[0])


def analyse_audio(audio: Tensor, sample_rate_hz: int) -> AudioAnalysis:
    """Tempo, key, loudness, peaks, spectrum and dynamics of a track (see `AudioAnalysis`)."""
    _check_rate(sample_rate_hz)
    x = _as_channels(audio)
    if x.shape[-2] > 5:
        raise ValueError(f"at most 5 channels (L R C Ls Rs) can be measured, got {x.shape[-2]}")
    frames = x.shape[-1]
    with torch.no_grad():
        full = _downmix(x)
        mono, rate = _decimate(full, sample_rate_hz)
        tempo = _tempo(mono, rate)
        key = _key_from_chroma(_chroma(mono, rate))
        centroid, bandwidth, rolloff, bands = _spectral_stats(full, sample_rate_hz)
        del full
        if frames == 0:
            lufs, lra, dynamic_range, tp = -math.inf, 0.0, 0.0, -math.inf
            peak, clipped, mean_square, dc = 0.0, 0, 0.0, 0.0
        else:
            lufs, lra, dynamic_range = _loudness_figures(x, sample_rate_hz)
            tp = float(true_peak_dbtp(x, sample_rate_hz))
            low, high = torch.aminmax(x)
            peak = max(-float(low), float(high))
            clipped = int((x >= 1.0).sum() + (x <= -1.0).sum()) if peak >= 1.0 else 0
            rows = x.to(torch.float32)
            sums = rows.sum(dim=-1).to(torch.float64)  # torch sums with cascaded partial sums
            squares = torch.stack([torch.dot(row, row) for row in rows]).to(torch.float64)
            mean_square = float(squares.sum()) / x.numel()
            dc = float((sums / frames).abs().max())
    return AudioAnalysis(
        duration_s=frames / sample_rate_hz,
        tempo=tempo,
        key=key,
        loudness_lufs=round(lufs, 2) if math.isfinite(lufs) else lufs,
        true_peak_dbtp=round(tp, 2) if math.isfinite(tp) else tp,
        sample_peak_dbfs=round(_db(peak), 2) if peak > 0 else -math.inf,
        rms_dbfs=round(_db(math.sqrt(mean_square)), 2) if mean_square > 0 else -math.inf,
        spectral_centroid_hz=round(centroid, 1),
        spectral_bandwidth_hz=round(bandwidth, 1),
        spectral_rolloff_hz=round(rolloff, 1),
        dynamic_range_db=round(dynamic_range, 2),
        clipped_samples=clipped,
        loudness_range_lu=round(lra, 2),
        dc_offset=round(dc, 6),
        band_energy=bands,
        sample_rate_hz=int(sample_rate_hz),
        channels=int(x.shape[-2]),
    )


# ---------------------------------------------------------------------------------------------
# Quality metrics (seed 001)
# ---------------------------------------------------------------------------------------------

MELODY_WEIGHTS = {"chord_tones": 0.45, "intervals": 0.30, "motifs": 0.25}
HARMONY_WEIGHTS = {"in_scale": 0.5, "audio_key": 0.5}
RHYTHM_WEIGHTS = {"tempo_agreement": 0.5, "regularity": 0.5}
FIDELITY_WEIGHTS = {"loudness": 0.30, "true_peak": 0.20, "clipping": 0.25, "balance": 0.15, "dc": 0.10}
OVERALL_WEIGHTS = {"melodic_coherence": 0.25, "harmonic_consistency": 0.25, "rhythmic_stability": 0.20,
                   "audio_fidelity": 0.30}
_MOTIF_INTERVALS = 3  # a motif is a run of 3 intervals (4 notes)


def _weighted(values: dict[str, float], weights: dict[str, float]) -> float:
    return sum(weights[k] * values[k] for k in weights) / sum(weights.values())


def _melody_lines(score: Score) -> list[list]:
    """Note lists (sorted by time) of the melody and vocals parts; without any, the pitched part
    with the highest mean pitch (the top line) stands in."""
    pitched = [p for p in score.parts if not p.is_drum and p.notes]
    lines = [p for p in pitched if p.stem in ("melody", "vocals")]
    if not lines and pitched:
        lines = [max(pitched, key=lambda p: float(np.mean([n.pitch for n in p.notes])))]
    return [sorted(p.notes, key=lambda n: (n.start_s, -n.pitch)) for p in lines]


def _chord_at(score: Score, beat: float):
    spb = score.seconds_per_beat
    for chord in score.chords:
        if chord.beat - 1e-6 <= beat < chord.beat + chord.duration_s / spb - 1e-6:
            return chord
    return None


def _melody_components(score: Score) -> dict[str, float]:
    lines = _melody_lines(score)
    strong = [n for line in lines for n in line if abs(n.beat - round(n.beat)) < 1e-3]
    if not strong:
        strong = [n for line in lines for n in line]
    judged = [(n, _chord_at(score, n.beat)) for n in strong]
    judged = [(n, c) for n, c in judged if c is not None]
    chord_tones = (sum(n.pitch % 12 in c.pitch_classes for n, c in judged) / len(judged)) if judged else 0.0
    interval_scores, shapes = [], []
    for line in lines:
        intervals = [b.pitch - a.pitch for a, b in zip(line, line[1:])]
        interval_scores += [1.0 / (1.0 + (abs(i) / 6.0) ** 2) for i in intervals]
        count = len(intervals) - _MOTIF_INTERVALS + 1
        shapes.append([tuple(intervals[i : i + _MOTIF_INTERVALS]) for i in range(count)])
    counts: dict[tuple, int] = {}
    for shape in (s for line_shapes in shapes for s in line_shapes):
        counts[shape] = counts.get(shape, 0) + 1
    covered = total = 0
    for line, line_shapes in zip(lines, shapes):
        if not line_shapes:
            continue
        in_motif = np.zeros(len(line), dtype=bool)
        for i, shape in enumerate(line_shapes):
            if counts[shape] > 1:
                in_motif[i : i + _MOTIF_INTERVALS + 1] = True
        covered += int(in_motif.sum())
        total += len(line)
    return {
        "chord_tones": chord_tones,
        "intervals": float(np.mean(interval_scores)) if interval_scores else 0.0,
        "motifs": covered / total if total else 0.0,
    }


def _in_scale_share(score: Score) -> float:
    tonic, mode = score.spec.tonic_pitch_class, score.spec.mode
    scale = {(tonic + step) % 12 for step in _SCALES[mode]}
    total = inside = 0.0
    for part in score.parts:
        if part.is_drum:
            continue
        for note in part.notes:
            weight = max(note.duration_s, 1e-3)
            total += weight
            inside += weight * (note.pitch % 12 in scale)
    return inside / total if total > 0 else 0.0


def _audio_key_score(score: Score, chroma) -> float:
    corr = key_correlations(chroma)
    if not np.any(corr):
        return 0.0
    wanted = float(corr[0 if score.spec.mode == "major" else 1, score.spec.tonic_pitch_class % 12])
    spread = corr.max() - corr.min()
    rank = (wanted - corr.min()) / spread if spread > 0 else 0.0
    return 0.5 * max(wanted, 0.0) + 0.5 * float(rank)


def _tempo_agreement(estimated_bpm: float, score_bpm: float) -> float:
    if estimated_bpm <= 0 or score_bpm <= 0:
        return 0.0
    best = 0.0
    for multiple, credit in ((1.0, 1.0), (2.0, 0.85), (0.5, 0.85)):
        error_pct = abs(estimated_bpm / (multiple * score_bpm) - 1.0) * 100.0
        best = max(best, credit * math.exp(-0.5 * (error_pct / 4.0) ** 2))
    return best


def _fidelity_components(analysis: AudioAnalysis, channels: int, frames: int) -> dict[str, float]:
    lufs, tp = analysis.loudness_lufs, analysis.true_peak_dbtp
    loudness = math.exp(-0.5 * ((lufs - TARGET_LUFS) / 3.0) ** 2) if math.isfinite(lufs) else 0.0
    over = tp - TRUE_PEAK_CEILING_DBTP
    true_peak = (1.0 if over <= 0 else max(0.0, 1.0 - over / 3.0)) if math.isfinite(tp) else 0.0
    fraction = analysis.clipped_samples / max(channels * frames, 1)
    shares = np.array([v for v in analysis.band_energy.values()], dtype=np.float64)
    present = shares[shares > 0]
    if present.size > 1 and len(shares) > 1:
        balance = float(-(present * np.log(present)).sum() / math.log(len(shares)))
    else:
        balance = 0.0
    return {
        "loudness": loudness,
        "true_peak": true_peak,
        "clipping": math.exp(-1e4 * fraction),
        "balance": min(1.0, balance),
        "dc": math.exp(-abs(analysis.dc_offset) / 0.01),
    }


def quality_metrics(score: Score, audio: Tensor, sample_rate_hz: int, analysis: AudioAnalysis) -> dict[str, float]:
    """The seed 001 `quality_metrics` of a rendered score, each 0..1 rounded to 3 decimals.

    melodic_coherence (from the melody and vocals parts; without any, the highest pitched part)
        = 0.45 * chord_tones + 0.30 * intervals + 0.25 * motifs, where
        chord_tones: share of melody notes on a beat (integer grid position; all notes if none
        is) whose pitch class belongs to the chord sounding then (`score.chords`);
        intervals: mean over consecutive notes of 1 / (1 + (|interval in semitones| / 6)^2)
        (a step 0.9, a fifth 0.42, an octave 0.2);
        motifs: share of melody notes that belong to a 3-interval pattern (a 4-note shape,
        transposition-free) occurring more than once.
    harmonic_consistency = 0.5 * in_scale + 0.5 * audio_key, where
        in_scale: duration-weighted share of pitched (non-drum) notes in the requested key's
        scale (major; minor = natural minor plus the raised leading tone);
        audio_key: 0.5 * max(r, 0) + 0.5 * (r - r_min) / (r_max - r_min), r the correlation of
        the audio chroma (`analysis.key.chroma`) with the requested key's profile and
        r_min/r_max the lowest/highest over all 24 keys (1 when the audio sounds in the key).
    rhythmic_stability = 0.5 * tempo_agreement + 0.5 * regularity, where
        tempo_agreement: exp(-e^2 / 32) for the percentage error e of `analysis.tempo.bpm`
        against `score.tempo_bpm` (x0.85 when it matches twice or half the tempo instead);
        regularity: normalised onset autocorrelation peak within 3 % of the score's beat lag
        (or twice that lag), clipped to 0..1.
    audio_fidelity = 0.30 loudness + 0.20 true_peak + 0.25 clipping + 0.15 balance + 0.10 dc:
        loudness exp(-((LUFS + 14) / 3)^2 / 2) (0 for silence); true_peak 1 at or under
        -1 dBTP, falling linearly to 0 at +2 dBTP; clipping exp(-10^4 * clipped fraction of
        samples); balance the normalised entropy of the power shares in `BAND_EDGES_HZ` bands
        (0 when all energy is in one band); dc exp(-|DC offset| / 0.01).
    overall_quality = 0.25 melodic_coherence + 0.25 harmonic_consistency
        + 0.20 rhythmic_stability + 0.30 audio_fidelity.
    """
    _check_rate(sample_rate_hz)
    x = _as_channels(audio)
    with torch.no_grad():
        mono, rate = _downmix_decimate(x, sample_rate_hz)
        regularity = _beat_regularity(mono, rate, score.tempo_bpm)
        chroma = analysis.key.chroma if len(analysis.key.chroma) == 12 else _chroma(mono, rate)
    melody = _weighted(_melody_components(score), MELODY_WEIGHTS)
    harmony = _weighted({"in_scale": _in_scale_share(score), "audio_key": _audio_key_score(score, chroma)},
                        HARMONY_WEIGHTS)
    rhythm = _weighted({"tempo_agreement": _tempo_agreement(analysis.tempo.bpm, score.tempo_bpm),
                        "regularity": regularity}, RHYTHM_WEIGHTS)
    fidelity = _weighted(_fidelity_components(analysis, x.shape[-2], x.shape[-1]), FIDELITY_WEIGHTS)
    metrics = {"melodic_coherence": melody, "harmonic_consistency": harmony,
               "rhythmic_stability": rhythm, "audio_fidelity": fidelity}
    metrics["overall_quality"] = _weighted(metrics, OVERALL_WEIGHTS)
    return {k: round(float(min(1.0, max(0.0, v))), 3) for k, v in metrics.items()}
