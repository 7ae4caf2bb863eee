"""Benchmark: the stem mixing stage (`process_stems`) of generated tracks, per style.

    python benchmarks/mix.py [--seconds 180] [--styles lofi_hip_hop trap ...] [--threads 2]
                             [--repeat 3] [--device cpu|cuda]

For each style: compose a track (seed 7, instrumental), render its parts once (not timed), then
run `process_stems` (parts summed into stems, each stem's channel strip, the shared lo-fi
effects) and the mix it makes (`StemBus.mix`: the stems' sum plus the reverb return of their
summed sends) ``--repeat`` times. Prints the wall time of the first run (it also
builds the cached impulse response and filter matrices) and of the best run, the process CPU
time of the best run, and its real-time factor (audio seconds per wall second).

On a shared machine wall times move with the load; the CPU time is the steadier number.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.engine.pipeline import render  # noqa: E402
from studio.engine.composition.composer import compose  # noqa: E402
from studio.engine.instruments.soundfont import load_soundfont  # noqa: E402
from studio.engine.composition.spec import GenerationSpec, resolve_spec  # noqa: E402

SAMPLE_RATE_HZ = 44100
DEFAULT_STYLES = ("lofi_hip_hop", "trap", "synthwave", "house", "jazz", "metal")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--styles", nargs="+", default=list(DEFAULT_STYLES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("CUDA requested but not available")
    device = torch.device(args.device)
    soundfont = load_soundfont(None)
    print(f"process_stems, {args.seconds:g} s tracks at {SAMPLE_RATE_HZ} Hz on {device}, torch {torch.__version__}, "
          f"{args.threads} CPU threads")
    print(f"  {'style':16s} {'stems':>5s} {'first wall':>11s} {'best wall':>10s} {'best cpu':>9s} {'real time':>10s}")
    for style in args.styles:
        spec = resolve_spec(GenerationSpec(style=style, duration=args.seconds, seed=7, instrumental=True))
        score = compose(spec)
        frames = int(score.total_s * SAMPLE_RATE_HZ) + 1
        with torch.inference_mode():
            parts = render.render_parts(score, soundfont, sample_rate_hz=SAMPLE_RATE_HZ, device=device, num_frames=frames)
            runs = []
            for _ in range(max(1, args.repeat)):
                sync(device)
                wall, cpu = time.perf_counter(), time.process_time()
                stems = render.process_stems(score, parts, SAMPLE_RATE_HZ)
                mix = stems.mix(SAMPLE_RATE_HZ)  # the render's mix step: strips, then the summed sends' reverb
                sync(device)
                runs.append((time.perf_counter() - wall, time.process_time() - cpu))
                del stems, mix
        best_wall, best_cpu = min(runs)
        print(f"  {style:16s} {len({p.stem for p in score.parts if p.notes}):5d} "
              f"{runs[0][0]:10.2f}s {best_wall:9.2f}s {best_cpu:8.2f}s {score.total_s / best_wall:9.1f}x")


if __name__ == "__main__":
    main()
