"""Any RSS or Atom feed as a trend source (no key), e.g. a YouTube channel's uploads feed.

Wire format read: whatever feedparser understands (RSS 0.9x/1.0/2.0, Atom 0.3/1.0), fetched here
with httpx and handed to feedparser as bytes. Per item: `title`, `link`, `author` (or the feed's
title), `published`/`updated`, `category` terms as tags, and the id (`guid`/`id`). A YouTube uploads
feed (`https://www.youtube.com/feeds/videos.xml?channel_id=UC…`) adds `yt:videoId` (used as the item
id) and `media:group/media:community` with `media:statistics views="…"` and
`media:starRating count="…"` (likes), read as the metrics `views` / `likes` where present.
Feeds have no order that means popularity, so rank is None.
"""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser

from studio.connectors._http import TIMEOUT_S, get_bytes, number
from studio.connectors.charts import ChartEntry, Pacer, SourceError
from studio.connectors.outbound import AddressPolicy

SOURCE = "feed"


MAX_FEED_BYTES = 5_000_000


class FeedClient:
    """Reads a feed URL the user added. Feeds live on anyone's server, so by default only public
    addresses are read (never this machine, the local network or a cloud metadata address, also
    after a redirect); `allow_private_hosts` is the user's own setting for feeds they host."""

    def __init__(self, *, timeout_s: float = TIMEOUT_S, pacer: Pacer | None = None,
                 allow_private_hosts: bool = False, policy: AddressPolicy | None = None) -> None:
        self.timeout_s = timeout_s
        self.pacer = pacer or Pacer(1, 1.0)  # feeds live on anyone's server: one request a second
        self.allow_private_hosts = allow_private_hosts
        self.policy = policy or AddressPolicy()

    def _allowed(self, url: str) -> bool:
        return urlsplit(url).scheme in ("http", "https") and (self.allow_private_hosts or self.policy.allows(url))

    async def read(self, url: str, *, chart: str | None = None) -> list[ChartEntry]:
        """The feed's items; `chart` defaults to "feed:<url>"."""
        body = await get_bytes(SOURCE, url, pacer=self.pacer, max_bytes=MAX_FEED_BYTES, allowed=self._allowed,
                               refusal="is a local or private address (allow_private_feeds in the settings "
                                       "reads feeds you host yourself)", timeout_s=self.timeout_s)
        # a stream, so feedparser never mistakes the bytes for a URL or a path; off the loop for big feeds
        parsed = await asyncio.to_thread(feedparser.parse, io.BytesIO(body))
        if not parsed.get("version") and not parsed.entries:
            raise SourceError(SOURCE, "the answer is not an RSS or Atom feed", fatal=True)
        fallback_artist = parsed.feed.get("title") or None
        chart = chart or f"feed:{url}"
        entries = []
        for item in parsed.entries:
            entry = _entry(item, chart, fallback_artist)
            if entry is not None:
                entries.append(entry)
        return entries


def _entry(item: Any, chart: str, fallback_artist: str | None) -> ChartEntry | None:
    item_id = item.get("yt_videoid") or item.get("id") or item.get("link")
    title = (item.get("title") or "").strip()
    if not item_id or not title:
        return None
    metrics = {}
    views = _attribute(item, "media_statistics", "views")
    if views is not None:
        metrics["views"] = views
    likes = _attribute(item, "media_starrating", "count")
    if likes is not None:
        metrics["likes"] = likes
    parsed_time = item.get("published_parsed") or item.get("updated_parsed")
    tags = tuple(t["term"] for t in item.get("tags") or [] if t.get("term"))
    return ChartEntry(
        source=SOURCE,
        chart=chart,
        item_id=str(item_id),
        title=title,
        artist=item.get("author") or fallback_artist,
        url=item.get("link") or None,
        published_at=datetime(*parsed_time[:6], tzinfo=UTC) if parsed_time else None,  # feedparser gives UTC
        tags=tags,
        metrics=metrics,
    )


def _attribute(item: Any, element: str, name: str) -> float | None:
    attributes = item.get(element)
    return number(attributes.get(name)) if isinstance(attributes, dict) else None
