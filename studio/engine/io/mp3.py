"""MP3 files: LAME (through the `lameenc` binding) at a constant bitrate, with the LAME "Info" tag
that makes them gapless: players trim the encoder's delay and padding, so the decoded file has
exactly the frames that went in.

Why not libsndfile's MP3 writer (what soundfile offers): it runs LAME at a slow, fixed
algorithm quality that its API cannot change; a 3-minute stereo track took ~10 s to encode
there, against ~2 s here at LAME's own default quality (5, which ffmpeg also uses) and the same
bitrate. Encoding is most of what a generation waits for when MP3 is among its formats.

lameenc returns bare MPEG frames; the Info tag is what LAME's command-line front end writes
into a first, silent frame (layout: LAME's "Mp3 Info Tag rev 1" specification): frame and byte
counts, a seek table, the encoder delay and padding, and two CRC-16s (of the music and of the
tag itself). `Mp3Writer` reserves that frame, streams the audio after it, and fills it in on
close, as LAME does.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import fastcrc
import lameenc
import numpy as np

from studio.engine.dsp.pcm import dither_to_int16

QUALITY = 5  # LAME's algorithm quality, 0 (slowest) .. 9 (fastest); 5 is LAME's and ffmpeg's default
ENCODER_DELAY = 576  # LAME's encoder delay (ENCDELAY): the samples it puts before the audio
ENCODER_VERSION = b"LAME3.100"  # the LAME that lameenc bundles
TAG_BYTES = 192  # header + side info + the Info and LAME fields, at most (MPEG-1 stereo)
_READ_BLOCK = 1 << 20

# Layer III bitrates (kbps) by header index, and sample rates by version bits.
_BITRATES_MPEG1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_BITRATES_MPEG2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
SUPPORTED_RATES_HZ = tuple(sorted(rate for rates in _SAMPLE_RATES.values() for rate in rates))


@dataclass(frozen=True)
class FrameHeader:
    """The 4-byte header of an MPEG audio layer III frame."""

    raw: bytes
    version: int  # 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
    bitrate_kbps: int
    sample_rate_hz: int
    padded: bool
    mono: bool
    protected: bool  # a 16-bit CRC follows the header

    @property
    def samples(self) -> int:
        return 1152 if self.version == 3 else 576

    @property
    def length(self) -> int:
        slot = 144 if self.version == 3 else 72
        return slot * self.bitrate_kbps * 1000 // self.sample_rate_hz + int(self.padded)

    @property
    def side_info(self) -> int:
        if self.version == 3:
            return 17 if self.mono else 32
        return 9 if self.mono else 17


def parse_header(data: bytes | memoryview, offset: int = 0) -> FrameHeader | None:
    """The layer III frame header at `offset`, or None where there is none."""
    if offset + 4 > len(data):
        return None
    b0, b1, b2, b3 = data[offset:offset + 4]
    if b0 != 0xFF or (b1 & 0xE0) != 0xE0 or (b1 >> 1) & 3 != 1:  # sync, layer III
        return None
    version, bitrate_index, rate_index = (b1 >> 3) & 3, b2 >> 4, (b2 >> 2) & 3
    if version == 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    bitrates = _BITRATES_MPEG1 if version == 3 else _BITRATES_MPEG2
    return FrameHeader(bytes(data[offset:offset + 4]), version, bitrates[bitrate_index],
                       _SAMPLE_RATES[version][rate_index], bool(b2 & 2), (b3 >> 6) == 3, not (b1 & 1))


def iter_frames(data: bytes | memoryview) -> Iterator[tuple[int, FrameHeader]]:
    """(offset, header) of each frame of a run of back-to-back MPEG frames."""
    offset = 0
    while True:
        header = parse_header(data, offset)
        if header is None or offset + header.length > len(data):
            return
        yield offset, header
        offset += header.length


def constant_bitrate_kbps(sample_rate_hz: int, bitrate_kbps: int) -> int:
    """The layer III bitrate nearest `bitrate_kbps` (not above it, when it can) that the MPEG
    version of `sample_rate_hz` allows: 32-320 kbps at 32-48 kHz, 8-160 below."""
    if sample_rate_hz not in SUPPORTED_RATES_HZ:
        raise ValueError(f"MP3 cannot hold {sample_rate_hz} Hz audio; supported rates: "
                         f"{', '.join(str(r) for r in SUPPORTED_RATES_HZ)} Hz")
    allowed = (_BITRATES_MPEG1 if sample_rate_hz >= 32000 else _BITRATES_MPEG2)[1:]
    below = [rate for rate in allowed if rate <= bitrate_kbps]
    return below[-1] if below else allowed[0]


class Mp3Writer:
    """Stream float audio into a gapless constant-bitrate MP3 file.

        with Mp3Writer(path, 44100, 2, bitrate_kbps=256) as mp3:
            mp3.write(block)  # (channels, frames) floats in [-1, 1], any number of times

    Samples are dithered to 16 bits (TPDF, seeded: the same audio gives the same file), which is
    what LAME takes; its noise floor is far below the codec's.
    """

    def __init__(self, path: Path | str, sample_rate_hz: int, channels: int, *, bitrate_kbps: int = 256,
                 quality: int = QUALITY, dither_seed: int = 0):
        if channels not in (1, 2):
            raise ValueError(f"MP3 holds 1 or 2 channels, not {channels}")
        self.path = Path(path)
        self.sample_rate_hz = int(sample_rate_hz)
        self.channels = channels
        self.bitrate_kbps = constant_bitrate_kbps(self.sample_rate_hz, bitrate_kbps)
        self._encoder = lameenc.Encoder()
        self._encoder.set_in_sample_rate(self.sample_rate_hz)
        self._encoder.set_out_sample_rate(self.sample_rate_hz)  # never let LAME resample
        self._encoder.set_channels(channels)
        self._encoder.set_bit_rate(self.bitrate_kbps)
        self._encoder.set_quality(quality)
        self._rng = np.random.default_rng(dither_seed)
        self._file = open(self.path, "wb")
        self._pending = b""  # encoded bytes held until the first frame header is known
        self._tag_length = 0  # bytes reserved for the Info frame (0 until reserved)
        self.frames_in = 0

    def __enter__(self) -> Mp3Writer:
        return self

    def __exit__(self, kind, *_exc) -> None:
        if kind is None:
            self.close()
        else:
            self._file.close()

    def write(self, audio: np.ndarray) -> None:
        """Append (channels, frames) float samples."""
        if audio.ndim != 2 or audio.shape[0] != self.channels:
            raise ValueError(f"expected ({self.channels}, frames) audio, got shape {audio.shape}")
        self.frames_in += audio.shape[1]
        self._emit(self._encoder.encode(dither_to_int16(audio, self._rng).tobytes()))

    def _emit(self, data: bytes) -> None:
        if not self._tag_length:
            self._pending += data
            header = parse_header(self._pending)
            if header is None:
                return
            self._tag_length = max(_tag_header(header).length, 1)
            self._file.write(bytes(self._tag_length))  # the Info frame's place, filled on close
            data, self._pending = self._pending, b""
        self._file.write(data)

    def close(self) -> None:
        """Flush the encoder and write the Info frame."""
        if self._file.closed:
            return
        try:
            self._emit(self._encoder.flush())
            if self._pending or not self._tag_length:
                raise RuntimeError("the MP3 encoder produced no frames")
            self._file.flush()
            self._write_tag()
        finally:
            self._file.close()

    def _write_tag(self) -> None:
        with open(self.path, "rb") as f:
            f.seek(self._tag_length)
            music = f.read()
        headers = [header for _offset, header in iter_frames(memoryview(music))]
        first = headers[0]
        padding = len(headers) * first.samples - ENCODER_DELAY - self.frames_in
        frame = _info_frame(first, len(headers), len(music), self._tag_length, fastcrc.crc16.arc(music),
                            delay=ENCODER_DELAY, padding=max(0, padding), bitrate_kbps=self.bitrate_kbps)
        with open(self.path, "r+b") as f:
            f.write(frame)


def _tag_header(first: FrameHeader) -> FrameHeader:
    """The header of the Info frame: the stream's first header without the padding slot or CRC."""
    raw = bytearray(first.raw)
    raw[1] |= 1  # no CRC
    raw[2] &= ~2 & 0xFF  # no padding slot
    header = parse_header(bytes(raw))
    assert header is not None
    if header.length < TAG_BYTES:
        raise ValueError(f"a {header.bitrate_kbps} kbps frame at {header.sample_rate_hz} Hz is too small for the Info tag")
    return header


def _info_frame(first: FrameHeader, frame_count: int, music_bytes: int, tag_length: int, music_crc: int, *,
                delay: int, padding: int, bitrate_kbps: int) -> bytes:
    header = _tag_header(first)
    frame = bytearray(header.length)
    frame[:4] = header.raw
    at = 4 + header.side_info
    total = tag_length + music_bytes
    toc = bytes(min(255, i * 256 // 100) for i in range(100))  # constant bitrate: a straight line
    quality = 100 - 10 * 4 - QUALITY  # LAME's formula (its VBR quality 4 and the algorithm quality)
    struct.pack_into(">4sIII100sI", frame, at, b"Info", 0x0F, frame_count, total, toc, quality)
    at += 120
    rate_bits = {44100: 1, 48000: 2}.get(header.sample_rate_hz, 0)  # source rate: 32 kHz or less = 0
    lame = struct.pack(">9sBBIHHBB", ENCODER_VERSION, 0x01, 0, 0, 0, 0, 0, min(255, bitrate_kbps))
    lame += ((delay & 0xFFF) << 12 | (padding & 0xFFF)).to_bytes(3, "big")
    lame += struct.pack(">BBHIH", rate_bits << 6, 0, 0, total, music_crc)
    frame[at:at + len(lame)] = lame
    at += len(lame)
    struct.pack_into(">H", frame, at, fastcrc.crc16.arc(bytes(frame[:at])))
    return bytes(frame)
