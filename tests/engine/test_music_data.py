"""Musical knowledge is data (resources/music/*.toml): every file loads, every name a style uses
exists, and a malformed entry fails when loaded with an error naming the file, the entry and
what is wrong."""

from __future__ import annotations

import tomllib

import pytest

from studio.engine.composition import lyrics, styles
from studio.engine.datafiles import DataFileError
from studio.engine.instruments import synths
from studio.resources import resource_path


@pytest.fixture
def music_dir(tmp_path, monkeypatch):
    """A copy of resources/music whose files a test may break; the loaders' caches are cleared."""
    for path in resource_path("music").glob("*.toml"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(styles, "MUSIC_DIR", tmp_path)
    monkeypatch.setattr(synths, "PATCHES_FILE", tmp_path / "patches.toml")
    monkeypatch.setattr(lyrics, "LYRICS_FILE", tmp_path / "lyrics.toml")
    loaders = (styles.styles, styles.grooves, styles.moods, styles.instrument_roles, styles.patterns,
               styles.prompt_words, synths.patches, lyrics.lyric_bank, styles.form_families, styles._forms_file)
    for loader in loaders:
        loader.cache_clear()
    yield tmp_path
    for loader in loaders:
        loader.cache_clear()


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_every_name_a_style_or_instrument_uses_exists():
    patches, patterns = synths.patches(), styles.patterns()
    choices = [(f"style {s.id}", part, c) for s in styles.styles().values()
               for part, c in (("bass", s.bass), ("harmony", s.harmony), ("melody", s.melody), ("pad", s.pad)) if c]
    choices += [(f"instrument {name}", role, c) for name, (role, c) in styles.instrument_roles().items()]
    for where, part, choice in choices:
        if choice.source == "synth":
            assert choice.patch in patches, where
        if choice.pattern and part in ("bass", "harmony"):
            assert choice.pattern in patterns[part], where
    assert "riser" in patches  # the composer's fx part
    assert set(lyrics.lyric_bank()["writer"]["fallback_themes"]) <= set(lyrics.lyric_bank()["themes"])


def test_a_form_with_a_bridge_before_its_first_chorus_is_named(music_dir):
    edit(music_dir / "forms.toml", '["intro", "verse", "chorus", "outro"],', '["intro", "bridge", "chorus", "outro"],')
    with pytest.raises(DataFileError) as caught:
        styles.form_families()
    message = str(caught.value)
    assert "forms.toml" in message and "families.song" in message and "bridge comes before the first chorus" in message


def test_a_style_naming_an_unknown_form_family_is_named(music_dir):
    edit(music_dir / "styles.toml", 'form_family = "hiphop"', 'form_family = "polka"')
    with pytest.raises(DataFileError, match=r"styles\.toml.*form_family 'polka'"):
        styles.styles()


def test_a_bad_pattern_step_names_file_family_and_step(music_dir):
    edit(music_dir / "patterns.toml", 'walking = [[0, 1, "R"], [1, 1, "3"]', 'walking = [[0, 1, "R"], [1, 1, "Q"]')
    with pytest.raises(DataFileError) as caught:
        styles.patterns()
    message = str(caught.value)
    assert "patterns.toml" in message and "[bass.walking]" in message and "step 2" in message
    assert "'Q' is not one of R, 5, 8, 3, 6, b7, A" in message
    assert caught.value.entry == "bass.walking"


def test_a_pattern_step_without_its_length_is_named(music_dir):
    edit(music_dir / "patterns.toml", 'sustained = [[0, 4, "chord"]]', 'sustained = [[0, "chord"]]')
    with pytest.raises(DataFileError, match=r"patterns\.toml: \[harmony\.sustained\] step 1: .* is not \[offset"):
        styles.patterns()


def test_a_named_instrument_with_a_bad_role_or_program_is_named(music_dir):
    edit(music_dir / "instruments.toml", 'role = "melody"\nsource = "sf2"\nprogram = 40', 'role = "lead"\nsource = "sf2"\nprogram = 40')
    with pytest.raises(DataFileError, match=r"instruments\.toml: \[violin\] role: Input should be 'harmony'"):
        styles.instrument_roles()
    styles.instrument_roles.cache_clear()
    edit(music_dir / "instruments.toml", 'role = "lead"', 'role = "melody"')
    edit(music_dir / "instruments.toml", "program = 40", "program = 400")
    with pytest.raises(DataFileError, match=r"\[violin\] program: Input should be less than or equal to 127"):
        styles.instrument_roles()


def test_a_synth_instrument_without_a_patch_is_named(music_dir):
    edit(music_dir / "instruments.toml", 'source = "synth"\npatch = "arp"', 'source = "synth"')
    with pytest.raises(DataFileError, match=r"\[arpeggiator\] a synth instrument needs a `patch`"):
        styles.instrument_roles()


@pytest.mark.parametrize("old, new, expected", [
    ('[[kick_808.layers]]\nwaveform = "sine"', '[[kick_808.layers]]\nwaveform = "wavetable"',
     r"\[kick_808\.layers\[0\]\] unknown waveform 'wavetable'"),
    ('filter = {mode = "highpass", cutoff_frequency_hz = 2500.0', 'filter = {mode = "notch", cutoff_frequency_hz = 2500.0',
     r"\[kick_808\.layers\[1\]\] unknown filter mode 'notch'"),
    ("root_pitch = 31.0", "root_pich = 31.0", r"\[kick_808\.layers\[0\]\] unknown field 'root_pich'"),
    ("pitch_env_semitones = 24.0", 'pitch_env_semitones = "high"', r"\[kick_808\.layers\[0\]\.pitch_env_semitones\] 'high' must be a number"),
    ('[kick_808]\ncategory = "drums"\n', "[kick_808]\n", r"\[kick_808\] missing field 'category'"),
    ("decay_ms = 1400.0, sustain_level = 0.0", "decay_ms = 1400.0, sustain_level = 0.5",
     r"\[kick_808\] one-shot patch 'kick_808' needs sustain_level 0"),
])
def test_a_malformed_patch_is_named(music_dir, old, new, expected):
    edit(music_dir / "patches.toml", old, new)
    with pytest.raises(DataFileError, match=r"patches\.toml: " + expected):
        synths.patches()


def test_a_style_with_a_bad_field_names_the_style(music_dir):
    edit(music_dir / "styles.toml", "[trap]\n", "[trap]\nvibe = 3\n")
    with pytest.raises(DataFileError, match=r"styles\.toml: \[trap\] vibe: Extra inputs are not permitted"):
        styles.styles()


@pytest.mark.parametrize("old, new, expected", [
    ('"{desc} {lights} in the {place}"', '"{desc} {lamps} in the {place}"', r"\[templates\.verse\] template .*unknown slot \{lamps\}"),
    ('"{desc} {lights} in the {place}"', '"[Oh, {desc} {lights} in the {place}"', r"\[templates\.verse\] template .*not closed"),
    ('build = "pre"', 'build = "prelude"', r"\[writer\.section_roles\.build\] 'prelude' is not a template role"),
    ('fallback_pads = ["oh,"]', "fallback_pads = 3", r"\[writer\.fallback_pads\] must be a list of strings"),
])
def test_a_malformed_lyrics_entry_is_named(music_dir, old, new, expected):
    edit(music_dir / "lyrics.toml", old, new)
    with pytest.raises(DataFileError, match=r"lyrics\.toml: " + expected):
        lyrics.lyric_bank()


def test_a_verb_without_its_forms_is_named(music_dir):
    text = (music_dir / "lyrics.toml").read_text()
    verb = tomllib.loads(text)["themes"]["night"]["verbs"][0]
    edit(music_dir / "lyrics.toml", f'"{verb}"', f'"{verb.split("|")[0]}"')
    with pytest.raises(DataFileError, match=r"\[themes\.night\.verbs\] '\w+' must be written base\|ing\|past"):
        lyrics.lyric_bank()


def test_broken_toml_names_the_file(music_dir):
    (music_dir / "patterns.toml").write_text("[bass\n")
    with pytest.raises(DataFileError, match=r"patterns\.toml: is not valid TOML"):
        styles.patterns()


def test_prompt_words_name_known_instruments_and_sane_values(music_dir):
    words = styles.prompt_words()
    assert words.instruments["electric piano"] == "rhodes" and words.complexity["high"] == 0.75
    assert "laid back" in words.slower.words and words.faster.factor > 1 > words.slower.factor

    edit(music_dir / "prompt_words.toml", 'horns = "brass"', 'horns = "brasss"')
    styles.prompt_words.cache_clear()
    with pytest.raises(DataFileError) as caught:
        styles.prompt_words()
    message = str(caught.value)
    assert "prompt_words.toml" in message and "[instruments.horns]" in message and "'brasss'" in message


def test_a_complexity_word_out_of_range_is_named(music_dir):
    edit(music_dir / "prompt_words.toml", "complex = 0.85", "complex = 8.5")
    with pytest.raises(DataFileError) as caught:
        styles.prompt_words()
    message = str(caught.value)
    assert "prompt_words.toml" in message and "[complexity]" in message and "between 0 and 1" in message
