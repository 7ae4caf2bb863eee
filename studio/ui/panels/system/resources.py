"""System > Resources: CPU, memory and waiting jobs over the last hour (the monitoring history,
measured every 5 s; redrawn every 5 s while shown), what the data folder holds, and the GPU."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from studio.ui.panels.system.common import Page, megabytes, parse_time
from studio.ui.theme import COLORS
from studio.ui.widgets.charts import HintedChart, themed_plot

REFRESH_MS = 5000
STORAGE_EVERY = 12  # the folders are walked every 12th refresh (a minute), charts every time
STORAGE_PARTS = (("database", "Database"), ("media", "Tracks, voices and other media"), ("backups", "Backups"),
                 ("logs", "Logs"), ("other", "Other studio files"))
NO_SAMPLES = "No measurements yet: the studio measures every 5 seconds, the first points appear shortly."


class HistoryChart(HintedChart):
    """One figure over time, with its latest value in the title."""

    def __init__(self, title: str, color: str, *, percent: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(NO_SAMPLES, parent)
        self.title = title
        self.color = color
        self.percent = percent
        self.plot = themed_plot(date_axis=True, interactive=False)
        self.plot.setTitle(title, color=COLORS["muted"], size="9pt")
        if percent:
            self.plot.setYRange(0, 100, padding=0.02)
        self.addWidget(self.plot)
        self.points = 0
        self.setMinimumHeight(170)

    def set_points(self, xs: list[float], ys: list[float | None], latest: str) -> None:
        pairs = [(x, y) for x, y in zip(xs, ys) if y is not None]
        self.points = len(pairs)
        if not pairs:
            self.show_hint(NO_SAMPLES)
            return
        self.plot.clear()
        x, y = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs], dtype=float)
        self.plot.plot(x, y, pen=pg.mkPen(self.color, width=2), symbol="o" if len(pairs) < 3 else None,
                       symbolSize=5, symbolBrush=self.color, symbolPen=None)
        if not self.percent:
            self.plot.setYRange(0, max(1.0, float(y.max()) * 1.2), padding=0)
        self.plot.setTitle(f"{self.title}: {latest}", color=COLORS["muted"], size="9pt")
        self.setCurrentWidget(self.plot)


class ResourcesPage(Page):
    def __init__(self, services: Any, host: Any, parent: QWidget | None = None) -> None:
        super().__init__(services, host, parent)
        self.refreshes = 0
        charts = QGroupBox("The last hour (measured every 5 seconds while the studio runs)")
        row = QHBoxLayout(charts)
        row.setSpacing(10)
        self.cpu_chart = HistoryChart("CPU in use", COLORS["accent"], percent=True)
        self.memory_chart = HistoryChart("Memory in use", "#3fb950", percent=True)
        self.queue_chart = HistoryChart("Jobs waiting", "#d29922")
        for chart in (self.cpu_chart, self.memory_chart, self.queue_chart):
            row.addWidget(chart, 1)
        self.layout_.addWidget(charts, 1)

        bottom = QHBoxLayout()
        bottom.setSpacing(16)
        storage = QGroupBox("Storage")
        grid = QGridLayout(storage)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(4)
        self.storage_rows: dict[str, tuple[QLabel, QProgressBar]] = {}
        for r, (key, label) in enumerate(STORAGE_PARTS):
            name = QLabel(label)
            size = QLabel("–")
            size.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setTextVisible(False)
            bar.setFixedHeight(8)
            grid.addWidget(name, r, 0)
            grid.addWidget(size, r, 1)
            grid.addWidget(bar, r, 2)
            self.storage_rows[key] = (size, bar)
        self.free_label = QLabel("–")
        self.free_label.setObjectName("Muted")
        self.free_label.setWordWrap(True)
        grid.addWidget(self.free_label, len(STORAGE_PARTS), 0, 1, 3)
        grid.setColumnStretch(2, 1)
        bottom.addWidget(storage, 3)

        gpu = QGroupBox("Graphics card (GPU)")
        gpu_box = QVBoxLayout(gpu)
        self.gpu_state = QLabel("Checking…")
        self.gpu_state.setObjectName("CardValue")
        self.gpu_detail = QLabel("")
        self.gpu_detail.setWordWrap(True)
        self.gpu_detail.setObjectName("Muted")
        gpu_box.addWidget(self.gpu_state)
        gpu_box.addWidget(self.gpu_detail, 1, Qt.AlignmentFlag.AlignTop)
        bottom.addWidget(gpu, 2)
        self.layout_.addLayout(bottom)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.gpu: dict[str, Any] | None = None
        self.storage: dict[str, Any] | None = None

    def on_show(self) -> None:
        self.refreshes = 0
        self.refresh()
        if self.gpu is None:
            self.read("the graphics card", self.services.system.monitoring.gpu, self.show_gpu)
        self.timer.start()

    def on_hide(self) -> None:
        self.timer.stop()

    def refresh(self) -> None:
        self.show_history(list(self.services.system.monitoring.history))  # in memory: no wait
        if self.refreshes % STORAGE_EVERY == 0 and not self.busy("the storage"):
            self.read("the storage", self.services.system.monitoring.storage, self.show_storage)
        self.refreshes += 1

    def show_history(self, samples: list[dict[str, Any]]) -> None:
        xs, keep = [], []
        for sample in samples:
            at = parse_time(sample.get("timestamp"))
            if at is not None:
                xs.append(at.timestamp())
                keep.append(sample)
        if not keep:
            for chart in (self.cpu_chart, self.memory_chart, self.queue_chart):
                chart.set_points([], [], "")
            return
        last = keep[-1]
        cpu = [s.get("cpu_percent") for s in keep]
        self.cpu_chart.set_points(xs, cpu, f"{last['cpu_percent']:.0f} %" if last.get("cpu_percent") is not None
                                  else "–")
        used = megabytes(last.get("memory_used_bytes"))
        self.memory_chart.set_points(xs, [s.get("memory_percent") for s in keep],
                                     f"{last.get('memory_percent', 0):.0f} % ({used})")
        running = last.get("processing", 0)
        self.queue_chart.set_points(xs, [s.get("queue_length") for s in keep],
                                    f"{last.get('queue_length', 0)} (and {running} running)")

    def show_storage(self, storage: dict[str, Any]) -> None:
        self.show_message("")
        self.storage = storage
        parts = storage.get("breakdown") or {}
        total = max(1, int(storage.get("total_bytes") or 0))
        for key, (size, bar) in self.storage_rows.items():
            part = parts.get(key) or {}
            size.setText(megabytes(part.get("bytes")))
            size.setToolTip(f"{part.get('files', 0)} files in {part.get('path') or 'the data folder'}")
            bar.setValue(int(1000 * (part.get("bytes") or 0) / total))
        disk = storage.get("disk") or {}
        self.free_label.setText(f"The studio uses {megabytes(storage.get('total_bytes'))} in all. "
                                f"Free on this disk: {megabytes(disk.get('free_bytes'))} of "
                                f"{megabytes(disk.get('total_bytes'))}.")

    def show_gpu(self, gpu: dict[str, Any]) -> None:
        self.gpu = gpu
        if gpu.get("available"):
            devices = gpu.get("devices") or []
            names = ", ".join(d.get("name", "GPU") for d in devices) or "a GPU"
            used, total = gpu.get("memory_used_bytes"), gpu.get("memory_total_bytes")
            self.gpu_state.setText("In use" if str(gpu.get("engine_device", "")).startswith(("cuda", "auto"))
                                   else "Available")
            self.gpu_detail.setText(f"{names}. Memory: {megabytes(used)} used of {megabytes(total)}.")
        else:
            self.gpu_state.setText("None")
            why = gpu.get("reason") or "no GPU was found"
            self.gpu_detail.setText(f"The engine renders on the CPU: {why}.")
