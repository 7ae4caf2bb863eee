"""Seed 004 analysis API (/api/v1/predict, batch-predict, prediction, genres, health, history,
stats, models, metrics): happy paths and the documented errors, with small generated files."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import struct

import numpy as np
import pytest
import soundfile as sf
from aiohttp import FormData, web

from studio.server.keys import REQUEST_LOG
from studio.server.schemas.analysis import AnalysisHealth
from studio.services.analysis import BATCH_KIND, AnalysisService
from studio.services.analysis.predictions import Predictions
from studio.services.webhooks import SIGNATURE_HEADER

V1 = "/api/v1"


def click_chord(seconds: float = 6.0, rate: int = 22050, bpm: float = 120.0) -> np.ndarray:
    """(frames,) float32: 1 kHz clicks at `bpm` over an A minor triad."""
    t = np.arange(int(seconds * rate)) / rate
    out = sum(0.08 * np.sin(2 * np.pi * f * t) for f in (220.0, 261.63, 329.63))
    click = np.sin(2 * np.pi * 1000 * np.arange(400) / rate) * np.exp(-np.arange(400) / 80)
    for beat in np.arange(0, seconds, 60.0 / bpm):
        i = int(beat * rate)
        out[i:i + 400] += click[: len(out[i:i + 400])]
    return out.astype(np.float32)


def encode(fmt: str, seconds: float = 4.0, rate: int = 22050, noise: bool = False, seed: int = 0) -> bytes:
    audio = (np.random.default_rng(seed).standard_normal(int(seconds * rate)) * 0.1).astype(np.float32) if noise \
        else click_chord(seconds, rate)
    buf = io.BytesIO()
    if fmt == "ogg":
        with sf.SoundFile(buf, "w", rate, 1, "VORBIS", format="OGG") as f:
            for start in range(0, len(audio), 4096):  # in blocks (libsndfile's Vorbis encoder)
                f.write(audio[start:start + 4096])
    else:
        sf.write(buf, audio, rate, format=fmt.upper(), subtype="PCM_16")
    return buf.getvalue()


def form(*files: tuple[str, bytes, str], **fields: str) -> FormData:
    data = FormData()
    for field, content, name in files:
        data.add_field(field, content, filename=name, content_type="application/octet-stream")
    for key, value in fields.items():
        data.add_field(key, value)
    return data


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def post_file(api, content: bytes, name: str, field: str = "file"):
    return await api.post(f"{V1}/predict", data=form((field, content, name)), headers=api.auth_headers)


async def error_of(resp, status: int, code: str) -> dict:
    body = await resp.json()
    assert resp.status == status, body
    assert body["success"] is False and body["error"]["code"] == code, body
    assert body["request_id"].startswith("req_") and body["timestamp"]
    return body["error"]


@pytest.fixture
def fast_retries(running_services):
    running_services.analysis.predictions.retry_delays_s = (0.0, 0.0)
    running_services.webhooks.retry_delays_s = (0.05, 0.1, 0.2)
    return running_services.analysis


# --- POST /predict ---------------------------------------------------------------------------------
async def test_predict_a_wav_then_read_it_back(api, running_services):
    states: list[str] = []
    running_services.events.subscribe(lambda name, data: states.append(data["status"]) if name == "analysis_progress" else None)
    resp = await post_file(api, encode("wav", 6.0), "clicks.wav")
    body = await resp.json()
    assert resp.status == 200, body
    assert body["success"] is True and body["message"] and body["request_id"].startswith("req_")
    data = body["data"]
    genre_ids = [g["id"] for g in running_services.analysis.models.genres()["genres"]]
    assert data["prediction_id"].startswith("pred_") and data["status"] == "completed"
    assert data["genre"] in genre_ids
    assert set(data["all_probabilities"]) == set(genre_ids)
    assert abs(sum(data["all_probabilities"].values()) - 1.0) < 0.01
    assert data["confidence"] == max(data["all_probabilities"].values())
    assert list(data["all_probabilities"].values()) == sorted(data["all_probabilities"].values(), reverse=True)
    assert len(data["tags"]) == 10 and all(0.0 <= t["probability"] <= 1.0 for t in data["tags"])
    assert data["moods"] and {"mood", "probability"} <= set(data["moods"][0])
    assert abs(data["tempo_bpm"] - 120.0) < 2.0  # clicks at 120 bpm
    assert data["key"] == "A_minor"  # an A minor triad
    assert data["processing_time_ms"] > 0 and data["duration_s"] == pytest.approx(6.0, abs=0.01)
    assert data["model_version"].startswith("musicnn-0.1.0/MSD_musicnn/")
    assert data["format"] == "wav" and data["filename"] == "clicks.wav"
    assert states == ["processing", "converting", "predicting"]  # then completed

    png = await api.get(data["spectrogram_url"], headers=api.auth_headers)
    assert png.status == 200 and png.content_type == "image/png"
    width, height = png_size(await png.read())
    assert height == 192 and 100 < width <= 1200  # 96 mel bands x 2, one column per frame

    again = await api.get(f"{V1}/prediction/{data['prediction_id']}", headers=api.auth_headers)
    stored = (await again.json())["data"]
    assert stored["status"] == "completed" and stored["genre"] == data["genre"]
    assert stored["created_at"] and stored["completed_at"] and stored["attempts"] == 1
    assert stored["features"]["loudness_lufs"] < 0 and stored["features"]["sample_rate_hz"] == 22050
    assert set(stored["tag_probabilities"]) == set(running_services.analysis.models.tagger().tags)
    assert not list((running_services.settings.media_dir).rglob("upload_*"))  # the upload is not kept


async def test_predict_ogg_and_flac(api):
    for fmt in ("ogg", "flac"):
        resp = await post_file(api, encode(fmt, 4.0, noise=True), f"noise.{fmt}")
        data = (await resp.json())["data"]
        assert resp.status == 200 and data["format"] == fmt and data["genre"]


async def test_predict_sniffs_the_content_not_the_name(api):
    resp = await post_file(api, encode("wav"), "recording.bin")
    assert resp.status == 200 and (await resp.json())["data"]["format"] == "wav"


async def test_predict_errors(api, running_services):
    err = await error_of(await post_file(api, b"just some notes\n" * 20, "notes.txt"), 400, "INVALID_FILE_FORMAT")
    assert err["details"] == "Supported formats: MP3, WAV, FLAC, OGG"
    assert err["supported_formats"] == ["MP3", "WAV", "FLAC", "OGG"]

    err = await error_of(await post_file(api, b"\x00\x01garbage" * 50, "song.mp3"), 400, "CORRUPT_AUDIO")
    assert "MP3" in err["message"]
    broken = b"RIFF" + struct.pack("<I", 999999) + b"WAVEfmt " + b"\xff" * 60  # a WAV header over junk
    err = await error_of(await post_file(api, broken, "broken.wav"), 400, "CORRUPT_AUDIO")
    failed = await api.get(f"{V1}/prediction/{err['prediction_id']}", headers=api.auth_headers)
    failed = (await failed.json())["data"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "CORRUPT_AUDIO"
    await error_of(await post_file(api, b"", "empty.wav"), 400, "CORRUPT_AUDIO")

    err = await error_of(await post_file(api, encode("wav"), "song.wav", field="audio"), 400, "MISSING_PARAMETER")
    assert err["details"] == {"parameter": "file"}
    resp = await api.post(f"{V1}/predict", json={"file": "song.mp3"}, headers=api.auth_headers)
    await error_of(resp, 400, "MISSING_PARAMETER")
    resp = await api.post(f"{V1}/predict", data=form(("file", encode("wav"), "a.wav"), ("file", encode("wav"), "b.wav")),
                          headers=api.auth_headers)
    await error_of(resp, 400, "MISSING_PARAMETER")

    running_services.analysis.predictions.max_file_bytes = 50_000
    err = await error_of(await post_file(api, encode("wav", 4.0), "long.wav"), 400, "FILE_TOO_LARGE")
    assert err["details"]["max_bytes"] == 50_000
    running_services.analysis.predictions.max_file_bytes = 50 << 20
    running_services.analysis.predictions.max_duration_s = 2.0
    await error_of(await post_file(api, encode("wav", 4.0), "long.wav"), 400, "AUDIO_TOO_LONG")
    running_services.analysis.predictions.max_duration_s = 1200.0

    resp = await api.post(f"{V1}/predict", data=form(("file", encode("wav"), "a.wav")))
    await error_of(resp, 401, "UNAUTHORIZED")


async def test_transient_failures_are_retried_three_times(api, running_services, fast_retries, monkeypatch):
    service = running_services.analysis
    real = Predictions.analyse_file
    calls = {"n": 0}

    def flaky(self, path, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("CUDA out of memory (simulated)")
        return real(self, path, **kw)

    monkeypatch.setattr(Predictions, "analyse_file", flaky)
    resp = await post_file(api, encode("wav"), "flaky.wav")
    data = (await resp.json())["data"]
    assert resp.status == 200 and data["attempts"] == 2 and data["status"] == "completed"

    def broken(self, path, **kw):
        calls["n"] += 1
        raise RuntimeError("inference failed (simulated)")

    monkeypatch.setattr(Predictions, "analyse_file", broken)
    calls["n"] = 0
    err = await error_of(await post_file(api, encode("wav"), "doomed.wav"), 500, "MODEL_INFERENCE_FAILED")
    assert calls["n"] == 3 and err["details"] == {"attempts": 3}
    assert service.records.prediction(err["prediction_id"])["status"] == "failed"


# --- batches ---------------------------------------------------------------------------------------
def make_receiver(statuses: list[int]):
    received: list[dict] = []

    async def hook(request: web.Request) -> web.Response:
        raw = await request.read()
        status = statuses.pop(0) if statuses else 200
        received.append({"raw": raw, "body": json.loads(raw), "headers": dict(request.headers), "answered": status})
        return web.json_response({"ok": status < 300}, status=status)

    app = web.Application()
    app.router.add_post("/hook", hook)
    return app, received


async def wait_batch(api, batch_id: str, timeout_s: float = 120.0) -> dict:
    for _ in range(int(timeout_s / 0.1)):
        resp = await api.get(f"{V1}/batch/{batch_id}", headers=api.auth_headers)
        data = (await resp.json())["data"]
        if data["status"] not in ("queued", "processing"):
            return data
        await asyncio.sleep(0.1)
    raise TimeoutError(batch_id)


async def test_batch_predict_with_a_webhook(api, running_services, fast_retries, aiohttp_server):
    app, received = make_receiver([503])  # the first delivery fails: retried
    server = await aiohttp_server(app)
    running_services.settings.allowed_private_hosts = ["127.0.0.1"]  # the fake receiver runs on loopback
    url = str(server.make_url("/hook"))
    files = [("files[]", encode("wav", 4.0), "one.wav"), ("files[]", encode("ogg", 4.0, noise=True), "two.ogg"),
             ("files[]", b"RIFF\x00\x00\x00\x00WAVEjunk" * 8, "three.wav")]
    resp = await api.post(f"{V1}/batch-predict", data=form(*files, webhook_url=url), headers=api.auth_headers)
    body = await resp.json()
    assert resp.status == 202, body
    data = body["data"]
    batch_id = data["batch_id"]
    assert batch_id.startswith("batch_") and data["total_files"] == 3
    assert data["status_url"] == f"/api/v1/batch/{batch_id}" and data["status"] in ("queued", "processing")
    assert data["estimated_time_seconds"] >= 0
    assert running_services.context.jobs.get(batch_id)["kind"] == BATCH_KIND

    batch = await wait_batch(api, batch_id)
    assert batch["status"] == "completed_with_errors"
    assert [r["file"] for r in batch["results"]] == ["one.wav", "two.ogg", "three.wav"]
    assert [r["status"] for r in batch["results"]] == ["completed", "completed", "failed"]
    assert batch["results"][2]["error"]["code"] == "CORRUPT_AUDIO"
    assert batch["completed_files"] == 2 and batch["failed_files"] == 1 and batch["progress"] == 100.0
    member = batch["results"][0]
    resp = await api.get(f"{V1}/prediction/{member['prediction_id']}", headers=api.auth_headers)
    assert (await resp.json())["data"]["batch_id"] == batch_id

    await running_services.webhooks.drain(timeout_s=10)
    assert [item["answered"] for item in received] == [503, 200]
    payload = received[-1]["body"]
    assert payload["event"] == "batch.completed" and payload["batch_id"] == batch_id
    assert payload["status"] == "completed_with_errors" and payload["completed_at"]
    assert [r["file"] for r in payload["results"]] == ["one.wav", "two.ogg", "three.wav"]
    assert payload["results"][0]["genre"] and payload["results"][0]["confidence"] > 0
    secret = running_services.webhooks.secret
    expected = "sha256=" + hmac.new(secret.encode(), received[-1]["raw"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(received[-1]["headers"][SIGNATURE_HEADER], expected)
    assert received[0]["raw"] == received[1]["raw"]  # the retry sends the same delivery
    again = await wait_batch(api, batch_id)
    assert again["webhook_deliveries"][0]["status"] == "delivered" and len(again["webhook_deliveries"][0]["attempts"]) == 2

    resp = await api.get(f"{V1}/history", params={"batch_id": batch_id}, headers=api.auth_headers)
    assert (await resp.json())["data"]["total"] == 3


async def test_batch_predict_errors(api):
    resp = await api.post(f"{V1}/batch-predict", data=form(("files[]", encode("wav"), "ok.wav"),
                                                             ("files[]", b"%PDF-1.4 not audio", "doc.pdf")),
                          headers=api.auth_headers)
    err = await error_of(resp, 400, "INVALID_FILE_FORMAT")
    assert [f["file"] for f in err["details"]["files"]] == ["doc.pdf"]
    resp = await api.post(f"{V1}/batch-predict", data=form(webhook_url="http://127.0.0.1:9/x"), headers=api.auth_headers)
    await error_of(resp, 400, "MISSING_PARAMETER")
    resp = await api.post(f"{V1}/batch-predict", data=form(("files[]", encode("wav"), "ok.wav"), webhook_url="ftp://x"),
                          headers=api.auth_headers)
    await error_of(resp, 400, "INVALID_PARAMETER")
    resp = await api.get(f"{V1}/batch/batch_0123456789abcdef", headers=api.auth_headers)
    await error_of(resp, 404, "NOT_FOUND")
    resp = await api.get(f"{V1}/prediction/pred_0123456789abcdef", headers=api.auth_headers)
    await error_of(resp, 404, "NOT_FOUND")
    resp = await api.get(f"{V1}/spectrograms/pred_0123456789abcdef.png", headers=api.auth_headers)
    await error_of(resp, 404, "NOT_FOUND")


# --- catalogue, health, history, stats -------------------------------------------------------------------
async def test_genres_are_public_and_say_what_they_aggregate(api):
    resp = await api.get(f"{V1}/genres")
    data = (await resp.json())["data"]
    assert resp.status == 200 and data["total"] == len(data["genres"]) >= 10
    by_id = {g["id"]: g for g in data["genres"]}
    assert {"rock", "pop", "electronic", "hip-hop", "jazz", "metal", "blues", "country"} <= set(by_id)
    assert by_id["metal"]["model_tags"] == ["metal", "heavy metal"] and by_id["hip-hop"]["model_tags"] == ["Hip-Hop"]
    for genre in data["genres"]:
        assert genre["name"] and genre["description"] and isinstance(genre["sub_genres"], list)
    tags = [t for g in data["genres"] for t in g["model_tags"]]
    assert len(tags) == len(set(tags))  # every model tag counts for one genre at most
    assert data["model"] == "MSD_musicnn" and "chill" in data["mood_tags"]


async def test_health_checks_components_and_degrades_without_a_model(api, running_services):
    resp = await api.get(f"{V1}/health")
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "healthy"
    AnalysisHealth.model_validate(body)  # the documented report
    assert body["components"] == {"api": "up", "database": "up", "model": "up", "storage": "up", "queue": "up"}
    assert body["uptime_seconds"] >= 0 and body["version"] and body["timestamp"]

    def missing(model, device):
        raise FileNotFoundError(f"resources/models/{model}.pt is missing")

    running_services.analysis.models.tagger_loader = missing
    resp = await api.get(f"{V1}/health")
    body = await resp.json()
    assert resp.status == 503 and body["status"] == "degraded" and body["components"]["model"] == "down"
    AnalysisHealth.model_validate(body)  # the same report, not an error body
    assert "missing" in body["details"]["model"]
    await error_of(await post_file(api, encode("wav"), "a.wav"), 503, "MODEL_UNAVAILABLE")
    running_services.analysis.models.tagger_loader = None
    assert (await api.get(f"{V1}/health")).status == 200


async def test_history_and_stats_come_from_stored_predictions(api):
    for name, noise in (("a.wav", False), ("b.wav", True)):
        assert (await post_file(api, encode("wav", 4.0, noise=noise), name)).status == 200
    await post_file(api, b"RIFF\x00\x00\x00\x00WAVEjunk" * 8, "bad.wav")

    resp = await api.get(f"{V1}/history", params={"limit": 2}, headers=api.auth_headers)
    data = (await resp.json())["data"]
    assert data["total"] == 3 and len(data["predictions"]) == 2 and data["has_more"] is True
    assert [p["filename"] for p in data["predictions"]] == ["bad.wav", "b.wav"]  # newest first
    resp = await api.get(f"{V1}/history", params={"status": "failed"}, headers=api.auth_headers)
    assert [p["filename"] for p in (await resp.json())["data"]["predictions"]] == ["bad.wav"]
    resp = await api.get(f"{V1}/history", params={"limit": 0}, headers=api.auth_headers)
    await error_of(resp, 422, "VALIDATION_ERROR")

    resp = await api.get(f"{V1}/stats", headers=api.auth_headers)
    stats = (await resp.json())["data"]
    assert stats["total_predictions"] == 3 and stats["completed"] == 2 and stats["failed"] == 1
    assert sum(stats["genre_distribution"].values()) == 2 and stats["errors"] == {"CORRUPT_AUDIO": 1}
    assert stats["processing_time_ms"]["count"] == 2 and stats["processing_time_ms"]["p50"] > 0
    assert stats["success_rate"] == pytest.approx(2 / 3, abs=1e-3) and stats["by_source"] == {"api": 3}
    assert 0 < stats["average_confidence"] <= 1 and stats["audio_analysed_s"] == pytest.approx(8.0, abs=0.1)
    resp = await api.get(f"{V1}/stats", params={"days": 0}, headers=api.auth_headers)
    await error_of(resp, 422, "VALIDATION_ERROR")


# --- admin -----------------------------------------------------------------------------------------
async def test_models_deploy_and_metrics_are_admin_only(api, running_services):
    user_key, _ = running_services.auth.create_key("viewer", role="user")
    user = {"Authorization": f"Bearer {user_key}"}
    for method, path in (("GET", "/models"), ("POST", "/models/deploy"), ("GET", "/metrics")):
        resp = await api.request(method, f"{V1}{path}", json={"model": "MTT_musicnn"}, headers=user)
        await error_of(resp, 403, "FORBIDDEN")
    assert (await post_file(api, encode("wav"), "first.wav")).status == 200
    assert (await api.get(f"{V1}/history", headers=user)).status == 200  # a user key may predict and read

    resp = await api.get(f"{V1}/models", headers=api.auth_headers)
    data = (await resp.json())["data"]
    assert data["active"] == "MSD_musicnn"
    models = {m["id"]: m for m in data["models"]}
    assert set(models) == {"MSD_musicnn", "MTT_musicnn"}
    assert models["MSD_musicnn"]["active"] and models["MSD_musicnn"]["status"] == "ready"
    assert len(models["MTT_musicnn"]["tags"]) == 50 and not models["MTT_musicnn"]["active"]

    resp = await api.post(f"{V1}/models/deploy", json={"model": "MTT_musicnn"}, headers=api.auth_headers)
    data = (await resp.json())["data"]
    assert resp.status == 200 and data["model"] == "MTT_musicnn" and data["previous_model"] == "MSD_musicnn"
    genres = (await (await api.get(f"{V1}/genres")).json())["data"]
    assert genres["model"] == "MTT_musicnn" and "classical" in [g["id"] for g in genres["genres"]]
    predicted = (await (await post_file(api, encode("wav"), "second.wav")).json())["data"]
    assert "/MTT_musicnn/" in predicted["model_version"] and predicted["genre"] in [g["id"] for g in genres["genres"]]
    restarted = AnalysisService(running_services.context, webhooks=running_services.webhooks)
    assert restarted.models.active == "MTT_musicnn"  # kept across restarts

    resp = await api.post(f"{V1}/models/deploy", json={"model": "VGG_musicnn"}, headers=api.auth_headers)
    await error_of(resp, 400, "INVALID_PARAMETER")
    resp = await api.post(f"{V1}/models/deploy", json={}, headers=api.auth_headers)
    await error_of(resp, 422, "VALIDATION_ERROR")
    await api.post(f"{V1}/models/deploy", json={"model": "MSD_musicnn"}, headers=api.auth_headers)

    api.app[REQUEST_LOG].flush()
    resp = await api.get(f"{V1}/metrics", headers=api.auth_headers)
    metrics = (await resp.json())["data"]
    assert metrics["predictions"]["completed"] == 2 and metrics["predictions_last_hour"] == 2
    assert metrics["processing_time_ms"]["count"] == 2
    assert metrics["api"]["/api/v1/predict"]["requests"] == 2 and metrics["api"]["/api/v1/predict"]["errors"] == 0
    assert metrics["model"]["active"] == "MSD_musicnn" and metrics["queue"]["workers"] >= 1
    resp = await api.get(f"{V1}/metrics", params={"format": "prometheus"}, headers=api.auth_headers)
    text = await resp.text()
    assert resp.status == 200 and 'studio_predictions{status="completed"} 2' in text


async def test_routes_do_not_collide_and_are_documented(api):
    from studio.server.app import ROUTE_TABLES
    from studio.server.routes import analysis as predict

    seen = [(spec.method, spec.path) for table in ROUTE_TABLES for spec in table.specs]
    assert len(seen) == len(set(seen))
    assert all(path.startswith("/api/v1/") and not path.startswith("/api/v1/ai/") for _m, path in
               [(s.method, s.path) for s in predict.routes.specs])
    spec = await (await api.get("/openapi.json")).json()
    operation = spec["paths"]["/api/v1/predict"]["post"]
    assert "file" in operation["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert "security" not in spec["paths"]["/api/v1/genres"]["get"]
