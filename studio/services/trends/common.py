"""What the trends parts share: the known sources, limits and windows, the errors callers catch,
and how titles and artists are normalised for matching across sources.

Errors (each has `http_status` for the API layer):
- `TrendsError(ValueError)` 422: input the user can fix (unknown sort, bad config, bad feed URL,
  unreadable import file; the message says what).
- `UnknownTrend(KeyError)` 404: no stored trend with this id.
- `UnknownSource(KeyError)` 404: no trend source with this name.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

# Source name -> (kind, label, needs an API key, the default config). Feeds are added per URL as
# "feed:<hash>" and imports are labelled source="import"; neither is listed here.
BUILTIN_SOURCES: dict[str, dict] = {
    "deezer": {"kind": "chart", "label": "Deezer charts", "needs_key": False,
               "config": {"genre_ids": [0], "limit": 100, "track_details": True, "analyse_previews": False}},
    "apple_music": {"kind": "chart", "label": "Apple Music most played", "needs_key": False,
                    "config": {"storefront": "us", "limit": 100}},
    "lastfm": {"kind": "chart", "label": "Last.fm charts", "needs_key": True,
               "config": {"chart": "top", "country": None, "tag": None, "limit": 50}},
    "youtube": {"kind": "video_chart", "label": "YouTube most popular music", "needs_key": True,
                "config": {"region": "US", "max_results": 50}},
}
KEY_HINTS = {
    "lastfm": "a free API key from https://www.last.fm/api/account/create",
    "youtube": "an API key of a Google Cloud project with the YouTube Data API v3 enabled",
}
# What each platform allows, shown beside the source (quota_basis) and used for YouTube's count.
QUOTA_BASIS = {
    "deezer": "Deezer publishes no quota; the client stays under 50 requests per 5 s",
    "apple_music": "Apple publishes no limit for the RSS feed; one request per scan",
    "lastfm": "Last.fm has no daily quota; the client stays under 5 requests per second",
    "youtube": "10,000 units a day (reset at midnight Pacific); counted here: 1 unit per list page",
    "feed": "a plain feed: one request per scan, no quota",
}
YOUTUBE_DAILY_UNITS = 10_000
YOUTUBE_RETENTION_DAYS = 30  # YouTube API data must be refreshed or deleted within 30 days
ERROR_RATE_WINDOW = 50  # scans the measured error rate looks back over
DEEZER_DETAILS_PER_SCAN = 25  # /track/{id} calls (bpm, isrc) for items not yet detailed, per scan
PREVIEWS_PER_SCAN = 10  # Deezer previews fetched and analysed per scan (items without a bpm), when allowed

DEFAULT_ALERT_THRESHOLD = 70.0  # viral_score at or above which a new item is announced (trend_detected)
CURRENT_WINDOW_H = 48.0  # "current" trends: seen within this many hours of the latest scan
SORTS = ("viral_score", "growth_rate", "rank", "first_seen", "last_seen")
IMPORT_SOURCE = "import"

NO_REVENUE = "no revenue data imported or connected yet"


class TrendsError(ValueError):
    """Input the user can fix; the message says what."""

    http_status = 422


class UnknownTrend(KeyError):
    """No stored trend with this id."""

    http_status = 404


class UnknownSource(KeyError):
    """No trend source with this name."""

    http_status = 404


# --- matching ------------------------------------------------------------------------------------
_BRACKETS = re.compile(r"[\(\[][^\)\]]*[\)\]]")  # (feat. X), [Official Video], (Remastered 2011)
_FEAT = re.compile(r"\s+(?:feat\.?|ft\.?|featuring|with)\s+.*$", re.IGNORECASE)
_ARTIST_NOISE = re.compile(r"(?:vevo|\s+-\s+topic|\s+official)$", re.IGNORECASE)
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower().replace("&", " and ")
    return _NON_WORD.sub(" ", text).strip()


def normalise_title(title: str) -> str:
    """Lower case, accents and punctuation dropped, bracketed extras and "feat. ..." removed."""
    base = _FEAT.sub("", _BRACKETS.sub(" ", title or ""))
    return _fold(base) or _fold(title or "")


def normalise_artist(artist: str | None) -> str:
    """The primary artist: the part before the first comma or "feat.", channel suffixes
    ("VEVO", " - Topic") dropped."""
    if not artist:
        return ""
    first = _FEAT.sub("", artist.split(",")[0]).strip()
    return _fold(_ARTIST_NOISE.sub("", first).strip())


def split_video_title(title: str, artist: str | None) -> tuple[str, str | None]:
    """A video title "Artist - Title (Official Video)" read as (title, artist); other titles as
    they are. Channels name themselves, not always the artist, so the title's own artist wins."""
    if " - " in (title or ""):
        left, right = title.split(" - ", 1)
        if left.strip() and right.strip():
            return right.strip(), left.strip()
    return title, artist


def match_key(title: str, artist: str | None) -> str:
    """The cross-source key: normalised "artist - title"."""
    return f"{normalise_artist(artist)} - {normalise_title(title)}"[:400]


def hours_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds() / 3600.0
