"""Sung vocals: the lyrics of a real composed song sung on its melody (Piper joe voice + WORLD).

One 15 s pop song with written lyrics (four chorus lines, two of them the same text) is composed
and sung once per module; the sung pitch is measured back with WORLD's harvest on the rendered
stem. Long notes for the vibrato check come from a hand-written line.
"""

from __future__ import annotations

import numpy as np
import pyworld
import pytest
from scipy.signal import resample_poly

from studio.engine.instruments import singing as S
from studio.engine.composition.composer import compose
from studio.engine.composition.score import LyricLine, Syllable
from studio.engine.composition.spec import GenerationSpec, resolve_spec
from studio.engine.instruments.voice import (DEFAULT_VOICE_ID, FEMALE_VOICE_ID, VoiceSettings,
                                             estimate_formant_shift)

SR = 44100
TRACK_SR = 16000  # pitch is measured at 16 kHz: faster, and the sung range is under 800 Hz


def midi_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def track(audio: np.ndarray, sample_rate_hz: int) -> tuple[np.ndarray, np.ndarray]:
    x = resample_poly(audio.astype(np.float64), TRACK_SR, sample_rate_hz)
    return pyworld.harvest(x, TRACK_SR, f0_floor=120.0, f0_ceil=900.0, frame_period=5.0)


def envelope_profile_db(audio: np.ndarray, sample_rate_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean CheapTrick envelope (dB) of the voiced frames on a log grid, 150 Hz - 8 kHz.

    `voice.envelope_profile` is made for speech: its tracker folds notes over 0.75 octave above
    the median back down, which smears the envelope of a sung melody; here harvest gets the sung
    range. (A spectral centroid is no good measure of a formant shift at sung pitches: the first
    harmonics sample the steep low end of the male envelope, so it moves either way; the shift
    that maps one envelope profile onto the other is what `estimate_formant_shift` finds.)
    """
    x = audio.astype(np.float64)
    f0, times = pyworld.harvest(x, sample_rate_hz, f0_floor=120.0, f0_ceil=900.0, frame_period=5.0)
    sp = pyworld.cheaptrick(x, f0, times, sample_rate_hz)
    freqs = np.linspace(0.0, sample_rate_hz / 2.0, sp.shape[1])
    grid = np.geomspace(150.0, 8000.0, 64)
    return grid, np.interp(grid, freqs, 10.0 * np.log10(np.maximum(sp[f0 > 0], 1e-30)).mean(axis=0))


@pytest.fixture(scope="module")
def score():
    spec = GenerationSpec(style="pop", duration=15, instrumental=False,
                          lyrics={"enabled": True, "theme": "summer nights"}, seed=3)
    result = compose(resolve_spec(spec))
    assert result.lyrics, "the composer wrote no lyrics"
    return result


@pytest.fixture(scope="module")
def stem(score):
    frames = int(round(score.total_s * SR))
    progress: list[float] = []
    audio = S.sing(score.lyrics, sample_rate_hz=SR, num_frames=frames,
                   progress=lambda fraction, stage: progress.append(fraction))
    return audio, progress


@pytest.fixture(scope="module")
def stem_f0(stem):
    return track(stem[0], SR)


@pytest.fixture(scope="module")
def first_lines(score):
    """The first three lines (the third repeats the first's text) at 32 kHz: another output rate."""
    lines = score.lyrics[:3]
    frames = int(round((lines[-1].end_s + 0.5) * 32000))
    return lines, frames


def test_length_dtype_and_level(score, stem):
    audio, progress = stem
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == int(round(score.total_s * SR))
    assert np.all(np.isfinite(audio))
    assert np.max(np.abs(audio)) == pytest.approx(10 ** (-3 / 20), rel=1e-3)  # -3 dBFS
    assert progress[0] == 0.0 and progress[-1] == 1.0 and progress == sorted(progress)


def test_silent_outside_lines_and_voiced_inside(score, stem, stem_f0):
    audio = stem[0]
    outside = np.ones(len(audio), dtype=bool)
    for line in score.lyrics:
        outside[max(0, int((line.start_s - 0.1) * SR)):int((line.end_s + 0.1) * SR)] = False
    assert outside.any()
    assert np.max(np.abs(audio[outside])) == 0.0
    f0, times = stem_f0
    for line in score.lyrics:
        inside = (times >= line.start_s) & (times < line.end_s)
        assert np.mean(f0[inside] > 0) > 0.7, line.text
        rms = np.sqrt(np.mean(audio[int(line.start_s * SR):int(line.end_s * SR)] ** 2))
        assert rms > 0.02, line.text


def test_sung_pitch_follows_the_notes(score, stem_f0):
    f0, times = stem_f0
    voiced_frames = in_tune = 0
    window_frames = 0
    for line in score.lyrics:
        for note in line.syllables:
            if note.end_s - note.start_s < 0.2:  # sustained notes only
                continue
            window = (times >= note.start_s + 0.05) & (times < note.end_s - 0.03)
            values = f0[window]
            window_frames += len(values)
            voiced = values[values > 0]
            voiced_frames += len(voiced)
            in_tune += int(np.sum(np.abs(12.0 * np.log2(voiced / midi_hz(note.pitch))) < 1.0))
    assert window_frames > 100
    assert voiced_frames / window_frames > 0.8
    assert in_tune / voiced_frames >= 0.8


def test_vibrato_on_long_notes():
    notes = [Syllable("Oh", 0.5, 1.7, 64), Syllable("love", 1.75, 3.0, 62)]
    line = LyricLine(section="Chorus", text="Oh love", start_s=0.5, end_s=3.0, syllables=notes)
    sr = 22050
    audio = S.sing([line], sample_rate_hz=sr, num_frames=int(3.5 * sr))
    f0, times = track(audio, sr)
    for note in notes:
        window = (times >= note.start_s + 0.45) & (times < note.end_s - 0.1)
        values = f0[window]
        assert np.mean(values > 0) > 0.9
        cents = 1200.0 * np.log2(values[values > 0] / midi_hz(note.pitch))
        assert abs(np.median(cents)) < 50.0  # centred on the written pitch
        swing = cents - cents.mean()
        assert np.percentile(swing, 95) - np.percentile(swing, 5) > 30.0  # it moves: +-15 cents at least
        spectrum = np.abs(np.fft.rfft(swing * np.hanning(len(swing)), 4096))
        freqs = np.fft.rfftfreq(4096, 0.005)
        band = (freqs > 1.0) & (freqs < 15.0)
        assert 4.0 <= freqs[band][np.argmax(spectrum[band])] <= 7.0


def test_short_notes_have_no_vibrato():
    notes = [Syllable("Oh", 0.5, 0.8, 64)]
    line = LyricLine(section="Verse", text="Oh", start_s=0.5, end_s=0.8, syllables=notes)
    audio = S.sing([line], sample_rate_hz=22050, num_frames=22050)
    f0, times = track(audio, 22050)
    values = f0[(times >= 0.6) & (times < 0.75)]
    cents = 1200.0 * np.log2(values[values > 0] / midi_hz(64))
    assert len(cents) > 10 and np.ptp(cents) < 30.0


def test_deterministic(first_lines):
    lines, frames = first_lines
    a = S.sing(lines, sample_rate_hz=32000, num_frames=frames)
    b = S.sing(lines, sample_rate_hz=32000, num_frames=frames)
    assert np.array_equal(a, b)
    assert np.max(np.abs(a)) > 0.5


def test_empty_lyrics_are_silence():
    assert not S.sing([], sample_rate_hz=SR, num_frames=1000).any()
    assert len(S.sing([], sample_rate_hz=SR, num_frames=1000)) == 1000
    no_notes = LyricLine(section="Verse", text="nothing here", start_s=0.0, end_s=1.0)
    assert not S.sing([no_notes], sample_rate_hz=SR, num_frames=SR).any()


def test_formant_shift_moves_timbre_not_pitch(first_lines):
    lines, frames = first_lines
    lines = lines[:1]
    plain = S.sing(lines, sample_rate_hz=32000, num_frames=frames)
    bright = S.sing(lines, sample_rate_hz=32000, num_frames=frames, settings=VoiceSettings(formant_shift=1.25))
    grid, plain_db = envelope_profile_db(plain, 32000)
    _, bright_db = envelope_profile_db(bright, 32000)
    assert estimate_formant_shift(plain_db, bright_db, grid) == pytest.approx(1.25, abs=0.08)
    assert not np.allclose(plain_db, bright_db, atol=1.0)
    f0_plain, times = track(plain, 32000)
    f0_bright, _ = track(bright, 32000)
    checked = 0
    for note in lines[0].syllables:
        # Syllables of 0.2 s and more: in a shorter one ("urs" of "ours", 0.12 s) the glide from
        # the last note and the consonants fill the window, and the tracker's dips there (seen
        # in both voices) decide the median.
        if note.end_s - note.start_s < 0.2:
            continue
        window = (times >= note.start_s + 0.03) & (times < note.end_s - 0.02)
        both = window & (f0_plain > 0) & (f0_bright > 0)
        if both.sum() >= 5:
            diff = 12.0 * np.log2(np.median(f0_bright[both]) / np.median(f0_plain[both]))
            assert abs(diff) < 0.5, note.text
            checked += 1
    assert checked >= 3


def test_deep_voices_sing_an_octave_down():
    assert S._transpose_for(VoiceSettings()) == 0.0
    assert S._transpose_for(VoiceSettings(pitch_semitones=10.0, formant_shift=1.15)) == 0.0
    assert S._transpose_for(VoiceSettings(pitch_semitones=-4.0, formant_shift=0.9)) == -12.0


def test_cancel_between_lines(score):
    class Stop(Exception):
        pass

    def cancel():
        raise Stop

    with pytest.raises(Stop):
        S.sing(score.lyrics, sample_rate_hz=SR, num_frames=SR, check_cancelled=cancel)


@pytest.mark.parametrize("base_voice", [DEFAULT_VOICE_ID, FEMALE_VOICE_ID])
def test_phoneme_spans_from_the_model(base_voice):
    """Both base voices give each phoneme its span from the model's own durations."""
    voice = S._aligned_voice(base_voice)
    audio, words = voice.speak("Nothing ever stays the same")
    assert [len(S._word_syllables(w)) for w in words] == [2, 2, 1, 1, 1]
    spans = [(p.start, p.end) for w in words for p in w]
    assert all(0 <= a <= b <= len(audio) for a, b in spans)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:]))


def test_rapped_lines_keep_the_speech_pitch_and_land_on_the_notes(first_lines):
    """Rap: the syllables start on their notes and sound in the speaking range, not on the notes'
    pitches (the melody here is written well above the speaking voice, at E5)."""
    lines, frames = first_lines
    high = [LyricLine(line.section, line.text, line.start_s, line.end_s,
                      [Syllable(s.text, s.start_s, s.end_s, 76) for s in line.syllables]) for line in lines]
    sung = S.sing(high, sample_rate_hz=32000, num_frames=frames)
    rapped = S.sing(high, sample_rate_hz=32000, num_frames=frames, delivery="rap")
    assert len(rapped) == frames and np.max(np.abs(rapped)) == pytest.approx(10 ** (-3 / 20), rel=1e-3)
    x = resample_poly(rapped.astype(np.float64), TRACK_SR, 32000)
    f0, _ = pyworld.harvest(x, TRACK_SR, f0_floor=60.0, f0_ceil=900.0, frame_period=5.0)
    f0_sung, _ = track(sung, 32000)
    assert np.median(f0[f0 > 0]) < 250.0 < midi_hz(76) * 0.8 < np.median(f0_sung[f0_sung > 0])
    # each syllable sounds within 150 ms after its note starts, and the line is silent before its first one
    hop = 160  # 5 ms at 32 kHz
    energy = np.sqrt(np.mean(rapped[: len(rapped) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    level = energy.max()
    for line in high:
        first = int((line.syllables[0].start_s - 0.1) / 0.005)
        if first >= 40:  # the 200 ms before the line's first consonant
            assert np.max(energy[first - 40:first]) < 0.01 * level, line.text
        for syllable in line.syllables:
            at = int(syllable.start_s / 0.005)
            assert np.max(energy[at:at + 30]) > 0.1 * level, (line.text, syllable.text)


def test_unknown_delivery_is_refused(first_lines):
    lines, frames = first_lines
    with pytest.raises(ValueError, match="delivery must be one of sung, rap"):
        S.sing(lines, sample_rate_hz=32000, num_frames=frames, delivery="yodel")
