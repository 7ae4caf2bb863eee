import json

import pytest
from pydantic import ValidationError

from studio.config import Settings, save_user_settings


def test_home_from_env_and_derived_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "h"))
    s = Settings()
    assert s.home == (tmp_path / "h").resolve()
    assert s.effective_database_url == f"sqlite:///{s.home / 'studio.db'}"
    assert s.media_dir == s.home / "media"


def test_settings_file_then_env_precedence(tmp_path, monkeypatch):
    home = tmp_path / "h"
    home.mkdir()
    (home / "settings.json").write_text(json.dumps({"port": 9100, "max_concurrent": 3}))
    monkeypatch.setenv("STUDIO_HOME", str(home))
    monkeypatch.setenv("STUDIO_MAX_CONCURRENT", "2")
    s = Settings()
    assert s.port == 9100  # from the file
    assert s.max_concurrent == 2  # env wins over the file


def test_database_url_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    monkeypatch.setenv("STUDIO_DATABASE_URL", "sqlite:////elsewhere/x.db")
    assert Settings().effective_database_url == "sqlite:////elsewhere/x.db"


def test_save_user_settings_persists_and_validates(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    s = Settings()
    changed = save_user_settings(s, {"max_concurrent": 4, "port": 8000})
    assert changed == ["max_concurrent"]
    assert json.loads(s.settings_file.read_text())["max_concurrent"] == 4
    assert Settings().max_concurrent == 4
    with pytest.raises(ValidationError):
        save_user_settings(s, {"max_concurrent": 0})
    assert s.max_concurrent == 4  # nothing applied
    with pytest.raises(ValueError, match="not editable"):
        save_user_settings(s, {"home": "/tmp"})


def test_trend_source_base_urls(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    s = Settings()
    assert (s.deezer_url, s.apple_music_url, s.lastfm_url, s.youtube_url) == (
        "https://api.deezer.com", "https://rss.applemarketingtools.com", "https://ws.audioscrobbler.com/2.0/",
        "https://www.googleapis.com/youtube/v3")
    monkeypatch.setenv("STUDIO_LASTFM_URL", "http://127.0.0.1:9911/2.0/")
    assert Settings().lastfm_url == "http://127.0.0.1:9911/2.0/"  # a fake server or a proxy
    assert save_user_settings(s, {"youtube_url": "http://127.0.0.1:9912/youtube/v3"}) == ["youtube_url"]
    with pytest.raises(ValidationError):
        save_user_settings(s, {"deezer_url": "api.deezer.com"})


def test_the_data_dir_is_the_users_only(tmp_path):
    import os
    import stat

    import pytest

    from studio.config import Settings

    if os.name != "posix":
        pytest.skip("POSIX permissions")
    settings = Settings(home=tmp_path / "home")
    settings.ensure_dirs()
    for path in (settings.home, settings.media_dir, settings.logs_dir):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
