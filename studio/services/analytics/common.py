"""What the analytics parts share: periods, origins, errors and ids.

Periods: `parse_period("30d", end_day=None)` -> `Period(start_day, end_day, days)`, the `days` days
that end on `end_day` (today in UTC by default), both ends included. Accepted: `Nd`, `Nw`, `Nm`
(30 days), `Ny` (365 days), `Nh` (rounded up to a day), and `all` (from the first day the studio has
any figure for, see `Ledger.data_range`).

Origins (seed 000's revenue `breakdown` keys) say what made a piece of content; `unattributed`
is money or views that are not linked (or whose link is not confirmed) to anything the studio made.

Errors (each has `http_status` for the API layer):
- `AnalyticsError(ValueError)` 422: input the user can fix (bad period, unreadable file, bad limit);
  the message says what.
- `UnknownItem`, `UnknownReport`, `UnknownImport` (KeyError) 404.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from studio.timeutil import utcnow

ORIGINS = ("music_generation", "voice_empire", "trending_hijacker", "community_empire")
UNATTRIBUTED = "unattributed"
LINK_STATUSES = ("none", "suggested", "confirmed", "rejected")
# The platform sources an import can come from (files and connected accounts).
FILE_SOURCES = ("youtube_studio", "spotify_artists", "distrokid", "tunecore")
CONNECTED_SOURCES = ("youtube_data", "youtube_analytics")
EARLIEST_DAY = date(1990, 1, 1)  # before any streaming statement
MAX_PERIOD_DAYS = 3660  # ten years: the longest window a query or report covers


class AnalyticsError(ValueError):
    """Input the user can fix; the message says what."""

    http_status = 422


class UnknownItem(KeyError):
    http_status = 404


class UnknownReport(KeyError):
    http_status = 404


class UnknownImport(KeyError):
    http_status = 404


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def today() -> date:
    return utcnow().date()


@dataclass(frozen=True)
class Period:
    """The days `start_day`..`end_day` (both included); `label` is what was asked ("30d", "all")."""

    start_day: date
    end_day: date
    label: str

    @property
    def days(self) -> int:
        return (self.end_day - self.start_day).days + 1

    def day_list(self) -> list[str]:
        return [(self.start_day + timedelta(days=i)).isoformat() for i in range(self.days)]

    def previous(self) -> "Period":
        """The period of the same length just before this one (for growth rates)."""
        end = self.start_day - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end, f"previous {self.label}")


def parse_day(text: str, *, field: str = "date") -> date:
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise AnalyticsError(f"{field} {text!r} is not a date like 2026-03-31") from None


def parse_period(period: str | None, *, end_day: str | date | None = None,
                 first_day: date | None = None) -> Period:
    """`period` ending on `end_day` (default today); `all` starts at `first_day` (default: the end day)."""
    end = end_day if isinstance(end_day, date) else (parse_day(end_day, field="end") if end_day else today())
    if not EARLIEST_DAY <= end <= today() + timedelta(days=366):
        raise AnalyticsError(f"end {end.isoformat()} is out of range: a day from {EARLIEST_DAY.isoformat()} to a year "
                             "from now")
    text = (period or "30d").strip().lower()
    if text == "all":
        start = min(first_day or end, end)
        return Period(start, end, "all")
    units = {"d": 1, "w": 7, "m": 30, "y": 365}
    days = None
    if len(text) >= 2 and text[:-1].isascii() and text[:-1].isdigit():  # not '³d': int() refuses it
        n, unit = int(text[:-1]), text[-1]
        if unit == "h" and n > 0:
            days = max(1, math.ceil(n / 24))
        elif unit in units and n > 0:
            days = n * units[unit]
    if days is None:
        raise AnalyticsError(f"period {period!r} is not like '7d', '30d', '12w', '1y' or 'all'")
    if days > MAX_PERIOD_DAYS:
        raise AnalyticsError(f"period {period!r} is longer than {MAX_PERIOD_DAYS} days")
    return Period(end - timedelta(days=days - 1), end, text)
