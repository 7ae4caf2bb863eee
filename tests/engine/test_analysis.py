"""Audio analysis: tempo of click tracks and drum loops, key of rendered progressions and scales,
loudness against the mastering meter, spectral figures of sines, and quality metrics that move
with their inputs. Clips are short and mostly at 22.05 kHz."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from studio.engine.analysis.features import (
    AudioAnalysis,
    analyse_audio,
    estimate_key,
    estimate_tempo,
    quality_metrics,
)
from studio.engine.dsp.mastering import loudness_range_lu, master, measure_loudness_lufs, true_peak_dbtp
from studio.engine.instruments.sampler import Notes, render_notes
from studio.engine.composition.score import Chord, NoteEvent, Part, Score, Section
from studio.engine.instruments.soundfont import load_soundfont
from studio.engine.composition.spec import GenerationSpec, key_name, parse_key, resolve_spec

SR = 22050


@pytest.fixture(scope="module")
def sf():
    return load_soundfont(None)


def click_track(bpm: float, seconds: float = 8.0, sr: int = SR) -> torch.Tensor:
    """Mono 1.5 kHz blips (3 ms decay) on every beat."""
    x = torch.zeros(int(seconds * sr))
    t = torch.arange(int(0.01 * sr)) / sr
    blip = 0.5 * torch.sin(2 * math.pi * 1500 * t) * torch.exp(-t / 0.003)
    for beat in np.arange(0.0, seconds, 60.0 / bpm):
        start = int(round(beat * sr))
        end = min(x.numel(), start + blip.numel())
        x[start:end] += blip[: end - start]
    return x


def drum_loop(sf, bpm: float, *, swing: float = 0.0, seconds: float = 8.0, sr: int = SR) -> torch.Tensor:
    """GM kit: kick on 1 and 3, snare on 2 and 4, closed hats on the 8ths; swing 1.0 moves the
    off-beat hats to the last triplet of the beat."""
    spb = 60.0 / bpm
    start, pitch, velocity = [], [], []
    for beat in range(int(seconds / spb)):
        t = beat * spb
        start += [t, t, t + (0.5 + swing / 6.0) * spb]
        pitch += [36 if beat % 2 == 0 else 38, 42, 42]
        velocity += [110, 80, 70]
    notes = Notes(np.array(start), 0.1, np.array(pitch, float), np.array(velocity, float), is_drum=True)
    return render_notes(sf, notes, sr, num_frames=int(seconds * sr))


def triads(sf, key: str, chords: list[tuple[int, int]], program: int = 0, seconds_per_chord: float = 1.0) -> torch.Tensor:
    """Root-position triads over a bass note; chords are (scale step from the tonic, third in semitones)."""
    tonic, _mode = parse_key(key)
    base = 48 if tonic < 6 else 36
    start, pitch = [], []
    for i, (degree, third) in enumerate(chords):
        root = base + (tonic + degree) % 12
        for p in (root - 12, root, root + third, root + 7):
            start.append(i * seconds_per_chord)
            pitch.append(p)
    notes = Notes(np.array(start), seconds_per_chord, np.array(pitch, float), 90, program=program)
    return render_notes(sf, notes, SR)


def chord_progression(sf, key: str, program: int = 0, seconds_per_chord: float = 1.0) -> torch.Tensor:
    """I-IV-V-I (major) or i-iv-V-i (minor, with the leading tone)."""
    major = parse_key(key)[1] == "major"
    chords = [(0, 4), (5, 4), (7, 4), (0, 4)] if major else [(0, 3), (5, 3), (7, 4), (0, 3)]
    return triads(sf, key, chords, program, seconds_per_chord)


def natural_minor_progression(sf, key: str) -> torch.Tensor:
    """i-VI-VII-i, the rock/pop minor cadence: no leading tone, the lowered 7th in the VII."""
    assert parse_key(key)[1] == "minor"
    return triads(sf, key, [(0, 3), (8, 4), (10, 4), (0, 3)])


def scale_run(sf, key: str, program: int = 0, step: float = 0.25) -> torch.Tensor:
    """Up and down the scale (harmonic minor for minor keys), tonic held at both ends."""
    tonic, mode = parse_key(key)
    steps = [0, 2, 4, 5, 7, 9, 11] if mode == "major" else [0, 2, 3, 5, 7, 8, 11]
    pitches = [60 + tonic + s for s in steps] + [72 + tonic] + [60 + tonic + s for s in steps[::-1]]
    duration = np.full(len(pitches), step)
    duration[0], duration[-1] = 0.5, 1.0
    notes = Notes(np.arange(len(pitches)) * step, duration, np.array(pitches, float), 90, program=program)
    return render_notes(sf, notes, SR)


def mix(*tracks: torch.Tensor) -> torch.Tensor:
    tracks = [t if t.dim() == 2 else t.unsqueeze(0).expand(2, -1) for t in tracks]
    out = torch.zeros(2, max(t.shape[-1] for t in tracks))
    for t in tracks:
        out[:, : t.shape[-1]] += t
    return out


def sine(freq: float, seconds: float = 2.0, sr: int = SR, amplitude: float = 0.5) -> torch.Tensor:
    return amplitude * torch.sin(2 * math.pi * freq * torch.arange(int(seconds * sr), dtype=torch.float64) / sr).float()


# ---------------------------------------------------------------------------------------------
# Tempo
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bpm", [60, 90, 120, 128, 140, 174])
def test_click_track_tempo_within_one_bpm(bpm):
    estimate = estimate_tempo(click_track(bpm), SR)
    assert abs(estimate.bpm - bpm) <= 1.0, estimate
    assert 0.5 < estimate.confidence <= 1.0


@pytest.mark.parametrize("bpm,swing", [(60, 0.0), (90, 1.0), (128, 0.0), (140, 1.0), (174, 0.0), (174, 1.0)])
def test_drum_loop_tempo_straight_and_swung(sf, bpm, swing):
    estimate = estimate_tempo(drum_loop(sf, bpm, swing=swing), SR)
    assert abs(estimate.bpm - bpm) <= 1.0, estimate


def test_tempo_of_stereo_44k_mix_with_chords(sf):
    """The decimation path (44.1 kHz -> 11 kHz), stereo, with harmony over the drums."""
    drums = drum_loop(sf, 100, seconds=6.0, sr=44100)
    notes = Notes(np.repeat([0.0, 2.4, 4.8], 3), 2.4, [57, 60, 64, 53, 57, 60, 55, 59, 62], 80, program=0)
    audio = drums + 0.5 * render_notes(sf, notes, 44100, num_frames=drums.shape[-1])
    estimate = estimate_tempo(audio, 44100)
    assert abs(estimate.bpm - 100) <= 1.0, estimate


def test_tempo_stays_exact_over_a_long_track():
    """A period error of a fraction of a frame must not drift the pulse train off the beats."""
    sr = 11025
    loop = click_track(124, seconds=60.0 / 124 * 16, sr=sr)
    estimate = estimate_tempo(loop.repeat(12), sr)  # ~93 s
    assert abs(estimate.bpm - 124) <= 0.5, estimate


def test_tempo_of_silence_and_bad_input():
    assert estimate_tempo(torch.zeros(2, SR * 2), SR).bpm == 0.0
    assert estimate_tempo(torch.zeros(100), SR).confidence == 0.0
    with pytest.raises(TypeError):
        estimate_tempo(torch.zeros(100, dtype=torch.int16), SR)
    with pytest.raises(ValueError):
        estimate_tempo(torch.zeros(1, 2, 100), SR)
    with pytest.raises(ValueError):
        estimate_tempo(click_track(120), SR, min_bpm=200, max_bpm=100)


# ---------------------------------------------------------------------------------------------
# Key
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["C_major", "A_minor", "F#_major", "Eb_minor", "Bb_major", "E_minor"])
def test_key_of_chord_progressions(sf, key):
    estimate = estimate_key(chord_progression(sf, key), SR)
    tonic, mode = parse_key(key)
    assert (estimate.tonic_pitch_class, estimate.mode) == (tonic, mode), estimate
    assert estimate.key == key_name(tonic, mode)
    assert 0.0 < estimate.confidence <= 1.0 and estimate.correlation > 0.6
    assert len(estimate.chroma) == 12 and sum(estimate.chroma) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("key", ["A_minor", "C#_minor", "E_minor", "G_minor"])
def test_key_of_natural_minor_progressions(sf, key):
    """Minor without a leading tone (i-VI-VII-i) is read as minor, not as the key of its VI or III."""
    estimate = estimate_key(natural_minor_progression(sf, key), SR)
    assert (estimate.tonic_pitch_class, estimate.mode) == parse_key(key), estimate


@pytest.mark.parametrize("key,program", [("D_major", 48), ("C#_minor", 24), ("Ab_major", 0), ("F_minor", 0)])
def test_key_of_scales_on_other_instruments(sf, key, program):
    estimate = estimate_key(scale_run(sf, key, program), SR)
    assert (estimate.tonic_pitch_class, estimate.mode) == parse_key(key), estimate


@pytest.mark.parametrize("key", ["G_major", "Eb_minor"])
def test_key_holds_with_loud_drums(sf, key):
    """The harmonic-percussive mask keeps the drum kit's pitched thuds out of the chroma."""
    music = chord_progression(sf, key)
    drums = drum_loop(sf, 100, seconds=music.shape[-1] / SR)
    estimate = estimate_key(mix(music, 1.5 * drums), SR)
    assert (estimate.tonic_pitch_class, estimate.mode) == parse_key(key), estimate


def test_key_of_silence_is_unsure():
    estimate = estimate_key(torch.zeros(SR), SR)
    assert estimate.confidence == 0.0 and estimate.correlation == 0.0


# ---------------------------------------------------------------------------------------------
# Full analysis
# ---------------------------------------------------------------------------------------------


def test_loudness_and_peaks_agree_with_mastering(sf):
    audio = mix(chord_progression(sf, "A_minor"), drum_loop(sf, 110, seconds=4.0))
    analysis = analyse_audio(audio, SR)
    assert analysis.loudness_lufs == pytest.approx(float(measure_loudness_lufs(audio, SR)), abs=0.01)
    assert analysis.true_peak_dbtp == pytest.approx(float(true_peak_dbtp(audio, SR)), abs=0.01)
    assert analysis.loudness_range_lu == pytest.approx(float(loudness_range_lu(audio, SR)), abs=0.01)
    assert analysis.sample_peak_dbfs == pytest.approx(20 * math.log10(float(audio.abs().max())), abs=0.01)
    assert analysis.sample_peak_dbfs <= analysis.true_peak_dbtp + 0.01
    assert analysis.duration_s == pytest.approx(audio.shape[-1] / SR)
    assert analysis.channels == 2 and analysis.clipped_samples == 0
    assert analysis.dynamic_range_db > 0


@pytest.mark.parametrize("freq,sr", [(440.0, 22050), (1000.0, 22050), (3000.0, 44100)])
def test_spectral_figures_of_a_sine(freq, sr):
    analysis = analyse_audio(sine(freq, sr=sr), sr)
    assert analysis.spectral_centroid_hz == pytest.approx(freq, rel=0.02)
    assert analysis.spectral_bandwidth_hz < 0.1 * freq
    assert analysis.spectral_rolloff_hz == pytest.approx(freq, rel=0.03)
    assert analysis.sample_peak_dbfs == pytest.approx(-6.02, abs=0.02)
    assert analysis.rms_dbfs == pytest.approx(-9.03, abs=0.02)  # 0.5 / sqrt(2)
    assert max(analysis.band_energy.values()) > 0.95  # all in one band
    assert analysis.dynamic_range_db < 0.5


def test_brighter_sound_has_higher_centroid_and_rolloff():
    low = analyse_audio(sine(200.0) + sine(400.0, amplitude=0.2), SR)
    high = analyse_audio(sine(200.0) + sine(4000.0, amplitude=0.4), SR)
    assert high.spectral_centroid_hz > low.spectral_centroid_hz + 500
    assert high.spectral_rolloff_hz > low.spectral_rolloff_hz


def test_clipping_dc_and_json(sf):
    gen = torch.Generator().manual_seed(0)
    noisy = (torch.randn(2, SR * 2, generator=gen) * 0.8 + 0.05).clamp(-1.0, 1.0)
    analysis = analyse_audio(noisy, SR)
    assert analysis.clipped_samples == int((noisy.abs() >= 1.0).sum()) > 0
    assert analysis.dc_offset == pytest.approx(0.05, abs=0.01)
    data = json.loads(json.dumps(analysis.to_dict(), allow_nan=False))
    assert data["tempo"].keys() == {"bpm", "confidence"}
    assert {"key", "tonic_pitch_class", "mode", "confidence", "correlation"} <= data["key"].keys()
    for name in ("loudness_lufs", "true_peak_dbtp", "sample_peak_dbfs", "rms_dbfs", "spectral_centroid_hz",
                 "spectral_bandwidth_hz", "spectral_rolloff_hz", "dynamic_range_db", "clipped_samples"):
        assert isinstance(data[name], (int, float)), name


def test_silence_and_mono_input():
    silent = analyse_audio(torch.zeros(SR), SR)  # 1-D: mono
    assert isinstance(silent, AudioAnalysis) and silent.channels == 1
    assert silent.loudness_lufs == -math.inf and silent.true_peak_dbtp == -math.inf
    data = json.loads(json.dumps(silent.to_dict(), allow_nan=False))
    assert data["loudness_lufs"] is None and data["tempo"]["bpm"] == 0.0
    with pytest.raises(ValueError):
        analyse_audio(torch.zeros(6, 100), SR)


# ---------------------------------------------------------------------------------------------
# Quality metrics
# ---------------------------------------------------------------------------------------------

BPM = 120.0
SPB = 60.0 / BPM
PROGRESSION = [("C", "I", 0, (0, 4, 7)), ("F", "IV", 5, (5, 9, 0)), ("G", "V", 7, (7, 11, 2)), ("C", "I", 0, (0, 4, 7))]


def make_score(melody_pitches: list[int], key: str = "C_major", tempo: float = BPM) -> Score:
    """Four bars of I-IV-V-I in C with block chords, bass, drums and a quarter-note melody."""
    spec = resolve_spec(GenerationSpec(style="pop", key=key, tempo=120, duration=8, seed=1))
    chords, harmony, bass, drums = [], [], [], []
    for bar, (symbol, roman, root, pcs) in enumerate(PROGRESSION):
        beat = bar * 4.0
        chords.append(Chord(beat * SPB, 4 * SPB, beat, bar, symbol, roman, root, pcs))
        for pc in pcs:
            harmony.append(NoteEvent(beat * SPB, 4 * SPB, 60 + pc, 70, beat))
        bass.append(NoteEvent(beat * SPB, 4 * SPB, 36 + root, 90, beat))
        for b in range(4):
            drums.append(NoteEvent((beat + b) * SPB, 0.1, 36 if b % 2 == 0 else 38, 100, beat + b))
            drums.append(NoteEvent((beat + b + 0.5) * SPB, 0.1, 42, 70, beat + b + 0.5))
    melody = [NoteEvent(i * SPB, SPB, p, 95, float(i)) for i, p in enumerate(melody_pitches)]
    parts = [
        Part("keys", "harmony", "sf2", program=0, notes=harmony),
        Part("bass", "bass", "sf2", program=33, notes=bass),
        Part("drums", "drums", "sf2", is_drum=True, notes=drums),
        Part("lead", "melody", "sf2", program=73, notes=melody),
    ]
    section = Section("verse", "Verse 1", 0, 4, 0.0, 16 * SPB, 0.6)
    return Score(spec=spec, tempo_bpm=tempo, beats_per_bar=4, beat_unit=4, swing=0.0, sections=[section],
                 chords=chords, parts=parts)


# Chord tones on every beat, the same 4-note shape per bar moved with the chord.
GOOD_MELODY = [72, 76, 79, 76, 77, 81, 84, 81, 79, 83, 86, 83, 72, 76, 79, 76]


def random_melody(seed: int = 3) -> list[int]:
    rng = np.random.default_rng(seed)
    return [int(p) for p in rng.integers(55, 90, size=16)]


def render_score(sf, score: Score) -> torch.Tensor:
    notes = Notes.concat([part.to_notes() for part in score.parts])
    return render_notes(sf, notes, SR, num_frames=int(score.total_s * SR))


@pytest.fixture(scope="module")
def good(sf):
    score = make_score(GOOD_MELODY)
    audio, _ = master(render_score(sf, score), SR)
    return score, audio, analyse_audio(audio, SR)


def test_quality_metrics_shape(good):
    score, audio, analysis = good
    metrics = quality_metrics(score, audio, SR, analysis)
    assert list(metrics) == ["melodic_coherence", "harmonic_consistency", "rhythmic_stability",
                             "audio_fidelity", "overall_quality"]
    for name, value in metrics.items():
        assert isinstance(value, float) and 0.0 <= value <= 1.0 and round(value, 3) == value, name
    assert metrics["overall_quality"] > 0.6, metrics


def test_chord_tone_melody_is_more_coherent_than_random_pitches(sf, good):
    score, audio, analysis = good
    coherent = quality_metrics(score, audio, SR, analysis)["melodic_coherence"]
    scattered = make_score(random_melody())
    random_audio, _ = master(render_score(sf, scattered), SR)
    random_metrics = quality_metrics(scattered, random_audio, SR, analyse_audio(random_audio, SR))
    assert coherent > 0.8 and random_metrics["melodic_coherence"] < coherent - 0.3, (coherent, random_metrics)
    assert random_metrics["harmonic_consistency"] < quality_metrics(score, audio, SR, analysis)["harmonic_consistency"]


def test_harmonic_consistency_drops_when_the_audio_is_in_another_key(good):
    score, audio, analysis = good
    matching = quality_metrics(score, audio, SR, analysis)["harmonic_consistency"]
    wrong_key = make_score(GOOD_MELODY, key="F#_major")  # same notes, F# major requested
    assert quality_metrics(wrong_key, audio, SR, analysis)["harmonic_consistency"] < matching - 0.3


def test_rhythmic_stability_follows_the_score_tempo(good):
    score, audio, analysis = good
    assert abs(analysis.tempo.bpm - BPM) <= 1.0, analysis.tempo
    in_time = quality_metrics(score, audio, SR, analysis)["rhythmic_stability"]
    off = make_score(GOOD_MELODY, tempo=97.0)  # the score claims another tempo
    assert in_time > 0.8 and quality_metrics(off, audio, SR, analysis)["rhythmic_stability"] < in_time - 0.3


def test_clipped_noise_has_lower_fidelity_than_a_mastered_mix(good):
    score, audio, analysis = good
    clean = quality_metrics(score, audio, SR, analysis)["audio_fidelity"]
    gen = torch.Generator().manual_seed(1)
    noise = (torch.randn(audio.shape, generator=gen) * 2.0).clamp(-1.0, 1.0)
    noisy = quality_metrics(score, noise, SR, analyse_audio(noise, SR))
    assert clean > 0.8 and noisy["audio_fidelity"] < clean - 0.3, (clean, noisy)
    assert noisy["overall_quality"] < quality_metrics(score, audio, SR, analysis)["overall_quality"]


# The studio's own tracks (12 s, draft rate) measure at their spec tempo, not twice it: funk's
# 16th hats at 111 BPM once won as a 222 BPM pulse clipped to the 220 cap. Styles that still
# read at double/half time (lo-fi, R&B, reggae, classical piano at 2x; dnb and trap at 1/2) are
# listed in the issue #18 note, not here.
@pytest.mark.parametrize("style", ["funk", "pop", "house", "boom_bap", "country", "synthwave", "rock", "blues"])
def test_own_tracks_measure_at_their_spec_tempo(sf, style):
    from studio.engine.composition.composer import compose
    from studio.engine.pipeline.render import render_score as render_track

    score = compose(resolve_spec(GenerationSpec(style=style, duration=12.0, seed=5, audio_quality="draft")))
    audio = render_track(score, sf, sample_rate_hz=22050).mix
    estimate = estimate_tempo(audio, 22050)
    assert abs(estimate.bpm - score.tempo_bpm) <= 0.02 * score.tempo_bpm, (style, score.tempo_bpm, estimate)
