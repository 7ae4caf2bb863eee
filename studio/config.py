"""Settings: defaults < settings file in the data dir < environment (STUDIO_*) < explicit overrides.

The data dir is `STUDIO_HOME` or the platform's user data dir. The settings file
(`settings.json` there) holds what the user changed in the GUI's Settings dialog.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

SETTINGS_FILE_NAME = "settings.json"


def default_home() -> Path:
    env = os.environ.get("STUDIO_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return platformdirs.user_data_path("studio", appauthor=False)


class RateLimit(BaseModel):
    """`requests` allowed per `window_s` seconds for one caller in one endpoint group."""

    requests: int = Field(ge=1)
    window_s: int = Field(ge=1)


def _default_rate_limits() -> dict[str, RateLimit]:
    # Endpoint groups and figures from seed 000 "Rate Limiting" (the Pro tier: this is the
    # owner's own machine). A path matches the longest prefix; `default` covers the rest of /api.
    return {
        "/api/music/generate": RateLimit(requests=100, window_s=3600),
        "/api/music/batch": RateLimit(requests=20, window_s=3600),
        "/api/voice/characters/*/synthesize": RateLimit(requests=500, window_s=3600),  # seed: "/api/voice/synthesize"
        "/api/voice/clone": RateLimit(requests=10, window_s=86400),
        "/api/trending/": RateLimit(requests=100, window_s=3600),
        "/api/community/": RateLimit(requests=200, window_s=3600),
        "/api/analytics/": RateLimit(requests=500, window_s=3600),
        "/api/v1/analytics/": RateLimit(requests=500, window_s=3600),  # seed 003's analytics, costs and reports
        "/api/v1/costs/": RateLimit(requests=500, window_s=3600),
        "/api/v1/reports/": RateLimit(requests=500, window_s=3600),
        "/api/system/": RateLimit(requests=50, window_s=3600),
        "default": RateLimit(requests=10000, window_s=3600),
    }


class _SettingsFileSource(PydanticBaseSettingsSource):
    """Reads `settings.json` from the data dir chosen by STUDIO_HOME (or the init argument)."""

    def __init__(self, settings_cls: type[BaseSettings], home: Path | None) -> None:
        super().__init__(settings_cls)
        self._home = home

    def get_field_value(self, field, field_name):  # pragma: no cover - required by the ABC
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = (self._home or default_home()) / SETTINGS_FILE_NAME
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STUDIO_", extra="ignore", validate_assignment=True)

    home: Path = Field(default_factory=default_home, description="Data dir: database, media, logs.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; empty means SQLite in the data dir."
    )
    host: str = Field(default="127.0.0.1", description="Interface the local API binds to.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port of the local API.")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the local API answers besides IP addresses and localhost (e.g. studio.local); "
                    "any other Host header is refused, so a web page cannot reach the API by DNS rebinding.")
    allow_remote: bool = Field(default=False, description="Allow binding the API to a non-loopback interface.")
    api_enabled: bool = Field(default=True, description="Run the local API inside the GUI.")
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto", description="Engine device: auto picks CUDA when present."
    )
    max_concurrent: int = Field(default=1, ge=1, le=16, description="Engine jobs run at once.")
    max_body_mb: int = Field(default=200, ge=1, le=4096, description="Largest request body accepted.")
    request_log_days: int = Field(
        default=30, ge=1, le=3650,
        description="Days the API's request log keeps each request (its daily sums per endpoint are kept for good).")
    session_ttl_s: int = Field(default=3600, ge=60, description="Lifetime of a login session.")
    rate_limits: dict[str, RateLimit] = Field(default_factory=_default_rate_limits)
    soundfont_path: Path | None = Field(
        default=None, description="A .sf2 to render with instead of the embedded GM SoundFont."
    )
    daily_credits: int = Field(
        default=0, ge=0, description="Generation credits per UTC day (10 per minute of audio); 0 = unlimited."
    )
    ollama_url: str | None = Field(
        default=None, description="A local Ollama server (e.g. http://127.0.0.1:11434) that writes character "
                                  "scripts; empty uses the built-in writer."
    )
    ollama_model: str = Field(default="llama3.2", description="The Ollama model that writes scripts.")
    # Trend sources: the platforms' real addresses; a test or a proxy points them elsewhere.
    deezer_url: str = Field(default="https://api.deezer.com", description="Base URL of Deezer's public API.")
    apple_music_url: str = Field(
        default="https://rss.applemarketingtools.com", description="Base URL of Apple Music's RSS charts."
    )
    lastfm_url: str = Field(
        default="https://ws.audioscrobbler.com/2.0/", description="Endpoint of Last.fm's web service (API 2.0)."
    )
    youtube_url: str = Field(
        default="https://www.googleapis.com/youtube/v3", description="Base URL of the YouTube Data API v3."
    )
    youtube_analytics_url: str = Field(
        default="https://youtubeanalytics.googleapis.com/v2",
        description="Base URL of the YouTube Analytics API (your channel's daily views and revenue).",
    )
    # Community platforms (and Google sign-in for replying to YouTube comments): the real addresses.
    discord_url: str = Field(default="https://discord.com/api/v10", description="Base URL of Discord's REST API.")
    telegram_url: str = Field(default="https://api.telegram.org", description="Base URL of Telegram's Bot API.")
    google_auth_url: str = Field(
        default="https://accounts.google.com/o/oauth2/v2/auth", description="Google's OAuth 2.0 sign-in page."
    )
    google_token_url: str = Field(
        default="https://oauth2.googleapis.com/token", description="Google's OAuth 2.0 token endpoint."
    )
    allow_private_feeds: bool = Field(
        default=False, description="Read RSS/Atom feeds on this machine or the local network (feeds you host "
                                   "yourself); off, feeds are read only from public addresses."
    )
    allowed_private_hosts: list[str] = Field(
        default_factory=list,
        description="Your own services on this machine or network (host names, addresses or networks such as "
                    "nas.local, 192.168.1.20, 10.0.0.0/8) that audio URLs and webhook callbacks may reach; any other "
                    "loopback, private, link-local or cloud-metadata address is refused.")
    allowed_folders: list[Path] = Field(
        default_factory=list,
        description="Folders whose files API requests may name by path (e.g. a voice sample's audio_path); a path "
                    "anywhere else is refused. Only the settings window changes this list, never the API.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("host")
    @classmethod
    def _host_not_empty(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("host must not be empty (127.0.0.1 keeps the API on this machine)")
        return value

    @field_validator("ollama_url")
    @classmethod
    def _ollama_url(cls, value: str | None) -> str | None:
        value = (value or "").strip().rstrip("/")
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("ollama_url must start with http:// or https:// (e.g. http://127.0.0.1:11434)")
        return value

    @field_validator("deezer_url", "apple_music_url", "lastfm_url", "youtube_url", "youtube_analytics_url",
                     "discord_url", "telegram_url", "google_auth_url", "google_token_url")
    @classmethod
    def _source_url(cls, value: str, info) -> str:
        value = (value or "").strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{info.field_name} must start with http:// or https://")
        return value

    @field_validator("soundfont_path")
    @classmethod
    def _soundfont_exists(cls, value: Path | None) -> Path | None:
        if value is not None and str(value).strip() not in ("", "."):
            value = Path(value).expanduser()
            if not value.is_file():
                raise ValueError(f"no SoundFont file at {value}")
            return value
        return None

    @field_validator("allowed_folders")
    @classmethod
    def _folders_exist(cls, value: list[Path]) -> list[Path]:
        folders = []
        for folder in value:
            folder = Path(folder).expanduser()
            if not folder.is_absolute():
                raise ValueError(f"{folder} is not a full path to a folder")
            folders.append(folder.resolve())  # a missing folder (an unplugged drive) simply matches nothing
        return folders

    def allowed_path(self, given: str, field: str) -> Path:
        """The real file `given` names when it lies inside one of `allowed_folders` (links resolved,
        so a link cannot lead out); PermissionError saying how to allow it otherwise, ValueError for
        a path that is not a full one. For paths that
        arrive in requests: the API never reads a file merely because a request named it."""
        path = Path(given).expanduser()
        if not path.is_absolute():
            raise ValueError(f"{field} must be a full path")
        real = path.resolve()
        if not any(real.is_relative_to(folder) for folder in self.allowed_folders):
            raise PermissionError(f"{field} is outside the folders the API may read; add its folder under "
                             "'Folders the API may read' in Settings, or upload the file instead")
        return real

    @field_validator("home", mode="before")
    @classmethod
    def _expand_home(cls, value: Any) -> Any:
        return Path(value).expanduser().resolve() if value else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ):
        home = init_settings.init_kwargs.get("home") if hasattr(init_settings, "init_kwargs") else None
        return (
            init_settings,
            env_settings,
            _SettingsFileSource(settings_cls, Path(home) if home else None),
        )

    # --- derived locations -------------------------------------------------------------------
    @property
    def settings_file(self) -> Path:
        return self.home / SETTINGS_FILE_NAME

    @property
    def media_dir(self) -> Path:
        return self.home / "media"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'studio.db'}"

    @property
    def api_base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    def ensure_dirs(self) -> None:
        """The data dir and its folders, readable by this user only (the database and media hold
        keys, tokens' masks, messages and statements)."""
        for path in (self.home, self.media_dir, self.logs_dir):
            path.mkdir(parents=True, exist_ok=True)
            if os.name == "posix":
                path.chmod(0o700)


# Fields the Settings dialog and `PUT /api/system/config` may change, and whether a change
# takes effect only after a restart.
EDITABLE_FIELDS: dict[str, bool] = {
    "host": True,
    "port": True,
    "api_enabled": True,
    "allow_remote": True,
    "device": True,
    "max_concurrent": False,
    "max_body_mb": True,
    "request_log_days": False,
    "session_ttl_s": False,
    "soundfont_path": False,
    "log_level": False,
    "daily_credits": False,
    "ollama_url": False,
    "ollama_model": False,
    "deezer_url": False,
    "apple_music_url": False,
    "lastfm_url": False,
    "youtube_url": False,
    "youtube_analytics_url": False,
    "discord_url": False,
    "telegram_url": False,
    "google_auth_url": False,
    "google_token_url": False,
    "allow_private_feeds": False,
    "allowed_private_hosts": False,
    "allowed_folders": False,
    "database_url": True,
}


def save_user_settings(settings: Settings, changes: dict[str, Any]) -> list[str]:
    """Validate `changes`, apply them to `settings` and persist them in the settings file.

    Returns the names of the fields whose value changed. Raises ValueError (pydantic's
    ValidationError is one) on an unknown field or a bad value; nothing is applied or written then.
    """
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS) - {"rate_limits"})
    if unknown:
        raise ValueError(
            f"not editable: {', '.join(unknown)}; editable: {', '.join(sorted(EDITABLE_FIELDS))}"
        )
    candidate = settings.model_copy(deep=True)
    for key, value in changes.items():
        setattr(candidate, key, value)  # validate_assignment=True: raises on a bad value
    changed = [k for k in changes if getattr(candidate, k) != getattr(settings, k)]
    for key in changes:
        setattr(settings, key, getattr(candidate, key))

    settings.home.mkdir(parents=True, exist_ok=True)
    stored: dict[str, Any] = {}
    if settings.settings_file.is_file():
        try:
            stored = json.loads(settings.settings_file.read_text(encoding="utf-8"))
        except ValueError:
            stored = {}
    dumped = settings.model_dump(mode="json")
    stored.update({k: dumped[k] for k in changes})
    tmp = settings.settings_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(stored, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, settings.settings_file)
    return changed


