"""The OpenAPI document describes the real answers (issue #16): each operation's success status
and body schema, and its errors as problem+json or, on FHIR routes, OperationOutcomes. Real
answers of a journey through the API are validated against the document's own schemas."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx2
import jsonschema_rs
import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from bench.messages import HOSPITAL, birth_facts, message

FHIR = "application/fhir+json"


@pytest.fixture
def client(memory_container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(memory_container, close_on_shutdown=False)) as test_client:
        yield test_client


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    found: dict[str, Any] = client.get("/openapi.json").json()
    return found


def documented(document: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    """The response the document gives for `method path` answering `status`."""
    for template, operations in document["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", re.escape(template).replace(r"\{", "{")
                               .replace(r"\}", "}")) + "$"  # fmt: skip
        if re.match(pattern, path) and method.lower() in operations:
            responses: dict[str, Any] = operations[method.lower()]["responses"]
            assert str(status) in responses, (method, template, status, sorted(responses))
            return dict(responses[str(status)])
    raise AssertionError(f"{method} {path} is not in the document")


def conforms(document: dict[str, Any], response: httpx2.Response) -> None:
    """The answer's status, media type and body are the ones the document gives."""
    request = response.request
    answer = documented(document, request.method, request.url.path, response.status_code)
    content = answer.get("content")
    if not content:
        assert not response.content
        return
    media = response.headers["content-type"].split(";")[0].strip()
    assert media in content, (request.method, request.url.path, media, sorted(content))
    schema = {**content[media]["schema"], "components": document["components"]}
    body = response.json() if media.endswith("json") else response.text
    jsonschema_rs.validate(schema, body)


def test_post_track_is_documented_as_201_and_answers_201(
    client: TestClient, memory_container: Container, document: dict[str, Any]
) -> None:
    responses = document["paths"]["/track"]["post"]["responses"]
    assert "201" in responses
    assert "200" not in responses
    hospital = {"Authorization": f"Bearer {memory_container.actors.add('hospital', HOSPITAL)[1]}"}
    ack = client.post("/fhir/$process-message", content=message("oas", 0).body,
                      headers={**hospital, "Content-Type": FHIR}).json()  # fmt: skip
    code = _tracking_code(ack)
    signed_in = client.post(
        "/track", json={"tracking_code": code, "verifier": birth_facts("oas", 0).mother.phone}
    )
    assert signed_in.status_code == 201
    conforms(document, signed_in)


def test_every_request_body_is_a_media_type_with_a_known_schema(
    document: dict[str, Any],
) -> None:
    """A body's content is keyed by its media type (`type/subtype`), never by a schema's name
    (POST /verify once was: schemathesis refused the document)."""
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for media, described in operation.get("requestBody", {}).get("content", {}).items():
                assert re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", media), (method, path, media)
                ref = described.get("schema", {}).get("$ref")
                if ref is not None:
                    assert ref.rsplit("/", 1)[1] in schemas, (method, path, ref)


def test_every_answer_has_a_schema_and_every_error_a_problem_or_outcome(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if status in ("204", "304"):
                    assert "content" not in answer
                    continue
                assert answer.get("content"), (method, path, status)
                for media, described in answer["content"].items():
                    schema = described["schema"]
                    if "$ref" in schema:
                        assert schema["$ref"].rsplit("/", 1)[1] in schemas
                    if int(status) >= 400:
                        fhir = path.startswith("/fhir/")
                        assert media == (FHIR if fhir else "application/problem+json")
                        name = "OperationOutcome" if fhir else "Problem"
                        assert schema == {"$ref": f"#/components/schemas/{name}"}
                    elif media.endswith("json"):
                        assert schema != {"type": "object"}, (method, path, status)


def test_a_journey_answers_as_documented(
    client: TestClient, memory_container: Container, document: dict[str, Any]
) -> None:
    container = memory_container
    hospital = {"Authorization": f"Bearer {container.actors.add('hospital', HOSPITAL)[1]}"}
    admin = {"Authorization": f"Bearer {container.actors.add('admin', None)[1]}"}
    office = {"Authorization": f"Bearer {container.actors.add('office', '430602', 'health')[1]}"}
    monitor = {"Authorization": f"Bearer {container.actors.add('monitor', '43')[1]}"}
    fhir = {**hospital, "Content-Type": FHIR}
    answers = [client.post("/fhir/$process-message", content=message("oas", 1).body, headers=fhir)]
    ack = answers[0].json()
    case_id = _parameter(ack, "case_id")
    answers += [
        client.post("/fhir/$process-message", content=b"{}", headers=fhir),
        client.post(
            "/fhir/$process-message", content=b"{}", headers={**fhir, "Content-Type": "text/plain"}
        ),
        client.post("/fhir/$process-message", content=b"{}", headers={"Content-Type": FHIR}),
        client.get(f"/cases/{case_id}", headers=hospital),
        client.get(f"/cases/{case_id}/history", headers=admin),
        client.get(
            "/cases", params={"hospital_ref": birth_facts("oas", 1).record_ref}, headers=hospital
        ),
        client.get("/cases", headers=hospital),
        client.get(f"/cases/{case_id}", params={"as_of": "never"}, headers=hospital),
        client.get("/offices/430602/health/queue", headers=office),
        client.get("/offices/430602/health/queue", params={"limit": "x"}, headers=office),
        client.get("/monitoring/localities/430602", headers=monitor),
        client.get("/monitoring/flows", headers=monitor),
        client.get("/monitoring/flows", params={"month": "13"}, headers=monitor),
        client.get("/localities/430602"),
        client.get("/localities/999999"),
        client.get("/healthz"),
        client.get("/readyz"),
        client.get("/openapi.json"),
        client.get("/metrics"),
        client.get("/track"),
        client.post("/track", json={"tracking_code": "NOPE", "verifier": "000000"}),
        client.post("/track", content=b"[]", headers={"Content-Type": "application/json"}),
        client.delete("/track"),
        client.post(f"/cases/{case_id}/rating", json={"score": 5}, headers=admin),
    ]
    statuses = {a.status_code for a in answers}
    assert {200, 400, 401, 404, 415, 422} <= statuses
    for answer in answers:
        conforms(document, answer)


def _parameter(ack: dict[str, Any], name: str) -> str:
    for entry in ack["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Parameters":
            return str(next(p["valueString"] for p in resource["parameter"] if p["name"] == name))
    raise AssertionError("no Parameters in the acknowledgement")


def _tracking_code(ack: dict[str, Any]) -> str:
    return _parameter(ack, "tracking_code")
