"""Loading the engine's data files (resources/music/*.toml) with errors a person can act on.

Musical knowledge is data: a style, pattern, patch or word list is added by editing TOML, not
Python. Each loader checks its file when it reads it, and anything wrong raises `DataFileError`,
which names the file, the entry and what is wrong, e.g.
``resources/music/patterns.toml: [bass.walking] step 2: tone 'Q' is not one of R, 5, 8, 3, 6, b7, A``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from studio.resources import RESOURCES_DIR

M = TypeVar("M", bound=BaseModel)


class DataFileError(ValueError):
    """A data file that does not say what the engine needs."""

    def __init__(self, path: Path, entry: str, problem: str):
        self.path, self.entry, self.problem = Path(path), entry, problem
        where = f" [{entry}]" if entry else ""
        super().__init__(f"{shown_path(self.path)}:{where} {problem}")


def shown_path(path: Path) -> str:
    """`resources/music/x.toml` for the studio's own files, the full path otherwise."""
    try:
        return str(Path("resources") / Path(path).resolve().relative_to(RESOURCES_DIR.resolve()))
    except ValueError:
        return str(path)


def load_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(path, "", f"is not valid TOML: {exc}") from None


def validated(model: type[M], path: Path, entry: str, data: Any) -> M:
    """`model` from one entry's data; a DataFileError naming each wrong field otherwise."""
    if not isinstance(data, dict):
        raise DataFileError(path, entry, f"must be a table, not {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DataFileError(path, entry, describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """pydantic's errors as "field: message; ..." without its URLs."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")  # a model's own check says it all
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
