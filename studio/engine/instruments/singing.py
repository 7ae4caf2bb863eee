"""Sung vocals: a character's Piper voice singing the lyrics on the melody, through WORLD.

Speech-to-singing, line by line:

1. Each lyric line is spoken by Piper in one go (whole-line coarticulation, noise off so renders
   repeat) with the model's own phoneme durations exposed: Piper's VITS graph computes the
   number of frames of every phoneme id (a ``Ceil`` tensor), and the voice is loaded a second
   time with that tensor marked as a graph output (`_aligned_voice`). That gives each phoneme's
   exact span in the audio, so consonants are cut where the model put them rather than where an
   energy or voicing heuristic guesses.
2. Phonemes are grouped into syllables (a vowel nucleus, diphthongs kept whole; consonants
   between two nuclei of a word split between coda and the next onset) and matched to the sung
   syllables of `Score.lyrics` word by word (whole line, proportionally, when espeak-ng and the
   lyrics disagree on the words or the syllable counts).
3. WORLD analysis of the line (the project's robust F0 tracker `_track_f0`, CheapTrick, D4C) and
   a time map per note: onset consonants at their natural length, slightly before the beat
   (so the vowel lands on it), coda consonants at the end of the note, both squeezed when the
   note is short; the first vowel of the nucleus is stretched to hold the note (diphthong
   off-glides come at the end, as singers do). The envelope and aperiodicity frames are
   resampled along that map; rests between non-legato notes are silent.
4. F0 comes from the notes, not from the speech: the written pitch, 40-60 ms portamento between
   legato notes, a slight scoop into notes after a rest, vibrato (5-6 Hz, +-35 cents, fading in
   after 200 ms) on notes of 350 ms or more, and a few cents of slow wander so short notes are
   not machine-flat. The character's ``formant_shift`` warps the envelope (timbre); its
   ``pitch_semitones`` does not move the written notes, except that a clearly deep voice
   (``pitch_semitones`` <= -3) sings an octave down. Speed and emotion do not apply: the notes
   set the timing.
5. `pyworld.synthesize` per line, each line levelled, placed at its start time with short fades,
   resampled to the song's rate, and the stem peak-normalised to -3 dBFS.

The female base voice (hibari, `voice.FEMALE_VOICE_ID`) sings the same way: its ONNX graph
also computes frames per phoneme id (a ``Clip`` tensor after ``Round``), exposed as a graph
output by `voice.HibariVoice`, so its phonemes (misaki's alphabet: diphthongs are one letter,
A I O W Y) get exact spans too (`_speak_line_hibari`); nothing is guessed from the audio.

Rapped lines (``delivery="rap"``, the hip-hop styles' ``vocal_delivery``) share steps 1, 2 and 5
but keep the speech: each syllable starts on its note (vowel on the beat) at close to its spoken
length, with silence after it until the next, and the pitch is the speech's own intonation
shifted by ``pitch_semitones`` (`_rap_line`). Rap is rhythm on top of speech, so no held vowels.
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import pyworld

from studio.engine.io.protobuf import iter_fields, length_delimited
from studio.engine.composition.score import LyricLine, Syllable
from studio.engine.instruments.voice import (
    DEFAULT_VOICE_ID,
    FEMALE_VOICE_ID,
    FRAME_PERIOD_MS,
    PIPER_LOCK,
    HibariVoice,
    VoiceModelMissing,
    VoiceSettings,
    _track_f0,
    _warp_frequency,
    default_voice_paths,
    interpolate_frames,
    load_hibari,
    normalize_text,
)

if TYPE_CHECKING:
    from piper import PiperVoice

__all__ = ["sing", "SINGING_STAGE", "OUTPUT_PEAK"]

SINGING_STAGE = "singing"  # the stage name reported to ``progress``
OUTPUT_PEAK = 10 ** (-3.0 / 20.0)  # -3 dBFS: the vocal stem leaves headroom for the mixer

FRAME_S = FRAME_PERIOD_MS / 1000.0
LEGATO_GAP_S = 0.08  # notes closer than this are sung legato (no breath, a glide between them)
GLIDE_S = 0.06  # portamento between legato notes (shorter on short notes)
ANTICIPATION_S = 0.03  # onset consonants start up to this much before the beat
CONSONANT_SHARE = 0.5  # consonants take at most this share of a note
SCOOP_SEMITONES = 0.6  # notes after a rest start this much flat...
SCOOP_S = 0.08  # ...and reach the pitch within this time
VIBRATO_MIN_NOTE_S = 0.35
VIBRATO_DELAY_S = 0.2
VIBRATO_FADE_S = 0.2
VIBRATO_RATE_HZ = (5.2, 5.9)  # per note, within this range
VIBRATO_SEMITONES = 0.35  # +-35 cents
WANDER_SEMITONES = 0.05  # slow pitch wander on every note
DEEP_VOICE_SEMITONES = -3.0  # characters at or below this pitch sing an octave down
EDGE_FADE_S = 0.01
LINE_RMS = 0.1  # each line is levelled to this RMS (over its sung frames) before the stem is normalised
DELIVERIES = ("sung", "rap")
RAP_STRETCH = 1.6  # a rapped syllable is at most this much longer (or shorter) than spoken, room allowing
RAP_TAIL_S = 0.15  # a line's last rapped syllable may run this far past its note
# A rapped syllable is lifted to at most this far below the line's median syllable (what a rap
# vocal's fast compression does): a reduced syllable ("ours" = AW1 ER0 Z) spoken almost silently
# would be a lost word over a beat. The lift is bounded so breaths and noise are not raised.
RAP_SYLLABLE_FLOOR_DB = -12.0
RAP_MAX_LIFT_DB = 18.0

_VOWELS = frozenset("aeiouyæɑɒɔəɚɛɜɝɪʊʌᵻɐøœɘɵɤɯɨʉ" "AIOWYQᵊ")  # the second part: misaki's (hibari's)
_OFFGLIDE_AFTER = {"ɪ": frozenset("aeɔoəɐ"), "ʊ": frozenset("aoəɐ")}
_STRESS = frozenset("ˈˌ")
_MODIFIERS = frozenset("ːˑ\u0329\u032f")  # length marks and syllabic/non-syllabic diacritics
_PAUSES = frozenset(",.;:!?¡¿—…\"()")


# ============================================================================ Piper with durations


def _messages(buf: memoryview, start: int, end: int):
    """(field number, payload start, payload end) of the length-delimited fields of a message."""
    for field, wire, span in iter_fields(buf, start, end):
        if wire == 2:
            yield field, *span


def _with_duration_output(model: bytes) -> tuple[bytes, str]:
    """The ONNX model with the output of its one ``Ceil`` node (frames per phoneme id) added as a graph output.

    What ``piper.patch_voice_with_alignment`` does, without the ``onnx`` package: the protobuf is
    walked by hand (ModelProto.graph = 7, GraphProto.node = 1 / output = 12, NodeProto.output = 2
    / op_type = 4) and one more ``graph { output { name } }`` is appended; protobuf merges a
    repeated embedded message into the one before it, so the model keeps everything else.
    """
    buf = memoryview(model)
    ceil_outputs: list[str] = []
    for field, start, end in _messages(buf, 0, len(buf)):
        if field != 7:
            continue
        for graph_field, node_start, node_end in _messages(buf, start, end):
            if graph_field != 1:
                continue
            op_type, outputs = "", []
            for node_field, a, b in _messages(buf, node_start, node_end):
                if node_field == 4:
                    op_type = bytes(buf[a:b]).decode()
                elif node_field == 2:
                    outputs.append(bytes(buf[a:b]).decode())
            if op_type == "Ceil":
                ceil_outputs += outputs
    if len(ceil_outputs) != 1:
        raise ValueError(f"expected one Ceil node in the Piper model, found {len(ceil_outputs)}")
    name = ceil_outputs[0]
    return model + length_delimited(7, length_delimited(12, length_delimited(1, name.encode()))), name


_LOAD_LOCK = threading.Lock()


def _model_paths(base_voice: str | None) -> tuple[Path, Path]:
    if not base_voice or base_voice == DEFAULT_VOICE_ID:
        return default_voice_paths()
    model = Path(base_voice).expanduser()
    if model.suffix != ".onnx":
        raise VoiceModelMissing(
            f"unknown base voice {base_voice!r}: use {DEFAULT_VOICE_ID!r} or the path of a Piper .onnx file")
    return model, model.with_name(model.name + ".json")


@dataclass(frozen=True)
class _LineVoice:
    """A base voice as singing needs it: its rate and a line spoken with phone spans."""

    rate: int
    speak: Callable[[str], "tuple[np.ndarray, list[list[_Phone]]]"]


def _aligned_voice(base_voice: str | None) -> _LineVoice:
    """The base voice that also returns frames per phoneme id: Piper with its ``Ceil`` tensor
    as a second output, or hibari (`HibariVoice` exposes its durations)."""
    if base_voice == FEMALE_VOICE_ID:
        hibari = load_hibari()
        return _LineVoice(hibari.sample_rate, lambda text: _speak_line_hibari(hibari, text))
    piper = _aligned_piper(base_voice)
    return _LineVoice(int(piper.config.sample_rate), lambda text: _speak_line(piper, text))


def _aligned_piper(base_voice: str | None) -> "PiperVoice":
    """The Piper voice whose ONNX session also returns frames per phoneme id (its second output)."""
    model, config = _model_paths(base_voice)
    model, config = model.resolve(), config.resolve()
    for path, what in ((model, "model"), (config, "config")):
        if not path.is_file():
            raise VoiceModelMissing(f"Piper voice {what} not found: {path}")
    with _LOAD_LOCK:
        return _aligned_voice_cached(str(model), str(config))


@lru_cache(maxsize=4)
def _aligned_voice_cached(model: str, config: str) -> "PiperVoice":
    import json

    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    patched, _ = _with_duration_output(Path(model).read_bytes())
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    with open(config, encoding="utf-8") as fh:
        piper_config = PiperConfig.from_dict(json.load(fh))
    session = onnxruntime.InferenceSession(patched, sess_options=options, providers=["CPUExecutionProvider"])
    return PiperVoice(session=session, config=piper_config)


@dataclass
class _Phone:
    symbol: str
    start: int  # samples
    end: int
    stressed: bool = False

    @property
    def is_vowel(self) -> bool:
        return self.symbol in _VOWELS or self.symbol == "syllabic"


def _speak_line(voice: "PiperVoice", text: str) -> tuple[np.ndarray, list[list[_Phone]]]:
    """Piper audio of one line (noise off) and its words as lists of phones with sample spans."""
    from piper.const import BOS, EOS, PAD

    config = voice.config
    pad_ids = config.phoneme_id_map.get(PAD, [])
    scales = np.array([0.0, float(config.length_scale or 1.0), 0.0], dtype=np.float32)
    chunks: list[np.ndarray] = []
    words: list[list[_Phone]] = []
    offset = 0
    with PIPER_LOCK:  # espeak-ng (inside phonemize) is not thread-safe
        sentences = voice.phonemize(text)
    for phonemes in sentences:
        if not phonemes:
            continue
        ids = voice.phonemes_to_ids(phonemes)
        args = {"input": np.array([ids], dtype=np.int64),
                "input_lengths": np.array([len(ids)], dtype=np.int64), "scales": scales}
        if config.num_speakers > 1:
            args["sid"] = np.array([config.default_speaker_id or 0], dtype=np.int64)
        audio, frames = voice.session.run(None, args)[:2]
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        samples = np.asarray(frames).reshape(-1).astype(np.int64) * int(config.hop_length)
        bounds = offset + np.concatenate([[0], np.cumsum(samples)])
        # Each phoneme owns its ids plus the pad after it (as piper's own alignment does).
        spans, index = [], 0
        for phoneme in [BOS, *phonemes, EOS]:
            n_ids = len(config.phoneme_id_map.get(phoneme, [])) + (len(pad_ids) if phoneme != EOS else 0)
            start, end = int(bounds[min(index, len(bounds) - 1)]), int(bounds[min(index + n_ids, len(bounds) - 1)])
            index += n_ids
            if phoneme not in (BOS, EOS):
                spans.append((phoneme, start, end))
        words.extend(_words(spans))
        chunks.append(audio)
        offset += len(audio)
    return _joined(chunks, words)


def _words(spans: list[tuple[str, int, int]]) -> list[list[_Phone]]:
    """Phonemes with their sample spans grouped into words of phones: spaces and pauses end a
    word, a stress mark marks the phone after it, a modifier lengthens the phone before it."""
    words: list[list[_Phone]] = []
    current: list[_Phone] = []
    stress_pending = False
    for phoneme, start, end in spans:
        if phoneme == " " or phoneme in _PAUSES:
            if current:
                words.append(current)
                current = []
            continue
        if phoneme in _STRESS:
            stress_pending = True
            continue
        if phoneme in _MODIFIERS and current:
            current[-1].end = end
            if phoneme == "\u0329":  # syllabic consonant: a nucleus of its own
                current[-1].symbol = "syllabic"
            continue
        if current and current[-1].end < start:  # a stress mark's time goes to the phone after it
            start = current[-1].end
        current.append(_Phone(phoneme, start, end, stressed=stress_pending))
        stress_pending = False
    if current:
        words.append(current)
    return words


def _joined(chunks: list[np.ndarray], words: list[list[_Phone]]) -> tuple[np.ndarray, list[list[_Phone]]]:
    if not chunks:
        return np.zeros(0, dtype=np.float32), []
    audio = np.concatenate(chunks)
    for word in words:  # the duration sum and the audio can differ by a hop
        for phone in word:
            phone.start, phone.end = min(phone.start, len(audio)), min(phone.end, len(audio))
    return audio, words


def _speak_line_hibari(voice: HibariVoice, text: str) -> tuple[np.ndarray, list[list[_Phone]]]:
    """hibari audio of one line (noise seeded, so renders repeat) and its words as phones with
    sample spans: one id per phoneme character, framed by the 0 pads."""
    chunks: list[np.ndarray] = []
    words: list[list[_Phone]] = []
    offset = 0
    for phonemes in voice.phonemize(text):
        audio, samples = voice.run(phonemes, seed=0)
        if not audio.size:
            continue
        bounds = offset + np.concatenate([[0], np.cumsum(samples)])
        spans, index = [], 1  # after the leading pad
        for phoneme in phonemes:
            if phoneme not in voice.vocab:
                continue  # the model never saw it: no id, no time
            spans.append((phoneme, int(bounds[min(index, len(bounds) - 1)]), int(bounds[min(index + 1, len(bounds) - 1)])))
            index += 1
        words.extend(_words(spans))
        chunks.append(audio)
        offset += len(audio)
    return _joined(chunks, words)


# ============================================================================ syllables


@dataclass
class _SourceSyllable:
    """A syllable in the speech, in samples: consonants, the held vowel, then off-glide and coda."""

    start: int
    hold_start: int
    hold_end: int
    end: int


def _word_syllables(word: list[_Phone]) -> list[_SourceSyllable]:
    nuclei: list[list[int]] = []  # phone indices of each nucleus
    for i, phone in enumerate(word):
        if not phone.is_vowel:
            continue
        previous = word[i - 1] if i > 0 else None
        glide = (previous is not None and previous.is_vowel and not phone.stressed
                 and previous.symbol in _OFFGLIDE_AFTER.get(phone.symbol, ()))
        if glide and nuclei and nuclei[-1][-1] == i - 1:
            nuclei[-1].append(i)
        else:
            nuclei.append([i])
    if not nuclei:  # no vowel ("hmm"): the middle of the word is held
        start, end = word[0].start, word[-1].end
        third = (end - start) // 3
        return [_SourceSyllable(start, start + third, end - third, end)]
    # Consonants between two nuclei: the first half (rounded down) closes the syllable before,
    # the rest opens the next one ("mid|night", "mor|ning" -> "mo|rning" for one consonant).
    cuts = [word[0].start]
    for left, right in zip(nuclei[:-1], nuclei[1:]):
        between = right[0] - left[-1] - 1
        first_onset = left[-1] + 1 + between // 2
        cuts.append(word[first_onset].start)
    cuts.append(word[-1].end)
    out = []
    for k, nucleus in enumerate(nuclei):
        held = word[nucleus[0]]
        out.append(_SourceSyllable(cuts[k], held.start, max(held.end, held.start + 1), cuts[k + 1]))
    return out


def _map_group(source: list[_SourceSyllable], count: int) -> list[_SourceSyllable]:
    """``count`` sung syllables from the speech syllables of one word (or line), in order."""
    k = len(source)
    if k == count:
        return list(source)
    if count <= 0 or k == 0:
        return []
    if k > count:  # merge: "fire" (two nuclei in espeak-ng, one sung syllable)
        out = []
        for j in range(count):
            a, b = j * k // count, (j + 1) * k // count
            out.append(_SourceSyllable(source[a].start, source[a].hold_start, source[b - 1].hold_end, source[b - 1].end))
        return out
    out = []  # split: more sung syllables than nuclei share one vowel in turn
    owners = [j * k // count for j in range(count)]
    for i, syllable in enumerate(source):
        sharing = [j for j, owner in enumerate(owners) if owner == i]
        edges = np.linspace(syllable.hold_start, syllable.hold_end, len(sharing) + 1).astype(int)
        for n in range(len(sharing)):
            out.append(_SourceSyllable(syllable.start if n == 0 else int(edges[n]), int(edges[n]), int(edges[n + 1]),
                                       syllable.end if n == len(sharing) - 1 else int(edges[n + 1])))
    return out


def _lyric_word_sizes(line: LyricLine) -> list[int] | None:
    """Sung syllables per word of the line (as the composer split them), or None if that does not add up."""
    from studio.engine.composition.lyrics import syllables

    sizes = [n for n in (len(syllables(token)) for token in line.text.split()) if n]
    return sizes if sum(sizes) == len(line.syllables) else None


def _source_for_syllables(line: LyricLine, words: list[list[_Phone]]) -> list[_SourceSyllable]:
    per_word = [_word_syllables(word) for word in words]
    sizes = _lyric_word_sizes(line)
    if sizes is not None and len(sizes) == len(per_word):
        out = []
        for source, size in zip(per_word, sizes):
            mapped = _map_group(source, size)
            if len(mapped) != size:
                break
            out.extend(mapped)
        else:
            return out
    return _map_group([s for word in per_word for s in word], len(line.syllables))


# ============================================================================ time map and pitch


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


@dataclass
class _Placed:
    note: Syllable
    t0: float  # target span, seconds on the song's timeline
    t3: float
    anchors_t: tuple[float, float, float, float]
    anchors_src: tuple[float, float, float, float]  # seconds in the speech
    legato_next: bool
    legato_prev: bool


def _place(notes: list[Syllable], source: list[_SourceSyllable], rate: int) -> list[_Placed]:
    n = len(notes)
    legato = [i + 1 < n and notes[i + 1].start_s - notes[i].end_s < LEGATO_GAP_S for i in range(n)]
    onsets = [(s.hold_start - s.start) / rate for s in source]
    t0 = [notes[i].start_s - min(ANTICIPATION_S, 0.5 * onsets[i]) for i in range(n)]
    placed = []
    for i, (note, syl) in enumerate(zip(notes, source)):
        start = t0[i]
        end = t0[i + 1] if legato[i] else max(note.end_s, note.start_s + 2 * FRAME_S)
        end = max(end, start + 2 * FRAME_S)
        span = end - start
        on, off = onsets[i], (syl.end - syl.hold_end) / rate
        squeeze = min(1.0, CONSONANT_SHARE * span / (on + off)) if on + off > 0 else 1.0
        a1, a2 = start + on * squeeze, end - off * squeeze
        placed.append(_Placed(note, start, end, (start, a1, a2, end),
                              (syl.start / rate, syl.hold_start / rate, syl.hold_end / rate, syl.end / rate),
                              legato[i], i > 0 and legato[i - 1]))
    return placed


def _pitch_contour(placed: list[_Placed], times: np.ndarray, transpose: float, seed: int) -> np.ndarray:
    """MIDI pitch (float) at each target frame time: notes, glides, scoops, vibrato and wander."""
    starts = np.array([p.note.start_s for p in placed])
    pitches = np.array([p.note.pitch for p in placed], dtype=np.float64) + transpose
    index = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(placed) - 1)
    midi = pitches[index].copy()
    rng = np.random.default_rng(seed)
    for i, p in enumerate(placed):
        note_len = p.t3 - p.note.start_s
        if i > 0 and p.legato_prev:  # portamento, centred on the note boundary
            prev_len = placed[i - 1].t3 - placed[i - 1].note.start_s
            glide = min(GLIDE_S, 0.4 * min(note_len, prev_len))
            a = p.note.start_s - 0.5 * glide
            window = (times >= a) & (times < a + glide)
            midi[window] = pitches[i - 1] + (pitches[i] - pitches[i - 1]) * _smoothstep((times[window] - a) / glide)
        else:  # a slight scoop up into a note after a rest
            window = (times >= p.t0) & (times < p.note.start_s + SCOOP_S)
            span = p.note.start_s + SCOOP_S - p.t0
            midi[window] -= SCOOP_SEMITONES * (1.0 - _smoothstep((times[window] - p.t0) / span))
        inside = (times >= p.note.start_s) & (times < p.t3)
        rel = times[inside] - p.note.start_s
        if note_len >= VIBRATO_MIN_NOTE_S:
            rate = VIBRATO_RATE_HZ[0] + (VIBRATO_RATE_HZ[1] - VIBRATO_RATE_HZ[0]) * rng.random()
            depth = VIBRATO_SEMITONES * _smoothstep((rel - VIBRATO_DELAY_S) / VIBRATO_FADE_S)
            midi[inside] += depth * np.sin(2.0 * np.pi * rate * np.maximum(rel - VIBRATO_DELAY_S, 0.0))
        # a slow wander (two incommensurate sines, random phases): held notes are never dead flat
        phase = rng.random(2) * 2.0 * np.pi
        midi[inside] += WANDER_SEMITONES * (0.6 * np.sin(2.0 * np.pi * 1.3 * rel + phase[0])
                                            + 0.4 * np.sin(2.0 * np.pi * 2.9 * rel + phase[1]))
    return midi


def _resample_frames(sp: np.ndarray, ap: np.ndarray, voiced: np.ndarray, position: np.ndarray):
    """Envelope (interpolated in log), aperiodicity and voicing at fractional frame positions."""
    sp_out, ap_out, lower, upper, frac = interpolate_frames(sp, ap, position)
    nearest = np.where(frac[:, 0] < 0.5, lower, upper)
    return sp_out, ap_out, voiced[nearest]


# ============================================================================ one line


@dataclass
class _Analysis:
    """A line's speech, analysed: its syllables and WORLD frames (envelope already warped)."""

    words: list[list[_Phone]]
    voiced: np.ndarray
    sp: np.ndarray
    ap: np.ndarray
    f0: np.ndarray  # the speech's own pitch (Hz, vowels filled in), what a rapped line keeps


def _analyse_line(text: str, voice: _LineVoice, settings: VoiceSettings) -> _Analysis | None:
    rate = voice.rate
    audio, words = voice.speak(text)
    if not words or len(audio) < rate * 0.05:
        return None
    x = audio.astype(np.float64)
    f0, _ = _track_f0(x, rate)
    # Vowels are voiced even where the creaky base voice fooled the tracker: fill F0 there
    # (log-interpolated from the voiced frames) before CheapTrick/D4C so they analyse it as voiced.
    vowel = np.zeros(len(f0), dtype=bool)
    for word in words:
        for phone in word:
            if phone.is_vowel:
                vowel[int(phone.start / rate / FRAME_S): int(np.ceil(phone.end / rate / FRAME_S)) + 1] = True
    vowel = vowel[:len(f0)] & (f0 <= 0)
    if vowel.any():
        voiced_idx = np.flatnonzero(f0 > 0)
        f0[vowel] = (np.exp(np.interp(np.flatnonzero(vowel), voiced_idx, np.log(f0[voiced_idx])))
                     if len(voiced_idx) else 110.0)
    times = np.arange(len(f0)) * FRAME_S
    sp = pyworld.cheaptrick(x, f0, times, rate)
    ap = pyworld.d4c(x, f0, times, rate)
    if settings.formant_shift != 1.0:
        sp = _warp_frequency(sp, settings.formant_shift, log_domain=True)
        ap = _warp_frequency(ap, settings.formant_shift, log_domain=False)
    return _Analysis(words, f0 > 0, sp, ap, f0)


@lru_cache(maxsize=8)
def _sung_aperiodicity(n_bins: int, rate: int) -> np.ndarray:
    """The most aperiodicity a held vowel keeps, per bin: -34 dB up to 500 Hz rising to -6 dB at Nyquist.

    Piper's joe voice is breathy and creaky (aperiodicity 0.4-0.7 under 1 kHz on many vowels);
    stretched over a note that is a whisper, not a sung tone.
    """
    freqs = np.linspace(0.0, rate / 2.0, n_bins)
    octaves_above = np.log2(np.maximum(freqs, 500.0) / 500.0)
    db = -34.0 + 28.0 * octaves_above / np.log2(rate / 2.0 / 500.0)
    return 10.0 ** (db / 20.0)


def _matched_line(line: LyricLine, voice: _LineVoice, settings: VoiceSettings, cache: dict[str, _Analysis | None]):
    """(notes, analysis, source syllables, voice rate) of a line whose spoken syllables match its
    notes one to one, or None (nothing to voice, or no match)."""
    notes = [s for s in line.syllables if s.end_s > s.start_s]
    text = normalize_text(line.text)
    if not notes or not text:
        return None
    if text not in cache:  # a chorus repeats its lines: Piper and the analysis run once per text
        cache[text] = _analyse_line(text, voice, settings)
    analysis = cache[text]
    if analysis is None:
        return None
    source = _source_for_syllables(line, analysis.words)
    if len(source) != len(notes):
        return None
    return notes, analysis, source, voice.rate


def _sing_line(line: LyricLine, voice: _LineVoice, settings: VoiceSettings, transpose: float, seed: int,
               cache: dict[str, _Analysis | None]) -> tuple[float, np.ndarray] | None:
    """(start time in seconds, audio at the voice's rate) for one line, or None when nothing is sung."""
    matched = _matched_line(line, voice, settings, cache)
    if matched is None:
        return None
    notes, analysis, source, rate = matched
    placed = _place(notes, source, rate)
    begin = placed[0].t0 - EDGE_FADE_S
    finish = placed[-1].t3 + EDGE_FADE_S
    times = begin + np.arange(int(np.ceil((finish - begin) / FRAME_S)) + 1) * FRAME_S
    anchors_t = np.array([a for p in placed for a in p.anchors_t])
    anchors_src = np.array([a for p in placed for a in p.anchors_src])
    position = np.interp(times, anchors_t, anchors_src) / FRAME_S
    sp_t, ap_t, voiced_t = _resample_frames(analysis.sp, analysis.ap, analysis.voiced, position)
    held = np.zeros(len(times))
    for p in placed:
        held[(times >= p.anchors_t[1]) & (times < p.anchors_t[2])] = 1.0
    held = np.convolve(held, np.hanning(7) / np.hanning(7).sum(), mode="same")[:, None]  # ~15 ms ramps
    ap_t = np.ascontiguousarray(ap_t * (1.0 - held) + np.minimum(ap_t, _sung_aperiodicity(ap_t.shape[1], rate)) * held)

    sung = np.zeros(len(times), dtype=bool)
    for p in placed:
        sung |= (times >= p.t0) & (times < p.t3)
    midi = _pitch_contour(placed, times, transpose, seed)
    f0_t = np.where(voiced_t & sung, 440.0 * 2.0 ** ((midi - 69.0) / 12.0), 0.0)
    y = pyworld.synthesize(f0_t, sp_t, ap_t, rate, FRAME_PERIOD_MS)

    return begin, _gate_and_level(y, times, sung, begin, rate)


def _gate_and_level(y: np.ndarray, times: np.ndarray, active: np.ndarray, begin: float, rate: int) -> np.ndarray:
    """Silence outside the `active` frames (short ramps: a frame mask smoothed over EDGE_FADE_S;
    `y` starts at `begin` seconds), then the line levelled to LINE_RMS over its active part."""
    sample_times = begin + np.arange(len(y)) / rate
    gain = np.interp(sample_times, times, active.astype(np.float64))
    ramp = max(1, int(EDGE_FADE_S * rate))
    gain = np.convolve(gain, np.hanning(2 * ramp + 1) / np.hanning(2 * ramp + 1).sum(), mode="same")
    y = y * gain
    level = np.sqrt(np.mean(y[gain > 0.5] ** 2)) if (gain > 0.5).any() else 0.0
    if level > 1e-9:
        y *= LINE_RMS / level
    return y.astype(np.float32)


def _rap_line(line: LyricLine, voice: _LineVoice, settings: VoiceSettings, cache: dict[str, _Analysis | None]
              ) -> tuple[float, np.ndarray] | None:
    """One line rapped: spoken, each syllable moved onto its note's onset (its vowel on the
    beat, its onset consonants just before), kept near its spoken length (RAP_STRETCH) and
    followed by silence until the next syllable; the pitch is the speech's own intonation, moved
    by the character's ``pitch_semitones``. (start time in seconds, audio at the voice's rate)."""
    matched = _matched_line(line, voice, settings, cache)
    if matched is None:
        return None
    notes, analysis, source, rate = matched
    starts, spans = [], []  # per syllable: target start, (source start, source end) in seconds
    for i, (note, syl) in enumerate(zip(notes, source)):
        onset = (syl.hold_start - syl.start) / rate
        room = note.start_s - notes[i - 1].start_s if i else onset
        starts.append(note.start_s - min(onset, 0.5 * room))
        spans.append((syl.start / rate, syl.end / rate))
    ends = []
    for i, (start, (src0, src1)) in enumerate(zip(starts, spans)):
        natural = max(src1 - src0, FRAME_S)
        available = (starts[i + 1] if i + 1 < len(starts) else notes[i].end_s + RAP_TAIL_S) - start
        ends.append(start + min(available, float(np.clip(available, natural / RAP_STRETCH, natural * RAP_STRETCH))))
    begin = starts[0] - EDGE_FADE_S
    times = begin + np.arange(int(np.ceil((ends[-1] + EDGE_FADE_S - begin) / FRAME_S)) + 1) * FRAME_S
    index = np.clip(np.searchsorted(np.array(starts), times, side="right") - 1, 0, len(starts) - 1)
    t0, t1 = np.array(starts)[index], np.array(ends)[index]
    s0, s1 = np.array([sp[0] for sp in spans])[index], np.array([sp[1] for sp in spans])[index]
    active = (times >= t0) & (times < t1)
    fraction = np.clip((times - t0) / np.maximum(t1 - t0, 1e-9), 0.0, 1.0)
    position = (s0 + fraction * (s1 - s0)) / FRAME_S
    sp_t, ap_t, voiced_t = _resample_frames(analysis.sp, analysis.ap, analysis.voiced, position)
    pitch = np.interp(position, np.arange(len(analysis.f0)), analysis.f0)
    f0_t = np.where(voiced_t & active, pitch * 2.0 ** (settings.pitch_semitones / 12.0), 0.0)
    y = pyworld.synthesize(np.ascontiguousarray(f0_t), sp_t, ap_t, rate, FRAME_PERIOD_MS)
    return begin, _gate_and_level(_even_syllables(y, rate, begin, starts, ends), times, active, begin, rate)


def _even_syllables(y: np.ndarray, rate: int, begin: float, starts: list[float], ends: list[float]) -> np.ndarray:
    """Each syllable (`starts`/`ends` in seconds, `y` starting at `begin`) raised to at least
    RAP_SYLLABLE_FLOOR_DB below the median syllable, with short ramps (no clicks)."""
    bounds = [(max(0, int((a - begin) * rate)), min(len(y), int((b - begin) * rate))) for a, b in zip(starts, ends)]
    rms = np.array([np.sqrt(np.mean(y[a:b] ** 2)) if b > a else 0.0 for a, b in bounds])
    if not (rms > 1e-9).any():
        return y
    floor = float(np.median(rms[rms > 1e-9])) * 10 ** (RAP_SYLLABLE_FLOOR_DB / 20)
    gain = np.ones(len(y))
    for (a, b), level in zip(bounds, rms):
        if 1e-9 < level < floor:
            gain[a:b] = min(floor / level, 10 ** (RAP_MAX_LIFT_DB / 20))
    ramp = max(1, int(0.005 * rate))
    kernel = np.hanning(2 * ramp + 1)
    return y * np.convolve(gain, kernel / kernel.sum(), mode="same")


# ============================================================================ the stem


def _transpose_for(settings: VoiceSettings) -> float:
    return -12.0 if settings.pitch_semitones <= DEEP_VOICE_SEMITONES else 0.0


def sing(lyrics: list[LyricLine], *, sample_rate_hz: int, num_frames: int, settings: VoiceSettings | None = None,
         delivery: str = "sung", progress: Callable[[float, str], None] | None = None,
         check_cancelled: Callable[[], None] | None = None) -> np.ndarray:
    """The vocal stem: ``lyrics`` sung on their notes by the voice of ``settings``, or, with
    ``delivery="rap"``, rapped on the notes' rhythm (`_rap_line`: speech intonation, no held notes).

    ``lyrics`` are the score's aligned lines (`Score.lyrics`); each syllable is sung on its note
    (MIDI pitch, start and end in seconds on the song's timeline). Returns float32 mono of
    ``num_frames`` samples at ``sample_rate_hz``, silent outside the sung lines and peaking at
    -3 dBFS (all zeros when nothing is sung). Deterministic: the same lyrics and settings give
    the same samples. ``progress(fraction, "singing")`` is called after each line and
    ``check_cancelled()`` before each (it raises to cancel). See the module notes for the method.
    """
    if sample_rate_hz <= 0:
        raise ValueError(f"sample_rate_hz must be positive, not {sample_rate_hz}")
    if num_frames < 0:
        raise ValueError(f"num_frames must be >= 0, not {num_frames}")
    if delivery not in DELIVERIES:
        raise ValueError(f"delivery must be one of {', '.join(DELIVERIES)}, not {delivery!r}")
    settings = settings or VoiceSettings()
    report = progress or (lambda _fraction, _stage: None)
    out = np.zeros(num_frames, dtype=np.float32)
    lines = [line for line in lyrics if line.syllables and line.text.strip()]
    report(0.0, SINGING_STAGE)
    if not lines or num_frames == 0:
        report(1.0, SINGING_STAGE)
        return out

    from scipy.signal import resample_poly

    voice = _aligned_voice(settings.base_voice)
    rate = voice.rate
    transpose = _transpose_for(settings)
    common = int(np.gcd(rate, int(sample_rate_hz)))
    up, down = int(sample_rate_hz) // common, rate // common
    cache: dict[str, _Analysis | None] = {}
    for n, line in enumerate(lines):
        if check_cancelled:
            check_cancelled()
        seed = zlib.crc32(f"{n}|{line.text}|{line.start_s:.3f}".encode())
        rendered = (_rap_line(line, voice, settings, cache) if delivery == "rap"
                    else _sing_line(line, voice, settings, transpose, seed, cache))
        if rendered is not None:
            begin, y = rendered
            if up != down:
                y = resample_poly(y, up, down).astype(np.float32)
            start = int(round(begin * sample_rate_hz))
            lo, hi = max(start, 0), min(start + len(y), num_frames)
            if hi > lo:
                out[lo:hi] += y[lo - start:hi - start]
        report((n + 1) / len(lines), SINGING_STAGE)
    peak = float(np.max(np.abs(out)))
    if peak > 1e-9:
        out *= OUTPUT_PEAK / peak
    return out
