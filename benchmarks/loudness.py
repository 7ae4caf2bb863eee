"""Benchmark: loudness and true peak of generated tracks as their files decode, per style and format.

    python benchmarks/loudness.py [--seconds 20] [--styles lofi_hip_hop,trap,...] [--quality standard]
                                  [--seed 3]

For each style a track is generated (instrumental, no tags) and exported as WAV, FLAC, MP3 and
OGG; each file is decoded by ffmpeg (PyAV) and measured twice: by the engine's BS.1770 meter
(`measure_loudness_lufs`, `true_peak_dbtp`) and by ffmpeg's `ebur128=peak=true` filter, an
independent implementation (tests/engine/ffmpeg_meter.py). The master's own report (what the
engine says of the mix before export) is printed beside them. Targets: -14 LUFS +- 0.5 and
<= -1.0 dBTP on every decoded file. Without PyAV the files are decoded by libsndfile and only
the engine's meter is shown.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import soundfile as sf  # noqa: E402
import torch  # noqa: E402

from studio.engine.composition.spec import GenerationSpec  # noqa: E402
from studio.engine.dsp.mastering import measure_loudness_lufs, true_peak_dbtp  # noqa: E402
from studio.engine.pipeline.generate import generate  # noqa: E402

try:
    from tests.engine import ffmpeg_meter
except ImportError:  # PyAV missing
    ffmpeg_meter = None

DEFAULT_STYLES = ("lofi_hip_hop", "trap", "edm", "techno", "dnb", "rock", "metal", "classical_piano", "jazz", "ambient")
FORMATS = ("wav", "flac", "mp3", "ogg")
TARGET_LUFS, CEILING_DBTP, TOLERANCE_LU = -14.0, -1.0, 0.5


def decode(path: Path):
    if ffmpeg_meter is not None:
        return ffmpeg_meter.decode(path)
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return data.T.copy(), rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--styles", default=",".join(DEFAULT_STYLES))
    parser.add_argument("--quality", default="standard", choices=("draft", "standard", "high"))
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    meter = "ffmpeg ebur128 (PyAV)" if ffmpeg_meter is not None else "none (PyAV missing)"
    print(f"{args.seconds:g} s tracks, {args.quality} quality, seed {args.seed}; independent meter: {meter}")
    print(f"{'style':16s} {'file':7s} {'LUFS':>7s} {'ff LUFS':>7s} {'dBTP':>7s} {'ff dBTP':>7s}  ok")
    worst = {fmt: [-math.inf, 0.0] for fmt in ("master", *FORMATS)}  # highest peak, largest |LUFS - target|
    failures = 0
    started = time.perf_counter()
    for style in args.styles.split(","):
        spec = GenerationSpec(style=style, duration=args.seconds, seed=args.seed, audio_quality=args.quality,
                              instrumental=True, output_formats=list(FORMATS))
        with tempfile.TemporaryDirectory() as tmp:
            result = generate(spec, out_dir=tmp, basename="track", device="cpu", tag=False)
            report = result.track.master_report
            print(f"{style:16s} {'master':7s} {report['integrated_lufs']:7.2f} {'':>7s} {report['true_peak_dbtp']:7.2f}")
            worst["master"][0] = max(worst["master"][0], report["true_peak_dbtp"])
            for fmt in FORMATS:
                audio, rate = decode(result.files[fmt])
                x = torch.from_numpy(audio)
                lufs, peak = float(measure_loudness_lufs(x, rate)), float(true_peak_dbtp(x, rate))
                row = f"{style:16s} {fmt:7s} {lufs:7.2f} "
                if ffmpeg_meter is not None:
                    reading = ffmpeg_meter.ebur128(audio, rate)
                    row += f"{reading.integrated_lufs:7.2f} {peak:7.2f} {reading.true_peak_dbtp:7.2f}"
                    peaks, levels = (peak, reading.true_peak_dbtp), (lufs, reading.integrated_lufs)
                else:
                    row += f"{'':>7s} {peak:7.2f} {'':>7s}"
                    peaks, levels = (peak,), (lufs,)
                ok = max(peaks) <= CEILING_DBTP and all(abs(v - TARGET_LUFS) <= TOLERANCE_LU for v in levels)
                failures += not ok
                worst[fmt][0] = max(worst[fmt][0], *peaks)
                worst[fmt][1] = max(worst[fmt][1], *(abs(v - TARGET_LUFS) for v in levels))
                print(row + ("  ok" if ok else "  OVER"), flush=True)
    print(f"\nhighest true peak / largest loudness error over {len(args.styles.split(','))} styles (either meter):")
    for fmt, (peak, error) in worst.items():
        print(f"  {fmt:7s} {peak:6.2f} dBTP" + (f"   {error:.2f} LU" if fmt != "master" else ""))
    print(f"{failures} file(s) off target; {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
