"""What one audio file sounds like: decode it, tag it with the musicnn tagger, measure its
features (tempo, key, loudness...) and draw the spectrogram the network saw. Blocking; the
analysis service runs it in a worker thread and records the outcome."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.engine.analysis.spectrogram import render_spectrogram_png
from studio.engine.io.decode import DecodeError, MAX_CHANNELS, decode_blocks


@dataclass
class FileDescription:
    tags: dict[str, float]  # mean probability of each tag over the patches
    patches: int
    logmel: np.ndarray  # (frames, 96): the network's input
    png: bytes  # `logmel` drawn (render_spectrogram_png)
    features: dict[str, Any]  # AudioAnalysis.to_dict()
    channels: int
    duration_s: float
    timings_ms: dict[str, float]


def describe_file(path: Path, filename: str, tagger, *, frames: int, rate_hz: int,
                  on_stage: Callable[[str], None] | None = None) -> FileDescription:
    """Decode `path` (`frames` long at `rate_hz`, as probed), tag it and measure it. `on_stage`
    hears "predicting" once the input is decoded. DecodeError for unreadable audio; ValueError
    for a sample rate the tagger cannot resample."""
    import torch

    from studio.engine.analysis.features import analyse_audio

    on_stage = on_stage or (lambda stage: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    # Decoding, conversion and the network overlap (`Tagger.tag_stream`); the decoded blocks are
    # kept, and once they are all in, the features are measured on them while the workers finish
    # the network.
    kept: list[np.ndarray] = []
    measured: dict[str, Any] = {}

    def decoded() -> None:
        on_stage("predicting")
        audio_np = np.ascontiguousarray(np.concatenate(kept).T) if kept else np.zeros((1, 0), np.float32)
        if audio_np.shape[1] == 0:
            raise DecodeError(f"'{filename}' holds no audio frames")
        step = time.perf_counter()
        measured["audio"] = audio_np
        measured["features"] = analyse_audio(torch.from_numpy(audio_np[:MAX_CHANNELS]), rate_hz).to_dict()
        timings["features"] = (time.perf_counter() - step) * 1000.0

    result, logmel = tagger.tag_stream(decode_blocks(path, filename, kept), rate_hz, frames, on_decoded=decoded)
    audio_np = measured["audio"]
    timings["decode_features_and_predict"] = (time.perf_counter() - started) * 1000.0
    step = time.perf_counter()
    logmel_np = logmel.cpu().numpy()
    png = render_spectrogram_png(logmel_np)
    timings["spectrogram"] = (time.perf_counter() - step) * 1000.0
    return FileDescription(tags=result.tags, patches=int(result.per_patch.shape[0]), logmel=logmel_np, png=png,
                           features=measured["features"], channels=int(audio_np.shape[0]),
                           duration_s=audio_np.shape[1] / rate_hz, timings_ms=timings)
