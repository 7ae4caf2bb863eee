"""How measured tempo and key are set beside the asked ones."""

from studio.services.music import MusicService
from studio.ui.formatting import key_agreement, tempo_agreement

NAMES = MusicService.note_names()


def test_tempo_agreement_names_octave_errors():
    assert tempo_agreement(90, 90.4) == " ✓"
    assert "double time" in tempo_agreement(90, 180.0)
    assert "half time" in tempo_agreement(140, 70.0)
    assert tempo_agreement(120, 180.0) == ""  # a 3:2 reading is just another tempo
    assert tempo_agreement(0, 120.0) == "" and tempo_agreement(120, 0) == ""


def test_key_agreement_names_the_relative_key():
    assert key_agreement("D_minor", "D_minor", NAMES) == " ✓"
    assert key_agreement("D_minor", "F_major", NAMES) == " (its relative major: the same notes)"
    assert key_agreement("C_major", "A_minor", NAMES) == " (its relative minor: the same notes)"
    assert key_agreement("C_minor", "Ab_major", NAMES) == ""  # VI: another key
    assert key_agreement("D_minor", "D_major", NAMES) == ""
    assert key_agreement("nonsense", "D_major", NAMES) == ""
