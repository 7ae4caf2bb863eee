"""Models (seed 002 `GET /api/models`, `GET /api/models/{model_id}`, `POST /api/models/install`): the
SoundFonts, voices and analysis models the studio has, and installing a SoundFont or a Piper voice
the user picked."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from studio.server import multipart
from studio.server.errors import ApiError, not_found, ok
from studio.server.keys import IDENTITY, SERVICES
from studio.server.routing import RouteTable, parse_model, read_json_object
from studio.server.schemas.system import ModelInstalledOut, ModelListOut, ModelOut
from studio.services.system.models import ACCEPTED, ModelError, UnknownModel

routes = RouteTable()
TAGS = ["models"]
FILE_FIELDS = ("file", "soundfont")


def _system(request: web.Request):
    return request.app[SERVICES].system


def _shown(request: web.Request, model: dict[str, Any]) -> dict[str, Any]:
    """Where a file lies is for admin keys (as in /api/system/config); others see the rest."""
    identity = request.get(IDENTITY)
    if identity is None or not identity.is_admin:
        return {**model, "path": None}
    return model


class ModelListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["soundfont", "voice", "tagger", "speaker_encoder"] | None = None


@routes.get("/api/models", summary="The studio's models, voices and SoundFonts", tags=TAGS, query=ModelListQuery,
            description="Every model file the studio has: the embedded General MIDI SoundFont, the SoundFont named "
                        "in Settings, SoundFonts you installed, the built-in voices (male Piper joe, female "
                        "hibari heart), Piper voices you installed, the musicnn taggers and "
                        "the speaker encoder; each with id, kind, name, size_bytes, sha256 (computed once per file "
                        "version), source, license where known, installed and in_use. `path` is shown to admin "
                        "keys only.", response=ModelListOut)
async def list_models(request: web.Request, query: ModelListQuery) -> web.Response:
    models = await _system(request).models.list_async(query.kind)
    return ok({"total": len(models), "models": [_shown(request, m) for m in models]})


@routes.get("/api/models/{model_id}", summary="One model in detail", tags=TAGS,
            description="One model as in GET /api/models; a SoundFont also tells its name, version, presets and "
                        "samples as read from the file.", responses={404: "No model has this id"}, response=ModelOut)
async def get_model(request: web.Request) -> web.Response:
    model_id = request.match_info["model_id"]
    try:
        return ok({"model": _shown(request, await _system(request).models.get_async(model_id))})
    except UnknownModel:
        raise not_found("model", model_id) from None


class InstallIn(BaseModel):
    """Install from a file inside a folder allowed in Settings ('Folders the API may read')."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=2000, description="Full path of a .sf2 file, or of a Piper voice's "
                      ".onnx model with its .onnx.json config beside it, in an allowed folder")
    name: str | None = Field(default=None, max_length=100, description="Display name (default: the SoundFont's own)")
    use: bool = Field(default=False, description="Render with it from now on (sets soundfont_path)")


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@routes.post("/api/models/install", summary="Install a SoundFont or a Piper voice you picked", tags=TAGS, admin=True,
             form={"file": "file", "name": "string", "use": "string"},
             description=f"Accepts {ACCEPTED}: uploaded as multipart/form-data (`file`, twice for a voice: the "
                         "model and its config; optional `name`, `use`), or as JSON {path, name, use} where `path` "
                         "lies inside a folder allowed in Settings ('Folders the API may read'), a voice's config "
                         "beside its model; any other path is refused (403). A SoundFont is parsed in full; a voice's "
                         "config must parse (sample rate, phoneme map) and its model load in onnxruntime and speak a "
                         "test phrase. Files are stored in the data dir under an id and listed by GET /api/models; a "
                         "SoundFont can be chosen as generation_settings.soundfont_path (`use`: at once), a voice as "
                         "a character's voice_settings.base_voice (its `base_voice`). The same file twice is "
                         "installed once. Admin keys only.",
             response=ModelInstalledOut,
             responses={200: "The same file was installed before: nothing new was stored (already_installed)",
                        201: "Installed",
                        400: "Not a usable SoundFont 2 file (SF3, a damaged file, another kind of file), no file or "
                             "too many, a path that names no file, or a body that is neither a multipart form nor JSON",
                        403: "Not an admin key; or `path` lies outside the folders allowed in Settings",
                        413: "The file is over the body limit, a SoundFont over 2 GB or a voice over 512 MB",
                        422: "An invalid JSON field; a Piper voice without its config, or one that fails the checks "
                             "(config, loading, speaking); or installed, but `use` could not select it"})
async def install_model(request: web.Request) -> web.Response:
    catalog = _system(request).models
    try:
        if request.content_type.startswith("multipart/"):
            limit = request.app[SERVICES].settings.max_body_mb << 20
            try:
                files, fields = await multipart.read_form(request, FILE_FIELDS, limit,
                                                          example="curl -F file=@MyFont.sf2 -F use=true")
            except multipart.FileTooLargeError as exc:
                raise ApiError(413, exc.message, details=exc.details) from None
            except multipart.FormError as exc:
                raise ApiError(400, exc.message, details=exc.details) from None
            if not 1 <= len(files) <= 2:
                raise ApiError(400, f"send one file in the field 'file' ({ACCEPTED}), or two for a Piper voice; got "
                                    f"{len(files)}", details={"parameter": "file"})
            result = await catalog.install_files_async(files, name=(fields.get("name") or "")[:100] or None,
                                                       use=_flag(fields.get("use")))
        else:
            if request.body_exists and request.content_type not in ("application/json", "application/octet-stream"):
                raise ApiError(400, "send the SoundFont or voice files as multipart/form-data (field 'file'), or JSON "
                                    "{path, name, use} naming a file in a folder allowed in Settings",
                               details={"content_type": request.content_type})
            body = parse_model(InstallIn, await read_json_object(request), "body")
            result = await catalog.install_path_async(body.path, name=body.name, use=body.use)
    except ModelError as exc:
        raise ApiError(exc.http_status, exc.message, details={"parameter": exc.field, "accepted": ACCEPTED}) from None
    except ValueError as exc:  # `use`: the setting could not be applied
        raise ApiError(422, f"Installed, but it could not be selected: {exc}") from None
    result["model"] = _shown(request, result["model"])
    return ok(result, http_status=200 if result["already_installed"] else 201)
