"""Benchmark: neural speech synthesis (the male Piper joe and the female hibari heart base voices) and WORLD voice transforms on the CPU.

    python benchmarks/voice.py [--repeats 3] [--threads N]

Prints, for a ~20 s paragraph: the voice's load time, Piper synthesis as a real-time factor
(wall seconds per second of audio; the target is <= 0.15 on 2 cores), the WORLD transform's
cost per second of audio (analysis, envelope warp, resynthesis) and `speak` end to end with a
character's settings, and singing the vocal stem of a 30 s song (`singing.sing`: Piper per lyric
line, WORLD analysis and resynthesis on the notes; target <= 0.5 s per second of song on 2 cores),
for each base voice (``hibari-heart`` is the female one).
Timings are best-of-N wall clock, so other work on the machine slows them.
``--threads`` sets OMP_NUM_THREADS (scipy/numpy); onnxruntime uses one thread per physical core.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PARAGRAPH = (
    "Welcome back to the late night session. Tonight we have three brand new tracks for you, each "
    "one built around a warm piano loop and a dusty drum groove. Grab a cup of tea, lean back, and "
    "let the rain outside set the mood. If you like what you hear, stay with us for the next hour. "
    "We will be talking about how these beats came together, from the first sketch to the final mix."
)


def best_of(repeats: int, fn):
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="0: all cores")
    args = parser.parse_args()
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)

    from studio.engine.instruments import voice as V
    start = time.perf_counter()
    piper_voice = V.load_voice()
    load_s = time.perf_counter() - start
    V.synthesize("Warm up.", voice=piper_voice)  # first run pays onnxruntime's graph set-up
    print(f"cores: {os.cpu_count()}, voice: {V.DEFAULT_VOICE_ID}, load {load_s:.2f} s")

    wall, (audio, sr) = best_of(args.repeats, lambda: V.synthesize(PARAGRAPH, voice=piper_voice))
    seconds = len(audio) / sr
    print(f"synthesis   {seconds:5.1f} s of speech in {wall:5.2f} s: RTF {wall / seconds:.3f} "
          f"({seconds / wall:.1f}x real time; target RTF <= 0.15)")

    start = time.perf_counter()
    hibari_voice = V.voice_for(V.FEMALE_VOICE_ID)
    hibari_load_s = time.perf_counter() - start
    V.synthesize("Warm up.", voice=hibari_voice)  # also loads hibari's lexicon and tagger
    h_wall, (h_audio, h_sr) = best_of(args.repeats, lambda: V.synthesize(PARAGRAPH, voice=hibari_voice))
    h_seconds = len(h_audio) / h_sr
    print(f"synthesis   {h_seconds:5.1f} s of speech in {h_wall:5.2f} s: RTF {h_wall / h_seconds:.3f} "
          f"({h_seconds / h_wall:.1f}x real time; {V.FEMALE_VOICE_ID}, female; load {hibari_load_s:.2f} s)")

    for name, kwargs in [
        ("pitch +5 st", dict(pitch_semitones=5.0)),
        ("female +10 st, formants 1.15", dict(pitch_semitones=10.0, formant_shift=1.15)),
        ("time stretch 1.25x", dict(speed=1.25)),
    ]:
        wall, _ = best_of(args.repeats, lambda: V.transform_voice(audio, sr, **kwargs))
        print(f"transform   {name:30s} {wall / seconds * 1000:6.0f} ms per second of audio")

    wall, _ = best_of(args.repeats, lambda: V.pitch_stats(audio, sr))
    print(f"pitch_stats {wall / seconds * 1000:6.0f} ms per second of audio")

    settings = V.VoiceSettings(pitch_semitones=10.0, formant_shift=1.15, emotion="happy")
    wall, (spoken, sr) = best_of(args.repeats, lambda: V.speak(PARAGRAPH, settings))
    seconds = len(spoken) / sr
    print(f"speak       {seconds:5.1f} s (female, happy) in {wall:5.2f} s: RTF {wall / seconds:.3f}")

    from studio.engine.instruments import singing as S
    from studio.engine.composition.composer import compose
    from studio.engine.composition.spec import GenerationSpec, resolve_spec

    score = compose(resolve_spec(GenerationSpec(style="pop", duration=30, instrumental=False,
                                                lyrics={"enabled": True, "theme": "summer nights"}, seed=3)))
    rate = 44100
    frames = int(round(score.total_s * rate))
    sung_s = sum(line.end_s - line.start_s for line in score.lyrics)
    S._aligned_voice(None)  # the duration-exposing copy of the voice loads once
    S._aligned_voice(V.FEMALE_VOICE_ID)
    for label, settings in [("joe", None), ("joe +10 st, formants 1.15", settings),
                            (V.FEMALE_VOICE_ID, V.VoiceSettings(base_voice=V.FEMALE_VOICE_ID))]:
        wall, _ = best_of(args.repeats, lambda: S.sing(score.lyrics, sample_rate_hz=rate, num_frames=frames,
                                                       settings=settings))
        print(f"singing     {score.total_s:4.0f} s song ({len(score.lyrics)} lines, {sung_s:4.1f} s sung, {label}) "
              f"in {wall:5.2f} s: RTF {wall / score.total_s:.3f} per song second, "
              f"{wall / sung_s:.3f} per sung second (target <= 0.5 per song second)")


if __name__ == "__main__":
    main()
