"""Media store: files under the data dir addressed by id, written atomically.

Ids are generated here (prefix + random hex) and validated on every lookup, so a request can
never name a path: anything that is not a well-formed id is simply "not found".
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_ID_RE = re.compile(r"^[a-z][a-z0-9]{0,15}_[0-9a-f]{8,64}(\.[a-z0-9]{1,8}){0,2}$")


def new_id(prefix: str, nbytes: int = 8) -> str:
    """`prefix_<hex>`: the shape of every id the studio hands out (jobs, media, keys...)."""
    return f"{prefix}_{secrets.token_hex(nbytes)}"


def is_valid_media_id(media_id: str) -> bool:
    return bool(_ID_RE.fullmatch(media_id))


@dataclass(frozen=True)
class StoredFile:
    id: str
    path: Path
    size_bytes: int
    sha256: str


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._tmp = root / ".tmp"
        self._tmp.mkdir(exist_ok=True)

    def _path(self, media_id: str) -> Path:
        if not is_valid_media_id(media_id):
            raise KeyError(media_id)
        # Two-level fan-out keeps directories small with many files.
        digest = media_id.split("_", 1)[1]
        return self.root / digest[:2] / media_id

    def path(self, media_id: str) -> Path:
        """The file's path; KeyError when the id is malformed or no such file exists."""
        path = self._path(media_id)
        if not path.is_file():
            raise KeyError(media_id)
        return path

    def exists(self, media_id: str) -> bool:
        try:
            self.path(media_id)
        except KeyError:
            return False
        return True

    def new_id(self, prefix: str = "file", extension: str = "") -> str:
        ext = extension.lower().lstrip(".")
        return new_id(prefix) + (f".{ext}" if ext else "")

    def write_bytes(self, data: bytes, *, prefix: str = "file", extension: str = "") -> StoredFile:
        return self._commit(lambda fh: fh.write(data), prefix=prefix, extension=extension)

    def write_stream(self, stream: BinaryIO, *, prefix: str = "file", extension: str = "") -> StoredFile:
        return self._commit(lambda fh: shutil.copyfileobj(stream, fh, 1 << 20), prefix=prefix, extension=extension)

    def import_file(self, source: Path, *, prefix: str = "file", extension: str = "") -> StoredFile:
        with open(source, "rb") as stream:
            return self.write_stream(stream, prefix=prefix, extension=extension)

    def temp_path(self, suffix: str = "") -> Path:
        """A fresh temp file inside the store (same filesystem, so `adopt` is an atomic rename)."""
        fd, name = tempfile.mkstemp(dir=self._tmp, suffix=suffix)
        os.close(fd)
        return Path(name)

    def adopt(self, temp: Path, *, prefix: str = "file", extension: str = "", media_id: str | None = None) -> StoredFile:
        """Move a finished temp file (e.g. written by an encoder) into place under a new id."""
        media_id = media_id or self.new_id(prefix, extension)
        target = self._path(media_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        sha = hashlib.sha256()
        with open(temp, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                sha.update(chunk)
        os.replace(temp, target)
        return StoredFile(media_id, target, target.stat().st_size, sha.hexdigest())

    def _commit(self, write, *, prefix: str, extension: str) -> StoredFile:
        temp = self.temp_path()
        try:
            with open(temp, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            return self.adopt(temp, prefix=prefix, extension=extension)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def delete(self, media_id: str) -> bool:
        try:
            self.path(media_id).unlink()
        except (KeyError, FileNotFoundError):
            return False
        return True

    def clean_temp(self) -> int:
        """Remove temp files left by a crash; returns how many."""
        count = 0
        for leftover in self._tmp.iterdir():
            leftover.unlink(missing_ok=True)
            count += 1
        return count

    def usage_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())
