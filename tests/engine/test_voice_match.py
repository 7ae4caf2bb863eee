"""Voice matching against a speaker whose transform is known: a recording made by reshaping the
built-in voice (pitch +6 st, brighter formants) is matched back, and the fit gets closer to it
by speaker embedding. Also: the eight default characters sound distinct from one another."""

from __future__ import annotations

import itertools
import tomllib

import numpy as np
import pytest
import soundfile as sf

from studio.engine.instruments import voice as voice_engine
from studio.engine.analysis.speaker import embed, similarity
from studio.engine.instruments.voice_match import CHARACTERS_CHECK_TEXT, check_sample, fit_voice
from studio.services.voices import CHARACTERS_FILE

SPEAKER = {"pitch_semitones": 6.0, "formant_shift": 1.12, "pitch_range": 1.0}


@pytest.fixture(scope="module")
def speaker_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("speaker")
    paths = []
    for i, text in enumerate(("Good morning everyone, welcome to the show. Today we have a great lineup of songs.",
                              "I recorded this one at home with an old guitar and a cup of coffee on the desk.")):
        audio, rate = voice_engine.speak(text, voice_engine.VoiceSettings(**SPEAKER), deterministic=True)
        path = folder / f"take{i}.wav"
        sf.write(path, audio, rate)
        paths.append(path)
    return paths


def test_fit_recovers_the_speakers_pitch_and_gets_closer(speaker_files):
    result = fit_voice(speaker_files)
    transform, profile = result["transform"], result["profile"]
    assert transform["pitch_semitones"] == pytest.approx(SPEAKER["pitch_semitones"], abs=1.5)
    assert transform["formant_shift"] > 1.0  # brighter than the base voice, as the speaker is
    assert profile["similarity_after"] > profile["similarity_before"] + 0.1
    assert profile["speaker_pitch"]["median_hz"] > profile["base_pitch"]["median_hz"]  # a higher voice
    best = max(profile["candidates"], key=lambda c: c["similarity"])
    assert best["similarity"] == profile["similarity_after"] and len(profile["candidates"]) == 6
    assert "not a neural clone" in profile["method"]


def test_check_sample_facts(speaker_files):
    info = check_sample(speaker_files[0].read_bytes(), "take.wav")
    assert info["extension"] == "wav" and info["duration_s"] > 3 and info["warnings"] == []
    with pytest.raises(ValueError, match="unsupported"):
        check_sample(b"abc", "take.aiff")


def test_the_eight_default_characters_sound_distinct():
    with open(CHARACTERS_FILE, "rb") as fh:
        characters = tomllib.load(fh)["characters"]
    assert len(characters) == 8
    stats, embeddings = {}, {}
    for char_id, data in characters.items():
        settings = voice_engine.VoiceSettings(**data["voice"])
        audio, rate = voice_engine.speak(CHARACTERS_CHECK_TEXT, settings, deterministic=True)
        stats[char_id] = voice_engine.pitch_stats(audio, rate)
        embeddings[char_id] = embed(audio, rate)
    for a, b in itertools.combinations(characters, 2):
        pitch_apart = abs(12 * np.log2(stats[a]["median_hz"] / stats[b]["median_hz"]))
        voice_apart = 1.0 - similarity(embeddings[a], embeddings[b])
        # every pair differs clearly in pitch, or the speaker encoder tells them apart
        assert pitch_apart >= 1.0 or voice_apart >= 0.05, (a, b, pitch_apart, voice_apart)
