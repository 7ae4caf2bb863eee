"""Reading a finished track back as float stereo and encoding it in another format (a download or
an export in a format the track was not rendered in). Blocking: callers run it off the event loop."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from studio.engine.io.export import TrackMetadata


def read_stereo(path: Path, sample_rate_hz: int | None = None) -> tuple[np.ndarray, int, str]:
    """(channels, frames) float32 stereo of an audio file, its rate (resampled to `sample_rate_hz`
    when given) and its libsndfile subtype. Mono is doubled; channels past two are dropped."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    subtype = sf.info(str(path)).subtype
    audio = np.ascontiguousarray(data.T)
    if audio.shape[0] == 1:
        audio = np.repeat(audio, 2, axis=0)
    elif audio.shape[0] > 2:
        audio = audio[:2]
    if sample_rate_hz is not None and rate != sample_rate_hz:  # linear interpolation: only for odd inputs
        frames = int(round(audio.shape[1] * sample_rate_hz / rate))
        old_t = np.arange(audio.shape[1]) / rate
        new_t = np.arange(frames) / sample_rate_hz
        audio = np.stack([np.interp(new_t, old_t, ch).astype(np.float32) for ch in audio])
        rate = sample_rate_hz
    return audio, rate, subtype


def transcode_audio(source: Path, target: Path, fmt: str, metadata: "TrackMetadata") -> Path:
    """Encode an audio file as `fmt`. A PCM source going to WAV/FLAC keeps its samples and bit
    depth exactly; lossy targets are encoded from its float samples and decode at or under the
    mastering true-peak ceiling (as a generation's own lossy exports)."""
    import soundfile as sf

    from studio.engine.dsp.mastering import TRUE_PEAK_CEILING_DBTP
    from studio.engine.io.export import (
        write_audio,  # the encoders: loaded only when one is needed
    )

    subtype = sf.info(str(source)).subtype
    bit_depth = 24 if subtype == "PCM_24" else 16
    if subtype in ("PCM_16", "PCM_24"):
        frames, rate = sf.read(str(source), dtype="int16" if bit_depth == 16 else "int32", always_2d=True)
        audio = np.ascontiguousarray(frames.T)
    else:
        audio, rate, _subtype = read_stereo(source)
    return write_audio(target, audio, rate, fmt, bit_depth=bit_depth, metadata=metadata,
                       true_peak_ceiling_dbtp=TRUE_PEAK_CEILING_DBTP)


_BIT_DEPTHS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64}


def file_facts(path: Path, extension: str) -> dict:
    """What is really in a stored audio or MIDI file, read from the file: sample rate, channels,
    duration, codec, bit depth (PCM), average bitrate (MP3/OGG, container included); for MIDI the
    track count, duration and resolution. An unreadable file gives {"error": ...}."""
    info: dict = {}
    if extension in ("wav", "flac", "ogg", "mp3"):
        import soundfile as sf

        try:
            sound = sf.info(str(path))
        except (RuntimeError, sf.LibsndfileError) as exc:
            return {"error": f"unreadable: {exc}"}
        info.update(sample_rate=sound.samplerate, channels=sound.channels, duration=round(sound.duration, 3),
                    codec=sound.subtype)
        if sound.subtype in _BIT_DEPTHS:
            info["bit_depth"] = _BIT_DEPTHS[sound.subtype]
        if extension in ("mp3", "ogg") and sound.duration > 0:
            info["bitrate_kbps"] = round(Path(path).stat().st_size * 8 / sound.duration / 1000.0)
    elif extension == "mid":
        import mido

        try:
            midi = mido.MidiFile(str(path))
            info.update(track_count=len(midi.tracks), duration=round(midi.length, 3),
                        ticks_per_beat=midi.ticks_per_beat)
        except (OSError, ValueError, EOFError) as exc:
            info["error"] = f"unreadable: {exc}"
    return info
