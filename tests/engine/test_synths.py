"""Torch synths: pitch, glides, envelopes, filter, stereo, drums, determinism, note helpers.

Every check measures the rendered audio (autocorrelation pitch, zero-crossing frequency
tracks, windowed RMS, spectra) and compares it with what the patch and the notes ask for.
Renders are short (a second or two) to keep the suite fast on a small CPU.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from studio.engine.instruments.sampler import Notes
from studio.engine.instruments.synths import (
    CONTROL_STEP_FRAMES, TILE_FRAMES, Envelope, Filter, Layer, Slides, SynthPatch, choke_notes, get_patch, hat_roll,
    list_patches, render_synth, resonant_filter,
)
from studio.engine.instruments.synths import _chord_groups

SAMPLE_RATES = (22050, 44100)


def midi_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def notes(*rows, **kwargs) -> Notes:
    """rows of (start_s, duration_s, pitch, velocity)."""
    array = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return Notes(array[:, 0], array[:, 1], array[:, 2], array[:, 3], **kwargs)


def mono(audio: torch.Tensor) -> np.ndarray:
    return audio.mean(dim=0).numpy().astype(np.float64)


def fundamental_hz(x: np.ndarray, sample_rate: int, expected_hz: float) -> float:
    """Pitch by autocorrelation, searching lags within +-40% of the expected period (an octave
    error would fail), refined with a parabola through the peak."""
    x = x - x.mean()
    n = len(x)
    spectrum = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spectrum * np.conj(spectrum))[:n] / (n - np.arange(n))
    lo, hi = int(sample_rate / (expected_hz * 1.4)), int(sample_rate / (expected_hz / 1.4)) + 1
    lag = lo + int(np.argmax(ac[lo:hi]))
    a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]
    return sample_rate / (lag + 0.5 * (a - c) / (a - 2 * b + c))


def frequency_track(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Instantaneous frequency from the spacing of upward zero crossings (linear interpolation
    between samples): returns (time of each crossing, frequency of the cycle ending there)."""
    below = x < 0
    idx = np.flatnonzero(below[:-1] & ~below[1:])
    t = (idx + x[idx] / (x[idx] - x[idx + 1])) / sample_rate
    return t[1:], 1.0 / np.diff(t)


def rms(x: np.ndarray, sample_rate: int, start_s: float, length_s: float = 0.01) -> float:
    a = int(start_s * sample_rate)
    return float(np.sqrt(np.mean(x[a:a + int(length_s * sample_rate)] ** 2)))


def centroid_hz(x: np.ndarray, sample_rate: int) -> float:
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    f = np.fft.rfftfreq(len(x), 1.0 / sample_rate)
    return float((f * power).sum() / power.sum())


def sine_patch(**amp) -> SynthPatch:
    return SynthPatch("test_sine", "lead", (Layer("sine", random_phase=False, amp=Envelope(**amp)),))


# -- pitch --

@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
@pytest.mark.parametrize(("patch", "pitch"), [("bass_808", 36), ("bass_808", 45.5), ("pluck", 57), ("pluck", 69)])
def test_fundamental_within_one_percent(patch, pitch, sample_rate):
    audio = render_synth(patch, notes((0.0, 0.8, pitch, 110)), sample_rate)
    x = mono(audio)[int(0.05 * sample_rate):int(0.45 * sample_rate)]
    expected = midi_hz(pitch)
    assert fundamental_hz(x, sample_rate, expected) == pytest.approx(expected, rel=0.01)


def _check_glide(x, sample_rate, glide_start_s, glide_ms, from_pitch, to_pitch):
    t, f = frequency_track(x, sample_rate)
    f_from, f_to = midi_hz(from_pitch), midi_hz(to_pitch)
    glide_s = glide_ms / 1000.0
    before = f[(t > glide_start_s - 0.15) & (t < glide_start_s - 0.01)]
    after = f[(t > glide_start_s + glide_s + 2.0 / f_to) & (t < glide_start_s + glide_s + 0.2)]
    assert np.allclose(before, f_from, rtol=0.01)
    assert np.allclose(after, f_to, rtol=0.01)
    # Half way in semitones, half way in time (+- one cycle, the tracker's resolution).
    direction = np.sign(to_pitch - from_pitch)
    semitones = 12.0 * np.log2(f / midi_hz(0.0))
    halfway = t[np.argmax(direction * (semitones - (from_pitch + to_pitch) / 2.0) > 0)]
    assert abs(halfway - (glide_start_s + glide_s / 2.0)) < 1.5 / min(f_from, f_to)
    during = semitones[(t > glide_start_s) & (t < glide_start_s + glide_s)]
    assert np.all(direction * np.diff(during) > -0.05)  # moves steadily towards the target


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
def test_808_legato_notes_glide_over_glide_ms(sample_rate):
    patch = get_patch("bass_808")
    # The second note starts while the first still holds: one voice, sliding up a fifth.
    audio = render_synth(patch, notes((0.0, 0.6, 36, 110), (0.5, 0.6, 43, 110)), sample_rate)
    _check_glide(mono(audio), sample_rate, 0.5, patch.glide_ms, 36, 43)


def test_slides_glide_to_the_target_pitch():
    sample_rate = 44100
    slides = Slides(target_pitch=np.array([31.0]), start_offset_s=0.4, glide_ms=150.0)
    audio = render_synth("bass_808", notes((0.0, 1.0, 38, 110)), sample_rate, slides=slides)
    _check_glide(mono(audio), sample_rate, 0.4, 150.0, 38, 31)


def test_legato_does_not_retrigger_and_a_gap_cuts_the_previous_voice():
    sample_rate = 22050
    legato = mono(render_synth("bass_808", notes((0.0, 0.6, 36, 110), (0.5, 0.6, 36, 110)), sample_rate))
    single = mono(render_synth("bass_808", notes((0.0, 1.1, 36, 110)), sample_rate))
    assert np.allclose(legato, single, atol=1e-6)  # same pitch, joined: one long note
    # Non-overlapping notes: the first voice's release tail is cut when the second starts.
    patch = replace(get_patch("bass_808"), layers=(replace(get_patch("bass_808").layers[0],
                                                           amp=Envelope(2.0, 4000.0, 0.0, 2000.0)),))
    cut = mono(render_synth(patch, notes((0.0, 0.3, 36, 110), (0.5, 0.3, 48, 110)), sample_rate))
    alone = mono(render_synth(patch, notes((0.0, 0.3, 36, 110)), sample_rate, num_frames=len(cut)))
    assert rms(alone, sample_rate, 0.6, 0.1) > 0.05
    assert fundamental_hz(cut[int(0.6 * sample_rate):int(0.8 * sample_rate)], sample_rate, midi_hz(48)) == \
        pytest.approx(midi_hz(48), rel=0.01)


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
def test_kick_pitch_envelope_falls_to_its_root(sample_rate):
    kick = get_patch("kick_808")
    body = replace(kick, layers=kick.layers[:1])  # without the noise click, zero crossings are clean
    x = mono(render_synth(body, notes((0.0, 0.1, 36, 120)), sample_rate))
    t, f = frequency_track(x, sample_rate)
    early = f[t < 0.02]
    late = f[(t > 0.4) & (t < 0.8)]
    root = midi_hz(kick.layers[0].root_pitch)
    assert early[0] > 2.0 * root and early.mean() > 1.5 * root
    assert np.allclose(late, root, rtol=0.03)
    assert np.all(np.diff(f[t < 0.3]) < 0.5)  # never rises


# -- envelopes --

@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
def test_attack_and_release_times(sample_rate):
    patch = sine_patch(attack_ms=100.0, decay_ms=100.0, sustain_level=1.0, release_ms=200.0)
    x = mono(render_synth(patch, notes((0.0, 0.5, 69, 127)), sample_rate))
    full = rms(x, sample_rate, 0.3, 0.05)
    assert rms(x, sample_rate, 0.045) / full == pytest.approx(0.5, abs=0.05)  # linear attack, half way
    assert rms(x, sample_rate, 0.12) / full == pytest.approx(1.0, abs=0.02)
    # Release: 60 dB down release_ms after note-off; the voice then ends.
    released_db = 20 * math.log10(rms(x, sample_rate, 0.695) / full)
    assert released_db == pytest.approx(-60.0, abs=3.0)
    assert rms(x, sample_rate, 0.55) < rms(x, sample_rate, 0.49) < 1.01 * full
    assert len(x) / sample_rate == pytest.approx(0.5 + 0.2 * 80 / 60, abs=0.01)


def test_one_shot_drums_ignore_note_off():
    short = render_synth("snare", notes((0.0, 0.01, 38, 100)))
    long = render_synth("snare", notes((0.0, 0.8, 38, 100)))
    assert torch.equal(short, long)


def test_clap_has_separate_bursts():
    sample_rate = 44100
    x = mono(render_synth("clap", notes((0.0, 0.2, 39, 120)), sample_rate))
    spacing_s = get_patch("clap").layers[0].burst_spacing_ms / 1000.0
    starts = [rms(x, sample_rate, k * spacing_s + 0.0005, 0.002) for k in range(3)]
    gaps = [rms(x, sample_rate, (k + 1) * spacing_s - 0.0025, 0.002) for k in range(3)]
    assert all(start > 3.0 * gap for start, gap in zip(starts, gaps))


def test_velocity_and_gain_scale_the_level():
    soft = mono(render_synth("pluck", notes((0.0, 0.3, 60, 40)), seed=1))
    loud = mono(render_synth("pluck", notes((0.0, 0.3, 60, 120)), seed=1))
    half = mono(render_synth("pluck", Notes([0.0], [0.3], [60], [120], gain=0.5), seed=1))
    assert np.abs(loud).max() > 2.5 * np.abs(soft).max()
    assert np.allclose(half, 0.5 * loud, atol=1e-6)


# -- filter --

def direct_form_reference(x, cutoff_per_tile, q, mode, sample_rate):
    """The RBJ biquad, one sample at a time, coefficients changing every tile."""
    y = np.zeros_like(x)
    x1 = x2 = y1 = y2 = 0.0
    for n in range(len(x)):
        w0 = 2 * math.pi * min(max(cutoff_per_tile[n // TILE_FRAMES], 20.0), 0.45 * sample_rate) / sample_rate
        c, alpha = math.cos(w0), math.sin(w0) / (2 * q)
        b = {"lowpass": ((1 - c) / 2, 1 - c, (1 - c) / 2), "highpass": ((1 + c) / 2, -(1 + c), (1 + c) / 2),
             "bandpass": (alpha, 0.0, -alpha)}[mode]
        out = (b[0] * x[n] + b[1] * x1 + b[2] * x2 + 2 * c * y1 - (1 - alpha) * y2) / (1 + alpha)
        x2, x1, y2, y1 = x1, x[n], y1, out
        y[n] = out
    return y


@pytest.mark.parametrize("mode", ["lowpass", "highpass", "bandpass"])
@pytest.mark.parametrize("resonance", [0.0, 0.8])
def test_filter_matches_a_sample_by_sample_biquad(mode, resonance):
    sample_rate = 44100
    frames = TILE_FRAMES * 24 + 50
    x = np.random.default_rng(3).uniform(-1, 1, frames)
    sweep = 40.0 * np.exp(np.linspace(0.0, math.log(18000 / 40.0), frames))  # 40 Hz -> 18 kHz
    y = resonant_filter(torch.tensor(x, dtype=torch.float32), torch.tensor(sweep), mode=mode,
                        resonance=resonance, sample_rate_hz=sample_rate).numpy()
    tiles = np.minimum(np.arange(-(-frames // TILE_FRAMES)) * TILE_FRAMES + TILE_FRAMES // 2, frames - 1)
    expected = direct_form_reference(x, sweep[tiles], Filter(resonance=resonance).q, mode, sample_rate)
    assert np.abs(y - expected).max() < 2e-5 * max(np.abs(expected).max(), 1.0)


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
def test_filter_gain_at_cutoff_follows_q(sample_rate):
    cutoff = 1000.0
    t = np.arange(sample_rate) / sample_rate
    sine = torch.tensor(np.sin(2 * math.pi * cutoff * t), dtype=torch.float32)
    for resonance in (0.0, 0.5, 1.0):
        y = resonant_filter(sine, cutoff, resonance=resonance, sample_rate_hz=sample_rate).numpy()
        gain_db = 20 * math.log10(np.abs(y[sample_rate // 2:]).max())
        assert gain_db == pytest.approx(20 * math.log10(Filter(resonance=resonance).q), abs=0.2)
    high = resonant_filter(sine, 8000.0, mode="highpass", sample_rate_hz=sample_rate).numpy()
    assert np.abs(high[sample_rate // 2:]).max() < 0.02  # 3 octaves below a 12 dB/octave high-pass


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
def test_brightness_rises_with_cutoff(sample_rate):
    def saw_through(cutoff_hz):
        layer = Layer("saw", random_phase=False, amp=Envelope(1.0, 100.0, 1.0, 50.0),
                      filter=Filter("lowpass", cutoff_hz, resonance=0.2))
        audio = render_synth(SynthPatch("t", "bass", (layer,)), notes((0.0, 0.5, 45, 110)), sample_rate)
        return centroid_hz(mono(audio)[int(0.05 * sample_rate):int(0.45 * sample_rate)], sample_rate)

    centroids = [saw_through(c) for c in (300.0, 1000.0, 3000.0)]
    assert centroids[0] < 0.8 * centroids[1] < 0.8 * 0.8 * centroids[2]


def test_pluck_filter_envelope_closes():
    sample_rate = 44100
    x = mono(render_synth("pluck", notes((0.0, 0.8, 60, 120)), sample_rate))
    early = centroid_hz(x[int(0.01 * sample_rate):int(0.06 * sample_rate)], sample_rate)
    late = centroid_hz(x[int(0.4 * sample_rate):int(0.45 * sample_rate)], sample_rate)
    assert early > 2.0 * late


# -- robustness, stereo, drums --

@pytest.mark.parametrize("patch", [p.name for p in list_patches()])
def test_every_patch_is_finite_and_bounded(patch):
    chord = notes((0.0, 0.3, 24, 127), (0.05, 0.3, 60, 127), (0.1, 0.3, 96, 127), (0.2, 0.3, 64.5, 1))
    audio = render_synth(patch, chord, 22050)
    assert audio.shape[0] == 2 and audio.shape[1] > 0
    assert bool(torch.isfinite(audio).all())
    assert 1e-3 < float(audio.abs().max()) < 2.0


def test_extreme_resonant_sweeps_stay_bounded():
    layer = Layer("saw", voices=3, detune_cents=30.0, stereo_width=1.0, amp=Envelope(0.0, 300.0, 0.5, 50.0),
                  filter=Filter("lowpass", 20.0, 1.0, 120.0, Envelope(0.0, 60.0, 0.0, 20.0), key_tracking=1.0))
    patch = SynthPatch("sweep", "lead", (layer,))
    rows = [(0.03 * k, 0.05, 30 + 3 * k, 127) for k in range(20)]
    audio = render_synth(patch, notes(*rows), 44100)
    assert bool(torch.isfinite(audio).all())
    assert float(audio.abs().max()) < 50.0  # resonance 1 is Q 11: sweeps ring loud but never run away
    assert float(audio[:, -200:].abs().max()) < 1e-2 * float(audio.abs().max())  # and the tail dies out


def test_supersaw_is_wide_and_808_is_mono():
    wide = render_synth("supersaw", notes((0.0, 0.5, 60, 110)))
    left, right = wide[0].numpy(), wide[1].numpy()
    assert np.corrcoef(left, right)[0, 1] < 0.9
    assert abs(np.log(np.sum(left ** 2) / np.sum(right ** 2))) < 0.5  # balanced
    narrow = render_synth("bass_808", notes((0.0, 0.5, 36, 110)))
    assert torch.equal(narrow[0], narrow[1])
    hard_left = render_synth("bass_808", Notes([0.0], [0.5], [36], [110], pan=-1.0))
    assert float(hard_left[1].abs().max()) < 1e-6 < float(hard_left[0].abs().max())


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
@pytest.mark.parametrize("patch", ["hat_closed", "hat_open"])
def test_hats_are_high_frequency(patch, sample_rate):
    x = mono(render_synth(patch, notes((0.0, 0.3, 42, 110)), sample_rate))
    power = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1.0 / sample_rate)
    edge = 5000.0 if sample_rate >= 44100 else 4000.0
    assert power[f > edge].sum() > 0.9 * power.sum()


def test_same_seed_same_audio_and_other_seeds_differ():
    hats = hat_roll(0.0, 0.5, 8, 140.0)
    for patch in ("hat_closed", "supersaw"):
        a = render_synth(patch, hats, seed=5)
        assert torch.equal(a, render_synth(patch, hats, seed=5))
        assert not torch.allclose(a, render_synth(patch, hats, seed=6), atol=1e-3)


@pytest.mark.parametrize("patch", ["pad", "lead", "bass_808", "hat_open"])
def test_block_size_does_not_change_the_audio(patch):
    chord = notes((0.0, 0.7, 48, 100), (0.1, 0.5, 55, 90), (0.3, 0.6, 60, 110), (0.9, 0.3, 52, 100))
    slides = Slides(np.array([np.nan, 50.0, np.nan, np.nan]), 0.2)
    whole = render_synth(patch, chord, 22050, seed=2, slides=slides)
    pieces = render_synth(patch, chord, 22050, seed=2, slides=slides, block_frames=TILE_FRAMES * 64)
    assert torch.allclose(whole, pieces, atol=1e-5)


@pytest.mark.parametrize("patch", ["pad", "supersaw"])
def test_chords_filtered_once_sound_like_their_notes_rendered_one_by_one(patch):
    """Notes that start and stop together share one voice (its tones summed, then one filter and
    envelope); with fixed start phases that is the sum of the notes rendered alone."""
    fixed = get_patch(patch)
    fixed = replace(fixed, layers=tuple(replace(layer, random_phase=False) for layer in fixed.layers))
    rows = [(0.1, 1.0, p, 100) for p in (57, 60, 64, 69)] + [(1.3, 0.7, p, 90) for p in (62, 65, 69)] + [(2.0, 0.5, 50, 100)]
    sr, frames = 22050, 22050 * 4
    together = render_synth(fixed, notes(*rows), sr, num_frames=frames)
    alone = sum(render_synth(fixed, notes(row), sr, num_frames=frames) for row in rows)
    assert float(alone.abs().max()) > 0.5
    assert torch.allclose(together, alone, atol=5e-5)
    # the chords really were grouped: 3 voice groups (two chord shapes and a single note)
    groups = _chord_groups(fixed, notes(*rows))
    assert groups is not None and sum(len(g[1]) for g in groups) == 3
    assert sorted(g[0] for g in groups) == [(0.0,), (0.0, 3.0, 7.0), (0.0, 3.0, 7.0, 12.0)]


def test_chords_are_not_grouped_where_voices_cannot_share_a_filter():
    chord = notes((0.0, 1.0, 60, 100), (0.0, 1.0, 64, 100))
    assert _chord_groups(get_patch("lead"), chord) is None  # mono: legato, not a chord
    assert _chord_groups(get_patch("pluck"), chord) is None  # its cutoff follows the key
    driven = replace(get_patch("pad"), layers=tuple(replace(layer, drive=2.0) for layer in get_patch("pad").layers))
    assert _chord_groups(driven, chord) is None  # tanh of a sum is not the sum of tanhs
    assert _chord_groups(get_patch("pad"), notes((0.0, 1.0, 60, 100), (0.0, 1.0, 64, 90))) is None  # velocities differ


def test_num_frames_and_empty_input():
    assert render_synth("pad", Notes([], [], [], [])).shape == (2, 0)
    fixed = render_synth("kick_808", notes((0.0, 0.1, 36, 100), (0.5, 0.1, 36, 100)), num_frames=1000)
    assert fixed.shape == (2, 1000)
    full = render_synth("kick_808", notes((0.0, 0.1, 36, 100), (0.5, 0.1, 36, 100)))
    assert torch.allclose(fixed, full[:, :1000], atol=1e-6)
    early = render_synth("pad", notes((-0.5, 1.0, 60, 100)), 22050)  # started before the render
    on_time = render_synth("pad", notes((0.0, 1.0, 60, 100)), 22050)
    assert bool(torch.isfinite(early).all())
    assert early.shape[1] == pytest.approx(on_time.shape[1] - 22050 * 0.5, abs=TILE_FRAMES)  # the first 0.5 s is cut
    wide = render_synth("pad", notes((0.0, 0.5, 60, 100)), 22050, dtype=torch.float64)
    assert wide.dtype == torch.float64
    assert torch.allclose(wide.float(), render_synth("pad", notes((0.0, 0.5, 60, 100)), 22050), atol=1e-4)


def test_notes_sound_the_same_wherever_they_fall_on_the_tile_grid():
    # Voices are rendered in rows aligned to the output tiles. Shifted by a whole number of
    # control steps (so envelopes and pitch curves see the same control points) but not of
    # tiles, a note must sound the same: phase, DPW difference (its first frame included) and
    # filter history do not depend on where the rows start.
    sample_rate = 44100
    layer = Layer("saw", voices=3, detune_cents=12.0, stereo_width=0.6, random_phase=False,
                  vibrato_rate_hz=6.0, vibrato_depth_cents=30.0, amp=Envelope(0.0, 200.0, 0.6, 50.0),
                  filter=Filter("lowpass", 1200.0, 0.6))
    steady = replace(layer, vibrato_rate_hz=0.0, vibrato_depth_cents=0.0)
    for patch in (SynthPatch("grid", "lead", (layer,)), SynthPatch("grid", "lead", (steady,))):
        for start in (0, 3 * TILE_FRAMES):
            a = render_synth(patch, notes((start / sample_rate, 0.3, 45, 100)), sample_rate, num_frames=20000)
            for shift in range(CONTROL_STEP_FRAMES, TILE_FRAMES, 3 * CONTROL_STEP_FRAMES):
                b = render_synth(patch, notes(((start + shift) / sample_rate, 0.3, 45, 100)), sample_rate,
                                 num_frames=20000 + shift)
                assert torch.allclose(a, b[:, shift:], atol=1e-4)


def test_long_notes_stay_exact_in_float32():
    # The phase of a long note is a float64 sum of exact per-row advances, not an accumulation of
    # float32 steps: float32 output stays close to float64 even after many seconds.
    notes_long = notes((0.0, 12.0, 50, 100), (0.5, 11.0, 57, 90))
    for patch in ("supersaw", "pad"):
        single = render_synth(patch, notes_long, 22050, seed=4)
        double = render_synth(patch, notes_long, 22050, seed=4, dtype=torch.float64)
        error = (single.double() - double).abs()
        assert float(error.max()) < 2e-4 * float(double.abs().max())


def test_overlap_add_paths_agree(monkeypatch):
    # Blocks with few voices add slices of tiles in place, others use index_add_: same audio.
    from studio.engine.instruments import synths
    chord = notes(*[(0.05 * k, 0.4, 40 + 3 * k, 100) for k in range(12)])
    outputs = []
    for runs in (0, 10**6):
        monkeypatch.setattr(synths, "_MAX_SLICE_RUNS", runs)
        for patch in ("pad", "hat_closed", "bass_808"):
            outputs.append(render_synth(patch, chord, 22050, seed=3, num_frames=22050 + 77,
                                        block_frames=TILE_FRAMES * 64))
    for slices, rows in zip(outputs[3:], outputs[:3]):
        assert slices.shape == (2, 22050 + 77) and slices.is_contiguous()
        assert torch.allclose(slices, rows, atol=1e-6)


# -- note helpers and the patch registry --

@pytest.mark.parametrize(("rate_per_beat", "count"), [(4, 4), (8, 8), (6, 6), (3, 3)])
def test_hat_roll_spacing_and_velocity_ramp(rate_per_beat, count):
    roll = hat_roll(1.0, 60.0 / 140.0, rate_per_beat, 140.0, (50, 110))
    step = 60.0 / 140.0 / rate_per_beat
    assert len(roll) == count
    assert np.allclose(np.diff(roll.start_s), step) and roll.start_s[0] == 1.0
    assert roll.velocity[0] == 50 and roll.velocity[-1] == 110 and np.all(np.diff(roll.velocity) >= 0)
    assert np.all(roll.pitch == 42) and np.all(roll.duration_s < step)
    shaped = hat_roll(0.0, 1.0, 8, 120.0, lambda position: 60 + 60 * position ** 2)
    assert shaped.velocity[0] == 60 and shaped.velocity[-1] == 120
    assert np.all(hat_roll(0.0, 1.0, 4, 120.0, 90).velocity == 90)


def test_choke_notes_ends_open_hats_at_the_next_closed_hat():
    open_hats = notes((0.0, 1.0, 46, 100), (2.0, 0.2, 46, 100))
    closed = notes((0.25, 0.1, 42, 100), (0.5, 0.1, 42, 100))
    choked = choke_notes(open_hats, closed)
    assert np.allclose(choked.duration_s, [0.25, 0.2])
    ringing = mono(render_synth("hat_open", open_hats, 22050))
    cut = mono(render_synth("hat_open", choked, 22050, num_frames=len(ringing)))
    assert rms(cut, 22050, 0.45, 0.05) < 0.05 * rms(ringing, 22050, 0.45, 0.05)


def test_patch_registry():
    names = {p.name for p in list_patches()}
    assert {"kick_808", "kick_punchy", "snare", "clap", "hat_closed", "hat_open", "rim", "perc", "bass_808",
            "supersaw", "pad", "pluck", "bass_synth", "lead", "arp"} <= names
    assert all(p.description and p.category for p in list_patches())
    assert list_patches()[0].category == "drums"
    with pytest.raises(KeyError):
        get_patch("theremin")
    with pytest.raises(ValueError):
        Layer("wavetable")
