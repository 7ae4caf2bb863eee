"""Last.fm's web service (the user's own API key): global, per-country and per-tag top tracks.

Wire format read (`GET {base_url}?method=…&api_key=…&format=json`):
- `chart.getTopTracks` -> `{"tracks": {"track": [{"name", "playcount", "listeners", "duration", "mbid",
  "url", "artist": {"name", "mbid", "url"}, "image": [...]}], "@attr": {"page", "perPage", "totalPages",
  "total"}}}`; no per-track rank: the position in the page is the rank.
- `geo.getTopTracks(country=<ISO 3166 country name>)`: `listeners` but no `playcount`; per-track
  `"@attr": {"rank": "0"}` is **0-based**.
- `tag.getTopTracks(tag)`: no counts at all; per-track `"@attr": {"rank": "1"}` is **1-based**.
Every number arrives as a string ("0" duration = unknown); a one-track answer may hold a bare object
instead of a list. Errors come as `{"error": code, "message": ...}`, usually with HTTP 200 (sometimes
with a 4xx/5xx status): 29 rate limit (wait, retry), 11/16/8 transient (retry), 10 invalid key and
26 suspended key (fatal: asking again cannot help), 6 bad parameter (a wrong country or tag).

Last.fm suspends keys that make "several calls per second": the client paces itself at 5 requests
per second. The key travels in the query string, so it is redacted from every text this module
produces and from httpx's own request log line.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from studio.connectors._http import TIMEOUT_S, number
from studio.connectors.charts import USER_AGENT, ChartEntry, Pacer, SourceError

SOURCE = "lastfm"
DEFAULT_URL = "https://ws.audioscrobbler.com/2.0/"

RATE_LIMIT = 29
FATAL_CODES = {10: "the API key is not valid", 26: "the API key is suspended (too many requests?)",
               4: "authentication failed", 9: "the session is not valid", 13: "the signature is not valid"}
TRANSIENT_CODES = {8, 11, 16}  # operation failed, service offline, temporarily unavailable
RETRIES = 2  # extra attempts for a rate limit or a transient error inside one call
RATE_LIMIT_WAIT_S = 5.0
TRANSIENT_WAIT_S = 2.0
RATE_LIMIT_RETRY_AFTER_S = 60.0  # told to the caller once the retries are spent
TRANSIENT_RETRY_AFTER_S = 30.0

_KEY_PARAM = re.compile(r"(api_key=)[^&\s\"']+", re.IGNORECASE)


def redact(text: str, api_key: str | None = None) -> str:
    """`text` with any `api_key=…` query value (and the key itself, wherever it appears) masked."""
    text = _KEY_PARAM.sub(r"\1***", text)
    if api_key:
        text = text.replace(api_key, "***")
    return text


class _RedactKeyFilter(logging.Filter):
    """httpx logs each request's full URL at INFO: mask the key before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record is not ours to fix
            return True
        if "api_key=" in message.lower():
            record.msg, record.args = redact(message), ()
        return True


def _install_log_filter() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactKeyFilter) for f in logger.filters):
        logger.addFilter(_RedactKeyFilter())


_install_log_filter()


class LastfmClient:
    def __init__(self, api_key: str, base_url: str = DEFAULT_URL, *, timeout_s: float = TIMEOUT_S,
                 pacer: Pacer | None = None, sleep=asyncio.sleep) -> None:
        if not api_key or not api_key.strip():
            raise SourceError(SOURCE, "no API key: add your Last.fm API key first", fatal=True)
        self._api_key = api_key.strip()
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.pacer = pacer or Pacer(5, 1.0)
        self._sleep = sleep

    def __repr__(self) -> str:  # never the key
        return f"LastfmClient(base_url={self.base_url!r})"

    async def top_tracks(self, limit: int = 50) -> list[ChartEntry]:
        """The global chart with playcount and listeners; rank = position on the page."""
        tracks = await self._tracks("chart.getTopTracks", {"limit": int(limit)})
        return _entries(tracks[:limit], "lastfm:chart:top", rank_base=None)

    async def geo_top_tracks(self, country: str, limit: int = 50) -> list[ChartEntry]:
        """A country's chart (`country` as an ISO 3166 name, e.g. "United States"), with listeners."""
        tracks = await self._tracks("geo.getTopTracks", {"country": country, "limit": int(limit)})
        return _entries(tracks[:limit], f"lastfm:geo:{country.strip().lower()}", rank_base=0)

    async def tag_top_tracks(self, tag: str, limit: int = 50) -> list[ChartEntry]:
        """The top tracks of a tag (e.g. "lofi"); Last.fm gives no counts here, only the order."""
        tracks = await self._tracks("tag.getTopTracks", {"tag": tag, "limit": int(limit)})
        return _entries(tracks[:limit], f"lastfm:tag:{tag.strip().lower()}", rank_base=1, tag=tag.strip())

    async def _tracks(self, method: str, params: dict) -> list[dict]:
        body = await self._call(method, params)
        tracks = body.get("tracks")
        if not isinstance(tracks, dict):
            raise SourceError(SOURCE, f"the {method} answer has no track list")
        items = tracks.get("track") or []
        if isinstance(items, dict):  # a single track comes as a bare object
            items = [items]
        if not isinstance(items, list):
            raise SourceError(SOURCE, f"the {method} answer has no track list")
        return [item for item in items if isinstance(item, dict)]

    async def _call(self, method: str, params: dict) -> dict:
        attempt = 0
        while True:
            try:
                return await self._once(method, params)
            except _Retryable as retry:
                if attempt >= RETRIES:
                    raise SourceError(SOURCE, retry.reason, retry_after_s=retry.retry_after_s,
                                      status=retry.status) from None
                attempt += 1
                await self._sleep(retry.wait_s * attempt)

    async def _once(self, method: str, params: dict) -> dict:
        query = {"method": method, **params, "api_key": self._api_key, "format": "json"}
        host = urlsplit(self.base_url).netloc or self.base_url
        await self.pacer.wait()
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s, headers={"User-Agent": USER_AGENT},
                                         follow_redirects=True) as client:
                resp = await client.get(self.base_url, params=query)
        except httpx.TimeoutException:
            raise _Retryable(f"{host} did not answer within {self.timeout_s:g} s", TRANSIENT_WAIT_S,
                             TRANSIENT_RETRY_AFTER_S) from None
        except httpx.HTTPError as exc:
            # the class name only: an exception's text may carry the URL, and the URL the key
            raise SourceError(SOURCE, f"cannot reach {host} ({type(exc).__name__})") from None
        status = resp.status_code
        try:
            body: Any = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and "error" in body:
            self._raise_error(body, status)
        if status == 429:
            raise _Retryable("too many requests (HTTP 429)", RATE_LIMIT_WAIT_S,
                             number(resp.headers.get("Retry-After")) or RATE_LIMIT_RETRY_AFTER_S, status)
        if status >= 500:
            raise _Retryable(f"{host} had a server error (HTTP {status})", TRANSIENT_WAIT_S,
                             TRANSIENT_RETRY_AFTER_S, status)
        if status >= 400:
            raise SourceError(SOURCE, f"{host} refused the request (HTTP {status})", status=status,
                              fatal=status in (401, 403))
        if not isinstance(body, dict):
            raise SourceError(SOURCE, "the answer is not a JSON object", status=status)
        return body

    def _raise_error(self, body: dict, status: int) -> None:
        code_value = number(body.get("error"))
        code = int(code_value) if code_value is not None else -1
        message = redact(str(body.get("message") or "no message"), self._api_key)[:200]
        if code == RATE_LIMIT:
            raise _Retryable(f"rate limit exceeded (error 29: {message})", RATE_LIMIT_WAIT_S,
                             RATE_LIMIT_RETRY_AFTER_S, status)
        if code in TRANSIENT_CODES:
            raise _Retryable(f"Last.fm is temporarily unavailable (error {code}: {message})", TRANSIENT_WAIT_S,
                             TRANSIENT_RETRY_AFTER_S, status)
        if code in FATAL_CODES:
            raise SourceError(SOURCE, f"{FATAL_CODES[code]} (error {code}: {message})", fatal=True, status=status)
        if code == 6:
            raise SourceError(SOURCE, f"Last.fm rejected a parameter (error 6: {message}); check the country or tag",
                              status=status)
        raise SourceError(SOURCE, f"Last.fm error {code}: {message}", status=status)


class _Retryable(Exception):
    def __init__(self, reason: str, wait_s: float, retry_after_s: float, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait_s = wait_s
        self.retry_after_s = retry_after_s
        self.status = status


def _entries(tracks: list[dict], chart: str, *, rank_base: int | None, tag: str | None = None) -> list[ChartEntry]:
    entries = []
    for index, track in enumerate(tracks):
        title = _text(track.get("name"))
        if not title:
            continue
        artist_field = track.get("artist")
        artist = _text(artist_field.get("name") if isinstance(artist_field, dict) else artist_field)
        rank = index + 1
        if rank_base is not None:
            attr = track.get("@attr")
            stated = number(attr.get("rank")) if isinstance(attr, dict) else None
            if stated is not None:
                rank = int(stated) + (1 - rank_base)  # geo counts from 0, tag from 1
        metrics = {}
        for name in ("playcount", "listeners"):
            value = number(track.get(name))
            if value is not None:
                metrics[name] = value
        duration = number(track.get("duration"))
        url = _text(track.get("url"))
        entries.append(ChartEntry(
            source=SOURCE,
            chart=chart,
            # many tracks have an empty mbid; the track page URL is as stable
            item_id=_text(track.get("mbid")) or url or f"{artist or ''} - {title}",
            title=title,
            artist=artist,
            rank=rank,
            url=url,
            duration_s=duration if duration else None,  # "0" means unknown
            tags=(tag,) if tag else (),
            metrics=metrics,
        ))
    return entries


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
