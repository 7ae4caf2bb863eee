"""The community sentiment model: VADER + the creator lexicon (phrases, emoji, the data file's checks),
and its accuracy on the hand-labelled set against plain VADER (`pytest -s` prints the figures)."""

from __future__ import annotations

import csv
import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from studio.services.community.sentiment import (
    LEXICON_FILE,
    LexiconError,
    SentimentModel,
    label_for,
    load_lexicon,
    plain_vader_label,
)

LABELLED = Path(__file__).resolve().parents[1] / "data" / "community" / "labelled_comments.csv"
HELD_OUT = LABELLED.with_name("heldout_comments.csv")
LABELS = ("positive", "neutral", "negative")


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return SentimentModel()


def label(model: SentimentModel, text: str) -> str:
    return model.score(text).label


def test_label_thresholds_are_vaders():
    assert label_for(0.05) == "positive"
    assert label_for(0.0499) == "neutral"
    assert label_for(0.0) == "neutral"
    assert label_for(-0.0499) == "neutral"
    assert label_for(-0.05) == "negative"


def test_score_is_a_frozen_value(model):
    result = model.score("this slaps")
    assert -1.0 <= result.compound <= 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.label = "negative"  # type: ignore[misc]
    assert model.score("").label == "neutral"
    assert model.score(None).compound == 0.0  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["this beat slaps", "this goes crazy 🔥🔥", "sick drop", "this is fire",
                                  "the bass is killing me 😭"])
def test_creator_slang_that_plain_vader_misreads(model, text):
    # the connectors note's examples: plain VADER calls these neutral or negative
    assert plain_vader_label(text) != "positive"
    assert label(model, text) == "positive"


def test_phrases_become_one_token_case_insensitively_at_word_boundaries(model):
    assert model.prepare("this GOES   crazy") == "this goes_crazy"
    assert model.prepare("THIS GOES CRAZY") == "THIS GOES_CRAZY"  # capitals still add emphasis
    assert model.prepare("no skips.") == "no_skips."
    assert model.prepare("cargo hardware") == "cargo hardware"
    assert model.prepare("no skipsss") == "no skipsss"
    # VADER adds emphasis to words in capitals among others that are not
    assert model.compound("this GOES HARD") > model.compound("this goes hard") > 0


def test_phrase_apostrophes_are_optional_and_curly_ones_count(model):
    for text in ("this ain't it", "this aint it", "this ain\u2019t it", "THIS AIN'T IT"):
        assert label(model, text) == "negative", text
    assert label(model, "i\u2019m dead 💀") == "positive"


def test_vader_rules_still_apply_around_lexicon_terms(model):
    assert label(model, "this doesn't go hard") == "negative"
    assert label(model, "not mid at all") == "positive"
    assert label(model, "kinda mid") == "negative"
    assert label(model, "no skips on this tape") == "positive"  # "no" is part of the phrase, not a negation
    assert label(model, "no cap this slaps") == "positive"


def test_everyday_senses_stay_negative_or_neutral(model):
    assert label(model, "I'm sick of this loop") == "negative"
    assert label(model, "the vocals are hard to hear") == "negative"
    assert label(model, "could be better") == "negative"
    assert label(model, "is this free for profit?") == "neutral"
    assert label(model, "my hard drive died") == "negative"


def test_emoji_overrides(model):
    assert plain_vader_label("🔥") == "negative"  # VADER reads "fire"
    assert label(model, "🔥") == "positive"
    assert label(model, "🐐🐐") == "positive"
    assert label(model, "🗑\ufe0f") == "negative"  # variation selector dropped
    assert label(model, "🙌🏽🙌🏽") == "positive"  # skin tone dropped
    assert label(model, "❤\ufe0f") == "positive"  # plain VADER scores 0 here
    assert label(model, "this mix 🤮") == "negative"
    assert model.prepare("🔥lol").split() == ["🔥lol"]  # prepare leaves emoji to VADER's own swap


def test_long_text_is_scored_by_pieces(model):
    text = "this track is fire and the mix is so clean. " * 500  # 22 000 chars
    assert model.score(text).label == "positive"
    assert label(model, ("the mix is muddy and boring " * 400).strip()) == "negative"


def test_scoring_from_threads_gives_the_same_answers(model):
    texts = ["this slaps", "mid", "when is the album out?", "no skips 🔥", "this ain't it 🗑"] * 200
    expected = [model.score(t) for t in texts]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(model.score, texts)) == expected


# -- the data file ---------------------------------------------------------------------------------


def test_shipped_lexicon_loads():
    lexicon = load_lexicon()
    assert lexicon.words["slaps"] > 0 and lexicon.words["mid"] < 0 and lexicon.words["drop"] == 0
    assert lexicon.phrases["goes crazy"] > 0 and lexicon.phrases["this ain't it"] < 0
    assert lexicon.emoji["🔥"] > 0 and lexicon.emoji["🗑"] < 0
    assert all(-4 <= v <= 4 for table in (lexicon.words, lexicon.phrases, lexicon.emoji) for v in table.values())
    assert LEXICON_FILE.name == "lexicon.toml"


@pytest.mark.parametrize("body, says", [
    ('[words.praise]\nslaps = 4.5\n', "'slaps' = 4.5: a valence must be within -4..+4"),
    ('[words.praise]\nslaps = -9\n', "[words.praise] 'slaps' = -9"),
    ('[words.praise]\nslaps = "high"\n', "'slaps': the valence must be a number"),
    ('[words.praise]\nslaps = true\n', "'slaps': the valence must be a number"),
    ('[words.praise]\n"" = 1\n', "'': the term is empty"),
    ('[words.praise]\n"  " = 1\n', "the term is empty"),
    ('[words.praise]\n"goes crazy" = 1\n', "'goes crazy': a word entry is one word"),
    ('[words.praise]\nvery = 1\n', "'very': VADER treats this word as an intensifier"),
    ('[phrases.praise]\nslaps = 1\n', "'slaps': a phrase has two or more words"),
    ('[phrases.praise]\n"goes crazy!" = 1\n', "starts and ends with a letter or a digit"),
    ('[emoji.praise]\n"fire" = 1\n', "'fire': write one emoji per entry"),
    ('[emoji.praise]\n"🔥🔥" = 1\n', "write one emoji per entry"),
    ('[words.praise]\nslaps = 1\n[words.other]\nSlaps = 2\n', "'Slaps': already listed in [words.praise]"),
    ('[phrases.a]\n"i\'m dead" = 1\n[phrases.b]\n"im dead" = 1\n', "'im dead': already listed in [phrases.a]"),
    ('[words]\nslaps = 1\n', "words.slaps must be a group table"),
    ('[lexicon.praise]\nslaps = 1\n', "unknown table(s) ['lexicon']"),
    ('[words.praise\nslaps = 1\n', "is not valid TOML"),
])
def test_a_bad_lexicon_file_is_refused_naming_the_entry(tmp_path, body, says):
    path = tmp_path / "lexicon.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(LexiconError) as caught:
        load_lexicon(path)
    assert says in str(caught.value)
    assert "lexicon.toml" in str(caught.value)


def test_a_missing_lexicon_file_is_refused(tmp_path):
    with pytest.raises(LexiconError, match="cannot read the sentiment lexicon"):
        load_lexicon(tmp_path / "absent.toml")


def test_a_custom_lexicon_file_is_used(tmp_path):
    path = tmp_path / "lexicon.toml"
    path.write_text('[words.test]\nzorp = -3\n[phrases.test]\n"blue moon" = 3\n[emoji.test]\n"🎷" = -3\n',
                    encoding="utf-8")
    custom = SentimentModel(load_lexicon(path))
    assert label(custom, "zorp") == "negative"
    assert label(custom, "Blue Moon") == "positive"
    assert label(custom, "🎷") == "negative"
    assert label(custom, "this slaps") == "neutral"  # only this file's entries are added to VADER


# -- evaluation on the hand-labelled set ---------------------------------------------------------


def evaluate(model, path: Path) -> tuple[float, float]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {r["label"] for r in rows} <= set(LABELS)
    confusion = {truth: dict.fromkeys(LABELS, 0) for truth in LABELS}
    model_right = plain_right = 0
    for row in rows:
        predicted = label(model, row["text"])
        confusion[row["label"]][predicted] += 1
        model_right += predicted == row["label"]
        plain_right += plain_vader_label(row["text"]) == row["label"]
    model_accuracy, plain_accuracy = model_right / len(rows), plain_right / len(rows)
    print(f"\n{path.name}: {len(rows)} comments, model accuracy {model_accuracy:.3f}, plain VADER {plain_accuracy:.3f}")
    print("confusion (rows: label, columns: model)")
    print(f"{'':>10}" + "".join(f"{p:>10}" for p in LABELS))
    for truth in LABELS:
        print(f"{truth:>10}" + "".join(f"{confusion[truth][p]:>10}" for p in LABELS))
    return model_accuracy, plain_accuracy


def test_model_beats_plain_vader_on_the_labelled_set(model):
    # The lexicon had one pass of general terms after its author saw this set's errors: this is
    # partly in-sample. The held-out set below is the honest figure.
    model_accuracy, plain_accuracy = evaluate(model, LABELLED)
    assert model_accuracy >= 0.75
    assert model_accuracy > plain_accuracy


def test_model_beats_plain_vader_on_the_held_out_set(model):
    # Written and labelled by another annotator who never saw the lexicon, after it was frozen.
    model_accuracy, plain_accuracy = evaluate(model, HELD_OUT)
    assert model_accuracy >= 0.70
    assert model_accuracy > plain_accuracy + 0.15
