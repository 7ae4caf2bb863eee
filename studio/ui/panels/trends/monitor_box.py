"""Monitoring: start/stop, how often to scan at each time of day, and automatic answers (off by default).

The box only shows; the panel calls the service when the user asks (its signals)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.ui.formatting import when
from studio.ui.theme import COLORS, icon


class MonitorBox(QGroupBox):
    """The monitor's state, its Start/Stop button, the intervals and the auto-answer settings."""

    toggle_requested = Signal()
    apply_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Monitoring", parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        top = QHBoxLayout()
        self.monitor_label = QLabel("Stopped")
        self.monitor_label.setObjectName("CardValue")
        top.addWidget(self.monitor_label, 1)
        self.monitor_button = QPushButton(icon("mdi6.play-circle-outline"), "Start")
        self.monitor_button.setToolTip("Scan the enabled sources on a schedule while the studio runs")
        self.monitor_button.clicked.connect(lambda: self.toggle_requested.emit())
        top.addWidget(self.monitor_button)
        layout.addLayout(top)
        self.monitor_detail = QLabel("")
        self.monitor_detail.setObjectName("Muted")
        self.monitor_detail.setWordWrap(True)
        layout.addWidget(self.monitor_detail)

        form = QGridLayout()
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(4)
        self.interval_spins: dict[str, QSpinBox] = {}
        for row, (key, label, default) in enumerate((("peak_hours", "Peak hours (12–16, 19–23)", 15),
                                                     ("normal_hours", "Other daytime hours", 30),
                                                     ("overnight", "Overnight (0–7)", 60))):
            caption = QLabel(label)
            caption.setObjectName("Muted")
            spin = QSpinBox()
            spin.setRange(5, 24 * 60)
            spin.setSingleStep(5)
            spin.setValue(default)
            spin.setSuffix(" min")
            form.addWidget(caption, row, 0)
            form.addWidget(spin, row, 1)
            self.interval_spins[key] = spin
        self.auto_check = QCheckBox("Answer automatically above score")
        self.auto_check.setToolTip("Off by default: queue a track for each new trend above this score, "
                                   "at most the given number a day")
        self.auto_score = QSpinBox()
        self.auto_score.setRange(0, 100)
        self.auto_score.setValue(85)
        self.auto_max = QSpinBox()
        self.auto_max.setRange(1, 50)
        self.auto_max.setValue(3)
        self.auto_max.setSuffix(" a day")
        auto_row = QHBoxLayout()
        auto_row.setSpacing(6)
        auto_row.addWidget(self.auto_score)
        auto_row.addWidget(self.auto_max)
        form.addWidget(self.auto_check, 3, 0)
        form.addLayout(auto_row, 3, 1)
        form.setColumnStretch(0, 1)
        layout.addLayout(form)
        self.schedule_button = QPushButton(icon("mdi6.calendar-clock"), "Apply schedule")
        self.schedule_button.clicked.connect(lambda: self.apply_requested.emit())
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.schedule_button)
        layout.addLayout(row)
        layout.addStretch(1)

    def show_state(self, state: dict[str, Any]) -> None:
        """The monitor's state as the service reports it."""
        running = bool(state.get("running"))
        self.monitor_label.setText("Monitoring" if running else "Stopped")
        self.monitor_label.setStyleSheet(f"color: {COLORS['success'] if running else COLORS['muted']};")
        self.monitor_button.setText("Stop" if running else "Start")
        self.monitor_button.setIcon(icon("mdi6.stop-circle-outline" if running else "mdi6.play-circle-outline"))
        parts = []
        next_scan = state.get("next_scan_at") or state.get("next_scan")
        if running and next_scan:
            parts.append(f"next scan {when(next_scan)}")
        if state.get("scan_interval"):
            period = str(state.get("current_period") or "").replace("_", " ")
            parts.append(f"{'S' if running else 'When started, s'}cans every {state['scan_interval']} min at this hour"
                         f"{f' ({period})' if period else ''}, about {state.get('estimated_daily_scans', '–')} a day")
        stats = state.get("stats") or state
        if stats.get("scans_done"):
            parts.append(f"{stats['scans_done']} scans, {stats.get('trends_processed') or 0} items read, "
                         f"{stats.get('hijacks_generated') or 0} answered")
        if state.get("last_error"):
            parts.append(f"last error: {state['last_error']}")
        self.monitor_detail.setText(" · ".join(parts) if parts else
                                    "Scans the enabled sources more often at peak hours. Off until you start it.")
        intervals = state.get("intervals") or {}
        for key, spin in self.interval_spins.items():
            if intervals.get(key):
                spin.blockSignals(True)
                spin.setValue(int(intervals[key]))
                spin.blockSignals(False)
        auto = state.get("auto_answer") or state.get("auto_hijack") or {}
        if auto:
            self.auto_check.setChecked(bool(auto.get("enabled")))
            if auto.get("min_viral_score") is not None:
                self.auto_score.setValue(int(auto["min_viral_score"]))
            if auto.get("max_daily_hijacks") is not None:
                self.auto_max.setValue(int(auto["max_daily_hijacks"]))

    def schedule_config(self) -> dict[str, Any]:
        return {"schedule_type": "custom",
                "intervals": {key: spin.value() for key, spin in self.interval_spins.items()},
                "auto_hijack": {"enabled": self.auto_check.isChecked(), "min_viral_score": self.auto_score.value(),
                                "max_daily_hijacks": self.auto_max.value()}}
