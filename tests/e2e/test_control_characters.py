"""A NUL (or another control character) in any input is a located 4xx, never a 503 'store
unavailable' (PostgreSQL text cannot hold U+0000): in a body, a path, a query, unauthenticated
or not, on SQLite and PostgreSQL. A data error the store raises anyway is a 422, not an outage."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from eventsourcing.persistence import DataError, OperationalError, ProgrammingError
from starlette.requests import Request
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from api.problems import unavailable


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


@pytest.fixture
def admin(container: Container) -> dict[str, str]:
    return {"Authorization": f"Bearer {container.actors.add('admin', None)[1]}"}


def test_a_nul_in_a_sign_in_is_422_naming_the_field(client: TestClient) -> None:
    response = client.post("/track", json={"tracking_code": "AB\x00CD", "verifier": "123456"})
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/invalid-character"
    assert problem["field"] == "tracking_code"
    nested = client.post("/track", json={"tracking_code": "X", "verifier": "1", "x\x01": 1})
    assert nested.status_code == 422  # in a key too, before the unknown-field check


def test_nul_in_a_path_or_query_is_400_for_anyone(
    client: TestClient, admin: dict[str, str]
) -> None:
    for url, where in [
        ("/offices/42%000102/public-security/queue", "path"),
        ("/offices/420102/public-security/queue?state=received%00", "query parameter 'state'"),
        ("/localities/43%00", "path"),
        ("/cases?hospital_ref=MR%00", "query parameter 'hospital_ref'"),
    ]:
        for headers in (admin, {}):
            response = client.get(url, headers=headers)
            assert response.status_code == 400, (url, response.text)
            assert response.json()["location"] == where
            assert response.headers["content-type"] == "application/problem+json"


def test_on_a_fhir_route_the_refusal_is_an_operation_outcome(client: TestClient) -> None:
    response = client.get("/fhir/metadata?_format=json%00")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/fhir+json"
    (issue,) = response.json()["issue"]
    assert issue["code"] == "invalid"
    assert "query parameter '_format'" in issue["diagnostics"]


def test_store_data_errors_are_422_not_an_outage() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/x", "headers": []})

    async def answer(exc: Exception) -> int:
        return (await unavailable(request, exc)).status_code

    assert asyncio.run(answer(DataError("text fields cannot contain NUL"))) == 422
    assert asyncio.run(answer(ProgrammingError("bad SQL"))) == 500
    assert asyncio.run(answer(OperationalError("connection refused"))) == 503
