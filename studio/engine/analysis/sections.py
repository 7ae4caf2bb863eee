"""How a track develops: loudness and spectrum measured per section of its form.

A song whose sections all measure alike (same loudness, same spectral balance) sounds static
however its form is labelled; `section_metrics` measures each section of the rendered audio and
`arrangement_summary` says how far apart they are (the spread a listener hears as development)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from studio.engine.analysis.features import BAND_NAMES, _downmix, _spectral_stats
from studio.engine.dsp.mastering import measure_loudness_lufs

# Below these a track reads as one texture from start to end (see `arrangement_summary`).
STATIC_LOUDNESS_SPREAD_DB = 2.0
STATIC_CENTROID_SPREAD_PCT = 10.0
STATIC_BAND_DISTANCE = 0.05
HOOKS = ("chorus", "drop")
FRAMES = ("intro", "outro")


class SectionLike(Protocol):
    name: str
    label: str
    start_s: float
    end_s: float


def _finite(value: float, digits: int = 2) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def section_metrics(audio: Tensor, sample_rate_hz: int, sections: Sequence[SectionLike]) -> list[dict]:
    """Per section: integrated loudness (BS.1770, LUFS; None for silence), RMS level (dBFS),
    spectral centroid (Hz) and the share of power in each band of `features.BAND_NAMES`."""
    x = audio if audio.dim() > 1 else audio.unsqueeze(0)
    frames = x.shape[-1]
    out = []
    with torch.no_grad():
        for section in sections:
            a = max(0, min(frames, int(round(section.start_s * sample_rate_hz))))
            b = max(a, min(frames, int(round(section.end_s * sample_rate_hz))))
            part = x[..., a:b]
            entry = {"name": section.name, "label": section.label, "start_s": round(section.start_s, 3),
                     "end_s": round(section.end_s, 3), "loudness_lufs": None, "rms_dbfs": None, "centroid_hz": None,
                     "band_energy": {name: 0.0 for name in BAND_NAMES}}
            if b - a >= int(0.4 * sample_rate_hz):  # one BS.1770 gating block at least
                mean_square = float(part.to(torch.float64).square().mean())
                centroid, _, _, bands = _spectral_stats(_downmix(part), sample_rate_hz)
                entry.update(loudness_lufs=_finite(float(measure_loudness_lufs(part, sample_rate_hz))),
                             rms_dbfs=_finite(10.0 * math.log10(mean_square)) if mean_square > 0 else None,
                             centroid_hz=round(centroid, 1), band_energy=bands)
            out.append(entry)
    return out


def arrangement_summary(sections: list[dict]) -> dict:
    """How far apart the sections are: loudness spread (loudest minus quietest section, LU),
    spectral centroid spread (percent of the mean), the largest band-balance distance between two
    sections (half the L1 distance of their band shares: 0 alike .. 1 disjoint), and `static`:
    true when all three stay under the thresholds a listener would call one texture. Inside the
    song (intro and outro aside): `body_loudness_spread_db`, and `hook_lift_db`, how much louder
    the choruses/drops are than the verses, builds and bridges (null without both)."""
    measured = [s for s in sections if s["loudness_lufs"] is not None and s["centroid_hz"]]
    if len(measured) < 2:
        return {"sections_measured": len(measured), "loudness_spread_db": 0.0, "centroid_spread_pct": 0.0,
                "band_distance_max": 0.0, "body_loudness_spread_db": 0.0, "hook_lift_db": None, "static": True}
    body = [s["loudness_lufs"] for s in measured if s["name"] not in FRAMES]
    hooks = [s["loudness_lufs"] for s in measured if s["name"] in HOOKS]
    rest = [s["loudness_lufs"] for s in measured if s["name"] not in HOOKS + FRAMES]
    lift = round(float(np.mean(hooks) - np.mean(rest)), 2) if hooks and rest else None
    loudness = np.array([s["loudness_lufs"] for s in measured])
    centroid = np.array([s["centroid_hz"] for s in measured])
    bands = np.array([[s["band_energy"][name] for name in BAND_NAMES] for s in measured])
    distance = 0.5 * np.abs(bands[:, None, :] - bands[None, :, :]).sum(-1)
    loudness_spread = float(loudness.max() - loudness.min())
    centroid_spread = float((centroid.max() - centroid.min()) / centroid.mean() * 100.0)
    band_distance = float(distance.max())
    return {"sections_measured": len(measured), "loudness_spread_db": round(loudness_spread, 2),
            "centroid_spread_pct": round(centroid_spread, 1), "band_distance_max": round(band_distance, 3),
            "body_loudness_spread_db": round(float(max(body) - min(body)), 2) if body else 0.0, "hook_lift_db": lift,
            "static": bool(loudness_spread < STATIC_LOUDNESS_SPREAD_DB and centroid_spread < STATIC_CENTROID_SPREAD_PCT
                           and band_distance < STATIC_BAND_DISTANCE)}
