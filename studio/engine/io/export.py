"""Export: audio files (WAV, FLAC, OGG Vorbis, MP3) with tags, multi-track MIDI with lyrics and
section markers, lyrics (LRC and JSON) and chord charts (JSON and text).

Every file is written to a temporary name in its destination folder and renamed into place, so
a reader never sees a half-written file and a failure leaves nothing behind. 16-bit PCM outputs
get TPDF dither (seeded, so the same audio gives the same file). Audio arrays are
`(channels, frames)` floats in [-1, 1]; torch tensors are accepted as well as numpy arrays.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import mido
import numpy as np
import soundfile as sf

from studio.engine.io.mp3 import Mp3Writer
from studio.engine.dsp.pcm import dither_to_int16
from studio.engine.composition.score import LyricLine, Score
from studio.engine.composition.spec import OUTPUT_FORMATS, normalise_formats, parse_key

log = logging.getLogger(__name__)

AUDIO_FORMATS = ("wav", "flac", "ogg", "mp3")
ALL_FORMATS = OUTPUT_FORMATS

_SF_FORMAT = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG"}  # MP3: mp3.py
_PCM_SUBTYPE = {16: "PCM_16", 24: "PCM_24"}
MP3_BITRATE_KBPS = 256  # constant bitrate at 32-48 kHz; lower rates use MPEG-2's range (at most 160)
OGG_COMPRESSION = 0.4  # libsndfile's Vorbis compression level 0.4 = quality 0.6, about 192 kbps nominal
DITHER_SEED = 0x5D17
TICKS_PER_BEAT = 480
WRITE_BLOCK_FRAMES = 1 << 16
EXPORT_THREADS = 3  # encoder threads of export_track (the encoders release the GIL)
_ENCODE_ORDER = ("mp3", "ogg", "flac", "wav")  # slowest encoder first, so it never starts last
# Lossy encoders overshoot: decoded, rendered music read up to ~0.5 dB (MP3, 256 kbps) and
# ~0.4 dB (Vorbis q0.6) over the true peak that went in. With a true-peak ceiling, a lossy
# export is limited this far under it before encoding, then decoded and measured; one still
# over gets gain dips where it is over and is encoded again (`_encode_lossy_under`).
LOSSY_HEADROOM_DB = {"mp3": 0.5, "ogg": 0.6}
LOSSY_LOUDNESS_TOLERANCE_LU = 0.15  # a decode further than this from its source's loudness is gained back
LOSSY_DIP_EXTRA_DB = 0.2  # dips go this far past the excess: a re-encode quantises anew, its noise peaks move
LOSSY_ATTEMPTS = 4

# Conventional spelling of each key (what MIDI key signatures, ID3 TKEY and charts use).
_MAJOR_KEYS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_KEYS = ("Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm")


@dataclass
class TrackMetadata:
    title: str
    artist: str = "Studio"
    genre: str = ""
    tempo_bpm: float = 0
    key: str = ""  # "A_minor", "F#_major" or already "Am"
    comment: str = ""
    year: int | None = None


# --- helpers ------------------------------------------------------------------------------------


def key_notation(key: str) -> str:
    """'A_minor' -> 'Am', 'F#_major' -> 'F#', 'Db_minor' -> 'C#m'; '' for an unparseable key."""
    if not key:
        return ""
    try:
        pitch_class, mode = parse_key(key)
    except ValueError:
        return ""
    return (_MINOR_KEYS if mode == "minor" else _MAJOR_KEYS)[pitch_class]


def _atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Run `write(tmp)` on a temporary file next to `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _write_text(path: Path, text: str) -> Path:
    return _atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _as_array(audio: Any) -> np.ndarray:
    """(channels, frames) float32, finite. 1-D input is mono."""
    if hasattr(audio, "detach"):  # torch.Tensor, without importing torch here
        audio = audio.detach().to("cpu").float().numpy()
    data = np.asarray(audio, dtype=np.float32)
    if data.ndim == 1:
        data = data[None, :]
    if data.ndim != 2:
        raise ValueError(f"audio must be (channels, frames); got shape {data.shape}")
    if data.shape[0] > 32:
        raise ValueError(f"audio must be (channels, frames); got {data.shape[0]} channels - transposed?")
    return np.nan_to_num(data, nan=0.0, posinf=1.0, neginf=-1.0)


def _quantise(data: np.ndarray, bit_depth: int) -> np.ndarray:
    """Float (channels, frames) -> interleaved integer frames for soundfile.

    16-bit: TPDF dither of +-1 LSB before rounding. 24-bit: rounded (its noise floor is below any
    real playback chain), stored in the top 24 bits of int32 as libsndfile expects.
    """
    channels, frames = data.shape
    if bit_depth == 16:
        return dither_to_int16(data, np.random.default_rng(DITHER_SEED))
    if bit_depth == 24:
        out32 = np.empty((frames, channels), dtype=np.int32)
        for ch in range(channels):
            x = np.rint(data[ch].astype(np.float64) * 8388607.0)
            np.clip(x, -8388608, 8388607, out=x)
            out32[:, ch] = x.astype(np.int32) << 8
        return out32
    raise ValueError(f"bit_depth must be 16 or 24, not {bit_depth}")


# --- tags ---------------------------------------------------------------------------------------


def _vorbis_tags(meta: TrackMetadata) -> dict[str, str]:
    tags = {"TITLE": meta.title, "ARTIST": meta.artist, "GENRE": meta.genre, "COMMENT": meta.comment}
    if meta.tempo_bpm:
        tags["BPM"] = str(int(round(meta.tempo_bpm)))
    key = key_notation(meta.key) or meta.key
    if key:
        tags["KEY"] = tags["INITIALKEY"] = key
    if meta.year:
        tags["DATE"] = str(meta.year)
    tags["ENCODER"] = "Studio"
    return {k: v for k, v in tags.items() if v}


def _id3_frames(meta: TrackMetadata) -> list:
    from mutagen.id3 import COMM, TBPM, TCON, TDRC, TIT2, TKEY, TPE1, TSSE

    frames = [TIT2(encoding=3, text=meta.title), TPE1(encoding=3, text=meta.artist), TSSE(encoding=3, text="Studio")]
    if meta.genre:
        frames.append(TCON(encoding=3, text=meta.genre))
    if meta.tempo_bpm:
        frames.append(TBPM(encoding=3, text=str(int(round(meta.tempo_bpm)))))
    key = key_notation(meta.key)
    if key:  # TKEY: up to 3 characters, e.g. "Am", "F#m"
        frames.append(TKEY(encoding=3, text=key))
    if meta.comment:
        frames.append(COMM(encoding=3, lang="eng", desc="", text=meta.comment))
    if meta.year:
        frames.append(TDRC(encoding=3, text=str(meta.year)))
    return frames


def tag_file(path: Path, fmt: str, meta: TrackMetadata) -> None:
    """Write `meta` into the audio file at `path` in place: Vorbis comments for FLAC/OGG, ID3v2.3
    for MP3/WAV. Raises what mutagen raises for a file it cannot read or save."""
    if fmt in ("flac", "ogg"):
        from mutagen.flac import FLAC
        from mutagen.oggvorbis import OggVorbis

        audio = FLAC(path) if fmt == "flac" else OggVorbis(path)
        if audio.tags is None:
            audio.add_tags()
        for name, value in _vorbis_tags(meta).items():
            audio[name] = value
        audio.save()
        return
    from mutagen.mp3 import MP3
    from mutagen.wave import WAVE

    audio = MP3(path) if fmt == "mp3" else WAVE(path)
    if audio.tags is None:
        audio.add_tags()
    for frame in _id3_frames(meta):
        audio.tags.add(frame)
    audio.save(v2_version=3)  # ID3v2.3: read by the widest range of players and file managers


# --- audio --------------------------------------------------------------------------------------


def write_audio(
    path: Path,
    audio: Any,
    sample_rate_hz: int,
    fmt: str,
    *,
    bit_depth: int = 16,
    metadata: TrackMetadata | None = None,
    mp3_bitrate_kbps: int = MP3_BITRATE_KBPS,
    true_peak_ceiling_dbtp: float | None = None,
) -> Path:
    """Write `audio` ((channels, frames) floats in [-1, 1]) as WAV/FLAC (PCM 16/24), OGG Vorbis or
    MP3 (constant bitrate), tagged with `metadata`; atomic. Returns `path`.

    ``true_peak_ceiling_dbtp`` (lossy formats): the file, decoded, has its true peak at or under
    this ceiling; the audio is limited (loudness kept) as far under it as the encoder needs, see
    LOSSY_HEADROOM_DB. PCM formats store the samples as given (the master sets their peaks).

    Integer audio (int16 for 16-bit, int32 holding 24-bit samples in its top bits, as soundfile
    reads them) is taken as already quantised: WAV <-> FLAC then copies the samples exactly."""
    fmt = fmt.lower()
    pcm = getattr(audio, "dtype", None) in (np.int16, np.int32)
    if pcm and fmt in ("wav", "flac"):
        expected = np.int16 if bit_depth == 16 else np.int32
        if audio.dtype != expected or audio.ndim != 2:
            raise ValueError(f"integer audio for {bit_depth}-bit PCM must be (channels, frames) {np.dtype(expected)}")
    elif pcm:  # lossy targets encode from floats
        audio = audio.astype(np.float32) / (32768.0 if audio.dtype == np.int16 else 2147483648.0)
        pcm = False
    if fmt not in AUDIO_FORMATS:
        raise ValueError(f"unknown audio format {fmt!r}; allowed: {', '.join(AUDIO_FORMATS)}")
    if fmt in ("wav", "flac") and bit_depth not in _PCM_SUBTYPE:
        raise ValueError(f"bit_depth must be 16 or 24, not {bit_depth}")
    data = np.ascontiguousarray(audio) if pcm else _as_array(audio)
    if fmt in ("mp3", "ogg") and data.shape[0] > (2 if fmt == "mp3" else 8):
        raise ValueError(f"{fmt} takes at most {2 if fmt == 'mp3' else 8} channels, got {data.shape[0]}")
    sample_rate_hz = int(sample_rate_hz)

    def write(tmp: Path) -> None:
        if fmt in ("mp3", "ogg"):
            if true_peak_ceiling_dbtp is None:
                _encode_lossy(tmp, data, sample_rate_hz, fmt, mp3_bitrate_kbps)
            else:
                _encode_lossy_under(tmp, data, sample_rate_hz, fmt, mp3_bitrate_kbps, true_peak_ceiling_dbtp)
            if metadata is not None:
                tag_file(tmp, fmt, metadata)
            return
        frames = np.ascontiguousarray(data.T) if pcm else _quantise(data, bit_depth)
        subtype = _PCM_SUBTYPE[bit_depth]
        with sf.SoundFile(tmp, "w", sample_rate_hz, data.shape[0], subtype, format=_SF_FORMAT[fmt]) as f:
            if fmt == "wav" and metadata is not None:  # RIFF INFO, which WAV-only readers look at
                f.title, f.artist = metadata.title, metadata.artist
                if metadata.genre:
                    f.genre = metadata.genre
                if metadata.comment:
                    f.comment = metadata.comment
                if metadata.year:
                    f.date = str(metadata.year)
                f.software = "Studio"
            for start in range(0, frames.shape[0], WRITE_BLOCK_FRAMES):
                f.write(frames[start:start + WRITE_BLOCK_FRAMES])
        if metadata is not None:
            tag_file(tmp, fmt, metadata)

    return _atomic_write(Path(path), write)


def _encode_lossy(tmp: Path, data: np.ndarray, sample_rate_hz: int, fmt: str, mp3_bitrate_kbps: int) -> None:
    """(channels, frames) floats -> an MP3 (LAME through lameenc, gapless: studio/engine/io/mp3.py)
    or OGG Vorbis (libsndfile) file at `tmp`, untagged."""
    clipped = np.clip(data, -1.0, 1.0)
    if fmt == "mp3":
        with Mp3Writer(tmp, sample_rate_hz, data.shape[0], bitrate_kbps=mp3_bitrate_kbps, dither_seed=DITHER_SEED) as mp3:
            for start in range(0, clipped.shape[1], WRITE_BLOCK_FRAMES):
                mp3.write(clipped[:, start:start + WRITE_BLOCK_FRAMES])
        return
    frames = np.ascontiguousarray(clipped.T)
    with sf.SoundFile(tmp, "w", sample_rate_hz, data.shape[0], "VORBIS", format="OGG",
                      compression_level=OGG_COMPRESSION) as f:
        # In blocks: libsndfile's Vorbis encoder crashes on some long single writes.
        for start in range(0, frames.shape[0], WRITE_BLOCK_FRAMES):
            f.write(frames[start:start + WRITE_BLOCK_FRAMES])


def _read_float(path: Path):
    """A file decoded as a (channels, frames) float32 tensor, and its rate."""
    import torch

    decoded, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return torch.from_numpy(np.ascontiguousarray(decoded.T)), rate


def _loudness(audio, sample_rate_hz: int) -> tuple[float, float]:
    from studio.engine.dsp.mastering import measure_loudness_lufs, true_peak_dbtp

    return float(measure_loudness_lufs(audio, sample_rate_hz)), float(true_peak_dbtp(audio, sample_rate_hz))


def decoded_loudness(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of an audio file as a player decodes it (BS.1770)."""
    return _loudness(*_read_float(path))


def _encode_lossy_under(tmp: Path, data: np.ndarray, sample_rate_hz: int, fmt: str, mp3_bitrate_kbps: int,
                        ceiling_dbtp: float) -> None:
    """`_encode_lossy` whose decoded file reads <= ``ceiling_dbtp`` and as loud as `data`.

    Limited under the ceiling by the encoder's headroom first (LOSSY_HEADROOM_DB), encoded,
    decoded and measured. Where the decode is still over (codec noise around a transient,
    which a deeper limiter does not reliably lower), the audio gets a short gain dip as deep as
    the excess (`dip_true_peaks`); a decode that lost loudness in the encoder (LAME scales its
    input by 0.95 at 160 kbps and under, -0.45 dB) is gained back before the limiter. Then it
    is encoded again, at most LOSSY_ATTEMPTS times in all."""
    import torch

    from studio.engine.dsp.mastering import METER_MARGIN_DB, dip_true_peaks, limit_true_peak, measure_loudness_lufs

    source = torch.from_numpy(data)
    source_lufs = float(measure_loudness_lufs(source, sample_rate_hz))
    aim_dbtp = ceiling_dbtp - LOSSY_HEADROOM_DB[fmt]
    gain_db = 0.0
    audio, _report = limit_true_peak(source, sample_rate_hz, aim_dbtp)
    for _attempt in range(LOSSY_ATTEMPTS):
        _encode_lossy(tmp, audio.numpy(), sample_rate_hz, fmt, mp3_bitrate_kbps)
        decoded, rate = _read_float(tmp)
        lufs, peak = _loudness(decoded, rate)
        over_db = peak - (ceiling_dbtp - METER_MARGIN_DB)
        lost_db = source_lufs - lufs if math.isfinite(source_lufs) and math.isfinite(lufs) else 0.0
        if over_db <= 0.0 and abs(lost_db) <= LOSSY_LOUDNESS_TOLERANCE_LU:
            return
        if decoded.shape != audio.shape:  # a decoder that pads or trims: no sample-aligned dips
            decoded = None
        if abs(lost_db) > LOSSY_LOUDNESS_TOLERANCE_LU:
            gain_db += lost_db
            audio, _report = limit_true_peak(source, sample_rate_hz, aim_dbtp, gain_db=gain_db)
            if decoded is not None:  # the gain raises the decode's peaks with it
                decoded = decoded * 10.0 ** (lost_db / 20.0)
        if over_db > 0.0 and decoded is not None:
            audio, _dip_db = dip_true_peaks(audio, sample_rate_hz, decoded, ceiling_dbtp - METER_MARGIN_DB - LOSSY_DIP_EXTRA_DB)
        elif over_db > 0.0:
            audio = audio * 10.0 ** (-(over_db + 0.05) / 20.0)
    log.warning("%s export decodes at %.2f dBTP (ceiling %.1f) and %.2f LU from its source after %d passes", fmt,
                peak, ceiling_dbtp, -lost_db, LOSSY_ATTEMPTS)


# --- MIDI ---------------------------------------------------------------------------------------


def _syllable_word_ends(line: LyricLine) -> list[bool]:
    """For each syllable, whether it ends a word, found by walking the line's text."""
    text = line.text.lower()
    cursor = 0
    ends = []
    for syllable in line.syllables:
        piece = syllable.text.strip().lower()
        index = text.find(piece, cursor) if piece else -1
        if index < 0:
            ends.append(True)
            continue
        cursor = index + len(piece)
        nxt = text[cursor] if cursor < len(text) else " "
        ends.append(not (nxt.isalnum() or nxt in "'-"))
        if nxt == "-":  # "rain-slicked": a hyphen joins syllables of one word
            cursor += 1
    return ends


def _midi_lyric_events(line: LyricLine) -> list[tuple[float, str]]:
    """(time, text) per syllable: a space ends a word and a carriage return ends the line
    (the SMF lyric-event convention, RP-017)."""
    events = []
    ends = _syllable_word_ends(line)
    for i, (syllable, word_end) in enumerate(zip(line.syllables, ends)):
        text = syllable.text.strip()
        if i == len(line.syllables) - 1:
            text += "\r"
        elif word_end:
            text += " "
        events.append((syllable.start_s, text))
    return events


def _meta_text(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")  # mido meta text is latin-1


def write_midi(path: Path, score: Score) -> Path:
    """Type-1 MIDI: a conductor track (tempo, time and key signature, section markers) and one
    track per part (name, program, notes; the vocal part carries one lyric event per syllable)."""
    seconds_per_quarter = score.seconds_per_beat * score.beat_unit / 4  # a score beat is a 1/beat_unit note

    def tick(t: float) -> int:
        return max(0, int(round(t / seconds_per_quarter * TICKS_PER_BEAT)))  # int(): numpy 1.x floats round to floats

    def track_from(events: list[tuple[int, int, mido.Message | mido.MetaMessage]]) -> mido.MidiTrack:
        events.sort(key=lambda e: (e[0], e[1]))
        track = mido.MidiTrack()
        now = 0
        for at, _, msg in events:
            track.append(msg.copy(time=at - now))
            now = at
        track.append(mido.MetaMessage("end_of_track", time=0))
        return track

    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor: list[tuple[int, int, Any]] = [
        (0, 0, mido.MetaMessage("track_name", name=_meta_text(score.spec.title or "Studio"))),
        (0, 0, mido.MetaMessage("set_tempo", tempo=int(round(seconds_per_quarter * 1_000_000)))),
        (0, 0, mido.MetaMessage("time_signature", numerator=score.beats_per_bar, denominator=score.beat_unit)),
    ]
    key = key_notation(score.spec.key)
    if key:
        conductor.append((0, 0, mido.MetaMessage("key_signature", key=key)))
    for section in score.sections:
        conductor.append((tick(section.start_s), 1, mido.MetaMessage("marker", text=_meta_text(section.label or section.name))))
    vocal_part = next((p for p in score.parts if p.stem == "vocals" and p.notes and not p.is_drum), None)
    if vocal_part is None:  # lyrics without a sung part still reach karaoke players
        for line in score.lyrics:
            for at, text in _midi_lyric_events(line):
                conductor.append((tick(at), 2, mido.MetaMessage("lyrics", text=_meta_text(text))))
    midi.tracks.append(track_from(conductor))

    melodic_channels = [c for c in range(16) if c != 9]
    next_channel = 0
    for part in score.parts:
        if part.is_drum:
            channel = 9
        else:
            channel = melodic_channels[next_channel % len(melodic_channels)]
            next_channel += 1
        program = 0 if part.is_drum else max(0, min(127, int(part.program)))
        events: list[tuple[int, int, Any]] = [
            (0, 0, mido.MetaMessage("track_name", name=_meta_text(part.label or part.name))),
            (0, 0, mido.MetaMessage("instrument_name", name=_meta_text(part.label or part.name))),
            (0, 1, mido.Message("program_change", channel=channel, program=program)),
        ]
        # Notes: a repeated pitch cuts the previous one short, so note-ons and offs pair up.
        notes = sorted(
            ((tick(n.start_s), max(tick(n.start_s) + 1, tick(n.start_s + n.duration_s)), max(0, min(127, int(n.pitch))),
              max(1, min(127, int(n.velocity)))) for n in part.notes),
        )
        last_index: dict[int, int] = {}
        spans: list[list[int]] = []
        for start, end, pitch, velocity in notes:
            if pitch in last_index:
                previous = spans[last_index[pitch]]
                previous[1] = min(previous[1], start)
            last_index[pitch] = len(spans)
            spans.append([start, end, pitch, velocity])
        for start, end, pitch, velocity in spans:
            if end <= start:  # two notes on one tick and pitch: keep the later one
                continue
            events.append((start, 3, mido.Message("note_on", channel=channel, note=pitch, velocity=velocity)))
            events.append((end, 2, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
        if part is vocal_part:
            for line in score.lyrics:
                for at, text in _midi_lyric_events(line):
                    events.append((tick(at), 2, mido.MetaMessage("lyrics", text=_meta_text(text))))
        midi.tracks.append(track_from(events))

    return _atomic_write(Path(path), lambda tmp: midi.save(str(tmp)))


# --- lyrics -------------------------------------------------------------------------------------


def _lrc_time(seconds: float) -> str:
    centis = max(0, int(round(seconds * 100)))
    return f"{centis // 6000:02d}:{centis // 100 % 60:02d}.{centis % 100:02d}"


def _words(line: LyricLine) -> list[tuple[float, str]]:
    """(start, word) from the syllables; the line's words at its start when there are none."""
    if not line.syllables:
        return [(line.start_s, line.text)]
    words: list[tuple[float, str]] = []
    current: list[str] = []
    start = line.syllables[0].start_s
    for syllable, word_end in zip(line.syllables, _syllable_word_ends(line)):
        if not current:
            start = syllable.start_s
        current.append(syllable.text.strip())
        if word_end:
            words.append((start, "".join(current)))
            current = []
    if current:
        words.append((start, "".join(current)))
    return words


def lyrics_lrc(score: Score, metadata: TrackMetadata, *, enhanced: bool = False) -> str:
    """LRC: [ti:]/[ar:]/[length:] headers and one [mm:ss.xx] line per lyric line; `enhanced` adds
    per-word <mm:ss.xx> times (the A2 extension)."""
    length = int(round(score.total_s))
    lines = [
        f"[ti:{metadata.title}]",
        f"[ar:{metadata.artist}]",
        f"[length:{length // 60:02d}:{length % 60:02d}]",
        "[re:Studio]",
    ]
    for line in score.lyrics:
        if enhanced and line.syllables:
            words = " ".join(f"<{_lrc_time(start)}>{word}" for start, word in _words(line))
            lines.append(f"[{_lrc_time(line.start_s)}]{words} <{_lrc_time(line.end_s)}>")
        else:
            lines.append(f"[{_lrc_time(line.start_s)}]{line.text}")
    return "\n".join(lines) + "\n"


def lyrics_json(score: Score) -> dict:
    """Seed 001's lyrics shape (text, formatted, timestamps) plus `lines` with syllable timing."""
    formatted: list[str] = []
    previous_section = None
    for line in score.lyrics:
        if line.section != previous_section:
            if formatted:
                formatted.append("")
            formatted.append(f"[{line.section}]")
            previous_section = line.section
        formatted.append(line.text)
    return {
        "text": "\n".join(line.text for line in score.lyrics),
        "formatted": "\n".join(formatted),
        "timestamps": [
            {"start": round(line.start_s, 3), "end": round(line.end_s, 3), "text": line.text, "section": line.section}
            for line in score.lyrics
        ],
        "lines": [
            {
                "section": line.section,
                "text": line.text,
                "start": round(line.start_s, 3),
                "end": round(line.end_s, 3),
                "syllables": [
                    {"text": s.text, "start": round(s.start_s, 3), "end": round(s.end_s, 3), "pitch": int(s.pitch)}
                    for s in line.syllables
                ],
            }
            for line in score.lyrics
        ],
    }


# --- chord charts -------------------------------------------------------------------------------


def chord_chart(score: Score) -> dict:
    """Key, tempo, time signature, per section the chords of each bar (in order of sounding; a
    chord held over a bar line is listed again in the next bar; [] = no chord), and every chord."""
    beats_per_bar = score.beats_per_bar
    spans = [(c.beat, c.beat + c.duration_s / score.seconds_per_beat, c.symbol) for c in score.chords]
    first_bar = score.sections[0].start_bar if score.sections else 0
    eps = 1e-6

    def bar_chords(bar_index: int) -> list[str]:
        lo, hi = bar_index * beats_per_bar, (bar_index + 1) * beats_per_bar
        symbols: list[str] = []
        for start, end, symbol in sorted(spans):
            if start < hi - eps and end > lo + eps and (not symbols or symbols[-1] != symbol):
                symbols.append(symbol)
        return symbols

    sections = [
        {
            "label": section.label or section.name,
            "name": section.name,
            "start_s": round(section.start_s, 3),
            "bars": [bar_chords(section.start_bar - first_bar + i) for i in range(section.bars)],
        }
        for section in score.sections
    ]
    return {
        "key": score.spec.key,
        "key_symbol": key_notation(score.spec.key),
        "tempo_bpm": score.tempo_bpm,
        "time_signature": f"{score.beats_per_bar}/{score.beat_unit}",
        "sections": sections,
        "chords": [
            {
                "start_s": round(c.start_s, 3),
                "duration_s": round(c.duration_s, 3),
                "bar": c.bar,
                "beat": c.beat,
                "symbol": c.symbol,
                "roman": c.roman,
            }
            for c in score.chords
        ],
    }


def chord_chart_text(score: Score) -> str:
    """A readable chart: a header, then per section its bars, four to a row: | Am7 | Fmaj7 | C G |."""
    chart = chord_chart(score)
    key = chart["key"].replace("_", " ")
    out = [
        f"{score.spec.title}" if score.spec.title else "Chord chart",
        f"Key: {key}   Tempo: {chart['tempo_bpm']:g} BPM   Time: {chart['time_signature']}",
    ]
    for section in chart["sections"]:
        out.append("")
        out.append(f"[{section['label']}]")
        cells = [" ".join(bar) if bar else "N.C." for bar in section["bars"]]
        width = max((len(c) for c in cells), default=0)
        for row in range(0, len(cells), 4):
            out.append("| " + " | ".join(c.ljust(width) for c in cells[row:row + 4]) + " |")
    return "\n".join(out) + "\n"


# --- everything ---------------------------------------------------------------------------------

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def export_track(
    out_dir: Path,
    basename: str,
    score: Score,
    mix: Any,
    stems: dict[str, Any],
    sample_rate_hz: int,
    formats: Sequence[str],
    *,
    bit_depth: int = 16,
    metadata: TrackMetadata,
    true_peak_ceiling_dbtp: float | None = None,
) -> dict[str, Path | dict[str, Path]]:
    """Write the requested formats into `out_dir` as `<basename>.<ext>` and friends.
    ``true_peak_ceiling_dbtp``: the mix's MP3 and OGG decode at or under it (`write_audio`).

    Returns {"wav"/"flac"/"ogg"/"mp3"/"midi": path, "stems": {name: path}, "lrc": path,
    "lyrics_json": path, "chords": path (JSON), "chords_txt": path}. Lyrics files are written only
    when the score has lyrics.
    """
    wanted = normalise_formats(formats)
    if not basename or basename != Path(basename).name or basename.startswith("."):
        raise ValueError(f"basename must be a plain file name, not {basename!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Path | dict[str, Path]] = {}

    # Encoding is C code (libsndfile, LAME, Vorbis) that releases the GIL, and the lossy
    # encoders are single-threaded and slow (MP3: ~10 s for 3 minutes): the audio files are
    # written by a small thread pool, slowest first, while the MIDI file is written here.
    jobs: dict[tuple[str, str], Callable[[], Path]] = {}
    for fmt in sorted((f for f in AUDIO_FORMATS if f in wanted), key=_ENCODE_ORDER.index):
        jobs[(fmt, "")] = lambda fmt=fmt: write_audio(out_dir / f"{basename}.{fmt}", mix, sample_rate_hz, fmt,
                                                      bit_depth=bit_depth, metadata=metadata,
                                                      true_peak_ceiling_dbtp=true_peak_ceiling_dbtp)
    if "stems" in wanted:
        for name, audio in stems.items():
            safe = _SAFE_NAME.sub("_", name).strip("._") or "stem"
            stem_meta = replace(metadata, title=f"{metadata.title} ({name})")
            jobs[("stems", name)] = lambda audio=audio, safe=safe, stem_meta=stem_meta: write_audio(
                out_dir / f"{basename}_stem_{safe}.wav", audio, sample_rate_hz, "wav", bit_depth=bit_depth,
                metadata=stem_meta)
    with ThreadPoolExecutor(max_workers=max(1, min(EXPORT_THREADS, len(jobs)))) as pool:
        futures = {key: pool.submit(job) for key, job in jobs.items()}
        midi = write_midi(out_dir / f"{basename}.mid", score) if "midi" in wanted else None
        done = {key: future.result() for key, future in futures.items()}  # re-raises a worker's error
    # The result lists the files in the usual order: audio formats, MIDI, stems.
    for fmt in AUDIO_FORMATS:
        if (fmt, "") in done:
            result[fmt] = done[(fmt, "")]
    if midi is not None:
        result["midi"] = midi
    if "stems" in wanted:
        result["stems"] = {name: done[("stems", name)] for name in stems}
    if score.lyrics:
        if "lyrics" in wanted or "lrc" in wanted:
            result["lrc"] = _write_text(out_dir / f"{basename}.lrc", lyrics_lrc(score, metadata))
        if "lyrics" in wanted or "lyrics_json" in wanted:
            text = json.dumps(lyrics_json(score), indent=2, ensure_ascii=False)
            result["lyrics_json"] = _write_text(out_dir / f"{basename}_lyrics.json", text + "\n")
    if "chords" in wanted:
        result["chords"] = _write_text(out_dir / f"{basename}_chords.json", json.dumps(chord_chart(score), indent=2) + "\n")
        result["chords_txt"] = _write_text(out_dir / f"{basename}_chords.txt", chord_chart_text(score))
    return result


__all__ = [
    "ALL_FORMATS",
    "AUDIO_FORMATS",
    "TrackMetadata",
    "chord_chart",
    "chord_chart_text",
    "export_track",
    "key_notation",
    "lyrics_json",
    "lyrics_lrc",
    "normalise_formats",
    "tag_file",
    "write_audio",
    "write_midi",
]
