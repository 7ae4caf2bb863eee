"""Where the studio's data files (`resources/`) are: the one place that knows.

In a checkout (or an editable install) they sit beside the `studio` package; in a frozen app
(PyInstaller) they sit under the bundle's data folder (`sys._MEIPASS`). This module imports
nothing of the studio, so every layer, the engine included, may use it.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _root() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


RESOURCES_DIR = _root()


def resource_path(*parts: str) -> Path:
    """`resources/<parts...>`, e.g. `resource_path("music", "styles.toml")`."""
    return RESOURCES_DIR.joinpath(*parts)
