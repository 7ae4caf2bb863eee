"""'Understood as': what the Create form resolves to before anything renders, each value with where
it came from (the prompt, the style, an explicit field), or the field that is wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from studio.ui.panels.music.common import caption, escape, key_label, muted
from studio.ui.theme import COLORS

ROWS = (("style", "Style"), ("mood", "Mood"), ("key", "Key"), ("tempo_bpm", "Tempo"), ("duration_s", "Duration"),
        ("instrumental", "Vocals"), ("singer", "Sung by"), ("instruments", "Instruments"), ("seed", "Seed"), ("title", "Title"))


class SpecPreview(QGroupBox):
    """One row per resolved value, the playlist's plan, and the error line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Understood as", parent)
        layout = QVBoxLayout(self)
        layout.setSpacing(6)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(12)
        self.grid.setVerticalSpacing(4)
        self.labels: dict[str, QLabel] = {}
        for row, (key, label) in enumerate(ROWS):
            value = QLabel("–")
            value.setWordWrap(True)
            value.setTextFormat(Qt.TextFormat.RichText)
            self.grid.addWidget(caption(label), row, 0, Qt.AlignmentFlag.AlignTop)
            self.grid.addWidget(value, row, 1)
            self.labels[key] = value
        self.grid.setColumnStretch(1, 1)
        layout.addLayout(self.grid)
        self.plan_label = QLabel()
        self.plan_label.setWordWrap(True)
        self.plan_label.setTextFormat(Qt.TextFormat.RichText)
        self.plan_label.setToolTip("The playlist's plan: each track's tempo, key and length (the same seed "
                                   "gives the same plan)")
        self.plan_label.hide()
        layout.addWidget(self.plan_label)
        layout.addStretch(1)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {COLORS['danger']};")
        self.error_label.hide()
        layout.insertWidget(1, self.error_label)

    def show_value(self, key: str, value: str, source: str = "") -> None:
        self.show_html(key, f"<b>{escape(value)}</b>" + (f" {muted('· ' + escape(source))}" if source else ""))

    def show_html(self, key: str, html: str) -> None:
        label = self.labels[key]
        label.setEnabled(True)
        label.setText(html)

    def show_spec(self, spec: dict[str, Any], vocals_verb: Callable[[str | None], str]) -> None:
        """The resolved spec's values with their sources (seed and title are the panel's to show)."""
        sources = spec["sources"]

        def show(key: str, value: str, source_key: str | None = None) -> None:
            self.show_value(key, value, sources.get(source_key or key, ""))

        self.error_label.hide()
        show("style", f"{spec['style_name']} ({spec['genre']})")
        show("mood", spec["mood"])
        show("key", key_label(spec["key"]))
        show("tempo_bpm", f"{spec['tempo_bpm']:g} BPM")
        show("duration_s", f"{spec['duration_s']:g} s")
        if spec["instrumental"]:
            vocals = "instrumental"
        elif spec.get("lyrics") and spec["lyrics"].get("text"):
            vocals = "with vocals, your lyrics"
        elif spec.get("lyrics") and spec["lyrics"].get("theme"):
            vocals = f"with vocals, lyrics about “{spec['lyrics']['theme']}”"
        else:
            vocals = "with vocals"
        if spec.get("singer"):
            vocals += f", {vocals_verb(spec.get('style'))} by {spec['singer']['name']}"
        show("instrumental", vocals)
        # who sings and why ("prompt word 'female' -> Nova (Synthwave) sings")
        who = ("nobody (instrumental)" if spec["instrumental"] else spec["singer"]["name"] if spec.get("singer")
               else "a lead instrument")
        show("singer", who)
        show("instruments", ", ".join(spec["instruments"]))

    def show_plan(self, plan: dict[str, Any] | None) -> None:
        """A playlist's plan, a row per track; hidden for None."""
        if plan is not None:
            rows = [f"{t['position']:02d} · {t['tempo']:g} BPM · {escape(key_label(t['key']))}"
                    + (f" · {escape(', '.join(t['primary_instruments']))}" if t["primary_instruments"] else "")
                    for t in plan["tracks"]]
            transition = plan["transition"]
            blend = "cut" if transition["style"] == "abrupt" else f"{transition['style']} {transition['seconds']:g} s"
            self.plan_label.setText(f"<b>Plan</b> {muted('· ' + escape(blend))}<br>" + "<br>".join(rows))
        self.plan_label.setVisible(plan is not None)

    def show_errors(self, errors: list[tuple[str, str]]) -> None:
        self.error_label.setText("<br>".join(f"<b>{escape(f)}</b>: {escape(m)}" for f, m in errors))
        self.error_label.show()
        self.plan_label.hide()
        for label in self.labels.values():
            label.setEnabled(False)
