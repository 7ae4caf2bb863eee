"""Route declarations with their pydantic models, used for validation and for /openapi.json.

    routes = RouteTable()

    @routes.post("/api/things", summary="Create a thing", tags=["things"], body=ThingIn)
    async def create_thing(request, body: ThingIn): ...

The wrapper parses and validates the JSON body / query string before the handler runs, so a
handler only ever sees valid input. Bad input becomes 400 (not JSON) or 422 (names the field).
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from studio.server.errors import ApiError

Handler = Callable[..., Awaitable[web.StreamResponse]]


@dataclass
class RouteSpec:
    method: str
    path: str
    handler: Handler
    summary: str
    tags: list[str]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    form: dict[str, str] | None = None  # multipart fields for the docs: name -> "file" | "string"
    public: bool = False
    admin: bool = False
    description: str = ""
    # every status the handler itself answers, with what it means (2xx and errors), or (meaning,
    # model) when that status's body is not the usual one; those the middlewares and the
    # body/query parsing answer are added by /openapi.json (see openapi.py)
    responses: dict[int, str | tuple[str, Any]] = field(default_factory=dict)
    # the success body: a pydantic model (or list[...] etc.) of what `ok(...)`/`envelope(...)` carry;
    # /openapi.json wraps it in the path's family ({"status": ...} or {success, data, ...})
    response: Any = None
    # non-JSON success bodies: media type -> schema hint ("binary" or "text"); {} for none (a WebSocket)
    media: dict[str, str] | None = None
    wrap: bool = True  # False: the model is the whole body (e.g. /api/health, /openapi.json)


# Bound of every `offset` query parameter: SQLite's OFFSET is a 64-bit integer, and a larger number
# failed inside the driver (a 500) instead of being refused as input (issue #19)
MAX_OFFSET = 1_000_000_000

# A platform key or token as a request field: printable ASCII without inner spaces (it travels in an
# HTTP header or URL, where anything else cannot be encoded: a fuzzed token failed with a 500)
CREDENTIAL_PATTERN = r"^\s*[!-~]*\s*$"

MAX_ECHO_CHARS = 200  # an error names what was sent, not all of it (a 50 MB field must not come back)
MAX_ECHO_ERRORS = 20


def _echo(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_ECHO_CHARS else value[:MAX_ECHO_CHARS] + f"… ({len(value)} characters)"
    if isinstance(value, (bool, int, float)) or value is None:
        return value if not isinstance(value, int) or abs(value) < 10**18 else str(value)[:40] + "…"
    return None  # objects, lists, bytes: not echoed


def validation_error(exc: ValidationError, where: str) -> ApiError:
    errors = []
    for item in exc.errors(include_url=False)[:MAX_ECHO_ERRORS]:
        loc = ".".join(str(part) for part in item["loc"])[:200] or where
        errors.append({"parameter": loc, "value": _echo(item.get("input")), "constraint": str(item["msg"])[:300]})
    first = errors[0]
    value = first["value"]
    if isinstance(value, (dict, list)):
        value = None  # the whole object: not worth echoing
    details = {"parameter": first["parameter"], "value": value, "constraint": first["constraint"], "errors": errors}
    return ApiError(422, f"Invalid parameter: {first['parameter']}: {first['constraint']}", details=details)


async def read_json_object(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"Request body is not valid JSON: {exc}", code="INVALID_REQUEST") from None
    except RecursionError:  # arrays or objects nested hundreds deep: no request of the API needs that
        raise ApiError(400, "Request body is nested too deeply", code="INVALID_REQUEST") from None
    if not isinstance(data, dict):
        raise ApiError(400, "Request body must be a JSON object", code="INVALID_REQUEST")
    return data


def parse_model(model: type[BaseModel], data: dict[str, Any], where: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, where) from None


class RouteTable:
    def __init__(self) -> None:
        self.specs: list[RouteSpec] = []

    def route(self, method: str, path: str, *, summary: str, tags: list[str], body=None, query=None,
              form=None, public=False, admin=False, description: str = "", responses=None, response=None,
              media=None, wrap=True):
        def decorate(fn: Handler) -> Handler:
            async def handler(request: web.Request) -> web.StreamResponse:
                kwargs: dict[str, Any] = {}
                if body is not None:
                    kwargs["body"] = parse_model(body, await read_json_object(request), "body")
                if query is not None:
                    params = {k: v for k, v in request.query.items() if k != "api_key"}
                    kwargs["query"] = parse_model(query, params, "query")
                return await fn(request, **kwargs)

            spec = RouteSpec(method.upper(), path, handler, summary, tags, body, query, form, public, admin,
                             description or inspect.cleandoc(fn.__doc__ or ""), responses or {}, response, media, wrap)
            handler.route_spec = spec  # read by the auth middleware
            handler.__name__ = fn.__name__
            self.specs.append(spec)
            return fn

        return decorate

    def get(self, path: str, **kw):
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw):
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw):
        return self.route("PUT", path, **kw)

    def patch(self, path: str, **kw):
        return self.route("PATCH", path, **kw)

    def delete(self, path: str, **kw):
        return self.route("DELETE", path, **kw)

    def install(self, app: web.Application, router_paths: dict[str, str] | None = None) -> None:
        for spec in self.specs:
            path = (router_paths or {}).get(spec.path, spec.path)
            if spec.method == "GET":  # HTTP wants HEAD wherever GET is served (aiohttp drops the body)
                app.router.add_get(path, spec.handler, allow_head=True)
            else:
                app.router.add_route(spec.method, path, spec.handler)


_SEGMENT_PARAM = re.compile(r"^\{([a-zA-Z_][a-zA-Z0-9_]*)\}$")


def router_paths(specs: list[RouteSpec]) -> dict[str, str]:
    """The router's pattern of each documented path whose parameter has literal siblings:
    `/voice/{voice_id}` beside `/voice/clone` becomes `/voice/{voice_id:(?!(?:clone)(?:/|$))[^/]+}`, so
    `GET .../voice/clone` is not taken for a voice named "clone", and a wrong method on
    `/voice/clone` answers 405 with that path's own methods in `Allow` (not both paths')."""
    split = {path: path.strip("/").split("/") for path in {spec.path for spec in specs}}
    out: dict[str, str] = {}
    for path, segments in split.items():
        excluded: dict[int, set[str]] = {}
        for other, other_segments in split.items():
            if other == path or len(other_segments) != len(segments):
                continue
            differing = [i for i, (a, b) in enumerate(zip(segments, other_segments))
                         if a != b and not (a.startswith("{") and b.startswith("{"))]
            if len(differing) != 1:
                continue
            i = differing[0]
            if _SEGMENT_PARAM.match(segments[i]) and not other_segments[i].startswith("{"):
                excluded.setdefault(i, set()).add(other_segments[i])
        if excluded:
            for i, words in excluded.items():
                name = _SEGMENT_PARAM.match(segments[i]).group(1)
                words_re = "|".join(re.escape(word) for word in sorted(words))
                segments = [*segments[:i], f"{{{name}:(?!(?:{words_re})(?:/|$))[^/]+}}", *segments[i + 1:]]
            out[path] = "/" + "/".join(segments)
    return out


def route_spec(request: web.Request) -> RouteSpec | None:
    handler = getattr(request.match_info, "handler", None)
    return getattr(handler, "route_spec", None)
