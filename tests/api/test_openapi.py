"""The OpenAPI document: every operation documents its request, its answers and its errors."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

BODY_METHODS = {"post", "patch", "put"}
# Actions whose path says everything: no body to document.
BODYLESS = {
    ("post", "/v1/api-keys/{api_key_id}/revoke"),
}


@pytest.fixture
async def schema(anonymous: AsyncTestClient[Litestar]) -> dict[str, Any]:
    response = await anonymous.get("/schema/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "patch", "put", "delete"}
    ]


def error_schema_refs(operation: dict[str, Any]) -> dict[str, str]:
    refs = {}
    for status, response in operation.get("responses", {}).items():
        if not status.startswith(("4", "5")):
            continue
        content = response.get("content", {}).get("application/json", {})
        refs[status] = content.get("schema", {}).get("$ref", "")
    return refs


def test_the_error_payload_is_a_documented_schema(schema: dict[str, Any]) -> None:
    body = schema["components"]["schemas"]["ErrorBody"]
    assert body["required"] == ["error"]
    detail = schema["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message", "details", "request_id"}


def test_every_v1_operation_documents_its_errors(schema: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in operations(schema):
        if not path.startswith("/v1/"):
            continue
        refs = error_schema_refs(operation)
        needed = {"400", "500", "503"} if path.startswith("/v1/webhooks/") else {"401", "403"}
        if not needed <= set(refs) or any(not ref.endswith("/ErrorBody") for ref in refs.values()):
            missing.append(f"{method.upper()} {path}: {sorted(refs)}")
    assert not missing, missing


def test_every_operation_documents_a_success_answer(schema: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in operations(schema):
        ok = [s for s in operation["responses"] if s.startswith("2")]
        if not ok or not operation.get("summary"):
            missing.append(f"{method.upper()} {path}")
            continue
        response = operation["responses"][ok[0]]
        if ok[0] != "204" and not response.get("content"):
            missing.append(f"{method.upper()} {path}: no content for {ok[0]}")
    assert not missing, missing


def test_every_write_documents_its_request_body(schema: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in operations(schema):
        if method not in BODY_METHODS or path.startswith("/v1/webhooks/"):
            continue
        body = operation.get("requestBody")
        if body is None:
            if (method, path) not in BODYLESS and not path.endswith(
                ("/revoke", "/archive", "/issue", "/activate", "/retry", "/cancel", "/refresh")
            ):
                missing.append(f"{method.upper()} {path}")
            continue
        if not body.get("content", {}).get("application/json", {}).get("schema"):
            missing.append(f"{method.upper()} {path}: no schema")
    assert not missing, missing


def test_the_docs_declare_bearer_keys(schema: dict[str, Any]) -> None:
    scheme = schema["components"]["securitySchemes"]["ApiKey"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert schema["security"] == [{"ApiKey": []}]
