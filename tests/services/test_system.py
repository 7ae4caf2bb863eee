import tarfile

from studio.services.system import restore_backup


async def test_backup_contains_database_and_media_and_restores(running_ctx, tmp_path):
    stored = running_ctx.store.write_bytes(b"RIFF-fake-audio", prefix="gen", extension="wav")
    key, record = running_ctx.auth.create_key("before-backup")
    job = running_ctx.system.start_backup()
    done = await running_ctx.jobs.wait(job["id"], timeout_s=30)
    assert done["status"] == "completed", done["error"]
    backups = running_ctx.system.list_backups()
    assert backups[0]["id"] == job["id"] and backups[0]["size_bytes"] > 0
    archive = running_ctx.system.backup_path(job["id"])
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "studio.db" in names and "manifest.json" in names
    assert any(n.endswith(stored.id) for n in names)

    # Restore into a fresh home: the key and the media file come back.
    from studio.app import build_context, shutdown
    from studio.config import Settings

    home = tmp_path / "restored"
    manifest = restore_backup(archive, home)
    assert manifest["media_files"] == 1
    restored = build_context(Settings(home=home))
    try:
        assert restored.auth.verify_key(key) is not None
        assert restored.store.path(stored.id).read_bytes() == b"RIFF-fake-audio"
    finally:
        shutdown(restored)


def test_health_reports_real_checks(ctx, monkeypatch):
    report = ctx.system.health()
    assert report["checks"]["database"] == "ok"
    assert report["status"] in ("healthy", "degraded")

    def broken():
        raise OSError("database is locked")

    monkeypatch.setattr(ctx.db, "ping", broken)
    report = ctx.system.health()
    assert report["status"] == "unhealthy" and report["checks"]["database"].startswith("error")
