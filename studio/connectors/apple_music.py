"""Apple Music's most-played charts from Apple's public RSS generator (no key).

Wire format read: `GET /api/v2/{storefront}/music/most-played/{10|25|50|100}/{songs|albums}.json` ->
`{"feed": {"title", "country", "updated" (RFC 822), "results": [{"artistName", "id" (string), "name",
"releaseDate" ("YYYY-MM-DD"), "kind", "artworkUrl100", "genres": [{"genreId", "name", "url"}], "url",
"contentAdvisoryRating"}]}}`. The order is the rank (no play counts); every item carries the catch-all
genre "Music", which says nothing and is skipped. The live feed spells the advisory "Explict", and
`contentAdvisoryRating` is often absent: nothing here depends on it. Apple publishes no rate limit;
the client keeps to one request a second on average.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from studio.connectors._http import TIMEOUT_S, get, json_body
from studio.connectors.charts import ChartEntry, Pacer, SourceError

SOURCE = "apple_music"
SIZES = (10, 25, 50, 100)  # the only list lengths the generator serves
KINDS = ("songs", "albums")
CATCH_ALL_GENRE = "Music"


class AppleMusicClient:
    def __init__(self, base_url: str = "https://rss.applemarketingtools.com", *, timeout_s: float = TIMEOUT_S,
                 pacer: Pacer | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.pacer = pacer or Pacer(10, 10.0)

    async def most_played(self, storefront: str = "us", limit: int = 100, kind: str = "songs") -> list[ChartEntry]:
        """The storefront's most-played list, rank = position + 1, at most `limit` entries."""
        storefront = storefront.strip().lower()
        if not re.fullmatch(r"[a-z]{2}", storefront):
            raise ValueError(f"storefront must be a two-letter country code, not {storefront!r}")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        size = next((n for n in SIZES if n >= limit), SIZES[-1])
        url = f"{self.base_url}/api/v2/{storefront}/music/most-played/{size}/{kind}.json"
        resp = await get(SOURCE, url, pacer=self.pacer, timeout_s=self.timeout_s)
        body = json_body(SOURCE, resp)
        feed = body.get("feed") if isinstance(body, dict) else None
        results = feed.get("results") if isinstance(feed, dict) else None
        if not isinstance(results, list):
            raise SourceError(SOURCE, "the answer has no feed results", status=resp.status_code)
        chart = f"apple_music:{storefront}:most-played" + ("" if kind == "songs" else f":{kind}")
        entries = []
        for index, item in enumerate(results[:limit]):
            entry = _entry(item, chart, index)
            if entry is not None:
                entries.append(entry)
        return entries


def _entry(item: Any, chart: str, index: int) -> ChartEntry | None:
    if not isinstance(item, dict) or not item.get("id") or not item.get("name"):
        return None
    genres = item.get("genres") if isinstance(item.get("genres"), list) else []
    tags = tuple(str(g["name"]) for g in genres
                 if isinstance(g, dict) and g.get("name") and g["name"] != CATCH_ALL_GENRE)
    return ChartEntry(
        source=SOURCE,
        chart=chart,
        item_id=str(item["id"]),
        title=str(item["name"]),
        artist=str(item["artistName"]) if item.get("artistName") else None,
        rank=index + 1,  # position in the feed, kept even when a neighbour is unreadable
        url=str(item["url"]) if item.get("url") else None,
        published_at=_release(item.get("releaseDate")),
        tags=tags,
    )


def _release(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
