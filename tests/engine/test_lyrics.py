import re

import numpy as np
import pronouncing
import pytest

from studio.engine.composition.lyrics import (
    LyricsSection,
    last_word,
    parse_lyrics,
    sections_text,
    syllable_count,
    syllables,
    write_lyrics,
)

FORM = [("Intro", "intro"), ("Verse 1", "verse"), ("Chorus", "chorus"), ("Verse 2", "verse"),
        ("Chorus", "chorus"), ("Bridge", "bridge"), ("Chorus", "chorus"), ("Outro", "outro")]
SHORT_FORM = [("Verse 1", "verse"), ("Chorus", "chorus"), ("Verse 2", "verse"), ("Chorus", "chorus")]
RAIN_WORDS = {"rain", "rainy", "storm", "stormy", "thunder", "drizzle", "downpour", "umbrella", "window",
              "windowpane", "raindrops", "drop", "drops", "puddle", "puddles", "cloud", "clouds", "grey", "mist",
              "misty", "fog", "soaking", "soaked", "lightning", "wet"}


@pytest.fixture(scope="module")
def rain_song():
    return write_lyrics("rain", "calm", "lofi_hip_hop", FORM, np.random.default_rng(7))


def _rhyme(lines: list[str], i: int, j: int) -> bool:
    """Lines i and j rhyme per the CMU dictionary (or are the same repeated hook line)."""
    if lines[i] == lines[j]:
        return True
    return last_word(lines[j]) in pronouncing.rhymes(last_word(lines[i]))


def _assert_rhymed(section: LyricsSection):
    lines = section.lines
    if len(lines) == 2:
        assert _rhyme(lines, 0, 1), section
    else:
        assert len(lines) == 4, section
        abab = _rhyme(lines, 0, 2) and _rhyme(lines, 1, 3)
        aabb = _rhyme(lines, 0, 1) and _rhyme(lines, 2, 3)
        assert abab or aabb, section


# ---------------------------------------------------------------------------- parsing

def test_parse_with_headers_and_repeated_chorus():
    text = ("[Verse 1]\nNeon on the water\nWe drive until the morning\n\n"
            "[Chorus]\nHold on, hold on\nThe night is ours\n\n"
            "[Verse 2]\nRadio is playing\nOur song again\n\n"
            "[Chorus]\n\n[Pre-Chorus]\nHere it comes\n(Bridge)\nOne more time\nOutro:\nFade away\n")
    sections = parse_lyrics(text)
    assert [(s.label, s.kind) for s in sections] == [
        ("Verse 1", "verse"), ("Chorus", "chorus"), ("Verse 2", "verse"), ("Chorus", "chorus"),
        ("Pre-Chorus", "pre-chorus"), ("Bridge", "bridge"), ("Outro", "outro")]
    assert sections[0].lines == ["Neon on the water", "We drive until the morning"]
    assert sections[3].lines == sections[1].lines == ["Hold on, hold on", "The night is ours"]  # bare header repeats
    assert sections[5].lines == ["One more time"]
    assert parse_lyrics(sections_text(sections)) == sections


def test_parse_without_headers_labels_verses_and_repeated_stanza_as_chorus():
    text = ("First line here\nSecond line here\n\n"
            "We are the chorus\nSing it again\n\n"
            "Another verse begins\nAnd it ends\n\n"
            "We are the chorus\n  Sing it again  \n")
    sections = parse_lyrics(text)
    assert [(s.label, s.kind) for s in sections] == [
        ("Verse 1", "verse"), ("Chorus", "chorus"), ("Verse 2", "verse"), ("Chorus", "chorus")]
    assert sections[3].lines == ["We are the chorus", "Sing it again"]
    assert sections_text(sections).startswith("[Verse 1]\nFirst line here\nSecond line here\n\n[Chorus]\n")


@pytest.mark.parametrize("text", ["", "   \n\n  \t", "[Verse 1]\n\n[Chorus]\n"])
def test_parse_rejects_empty_lyrics(text):
    with pytest.raises(ValueError, match="lyrics"):
        parse_lyrics(text)


# ---------------------------------------------------------------------------- writing

def test_written_song_has_the_form_rhymes_and_repeating_choruses(rain_song):
    assert [(s.label, s.kind) for s in rain_song] == FORM
    choruses = [s.lines for s in rain_song if s.kind == "chorus"]
    assert choruses[0] == choruses[1] == choruses[2]
    verses = [s.lines for s in rain_song if s.kind == "verse"]
    assert verses[0] != verses[1] and not set(verses[0]) & set(verses[1])
    counts = {s.kind: len(s.lines) for s in rain_song}
    assert counts["verse"] == counts["chorus"] == 4 and 2 <= counts["bridge"] <= 4
    assert counts["intro"] == counts["outro"] == 2
    for section in rain_song:
        _assert_rhymed(section)
        for line in section.lines:
            assert 6 <= syllable_count(line) <= 10, line
            assert re.fullmatch(r"[A-Z][A-Za-z ,'.!?\-]*", line), line  # capitalised, no leftover slots


def test_theme_vocabulary_appears(rain_song):
    lines = [line for s in rain_song for line in dict.fromkeys(s.lines)]
    on_theme = [line for line in lines if set(re.findall(r"[a-z]+", line.lower())) & RAIN_WORDS]
    assert len(on_theme) >= len(lines) // 3, lines


def test_same_seed_same_lyrics_different_seed_different_lyrics():
    a = write_lyrics("late night city drive", "dark", "synthwave", SHORT_FORM, np.random.default_rng(3))
    b = write_lyrics("late night city drive", "dark", "synthwave", SHORT_FORM, np.random.default_rng(3))
    c = write_lyrics("late night city drive", "dark", "synthwave", SHORT_FORM, np.random.default_rng(4))
    assert a == b
    assert sections_text(a) != sections_text(c)


def test_custom_syllable_range_and_no_theme():
    song = write_lyrics(None, "sad", "pop", SHORT_FORM, np.random.default_rng(11), syllables_per_line=(8, 12))
    for section in song:
        _assert_rhymed(section)
        assert all(8 <= syllable_count(line) <= 12 for line in section.lines), section
    with pytest.raises(ValueError):
        write_lyrics("rain", "calm", "pop", SHORT_FORM, np.random.default_rng(0), syllables_per_line=(9, 5))


# ---------------------------------------------------------------------------- syllables

def test_syllables_split_as_sung():
    assert syllables("Neon lights reflect") == ["Ne", "on", "lights", "re", "flect"]
    assert syllables("Beautiful melody") == ["Beau", "ti", "ful", "me", "lo", "dy"]
    assert syllables("I'm rollin' down the road") == ["I'm", "rol", "lin'", "down", "the", "road"]
    assert syllables("Take me home tonight") == ["Take", "me", "home", "to", "night"]


@pytest.mark.parametrize("word", ["evening", "every", "different", "fire", "memories", "electric", "umbrella",
                                  "yesterday", "couldn't", "heartbreak", "family", "tonight", "lonely"])
def test_syllable_counts_follow_cmu(word):
    pieces = syllables(word)
    assert len(pieces) == pronouncing.syllable_count(pronouncing.phones_for_word(word)[0])
    assert "".join(pieces) == word


def test_punctuation_numbers_and_unknown_words():
    assert syllables('"Stay," she said.') == ['"Stay,"', "she", "said."]
    assert syllables("Hello, world!") == ["Hel", "lo,", "world!"]
    assert syllables("Wait — what?!") == ["Wait —", "what?!"]
    assert syllables("It's 1999") == ["It's", "nine", "teen", "nine", "ty", "nine"]
    assert syllable_count("24/7") == 5  # twenty four seven
    assert syllable_count("Zorblax") == 2  # not in the dictionary: vowel groups
    for line in ("Under the neon lights, baby!", "We're 4 ever young", ""):
        assert syllable_count(line) == len(syllables(line))


def test_a_numeral_of_thousands_of_digits_is_read_digit_by_digit():
    from studio.engine.composition.lyrics import number_words

    # Python refuses int() of a string over 4 300 digits; a pasted line of zeros must still sing
    assert number_words("0" * 4301) == ["oh"] * 4301
    assert number_words("9" * 5000) == ["nine"] * 5000
    assert number_words("1999") == ["nineteen", "ninety", "nine"]
