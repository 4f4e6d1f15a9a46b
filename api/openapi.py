"""The OpenAPI document, built from the operations each route module declares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROBLEM = {"$ref": "#/components/schemas/Problem"}


@dataclass(frozen=True)
class Operation:
    """One documented operation: path, method, who may call it, what it answers."""

    path: str
    method: str
    summary: str
    roles: tuple[str, ...] = ()
    body: str | None = None
    responses: dict[int, str] = field(default_factory=dict)
    params: tuple[str, ...] = ()


def _operation(op: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": "OK"}}
    for status, text in op.responses.items():
        media = "application/problem+json" if status >= 400 else "application/json"
        responses[str(status)] = {
            "description": text,
            "content": {media: {"schema": PROBLEM}} if status >= 400 else {},
        }
    doc: dict[str, Any] = {"summary": op.summary, "responses": responses}
    if op.roles:
        doc["security"] = [{"bearer": []}]
        doc["description"] = "Roles: " + ", ".join(op.roles)
        responses.setdefault(
            "401",
            {
                "description": "No or bad token",
                "content": {"application/problem+json": {"schema": PROBLEM}},
            },
        )
    names = [p.strip("{}").split(":")[0] for p in op.path.split("/") if p.startswith("{")]
    params = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
    ]
    params += [
        {"name": q, "in": "query", "required": False, "schema": {"type": "string"}}
        for q in op.params
    ]
    if params:
        doc["parameters"] = params
    if op.body:
        doc["requestBody"] = {
            "required": True,
            "content": {op.body: {"schema": {"type": "object"}}},
        }
    return doc


def openapi_document(operations: list[Operation], version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        path = "/".join(p.split(":")[0] + ("}" if ":" in p else "") for p in op.path.split("/"))
        paths.setdefault(path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "newborn-ledger",
            "version": version,
            "description": "Case ledger for the cross-province newborn 'one thing' service",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "instance": {"type": "string"},
                    },
                }
            },
        },
    }
