"""Base voices: the built-in male Piper voice and the built-in female hibari voice speak, sing
and are measured as different speakers; each default character still sounds like itself."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from studio.engine.analysis.speaker import embed, similarity
from studio.engine.composition.score import LyricLine, Syllable
from studio.engine.instruments import singing as S
from studio.engine.instruments import voice as V
from studio.engine.instruments.voice_match import CHARACTERS_CHECK_TEXT
from studio.services.voices import CHARACTERS_FILE

OTHER_TEXT = "The rain keeps falling on the quiet streets, and I keep writing songs about it."


@pytest.fixture(scope="module")
def spoken():
    """Each base voice saying the check sentence (deterministic)."""
    return {voice_id: V.synthesize(CHARACTERS_CHECK_TEXT, voice=V.voice_for(voice_id), deterministic=True)
            for voice_id in V.BUILTIN_VOICES}


def test_the_female_voice_speaks_at_24_khz_deterministically(spoken):
    audio, rate = spoken[V.FEMALE_VOICE_ID]
    assert rate == 24000 and 2.0 < audio.size / rate < 10.0
    assert np.max(np.abs(audio)) == pytest.approx(10 ** (-1 / 20), rel=1e-3)
    again, _ = V.synthesize(CHARACTERS_CHECK_TEXT, voice=V.voice_for(V.FEMALE_VOICE_ID), deterministic=True)
    assert np.array_equal(audio, again)
    female = V.pitch_stats(audio, rate)["median_hz"]
    male = V.pitch_stats(*spoken[V.DEFAULT_VOICE_ID])["median_hz"]
    assert female > 165.0 and male < 130.0  # a female and a male speaking voice, by pitch
    with pytest.raises(V.VoiceModelMissing, match="hibari-heart"):
        V.voice_for("someone-else")


def test_the_two_base_voices_are_different_speakers(spoken):
    """By speaker embedding the two voices are far apart; each is close to itself on another text."""
    emb = {v: embed(*spoken[v]) for v in spoken}
    other = {v: embed(*V.synthesize(OTHER_TEXT, voice=V.voice_for(v), deterministic=True)) for v in spoken}
    across = similarity(emb[V.DEFAULT_VOICE_ID], emb[V.FEMALE_VOICE_ID])
    assert across < 0.75, across
    for v in spoken:
        assert similarity(emb[v], other[v]) > across + 0.15, v


def test_each_character_still_matches_itself():
    """A female and a male character: two different sentences are closer to each other (the same
    speaker) than to the other character."""
    with open(CHARACTERS_FILE, "rb") as fh:
        characters = tomllib.load(fh)["characters"]
    assert characters["luna_lofi"]["voice"]["base_voice"] == V.FEMALE_VOICE_ID
    assert "base_voice" not in characters["kai_lofi"]["voice"]
    emb = {}
    for char_id in ("luna_lofi", "kai_lofi"):
        settings = V.VoiceSettings(**characters[char_id]["voice"])
        emb[char_id] = [embed(*V.speak(text, settings, deterministic=True)) for text in (CHARACTERS_CHECK_TEXT, OTHER_TEXT)]
    across = similarity(emb["luna_lofi"][0], emb["kai_lofi"][0])
    for char_id in emb:
        assert similarity(*emb[char_id]) > across + 0.15, char_id


def test_the_female_voice_sings_the_notes():
    """hibari's own phoneme durations place the syllables; the held vowels sound at the written pitch."""
    notes = [("Stay", 0.5, 1.1, 69), ("with", 1.2, 1.5, 71), ("me", 1.6, 2.4, 72),
             ("to", 2.6, 2.9, 74), ("night", 3.0, 3.9, 72)]
    line = LyricLine("verse", "Stay with me tonight", 0.5, 3.9, [Syllable(t, a, b, p) for t, a, b, p in notes])
    rate = 24000
    settings = V.VoiceSettings(base_voice=V.FEMALE_VOICE_ID)
    stem = S.sing([line], sample_rate_hz=rate, num_frames=rate * 5, settings=settings)
    assert np.max(np.abs(stem)) == pytest.approx(10 ** (-3 / 20), rel=1e-3)
    assert np.max(np.abs(stem[: int(0.4 * rate)])) < 1e-3  # silent before the line
    import pyworld

    f0, times = pyworld.harvest(stem.astype(np.float64), rate, f0_floor=120.0, f0_ceil=900.0, frame_period=5.0)
    on_pitch = 0
    for _text, start, end, pitch in notes:
        mid = (times > start + 0.6 * (end - start) - 0.05) & (times < start + 0.6 * (end - start) + 0.05) & (f0 > 0)
        if mid.any():
            on_pitch += abs(12 * np.log2(np.median(f0[mid]) / (440.0 * 2 ** ((pitch - 69) / 12)))) < 1.0
    assert on_pitch >= 4, on_pitch
    rapped = S.sing([line], sample_rate_hz=rate, num_frames=rate * 5, settings=settings, delivery="rap")
    assert np.max(np.abs(rapped)) > 0.5
