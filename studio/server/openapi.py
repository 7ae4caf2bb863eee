"""/openapi.json from the same RouteSpecs (and pydantic models) that validate requests."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from studio import __version__
from studio.server.routing import RouteSpec

_PATH_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[^}]*)?\}")

_ERROR_SCHEMA = {
    "type": "object",
    "description": "Seed 000 shape under /api/...; /api/v1/... uses {success: false, error: {...}, timestamp, request_id}.",
    "properties": {
        "status": {"type": "string", "enum": ["error"]},
        "error": {"type": "object", "properties": {
            "code": {"type": "string"}, "message": {"type": "string"}, "details": {},
            "timestamp": {"type": "string"}, "request_id": {"type": "string"}}},
    },
}


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_openapi(specs: list[RouteSpec], server_url: str) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": _ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for spec in specs:
        path = _PATH_PARAM.sub(r"{\1}", spec.path)
        operation: dict[str, Any] = {
            "summary": spec.summary,
            "tags": spec.tags,
            "operationId": f"{spec.method.lower()}_{spec.handler.__name__}",
            "responses": {"200": {"description": spec.responses.get(200, "Success")}},
        }
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        if spec.body is not None or spec.form:
            operation["responses"]["400"] = {"description": "Malformed request body", "content": error}
        if spec.body is not None or spec.query is not None or spec.form:
            operation["responses"]["422"] = {"description": "Validation failed; the message names the field",
                                             "content": error}
        if "{" in spec.path:
            operation["responses"]["404"] = {"description": "No such resource", "content": error}
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
            operation["requestBody"] = {"required": True,
                                        "content": {"application/json": {"schema": _schema_ref(spec.body, components)}}}
        elif spec.form:
            props = {name: ({"type": "string", "format": "binary"} if kind == "file" else
                            {"type": "array", "items": {"type": "string", "format": "binary"}} if kind == "files" else
                            {"type": "string"}) for name, kind in spec.form.items()}
            operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {
                "schema": {"type": "object", "properties": props}}}}
        if not spec.public:
            operation["security"] = [{"bearerAuth": []}, {"apiKeyHeader": []}, {"apiKeyQuery": []}]
            operation["responses"]["401"] = {"description": "Missing or invalid credentials"}
            operation["responses"]["429"] = {"description": "Rate limit exceeded (see Retry-After)"}
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
