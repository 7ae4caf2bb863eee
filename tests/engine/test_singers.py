"""Vocals by default (issue 18 item 1): who sings a sung track and why, decided in spec resolution.

No audio here: resolve_spec only (milliseconds each)."""

from __future__ import annotations

import pytest

from studio.engine.composition.singers import (
    LEAD_INSTRUMENT,
    candidate,
    default_singers,
    find_singer,
    singer_rules,
    voice_of,
)
from studio.engine.composition.spec import GenerationSpec, SingerOptions, recast_singer, resolve_spec
from studio.engine.composition.styles import styles


def resolved(prompt: str | None = None, **fields):
    return resolve_spec(GenerationSpec(prompt=prompt, seed=1, **fields))


@pytest.mark.parametrize("prompt, singer, why", [
    ("dreamy synthwave night drive with female vocals", "Nova", "prompt word 'female' -> Nova (Synthwave)"),
    ("dreamy synthwave night drive with male vocals", "Max", "prompt word 'male' -> Max (EDM)"),
    ("lo-fi hip hop with soft female vocals", "Luna", "prompt word 'female' -> Luna (Lo-Fi)"),
    ("rock ballad with a baritone singer", "Rex", "prompt word 'baritone' -> Rex (Rock)"),
    ("jazz ballad sung by Luna", "Luna", "prompt names Luna -> Luna (Lo-Fi)"),
    ("synthwave song with vocals by rex_rock", "Rex", "prompt names Rex -> Rex (Rock)"),
    ("upbeat pop song with a female rapper", "Zara", "prompt words 'female' and 'rapper' -> Zara (Trap)"),
])
def test_prompt_words_choose_the_singer(prompt, singer, why):
    spec = resolved(prompt)
    assert not spec.instrumental and spec.lyrics is not None
    assert spec.singer is not None and spec.singer.name == singer
    assert spec.sources["singer"].startswith(why)


def test_rap_words_ask_for_vocals_and_rap_styles_rap():
    spec = resolved("hard trap beat with rap")
    assert not spec.instrumental and spec.sources["instrumental"] == "prompt asks for rap ('rap')"
    assert spec.singer.name == "Zara" and spec.sources["singer"] == "style default for Trap -> Zara (Trap) raps"


@pytest.mark.parametrize("style", sorted(styles()))
def test_every_style_has_a_default_singer_when_vocals_are_asked_for(style):
    spec = resolved(None, style=style, instrumental=False)
    default = find_singer(singer_rules().styles[style][0])
    assert spec.singer == default.options
    assert spec.sources["singer"].startswith(f"style default for {styles()[style].name} -> {default.name}")
    assert spec.sources["singer"].endswith(" raps" if styles()[style].vocal_delivery == "rap" else " sings")


def test_style_defaults_name_real_characters_with_both_voices():
    ids = {c.id for c in default_singers()}
    assert set(singer_rules().styles) == set(styles())
    for style, chosen in singer_rules().styles.items():
        assert set(chosen) <= ids, style
    voices = {c.id: c.voice for c in default_singers()}
    assert voices["luna_lofi"] == voices["nova_synthwave"] == "female" and voices["rex_rock"] == "male"
    assert voice_of("smoky_female") == "female" and voice_of("warm_male") == "male" and voice_of("robotic") is None


def test_an_explicit_singer_wins_over_the_prompt():
    luna = find_singer("luna").options
    spec = resolved("synthwave with male vocals", singer=luna)
    assert spec.singer.name == "Luna" and spec.sources["singer"] == "explicit character_id 'luna_lofi' -> Luna sings"
    lead = resolved("synthwave with female vocals", singer=LEAD_INSTRUMENT)
    assert not lead.instrumental and lead.singer is None
    assert "lead instrument" in lead.sources["singer"] and "explicit" in lead.sources["singer"]


@pytest.mark.parametrize("prompt, fields", [
    ("dreamy synthwave night drive with female vocals", {"instrumental": True}),
    ("instrumental synthwave, female vocal chops", {}),
    ("lo-fi beat with no vocals", {}),
    ("calm piano for studying", {}),  # nothing asks for vocals
])
def test_instrumental_stays_instrumental(prompt, fields):
    spec = resolved(prompt, **fields)
    assert spec.instrumental and spec.singer is None and spec.lyrics is None
    assert spec.sources["singer"] == "no vocals (instrumental)"


def test_the_callers_characters_are_chosen_from():
    """The voices service passes its characters: a custom one of the style sings; none: a lead instrument."""
    mine = candidate({"id": "ivy", "name": "Ivy", "genre": "Synthwave", "style": "synthwave",
                      "voice_quality": "airy_female"}, {"name": "Ivy", "character_id": "ivy", "pitch_semitones": 6})
    other = candidate({"id": "bo", "name": "Bo", "style": "rock", "voice_quality": "deep_male"},
                      {"name": "Bo", "character_id": "bo"})
    spec = resolve_spec(GenerationSpec(prompt="synthwave with vocals", seed=1), singers=[other, mine])
    assert spec.singer.name == "Ivy" and spec.singer.pitch_semitones == 6
    assert spec.sources["singer"] == "a character of Synthwave -> Ivy (Synthwave) sings"
    spec = resolve_spec(GenerationSpec(prompt="synthwave with male vocals", seed=1), singers=[other, mine])
    assert spec.singer.name == "Bo" and spec.sources["singer"].startswith("prompt word 'male' -> Bo")
    spec = resolve_spec(GenerationSpec(prompt="synthwave with vocals", seed=1), singers=[])
    assert spec.singer is None and not spec.instrumental and "no voice characters" in spec.sources["singer"]


def test_recast_singer_for_an_extension():
    spec = resolved("trap with vocals")
    luna = recast_singer(spec, find_singer("Luna").options, "--singer")
    assert luna.singer.name == "Luna" and luna.sources["singer"] == "explicit --singer -> Luna raps"
    lead = recast_singer(spec, LEAD_INSTRUMENT, "--singer")
    assert lead.singer is None and "lead instrument" in lead.sources["singer"]
    with pytest.raises(ValueError, match="instrumental"):
        recast_singer(resolved("calm piano"), SingerOptions(name="x"), "--singer")
