"""The layer contract of ../shared/DESIGN.md holds, and every module imports on its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Each module in a fresh `studio` namespace: an import cycle shows up as an ImportError whatever
# was imported before. Third-party packages stay cached, so this takes seconds, not minutes.
_IMPORT_EACH = r"""
import importlib, pkgutil, sys, traceback
import studio
names = sorted(m.name for m in pkgutil.walk_packages(studio.__path__, "studio.")
               if ".migrations" not in m.name and m.name != "studio.__main__")
failed = []
for name in names:
    for loaded in [k for k in sys.modules if k == "studio" or k.startswith("studio.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + "\n" + traceback.format_exc(limit=3))
print(len(names))
print("\n".join(failed))
"""


def test_import_contracts_are_kept():
    """ui/server above services above engine/db/connectors; a pure engine; independent routes."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_module_imports_on_its_own():
    result = subprocess.run([sys.executable, "-c", _IMPORT_EACH], cwd=REPO, capture_output=True, text=True,
                            timeout=300, env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    count, *failures = result.stdout.strip().split("\n", 1)
    assert int(count) > 100
    assert not "".join(failures).strip(), "".join(failures)
