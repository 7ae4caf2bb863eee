"""The studio as it is installed, not only as it runs from a checkout (issue #20):
- every third-party module the studio imports is a declared dependency (an install without the
  test extra must not miss one, as scipy once was);
- a built wheel carries every data file (resources/, the Alembic migrations), and an installed
  wheel finds them without the checkout;
- `doctor` reports versions without package metadata (the frozen app has little).
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level module -> files importing it, over every module of the studio (lazy imports included)."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "studio").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "studio" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_imported_package_is_a_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_normalise(_requirement_name(r)) for r in project["dependencies"]}
    distributions = importlib.metadata.packages_distributions()
    undeclared = {}
    for module, files in _third_party_imports().items():
        dists = {_normalise(d) for d in distributions.get(module, [])}
        assert dists, f"{module} (imported by {sorted(files)}) is not installed in this environment"
        if not dists & declared:
            undeclared[module] = (sorted(dists), sorted(files))
    assert not undeclared, f"imported but not in [project.dependencies]: {undeclared}"
    assert len(_third_party_imports()) > 20  # the scan saw the studio's imports at all


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(ROOT)], check=True, capture_output=True, timeout=300)
    (built,) = out.glob("studio-*.whl")
    return built


def test_wheel_carries_every_resource_and_migration(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    data = f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.data/data/share/studio/"
    resources = [p.relative_to(ROOT).as_posix() for p in (ROOT / "resources").rglob("*") if p.is_file()]
    missing = [p for p in resources if data + p not in names]
    assert resources and not missing, f"resources missing from the wheel (pyproject's data-files): {missing}"
    migrations = [p.relative_to(ROOT).as_posix() for p in (ROOT / "studio" / "db" / "migrations").rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts]
    assert migrations and not [p for p in migrations if p not in names]


@pytest.mark.slow
def test_installed_wheel_finds_its_resources_and_migrations(wheel, tmp_path):
    """A venv where the studio is installed from the wheel (its dependencies borrowed from this one):
    the studio's files come from <prefix>/share/studio and site-packages, not the checkout."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site_packages = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                        check=True, capture_output=True, text=True).stdout.strip())
    # --ignore-installed: otherwise pip first uninstalls this environment's editable studio (and its
    # `studio` command), and `make run` after `make test` would find no command
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--ignore-installed",
                    "--prefix",
                    str(venv), str(wheel)], check=True, capture_output=True, timeout=300)
    # this environment's packages as plain path entries: its editable finder for the checkout is not loaded
    here = [p for p in sys.path if p.endswith("site-packages")]
    (site_packages / "deps.pth").write_text("\n".join(here) + "\n")
    probe = ("import studio, studio.resources as r, studio.db.database as d; "
             "from studio.engine.composition.styles import styles; "
             "print(studio.__file__); print(r.RESOURCES_DIR); print(d.MIGRATIONS_DIR); print(len(styles()))")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env=env)
    assert result.returncode == 0, result.stderr
    package, resources, migrations, styles = result.stdout.split()
    assert Path(package).is_relative_to(site_packages)
    assert Path(resources) == venv / "share" / "studio" / "resources" and (Path(resources) / "music").is_dir()
    assert Path(migrations).is_relative_to(site_packages) and (Path(migrations) / "env.py").is_file()
    assert int(styles) > 5


def test_doctor_reads_versions_from_modules_without_package_metadata(monkeypatch):
    from studio import doctor

    def no_metadata(dist):
        raise importlib.metadata.PackageNotFoundError(dist)

    monkeypatch.setattr(importlib.metadata, "version", no_metadata)
    import numpy
    import torch
    assert doctor._version("numpy", "numpy") == numpy.__version__
    assert doctor._version("torch", "torch") == str(torch.__version__)
    assert doctor._version("not-a-package", "not_a_module_here") is None
