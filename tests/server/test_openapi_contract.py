"""/openapi.json is the whole contract (issue #19): every operation declares its success body and
the statuses it answers, names are unique, and the text speaks to API users."""

from __future__ import annotations

import re

from studio.server.app import ROUTE_TABLES
from studio.server.openapi import build_openapi

SPECS = [spec for table in ROUTE_TABLES for spec in table.specs]


def _document():
    return build_openapi(SPECS, "http://127.0.0.1:8000")


def test_every_operation_declares_its_success_body():
    undeclared = [f"{spec.method} {spec.path}" for spec in SPECS if spec.response is None and spec.media is None]
    assert not undeclared, f"operations without response= or media=: {undeclared}"


def test_every_success_status_documents_a_body_and_errors_their_shape():
    document = _document()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            statuses = operation["responses"]
            assert any(code.startswith(("1", "2")) for code in statuses), (method, path)
            for code, response in statuses.items():
                if code in ("101", "204", "304", "412", "416"):
                    assert "content" not in response, (method, path, code)
                    continue
                if method == "get" and path == "/ws":
                    continue
                assert response.get("content"), f"{method.upper()} {path} {code} documents no body"
            if not path.startswith(("/openapi.json", "/docs", "/redoc")):
                assert "401" in statuses or operation.get("security") is None, (method, path)


def test_operation_ids_are_unique_and_model_names_do_not_collide():
    document = _document()  # build_openapi raises when two different models share a component name
    ids = [operation["operationId"] for methods in document["paths"].values() for operation in methods.values()]
    assert len(ids) == len(set(ids))


def test_descriptions_speak_of_the_api_not_of_the_seed_documents():
    document = _document()
    mentions = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for text in (operation.get("summary", ""), operation.get("description", "")):
                if re.search(r"\bseeds?\s*0\d\d", text, re.IGNORECASE):
                    mentions.append(f"{method.upper()} {path}")
    for name, schema in document["components"]["schemas"].items():
        text = str(schema.get("description", "")) + " ".join(
            str(prop.get("description", "")) for prop in schema.get("properties", {}).values() if isinstance(prop, dict))
        if re.search(r"\bseeds?\s*0\d\d", text, re.IGNORECASE):
            mentions.append(f"component {name}")
    assert not mentions, mentions
