"""How replies are written and sent: the replying character, the automation level (the share of
incoming Discord/Telegram messages the bots may answer without a person's approval; 0 by default),
the response delay and personalisation. Display and signals only; the panel saves through
`services.community.settings.update_config`."""

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

AUTOMATION_WARNING = ("Above 0 %, that share of messages addressed to your Discord and Telegram bots is answered "
                      "without your approval, after the delay below. YouTube replies always wait for you.")


class ReplySettings(QGroupBox):
    save_requested = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Replies", parent)
        form = QFormLayout(self)
        self.character_combo = QComboBox()
        self.character_combo.setToolTip("The voice the drafted replies are written in")
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
            spin.setRange(0, 86400)
            spin.setSuffix(" s")
        delay.addWidget(self.delay_min_spin)
        delay.addWidget(QLabel("to"))
        delay.addWidget(self.delay_max_spin)
        delay.addStretch(1)
        form.addRow("Automatic replies wait", delay)
        self.personal_check = QCheckBox("Address people by name and use what they said before")
        form.addRow(self.personal_check)
        buttons = QHBoxLayout()
        self.save_button = QPushButton(icon("mdi6.content-save-outline"), "Save")
        self.save_button.clicked.connect(lambda: self.save_requested.emit(self.changes()))
        buttons.addWidget(self.save_button)
        self.result_label = QLabel("")
        self.result_label.setObjectName("Muted")
        self.result_label.setWordWrap(True)
        buttons.addWidget(self.result_label, 1)
        form.addRow(buttons)

    def show_config(self, config: dict[str, Any], characters: list[dict[str, Any]]) -> None:
        self.character_combo.clear()
        self.character_combo.addItem("No character (plain)", None)
        for character in characters:
            self.character_combo.addItem(str(character.get("name") or character.get("id")), character.get("id"))
        index = self.character_combo.findData(config.get("character_id"))
        self.character_combo.setCurrentIndex(max(0, index))
        self.automation_spin.setValue(int(round(float(config.get("automation_level") or 0))))
        delay = config.get("response_delay") or {}
        self.delay_min_spin.setValue(int(delay.get("min_seconds") or 0))
        self.delay_max_spin.setValue(int(delay.get("max_seconds") or 0))
        personal = config.get("personalization") or {}
        self.personal_check.setChecked(bool(personal.get("enabled", True)))

    def changes(self) -> dict[str, Any]:
        enabled = self.personal_check.isChecked()
        return {
            "character_id": self.character_combo.currentData(),
            "automation_level": self.automation_spin.value(),
            "response_delay": {"min_seconds": self.delay_min_spin.value(), "max_seconds": self.delay_max_spin.value()},
            "personalization": {"enabled": enabled, "use_member_history": enabled, "mention_preferences": enabled},
        }

    def show_saved(self, result: dict[str, Any]) -> None:
        value = result.get("estimated_daily_responses")
        if value is None:
            reason = next(iter((result.get("reasons") or {}).values()), "not enough messages yet")
            self.result_label.setText(f"Saved. Automatic replies a day: not known yet ({reason}).")
        else:
            self.result_label.setText(f"Saved. About {value:g} automatic replies a day ({result.get('estimate_basis')}).")
