"""The built-in script writer: in character, on topic, sized to the duration, seeded."""

from __future__ import annotations

import pytest

from studio.engine.composition.scripts import (
    Persona,
    count_words,
    estimate_duration_s,
    normalise_content_type,
    write_caption,
    write_script,
)

LUNA = Persona(name="Luna", genre="Lo-Fi", greetings=("Hi friends, Luna here.",),
               signoffs=("Stay soft. Luna, signing off.",), phrases=("let the rain do the talking",),
               vocabulary=("mellow", "hazy", "warm", "soft"), emotion_tags=("dreamy", "calm"))


def test_script_is_in_character_on_topic_and_sized_to_the_duration():
    short = write_script(LUNA, "introduction", topic="Midnight Rain", mood="calm", duration_s=15, seed=1)
    long = write_script(LUNA, "introduction", topic="Midnight Rain", mood="calm", duration_s=60, seed=1)
    for script in (short, long):
        assert script.text.startswith("Hi friends, Luna here.") and script.text.endswith("Luna, signing off.")
        assert "Midnight Rain" in script.text and "{" not in script.text
        assert script.word_count == count_words(script.text)
    assert long.word_count > 2 * short.word_count
    assert 10 < short.duration_estimate_s < 25 and 45 < long.duration_estimate_s < 75
    assert short.emotion_tags[:2] == ["dreamy", "calm"]
    sentences = long.text.split(". ")
    assert len(sentences) == len(set(sentences))  # no line twice


def test_seed_gives_variety_and_repeatability():
    a = write_script(LUNA, "track_commentary", topic="Tea Time", duration_s=30, seed=1)
    b = write_script(LUNA, "track_commentary", topic="Tea Time", duration_s=30, seed=1)
    texts = {write_script(LUNA, "track_commentary", topic="Tea Time", duration_s=30, seed=s).text for s in range(6)}
    assert a.text == b.text and len(texts) >= 4


def test_speed_and_types():
    assert estimate_duration_s("one two three four five. six", speed=2.0) < estimate_duration_s("one two three four five. six")
    assert normalise_content_type("intro") == "introduction" and normalise_content_type("Track Commentary") == "track_commentary"
    with pytest.raises(ValueError, match="allowed"):
        normalise_content_type("sermon")
    with pytest.raises(ValueError):
        write_script(LUNA, "outro", duration_s=0)
    sting = write_script(LUNA, "outro", topic="tonight", duration_s=3, seed=2)
    assert sting.word_count < 20


def test_caption_fits_and_has_hashtags():
    text = write_caption(LUNA, context="morning routine", tone="calm", max_length=220, seed=4)
    assert "morning routine" in text and "#LoFi" in text and len(text) <= 220
    assert len(write_caption(LUNA, context="morning routine", max_length=30, seed=4)) <= 30
    with pytest.raises(ValueError):
        write_caption(LUNA, max_length=5)
