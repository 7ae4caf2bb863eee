"""Render the studio's SVG icon as the PNG sizes of the freedesktop icon theme (hicolor).

    python build/bundle/icons.py resources/icons/studio.svg dist/studio/share/icons

Qt draws the SVG (QtSvg ships with PySide6), so the build needs no image tools.
"""

from __future__ import annotations

import sys
from pathlib import Path

SIZES_PX = (32, 48, 64, 128, 256)


def main(svg: Path, out: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841  (QPainter needs an application)
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not a readable SVG")
    for size in SIZES_PX:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        target = out / "hicolor" / f"{size}x{size}" / "apps" / "studio.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target)):
            raise SystemExit(f"could not write {target}")
    scalable = out / "hicolor" / "scalable" / "apps" / "studio.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    scalable.write_bytes(svg.read_bytes())


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
