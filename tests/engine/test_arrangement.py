"""Song forms and arrangement: conventional section orders fitted to the duration (forms.toml),
sections that sound different (instruments entering and leaving, drum feels, bridge chords),
and the per-section loudness/spectrum the track's analysis reports."""

from __future__ import annotations

import pytest
import torch

from studio.engine.analysis.sections import arrangement_summary, section_metrics
from studio.engine.composition.composer import compose
from studio.engine.composition.spec import GenerationSpec, resolve_spec
from studio.engine.composition.styles import form_families, section_layers, styles
from studio.engine.pipeline.generate import generate

HOOKS = ("chorus", "drop")


def resolved(**fields):
    fields.setdefault("seed", 3)
    fields.setdefault("instrumental", True)
    return resolve_spec(GenerationSpec(**fields))


def kinds(score) -> list[str]:
    return [s.name for s in score.sections]


# --- form -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("style_id", sorted(styles()))
@pytest.mark.parametrize("duration_s", [20.0, 45.0, 90.0, 180.0])
def test_no_bridge_or_breakdown_before_the_first_chorus(style_id, duration_s):
    names = kinds(compose(resolved(style=style_id, duration=duration_s)))
    hooks = [i for i, k in enumerate(names) if k in HOOKS]
    assert hooks, names
    assert not {"bridge", "breakdown"} & set(names[: hooks[0]]), names


def test_forms_grow_with_the_duration():
    """Short: intro-verse-chorus-outro; medium: two verse/chorus pairs; long: a bridge late, then
    the chorus again (the 45 s pop song of the issue had a bridge before its first chorus)."""
    assert kinds(compose(resolved(style="pop", duration=45))) == ["intro", "verse", "chorus", "outro"]
    assert kinds(compose(resolved(style="pop", duration=90))) == ["intro", "verse", "chorus", "verse", "chorus", "outro"]
    long = kinds(compose(resolved(style="pop", duration=160)))
    assert long.count("chorus") >= 3 and "bridge" in long
    assert long.index("bridge") > [i for i, k in enumerate(long) if k == "chorus"][1]
    assert long[long.index("bridge") + 1] == "chorus" and long[-1] == "outro"
    edm = kinds(compose(resolved(style="edm", duration=90)))
    assert edm.count("drop") >= 2 and all(edm[i - 1] == "build" for i, k in enumerate(edm) if k == "drop"
                                          and edm[i - 1] != "drop")


def test_every_family_form_starts_its_hooks_before_any_bridge():
    for family in form_families().values():
        for form in family.forms:
            first = min(i for i, k in enumerate(form) if k in HOOKS)
            assert not {"bridge", "breakdown"} & set(form[:first]), (family.id, form)


# --- arrangement --------------------------------------------------------------------------------

def _notes_per_bar(score, section, parts=None) -> float:
    count = sum(1 for p in score.parts if parts is None or p.stem in parts
                for e in p.notes if section.start_s <= e.start_s < section.end_s)
    return count / section.bars


def test_first_verse_is_sparse_and_the_chorus_fullest():
    score = compose(resolved(style="pop", duration=90))
    verse1, chorus1, verse2 = (next(s for s in score.sections if s.label == label)
                               for label in ("Verse 1", "Chorus 1", "Verse 2"))
    assert _notes_per_bar(score, verse1) < _notes_per_bar(score, verse2) < _notes_per_bar(score, chorus1)
    # the pad enters with the chorus, the bass plays held roots in the first verse
    pad = next(p for p in score.parts if p.name == "pad")
    assert not [e for e in pad.notes if verse1.start_s <= e.start_s < verse1.end_s]
    assert [e for e in pad.notes if chorus1.start_s <= e.start_s < chorus1.end_s]
    assert _notes_per_bar(score, verse1, ("bass",)) < _notes_per_bar(score, verse2, ("bass",)) / 2


def test_drum_patterns_change_between_verse_and_chorus():
    score = compose(resolved(style="rock", duration=90))
    bar_beats = score.beats_per_bar

    def grid(section):
        # (position in the bar, drum key) of every hit but the section's last bar (its fill)
        last = (section.start_bar + section.bars - 1) * bar_beats
        return {(round(e.beat % bar_beats, 3), e.pitch) for p in score.parts_in("drums") for e in p.notes
                if section.start_bar * bar_beats <= e.beat < last}

    verse1, verse2, chorus = (next(s for s in score.sections if s.label == label)
                              for label in ("Verse 1", "Verse 2", "Chorus 1"))
    snare = 38
    # half-time first verse: the backbeat falls on beat 3 only
    assert {pos for pos, key in grid(verse1) if key == snare} == {2.0}
    assert {1.0, 3.0} <= {pos for pos, key in grid(verse2) if key == snare}
    assert grid(chorus) - grid(verse2)  # the chorus adds hits (open hat, tambourine, 8th hats)
    # fills close sections: toms or snare 16ths in the last bar of the verse
    last_bar = [e for p in score.parts_in("drums") for e in p.notes
                if (verse2.start_bar + verse2.bars - 1) * bar_beats <= e.beat < verse2.start_bar * bar_beats + verse2.bars * bar_beats]
    assert any(e.pitch in (45, 47, 50) or (e.pitch == snare and e.beat % 1 in (0.25, 0.75)) for e in last_bar)


def test_bridge_brings_new_chords_and_a_thinner_texture():
    score = compose(resolved(style="pop", duration=160))
    by_label = {s.label: s for s in score.sections}
    bridge = next(s for s in score.sections if s.name == "bridge")

    def romans(section):
        return {c.roman for c in score.chords if section.start_s <= c.start_s < section.end_s}

    assert romans(bridge) != romans(by_label["Verse 2"]) and romans(bridge) != romans(by_label["Chorus 2"])
    assert _notes_per_bar(score, bridge, ("drums",)) < _notes_per_bar(score, by_label["Chorus 2"], ("drums",))


def test_edm_breakdown_drops_the_beat_and_the_bass():
    score = compose(resolved(style="edm", duration=90))
    breakdown = next(s for s in score.sections if s.name == "breakdown")
    drop = next(s for s in score.sections if s.name == "drop")
    assert _notes_per_bar(score, breakdown, ("drums", "bass")) == 0
    assert _notes_per_bar(score, drop, ("drums",)) > 8 and _notes_per_bar(score, drop, ("bass",)) > 0
    assert section_layers("edm", "build", first=True).drums == "build"


# --- measured on the audio ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def renders():
    """Short renders at a high tempo (~20 s, 4 sections each) in three styles."""
    out = {}
    for style_id, tempo in (("pop", 160), ("edm", 172), ("boom_bap", 150)):
        spec = GenerationSpec(prompt=style_id, style=style_id, duration=20, tempo=tempo, seed=11, instrumental=True)
        out[style_id] = generate(spec, tag=False)
    return out


@pytest.mark.parametrize("style_id", ["pop", "edm", "boom_bap"])
def test_sections_measure_differently(renders, style_id):
    result = renders[style_id]
    summary = result.summary()
    sections = summary["sections"]
    assert len(sections) >= 3 and sections[0]["name"] == "intro"
    for entry in sections:
        assert entry["loudness_lufs"] is not None and entry["centroid_hz"] > 0
        assert entry["end_s"] > entry["start_s"]
    arrangement = summary["arrangement"]
    assert not arrangement["static"], arrangement
    # the loudest section at least 2 LU over the quietest, or a clearly different spectrum
    assert arrangement["loudness_spread_db"] >= 2.0 or arrangement["centroid_spread_pct"] >= 15.0, arrangement
    hook = max((s for s in sections if s["name"] in HOOKS), key=lambda s: s["loudness_lufs"])
    assert hook["loudness_lufs"] > sections[0]["loudness_lufs"]  # the chorus/drop is louder than the intro
    # the chorus/drop lifts over the verse/build by 1.5 LU or more (the old, static arrangement: 0.5-1.4)
    assert arrangement["hook_lift_db"] >= 1.5, arrangement


def test_a_track_with_one_texture_throughout_reads_as_static(renders):
    """The metric catches a static song: the chorus's audio tiled over the whole form."""
    result = renders["pop"]
    rate = result.track.sample_rate_hz
    chorus = next(s for s in result.score.sections if s.name == "chorus")
    one = result.track.mix[:, int(chorus.start_s * rate):int(chorus.end_s * rate)]
    tiled = one.repeat(1, int(result.track.mix.shape[-1] / one.shape[-1]) + 1)[:, : result.track.mix.shape[-1]]
    bar_s = result.score.beats_per_bar * 60.0 / result.score.tempo_bpm
    # sections of whole chorus lengths, so each holds the same audio
    fake = [type("S", (), {"name": "verse", "label": f"S{i}", "start_s": i * (chorus.end_s - chorus.start_s),
                           "end_s": (i + 1) * (chorus.end_s - chorus.start_s)})()
            for i in range(int(tiled.shape[-1] / rate // (chorus.end_s - chorus.start_s)))]
    assert len(fake) >= 2 and bar_s > 0
    assert arrangement_summary(section_metrics(tiled, rate, fake))["static"]
    assert not arrangement_summary(section_metrics(result.track.mix, rate, result.score.sections))["static"]


def test_silent_or_tiny_sections_are_not_measured():
    class S:
        name, label, start_s, end_s = "intro", "Intro", 0.0, 0.1

    entry = section_metrics(torch.zeros(2, 48000), 48000, [S()])[0]
    assert entry["loudness_lufs"] is None and entry["centroid_hz"] is None
    summary = arrangement_summary([entry])
    assert summary["sections_measured"] == 0 and summary["static"] and summary["hook_lift_db"] is None
