"""A playlist's continuous mix: finished tracks joined with abrupt, crossfade or smooth
transitions, peak-limited where they overlap, streamed to WAV and MP3. Blocking (a worker thread)."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np

from studio.engine.io.transcode import read_stereo

log = logging.getLogger(__name__)

TRANSITION_STYLES = ("abrupt", "smooth", "crossfade")
# Seconds two neighbouring tracks overlap by default. abrupt: none (a 10 ms de-click at the cut);
# crossfade: equal-power curves; smooth: a longer equal-power blend with S-shaped curves that
# start and end without a step in slope.
DEFAULT_TRANSITION_S = {"abrupt": 0.0, "crossfade": 4.0, "smooth": 8.0}
DECLICK_S = 0.01
MIX_CEILING = 10 ** (-1.0 / 20.0)  # sample peak of the mix at most -1 dBFS (the tracks are mastered there)
MAX_TRANSITION_SHARE = 0.45  # a transition lasts at most this share of the shorter of its two tracks


def fade_curves(frames: int, style: str) -> tuple[np.ndarray, np.ndarray]:
    """(fade-out, fade-in) gains over `frames`; both equal-power (out^2 + in^2 = 1)."""
    t = (np.arange(frames, dtype=np.float64) + 0.5) / max(frames, 1)
    if style == "smooth":
        t = t * t * (3.0 - 2.0 * t)  # smoothstep: no step in slope at either end
    angle = t * np.pi / 2.0
    return np.cos(angle).astype(np.float32), np.sin(angle).astype(np.float32)


def limit_peaks(block: np.ndarray, sample_rate_hz: int, ceiling: float = MIX_CEILING) -> tuple[np.ndarray, float]:
    """Keep a (channels, frames) block's sample peaks under `ceiling` with a smoothed gain (5 ms
    attack and release): the windowed minimum of the needed gain, averaged over the same window,
    is never above it. Returns the block and the deepest gain applied (1.0 = untouched)."""
    from numpy.lib.stride_tricks import sliding_window_view

    peak = np.abs(block).max(axis=0)
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    if need.min() >= 1.0:
        return block, 1.0
    w = max(1, int(0.005 * sample_rate_hz))
    mins = sliding_window_view(np.pad(need, (w, w), mode="edge"), 2 * w + 1).min(axis=1)
    gain = np.convolve(np.pad(mins, (w, w), mode="edge"), np.full(2 * w + 1, 1.0 / (2 * w + 1)), mode="valid")
    return (block * gain.astype(np.float32)), float(gain.min())


def mix_tracks(paths: list[Path], wav_path: Path, mp3_path: Path, *, style: str, length_s: float, title: str,
               progress: Callable[[float, str], None] | None = None,
               cancelled: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Join tracks into one continuous mix with `style` transitions (see DEFAULT_TRANSITION_S),
    streaming WAV (the first track's PCM depth) and MP3 to disk. Each transition lasts at most
    45 % of the shorter of its two tracks. Returns the files, each track's place in the mix and
    each transition's, the length and the limiter's deepest gain (1.0 = untouched)."""
    import soundfile as sf

    from studio.engine.io.export import MP3_BITRATE_KBPS
    from studio.engine.io.mp3 import Mp3Writer

    if style not in TRANSITION_STYLES:
        raise ValueError(f"transition style {style!r}; allowed: {', '.join(TRANSITION_STYLES)}")
    progress = progress or (lambda fraction, stage: None)
    first, rate, subtype = read_stereo(paths[0])
    pcm = subtype if subtype in ("PCM_16", "PCM_24") else "PCM_16"
    block = 1 << 16
    placements: list[dict[str, Any]] = []
    transitions: list[dict[str, Any]] = []
    min_gain = 1.0
    written = 0
    with sf.SoundFile(str(wav_path), "w", rate, 2, pcm, format="WAV") as wav, \
            Mp3Writer(mp3_path, rate, 2, bitrate_kbps=MP3_BITRATE_KBPS) as mp3:
        wav.title, wav.software = title[:200], "Studio"

        def emit(audio) -> None:
            nonlocal written
            clipped = np.clip(audio, -1.0, 1.0)
            frames = np.ascontiguousarray(clipped.T)
            for start in range(0, frames.shape[0], block):
                wav.write(frames[start:start + block])
                mp3.write(clipped[:, start:start + block])
            written += audio.shape[1]

        pending = first
        placements.append({"start_s": 0.0, "end_s": round(first.shape[1] / rate, 3)})
        for index, path in enumerate(paths[1:], start=1):
            if cancelled is not None and cancelled():
                break
            progress(index / (len(paths) + 1), "mixing")
            audio, _rate, _subtype = read_stereo(path, rate)
            if style == "abrupt":
                d = max(1, min(int(DECLICK_S * rate), pending.shape[1] // 4, audio.shape[1] // 4))
                ramp = np.linspace(1.0, 0.0, d, dtype=np.float32)
                pending[:, -d:] *= ramp
                audio[:, :d] *= ramp[::-1]
                emit(pending)
                start = written
                transitions.append({"after_position": index, "start_s": round(start / rate, 3), "duration_s": 0.0})
            else:
                n = int(min(length_s * rate, MAX_TRANSITION_SHARE * pending.shape[1],
                            MAX_TRANSITION_SHARE * audio.shape[1]))
                n = max(n, 1)
                emit(pending[:, :-n])
                start = written
                fade_out, fade_in = fade_curves(n, style)
                joint, gain = limit_peaks(pending[:, -n:] * fade_out + audio[:, :n] * fade_in, rate)
                min_gain = min(min_gain, gain)
                emit(joint)
                transitions.append({"after_position": index, "start_s": round(start / rate, 3),
                                    "duration_s": round(n / rate, 3)})
            placements.append({"start_s": round(start / rate, 3), "end_s": round((start + audio.shape[1]) / rate, 3)})
            pending = audio if style == "abrupt" else audio[:, n:]
        progress(len(paths) / (len(paths) + 1), "encoding")
        emit(pending)
    _tag_mix(mp3_path, title)
    progress(1.0, "encoding")
    return {"files": {"wav": str(wav_path), "mp3": str(mp3_path)}, "duration_s": round(written / rate, 3),
            "sample_rate_hz": rate, "bit_depth": 24 if pcm == "PCM_24" else 16, "placements": placements,
            "transitions": transitions, "limiter_min_gain_db": round(20 * math.log10(max(min_gain, 1e-9)), 2)}


def _tag_mix(path: Path, title: str) -> None:
    """ID3 title, artist and encoder on the MP3, the way every exported file is tagged."""
    from studio.engine.io.export import TrackMetadata, tag_file

    try:
        tag_file(path, "mp3", TrackMetadata(title=title))
    except Exception as exc:  # tags are a nicety; the audio is what matters
        log.warning("could not tag %s: %s", path, exc)
