"""Text formats shared by panels."""

from __future__ import annotations


def when(value: str | None, missing: str = "never") -> str:
    """An ISO timestamp from a service ('2026-01-02T03:04:05.678Z') as '2026-01-02 03:04:05 UTC'."""
    if not value:
        return missing
    text = value.replace("T", " ").split(".")[0].removesuffix("Z").split("+")[0]
    return f"{text} UTC"


def tempo_agreement(asked_bpm: float, measured_bpm: float) -> str:
    """How a measured tempo relates to the asked one: " ✓", " (double time: the analysis counted
    the half-beats)", " (half time: ...)" or "" when it is another tempo. A beat tracker often
    locks onto twice or half the written tempo (hi-hats in eighths, a half-time groove)."""
    if asked_bpm <= 0 or measured_bpm <= 0:
        return ""
    for factor, text in ((1.0, " ✓"), (2.0, " (double time: the analysis counted the half-beats)"),
                         (0.5, " (half time: the analysis counted every other beat)")):
        if abs(measured_bpm - factor * asked_bpm) <= max(1.5, 0.015 * factor * asked_bpm):
            return text
    return ""


def key_agreement(asked: str, measured: str, note_names: tuple[str, ...]) -> str:
    """" ✓" for the same key, " (its relative major/minor: the same notes)" for the relative key,
    else "". Keys are the engine's names, e.g. "D_minor", "F_major"; `note_names` its 12 names."""
    def parse(key: str) -> tuple[int, str] | None:
        name, _, mode = key.partition("_")
        return (note_names.index(name), mode) if name in note_names and mode in ("major", "minor") else None

    a, m = parse(asked), parse(measured)
    if a is None or m is None:
        return ""
    if a == m:
        return " ✓"
    relative = (a[0] + 3) % 12 if a[1] == "minor" else (a[0] + 9) % 12
    if m[1] != a[1] and m[0] == relative:
        return f" (its relative {m[1]}: the same notes)"
    return ""
