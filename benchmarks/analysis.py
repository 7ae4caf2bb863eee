"""Benchmark: musicnn tagging (decode -> resample -> log-mel -> network) of a 30 s clip and a 3 min
track, on the CPU, and batch tagging throughput on the GPU when CUDA is present.

    python benchmarks/analysis.py [--threads 2] [--repeats 3] [--model MSD_musicnn]
                                  [--reference] [--gpu-tracks 32] [--with-features]

The audio is a stereo 44.1 kHz mix (drum-like noise bursts, a bass line, chords) written to
WAV and MP3 in a temp dir; the figures include reading and decoding the file. The headline is
the streamed path (`Tagger.tag_file`: decoding and conversion overlap the network, as in the
product); the stages timed one after another follow it. For each length
the best of `--repeats` runs is printed with its stages. `--reference` also times the module's
own forward (`MusicnnNet.forward`, the pre-CpuForward path) on the same patches. `--with-features`
adds `analyse_audio` (tempo, key, loudness, spectrum), which POST /api/v1/predict also runs.

The machine's load average is printed first: other processes on the same cores slow every
figure down (the target, a 3 min track in <= 1.5 s on two cores, assumes they are idle).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import soundfile as sf
import torch

from studio.engine.io.export import write_audio
from studio.engine.analysis.tagger import (
    SAMPLE_RATE_HZ,
    load_tagger,
    log_mel_spectrogram,
    patches,
    resample,
)

RATE = 44100


def synth_track(seconds: float, seed: int = 0) -> np.ndarray:
    """(2, frames) float32: 120 bpm noise-burst drums, a sine bass and a three-note pad."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    beat = (t % 0.5) / 0.5
    drums = rng.standard_normal(n) * np.exp(-beat * 30.0) * 0.3
    bass = 0.2 * np.sin(2 * np.pi * np.where((t // 2) % 2 == 0, 55.0, 73.4) * t)
    pad = sum(0.05 * np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0))
    mono = drums + bass + pad
    return np.stack([mono, np.roll(mono, 441)]).astype(np.float32)


def decode(path: Path) -> tuple[torch.Tensor, int]:
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return torch.from_numpy(audio.T.copy()), int(rate)


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def one_run(path: Path, tagger, reference: bool, features: bool) -> dict[str, float]:
    stages: dict[str, float] = {}
    (audio, rate), stages["decode"] = timed(lambda: decode(path))
    mono = audio.mean(dim=0)
    y, stages["resample"] = timed(lambda: resample(mono, rate, SAMPLE_RATE_HZ))
    mel, stages["log-mel"] = timed(lambda: log_mel_spectrogram(y))
    x = patches(mel)
    _logits, stages["network"] = timed(lambda: tagger.logits(x))
    stages["total"] = sum(stages.values())
    # The product's path: decoding and conversion overlap the network (Tagger.tag_stream, what
    # /api/v1/predict and the Analyze panel run).
    _, stages["streamed"] = timed(lambda: tagger.tag_file(path))
    if reference:
        with torch.inference_mode():
            _, stages["reference network"] = timed(lambda: torch.cat([tagger.net(x[i:i + 16]) for i in range(0, len(x), 16)]))
    if features:
        from studio.engine.analysis.features import analyse_audio

        _, stages["analyse_audio"] = timed(lambda: analyse_audio(audio, rate))
    stages["patches"] = float(x.shape[0])
    return stages


def bench_cpu(args, workdir: Path) -> None:
    tagger = load_tagger(args.model, "cpu")
    print(f"\nCPU, {torch.get_num_threads()} threads, model {tagger.version}")
    for seconds in (30.0, 180.0):
        audio = synth_track(seconds)
        for fmt in ("wav", "mp3"):
            path = workdir / f"track_{int(seconds)}s.{fmt}"
            write_audio(path, audio, RATE, fmt)
            one_run(path, tagger, False, False)  # warm-up (allocator, filter tables)
            runs = [one_run(path, tagger, args.reference, args.with_features) for _ in range(args.repeats)]
            best = min(runs, key=lambda r: r["total"])
            streamed = min(r["streamed"] for r in runs)
            detail = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in best.items()
                               if k not in ("total", "patches", "streamed"))
            print(f"  {seconds:5.0f} s {fmt.upper():4s} ({int(best['patches'])} patches): "
                  f"{streamed:.2f} s decode-to-tags streamed ({seconds / streamed:.0f}x real time); "
                  f"one stage after another {best['total']:.2f} s  [{detail}]")


def bench_gpu(args) -> None:
    if not torch.cuda.is_available():
        print("\nGPU: no CUDA device; batch throughput not measured")
        return
    tagger = load_tagger(args.model, "cuda")
    clips = [(torch.from_numpy(synth_track(180.0, seed=i)), RATE) for i in range(args.gpu_tracks)]
    tagger.tag_many(clips[:2])
    torch.cuda.synchronize()
    started = time.perf_counter()
    tagger.tag_many(clips)
    torch.cuda.synchronize()
    wall = time.perf_counter() - started
    print(f"\nGPU {torch.cuda.get_device_name(0)}: {args.gpu_tracks} x 3 min tracks (decoded) in {wall:.2f} s "
          f"= {args.gpu_tracks / wall:.1f} tracks/s ({args.gpu_tracks * 180 / wall / 3600:.1f} h of audio per s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default="MSD_musicnn", choices=["MSD_musicnn", "MTT_musicnn"])
    parser.add_argument("--reference", action="store_true", help="also time the module's own forward")
    parser.add_argument("--with-features", action="store_true", help="also time analyse_audio")
    parser.add_argument("--gpu-tracks", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"cores: {os.cpu_count()}, load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        bench_cpu(args, Path(tmp))
    bench_gpu(args)


if __name__ == "__main__":
    main()
