"""Voice matching: fit a base voice's transform (pitch, intonation range, formants) to a
speaker's recordings, and measure how close the result is.

This matches pitch and timbre; it is not a neural voice clone. The studio says so wherever it
shows a matched voice.

1. `check_sample` validates one upload (format, length, sample rate, silence, clipping).
2. `fit_voice` reads the samples and measures the speaker: median F0 and its spread (WORLD
   harvest), and the average spectral envelope on a log-frequency grid. It speaks a reference
   text with the base voice, measures it the same way, and sets
     pitch_semitones = 12 log2(speaker median F0 / base median F0)
     pitch_range     = speaker F0 spread / base F0 spread
     formant_shift   = the envelope warp that best maps the base's envelope onto the speaker's,
   then tries a few formant shifts around that estimate and keeps the one whose speech is
   closest to the speaker by speaker embedding (studio/engine/analysis/speaker.py). Similarity of the
   speaker to the base voice (before) and to the fitted voice (after) is reported.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from studio.engine.instruments import voice as voice_engine
MIN_TOTAL_S = 3.0
MAX_TOTAL_S = 600.0
MIN_SAMPLE_S = 0.5
MIN_SAMPLE_RATE_HZ = 8000
SILENT_RMS_DBFS = -55.0
CLIPPED_WARN_FRACTION = 0.001
ANALYSIS_RATE_HZ = 22050
PITCH_FLOOR_HZ = 70.0
PITCH_CEIL_HZ = 800.0
MAX_ANALYSED_S = 60.0  # longer uploads are analysed on their first minute (pitch and timbre settle by then)
# Candidates around the statistics' estimates, judged by speaker embedding.
PITCH_CANDIDATES_ST = (-2.5, 0.0, 2.5)
FORMANT_CANDIDATES = (0.95, 1.05)
SEARCH_TEXT = "Hello there, and welcome. Let me tell you about the music I make at night."
# What the base voice says to be measured: several sentences of varied prosody (~20 s), so its
# pitch statistics do not hang on one phrase.
REFERENCE_TEXT = ("The quick brown fox jumps over the lazy dog. I love making music late at night, when the city "
                  "is quiet and every sound has room to breathe. Thank you for listening, and see you soon. "
                  "Have you ever wondered why some songs stay with you for years? It might be the melody, or "
                  "maybe the memories that come with it. Either way, today we are going to find out together.")
# The sentence the studio's checks have every character say (tests, benchmarks/voice.py).
CHARACTERS_CHECK_TEXT = "Hello, and welcome back to the studio. Tonight I have something new for you."
FORMATS = {".wav": ("wav", "audio/wav"), ".wave": ("wav", "audio/wav"), ".flac": ("flac", "audio/flac"),
           ".ogg": ("ogg", "audio/ogg"), ".oga": ("ogg", "audio/ogg"), ".mp3": ("mp3", "audio/mpeg")}
SUPPORTED_TEXT = "WAV, FLAC, OGG or MP3"


def check_sample(data: bytes, filename: str | None) -> dict[str, Any]:
    """Facts about one uploaded recording; ValueError naming the problem when it cannot be used."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"unsupported file type '{suffix or 'none'}'; send {SUPPORTED_TEXT}")
    if not data:
        raise ValueError("the file is empty")
    try:
        audio, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile's errors vary by format
        raise ValueError(f"not a readable {FORMATS[suffix][0].upper()} file ({exc})") from None
    duration_s = audio.shape[0] / rate if rate else 0.0
    if rate < MIN_SAMPLE_RATE_HZ:
        raise ValueError(f"sample rate {rate} Hz is too low; record at {MIN_SAMPLE_RATE_HZ} Hz or more")
    if duration_s < MIN_SAMPLE_S:
        raise ValueError(f"only {duration_s:.2f} s long; each sample needs at least {MIN_SAMPLE_S:g} s of speech")
    mono = audio.mean(axis=1)
    rms_dbfs = 20 * math.log10(float(np.sqrt(np.mean(mono.astype(np.float64) ** 2))) + 1e-12)
    if rms_dbfs < SILENT_RMS_DBFS:
        raise ValueError(f"the recording is silent ({rms_dbfs:.0f} dBFS)")
    clipped = float(np.mean(np.abs(audio) >= 0.999))
    warnings = []
    if clipped > CLIPPED_WARN_FRACTION:
        warnings.append(f"{filename}: {clipped:.1%} of the samples are clipped; a cleaner recording matches better")
    fmt, mime = FORMATS[suffix]
    return {"duration_s": round(duration_s, 3), "sample_rate_hz": int(rate), "channels": int(audio.shape[1]),
            "extension": fmt, "mime_type": mime, "rms_dbfs": round(rms_dbfs, 1),
            "clipped_fraction": round(clipped, 5), "warnings": warnings}


def _load(paths: list[Path]) -> np.ndarray:
    """The samples as one mono float32 signal at ANALYSIS_RATE_HZ, 0.25 s of silence between them."""
    from studio.engine.pipeline.voiceover import resample_linear

    parts: list[np.ndarray] = []
    gap = np.zeros(int(0.25 * ANALYSIS_RATE_HZ), dtype=np.float32)
    total = 0
    for path in paths:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
        mono = resample_linear(audio.mean(axis=1), rate, ANALYSIS_RATE_HZ)
        peak = float(np.abs(mono).max()) or 1.0
        parts += [mono / peak * 0.9, gap]
        total += mono.shape[0]
        if total >= MAX_ANALYSED_S * ANALYSIS_RATE_HZ:
            break
    return np.concatenate(parts)[: int(MAX_ANALYSED_S * ANALYSIS_RATE_HZ)]


def pitch_profile(audio: np.ndarray, rate_hz: int) -> dict[str, float]:
    """F0 statistics for matching: median_hz and spread_semitones (interquartile range / 1.349,
    a standard deviation robust to octave slips) over voiced, audible frames. WORLD's harvest at
    16 kHz: slower than the synthesis-side tracker but stable across texts (two different
    paragraphs of the base voice agree within 0.3 semitones), which matching needs."""
    import pyworld

    from studio.engine.pipeline.voiceover import resample_linear

    x = resample_linear(np.asarray(audio, dtype=np.float32), int(rate_hz), 16000).astype(np.float64)
    f0, times = pyworld.harvest(x, 16000, f0_floor=PITCH_FLOOR_HZ, f0_ceil=PITCH_CEIL_HZ, frame_period=10.0)
    half = 200  # 25 ms RMS window around each frame
    power = np.concatenate([[0.0], np.cumsum(x ** 2)])
    centres = np.clip(np.round(times * 16000).astype(np.intp), 0, len(x))
    lo, hi = np.clip(centres - half, 0, len(x)), np.clip(centres + half, 0, len(x))
    level = 10 * np.log10(np.maximum((power[hi] - power[lo]) / np.maximum(hi - lo, 1), 1e-20))
    voiced = (f0 > 0) & (level > level.max() - 40.0)
    if voiced.sum() < 20:
        return {"median_hz": 0.0, "spread_semitones": 0.0, "voiced_frames": int(voiced.sum())}
    semitones = 12 * np.log2(f0[voiced])
    q25, q75 = np.percentile(semitones, [25, 75])
    return {"median_hz": float(np.median(f0[voiced])), "spread_semitones": float((q75 - q25) / 1.349),
            "voiced_frames": int(voiced.sum())}


def _similarity(target: np.ndarray, candidate: np.ndarray, rate: int) -> float | None:
    try:
        from studio.engine.analysis.speaker import speaker_similarity
    except ImportError:
        return None
    try:
        return round(float(speaker_similarity(target, ANALYSIS_RATE_HZ, candidate, rate)), 4)
    except FileNotFoundError:  # the encoder's weights are missing: fit without the check
        return None
    except ValueError:  # too little speech left after silence trimming to embed
        return None


@lru_cache(maxsize=4)
def _base_reference(base_voice: str = voice_engine.DEFAULT_VOICE_ID) -> tuple[np.ndarray, int, dict[str, float], np.ndarray]:
    """The base voice speaking REFERENCE_TEXT: (audio, rate, pitch profile, envelope profile).
    Deterministic, so measured once per process and base voice."""
    base, rate = voice_engine.synthesize(REFERENCE_TEXT, deterministic=True, voice=voice_engine.voice_for(base_voice))
    _grid, envelope = voice_engine.envelope_profile(base, rate)
    return base, rate, pitch_profile(base, rate), envelope


@lru_cache(maxsize=4)
def _search_reference(base_voice: str = voice_engine.DEFAULT_VOICE_ID) -> tuple[np.ndarray, int]:
    """A short phrase of the base voice that candidate transforms are rendered on and compared."""
    return voice_engine.synthesize(SEARCH_TEXT, deterministic=True, voice=voice_engine.voice_for(base_voice))


def fit_voice(paths: list[Path], *, base_voice: str | None = None,
              progress: Callable[[float, str], None] | None = None) -> dict[str, Any]:
    """{"transform": {pitch_semitones, formant_shift, pitch_range}, "profile": {...measured...}}:
    the transform of ``base_voice`` (a `voice.BUILTIN_VOICES` id or a Piper .onnx path; the male
    default when None) that sounds closest to the speaker."""
    base_voice = base_voice or voice_engine.DEFAULT_VOICE_ID
    report = progress or (lambda fraction, stage: None)
    report(0.02, "reading the samples")
    target = _load(paths)
    report(0.1, "measuring the speaker")
    target_pitch = pitch_profile(target, ANALYSIS_RATE_HZ)
    if target_pitch["median_hz"] <= 0:
        raise ValueError("no voiced speech found in the samples: record someone speaking, not music or noise")
    grid, target_env = voice_engine.envelope_profile(target, ANALYSIS_RATE_HZ)

    report(0.25, "measuring the base voice")
    _base, _base_rate, base_pitch, base_env = _base_reference(base_voice)
    pitch_estimate = float(np.clip(12 * math.log2(target_pitch["median_hz"] / base_pitch["median_hz"]), -24, 24))
    pitch_range = float(np.clip(target_pitch["spread_semitones"] / max(base_pitch["spread_semitones"], 1e-3), 0.5, 2.0))
    formant_estimate = float(np.clip(voice_engine.estimate_formant_shift(base_env, target_env, grid), 0.7, 1.45))

    # Statistics alone are off by a few semitones on some voices (F0 trackers slip octaves on
    # creaky or breathy frames), so the final choice is the candidate the speaker encoder finds
    # closest to the speaker.
    report(0.35, "fitting the voice")
    search, search_rate = _search_reference(base_voice)
    before = _similarity(target, search, search_rate)
    grid_points = [(pitch_estimate + dp, float(np.clip(formant_estimate * df, 0.6, 1.6)))
                   for dp in PITCH_CANDIDATES_ST for df in FORMANT_CANDIDATES]
    scored = []
    for i, (pitch, formant) in enumerate(grid_points):
        fitted = voice_engine.transform_voice(search, search_rate, pitch_semitones=float(np.clip(pitch, -24, 24)),
                                              pitch_range=pitch_range, formant_shift=formant)
        scored.append((_similarity(target, fitted, search_rate), pitch, formant))
        report(0.35 + 0.6 * (i + 1) / len(grid_points), "fitting the voice")
    judged = [c for c in scored if c[0] is not None]
    if judged:
        similarity_after, pitch_semitones, formant_shift = max(judged, key=lambda c: c[0])
    else:  # no speaker encoder: the statistics' estimate
        similarity_after, pitch_semitones, formant_shift = None, pitch_estimate, formant_estimate
    report(1.0, "done")
    return {
        "transform": {"pitch_semitones": round(float(np.clip(pitch_semitones, -24, 24)), 2),
                      "formant_shift": round(formant_shift, 3), "pitch_range": round(pitch_range, 3)},
        "profile": {
            "speaker_pitch": {k: round(v, 3) for k, v in target_pitch.items()},
            "base_pitch": {k: round(v, 3) for k, v in base_pitch.items()},
            "pitch_estimate_semitones": round(pitch_estimate, 2), "formant_estimate": round(formant_estimate, 3),
            "candidates": [{"pitch_semitones": round(p, 2), "formant_shift": round(f, 3), "similarity": sim}
                           for sim, p, f in scored],
            "similarity_before": before, "similarity_after": similarity_after,
            "similarity_model": "GE2E speaker encoder (Resemblyzer weights)" if before is not None else None,
            "analysed_s": round(target.shape[0] / ANALYSIS_RATE_HZ, 2),
            "base_voice": base_voice if base_voice in voice_engine.BUILTIN_VOICES else Path(base_voice).name,
            "method": "pitch, intonation range and formant transform of the base voice; not a neural clone",
        },
    }
