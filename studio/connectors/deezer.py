"""Deezer's public API (no key): charts, genres and per-track details.

Wire format read:
- `GET /chart/{genre_id}/tracks?limit=N` -> `{"data": [track], "total": n}` where a chart track is
  `{"id", "title", "title_short", "link", "duration" (s), "rank" (popularity figure), "position",
  "explicit_lyrics", "preview" (30 s MP3 URL), "artist": {"id", "name", ...}, "album": {...}}`.
- `GET /track/{id}` adds `"isrc", "bpm" (0 = unknown), "gain" (dB), "release_date" ("YYYY-MM-DD",
  "0000-00-00" when unknown)`.
- `GET /genre` -> `{"data": [{"id", "name", "picture", "type": "genre"}]}`.
- a track's `preview`: a 30 s MP3 on Deezer's CDN (`https://cdnt-preview.dzcdn.net/...`, signed
  for a short while), read by `preview(url)` only from Deezer's own hosts and at most 2 MB.
Errors come with HTTP 200 as `{"error": {"type", "message", "code"}}`; code 4 is the quota
(~50 requests per 5 s), so the client paces itself at that rate. Figures may arrive as strings.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlsplit

from studio.connectors._http import TIMEOUT_S, get, get_bytes, json_body, number
from studio.connectors.charts import ChartEntry, Pacer, SourceError

SOURCE = "deezer"
QUOTA_CODE = 4
QUOTA_RETRY_S = 5.0  # the quota window
# parameter / missing-data errors: the same request will fail again
FATAL_CODES = {500, 501, 600, 800}
PREVIEW_HOST_SUFFIX = ".dzcdn.net"  # the CDN chart and track answers name their previews on
PREVIEW_MAX_BYTES = 2 * 1024 * 1024  # a 30 s preview at 128 kb/s is about 0.5 MB


class DeezerClient:
    def __init__(self, base_url: str = "https://api.deezer.com", *, timeout_s: float = TIMEOUT_S,
                 pacer: Pacer | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.pacer = pacer or Pacer(50, 5.0)

    async def chart(self, genre_id: int = 0, limit: int = 100) -> list[ChartEntry]:
        """The top tracks of a genre's chart (0 = all genres), rank = Deezer's position."""
        body = await self._get(f"/chart/{int(genre_id)}/tracks", {"limit": int(limit)})
        tracks = body.get("data")
        if not isinstance(tracks, list):
            raise SourceError(SOURCE, "the chart answer has no track list")
        chart = f"deezer:chart:{int(genre_id)}"
        entries = []
        for index, track in enumerate(tracks[:limit]):
            entry = _entry(track, chart, index)
            if entry is not None:
                entries.append(entry)
        return entries

    async def track(self, track_id: int | str) -> dict:
        """Details the chart lacks: `{"id", "title", "artist", "isrc", "bpm" (None when unknown),
        "gain_db", "release_date" (date | None), "duration_s", "preview_url"}`."""
        body = await self._get(f"/track/{track_id}")
        if body.get("id") is None:
            raise SourceError(SOURCE, f"track {track_id} answer has no id")
        bpm = number(body.get("bpm"))
        return {
            "id": str(body["id"]),
            "title": _text(body.get("title")),
            "artist": _name(body.get("artist")),
            "isrc": _text(body.get("isrc")),
            "bpm": bpm if bpm else None,  # Deezer says 0 when it does not know
            "gain_db": number(body.get("gain")),
            "release_date": _date(body.get("release_date")),
            "duration_s": number(body.get("duration")),
            "preview_url": _text(body.get("preview")),
        }

    def is_preview_url(self, url: str) -> bool:
        """Whether `url` is on Deezer's own hosts: https on *.dzcdn.net, or the host of this
        client's base URL (a local fake Deezer in tests). Nothing else a response names is read."""
        parts = urlsplit(url or "")
        host = (parts.hostname or "").lower()
        if parts.scheme == "https" and host.endswith(PREVIEW_HOST_SUFFIX):
            return True
        base = urlsplit(self.base_url)
        return bool(host) and (parts.scheme, parts.netloc.lower()) == (base.scheme, base.netloc.lower())

    async def preview(self, url: str, *, max_bytes: int = PREVIEW_MAX_BYTES) -> bytes:
        """The preview audio (MP3 bytes) at `url`, paced with the API calls. SourceError (fatal)
        for a URL off Deezer's hosts or a body over `max_bytes`; the transport errors of `get`."""
        return await get_bytes(SOURCE, url, pacer=self.pacer, max_bytes=max_bytes, allowed=self.is_preview_url,
                               timeout_s=self.timeout_s)

    async def genres(self) -> list[dict]:
        """`[{"id": int, "name": str}]`, 0 = "All"."""
        body = await self._get("/genre")
        genres = []
        for item in body.get("data") or []:
            genre_id = number(item.get("id")) if isinstance(item, dict) else None
            if genre_id is not None and item.get("name"):
                genres.append({"id": int(genre_id), "name": str(item["name"])})
        return genres

    async def _get(self, path: str, params: dict | None = None) -> dict:
        resp = await get(SOURCE, self.base_url + path, pacer=self.pacer, timeout_s=self.timeout_s, params=params)
        body = json_body(SOURCE, resp)
        if not isinstance(body, dict):
            raise SourceError(SOURCE, "the answer is not a JSON object", status=resp.status_code)
        error = body.get("error")
        if error:
            raise _error(error, resp.status_code)
        return body


def _error(error: Any, status: int) -> SourceError:
    if not isinstance(error, dict):
        return SourceError(SOURCE, f"Deezer reported an error: {error}", status=status)
    code = number(error.get("code"))
    message = str(error.get("message") or error.get("type") or "unknown error")
    if code == QUOTA_CODE:
        return SourceError(SOURCE, f"quota exceeded ({message})", retry_after_s=QUOTA_RETRY_S, status=status)
    reason = f"Deezer error {int(code)}: {message}" if code is not None else f"Deezer error: {message}"
    return SourceError(SOURCE, reason, fatal=code in FATAL_CODES, status=status)


def _entry(track: Any, chart: str, index: int) -> ChartEntry | None:
    if not isinstance(track, dict) or track.get("id") is None or not track.get("title"):
        return None  # nothing to match or show
    position = number(track.get("position"))
    popularity = number(track.get("rank"))
    return ChartEntry(
        source=SOURCE,
        chart=chart,
        item_id=str(track["id"]),
        title=str(track["title"]),
        artist=_name(track.get("artist")),
        rank=int(position) if position and position > 0 else index + 1,
        url=_text(track.get("link")),
        duration_s=number(track.get("duration")),
        preview_url=_text(track.get("preview")),
        metrics={"deezer_rank": popularity} if popularity is not None else {},
    )


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _name(artist: Any) -> str | None:
    return _text(artist.get("name")) if isinstance(artist, dict) else None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None  # "0000-00-00" or missing
