"""The Analyze panel: a real file analysed off the GUI thread (waveform, spectrogram, genre/mood
bars, tempo, key, loudness), the history, a folder batch with its progress bar and CSV export."""

from __future__ import annotations

import asyncio
import csv

import numpy as np
import soundfile as sf
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from studio.ui.panels.analysis import AnalyzePanel

TIMEOUT_MS = 120_000


def write_clicks(path, seconds: float = 6.0, rate: int = 44100, bpm: float = 120.0, noise: float = 0.0):
    """Clicks at `bpm` over an A minor triad (stereo), optionally with noise."""
    t = np.arange(int(seconds * rate)) / rate
    mono = sum(0.08 * np.sin(2 * np.pi * f * t) for f in (220.0, 261.63, 329.63))
    click = np.sin(2 * np.pi * 1000 * np.arange(400) / rate) * np.exp(-np.arange(400) / 80)
    for beat in np.arange(0, seconds, 60.0 / bpm):
        i = int(beat * rate)
        mono[i:i + 400] += click[: len(mono[i:i + 400])]
    if noise:
        mono = mono + np.random.default_rng(3).standard_normal(len(mono)) * noise
    sf.write(str(path), np.stack([mono, mono * 0.9], axis=1).astype(np.float32), rate, subtype="PCM_16")
    return path


def test_analyse_a_file_and_browse_the_history(window, services, qtbot, tmp_path):
    panel = window.show_panel("analysis")
    assert isinstance(panel, AnalyzePanel)
    assert panel.history_ids() == [] and panel.history_empty.isVisibleTo(panel)
    path = write_clicks(tmp_path / "clicks in A minor.wav")

    panel.analyse_file(path)
    assert panel.busy() and not panel.open_button.isEnabled()
    qtbot.waitUntil(lambda: panel.current is not None, timeout=TIMEOUT_MS)
    assert panel.open_button.isEnabled() and panel.last_error == ""
    current = panel.current
    assert current["status"] == "completed" and current["source"] == "gui" and current["filename"] == path.name
    assert panel.file_label.text() == path.name
    bpm = panel.cards["tempo"][0].text()
    assert bpm.endswith(" BPM") and abs(float(bpm.split()[0]) - 120.0) < 1.0
    assert panel.cards["key"][0].text() == "A minor"
    assert panel.cards["loudness"][0].text().endswith("LUFS")
    assert panel.cards["duration"][0].text() == "0:06" and "44.1 kHz" in panel.cards["duration"][1].text()
    genre_names = {g["name"] for g in services.analysis.models.genres()["genres"]}
    assert panel.cards["genre"][0].text() in genre_names
    assert len(panel.genre_bars.items) == 7 and panel.genre_bars.items[0][0] == panel.cards["genre"][0].text()
    assert panel.mood_bars.items and panel.tags_label.text().startswith("Top tags: ")
    assert panel.spectrogram.has_image()
    qtbot.waitUntil(lambda: panel.waveform.has_data, timeout=10_000)
    assert panel.history_ids() == [current["prediction_id"]]
    assert services.analysis.records.history()[0] == 1

    # a file that is not audio: said in place, nothing stored
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"these are not samples" * 40)
    panel.analyse_file(bad)
    qtbot.waitUntil(lambda: not panel.busy(), timeout=TIMEOUT_MS)
    assert "Could not analyse notes.wav" in panel.status_label.text() and "WAV" in panel.last_error
    assert not panel.spectrogram.has_image() and panel.history_ids() == [current["prediction_id"]]

    # an analysis made through the API shows up live; selecting it shows it
    other = write_clicks(tmp_path / "noisy.wav", bpm=100.0, noise=0.05)
    future = asyncio.ensure_future(services.analysis.predictions.predict_path(other, source="api"))
    qtbot.waitUntil(future.done, timeout=TIMEOUT_MS)
    api_id = future.result()["prediction_id"]
    qtbot.waitUntil(lambda: [r["status"] for r in panel.history_rows] == ["completed", "completed"], timeout=5000)
    assert panel.history_ids()[0] == api_id
    assert panel.select_prediction(api_id)
    assert panel.current["prediction_id"] == api_id and panel.file_label.text() == "noisy.wav"
    qtbot.waitUntil(panel.spectrogram.has_image, timeout=5000)
    names = {g["id"]: g["name"] for g in services.analysis.models.genres()["genres"]}
    assert panel.history_table.item(0, 1).text() == names[panel.current["genre"]]

    assert panel.delete_selected()
    assert panel.history_ids() == [current["prediction_id"]] and panel.current is None


def test_folder_batch_with_progress_and_csv_export(window, services, qtbot, tmp_path):
    panel = window.show_panel("analysis")
    folder = tmp_path / "album"
    folder.mkdir()
    write_clicks(folder / "01 first.wav", seconds=4.0)
    write_clicks(folder / "02 second.wav", seconds=4.0, bpm=90.0, noise=0.1)
    (folder / "03 broken.wav").write_bytes(b"not a wave file" * 10)
    (folder / "cover.txt").write_text("not audio")

    batch_id = panel.analyse_folder(folder)
    assert batch_id and batch_id.startswith("batch_")
    assert panel.batch_progress.maximum() == 2 and "1 skipped" in panel.batch_label.text()
    assert panel.cancel_batch_button.isEnabled() and not panel.export_batch_button.isEnabled()
    qtbot.waitUntil(panel.batch_finished, timeout=TIMEOUT_MS)
    assert panel.batch_progress.value() == 2
    assert panel.batch_label.text().startswith("Done: 2 of 2 files analysed")
    assert panel.export_batch_button.isEnabled()
    qtbot.waitUntil(lambda: len(panel.history_ids()) == 2, timeout=5000)
    assert services.context.jobs.get(batch_id)["status"] == "completed"

    out = panel.export_csv(tmp_path / "album.csv", "batch")
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == ["01 first.wav", "02 second.wav"]
    assert all(r["status"] == "completed" and r["genre"] and float(r["confidence"]) > 0 for r in rows)
    assert abs(float(rows[0]["tempo_bpm"]) - 120.0) < 2.0 and rows[0]["key"] == "A_minor"

    assert panel.analyse_folder(tmp_path / "empty-folder-that-does-not-exist") is None
    assert "No MP3, WAV, FLAC or OGG files" in panel.batch_label.text()


def test_dropping_a_file_analyses_it(window, qtbot, tmp_path):
    panel = window.show_panel("analysis")
    path = write_clicks(tmp_path / "dropped.wav", seconds=3.0)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    panel.dropEvent(event)
    assert panel.file_label.text() == "dropped.wav"
    qtbot.waitUntil(lambda: panel.current is not None, timeout=TIMEOUT_MS)
    assert panel.current["filename"] == "dropped.wav"
