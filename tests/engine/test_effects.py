"""Effects: properties measured on the output, parametrised over sample rates.

Filters are checked against identities of their design (a peak filter has exactly gain_db at
its frequency, a shelf half of it, a 2nd-order low/high-pass a gain of q at its cutoff) and
against a plain per-sample biquad recursion; dynamics against the ratio and time constants they
are given; time effects against where their output must land.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from studio.engine.dsp.effects import (
    BitCrush,
    Chain,
    Chorus,
    Compressor,
    Delay,
    Gain,
    GuitarAmp,
    HighPassFilter,
    HighShelfFilter,
    LowPassFilter,
    LowShelfFilter,
    ParametricEQ,
    PeakFilter,
    Reverb,
    Saturation,
    SidechainDucker,
    StereoWidth,
    VinylCrackle,
    WowFlutter,
    apply_biquads,
    biquad_coefficients,
    fft_convolve,
    follow_envelope,
    tempo_synced_delay_ms,
)

SAMPLE_RATES = (22050, 44100, 48000)


def sine(freq_hz: float, sample_rate_hz: int, seconds: float = 1.0, amplitude: float = 1.0, channels: int = 2) -> torch.Tensor:
    t = torch.arange(int(seconds * sample_rate_hz), dtype=torch.float64) / sample_rate_hz
    return (amplitude * torch.sin(2 * math.pi * freq_hz * t)).float().repeat(channels, 1)


def tone_level_db(audio: torch.Tensor, freq_hz: float, sample_rate_hz: int, skip_s: float = 0.4) -> float:
    """Amplitude (dB) of the freq_hz component after the filter has settled (projection)."""
    y = audio[..., int(skip_s * sample_rate_hz) :].double()
    t = torch.arange(y.shape[-1], dtype=torch.float64) / sample_rate_hz
    component = (y * torch.exp(-2j * math.pi * freq_hz * t)).mean(-1)
    return float(20 * torch.log10(2 * component.abs()).flatten()[0])


def reference_biquad(x: np.ndarray, coefficients) -> np.ndarray:
    """Direct form I, one sample at a time: the definition the fast version must match."""
    b0, b1, b2, a1, a2 = coefficients
    y = np.zeros_like(x)
    x1 = x2 = y1 = y2 = 0.0
    for n, xn in enumerate(x):
        y[n] = b0 * xn + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
        x2, x1, y2, y1 = x1, xn, y1, y[n]
    return y


# --- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sample_rate_hz", SAMPLE_RATES)
@pytest.mark.parametrize(
    "effect, probe_hz, expected_db",
    [
        (PeakFilter(frequency_hz=1000, gain_db=6.0, q=1.0), 1000, 6.0),
        (PeakFilter(frequency_hz=2500, gain_db=-9.0, q=4.0), 2500, -9.0),
        (LowShelfFilter(frequency_hz=200, gain_db=-8.0), 200, -4.0),  # half the gain at the corner
        (LowShelfFilter(frequency_hz=500, gain_db=6.0), 25, 6.0),  # full gain far below
        (LowShelfFilter(frequency_hz=500, gain_db=6.0), 8000, 0.0),
        (HighShelfFilter(frequency_hz=3000, gain_db=5.0), 3000, 2.5),
        (HighShelfFilter(frequency_hz=2000, gain_db=5.0), 40, 0.0),
        (HighPassFilter(cutoff_frequency_hz=500), 500, 20 * math.log10(math.sqrt(0.5))),
        (HighPassFilter(cutoff_frequency_hz=120, q=2.0), 120, 20 * math.log10(2.0)),
        (LowPassFilter(cutoff_frequency_hz=2000), 2000, 20 * math.log10(math.sqrt(0.5))),
        (LowPassFilter(cutoff_frequency_hz=2000), 100, 0.0),
    ],
)
def test_filter_gain_at_probe_frequency(effect, probe_hz, expected_db, sample_rate_hz):
    out = effect(sine(probe_hz, sample_rate_hz), sample_rate_hz)
    assert tone_level_db(out, probe_hz, sample_rate_hz) == pytest.approx(expected_db, abs=0.05)


@pytest.mark.parametrize("sample_rate_hz", SAMPLE_RATES)
def test_pass_filters_attenuate_two_octaves_away(sample_rate_hz):
    low = LowPassFilter(cutoff_frequency_hz=1000)(sine(4000, sample_rate_hz), sample_rate_hz)
    high = HighPassFilter(cutoff_frequency_hz=1000)(sine(250, sample_rate_hz), sample_rate_hz)
    assert tone_level_db(low, 4000, sample_rate_hz) < -22.0  # 12 dB/octave
    assert tone_level_db(high, 250, sample_rate_hz) < -22.0


@pytest.mark.parametrize("frames", [3000, 3072, 40])  # partial last block, whole blocks, < 1 block
@pytest.mark.parametrize(
    "kind, freq_hz, gain_db, q",
    [("highpass", 20.0, 0.0, 0.5), ("peak", 80.0, 12.0, 12.0), ("lowshelf", 60.0, -10.0, 0.7), ("lowpass", 9000.0, 0.0, 3.0)],
)
def test_biquads_equal_the_sample_by_sample_recursion(kind, freq_hz, gain_db, q, frames):
    sample_rate_hz = 44100
    coefficients = biquad_coefficients(kind, freq_hz, sample_rate_hz, gain_db, q)
    x = np.random.default_rng(3).standard_normal((2, frames))
    expected = np.stack([reference_biquad(row, coefficients) for row in x])
    got = apply_biquads(torch.from_numpy(x), sample_rate_hz, [coefficients]).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-9 * np.abs(expected).max())


def test_parametric_eq_is_its_bands_in_series():
    sample_rate_hz = 48000
    bands = [HighPassFilter(40.0), PeakFilter(300.0, -4.0, 2.0), HighShelfFilter(8000.0, 3.0)]
    x = torch.randn(2, 9000, generator=torch.Generator().manual_seed(1))
    together = ParametricEQ(bands)(x, sample_rate_hz)
    one_by_one = Chain(bands)(x, sample_rate_hz)
    torch.testing.assert_close(together, one_by_one, atol=2e-5, rtol=0)


def test_filter_above_nyquist_is_rejected():
    with pytest.raises(ValueError, match="Nyquist"):
        LowPassFilter(cutoff_frequency_hz=12000)(torch.zeros(2, 100), 22050)


# --- dynamics -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sample_rate_hz", SAMPLE_RATES)
@pytest.mark.parametrize("ratio", [2.0, 4.0, 10.0])
def test_compressor_steady_state_follows_ratio(sample_rate_hz, ratio):
    comp = Compressor(threshold_db=-24.0, ratio=ratio, attack_ms=5.0, release_ms=80.0, knee_db=0.0)
    levels_db = (-12.0, -3.0)  # both above threshold
    out_db = []
    for level_db in levels_db:
        out = comp(sine(1000, sample_rate_hz, 0.6, 10 ** (level_db / 20)), sample_rate_hz)
        out_db.append(20 * math.log10(float(out[..., int(0.4 * sample_rate_hz) :].abs().max())))
    assert out_db[0] == pytest.approx(-24.0 + (levels_db[0] + 24.0) / ratio, abs=0.25)
    assert out_db[1] - out_db[0] == pytest.approx((levels_db[1] - levels_db[0]) / ratio, abs=0.1)


def test_compressor_leaves_quiet_signals_alone_and_applies_makeup():
    sample_rate_hz = 44100
    x = sine(440, sample_rate_hz, 0.5, 10 ** (-30 / 20))
    out = Compressor(threshold_db=-20.0, ratio=4.0, knee_db=6.0, makeup_gain_db=3.0)(x, sample_rate_hz)
    torch.testing.assert_close(out, x * 10 ** (3 / 20), atol=1e-6, rtol=1e-5)


def test_compressor_soft_knee_is_continuous_and_between_slopes():
    comp = Compressor(threshold_db=-20.0, ratio=4.0, knee_db=10.0)
    levels = torch.linspace(-40.0, 0.0, 4001, dtype=torch.float64)
    reduction = comp.gain_reduction_db(levels)
    assert float(reduction.diff().abs().max()) < 0.01  # no step anywhere
    hard = Compressor(threshold_db=-20.0, ratio=4.0, knee_db=0.0).gain_reduction_db(levels)
    assert bool((reduction >= hard - 1e-12).all())  # the knee starts compressing earlier
    assert float(reduction[levels <= -25].abs().max()) == 0.0
    torch.testing.assert_close(reduction[levels >= -15], hard[levels >= -15])


@pytest.mark.parametrize("sample_rate_hz", SAMPLE_RATES)
def test_envelope_time_constants(sample_rate_hz):
    rate = float(sample_rate_hz)
    attack, release = 0.010 * rate, 0.100 * rate
    step = torch.zeros(int(rate), dtype=torch.float64)
    step[: int(0.5 * rate)] = 1.0
    env = follow_envelope(step, attack, release)
    assert float(env[int(attack)]) == pytest.approx(1 - math.exp(-1), abs=0.01)  # 63 % after one tau
    # After the input stops: the exponential release, smoothed by the attack one-pole.
    t = release
    expected = (release * math.exp(-t / release) - attack * math.exp(-t / attack)) / (release - attack)
    assert float(env[int(0.5 * rate + t)]) == pytest.approx(expected, abs=0.01)
    assert float(env.max()) <= 1.0 + 1e-9


@pytest.mark.parametrize("sample_rate_hz", SAMPLE_RATES)
def test_sidechain_ducker_attenuates_while_the_key_plays(sample_rate_hz):
    rate = sample_rate_hz
    kick = torch.zeros(2, rate)
    hit = sine(60, rate, 0.1)[:, : int(0.1 * rate)] * torch.linspace(1, 0.2, int(0.1 * rate))
    for start_s in (0.25, 0.75):
        kick[:, int(start_s * rate) : int(start_s * rate) + hit.shape[-1]] = hit
    pad = torch.full((2, rate), 0.5)
    ducked = SidechainDucker(kick, depth_db=9.0, attack_ms=2.0, release_ms=60.0)(pad, rate)
    level_db = lambda t_s: 20 * math.log10(float(ducked[0, int(t_s * rate)]) / 0.5)  # noqa: E731
    assert level_db(0.2) == pytest.approx(0.0, abs=1e-4)  # before the first hit
    assert level_db(0.30) == pytest.approx(-9.0, abs=0.3)  # during a hit
    assert level_db(0.80) == pytest.approx(-9.0, abs=0.3)
    assert level_db(0.35 + 0.3) > -0.5  # recovered 5 release time constants later


# --- time effects -------------------------------------------------------------------------------


def impulse(frames: int, at: int = 0, channels: int = 2) -> torch.Tensor:
    x = torch.zeros(channels, frames)
    x[:, at] = 1.0
    return x


def decay_time_s(response: torch.Tensor, sample_rate_hz: int) -> float:
    """RT60 from the Schroeder energy decay curve, fitted between -5 and -25 dB (T20 x 3)."""
    energy = response.double() ** 2
    edc = torch.flip(torch.cumsum(torch.flip(energy, [-1]), -1), [-1])
    edc_db = 10 * torch.log10(edc / edc[0] + 1e-30)
    t5 = int((edc_db > -5).nonzero().max())
    t25 = int((edc_db > -25).nonzero().max())
    return 3.0 * (t25 - t5) / sample_rate_hz


@pytest.mark.parametrize("sample_rate_hz", SAMPLE_RATES)
def test_reverb_tail_grows_with_decay_time(sample_rate_hz):
    times = []
    for decay_s in (0.4, 1.0, 2.0):
        reverb = Reverb(decay_s=decay_s, damping=0.0, wet_level=1.0, dry_level=0.0)
        wet = reverb(impulse(int(2.5 * sample_rate_hz)), sample_rate_hz)
        times.append(decay_time_s(wet[0], sample_rate_hz))
        assert times[-1] == pytest.approx(decay_s, rel=0.15)
    assert times == sorted(times)


def test_reverb_damping_shortens_high_frequencies():
    sample_rate_hz = 44100
    ir = Reverb(decay_s=1.5, damping=1.0).impulse_response(sample_rate_hz, 1)[0]
    spectrum_early = torch.fft.rfft(ir[: sample_rate_hz // 4]).abs() ** 2
    spectrum_late = torch.fft.rfft(ir[sample_rate_hz // 2 : 3 * sample_rate_hz // 4]).abs() ** 2
    freqs = torch.fft.rfftfreq(sample_rate_hz // 4, 1 / sample_rate_hz)
    hf_share = lambda s: float(s[freqs > 4000].sum() / s.sum())  # noqa: E731
    assert hf_share(spectrum_late) < 0.5 * hf_share(spectrum_early)


def test_reverb_is_deterministic_per_seed_and_dry_passes():
    sample_rate_hz = 22050
    x = torch.randn(2, sample_rate_hz, generator=torch.Generator().manual_seed(0))
    a = Reverb(seed=7)(x, sample_rate_hz)
    assert torch.equal(a, Reverb(seed=7)(x, sample_rate_hz))
    assert not torch.allclose(a, Reverb(seed=8)(x, sample_rate_hz))
    ir = Reverb(seed=7).impulse_response(sample_rate_hz, 2)
    torch.testing.assert_close(ir.square().sum(-1), torch.ones(2))  # unit energy per channel
    assert not torch.allclose(ir[0], ir[1])  # decorrelated channels
    torch.testing.assert_close(Reverb(wet_level=0.0, dry_level=1.0)(x, sample_rate_hz), x)


@pytest.mark.parametrize("sample_rate_hz", SAMPLE_RATES)
def test_delay_places_echoes_at_the_delay_time(sample_rate_hz):
    delay = Delay(delay_ms=120.0, feedback=0.5, mix=0.5)
    step = round(0.120 * sample_rate_hz)
    out = delay(impulse(sample_rate_hz, at=100), sample_rate_hz)
    peaks = (out[0].abs() > 1e-7).nonzero().flatten().tolist()
    assert peaks[:4] == [100, 100 + step, 100 + 2 * step, 100 + 3 * step]
    torch.testing.assert_close(out[0, peaks[:4]], torch.tensor([0.5, 0.5, 0.25, 0.125]))
    assert float(out[0, peaks[-1]]) >= 0.5 * 1e-4  # stops at -80 dB, not before


def test_ping_pong_alternates_channels_and_tempo_sync():
    sample_rate_hz = 48000
    assert tempo_synced_delay_ms(120.0, beats=0.5) == pytest.approx(250.0)
    assert tempo_synced_delay_ms(100.0, beats=1.0, dotted=True) == pytest.approx(900.0)
    delay = Delay.tempo_synced(120.0, beats=0.5, feedback=0.6, mix=1.0, ping_pong=True)
    step = round(0.25 * sample_rate_hz)
    out = delay(impulse(2 * sample_rate_hz), sample_rate_hz)
    left = (out[0].abs() > 1e-7).nonzero().flatten().tolist()
    right = (out[1].abs() > 1e-7).nonzero().flatten().tolist()
    assert left[:3] == [step, 3 * step, 5 * step]
    assert right[:3] == [2 * step, 4 * step, 6 * step]
    assert float(out[1, 2 * step]) == pytest.approx(0.6 * float(out[0, step]))


def test_chorus_wet_path_stays_within_its_delay_range():
    sample_rate_hz = 44100
    chorus = Chorus(rate_hz=1.5, depth_ms=3.0, centre_delay_ms=8.0, mix=1.0)
    at = 20000
    out = chorus(impulse(30000, at), sample_rate_hz)
    heard = (out.abs() > 1e-6).nonzero()[:, 1]
    lo, hi = int(at + 0.005 * sample_rate_hz) - 1, int(at + 0.011 * sample_rate_hz) + 1
    assert int(heard.min()) >= lo and int(heard.max()) <= hi
    assert not torch.equal(out[0], out[1])  # quadrature LFOs
    x = torch.randn(2, 5000, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(Chorus(mix=0.0)(x, sample_rate_hz), x)


@pytest.mark.parametrize("sample_rate_hz", SAMPLE_RATES)
def test_wow_flutter_bends_pitch_by_the_given_cents(sample_rate_hz):
    wow = WowFlutter(wow_rate_hz=1.0, depth_cents=50.0, flutter_depth_cents=0.0)
    x = sine(1000, sample_rate_hz, 1.0, channels=1)
    out = wow(x, sample_rate_hz)[0].double()

    def frequency_near(t_s: float) -> float:  # zero crossings over 40 ms
        seg = out[int((t_s - 0.02) * sample_rate_hz) : int((t_s + 0.02) * sample_rate_hz)].numpy()
        crossings = np.nonzero((seg[:-1] < 0) & (seg[1:] >= 0))[0]
        frac = crossings - seg[crossings] / (seg[crossings + 1] - seg[crossings])
        return (len(frac) - 1) / ((frac[-1] - frac[0]) / sample_rate_hz)

    assert 1200 * math.log2(frequency_near(0.25) / 1000) == pytest.approx(50.0, abs=6.0)  # sine peak
    assert 1200 * math.log2(frequency_near(0.75) / 1000) == pytest.approx(-50.0, abs=6.0)
    still = WowFlutter(depth_cents=0.0, flutter_depth_cents=0.0)
    assert torch.equal(still(x, sample_rate_hz), x)


# --- colour ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("curve", ["tanh", "soft_clip"])
def test_saturation_is_bounded_and_linear_for_small_signals(curve):
    sample_rate_hz = 44100
    loud = torch.randn(2, 5000, generator=torch.Generator().manual_seed(4)) * 10
    out = Saturation(drive_db=12.0, output_gain_db=-3.0, curve=curve)(loud, sample_rate_hz)
    assert float(out.abs().max()) <= 10 ** (-3 / 20) + 1e-6
    quiet = sine(300, sample_rate_hz, 0.1, 1e-4)
    small = Saturation(drive_db=6.0, curve=curve)(quiet, sample_rate_hz)
    slope = 10 ** (6 / 20) * (1.0 if curve == "tanh" else 1.5)
    torch.testing.assert_close(small, quiet * slope, rtol=1e-4, atol=1e-9)


def test_guitar_amp_distorts_keeps_level_and_rolls_off_the_top():
    sample_rate_hz = 44100
    clean = sine(220, sample_rate_hz, 1.0, 0.1)
    amped = GuitarAmp(drive_db=30.0)(clean, sample_rate_hz)
    rms = lambda x: float(x.square().mean().sqrt())  # noqa: E731
    assert abs(rms(amped) / rms(clean) - 1.0) < 1e-3  # level-matched
    # clipped hard: odd harmonics appear (the 3rd within 24 dB of the fundamental, through the scoop), the crest factor falls
    assert tone_level_db(amped, 660, sample_rate_hz) > tone_level_db(amped, 220, sample_rate_hz) - 24.0
    assert tone_level_db(clean, 660, sample_rate_hz) < -100.0
    crest = lambda x: float(x[..., 4410:].abs().max()) / rms(x[..., 4410:])  # noqa: E731
    assert crest(amped) < crest(clean)
    # the cabinet: of two equal quiet tones (no clipping), 9 kHz comes out far below 1 kHz
    two = sine(9000, sample_rate_hz, 1.0, 0.01) + sine(1000, sample_rate_hz, 1.0, 0.01)
    cab = GuitarAmp(drive_db=0.0, scoop_db=0.0)(two, sample_rate_hz)
    assert tone_level_db(cab, 9000, sample_rate_hz) - tone_level_db(cab, 1000, sample_rate_hz) < -12.0
    silence = torch.zeros(2, 1000)
    assert torch.equal(GuitarAmp()(silence, sample_rate_hz), silence)


def test_stereo_width_zero_is_mono_and_one_is_identity():
    x = torch.randn(3, 2, 1000, generator=torch.Generator().manual_seed(5))
    mono = StereoWidth(width=0.0)(x, 44100)
    torch.testing.assert_close(mono[..., 0, :], mono[..., 1, :])
    torch.testing.assert_close(mono[..., 0, :], x.mean(-2))
    torch.testing.assert_close(StereoWidth(width=1.0)(x, 44100), x)
    wide = StereoWidth(width=2.0)(x, 44100)
    torch.testing.assert_close(wide.sum(-2), x.sum(-2))  # mid unchanged
    torch.testing.assert_close(wide[..., 0, :] - wide[..., 1, :], 2 * (x[..., 0, :] - x[..., 1, :]))


@pytest.mark.parametrize("bit_depth", [3, 6, 8])
def test_bitcrush_quantises_to_the_bit_depth(bit_depth):
    x = torch.linspace(-1.2, 1.2, 20000).repeat(2, 1)
    out = BitCrush(bit_depth=bit_depth)(x, 44100)
    steps = 2 ** (bit_depth - 1)
    levels = torch.unique(out)
    assert len(levels) == 2**bit_depth
    torch.testing.assert_close(levels * steps, torch.round(levels * steps))
    assert float(levels.min()) == -1.0 and float(levels.max()) == (steps - 1) / steps
    assert float((out - x.clamp(-1, 1 - 1 / steps)).abs().max()) <= 0.5 / steps + 1e-6


@pytest.mark.parametrize("sample_rate_hz", SAMPLE_RATES)
def test_bitcrush_sample_and_hold(sample_rate_hz):
    x = torch.randn(2, 4000, generator=torch.Generator().manual_seed(6))
    held = BitCrush(bit_depth=24, downsample_factor=4)(x, sample_rate_hz)
    blocks = held.reshape(2, -1, 4)
    assert torch.equal(blocks, blocks[..., :1].expand_as(blocks))
    target = BitCrush(bit_depth=24, target_sample_rate_hz=sample_rate_hz / 3)(x, sample_rate_hz)
    assert int((target.diff(dim=-1) != 0).sum(-1).max()) <= 4000 // 3 + 1


def test_vinyl_crackle_is_seeded_sparse_and_at_its_level():
    sample_rate_hz = 44100
    silence = torch.zeros(2, 2 * sample_rate_hz)
    crackle = VinylCrackle(density_per_s=10.0, level_db=-20.0, hiss_level_db=None, seed=3)
    a = crackle(silence, sample_rate_hz)
    assert torch.equal(a, VinylCrackle(density_per_s=10.0, level_db=-20.0, hiss_level_db=None, seed=3)(silence, sample_rate_hz))
    assert not torch.equal(a, VinylCrackle(density_per_s=10.0, level_db=-20.0, hiss_level_db=None, seed=4)(silence, sample_rate_hz))
    assert float(a.abs().max()) <= 2 * 10 ** (-20 / 20)  # two clicks may overlap at most
    onsets = ((a[0].abs() > 1e-6) & (torch.roll(a[0].abs(), 1) <= 1e-6)).sum()
    assert 10 <= int(onsets) <= 20  # ~20 clicks per channel in 2 s (a few too quiet / merged)
    hiss = VinylCrackle(density_per_s=0.0, hiss_level_db=-60.0)(silence, sample_rate_hz)
    assert 20 * math.log10(float(hiss.pow(2).mean().sqrt())) == pytest.approx(-60.0, abs=0.2)


# --- every effect: shapes, batches, determinism ----------------------------------------------


def all_effects(frames: int):
    key = torch.zeros(2, frames)
    key[:, frames // 3 : frames // 3 + 500] = 0.9
    return [
        Gain(-3.0),
        ParametricEQ([HighPassFilter(60.0), PeakFilter(900.0, 4.0, 1.5), LowShelfFilter(150.0, 2.0)]),
        Compressor(threshold_db=-30.0, ratio=3.0),
        SidechainDucker(key, depth_db=8.0),
        Reverb(decay_s=0.3),
        Delay(delay_ms=30.0, feedback=0.4),
        Chorus(),
        Saturation(drive_db=10.0, mix=0.7),
        StereoWidth(1.4),
        VinylCrackle(seed=1),
        WowFlutter(),
        BitCrush(bit_depth=10, target_sample_rate_hz=11025),
    ]


@pytest.mark.parametrize("index", range(12))
def test_effects_keep_shape_work_on_batches_and_repeat_exactly(index):
    sample_rate_hz, frames = 22050, 6000
    effect = all_effects(frames)[index]
    batch = torch.randn(3, 2, frames, generator=torch.Generator().manual_seed(9)) * 0.3
    out = effect(batch, sample_rate_hz)
    assert out.shape == batch.shape and out.dtype == batch.dtype
    assert bool(torch.isfinite(out).all())
    assert torch.equal(out, effect(batch, sample_rate_hz))  # same input -> identical output
    if not isinstance(effect, VinylCrackle):  # crackle differs per item by design
        torch.testing.assert_close(out[1], effect(batch[1], sample_rate_hz), atol=1e-5, rtol=1e-5)
    mono = effect(batch[0, 0], sample_rate_hz)
    assert mono.shape == (frames,) and bool(torch.isfinite(mono).all())


def test_chain_applies_in_order():
    x = torch.randn(2, 3000, generator=torch.Generator().manual_seed(10))
    chain = Chain([Gain(6.0), Saturation(drive_db=0.0)])
    torch.testing.assert_close(chain(x, 44100), torch.tanh(x * 10 ** (6 / 20)))


# --- in-place forms, chunked loops, batched convolution ----------------------------------------


@pytest.fixture
def small_chunks(monkeypatch):
    """CPU chunks of a few hundred frames and small FFT batches, so every chunked loop (and the
    overlap-add) takes many steps."""
    import studio.engine.dsp.effects as effects_module

    monkeypatch.setattr(effects_module, "_CPU_CHUNK_VALUES", 600)
    monkeypatch.setattr(effects_module, "_CPU_CHUNK_FRAMES", (300, 300))
    monkeypatch.setattr(effects_module, "_FFT_CALL_VALUES", 1 << 15)


@pytest.mark.parametrize("index", range(12))
def test_in_place_form_equals_the_call_however_it_is_chunked(index, request):
    sample_rate_hz, frames = 22050, 6000
    effect = all_effects(frames)[index]
    batch = torch.randn(3, 2, frames, generator=torch.Generator().manual_seed(11)) * 0.3
    called = effect(batch, sample_rate_hz)
    audio = batch.clone()
    assert effect.process_(audio, sample_rate_hz) is audio
    torch.testing.assert_close(audio, called, atol=1e-6, rtol=0)
    request.getfixturevalue("small_chunks")
    chunked = effect.process_(batch.clone(), sample_rate_hz)
    torch.testing.assert_close(chunked, called, atol=2e-5, rtol=0)  # chorus: float32 LFO per chunk start


def direct_convolution(x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """Causal convolution truncated to the input, float64, straight from the definition."""
    taps = h.shape[-1]
    batch = torch.broadcast_shapes(x.shape[:-1], h.shape[:-1])
    xs = x.double().expand(*batch, x.shape[-1]).reshape(-1, 1, x.shape[-1])
    hs = h.double().expand(*batch, taps).reshape(-1, 1, taps).flip(-1)
    rows = [torch.nn.functional.conv1d(torch.nn.functional.pad(xs[i : i + 1], (taps - 1, 0)), hs[i : i + 1])[0, 0] for i in range(xs.shape[0])]
    return torch.stack(rows).reshape(*batch, x.shape[-1])


@pytest.mark.parametrize("frames, taps", [(50_000, 3000), (40_001, 1), (70_000, 17), (900, 5000)])
def test_fft_convolve_equals_direct_convolution_in_blocks_and_in_place(frames, taps, small_chunks):
    gen = torch.Generator().manual_seed(frames + taps)
    x = torch.randn(2, 2, frames, generator=gen)
    h = torch.randn(2, taps, generator=gen) / math.sqrt(taps)
    expected = direct_convolution(x, h)
    scale = float(expected.abs().max())
    torch.testing.assert_close(fft_convolve(x, h).double(), expected, atol=2e-6 * scale, rtol=0)
    in_place = x.clone()
    assert fft_convolve(in_place, h, out=in_place) is in_place  # each block read before it is written
    torch.testing.assert_close(in_place.double(), expected, atol=2e-6 * scale, rtol=0)
    torch.testing.assert_close(fft_convolve(x[1, 0], h[0]).double(), expected[1, 0], atol=2e-6 * scale, rtol=0)


def test_reverb_send_adds_each_items_own_return(small_chunks):
    sample_rate_hz = 22050
    x = torch.randn(3, 2, 30_000, generator=torch.Generator().manual_seed(12))
    levels = [0.5, 0.0, 2.0]
    out = Reverb(decay_s=0.4, seed=3).send_(x.clone(), sample_rate_hz, levels)
    wet = Reverb(decay_s=0.4, seed=3, wet_level=1.0, dry_level=0.0)(x, sample_rate_hz)
    torch.testing.assert_close(out, x + torch.tensor(levels).view(3, 1, 1) * wet, atol=1e-5, rtol=0)
    with pytest.raises(ValueError):
        Reverb().send_(x[0], sample_rate_hz, [1.0])


def test_wow_flutter_read_position_is_the_running_sum_of_the_speed():
    sample_rate_hz, frames = 44100, 20 * 44100
    wow = WowFlutter(wow_rate_hz=1.5, depth_cents=40.0, flutter_rate_hz=7.0, flutter_depth_cents=10.0)
    t = torch.arange(frames, dtype=torch.float64) / sample_rate_hz
    cents = wow.depth_cents * torch.sin(2 * math.pi * wow.wow_rate_hz * t)
    cents += wow.flutter_depth_cents * torch.sin(2 * math.pi * wow.flutter_rate_hz * t + 1.0)
    drift = torch.cumsum(torch.pow(2.0, cents / 1200.0) - 1.0, dim=0)
    expected = (drift - drift.mean())[::16]
    offsets = wow.read_offsets(frames, sample_rate_hz)[: expected.shape[0]]
    assert float((offsets - expected).abs().max()) < 2e-3  # frames, over a drift of hundreds


def test_wow_flutter_reads_at_its_positions_held_at_the_ends(small_chunks):
    sample_rate_hz, frames = 22050, 20_000
    wow = WowFlutter(wow_rate_hz=3.0, depth_cents=300.0, flutter_depth_cents=0.0)  # reaches ~200 frames
    ramp = torch.arange(frames, dtype=torch.float32)  # linear interpolation of a ramp is exact
    out = wow(torch.stack([ramp, -ramp]), sample_rate_hz).double()
    grid = wow.read_offsets(frames, sample_rate_hz)
    n = torch.arange(frames)
    offset = torch.lerp(grid[n // 16], grid[n // 16 + 1], (n % 16).double() / 16)
    position = (n + offset).clamp(0, frames - 1)
    assert float(offset.abs().max()) > 150 and float(position.min()) == 0.0 and float(position.max()) == frames - 1
    torch.testing.assert_close(out[0], position, atol=5e-3, rtol=0)
    torch.testing.assert_close(out[1], -position, atol=5e-3, rtol=0)


def test_bitcrush_holds_earlier_frames_however_it_is_chunked(small_chunks):
    x = torch.randn(2, 5000, generator=torch.Generator().manual_seed(13))
    factor, steps = 2.7, 2.0**9
    out = BitCrush(bit_depth=10, downsample_factor=factor).process_(x.clone(), 44100)
    n = torch.arange(5000, dtype=torch.float64)
    held = torch.floor(torch.floor(n / factor) * factor).long()  # frames 0, 2, 5, 8, 10, ...
    torch.testing.assert_close(out, torch.round(x[:, held] * steps).clamp(-steps, steps - 1) / steps)


@pytest.mark.parametrize("ping_pong", [False, True])
def test_delay_over_many_chunks_is_the_sum_of_its_echoes(ping_pong, small_chunks):
    sample_rate_hz, frames = 22050, 60_000
    x = torch.randn(2, frames, generator=torch.Generator().manual_seed(14))
    out = Delay(delay_ms=30.0, feedback=0.4, mix=0.3, ping_pong=ping_pong).process_(x.clone(), sample_rate_hz)
    step, echoes = round(0.030 * sample_rate_hz), int(math.log(1e-4) / math.log(0.4)) + 1
    wet = torch.zeros(2, frames, dtype=torch.float64)
    for k in range(echoes):  # echo k + 1: k + 1 steps late, gain 0.4**k (ping-pong: the mono sum, alternating)
        lag = (k + 1) * step
        if ping_pong:
            wet[k % 2, lag:] += 0.4**k * x.double().mean(0)[:-lag]
        else:
            wet[:, lag:] += 0.4**k * x.double()[:, :-lag]
    torch.testing.assert_close(out.double(), 0.7 * x.double() + 0.3 * wet, atol=1e-5, rtol=0)
