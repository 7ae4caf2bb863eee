"""Waveform images of audio: min/max peaks per bin, of samples in memory (`envelope`) or of a file
read block by block (`read_peaks`, so a long WAV is never held in memory whole).

Plain blocking code: the UI calls it through the system service on a worker thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ENVELOPE_BINS = 2000  # about one bin per pixel of a wide waveform view
BLOCK_BINS = 256  # bins per block read from the file


def envelope(audio: np.ndarray, sample_rate: int,
             bins: int = ENVELOPE_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min/max envelope of `audio` (frames or frames x channels): (times_s, lows, highs)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2:
        lo_frames, hi_frames = audio.min(axis=1), audio.max(axis=1)
    else:
        lo_frames = hi_frames = audio
    n = len(lo_frames)
    if n == 0:
        empty = np.zeros(0, dtype=np.float32)
        return empty, empty, empty
    if n <= bins * 2:
        times = np.arange(n, dtype=np.float64) / sample_rate
        return times, lo_frames.copy(), hi_frames.copy()
    size = n // bins
    used = size * bins
    lows = lo_frames[:used].reshape(bins, size).min(axis=1)
    highs = hi_frames[:used].reshape(bins, size).max(axis=1)
    times = (np.arange(bins, dtype=np.float64) + 0.5) * size / sample_rate
    return times, lows, highs


def read_peaks(path: str | Path, bins: int = ENVELOPE_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(times_s, lows, highs, duration_s) of an audio file, reading it in blocks.

    Raises what soundfile raises for an unreadable file, or ValueError for one with no frames."""
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:
        sample_rate, total = f.samplerate, f.frames
        if total <= 0:
            raise ValueError(f"{Path(path).name} holds no audio frames")
        duration = total / sample_rate
        if total <= bins * 2:
            times, lows, highs = envelope(f.read(dtype="float32", always_2d=True), sample_rate, bins)
            return times, lows, highs, duration
        size = total // bins
        lows_parts: list[np.ndarray] = []
        highs_parts: list[np.ndarray] = []
        for block in f.blocks(blocksize=size * BLOCK_BINS, dtype="float32", always_2d=True):
            used = len(block) // size * size
            if used == 0:
                continue
            lo = block[:used].min(axis=1).reshape(-1, size).min(axis=1)
            hi = block[:used].max(axis=1).reshape(-1, size).max(axis=1)
            lows_parts.append(lo)
            highs_parts.append(hi)
    lows = np.concatenate(lows_parts)[:bins]
    highs = np.concatenate(highs_parts)[:bins]
    times = (np.arange(len(lows), dtype=np.float64) + 0.5) * size / sample_rate
    return times, lows, highs, duration
