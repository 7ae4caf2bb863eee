"""Benchmark: render a dense trap/EDM arrangement with the torch synths.

    python benchmarks/synths.py [--seconds 180] [--threads 2] [--repeats 2] [--sample-rate 44100] [--thp]

The pattern, at 140 BPM in A minor: 808 kick, clap, closed hats in 1/8s with 1/16, 1/32 and
triplet rolls, open hats choked by the closed ones, an 808 bass line with overlapping (sliding)
notes, 4-note supersaw chords, a pad and a 1/16 pluck arpeggio, all the way through. Prints
each instrument's wall time and the total, as real-time factors (audio seconds per wall
second), and the peak RSS, for the CPU (and CUDA when available). Timings are best-of-N
wall clock, so other work on the machine slows them.

OMP_WAIT_POLICY defaults to PASSIVE here (as in benchmarks/sampler.py): with the default
(spinning) policy, torch's OpenMP threads slow down many-fold as soon as another process
competes for the cores. --thp sets THP_MEM_ALLOC_ENABLE=1 before torch is imported, so that
torch backs tensors of 2 MB and more with transparent huge pages (each instrument's output is
a fresh 63 MB tensor for 3 minutes of audio; see benchmarks/sampler.py).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # must be set before torch loads OpenMP
if "--thp" in sys.argv:
    os.environ["THP_MEM_ALLOC_ENABLE"] = "1"  # read by torch's allocator at its first large allocation

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.engine.instruments.sampler import Notes  # noqa: E402
from studio.engine.instruments.synths import choke_notes, hat_roll, render_synth  # noqa: E402

TEMPO_BPM = 140.0
BEAT_S = 60.0 / TEMPO_BPM
BAR_S = 4 * BEAT_S
PROGRESSION = [[57, 60, 64], [53, 57, 60], [48, 52, 55], [55, 59, 62]]  # Am F C G


def _notes(rows: list[tuple[float, float, float, float]]) -> Notes:
    array = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return Notes(array[:, 0], array[:, 1], array[:, 2], array[:, 3])


def build_arrangement(seconds: float, seed: int = 7) -> dict[str, Notes]:
    """One Notes per instrument for `seconds` of music."""
    rng = np.random.default_rng(seed)
    bars = max(int(seconds // BAR_S), 1)
    parts: dict[str, list] = {k: [] for k in ("kick_808", "clap", "hat_open", "bass_808", "supersaw", "pad", "pluck")}
    hats: list[Notes] = []
    for bar in range(bars):
        t_bar = bar * BAR_S
        chord = PROGRESSION[bar % 4]
        root = chord[0] - 24
        for step in (0, 3, 6, 10, 11) if bar % 2 else (0, 6, 9, 14):  # 1/16 steps
            parts["kick_808"].append((t_bar + step * BEAT_S / 4, 0.2, 36, 120))
        for beat in (1, 3):
            parts["clap"].append((t_bar + beat * BEAT_S, 0.2, 39, 110))
        # Closed hats in 1/8s; the last beat of the bar is a roll (1/16, 1/32 or triplets).
        hats.append(hat_roll(t_bar, 3 * BEAT_S, 2, TEMPO_BPM, (80, 100)))
        rate = [4, 8, 6, 12][bar % 4]
        hats.append(hat_roll(t_bar + 3 * BEAT_S, BEAT_S, rate, TEMPO_BPM, (60, 115)))
        parts["hat_open"].append((t_bar + 2.5 * BEAT_S, BEAT_S, 46, 90))
        # 808: root on the kick, a slide up a fifth (overlapping notes glide), back to the root.
        parts["bass_808"] += [(t_bar, 1.6 * BEAT_S, root, 115), (t_bar + 1.5 * BEAT_S, 1.0 * BEAT_S, root + 7, 110),
                              (t_bar + 2.5 * BEAT_S, 1.5 * BEAT_S, root, 110)]
        for key in chord + [chord[0] + 12]:
            parts["supersaw"].append((t_bar, BAR_S * 0.95, key, 100))
        for key in chord:
            parts["pad"].append((t_bar, BAR_S, key - 12, 80))
        for step in range(16):
            key = chord[step % 3] + 12 * (1 + (step // 3) % 2)
            parts["pluck"].append((t_bar + step * BEAT_S / 4, BEAT_S / 4 * 0.8, key, int(rng.integers(80, 115))))
    out = {name: _notes(rows) for name, rows in parts.items()}
    closed = Notes.concat(hats)
    out["hat_closed"] = closed
    out["hat_open"] = choke_notes(out["hat_open"], closed)
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_parts(parts: dict[str, Notes], device: str, sample_rate: int, repeats: int, seconds: float):
    """Best-of-N wall time per instrument, then for the whole arrangement."""
    frames = int(seconds * sample_rate)
    mix = torch.zeros(2, frames, device=device)
    timings = {}
    for name, notes in parts.items():
        render_synth(name, notes, sample_rate, device, num_frames=frames)  # warm-up
        best = float("inf")
        for _ in range(repeats):
            sync(device)
            start = time.perf_counter()
            audio = render_synth(name, notes, sample_rate, device, num_frames=frames)
            sync(device)
            best = min(best, time.perf_counter() - start)
        timings[name] = best
        mix += audio
    return timings, mix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the target is 2 cores)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sample-rate", type=int, default=44100)
    parser.add_argument("--thp", action="store_true", help="back large tensors with transparent huge pages")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    parts = build_arrangement(args.seconds)
    print(f"arrangement: {args.seconds:.0f} s at {TEMPO_BPM:.0f} BPM, {args.sample_rate} Hz, "
          f"{sum(len(n) for n in parts.values())} notes: " + ", ".join(f"{k} {len(v)}" for k, v in parts.items()))
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        label = f"cpu ({args.threads} threads)" if device == "cpu" else f"cuda ({torch.cuda.get_device_name(0)})"
        timings, mix = time_parts(parts, device, args.sample_rate, args.repeats, args.seconds)
        total = sum(timings.values())
        print(f"{label}: total {total:.3f} s wall, {args.seconds / total:.1f}x real time, "
              f"peak RSS {peak_rss_mb():.0f} MiB, mix peak {float(mix.abs().max()):.2f}")
        for name, seconds in timings.items():
            print(f"  {name:11s} {seconds:7.3f} s  {args.seconds / seconds:8.1f}x real time")


if __name__ == "__main__":
    main()
