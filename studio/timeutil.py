"""UTC time and the one ISO-8601 text form the studio writes (a leaf: imports nothing of the studio).

The documented API shapes (seeds 000-003) show whole seconds with a `Z`: `2024-01-12T17:55:00Z`.
The webhook delivery log keeps milliseconds, so attempts a fraction of a second apart stay ordered.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal, overload

Timespec = Literal["seconds", "milliseconds"]


def utcnow() -> datetime:
    """Now, timezone-aware in UTC (the database refuses naive datetimes)."""
    return datetime.now(timezone.utc)


@overload
def iso(value: datetime, timespec: Timespec = "seconds") -> str: ...
@overload
def iso(value: None, timespec: Timespec = "seconds") -> None: ...
def iso(value: datetime | None, timespec: Timespec = "seconds") -> str | None:
    """`value` in UTC as `2024-01-12T17:55:00Z` (None stays None, for optional fields)."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat(timespec=timespec).replace("+00:00", "Z")


def now_iso(timespec: Timespec = "seconds") -> str:
    return iso(utcnow(), timespec)
