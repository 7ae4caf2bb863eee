"""The whole engine in one call: spec -> compose -> render -> mix -> master -> analyse -> export.

`generate(spec)` and `extend(score, additional_duration_s)` are what the services, the CLI and
the benchmarks call. Both run synchronously on the calling (worker) thread and report progress
as `progress(fraction 0..1, stage)` with the stages in `STAGES`; `cancel` is checked between
steps and inside long renders, and cancelling raises `Cancelled` before anything is written.

Files (when `out_dir` is given) are written last, each one atomically, so a crash or a cancel
never leaves a half-written track behind. The score is saved beside the audio as
`<basename>_score.json`: it is what `extend` continues from.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from studio.engine.analysis.features import AudioAnalysis, analyse_audio, quality_metrics
from studio.engine.analysis.sections import arrangement_summary, section_metrics
from studio.engine.composition.composer import compose
from studio.engine.dsp.mastering import TRUE_PEAK_CEILING_DBTP
from studio.engine.io.export import TrackMetadata, export_track
from studio.engine.pipeline.render import RenderedTrack, render_score
from studio.engine.composition.score import Score
from studio.engine.instruments.soundfont import SoundFont, load_soundfont
from studio.engine.composition.spec import MAX_DURATION_S, GenerationSpec, ResolvedSpec, resolve_spec

log = logging.getLogger(__name__)

STAGES = ("composing", "rendering", "mixing", "mastering", "analysing", "exporting")
# Share of the progress bar per stage, from measured CPU timings of a 60-180 s track.
STAGE_WEIGHTS = {"composing": 0.02, "rendering": 0.43, "mixing": 0.25, "mastering": 0.08,
                 "analysing": 0.14, "exporting": 0.08}
# render_score reports its own stages as fractions of its call; these are their starts.
_RENDER_STAGE_AT = {"rendering": 0.0, "mixing": 0.6, "mastering": 0.8}
TAG_TOP_K = 10

ProgressFn = Callable[[float, str], None]


class Cancelled(Exception):
    """The job's cancel flag was set; nothing was written."""


@dataclass
class GenerationResult:
    spec: ResolvedSpec
    score: Score
    track: RenderedTrack
    analysis: AudioAnalysis
    quality: dict[str, float]
    tags: list[tuple[str, float]] = field(default_factory=list)  # musicnn top tags, best first
    tagger_model: str | None = None
    files: dict = field(default_factory=dict)  # export_track's result, plus "score"
    timings_s: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    section_analysis: list[dict] = field(default_factory=list)  # analysis.sections.section_metrics, per section

    @property
    def duration_s(self) -> float:
        return self.track.mix.shape[-1] / self.track.sample_rate_hz

    def summary(self) -> dict:
        """JSON-ready description: spec, analysis against the request, quality, files, timings."""
        est = self.analysis
        return {
            "resolved_spec": self.spec.model_dump(mode="json"),
            "duration_s": round(self.duration_s, 3),
            "sample_rate_hz": self.track.sample_rate_hz,
            "sections": [{"label": s.label, "bars": s.bars, "start_s": round(s.start_s, 3), "energy": round(s.energy, 2),
                          **measured} for s, measured in zip(self.score.sections, self.section_analysis or
                                                             [{}] * len(self.score.sections))],
            "arrangement": arrangement_summary(self.section_analysis),
            "stems": self.track.stem_names,
            "analysis": est.to_dict(),
            "requested_vs_estimated": {
                "tempo_bpm": [self.spec.tempo_bpm, est.tempo.bpm],
                "key": [self.spec.key, est.key.key],
            },
            "master": {k: v for k, v in self.track.master_report.items() if k != "warnings"},
            "quality_metrics": self.quality,
            "tags": [{"tag": t, "probability": round(p, 4)} for t, p in self.tags],
            "tagger_model": self.tagger_model,
            "files": _paths_as_text(self.files),
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()},
            "device": self.device,
        }


def _paths_as_text(files):
    if isinstance(files, dict):
        return {k: _paths_as_text(v) for k, v in files.items()}
    return str(files)


class _Progress:
    """Maps stage-local fractions onto one 0..1 bar and checks the cancel flag."""

    def __init__(self, progress: ProgressFn | None, cancel: threading.Event | Callable[[], bool] | None,
                 stages: tuple[str, ...]):
        self._report = progress
        self._cancel = cancel
        total = sum(STAGE_WEIGHTS[s] for s in stages)
        self._start: dict[str, float] = {}
        at = 0.0
        for stage in stages:
            self._start[stage] = at / total
            at += STAGE_WEIGHTS[stage]
        self._weight = {s: STAGE_WEIGHTS[s] / total for s in stages}
        self.last = 0.0

    def check(self) -> None:
        cancel = self._cancel
        if cancel is None:
            return
        if (cancel.is_set() if isinstance(cancel, threading.Event) else cancel()):
            raise Cancelled("cancelled")

    def stage(self, stage: str, within: float = 0.0) -> None:
        self.check()
        fraction = self._start[stage] + self._weight[stage] * min(max(within, 0.0), 1.0)
        self.last = max(self.last, fraction)  # never moves backwards
        if self._report is not None:
            self._report(round(self.last, 4), stage)

    def render_callback(self, fraction: float, stage: str) -> None:
        """render_score's own fractions (0 rendering, 0.6 mixing, 0.8 mastering)."""
        starts = sorted(_RENDER_STAGE_AT.items(), key=lambda kv: kv[1])
        ends = {name: (starts[i + 1][1] if i + 1 < len(starts) else 1.0) for i, (name, _) in enumerate(starts)}
        begin = _RENDER_STAGE_AT.get(stage, 0.0)
        span = max(ends.get(stage, 1.0) - begin, 1e-9)
        self.stage(stage if stage in self._start else "rendering", (fraction - begin) / span)

    def done(self) -> None:
        if self._report is not None:
            self._report(1.0, "completed")


def _resolve(spec: GenerationSpec | ResolvedSpec) -> ResolvedSpec:
    return spec if isinstance(spec, ResolvedSpec) else resolve_spec(spec)


def _device(device: str | torch.device) -> torch.device:
    if isinstance(device, torch.device):
        return device
    from studio.engine.device import torch_device

    return torch_device(device)


def generate(
    spec: GenerationSpec | ResolvedSpec,
    *,
    out_dir: str | Path | None = None,
    basename: str = "track",
    soundfont: SoundFont | str | Path | None = None,
    device: str | torch.device = "auto",
    progress: ProgressFn | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
    tag: bool = True,
    artist: str = "Studio",
) -> GenerationResult:
    """Compose, render, master, analyse and (with `out_dir`) export one track."""
    resolved = _resolve(spec)
    steps = _Progress(progress, cancel, STAGES if out_dir is not None else STAGES[:-1])
    timings: dict[str, float] = {}
    steps.stage("composing")
    started = time.perf_counter()
    score = compose(resolved)
    timings["compose_s"] = time.perf_counter() - started
    return _finish(score, resolved, steps, timings, out_dir=out_dir, basename=basename, soundfont=soundfont,
                   device=device, tag=tag, artist=artist)


def extend(
    previous: Score,
    additional_duration_s: float,
    *,
    seed: int | None = None,
    out_dir: str | Path | None = None,
    basename: str = "track",
    soundfont: SoundFont | str | Path | None = None,
    device: str | torch.device = "auto",
    progress: ProgressFn | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
    tag: bool = True,
    artist: str = "Studio",
) -> GenerationResult:
    """Continue `previous` by `additional_duration_s` in its key, tempo and style.

    Every section before the old outro is kept note for note; new sections follow and a new
    outro ends the track. The whole track is rendered and mastered again as one piece, so the
    join has no click and no loudness step (the old part's audio is the same up to the master's
    gain, which is re-measured over the longer track).
    """
    if not 1.0 <= additional_duration_s <= MAX_DURATION_S:
        raise ValueError(f"additional_duration_s must be between 1 and {MAX_DURATION_S:g} seconds")
    old = previous.spec
    total = old.duration_s + additional_duration_s
    if total > MAX_DURATION_S:
        raise ValueError(f"the extended track would last {total:g} s; the longest track is {MAX_DURATION_S:g} s "
                         f"(at most {MAX_DURATION_S - old.duration_s:g} s more for this one)")
    sources = {**old.sources, "duration_s": f"extended by {additional_duration_s:g} s"}
    resolved = old.model_copy(update={"duration_s": total, "seed": old.seed if seed is None else seed, "sources": sources})
    steps = _Progress(progress, cancel, STAGES if out_dir is not None else STAGES[:-1])
    timings: dict[str, float] = {}
    steps.stage("composing")
    started = time.perf_counter()
    score = compose(resolved, continue_from=previous)
    timings["compose_s"] = time.perf_counter() - started
    return _finish(score, resolved, steps, timings, out_dir=out_dir, basename=basename, soundfont=soundfont,
                   device=device, tag=tag, artist=artist)


def _finish(score: Score, resolved: ResolvedSpec, steps: _Progress, timings: dict[str, float], *, out_dir,
            basename: str, soundfont, device, tag: bool, artist: str) -> GenerationResult:
    dev = _device(device)
    sf = soundfont if isinstance(soundfont, SoundFont) else load_soundfont(soundfont)
    steps.stage("rendering")
    export_stems = out_dir is not None and "stems" in resolved.output_formats
    track = render_score(score, sf, device=dev, sample_rate_hz=resolved.sample_rate_hz,
                         progress=steps.render_callback, check_cancelled=steps.check, stems=export_stems)
    timings.update(track.timings_s)

    steps.stage("analysing")
    started = time.perf_counter()
    analysis = analyse_audio(track.mix, track.sample_rate_hz)
    quality = quality_metrics(score, track.mix, track.sample_rate_hz, analysis)
    sections = section_metrics(track.mix, track.sample_rate_hz, score.sections)
    tags: list[tuple[str, float]] = []
    tagger_model = None
    if tag:
        steps.stage("analysing", 0.5)
        try:
            from studio.engine.analysis.tagger import load_tagger

            tagger = load_tagger("MSD_musicnn", dev)
            tags = tagger.tag(track.mix, track.sample_rate_hz).top(TAG_TOP_K)
            tagger_model = tagger.version
        except FileNotFoundError as exc:  # model file missing from resources: tags are optional
            log.warning("no genre/mood tags: %s", exc)
    timings["analyse_s"] = time.perf_counter() - started

    files: dict = {}
    if out_dir is not None:
        steps.stage("exporting")
        started = time.perf_counter()
        out = Path(out_dir)
        metadata = TrackMetadata(title=resolved.title, artist=artist, genre=resolved.genre, tempo_bpm=resolved.tempo_bpm,
                                 key=resolved.key, comment=f"Studio {resolved.style_name}, seed {resolved.seed}")
        # Stems only when exported: made on demand, they cost a reverb return per stem.
        files = export_track(out, basename, score, track.mix, track.stems if export_stems else {}, track.sample_rate_hz,
                             resolved.output_formats, bit_depth=resolved.bit_depth, metadata=metadata,
                             true_peak_ceiling_dbtp=TRUE_PEAK_CEILING_DBTP)
        files["score"] = save_score(score, out / f"{basename}_score.json")
        timings["export_s"] = time.perf_counter() - started
    steps.done()
    return GenerationResult(spec=resolved, score=score, track=track, analysis=analysis, quality=quality, tags=tags,
                            tagger_model=tagger_model, files=files, timings_s=timings, device=str(dev),
                            section_analysis=sections)


def save_score(score: Score, path: str | Path) -> Path:
    """Write the score as JSON (atomically: a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(score.to_dict(), separators=(",", ":")))
    tmp.replace(path)
    return path


def load_score(path: str | Path) -> Score:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read the score {path}: {exc}") from exc
    return Score.from_dict(data)


__all__ = ["STAGES", "Cancelled", "GenerationResult", "extend", "generate", "load_score", "save_score"]
