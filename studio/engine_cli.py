"""`studio generate` and `studio extend`: the engine from a terminal, without window or database.

Progress goes to stderr as one updating line; the summary (or `--json`) goes to stdout, so
`studio generate ... --json | jq` works. Exit codes: 0 done, 2 bad options, 1 failure, 130 Ctrl+C.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from pathlib import Path

from pydantic import ValidationError


def _error(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "request"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def _progress_printer():
    interactive = sys.stderr.isatty()
    last = {"stage": None}

    def report(fraction: float, stage: str) -> None:
        if interactive:
            print(f"\r{stage:<10} {fraction * 100:5.1f}%", end="" if stage != "completed" else "\n",
                  file=sys.stderr, flush=True)
        elif stage != last["stage"]:
            print(f"{stage}...", file=sys.stderr, flush=True)
        last["stage"] = stage

    return report


def _settings():
    from studio.config import Settings

    return Settings()


def _safe_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "_", text.lower()).strip("_")[:48]
    return name or "track"


def _singer(name: str):
    """--singer: a default character (by name or id) as SingerOptions, or "instrument"; ValueError
    naming the choices otherwise."""
    from studio.engine.composition.singers import LEAD_INSTRUMENT, default_singers, find_singer

    if name.strip().lower() in (LEAD_INSTRUMENT, "lead", "none"):
        return LEAD_INSTRUMENT
    found = find_singer(name)
    if found is None:
        choices = ", ".join(f"{c.name.lower()} ({c.id})" for c in default_singers())
        raise ValueError(f"--singer {name!r} is not a character; choose one of {choices}, or {LEAD_INSTRUMENT}")
    return found.options


def _vocals_line(spec) -> str:
    """Who sings and why, e.g. "prompt word 'female' -> Nova (Synthwave) sings"."""
    return spec.sources.get("singer") or ("none (instrumental)" if spec.instrumental else "lead instrument")


def _print_summary(result, as_json: bool) -> None:
    summary = result.summary()
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    spec = result.spec
    est = result.analysis
    print(f"{spec.title}")
    print(f"  style {spec.style_name} | mood {spec.mood} | key {spec.key.replace('_', ' ')} | "
          f"{spec.tempo_bpm:g} BPM | seed {spec.seed}")
    print(f"  vocals: {_vocals_line(spec)}")
    print(f"  form: {' '.join(f'{s.label}({s.bars})' for s in result.score.sections)}")
    print(f"  heard: tempo {est.tempo.bpm:.1f} BPM, key {est.key.key.replace('_', ' ')}, "
          f"{est.loudness_lufs:.1f} LUFS, true peak {est.true_peak_dbtp:.1f} dBTP")
    if result.tags:
        print("  tags: " + ", ".join(f"{t} {p:.2f}" for t, p in result.tags[:6]))
    print("  quality: " + ", ".join(f"{k} {v:.2f}" for k, v in result.quality.items()))
    timings = result.timings_s
    render = sum(timings.get(k, 0.0) for k in ("compose_s", "render_s", "mix_s", "master_s"))
    print(f"  rendered {result.duration_s:.1f} s of audio in {render:.1f} s on {result.device} "
          f"({result.duration_s / max(render, 1e-9):.0f}x real time)")
    for kind, path in summary["files"].items():
        if isinstance(path, dict):
            for stem, stem_path in path.items():
                print(f"  {kind}/{stem}: {stem_path}")
        else:
            print(f"  {kind}: {path}")


def _run(job, as_json: bool) -> int:
    from studio.engine.pipeline.generate import Cancelled

    cancel = threading.Event()
    try:
        result = job(cancel)
    except KeyboardInterrupt:
        cancel.set()
        return _error("interrupted; nothing was written", 130)
    except Cancelled:
        return _error("cancelled; nothing was written", 130)
    except (ValueError, FileNotFoundError) as exc:
        return _error(str(exc))
    _print_summary(result, as_json)
    return 0


def run_generate(args) -> int:
    from studio.engine.composition.spec import GenerationSpec, LyricsOptions
    from studio.engine.composition.styles import moods, styles

    if args.list_styles:
        for style in styles().values():
            print(f"{style.id:<18} {style.name} ({style.tempo_min:.0f}-{style.tempo_max:.0f} BPM)")
        print("moods: " + ", ".join(sorted(moods())))
        return 0
    if not args.prompt and not args.style:
        return _error("give a prompt or --style (e.g. studio generate \"chill lo-fi beat\" --duration 30)")

    fields: dict = {"prompt": args.prompt, "output_formats": [f for f in args.formats.split(",") if f.strip()]}
    for name, value in (("duration", args.duration), ("seed", args.seed), ("style", args.style), ("mood", args.mood),
                        ("tempo", args.tempo), ("key", args.key), ("creativity", args.creativity),
                        ("audio_quality", args.quality)):
        if value is not None:
            fields[name] = value
    if args.complexity is not None:
        try:
            fields["complexity"] = float(args.complexity)
        except ValueError:
            fields["complexity"] = args.complexity
    if args.instruments:
        fields["primary_instruments"] = [i.strip() for i in args.instruments.split(",") if i.strip()]
    if args.instrumental:
        fields["instrumental"] = True
    if args.singer:
        try:
            fields["singer"] = _singer(args.singer)
        except ValueError as exc:
            return _error(str(exc))
    if args.lyrics or args.theme:
        text = args.lyrics
        if text and text.startswith("@"):
            try:
                text = Path(text[1:]).read_text()
            except OSError as exc:
                return _error(f"cannot read the lyrics file {text[1:]}: {exc.strerror or exc}")
        fields["lyrics"] = LyricsOptions(enabled=True, text=text, theme=args.theme)
    try:
        spec = GenerationSpec(**fields)
    except ValidationError as exc:
        return _error(_validation_message(exc))

    settings = _settings()
    from studio.engine.pipeline.generate import generate
    from studio.engine.composition.spec import resolve_spec

    resolved = resolve_spec(spec)
    name = args.name or _safe_name(resolved.title)
    print(f"{resolved.style_name}, {resolved.mood}, {resolved.key.replace('_', ' ')}, {resolved.tempo_bpm:g} BPM, "
          f"{resolved.duration_s:g} s, seed {resolved.seed}; vocals: {_vocals_line(resolved)}", file=sys.stderr)
    return _run(lambda cancel: generate(
        resolved, out_dir=args.out, basename=name, soundfont=settings.soundfont_path,
        device=args.device or settings.device, progress=_progress_printer(), cancel=cancel, tag=not args.no_tags,
    ), args.json)


def run_extend(args) -> int:
    from studio.engine.pipeline.generate import extend, load_score
    from studio.engine.composition.spec import normalise_formats, recast_singer

    try:
        score = load_score(args.score)
        formats = normalise_formats([f for f in args.formats.split(",") if f.strip()])
        score.spec = score.spec.model_copy(update={"output_formats": formats or ["wav"]})
        if args.singer:
            score.spec = recast_singer(score.spec, _singer(args.singer), "--singer")
    except ValueError as exc:
        return _error(str(exc))
    print(f"vocals: {_vocals_line(score.spec)}", file=sys.stderr)
    settings = _settings()
    stem = args.score.name.removesuffix("_score.json").removesuffix(".json")
    out = args.out or args.score.parent
    return _run(lambda cancel: extend(
        score, args.duration, seed=args.seed, out_dir=out, basename=args.name or f"{stem}_extended",
        soundfont=settings.soundfont_path, device=args.device or settings.device, progress=_progress_printer(),
        cancel=cancel, tag=not args.no_tags,
    ), args.json)
