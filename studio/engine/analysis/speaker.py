"""Speaker embeddings with Resemblyzer's GE2E voice encoder (Wan et al. 2018), ported to torch.

`embed(audio, sample_rate_hz)` gives a 256-value, L2-normalised embedding of the voice in a
clip; `similarity(a, b)` is the cosine of two embeddings (same speaker: ~0.8-0.95, different
speakers: lower); `speaker_similarity(audio_a, rate_a, audio_b, rate_b)` does both. Used by voice
matching (`studio.engine.instruments.voice_match`) to measure how close a fitted voice is to a recording.

The weights are converted once from the `resemblyzer` 0.1.4 wheel by
`tools/convert_resemblyzer.py` (resources/models/speaker_encoder.pt, Apache-2.0 licence in
speaker_encoder_LICENSE.txt). Only numpy and torch run here: no resemblyzer, librosa, webrtcvad
or download at run time. `tests/engine/test_speaker.py` checks the port against the original
(`tools/speaker_reference.py` made its fixture).

Input pipeline, as resemblyzer's `preprocess_wav` + `VoiceEncoder.embed_utterance` do it:

1. mix down to mono (mean of channels) and resample to 16 kHz. Resemblyzer calls
   `librosa.resample` (librosa >= 0.10: soxr "HQ"); here `studio.engine.analysis.tagger.resample`
   (resampy's `kaiser_best` filter, as band-limited; the two differ by ~1e-4 of full scale near
   Nyquist, which the embedding does not see);
2. volume normalisation to -30 dBFS RMS, increase only (louder clips are left as they are);
3. trimming of long silences, with resemblyzer's windows and smoothing: voice activity per
   30 ms window (480 samples, the tail that does not fill a window is dropped), a moving
   average over 8 windows rounded to a boolean (numpy's round-half-to-even: 4 of 8 is silent),
   dilated by 3 windows on each side (a 7-window structuring element, i.e. at most 6 silent
   windows survive between voiced ones); only the kept windows' samples remain.
   **Difference**: resemblyzer decides voice activity with webrtcvad (mode 3, a GMM over six
   sub-band log energies trained on speech). Here a window is active when its RMS level is
   within `VAD_RELATIVE_DB` (30 dB) of the loudest window and above `VAD_FLOOR_DBFS` (-60 dBFS,
   after the normalisation), followed by webrtcvad's own hangover (mode 3, 30 ms frames: 2 more
   windows count as active after a run of active ones, 3 after a run of 7 or more). On clean
   speech both keep nearly the same stretches (the pauses are what gets trimmed); they can differ on stationary non-speech sound (hum, music, steady noise) that
   webrtcvad rejects and an energy detector keeps, and on speech over loud noise. The fixture
   test bounds the effect on real clips (cosine >= 0.99 to the original's embedding);
4. partial utterances as `compute_partial_slices(rate=1.3, min_coverage=0.75)`: 160-frame
   (1.6 s) windows every round(16000 / 1.3 / 160) = 77 frames covering the clip; the last one
   is dropped when less than 75 % of it holds audio (unless it is the only one); the audio is
   zero-padded up to the end of the last window;
5. power mel spectrogram as librosa.feature.melspectrogram(sr=16000, n_fft=400, hop_length=160,
   n_mels=40) with librosa's defaults: periodic Hann window, centred frames with zero padding
   (librosa >= 0.10's pad_mode="constant", what resemblyzer 0.1.4 runs with today), Slaney mel
   filters (`studio.engine.analysis.tagger.mel_filterbank`), no log;
6. each partial through the network, the partial embeddings averaged and L2-normalised.

Network (resemblyzer.VoiceEncoder): 3-layer LSTM (40 -> 256, batch first), the last layer's
final hidden state -> Linear 256 -> ReLU -> L2 normalisation.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from studio.engine.analysis.tagger import mel_filterbank, resample
from studio.resources import resource_path

MODELS_DIR = resource_path("models")
MODEL_FILE = "speaker_encoder.pt"

SAMPLE_RATE_HZ = 16000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s per partial utterance
PARTIALS_PER_S = 1.3
MIN_COVERAGE = 0.75
TARGET_DBFS = -30.0
INT16_MAX = 2 ** 15 - 1
VAD_WINDOW = 480  # 30 ms at 16 kHz
VAD_AVERAGE_WIDTH = 8
VAD_MAX_SILENCE = 6  # windows
VAD_RELATIVE_DB = 30.0  # energy VAD: active within this many dB of the loudest window...
VAD_FLOOR_DBFS = -60.0  # ...and above this level
# webrtcvad's hangover in mode 3 with 30 ms frames (vad_core.c kOverHangMax1VAG / kOverHangMax2VAG,
# kMaxSpeechFrames): after a run of active windows, 2 more count as active, 3 after a run of 7+
VAD_HANGOVER_SHORT = 2
VAD_HANGOVER_LONG = 3
VAD_LONG_RUN = 7
MIN_DURATION_S = 0.5  # shorter input is refused
SILENCE_DBFS = -90.0  # input RMS below this counts as silent
EMBEDDING_SIZE = 256
PARTIAL_BATCH = 64  # partials per forward pass


# ---------------------------------------------------------------------------------------------
# Network


class SpeakerEncoder(nn.Module):
    """Resemblyzer's VoiceEncoder network. Input: power mel spectrograms (batch, frames, 40);
    output: L2-normalised, non-negative embeddings (batch, 256)."""

    def __init__(self, n_mels: int = N_MELS, hidden_size: int = 256, embedding_size: int = EMBEDDING_SIZE,
                 num_layers: int = 3):
        super().__init__()
        self.lstm = nn.LSTM(n_mels, hidden_size, num_layers, batch_first=True)
        self.linear = nn.Linear(hidden_size, embedding_size)
        self.relu = nn.ReLU()
        self.meta: dict = {}
        self.version = "untrained"

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)
        raw = self.relu(self.linear(hidden[-1]))
        return raw / torch.norm(raw, dim=1, keepdim=True)

    @property
    def device(self) -> torch.device:
        return self.linear.weight.device


_LOCK = threading.Lock()


def load_speaker_encoder(device: str | torch.device = "cpu") -> SpeakerEncoder:
    """The pretrained encoder on `device` (default CPU: it is small), in eval mode. Cached."""
    dev = torch.device(device)
    with _LOCK:
        return _load(str(dev))


@lru_cache(maxsize=4)
def _load(device: str) -> SpeakerEncoder:
    path = MODELS_DIR / MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run tools/convert_resemblyzer.py to create it")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    meta = blob["meta"]
    hp = meta["hparams"]
    net = SpeakerEncoder(n_mels=hp["mel_n_channels"], hidden_size=hp["model_hidden_size"],
                         embedding_size=hp["model_embedding_size"], num_layers=hp["model_num_layers"])
    net.load_state_dict(blob["state_dict"], strict=True)
    net.meta = meta
    net.version = f"resemblyzer-0.1.4/{meta['pretrained_sha256'][:12]}"
    return net.to(torch.device(device)).eval()


# ---------------------------------------------------------------------------------------------
# Input pipeline


def _mono_float32(audio, sample_rate_hz: int) -> np.ndarray:
    x = np.asarray(audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else audio)
    if x.ndim == 2:
        x = x.astype(np.float32).mean(axis=0)
    elif x.ndim != 1:
        raise ValueError(f"audio must be 1-D or (channels, frames), got shape {x.shape}")
    if x.size == 0:
        raise ValueError("audio is empty")
    if int(sample_rate_hz) <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate_hz}")
    if x.shape[0] < MIN_DURATION_S * sample_rate_hz:
        raise ValueError(f"audio is too short for a speaker embedding: {x.shape[0] / sample_rate_hz:.2f} s, "
                         f"at least {MIN_DURATION_S} s needed")
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError("audio contains NaN or infinite samples")
    return x


def rms_dbfs(wav: np.ndarray) -> float:
    """RMS level in dB relative to a full-scale int16 (resemblyzer's definition); -inf if silent."""
    rms = math.sqrt(float(np.mean(np.square(wav.astype(np.float64) * INT16_MAX))))
    return 20.0 * math.log10(rms / INT16_MAX) if rms > 0 else -math.inf


def normalize_volume(wav: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Scale to `target_dbfs` RMS if that makes it louder (resemblyzer's increase_only=True)."""
    change = target_dbfs - rms_dbfs(wav)
    if change <= 0:
        return wav
    return (wav * np.float32(10.0 ** (change / 20.0))).astype(np.float32)


def voice_activity(wav: np.ndarray) -> np.ndarray:
    """Per 30 ms window (the tail shorter than a window is ignored): is it active? Energy based
    (see the module docstring for how this differs from resemblyzer's webrtcvad)."""
    n = wav.shape[0] // VAD_WINDOW
    if n == 0:
        return np.zeros(0, dtype=bool)
    frames = wav[:n * VAD_WINDOW].astype(np.float64).reshape(n, VAD_WINDOW)
    level_db = 10.0 * np.log10(np.mean(frames ** 2, axis=1) + 1e-20)  # dBFS, full scale 1.0
    active = level_db > max(VAD_FLOOR_DBFS, float(level_db.max()) - VAD_RELATIVE_DB)
    flags = active.copy()
    run = hangover = 0
    for i, on in enumerate(active.tolist()):  # webrtcvad's hangover (one flag per 30 ms: cheap)
        if on:
            run += 1
            hangover = VAD_HANGOVER_LONG if run >= VAD_LONG_RUN else VAD_HANGOVER_SHORT
        else:
            run = 0
            if hangover > 0:
                flags[i] = True
                hangover -= 1
    return flags


def smooth_voice_flags(flags: np.ndarray) -> np.ndarray:
    """Resemblyzer's mask from per-window flags: moving average over 8 windows, rounded half to
    even, then binary dilation with a 7-window structuring element (zero outside)."""
    width = VAD_AVERAGE_WIDTH
    padded = np.concatenate((np.zeros((width - 1) // 2), flags.astype(float), np.zeros(width // 2)))
    ret = np.cumsum(padded, dtype=float)
    ret[width:] = ret[width:] - ret[:-width]
    mask = np.round(ret[width - 1:] / width).astype(bool)
    dilated = np.convolve(mask.astype(np.int64), np.ones(VAD_MAX_SILENCE + 1, dtype=np.int64), mode="same") > 0
    return dilated[:flags.shape[0]]


def trim_long_silences(wav: np.ndarray, flags: np.ndarray | None = None) -> np.ndarray:
    """`wav` without its long silences (resemblyzer's trim_long_silences). `flags` (one per
    30 ms window) overrides the energy detector, e.g. with webrtcvad's decisions."""
    n = wav.shape[0] // VAD_WINDOW
    wav = wav[:n * VAD_WINDOW]
    if flags is None:
        flags = voice_activity(wav)
    flags = np.asarray(flags, dtype=bool)
    if flags.shape != (n,):
        raise ValueError(f"expected {n} voice-activity flags, got {flags.shape}")
    return wav[np.repeat(smooth_voice_flags(flags), VAD_WINDOW)]


def preprocess(audio, sample_rate_hz: int, *, vad_flags: np.ndarray | None = None) -> np.ndarray:
    """resemblyzer's preprocess_wav: 16 kHz mono float32, volume-normalised, long silences
    trimmed. Raises ValueError for empty, too short, non-finite, silent or soundless input."""
    x = _mono_float32(audio, sample_rate_hz)
    if int(sample_rate_hz) != SAMPLE_RATE_HZ:
        x = resample(torch.from_numpy(x), int(sample_rate_hz), SAMPLE_RATE_HZ).numpy()
    if rms_dbfs(x) < SILENCE_DBFS:
        raise ValueError("audio is silent")
    x = trim_long_silences(normalize_volume(x), vad_flags)
    if x.shape[0] == 0:
        raise ValueError("no voice activity found in the audio")
    return x


def mel_spectrogram(wav_16k: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(frames, 40) float32 power mel spectrogram, 1 + len // 160 frames, like
    librosa.feature.melspectrogram(y, sr=16000, n_fft=400, hop_length=160, n_mels=40)."""
    y = torch.as_tensor(wav_16k, dtype=torch.float32)
    window = torch.hann_window(N_FFT, periodic=True, dtype=torch.float32, device=y.device)
    spec = torch.stft(y, N_FFT, HOP, window=window, center=True, pad_mode="constant", return_complex=True)
    power = spec.abs().square()  # (bins, frames)
    basis = torch.from_numpy(mel_filterbank(SAMPLE_RATE_HZ, N_FFT, N_MELS)).to(power.device)
    return (basis @ power).T.contiguous()


def partial_slices(n_samples: int, rate: float = PARTIALS_PER_S, min_coverage: float = MIN_COVERAGE) -> list[slice]:
    """Mel-frame ranges of the partial utterances of a clip of `n_samples` (resemblyzer's
    compute_partial_slices); the audio is to be zero-padded to 160 * the last stop."""
    if not 0 < min_coverage <= 1:
        raise ValueError("min_coverage must be in (0, 1]")
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    frame_step = int(np.round((SAMPLE_RATE_HZ / rate) / HOP))
    if not 0 < frame_step <= PARTIAL_FRAMES:
        raise ValueError(f"rate {rate} partials/s is out of range")
    steps = max(1, n_frames - PARTIAL_FRAMES + frame_step + 1)
    slices = [slice(i, i + PARTIAL_FRAMES) for i in range(0, steps, frame_step)]
    last = slices[-1]
    coverage = (n_samples - last.start * HOP) / ((last.stop - last.start) * HOP)
    if coverage < min_coverage and len(slices) > 1:
        slices = slices[:-1]
    return slices


def partial_mels(wav_16k: np.ndarray, rate: float = PARTIALS_PER_S, min_coverage: float = MIN_COVERAGE) -> torch.Tensor:
    """(n_partials, 160, 40) network input of a preprocessed clip, as embed_utterance builds it."""
    slices = partial_slices(wav_16k.shape[0], rate, min_coverage)
    stop = slices[-1].stop * HOP
    if stop >= wav_16k.shape[0]:
        wav_16k = np.pad(wav_16k, (0, stop - wav_16k.shape[0]))
    mel = mel_spectrogram(wav_16k)
    return torch.stack([mel[s] for s in slices])


@torch.inference_mode()
def embed_partials(mels: torch.Tensor, encoder: SpeakerEncoder | None = None) -> torch.Tensor:
    """(n, 256) embeddings of (n, frames, 40) mel spectrograms."""
    net = encoder or load_speaker_encoder()
    mels = mels.to(device=net.device, dtype=torch.float32)
    return torch.cat([net(mels[i:i + PARTIAL_BATCH]) for i in range(0, mels.shape[0], PARTIAL_BATCH)]).cpu()


def embed_preprocessed(wav_16k: np.ndarray, encoder: SpeakerEncoder | None = None, *, rate: float = PARTIALS_PER_S,
                       min_coverage: float = MIN_COVERAGE) -> np.ndarray:
    """embed_utterance of a preprocessed 16 kHz clip: the mean of its partial embeddings, L2-normalised."""
    partials = embed_partials(partial_mels(np.asarray(wav_16k, dtype=np.float32), rate, min_coverage), encoder)
    raw = partials.double().mean(dim=0).numpy()
    return (raw / np.linalg.norm(raw)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Public API


def embed(audio: np.ndarray, sample_rate_hz: int, *, encoder: SpeakerEncoder | None = None) -> np.ndarray:
    """(256,) float32 L2-normalised speaker embedding of a clip: 1-D or (channels, frames),
    any sample rate the resampler accepts, at least 0.5 s. Raises ValueError for empty, too
    short, silent or non-finite audio."""
    return embed_preprocessed(preprocess(audio, sample_rate_hz), encoder)


def similarity(a_embedding: np.ndarray, b_embedding: np.ndarray) -> float:
    """Cosine similarity of two embeddings (1.0: same direction)."""
    a = np.asarray(a_embedding, dtype=np.float64).ravel()
    b = np.asarray(b_embedding, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"embeddings differ in size: {a.shape[0]} and {b.shape[0]}")
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norms == 0.0 or not math.isfinite(norms):
        raise ValueError("cannot compare a zero or non-finite embedding")
    return float(np.dot(a, b) / norms)


def speaker_similarity(audio_a: np.ndarray, rate_a: int, audio_b: np.ndarray, rate_b: int) -> float:
    """Cosine similarity of the speaker embeddings of two clips."""
    return similarity(embed(audio_a, rate_a), embed(audio_b, rate_b))
