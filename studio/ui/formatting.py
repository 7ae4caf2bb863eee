"""Text formats shared by panels."""

from __future__ import annotations

from typing import Any


def when(value: str | None, missing: str = "never") -> str:
    """An ISO timestamp from a service ('2026-01-02T03:04:05.678Z') as '2026-01-02 03:04:05 UTC'."""
    if not value:
        return missing
    text = value.replace("T", " ").split(".")[0].removesuffix("Z").split("+")[0]
    return f"{text} UTC"


# Below these analysis confidences a match is shown as "uncertain", not ✓: a tempo whose beat
# autocorrelation is under 0.3 (the 26 % of a sparse intro) or a key whose margin over the
# runner-up key is under 5 % of the way to a perfect fit is a guess, not a confirmation.
TEMPO_CONFIDENCE_MIN = 0.3
KEY_CONFIDENCE_MIN = 0.05
UNCERTAIN = " (uncertain)"


def confidence_text(confidence: float | None, minimum: float) -> str:
    """"confidence 0.62", or "confidence 0.26 · uncertain" below `minimum`; "" when unknown."""
    if confidence is None:
        return ""
    return f"confidence {confidence:.2f}" + (" · uncertain" if confidence < minimum else "")


def tempo_agreement(asked_bpm: float, measured_bpm: float, confidence: float | None = None) -> str:
    """How a measured tempo relates to the asked one: " ✓", " (double time: the analysis counted
    the half-beats)", " (half time: ...)" or "" when it is another tempo; " (uncertain)" when
    `confidence` is below TEMPO_CONFIDENCE_MIN. A beat tracker often locks onto twice or half
    the written tempo (hi-hats in eighths, a half-time groove)."""
    if asked_bpm <= 0 or measured_bpm <= 0:
        return ""
    if confidence is not None and confidence < TEMPO_CONFIDENCE_MIN:
        return UNCERTAIN
    for factor, text in ((1.0, " ✓"), (2.0, " (double time: the analysis counted the half-beats)"),
                         (0.5, " (half time: the analysis counted every other beat)")):
        if abs(measured_bpm - factor * asked_bpm) <= max(1.5, 0.015 * factor * asked_bpm):
            return text
    return ""


def key_agreement(asked: str, measured: str, relative_of_asked: str | None, confidence: float | None = None) -> str:
    """" ✓" for the same key, " (its relative major/minor: the same notes)" when `measured` is
    `relative_of_asked` (the engine's relative key of `asked`), else ""; " (uncertain)" when
    `confidence` is below KEY_CONFIDENCE_MIN."""
    if confidence is not None and confidence < KEY_CONFIDENCE_MIN:
        return UNCERTAIN
    if asked == measured:
        return " ✓"
    if relative_of_asked is not None and measured == relative_of_asked:
        return f" (its relative {measured.partition('_')[2]}: the same notes)"
    return ""


def number(value: Any, digits: int = 1) -> str:
    """A count or figure as a card shows it: 1.2 k, 3.4 M, "–" when unknown."""
    if value is None:
        return "–"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if abs(v) >= 1e6:
        return f"{v / 1e6:.{digits}f} M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.{digits}f} k"
    return f"{v:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{v:.0f}"
