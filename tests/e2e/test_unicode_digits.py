"""Characters Python calls digits but int() refuses ("²", U+00B2: str.isdigit() is true) and
numbers longer than int() converts (Python 3.11 refuses more than 4,300 digits) are bad input:
a named 4xx, never a 500, in a query number, a feed cursor, or a key of a hospital's message."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from tests.unit.test_fhir_intake import FIXTURES, USCC

OFFICE = ("420102", "public-security")


@pytest.fixture
def client(memory_container: Container) -> Iterator[TestClient]:
    app = create_app(memory_container, close_on_shutdown=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("route", "query", "parameter"),
    [
        ("feed", "after=%C2%B2", "after"),
        ("feed", "after=" + "1" * 5000, "after"),
        ("feed", "limit=%C2%B9", "limit"),
        ("feed", "wait=%C2%B3", "wait"),
        ("feed", "limit=%D9%A3", "limit"),  # an Arabic-Indic three: int() reads it, we do not
        ("queue", "limit=%C2%B9", "limit"),
        ("queue", "offset=%C2%B2", "offset"),
        ("queue", "offset=" + "9" * 5000, "offset"),
    ],
)
def test_a_number_that_is_not_ascii_digits_is_422(
    client: TestClient, memory_container: Container, route: str, query: str, parameter: str
) -> None:
    token = memory_container.actors.add("office", *OFFICE)[1]
    response = client.get(
        f"/offices/{OFFICE[0]}/{OFFICE[1]}/{route}?{query}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422, response.text[:300]
    assert response.json()["parameter"] == parameter


def test_a_digit_like_key_in_a_hospital_message_is_a_located_4xx(
    client: TestClient, memory_container: Container
) -> None:
    message = orjson.loads((FIXTURES / "notification-minimal.json").read_bytes())
    message["entry"][0]["resource"]["²"] = "x"  # an unknown element, named by a digit-like
    token = memory_container.actors.add("hospital", USCC)[1]
    response = client.post(
        "/fhir/$process-message",
        content=orjson.dumps(message),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
    )
    assert 400 <= response.status_code < 500, response.text[:300]
    outcome = response.json()
    assert outcome["resourceType"] in ("OperationOutcome", "Bundle")
