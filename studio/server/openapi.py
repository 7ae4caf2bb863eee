"""/openapi.json from the same RouteSpecs (and pydantic models) that validate requests."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, TypeAdapter

from studio import __version__
from studio.server.errors import uses_envelope
from studio.server.routing import RouteSpec

_PATH_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[^}]*)?\}")

_ERROR_FIELDS = {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}}

# seed 000's error shape, under /api/... outside the envelope family
_ERROR_SCHEMA = {
    "type": "object", "required": ["status", "error"],
    "properties": {
        "status": {"type": "string", "enum": ["error"]},
        "error": {"type": "object", "required": ["code", "message", "timestamp", "request_id"],
                  "properties": {**_ERROR_FIELDS, "timestamp": {"type": "string"}, "request_id": {"type": "string"}}},
    },
}
# the envelope family's error shape (/api/v1/..., /api/characters/..., /api/voice/generate|list)
_ENVELOPE_ERROR_SCHEMA = {
    "type": "object", "required": ["success", "error", "timestamp", "request_id"],
    "properties": {
        "success": {"type": "boolean", "enum": [False]},
        "error": {"type": "object", "required": ["code", "message"], "properties": _ERROR_FIELDS},
        "timestamp": {"type": "string"}, "request_id": {"type": "string"},
    },
}
_TEXT_OR_BINARY = {"binary": {"type": "string", "format": "binary"}, "text": {"type": "string"}}

# statuses the middlewares and the parsing answer, by what a route declares (see middleware.py)
_BODY_STATUSES = {400: "Malformed request body (not JSON, not an object, or a broken multipart form)",
                  413: "Request body over the size limit"}
_VALIDATION = "Invalid parameter; the message names the field and what to fix"
_AUTH_STATUSES = {401: "Missing or invalid credentials",
                  403: "Not allowed for this key (admin only), or a cookie-authenticated change from another site",
                  429: "Rate limit exceeded (see Retry-After)"}
_HOST_STATUS = {421: "The Host header does not name this machine (see allowed_hosts in the settings)"}


def _add_component(components: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    """Components are named by their model's class: two different models of one name would
    silently replace each other in the document, so that is an error (rename one)."""
    if components.get(name, schema) != schema:
        raise ValueError(f"two different models are both named {name!r} in /openapi.json: rename one")
    components[name] = schema


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        _add_component(components, name, definition)
    _add_component(components, model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _schema_of(annotation: Any, components: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema of a model or any type pydantic understands, its models in `components`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _schema_ref(annotation, components)
    schema = TypeAdapter(annotation).json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        _add_component(components, name, definition)
    return schema


def _success_schema(spec: RouteSpec, components: dict[str, Any], model: Any) -> dict[str, Any]:
    inner = _schema_of(model, components)
    if not spec.wrap:
        return inner
    if uses_envelope(spec.path):
        return {"type": "object", "required": ["success", "data", "message", "timestamp", "request_id"],
                "properties": {"success": {"type": "boolean", "enum": [True]}, "data": inner,
                               "message": {"type": "string"}, "timestamp": {"type": "string"},
                               "request_id": {"type": "string"}}}
    return _with_status(inner, components)


_STATUS_FIELD = {"type": "string", "description": "'success', or the state the operation reports"}


def _with_status(inner: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Seed 000's bodies carry `status` beside the model's fields: the model's object schema with
    that field added (not allOf: a model that forbids other fields would refuse `status`)."""
    ref = inner.get("$ref", "")
    if not ref.startswith("#/components/schemas/"):
        return inner  # not an object model (a list, a free-form object): documented as it is
    name = ref.rsplit("/", 1)[1]
    model = components[name]
    merged = {**model, "properties": {"status": _STATUS_FIELD, **model.get("properties", {})},
              "required": ["status", *model.get("required", [])]}
    components[f"{name}Response"] = merged
    return {"$ref": f"#/components/schemas/{name}Response"}


# no body whatever the operation: 204 No Content, and what aiohttp answers itself for conditional
# and range requests on files (304 Not Modified, 412 Precondition Failed, 416 Range Not Satisfiable)
_BODYLESS = {204, 304, 412, 416}


def _responses(spec: RouteSpec, components: dict[str, Any]) -> dict[str, Any]:
    # a declared status is "what it means", or ("what it means", model) when its body is not the
    # usual one (an error object for 4xx/5xx, `response` for 2xx): e.g. a 503 health report
    declared = {code: (value if isinstance(value, tuple) else (value, None)) for code, value in spec.responses.items()}
    statuses: dict[int, tuple[str, Any]] = {}
    if not any(code < 300 for code in declared):
        statuses[200] = ("Success", None)
    statuses.update(declared)
    automatic: dict[int, str] = {}
    if spec.body is not None or spec.form:
        automatic.update(_BODY_STATUSES)
    if spec.body is not None or spec.query is not None or spec.form:
        automatic[422] = _VALIDATION
    if "{" in spec.path:
        automatic[404] = "No such resource"
    if not spec.public:
        automatic.update(_AUTH_STATUSES)
        if spec.method != "GET":
            automatic[415] = "A cookie-authenticated change sent as a form or text/plain (send JSON)"
    automatic.update(_HOST_STATUS)
    for code, text in automatic.items():
        statuses.setdefault(code, (text, None))
    error_ref = {"$ref": "#/components/schemas/" + ("EnvelopeError" if uses_envelope(spec.path) else "Error")}
    out: dict[str, Any] = {}
    for code in sorted(statuses):
        text, model = statuses[code]
        response: dict[str, Any] = {"description": text}
        if code in _BODYLESS:
            pass
        elif model is not None:
            response["content"] = {"application/json": {"schema": _success_schema(spec, components, model)}}
        elif code >= 400:
            response["content"] = {"application/json": {"schema": error_ref}}
        else:
            content: dict[str, Any] = {}
            if spec.response is not None:
                content["application/json"] = {"schema": _success_schema(spec, components, spec.response)}
            for media_type, kind in (spec.media or {}).items():
                content[media_type] = {"schema": _TEXT_OR_BINARY[kind]}
            if content:
                response["content"] = content
        out[str(code)] = response
    return out


def build_openapi(specs: list[RouteSpec], server_url: str) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": _ERROR_SCHEMA, "EnvelopeError": _ENVELOPE_ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    operation_ids: set[str] = set()
    for spec in specs:
        path = _PATH_PARAM.sub(r"{\1}", spec.path)
        operation_id = f"{spec.method.lower()}_{spec.handler.__name__}"
        if operation_id in operation_ids:  # two areas' handlers of one name: the path tells them apart
            operation_id = spec.method.lower() + "_" + re.sub(r"[^a-zA-Z0-9]+", "_", path).strip("_")
        operation_ids.add(operation_id)
        operation: dict[str, Any] = {
            "summary": spec.summary,
            "tags": spec.tags,
            "operationId": operation_id,
            "responses": _responses(spec, components),
        }
        if spec.description:
            operation["description"] = spec.description
        parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                      for name in _PATH_PARAM.findall(spec.path)]
        if spec.query is not None:
            query_schema = spec.query.model_json_schema()
            required = set(query_schema.get("required", []))
            for name, prop in query_schema.get("properties", {}).items():
                parameters.append({"name": name, "in": "query", "required": name in required,
                                   "schema": prop, "description": prop.get("description", "")})
        if parameters:
            operation["parameters"] = parameters
        if spec.body is not None:
            # required when the model has required fields; otherwise a missing body means all defaults
            operation["requestBody"] = {"required": bool(spec.body.model_json_schema().get("required")),
                                        "content": {"application/json": {"schema": _schema_ref(spec.body, components)}}}
        elif spec.form:
            props = {name: ({"type": "string", "format": "binary"} if kind == "file" else
                            {"type": "array", "items": {"type": "string", "format": "binary"}} if kind == "files" else
                            {"type": "string"}) for name, kind in spec.form.items()}
            operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {
                "schema": {"type": "object", "properties": props}}}}
        if not spec.public:
            operation["security"] = [{"bearerAuth": []}, {"apiKeyHeader": []}, {"apiKeyQuery": []}]
        paths.setdefault(path, {})[spec.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Studio local API", "version": __version__,
                 "description": "The documented API of the studio: seed 000 paths under /api/..., "
                                "seed 001 under /api/v1/ai/..., seeds 003/004 under /api/v1/..."},
        "servers": [{"url": server_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "api_key"},
            },
        },
    }
