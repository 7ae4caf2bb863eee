"""The stem mix (the Library's stem mixer plays it through the music service)."""

import numpy as np
import pytest

from studio.engine.dsp.mix import HEADROOM, mix_stems


def test_stem_mixer_solo_mute_and_mix():
    left = np.full((100, 2), 0.6, dtype=np.float32)
    right = np.full((50, 2), 0.5, dtype=np.float32)
    out = mix_stems({"a": left, "b": right}, {"a": 1.0, "b": 1.0})
    assert out.shape == (100, 2)
    assert np.abs(out).max() == pytest.approx(HEADROOM)  # 1.1 scaled down under -1 dBFS
    assert out[75, 0] == pytest.approx(0.6 * HEADROOM / 1.1)
    quiet = mix_stems({"a": left * 0.5, "b": right}, {"a": 1.0, "b": 0.5})
    assert np.allclose(quiet[:50], 0.55) and np.allclose(quiet[50:], 0.3)  # under the ceiling: untouched
    assert not mix_stems({"a": left}, {}).any()
    mono = mix_stems({"m": np.full(10, 0.1, dtype=np.float32), "s": np.zeros((10, 2), np.float32)}, {"m": 1.0})
    assert mono.shape == (10, 2) and np.allclose(mono, 0.1)
