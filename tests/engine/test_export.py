"""Export: every audio format reads back (rate, channels, length, PCM depth) and carries its tags;
16-bit dither stays at the noise floor; writes are atomic; MIDI, lyrics and chord charts read back
with the expected content. Tiny audio (about 1 s) keeps this fast."""

from __future__ import annotations

import json

import mido
import numpy as np
import pretty_midi
import pytest
import soundfile as sf
import torch
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from studio.engine.io import export
from studio.engine.io.export import (
    ALL_FORMATS,
    TrackMetadata,
    chord_chart,
    chord_chart_text,
    export_track,
    key_notation,
    lyrics_json,
    lyrics_lrc,
    write_audio,
    write_midi,
)
from studio.engine.composition.score import Chord, LyricLine, NoteEvent, Part, Score, Section, Syllable
from studio.engine.composition.spec import GenerationSpec, resolve_spec

SR = 44100
META = TrackMetadata(title="Night Drive", artist="Studio", genre="Pop", tempo_bpm=120, key="A_minor", comment="made here", year=2024)


def tone(seconds: float = 1.0, sample_rate_hz: int = SR, channels: int = 2, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate_hz)) / sample_rate_hz
    mono = level * np.sin(2 * np.pi * 440 * t)
    return np.stack([mono * (1 - 0.1 * c) for c in range(channels)]).astype(np.float32)


@pytest.fixture(scope="module")
def score() -> Score:
    spec = resolve_spec(GenerationSpec(style="pop", key="A_minor", tempo=120, duration=8, seed=1))
    spb = 0.5  # 120 BPM, 4/4: a bar is 2 s
    sections = [
        Section("verse", "Verse 1", 0, 2, 0.0, 4.0, 0.4),
        Section("chorus", "Chorus 1", 2, 2, 4.0, 8.0, 0.8),
    ]
    chords = [
        Chord(0.0, 2.0, 0.0, 0, "Am7", "i7", 9, (9, 0, 4, 7)),
        Chord(2.0, 1.0, 4.0, 1, "Fmaj7", "VImaj7", 5, (5, 9, 0, 4)),
        Chord(3.0, 1.0, 6.0, 1, "G", "VII", 7, (7, 11, 2)),
        Chord(4.0, 4.0, 8.0, 2, "C", "III", 0, (0, 4, 7)),  # held over two bars
    ]
    drums = Part("drums", "drums", "sf2", is_drum=True, label="Kit",
                 notes=[NoteEvent(i * spb, 0.1, 36 if i % 2 == 0 else 38, 100, float(i)) for i in range(16)])
    bass = Part("bass", "bass", "sf2", program=33, label="Finger Bass",
                notes=[NoteEvent(i * 2.0, 1.9, 45, 90, i * 4.0) for i in range(4)])
    keys = Part("keys", "harmony", "sf2", program=4, label="Rhodes",
                notes=[NoteEvent(0.0, 2.0, p, 70, 0.0) for p in (57, 60, 64)])
    syllables = [Syllable("Neon", 0.0, 0.5, 69), Syllable("lights", 0.5, 1.0, 67),
                 Syllable("mel", 1.0, 1.25, 64), Syllable("o", 1.25, 1.5, 65), Syllable("dy", 1.5, 2.0, 67)]
    syllables2 = [Syllable("Sing", 4.0, 4.5, 72), Syllable("it", 4.5, 5.0, 71)]
    vocal = Part("vocal melody", "vocals", "synth", program=54, patch="voice", label="Lead Vocal",
                 notes=[NoteEvent(s.start_s, s.end_s - s.start_s, s.pitch, 96, s.start_s / spb) for s in syllables + syllables2])
    lyrics = [
        LyricLine("Verse 1", "Neon lights melody", 0.0, 2.0, syllables),
        LyricLine("Chorus 1", "Sing it", 4.0, 5.0, syllables2),
    ]
    return Score(spec=spec, tempo_bpm=120.0, beats_per_bar=4, beat_unit=4, swing=0.0, sections=sections,
                 chords=chords, parts=[drums, bass, keys, vocal], lyrics=lyrics, tail_s=1.0)


def test_key_notation():
    assert key_notation("A_minor") == "Am"
    assert key_notation("F#_minor") == "F#m"
    assert key_notation("Db_minor") == "C#m"
    assert key_notation("Eb major") == "Eb"
    assert key_notation("nonsense") == ""
    assert all(len(key_notation(f"{n}_{m}")) <= 3 for n in "CDEFGAB" for m in ("major", "minor"))


@pytest.mark.parametrize("fmt", ["wav", "flac"])
@pytest.mark.parametrize("bit_depth", [16, 24])
def test_pcm_formats_read_back(tmp_path, fmt, bit_depth):
    audio = tone(1.0)
    path = write_audio(tmp_path / f"a.{fmt}", audio, SR, fmt, bit_depth=bit_depth)
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.frames) == (SR, 2, SR)
    assert info.subtype == f"PCM_{bit_depth}"
    back, _ = sf.read(path, dtype="float64", always_2d=True)
    lsb = 2.0 ** -(bit_depth - 1)
    assert np.max(np.abs(back.T - audio)) <= 2.5 * lsb
    assert [p.name for p in tmp_path.iterdir()] == [f"a.{fmt}"]  # no temp file left


@pytest.mark.parametrize("fmt", ["ogg", "mp3"])
def test_lossy_formats_decode_to_same_length(tmp_path, fmt):
    audio = tone(1.5)
    path = write_audio(tmp_path / f"a.{fmt}", audio, SR, fmt)
    back, sr = sf.read(path, always_2d=True)
    assert sr == SR and back.shape[1] == 2
    assert abs(back.shape[0] / sr - 1.5) < 0.1
    n = min(back.shape[0], audio.shape[1])
    rms_in, rms_out = np.sqrt(np.mean(audio[0, :n] ** 2)), np.sqrt(np.mean(back[:n, 0] ** 2))
    assert abs(rms_out / rms_in - 1) < 0.1
    info = (MP3 if fmt == "mp3" else OggVorbis)(path).info
    assert info.bitrate >= 180_000  # a sensible quality, not libsndfile's default


@pytest.mark.parametrize("fmt", ["mp3", "ogg"])
@pytest.mark.parametrize("sample_rate_hz", [22050, 44100])
def test_lossy_exports_decode_under_the_true_peak_ceiling_at_the_same_loudness(tmp_path, fmt, sample_rate_hz):
    """Encoders overshoot (and LAME scales its input by 0.95 at 160 kbps and under): with a
    ceiling, the decoded file reads under it and as loud as the audio that went in."""
    from studio.engine.dsp.mastering import master, measure_loudness_lufs, true_peak_dbtp
    from tests.engine.test_mastering import music_like

    mastered, _ = master(music_like(sample_rate_hz, 4.0), sample_rate_hz, true_peak_ceiling_dbtp=-0.1)
    source_lufs = float(measure_loudness_lufs(mastered, sample_rate_hz))
    plain = write_audio(tmp_path / f"plain.{fmt}", mastered, sample_rate_hz, fmt)
    _lufs, plain_peak = export.decoded_loudness(plain)
    assert plain_peak > -1.0  # the encoder alone leaves the -0.1 dBTP master over -1
    path = write_audio(tmp_path / f"a.{fmt}", mastered, sample_rate_hz, fmt, true_peak_ceiling_dbtp=-1.0, metadata=META)
    lufs, peak = export.decoded_loudness(path)
    assert peak <= -1.0
    assert lufs == pytest.approx(source_lufs, abs=export.LOSSY_LOUDNESS_TOLERANCE_LU)
    decoded, rate = sf.read(path, dtype="float32", always_2d=True)
    assert float(true_peak_dbtp(torch.from_numpy(decoded.T.copy()), rate)) == pytest.approx(peak, abs=1e-9)
    again = write_audio(tmp_path / f"b.{fmt}", mastered, sample_rate_hz, fmt, true_peak_ceiling_dbtp=-1.0, metadata=META)
    assert np.array_equal(sf.read(again, dtype="float32")[0], decoded)  # deterministic, retries included


def test_lossy_export_of_quiet_audio_is_left_alone(tmp_path):
    audio = tone(1.0, level=0.1)  # -20 dBTP: nothing to limit
    with_ceiling = write_audio(tmp_path / "a.mp3", audio, SR, "mp3", true_peak_ceiling_dbtp=-1.0)
    without = write_audio(tmp_path / "b.mp3", audio, SR, "mp3")
    assert with_ceiling.read_bytes() == without.read_bytes()


def test_transcoding_to_lossy_keeps_the_ceiling(tmp_path):
    from studio.engine.dsp.mastering import master
    from studio.engine.io.transcode import transcode_audio
    from tests.engine.test_mastering import music_like

    hot, _ = master(music_like(SR, 3.0), SR, true_peak_ceiling_dbtp=-0.3)
    source = write_audio(tmp_path / "src.wav", hot, SR, "wav")
    for fmt in ("mp3", "ogg"):
        _lufs, peak = export.decoded_loudness(transcode_audio(source, tmp_path / f"out.{fmt}", fmt, META))
        assert peak <= -1.0, fmt


def test_mp3_at_22050_and_mono_torch_input(tmp_path):
    audio = torch.from_numpy(tone(1.0, 22050, channels=1)[0])  # 1-D tensor = mono
    path = write_audio(tmp_path / "m.mp3", audio, 22050, "mp3")
    info = sf.info(path)
    assert info.samplerate == 22050 and info.channels == 1
    assert abs(info.duration - 1.0) < 0.1


def test_mp3_tags(tmp_path):
    path = write_audio(tmp_path / "t.mp3", tone(1.0), SR, "mp3", metadata=META)
    tags = MP3(path).tags
    assert tags["TIT2"].text == ["Night Drive"]
    assert tags["TPE1"].text == ["Studio"]
    assert tags["TCON"].text == ["Pop"]
    assert tags["TBPM"].text == ["120"]
    assert tags["TKEY"].text == ["Am"]
    assert tags.getall("COMM")[0].text == ["made here"]
    assert tags.version[:2] == (2, 3)


@pytest.mark.parametrize("fmt,reader", [("flac", FLAC), ("ogg", OggVorbis)])
def test_vorbis_comment_tags(tmp_path, fmt, reader):
    path = write_audio(tmp_path / f"t.{fmt}", tone(1.0), SR, fmt, metadata=META)
    tags = reader(path)
    assert tags["TITLE"] == ["Night Drive"]
    assert tags["ARTIST"] == ["Studio"]
    assert tags["GENRE"] == ["Pop"]
    assert tags["BPM"] == ["120"]
    assert tags["KEY"] == ["Am"] and tags["INITIALKEY"] == ["Am"]
    assert tags["COMMENT"] == ["made here"]
    assert tags["DATE"] == ["2024"]
    assert sf.info(path).frames == SR  # tagging did not disturb the audio


def test_wav_tags_id3_and_riff_info(tmp_path):
    path = write_audio(tmp_path / "t.wav", tone(1.0), SR, "wav", bit_depth=24, metadata=META)
    tags = WAVE(path).tags
    assert tags["TIT2"].text == ["Night Drive"] and tags["TKEY"].text == ["Am"] and tags["TBPM"].text == ["120"]
    with sf.SoundFile(path) as f:
        assert (f.title, f.artist, f.genre, f.comment) == ("Night Drive", "Studio", "Pop", "made here")
        assert (f.frames, f.subtype) == (SR, "PCM_24")


def test_dither_keeps_silence_near_silent_and_is_deterministic(tmp_path):
    silence = np.zeros((2, SR), dtype=np.float32)
    a = write_audio(tmp_path / "a.wav", silence, SR, "wav", bit_depth=16)
    b = write_audio(tmp_path / "b.wav", silence, SR, "wav", bit_depth=16)
    data, _ = sf.read(a, dtype="int16")
    assert np.max(np.abs(data)) <= 1  # at most one LSB: about -90 dBFS
    assert abs(data.mean()) < 0.05  # no DC
    assert a.read_bytes() == b.read_bytes()
    data24, _ = sf.read(write_audio(tmp_path / "c.wav", silence, SR, "wav", bit_depth=24), dtype="int32")
    assert not data24.any()  # no dither at 24 bits


def test_dither_decorrelates_quantisation_of_a_tiny_tone(tmp_path):
    # A tone of half an LSB vanishes when rounded without dither; with TPDF dither it survives.
    t = np.arange(SR) / SR
    tiny = (0.5 / 32767 * np.sin(2 * np.pi * 100 * t))[None, :]
    data, _ = sf.read(write_audio(tmp_path / "d.wav", tiny, SR, "wav"), dtype="float64")
    correlation = np.dot(data, tiny[0]) / (np.linalg.norm(data) * np.linalg.norm(tiny[0]))
    assert correlation > 0.1


def test_over_range_audio_clips_instead_of_wrapping(tmp_path):
    loud = np.full((1, 1000), 1.5, dtype=np.float32)
    data, _ = sf.read(write_audio(tmp_path / "l.flac", loud, SR, "flac"), dtype="int16")
    assert data.min() >= 32766


def test_atomic_write_leaves_nothing_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "x.flac"
    target.write_bytes(b"old")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export, "tag_file", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_audio(target, tone(0.2), SR, "flac", metadata=META)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.flac"]
    with pytest.raises(RuntimeError):
        write_audio(tmp_path / "new.wav", tone(0.2), SR, "wav", metadata=META)
    assert [p.name for p in tmp_path.iterdir()] == ["x.flac"]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="wav, flac, ogg, mp3"):
        write_audio(tmp_path / "a.aiff", tone(0.1), SR, "aiff")
    with pytest.raises(ValueError, match="bit_depth"):
        write_audio(tmp_path / "a.wav", tone(0.1), SR, "wav", bit_depth=8)
    with pytest.raises(ValueError, match="channels, frames"):
        write_audio(tmp_path / "a.wav", tone(0.1).T, SR, "wav")


def test_midi_reads_back(tmp_path, score):
    path = write_midi(tmp_path / "s.mid", score)
    pm = pretty_midi.PrettyMIDI(str(path))
    by_name = {inst.name: inst for inst in pm.instruments}
    assert set(by_name) == {"Kit", "Finger Bass", "Rhodes", "Lead Vocal"}
    assert by_name["Kit"].is_drum and len(by_name["Kit"].notes) == 16
    assert by_name["Finger Bass"].program == 33 and len(by_name["Finger Bass"].notes) == 4
    assert by_name["Rhodes"].program == 4 and len(by_name["Rhodes"].notes) == 3
    assert by_name["Lead Vocal"].program == 54 and len(by_name["Lead Vocal"].notes) == 7
    bass_notes = sorted(by_name["Finger Bass"].notes, key=lambda n: n.start)
    assert bass_notes[1].start == pytest.approx(2.0, abs=1e-3) and bass_notes[1].end == pytest.approx(3.9, abs=1e-3)
    assert bass_notes[1].velocity == 90 and bass_notes[1].pitch == 45
    _, tempi = pm.get_tempo_changes()
    assert tempi[0] == pytest.approx(120.0, abs=0.01)
    ts = pm.time_signature_changes[0]
    assert (ts.numerator, ts.denominator) == (4, 4)
    assert pm.key_signature_changes[0].key_number == pretty_midi.key_name_to_key_number("A minor")
    assert [lyric.text.strip() for lyric in pm.lyrics] == ["Neon", "lights", "mel", "o", "dy", "Sing", "it"]
    assert pm.lyrics[5].time == pytest.approx(4.0, abs=1e-3)

    mid = mido.MidiFile(str(path))
    assert mid.type == 1 and len(mid.tracks) == 5
    markers = [m.text for m in mid.tracks[0] if m.type == "marker"]
    assert markers == ["Verse 1", "Chorus 1"]
    drum_track = next(t for t in mid.tracks if any(m.type == "track_name" and m.name == "Kit" for m in t))
    assert {m.channel for m in drum_track if m.type == "note_on"} == {9}
    vocal_track = next(t for t in mid.tracks if any(m.type == "lyrics" for m in t))
    assert any(m.type == "track_name" and m.name == "Lead Vocal" for m in vocal_track)
    lyric_texts = [m.text for m in vocal_track if m.type == "lyrics"]
    # words end in a space, syllables inside a word do not, a line ends in a carriage return
    assert lyric_texts == ["Neon ", "lights ", "mel", "o", "dy\r", "Sing ", "it\r"]


def test_midi_overlapping_same_pitch_notes_pair_up(tmp_path, score):
    part = Part("lead", "melody", "sf2", program=80, notes=[NoteEvent(0.0, 1.0, 60, 80, 0.0), NoteEvent(0.5, 1.0, 60, 80, 1.0)])
    one = Score(score.spec, 120.0, 4, 4, 0.0, score.sections, [], [part])
    pm = pretty_midi.PrettyMIDI(str(write_midi(tmp_path / "o.mid", one)))
    notes = sorted(pm.instruments[0].notes, key=lambda n: n.start)
    assert [(round(n.start, 3), round(n.end, 3)) for n in notes] == [(0.0, 0.5), (0.5, 1.5)]


def test_lyrics_lrc(score):
    text = lyrics_lrc(score, META)
    lines = text.splitlines()
    assert lines[:3] == ["[ti:Night Drive]", "[ar:Studio]", "[length:00:09]"]
    timed = [line for line in lines if line[1].isdigit()]
    assert timed == ["[00:00.00]Neon lights melody", "[00:04.00]Sing it"]
    enhanced = lyrics_lrc(score, META, enhanced=True)
    assert "[00:00.00]<00:00.00>Neon <00:00.50>lights <00:01.00>melody <00:02.00>" in enhanced


def test_lyrics_json(score):
    data = lyrics_json(score)
    assert data["text"] == "Neon lights melody\nSing it"
    assert data["formatted"] == "[Verse 1]\nNeon lights melody\n\n[Chorus 1]\nSing it"
    assert data["timestamps"] == [
        {"start": 0.0, "end": 2.0, "text": "Neon lights melody", "section": "Verse 1"},
        {"start": 4.0, "end": 5.0, "text": "Sing it", "section": "Chorus 1"},
    ]
    assert data["lines"][0]["syllables"][2] == {"text": "mel", "start": 1.0, "end": 1.25, "pitch": 64}
    json.dumps(data)


def test_chord_chart(score):
    chart = chord_chart(score)
    assert chart["key"] == "A_minor" and chart["key_symbol"] == "Am"
    assert chart["tempo_bpm"] == 120.0 and chart["time_signature"] == "4/4"
    assert [s["label"] for s in chart["sections"]] == ["Verse 1", "Chorus 1"]
    assert chart["sections"][0]["bars"] == [["Am7"], ["Fmaj7", "G"]]
    assert chart["sections"][1]["bars"] == [["C"], ["C"]]
    assert chart["chords"][1] == {"start_s": 2.0, "duration_s": 1.0, "bar": 1, "beat": 4.0, "symbol": "Fmaj7", "roman": "VImaj7"}
    text = chord_chart_text(score)
    assert "[Verse 1]" in text and "| Am7     | Fmaj7 G |" in text
    assert "[Chorus 1]\n| C | C |" in text
    assert "Key: A minor" in text and "120 BPM" in text and "4/4" in text


def test_export_track_everything(tmp_path, score):
    mix = torch.from_numpy(tone(1.0, 22050))
    stems = {"drums": mix * 0.5, "vocals": mix[:1] * 0.5}
    out = export_track(tmp_path, "track", score, mix, stems, 22050, [*ALL_FORMATS, "mid"], metadata=META)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([
        "track.wav", "track.flac", "track.ogg", "track.mp3", "track.mid", "track_stem_drums.wav", "track_stem_vocals.wav",
        "track.lrc", "track_lyrics.json", "track_chords.json", "track_chords.txt",
    ])
    assert out["wav"] == tmp_path / "track.wav" and out["midi"] == tmp_path / "track.mid"
    assert set(out["stems"]) == {"drums", "vocals"}
    assert sf.info(out["stems"]["vocals"]).channels == 1 and sf.info(out["stems"]["drums"]).subtype == "PCM_16"
    assert WAVE(out["stems"]["drums"]).tags["TIT2"].text == ["Night Drive (drums)"]
    assert json.loads(out["lyrics_json"].read_text())["timestamps"][0]["section"] == "Verse 1"
    assert json.loads(out["chords"].read_text())["sections"][0]["bars"][0] == ["Am7"]
    assert out["chords_txt"].read_text().startswith(score.spec.title)


def test_export_track_choices_and_errors(tmp_path, score):
    mix = tone(0.5, 22050)
    instrumental = Score(score.spec, 120.0, 4, 4, 0.0, score.sections, score.chords, score.parts)
    out = export_track(tmp_path, "inst", instrumental, mix, {}, 22050, ["WAV", "lyrics"], bit_depth=24, metadata=META)
    assert set(out) == {"wav"} and sf.info(out["wav"]).subtype == "PCM_24"
    out = export_track(tmp_path, "only", score, mix, {}, 22050, ["lrc"], metadata=META)
    assert set(out) == {"lrc"}
    with pytest.raises(ValueError, match=r"unknown output format\(s\) .aac.; allowed: wav, mp3, flac, ogg, midi, stems, lyrics"):
        export_track(tmp_path, "bad", score, mix, {}, 22050, ["wav", "aac"], metadata=META)
    with pytest.raises(ValueError, match="plain file name"):
        export_track(tmp_path, "../escape", score, mix, {}, 22050, ["wav"], metadata=META)


def test_midi_lyrics_without_a_vocal_part_go_on_the_conductor_track(tmp_path, score):
    no_vocals = Score(score.spec, 120.0, 4, 4, 0.0, score.sections, score.chords, score.parts[:2], lyrics=score.lyrics)
    mid = mido.MidiFile(str(write_midi(tmp_path / "l.mid", no_vocals)))
    assert len([m for m in mid.tracks[0] if m.type == "lyrics"]) == 7
