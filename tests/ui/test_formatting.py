"""How measured tempo and key are set beside the asked ones."""

from studio.services.music.catalogue import MusicCatalogue
from studio.ui.formatting import key_agreement, tempo_agreement



def test_tempo_agreement_names_octave_errors():
    assert tempo_agreement(90, 90.4) == " ✓"
    assert "double time" in tempo_agreement(90, 180.0)
    assert "half time" in tempo_agreement(140, 70.0)
    assert tempo_agreement(120, 180.0) == ""  # a 3:2 reading is just another tempo
    assert tempo_agreement(0, 120.0) == "" and tempo_agreement(120, 0) == ""


def test_key_agreement_names_the_relative_key():
    def agree(asked, measured):
        return key_agreement(asked, measured, MusicCatalogue.relative_key(asked))

    assert agree("D_minor", "D_minor") == " ✓"
    assert agree("D_minor", "F_major") == " (its relative major: the same notes)"
    assert agree("C_major", "A_minor") == " (its relative minor: the same notes)"
    assert agree("C_minor", "Ab_major") == ""  # VI: another key
    assert agree("D_minor", "D_major") == ""
    assert agree("nonsense", "D_major") == ""
    assert MusicCatalogue.relative_key("Eb_minor") == "Gb_major" and MusicCatalogue.relative_key("x") is None
