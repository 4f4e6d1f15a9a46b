"""Issue 18 over HTTP on SQLite and PostgreSQL: a registry system registered with the command
line acts for its office with its token (another office's request is not found) and reads its
office's feed (no other), its steps are recorded with the system as the officer, an approval
sent 3 times with one Idempotency-Key is recorded once, the same key with another body is
refused, concurrent sends of one key record one step, and once disabled its token is refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from adapters.settings import Settings
from api.app import create_app
from api.auth import PrincipalCache
from api.offices import decide
from domain.kernel.answers import AnswerKey
from domain.kernel.commands import Approve
from entry.cli import main
from tests.e2e.test_rejection_flow import RESULTS, Journey
from tests.pg import ledger_env

SERVICE = "birth-certificate"


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


@pytest.fixture
def cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    """`newborn-ledger ...` on the test's store: its exit code and its output's lines."""
    env = (
        ledger_env(settings)
        if settings.persistence == "postgres"
        else {
            "NEWBORN_LEDGER_PERSISTENCE": "sqlite",
            "NEWBORN_LEDGER_SQLITE_DIR": settings.sqlite_dir,
        }
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def run(*argv: str) -> tuple[int, list[str]]:
        code = main(list(argv))
        return code, capsys.readouterr().out.splitlines()

    return run


def register(cli: Any, locality: str, authority: str) -> tuple[UUID, str, str]:
    """A system of the office, added with the CLI: (system id, secret, token)."""
    code, lines = cli(
        "registry", "add", "--locality", locality, "--authority", authority,
        "--url", "https://registry.example.cn/hooks", "--label", "hukou system",
    )  # fmt: skip
    assert code == 0, lines
    system_id = UUID(lines[0].split()[3])
    secret, token = lines[-2], lines[-1]
    assert secret.startswith("whsec_")
    assert token.startswith("nl_off_")
    return system_id, secret, token


def request_of(journey: Journey, service: str) -> tuple[str, dict[str, Any]]:
    entry = journey.services()[service]
    return entry["service_request_id"], entry


def test_a_system_acts_for_its_office_and_is_recorded_as_itself(
    client: TestClient, container: Container, cli: Any
) -> None:
    journey = Journey(client, container, "MR-SYS1")
    request_id, entry = request_of(journey, SERVICE)
    assert entry["receiving_locality"] == entry["handling_locality"]
    system_id, _, token = register(cli, entry["handling_locality"], "health")
    actor_id = container.systems.get_system(system_id).actor_id
    system = Journey.bearer(token)
    other_id, _ = request_of(journey, "household-registration")  # public-security's
    refused = client.post(
        f"/service-requests/{other_id}/receive", json={"receipt_number": "R-X"}, headers=system
    )
    assert refused.status_code == 404
    received = client.post(
        f"/service-requests/{request_id}/receive",
        json={"receipt_number": "R-1"},
        headers={**system, "Idempotency-Key": "receive-1"},
    )
    assert received.status_code == 200, received.json()
    answers = [
        client.post(
            f"/service-requests/{request_id}/approve",
            json=RESULTS[SERVICE],
            headers={**system, "Idempotency-Key": "approve-1"},
        )
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers.get("idempotent-replayed") for a in answers] == [None, "true", "true"]
    assert answers[1].json() == answers[0].json()
    assert answers[0].json()["state"] == "approved"
    events = client.get(f"/cases/{journey.case_id}/history", headers=journey.admin).json()
    steps = [e for e in events["events"] if e["event"] in ("Received", "Approved")]
    mine = [e for e in steps if e["data"].get("officer") == f"system:{actor_id}"]
    assert [e["event"] for e in mine] == ["Received", "Approved"]  # approved once
    assert [e["event"] for e in steps].count("Approved") == 1
    locality = entry["handling_locality"]
    feed = client.get(f"/offices/{locality}/health/feed", headers=system)
    assert feed.status_code == 200  # its office's feed, as a clerk reads it
    assert client.get(f"/offices/{locality}/cdc/feed", headers=system).status_code == 404


def test_the_same_key_with_another_body_is_refused(
    client: TestClient, container: Container, cli: Any
) -> None:
    journey = Journey(client, container, "MR-SYS2")
    request_id, entry = request_of(journey, SERVICE)
    _, _, token = register(cli, entry["handling_locality"], "health")
    headers = {**Journey.bearer(token), "Idempotency-Key": "k-1"}
    path = f"/service-requests/{request_id}/receive"
    assert client.post(path, json={"receipt_number": "R-1"}, headers=headers).status_code == 200
    reused = client.post(path, json={"receipt_number": "R-2"}, headers=headers)
    assert reused.status_code == 409
    assert reused.headers["content-type"].startswith("application/problem+json")
    assert reused.json()["type"] == "/problems/idempotency-key-reused"
    approve = f"/service-requests/{request_id}/approve"
    elsewhere = client.post(approve, json=RESULTS[SERVICE], headers=headers)  # other step
    assert elsewhere.status_code == 409
    for bad in ("x" * 201, "a key"):
        invalid = client.post(
            path, json={"receipt_number": "R-1"}, headers={**headers, "Idempotency-Key": bad}
        )
        assert invalid.status_code == 400
        assert invalid.json()["type"] == "/problems/invalid-idempotency-key"


def test_concurrent_sends_of_one_key_record_one_step(
    client: TestClient, container: Container, cli: Any
) -> None:
    journey = Journey(client, container, "MR-SYS3")
    request_id, entry = request_of(journey, SERVICE)
    _, _, token = register(cli, entry["handling_locality"], "health")
    principal = container.actors.authenticate(token)
    assert principal is not None
    journey.step(SERVICE, "receive", {"receipt_number": "R-1"})
    key = AnswerKey(principal.actor_id, "approve-concurrently", "same body")
    cmd = replace(Approve(UUID(request_id), principal.officer, RESULTS[SERVICE]), answer=key)
    start, answers = threading.Barrier(4), []

    def send() -> None:
        start.wait()
        answers.append(decide(container.ledger, principal, "approve", cmd))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 4
    assert sorted(replayed for _, replayed in answers) == [False, True, True, True]
    assert len({str(view) for view, _ in answers}) == 1
    events = container.ledger.events.get(UUID(request_id))
    assert [type(e).__name__ for e in events].count("Approved") == 1


def test_a_disabled_system_is_refused(client: TestClient, container: Container, cli: Any) -> None:
    journey = Journey(client, container, "MR-SYS4")
    request_id, entry = request_of(journey, SERVICE)
    system_id, _, token = register(cli, entry["handling_locality"], "health")
    path = f"/service-requests/{request_id}/receive"
    receipt = {"receipt_number": "R-1"}
    accepted = client.post(path, json=receipt, headers=Journey.bearer(token))
    assert accepted.status_code == 200  # its token is now in the API's cache (api/auth.py)
    code, lines = cli("deliveries", "discard", "--system", str(system_id))
    assert code == 2  # it still takes deliveries
    code, lines = cli("registry", "disable", str(system_id))
    assert code == 0, lines
    assert lines[-1].endswith("0 waiting deliveries cancelled")  # none were waiting
    code, lines = cli("deliveries", "discard", "--system", str(system_id))
    assert code == 0, lines
    assert lines == [f"0 waiting deliveries of system {system_id} cancelled"]
    # another process disabled it: this API stops accepting the token within CACHE_SECONDS;
    # a fresh cache (as once they passed) reads the revocation
    client.app.state.principals = PrincipalCache(container.actors)  # type: ignore[attr-defined]
    assert client.post(path, json=receipt, headers=Journey.bearer(token)).status_code == 401
    code, lines = cli("registry", "list")
    assert code == 0
    assert '"disabled":true' in lines[0]
    assert "whsec_" not in "".join(lines)
