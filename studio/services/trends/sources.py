"""Trend sources: which platforms and feeds are read, their settings, keys, status and quota.

Built by the trends entry object as `TrendSources(ctx, secrets=None, clock=utcnow)`; `secrets`
defaults to `studio.services.system.secrets.Secrets(settings.home)` (keys under "trends:<name>").

Public API (what routes, the panel and the monitor call):
- `list_sources() -> list[dict]`, each `{"name", "label", "kind", "enabled", "needs_key", "has_key",
  "key_masked" (e.g. "••••abcd" | None, never the key), "key_hint", "status" (disabled | idle |
  scanning | ok | error), "last_scan" (iso | None), "items_last_scan", "trends_found" (items this
  source carried), "api_quota_remaining" (int | None), "quota_basis" (str), "error_rate" (errors /
  scans over the last 50 scans, None before the first), "error" (str | None), "config" {...},
  "scans_total", "errors_total", "url" (feeds)}`.
- `get(name) -> dict` (one of those; UnknownSource).
- `configure(name, *, enabled=None, config=None) -> dict`: TrendsError for a bad config key/value.
- `add_feed(url) -> dict` (name "feed:<12 hex of the URL's sha1>", enabled at once: adding it is
  the user's request to read it), `remove_feed(name)`.
- `set_key(name, key) -> dict`, `clear_key(name) -> dict` (lastfm, youtube; TrendsError for a
  keyless source).
- `client_for(name)`: the connector client, with the base URL from settings (`deezer_url`,
  `apple_music_url`, `lastfm_url`, `youtube_url`) and the key from secrets.
- `async preview(url) -> bytes`: a Deezer preview's audio through the Deezer client (Deezer's own
  hosts only, size-capped, paced with its API calls); the preview analysis calls it.
- `async fetch(name) -> list[ChartEntry]`: read the source as configured (the scanner calls it).
  `fetchers[name]` (or `fetchers["feed"]` for every feed) replaces it: an
  `async (config: dict) -> list[ChartEntry]`, for tests and fakes.

Nothing is fetched from a platform before the user enables its source. Each source change is
published as `trend_sources_changed` ({"name"}).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import select

from studio.connectors.apple_music import AppleMusicClient
from studio.connectors.charts import ChartEntry, SourceError
from studio.connectors.deezer import DeezerClient
from studio.connectors.feeds import FeedClient
from studio.connectors.lastfm import LastfmClient
from studio.connectors.outbound import AddressPolicy
from studio.connectors.youtube import YouTubeClient, quota_day
from studio.db.models import TrendItem, TrendSnapshot, TrendSource
from studio.services.trends.common import (
    BUILTIN_SOURCES,
    DEEZER_DETAILS_PER_SCAN,
    ERROR_RATE_WINDOW,
    KEY_HINTS,
    QUOTA_BASIS,
    YOUTUBE_DAILY_UNITS,
    TrendsError,
    UnknownSource,
)
from studio.services.usage import add_usage
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context

log = logging.getLogger(__name__)

Fetcher = Callable[[dict[str, Any]], Awaitable[list["ChartEntry"]]]
URL_SETTINGS = {"deezer": "deezer_url", "apple_music": "apple_music_url", "lastfm": "lastfm_url",
                "youtube": "youtube_url"}


def feed_name(url: str) -> str:
    return "feed:" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]


def _check_config(name: str, config: dict[str, Any]) -> dict[str, Any]:
    """The config with its values checked; TrendsError naming the bad key."""
    kind = "feed" if name.startswith("feed:") else name
    allowed = {"deezer": {"genre_ids", "limit", "track_details", "analyse_previews"},
               "apple_music": {"storefront", "limit"},
               "lastfm": {"chart", "country", "tag", "limit"}, "youtube": {"region", "max_results"},
               "feed": {"url"}}[kind]
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise TrendsError(f"{name} has no setting {', '.join(unknown)} (settings: {', '.join(sorted(allowed))})")
    out = dict(config)

    def integer(key: str, low: int, high: int) -> None:
        if key in out:
            try:
                value = int(out[key])
            except (TypeError, ValueError):
                raise TrendsError(f"{name}: {key} must be a whole number") from None
            if not low <= value <= high:
                raise TrendsError(f"{name}: {key} must be between {low} and {high}")
            out[key] = value

    def code(key: str) -> None:
        if key in out:
            value = str(out[key] or "").strip()
            if len(value) != 2 or not value.isalpha():
                raise TrendsError(f"{name}: {key} must be a two-letter country code, e.g. us")
            out[key] = value.lower() if kind == "apple_music" else value.upper()

    if kind == "deezer":
        ids = out.get("genre_ids", [0])
        if not isinstance(ids, list) or not ids or len(ids) > 10:
            raise TrendsError(f"{name}: genre_ids must be a list of 1 to 10 Deezer genre ids (0 = all)")
        try:
            out["genre_ids"] = [int(g) for g in ids]
        except (TypeError, ValueError):
            raise TrendsError(f"{name}: genre_ids must be whole numbers") from None
        integer("limit", 1, 100)
        if "track_details" in out:
            out["track_details"] = bool(out["track_details"])
        if "analyse_previews" in out:
            # the user's explicit yes: a string such as "false" must not read as true
            if not isinstance(out["analyse_previews"], bool) and out["analyse_previews"] not in (0, 1):
                raise TrendsError(f"{name}: analyse_previews must be true or false")
            out["analyse_previews"] = bool(out["analyse_previews"])
    elif kind == "apple_music":
        code("storefront")
        if "limit" in out and int(out["limit"]) not in (10, 25, 50, 100):
            raise TrendsError(f"{name}: limit must be 10, 25, 50 or 100")
    elif kind == "lastfm":
        chart = out.get("chart", "top")
        if chart not in ("top", "geo", "tag"):
            raise TrendsError(f"{name}: chart must be top, geo or tag")
        integer("limit", 1, 200)
    elif kind == "youtube":
        code("region")
        integer("max_results", 1, 50)
    return out


class TrendSources:
    def __init__(self, ctx: "Context", *, secrets: Any = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = ctx.db
        self.settings = ctx.settings
        self.events = ctx.events
        self._secrets = secrets
        self.clock = clock
        self.fetchers: dict[str, Fetcher] = {}  # name (or "feed") -> replacement fetch coroutine
        self._clients: dict[str, tuple[tuple, Any]] = {}
        self._ensured = False

    # --- rows -------------------------------------------------------------------------------------
    @property
    def secrets(self):
        if self._secrets is None:
            from studio.services.system.secrets import Secrets

            self._secrets = Secrets(self.settings.home)
        return self._secrets

    @secrets.setter
    def secrets(self, value: Any) -> None:
        self._secrets = value

    def _ensure(self) -> None:
        """The built-in sources exist as rows (disabled) from the first look on."""
        if self._ensured:
            return
        now = self.clock()
        with self.db.session() as s:
            have = set(s.scalars(select(TrendSource.name)).all())
            for name, spec in BUILTIN_SOURCES.items():
                if name not in have:
                    s.add(TrendSource(name=name, kind=spec["kind"], label=spec["label"], enabled=0,
                                      config=dict(spec["config"]), status="disabled", recent=[],
                                      created_at=now, updated_at=now))
        self._ensured = True

    def names(self) -> list[str]:
        self._ensure()
        with self.db.session() as s:
            names = list(s.scalars(select(TrendSource.name).order_by(TrendSource.created_at, TrendSource.name)).all())
        order = list(BUILTIN_SOURCES)
        return sorted(names, key=lambda n: order.index(n) if n in order else len(order))

    def _row(self, s, name: str) -> TrendSource:
        self._ensure()
        row = s.get(TrendSource, name)
        if row is None:
            raise UnknownSource(name)
        return row

    def config_of(self, name: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = self._row(s, name)
            return {**BUILTIN_SOURCES.get(name, {}).get("config", {}), **(row.config or {})}

    def is_enabled(self, name: str) -> bool:
        with self.db.session() as s:
            return bool(self._row(s, name).enabled)

    def needs_key(self, name: str) -> bool:
        return bool(BUILTIN_SOURCES.get(name, {}).get("needs_key"))

    def _key_name(self, name: str) -> str:
        return f"trends:{name}"

    def _key_state(self, name: str) -> tuple[bool, str | None]:
        if not self.needs_key(name):
            return False, None
        try:
            return bool(self.secrets.has(self._key_name(name))), self.secrets.masked(self._key_name(name))
        except Exception as exc:  # a locked keyring must not break the list
            log.warning("cannot read whether %s has a key (%s)", name, type(exc).__name__)
            return False, None

    def _found_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self.db.session() as s:
            for sources in s.scalars(select(TrendItem.sources)).all():
                for name in sources or ():
                    counts[name] = counts.get(name, 0) + 1
        return counts

    def _dict(self, row: TrendSource, found: dict[str, int]) -> dict[str, Any]:
        name = row.name
        has_key, masked = self._key_state(name)
        recent = list(row.recent or [])[-ERROR_RATE_WINDOW:]
        kind = "feed" if name.startswith("feed:") else name
        quota_remaining = None
        quota_basis = QUOTA_BASIS.get(kind, "")
        if name == "youtube":
            used = row.quota_used if row.quota_day == quota_day(self.clock()) else 0
            quota_remaining = max(0, YOUTUBE_DAILY_UNITS - int(used or 0))
            quota_basis += f"; {int(used or 0)} used today"
        config = {**BUILTIN_SOURCES.get(name, {}).get("config", {}), **(row.config or {})}
        return {
            "name": name, "label": row.label, "kind": row.kind, "enabled": bool(row.enabled),
            "needs_key": self.needs_key(name), "has_key": has_key, "key_masked": masked,
            "key_hint": KEY_HINTS.get(name),
            "status": row.status if row.enabled else "disabled",
            "last_scan": iso(row.last_scan_at), "items_last_scan": int(row.items_last_scan or 0),
            "trends_found": found.get(name, 0),
            "api_quota_remaining": quota_remaining, "quota_basis": quota_basis,
            "error_rate": round(sum(recent) / len(recent), 4) if recent else None,
            "error_rate_basis": (f"{sum(recent)} errors in the last {len(recent)} scans" if recent
                                 else "no scans yet"),
            "error": row.last_error if row.status == "error" else None,
            "config": config, "url": config.get("url"),
            "scans_total": int(row.scans_total or 0), "errors_total": int(row.errors_total or 0),
        }

    # --- what callers use -------------------------------------------------------------------------
    def list_sources(self) -> list[dict[str, Any]]:
        self._ensure()
        found = self._found_counts()
        order = list(BUILTIN_SOURCES)
        with self.db.session() as s:
            rows = sorted(s.scalars(select(TrendSource)).all(),
                          key=lambda r: (order.index(r.name) if r.name in order else len(order), r.created_at, r.name))
            return [self._dict(row, found) for row in rows]

    def get(self, name: str) -> dict[str, Any]:
        found = self._found_counts()
        with self.db.session() as s:
            return self._dict(self._row(s, name), found)

    def _changed(self, name: str) -> dict[str, Any]:
        self.events.publish("trend_sources_changed", {"name": name})
        return self.get(name)

    def configure(self, name: str, *, enabled: bool | None = None, config: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
        with self.db.session() as s:
            row = self._row(s, name)
            if config is not None:
                if name.startswith("feed:") and config.get("url", row.config.get("url")) != row.config.get("url"):
                    raise TrendsError("a feed's URL cannot change: add the new URL as its own feed")
                merged = {**(row.config or {}), **config}
                row.config = _check_config(name, merged)
            if enabled is not None:
                row.enabled = 1 if enabled else 0
                if enabled and row.status == "disabled":
                    row.status = "idle"
                elif not enabled:
                    row.status = "disabled"
            row.updated_at = self.clock()
        return self._changed(name)

    def add_feed(self, url: str) -> dict[str, Any]:
        url = (url or "").strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise TrendsError("a feed URL starts with http:// or https:// and names a host")
        if len(url) > 2000:
            raise TrendsError("the feed URL is longer than 2000 characters")
        name = feed_name(url)
        self._ensure()
        now = self.clock()
        with self.db.session() as s:
            if s.get(TrendSource, name) is None:
                s.add(TrendSource(name=name, kind="feed", label=f"Feed {parts.netloc}{parts.path}"[:200], enabled=1,
                                  config={"url": url}, status="idle", recent=[], created_at=now, updated_at=now))
        return self._changed(name)

    def remove_feed(self, name: str) -> None:
        if not name.startswith("feed:"):
            raise TrendsError(f"{name} is a built-in source: disable it instead")
        with self.db.session() as s:
            s.delete(self._row(s, name))
        self.events.publish("trend_sources_changed", {"name": name, "removed": True})

    def set_key(self, name: str, key: str) -> dict[str, Any]:
        with self.db.session() as s:
            self._row(s, name)
        if not self.needs_key(name):
            raise TrendsError(f"{name} needs no key")
        if not key or not key.strip():
            raise TrendsError("the key is empty (clear_key removes a key)")
        self.secrets.set(self._key_name(name), key.strip())
        self._clients.pop(name, None)
        return self._changed(name)

    def clear_key(self, name: str) -> dict[str, Any]:
        with self.db.session() as s:
            self._row(s, name)
        if not self.needs_key(name):
            raise TrendsError(f"{name} needs no key")
        self.secrets.delete(self._key_name(name))
        self._clients.pop(name, None)
        return self._changed(name)

    # --- reading a source -------------------------------------------------------------------------
    def _base_url(self, name: str) -> str | None:
        field = URL_SETTINGS.get(name)
        return getattr(self.settings, field, None) if field else None

    def client_for(self, name: str):
        """The connector client of `name` (kept between scans so its pacer spans them). Raises
        UnknownSource, or SourceError (fatal) when a keyed source has no key."""
        self.config_of(name)  # UnknownSource
        key = None
        if self.needs_key(name):
            key = self.secrets.get(self._key_name(name))
            if not key:
                raise SourceError(name, f"no API key: add your {BUILTIN_SOURCES[name]['label']} key "
                                        f"({KEY_HINTS.get(name, 'the platform gives one')})", fatal=True)
        base_url = self._base_url(name)
        signature = (base_url, hashlib.sha256(key.encode()).hexdigest() if key else None,
                     self.settings.allow_private_feeds, tuple(self.settings.allowed_private_hosts))
        kept = self._clients.get(name)
        if kept is not None and kept[0] == signature:
            return kept[1]
        kwargs = {"base_url": base_url} if base_url else {}
        if name == "deezer":
            client = DeezerClient(**kwargs)
        elif name == "apple_music":
            client = AppleMusicClient(**kwargs)
        elif name == "lastfm":
            client = LastfmClient(key, **kwargs)
        elif name == "youtube":
            client = YouTubeClient(key, **kwargs)
        elif name.startswith("feed:"):
            client = FeedClient(allow_private_hosts=self.settings.allow_private_feeds,
                                policy=AddressPolicy(self.settings.allowed_private_hosts))
        else:  # pragma: no cover - every stored source is one of the above
            raise UnknownSource(name)
        self._clients[name] = (signature, client)
        return client

    async def fetch(self, name: str) -> list["ChartEntry"]:
        """Read `name` as configured. Raises SourceError (the platform's or the connector's)."""
        config = self.config_of(name)
        override = self.fetchers.get(name) or (self.fetchers.get("feed") if name.startswith("feed:") else None)
        if override is not None:
            return list(await override(config))
        client = self.client_for(name)
        if name == "deezer":
            entries = []
            for genre_id in config.get("genre_ids") or [0]:
                entries.extend(await client.chart(genre_id=genre_id, limit=int(config.get("limit") or 100)))
            if config.get("track_details", True):
                entries = await self._deezer_details(client, entries)
            return entries
        if name == "apple_music":
            return await client.most_played(storefront=config.get("storefront") or "us",
                                            limit=int(config.get("limit") or 100))
        if name == "lastfm":
            limit = int(config.get("limit") or 50)
            chart = config.get("chart") or "top"
            if chart == "geo":
                if not config.get("country"):
                    raise SourceError(name, "the geo chart needs a country (e.g. United States)", fatal=True)
                return await client.geo_top_tracks(config["country"], limit=limit)
            if chart == "tag":
                if not config.get("tag"):
                    raise SourceError(name, "the tag chart needs a tag (e.g. lofi)", fatal=True)
                return await client.tag_top_tracks(config["tag"], limit=limit)
            return await client.top_tracks(limit=limit)
        if name == "youtube":
            before = client.units_used
            try:
                return await client.most_popular_music(region=config.get("region") or "US",
                                                       max_results=int(config.get("max_results") or 50))
            finally:
                self.add_quota(name, client.units_used - before)
        return await client.read(config["url"], chart=name)

    async def preview(self, url: str) -> bytes:
        """A Deezer preview's bytes (DeezerClient.preview); SourceError when refused or failing."""
        return await self.client_for("deezer").preview(url)

    async def _deezer_details(self, client, entries: list["ChartEntry"]) -> list["ChartEntry"]:
        """Fill bpm/isrc from /track/{id} for entries not yet detailed, at most a few per scan."""
        ids = [e.item_id for e in entries]
        with self.db.session() as s:
            detailed = set(s.scalars(
                select(TrendSnapshot.source_item_id).join(TrendItem, TrendItem.id == TrendSnapshot.item_id)
                .where(TrendSnapshot.source == "deezer", TrendSnapshot.source_item_id.in_(ids),
                       (TrendItem.isrc.is_not(None)) | (TrendItem.bpm.is_not(None)))).all())
        out, asked = [], 0
        for entry in entries:
            if entry.item_id in detailed or asked >= DEEZER_DETAILS_PER_SCAN or (entry.isrc and entry.bpm):
                out.append(entry)
                continue
            asked += 1
            try:
                details = await client.track(entry.item_id)
            except SourceError as exc:
                log.info("deezer track %s details not read: %s", entry.item_id, exc.reason)
                asked = DEEZER_DETAILS_PER_SCAN  # the platform pushes back: no more this scan
                out.append(entry)
                continue
            released = details.get("release_date")
            published = (datetime(released.year, released.month, released.day, tzinfo=UTC)
                         if released is not None and entry.published_at is None else entry.published_at)
            out.append(dataclasses.replace(entry, isrc=entry.isrc or details.get("isrc"),
                                           bpm=entry.bpm or details.get("bpm"), published_at=published,
                                           duration_s=entry.duration_s or details.get("duration_s"),
                                           preview_url=entry.preview_url or details.get("preview_url")))
        return out

    # --- bookkeeping the scanner does ---------------------------------------------------------------
    def add_quota(self, name: str, units: int) -> None:
        if units <= 0:
            return
        day = quota_day(self.clock())
        with self.db.session() as s:
            row = self._row(s, name)
            if row.quota_day != day:
                row.quota_day, row.quota_used = day, 0
            row.quota_used = int(row.quota_used or 0) + int(units)
            add_usage(s, "youtube", day=day, units=units)

    def mark_scanning(self, name: str) -> None:
        with self.db.session() as s:
            self._row(s, name).status = "scanning"

    def record_scan(self, name: str, *, at: datetime, items: int = 0, error: str | None = None) -> None:
        """One scan's outcome: status ok/error, counters, the last 50 outcomes for the error rate."""
        with self.db.session() as s:
            row = self._row(s, name)
            row.scans_total = int(row.scans_total or 0) + 1
            row.recent = [*(row.recent or []), 1 if error else 0][-ERROR_RATE_WINDOW:]
            row.last_scan_at = at
            row.updated_at = at
            if error:
                row.status, row.last_error = "error", error[:1000]
                row.errors_total = int(row.errors_total or 0) + 1
            else:
                row.status, row.last_error, row.items_last_scan = "ok", None, int(items)
