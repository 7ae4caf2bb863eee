"""A spectrogram image (the PNG each analysis stores, drawn by the engine) scaled to the widget's
width, with a caption; shows a hint when there is none."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPixmap, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class SpectrogramView(QLabel):
    def __init__(self, hint: str = "No spectrogram yet", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hint = hint
        self.pixmap_source: QPixmap | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setObjectName("Muted")
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setText(hint)

    def set_png(self, data: bytes | None) -> bool:
        """Show PNG bytes; False (and the hint) when they are not an image."""
        pixmap = QPixmap()
        if not data or not pixmap.loadFromData(data, "PNG"):
            self.clear_image()
            return False
        self.pixmap_source = pixmap
        self._rescale()
        return True

    def clear_image(self, hint: str | None = None) -> None:
        self.pixmap_source = None
        self.clear()
        self.setText(hint or self.hint)

    def has_image(self) -> bool:
        return self.pixmap_source is not None

    def sizeHint(self) -> QSize:
        return QSize(600, 160)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self.pixmap_source is None:
            return
        width = max(50, self.width() - 2)
        height = max(60, min(self.height() - 2, 220))
        self.setPixmap(self.pixmap_source.scaled(width, height, Qt.AspectRatioMode.IgnoreAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation))
