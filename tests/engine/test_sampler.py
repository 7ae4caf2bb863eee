"""Batched SoundFont playback: pitch, loops, envelope, velocity, pan, drums, determinism.

Measurements come from the rendered audio (autocorrelation pitch, windowed RMS), compared with
what the note and the SoundFont ask for. Synthetic fonts (pure sines with known loops and
envelopes) allow tight tolerances; the embedded GM font checks real instruments.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.engine.instruments import soundfont as sfmod
from studio.engine.instruments.sampler import ENVELOPE_STEP_FRAMES, Notes, render_notes, render_notes_batch
from studio.engine.instruments.soundfont import load_soundfont, parse_soundfont
from tests.engine.test_soundfont import build_sf2

SAMPLE_RATES = (22050, 44100)
PERIOD = 100  # samples per cycle of the synthetic sine: 441 Hz at 44.1 kHz
SINE_HZ = 44100 / PERIOD


@pytest.fixture(scope="module")
def gm():
    return load_soundfont()


def sine_font(sample_mode: int = 1, release_tc: int = -1200, exclusive_class: int = 0):
    """One 441 Hz sine (root key 69), looped over whole cycles, in preset 0:0.

    Preset 0:1 transposes it (coarse -12, fine +50); 0:2 halves the scale tuning (50 cents/key).
    """
    t = np.arange(44100)
    data = np.round(0.5 * 32767 * np.sin(2 * np.pi * t / PERIOD)).astype(np.int16)
    g = sfmod
    zone = {g.GEN_SAMPLE_MODES: sample_mode, g.GEN_RELEASE_VOL_ENV: release_tc, g.GEN_SAMPLE_ID: 0}
    if exclusive_class:
        zone[g.GEN_EXCLUSIVE_CLASS] = exclusive_class
    presets = [
        ("Sine", 0, 0, [{g.GEN_INSTRUMENT: 0}]),
        ("Sine transposed", 0, 1, [{g.GEN_COARSE_TUNE: -12, g.GEN_FINE_TUNE: 50, g.GEN_INSTRUMENT: 0}]),
        ("Sine half scale", 0, 2, [{g.GEN_SCALE_TUNING: -50, g.GEN_INSTRUMENT: 0}]),
    ]
    samples = [{"data": data, "rate": 44100, "root": 69, "loop": (4400, 8800)}]
    return parse_soundfont(build_sf2(samples, [("sine", [zone])], presets))


def short_loop_font(sample_mode: int = 1):
    """The sine with a loop of one cycle (100 samples): a tile of output at a high pitch wraps it
    many times."""
    t = np.arange(44100)
    data = np.round(0.5 * 32767 * np.sin(2 * np.pi * t / PERIOD)).astype(np.int16)
    zone = {sfmod.GEN_SAMPLE_MODES: sample_mode, sfmod.GEN_RELEASE_VOL_ENV: -1200, sfmod.GEN_SAMPLE_ID: 0}
    samples = [{"data": data, "rate": 44100, "root": 69, "loop": (4400, 4400 + PERIOD)}]
    return parse_soundfont(build_sf2(samples, [("sine", [zone])], [("Sine", 0, 0, [{sfmod.GEN_INSTRUMENT: 0}])]))


def note(pitch, *, duration=1.0, start=0.0, velocity=100, program=0, drum=False, pan=0.0):
    return Notes([start], [duration], [pitch], [velocity], program=program, is_drum=drum, pan=pan)


def fundamental_hz(x: np.ndarray, sample_rate: int, expected_hz: float) -> float:
    """Pitch by autocorrelation, searching lags within +-40% of the expected period (so an octave
    error would fail), refined with a parabola through the peak."""
    x = x - x.mean()
    n = len(x)
    spectrum = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spectrum * np.conj(spectrum))[:n] / (n - np.arange(n))
    lo, hi = int(sample_rate / (expected_hz * 1.4)), int(sample_rate / (expected_hz / 1.4)) + 1
    lag = lo + int(np.argmax(ac[lo:hi]))
    a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]
    return sample_rate / (lag + 0.5 * (a - c) / (a - 2 * b + c))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def window_rms(x: np.ndarray, sample_rate: int, start_s: float, end_s: float) -> float:
    return rms(x[int(start_s * sample_rate):int(end_s * sample_rate)])


# -- pitch --

@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
@pytest.mark.parametrize(("program", "pitch"), [(0, 69), (0, 45), (40, 57)])  # piano A4, piano A2, violin A3
def test_gm_notes_sound_at_their_pitch(gm, sample_rate, program, pitch):
    audio = render_notes(gm, note(pitch, program=program, duration=0.8), sample_rate)
    assert audio.shape[0] == 2 and audio.dtype == torch.float32
    mono = audio.sum(0).numpy()
    expected = 440.0 * 2 ** ((pitch - 69) / 12)
    measured = fundamental_hz(mono[int(0.15 * sample_rate):int(0.65 * sample_rate)], sample_rate, expected)
    assert measured == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
@pytest.mark.parametrize(("program", "pitch", "cents"), [
    (0, 69, 0), (0, 81, 1200), (0, 62, -700),  # plain keyboard
    (1, 69, -1200 + 50),  # coarse and fine tune
    (2, 81, 600),  # scale tuning 50 cents per key
])
def test_tuning_generators_set_the_playback_rate(sample_rate, program, pitch, cents):
    audio = render_notes(sine_font(), note(pitch, program=program, duration=0.6), sample_rate)
    expected = SINE_HZ * 2 ** (cents / 1200)
    measured = fundamental_hz(audio[0, int(0.1 * sample_rate):int(0.5 * sample_rate)].numpy(), sample_rate, expected)
    assert measured == pytest.approx(expected, rel=0.002)


# -- loops --

@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
def test_a_looped_sine_plays_seamlessly_to_the_end_of_the_note(sample_rate):
    duration_s = 3.0  # the sample holds 1 s, the loop 0.1 s: the note wraps many times
    audio = render_notes(sine_font(), note(72, duration=duration_s), sample_rate)[0].numpy()
    windows = [window_rms(audio, sample_rate, t, t + 0.05) for t in np.arange(0.1, duration_s - 0.05, 0.05)]
    assert min(windows) > 0.97 * max(windows)
    # A sine's largest step between samples is amplitude * 2 pi f / sr; a seam would jump more.
    freq = SINE_HZ * 2 ** (3 / 12)
    sustain = audio[int(0.1 * sample_rate):int((duration_s - 0.01) * sample_rate)]
    bound = np.abs(sustain).max() * 2 * np.pi * freq / sample_rate
    assert np.abs(np.diff(sustain)).max() <= 1.02 * bound


@pytest.mark.parametrize("program", [19, 48])  # church organ, string ensemble
def test_gm_looping_instruments_sustain_without_clicks(gm, program):
    sample_rate, duration_s = 22050, 3.0
    audio = render_notes(gm, note(60, program=program, duration=duration_s), sample_rate).sum(0).numpy()
    level = [window_rms(audio, sample_rate, t, t + 0.1) for t in np.arange(0.5, duration_s - 0.1, 0.1)]
    assert min(level) > 0.3 * float(np.mean(level))  # still sounding at the end of the note
    # No sample-to-sample jump in the sustain beyond what the (unlooped) start already has.
    steps = np.abs(np.diff(audio))
    attack = steps[: int(0.5 * sample_rate)].max()
    assert steps[int(0.5 * sample_rate):int(duration_s * sample_rate)].max() <= 1.5 * attack


def test_loop_until_release_plays_the_rest_of_the_sample_after_note_off():
    sample_rate = 44100
    held = note(69, duration=1.0, velocity=127)  # full level: the release reaches -96 dB at its end
    forever = render_notes(sine_font(sample_mode=1, release_tc=1200), held, sample_rate)
    then_out = render_notes(sine_font(sample_mode=3, release_tc=1200), held, sample_rate)
    # Mode 1 keeps looping through the 2 s release; mode 3 leaves the loop at note-off and stops
    # where the sample data ends (the loop sits 0.1-0.2 s into the 1 s sample).
    assert forever.shape[1] / sample_rate == pytest.approx(3.0, abs=0.02)
    assert 1.79 < then_out.shape[1] / sample_rate < 1.92
    tail = then_out[0].numpy()[int(0.9 * sample_rate):]
    bound = np.abs(tail).max() * 2 * np.pi * SINE_HZ / sample_rate
    assert np.abs(np.diff(tail)).max() <= 1.02 * bound  # seamless across the loop exit


@pytest.mark.parametrize("sample_mode", [1, 3])
@pytest.mark.parametrize("pitch", [93.0, 97.5])  # 4x and 5.2x the recorded pitch: 10-13 wraps per tile
def test_short_loops_play_seamlessly_at_high_pitches(sample_mode, pitch):
    sample_rate = 44100
    audio = render_notes(short_loop_font(sample_mode), note(pitch, duration=1.0, velocity=127), sample_rate)
    sustain = audio[0].numpy()[int(0.1 * sample_rate):int(0.95 * sample_rate)]
    freq = SINE_HZ * 2 ** ((pitch - 69) / 12)
    bound = np.abs(sustain).max() * 2 * np.pi * freq / sample_rate
    assert np.abs(np.diff(sustain)).max() <= 1.02 * bound  # no seam at any wrap
    assert fundamental_hz(sustain, sample_rate, freq) == pytest.approx(freq, rel=2e-3)
    assert np.abs(sustain).min() < 0.01 and np.abs(sustain).max() > 0.3


# -- envelope, velocity, pan --

def test_release_falls_96_db_over_the_release_time():
    sample_rate, release_s = 44100, 0.5  # release generator -1200 timecents
    audio = render_notes(sine_font(release_tc=-1200), note(69, duration=0.5, velocity=127), sample_rate)[0].numpy()
    held = window_rms(audio, sample_rate, 0.3, 0.5)
    halfway = window_rms(audio, sample_rate, 0.5 + release_s / 2 - 0.005, 0.5 + release_s / 2 + 0.005)
    assert 20 * np.log10(halfway / held) == pytest.approx(-48.0, abs=1.5)
    # At full velocity the voice stops where the release reaches -96 dB (quieter notes sooner).
    assert len(audio) / sample_rate == pytest.approx(0.5 + release_s, abs=0.01)


def test_gm_piano_rings_on_after_note_off_and_dies_away(gm):
    sample_rate = 22050
    audio = render_notes(gm, note(60, duration=0.5), sample_rate).sum(0).numpy()
    assert len(audio) > 0.6 * sample_rate  # a release tail follows the note
    tail = [window_rms(audio, sample_rate, t, t + 0.03) for t in np.arange(0.5, len(audio) / sample_rate - 0.03, 0.03)]
    assert tail[0] > 0
    assert all(b <= a * 1.05 for a, b in zip(tail, tail[1:]))  # keeps falling
    assert np.abs(audio[-50:]).max() < 1e-3 * np.abs(audio).max()


def test_velocity_follows_the_sf2_curve():
    font = sine_font()
    loud = render_notes(font, note(69, velocity=127), 22050)[0].numpy()
    soft = render_notes(font, note(69, velocity=64), 22050)[0].numpy()
    # Default modulator: 96 dB concave velocity curve = amplitude (velocity / 127)^2.
    ratio = window_rms(loud, 22050, 0.1, 0.9) / window_rms(soft, 22050, 0.1, 0.9)
    assert ratio == pytest.approx((127 / 64) ** 2, rel=0.001)


def test_gm_piano_gets_louder_with_velocity(gm):
    levels = [rms(render_notes(gm, note(60, velocity=v), 22050).numpy()) for v in (30, 70, 110)]
    assert levels[0] < levels[1] < levels[2]


@pytest.mark.parametrize("pan", [-1.0, -0.5, 0.0, 0.5, 1.0])
def test_equal_power_pan(pan):
    left, right = render_notes(sine_font(), note(69, pan=pan, duration=0.3), 22050).numpy()
    angle = (pan + 1) * np.pi / 4
    power = rms(left) ** 2 + rms(right) ** 2
    centre = render_notes(sine_font(), note(69, duration=0.3), 22050).numpy()
    assert power == pytest.approx(rms(centre[0]) ** 2 + rms(centre[1]) ** 2, rel=1e-3)
    if pan == -1.0:
        assert rms(right) < 1e-6 * rms(left)
    elif pan == 1.0:
        assert rms(left) < 1e-6 * rms(right)
    else:
        assert rms(right) / rms(left) == pytest.approx(np.tan(angle), rel=1e-3)


def test_notes_start_on_time():
    sample_rate = 44100
    audio = render_notes(sine_font(), note(69, start=0.25, duration=0.2), sample_rate)[0].numpy()
    onset = int(0.25 * sample_rate)
    assert np.all(audio[: onset - ENVELOPE_STEP_FRAMES] == 0)
    assert np.abs(audio[onset + 200: onset + 400]).max() > 0.1


# -- drums, exclusive classes --

def test_drum_kit_plays_a_kick(gm):
    kick = render_notes(gm, note(36, drum=True, duration=0.1), 22050)
    assert float(kick.abs().max()) > 0.05
    assert kick.shape[1] < 3 * 22050  # one-shot: ends with its sample


def test_exclusive_class_cuts_the_previous_note():
    font = sine_font(release_tc=1200, exclusive_class=1)
    sample_rate = 22050
    first = note(69, duration=2.0)
    second = note(57, start=0.5, duration=0.5)
    both = render_notes(font, Notes.concat([first, second]), sample_rate)
    alone = render_notes(font, second, sample_rate, num_frames=both.shape[1])
    leftover = (both - alone)[0].numpy()  # what remains of the first note
    assert window_rms(leftover, sample_rate, 0.3, 0.45) > 0.1
    assert window_rms(leftover, sample_rate, 0.53, 1.0) < 1e-4


# -- batching, determinism --

def _mix() -> Notes:
    rng = np.random.default_rng(3)
    n = 60
    return Notes(
        start_s=rng.uniform(0, 2.0, n), duration_s=rng.uniform(0.05, 0.8, n), pitch=rng.integers(36, 90, n),
        velocity=rng.integers(40, 127, n), program=rng.choice([0, 33, 48, 73], n), is_drum=rng.random(n) < 0.2,
        pan=rng.uniform(-1, 1, n),
    )


def test_same_input_gives_identical_output(gm):
    first = render_notes(gm, _mix(), 22050)
    second = render_notes(gm, _mix(), 22050)
    assert torch.equal(first, second)
    assert float(first.abs().max()) > 0.05


def test_block_size_does_not_change_the_result(gm):
    reference = render_notes(gm, _mix(), 22050)
    assert torch.equal(render_notes(gm, _mix(), 22050, block_frames=1 << 16), reference)


def test_batch_renders_each_track_like_a_single_render(gm):
    mix = _mix()
    half = len(mix) // 2
    a = Notes(**{k: v[:half] for k, v in vars(mix).items()})
    b = Notes(**{k: v[half:] for k, v in vars(mix).items()})
    batch = render_notes_batch(gm, [a, b], 22050)
    assert batch.shape[:2] == (2, 2)
    for i, part in enumerate((a, b)):
        assert torch.equal(batch[i], render_notes(gm, part, 22050, num_frames=batch.shape[2]))


def test_overlap_add_paths_give_identical_output(gm, monkeypatch):
    # Blocks of few voices add slices of tiles, others index_add_ rows: the same sums in the same
    # order, so the output is bit-identical (and contiguous, with a partial last tile).
    from studio.engine.instruments import sampler
    outputs = []
    for runs in (0, 10**6):
        monkeypatch.setattr(sampler, "_MAX_SLICE_RUNS", runs)
        outputs.append(render_notes_batch(gm, [_mix(), _mix()], 22050, num_frames=2 * 22050 + 77,
                                          block_frames=1 << 14))
    assert outputs[0].shape == (2, 2, 2 * 22050 + 77) and outputs[0].is_contiguous()
    assert torch.equal(outputs[0], outputs[1])
    assert float(outputs[0][:, :, -77:].abs().max()) > 0.0


def test_float64_output_matches_float32(gm):
    single = render_notes(gm, _mix(), 22050)
    double = render_notes(gm, _mix(), 22050, dtype=torch.float64)
    assert double.dtype == torch.float64
    assert torch.allclose(double.float(), single, atol=1e-4)


def test_no_notes_renders_silence(gm):
    empty = Notes([], [], [], [])
    assert render_notes(gm, empty).shape == (2, 0)
    assert torch.count_nonzero(render_notes(gm, empty, num_frames=100)) == 0


def test_notes_validate_their_shapes():
    with pytest.raises(ValueError, match="shape"):
        Notes([0.0, 1.0], [1.0], [60, 62], [100, 100])


def test_notes_before_zero_and_past_the_end_are_cut(gm):
    sample_rate = 22050
    whole = render_notes(sine_font(), note(69, start=0.0, duration=1.0), sample_rate)
    early = render_notes(sine_font(), note(69, start=-0.5, duration=1.0), sample_rate)
    assert early.shape[1] < whole.shape[1]
    assert float(early[:, :100].abs().max()) > 0.05  # already sounding at 0 s
    cropped = render_notes(sine_font(), note(69, duration=1.0), sample_rate, num_frames=1000)
    assert cropped.shape == (2, 1000)
    assert torch.equal(cropped, whole[:, :1000])
