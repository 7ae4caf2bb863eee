"""Dark theme: Fusion style, a dark QPalette and resources/styles/dark.qss.

Colours used by custom-painted widgets (progress delegate, waveform) come from COLORS so they match
the stylesheet.
"""

from __future__ import annotations

import logging

from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from studio.resources import RESOURCES_DIR

log = logging.getLogger(__name__)

STYLESHEET = RESOURCES_DIR / "styles" / "dark.qss"
ICONS_DIR = RESOURCES_DIR / "icons"
APP_ICON = ICONS_DIR / "studio.svg"

COLORS = {
    "window": "#1d1f23",
    "panel": "#24272c",
    "base": "#2a2d33",
    "alternate": "#30343a",
    "border": "#3a3f47",
    "text": "#e6e8eb",
    "muted": "#9aa3ad",
    "accent": "#5b8def",
    "accent_text": "#ffffff",
    "success": "#3fb950",
    "warning": "#d29922",
    "danger": "#f85149",
    "waveform": "#6f9cf5",
    "playhead": "#f0c060",
}

# Job status -> colour of its progress bar and status text.
STATUS_COLORS = {
    "queued": COLORS["muted"],
    "processing": COLORS["accent"],
    "completed": COLORS["success"],
    "failed": COLORS["danger"],
    "cancelled": COLORS["muted"],
}


def dark_palette() -> QPalette:
    c = {k: QColor(v) for k, v in COLORS.items()}
    p = QPalette()
    role = QPalette.ColorRole
    p.setColor(role.Window, c["window"])
    p.setColor(role.WindowText, c["text"])
    p.setColor(role.Base, c["base"])
    p.setColor(role.AlternateBase, c["alternate"])
    p.setColor(role.ToolTipBase, c["panel"])
    p.setColor(role.ToolTipText, c["text"])
    p.setColor(role.PlaceholderText, c["muted"])
    p.setColor(role.Text, c["text"])
    p.setColor(role.Button, c["panel"])
    p.setColor(role.ButtonText, c["text"])
    p.setColor(role.BrightText, c["danger"])
    p.setColor(role.Link, c["accent"])
    p.setColor(role.Highlight, c["accent"])
    p.setColor(role.HighlightedText, c["accent_text"])
    p.setColor(role.Light, QColor("#3d424a"))
    p.setColor(role.Midlight, QColor("#33373e"))
    p.setColor(role.Mid, QColor("#2a2d33"))
    p.setColor(role.Dark, QColor("#17191c"))
    p.setColor(role.Shadow, QColor("#0e0f11"))
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(disabled, r, QColor("#6b727b"))
    p.setColor(disabled, role.Highlight, QColor("#3a3f47"))
    return p


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    try:
        sheet = STYLESHEET.read_text(encoding="utf-8")
        app.setStyleSheet(sheet.replace("@ICONS@", ICONS_DIR.as_posix()))
    except OSError as exc:  # the window still works with the palette alone
        log.warning("stylesheet %s not loaded: %s", STYLESHEET, exc)
    if APP_ICON.is_file():
        app.setWindowIcon(QIcon(str(APP_ICON)))
    try:
        import qtawesome as qta

        qta.set_defaults(color=COLORS["text"], color_disabled="#6b727b")
    except Exception:  # pragma: no cover - icons are decoration
        log.debug("qtawesome defaults not set", exc_info=True)


def icon(name: str, color: str | None = None) -> QIcon:
    """A qtawesome icon in the theme's text colour (an empty icon if the name is unknown)."""
    try:
        import qtawesome as qta

        return qta.icon(name, color=color or COLORS["text"], color_disabled="#6b727b")
    except Exception:
        log.debug("icon %s not available", name, exc_info=True)
        return QIcon()
