"""Loudness you can trust: the engine's BS.1770 meter against an independent one (ffmpeg's
`ebur128` filter through PyAV), and generated tracks as their files decode, in every audio format:
-14 LUFS +- 0.5 and <= -1.0 dBTP on the independent meter."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

pytest.importorskip("av")
pyln = pytest.importorskip("pyloudnorm")

from studio.engine.composition.spec import GenerationSpec  # noqa: E402
from studio.engine.dsp.mastering import (  # noqa: E402
    TARGET_LUFS,
    TRUE_PEAK_CEILING_DBTP,
    default_glue,
    master,
    measure_loudness_lufs,
    true_peak_dbtp,
)
from studio.engine.pipeline.generate import generate  # noqa: E402
from tests.engine import ffmpeg_meter  # noqa: E402
from tests.engine.test_mastering import music_like  # noqa: E402

AUDIO = ("wav", "flac", "mp3", "ogg")
# Styles that differ in what makes their peaks: 808 sub and hats (trap), a lo-fi low-pass and
# bit-crush (lofi), dense near-Nyquist hats (techno, dnb), piano transients, distorted guitars.
STYLES = ("lofi_hip_hop", "trap", "techno", "dnb", "rock", "classical_piano", "jazz", "ambient")


@pytest.mark.parametrize("sample_rate_hz", (22050, 44100, 48000))
def test_true_peak_and_loudness_agree_with_ffmpeg_ebur128(sample_rate_hz):
    """On music, raw and mastered, the engine reads what ffmpeg's meter reads (ffmpeg resamples
    anything but 48 kHz to 48 kHz first, then oversamples 4x; the engine oversamples 8x+)."""
    raw = music_like(sample_rate_hz, 5.0) * 0.5
    mastered, report = master(music_like(sample_rate_hz, 5.0, seed=2), sample_rate_hz, glue=default_glue())
    for audio in (raw, mastered):
        reading = ffmpeg_meter.ebur128(audio.numpy(), sample_rate_hz)
        assert float(true_peak_dbtp(audio, sample_rate_hz)) == pytest.approx(reading.true_peak_dbtp, abs=0.05)
        assert float(measure_loudness_lufs(audio, sample_rate_hz)) == pytest.approx(reading.integrated_lufs, abs=0.05)
    assert ffmpeg_meter.ebur128(mastered.numpy(), sample_rate_hz).true_peak_dbtp <= TRUE_PEAK_CEILING_DBTP
    assert report["true_peak_dbtp"] <= TRUE_PEAK_CEILING_DBTP


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Short instrumental tracks per style, exported in every audio format: {style: result}.
    One at 44.1 kHz (the app's default quality, MP3 at 256 kbps), the rest in draft 22.05 kHz
    (MP3 at 160 kbps, where LAME also scales its input down)."""
    made = {}
    for i, style in enumerate(STYLES):
        spec = GenerationSpec(style=style, duration=4.0, seed=11 + i, instrumental=True, output_formats=list(AUDIO),
                              audio_quality="standard" if style == "techno" else "draft")
        made[style] = generate(spec, out_dir=tmp_path_factory.mktemp(style), basename="t", device="cpu", tag=False)
    return made


@pytest.mark.parametrize("style", STYLES)
def test_every_export_decodes_at_target_loudness_under_the_ceiling(exports, style):
    result = exports[style]
    report = result.track.master_report
    readings = {}
    for fmt in AUDIO:
        audio, rate = ffmpeg_meter.decode(result.files[fmt])
        assert rate == result.track.sample_rate_hz and audio.shape == result.track.mix.shape, fmt
        readings[fmt] = reading = ffmpeg_meter.ebur128(audio, rate)
        assert reading.true_peak_dbtp <= TRUE_PEAK_CEILING_DBTP, fmt
        assert reading.integrated_lufs == pytest.approx(TARGET_LUFS, abs=0.5), fmt
        # pyloudnorm, a third implementation, on the decoded file (frames x channels)
        assert pyln.Meter(rate).integrated_loudness(audio.T.astype(np.float64)) == pytest.approx(TARGET_LUFS, abs=0.5), fmt
    # What the engine reports of its master is what the independent meter reads of the files
    # (never less; a little more where ffmpeg's 48 kHz resampling trims content near Nyquist).
    assert readings["wav"].true_peak_dbtp - 0.02 <= report["true_peak_dbtp"] <= readings["wav"].true_peak_dbtp + 0.1
    assert report["integrated_lufs"] == pytest.approx(readings["wav"].integrated_lufs, abs=0.05)
    assert readings["flac"] == readings["wav"]  # the same samples
    assert math.isfinite(readings["mp3"].true_peak_dbtp) and math.isfinite(readings["ogg"].true_peak_dbtp)


def test_engine_reads_decoded_lossy_files_as_ffmpeg_does(exports):
    """The export's own check of its MP3/OGG (libsndfile decode, engine meter) agrees with
    ffmpeg's decoder and meter, or reads a little higher: ffmpeg resamples 44.1 kHz to 48 kHz
    before its meter, and that low-pass (from 21.4 kHz) can put an MP3's codec noise near
    Nyquist under its own sample peak (seen: 0.05 dB), which BS.1770 never allows."""
    from studio.engine.io.export import decoded_loudness

    for style in ("trap", "techno"):
        for fmt in ("mp3", "ogg"):
            lufs, peak = decoded_loudness(exports[style].files[fmt])
            reading = ffmpeg_meter.read_file(exports[style].files[fmt])
            assert reading.true_peak_dbtp - 0.02 <= peak <= reading.true_peak_dbtp + 0.1, (style, fmt)
            assert lufs == pytest.approx(reading.integrated_lufs, abs=0.05), (style, fmt)
            assert peak <= TRUE_PEAK_CEILING_DBTP


def test_peak_meter_reads_the_sample_peak_of_a_low_tone():
    # sanity of the PyAV harness itself: a 100 Hz tone at -6.02 dBFS reads -6.02 dBTP
    rate = 48000
    t = np.arange(2 * rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 100 * t)).astype(np.float32)
    reading = ffmpeg_meter.ebur128(np.stack([tone, tone]), rate)
    assert reading.true_peak_dbtp == pytest.approx(-6.02, abs=0.01)
    assert float(true_peak_dbtp(torch.from_numpy(np.stack([tone, tone])), rate)) == pytest.approx(-6.02, abs=0.01)
