"""Benchmark: render a dense 180 s multi-instrument arrangement with the SoundFont sampler.

    python benchmarks/sampler.py [--seconds 180] [--threads 2] [--sf2 PATH] [--no-fluidsynth] [--thp]

Prints wall time (best of --repeats), real-time factor (audio seconds per wall second) and peak
RSS for the CPU render with 1 thread and with --threads threads (and CUDA when available). When
the `fluidsynth` command is installed, the same notes are written as a MIDI file and rendered
by FluidSynth (single-threaded) with the same SoundFont, and the speed ratio is printed.
FluidSynth is timed with its default reverb/chorus and with both off (the sampler has no
effects), the fairer comparison.

OMP_WAIT_POLICY defaults to PASSIVE here: with the default (spinning) policy, torch's OpenMP
threads slow down many-fold as soon as another process competes for the cores.

--thp sets THP_MEM_ALLOC_ENABLE=1 (before torch is imported): torch's CPU allocator then backs
tensors of 2 MB and more with transparent huge pages. The (tracks, 2, frames) output of a
3-minute render is hundreds of MB, and taking it from the kernel 4 KB page by page costs a
large share of the render on some machines (notably VMs); compare a run with and without.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # must be set before torch loads OpenMP
if "--thp" in sys.argv:
    os.environ["THP_MEM_ALLOC_ENABLE"] = "1"  # read by torch's allocator at its first large allocation

import argparse
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.engine.instruments.sampler import Notes, plan_voices, render_notes, render_notes_batch  # noqa: E402
from studio.engine.instruments.soundfont import load_soundfont  # noqa: E402

TEMPO_BPM = 120.0
BEAT_S = 60.0 / TEMPO_BPM
BAR_S = 4 * BEAT_S


def build_arrangement(seconds: float, seed: int = 7) -> dict[str, Notes]:
    """Drums, bass, piano chords, string pad and a melody in A minor, one Notes per part."""
    rng = np.random.default_rng(seed)
    bars = int(seconds // BAR_S)
    progression = [[57, 60, 64], [53, 57, 60], [48, 52, 55], [55, 59, 62]]  # Am F C G
    parts: dict[str, list[tuple[float, float, float, int]]] = {k: [] for k in ("drums", "bass", "piano", "strings", "lead")}
    for bar in range(bars):
        t_bar = bar * BAR_S
        chord = progression[bar % 4]
        for eighth in range(8):
            t = t_bar + eighth * BEAT_S / 2
            if eighth in (0, 4) or (eighth == 7 and bar % 2):
                parts["drums"].append((t, 0.2, 36, 110))  # kick
            if eighth in (2, 6):
                parts["drums"].append((t, 0.2, 38, 100))  # snare
            hat = 46 if eighth == 7 else 42  # open hat, choked by the next closed one
            parts["drums"].append((t, 0.1, hat, int(rng.integers(60, 90))))
            parts["bass"].append((t, BEAT_S / 2 * 0.9, chord[0] - 24 + (7 if eighth == 6 else 0), 95))
        if bar % 8 == 7:
            parts["drums"].append((t_bar, 1.5, 49, 110))  # crash
        for beat in range(4):
            for key in chord:
                parts["piano"].append((t_bar + beat * BEAT_S, BEAT_S * 0.8, key + 12, int(rng.integers(55, 85))))
        for key in chord + [chord[0] + 12]:
            parts["strings"].append((t_bar, BAR_S, key, 70))
        t = t_bar
        while t < t_bar + BAR_S - 1e-9:
            length = float(rng.choice([0.25, 0.25, 0.5, 0.5, 1.0])) * BEAT_S
            key = chord[int(rng.integers(0, 3))] + 12 * int(rng.integers(1, 3))
            parts["lead"].append((t, length * 0.95, key, int(rng.integers(70, 110))))
            t += length
    programs = {"drums": 0, "bass": 33, "piano": 0, "strings": 48, "lead": 73}
    out = {}
    for name, rows in parts.items():
        arr = np.array(rows, dtype=np.float64)
        out[name] = Notes(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], program=programs[name], is_drum=name == "drums")
    return out


def write_midi(parts: dict[str, Notes], path: Path) -> None:
    import mido

    ticks_per_beat = 480
    midi = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(TEMPO_BPM), time=0)])
    midi.tracks.append(meta)
    melodic_channel = 0
    for notes in parts.values():
        drum = bool(notes.is_drum[0])
        channel = 9 if drum else melodic_channel
        melodic_channel += 0 if drum else 1
        events = [(0, 0, mido.Message("program_change", channel=channel, program=int(notes.program[0])))]
        for start, duration, pitch, velocity in zip(notes.start_s, notes.duration_s, notes.pitch, notes.velocity):
            on = round(start / BEAT_S * ticks_per_beat)
            off = round((start + duration) / BEAT_S * ticks_per_beat)
            # Sort key puts note-offs before note-ons at the same tick.
            events.append((on, 2, mido.Message("note_on", channel=channel, note=int(pitch), velocity=int(velocity))))
            events.append((off, 1, mido.Message("note_off", channel=channel, note=int(pitch), velocity=0)))
        events.sort(key=lambda e: (e[0], e[1]))
        track, now = mido.MidiTrack(), 0
        for tick, _, message in events:
            track.append(message.copy(time=tick - now))
            now = tick
        midi.tracks.append(track)
    midi.save(path)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux


def time_render(soundfont, notes: Notes, device: str, repeats: int) -> tuple[float, torch.Tensor]:
    render_notes(soundfont, notes, device=device)  # warm-up: caches, allocator, kernels
    best = float("inf")
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        audio = render_notes(soundfont, notes, device=device)
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best, audio


def time_fluidsynth(sf2: Path, midi: Path, out: Path, effects: bool, repeats: int) -> float:
    command = ["fluidsynth", "-ni", "-F", str(out), "-r", "44100"]
    if not effects:
        command += ["-R", "0", "-C", "0"]
    command += [str(sf2), str(midi)]
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the target is 2 cores)")
    parser.add_argument("--sf2", type=Path, default=None, help="SoundFont (default: the embedded TimGM6mb.sf2)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gpu-batch", type=int, default=16, help="tracks rendered in one CUDA batch")
    parser.add_argument("--no-fluidsynth", action="store_true")
    parser.add_argument("--thp", action="store_true", help="back large tensors with transparent huge pages")
    args = parser.parse_args()

    soundfont = load_soundfont(args.sf2)
    parts = build_arrangement(args.seconds)
    notes = Notes.concat(list(parts.values()))
    plan = plan_voices(soundfont, notes)
    print(f"SoundFont: {soundfont.name} ({soundfont.path})")
    print(f"arrangement: {args.seconds:.0f} s, {len(notes)} notes (" + ", ".join(f"{k} {len(v)}" for k, v in parts.items())
          + f"), {len(plan)} voices, {plan.length_frames.sum() / 1e6:.0f}M voice-frames")
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, THP_MEM_ALLOC_ENABLE="
          f"{os.environ.get('THP_MEM_ALLOC_ENABLE', '0')}, RSS after loading: {peak_rss_mb():.0f} MiB")

    cpu_seconds = {}
    for threads in sorted({1, args.threads}):
        torch.set_num_threads(threads)
        seconds, audio = time_render(soundfont, notes, "cpu", args.repeats)
        cpu_seconds[threads] = seconds
        audio_s = audio.shape[-1] / 44100
        print(f"cpu ({threads} thread{'s' if threads > 1 else ''}): {seconds:.3f} s wall, {audio_s / seconds:.1f}x real time, "
              f"peak RSS {peak_rss_mb():.0f} MiB, output peak {float(audio.abs().max()):.2f}")

    if torch.cuda.is_available():
        cuda_s, cuda_audio = time_render(soundfont, notes, "cuda", args.repeats)
        print(f"cuda ({torch.cuda.get_device_name(0)}): {cuda_s:.3f} s wall, {audio_s / cuda_s:.0f}x real time, "
              f"max |cpu - cuda| {float((cuda_audio.cpu() - audio).abs().max()):.2e}")
        # Batch: many songs' worth of tracks in one call (how the GPU is meant to be used).
        tracks = [notes] * args.gpu_batch
        render_notes_batch(soundfont, tracks, device="cuda")
        torch.cuda.synchronize()
        t = time.perf_counter()
        render_notes_batch(soundfont, tracks, device="cuda")
        torch.cuda.synchronize()
        batch_s = time.perf_counter() - t
        print(f"cuda batch of {args.gpu_batch}: {batch_s:.3f} s wall, {args.gpu_batch * audio_s / batch_s:.0f}x real time, "
              f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")

    if args.no_fluidsynth or shutil.which("fluidsynth") is None:
        print("fluidsynth: not installed, comparison skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        midi = Path(tmp) / "bench.mid"
        write_midi(parts, midi)
        for effects in (True, False):
            fs_s = time_fluidsynth(Path(soundfont.path), midi, Path(tmp) / "out.wav", effects, args.repeats)
            label = "default (reverb+chorus)" if effects else "reverb/chorus off"
            ratios = ", ".join(f"{fs_s / s:.2f}x with {t} thread{'s' if t > 1 else ''}" for t, s in cpu_seconds.items())
            print(f"fluidsynth {label}: {fs_s:.3f} s wall, {audio_s / fs_s:.1f}x real time; sampler speed vs FluidSynth: {ratios}")


if __name__ == "__main__":
    main()
