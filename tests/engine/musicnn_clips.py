"""Deterministic synthetic clips for the musicnn fidelity test (numpy only, float32; 16 kHz mono
unless listed in OTHER_CLIPS).

The same functions feed `tools/musicnn_reference.py` (run in a TensorFlow venv with the original
musicnn code) and `tests/engine/test_tagger.py` (the torch port), so both sides see identical
samples. Levels are moderate (peaks below -7 dBFS).
Changing a recipe invalidates `fixtures/musicnn_reference.json`: regenerate it.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE_HZ = 16000


def _time(seconds: float, sr: int) -> np.ndarray:
    return np.arange(round(seconds * sr), dtype=np.float64) / sr


def drum_loop(seconds: float = 8.0, sr: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """120 bpm: pitch-swept kick on every beat, noise snare on 2 and 4, hi-hat clicks on eighths,
    and a sine bass walking A-C-D-E one note per beat."""
    rng = np.random.default_rng(1234)
    t = _time(seconds, sr)
    n = t.size
    beat = 0.5
    out = np.zeros(n)
    # kick: exponential pitch sweep 110 -> 45 Hz, 250 ms decay
    kick_len = int(0.25 * sr)
    kt = np.arange(kick_len) / sr
    freq = 45.0 + 65.0 * np.exp(-kt * 30.0)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    kick = np.sin(phase) * np.exp(-kt * 14.0) * 0.07
    snare_len = int(0.18 * sr)
    st = np.arange(snare_len) / sr
    snare = (rng.standard_normal(snare_len) * 0.12 + 0.04 * np.sin(2 * np.pi * 190 * st)) * np.exp(-st * 22.0)
    hat_len = int(0.05 * sr)
    ht = np.arange(hat_len) / sr
    hat_noise = rng.standard_normal(hat_len + 1)
    hat = np.diff(hat_noise) * 0.05 * np.exp(-ht * 90.0)  # first difference: a crude high-pass
    beats = int(seconds / beat)
    for b in range(beats):
        start = int(b * beat * sr)
        seg = out[start:start + kick_len]
        seg += kick[: seg.size]
        if b % 2 == 1:
            seg = out[start:start + snare_len]
            seg += snare[: seg.size]
    for e in range(beats * 2):
        start = int(e * beat / 2 * sr)
        seg = out[start:start + hat_len]
        seg += hat[: seg.size] * (1.0 if e % 2 else 0.6)
    notes_hz = (55.0, 65.41, 73.42, 82.41)
    note = np.floor(t / beat).astype(int) % len(notes_hz)
    bass_phase = 2 * np.pi * np.cumsum(np.take(notes_hz, note)) / sr
    env = np.exp(-(t % beat) * 4.0)
    out += 0.06 * np.sin(bass_phase) * env
    return out.astype(np.float32)


def chord_pad(seconds: float = 7.0) -> np.ndarray:
    """Slow pad: C major then A minor then F major triads, detuned saw-like partials, soft attack."""
    t = _time(seconds, SAMPLE_RATE_HZ)
    chords = ((261.63, 329.63, 392.00), (220.00, 261.63, 329.63), (174.61, 220.00, 261.63))
    seg = seconds / len(chords)
    idx = np.minimum((t / seg).astype(int), len(chords) - 1)
    out = np.zeros_like(t)
    for voice in range(3):
        f0 = np.array([c[voice] for c in chords])[idx]
        for detune in (-0.004, 0.004):
            ph = 2 * np.pi * np.cumsum(f0 * (1 + detune)) / SAMPLE_RATE_HZ
            for k in range(1, 7):  # 1/k partials: a band-limited saw up to ~2.4 kHz
                out += np.sin(k * ph) / k * 0.012
    local = t - idx * seg
    env = np.minimum(local / 0.6, 1.0) * (0.8 + 0.2 * np.sin(2 * np.pi * 0.5 * t))
    return (out * env).astype(np.float32)


def white_noise(seconds: float = 6.0) -> np.ndarray:
    """Gaussian white noise, seed 7, RMS 0.05."""
    rng = np.random.default_rng(7)
    return (rng.standard_normal(round(seconds * SAMPLE_RATE_HZ)) * 0.05).astype(np.float32)


def drum_loop_stereo_44k() -> np.ndarray:
    """(2, frames) at 44.1 kHz: the drum loop recipe rendered at 44.1 kHz, right channel quieter and
    with its own hi-hat noise. Exercises mixing down and resampling (librosa 0.7 kaiser_best)."""
    left = drum_loop(seconds=6.0, sr=RESAMPLED_RATE_HZ)
    rng = np.random.default_rng(99)
    right = 0.7 * left + 0.02 * np.diff(rng.standard_normal(left.size + 1)).astype(np.float32)
    return np.stack([left, right]).astype(np.float32)


RESAMPLED_RATE_HZ = 44100
CLIPS = {"drum_loop": drum_loop, "chord_pad": chord_pad, "white_noise": white_noise}
# name -> (recipe, sample rate): clips that are not at 16 kHz mono
OTHER_CLIPS = {"drum_loop_stereo_44k": (drum_loop_stereo_44k, RESAMPLED_RATE_HZ)}
