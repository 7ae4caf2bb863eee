"""Style check: does the tagger hear the style the engine was asked for?

    python benchmarks/style_adherence.py [--seconds 30] [--seeds 101,202] [--styles house,metal] [--model MSD_musicnn]
                                         [--vocals]

For each engine style, two tracks (fixed seeds, instrumental unless --vocals, standard quality,
CPU) are generated and tagged with musicnn (MSD_musicnn: the 50 Last.fm tags of the Million Song
Dataset). Per style it prints the rank (1 = the model's strongest tag, out of 50) of the tags a
listener would expect, per seed, and the model's own top tags averaged over the two tracks.
A style counts as recognised when one of its expected tags is in the model's top 5 for every
seed. Styles whose genre has no tag of its own (reggae, classical, cinematic, drum & bass)
are checked against the nearest tags there are and say so.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.engine.pipeline.generate import generate  # noqa: E402
from studio.engine.composition.spec import GenerationSpec, SingerOptions  # noqa: E402
from studio.engine.composition.styles import styles  # noqa: E402
from studio.engine.analysis.tagger import load_tagger  # noqa: E402

# style -> (expected MSD tags, note on the tag set)
EXPECTED: dict[str, tuple[tuple[str, ...], str]] = {
    "lofi_hip_hop": (("Hip-Hop", "chill", "chillout"), ""),
    "boom_bap": (("Hip-Hop",), ""),
    "trap": (("Hip-Hop",), ""),
    "rnb": (("rnb", "soul"), ""),
    "pop": (("pop", "catchy"), ""),
    "edm": (("dance", "electronic", "House"), ""),
    "house": (("House", "dance", "electronic"), ""),
    "techno": (("electronic", "electro", "dance"), "no techno tag"),
    "dnb": (("electronic", "electronica", "dance"), "no drum & bass tag"),
    "synthwave": (("electronic", "80s", "electro"), "no synthwave tag"),
    "ambient": (("ambient", "chillout"), ""),
    "cinematic": (("instrumental", "ambient", "beautiful"), "no soundtrack tag"),
    "classical_piano": (("instrumental", "beautiful", "Mellow"), "no classical tag"),
    "jazz": (("jazz",), ""),
    "blues": (("blues",), ""),
    "funk": (("funk", "soul"), ""),
    "rock": (("rock", "classic rock", "hard rock"), ""),
    "metal": (("metal", "heavy metal", "hard rock"), ""),
    "folk": (("folk", "acoustic"), ""),
    "country": (("country",), ""),
    "reggae": (("easy listening", "oldies"), "no reggae tag"),
}
TOP = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seeds", default="101,202")
    parser.add_argument("--styles", default="", help="comma-separated style ids (default: all)")
    parser.add_argument("--model", default="MSD_musicnn")
    parser.add_argument("--vocals", action="store_true",
                        help="with lyrics voiced by the built-in voice (sung, or rapped in the hip-hop styles)")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s]
    catalogue = styles()
    chosen = [s for s in (args.styles.split(",") if args.styles else catalogue) if s]
    tagger = load_tagger(args.model, "cpu")
    print(f"model {tagger.version}; {len(seeds)} {'voiced' if args.vocals else 'instrumental'} tracks of "
          f"{args.seconds:g} s per style (seeds {seeds}); "
          f"recognised = an expected tag in the top {TOP} for every seed\n")
    header = f"{'style':<16} {'expected tag: rank per seed':<46} {'ok':<3} model hears (mean of the tracks)"
    print(header)
    print("-" * len(header))
    recognised = 0
    started = time.perf_counter()
    for style in chosen:
        expected, note = EXPECTED.get(style, ((catalogue[style].genre,), ""))
        ranks: dict[str, list[int]] = {tag: [] for tag in expected}
        mean: dict[str, float] = {}
        for seed in seeds:
            voiced = {"instrumental": False, "singer": SingerOptions()} if args.vocals else {"instrumental": True}
            result = generate(GenerationSpec(style=style, duration=args.seconds, seed=seed, audio_quality="standard",
                                             **voiced), tag=False, device="cpu")
            tags = tagger.tag(result.track.mix, result.track.sample_rate_hz).tags
            order = [t for t, _p in sorted(tags.items(), key=lambda kv: kv[1], reverse=True)]
            for tag in expected:
                ranks[tag].append(order.index(tag) + 1 if tag in order else 99)
            for tag, p in tags.items():
                mean[tag] = mean.get(tag, 0.0) + p / len(seeds)
        ok = any(all(r <= TOP for r in per_seed) for per_seed in ranks.values())
        recognised += ok
        shown = ", ".join(f"{tag} {'/'.join(str(r) for r in per_seed)}" for tag, per_seed in ranks.items())
        heard = ", ".join(f"{t} {p:.2f}" for t, p in sorted(mean.items(), key=lambda kv: kv[1], reverse=True)[:4])
        print(f"{style:<16} {shown:<46} {'yes' if ok else 'no':<3} {heard}" + (f"  ({note})" if note else ""),
              flush=True)
    print(f"\n{recognised} of {len(chosen)} styles recognised; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
