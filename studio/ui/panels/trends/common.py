"""Texts the Trends panel's parts share: platform names, ages, numbers and growth per hour."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from studio.ui.formatting import number


def parse_time(value: Any) -> float | None:
    """Seconds since the epoch of an ISO timestamp ('...Z' or with an offset), None when unreadable."""
    if not value:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def platform_label(name: str | None) -> str:
    text = str(name or "–")
    if text.startswith("feed:"):
        return "feed"
    if text.startswith("import"):
        return "imported"
    return {"apple_music": "Apple Music", "lastfm": "Last.fm", "youtube": "YouTube", "deezer": "Deezer"}.get(
        text, text.replace("_", " "))


def age_text(first_seen: str | None, now: datetime | None = None) -> tuple[str, float | None]:
    """'3 h', '2 d' since `first_seen`, and the age in hours (for sorting)."""
    t = parse_time(first_seen)
    if t is None:
        return "–", None
    hours = max(0.0, ((now or datetime.now(timezone.utc)).timestamp() - t) / 3600)
    if hours < 1:
        return f"{hours * 60:.0f} min", hours
    if hours < 48:
        return f"{hours:.0f} h", hours
    return f"{hours / 24:.0f} d", hours


def ago(moment: str | None, now: datetime | None = None) -> str:
    """'never', 'just now', '5 min ago', '3 h ago', '2 d ago' (the full time goes in a tooltip)."""
    t = parse_time(moment)
    if t is None:
        return "never"
    seconds = max(0.0, (now or datetime.now(timezone.utc)).timestamp() - t)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} d ago"


def growth_text(growth: float | None, unit: str | None) -> str:
    """Per hour (the column says so): '+3.5 places' (rank velocity) or '+1.2 k views' (the source's own count)."""
    if growth is None:
        return "–"
    if not unit or unit == "positions/h":
        return f"{float(growth):+.1f}" + (" places" if unit else "")
    sign = "+" if float(growth) >= 0 else "−"
    return f"{sign}{number(abs(float(growth)))} {unit.removesuffix('/h')}"
