"""No personal data in clear with a cipher key set (issue #16): after cases go through the API
(hospital notifications, a family's sign-in, every office's approval), the raw store (each
SQLite file, or every PostgreSQL table of the schema), the log records and the process output
hold none of the names, citizen IDs, phones and street addresses sent, nor the results given."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from eventsourcing.cipher import AESCipher
from psycopg import sql
from starlette.testclient import TestClient

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from api.app import create_app
from bench.chaos import connect
from bench.messages import HOSPITAL, birth_facts, message
from bench.offices import Driver
from domain.kernel.service_request import ServiceRequest

CASES = 3
RUN = "pii"
Finder = Callable[[str], list[str]]


def personal_data(i: int) -> list[str]:
    """What message `i` says about people: names, citizen IDs, phones, address lines."""
    facts = birth_facts(RUN, i)
    people = [p for p in (facts.mother, facts.father) if p is not None]
    found = [facts.child_name or ""]
    found += [v or "" for p in people for v in (p.name, p.citizen_id, p.phone)]
    body = orjson.loads(message(RUN, i).body)
    for entry in body["entry"]:
        addresses = entry["resource"].get("address") or []
        for address in addresses if isinstance(addresses, list) else [addresses]:
            found += address.get("line") or []
    return [text for text in found if text]


def forms(text: str) -> list[bytes]:
    """How `text` could sit in a file, a table's text or a log: UTF-8, JSON's ASCII escapes,
    and the hex PostgreSQL shows bytea in."""
    utf8 = text.encode()
    return list(dict.fromkeys([utf8, orjson.dumps(text)[1:-1], repr(text.encode("ascii",
        "backslashreplace"))[2:-1].encode(), utf8.hex().encode()]))  # fmt: skip


def raw_store(container: Container) -> dict[str, bytes]:
    """Where: its bytes (SQLite files, or each PostgreSQL table as text, bytea as hex)."""
    settings = container.settings
    if settings.persistence == "sqlite":
        return {str(p): p.read_bytes() for p in Path(settings.sqlite_dir).rglob("*") if p.is_file()}
    schema = settings.postgres.schema
    with connect(settings) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchall()
        return {
            str(t): "\n".join(
                str(row[0])
                for row in conn.execute(
                    sql.SQL("SELECT t::text FROM {} AS t").format(sql.Identifier(schema, str(t)))
                )
            ).encode()
            for (t,) in tables
        }


@pytest.fixture
def keyed(settings: Settings) -> Settings:
    return replace(settings, cipher_key=AESCipher.create_key(32))


def through_the_api(
    settings: Settings, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> tuple[Finder, dict[str, list[str]]]:
    """Cases through the API and the offices; a finder over the store, logs and output, and
    the keys given back (record keys, tracking codes) and the results the offices gave."""
    caplog.set_level(logging.DEBUG)
    container = build(settings)
    given: dict[str, list[str]] = {"record": [], "tracking": [], "results": []}
    try:
        token = container.actors.add("hospital", HOSPITAL)[1]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
        with TestClient(create_app(container, close_on_shutdown=False)) as client:
            cases = [_notify(client, headers, i, given) for i in range(CASES)]
            container.tick()
            _decide_everything(container, cases, given)
            for i, code in enumerate(given["tracking"]):
                phone = birth_facts(RUN, i).mother.phone
                answer = client.post("/track", json={"tracking_code": code, "verifier": phone})
                assert answer.status_code == 201, answer.text
                case = client.get(
                    f"/cases/{cases[i]}",
                    headers={"Authorization": f"Bearer {answer.json()['token']}"},
                )
                assert case.status_code == 200
        container.tick()
    finally:
        container.close()
    places = raw_store(container)
    places["log records"] = "\n".join(r.getMessage() for r in caplog.records).encode()
    out, err = capfd.readouterr()
    places["output"] = (out + err).encode()

    def found(text: str) -> list[str]:
        return [where for where, data in places.items() if any(f in data for f in forms(text))]

    return found, given


def _notify(client: TestClient, headers: dict[str, str], i: int, given: dict[str, Any]) -> UUID:
    answer = client.post("/fhir/$process-message", content=message(RUN, i).body, headers=headers)
    assert answer.status_code == 200, answer.text
    ack = answer.json()
    params = next(
        e["resource"] for e in ack["entry"] if e["resource"]["resourceType"] == "Parameters"
    )
    values = {p["name"]: p.get("valueString") for p in params["parameter"]}
    given["tracking"].append(values["tracking_code"])
    given["record"].append(birth_facts(RUN, i).record_ref)
    return UUID(values["case_id"])


def _decide_everything(container: Container, cases: list[UUID], given: dict[str, Any]) -> None:
    driver = Driver(container, container.tick, offices=2)
    try:
        driver.cases = cases
        driver.plan()
        while driver.wave():
            container.tick()
            driver.plan()
        assert driver.completed() == CASES
    finally:
        driver.close()
    for case in cases:
        for service in container.ledger.get_case(case).planned_services:
            request = container.ledger.get_request(ServiceRequest.create_id(case, service))
            given["results"] += [request.result.value] if request.result else []


@pytest.fixture
def exposed(
    keyed: Settings, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> tuple[Finder, dict[str, list[str]]]:
    return through_the_api(keyed, caplog, capfd)


def test_no_personal_data_or_result_in_clear_with_a_key(
    exposed: tuple[Finder, dict[str, list[str]]],
) -> None:
    found, given = exposed
    secrets = [s for i in range(CASES) for s in personal_data(i)] + given["results"]
    assert len(given["results"]) >= CASES * 3
    assert {s: found(s) for s in secrets if found(s)} == {}


def test_the_record_key_is_not_in_clear_with_a_key(
    exposed: tuple[Finder, dict[str, list[str]]],
) -> None:
    found, given = exposed
    assert {s: found(s) for s in given["record"] if found(s)} == {}


def test_the_tracking_code_is_not_in_clear_with_a_key(
    exposed: tuple[Finder, dict[str, list[str]]],
) -> None:
    found, given = exposed
    assert {s: found(s) for s in given["tracking"] if found(s)} == {}


def test_without_a_key_the_search_finds_the_results_in_clear(
    settings: Settings, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """The search sees what is there: with no key the family documents hold the results."""
    found, given = through_the_api(settings, caplog, capfd)
    assert all(found(result) for result in given["results"])
