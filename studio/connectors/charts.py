"""What every trend source hands the trends service: chart entries, source errors, and a pacer
that keeps a client under its platform's request rate.

A connector (deezer.py, apple_music.py, lastfm.py, youtube.py, feeds.py, chart_files.py) turns its
platform's wire format into `ChartEntry` values and its error quirks (errors sent with HTTP 200,
`quotaExceeded`, `retry_after`) into `SourceError`. It decides nothing else: storing, matching and
scoring are the trends service's work.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

USER_AGENT = "Studio/0.1 (desktop music studio; +https://github.com/studio)"


@dataclass(frozen=True)
class ChartEntry:
    """One item on one chart at the moment it was read.

    `rank` is 1-based (None for feeds without an order); `metrics` holds the source's own counts,
    as numbers, under fixed names: views, likes, comments (YouTube), playcount, listeners
    (Last.fm), streams (Spotify Charts CSV), deezer_rank (Deezer's popularity figure)."""

    source: str  # deezer, apple_music, lastfm, youtube, feed, import
    chart: str  # which list, e.g. "deezer:chart:0", "apple_music:us:most-played", "lastfm:tag:lofi"
    item_id: str  # the platform's id of the track or video (stable across scans)
    title: str
    artist: str | None = None
    rank: int | None = None
    url: str | None = None
    published_at: datetime | None = None  # aware UTC
    duration_s: float | None = None
    isrc: str | None = None
    bpm: float | None = None  # None when the source does not know (Deezer sends 0 for unknown)
    tags: tuple[str, ...] = ()  # genres and tags as the source names them
    preview_url: str | None = None  # a short audio preview (Deezer: 30 s MP3)
    metrics: dict[str, float] = field(default_factory=dict)


class SourceError(Exception):
    """A source could not be read. `reason` is what the user sees next to the source; `retry_after_s`
    is set when the platform said when to come back; `fatal` when retrying cannot help (bad key)."""

    def __init__(self, source: str, reason: str, *, retry_after_s: float | None = None, fatal: bool = False,
                 status: int | None = None) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
        self.retry_after_s = retry_after_s
        self.fatal = fatal
        self.status = status


class Pacer:
    """At most `requests` calls per `per_s` seconds (a sliding window), awaited before each call."""

    def __init__(self, requests: int, per_s: float, *, clock=time.monotonic, sleep=asyncio.sleep) -> None:
        self.requests = requests
        self.per_s = per_s
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self.per_s:
                    self._sent.popleft()
                if len(self._sent) < self.requests:
                    self._sent.append(now)
                    return
                await self._sleep(self.per_s - (now - self._sent[0]))
