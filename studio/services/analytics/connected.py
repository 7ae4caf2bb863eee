"""The creator's own YouTube channel, read with their own credentials.

Two ways in, both optional:
- **An API key** (YouTube Data API): the channel's public uploads and each video's lifetime views,
  likes and comments. A video's lifetime figures are spread over the days since it was published
  (the ledger's rule for a figure over several days); each refresh replaces the previous one.
- **Google sign-in** (OAuth for an installed app: loopback redirect + PKCE, scopes
  youtube.readonly, yt-analytics.readonly and yt-analytics-monetary.readonly): the YouTube Analytics
  API's daily views, watch time, likes, comments, shares, subscribers and estimated revenue for the
  channel, and each video's figures over the refreshed window. Revenue needs a monetised channel:
  without it the refresh keeps the other figures and says so (`revenue_available` false, `note`).
  When signed in, the Data API only names the videos (titles, publish times, durations).

Keys and tokens live in the OS keyring (`analytics.youtube.api_key`, `analytics.youtube.oauth_client`,
`analytics.youtube.oauth_token`), are never returned and never appear in an error text. Units of the
Data API are counted into the `youtube` quota ledger (10 000 a day per Google Cloud project, shared
with the trends and community areas); Analytics API requests into `youtube_analytics`.
YouTube's policy asks that stored API data be refreshed or deleted within 30 days: `status()` says
`stale` after REFRESH_AT_MOST_S, and the panel offers to refresh.

Public API (built by the entry object as `ConnectedYouTube(ctx, imports=...)`):
- `status() -> {"api_key_set","api_key_masked","has_oauth_client","signed_in","channel_id","channel_title",
  "last_refresh","stale","error","revenue_available","note","videos","instructions"}`
- `configure(channel_id)`, `set_api_key(key)`, `clear_api_key()`, `set_oauth_client(id, secret)`,
  `async sign_in(open_browser)`, `sign_out()`
- `async refresh(*, days=90) -> {"channel_id","videos","rows","revenue_available","note","import_id"}`
- Competitors (channels the user chooses to follow): `follow(channel_id)`, `unfollow(channel_id)`,
  `async refresh_competitors()` (public figures from `channels.list`, 1 unit per 50 channels, the API
  key or the sign-in), `competitors()`: each channel's last figures and the change since the first
  reading kept (at most MAX_READINGS readings per channel, one per refresh).
Errors: AnalyticsError (422) for what the user can fix; a platform's refusal is stored as `error`
and raised as AnalyticsError with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from studio.connectors import google_oauth
from studio.connectors.analytics_files import ParsedStats, StatRow
from studio.connectors.charts import SourceError
from studio.connectors.youtube import YouTubeChannelClient, quota_day
from studio.connectors.youtube_analytics import YouTubeAnalyticsClient
from studio.db.models import AnalyticsState
from studio.services.analytics.common import AnalyticsError
from studio.services.google_account import GoogleAccount, GoogleAccountError
from studio.services.system.secrets import Secrets
from studio.services.usage import add_usage
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.services.analytics.imports import AnalyticsImports

API_KEY_SECRET = "analytics.youtube.api_key"
OAUTH_CLIENT_SECRET = "analytics.youtube.oauth_client"
OAUTH_TOKEN_SECRET = "analytics.youtube.oauth_token"
SCOPES = [google_oauth.YOUTUBE_READONLY, google_oauth.YT_ANALYTICS_READONLY, google_oauth.YT_ANALYTICS_MONETARY]
REFRESH_AT_MOST_S = 30 * 86400  # YouTube API Services policy: refresh or delete stored data within 30 days
MAX_REFRESH_DAYS = 365
MAX_COMPETITORS = 50
MAX_READINGS = 60
_CHANNEL_ID = re.compile(r"^UC[0-9A-Za-z_-]{22}$")
INSTRUCTIONS = (
    "Read-only, with an API key: Google Cloud console > APIs & Services > Enable 'YouTube Data API v3' > "
    "Credentials > Create credentials > API key. Paste the key and your channel id (UC…, YouTube Studio > "
    "Settings > Channel > Advanced settings).",
    "Daily views and revenue: enable 'YouTube Analytics API' too, create an OAuth client ID of type "
    "'Desktop app', paste its client id and secret, then click Sign in with Google. The studio asks for "
    "read-only access; revenue needs a channel in the YouTube Partner Program.",
)


class ConnectedYouTube:
    def __init__(self, ctx: "Context", *, imports: "AnalyticsImports", secrets: Any = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.ctx = ctx
        self.imports = imports
        self._secrets = secrets
        self.clock = clock
        self.google = GoogleAccount(lambda: self.secrets, ctx.settings, client_secret=OAUTH_CLIENT_SECRET,
                                    token_secret=OAUTH_TOKEN_SECRET, scopes=SCOPES, clock=lambda: self.clock())

    @property
    def secrets(self):
        if self._secrets is None:
            self._secrets = Secrets(self.ctx.settings.home)
        return self._secrets

    def _secret(self, key: str) -> str | None:
        try:
            return self.secrets.get(key)
        except Exception:  # a locked keyring reads as "not set"
            return None

    def _mask(self, text: str) -> str:
        key = self._secret(API_KEY_SECRET)
        if key:
            text = text.replace(key, "••••")
        return self.google.mask(text) or text

    # --- state ----------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            row = s.get(AnalyticsState, 1)
            return dict(row.youtube or {}) if row is not None else {}

    def _update(self, **changes: Any) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            row = s.get(AnalyticsState, 1)
            if row is None:
                row = AnalyticsState(id=1, prices={}, limits={}, alerts_fired={}, youtube={})
                s.add(row)
            row.youtube = {**(row.youtube or {}), **changes}
            row.updated_at = utcnow()
            return dict(row.youtube)

    def status(self) -> dict[str, Any]:
        state = self._state()
        last = state.get("last_refresh")
        stale = None
        if last:
            stale = (self.clock() - datetime.fromisoformat(last.replace("Z", "+00:00"))).total_seconds() > REFRESH_AT_MOST_S
        try:
            masked = self.secrets.masked(API_KEY_SECRET) if self._secret(API_KEY_SECRET) else None
        except Exception:
            masked = None
        return {"api_key_set": bool(self._secret(API_KEY_SECRET)), "api_key_masked": masked,
                "has_oauth_client": self.google.has_client, "signed_in": self.google.signed_in,
                "channel_id": state.get("channel_id"), "channel_title": state.get("channel_title"),
                "last_refresh": last, "stale": stale, "error": state.get("error"),
                "revenue_available": state.get("revenue_available"), "note": state.get("note"),
                "videos": state.get("videos"), "instructions": list(INSTRUCTIONS)}

    # --- set-up -----------------------------------------------------------------------------------
    def configure(self, channel_id: str | None) -> dict[str, Any]:
        value = (channel_id or "").strip() or None
        if value is not None and not _CHANNEL_ID.match(value):
            raise AnalyticsError("a channel id starts with UC and has 24 characters (YouTube Studio > Settings > "
                                 "Channel > Advanced settings)")
        self._update(channel_id=value)
        return self.status()

    def set_api_key(self, key: str) -> dict[str, Any]:
        key = (key or "").strip()
        if len(key) < 20 or any(c.isspace() for c in key):
            raise AnalyticsError("that does not look like a Google API key (about 39 characters, no spaces)")
        self.secrets.set(API_KEY_SECRET, key)
        return self.status()

    def clear_api_key(self) -> dict[str, Any]:
        self.secrets.delete(API_KEY_SECRET)
        return self.status()

    def set_oauth_client(self, client_id: str, client_secret: str) -> dict[str, Any]:
        try:
            self.google.set_client(client_id, client_secret)
        except GoogleAccountError as exc:
            raise AnalyticsError(exc.reason) from None
        return self.status()

    async def sign_in(self, open_browser: Callable[[str], Any]) -> dict[str, Any]:
        try:
            await self.google.authorize(open_browser)
        except GoogleAccountError as exc:
            raise AnalyticsError(exc.reason) from None
        self._update(error=None)
        return self.status()

    def sign_out(self) -> dict[str, Any]:
        self.google.sign_out()
        return self.status()

    # --- refresh ------------------------------------------------------------------------------------
    async def _token(self) -> str:
        try:
            token = await self.google.access_token()
        except GoogleAccountError as exc:
            raise SourceError("youtube_analytics", exc.reason, fatal=True) from None
        if token is None:
            raise SourceError("youtube_analytics", "not signed in with Google", fatal=True)
        return token

    async def refresh(self, *, days: int = 90) -> dict[str, Any]:
        if not 1 <= int(days) <= MAX_REFRESH_DAYS:
            raise AnalyticsError(f"days must be between 1 and {MAX_REFRESH_DAYS}")
        api_key = self._secret(API_KEY_SECRET)
        signed_in = self.google.signed_in
        state = self._state()
        if not signed_in and not api_key:
            raise AnalyticsError("add an API key or sign in with Google first (Analytics > Imports > YouTube channel)")
        if not signed_in and not state.get("channel_id"):
            raise AnalyticsError("with an API key only, set your channel id (UC…) so the studio knows which channel "
                                 "is yours")
        now = self.clock()
        end = (now - timedelta(days=1)).date()  # today's figures are not final yet
        start = end - timedelta(days=int(days) - 1)
        data = None
        try:
            access = await self._token() if signed_in else None
            data = YouTubeChannelClient(api_key=None if access else api_key, access_token=access,
                                        base_url=self.ctx.settings.youtube_url)
            channel = await data.channel(None if access else state.get("channel_id"))
            video_ids = await data.uploads(channel["uploads_playlist_id"]) if channel.get("uploads_playlist_id") else []
            videos = await data.video_stats(video_ids) if video_ids else []
            if signed_in:
                parsed, revenue_available, note, analytics_requests = await self._analytics_rows(
                    start.isoformat(), end.isoformat(), videos)
            else:
                parsed, revenue_available, note, analytics_requests = self._lifetime_rows(videos, now), None, (
                    "read with an API key: lifetime views, likes and comments per video, no revenue (sign in with "
                    "Google for daily figures and revenue)"), 0
        except SourceError as exc:
            reason = self._mask(exc.reason)
            self._update(error=reason)
            raise AnalyticsError(f"YouTube refused: {reason}") from None
        finally:
            if data is not None:
                self._count(now, units=getattr(data, "units_used", 0), analytics_requests=0)
        self._count(now, units=0, analytics_requests=analytics_requests)
        result = self.imports.store(parsed, filename=None, sha256=None, kind="connected",
                                    snapshot=not signed_in)
        self._update(channel_id=channel.get("id"), channel_title=channel.get("title"), last_refresh=iso(now),
                     error=None, revenue_available=revenue_available, note=note, videos=len(videos))
        return {"channel_id": channel.get("id"), "videos": len(videos), "rows": result["rows"],
                "revenue_available": revenue_available, "note": note, "import_id": result["import_id"]}

    # --- competitors ---------------------------------------------------------------------------------
    def follow(self, channel_id: str) -> dict[str, Any]:
        value = (channel_id or "").strip()
        if not _CHANNEL_ID.match(value):
            raise AnalyticsError("a channel id starts with UC and has 24 characters (the part after /channel/ in "
                                 "the channel's address)")
        followed = dict(self._state().get("competitors") or {})
        if value not in followed and len(followed) >= MAX_COMPETITORS:
            raise AnalyticsError(f"at most {MAX_COMPETITORS} channels can be followed")
        followed.setdefault(value, {"title": None, "readings": []})
        self._update(competitors=followed)
        return self.competitors()

    def unfollow(self, channel_id: str) -> dict[str, Any]:
        followed = dict(self._state().get("competitors") or {})
        if followed.pop((channel_id or "").strip(), None) is None:
            raise AnalyticsError(f"channel {channel_id!r} is not followed")
        self._update(competitors=followed)
        return self.competitors()

    async def refresh_competitors(self) -> dict[str, Any]:
        followed = dict(self._state().get("competitors") or {})
        if not followed:
            raise AnalyticsError("follow a channel first (its UC… id)")
        api_key = self._secret(API_KEY_SECRET)
        if not api_key and not self.google.signed_in:
            raise AnalyticsError("add an API key or sign in with Google first (Analytics > Imports > YouTube channel)")
        now = self.clock()
        client = None
        try:
            access = None if api_key else await self._token()
            client = YouTubeChannelClient(api_key=api_key, access_token=access, base_url=self.ctx.settings.youtube_url)
            stats = await client.channel_stats(list(followed))
        except SourceError as exc:
            raise AnalyticsError(f"YouTube refused: {self._mask(exc.reason)}") from None
        finally:
            if client is not None:
                self._count(now, units=client.units_used, analytics_requests=0)
        for entry in stats:
            channel = followed.get(entry["id"])
            if channel is None:
                continue
            channel["title"] = entry["title"]
            reading = {"at": iso(now), "subscribers": entry["subscribers"], "views": entry["views"],
                       "videos": entry["videos"]}
            channel["readings"] = (list(channel.get("readings") or []) + [reading])[-MAX_READINGS:]
        self._update(competitors=followed)
        return self.competitors()

    def competitors(self) -> dict[str, Any]:
        followed = self._state().get("competitors") or {}
        out = []
        for channel_id, channel in followed.items():
            readings = channel.get("readings") or []
            last = readings[-1] if readings else {}
            first = readings[0] if readings else {}

            def change(name: str, first=first, last=last, n=len(readings)) -> float | None:
                if n < 2 or first.get(name) is None or last.get(name) is None:
                    return None
                return last[name] - first[name]
            out.append({"channel_id": channel_id, "title": channel.get("title"), "subscribers": last.get("subscribers"),
                        "views": last.get("views"), "videos": last.get("videos"), "read_at": last.get("at"),
                        "since": first.get("at") if len(readings) > 1 else None,
                        "subscribers_change": change("subscribers"), "views_change": change("views"),
                        "videos_change": change("videos"), "readings": len(readings)})
        reasons = {}
        if not out:
            reasons["competitors"] = "no channel followed: add the channels you compare yourself with (their UC… id)"
        elif not any(c["readings"] for c in out):
            reasons["figures"] = "not read yet: refresh to read their public figures"
        return {"competitors": out, "reasons": reasons,
                "sources": {"figures": "YouTube Data API channels.list (public subscriber, view and video counts)",
                            "changes": "last reading minus the first reading kept"}}

    def _count(self, now: datetime, *, units: int, analytics_requests: int) -> None:
        with self.ctx.db.session() as s:
            add_usage(s, "youtube", day=quota_day(now), units=int(units or 0))
            add_usage(s, "youtube_analytics", day=quota_day(now), requests=int(analytics_requests or 0))

    @staticmethod
    def _row(i: int, *, scope: str, start: str, end: str, video=None, metrics: dict[str, float],
             revenue: float | None, raw: str, video_id: str | None = None) -> StatRow:
        return StatRow(line=i, file="YouTube API", raw=raw[:2000], scope=scope, start_day=start, end_day=end,
                       platform="youtube", external_id=video_id or (video.video_id if video else None), isrc=None,
                       upc=None, title=video.title if video else None, artist=None, country=None,
                       published_at=video.published_at if video else None,
                       duration_s=video.duration_s if video else None, metrics=metrics, revenue=revenue,
                       currency="USD" if revenue is not None else None, extra={})

    def _lifetime_rows(self, videos: list, now: datetime) -> ParsedStats:
        today = now.date().isoformat()
        rows = []
        for i, video in enumerate(videos, 1):
            published = (video.published_at or today)[:10]
            metrics = {k: float(v) for k, v in (("views", video.views), ("likes", video.likes),
                                                 ("comments", video.comments)) if v is not None}
            rows.append(self._row(i, scope="item", start=min(published, today), end=today, video=video,
                                  metrics=metrics, revenue=None, raw=repr(video)))
        return ParsedStats(source="youtube_data", format="youtube_data_api", rows=rows, mapped={}, unmapped=[],
                           window=(None, today), skipped=[])

    async def _analytics_rows(self, start: str, end: str, videos: list) -> tuple[ParsedStats, bool, str | None, int]:
        client = YouTubeAnalyticsClient(self._token, base_url=self.ctx.settings.youtube_analytics_url)
        daily = await client.daily(start, end)
        per_video = await client.per_video(start, end)
        by_id = {v.video_id: v for v in videos}
        rows: list[StatRow] = []
        for i, entry in enumerate(daily.rows, 1):
            rows.append(self._row(i, scope="total", start=entry["day"], end=entry["day"],
                                  metrics=_metrics(entry), revenue=_revenue(entry, daily.revenue_available),
                                  raw=repr(entry)))
        for i, entry in enumerate(per_video.rows, len(rows) + 1):
            video_id = str(entry.get("video") or "")
            if not video_id:
                continue
            rows.append(self._row(i, scope="item", start=start, end=end, video=by_id.get(video_id), video_id=video_id,
                                  metrics=_metrics(entry), revenue=_revenue(entry, per_video.revenue_available),
                                  raw=repr(entry)))
        revenue_available = bool(daily.revenue_available and per_video.revenue_available)
        note = daily.note or per_video.note
        requests = int(getattr(client, "requests", 0) or 0)
        return (ParsedStats(source="youtube_analytics", format="youtube_analytics_api", rows=rows, mapped={},
                            unmapped=[], window=(start, end), skipped=[]), revenue_available, note, requests)


def _metrics(entry: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, key in (("views", "views"), ("likes", "likes"), ("comments", "comments"), ("shares", "shares"),
                      ("subscribers", "subscribersGained")):
        if entry.get(key) is not None:
            out[name] = float(entry[key])
    if entry.get("estimatedMinutesWatched") is not None:
        out["watch_time_h"] = float(entry["estimatedMinutesWatched"]) / 60.0
    if entry.get("averageViewDuration") is not None:
        out["avg_view_duration_s"] = float(entry["averageViewDuration"])
    return out


def _revenue(entry: dict[str, Any], available: bool) -> float | None:
    if not available or entry.get("estimatedRevenue") is None:
        return None
    return float(entry["estimatedRevenue"])
