"""The API's contract checked on every response the test suite sees (issue #19).

Each app the tests build through `aiohttp_client` gets an outermost middleware that looks up the
operation the request matched in the app's own /openapi.json and checks what went back: the
status is one the operation documents, and a JSON body matches the schema documented for that
status. A mismatch fails the test that made the request (see tests/conftest.py), so a new field,
status or route cannot ship undocumented.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs
from aiohttp import web

from studio.server.keys import ROUTE_SPECS
from studio.server.openapi import _PATH_PARAM, build_openapi
from studio.server.routing import route_spec

REPORT = os.environ.get("CONTRACT_REPORT")
_DOCUMENTS: dict[tuple, dict] = {}
_VALIDATORS: dict[tuple, dict] = {}  # a file to append every mismatch to, as JSON lines (for triage)


@dataclass
class ContractChecker:
    violations: list[str] = field(default_factory=list)
    _operations: dict[tuple[str, str], dict] = field(default_factory=dict)
    _components: dict[str, Any] = field(default_factory=dict)
    # compiled once per (operation, status, media type): compiling against ~500 components costs
    # tens of milliseconds, and a junk-input test sends thousands of requests
    _validators: dict[tuple, Any] = field(default_factory=dict)

    def attach(self, app: web.Application) -> None:
        specs = app[ROUTE_SPECS]
        key = tuple(id(spec) for spec in specs)
        if key not in _DOCUMENTS:  # every app of the run has the same routes: build the document once
            _DOCUMENTS[key] = build_openapi(specs, "http://127.0.0.1")
        document = _DOCUMENTS[key]
        self._components = document["components"]
        for path, methods in document["paths"].items():
            for method, operation in methods.items():
                self._operations[(method.upper(), path)] = operation
        self._validators = _VALIDATORS.setdefault(key, {})
        app.middlewares.insert(0, self._middleware())

    def _middleware(self):
        @web.middleware
        async def check_contract(request: web.Request, handler) -> web.StreamResponse:
            response = await handler(request)
            spec = route_spec(request)
            # operations without a declared success body are not contracted yet (a report checks all)
            # (test_openapi_contract lists them; the goal is none)
            if spec is not None and (REPORT or spec.response is not None or spec.media is not None):
                self.check(spec.method, _PATH_PARAM.sub(r"{\1}", spec.path), request, response)
            return response
        return check_contract

    def check(self, method: str, path: str, request: web.Request, response: web.StreamResponse) -> None:
        operation = self._operations.get((method, path))
        if operation is None:
            return
        where = f"{method} {path} -> {response.status}"
        documented = operation["responses"].get(str(response.status))
        if response.status == 500 and _error_code(response) == "INTERNAL_ERROR":
            return  # an unhandled exception: never documented (a 500 is a bug; tests that force one check its shape)
        if documented is None:
            self._fail(where, f"status {response.status} is not documented "
                              f"(documented: {', '.join(operation['responses'])})", response)
            return
        if request.method == "HEAD" or not isinstance(response, web.Response) or response.body is None:
            return
        media_type = response.content_type
        content = documented.get("content")
        if content is None:
            if response.status < 300 and media_type == "application/json":
                self._fail(where, "a JSON body whose schema is not documented", response)
            return
        if media_type not in content:
            self._fail(where, f"content type {media_type} not documented ({', '.join(content)})", response)
            return
        schema = content[media_type].get("schema")
        if media_type != "application/json" or schema is None:
            return
        body = json.loads(response.body)
        cache_key = (method, path, response.status, media_type)
        validator = self._validators.get(cache_key)
        if validator is None:
            validator = self._validators[cache_key] = jsonschema_rs.Draft202012Validator(
                {**schema, "components": self._components})
        errors = list(validator.iter_errors(body))
        if errors:
            first = errors[0]
            location = "/".join(str(p) for p in first.instance_path) or "(body)"
            self._fail(where, f"{len(errors)} schema error(s); first at {location}: {first.message[:300]}", response)

    def _fail(self, where: str, problem: str, response: web.StreamResponse) -> None:
        self.violations.append(f"{where}: {problem}")
        if REPORT:
            body = None
            if isinstance(response, web.Response) and response.body is not None and response.content_type == "application/json":
                body = response.body.decode("utf-8", "replace")[:4000]
            with open(REPORT, "a", encoding="utf-8") as out:
                out.write(json.dumps({"where": where, "problem": problem, "body": body,
                                      "test": os.environ.get("PYTEST_CURRENT_TEST", "")}) + "\n")


def _error_code(response: web.StreamResponse) -> str | None:
    if not isinstance(response, web.Response) or response.body is None or response.content_type != "application/json":
        return None
    try:
        error = json.loads(response.body).get("error")
    except (ValueError, AttributeError):
        return None
    return error.get("code") if isinstance(error, dict) else None
