"""Composition: form fitted to the duration, harmony in the key, voice leading, bass/melody/drums
behaviour, lyrics aligned to the vocal line, determinism, extend, score persistence."""

from __future__ import annotations

import pytest

from studio.engine.composition.composer import compose
from studio.engine.composition.score import Score
from studio.engine.composition.spec import GenerationSpec, LyricsOptions, resolve_spec
from studio.engine.composition.styles import styles
from studio.engine.composition.theory import (all_voicings_cost, parse_roman, scale_of, scale_pitches, voice_chord)


def resolved(**fields):
    fields.setdefault("seed", 3)
    fields.setdefault("instrumental", True)
    return resolve_spec(GenerationSpec(**fields))


# --- theory -------------------------------------------------------------------------------------

@pytest.mark.parametrize("roman, tonic, mode, symbol, pcs", [
    ("I", 0, "major", "C", (0, 4, 7)),
    ("vi7", 0, "major", "Am7", (9, 0, 4, 7)),
    ("IVmaj7", 0, "major", "Fmaj7", (5, 9, 0, 4)),
    ("V7", 9, "minor", "E7", (4, 8, 11, 2)),       # harmonic-minor dominant: G# leading tone
    ("bVII", 0, "major", "Bb", (10, 2, 5)),       # borrowed from the parallel minor
    ("iiø7", 0, "major", "Dm7b5", (2, 5, 8, 0)),
    ("iim7b5", 0, "major", "Dm7b5", (2, 5, 8, 0)),
    ("i", 2, "minor", "Dm", (2, 5, 9)),
])
def test_roman_numerals_spell_chords_in_the_key(roman, tonic, mode, symbol, pcs):
    chord = parse_roman(roman, tonic, mode)
    assert chord.symbol == symbol
    assert chord.pitch_classes == pcs


def test_extension_policies():
    assert parse_roman("vi7", 0, "major", extensions="triads").pitch_classes == (9, 0, 4)
    assert parse_roman("IV", 0, "major", extensions="add7").symbol == "Fmaj7"
    assert parse_roman("IVsus4", 0, "major", extensions="triads").symbol == "Fsus4"
    with pytest.raises(ValueError, match="Roman numerals"):
        parse_roman("H7", 0, "major")


def test_voice_leading_moves_less_than_root_position_blocks():
    progression = [parse_roman(r, 0, "major") for r in ("I", "vi", "IV", "V", "I", "iii", "vi", "ii")]
    led, previous = [], None
    for chord in progression:
        previous = voice_chord(chord.pitch_classes, previous, 52, 76)
        led.append(previous)
    blocks = [[60 + (pc - 0) % 12 for pc in c.pitch_classes] for c in progression]
    for voicing, chord in zip(led, progression):
        assert {p % 12 for p in voicing} == set(chord.pitch_classes)
        assert all(52 <= p <= 76 for p in voicing)
    assert all_voicings_cost(led) < all_voicings_cost([sorted(b) for b in blocks])


def test_scale_pitches_are_in_range_and_key():
    pitches = scale_pitches(9, scale_of("minor"), 57, 81)
    assert pitches[0] == 57 and pitches[-1] == 81
    assert {p % 12 for p in pitches} == {9, 11, 0, 2, 4, 5, 7}


# --- form ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("style_id", sorted(styles()))
@pytest.mark.parametrize("duration_s", [6.0, 45.0, 200.0])
def test_form_lands_on_the_requested_duration(style_id, duration_s):
    spec = resolved(style=style_id, duration=duration_s)
    score = compose(spec)
    bar_s = score.beats_per_bar * 60.0 / score.tempo_bpm
    # The audio lasts the requested time: whole bars, then a release/reverb tail of up to 1.5 s.
    reserve_s = min(1.5, 0.25 * duration_s)
    assert abs(score.music_end_s - (duration_s - reserve_s)) <= bar_s / 2 + 1e-6
    assert score.total_s == pytest.approx(max(duration_s, score.music_end_s + 0.5))
    # sections tile the bars without gaps
    bar = 0
    for section in score.sections:
        assert section.start_bar == bar and section.bars >= 1
        assert section.start_s == pytest.approx(bar * bar_s)
        bar += section.bars
    if duration_s >= 45:
        names = [s.name for s in score.sections]
        assert len(score.sections) >= 3
        assert names[0] == "intro" or style_id in ("classical_piano",)


def test_energy_arc_rises_to_a_chorus_and_falls_in_the_outro():
    score = compose(resolved(style="pop", duration=150))
    energy = {s.name: s.energy for s in score.sections}
    assert energy["chorus"] > energy["verse"] > energy["intro"]
    assert score.sections[-1].name == "outro" and score.sections[-1].energy < energy["chorus"]


# --- harmony, bass, melody, drums -------------------------------------------------------------------

def test_chords_cover_the_song_in_the_key_and_end_on_the_tonic():
    spec = resolved(style="pop", key="D_major", duration=60)
    score = compose(spec)
    assert score.chords[0].start_s == 0.0
    for a, b in zip(score.chords, score.chords[1:]):
        assert b.start_s == pytest.approx(a.start_s + a.duration_s, abs=1e-6)
    assert score.chords[-1].start_s + score.chords[-1].duration_s == pytest.approx(score.music_end_s, abs=1e-6)
    assert score.chords[-1].root_pitch_class == 2
    diatonic = {(2 + s) % 12 for s in scale_of("major")}
    roots_in_key = sum(c.root_pitch_class in diatonic for c in score.chords) / len(score.chords)
    assert roots_in_key > 0.8


def test_bass_plays_chord_tones_on_chord_changes():
    score = compose(resolved(style="rock", duration=40))
    bass = score.parts_in("bass")[0]
    hits = 0
    for chord in score.chords:
        on_change = [e for e in bass.notes if abs(e.beat - chord.beat) < 1e-6]
        if on_change:
            hits += on_change[0].pitch % 12 in chord.pitch_classes
    changes = sum(any(abs(e.beat - c.beat) < 1e-6 for e in bass.notes) for c in score.chords)
    assert changes > 0 and hits / changes > 0.9


def test_melody_targets_chord_tones_on_strong_beats_and_repeats_motifs():
    score = compose(resolved(style="pop", duration=60, complexity=0.5))
    melody = score.parts_in("melody")[0]
    assert melody.notes
    strong = [e for e in melody.notes if abs(e.beat - round(e.beat)) < 1e-6 and round(e.beat) % 2 == 0]
    def chord_at(beat):
        return [c for c in score.chords if c.beat <= beat + 1e-9][-1]
    in_chord = sum(e.pitch % 12 in chord_at(e.beat).pitch_classes for e in strong) / len(strong)
    assert in_chord > 0.7
    # motifs repeat: the interval/rhythm shape of some bar recurs
    bars: dict[int, list] = {}
    for e in melody.notes:
        bars.setdefault(int(e.beat // score.beats_per_bar), []).append(e)
    shapes = [tuple((round(e.beat % score.beats_per_bar, 3), b.pitch - e.pitch) for e, b in zip(notes, notes[1:]))
              for notes in bars.values() if len(notes) > 2]
    assert len(set(shapes)) < len(shapes)


@pytest.mark.parametrize("style_id", ["rock", "lofi_hip_hop", "synthwave"])
def test_minor_melodies_start_at_home_and_hold_chord_tones(style_id):
    """Each section's melody starts on a tonic-triad tone; a note held a beat or more is a tone of
    the chord it sounds over (of the chord it anticipates when it starts just before a change),
    and one held two beats or more a triad tone, so no long note sits on a tone foreign to the harmony."""
    spec = resolved(style=style_id, duration=90, key="E_minor", seed=5)
    score = compose(spec)
    melody = score.parts_in("melody")[0]
    tonic_triad = {4, 7, 11}

    def chord_at(beat):
        return [c for c in score.chords if c.beat <= beat + 1e-9][-1]

    spb = 60.0 / score.tempo_bpm
    firsts = [min((e for e in melody.notes if s.start_bar * score.beats_per_bar <= e.beat < (s.start_bar + s.bars) * score.beats_per_bar),
                  key=lambda e: e.beat, default=None) for s in score.sections]
    firsts = [e for e in firsts if e is not None]
    assert firsts and all(e.pitch % 12 in tonic_triad for e in firsts)
    long_notes = [e for e in melody.notes if e.duration_s >= 0.99 * spb]
    assert long_notes
    for e in long_notes:
        held_beats = e.duration_s / spb
        ringing = chord_at(e.beat + held_beats / 2)
        tones = ringing.triad_pitch_classes if held_beats >= 2.0 else ringing.pitch_classes
        assert e.pitch % 12 in tones, (e, ringing.symbol)


def test_drums_have_swing_fills_and_humanised_velocity():
    score = compose(resolved(style="lofi_hip_hop", duration=60))
    drums = [e for p in score.parts_in("drums") for e in p.notes]
    assert len({e.velocity for e in drums}) > 10
    swung = [e for e in drums if abs((e.beat % 0.5) - 0.25) < 1e-6]  # off-beat 16ths
    straight = [e.beat * 60.0 / score.tempo_bpm for e in swung]
    assert swung and sum(e.start_s > t + 0.005 for e, t in zip(swung, straight)) / len(swung) > 0.8


def test_complexity_and_creativity_change_the_music():
    simple = compose(resolved(style="jazz", duration=60, complexity=0.1, creativity=0.1))
    rich = compose(resolved(style="jazz", duration=60, complexity=0.9, creativity=0.9))
    count = lambda s: sum(len(p.notes) for p in s.parts)
    assert count(rich) > count(simple)
    extended = lambda s: sum(len(c.pitch_classes) > 3 for c in s.chords) / len(s.chords)
    assert extended(rich) > extended(simple)


def test_instrument_request_changes_the_program():
    piano = compose(resolved(style="pop", duration=20, primary_instruments=["piano"]))
    strings = compose(resolved(style="pop", duration=20, primary_instruments=["strings"]))
    assert [p.program for p in piano.parts] != [p.program for p in strings.parts]


# --- lyrics -------------------------------------------------------------------------------------------

def test_written_lyrics_are_aligned_one_note_per_syllable():
    spec = resolved(style="pop", duration=60, instrumental=False,
                    lyrics=LyricsOptions(theme="summer nights by the sea"))
    score = compose(spec)
    assert score.lyrics
    vocal = score.parts_in("vocals")[0]
    syllables = [s for line in score.lyrics for s in line.syllables]
    assert len(syllables) == len(vocal.notes)
    for syllable, note in zip(syllables, sorted(vocal.notes, key=lambda e: e.start_s)):
        assert syllable.start_s == pytest.approx(note.start_s)
        assert syllable.pitch == note.pitch
    starts = [line.start_s for line in score.lyrics]
    assert starts == sorted(starts)
    for line in score.lyrics:
        assert line.start_s < line.end_s <= score.music_end_s + 1e-6
        assert line.section.split()[0] in ("Verse", "Chorus", "Bridge", "Pre-Chorus", "Outro", "Intro", "Hook")


def test_given_lyrics_are_used_as_is():
    text = "[Verse 1]\nCity lights are calling me\nI can hear the melody\n[Chorus]\nWe are young tonight\n"
    score = compose(resolved(style="pop", duration=45, instrumental=False, lyrics=LyricsOptions(text=text)))
    sung = [line.text for line in score.lyrics]
    assert "City lights are calling me" in sung and "We are young tonight" in sung
    assert all(line in text for line in sung)


# --- determinism, extend, persistence ----------------------------------------------------------------

def _fingerprint(score: Score):
    return [(p.name, [(round(e.start_s, 6), e.pitch, e.velocity) for e in p.notes]) for p in score.parts]


def test_same_seed_same_score_other_seed_differs():
    a = compose(resolved(style="house", duration=30, seed=11))
    b = compose(resolved(style="house", duration=30, seed=11))
    c = compose(resolved(style="house", duration=30, seed=12))
    assert _fingerprint(a) == _fingerprint(b)
    assert _fingerprint(a) != _fingerprint(c)


def test_extend_keeps_the_old_sections_note_for_note():
    spec = resolved(style="synthwave", duration=40)
    old = compose(spec)
    longer = compose(spec.model_copy(update={"duration_s": 80.0}), continue_from=old)
    kept = [s for s in old.sections if s.name != "outro"]
    join_s = kept[-1].end_s
    assert [(s.name, s.bars) for s in longer.sections[:len(kept)]] == [(s.name, s.bars) for s in kept]
    assert abs(longer.music_end_s - 80.0) <= longer.beats_per_bar * 60 / longer.tempo_bpm + 1e-6
    for part in old.parts:
        before_old = [(e.start_s, e.pitch) for e in part.notes if e.start_s < join_s]
        match = [p for p in longer.parts if (p.name, p.stem) == (part.name, part.stem)]
        assert match, part.name
        assert [(e.start_s, e.pitch) for e in match[0].notes if e.start_s < join_s] == before_old


def test_score_round_trips_through_json_data():
    import json

    score = compose(resolved(style="rnb", duration=30, instrumental=False, lyrics=LyricsOptions(theme="late night")))
    data = json.loads(json.dumps(score.to_dict()))
    again = Score.from_dict(data)
    assert _fingerprint(again) == _fingerprint(score)
    assert again.lyrics == score.lyrics and again.chords == score.chords and again.spec == score.spec
    with pytest.raises(ValueError, match="schema version"):
        Score.from_dict({**data, "schema_version": 99})
