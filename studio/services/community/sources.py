"""Community sources: the three platforms the inbox reads (Discord, Telegram, YouTube comments),
their set-up, tokens, status and YouTube's quota.

Built by the entry object as `CommunitySources(ctx, secrets=None, clock=utcnow)`; `secrets`
defaults to `studio.services.system.secrets.Secrets(settings.home)` (OS keyring, else a private
file). Secret names: `community.discord.token`, `community.telegram.token`,
`community.youtube.api_key`, `community.youtube.oauth_client` (JSON `{"client_id",
"client_secret"}` of a Google Cloud OAuth client of type "Desktop app"), `community.youtube.oauth_token`
(google_oauth `Token.to_json()`). No value is ever returned: `token_masked` shows "••••abcd" at most,
and every stored error reason has the secrets masked out.

Public API:
- `list_sources() -> list[dict]`, `get(name) -> dict`: `{"name", "label", "enabled", "has_token",
  "token_masked", "status" (disabled | connecting | ok | error), "identity", "error", "last_poll",
  "messages_total", "sent_total", "errors_total", "quota_used", "quota_limit", "quota_basis", "config",
  "instructions" (the set-up steps), "can_automate", "can_reply", "reply_basis"}` (+ YouTube:
  `"has_oauth_client", "signed_in"`).
- `configure(name, *, enabled=None, config=None)`; `set_token(name, token)` / `clear_token(name)`
  (YouTube: the API key); `set_oauth_client(client_id, client_secret)`, `sign_out_youtube()`;
  CommunityError for what the user can fix, UnknownSource for a name that is not a platform.
- `async verify(name) -> dict`: asks the platform who the token belongs to; status ok or error.
- `async discord_channels() -> [{"id", "name", "guild_id", "guild_name"}]`: the text channels the
  bot can see, to pick from.
- `async youtube_authorize(open_browser)`: Google's desktop-app sign-in (loopback redirect + PKCE)
  for the `youtube.force-ssl` scope replying needs; the token goes to secrets.
- `client_for(name, *, access_token=None)`: the connector client with the base URL from settings
  (`discord_url`, `telegram_url`, `youtube_url`); `clients[name]` replaces it (tests, fakes).
  `async client(name, *, reply=False)`: the same, and for a YouTube reply a fresh OAuth access token.
- bookkeeping for the poller and the outbox: `record_poll`, `record_sent`, `mark`, `cursor_of`,
  `set_cursor`, `set_identity`, `add_quota`, `quota_left`.

YouTube quota: 10 000 units a day per Google Cloud project, starting over at midnight Pacific time;
1 unit per comment-thread page read, 50 per reply posted (commentThreads.list / comments.insert).
The studio counts what it spends itself; other programs on the same project are not seen.
Every change is published as `community_source` ({"name", "status", "error"}), and listeners
added with `add_listener(callback(name))` (the live poller) hear of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from studio.connectors import google_oauth
from studio.connectors.charts import SourceError
from studio.connectors.discord import DiscordClient
from studio.connectors.telegram import TelegramClient
from studio.connectors.youtube import YouTubeCommentsClient, quota_day
from studio.db.models import CommunitySource
from studio.services.community.common import (
    AUTOMATABLE_PLATFORMS,
    PLATFORMS,
    CommunityError,
    UnknownSource,
)
from studio.services.system.secrets import Secrets
from studio.services.google_account import GoogleAccount, GoogleAccountError
from studio.services.usage import add_usage
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context

log = logging.getLogger(__name__)

LABELS = {"discord": "Discord", "telegram": "Telegram", "youtube": "YouTube comments"}
TOKEN_SECRETS = {"discord": "community.discord.token", "telegram": "community.telegram.token",
                 "youtube": "community.youtube.api_key"}
OAUTH_CLIENT_SECRET = "community.youtube.oauth_client"
OAUTH_TOKEN_SECRET = "community.youtube.oauth_token"
URL_SETTINGS = {"discord": "discord_url", "telegram": "telegram_url", "youtube": "youtube_url"}
DEFAULT_CONFIG: dict[str, dict[str, Any]] = {
    "discord": {"channels": [], "poll_interval_s": 10},
    "telegram": {"poll_timeout_s": 25},
    "youtube": {"channel_id": None, "video_ids": [], "poll_interval_s": 900},
}
YOUTUBE_DAILY_UNITS = 10_000
YOUTUBE_LIST_UNITS = 1
YOUTUBE_REPLY_UNITS = 50
MAX_DISCORD_CHANNELS = 50
MAX_YOUTUBE_VIDEOS = 50
MASK = "••••"

QUOTA_BASIS = {
    "discord": "Discord has no daily quota: rate limits per route (X-RateLimit-* headers) and 50 requests/s "
               "are honoured by the connector",
    "telegram": "Telegram has no daily quota: about 1 message/s per chat, 20/min per group, 30/s overall",
    "youtube": f"YouTube Data API: {YOUTUBE_DAILY_UNITS:,} units a day per Google Cloud project, reset at "
               f"midnight Pacific time; {YOUTUBE_LIST_UNITS} unit per comment page read, {YOUTUBE_REPLY_UNITS} "
               "per reply; counted by the studio (other programs on the same project are not seen)",
}

INSTRUCTIONS: dict[str, list[str]] = {
    "discord": [
        "Open the Discord Developer Portal (discord.com/developers/applications) and click New Application; "
        "name it (e.g. your artist name).",
        "In Bot, click Reset Token and copy the bot token (it is shown once). Paste it here: the studio keeps "
        "it in your system keyring and never shows it again.",
        "Still in Bot, under Privileged Gateway Intents, turn on Message Content Intent (without it the bot "
        "reads empty messages except where it is mentioned).",
        "In OAuth2 > URL Generator tick the scope 'bot' and the permissions View Channels (Read Messages), "
        "Send Messages and Read Message History; open the generated URL and add the bot to your server.",
        "Click Verify, then pick the channels to read. The studio polls them (no public address needed) and "
        "sends only the replies you approve.",
    ],
    "telegram": [
        "In Telegram, open a chat with @BotFather and send /newbot; choose a name and a username ending in 'bot'.",
        "Copy the token BotFather answers with (digits, a colon, letters) and paste it here: the studio keeps it "
        "in your system keyring.",
        "Add the bot to your group or channel (in a channel, as an administrator).",
        "Privacy mode: in groups a bot sees only messages that mention it, reply to it or are commands. To let "
        "it read everything, send /setprivacy to @BotFather, pick the bot and choose Disable (then remove and "
        "re-add the bot to the group).",
        "Click Verify. Private messages to the bot and mentions arrive in the inbox; the studio polls with "
        "getUpdates, so no other program (or webhook) may use the same bot.",
    ],
    "youtube": [
        "Reading comments: in the Google Cloud console create a project, enable 'YouTube Data API v3' and "
        "create an API key (APIs & Services > Credentials > Create credentials > API key). Paste it here.",
        "Enter your channel id (UC..., shown in YouTube Studio > Settings > Channel > Advanced) and/or the ids "
        "of the videos to watch. Each page of comments read costs 1 unit of the 10 000 a day.",
        "Replying needs your permission as the channel owner: in Credentials create an OAuth client ID of type "
        "'Desktop app' and paste its client id and client secret here.",
        "On the OAuth consent screen add your Google account as a test user (or publish the app), with the "
        "scope https://www.googleapis.com/auth/youtube.force-ssl.",
        "Click Sign in with Google: your browser opens Google's page and returns to the studio on this "
        "computer (a loopback address). Each reply costs 50 units (about 190 a day at most) and is posted "
        "only after you approve it; YouTube replies are never automatic.",
    ],
}

_DISCORD_ID = re.compile(r"^\d{1,25}$")
_YOUTUBE_CHANNEL = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
_YOUTUBE_VIDEO = re.compile(r"^[A-Za-z0-9_-]{11}$")


def _whole(name: str, key: str, value: Any, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise CommunityError(f"{name}: {key} must be a whole number") from None
    if isinstance(value, bool) or not low <= number <= high:
        raise CommunityError(f"{name}: {key} must be between {low} and {high}")
    return number


def check_config(name: str, config: dict[str, Any]) -> dict[str, Any]:
    """`config` checked and normalised; CommunityError naming the bad key."""
    allowed = set(DEFAULT_CONFIG[name])
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise CommunityError(f"{name} has no setting {', '.join(unknown)} (settings: {', '.join(sorted(allowed))})")
    out = {**DEFAULT_CONFIG[name], **config}
    if name == "discord":
        channels = out["channels"]
        if not isinstance(channels, list) or len(channels) > MAX_DISCORD_CHANNELS:
            raise CommunityError(f"discord: channels must be a list of at most {MAX_DISCORD_CHANNELS} channels")
        picked = []
        for channel in channels:
            if isinstance(channel, (str, int)):
                channel = {"id": str(channel)}
            if not isinstance(channel, dict) or not _DISCORD_ID.match(str(channel.get("id") or "")):
                raise CommunityError("discord: each channel needs the id Discord gives it (digits), "
                                     "e.g. from discord_channels()")
            picked.append({"id": str(channel["id"]), "name": str(channel.get("name") or "")[:100] or None,
                           "guild_id": str(channel["guild_id"]) if channel.get("guild_id") else None})
        out["channels"] = list({c["id"]: c for c in picked}.values())
        out["poll_interval_s"] = _whole(name, "poll_interval_s", out["poll_interval_s"], 5, 3600)
    elif name == "telegram":
        out["poll_timeout_s"] = _whole(name, "poll_timeout_s", out["poll_timeout_s"], 0, 50)
    elif name == "youtube":
        channel_id = (str(out["channel_id"]).strip() if out["channel_id"] else None) or None
        if channel_id and not _YOUTUBE_CHANNEL.match(channel_id):
            raise CommunityError("youtube: channel_id is the 24-character id starting with UC "
                                 "(YouTube Studio > Settings > Channel > Advanced settings)")
        out["channel_id"] = channel_id
        videos = out["video_ids"]
        if not isinstance(videos, list) or len(videos) > MAX_YOUTUBE_VIDEOS:
            raise CommunityError(f"youtube: video_ids must be a list of at most {MAX_YOUTUBE_VIDEOS} video ids")
        cleaned = []
        for video in videos:
            video = str(video).strip()
            if not _YOUTUBE_VIDEO.match(video):
                raise CommunityError(f"youtube: {video!r} is not a video id (the 11 characters after watch?v=)")
            if video not in cleaned:
                cleaned.append(video)
        out["video_ids"] = cleaned
        # 96 polls a day at 900 s: a few hundred units of the 10 000
        out["poll_interval_s"] = _whole(name, "poll_interval_s", out["poll_interval_s"], 300, 86400)
    return out


class CommunitySources:
    def __init__(self, ctx: "Context", *, secrets: Any = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = ctx.db
        self.settings = ctx.settings
        self.events = ctx.events
        self._secrets = secrets
        self.clock = clock
        self.google = GoogleAccount(lambda: self.secrets, self.settings, client_secret=OAUTH_CLIENT_SECRET,
                                    token_secret=OAUTH_TOKEN_SECRET, scopes=[google_oauth.YOUTUBE_FORCE_SSL],
                                    clock=lambda: self.clock())
        self.clients: dict[str, Any] = {}  # name -> a replacement client (tests, fakes)
        self._kept: dict[str, tuple[tuple, Any]] = {}
        self._listeners: list[Callable[[str], None]] = []
        self._ensured = False

    # --- secrets --------------------------------------------------------------------------------
    @property
    def secrets(self):
        if self._secrets is None:
            self._secrets = Secrets(self.settings.home)
        return self._secrets

    @secrets.setter
    def secrets(self, value: Any) -> None:
        self._secrets = value

    def _secret(self, key: str) -> str | None:
        try:
            return self.secrets.get(key)
        except Exception as exc:  # a locked keyring must not break the list
            log.warning("cannot read secret %s (%s)", key, type(exc).__name__)
            return None

    def mask(self, text: str | None) -> str | None:
        """`text` with every stored community secret (and an OAuth token's parts) masked."""
        if not text:
            return text
        for key in (*TOKEN_SECRETS.values(), OAUTH_CLIENT_SECRET, OAUTH_TOKEN_SECRET):
            value = self._secret(key)
            if not value:
                continue
            parts = [value]
            if value.startswith("{"):
                try:
                    parts += [str(v) for v in json.loads(value).values() if isinstance(v, str) and len(v) >= 8]
                except ValueError:
                    pass
            for part in parts:
                if len(part) >= 6:
                    text = text.replace(part, MASK)
        return text

    # --- rows -----------------------------------------------------------------------------------
    def _ensure(self) -> None:
        """The three platforms exist as rows (disabled: nothing is read before the user says so)."""
        if self._ensured:
            return
        now = self.clock()
        with self.db.session() as s:
            have = set(s.scalars(select(CommunitySource.name)).all())
            for name in PLATFORMS:
                if name not in have:
                    s.add(CommunitySource(name=name, enabled=0, config=dict(DEFAULT_CONFIG[name]), status="disabled",
                                          cursor={}, identity={}, messages_total=0, sent_total=0, errors_total=0,
                                          quota_used=0, updated_at=now))
        self._ensured = True

    def _row(self, s, name: str) -> CommunitySource:
        if name not in PLATFORMS:
            raise UnknownSource(name)
        self._ensure()
        row = s.get(CommunitySource, name)
        if row is None:  # pragma: no cover - _ensure made it
            raise UnknownSource(name)
        return row

    def config_of(self, name: str) -> dict[str, Any]:
        with self.db.session() as s:
            return {**DEFAULT_CONFIG[name], **(self._row(s, name).config or {})}

    def is_enabled(self, name: str) -> bool:
        with self.db.session() as s:
            return bool(self._row(s, name).enabled)

    def enabled_names(self) -> list[str]:
        self._ensure()
        with self.db.session() as s:
            names = set(s.scalars(select(CommunitySource.name).where(CommunitySource.enabled == 1)).all())
        return [name for name in PLATFORMS if name in names]

    def identity_of(self, name: str) -> dict[str, Any]:
        with self.db.session() as s:
            return dict(self._row(s, name).identity or {})

    def cursor_of(self, name: str) -> dict[str, Any]:
        with self.db.session() as s:
            return dict(self._row(s, name).cursor or {})

    def _quota_used_today(self, row: CommunitySource) -> int:
        return int(row.quota_used or 0) if row.quota_day == quota_day(self.clock()) else 0

    def _dict(self, row: CommunitySource) -> dict[str, Any]:
        name = row.name
        token = self._secret(TOKEN_SECRETS[name])
        masked = None
        if token:
            try:
                masked = self.secrets.masked(TOKEN_SECRETS[name])
            except Exception:  # a locked keyring: say there is one, show nothing
                masked = MASK
        config = {**DEFAULT_CONFIG[name], **(row.config or {})}
        enabled = bool(row.enabled)
        out: dict[str, Any] = {
            "name": name, "label": LABELS[name], "enabled": enabled, "has_token": bool(token),
            "token_masked": masked, "status": row.status if enabled else "disabled",
            "identity": dict(row.identity or {}),
            "error": row.last_error if row.status == "error" else None,
            "last_poll": iso(row.last_poll_at), "messages_total": int(row.messages_total or 0),
            "sent_total": int(row.sent_total or 0), "errors_total": int(row.errors_total or 0),
            "quota_used": None, "quota_limit": None, "quota_basis": QUOTA_BASIS[name],
            "config": config, "instructions": list(INSTRUCTIONS[name]),
            "can_automate": name in AUTOMATABLE_PLATFORMS,
        }
        if name == "youtube":
            signed_in = bool(self._secret(OAUTH_TOKEN_SECRET))
            out.update(quota_used=self._quota_used_today(row), quota_limit=YOUTUBE_DAILY_UNITS,
                       has_oauth_client=bool(self._secret(OAUTH_CLIENT_SECRET)), signed_in=signed_in,
                       can_reply=signed_in,
                       reply_basis=None if signed_in else "replying needs Google sign-in (OAuth, youtube.force-ssl)")
            out["has_token"] = bool(token) or signed_in  # comments can be read with either
        else:
            out.update(can_reply=bool(token), reply_basis=None if token else "add the bot token first")
        return out

    # --- what callers use -----------------------------------------------------------------------
    def list_sources(self) -> list[dict[str, Any]]:
        self._ensure()
        with self.db.session() as s:
            rows = {row.name: row for row in s.scalars(select(CommunitySource)).all()}
            return [self._dict(rows[name]) for name in PLATFORMS if name in rows]

    def get(self, name: str) -> dict[str, Any]:
        with self.db.session() as s:
            return self._dict(self._row(s, name))

    def add_listener(self, callback: Callable[[str], None]) -> None:
        self._listeners.append(callback)

    def _changed(self, name: str, *, restart: bool = True) -> dict[str, Any]:
        source = self.get(name)
        self.events.publish("community_source", {"name": name, "status": source["status"], "error": source["error"]})
        if restart:
            for callback in list(self._listeners):
                try:
                    callback(name)
                except Exception:  # a listener's bug must not undo the change
                    log.exception("community source listener failed")
        return source

    def configure(self, name: str, *, enabled: bool | None = None, config: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
        with self.db.session() as s:
            row = self._row(s, name)
            if config is not None:
                if not isinstance(config, dict):
                    raise CommunityError(f"{name}: config must be an object")
                merged = check_config(name, {**(row.config or {}), **config})
                if name == "discord":  # channels no longer read lose their place
                    kept = {c["id"] for c in merged["channels"]}
                    row.cursor = {k: v for k, v in (row.cursor or {}).items() if k in kept}
                row.config = merged
            if enabled is not None:
                row.enabled = 1 if enabled else 0
                if enabled and row.status in ("disabled", None):
                    row.status, row.last_error = "connecting", None
                elif not enabled:
                    row.status = "disabled"
            row.updated_at = self.clock()
        return self._changed(name)

    def set_token(self, name: str, token: str) -> dict[str, Any]:
        """Store the bot token (Discord, Telegram) or the API key (YouTube); the identity it had is forgotten."""
        with self.db.session() as s:
            self._row(s, name)
        token = (token or "").strip()
        if not token:
            raise CommunityError("the token is empty (clear_token removes one)")
        if any(c.isspace() for c in token.removeprefix("Bot ")):
            raise CommunityError("a token has no spaces: copy it again")
        if not token.isascii() or not token.isprintable():  # it travels in a header or a URL
            raise CommunityError("a token is made of plain letters, digits and punctuation: copy it again")
        self.secrets.set(TOKEN_SECRETS[name], token)
        self._reset_identity(name)
        return self._changed(name)

    def clear_token(self, name: str) -> dict[str, Any]:
        with self.db.session() as s:
            self._row(s, name)
        self.secrets.delete(TOKEN_SECRETS[name])
        self._reset_identity(name)
        return self._changed(name)

    def set_oauth_client(self, client_id: str, client_secret: str) -> dict[str, Any]:
        """The Google Cloud OAuth client ("Desktop app") YouTube replies are signed in with."""
        try:
            self.google.set_client(client_id, client_secret)
        except GoogleAccountError as exc:
            raise CommunityError(exc.reason) from None
        return self._changed("youtube", restart=False)

    def sign_out_youtube(self) -> dict[str, Any]:
        self.google.sign_out()
        self._kept.pop("youtube", None)
        return self._changed("youtube")

    def _reset_identity(self, name: str) -> None:
        self._kept.pop(name, None)
        with self.db.session() as s:
            row = self._row(s, name)
            row.identity = {}
            if row.enabled:
                row.status, row.last_error = "connecting", None
            row.updated_at = self.clock()

    # --- clients --------------------------------------------------------------------------------
    def client_for(self, name: str, *, access_token: str | None = None):
        """The connector client of `name` (kept between polls so its rate limits span them).
        Raises UnknownSource, or SourceError (fatal) when the token is missing."""
        if name not in PLATFORMS:
            raise UnknownSource(name)
        if name in self.clients:
            return self.clients[name]
        token = self._secret(TOKEN_SECRETS[name])
        base_url = getattr(self.settings, URL_SETTINGS[name])
        if name == "youtube" and not token and not access_token:
            raise SourceError(name, "no API key: add a YouTube Data API key (or sign in with Google)", fatal=True)
        if name != "youtube" and not token:
            raise SourceError(name, f"no bot token: follow the {LABELS[name]} set-up steps and add it", fatal=True)
        secret = f"{token}|{access_token}"
        signature = (base_url, hashlib.sha256(secret.encode()).hexdigest())
        kept = self._kept.get(name)
        if kept is not None and kept[0] == signature:
            return kept[1]
        if name == "discord":
            client = DiscordClient(token, base_url=base_url)
        elif name == "telegram":
            client = TelegramClient(token, base_url=base_url)
        else:
            client = YouTubeCommentsClient(api_key=None if access_token else token, access_token=access_token,
                                           base_url=base_url)
        self._kept[name] = (signature, client)
        return client

    async def client(self, name: str, *, reply: bool = False):
        """`client_for(name)`; a YouTube reply gets a client with a fresh OAuth access token."""
        if name in self.clients:
            return self.clients[name]
        if name == "youtube" and (reply or not self._secret(TOKEN_SECRETS["youtube"])):
            access_token = await self.youtube_access_token()
            if access_token is None:
                raise SourceError("youtube", "replying needs Google sign-in: add the OAuth client and click "
                                             "Sign in with Google", fatal=True)
            return self.client_for(name, access_token=access_token)
        return self.client_for(name)

    async def youtube_access_token(self) -> str | None:
        """The stored OAuth access token, refreshed when it is about to expire; None when not signed in."""
        try:
            return await self.google.access_token()
        except GoogleAccountError as exc:
            raise SourceError("youtube", exc.reason, fatal=True) from None

    async def youtube_authorize(self, open_browser: Callable[[str], Any]) -> dict[str, Any]:
        """Sign in with Google (the loopback flow of a desktop app) for replying; the token is stored."""
        try:
            await self.google.authorize(open_browser)
        except GoogleAccountError as exc:
            raise CommunityError(exc.reason) from None
        self._kept.pop("youtube", None)
        return self._changed("youtube")

    async def verify(self, name: str) -> dict[str, Any]:
        """Ask the platform who the token belongs to; the source's status says how it went."""
        try:
            client = await self.client(name)
            if name == "discord":
                me = await client.me()
                identity = {"id": me["id"], "username": me.get("username")}
            elif name == "telegram":
                me = await client.get_me()
                identity = {"id": me["id"], "username": me.get("username"),
                            "privacy_mode": not me.get("can_read_all_group_messages", False)}
            else:
                config = self.config_of(name)
                target = ({"channel_id": config["channel_id"]} if config["channel_id"]
                          else {"video_id": config["video_ids"][0]} if config["video_ids"] else None)
                if target is None:
                    raise SourceError(name, "enter your channel id or a video id to read comments from", fatal=True)
                before = client.units_used
                try:
                    await client.threads(**target, max_results=1)
                finally:
                    self.add_quota(client.units_used - before)
                identity = {"channel_id": config["channel_id"]}
        except SourceError as exc:
            self.mark(name, "error", exc.reason)
            return self.get(name)
        self.set_identity(name, identity)
        self.mark(name, "ok", None)
        return self.get(name)

    async def discord_channels(self) -> list[dict[str, Any]]:
        """The text channels of every server the bot is in, to pick from."""
        client = await self.client("discord")
        try:
            out = []
            for guild in await client.guilds():
                for channel in await client.channels(guild["id"]):
                    out.append({**channel, "guild_name": guild.get("name")})
        except SourceError as exc:
            raise CommunityError(f"Discord: {self.mask(exc.reason)}") from None
        return out

    # --- bookkeeping (poller, outbox) -----------------------------------------------------------
    def mark(self, name: str, status: str, error: str | None) -> None:
        """Set the status (connecting | ok | error) and the reason; publishes when it changed."""
        error = self.mask(error)[:1000] if error else None
        with self.db.session() as s:
            row = self._row(s, name)
            changed = (row.status, row.last_error) != (status, error)
            row.status, row.last_error = status, error
            row.updated_at = self.clock()
        if changed:
            self._changed(name, restart=False)

    def record_poll(self, name: str, *, items: int = 0, error: str | None = None) -> None:
        """One poll's outcome: status ok/error, last poll time, counters."""
        now = self.clock()
        with self.db.session() as s:
            row = self._row(s, name)
            row.last_poll_at = now
            row.messages_total = int(row.messages_total or 0) + int(items)
            if error:
                row.errors_total = int(row.errors_total or 0) + 1
        self.mark(name, "error" if error else "ok", error)

    def record_sent(self, name: str) -> None:
        with self.db.session() as s:
            row = self._row(s, name)
            row.sent_total = int(row.sent_total or 0) + 1

    def set_cursor(self, name: str, changes: dict[str, Any]) -> None:
        with self.db.session() as s:
            row = self._row(s, name)
            row.cursor = {**(row.cursor or {}), **changes}

    def set_identity(self, name: str, identity: dict[str, Any]) -> None:
        with self.db.session() as s:
            row = self._row(s, name)
            row.identity = {**(row.identity or {}), **identity}

    def add_quota(self, units: int) -> None:
        """Count YouTube units spent (the quota day starts at midnight Pacific time)."""
        if units <= 0:
            return
        day = quota_day(self.clock())
        with self.db.session() as s:
            row = self._row(s, "youtube")
            if row.quota_day != day:
                row.quota_day, row.quota_used = day, 0
            row.quota_used = int(row.quota_used or 0) + int(units)
            add_usage(s, "youtube", day=day, units=units)

    def quota_left(self) -> int:
        with self.db.session() as s:
            return max(0, YOUTUBE_DAILY_UNITS - self._quota_used_today(self._row(s, "youtube")))
