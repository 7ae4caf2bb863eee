"""The analysis area without HTTP: format sniffing, the genre summary, the PNG writer, CSV export,
crash recovery of interrupted predictions, GUI-style recording and path batches."""

from __future__ import annotations

import asyncio
import struct
import zlib

import numpy as np
import pytest
import soundfile as sf

from studio.db.models import Prediction
from studio.engine.analysis.spectrogram import png_bytes, render_spectrogram_png
from studio.engine.io.decode import audio_files_in, sniff_format
from studio.services.analysis import (
    BATCH_KIND,
    AnalysisService,
    CorruptAudio,
    InvalidFileFormat,
    MissingParameter,
)
from studio.services.analysis.models import load_genre_sets, summarise_tags
from studio.services.analysis.predictions import detect_format
from studio.timeutil import utcnow


def wav(path, seconds=3.0, rate=16000, freq=440.0):
    t = np.arange(int(seconds * rate)) / rate
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)
    return path


def read_png(data: bytes) -> np.ndarray:
    """Decode the unfiltered 8-bit RGB PNGs png_bytes writes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body)
        chunks.setdefault(kind, b"")
        chunks[kind] += body
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, color) == (8, 2)
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8).reshape(height, 1 + 3 * width)
    assert not raw[:, 0].any()  # filter type 0 on every row
    return raw[:, 1:].reshape(height, width, 3)


def test_formats_are_sniffed_from_the_content():
    assert sniff_format(b"RIFF\x24\x00\x00\x00WAVEfmt ") == "wav"
    assert sniff_format(b"fLaC\x00\x00") == "flac"
    assert sniff_format(b"OggS\x00\x02") == "ogg"
    assert sniff_format(b"ID3\x04\x00") == "mp3"
    assert sniff_format(b"\xff\xfb\x90\x00") == "mp3"
    assert sniff_format(b"\xff\xe1\x00") is None  # frame sync with the reserved layer
    assert sniff_format(b"%PDF-1.7") is None
    assert detect_format("anything.bin", b"OggS\x00") == "ogg"
    with pytest.raises(InvalidFileFormat) as info:
        detect_format("doc.pdf", b"%PDF-1.7")
    assert info.value.details == "Supported formats: MP3, WAV, FLAC, OGG"
    with pytest.raises(CorruptAudio, match="named like FLAC"):
        detect_format("song.flac", b"not flac")
    with pytest.raises(CorruptAudio, match="empty"):
        detect_format("song.mp3", b"")


def test_genre_summary_normalises_the_best_tag_of_each_genre():
    genre_set = load_genre_sets()["MSD_musicnn"]
    tags = {t: 0.01 for g in genre_set["genres"] for t in g["tags"]}
    tags.update({"House": 0.6, "dance": 0.3, "electronic": 0.2, "chill": 0.4, "happy": 0.1, "female vocalists": 0.05})
    summary = summarise_tags(tags, genre_set)
    assert summary["genre"] == "dance"  # House 0.6 is the dance genre's best tag
    assert summary["genre_scores"]["dance"] == 0.6 and summary["genre_scores"]["electronic"] == 0.2
    assert abs(sum(summary["all_probabilities"].values()) - 1.0) < 1e-3
    assert summary["confidence"] == pytest.approx(0.6 / sum(summary["genre_scores"].values()), abs=1e-3)
    assert [m["mood"] for m in summary["moods"]][:2] == ["chill", "happy"]
    assert summary["tags"][0] == {"tag": "House", "probability": 0.6} and len(summary["tags"]) == 10
    silent = summarise_tags({}, genre_set)
    assert len(set(silent["all_probabilities"].values())) == 1  # nothing heard: a uniform share


def test_spectrogram_png_is_a_valid_image_low_bands_at_the_bottom():
    mel = np.zeros((500, 96))
    mel[:, :10] = 3.0  # loud low bands
    image = read_png(render_spectrogram_png(mel))
    assert image.shape == (192, 500, 3)
    assert image[-1].mean() > image[0].mean() + 100  # bottom rows bright, top rows dark
    wide = read_png(render_spectrogram_png(np.random.default_rng(0).random((5000, 96)), max_columns=800))
    assert wide.shape == (192, 800, 3)
    tiny = read_png(png_bytes(np.full((2, 3, 3), 7, dtype=np.uint8)))
    assert (tiny == 7).all()
    with pytest.raises(ValueError):
        render_spectrogram_png(np.zeros((0, 96)))


def test_interrupted_predictions_are_failed_or_requeued(services):
    with services.context.db.session() as s:
        s.add(Prediction(id="pred_00000000000000a1", status="predicting", filename="single.wav", source="api",
                         created_at=utcnow(), updated_at=utcnow()))
        s.add(Prediction(id="pred_00000000000000a2", status="converting", filename="member.wav", source="api",
                         batch_id="batch_00000000000000b1", created_at=utcnow(), updated_at=utcnow()))
    AnalysisService(services.context, webhooks=services.webhooks)  # what a restart builds
    single = services.analysis.records.prediction("pred_00000000000000a1")
    assert single["status"] == "failed" and single["error"]["code"] == "INTERRUPTED"
    assert services.analysis.records.prediction("pred_00000000000000a2")["status"] == "queued"


def test_record_export_and_delete(services, tmp_path):
    service = services.analysis
    path = wav(tmp_path / "tone.wav")
    outcome = service.predictions.analyse_file(path)
    assert outcome["png"][:4] == b"\x89PNG" and outcome["logmel"].shape[1] == 96
    assert outcome["format"] == "wav" and outcome["duration_s"] == pytest.approx(3.0)
    assert set(outcome["timings_ms"]) == {"features", "decode_features_and_predict", "spectrogram", "total"}
    row = service.predictions.record(outcome, source="gui", path=path)
    assert row["status"] == "completed" and row["source"] == "gui" and row["spectrogram_url"].endswith(".png")
    assert service.records.source_path(row["prediction_id"]) == str(path)
    assert service.records.spectrogram_path(row["prediction_id"]).read_bytes() == outcome["png"]

    out = service.records.export_csv(service.records.history()[1], tmp_path / "out.csv")
    lines = out.read_text().splitlines()
    assert lines[0].startswith("file,status,genre,confidence,tempo_bpm,key")
    assert lines[1].startswith(f"tone.wav,completed,{row['genre']},")
    service.records.delete_prediction(row["prediction_id"])
    assert service.records.history()[0] == 0 and not list(services.settings.media_dir.rglob("pred_*.png"))
    with pytest.raises(CorruptAudio):
        service.predictions.analyse_file(tmp_path / "missing.wav")


def test_audio_files_in_a_folder(tmp_path):
    for name in ("b.WAV", "a.mp3", "c.flac", "d.ogg", "notes.txt", "e.m4a"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f.wav").write_bytes(b"x")
    assert [p.name for p in audio_files_in(tmp_path)] == ["a.mp3", "b.WAV", "c.flac", "d.ogg"]
    assert "f.wav" in [p.name for p in audio_files_in(tmp_path, recursive=True)]


async def test_path_batch_runs_on_the_job_queue(running_services, tmp_path):
    service = running_services.analysis
    files = [wav(tmp_path / "one.wav"), wav(tmp_path / "two.wav", freq=220.0)]
    batch = service.batches.submit(paths=files, source="gui")
    job = await running_services.context.jobs.wait(batch["batch_id"], timeout_s=120)
    assert job["kind"] == BATCH_KIND and job["status"] == "completed"
    await asyncio.sleep(0.05)  # the rows' last writes hop over the loop
    done = service.batches.get(batch["batch_id"])
    assert done["status"] == "completed" and [r["file"] for r in done["results"]] == ["one.wav", "two.wav"]
    assert all(r["source"] == "gui" and r["genre"] for r in done["results"])
    with pytest.raises(MissingParameter):
        service.batches.submit(paths=[])
    with pytest.raises(MissingParameter):
        service.batches.submit(paths=[tmp_path / "nothing-here.wav"])
