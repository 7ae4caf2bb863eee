"""Player bar: transport, seek and volume, and the waveform of the current track.

Plays through the player `services.system.new_player()` lends it. Files are decoded
(`services.system.read_audio`) and their peaks measured (`services.system.audio_peaks`) on a
QThreadPool worker so the loop is not blocked by long files.
With no audio output the bar says why (the system service's output check) and the waveform still shows.

`sink`: a callable that receives each output block (frames x 2, float32) instead of the sound
device; the bar then clocks playback itself in real time (tests use a null sink).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.ui.theme import COLORS, icon

if TYPE_CHECKING:
    from studio.services import Services

AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.mp3);;All files (*)"
TICK_MS = 40


def format_time(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class _LoadSignals(QObject):
    loaded = Signal(int, object, int, object, str)  # token, audio, sample rate, envelope, title
    failed = Signal(int, str)  # token, message


class _LoadFile(QRunnable):
    def __init__(self, token: int, path: Path, read: Callable[[Path], tuple[np.ndarray, int]],
                 peaks: Callable[[np.ndarray, int], tuple], signals: _LoadSignals, title: str | None = None) -> None:
        super().__init__()
        self.token, self.path, self.read, self.peaks = token, path, read, peaks
        self.signals, self.title = signals, title

    def run(self) -> None:
        try:
            audio, sample_rate = self.read(self.path)
            env = self.peaks(audio, sample_rate)
        except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError/OSError
            self.signals.failed.emit(self.token, f"Cannot open {self.path.name}: {exc}")
            return
        self.signals.loaded.emit(self.token, audio, int(sample_rate), env, self.title or self.path.stem)


class WaveformView(QStackedWidget):
    """The track's min/max envelope with a playhead; a click asks to seek there."""

    seek_requested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.duration_s = 0.0
        self.has_data = False
        self.empty_label = QLabel("No track loaded · File › Open audio file… (Ctrl+O)")
        self.empty_label.setObjectName("Muted")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.addWidget(self.empty_label)

        self.plot = pg.PlotWidget(background=COLORS["panel"])
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        item = self.plot.getPlotItem()
        item.hideAxis("left")
        item.hideAxis("bottom")
        item.setContentsMargins(0, 0, 0, 0)
        self.plot.getViewBox().setDefaultPadding(0.0)
        self.plot.setCursor(Qt.CursorShape.PointingHandCursor)
        pen = pg.mkPen(COLORS["waveform"], width=1)
        self.high_curve = pg.PlotDataItem(pen=pen)
        self.low_curve = pg.PlotDataItem(pen=pen)
        fill = QColor(COLORS["waveform"])
        fill.setAlpha(150)
        self.fill = pg.FillBetweenItem(self.high_curve, self.low_curve, brush=pg.mkBrush(fill))
        for graphic in (self.fill, self.high_curve, self.low_curve):
            self.plot.addItem(graphic)
        self.playhead = pg.InfiniteLine(pos=0, angle=90, movable=False, pen=pg.mkPen(COLORS["playhead"], width=2))
        self.plot.addItem(self.playhead)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.addWidget(self.plot)
        self.setMinimumHeight(48)

    def set_envelope(self, times: np.ndarray, lows: np.ndarray, highs: np.ndarray, duration_s: float) -> None:
        self.duration_s = float(duration_s)
        self.high_curve.setData(times, highs)
        self.low_curve.setData(times, lows)
        peak = float(max(np.abs(lows).max(initial=0.0), np.abs(highs).max(initial=0.0), 1e-3))
        self.plot.setXRange(0, max(self.duration_s, 1e-3), padding=0)
        self.plot.setYRange(-peak, peak, padding=0.05)
        self.playhead.setValue(0)
        self.has_data = len(times) > 0
        self.setCurrentWidget(self.plot if self.has_data else self.empty_label)

    def clear(self) -> None:
        self.high_curve.setData([], [])
        self.low_curve.setData([], [])
        self.duration_s = 0.0
        self.has_data = False
        self.setCurrentWidget(self.empty_label)

    def set_playhead(self, seconds: float) -> None:
        self.playhead.setValue(seconds)

    def _on_click(self, event) -> None:
        if not self.has_data or event.button() != Qt.MouseButton.LeftButton:
            return
        x = self.plot.getViewBox().mapSceneToView(event.scenePos()).x()
        self.seek_requested.emit(float(np.clip(x, 0.0, self.duration_s)))


class PlayerBar(QFrame):
    """Transport + waveform for the studio's single player."""

    loaded = Signal(str)  # title
    load_failed = Signal(str)  # message
    playing_changed = Signal(bool)

    def __init__(self, services: "Services", parent: QWidget | None = None, *,
                 sink: Callable[[np.ndarray], object] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PlayerBar")
        self.services = services
        self._sink = sink
        self.player = services.system.new_player(sink=sink)
        self.title = ""
        self._token = 0
        self._signals = _LoadSignals(self)
        self._signals.loaded.connect(self._on_loaded)
        self._signals.failed.connect(self._on_failed)
        self._clock: float | None = None
        self._frame_debt = 0.0
        self._seeking = False

        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

        # --- widgets --------------------------------------------------------------------------
        self.play_button = QToolButton()
        self.play_button.setIcon(icon("mdi6.play", COLORS["text"]))
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.stop_button = QToolButton()
        self.stop_button.setIcon(icon("mdi6.stop"))
        self.stop_button.setToolTip("Stop and go back to the start")
        self.stop_button.clicked.connect(self.stop)
        for button in (self.play_button, self.stop_button):
            button.setIconSize(button.iconSize() * 1.4)
            button.setAutoRaise(False)

        self.title_label = QLabel("No track")
        self.title_label.setObjectName("TrackTitle")
        self.title_label.setMinimumWidth(120)
        self.title_label.setMaximumWidth(260)
        self.message_label = QLabel("")
        self.message_label.setObjectName("PlayerMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.hide()

        self.seek_slider = QSlider(Qt.Orientation.Horizontal)
        self.seek_slider.setToolTip("Position")
        self.seek_slider.setRange(0, 0)
        self.seek_slider.sliderPressed.connect(self._seek_pressed)
        self.seek_slider.sliderMoved.connect(self._seek_moved)
        self.seek_slider.sliderReleased.connect(self._seek_released)
        self.time_label = QLabel("0:00 / 0:00")
        self.time_label.setObjectName("TimeLabel")
        self.time_label.setMinimumWidth(96)
        self.time_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        self.volume_icon = QLabel()
        self.volume_icon.setPixmap(icon("mdi6.volume-high", COLORS["muted"]).pixmap(18, 18))
        self.volume_slider = QSlider(Qt.Orientation.Horizontal)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setFixedWidth(100)
        self.volume_slider.setToolTip("Volume")
        self.volume_slider.valueChanged.connect(self._volume_changed)
        self.volume_slider.setValue(80)

        self.waveform = WaveformView()
        self.waveform.setFixedHeight(56)
        self.waveform.seek_requested.connect(self.seek)

        # --- layout ---------------------------------------------------------------------------
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.play_button)
        top.addWidget(self.stop_button)
        top.addWidget(self.title_label)
        top.addWidget(self.seek_slider, 1)
        top.addWidget(self.time_label)
        top.addSpacing(8)
        top.addWidget(self.volume_icon)
        top.addWidget(self.volume_slider)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(6)
        layout.addWidget(self.waveform)
        layout.addWidget(self.message_label)
        layout.addLayout(top)
        self._update_controls()

    # --- loading --------------------------------------------------------------------------------
    def load_file(self, path: str | os.PathLike, title: str | None = None) -> None:
        """Decode `path` (WAV/FLAC/OGG/MP3) off the loop and load it, shown as `title` (the file's
        name by default); emits `loaded` or `load_failed`."""
        path = Path(path)
        self._token += 1
        self.pause()
        self.show_message(f"Opening {title or path.name}…", error=False)
        system = self.services.system
        load = _LoadFile(self._token, path, system.read_audio, system.audio_peaks, self._signals, title)
        QThreadPool.globalInstance().start(load)

    def load_audio(self, audio: np.ndarray, sample_rate: int, title: str) -> None:
        """Load audio already in memory (frames or frames x channels, float)."""
        self._token += 1  # a file still decoding must not replace this
        audio = np.asarray(audio, dtype=np.float32)
        self._install(audio, int(sample_rate), self.services.system.audio_peaks(audio, int(sample_rate)), title)

    def _on_loaded(self, token: int, audio, sample_rate: int, env, title: str) -> None:
        if token != self._token:
            return  # a newer load replaced this one
        self._install(audio, sample_rate, env, title)

    def _on_failed(self, token: int, message: str) -> None:
        if token != self._token:
            return
        self.show_message(message)
        self.load_failed.emit(message)

    def _install(self, audio: np.ndarray, sample_rate: int, env, title: str) -> None:
        self._set_playing(False)
        self.player.load(audio, sample_rate)
        self.title = title
        self.title_label.setText(title)
        self.title_label.setToolTip(title)
        self.waveform.set_envelope(*env, self.player.duration_s)
        self.seek_slider.setRange(0, int(self.player.duration_s * 1000))
        self.show_message("")
        self._refresh_position()
        self._update_controls()
        self.loaded.emit(title)

    # --- transport ------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.player.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> bool:
        if not self.player.loaded:
            self.show_message("Nothing to play: open an audio file first (Ctrl+O).")
            return False
        status = self.player.play()
        if not status.available:
            self.show_message(f"No sound: {status.message}")
            self._set_playing(False)
            return False
        self.show_message("")
        self._clock = time.monotonic()
        self._frame_debt = 0.0
        self._set_playing(True)
        return True

    def pause(self) -> None:
        if self.player.playing:
            self.player.pause()
        self._set_playing(False)
        self._refresh_position()

    def stop(self) -> None:
        self.player.stop()
        self._set_playing(False)
        self._refresh_position()

    def seek(self, seconds: float) -> None:
        self.player.seek(seconds)
        self._clock = time.monotonic()
        self._frame_debt = 0.0
        self._refresh_position()

    @property
    def playing(self) -> bool:
        return self.player.playing

    def show_message(self, text: str, *, error: bool = True) -> None:
        self.message_label.setText(text)
        self.message_label.setToolTip(text)
        self.message_label.setVisible(bool(text))
        self.message_label.setObjectName("PlayerMessage" if error else "Muted")
        self.message_label.style().unpolish(self.message_label)
        self.message_label.style().polish(self.message_label)

    # --- internals ------------------------------------------------------------------------------
    def _set_playing(self, playing: bool) -> None:
        was = self.timer.isActive()
        if playing:
            self.timer.start()
        else:
            self.timer.stop()
        self.play_button.setIcon(icon("mdi6.pause" if playing else "mdi6.play"))
        self.play_button.setToolTip("Pause (Space)" if playing else "Play (Space)")
        if was != playing:
            self.playing_changed.emit(playing)

    def _tick(self) -> None:
        if self._sink is not None and self.player.playing:
            # No device clock: pull the frames that real time says were played and hand them over.
            now = time.monotonic()
            elapsed = now - (self._clock or now)
            self._clock = now
            self._frame_debt += elapsed * self.player.sample_rate
            frames = int(self._frame_debt)
            if frames > 0:
                self._frame_debt -= frames
                block = self.player.pull(frames)
                self._sink(block)
        self._refresh_position()
        if not self.player.playing:
            self.pause()  # reached the end

    def _refresh_position(self) -> None:
        position, duration = self.player.position_s, self.player.duration_s
        if not self._seeking:
            self.seek_slider.blockSignals(True)
            self.seek_slider.setValue(int(position * 1000))
            self.seek_slider.blockSignals(False)
            self.time_label.setText(f"{format_time(position)} / {format_time(duration)}")
        self.waveform.set_playhead(position)

    def _update_controls(self) -> None:
        loaded = self.player.loaded
        self.play_button.setEnabled(loaded)
        self.stop_button.setEnabled(loaded)
        self.seek_slider.setEnabled(loaded)

    def _seek_pressed(self) -> None:
        self._seeking = True

    def _seek_moved(self, value: int) -> None:
        self.time_label.setText(f"{format_time(value / 1000)} / {format_time(self.player.duration_s)}")

    def _seek_released(self) -> None:
        self._seeking = False
        self.seek(self.seek_slider.value() / 1000)

    def _volume_changed(self, value: int) -> None:
        self.player.set_volume(value / 100)
        self.volume_icon.setPixmap(
            icon("mdi6.volume-off" if value == 0 else "mdi6.volume-high", COLORS["muted"]).pixmap(18, 18))

    def shutdown(self) -> None:
        """Stop playback and forget pending loads (the window calls this when it closes)."""
        self._token += 1
        self.timer.stop()
        self.player.stop()
