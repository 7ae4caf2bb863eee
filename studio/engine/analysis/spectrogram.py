"""Images of audio: a log-mel spectrogram (musicnn's 96-band input) drawn as a PNG with a
magma-like colour map. Plain zlib + struct, no imaging library."""

from __future__ import annotations

import struct
import zlib

import numpy as np

SPECTROGRAM_MAX_COLUMNS = 1200
SPECTROGRAM_ROW_SCALE = 2  # each of the 96 mel bands is drawn 2 pixels high

# magma-like colour map anchors (position, r, g, b)
_COLORMAP = np.array([
    (0.00, 0, 0, 4), (0.13, 28, 16, 68), (0.25, 79, 18, 123), (0.38, 129, 37, 129), (0.50, 181, 54, 122),
    (0.63, 229, 80, 100), (0.75, 251, 135, 97), (0.88, 254, 194, 135), (1.00, 252, 253, 191)], dtype=np.float64)


def render_spectrogram_png(logmel: np.ndarray, *, max_columns: int = SPECTROGRAM_MAX_COLUMNS,
                           row_scale: int = SPECTROGRAM_ROW_SCALE) -> bytes:
    """PNG of a (frames, bands) log-mel spectrogram: time left to right, low bands at the bottom,
    colour from the 0..99.5th percentile (magma-like map). Frames are averaged into at most
    `max_columns` columns."""
    mel = np.asarray(logmel, dtype=np.float64)
    if mel.ndim != 2 or mel.shape[0] == 0:
        raise ValueError("spectrogram must be (frames, bands) with at least one frame")
    frames = mel.shape[0]
    columns = min(frames, max_columns)
    edges = np.linspace(0, frames, columns + 1).astype(int)
    sums = np.add.reduceat(mel, edges[:-1], axis=0)
    img = sums / np.diff(edges)[:, None]  # (columns, bands)
    top = max(float(np.percentile(img, 99.5)), 1e-6)
    level = np.clip(img / top, 0.0, 1.0).T[::-1]  # (bands, columns), low bands at the bottom
    level = np.repeat(level, row_scale, axis=0)
    rgb = np.stack([np.interp(level, _COLORMAP[:, 0], _COLORMAP[:, i]) for i in (1, 2, 3)], axis=-1)
    return png_bytes(np.round(rgb).astype(np.uint8))


def png_bytes(rgb: np.ndarray) -> bytes:
    """A minimal PNG (8-bit RGB, no filter) of an (height, width, 3) uint8 array."""
    height, width, _ = rgb.shape
    raw = np.concatenate([np.zeros((height, 1), dtype=np.uint8), rgb.reshape(height, width * 3)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
