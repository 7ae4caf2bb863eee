"""Generation templates (seed 001 "Template Management") and the engine's model names.

A template is a named parameter set for the engine, kept as data in
`resources/music/templates.toml`. Requests name it (`POST /api/v1/ai/generate-from-template`)
and lay their customizations over its parameters. How often a template was used comes from the
generations recorded with its id, never from the file.

`AI_MODELS` is the one list of model names a request's `ai_model` may carry: the engines this
build really has. An unknown name is a validation error, not a silent fallback.
"""

from __future__ import annotations

import copy
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select

from studio.db.models import Job
from studio.engine.composition.spec import MAX_DURATION_S
from studio.engine.dsp.mastering import TARGET_LUFS
from studio.resources import RESOURCES_DIR
from studio.services.music.common import GENERATE_KIND

if TYPE_CHECKING:
    from studio.context import Context

TEMPLATES_FILE = RESOURCES_DIR / "music" / "templates.toml"

# The engine's models. Only one exists in this build; the name is versioned so that a second
# engine can be added beside it without changing what old requests meant.
AI_MODELS: dict[str, dict[str, Any]] = {
    "studio-composer-v1": {
        "name": "Studio Composer v1",
        "description": ("The built-in engine: a rule-based composer (style presets, harmony, melody with motifs, "
                        "bass, drums, lyrics aligned to the melody) rendered on the local device with the embedded "
                        f"General MIDI SoundFont and torch synths, mixed and mastered to {TARGET_LUFS:g} LUFS."),
        "supports_lyrics": True,
        "max_duration_s": MAX_DURATION_S,
    },
}
DEFAULT_AI_MODEL = "studio-composer-v1"


def check_ai_model(value: str | None) -> str | None:
    """The model name, or ValueError naming the allowed ones."""
    if value is not None and value not in AI_MODELS:
        raise ValueError(f"unknown ai_model {value!r}; this studio has: {', '.join(AI_MODELS)}")
    return value


class UnknownTemplate(KeyError):
    pass


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]{3,64}$")
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(min_length=1, max_length=500)
    category: str = Field(min_length=1, max_length=40)
    subcategory: str = Field(min_length=1, max_length=40)
    has_lyrics: bool
    tags: list[str] = Field(default_factory=list, max_length=20)
    ai_model: str = DEFAULT_AI_MODEL
    parameters: dict[str, Any]

    @model_validator(mode="after")
    def _consistent(self) -> "Template":
        from studio.engine.composition.spec import GenerationSpec, resolve_spec
        from studio.engine.composition.styles import find_style

        check_ai_model(self.ai_model)
        spec = GenerationSpec.model_validate(self.parameters)  # raises on a bad parameter
        sings = spec.instrumental is False and spec.lyrics is not None and spec.lyrics.enabled
        if sings != self.has_lyrics:
            raise ValueError(f"template {self.id}: has_lyrics={self.has_lyrics} but its parameters "
                             f"{'do' if sings else 'do not'} ask for sung lyrics")
        style = find_style(self.subcategory)
        resolved = resolve_spec(spec.model_copy(update={"seed": 0}))
        if style is None or style.id != resolved.style:
            raise ValueError(f"template {self.id}: subcategory {self.subcategory!r} is not the style its "
                             f"parameters play ({resolved.style})")
        return self


@lru_cache(maxsize=4)
def load_templates(path: Path = TEMPLATES_FILE) -> tuple[Template, ...]:
    """Every template in the file, validated (a bad file fails loudly, naming the template)."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    templates = tuple(Template.model_validate(item) for item in data.get("template", []))
    ids = [t.id for t in templates]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"{path}: duplicate template ids {duplicates}")
    return templates


def merge_parameters(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` laid over `base`; nested dicts (lyrics) merge key by key."""
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_parameters(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class TemplateService:
    def __init__(self, ctx: "Context") -> None:
        self.ctx = ctx

    @property
    def templates(self) -> tuple[Template, ...]:
        return load_templates()

    def get(self, template_id: str) -> Template:
        for template in self.templates:
            if template.id == template_id:
                return template
        raise UnknownTemplate(template_id)

    def search(self, *, category: str | None = None, subcategory: str | None = None, search: str | None = None,
               ai_model: str | None = None, has_lyrics: bool | None = None) -> list[Template]:
        words = (search or "").lower().split()
        found = []
        for t in self.templates:
            if category and t.category.lower() != category.lower():
                continue
            if subcategory and t.subcategory.lower() != subcategory.lower():
                continue
            if ai_model and t.ai_model != ai_model:
                continue
            if has_lyrics is not None and t.has_lyrics != has_lyrics:
                continue
            if words:
                text = " ".join([t.name, t.description, t.category, t.subcategory, *t.tags]).lower()
                if not all(word in text for word in words):
                    continue
            found.append(t)
        return found

    @staticmethod
    def style(template: Template):
        """The engine style the template plays (its subcategory)."""
        from studio.engine.composition.styles import find_style

        return find_style(template.subcategory)

    @staticmethod
    def resolved(template: Template):
        """The template's parameters as the engine resolves them (seed 0): the defaults it stands for."""
        from studio.engine.composition.spec import GenerationSpec, resolve_spec

        return resolve_spec(GenerationSpec.model_validate({**template.parameters, "seed": 0}))

    def categories(self) -> list[dict[str, Any]]:
        counts: dict[str, int] = {}
        for t in self.templates:
            counts[t.category] = counts.get(t.category, 0) + 1
        return [{"name": name, "count": n} for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    def usage(self) -> dict[str, dict[str, Any]]:
        """Per template id: generations started from it by status, and its newest finished track's
        files (a real preview), from the job table."""
        template_id = Job.params["template_id"].as_string()
        usage: dict[str, dict[str, Any]] = {}
        with self.ctx.db.session() as s:
            rows = s.execute(select(template_id, Job.status, func.count())
                             .where(Job.kind == GENERATE_KIND, template_id.is_not(None))
                             .group_by(template_id, Job.status)).all()
            for tid, status, n in rows:
                entry = usage.setdefault(tid, {"generations": 0, "completed": 0, "latest_files": None,
                                               "latest_generation_id": None})
                entry["generations"] += n
                if status == "completed":
                    entry["completed"] += n
            finished = s.execute(select(template_id, Job.id, Job.result)
                                 .where(Job.kind == GENERATE_KIND, template_id.is_not(None), Job.status == "completed")
                                 .order_by(Job.finished_at.desc())).all()
        for tid, job_id, result in finished:
            entry = usage.get(tid)
            if entry is not None and entry["latest_files"] is None and (result or {}).get("files"):
                entry["latest_files"] = result["files"]
                entry["latest_generation_id"] = job_id
                entry["latest_track_id"] = result.get("track_id")
        return usage
