"""The office's search over HTTP on SQLite and PostgreSQL, past the happy path of
test_workbench.py: a corrected parent's ID finds the request, the index is read for the
searching office only (no other office's request is loaded), full-width input is read as
ASCII, and the path names a well-formed office, for an admin too."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.kernel.identifiers import make_citizen_id
from tests.e2e.test_corrections_and_voids import OLD_ID
from tests.e2e.test_corrections_and_voids import Journey as CorrectionJourney
from tests.e2e.test_rejection_flow import Journey
from tests.e2e.test_workbench import MOTHER_ID

NEW_MOTHER_ID = make_citizen_id("420102", date(1994, 3, 8), 125)
POLICE = ("420102", "public-security")  # Wuhan Jiang'an decides the hukou


def full_width(text: str) -> str:
    """As a Chinese input method types it: each ASCII letter and digit at U+FF10..U+FF5A."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in text)


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def found(client: TestClient, office: tuple[str, str], headers: dict[str, str], body: Any) -> Any:
    response = client.post("/offices/{}/{}/search".format(*office), json=body, headers=headers)
    assert response.status_code == 200, response.text
    return [row["service"] for row in response.json()["rows"]]


def test_a_corrected_parent_id_finds_the_request_old_and_new_until_decided(
    client: TestClient, container: Container
) -> None:
    journey = CorrectionJourney(client, container, "MR-WS1")
    journey.decide("birth-certificate", {"certificate_number": "X430602001"})
    journey.decide("household-registration", {"citizen_id": OLD_ID})
    police = journey.offices.header(*POLICE)
    old_mother = journey.facts.mother.citizen_id
    mother = replace(journey.facts.mother, citizen_id=NEW_MOTHER_ID)
    journey.send(replace(journey.facts, mother=mother), "MR-WS1-u", "update")
    assert journey.request("household-registration").state == "correction-requested"

    hukou = ["household-registration"]
    for wanted in (old_mother, NEW_MOTHER_ID):  # the office has yet to decide: both
        assert found(client, POLICE, police, {"citizen_id": wanted}) == hukou
    answer = journey.act("household-registration", "approve-correction", {"citizen_id": OLD_ID})
    assert answer.status_code == 200, answer.text
    assert found(client, POLICE, police, {"citizen_id": NEW_MOTHER_ID}) == hukou
    assert found(client, POLICE, police, {"citizen_id": old_mother}) == []  # corrected away


def test_a_search_loads_no_request_of_another_office(
    client: TestClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    journey = Journey(client, container, "MR-WS2")
    journey.decide("birth-certificate")  # the hukou is sent the mother's ID
    loaded: list[UUID] = []
    real = container.ledger.get_request

    def recorded(request_id: UUID) -> Any:
        loaded.append(request_id)
        return real(request_id)

    monkeypatch.setattr(container.ledger, "get_request", recorded)
    clinic = ("430602", "cdc")  # its vaccination was never sent the mother's ID
    assert found(client, clinic, journey.offices.header(*clinic), {"citizen_id": MOTHER_ID}) == []
    assert loaded == []  # the police's request was not read to answer the clinic
    assert found(client, POLICE, journey.offices.header(*POLICE), {"citizen_id": MOTHER_ID}) == [
        "household-registration"
    ]


def test_full_width_digits_and_letters_are_read_as_ascii(
    client: TestClient, container: Container
) -> None:
    journey = Journey(client, container, "MR-WS3")
    journey.decide("birth-certificate")
    code = client.get(f"/cases/{journey.case_id}", headers=journey.admin).json()["tracking_code"]
    police = journey.offices.header(*POLICE)
    hukou = ["household-registration"]
    wide_id = full_width(MOTHER_ID)
    assert wide_id != MOTHER_ID
    assert found(client, POLICE, police, {"citizen_id": wide_id}) == hukou
    wide_code = "\u3000" + full_width(code)  # an ideographic space before it
    assert found(client, POLICE, police, {"tracking_code": wide_code}) == hukou
    refused = client.post(
        "/offices/{}/{}/search".format(*POLICE), json={"tracking_code": "ß" * 6}, headers=police
    )
    assert refused.status_code == 422  # "ß".upper() is "SS", not a code's letters


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/offices/%2E%2E/public-security/search", "locality"),
        ("/offices/4201/public-security/search", "locality"),
        ("/offices/420102/PUBLIC-SECURITY/search", "authority"),
        ("/offices/420102/%2E%2E/search", "authority"),
    ],
)
def test_the_search_path_names_an_office_for_an_admin_too(
    client: TestClient, container: Container, path: str, parameter: str
) -> None:
    admin = {"Authorization": f"Bearer {container.actors.add('admin', None)[1]}"}
    response = client.post(path, json={"tracking_code": "ABCDEFGHJKMN"}, headers=admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["parameter"] == parameter
