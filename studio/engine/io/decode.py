"""Reading audio files: a whole file as float samples (`read_audio`: the player, stem mixes,
music beds) and, for analysis, the container a file's first bytes announce, its length from the
header and the samples block by block (libsndfile through soundfile: WAV, FLAC, OGG, MP3).

Errors are `DecodeError`s whose message names the file; callers turn them into what their users
see (the analysis service: seed 004's CORRUPT_AUDIO).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

FORMATS = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg"}
EXTENSIONS = {".mp3": "mp3", ".wav": "wav", ".wave": "wav", ".flac": "flac", ".ogg": "ogg", ".oga": "ogg"}
DECODE_BLOCK_FRAMES = 1 << 17  # ~3 s at 44.1 kHz: blocks small enough for decoding to overlap tagging
MAX_CHANNELS = 5  # what the analysis reads of a surround file


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """(frames x channels float32, sample rate Hz) of a whole audio file.

    Raises what soundfile raises for an unreadable file (LibsndfileError/RuntimeError/OSError), or
    ValueError naming the file when it holds no frames."""
    import soundfile as sf

    audio, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
    if len(audio) == 0:
        raise ValueError(f"{Path(path).name} holds no audio frames")
    return audio, int(sample_rate)


class DecodeError(Exception):
    """The file is not readable audio. `unreadable` is True when the decoder could not read it at
    all (as opposed to reading it and finding no frames or invalid samples)."""

    def __init__(self, message: str, *, unreadable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.unreadable = unreadable


def sniff_format(head: bytes) -> str | None:
    """The audio container a file's first bytes announce, or None."""
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] >> 1) & 0x3:
        return "mp3"  # MPEG audio frame sync with a valid layer
    return None


def format_from_name(filename: str) -> str | None:
    """The container a file name's extension claims (mp3/wav/flac/ogg), or None."""
    return EXTENSIONS.get(Path(filename).suffix.lower())


def probe_file(path: Path, filename: str) -> tuple[int, int]:
    """(frames, sample rate) from the file's header."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception as exc:  # noqa: BLE001 - libsndfile raises LibsndfileError, RuntimeError, TypeError...
        raise DecodeError(f"'{filename}' could not be decoded: {exc}", unreadable=True) from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise DecodeError(f"'{filename}' holds no audio frames")
    return int(info.frames), int(info.samplerate)


def decode_blocks(path: Path, filename: str, kept: list[np.ndarray],
                  block_frames: int = DECODE_BLOCK_FRAMES) -> Iterator:
    """Yield (channels, frames) float32 tensors of at most `MAX_CHANNELS` channels, block by block,
    appending each decoded (frames, channels) block to `kept`; DecodeError when decoding fails or
    finds NaN/infinite samples."""
    import soundfile as sf
    import torch

    try:
        with sf.SoundFile(str(path)) as f:
            for block in f.blocks(block_frames, dtype="float32", always_2d=True):
                if not np.isfinite(block).all():
                    raise DecodeError(f"'{filename}' holds invalid (NaN or infinite) samples")
                kept.append(block)
                yield torch.from_numpy(np.ascontiguousarray(block[:, :MAX_CHANNELS].T))
    except DecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - as in probe_file
        raise DecodeError(f"'{filename}' could not be decoded: {exc}", unreadable=True) from None


def audio_files_in(folder: str | Path, recursive: bool = False) -> list[Path]:
    """Files in a folder whose extension is a readable format, sorted by name."""
    folder = Path(folder)
    pattern = folder.rglob("*") if recursive else folder.glob("*")
    return sorted((p for p in pattern if p.is_file() and p.suffix.lower() in EXTENSIONS), key=lambda p: p.name.lower())
