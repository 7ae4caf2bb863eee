"""Benchmark: the whole engine on a full-length arrangement.

    python benchmarks/engine.py [--seconds 180] [--styles lofi_hip_hop,synthwave,rock] [--threads 2]
                                [--repeats 2] [--gpu-batch 16] [--no-fluidsynth]

For each style, a `--seconds` track with every part the style has (drums, bass, harmony,
melody, pad, fx) is composed, rendered, mixed and mastered on the CPU; the wall time of that
"full pipeline" and its real-time factor are printed (best of `--repeats`), with analysis
(tempo/key/loudness + musicnn tags) and export (WAV + MP3 + MIDI + stems; the MP3 limited and
checked after decoding, as a generation's) timed separately.
The pipeline runs as for a generation without a stems export (`studio generate`'s default
formats): the stems' own reverb returns are then made on demand, here inside the timed export.
It is also timed with the stems finished up front, as the app does (its default formats, in the
GUI and the API, include stems).
Peak resident memory of the process is printed at the end.

FluidSynth comparison: the score's MIDI file (the one `studio generate` exports) is rendered by
`fluidsynth -ni -F out.wav SF2 MID` with the same SoundFont (best of `--repeats` runs, like the
pipeline); the ratio says how much faster the full pipeline is than FluidSynth's plain render
(which does no mixing or mastering, and plays the synth parts as General MIDI programs).

With CUDA, `--gpu-batch` tracks (different seeds) are rendered on the GPU one after another
in one process and the aggregate real-time factor is printed.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from studio.engine.analysis.features import analyse_audio  # noqa: E402
from studio.engine.composition.composer import compose  # noqa: E402
from studio.engine.dsp.mastering import TRUE_PEAK_CEILING_DBTP  # noqa: E402
from studio.engine.io.export import TrackMetadata, export_track, write_midi  # noqa: E402
from studio.engine.pipeline.render import render_score  # noqa: E402
from studio.engine.instruments.soundfont import load_soundfont  # noqa: E402
from studio.engine.composition.spec import GenerationSpec, resolve_spec  # noqa: E402
from studio.engine.analysis.tagger import load_tagger  # noqa: E402


def full_pipeline(spec, soundfont, device: str, stems: bool = False):
    """compose -> render -> mix -> master; returns (score, track, seconds). ``stems``: finish
    the stems up front, as a generation whose formats include stems does."""
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    score = compose(spec)
    track = render_score(score, soundfont, device=device, sample_rate_hz=spec.sample_rate_hz, stems=stems)
    if device == "cuda":
        torch.cuda.synchronize()
    return score, track, time.perf_counter() - started


def fluidsynth_seconds(sf2: Path, midi: Path, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["fluidsynth", "-ni", "-F", str(out), "-r", "44100", str(sf2), str(midi)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--styles", default="lofi_hip_hop,synthwave,rock")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the target is 2 cores)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gpu-batch", type=int, default=16)
    parser.add_argument("--no-fluidsynth", action="store_true")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    soundfont = load_soundfont(None)
    tagger = load_tagger("MSD_musicnn", "cpu")
    print(f"torch {torch.__version__}, {args.threads} CPU threads, SoundFont {Path(soundfont.path).name}, "
          f"{args.seconds:g} s tracks")
    fluid = None if args.no_fluidsynth else shutil.which("fluidsynth")
    if fluid is None:
        print("fluidsynth: not run (missing or --no-fluidsynth)")

    # warm-up: first calls pay for imports, caches and allocator growth
    full_pipeline(resolve_spec(GenerationSpec(style="pop", duration=8, seed=1, instrumental=True)), soundfont, "cpu")

    rows = []
    for style in [s.strip() for s in args.styles.split(",") if s.strip()]:
        spec = resolve_spec(GenerationSpec(style=style, duration=args.seconds, seed=args.seed, instrumental=True,
                                           audio_quality="standard"))
        best_with_stems = min(full_pipeline(spec, soundfont, "cpu", stems=True)[2] for _ in range(args.repeats))
        best = float("inf")
        for _ in range(args.repeats):
            score, track, seconds = full_pipeline(spec, soundfont, "cpu")
            best = min(best, seconds)
        audio_s = track.mix.shape[-1] / track.sample_rate_hz
        stages = ", ".join(f"{k.removesuffix('_s')} {v:.2f}" for k, v in track.timings_s.items())
        t = time.perf_counter()
        analysis = analyse_audio(track.mix, track.sample_rate_hz)
        analyse_s = time.perf_counter() - t
        t = time.perf_counter()
        tags = tagger.tag(track.mix, track.sample_rate_hz).top(3)
        tag_s = time.perf_counter() - t
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            export_track(Path(tmp), "bench", score, track.mix, track.stems, track.sample_rate_hz,
                         ["wav", "mp3", "midi", "stems"], bit_depth=spec.bit_depth,
                         metadata=TrackMetadata(title="bench"), true_peak_ceiling_dbtp=TRUE_PEAK_CEILING_DBTP)
            export_s = time.perf_counter() - t
            fs_s = None
            if fluid:  # best of as many runs as the pipeline had, so both sides get the same chance
                midi = write_midi(Path(tmp) / "score.mid", score)
                fs_s = min(fluidsynth_seconds(Path(soundfont.path), midi, Path(tmp) / "fluid.wav")
                           for _ in range(args.repeats))
        parts = ", ".join(sorted({p.stem for p in score.parts if p.notes}))
        print(f"\n{style}: {audio_s:.1f} s, {len(score.parts)} parts ({parts}), "
              f"{sum(len(p.notes) for p in score.parts)} notes")
        print(f"  full pipeline (compose+render+mix+master): {best:.2f} s wall -> {audio_s / best:.1f}x real time"
              f"   [{stages}]")
        print(f"  the same with the stems finished up front (the app's default formats include stems): "
              f"{best_with_stems:.2f} s -> {audio_s / best_with_stems:.1f}x real time")
        print(f"  analysis {analyse_s:.2f} s (tempo {analysis.tempo.bpm:.1f} vs {spec.tempo_bpm:g} BPM, "
              f"key {analysis.key.key} vs {spec.key}, {analysis.loudness_lufs:.2f} LUFS, "
              f"{analysis.true_peak_dbtp:.2f} dBTP); musicnn tags {tag_s:.2f} s {[t for t, _ in tags]}; "
              f"export wav+mp3+midi+stems {export_s:.2f} s")
        if fs_s is not None:
            render_s = track.timings_s.get("render_s")
            print(f"  fluidsynth plain render of the same MIDI: {fs_s:.2f} s -> {audio_s / fs_s:.1f}x real time; "
                  f"full pipeline is {fs_s / best:.2f}x FluidSynth's speed ({fs_s / best_with_stems:.2f}x with stems)"
                  + (f" (the render stage alone, the work FluidSynth does: {fs_s / render_s:.2f}x)" if render_s else ""))
        rows.append((style, audio_s / best, fs_s / best if fs_s else None))

    print(f"\npeak RSS (CPU runs): {peak_rss_mib():.0f} MiB")
    print("summary: " + "; ".join(f"{s} {rtf:.1f}x RT" + (f" ({r:.2f}x FluidSynth)" if r else "") for s, rtf, r in rows))

    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        spec0 = resolve_spec(GenerationSpec(style="synthwave", duration=args.seconds, seed=1, instrumental=True))
        full_pipeline(spec0, soundfont, "cuda")  # warm-up
        torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        total_audio = 0.0
        for i in range(args.gpu_batch):
            spec = resolve_spec(GenerationSpec(style="synthwave", duration=args.seconds, seed=100 + i, instrumental=True))
            _score, track, _s = full_pipeline(spec, soundfont, "cuda")
            total_audio += track.mix.shape[-1] / track.sample_rate_hz
        wall = time.perf_counter() - started
        print(f"\nGPU {name}: {args.gpu_batch} tracks x {args.seconds:g} s in {wall:.2f} s -> "
              f"{total_audio / wall:.1f}x real time aggregate; peak GPU memory "
              f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
    else:
        print("GPU: no CUDA device here, GPU figures not measured")


if __name__ == "__main__":
    main()
