"""The analysis models and the genres they name.

- The active model (MSD_musicnn by default, or MTT_musicnn) is kept in `<data dir>/analysis.json`;
  `deploy` switches it.
- The genre set, with the tags each genre aggregates, is data: resources/analysis/genres.toml.
  musicnn's outputs are independent per-tag probabilities; a genre scores the best of its tags,
  `all_probabilities` are the scores normalised over the genre set and `confidence` is the
  winner's share (`genre_scores` keeps the raw scores).
"""

from __future__ import annotations

import json
import os
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.resources import resource_path
from studio.services.analysis.errors import InvalidParameter, ModelUnavailable
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context

GENRES_FILE = resource_path("analysis", "genres.toml")
STATE_FILE_NAME = "analysis.json"
DEFAULT_MODEL = "MSD_musicnn"
MODEL_DESCRIPTIONS = {
    "MSD_musicnn": "musicnn trained on the Million Song Dataset: 50 Last.fm tags (genres, eras, moods, vocals)",
    "MTT_musicnn": "musicnn trained on MagnaTagATune: 50 tags (instruments, vocals, tempo feel, a few genres)",
}
TOP_TAGS = 10
TOP_MOODS = 5


# --- genre sets -------------------------------------------------------------------------------------
def load_genre_sets(path: Path = GENRES_FILE) -> dict[str, dict[str, Any]]:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def summarise_tags(tags: dict[str, float], genre_set: dict[str, Any]) -> dict[str, Any]:
    """genre, confidence, all_probabilities, genre_scores, moods and top tags from per-tag probabilities."""
    scores = {g["id"]: max((tags.get(t, 0.0) for t in g["tags"]), default=0.0) for g in genre_set["genres"]}
    total = sum(scores.values())
    if total > 0:
        probs = {g: s / total for g, s in scores.items()}
    else:
        probs = {g: 1.0 / len(scores) for g in scores}
    ranked = sorted(probs.items(), key=lambda kv: kv[1], reverse=True)
    genre, confidence = ranked[0]
    moods = sorted(((m, tags[m]) for m in genre_set.get("mood_tags", []) if m in tags), key=lambda kv: kv[1], reverse=True)
    top = sorted(tags.items(), key=lambda kv: kv[1], reverse=True)[:TOP_TAGS]
    return {
        "genre": genre,
        "confidence": round(confidence, 4),
        "all_probabilities": {g: round(p, 4) for g, p in ranked},
        "genre_scores": {g: round(scores[g], 4) for g, _ in ranked},
        "moods": [{"mood": m.lower(), "probability": round(p, 4)} for m, p in moods[:TOP_MOODS]],
        "tags": [{"tag": t, "probability": round(p, 4)} for t, p in top],
    }


class AnalysisModels:
    """Which tagger is active, loading it (the engine caches loaded taggers), and its genre set."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.genre_sets = load_genre_sets()
        self.tagger_loader: Callable[[str, str], Any] | None = None  # tests inject failures here
        self._active = self._read_state().get("model") or DEFAULT_MODEL
        self.errors: dict[str, str] = {}  # model -> why it last failed to load
        self.load_times_s: dict[str, float] = {}

    # --- the state file ---------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.ctx.settings.home / STATE_FILE_NAME

    def _read_state(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_state(self, data: dict[str, Any]) -> None:
        tmp = self.state_path.with_name(f".{STATE_FILE_NAME}.tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, self.state_path)

    # --- models -----------------------------------------------------------------------------------
    @property
    def active(self) -> str:
        return self._active

    @staticmethod
    def installed() -> list[str]:
        from studio.engine.analysis.tagger import available_models

        return available_models()

    @staticmethod
    def known() -> list[str]:
        from studio.engine.analysis.tagger import MODEL_FILES

        return list(MODEL_FILES)

    def device(self) -> str:
        setting = self.ctx.settings.device
        if setting == "cpu":
            return "cpu"
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def tagger(self, model: str | None = None):
        """The loaded tagger (cached by the engine); ModelUnavailable when it cannot load."""
        name = model or self._active
        started = time.perf_counter()
        try:
            if self.tagger_loader is not None:
                tagger = self.tagger_loader(name, self.device())
            else:
                from studio.engine.analysis.tagger import load_tagger

                tagger = load_tagger(name, self.device())
        except (FileNotFoundError, ValueError, RuntimeError, OSError) as exc:
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            raise ModelUnavailable(f"the {name} model cannot be loaded: {exc}",
                                   details="Check resources/models (tools/convert_musicnn.py writes the weights)") from None
        self.errors.pop(name, None)
        self.load_times_s.setdefault(name, time.perf_counter() - started)
        return tagger

    def info(self, name: str) -> dict[str, Any]:
        from studio.engine.analysis.tagger import MODEL_FILES, MODELS_DIR

        path = MODELS_DIR / MODEL_FILES[name]
        info: dict[str, Any] = {
            "id": name, "name": name, "description": MODEL_DESCRIPTIONS.get(name, ""),
            "installed": path.exists(), "active": name == self._active,
            "size_bytes": path.stat().st_size if path.exists() else None,
            "genres": [g["id"] for g in self.genre_set(name)["genres"]],
            "licence": "ISC (musicnn 0.1.0, Pons & Serra 2019), resources/models/musicnn_LICENSE.txt",
        }
        if path.exists():
            try:
                tagger = self.tagger(name)
                info.update(version=tagger.version, tags=list(tagger.tags), device=str(tagger.device), status="ready")
            except ModelUnavailable as exc:
                info.update(status="error", error=exc.message)
        else:
            info["status"] = "not_installed"
        return info

    def list_models(self) -> list[dict[str, Any]]:
        return [self.info(name) for name in self.known()]

    def deploy(self, name: str) -> dict[str, Any]:
        """Make `name` the active model (it must be installed and load)."""
        if name not in self.known():
            raise InvalidParameter(f"unknown model '{name}'; installed models: {', '.join(self.installed())}",
                                   details={"parameter": "model", "allowed": self.known()})
        if name not in self.installed():
            raise ModelUnavailable(f"the {name} weights are not installed",
                                   details="Run tools/convert_musicnn.py to convert them")
        tagger = self.tagger(name)
        previous, self._active = self._active, name
        state = self._read_state()
        state["model"] = name
        self._write_state(state)
        self.ctx.events.publish("analysis_model_changed", {"model": name, "previous": previous, "version": tagger.version})
        return {"model": name, "previous_model": previous, "model_version": tagger.version,
                "deployed_at": iso(utcnow())}

    # --- genres -----------------------------------------------------------------------------------
    def genre_set(self, model: str | None = None) -> dict[str, Any]:
        return self.genre_sets[model or self._active]

    def genres(self) -> dict[str, Any]:
        genre_set = self.genre_set()
        return {
            "genres": [{"id": g["id"], "name": g["name"], "description": g["description"],
                        "sub_genres": list(g.get("sub_genres", [])), "model_tags": list(g["tags"])}
                       for g in genre_set["genres"]],
            "total": len(genre_set["genres"]),
            "model": self._active,
            "mood_tags": [m.lower() for m in genre_set.get("mood_tags", [])],
            "method": ("Each genre scores the highest probability among its model_tags (musicnn's per-tag "
                       "sigmoid outputs, averaged over 3 s patches); all_probabilities normalise those scores "
                       "to sum to 1 and confidence is the winner's share."),
        }
