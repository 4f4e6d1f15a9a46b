"""POST /track reads its writes: a family signing in a moment after the hospital's message
waits for the case to be projected instead of being told no case matches, and the system's own
lag is never counted as the family's failed guess (SQLite and PostgreSQL, separate worker)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx2
import pytest
from eventsourcing.persistence import OperationalError
from starlette.testclient import TestClient

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from api import tracking
from api.app import create_app
from domain.births.commands import NotifyBirth
from tests.conftest import make_facts

PHONE = make_facts().mother.phone or ""


@pytest.fixture
def api_side(settings: Settings) -> Iterator[Container]:
    """An API process with a separate worker: commands are recorded, nothing is projected
    until the test runs the worker's tick."""
    built = build(settings.with_changes(embedded_worker=False))
    yield built
    built.close()


@pytest.fixture
def client(api_side: Container) -> Iterator[TestClient]:
    with TestClient(create_app(api_side, close_on_shutdown=False)) as test_client:
        yield test_client


def notified(container: Container, ref: str) -> str:
    outcome = container.ledger.notify_birth(NotifyBirth(f"m-{ref}", make_facts(ref), b"{}"))
    return outcome.tracking_code


def sign_in(client: TestClient, code: str, verifier: str = PHONE) -> httpx2.Response:
    return client.post("/track", json={"tracking_code": code, "verifier": verifier})


def test_a_sign_in_right_after_the_message_waits_for_the_worker(
    client: TestClient, api_side: Container
) -> None:
    code = notified(api_side, "MR-RYW")
    worker = threading.Timer(0.3, api_side.tick)  # the worker projects it a moment later
    worker.start()
    try:
        response = sign_in(client, code)
    finally:
        worker.join()
    assert response.status_code == 201, response.text


def test_the_workers_lag_is_503_and_never_a_counted_guess(
    client: TestClient, api_side: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tracking, "VISIBLE_WAIT_S", 0.2)
    code = notified(api_side, "MR-LAG")
    for _ in range(tracking.MAX_FAILURES + 2):  # more tries than a wrong guesser gets
        response = sign_in(client, code)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == str(tracking.NOT_YET_RETRY_AFTER_S)
        assert response.json()["type"] == "/problems/not-yet-visible"
    api_side.tick()
    assert sign_in(client, code).status_code == 201  # not locked out by the system's lag


def test_wrong_guesses_are_404_then_429_with_retry_after(
    client: TestClient, api_side: Container
) -> None:
    code = notified(api_side, "MR-GUESS")
    api_side.tick()
    for _ in range(tracking.MAX_FAILURES):
        assert sign_in(client, code, "000000").status_code == 404
    blocked = sign_in(client, code)
    assert blocked.status_code == 429
    wait = int(blocked.headers["Retry-After"])
    assert 0 < wait <= tracking.WINDOW_S
    assert f"{wait} seconds" in blocked.json()["detail"]


def test_a_store_outage_is_503_and_never_a_counted_guess(
    client: TestClient, api_side: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = notified(api_side, "MR-DOWN")
    api_side.tick()

    def unreachable(container: Container, code: str) -> str | None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(tracking, "case_by_tracking_code", unreachable)
    for _ in range(tracking.MAX_FAILURES + 2):
        assert sign_in(client, code).status_code == 503
    monkeypatch.undo()
    assert sign_in(client, code).status_code == 201  # the outage locked nobody out
