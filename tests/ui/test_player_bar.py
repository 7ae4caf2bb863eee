import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QPoint, Qt

from studio.engine.io import playback as audio_io
from studio.engine.io.playback import OutputStatus
from studio.ui.widgets.player_bar import PlayerBar, format_time

SR = 22050


@pytest.fixture
def wav(tmp_path):
    t = np.arange(int(SR * 1.5)) / SR
    tone = 0.5 * np.sin(2 * np.pi * 220 * t).astype(np.float32)
    path = tmp_path / "tone.wav"
    sf.write(path, np.stack([tone, tone * 0.5], axis=1), SR)
    return path


def test_format_time():
    assert format_time(61.9) == "1:01" and format_time(3700) == "1:01:40"


def test_loads_a_wav_shows_the_waveform_and_plays_into_a_sink(window, qtbot, wav, sink):
    bar = window.player_bar
    assert not bar.play_button.isEnabled() and not bar.waveform.has_data
    with qtbot.waitSignal(bar.loaded, timeout=5000) as loaded:
        bar.load_file(wav)
    assert loaded.args == ["tone"]
    assert bar.title_label.text() == "tone"
    assert bar.player.duration_s == pytest.approx(1.5)
    assert bar.waveform.has_data and bar.waveform.currentWidget() is bar.waveform.plot
    xs, ys = bar.waveform.high_curve.getData()
    assert len(xs) > 100 and ys.max() == pytest.approx(0.5, abs=0.01)
    assert bar.time_label.text() == "0:00 / 0:01"
    assert bar.play_button.isEnabled()

    qtbot.mouseClick(bar.play_button, Qt.MouseButton.LeftButton)
    assert bar.playing
    qtbot.waitUntil(lambda: bar.player.position_s > 0.2, timeout=3000)
    assert sink.frames > 0
    assert abs(sink.frames - int(bar.player.position_s * SR)) <= 1  # the sink got what was played
    assert bar.waveform.playhead.value() > 0
    assert bar.seek_slider.value() > 0

    bar.pause()
    held = bar.player.position_s
    qtbot.wait(150)
    assert bar.player.position_s == held and not bar.playing

    bar.seek(1.3)
    assert bar.player.position_s == pytest.approx(1.3, abs=0.001)
    bar.play()
    qtbot.waitUntil(lambda: not bar.playing, timeout=3000)  # plays to the end and stops
    assert bar.player.position_s == pytest.approx(1.5)
    assert bar.message_label.text() == ""


def test_clicking_the_waveform_seeks(window, qtbot, wav):
    bar = window.player_bar
    with qtbot.waitSignal(bar.loaded, timeout=5000):
        bar.load_file(wav)
    qtbot.wait(50)
    view = bar.waveform.plot
    with qtbot.waitSignal(bar.waveform.seek_requested, timeout=2000) as seek:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(int(view.viewport().width() * 0.75), view.viewport().height() // 2))
    assert seek.args[0] == pytest.approx(1.125, abs=0.05)
    assert bar.player.position_s == pytest.approx(seek.args[0], abs=0.01)
    assert bar.time_label.text() == "0:01 / 0:01"


def test_without_an_audio_device_play_explains_why(services, qtbot, monkeypatch):
    monkeypatch.setattr(audio_io, "probe_output",
                        lambda: OutputStatus(False, "no audio output device found (test machine)"))
    bar = PlayerBar(services)  # no sink: the real device path
    qtbot.addWidget(bar)
    bar.show()
    bar.load_audio(np.sin(np.linspace(0, 100, SR)).astype(np.float32), SR, "sine")
    assert bar.waveform.has_data
    assert bar.play() is False
    assert not bar.playing
    assert "no audio output device found (test machine)" in bar.message_label.text()
    qtbot.mouseClick(bar.play_button, Qt.MouseButton.LeftButton)  # pressing play again: still no crash
    assert not bar.playing and bar.message_label.text().startswith("No sound:")


def test_a_file_that_is_not_audio_gives_a_message(window, qtbot, tmp_path):
    bad = tmp_path / "notes.mp3"
    bad.write_text("not audio at all")
    bar = window.player_bar
    with qtbot.waitSignal(bar.load_failed, timeout=5000) as failed:
        bar.load_file(bad)
    assert failed.args[0].startswith("Cannot open notes.mp3")
    assert bar.message_label.text() == failed.args[0]
    assert not bar.player.loaded


def test_load_audio_replaces_a_pending_file_load(window, qtbot, wav):
    bar = window.player_bar
    bar.load_file(wav)
    bar.load_audio(np.zeros((SR, 2), dtype=np.float32), SR, "rendered")
    qtbot.wait(300)  # the file decode finishes meanwhile and must not win
    assert bar.title_label.text() == "rendered"
    assert bar.player.duration_s == pytest.approx(1.0)
