import pytest
from pydantic import ValidationError

from studio.engine.composition.spec import GenerationSpec, parse_key, resolve_spec
from studio.engine.composition.styles import GROOVE_VOICES, grooves, styles

REQUIRED_STYLES = {"lofi_hip_hop", "boom_bap", "trap", "rnb", "pop", "edm", "house", "techno", "dnb", "synthwave",
                   "ambient", "cinematic", "classical_piano", "jazz", "blues", "funk", "rock", "metal", "folk",
                   "country", "reggae"}


def test_style_library_is_complete_and_consistent():
    library = styles()
    assert REQUIRED_STYLES <= set(library)
    for style in library.values():
        assert style.tempo_min <= style.tempo_default <= style.tempo_max
        assert style.groove == "none" or style.groove in grooves(), style.id
        assert any(style.progressions.values()), style.id
        parse_key(style.default_key)
        assert set(style.form) <= {"intro", "verse", "chorus", "bridge", "build", "drop", "breakdown", "outro"}
    for groove in grooves().values():
        for voice, pattern in groove.voices().items():
            assert voice in GROOVE_VOICES and len(pattern) == groove.steps, (groove.id, voice)


def test_prompt_inference_lofi_example():
    resolved = resolve_spec(GenerationSpec(prompt="Relaxing lo-fi hip hop beat for studying", seed=7))
    assert resolved.style == "lofi_hip_hop" and resolved.mood == "calm"
    assert 75 <= resolved.tempo_bpm <= 90
    assert "Rhodes" in resolved.instruments and "vinyl crackle" in resolved.textures
    assert "lo-fi hip hop" in resolved.sources["style"] and resolved.seed == 7


@pytest.mark.parametrize("prompt, style, mood", [
    ("dark trap banger with 808s", "trap", None),
    ("epic orchestral trailer music", "cinematic", "epic"),
    ("Calm meditation sounds", "ambient", "calm"),
    ("energetic workout music", "edm", "energetic"),
    ("smooth jazz for a rainy night", "jazz", None),
    ("deep house groove for the club", "house", None),
])
def test_prompt_inference_styles(prompt, style, mood):
    resolved = resolve_spec(GenerationSpec(prompt=prompt))
    assert resolved.style == style
    if mood:
        assert resolved.mood == mood


def test_prompt_details_key_tempo_duration_instruments():
    resolved = resolve_spec(GenerationSpec(prompt="slow piano ballad in A minor, 92 bpm, 2 minutes"))
    assert resolved.key == "A_minor" and resolved.tempo_bpm == 92 and resolved.duration_s == 120
    assert "piano" in resolved.instruments


def test_explicit_fields_win_over_prompt():
    spec = GenerationSpec(prompt="fast trap in A minor 150 bpm", style="jazz", tempo=100, key="C_major",
                          duration=30, mood="sad", primary_instruments=["saxophone"])
    resolved = resolve_spec(spec)
    assert (resolved.style, resolved.tempo_bpm, resolved.key, resolved.duration_s, resolved.mood) == \
        ("jazz", 100, "C_major", 30, "sad")
    assert resolved.instruments == ["saxophone"] and resolved.sources["tempo_bpm"] == "explicit"


def test_seed_001_genre_subgenre_and_lyrics():
    spec = GenerationSpec(genre="electronic", subgenre="synthwave", mood="nostalgic", tempo=120, key="C_minor",
                          lyrics={"enabled": True, "theme": "cyberpunk_city"}, complexity="medium")
    resolved = resolve_spec(spec)
    assert resolved.style == "synthwave" and not resolved.instrumental
    assert resolved.lyrics.theme == "cyberpunk_city" and resolved.complexity == 0.5


def test_mood_turns_style_key_to_relative_mode():
    resolved = resolve_spec(GenerationSpec(style="lofi_hip_hop", mood="sad"))
    assert resolved.key == "D_minor"  # F major's relative minor


@pytest.mark.parametrize("fields, parameter, words", [
    ({"tempo": 300}, "tempo", "240"),
    ({"style": "polka"}, "style", "allowed"),
    ({"mood": "grumpy"}, "mood", "allowed"),
    ({"key": "H_minor"}, "key", "C_minor"),
    ({"duration": 0}, "duration", "1"),
    ({"creativity": 1.5}, "creativity", "1"),
    ({"complexity": "extreme"}, "complexity", "medium"),
    ({"output_formats": ["wav", "aiff"]}, "output_formats", "allowed"),
    ({"colour": "blue"}, "colour", "Extra"),
])
def test_bad_values_name_the_field_and_the_allowed_values(fields, parameter, words):
    with pytest.raises(ValidationError) as info:
        GenerationSpec(**fields)
    error = info.value.errors()[0]
    assert error["loc"][0] == parameter
    assert words.lower() in str(info.value).lower()


def test_random_seed_is_recorded():
    resolved = resolve_spec(GenerationSpec(prompt="pop"))
    assert 0 <= resolved.seed < 2**31 and "random" in resolved.sources["seed"]
    # The recorded seed reproduces the same decisions.
    again = resolve_spec(GenerationSpec(prompt="pop", seed=resolved.seed))
    assert again.model_dump(exclude={"sources"}) == resolved.model_dump(exclude={"sources"})


def test_style_default_instruments_are_named():
    """Unlabelled SoundFont choices are shown by their General MIDI names, never as numbers."""
    resolved = resolve_spec(GenerationSpec(style="boom_bap", duration=20))
    assert resolved.sources["instruments"] == "style defaults"
    assert "Electric Bass (finger)" in resolved.instruments
    for style in styles():
        names = resolve_spec(GenerationSpec(style=style, duration=20)).instruments
        assert names and not any(name.startswith("GM program") or name.isdigit() for name in names), (style, names)
