"""Rename a track and edit its description, tags and visibility."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

MAX_TAGS = 20


def parse_tags(text: str) -> list[str]:
    """'chill, night ,, drive' -> ['chill', 'night', 'drive'] (duplicates dropped, order kept)."""
    return list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))


class EditTrackDialog(QDialog):
    def __init__(self, track: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.track = track
        self.setWindowTitle("Edit track")
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.title_edit = QLineEdit(track.get("title") or "")
        self.title_edit.setMaxLength(200)
        self.title_edit.setCursorPosition(0)
        self.description_edit = QPlainTextEdit(track.get("description") or "")
        self.description_edit.setPlaceholderText("Notes, credits, where it is used…")
        self.description_edit.setFixedHeight(80)
        self.tags_edit = QLineEdit(", ".join(track.get("tags") or []))
        self.tags_edit.setPlaceholderText("comma separated, e.g. chill, night, demo")
        self.public_check = QCheckBox("Public (may be shared by Community features)")
        self.public_check.setChecked(bool(track.get("is_public")))
        form.addRow("Title", self.title_edit)
        form.addRow("Description", self.description_edit)
        form.addRow("Tags", self.tags_edit)
        form.addRow("", self.public_check)
        layout.addLayout(form)
        self.problem = QLabel()
        self.problem.setObjectName("Warning")
        self.problem.setWordWrap(True)
        self.problem.hide()
        layout.addWidget(self.problem)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.title_edit.textChanged.connect(self._check)
        self.tags_edit.textChanged.connect(self._check)
        self._check()

    def _check(self, *_args) -> None:
        problem = ""
        if not self.title_edit.text().strip():
            problem = "A track needs a title."
        elif len(parse_tags(self.tags_edit.text())) > MAX_TAGS:
            problem = f"At most {MAX_TAGS} tags."
        self.problem.setText(problem)
        self.problem.setVisible(bool(problem))
        self.save_button.setEnabled(not problem)

    def changes(self) -> dict[str, Any]:
        """Only what differs from the track."""
        new = {
            "title": self.title_edit.text().strip(),
            "description": self.description_edit.toPlainText().strip() or None,
            "tags": parse_tags(self.tags_edit.text()),
            "is_public": self.public_check.isChecked(),
        }
        old = {"title": self.track.get("title"), "description": self.track.get("description") or None,
               "tags": list(self.track.get("tags") or []), "is_public": bool(self.track.get("is_public"))}
        return {k: v for k, v in new.items() if v != old[k]}
