"""How replies are written and sent: the replying character, the automation level (the share of
incoming Discord/Telegram messages the bots may answer without a person's approval; 0 by default),
the response delay and personalisation. Display and signals only; the panel saves through
`services.community.settings.update_config` and hands back its answer (`show_saved`) or its error
(`show_error`), both shown beside the Save button.

Emits `save_requested(changes)` with the body `update_config` takes: {"character_id",
"automation_level", "response_delay": {"min_seconds", "max_seconds"}, "personalization": {...}}.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from studio.ui.theme import icon

MAX_DELAY_S = 86_400  # the service's bound (community settings)
AUTOMATION_WARNING = ("Above 0 %, that share of messages addressed to your Discord and Telegram bots is answered "
                      "without your approval, after the delay below. YouTube replies always wait for you.")


class ReplySettings(QGroupBox):
    save_requested = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Replies", parent)
        self.dirty = False  # edited since shown: a refresh (a poll's event) must not undo the edits
        form = QFormLayout(self)
        self.character_combo = QComboBox()
        self.character_combo.setToolTip("The voice the drafted replies are written in (Voices > Characters)")
        self.character_combo.setMinimumWidth(220)
        self.character_combo.setMaximumWidth(360)
        form.addRow("Written as", self.character_combo)
        self.automation_spin = QSpinBox()
        self.automation_spin.setRange(0, 100)
        self.automation_spin.setSuffix(" %")
        self.automation_spin.setToolTip(AUTOMATION_WARNING)
        self.automation_spin.setMaximumWidth(120)
        form.addRow("Answered by the bots alone", self.automation_spin)
        warning = QLabel(AUTOMATION_WARNING)
        warning.setObjectName("Muted")
        warning.setWordWrap(True)
        form.addRow(warning)
        delay = QHBoxLayout()
        self.delay_min_spin = QSpinBox()
        self.delay_max_spin = QSpinBox()
        for spin in (self.delay_min_spin, self.delay_max_spin):
            spin.setRange(0, MAX_DELAY_S)
            spin.setSuffix(" s")
        delay.addWidget(self.delay_min_spin)
        delay.addWidget(QLabel("to"))
        delay.addWidget(self.delay_max_spin)
        delay.addStretch(1)
        form.addRow("Automatic replies wait", delay)
        self.personal_check = QCheckBox("Personalise drafts (otherwise only the person's name is used)")
        self.history_check = QCheckBox("Mention how long they have been a member")
        self.preferences_check = QCheckBox("Use the preferences they mentioned to recommend tracks")
        self.personal_check.toggled.connect(self._personal_toggled)
        for check in (self.personal_check, self.history_check, self.preferences_check):
            form.addRow(check)
        buttons = QHBoxLayout()
        self.save_button = QPushButton(icon("mdi6.content-save-outline"), "Save")
        self.save_button.clicked.connect(lambda: self.save_requested.emit(self.changes()))
        buttons.addWidget(self.save_button)
        self.result_label = QLabel("")
        self.result_label.setObjectName("Muted")
        self.result_label.setWordWrap(True)
        buttons.addWidget(self.result_label, 1)
        self.error_label = QLabel("")  # beside Save, in place of the result: the page does not grow
        self.error_label.setObjectName("Warning")
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        buttons.addWidget(self.error_label, 1)
        form.addRow(buttons)

        self.character_combo.currentIndexChanged.connect(self._edited)
        for spin in (self.automation_spin, self.delay_min_spin, self.delay_max_spin):
            spin.valueChanged.connect(self._edited)
        for check in (self.personal_check, self.history_check, self.preferences_check):
            check.toggled.connect(self._edited)

    def _edited(self, *_args: Any) -> None:
        self.dirty = True

    def _personal_toggled(self, on: bool) -> None:
        self.history_check.setEnabled(on)
        self.preferences_check.setEnabled(on)

    def show_config(self, config: dict[str, Any], characters: list[dict[str, Any]]) -> None:
        """The stored settings, unless the user is editing them (then only the character list follows)."""
        keep = self.dirty
        chosen = self.character_combo.currentData() if keep else config.get("character_id")
        widgets = (self.character_combo, self.automation_spin, self.delay_min_spin, self.delay_max_spin,
                   self.personal_check, self.history_check, self.preferences_check)
        for widget in widgets:
            widget.blockSignals(True)
        try:
            self.character_combo.clear()
            self.character_combo.addItem("No character (plain)", None)
            for character in characters:
                self.character_combo.addItem(str(character.get("name") or character.get("id")), character.get("id"))
            if chosen is not None and self.character_combo.findData(chosen) < 0:
                self.character_combo.addItem(f"{chosen} (not found)", chosen)  # stored, since deleted: say so
            self.character_combo.setCurrentIndex(max(0, self.character_combo.findData(chosen)))
            if not keep:
                self.automation_spin.setValue(int(round(float(config.get("automation_level") or 0))))
                delay = config.get("response_delay") or {}
                self.delay_min_spin.setValue(int(delay.get("min_seconds") or 0))
                self.delay_max_spin.setValue(int(delay.get("max_seconds") or 0))
                personal = config.get("personalization") or {}
                self.personal_check.setChecked(bool(personal.get("enabled", True)))
                self.history_check.setChecked(bool(personal.get("use_member_history", True)))
                self.preferences_check.setChecked(bool(personal.get("mention_preferences", True)))
                self._personal_toggled(self.personal_check.isChecked())
        finally:
            for widget in widgets:
                widget.blockSignals(False)

    def changes(self) -> dict[str, Any]:
        return {
            "character_id": self.character_combo.currentData(),
            "automation_level": self.automation_spin.value(),
            "response_delay": {"min_seconds": self.delay_min_spin.value(), "max_seconds": self.delay_max_spin.value()},
            "personalization": {"enabled": self.personal_check.isChecked(),
                                "use_member_history": self.history_check.isChecked(),
                                "mention_preferences": self.preferences_check.isChecked()},
        }

    def show_saved(self, result: dict[str, Any]) -> None:
        """update_config's answer: the estimate of automatic replies a day, or why there is none."""
        self.dirty = False
        self.show_error("")
        value = result.get("estimated_daily_responses")
        if value is None:
            why = (result.get("reasons") or {}).get("estimated_daily_responses") or "no basis for an estimate"
            self.result_label.setText(f"Saved. Automatic replies a day: not known yet ({why}).")
        else:
            self.result_label.setText(f"Saved. About {value:g} automatic replies a day "
                                      f"({result.get('estimate_basis')}).")
        self.result_label.setToolTip("")

    def show_error(self, text: str) -> None:
        """What the service refused (e.g. a delay whose minimum is above its maximum); the edits stay."""
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))
        self.result_label.setVisible(not text)
