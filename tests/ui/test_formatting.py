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


def test_low_confidence_shows_uncertain_not_a_tick():
    from studio.ui.formatting import KEY_CONFIDENCE_MIN, TEMPO_CONFIDENCE_MIN, confidence_text

    assert tempo_agreement(111, 111.2, confidence=0.26) == " (uncertain)"  # the 26 % of the issue
    assert tempo_agreement(111, 111.2, confidence=TEMPO_CONFIDENCE_MIN) == " ✓"
    assert "double time" in tempo_agreement(111, 222.0, confidence=0.8)
    assert key_agreement("D_minor", "D_minor", "F_major", confidence=KEY_CONFIDENCE_MIN / 2) == " (uncertain)"
    assert key_agreement("D_minor", "D_minor", "F_major", confidence=0.4) == " ✓"
    assert confidence_text(0.26, TEMPO_CONFIDENCE_MIN) == "confidence 0.26 · uncertain"
    assert confidence_text(0.62, TEMPO_CONFIDENCE_MIN) == "confidence 0.62" and confidence_text(None, 0.3) == ""
