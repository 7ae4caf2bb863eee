"""YouTube Data API v3 with the user's own API key: the most popular music videos of a region.

Wire format read: `GET {base_url}/videos?part=snippet,contentDetails,statistics&chart=mostPopular
&regionCode=US&videoCategoryId=10&maxResults=50[&pageToken=…]` ->
`{"kind": "youtube#videoListResponse", "nextPageToken", "pageInfo": {"totalResults", "resultsPerPage"},
"items": [{"id", "snippet": {"publishedAt", "channelId", "title", "description", "channelTitle", "tags",
"categoryId"}, "contentDetails": {"duration": "PT3M21S"}, "statistics": {"viewCount", "likeCount",
"commentCount"}}]}`. Statistics are strings; `likeCount` / `commentCount` are missing when the
owner hides them; `tags` may be missing; a live stream's duration is `P0D`.

Quota: 10 000 units a day per Google Cloud project, a list call costs 1 unit per page. The client
counts the units it spent in `units_used` (a failed call is charged too). Errors come as HTTP 4xx
`{"error": {"code", "message", "errors": [{"domain", "reason"}], "details": [...]}}`:
`quotaExceeded` waits until the quota resets (midnight Pacific time) and is not fatal;
`rateLimitExceeded` waits a minute; a bad key, a blocked key or the API not enabled is fatal.

The key goes in the `X-Goog-Api-Key` header, not the URL, so no request log line carries it; it is
also masked from every reason this module writes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from studio.connectors._http import TIMEOUT_S, number
from studio.connectors.charts import USER_AGENT, ChartEntry, Pacer, SourceError

SOURCE = "youtube"
DEFAULT_URL = "https://www.googleapis.com/youtube/v3"
MUSIC_CATEGORY = "10"
PAGE_MAX = 50  # maxResults allowed per page
LIST_COST_UNITS = 1
DAILY_QUOTA_UNITS = 10_000
RATE_LIMIT_RETRY_AFTER_S = 60.0
QUOTA_FALLBACK_RETRY_AFTER_S = 3600.0  # when the Pacific time zone is unknown on this machine

KEY_REASONS = {"keyInvalid", "keyExpired", "API_KEY_INVALID"}
FATAL_REASONS = {"forbidden", "accessNotConfigured", "ipRefererBlocked",
                 "API_KEY_SERVICE_BLOCKED", "API_KEY_HTTP_REFERRER_BLOCKED",
                 "API_KEY_IP_ADDRESS_BLOCKED", "SERVICE_DISABLED", "invalidRegionCode", "videoChartNotFound",
                 "invalidParameter", "badRequest"}
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"}

_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
# what a music video title adds to the song's name
_VIDEO_SUFFIX = re.compile(r"\s*[(\[][^()\[\]]*\b(official|video|audio|lyrics?|visuali[sz]er|mv|m/v)\b[^()\[\]]*[)\]]",
                           re.IGNORECASE)


def parse_duration_s(text: Any) -> float | None:
    """ISO 8601 duration (`PT3M21S`, `PT1H2M`, `P1DT5S`) in seconds; None when unknown (`P0D`, junk)."""
    match = _DURATION.match(str(text or "").strip())
    if not match or not any(match.groups()):
        return None
    weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds
    return total or None


def seconds_until_quota_reset(now: datetime) -> float:
    """Seconds from `now` (aware) to the next midnight in America/Los_Angeles, when YouTube's
    daily quota starts over; an hour when this machine has no time-zone data."""
    try:  # Windows without the tzdata package has no zone database
        pacific = ZoneInfo("America/Los_Angeles")
    except (ZoneInfoNotFoundError, ValueError):
        return QUOTA_FALLBACK_RETRY_AFTER_S
    local = now.astimezone(pacific)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=pacific)
    # in UTC: a same-zone subtraction would ignore a daylight-saving change in between
    return max(60.0, (midnight.astimezone(UTC) - now.astimezone(UTC)).total_seconds())


class YouTubeClient:
    def __init__(self, api_key: str, base_url: str = DEFAULT_URL, *, timeout_s: float = TIMEOUT_S,
                 pacer: Pacer | None = None, now=lambda: datetime.now(UTC)) -> None:
        if not api_key or not api_key.strip():
            raise SourceError(SOURCE, "no API key: add your YouTube Data API key first", fatal=True)
        self._api_key = api_key.strip()
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        # no per-second limit is published; the daily units are the real limit
        self.pacer = pacer or Pacer(10, 1.0)
        self._now = now
        self.units_used = 0  # quota units this client spent (1 per list page, failed calls included)

    def __repr__(self) -> str:  # never the key
        return f"YouTubeClient(base_url={self.base_url!r}, units_used={self.units_used})"

    async def most_popular_music(self, region: str = "US", max_results: int = 50) -> list[ChartEntry]:
        """The region's most popular music videos (category 10), rank = position on the chart,
        metrics views/likes/comments where YouTube shows them. Pages through `nextPageToken` when
        more than 50 are asked for (1 unit per page)."""
        region = region.strip().upper()
        chart = f"youtube:most_popular:{region.lower()}:music"
        wanted = max(1, int(max_results))
        entries: list[ChartEntry] = []
        page_token: str | None = None
        position = 0
        while len(entries) < wanted:
            params = {"part": "snippet,contentDetails,statistics", "chart": "mostPopular", "regionCode": region,
                      "videoCategoryId": MUSIC_CATEGORY, "maxResults": min(PAGE_MAX, wanted - len(entries))}
            if page_token:
                params["pageToken"] = page_token
            body = await self._get("/videos", params)
            items = body.get("items")
            if not isinstance(items, list):
                raise SourceError(SOURCE, "the videos.list answer has no item list")
            for item in items:
                position += 1
                entry = _entry(item, chart, position) if isinstance(item, dict) else None
                if entry is not None and len(entries) < wanted:
                    entries.append(entry)
            page_token = body.get("nextPageToken") or None
            if not page_token or not items:
                break
        return entries

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***")

    async def _get(self, path: str, params: dict) -> dict:
        host = urlsplit(self.base_url).netloc or self.base_url
        await self.pacer.wait()
        headers = {"User-Agent": USER_AGENT, "X-Goog-Api-Key": self._api_key, "Accept": "application/json"}
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s, headers=headers, follow_redirects=True) as client:
                resp = await client.get(self.base_url + path, params=params)
        except httpx.TimeoutException:
            raise SourceError(SOURCE, f"{host} did not answer within {self.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise SourceError(SOURCE, f"cannot reach {host} ({type(exc).__name__})") from None
        self.units_used += LIST_COST_UNITS  # Google charges invalid requests as well
        status = resp.status_code
        try:
            body: Any = resp.json()
        except ValueError:
            body = None
        if status >= 400:
            self._raise_error(body, status, host)
        if not isinstance(body, dict):
            raise SourceError(SOURCE, "the answer is not a JSON object", status=status)
        return body

    def _raise_error(self, body: Any, status: int, host: str) -> None:
        error = body.get("error") if isinstance(body, dict) else None
        reasons: list[str] = []
        message = ""
        if isinstance(error, dict):
            message = self._redact(str(error.get("message") or ""))[:200]
            for item in (error.get("errors") or []) + (error.get("details") or []):
                if isinstance(item, dict) and item.get("reason"):
                    reasons.append(str(item["reason"]))
        said = f": {message}" if message else ""
        if "quotaExceeded" in reasons or "dailyLimitExceeded" in reasons:
            wait_s = seconds_until_quota_reset(self._now())
            raise SourceError(SOURCE, f"the daily quota of the API key is spent (quotaExceeded); it resets at "
                                      f"midnight Pacific time, in {wait_s / 3600:.1f} h", retry_after_s=wait_s,
                              status=status)
        if RATE_REASONS.intersection(reasons) or status == 429:
            raise SourceError(SOURCE, f"too many requests ({', '.join(reasons) or 'HTTP 429'})",
                              retry_after_s=RATE_LIMIT_RETRY_AFTER_S, status=status)
        if status >= 500:
            raise SourceError(SOURCE, f"{host} had a server error (HTTP {status}){said}", status=status)
        bad_key = next((r for r in reasons if r in KEY_REASONS), None)
        if bad_key:
            raise SourceError(SOURCE, f"the API key is not valid ({bad_key}){said}", fatal=True, status=status)
        fatal_reason = next((r for r in reasons if r in FATAL_REASONS), None)
        if fatal_reason or status in (401, 403, 404):
            what = fatal_reason or f"HTTP {status}"
            raise SourceError(SOURCE, f"YouTube refused the request ({what}){said}", fatal=True, status=status)
        raise SourceError(SOURCE, f"YouTube refused the request (HTTP {status}){said}", fatal=status == 400,
                          status=status)


def _entry(item: dict, chart: str, rank: int) -> ChartEntry | None:
    video_id = _text(item.get("id"))
    snippet = item.get("snippet") if isinstance(item.get("snippet"), dict) else {}
    raw_title = _text(snippet.get("title"))
    if not video_id or not raw_title:
        return None
    title, artist = _split_title(raw_title, _text(snippet.get("channelTitle")))
    stats = item.get("statistics") if isinstance(item.get("statistics"), dict) else {}
    metrics = {}
    for wire, name in (("viewCount", "views"), ("likeCount", "likes"), ("commentCount", "comments")):
        value = number(stats.get(wire))
        if value is not None:  # hidden likes / disabled comments: absent, never 0
            metrics[name] = value
    details = item.get("contentDetails") if isinstance(item.get("contentDetails"), dict) else {}
    tags = snippet.get("tags") if isinstance(snippet.get("tags"), list) else []
    return ChartEntry(
        source=SOURCE,
        chart=chart,
        item_id=video_id,
        title=title,
        artist=artist,
        rank=rank,
        url=f"https://www.youtube.com/watch?v={video_id}",
        published_at=_datetime(snippet.get("publishedAt")),
        duration_s=parse_duration_s(details.get("duration")),
        tags=tuple(str(t) for t in tags if str(t).strip()),
        metrics=metrics,
    )


def _split_title(raw_title: str, channel: str | None) -> tuple[str, str | None]:
    """("Song", "Artist") from a video title such as "Artist - Song (Official Video)"; otherwise the
    title as it is and the channel (without YouTube's " - Topic" / "VEVO" decorations) as artist, so
    the trends service can match the song across sources."""
    title = _VIDEO_SUFFIX.sub("", raw_title).strip() or raw_title
    for dash in (" - ", " – ", " — "):
        if dash in title:
            artist, _, song = title.partition(dash)
            if artist.strip() and song.strip():
                return song.strip(), artist.strip()
    if channel:
        channel = re.sub(r"(\s+-\s+Topic|VEVO)$", "", channel).strip() or channel
    return title, channel


def _datetime(value: Any) -> datetime | None:
    text = _text(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)  # 3.11 reads the "Z"
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
