"""Float audio to 16-bit PCM, the one way every 16-bit writer does it (WAV/FLAC export, MP3)."""

from __future__ import annotations

import numpy as np


def dither_to_int16(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(channels, frames) floats in [-1, 1] -> interleaved (frames, channels) int16, with TPDF
    dither of +-1 LSB before rounding (no truncation distortion on quiet passages and fades).
    `rng` makes it repeatable: the same audio and seed give the same samples."""
    channels, frames = audio.shape
    out = np.empty((frames, channels), dtype=np.int16)
    for ch in range(channels):  # per channel keeps the float temporaries small
        x = np.asarray(audio[ch], dtype=np.float32) * np.float32(32767.0)
        x += rng.random(frames, dtype=np.float32)
        x -= rng.random(frames, dtype=np.float32)
        np.rint(x, out=x)
        np.clip(x, -32768, 32767, out=x)
        out[:, ch] = x
    return out
