"""Waveform peaks: the min/max envelope of samples in memory and of a file read in blocks."""

import numpy as np
import pytest
import soundfile as sf

from studio.engine.io.peaks import envelope, read_peaks


def test_envelope_keeps_the_peaks():
    audio = np.zeros(100_000, dtype=np.float32)
    audio[50_000] = 0.9
    audio[70_000] = -0.7
    times, lows, highs = envelope(audio, 10_000, bins=500)
    assert len(times) == len(lows) == len(highs) == 500
    assert highs.max() == pytest.approx(0.9) and lows.min() == pytest.approx(-0.7)
    assert times[0] > 0 and times[-1] < 10.0


def test_read_peaks_in_blocks_matches_the_envelope_in_memory(tmp_path):
    sr = 8000
    audio = np.zeros((sr * 30, 2), dtype=np.float32)  # long enough to be read in several blocks
    audio[sr * 3, 0] = 0.8
    audio[sr * 25, 1] = -0.6
    path = tmp_path / "clicks.wav"
    sf.write(path, audio, sr, subtype="FLOAT")
    times, lows, highs, duration_s = read_peaks(path, bins=400)
    assert duration_s == pytest.approx(30.0)
    assert len(times) == len(lows) == len(highs) == 400
    expected = envelope(audio, sr, bins=400)
    np.testing.assert_allclose(times, expected[0])
    np.testing.assert_array_equal(lows, expected[1])
    np.testing.assert_array_equal(highs, expected[2])


def test_read_peaks_of_an_empty_file_says_so(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros((0, 1), dtype=np.float32), 8000)
    with pytest.raises(ValueError, match="no audio frames"):
        read_peaks(path)
