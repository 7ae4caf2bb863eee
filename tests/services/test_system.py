import tarfile

from studio.services.system import restore_backup


async def test_backup_contains_database_and_media_and_restores(running_services, tmp_path):
    stored = running_services.context.store.write_bytes(b"RIFF-fake-audio", prefix="gen", extension="wav")
    key, record = running_services.auth.create_key("before-backup")
    job = running_services.system.start_backup()
    done = await running_services.context.jobs.wait(job["id"], timeout_s=30)
    assert done["status"] == "completed", done["error"]
    backups = running_services.system.list_backups()
    assert backups[0]["id"] == job["id"] and backups[0]["size_bytes"] > 0
    archive = running_services.system.backup_path(job["id"])
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "studio.db" in names and "manifest.json" in names
    assert any(n.endswith(stored.id) for n in names)

    # Restore into a fresh home: the key and the media file come back.
    from studio.app import build_services, shutdown
    from studio.config import Settings

    home = tmp_path / "restored"
    manifest = restore_backup(archive, home)
    assert manifest["media_files"] == 1
    restored = build_services(Settings(home=home))
    try:
        assert restored.auth.verify_key(key) is not None
        assert restored.context.store.path(stored.id).read_bytes() == b"RIFF-fake-audio"
    finally:
        shutdown(restored)


def test_health_reports_real_checks(services, monkeypatch):
    report = services.system.health()
    assert report["checks"]["database"] == "ok"
    assert report["status"] in ("healthy", "degraded")

    def broken():
        raise OSError("database is locked")

    monkeypatch.setattr(services.context.db, "ping", broken)
    report = services.system.health()
    assert report["status"] == "unhealthy" and report["checks"]["database"].startswith("error")


def test_the_player_plays_through_the_system_service(services, tmp_path):
    import numpy as np
    import pytest
    import soundfile as sf

    path = tmp_path / "tone.wav"
    sf.write(path, np.full((2205, 2), 0.25, dtype=np.float32), 22050)
    audio, rate = services.system.read_audio(path)
    assert rate == 22050 and audio.shape == (2205, 2) and audio.dtype == np.float32
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(Exception):
        services.system.read_audio(tmp_path / "empty.wav")

    blocks = []
    player = services.system.new_player(sink=blocks.append)
    player.load(audio, rate)
    assert player.play().available and player.pull(100).shape == (100, 2)
    assert isinstance(services.system.audio_output().message, str)  # a device name or what is missing


def test_backups_live_in_the_backups_dir(services):
    assert services.system.backups_dir == services.settings.home / "backups"


def test_job_timestamps_have_the_documented_shape(services):
    import re

    job = services.system.get_job(services.system.start_backup()["id"])
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", job["created_at"])


def test_the_request_log_keeps_its_configured_days_and_the_daily_sums(services):
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import func, select

    from studio.db.models import RequestLog, RequestRollup

    system = services.system
    now = datetime.now(timezone.utc)
    old = {"request_id": "r_old", "method": "GET", "path": "/api/status", "route": "/api/status", "status": 200,
           "latency_ms": 3.0, "at": now - timedelta(days=45)}
    system.record_requests([old])  # the first batch prunes (nothing older yet), then stores the old row
    with services.context.db.session() as s:
        assert s.scalar(select(func.count()).select_from(RequestLog)) == 1
    system._pruned_at = float("-inf")  # an hour later
    system.record_requests([{**old, "request_id": "r_new", "at": now}])
    with services.context.db.session() as s:
        assert list(s.scalars(select(RequestLog.request_id))) == ["r_new"]  # 45 days > the default 30
        days = dict(s.execute(select(RequestRollup.day, RequestRollup.requests)).all())
    assert days == {(now - timedelta(days=45)).strftime("%Y-%m-%d"): 1, now.strftime("%Y-%m-%d"): 1}


async def test_a_track_deleted_while_the_backup_runs_is_left_out(running_services, tmp_path, monkeypatch):
    """Issue #19: the backup job crashed with FileNotFoundError when a file went mid-run."""
    store = running_services.context.store
    kept = store.write_bytes(b"RIFF-kept", prefix="gen", extension="wav")
    gone = store.write_bytes(b"RIFF-gone", prefix="gen", extension="wav")
    real_add = tarfile.TarFile.add

    def add_after_a_delete(self, name, *args, **kwargs):
        if str(name).endswith(gone.id):
            store.path(gone.id).unlink()  # the library deletes it just before the archive reads it
        return real_add(self, name, *args, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "add", add_after_a_delete)
    job = running_services.system.start_backup()
    done = await running_services.context.jobs.wait(job["id"], timeout_s=30)
    assert done["status"] == "completed", done["error"]
    assert done["result"]["media_files"] == 1
    manifest = restore_backup(running_services.system.backup_path(job["id"]), tmp_path / "restored")
    assert manifest["media_files"] == 1
    assert (tmp_path / "restored" / "media").exists() and not list((tmp_path / "restored").rglob(gone.id))
    assert list((tmp_path / "restored").rglob(kept.id))
