"""A character's spoken piece over a music bed: the bed fades in, ducks under the voice, and
fades out after it; the result is mastered for speech-led content.

Pure audio: (mono voice, rate) + optional (stereo bed, rate) in, (stereo, rate) out.
"""

from __future__ import annotations

import numpy as np
import torch

from studio.engine.dsp.effects import SidechainDucker
from studio.engine.dsp.mastering import master

OUTPUT_RATE_HZ = 44100
SPEECH_TARGET_LUFS = -16.0  # spoken content sits a little under music's -14 on streaming platforms
LEAD_IN_S = 1.5  # music alone before the voice starts
TAIL_S = 2.5  # music after the last word, fading out
BED_LEVEL_DB = -8.0  # the bed's level against the voice before ducking
DUCK_DEPTH_DB = 10.0
FADE_S = 1.0


def resample_linear(audio: np.ndarray, rate_hz: int, target_hz: int) -> np.ndarray:
    """(..., frames) resampled by band-limited FFT resampling of torch (good enough for speech)."""
    if rate_hz == target_hz:
        return audio.astype(np.float32, copy=False)
    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    frames = x.shape[-1]
    out_frames = int(round(frames * target_hz / rate_hz))
    spectrum = torch.fft.rfft(x, dim=-1)
    bins = out_frames // 2 + 1
    if bins <= spectrum.shape[-1]:
        spectrum = spectrum[..., :bins]
    else:
        spectrum = torch.nn.functional.pad(spectrum, (0, bins - spectrum.shape[-1]))
    y = torch.fft.irfft(spectrum, n=out_frames, dim=-1) * (out_frames / frames)
    return y.numpy().astype(np.float32)


def _fit_bed(bed: np.ndarray, frames: int) -> np.ndarray:
    """The bed trimmed to `frames`, or repeated with linear crossfades when it is shorter."""
    if bed.shape[-1] >= frames:
        return bed[..., :frames]
    fade = max(1, min(bed.shape[-1] // 4, OUTPUT_RATE_HZ // 2))
    ramp_in = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    out = np.zeros((bed.shape[0], frames), dtype=np.float32)
    start = 0
    while start < frames:
        piece = bed.copy()
        if start > 0:
            piece[..., :fade] *= ramp_in
        piece[..., -fade:] *= ramp_in[::-1]  # the next copy fades in over the same frames
        n = min(piece.shape[-1], frames - start)
        out[..., start:start + n] += piece[..., :n]
        start += bed.shape[-1] - fade
    return out


def voice_over(voice: np.ndarray, voice_rate_hz: int, bed: np.ndarray | None = None,
               bed_rate_hz: int | None = None, *, target_lufs: float = SPEECH_TARGET_LUFS) -> tuple[np.ndarray, int, dict]:
    """(stereo float32 (2, frames), rate, report). Without a bed: the voice alone, mastered."""
    speech = resample_linear(np.asarray(voice, dtype=np.float32).reshape(-1), voice_rate_hz, OUTPUT_RATE_HZ)
    rate = OUTPUT_RATE_HZ
    if bed is None:
        mix = np.stack([speech, speech])
        lead_in = 0
    else:
        bed = np.asarray(bed, dtype=np.float32)
        if bed.ndim == 1:
            bed = np.stack([bed, bed])
        bed = resample_linear(bed[:2], int(bed_rate_hz or rate), rate)
        lead_in = int(LEAD_IN_S * rate)
        frames = lead_in + speech.shape[-1] + int(TAIL_S * rate)
        music = _fit_bed(bed, frames)
        # level the bed against the voice by RMS, then duck it while the voice speaks
        voice_rms = float(np.sqrt(np.mean(speech ** 2)) + 1e-9)
        bed_rms = float(np.sqrt(np.mean(music ** 2)) + 1e-9)
        music = music * (voice_rms / bed_rms * 10 ** (BED_LEVEL_DB / 20))
        key = np.zeros(frames, dtype=np.float32)
        key[lead_in:lead_in + speech.shape[-1]] = speech
        ducked = SidechainDucker(torch.from_numpy(key), depth_db=DUCK_DEPTH_DB, threshold_db=-40.0,
                                 attack_ms=60.0, release_ms=600.0)(torch.from_numpy(music), rate).numpy()
        fade = int(FADE_S * rate)
        envelope = np.ones(frames, dtype=np.float32)
        envelope[:fade] = np.linspace(0.0, 1.0, fade)
        envelope[-fade:] = np.linspace(1.0, 0.0, fade)
        mix = ducked * envelope
        mix[:, lead_in:lead_in + speech.shape[-1]] += speech
    mastered, report = master(torch.from_numpy(np.ascontiguousarray(mix)), rate, target_lufs=target_lufs)
    report = {"integrated_lufs": round(float(report["integrated_lufs"]), 2),
              "true_peak_dbtp": round(float(report["true_peak_dbtp"]), 2),
              "voice_start_s": round(lead_in / rate, 3), "voice_duration_s": round(speech.shape[-1] / rate, 3),
              "with_music": bed is not None}
    return mastered.numpy().astype(np.float32), rate, report
