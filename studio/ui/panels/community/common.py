"""Texts and colours the Community panel's parts share: platform names, sentiment colours, ages,
the person who approves replies from this window, and a short reason out of a service error."""

from __future__ import annotations

import getpass
from datetime import datetime, timezone
from typing import Any

from studio.ui.theme import COLORS

PLATFORM_NAMES = {"discord": "Discord", "telegram": "Telegram", "youtube": "YouTube"}
PLATFORM_ICONS = {"discord": "fa6b.discord", "telegram": "fa6b.telegram", "youtube": "fa6b.youtube"}
PLATFORM_COLORS = {"discord": "#8c9eff", "telegram": "#54a9eb", "youtube": "#ff4e45"}
SENTIMENT_COLORS = {"positive": COLORS["success"], "neutral": COLORS["muted"], "negative": COLORS["danger"]}
REPLY_STATUS_TEXT = {
    "draft": "draft", "approved": "approved, waiting to send", "sending": "sending",
    "sent": "sent", "failed": "failed", "discarded": "discarded",
    "unconfirmed": "unconfirmed: check on the platform",
}
REPLY_STATUS_COLORS = {"approved": COLORS["accent"], "sending": COLORS["accent"], "sent": COLORS["success"],
                       "failed": COLORS["danger"], "unconfirmed": COLORS["warning"], "discarded": COLORS["muted"],
                       "draft": COLORS["text"]}


def platform_label(name: str | None) -> str:
    return PLATFORM_NAMES.get(str(name or ""), str(name or "–"))


def parse_time(value: Any) -> float | None:
    """Seconds since the epoch of an ISO timestamp ('...Z' or with an offset), None when unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def ago(moment: str | None, now: datetime | None = None, suffix: str = " ago") -> str:
    """'just now', '5 min ago', '3 h ago', '2 d ago', or the date for older ones (the full time goes
    in a tooltip); `suffix=""` for a column headed When."""
    t = parse_time(moment)
    if t is None:
        return "–"
    seconds = max(0.0, (now or datetime.now(timezone.utc)).timestamp() - t)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min{suffix}"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h{suffix}"
    if seconds < 60 * 86400:
        return f"{seconds / 86400:.0f} d{suffix}"
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d")


def platform_icon(name: str | None):
    """The platform's logo in its colour (an empty icon for an unknown one)."""
    from studio.ui.theme import icon

    return icon(PLATFORM_ICONS.get(str(name or ""), "mdi6.circle-small"), PLATFORM_COLORS.get(str(name or "")))


def approver() -> str:
    """Who approves from this window (kept with each reply and in the training export): the
    computer's user name."""
    try:
        name = getpass.getuser()
    except Exception:  # no login name (some containers): still say where it came from
        name = "user"
    return f"{name} (desktop app)"


def reason(exc: BaseException) -> str:
    """What a service error says, without the KeyError quotes around a not-found message."""
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(getattr(exc, "message", "") or getattr(exc, "reason", "") or exc) or type(exc).__name__


def snippet(text: str | None, length: int = 140) -> str:
    """One line of a message for a table cell."""
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"
