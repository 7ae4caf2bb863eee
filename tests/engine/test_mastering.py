"""Loudness (BS.1770-4), true peak and mastering, checked against pyloudnorm and against the
properties the Recommendation defines. Parametrised over sample rates."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from studio.engine.dsp.effects import Compressor
from studio.engine.dsp.effects import _block_max
from studio.engine.dsp.mastering import (
    _BlockTruePeak,
    _frame_true_peak,
    _window_max,
    _window_mean,
    METER_MARGIN_DB,
    default_glue,
    dip_true_peaks,
    k_weighting_sections,
    limit_true_peak,
    loudness_range_lu,
    master,
    measure_loudness_lufs,
    true_peak_dbtp,
    true_peak_oversampling,
    true_peak_phases,
)

pyln = pytest.importorskip("pyloudnorm")

SAMPLE_RATES = (22050, 44100, 48000)


def music_like(sample_rate_hz: int, seconds: float = 6.0, level: float = 1.0, seed: int = 0) -> torch.Tensor:
    """Kick, chords with a slow swell, hi-hats and a quiet bridge: uneven loudness over time
    (exercises both gates), stereo with some side content."""
    gen = torch.Generator().manual_seed(seed)
    frames = int(seconds * sample_rate_hz)
    t = torch.arange(frames, dtype=torch.float64) / sample_rate_hz
    kick = torch.sin(2 * math.pi * 55 * t) * torch.exp(-(t % 0.5) * 30)
    chords = sum(torch.sin(2 * math.pi * f * t) for f in (220.0, 277.2, 329.6)) * 0.2 * (1 + 0.5 * torch.sin(2 * math.pi * 0.25 * t))
    hats = torch.randn(frames, generator=gen, dtype=torch.float64) * torch.exp(-(t % 0.25) * 80) * 0.3
    mix = kick + chords + hats
    bridge = (t > seconds * 0.5) & (t < seconds * 0.7)
    mix = torch.where(bridge, 0.05 * mix, mix)
    return (torch.stack([mix, 0.9 * mix + 0.1 * hats]) * level).float()


def signals(sample_rate_hz: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    frames = 5 * sample_rate_hz
    t = torch.arange(frames, dtype=torch.float64) / sample_rate_hz
    return {
        "noise": torch.randn(2, frames, generator=gen) * 0.1,
        "sine 60 Hz": (0.5 * torch.sin(2 * math.pi * 60 * t)).float().repeat(2, 1),
        "sine 997 Hz mono": (0.3 * torch.sin(2 * math.pi * 997 * t)).float().unsqueeze(0),
        "sine 9 kHz": (0.2 * torch.sin(2 * math.pi * 9000 * t)).float().repeat(2, 1),
        "music": music_like(sample_rate_hz, 5.0),
    }


@pytest.mark.parametrize("sample_rate_hz", SAMPLE_RATES)
def test_loudness_matches_pyloudnorm(sample_rate_hz):
    # pyloudnorm's "DeMan" filters are the BS.1770 ones we use: gating and blocks must agree
    # exactly. Its default meter uses RBJ-cookbook approximations of the K-weighting filters,
    # which read up to ~0.05 LU (48 kHz) to ~0.09 LU (22.05 kHz) lower across the spectrum.
    exact = pyln.Meter(sample_rate_hz, filter_class="DeMan")
    default = pyln.Meter(sample_rate_hz)
    for name, audio in signals(sample_rate_hz).items():
        ours = float(measure_loudness_lufs(audio, sample_rate_hz))
        data = audio.double().T.numpy()
        assert ours == pytest.approx(exact.integrated_loudness(data), abs=0.01), name
        assert ours == pytest.approx(default.integrated_loudness(data), abs=0.1), name


def test_k_weighting_reproduces_the_bs1770_table_at_48k():
    shelf, high_pass = k_weighting_sections(48000)
    np.testing.assert_allclose(shelf, [1.53512485958697, -2.69169618940638, 1.19839281085285, -1.69065929318241, 0.73248077421585], atol=1e-12)
    np.testing.assert_allclose(high_pass, [1.0, -2.0, 1.0, -1.99004745483398, 0.99007225036621], atol=1e-12)


@pytest.mark.parametrize("sample_rate_hz", SAMPLE_RATES)
def test_full_scale_1k_sine_in_one_channel_reads_minus_3_lufs(sample_rate_hz):
    t = torch.arange(3 * sample_rate_hz, dtype=torch.float64) / sample_rate_hz
    left = torch.sin(2 * math.pi * 997 * t).float()
    stereo = torch.stack([left, torch.zeros_like(left)])
    assert float(measure_loudness_lufs(stereo, sample_rate_hz)) == pytest.approx(-3.01, abs=0.1)


def test_gating_ignores_silence_and_gain_shifts_loudness():
    sample_rate_hz = 44100
    audio = music_like(sample_rate_hz, 4.0)
    padded = torch.cat([audio, torch.zeros(2, 3 * sample_rate_hz)], dim=-1)
    base = float(measure_loudness_lufs(audio, sample_rate_hz))
    with_silence = float(measure_loudness_lufs(padded, sample_rate_hz))
    # Ungated, 3 s of silence after 4 s would take 2.4 dB off; gated, only the few blocks that
    # straddle the edge count, and they count the same way in pyloudnorm.
    assert with_silence == pytest.approx(base, abs=0.5)
    exact = pyln.Meter(sample_rate_hz, filter_class="DeMan")
    assert with_silence == pytest.approx(exact.integrated_loudness(padded.double().T.numpy()), abs=0.01)
    assert float(measure_loudness_lufs(audio * 0.5, sample_rate_hz)) == pytest.approx(base - 6.0206, abs=1e-3)


def test_loudness_handles_silence_short_audio_and_batches():
    sample_rate_hz = 48000
    assert float(measure_loudness_lufs(torch.zeros(2, sample_rate_hz), sample_rate_hz)) == -math.inf
    assert float(measure_loudness_lufs(torch.zeros(2, 0), sample_rate_hz)) == -math.inf
    short = torch.randn(2, int(0.25 * sample_rate_hz), generator=torch.Generator().manual_seed(2)) * 0.1
    value = float(measure_loudness_lufs(short, sample_rate_hz))
    assert math.isfinite(value)  # one block over the whole clip
    long = short.repeat(1, 8)
    assert value == pytest.approx(float(measure_loudness_lufs(long, sample_rate_hz)), abs=0.5)
    batch = torch.stack([short.repeat(1, 8), 0.5 * short.repeat(1, 8)])
    values = measure_loudness_lufs(batch, sample_rate_hz)
    assert values.shape == (2,) and float(values[0] - values[1]) == pytest.approx(6.0206, abs=1e-3)


def test_loudness_range_of_steady_and_stepped_noise():
    sample_rate_hz = 22050
    noise = torch.randn(2, 20 * sample_rate_hz, generator=torch.Generator().manual_seed(3)) * 0.1
    assert float(loudness_range_lu(noise, sample_rate_hz)) < 1.0
    stepped = noise.clone()
    stepped[:, 10 * sample_rate_hz :] *= 10 ** (-10 / 20)
    assert float(loudness_range_lu(stepped, sample_rate_hz)) == pytest.approx(10.0, abs=1.0)
    assert float(loudness_range_lu(noise[:, : sample_rate_hz], sample_rate_hz)) == 0.0  # under 3 s


@pytest.mark.parametrize("sample_rate_hz", SAMPLE_RATES)
def test_true_peak_finds_peaks_between_samples(sample_rate_hz):
    # a quarter-sample-rate sine sampled 45 degrees off its peaks: samples at -3 dB, true 0 dB
    n = torch.arange(sample_rate_hz // 4, dtype=torch.float64)
    fade = torch.clamp(torch.minimum(n, n.flip(0)) / 200.0, max=1.0)  # no edge ringing
    audio = (torch.sin(math.pi / 2 * n + math.pi / 4) * fade).float().unsqueeze(0)
    assert 20 * math.log10(float(audio.abs().max())) == pytest.approx(-3.01, abs=0.01)
    assert float(true_peak_dbtp(audio, sample_rate_hz)) == pytest.approx(0.0, abs=0.3)
    low = (0.5 * torch.sin(2 * math.pi * 100 * n / sample_rate_hz)).float().repeat(2, 1)
    assert float(true_peak_dbtp(low, sample_rate_hz)) == pytest.approx(-6.02, abs=0.05)


# BS.1770-4 annex 2's example interpolation filter (4 phases x 12 taps): the reference the
# engine's filter must be at least as good as.
ANNEX_2_PHASES = np.array([
    (0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000, -0.0594482421875, 0.1373291015625,
     0.9721679687500, -0.1022949218750, 0.0476074218750, -0.0266113281250, 0.0148925781250, -0.0083007812500),
    (-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250, -0.1665039062500, 0.4650878906250,
     0.7797851562500, -0.2003173828125, 0.1015625000000, -0.0582275390625, 0.0330810546875, -0.0189208984375),
    (-0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625000000, -0.2003173828125, 0.7797851562500,
     0.4650878906250, -0.1665039062500, 0.0891113281250, -0.0517578125000, 0.0292968750000, -0.0291748046875),
    (-0.0083007812500, 0.0148925781250, -0.0266113281250, 0.0476074218750, -0.1022949218750, 0.9721679687500,
     0.1373291015625, -0.0594482421875, 0.0332031250000, -0.0196533203125, 0.0109863281250, 0.0017089843750),
])


def test_oversampling_reaches_352_8_khz_and_phases_have_unit_dc_gain():
    assert [true_peak_oversampling(r) for r in (22050, 24000, 32000, 44100, 48000, 96000)] == [16, 16, 12, 8, 8, 4]
    for factor in (4, 8, 16):
        phases = true_peak_phases(factor)
        assert phases.shape == (factor, 32)
        torch.testing.assert_close(phases.sum(dim=-1), torch.ones(factor, dtype=torch.float64))
        torch.testing.assert_close(phases, phases.flip(0).flip(1))  # linear phase: mirrored phases


@pytest.mark.parametrize("sample_rate_hz", SAMPLE_RATES)
def test_true_peak_filter_is_at_least_as_good_as_the_annex_2_example(sample_rate_hz):
    """Sines of known amplitude at several frequencies and phases: the engine's reading never
    overshoots and under-reads at most the grid error of 8x+ oversampling (0.11 dB at 0.4 fs),
    where the annex filter reads up to 0.19 dB over (passband ripple) and 0.07 dB under."""
    from scipy.signal import upfirdn

    n = np.arange(sample_rate_hz // 2)
    fade = np.clip(np.minimum(n, n[::-1]) / 400.0, 0.0, 1.0)  # no edge ringing
    annex_taps = ANNEX_2_PHASES.T.reshape(-1)  # the prototype, phases interleaved
    for cycles_per_frame in (0.02, 0.1, 0.2, 0.3, 0.4, 0.45):
        ours, annex = [], []
        for phase in np.linspace(0.0, np.pi, 7):
            x = 0.5 * np.sin(2 * np.pi * cycles_per_frame * n + phase) * fade
            annex_peak = max(np.abs(upfirdn(annex_taps, x, up=4)).max(), np.abs(x).max())
            ours.append(float(true_peak_dbtp(torch.from_numpy(x).float(), sample_rate_hz)) - 20 * math.log10(0.5))
            annex.append(20 * math.log10(annex_peak / 0.5))
        assert -0.11 <= min(ours) and max(ours) <= 0.005, cycles_per_frame
        assert max(map(abs, ours)) <= max(map(abs, annex)) + 0.001, cycles_per_frame


def test_true_peak_is_at_least_the_sample_peak_and_scales_with_gain():
    audio = torch.randn(3, 2, 20000, generator=torch.Generator().manual_seed(4)) * 0.2
    peaks = true_peak_dbtp(audio, 44100)
    sample_peaks = 20 * torch.log10(audio.abs().amax(dim=(-2, -1)).double())
    assert peaks.shape == (3,) and bool((peaks >= sample_peaks - 1e-9).all())
    torch.testing.assert_close(true_peak_dbtp(audio * 2, 44100), peaks + 6.0206, atol=1e-4, rtol=0)
    assert float(true_peak_dbtp(torch.zeros(2, 100), 44100)) == -math.inf


def master_inputs(sample_rate_hz: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(5)
    return {
        "quiet music": music_like(sample_rate_hz, level=0.01),
        "hot music": music_like(sample_rate_hz, level=3.0),  # clips the float range on input
        "hot noise": torch.randn(2, 6 * sample_rate_hz, generator=gen) * 1.5,
        "dense square": torch.sign(torch.sin(torch.arange(6 * sample_rate_hz) * (2 * math.pi * 150 / sample_rate_hz))).repeat(2, 1) * 0.9,
    }


@pytest.mark.parametrize("block_frames", [1, 5, 7, 16])
@pytest.mark.parametrize("frames", [1, 11, 100, 4097])
@pytest.mark.parametrize("oversampling", [4, 8])
def test_lazy_block_true_peak_equals_the_full_oversampled_computation(block_frames, frames, oversampling):
    """`_BlockTruePeak` interpolates only where a block's bound can matter: wherever it answers,
    it must agree with the full oversampled computation (`_frame_true_peak` over every frame),
    and its bound must never be below it."""
    gen = torch.Generator().manual_seed(frames * 31 + block_frames)
    audio = torch.randn((3, 2, frames), generator=gen) * torch.rand((3, 1, 1), generator=gen)
    full = _block_max(_frame_true_peak(audio, oversampling), block_frames)
    lazy = _BlockTruePeak(audio, block_frames, oversampling)
    assert bool((lazy.bound.reshape(full.shape) >= full).all())
    torch.testing.assert_close(lazy.peaks_above(0.0), full, rtol=1e-6, atol=1e-7)  # every block asked for
    threshold = full.amax(dim=-1) * 0.7
    partial = _BlockTruePeak(audio, block_frames, oversampling).peaks_above(threshold)
    above = full > threshold.unsqueeze(-1)
    torch.testing.assert_close(partial[above], full[above], rtol=1e-6, atol=1e-7)
    assert bool((partial[~above] <= threshold.unsqueeze(-1).expand_as(full)[~above]).all())


def test_true_peak_equals_the_full_computation_on_mastered_music():
    audio = music_like(44100, seconds=8.0)
    out, _ = master(audio, 44100, glue=default_glue())
    for x in (audio, out, torch.stack([audio, 0.5 * out])):
        full = 20.0 * torch.log10(_frame_true_peak(x, true_peak_oversampling(44100)).amax(dim=-1).double())
        torch.testing.assert_close(true_peak_dbtp(x, 44100), full, rtol=0, atol=1e-5)



@pytest.mark.parametrize("sample_rate_hz", SAMPLE_RATES)
def test_master_hits_target_under_the_ceiling(sample_rate_hz):
    for name, audio in master_inputs(sample_rate_hz).items():
        out, report = master(audio, sample_rate_hz)
        lufs = float(measure_loudness_lufs(out, sample_rate_hz))
        peak = float(true_peak_dbtp(out, sample_rate_hz))
        assert lufs == pytest.approx(-14.0, abs=0.5), name
        assert lufs == pytest.approx(-14.0, abs=0.1), name  # what the loop actually aims for
        assert peak <= -1.0 + 1e-6, name
        assert float(out.abs().max()) <= 1.0, name
        assert report["integrated_lufs"] == pytest.approx(lufs, abs=1e-6)
        assert report["true_peak_dbtp"] == pytest.approx(peak, abs=1e-6)
        assert report["sample_peak_dbfs"] <= report["true_peak_dbtp"] + 1e-9
        assert report["gain_applied_db"] == pytest.approx(-14.0 - report["input_integrated_lufs"], abs=12.0)
        assert report["warnings"] == []


def test_master_limits_peaks_without_flattening_the_music():
    sample_rate_hz = 44100
    audio = music_like(sample_rate_hz, level=3.0)
    out, report = master(audio, sample_rate_hz, target_lufs=-9.0)
    assert float(true_peak_dbtp(out, sample_rate_hz)) <= -1.0
    assert report["limiter_max_reduction_db"] > 1.0  # it had to limit
    assert report["loudness_range_lu"] > 3.0  # the quiet bridge is still quiet
    # gain changes are smooth: the limiter gain never jumps between adjacent frames
    ratio = (out / (audio * 10 ** (report["gain_applied_db"] / 20))).double()
    valid = audio.abs() > 1e-3
    assert float(ratio[valid].max()) <= 1.0 + 1e-4
    steps = ratio[0, 1:][valid[0, 1:] & valid[0, :-1]] - ratio[0, :-1][valid[0, 1:] & valid[0, :-1]]
    assert float(steps.abs().max()) < 0.01


def test_master_with_glue_and_other_targets():
    sample_rate_hz = 48000
    audio = music_like(sample_rate_hz, level=0.2)
    out, report = master(audio, sample_rate_hz, target_lufs=-16.0, true_peak_ceiling_dbtp=-2.0, glue=default_glue())
    assert report["integrated_lufs"] == pytest.approx(-16.0, abs=0.1)
    assert report["true_peak_dbtp"] <= -2.0
    out2, _ = master(audio, sample_rate_hz, glue=Compressor(threshold_db=-20.0, ratio=2.0))
    assert float(measure_loudness_lufs(out2, sample_rate_hz)) == pytest.approx(-14.0, abs=0.1)


def test_master_batch_mono_and_determinism():
    sample_rate_hz = 22050
    batch = torch.stack([music_like(sample_rate_hz, 4.0, level=0.02), music_like(sample_rate_hz, 4.0, level=2.0, seed=1)])
    out, report = master(batch, sample_rate_hz)
    assert out.shape == batch.shape
    assert [round(v, 1) for v in report["integrated_lufs"]] == [-14.0, -14.0]
    assert all(p <= -1.0 for p in report["true_peak_dbtp"])
    again, _ = master(batch, sample_rate_hz)
    assert torch.equal(out, again)
    single, _ = master(batch[1], sample_rate_hz)
    assert float(measure_loudness_lufs(single, sample_rate_hz)) == pytest.approx(report["integrated_lufs"][1], abs=0.1)
    mono, mono_report = master(batch[0, 0], sample_rate_hz)
    assert mono.shape == batch[0, 0].shape and mono_report["integrated_lufs"] == pytest.approx(-14.0, abs=0.1)


def test_master_silence_short_and_empty_inputs():
    sample_rate_hz = 44100
    silence = torch.zeros(2, sample_rate_hz)
    out, report = master(silence, sample_rate_hz)
    assert torch.equal(out, silence)
    assert report["integrated_lufs"] == -math.inf and report["gain_applied_db"] == 0.0
    assert report["warnings"] and not any(isinstance(v, float) and math.isnan(v) for v in report.values())

    short = torch.randn(2, int(0.2 * sample_rate_hz), generator=torch.Generator().manual_seed(6)) * 0.01
    out, report = master(short, sample_rate_hz)  # shorter than one 400 ms block
    assert bool(torch.isfinite(out).all())
    assert report["integrated_lufs"] == pytest.approx(-14.0, abs=0.5)
    assert report["true_peak_dbtp"] <= -1.0 and report["loudness_range_lu"] == 0.0

    empty, report = master(torch.zeros(2, 0), sample_rate_hz)
    assert empty.shape == (2, 0) and report["warnings"]


def test_unreachable_target_is_reported_not_forced():
    sample_rate_hz = 22050
    clicks = torch.zeros(2, 3 * sample_rate_hz)
    clicks[:, ::sample_rate_hz] = 1.0  # one click a second: no limiter makes this -14 LUFS
    out, report = master(clicks, sample_rate_hz)
    assert float(true_peak_dbtp(out, sample_rate_hz)) <= -1.0
    assert float(out.abs().max()) <= 1.0 and bool(torch.isfinite(out).all())
    assert any("could not reach" in w for w in report["warnings"])


@pytest.mark.parametrize("frames", [1, 7, 2205, 4410, 17640])  # down to one frame; 100 ms; one block
def test_master_any_short_length(frames):
    audio = torch.randn(2, frames, generator=torch.Generator().manual_seed(frames)) * 0.05
    out, report = master(audio, 44100)
    assert out.shape == audio.shape and bool(torch.isfinite(out).all())
    assert report["integrated_lufs"] == pytest.approx(-14.0, abs=0.5)
    assert report["true_peak_dbtp"] <= -1.0


def test_master_lands_the_meter_margin_under_the_ceiling():
    out, report = master(music_like(44100, level=3.0), 44100)
    assert -1.0 - METER_MARGIN_DB - 0.05 <= report["true_peak_dbtp"] <= -1.0 - METER_MARGIN_DB


def test_limit_true_peak_keeps_loudness_and_leaves_quiet_audio_alone():
    sample_rate_hz = 22050
    hot, _ = master(music_like(sample_rate_hz, 4.0), sample_rate_hz, true_peak_ceiling_dbtp=0.0)
    lufs = float(measure_loudness_lufs(hot, sample_rate_hz))
    limited, report = limit_true_peak(hot, sample_rate_hz, -2.0)
    assert float(true_peak_dbtp(limited, sample_rate_hz)) <= -2.0 - METER_MARGIN_DB + 1e-6
    assert float(measure_loudness_lufs(limited, sample_rate_hz)) == pytest.approx(lufs, abs=0.1)
    assert report["true_peak_dbtp"] == pytest.approx(float(true_peak_dbtp(limited, sample_rate_hz)), abs=1e-6)
    louder, report = limit_true_peak(hot, sample_rate_hz, -2.0, gain_db=0.5)  # gain first, then limit
    assert float(measure_loudness_lufs(louder, sample_rate_hz)) == pytest.approx(lufs + 0.5, abs=0.1)
    assert report["true_peak_dbtp"] <= -2.0
    quiet = hot * 0.1
    same, _ = limit_true_peak(quiet, sample_rate_hz, -2.0)
    assert same is quiet
    click = torch.zeros(2, sample_rate_hz)
    click[:, 100] = 0.003  # -50 dBTP but -90 LUFS, under the gate: no loudness to keep, only scaled
    assert float(measure_loudness_lufs(click, sample_rate_hz)) == -math.inf
    scaled, report = limit_true_peak(click, sample_rate_hz, -60.0)
    assert float(true_peak_dbtp(scaled, sample_rate_hz)) == pytest.approx(-60.0 - METER_MARGIN_DB, abs=1e-4)
    assert report["true_peak_dbtp"] == pytest.approx(-60.0 - METER_MARGIN_DB, abs=1e-4)


def test_dip_true_peaks_lowers_the_audio_only_where_the_reference_is_over():
    """A reference (standing in for a lossy decode) with one burst over the ceiling: the audio
    dips there by at least the excess, ramps in over the look-ahead, and is untouched away from it."""
    sample_rate_hz = 44100
    audio = music_like(sample_rate_hz, 4.0) * 0.3
    reference = audio.clone()
    at = 2 * sample_rate_hz
    reference[:, at : at + 200] *= 10.0 ** (6.0 / 20.0) / float(reference[:, at : at + 200].abs().max()) * 0.9  # ~+5 dBTP
    excess_db = float(true_peak_dbtp(reference[:, at - 500 : at + 700], sample_rate_hz)) - (-3.0)
    dipped, deepest_db = dip_true_peaks(audio, sample_rate_hz, reference, -3.0)
    assert deepest_db == pytest.approx(excess_db, abs=0.05)
    ratio = dipped[:, at : at + 200].abs().amax() / audio[:, at : at + 200].abs().amax()
    assert 20 * math.log10(float(ratio)) <= -excess_db + 0.01
    assert torch.equal(dipped[:, : at - int(0.05 * sample_rate_hz)], audio[:, : at - int(0.05 * sample_rate_hz)])
    # released (100 ms time constant): within 0.01 dB a second later
    torch.testing.assert_close(dipped[:, at + sample_rate_hz :], audio[:, at + sample_rate_hz :], rtol=1.2e-3, atol=0)
    same, none_db = dip_true_peaks(audio, sample_rate_hz, audio, 0.0)
    assert same is audio and none_db == 0.0


@pytest.mark.parametrize("span", [1, 2, 3, 7, 31, 64, 100])
def test_limiter_windows_match_torch_pooling(span):
    """The limiter's look-ahead window max/mean equal max_pool1d/avg_pool1d (stride 1)."""
    import torch.nn.functional as F

    x = torch.rand(3, 1, 5000, dtype=torch.float64, generator=torch.Generator().manual_seed(span))
    assert torch.equal(_window_max(x, span), F.max_pool1d(x, span, stride=1))
    assert torch.allclose(_window_mean(x, span), F.avg_pool1d(x, span, stride=1), rtol=0, atol=1e-12)
