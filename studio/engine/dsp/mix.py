"""Stem mixing: the audible stems of a track summed with per-stem gains (the Library's stem mixer).

`mix_stems` works on arrays; `mix_stem_files` decodes the stem files first (blocking: callers run
it off the event loop).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from studio.engine.io.decode import read_audio

HEADROOM = 10 ** (-1.0 / 20)  # the mix is kept under -1 dBFS sample peak


def mix_stems(stems: dict[str, np.ndarray], gains: dict[str, float]) -> np.ndarray:
    """Sum `stems` (frames x channels) weighted by `gains` (a stem not in `gains` is silent).

    Shorter stems are padded with silence; mono stems are spread to the widest channel count. The
    sum is scaled down (never up) so its sample peak stays under -1 dBFS."""
    chosen = {name: np.asarray(audio, dtype=np.float32) for name, audio in stems.items() if gains.get(name, 0.0) > 0}
    if not stems:
        return np.zeros((0, 2), dtype=np.float32)
    frames = max(len(a) for a in stems.values())
    channels = max((a.shape[1] if a.ndim == 2 else 1) for a in stems.values())
    out = np.zeros((frames, channels), dtype=np.float32)
    for name, audio in chosen.items():
        if audio.ndim == 1:
            audio = audio[:, None]
        if audio.shape[1] != channels:
            audio = np.repeat(audio[:, :1], channels, axis=1)
        out[: len(audio)] += gains[name] * audio
    peak = float(np.abs(out).max(initial=0.0))
    if peak > HEADROOM:
        out *= HEADROOM / peak
    return out


def mix_stem_files(paths: dict[str, Path], gains: dict[str, float]) -> tuple[np.ndarray, int]:
    """Decode the stem files and mix them (`mix_stems`); ValueError when their sample rates differ."""
    stems: dict[str, np.ndarray] = {}
    rate = None
    for name, path in paths.items():
        audio, sample_rate = read_audio(path)
        if rate is not None and sample_rate != rate:
            raise ValueError(f"stem {name} is at {sample_rate} Hz, the others at {rate} Hz")
        rate = sample_rate
        stems[name] = audio
    return mix_stems(stems, gains), int(rate or 44100)
