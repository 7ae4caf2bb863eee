"""Fixed-window rate limits per caller and endpoint group (seed 000 "Rate Limiting")."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from studio.config import RateLimit

_UNIT_NAMES = {3600: "hour", 86400: "day", 60: "minute", 1: "second"}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    group: str
    limit: int
    remaining: int
    reset_epoch: int
    window_s: int

    @property
    def retry_after_s(self) -> int:
        return max(1, math.ceil(self.reset_epoch - time.time()))

    @property
    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_epoch),
            "X-RateLimit-Window": str(self.window_s),
        }

    def describe(self) -> str:
        unit = _UNIT_NAMES.get(self.window_s)
        return f"{self.limit} requests per {unit}" if unit else f"{self.limit} requests per {self.window_s} s"


def _segments_match(pattern: str, path: str) -> bool:
    want, have = pattern.rstrip("/").split("/"), path.split("/")
    if len(have) < len(want) or (not pattern.endswith("/") and len(have) > len(want)):
        return False
    return all(w == "*" or w == h for w, h in zip(want, have))


class RateLimiter:
    def __init__(self, limits: dict[str, RateLimit], clock=time.time) -> None:
        self._clock = clock
        self._counts: dict[tuple[str, str, int], int] = {}
        self.configure(limits)

    def configure(self, limits: dict[str, RateLimit]) -> None:
        self.limits = dict(limits)
        # Longest prefix first, so /api/music/generate wins over a broader /api/music/.
        self._prefixes = sorted((g for g in self.limits if g != "default"), key=len, reverse=True)

    def group_for(self, path: str) -> str | None:
        """The group of `path`: a group ending in "/" covers everything under it, another covers
        that path and what is below it; `*` stands for one path segment (an id)."""
        for prefix in self._prefixes:
            if "*" in prefix:
                if _segments_match(prefix, path):
                    return prefix
            elif prefix.endswith("/") and path.startswith(prefix):
                return prefix
            elif not prefix.endswith("/") and (path == prefix or path.startswith(prefix + "/")):
                return prefix
        return "default" if "default" in self.limits else None

    def check(self, caller: str, path: str) -> Decision | None:
        """Count one request; None when the path belongs to no limited group."""
        group = self.group_for(path)
        if group is None:
            return None
        limit = self.limits[group]
        now = self._clock()
        window_start = int(now // limit.window_s) * limit.window_s
        key = (caller, group, window_start)
        used = self._counts.get(key, 0)
        allowed = used < limit.requests
        if allowed:
            used += 1
            self._counts[key] = used
        if len(self._counts) > 10000:  # drop finished windows now and then
            self._counts = {k: v for k, v in self._counts.items() if k[2] + self.limits.get(k[1], limit).window_s > now}
        return Decision(allowed, group, limit.requests, max(0, limit.requests - used),
                        window_start + limit.window_s, limit.window_s)
