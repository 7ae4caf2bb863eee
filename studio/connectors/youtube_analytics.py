"""YouTube Analytics API v2 (`reports.query`) for the signed-in user's own channel.

Wire format: `GET {base_url}/reports?ids=channel==MINE&startDate=YYYY-MM-DD&endDate=YYYY-MM-DD
&metrics=views,estimatedMinutesWatched,…&dimensions=day&sort=day` with `Authorization: Bearer <token>`
(scopes yt-analytics.readonly, and yt-analytics-monetary.readonly for `estimatedRevenue`) ->
`{"kind": "youtubeAnalytics#resultTable", "columnHeaders": [{"name", "columnType": "DIMENSION"|"METRIC",
"dataType": "STRING"|"INTEGER"|"FLOAT"}], "rows": [[value, …]]}`; `rows` is absent when there is no data.
Per video: `dimensions=video&sort=-views&maxResults=200` (the API requires a sort and at most 200 rows).

Revenue needs a channel in the YouTube Partner Program and the monetary scope: otherwise Google answers
403 (`forbidden` / `insufficientPermissions`). The client then asks again without the revenue metrics
and says so in `note` (`revenue_available` False) instead of failing the whole refresh.
Errors as the Data API: `{"error": {"code", "message", "errors": [{"reason"}]}}`; 401 is an expired
or revoked sign-in, `quotaExceeded` / `rateLimitExceeded` wait.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from studio.connectors._http import TIMEOUT_S, number
from studio.connectors.charts import USER_AGENT, SourceError

SOURCE = "youtube_analytics"
DEFAULT_URL = "https://youtubeanalytics.googleapis.com/v2"
BASE_METRICS = ("views", "estimatedMinutesWatched", "averageViewDuration", "likes", "comments", "shares",
                "subscribersGained")
REVENUE_METRICS = ("estimatedRevenue",)
VIDEO_ROWS_MAX = 200  # the API's limit for dimensions=video
NO_REVENUE_NOTE = ("revenue is not available for this channel (it needs the YouTube Partner Program and the "
                   "'yt-analytics-monetary' permission): views and watch time are kept")


@dataclass
class AnalyticsTable:
    rows: list[dict[str, Any]] = field(default_factory=list)  # column name -> value (numbers as float)
    revenue_available: bool = True
    note: str | None = None


class YouTubeAnalyticsClient:
    def __init__(self, token_provider: Callable[[], Awaitable[str]], base_url: str = DEFAULT_URL, *,
                 timeout_s: float = TIMEOUT_S) -> None:
        self.token_provider = token_provider
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.requests = 0  # calls made (the API has its own quota, counted in requests)
        self._token: str | None = None

    def __repr__(self) -> str:  # never the token
        return f"YouTubeAnalyticsClient(base_url={self.base_url!r}, requests={self.requests})"

    async def daily(self, start_day: str, end_day: str) -> AnalyticsTable:
        return await self._query(start_day, end_day, {"dimensions": "day", "sort": "day"})

    async def per_video(self, start_day: str, end_day: str) -> AnalyticsTable:
        return await self._query(start_day, end_day, {"dimensions": "video", "sort": "-views",
                                                      "maxResults": VIDEO_ROWS_MAX})

    async def _query(self, start_day: str, end_day: str, extra: dict[str, Any]) -> AnalyticsTable:
        params = {"ids": "channel==MINE", "startDate": start_day, "endDate": end_day, **extra}
        try:
            body = await self._get({**params, "metrics": ",".join(BASE_METRICS + REVENUE_METRICS)})
            return AnalyticsTable(rows=_rows(body))
        except SourceError as exc:
            if exc.status != 403 or "revenue" not in exc.reason:
                raise
        body = await self._get({**params, "metrics": ",".join(BASE_METRICS)})
        return AnalyticsTable(rows=_rows(body), revenue_available=False, note=NO_REVENUE_NOTE)

    async def _get(self, params: dict[str, Any]) -> dict:
        host = urlsplit(self.base_url).netloc or self.base_url
        if self._token is None:
            self._token = await self.token_provider()
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", "Authorization": f"Bearer {self._token}"}
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s, headers=headers) as client:
                self.requests += 1
                resp = await client.get(self.base_url + "/reports", params=params)
        except httpx.TimeoutException:
            raise SourceError(SOURCE, f"{host} did not answer within {self.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise SourceError(SOURCE, f"cannot reach {host} ({type(exc).__name__})") from None
        try:
            body: Any = resp.json()
        except ValueError:
            body = None
        if resp.status_code >= 400:
            self._raise(body, resp.status_code, host, params)
        if not isinstance(body, dict):
            raise SourceError(SOURCE, "the answer is not a JSON object", status=resp.status_code)
        return body

    def _raise(self, body: Any, status: int, host: str, params: dict[str, Any]) -> None:
        error = body.get("error") if isinstance(body, dict) else None
        reasons: list[str] = []
        message = ""
        if isinstance(error, dict):
            message = str(error.get("message") or "").replace(self._token or "\0", "***")[:200]
            reasons = [str(i["reason"]) for i in error.get("errors") or [] if isinstance(i, dict) and i.get("reason")]
        said = f": {message}" if message else ""
        if status == 401:
            raise SourceError(SOURCE, "Google did not accept the sign-in (expired or revoked): sign in again",
                              fatal=True, status=status)
        if "quotaExceeded" in reasons or "rateLimitExceeded" in reasons or status == 429:
            raise SourceError(SOURCE, f"the YouTube Analytics quota is spent for now ({', '.join(reasons) or 429})",
                              retry_after_s=3600.0, status=status)
        if status == 403 and "estimatedRevenue" in str(params.get("metrics")):
            raise SourceError(SOURCE, f"revenue refused ({', '.join(reasons) or 'forbidden'}){said}", fatal=True,
                              status=status)
        if status >= 500:
            raise SourceError(SOURCE, f"{host} had a server error (HTTP {status}){said}", status=status)
        raise SourceError(SOURCE, f"YouTube Analytics refused the request ({', '.join(reasons) or status}){said}",
                          fatal=True, status=status)


def _rows(body: dict) -> list[dict[str, Any]]:
    headers = body.get("columnHeaders") if isinstance(body.get("columnHeaders"), list) else []
    names = [str(h.get("name")) for h in headers if isinstance(h, dict)]
    types = [str(h.get("columnType")) for h in headers if isinstance(h, dict)]
    out: list[dict[str, Any]] = []
    for raw in body.get("rows") if isinstance(body.get("rows"), list) else []:
        if not isinstance(raw, list) or len(raw) != len(names):
            continue
        out.append({name: (value if kind == "DIMENSION" else number(value))
                    for name, kind, value in zip(names, types, raw, strict=True)})
    # the connected refresh reads the day under "day" and the video under "video"
    return out
