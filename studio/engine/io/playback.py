"""Audio output: probing for a device and a small callback-driven player (no Qt here).

sounddevice needs PortAudio and an output device; neither is guaranteed (servers, CI, containers).
Everything here reports that as a clear message instead of raising.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OutputStatus:
    available: bool
    message: str  # device name when available, else what is missing and how to fix it


def probe_output() -> OutputStatus:
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio library missing
        return OutputStatus(False, f"PortAudio is not installed ({exc}); on Debian/Ubuntu: sudo apt install libportaudio2")
    except ImportError:
        return OutputStatus(False, "the sounddevice package is not installed")
    try:
        device = sd.query_devices(kind="output")
    except Exception as exc:  # sounddevice raises PortAudioError / ValueError when there is none
        return OutputStatus(False, f"no audio output device found ({exc})")
    return OutputStatus(True, str(device.get("name", "default output")))


class Player:
    """Plays a float32 array (frames x channels) through the default output device.

    Position and state are read from any thread; the audio callback runs on PortAudio's thread.
    `sink` replaces the device (tests use it as a null sink that swallows the blocks).
    """

    def __init__(self, sink=None) -> None:
        self._audio = np.zeros((0, 2), dtype=np.float32)
        self.sample_rate = 44100
        self._position = 0
        self._playing = False
        self._volume = 1.0
        self._lock = threading.Lock()
        self._stream = None
        self._sink = sink

    # --- state ----------------------------------------------------------------------------------
    @property
    def duration_s(self) -> float:
        return len(self._audio) / self.sample_rate if self.sample_rate else 0.0

    @property
    def position_s(self) -> float:
        return self._position / self.sample_rate if self.sample_rate else 0.0

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def loaded(self) -> bool:
        return len(self._audio) > 0

    def load(self, audio: np.ndarray, sample_rate: int) -> None:
        self.stop()
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim == 1:
            audio = np.stack([audio, audio], axis=1)
        elif audio.shape[1] == 1:
            audio = np.repeat(audio, 2, axis=1)
        with self._lock:
            self._audio, self.sample_rate, self._position = audio[:, :2], int(sample_rate), 0

    def unload(self) -> None:
        self.stop()
        with self._lock:
            self._audio, self._position = np.zeros((0, 2), dtype=np.float32), 0

    def set_volume(self, volume: float) -> None:
        self._volume = float(np.clip(volume, 0.0, 1.0))

    def seek(self, seconds: float) -> None:
        with self._lock:
            self._position = int(np.clip(seconds * self.sample_rate, 0, len(self._audio)))

    # --- transport ------------------------------------------------------------------------------
    def play(self) -> OutputStatus:
        """Start playback; returns why it cannot when there is no output."""
        if not self.loaded:
            return OutputStatus(False, "nothing loaded")
        if self._position >= len(self._audio):
            self._position = 0
        if self._sink is not None:
            self._playing = True
            return OutputStatus(True, "sink")
        status = probe_output()
        if not status.available:
            return status
        import sounddevice as sd

        try:
            self._stream = sd.OutputStream(samplerate=self.sample_rate, channels=2, dtype="float32",
                                           callback=self._callback, finished_callback=self._finished)
            self._stream.start()
        except Exception as exc:
            self._stream = None
            return OutputStatus(False, f"could not open the audio output: {exc}")
        self._playing = True
        return status

    def pause(self) -> None:
        self._playing = False
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None

    def stop(self) -> None:
        self.pause()
        self._position = 0

    def pull(self, frames: int) -> np.ndarray:
        """The next block of output (also what the device callback plays)."""
        with self._lock:
            start = self._position
            block = self._audio[start:start + frames] * self._volume
            self._position = start + len(block)
            finished = self._position >= len(self._audio)
        if len(block) < frames:
            block = np.concatenate([block, np.zeros((frames - len(block), 2), np.float32)])
        if finished:
            self._playing = False
        return block

    def _callback(self, outdata, frames, _time, _status) -> None:
        import sounddevice as sd

        outdata[:] = self.pull(frames)
        if not self._playing:
            raise sd.CallbackStop

    def _finished(self) -> None:
        self._playing = False
