"""Where the studio's data files (`resources/`) are: the one place that knows.

- a frozen app (PyInstaller): under the bundle's data folder (`sys._MEIPASS`);
- a checkout or an editable install: beside the `studio` package;
- an installed wheel: `<prefix>/share/studio/resources` (pyproject's data-files), for the
  environment's prefix or a `pip install --user` base.
This module imports nothing of the studio, so every layer, the engine included, may use it.
"""

from __future__ import annotations

import site
import sys
from pathlib import Path

_MARKER = Path("music")  # a folder every complete resources/ has


def candidates() -> list[Path]:
    """The places resources/ may be, in the order they are tried."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return [Path(frozen) / "resources"]
    places = [Path(__file__).resolve().parent.parent / "resources"]
    prefixes = [sys.prefix, getattr(site, "USER_BASE", None) or ""]
    places += [Path(prefix) / "share" / "studio" / "resources" for prefix in prefixes if prefix]
    return places


def _root() -> Path:
    places = candidates()
    for place in places:
        if (place / _MARKER).is_dir():
            return place
    return places[0]  # missing everywhere: errors then name the first place looked at


RESOURCES_DIR = _root()


def resource_path(*parts: str) -> Path:
    """`resources/<parts...>`, e.g. `resource_path("music", "styles.toml")`."""
    return RESOURCES_DIR.joinpath(*parts)
