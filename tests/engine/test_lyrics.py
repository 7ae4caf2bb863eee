import itertools
import re

import numpy as np
import pronouncing
import pytest

from studio.engine.composition.lyric_theme import read_theme, tokens
from studio.engine.composition.lyrics import (
    LyricsSection,
    check_draft,
    drafting,
    last_word,
    lyric_bank,
    parse_lyrics,
    rhyme_keys,
    sections_text,
    syllable_count,
    syllables,
    write_lyrics,
)
from studio.engine.composition.spec import GenerationSpec, resolve_spec
from studio.engine.composition.styles import moods, prompt_words, styles

FORM = [("Intro", "intro"), ("Verse 1", "verse"), ("Chorus", "chorus"), ("Verse 2", "verse"),
        ("Chorus", "chorus"), ("Bridge", "bridge"), ("Chorus", "chorus"), ("Outro", "outro")]
SHORT_FORM = [("Verse 1", "verse"), ("Chorus", "chorus"), ("Verse 2", "verse"), ("Chorus", "chorus")]
RAIN_WORDS = {"rain", "rainy", "storm", "stormy", "thunder", "drizzle", "downpour", "umbrella", "window",
              "windowpane", "raindrops", "drop", "drops", "puddle", "puddles", "cloud", "clouds", "grey", "mist",
              "misty", "fog", "soaking", "soaked", "lightning", "wet"}


@pytest.fixture(scope="module")
def rain_song():
    return write_lyrics("rain", "calm", "lofi_hip_hop", FORM, np.random.default_rng(7))


def _rhyme(a: str, b: str) -> bool:
    """The last words of two lines share a CMU rhyming part."""
    return bool(rhyme_keys(last_word(a)) & rhyme_keys(last_word(b)))


def _assert_rhymed(section: LyricsSection):
    """Lines rhyme as the section's scheme says: same letter, same rhyming part; H is one hook
    line sung again at each H, rhyming with the A lines; X lines are free."""
    lines, scheme = section.lines, section.scheme
    assert len(scheme) == len(lines) == len(section.targets) and re.fullmatch(r"[A-GHX]+", scheme), section
    hooks = [line for line, letter in zip(lines, scheme) if letter == "H"]
    assert len(set(hooks)) <= 1, section
    for letter in set(scheme.replace("H", "A")) - {"X"}:
        group = [line for line, x in zip(lines, scheme.replace("H", "A")) if x == letter]
        for other in group[1:]:
            assert other == group[0] or _rhyme(group[0], other), (letter, section)
    letters = [x for x in dict.fromkeys(scheme.replace("H", "A")) if x != "X"]
    for x, y in itertools.pairwise(letters):  # different letters are different rhymes
        first = lines[scheme.replace("H", "A").index(x)]
        second = lines[scheme.replace("H", "A").index(y)]
        assert not _rhyme(first, second), (x, y, section)


def _assert_fits(section: LyricsSection):
    for line, target in zip(section.lines, section.targets):
        assert abs(syllable_count(line) - target) <= 1, (line, syllable_count(line), target, section.label)


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


# ---------------------------------------------------------------------------- prompts, not templates

SONG_FORM = [("Verse 1", "verse"), ("Chorus", "chorus"), ("Verse 2", "verse"), ("Chorus", "chorus"),
             ("Bridge", "bridge"), ("Chorus", "chorus"), ("Outro", "outro")]
# prompt -> words of it that say how the song sounds or who sings it: never in the lyrics
PROMPTS = {
    "dreamy synthwave night drive with female vocals": {"dreamy", "synthwave", "female", "vocals", "vocal"},
    "hard trap beat about the grind with male rap vocals": {"hard", "trap", "beat", "male", "rap", "vocals"},
    "sad piano ballad about a rainy goodbye": {"sad", "piano", "ballad"},
    "upbeat summer pop song about the beach with catchy female vocals": {"upbeat", "pop", "catchy", "female"},
    "lofi hip hop beats to study to, rainy cafe": {"lofi", "hip", "hop", "beats", "study"},
    "chill rnb slow jam about late night love, smooth male vocals": {"chill", "rnb", "slow", "jam", "smooth", "male"},
    "boom bap rap about growing up in the city": {"boom", "bap", "rap"},
    "epic cinematic orchestral battle with choir": {"cinematic", "orchestral", "choir"},
    "energetic edm festival drop with a female singer": {"energetic", "edm", "drop", "female", "singer"},
    "jazzy blues about whiskey and heartbreak, saxophone solo": {"jazzy", "blues", "saxophone", "sax", "solo"},
    "acoustic folk song about autumn leaves and home": {"acoustic", "folk"},
    "heavy metal about fire and war with aggressive male vocals": {"heavy", "metal", "aggressive", "male"},
    "deep house sunset groove, soulful vocals": {"house", "groove", "soulful", "vocals"},
    "a song about my dog and the old lighthouse": set(),
    "reggae vibes about the ocean, sung by Luna": {"reggae", "vibes", "sung", "luna"},
    "write me a country tune about a dirt road with twangy guitar": {"country", "guitar", "twangy"},
}


def _theme_words() -> set[str]:
    return {w for data in lyric_bank()["themes"].values() for k in data.get("keywords", []) for w in tokens(k)}


def _sound_words(prompt: str) -> set[str]:
    """The prompt's words the studio's own vocabularies call style, mood, instrument, tempo or vocal
    words (theme keywords like "night" or "rain" excepted)."""
    vocab = set()
    for style in styles().values():
        vocab |= {style.id, *tokens(style.name)} | {w for k in style.keywords for w in tokens(k)}
    for mood in moods().values():
        vocab |= {mood.id} | {w for k in mood.keywords for w in tokens(k)}
    pw = prompt_words()
    vocab |= {w for k in [*pw.instruments, *pw.vocals, *pw.slower.words, *pw.faster.words] for w in tokens(k)}
    return (set(tokens(prompt)) & vocab) - _theme_words() - {"to", "about", "with", "song"}


@pytest.fixture(scope="module")
def prompt_songs():
    songs = {}
    for n, prompt in enumerate(PROMPTS):
        spec = resolve_spec(GenerationSpec(prompt=prompt, seed=n, instrumental=False))
        songs[prompt] = write_lyrics(prompt, spec.mood, spec.genre, SONG_FORM, np.random.default_rng(n))
    return songs


def test_prompt_sound_and_singer_words_are_never_sung(prompt_songs):
    for prompt, song in prompt_songs.items():
        banned = PROMPTS[prompt] | _sound_words(prompt)
        sung = {w for section in song for line in section.lines for w in tokens(line)}
        assert not sung & banned, (prompt, sung & banned, sections_text(song))


def test_prompt_songs_fit_their_syllables_rhyme_and_vary(prompt_songs):
    for prompt, song in prompt_songs.items():
        assert [(s.label, s.kind) for s in song] == SONG_FORM
        for section in song:
            _assert_rhymed(section)
            _assert_fits(section)
            assert all(6 <= t <= 10 for t in section.targets), section
            assert all(re.fullmatch(r"'?[A-Z][A-Za-z ,'.!?\-]*", line) for line in section.lines), section
            assert not re.search(r"\b[Tt]he [A-Z][a-z]", " ".join(section.lines)), section  # "the July"
            assert not re.search(r"\b(\w+) \1\b", " ".join(section.lines).lower()), section  # "the the"
        verses = [s.lines for s in song if s.kind == "verse"]
        assert not set(verses[0]) & set(verses[1]), (prompt, verses)  # verse 2 is not verse 1 again
        choruses = [s.lines for s in song if s.kind == "chorus"]
        assert choruses[0] == choruses[1] == choruses[2]


@pytest.mark.parametrize("prompt, themes, topics, dropped", [
    ("dreamy synthwave night drive with female vocals", ("night", "drive"), (),
     {"dreamy", "synthwave", "female", "vocals"}),
    ("sad piano ballad about a rainy goodbye", ("rain", "heartbreak"), (), {"piano", "ballad", "sad"}),
    ("a song about my dog and the old lighthouse", ("home", "ocean"), ("my dog", "the lighthouse"), set()),
    ("deep house with soulful vocals about the deep blue sea", ("ocean",), (), {"house", "soulful", "vocals"}),
    ("sung by Nova, ethereal lush pads about coffee and Sunday mornings", ("home",), ("the coffee", "sunday mornings"),
     {"nova", "ethereal", "lush", "pads", "sung"}),
    ("92 bpm chillhop in A minor about a cat", ("home",), ("the cat",), {"bpm", "chillhop", "minor"}),
])
def test_theme_reading_keeps_meaning_and_drops_sound_words(prompt, themes, topics, dropped):
    theme = read_theme(prompt, lyric_bank())
    assert theme.themes == themes and theme.topics == topics
    assert dropped <= theme.dropped
    assert not theme.dropped & {"to", "about", "with", "the", "and", "a", "in", "night", "rain", "deep", "sea"}


def test_topics_are_sung():
    song = write_lyrics("a song about my dog and the old lighthouse", "calm", "folk", SONG_FORM,
                        np.random.default_rng(5))
    text = sections_text(song).lower()
    assert "my dog" in text or "lighthouse" in text


def test_syllable_targets_given_per_section():
    targets = {"Verse 1": [10, 10, 10, 10], "verse": [7, 9, 7, 9], "chorus": [6, 6, 6, 6], "Bridge": [8, 8]}
    song = write_lyrics("rain", "calm", "pop", SONG_FORM, np.random.default_rng(2), line_syllables=targets)
    by_label = {s.label: s for s in song}
    assert by_label["Verse 1"].targets == [10, 10, 10, 10] and by_label["Verse 2"].targets == [7, 9, 7, 9]
    assert by_label["Chorus"].targets == [6, 6, 6, 6] and len(by_label["Bridge"].lines) == 2
    for section in song:
        _assert_fits(section)
        _assert_rhymed(section)
    with pytest.raises(ValueError, match="line_syllables"):
        write_lyrics("rain", "calm", "pop", SONG_FORM, np.random.default_rng(2), line_syllables={"verse": []})


# ---------------------------------------------------------------------------- drafts (a local LLM)

DRAFT = """Here are your lyrics:

**[Verse 1]**
The engine hums across the dark
We chase the highway past the park
The city fades behind the hill
The road is long, the night is still

[Chorus]
Drive on into the night with me
Until the morning sets us free
Drive on into the night with me
Out where the road runs to the sea

[Verse 2]
Your hand is resting next to mine
We follow every broken line
The radio is playing low
We never ask where we will go

[Bridge]
And if the morning comes too soon
We'll dance beneath the silver moon

[Outro]
The road is ours until the dawn
We'll drive until the dark is gone
"""


def _form_request(prompt="night drive with female vocals", seed=4, schemes=False):
    seen = {}

    def drafter(request):
        seen["request"] = request

    with drafting(drafter):
        song = write_lyrics(prompt, "dreamy", "electronic", SONG_FORM, np.random.default_rng(seed))
    request = seen["request"]
    if schemes:
        _draft_form(request)
    return request, song


def _draft_form(request):
    """The form DRAFT was written for: couplets of 8 syllables, two-line bridge and outro."""
    for section in request.form:
        n = 2 if section.kind in ("bridge", "outro") else 4
        section.scheme, section.targets = "AABB"[:n], [8] * n


def test_a_drafter_is_asked_for_the_form_and_its_checked_lyrics_are_used():
    request, fallback = _form_request()
    assert request.outcome == "no draft" and fallback == write_lyrics("night drive with female vocals", "dreamy", "electronic", SONG_FORM,
                                    np.random.default_rng(4))  # asking does not change the built-in lyrics
    prompt = request.prompt()
    assert "[Verse 1]" in prompt and "[Bridge]" in prompt and prompt.count("[Chorus]") == 1
    assert "female" in prompt.split("Do not use these words:")[1] and "night" in request.about
    request, _ = _form_request(schemes=True)
    sections, why = check_draft(DRAFT, request)
    assert why == "used", why
    assert [s.label for s in sections] == [label for label, _ in SONG_FORM]
    assert sections[0].lines[0] == "The engine hums across the dark"  # the preamble and ** are gone
    assert sections[1].lines == sections[3].lines == sections[5].lines  # the chorus repeats
    assert sections[6].lines == ["The road is ours until the dawn", "We'll drive until the dark is gone"]

    def ollama(request):
        _draft_form(request)
        return DRAFT

    with drafting(ollama):
        song = write_lyrics("night drive with female vocals", "dreamy", "electronic", SONG_FORM,
                            np.random.default_rng(4))
    assert song == sections


@pytest.mark.parametrize("change, reason", [
    (lambda text: text.replace("The engine hums across the dark", "Female vocals hum across the dark"),
     "sound or singer"),
    (lambda text: text.replace("The city fades behind the hill", "The city fades away behind the distant silver hill"),
     "syllables"),
    (lambda text: text.replace("[Bridge]", "[Outro]"), "no [Bridge]"),
    (lambda text: text.replace("We never ask where we will go\n", ""), "lines"),
    (lambda text: "Sorry, I cannot write lyrics.", "headers"),
])
def test_a_bad_draft_is_refused(change, reason):
    request, _ = _form_request(schemes=True)
    sections, why = check_draft(change(DRAFT), request)
    assert sections is None and reason in why, why


def test_a_failing_or_refused_drafter_falls_back_to_the_same_lyrics():
    expected = write_lyrics("rain at night", "sad", "pop", SHORT_FORM, np.random.default_rng(9))
    requests = []

    def broken(request):
        requests.append(request)
        raise ConnectionError("no server")

    def wrong(request):
        requests.append(request)
        return "[Verse 1]\nfemale vocals\n"

    for drafter in (broken, wrong, lambda request: None):
        with drafting(drafter):
            assert write_lyrics("rain at night", "sad", "pop", SHORT_FORM, np.random.default_rng(9)) == expected
    assert "no server" in requests[0].outcome and requests[1].outcome.startswith("[Verse 1]")


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
