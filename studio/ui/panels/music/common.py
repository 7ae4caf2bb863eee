"""Small pieces the music panels' parts share: captions, rich-text helpers, one-line spec summaries."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QLabel

from studio.ui.theme import COLORS


def key_label(key: str) -> str:
    return key.replace("_", " ")


def muted(text: str) -> str:
    return f"<span style='color:{COLORS['muted']}'>{text}</span>"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("Muted")
    return label


def shrinkable(combo: QComboBox, chars: int = 10) -> QComboBox:
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    return combo


def spec_summary(spec: dict[str, Any]) -> str:
    """One line of a resolved spec: 'Lo-fi Hip Hop · calm · F major · 76 BPM · 4 s · seed 123'."""
    singer = (spec.get("singer") or {}).get("name")
    vocals = "instrumental" if spec.get("instrumental") else f"vocals: {singer}" if singer else "vocals: lead instrument"
    return " · ".join([
        str(spec.get("style_name") or spec.get("style")), str(spec.get("mood")), key_label(str(spec.get("key"))),
        f"{float(spec.get('tempo_bpm', 0)):g} BPM", f"{float(spec.get('duration_s', 0)):g} s", vocals,
        f"seed {spec.get('seed')}",
    ])
