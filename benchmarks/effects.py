"""Benchmark: mix 6 stereo stems through typical effect chains, then master.

    python benchmarks/effects.py [--seconds 180] [--stems 6] [--threads 2] [--device cpu|cuda|all]
                                 [--batch 16]

Per stem: a 3-band EQ, a compressor, a tempo-synced delay and a send to one shared reverb bus
(as a mixer does); then the bus is summed and mastered to -14 LUFS / -1 dBTP. Prints wall time,
process CPU time and the real-time factor (audio seconds per wall second) of every stage on
the CPU, and on CUDA when available. With CUDA, ``--batch`` tracks are also mixed and mastered
at once (stems and tracks batched in one tensor) to report aggregate throughput.

The stems are seeded noise with rhythmic envelopes: effect cost does not depend on content.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.engine.dsp.effects import (  # noqa: E402
    Compressor,
    Delay,
    HighPassFilter,
    HighShelfFilter,
    ParametricEQ,
    PeakFilter,
    Reverb,
)
from studio.engine.dsp.mastering import master  # noqa: E402

SAMPLE_RATE_HZ = 44100
TEMPO_BPM = 120.0


def make_stems(stems: int, seconds: float, device: torch.device, batch: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    frames = int(seconds * SAMPLE_RATE_HZ)
    t = torch.arange(frames) / SAMPLE_RATE_HZ
    audio = torch.randn((batch, stems, 2, frames), generator=gen) * 0.05
    beat = torch.exp(-(t % (60.0 / TEMPO_BPM)) * 8.0)  # a hit every beat, decaying
    audio *= beat
    return (audio if batch > 1 else audio[0]).to(device)


def stem_chain(index: int):
    eq = ParametricEQ([HighPassFilter(40.0 + 20 * index), PeakFilter(400.0 * (index + 1), -3.0, 1.4), HighShelfFilter(8000.0, 2.0)])
    compressor = Compressor(threshold_db=-24.0, ratio=3.0, attack_ms=10.0, release_ms=120.0, makeup_gain_db=3.0)
    delay = Delay.tempo_synced(TEMPO_BPM, beats=0.75, feedback=0.35, mix=0.2)
    return eq, compressor, delay


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


class Timer:
    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.rows: list[tuple[str, float, float]] = []

    def __call__(self, name: str, fn):
        sync(self.device)
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        sync(self.device)
        self.rows.append((name, time.perf_counter() - wall, time.process_time() - cpu))
        return result


def mix_and_master(stems: torch.Tensor, timer: Timer, per_stem: bool = True):
    """stems: (..., stems, 2, frames). Returns the master and its report."""
    count = stems.shape[-3]
    reverb = Reverb(room_size=0.6, decay_s=2.0, damping=0.5, wet_level=1.0, dry_level=0.0, seed=1)
    sends = torch.linspace(0.1, 0.4, count, device=stems.device).reshape(count, 1, 1)
    if per_stem:  # every stem has its own settings: one call per stem and effect
        processed = []
        for i in range(count):
            eq, compressor, delay = stem_chain(i)
            x = stems[..., i, :, :]
            x = timer(f"stem {i} EQ (3 bands)", lambda: eq(x, SAMPLE_RATE_HZ))
            x = timer(f"stem {i} compressor", lambda: compressor(x, SAMPLE_RATE_HZ))
            x = timer(f"stem {i} delay", lambda: delay(x, SAMPLE_RATE_HZ))
            processed.append(x)
        wet = torch.stack(processed, dim=-3)
    else:  # one setting for all stems: each effect runs once on the whole (stems, 2, N) batch
        eq, compressor, delay = stem_chain(0)
        wet = timer("all stems EQ", lambda: eq(stems, SAMPLE_RATE_HZ))
        wet = timer("all stems compressor", lambda: compressor(wet, SAMPLE_RATE_HZ))
        wet = timer("all stems delay", lambda: delay(wet, SAMPLE_RATE_HZ))
    bus = timer("reverb send bus", lambda: reverb((wet * sends).sum(dim=-3), SAMPLE_RATE_HZ))
    mix = wet.sum(dim=-3) + bus
    return timer("master", lambda: master(mix, SAMPLE_RATE_HZ))


def report(title: str, timer: Timer, audio_s: float) -> None:
    print(f"\n{title}")
    groups: dict[str, list[float]] = {}
    for name, wall, cpu in timer.rows:
        key = name.split(" ", 2)[-1] if name.startswith("stem ") else name
        groups.setdefault(key, [0.0, 0.0])
        groups[key][0] += wall
        groups[key][1] += cpu
    for key, (wall, cpu) in groups.items():
        print(f"  {key:28s} wall {wall:7.2f} s   cpu {cpu:7.2f} s")
    total_wall = sum(r[1] for r in timer.rows)
    total_cpu = sum(r[2] for r in timer.rows)
    print(f"  {'total':28s} wall {total_wall:7.2f} s   cpu {total_cpu:7.2f} s   "
          f"real-time factor {audio_s / total_wall:6.1f}x (audio s per wall s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--stems", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", choices=("cpu", "cuda", "all"), default="all")
    parser.add_argument("--batch", type=int, default=16, help="tracks mixed at once on CUDA")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = []
    if args.device in ("cpu", "all"):
        devices.append(torch.device("cpu"))
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    elif args.device == "cuda":
        sys.exit("CUDA requested but not available")
    print(f"{args.stems} stereo stems x {args.seconds:g} s at {SAMPLE_RATE_HZ} Hz, torch {torch.__version__}, "
          f"{args.threads} CPU threads")

    for device in devices:
        stems = make_stems(args.stems, args.seconds, device)
        warm = Timer(device)  # first calls build cached filter matrices / cuFFT plans
        mix_and_master(stems[..., : SAMPLE_RATE_HZ * 2], warm)
        timer = Timer(device)
        _, rep = mix_and_master(stems, timer)
        report(f"{device.type}: per-stem chains, shared reverb bus, master", timer, args.seconds)
        print(f"  master: {rep['integrated_lufs']:.2f} LUFS, {rep['true_peak_dbtp']:.2f} dBTP, "
              f"{rep['iterations']} render(s)")
        timer = Timer(device)
        mix_and_master(stems, timer, per_stem=False)
        report(f"{device.type}: one chain over all stems as a batch", timer, args.seconds)
        if device.type == "cuda" and args.batch > 1:
            del stems
            tracks = make_stems(args.stems, args.seconds, device, batch=args.batch)
            timer = Timer(device)
            mix_and_master(tracks, timer, per_stem=False)
            report(f"cuda: {args.batch} tracks at once (aggregate)", timer, args.seconds * args.batch)


if __name__ == "__main__":
    main()
