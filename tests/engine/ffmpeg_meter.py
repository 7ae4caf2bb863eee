"""An independent loudness meter for tests and benchmarks: ffmpeg's `ebur128` filter (integrated
loudness and BS.1770 true peak) and ffmpeg's decoders, run in process through PyAV (the `av`
package bundles ffmpeg). Import it after `pytest.importorskip("av")` in tests.

ebur128 takes 48 kHz only: other rates go through ffmpeg's resampler first (as `ffmpeg -af
ebur128=peak=true` does), then its true-peak meter resamples to 192 kHz.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.filter
import numpy as np

_PUSH_FRAMES = 8192
# The filter's metadata prints linear peaks with 3 decimals (0.01 dB near -1 dBTP): the peak
# pass runs on audio scaled by a power of two (exact in floating point) and divides it out.
_PEAK_SCALE = 1024.0


@dataclass(frozen=True)
class Reading:
    integrated_lufs: float
    true_peak_dbtp: float


def _run(audio: np.ndarray, sample_rate_hz: int) -> dict[str, str]:
    """The metadata ebur128 attaches to its last frame (running values over everything)."""
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    layout = {1: "mono", 2: "stereo"}[audio.shape[0]]
    graph = av.filter.Graph()
    source = graph.add_abuffer(format="fltp", sample_rate=sample_rate_hz, layout=layout,
                               time_base=Fraction(1, sample_rate_hz))
    meter = graph.add("ebur128", "peak=true:metadata=1")
    sink = graph.add("abuffersink")
    source.link_to(meter)
    meter.link_to(sink)
    graph.configure()
    last: dict[str, str] = {}

    def drain() -> None:
        nonlocal last
        while True:
            try:
                frame = sink.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            if frame.metadata:
                last = dict(frame.metadata)

    for start in range(0, audio.shape[1], _PUSH_FRAMES):
        frame = av.AudioFrame.from_ndarray(audio[:, start:start + _PUSH_FRAMES], format="fltp", layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = sample_rate_hz, start, Fraction(1, sample_rate_hz)
        source.push(frame)
        drain()
    source.push(None)
    drain()
    return last


def ebur128(audio: np.ndarray, sample_rate_hz: int) -> Reading:
    """ffmpeg's reading of (channels, frames) float audio: integrated LUFS and true peak dBTP."""
    loudness = float(_run(audio, sample_rate_hz)["lavfi.r128.I"])
    peak = float(_run(audio * _PEAK_SCALE, sample_rate_hz)["lavfi.r128.true_peak"]) / _PEAK_SCALE
    return Reading(integrated_lufs=loudness, true_peak_dbtp=20.0 * math.log10(peak) if peak > 0 else -math.inf)


def decode(path: str | Path) -> tuple[np.ndarray, int]:
    """An audio file decoded by ffmpeg: ((channels, frames) float32, sample rate). MP3s made
    with a LAME Info tag decode gapless (the encoder's delay and padding trimmed)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp")
        chunks = [out.to_ndarray() for frame in container.decode(stream) for out in resampler.resample(frame)]
        chunks += [out.to_ndarray() for out in resampler.resample(None)]
        rate = stream.codec_context.sample_rate
    return np.concatenate(chunks, axis=-1).astype(np.float32), int(rate)


def read_file(path: str | Path) -> Reading:
    """ffmpeg's reading of an audio file as a player decodes it."""
    audio, rate = decode(path)
    return ebur128(audio, rate)
