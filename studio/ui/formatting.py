"""Text formats shared by panels."""

from __future__ import annotations


def when(value: str | None, missing: str = "never") -> str:
    """An ISO timestamp from a service ('2026-01-02T03:04:05.678Z') as '2026-01-02 03:04:05 UTC'."""
    if not value:
        return missing
    text = value.replace("T", " ").split(".")[0].removesuffix("Z").split("+")[0]
    return f"{text} UTC"
