"""MP3 writer: gapless constant-bitrate files with a valid LAME Info tag."""

import fastcrc
import numpy as np
import pytest
import soundfile as sf
from mutagen.mp3 import MP3

from studio.engine.io.mp3 import ENCODER_DELAY, Mp3Writer, constant_bitrate_kbps, iter_frames, parse_header


def ramped_tone(rate: int, seconds: float, channels: int) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    x = 0.3 * np.sin(2 * np.pi * 440.0 * t) * np.minimum(1.0, t * 20)
    return np.stack([x, -x][:channels]).astype(np.float32)


@pytest.mark.parametrize("rate,channels,seconds", [(44100, 2, 2.0), (48000, 2, 0.7), (22050, 1, 1.3), (11025, 2, 0.4)])
def test_decodes_to_the_same_frames_at_the_same_place(tmp_path, rate, channels, seconds):
    audio = ramped_tone(rate, seconds, channels)
    path = tmp_path / "a.mp3"
    with Mp3Writer(path, rate, channels, bitrate_kbps=256) as mp3:
        for start in range(0, audio.shape[1], 5000):  # blocks that cut across MP3 frames
            mp3.write(audio[:, start:start + 5000])
    back, back_rate = sf.read(path, always_2d=True, dtype="float32")
    assert back_rate == rate and back.shape == (audio.shape[1], channels)  # delay and padding trimmed
    body = slice(200, audio.shape[1] - 200)
    lags = range(-3, 4)
    corr = [float(np.dot(back[body, 0], np.roll(audio[0], -lag)[body])) for lag in lags]
    assert lags[int(np.argmax(corr))] == 0  # not shifted by the encoder delay
    assert np.max(np.abs(back[body, 0] - audio[0, body])) < 0.05
    if channels == 2:
        assert np.corrcoef(back[body, 1], audio[1, body])[0, 1] > 0.99


def test_info_tag_fields_and_crcs(tmp_path):
    audio = ramped_tone(44100, 1.5, 2)
    path = tmp_path / "t.mp3"
    with Mp3Writer(path, 44100, 2, bitrate_kbps=192) as mp3:
        mp3.write(audio)
    data = path.read_bytes()
    tag = parse_header(data)
    assert tag is not None and tag.bitrate_kbps == 192 and not tag.padded
    at = 4 + tag.side_info
    assert data[at:at + 4] == b"Info"
    frames = int.from_bytes(data[at + 8:at + 12], "big")
    total = int.from_bytes(data[at + 12:at + 16], "big")
    music = data[tag.length:]
    assert frames == sum(1 for _ in iter_frames(music)) and total == len(data)
    lame = at + 120
    assert data[lame:lame + 9] == b"LAME3.100"
    packed = int.from_bytes(data[lame + 21:lame + 24], "big")
    delay, padding = packed >> 12, packed & 0xFFF
    assert delay == ENCODER_DELAY and delay + audio.shape[1] + padding == frames * 1152
    assert int.from_bytes(data[lame + 28:lame + 32], "big") == len(data)  # music length
    assert int.from_bytes(data[lame + 32:lame + 34], "big") == fastcrc.crc16.arc(music)
    assert lame + 34 == 190  # the tag's CRC covers the frame's first 190 bytes
    assert int.from_bytes(data[lame + 34:lame + 36], "big") == fastcrc.crc16.arc(data[:190])
    info = MP3(path).info
    assert abs(info.bitrate - 192_000) < 1000 and abs(info.length - 1.5) < 0.01  # mutagen reads the tag


def test_same_audio_same_file(tmp_path):
    audio = ramped_tone(44100, 0.5, 2)
    for name in ("a.mp3", "b.mp3"):
        with Mp3Writer(tmp_path / name, 44100, 2) as mp3:
            mp3.write(audio)
    assert (tmp_path / "a.mp3").read_bytes() == (tmp_path / "b.mp3").read_bytes()


def test_bitrates_fit_the_mpeg_version():
    assert constant_bitrate_kbps(44100, 256) == 256
    assert constant_bitrate_kbps(44100, 250) == 224
    assert constant_bitrate_kbps(22050, 256) == 160
    assert constant_bitrate_kbps(8000, 4) == 8
    with pytest.raises(ValueError, match="supported rates: 8000, 11025"):
        constant_bitrate_kbps(96000, 256)


def test_bad_shapes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="1 or 2 channels"):
        Mp3Writer(tmp_path / "x.mp3", 44100, 3)
    with Mp3Writer(tmp_path / "y.mp3", 44100, 2) as mp3:
        with pytest.raises(ValueError, match=r"expected \(2, frames\)"):
            mp3.write(np.zeros((1, 100), np.float32))
        mp3.write(np.zeros((2, 100), np.float32))
