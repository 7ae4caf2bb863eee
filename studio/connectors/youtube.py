"""YouTube Data API v3: the most popular music videos of a region (with the user's own API key), and
the comments on the user's videos with the replies the user approved (`YouTubeCommentsClient`).

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

`YouTubeCommentsClient` reads and answers the comments on the user's videos:
- `GET {base_url}/commentThreads?part=snippet,replies&videoId=…|allThreadsRelatedToChannelId=…
  &maxResults=100&order=time&textFormat=plainText[&pageToken=…]` (1 unit) ->
  `{"kind": "youtube#commentThreadListResponse", "nextPageToken", "items": [{"id", "snippet": {"channelId",
  "videoId", "topLevelComment": comment, "canReply", "totalReplyCount", "isPublic"}, "replies":
  {"comments": [comment]}}]}` where comment = `{"id", "snippet": {"channelId", "videoId", "textDisplay",
  "textOriginal", "authorDisplayName", "authorChannelUrl", "authorChannelId": {"value"}, "parentId",
  "likeCount", "publishedAt", "updatedAt"}}`; a thread carries at most 5 of its replies, `comments.list
  ?part=snippet&parentId=…` (1 unit) pages through all of them.
- `POST {base_url}/comments?part=snippet` `{"snippet": {"parentId", "textOriginal"}}` (50 units, an OAuth
  access token with the `youtube.force-ssl` scope, sent as `Authorization: Bearer`) -> the new comment.
  Replies are spaced (one every 10 s by default): YouTube locks accounts that post comments in bursts.
- comment errors: 403 `commentsDisabled`, 404 `videoNotFound` / `channelNotFound` /
  `parentCommentNotFound`, 400 `commentTextTooLong`, 403 `ineligibleAccount`, 401 `authError`
  (the access token expired or was revoked), 403 `insufficientPermissions` (the sign-in lacks the scope).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from studio.connectors._http import TIMEOUT_S, number
from studio.connectors.charts import USER_AGENT, ChartEntry, Pacer, SourceError
from studio.connectors.messages import InboundMessage

SOURCE = "youtube"
DEFAULT_URL = "https://www.googleapis.com/youtube/v3"
MUSIC_CATEGORY = "10"
PAGE_MAX = 50  # maxResults allowed per page
COMMENT_PAGE_MAX = 100  # maxResults allowed per commentThreads / comments page
LIST_COST_UNITS = 1
COMMENT_INSERT_UNITS = 50
COMMENT_MAX_CHARS = 10_000  # YouTube refuses longer comments (commentTextTooLong)
REPLY_INTERVAL_S = 10.0  # at most one reply this often: bursts of comments trip YouTube's anti-spam lockout
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


def quota_day(moment: datetime) -> str:
    """The date of YouTube's quota day at `moment` (it resets at midnight Pacific time); UTC days
    when this machine has no time-zone data."""
    try:
        return moment.astimezone(ZoneInfo("America/Los_Angeles")).date().isoformat()
    except (ZoneInfoNotFoundError, ValueError):
        return moment.astimezone(UTC).date().isoformat()


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


class _DataApi:
    """The paced, unit-counting call both YouTube clients make, and the one reading of Google's
    error answers (`quotaExceeded`, rate limits, bad keys) into SourceError."""

    quota_owner = "the API key"  # whose daily quota a quotaExceeded answer speaks of

    def __init__(self, base_url: str, *, timeout_s: float, pacer: Pacer | None, now) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        # no per-second limit is published; the daily units are the real limit
        self.pacer = pacer or Pacer(10, 1.0)
        self._now = now
        self.units_used = 0  # quota units this client spent (failed calls included)

    def _auth_headers(self, *, bearer_only: bool = False) -> dict[str, str]:
        raise NotImplementedError

    def _secrets(self) -> tuple[str | None, ...]:
        raise NotImplementedError

    def _redact(self, text: str) -> str:
        for secret in self._secrets():
            if secret:
                text = text.replace(secret, "***")
        return text

    async def _request(self, method: str, path: str, params: dict, *, json: dict | None = None,
                       cost_units: int = LIST_COST_UNITS, bearer_only: bool = False) -> dict:
        host = urlsplit(self.base_url).netloc or self.base_url
        await self.pacer.wait()
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json",
                   **self._auth_headers(bearer_only=bearer_only)}
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s, headers=headers, follow_redirects=True) as client:
                resp = await client.request(method, self.base_url + path, params=params, json=json)
        except httpx.TimeoutException:
            raise SourceError(SOURCE, f"{host} did not answer within {self.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise SourceError(SOURCE, f"cannot reach {host} ({type(exc).__name__})") from None
        self.units_used += cost_units  # Google charges invalid requests as well
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
            raise SourceError(SOURCE, f"the daily quota of {self.quota_owner} is spent (quotaExceeded); it resets "
                                      f"at midnight Pacific time, in {wait_s / 3600:.1f} h", retry_after_s=wait_s,
                              status=status)
        if RATE_REASONS.intersection(reasons) or status == 429:
            raise SourceError(SOURCE, f"too many requests ({', '.join(reasons) or 'HTTP 429'})",
                              retry_after_s=RATE_LIMIT_RETRY_AFTER_S, status=status)
        if status >= 500:
            raise SourceError(SOURCE, f"{host} had a server error (HTTP {status}){said}", status=status)
        self._raise_specific(reasons, status)
        bad_key = next((r for r in reasons if r in KEY_REASONS), None)
        if bad_key:
            raise SourceError(SOURCE, f"the API key is not valid ({bad_key}){said}", fatal=True, status=status)
        fatal_reason = next((r for r in reasons if r in FATAL_REASONS), None)
        if fatal_reason or status in (401, 403, 404):
            what = fatal_reason or f"HTTP {status}"
            raise SourceError(SOURCE, f"YouTube refused the request ({what}){said}", fatal=True, status=status)
        raise SourceError(SOURCE, f"YouTube refused the request (HTTP {status}){said}", fatal=status == 400,
                          status=status)

    def _raise_specific(self, reasons: list[str], status: int) -> None:
        """A client's own refusals (comments turned off, an expired sign-in), read before the generic ones."""


class YouTubeClient(_DataApi):
    def __init__(self, api_key: str, base_url: str = DEFAULT_URL, *, timeout_s: float = TIMEOUT_S,
                 pacer: Pacer | None = None, now=lambda: datetime.now(UTC)) -> None:
        if not api_key or not api_key.strip():
            raise SourceError(SOURCE, "no API key: add your YouTube Data API key first", fatal=True)
        self._api_key = api_key.strip()
        super().__init__(base_url, timeout_s=timeout_s, pacer=pacer, now=now)

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

    def _auth_headers(self, *, bearer_only: bool = False) -> dict[str, str]:
        return {"X-Goog-Api-Key": self._api_key}

    def _secrets(self) -> tuple[str | None, ...]:
        return (self._api_key,)

    async def _get(self, path: str, params: dict) -> dict:
        return await self._request("GET", path, params)


AUTH_REASONS = {"authError", "UNAUTHENTICATED", "ACCESS_TOKEN_EXPIRED", "CREDENTIALS_MISSING"}
SCOPE_REASONS = {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}
COMMENT_REASONS = {
    "commentsDisabled": "comments are turned off for this video",
    "videoNotFound": "YouTube has no such video (or it is private)",
    "channelNotFound": "YouTube has no such channel",
    "parentCommentNotFound": "the comment to answer no longer exists",
    "commentTextTooLong": f"the reply is longer than YouTube allows ({COMMENT_MAX_CHARS} characters)",
    "ineligibleAccount": "the signed-in Google account has no YouTube channel to comment with",
}


class YouTubeCommentsClient(_DataApi):
    """The comments on the user's videos (read with the API key or the sign-in) and the replies the
    user approved (the sign-in only: `comments.insert` needs an OAuth access token with the
    `youtube.force-ssl` scope). `access_token` may be replaced after a refresh; a 401 raises a
    fatal SourceError with status 401, the caller's cue to refresh the token or sign in again."""

    quota_owner = "the Google Cloud project"

    def __init__(self, *, api_key: str | None = None, access_token: str | None = None,
                 base_url: str = DEFAULT_URL, timeout_s: float = TIMEOUT_S, pacer: Pacer | None = None,
                 reply_interval_s: float = REPLY_INTERVAL_S, clock=time.monotonic, sleep=asyncio.sleep,
                 now=lambda: datetime.now(UTC)) -> None:
        self._api_key = (api_key or "").strip() or None
        self.access_token = (access_token or "").strip() or None
        if not self._api_key and not self.access_token:
            raise SourceError(SOURCE, "no API key and no Google sign-in: add a YouTube Data API key or sign in",
                              fatal=True)
        super().__init__(base_url, timeout_s=timeout_s, now=now,
                         pacer=pacer or Pacer(10, 1.0, clock=clock, sleep=sleep))
        self.reply_pacer = Pacer(1, reply_interval_s, clock=clock, sleep=sleep)

    def __repr__(self) -> str:  # never the key or the token
        return (f"YouTubeCommentsClient(base_url={self.base_url!r}, signed_in={self.access_token is not None}, "
                f"units_used={self.units_used})")

    async def threads(self, *, video_id: str | None = None, channel_id: str | None = None,
                      page_token: str | None = None, max_results: int = COMMENT_PAGE_MAX,
                      own_channel_id: str | None = None) -> tuple[list[InboundMessage], str | None]:
        """One page of comment threads, newest thread first on YouTube's side, of one video or of
        every video of a channel (1 unit): each top-level comment and the replies the thread
        carries (at most 5; `replies()` reads the rest), oldest first, and the next page's token.
        A comment whose author is `own_channel_id` is `from_self` (the user's own answers)."""
        if (video_id is None) == (channel_id is None):
            raise ValueError("give either video_id or channel_id")
        params: dict[str, Any] = {"part": "snippet,replies", "order": "time", "textFormat": "plainText",
                                  "maxResults": max(1, min(COMMENT_PAGE_MAX, int(max_results)))}
        if video_id is not None:
            params["videoId"] = video_id
        else:
            params["allThreadsRelatedToChannelId"] = channel_id
        if page_token:
            params["pageToken"] = page_token
        body = await self._request("GET", "/commentThreads", params)
        items = body.get("items")
        if not isinstance(items, list):
            raise SourceError(SOURCE, "the commentThreads.list answer has no item list")
        messages: list[InboundMessage] = []
        for thread in items:
            snippet = thread.get("snippet") if isinstance(thread, dict) else None
            if not isinstance(snippet, dict):
                continue
            video = _text(snippet.get("videoId"))
            top = _comment(snippet.get("topLevelComment"), video, own_channel_id, thread=snippet)
            if top is None:
                continue
            messages.append(top)
            replies = thread.get("replies") if isinstance(thread.get("replies"), dict) else {}
            for item in replies.get("comments") or []:
                reply = _comment(item, video, own_channel_id, parent_id=top.message_id)
                if reply is not None:
                    messages.append(reply)
        messages.sort(key=lambda m: m.sent_at)
        return messages, _text(body.get("nextPageToken"))

    async def replies(self, parent_id: str, *, video_id: str, page_token: str | None = None,
                      max_results: int = COMMENT_PAGE_MAX, own_channel_id: str | None = None,
                      ) -> tuple[list[InboundMessage], str | None]:
        """One page of the replies to a top-level comment (comments.list, 1 unit), oldest first,
        for threads with more replies than the thread listing carries."""
        params: dict[str, Any] = {"part": "snippet", "parentId": parent_id, "textFormat": "plainText",
                                  "maxResults": max(1, min(COMMENT_PAGE_MAX, int(max_results)))}
        if page_token:
            params["pageToken"] = page_token
        body = await self._request("GET", "/comments", params)
        items = body.get("items")
        if not isinstance(items, list):
            raise SourceError(SOURCE, "the comments.list answer has no item list")
        messages = [m for m in (_comment(item, video_id, own_channel_id, parent_id=parent_id) for item in items)
                    if m is not None]
        messages.sort(key=lambda m: m.sent_at)
        return messages, _text(body.get("nextPageToken"))

    async def reply(self, parent_id: str, text: str) -> str:
        """Post `text` as a reply to the top-level comment `parent_id` (50 units, the sign-in only),
        no sooner than `reply_interval_s` after the previous reply; the new comment's id."""
        if not self.access_token:
            raise SourceError(SOURCE, "replying needs the Google sign-in (permission to manage your YouTube "
                                      "comments); an API key can only read", fatal=True)
        text = text.strip()
        if not text:
            raise SourceError(SOURCE, "the reply is empty", fatal=True)
        if len(text) > COMMENT_MAX_CHARS:
            raise SourceError(SOURCE, f"the reply has {len(text)} characters; YouTube allows {COMMENT_MAX_CHARS}",
                              fatal=True)
        await self.reply_pacer.wait()
        body = await self._request("POST", "/comments", {"part": "snippet"},
                                   json={"snippet": {"parentId": parent_id, "textOriginal": text}},
                                   cost_units=COMMENT_INSERT_UNITS, bearer_only=True)
        comment_id = _text(body.get("id"))
        if not comment_id:
            raise SourceError(SOURCE, "the comments.insert answer has no comment id")
        return comment_id

    def _auth_headers(self, *, bearer_only: bool = False) -> dict[str, str]:
        if self.access_token:  # reads as the signed-in user, charged to the OAuth client's project
            return {"Authorization": f"Bearer {self.access_token}"}
        return {} if bearer_only else {"X-Goog-Api-Key": self._api_key or ""}

    def _secrets(self) -> tuple[str | None, ...]:
        return (self._api_key, self.access_token)

    def _raise_specific(self, reasons: list[str], status: int) -> None:
        if status == 401 or AUTH_REASONS.intersection(reasons):
            raise SourceError(SOURCE, "Google did not accept the sign-in (the access token expired or was "
                                      "revoked): refresh it or sign in again", fatal=True, status=status)
        if SCOPE_REASONS.intersection(reasons):
            raise SourceError(SOURCE, "the Google sign-in lacks the permission to manage YouTube comments "
                                      "(youtube.force-ssl): sign in again and allow it", fatal=True, status=status)
        known = next((r for r in reasons if r in COMMENT_REASONS), None)
        if known:
            raise SourceError(SOURCE, f"{COMMENT_REASONS[known]} ({known})", fatal=True, status=status)


def _comment(item: Any, video_id: str | None, own_channel_id: str | None, *, thread: dict | None = None,
             parent_id: str | None = None) -> InboundMessage | None:
    """A comment resource as a message: the video is the channel, likes are the reactions, and a
    comment on the user's own videos is addressed to them unless they wrote it."""
    if not isinstance(item, dict) or not isinstance(item.get("snippet"), dict):
        return None
    snippet = item["snippet"]
    comment_id = _text(item.get("id"))
    video_id = video_id or _text(snippet.get("videoId"))
    sent_at = _datetime(snippet.get("publishedAt"))
    if not comment_id or not video_id or sent_at is None:
        return None
    author = snippet.get("authorChannelId") if isinstance(snippet.get("authorChannelId"), dict) else {}
    author_channel = _text(author.get("value"))
    author_name = _text(snippet.get("authorDisplayName")) or author_channel or "unknown"
    from_self = own_channel_id is not None and author_channel == own_channel_id
    likes = number(snippet.get("likeCount"))
    extra: dict[str, Any] = {"video_id": video_id}
    if author_channel:
        extra["author_channel_id"] = author_channel
    updated = _datetime(snippet.get("updatedAt"))
    if updated is not None and updated != sent_at:
        extra["edited_at"] = updated.isoformat()
    reply_count = None
    if thread is not None:
        total = number(thread.get("totalReplyCount"))
        reply_count = int(total) if total is not None else None
        extra["can_reply"] = bool(thread.get("canReply", True))
    return InboundMessage(
        platform=SOURCE,
        channel_id=video_id,
        message_id=comment_id,
        author_id=author_channel or author_name,
        author_name=author_name,
        text=_text(snippet.get("textOriginal")) or _text(snippet.get("textDisplay")) or "",
        sent_at=sent_at,
        reply_to_id=(_text(snippet.get("parentId")) or parent_id) if thread is None else None,
        mentions_bot=not from_self,
        from_self=from_self,
        reactions=int(likes) if likes is not None else 0,
        reply_count=reply_count,
        url=f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}",
        extra=extra,
    )


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


@dataclass(frozen=True)
class VideoStats:
    """One of the user's own videos with its lifetime public counts (None where the owner hides them)."""
    video_id: str
    title: str
    published_at: str | None  # ISO 8601, UTC
    duration_s: float | None
    views: float | None
    likes: float | None
    comments: float | None


class YouTubeChannelClient(_DataApi):
    """The user's own channel, read with their API key (public figures) or their Google sign-in:
    - `GET {base_url}/channels?part=snippet,contentDetails&id=UC…|mine=true` (1 unit) -> `{"items": [{"id",
      "snippet": {"title"}, "contentDetails": {"relatedPlaylists": {"uploads": "UU…"}}}]}`
    - `GET {base_url}/playlistItems?part=contentDetails&playlistId=UU…&maxResults=50[&pageToken]` (1 unit a page)
      -> `{"items": [{"contentDetails": {"videoId", "videoPublishedAt"}}], "nextPageToken"}`
    - `GET {base_url}/videos?part=snippet,contentDetails,statistics&id=a,b,…` (≤ 50 ids, 1 unit)."""

    quota_owner = "the Google Cloud project"

    def __init__(self, *, api_key: str | None = None, access_token: str | None = None,
                 base_url: str = DEFAULT_URL, timeout_s: float = TIMEOUT_S, pacer: Pacer | None = None,
                 now=lambda: datetime.now(UTC), max_videos: int = 500) -> None:
        self._api_key = (api_key or "").strip() or None
        self.access_token = (access_token or "").strip() or None
        if not self._api_key and not self.access_token:
            raise SourceError(SOURCE, "no API key and no Google sign-in: add a YouTube Data API key or sign in",
                              fatal=True)
        self.max_videos = max_videos  # bounds the units one refresh spends (500 videos = 11 pages + 10 lists)
        super().__init__(base_url, timeout_s=timeout_s, pacer=pacer, now=now)

    def __repr__(self) -> str:  # never the key or the token
        return f"YouTubeChannelClient(base_url={self.base_url!r}, units_used={self.units_used})"

    def _auth_headers(self, *, bearer_only: bool = False) -> dict[str, str]:
        if self.access_token:
            return {"Authorization": f"Bearer {self.access_token}"}
        return {"X-Goog-Api-Key": self._api_key or ""}

    def _secrets(self) -> tuple[str | None, ...]:
        return (self._api_key, self.access_token)

    def _raise_specific(self, reasons: list[str], status: int) -> None:
        if status == 401 or AUTH_REASONS.intersection(reasons):
            raise SourceError(SOURCE, "Google did not accept the sign-in (the access token expired or was "
                                      "revoked): sign in again", fatal=True, status=status)
        if SCOPE_REASONS.intersection(reasons):
            raise SourceError(SOURCE, "the Google sign-in lacks read access to YouTube (youtube.readonly): sign "
                                      "in again and allow it", fatal=True, status=status)

    async def channel(self, channel_id: str | None) -> dict[str, Any]:
        """{"id", "title", "uploads_playlist_id"} of `channel_id`, or of the signed-in user's channel when None."""
        params: dict[str, Any] = {"part": "snippet,contentDetails"}
        if channel_id:
            params["id"] = channel_id
        elif self.access_token:
            params["mine"] = "true"
        else:
            raise SourceError(SOURCE, "with an API key only, the channel id is needed", fatal=True)
        body = await self._request("GET", "/channels", params)
        items = body.get("items") if isinstance(body.get("items"), list) else []
        item = next((i for i in items if isinstance(i, dict) and _text(i.get("id"))), None)
        if item is None:
            raise SourceError(SOURCE, "YouTube has no such channel (channelNotFound)" if channel_id else
                              "the signed-in Google account has no YouTube channel", fatal=True)
        snippet = item.get("snippet") if isinstance(item.get("snippet"), dict) else {}
        details = item.get("contentDetails") if isinstance(item.get("contentDetails"), dict) else {}
        related = details.get("relatedPlaylists") if isinstance(details.get("relatedPlaylists"), dict) else {}
        return {"id": _text(item["id"]), "title": _text(snippet.get("title")),
                "uploads_playlist_id": _text(related.get("uploads"))}

    async def channel_stats(self, channel_ids: list[str]) -> list[dict[str, Any]]:
        """Public figures of channels (1 unit per 50): `{"id", "title", "subscribers", "views", "videos"}`;
        subscribers None where the owner hides the count."""
        out: list[dict[str, Any]] = []
        for start in range(0, len(channel_ids), PAGE_MAX):
            body = await self._request("GET", "/channels", {"part": "snippet,statistics",
                                                            "id": ",".join(channel_ids[start:start + PAGE_MAX])})
            for item in body.get("items") if isinstance(body.get("items"), list) else []:
                if not isinstance(item, dict) or not _text(item.get("id")):
                    continue
                snippet = item.get("snippet") if isinstance(item.get("snippet"), dict) else {}
                stats = item.get("statistics") if isinstance(item.get("statistics"), dict) else {}
                hidden = bool(stats.get("hiddenSubscriberCount"))
                out.append({"id": _text(item["id"]), "title": _text(snippet.get("title")),
                            "subscribers": None if hidden else number(stats.get("subscriberCount")),
                            "views": number(stats.get("viewCount")), "videos": number(stats.get("videoCount"))})
        return out

    async def uploads(self, playlist_id: str) -> list[str]:
        """The video ids of the uploads playlist, newest first, at most `max_videos`."""
        ids: list[str] = []
        page_token: str | None = None
        while len(ids) < self.max_videos:
            params: dict[str, Any] = {"part": "contentDetails", "playlistId": playlist_id, "maxResults": PAGE_MAX}
            if page_token:
                params["pageToken"] = page_token
            body = await self._request("GET", "/playlistItems", params)
            items = body.get("items") if isinstance(body.get("items"), list) else []
            for item in items:
                details = item.get("contentDetails") if isinstance(item, dict) else None
                video_id = _text(details.get("videoId")) if isinstance(details, dict) else None
                if video_id and video_id not in ids:
                    ids.append(video_id)
            page_token = _text(body.get("nextPageToken"))
            if not page_token or not items:
                break
        return ids[: self.max_videos]

    async def video_stats(self, video_ids: list[str]) -> list[VideoStats]:
        out: list[VideoStats] = []
        for start in range(0, len(video_ids), PAGE_MAX):
            chunk = video_ids[start:start + PAGE_MAX]
            body = await self._request("GET", "/videos", {"part": "snippet,contentDetails,statistics",
                                                          "id": ",".join(chunk), "maxResults": PAGE_MAX})
            for item in body.get("items") if isinstance(body.get("items"), list) else []:
                if not isinstance(item, dict) or not _text(item.get("id")):
                    continue
                snippet = item.get("snippet") if isinstance(item.get("snippet"), dict) else {}
                stats = item.get("statistics") if isinstance(item.get("statistics"), dict) else {}
                details = item.get("contentDetails") if isinstance(item.get("contentDetails"), dict) else {}
                published = _datetime(snippet.get("publishedAt"))
                out.append(VideoStats(video_id=_text(item["id"]) or "", title=_text(snippet.get("title")) or "",
                                      published_at=published.isoformat() if published else None,
                                      duration_s=parse_duration_s(details.get("duration")),
                                      views=number(stats.get("viewCount")), likes=number(stats.get("likeCount")),
                                      comments=number(stats.get("commentCount"))))
        return out
