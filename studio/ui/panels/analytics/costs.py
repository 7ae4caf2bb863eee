"""The Analytics panel's costs and API page: compute per job kind with money where prices are set,
the prices and limits (crossing a limit raises an alert), what stands out, and the local API's use
per endpoint (requests, errors, latency) with each connector's quota units."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.panels.analytics.tables import NumberItem
from studio.ui.widgets.tables import list_table


def _spin(maximum: float, decimals: int, suffix: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0, maximum)
    spin.setDecimals(decimals)
    spin.setSuffix(suffix)
    spin.setSpecialValueText("not set")  # 0 reads as "not set": the figure stays null
    return spin


class CostsPage(QWidget):
    save_prices_requested = Signal()
    save_limits_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        top = QHBoxLayout()
        costs = QGroupBox("Compute and money")
        costs_box = QVBoxLayout(costs)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        costs_box.addWidget(self.summary)
        prices = QFormLayout()
        self.kwh = _spin(100, 3, " per kWh")
        self.watts = _spin(100000, 0, " W")
        self.rate = _spin(10000, 3, " per hour")
        prices.addRow("Electricity price", self.kwh)
        prices.addRow("Machine's draw while rendering", self.watts)
        prices.addRow("Or a compute rate", self.rate)
        costs_box.addLayout(prices)
        self.prices_button = QPushButton("Save prices")
        self.prices_button.clicked.connect(self.save_prices_requested)
        costs_box.addWidget(self.prices_button, 0, Qt.AlignmentFlag.AlignRight)
        top.addWidget(costs, 1)
        limits = QGroupBox("Limits and alerts")
        limits_box = QVBoxLayout(limits)
        form = QFormLayout()
        self.daily_s = _spin(1e7, 0, " s")
        self.monthly_s = _spin(1e8, 0, " s")
        self.daily_cost = _spin(1e6, 2, "")
        self.monthly_cost = _spin(1e7, 2, "")
        self.alert_pct = _spin(100, 0, " % of a limit")
        form.addRow("Compute per day", self.daily_s)
        form.addRow("Compute per month", self.monthly_s)
        form.addRow("Money per day", self.daily_cost)
        form.addRow("Money per month", self.monthly_cost)
        form.addRow("Warn at", self.alert_pct)
        limits_box.addLayout(form)
        self.limits_button = QPushButton("Save limits")
        self.limits_button.clicked.connect(self.save_limits_requested)
        limits_box.addWidget(self.limits_button, 0, Qt.AlignmentFlag.AlignRight)
        self.suggestions = QLabel("")
        self.suggestions.setObjectName("Muted")
        self.suggestions.setWordWrap(True)
        limits_box.addWidget(self.suggestions)
        top.addWidget(limits, 1)
        layout.addLayout(top)
        api = QGroupBox("Local API use")
        api_box = QVBoxLayout(api)
        self.api_summary = QLabel("")
        self.api_summary.setWordWrap(True)
        api_box.addWidget(self.api_summary)
        self.endpoints = list_table(("Endpoint", "Method", "Requests", "Average ms", "95% under ms", "Errors %"),
                                    word_wrap=False)
        self.endpoints.setSortingEnabled(True)
        header = self.endpoints.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.endpoints.setMinimumHeight(160)
        api_box.addWidget(self.endpoints)
        layout.addWidget(api, 1)

    def prices(self) -> dict[str, float | None]:
        return {"electricity_per_kwh": self.kwh.value() or None, "device_watts": self.watts.value() or None,
                "compute_per_hour": self.rate.value() or None}

    def limits(self) -> dict[str, float | None]:
        return {"daily_compute_s": self.daily_s.value() or None, "monthly_compute_s": self.monthly_s.value() or None,
                "daily_cost": self.daily_cost.value() or None, "monthly_cost": self.monthly_cost.value() or None,
                "alert_at_pct": self.alert_pct.value() or None}

    def show_costs(self, summary: dict[str, Any], prices: dict[str, Any], limits: dict[str, Any],
                   optimization: dict[str, Any]) -> None:
        currency = summary.get("currency") or ""
        kinds = "".join(f"<li>{kind}: {seconds / 60:.1f} min"
                        + (f" · {summary['breakdown'][kind]:.2f} {currency}" if (summary.get("breakdown") or {}).get(kind)
                           is not None else "") + "</li>"
                        for kind, seconds in (summary.get("compute_seconds") or {}).items())
        total = summary.get("total_cost")
        money = (f"{total:.2f} {currency}" if total is not None
                 else (summary.get("reasons") or {}).get("total_cost", ""))
        quota = ", ".join(f"{k}: {v} units" for k, v in (summary.get("quota_units") or {}).items()) or "none used"
        self.summary.setText(f"<b>{summary.get('total_compute_seconds', 0) / 60:.1f} min</b> of compute in "
                             f"{summary.get('jobs', 0)} jobs · {money}<ul style='margin:2px'>{kinds}</ul>"
                             f"Connector quota: {quota}")
        for spin, key in ((self.kwh, "electricity_per_kwh"), (self.watts, "device_watts"), (self.rate, "compute_per_hour")):
            spin.setValue(float(prices.get(key) or 0))
        for spin, key in ((self.daily_s, "daily_compute_s"), (self.monthly_s, "monthly_compute_s"),
                          (self.daily_cost, "daily_cost"), (self.monthly_cost, "monthly_cost"),
                          (self.alert_pct, "alert_at_pct")):
            spin.setValue(float(limits.get(key) or 0))
        suggestions = [s["message"] for s in optimization.get("suggestions") or []]
        self.suggestions.setText("\n".join(suggestions) or (optimization.get("reasons") or {}).get("suggestions", ""))

    def show_api(self, usage: dict[str, Any]) -> None:
        total = usage.get("total_requests") or 0
        self.api_summary.setText(
            f"{total} requests, {usage.get('error_rate') if usage.get('error_rate') is not None else '–'} % answered "
            f"with an error" if total else (usage.get("reasons") or {}).get("total_requests", ""))
        rows = list(usage.get("endpoint_usage") or [])
        self.endpoints.setSortingEnabled(False)
        self.endpoints.setRowCount(len(rows))
        for r, e in enumerate(rows):
            self.endpoints.setItem(r, 0, QTableWidgetItem(e["endpoint"]))
            self.endpoints.setItem(r, 1, QTableWidgetItem(e.get("method") or ""))
            self.endpoints.setItem(r, 2, NumberItem(e["requests"], str(e["requests"])))
            for c, key in ((3, "avg_response_time"), (4, "p95_response_time"), (5, "error_rate")):
                value = e.get(key)
                self.endpoints.setItem(r, c, NumberItem(value, f"{value:.1f}" if value is not None else "–"))
        self.endpoints.setSortingEnabled(True)
