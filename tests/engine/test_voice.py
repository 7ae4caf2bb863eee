"""Voice engine: real Piper synthesis with the joe voice, WORLD transforms, measurements.

Sentences are short to keep the file fast (a few seconds of audio each). Piper draws its noise
inside the ONNX graph without a per-call seed, so tests that compare two renderings use
``deterministic=True`` (noise scales 0), which gives identical audio call after call; the
default, noisy rendering is only checked for properties that hold whatever the noise.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from studio.engine.instruments import voice as V
from studio.engine.instruments.voice import (
    MAX_TEXT_CHARS,
    VoiceModelMissing,
    VoiceSettings,
    emotion_names,
    envelope_profile,
    estimate_formant_shift,
    load_voice,
    normalize_text,
    pitch_stats,
    speak,
    spectral_envelope_centroid,
    synthesize,
    transform_voice,
)

SENTENCE = "Hello and welcome to the late night session."  # 8 words


@pytest.fixture(scope="module")
def voice():
    return load_voice()


@pytest.fixture(scope="module")
def base(voice):
    """A deterministic rendering of SENTENCE: (audio, sample rate)."""
    return synthesize(SENTENCE, voice=voice, deterministic=True)


def _semitones(a_hz: float, b_hz: float) -> float:
    return 12.0 * math.log2(a_hz / b_hz)


# ---------------------------------------------------------------------------------------------
# synthesis


def test_synthesis_is_speech_of_plausible_length(voice):
    audio, sr = synthesize(SENTENCE, voice=voice)
    assert sr == 22050
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert np.isfinite(audio).all()
    assert np.max(np.abs(audio)) == pytest.approx(V.OUTPUT_PEAK, abs=1e-3)
    assert float(np.sqrt(np.mean(audio**2))) > 0.03  # speech, not silence or a click
    words = len(SENTENCE.split())
    duration_s = len(audio) / sr
    assert 0.15 * words < duration_s < 0.8 * words + 0.5  # 75-400 words a minute
    stats = pitch_stats(audio, sr)
    assert 60 < stats["median_hz"] < 180  # a male voice
    assert stats["voiced_fraction"] > 0.3


def test_load_voice_is_cached_and_missing_models_say_where(tmp_path):
    assert load_voice() is load_voice()
    missing = tmp_path / "nobody.onnx"
    with pytest.raises(VoiceModelMissing, match="nobody.onnx"):
        load_voice(missing)
    missing.write_bytes(b"not a model")  # the config beside it is still missing
    with pytest.raises(VoiceModelMissing, match="config"):
        load_voice(missing)


def test_faster_speed_is_shorter(voice, base):
    audio, sr = base
    fast, _ = synthesize(SENTENCE, voice=voice, speed=1.5, deterministic=True)
    assert 0.55 < len(fast) / len(audio) < 0.8  # length_scale / 1.5, pauses included


def test_deterministic_synthesis_repeats_exactly(voice, base):
    again, _ = synthesize(SENTENCE, voice=voice, deterministic=True)
    np.testing.assert_array_equal(again, base[0])


def test_noisy_synthesis_varies_only_a_little(voice, base):
    # Piper's noise is unseeded: two default renderings differ, but not in length much.
    first, _ = synthesize(SENTENCE, voice=voice)
    second, _ = synthesize(SENTENCE, voice=voice)
    assert 0.75 < len(first) / len(second) < 1.33
    assert 0.75 < len(first) / len(base[0]) < 1.33


def test_emotions_change_delivery(voice):
    assert {"neutral", "happy", "excited", "calm", "sad", "serious"} <= set(emotion_names())
    excited, sr = synthesize(SENTENCE, voice=voice, emotion="excited", deterministic=True)
    sad, _ = synthesize(SENTENCE, voice=voice, emotion="sad", deterministic=True)
    assert len(excited) < 0.95 * len(sad)  # length_scale 0.88 vs 1.2 (pauses scale less)
    assert pitch_stats(excited, sr)["median_hz"] > pitch_stats(sad, sr)["median_hz"]


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_is_rejected(voice, text):
    with pytest.raises(ValueError, match="empty"):
        synthesize(text, voice=voice)


def test_text_over_the_limit_is_rejected_naming_it(voice):
    with pytest.raises(ValueError, match=str(MAX_TEXT_CHARS)):
        synthesize("la " * (MAX_TEXT_CHARS // 3 + 10), voice=voice)


def test_bad_settings_are_rejected(voice):
    with pytest.raises(ValueError, match="emotion"):
        synthesize("Hi.", voice=voice, emotion="furious-ish")
    with pytest.raises(ValueError, match="speed"):
        synthesize("Hi.", voice=voice, speed=0)
    with pytest.raises(ValueError, match="formant_shift"):
        VoiceSettings(formant_shift=3.0)
    with pytest.raises(ValueError, match="audio must be mono"):
        transform_voice(np.zeros((2, 1000), np.float32), 22050, pitch_semitones=1)


def test_text_with_only_symbols_has_nothing_to_speak(voice):
    with pytest.raises(ValueError, match="nothing to speak"):
        synthesize("🔥 🔥", voice=voice)


@pytest.mark.parametrize("text, spoken", [
    ("$20 and $1.50", "20 dollars and 1 dollar and 50 cents"),
    ("the 1990s and the '80s", "the nineteen nineties and the eighties"),
    ("10-20 minutes", "10 to 20 minutes"),
    ("on 2024-05-01", "on May 1st, 2024"),
    ("100k views, 2.5M streams", "100 thousand views, 2.5 million streams"),
    ("Dr. Kai vs. Mr. Jones feat. Zara", "Doctor Kai versus Mister Jones featuring Zara"),
    ("It hit No. 1. No. Really.", "It hit number 1. No. Really."),
    ("Wait... what -- now", "Wait, what, now"),
    ("fire 🔥 track at 20°", "fire track at 20°"),
    ("cut 3 dB at 440Hz", "cut 3 decibels at 440 hertz"),
    ("see https://www.example.com", "see example.com"),
    ("I have 3 tracks", "I have 3 tracks"),  # espeak-ng reads digits itself
])
def test_normalize_text(text, spoken):
    assert normalize_text(text) == spoken


# ---------------------------------------------------------------------------------------------
# WORLD transforms


def test_neutral_transform_returns_the_input(base):
    audio, sr = base
    np.testing.assert_array_equal(transform_voice(audio, sr), audio)


@pytest.mark.parametrize("semitones", [5.0, -4.0])
def test_pitch_shift_moves_median_f0(base, semitones):
    audio, sr = base
    shifted = transform_voice(audio, sr, pitch_semitones=semitones)
    before, after = pitch_stats(audio, sr), pitch_stats(shifted, sr)
    assert _semitones(after["median_hz"], before["median_hz"]) == pytest.approx(semitones, abs=1.0)
    assert len(shifted) == pytest.approx(len(audio), abs=sr * 0.01)  # no change of length


def test_pitch_range_scales_intonation(base):
    audio, sr = base
    flat = pitch_stats(transform_voice(audio, sr, pitch_range=0.3), sr)["std_semitones"]
    lively = pitch_stats(transform_voice(audio, sr, pitch_range=1.8), sr)["std_semitones"]
    assert flat < pitch_stats(audio, sr)["std_semitones"] < lively


def test_formant_shift_moves_the_spectral_envelope(base):
    audio, sr = base
    centroid = spectral_envelope_centroid(audio, sr)
    up = spectral_envelope_centroid(transform_voice(audio, sr, formant_shift=1.2), sr)
    down = spectral_envelope_centroid(transform_voice(audio, sr, formant_shift=0.85), sr)
    assert down < 0.97 * centroid and up > 1.05 * centroid


def test_formant_shift_is_recovered_from_envelope_profiles(base):
    audio, sr = base
    freqs, source = envelope_profile(audio, sr)
    _, target = envelope_profile(transform_voice(audio, sr, formant_shift=1.2), sr)
    assert estimate_formant_shift(source, target, freqs) == pytest.approx(1.2, abs=0.05)


def _vowel(f0_hz: float, sr: int, duration_s: float = 2.0) -> np.ndarray:
    """A steady voiced tone: harmonics of f0_hz under a two-formant envelope, slight vibrato."""
    t = np.arange(int(duration_s * sr)) / sr
    phase = 2 * np.pi * np.cumsum(f0_hz * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))) / sr
    out = np.zeros_like(t)
    for k in range(1, int(5000 / f0_hz)):
        f = k * f0_hz
        gain = np.exp(-((f - 700) / 250) ** 2) + 0.5 * np.exp(-((f - 1200) / 300) ** 2) + 0.05
        out += gain * np.sin(k * phase) / k
    return (0.5 * out / np.max(np.abs(out))).astype(np.float32)


@pytest.mark.parametrize("sr", [16000, 22050])
def test_transforms_on_a_clean_voiced_tone(sr):
    # Piper's joe voice is creaky and hard to track; a clean tone checks the arithmetic exactly.
    tone = _vowel(140.0, sr)
    assert pitch_stats(tone, sr)["median_hz"] == pytest.approx(140.0, rel=0.01)
    up = transform_voice(tone, sr, pitch_semitones=7.0)
    assert _semitones(pitch_stats(up, sr)["median_hz"], 140.0) == pytest.approx(7.0, abs=0.2)
    fast = transform_voice(tone, sr, speed=1.5)
    assert len(fast) / len(tone) == pytest.approx(1 / 1.5, abs=0.01)
    assert pitch_stats(fast, sr)["median_hz"] == pytest.approx(140.0, rel=0.02)
    bright = transform_voice(tone, sr, formant_shift=1.25)
    assert spectral_envelope_centroid(bright, sr) > 1.1 * spectral_envelope_centroid(tone, sr)
    assert pitch_stats(bright, sr)["median_hz"] == pytest.approx(140.0, rel=0.02)


def test_time_stretch_of_speech(base):
    audio, sr = base
    fast = transform_voice(audio, sr, speed=1.5)
    assert len(fast) / len(audio) == pytest.approx(1 / 1.5, abs=0.02)
    assert float(np.sqrt(np.mean(fast**2))) > 0.03


def test_speak_applies_character_settings():
    settings = VoiceSettings(pitch_semitones=10.0, formant_shift=1.15, emotion="calm")
    audio, sr = speak("Hi, I am Luna.", settings, deterministic=True)
    plain, _ = speak("Hi, I am Luna.", VoiceSettings(emotion="calm"), deterministic=True)
    assert audio.dtype == np.float32 and np.max(np.abs(audio)) == pytest.approx(V.OUTPUT_PEAK, abs=1e-3)
    # Clearly higher; the exact shift is checked in test_pitch_shift_moves_median_f0 (short
    # creaky phrases make a median of a few hundred frames jump between registers).
    assert _semitones(pitch_stats(audio, sr)["median_hz"], pitch_stats(plain, sr)["median_hz"]) > 6.0
    assert spectral_envelope_centroid(audio, sr) > spectral_envelope_centroid(plain, sr)
    with pytest.raises(VoiceModelMissing):
        speak("Hi.", VoiceSettings(base_voice="no_such_voice"))
