"""/track over HTTP: a family's wrong answers lock only its own tracking code (429 with
Retry-After), never another family behind the same address; an address guessing many codes
waits too (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api import tracking
from api.app import create_app
from domain.births.commands import NotifyBirth
from tests.conftest import make_facts

PHONE = make_facts().mother.phone or ""
SHARED_ADDRESS = ("203.0.113.7", 40000)  # one hospital's NAT: every family behind it
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    app = create_app(container, close_on_shutdown=False)
    with TestClient(app, client=SHARED_ADDRESS) as test_client:
        yield test_client


def notified(container: Container, ref: str) -> str:
    outcome = container.ledger.notify_birth(NotifyBirth(f"m-{ref}", make_facts(ref), b"{}"))
    container.tick()
    return outcome.tracking_code


def sign_in(client: TestClient, code: str, verifier: str = PHONE) -> httpx2.Response:
    return client.post("/track", json={"tracking_code": code, "verifier": verifier}, headers=ZH)


def test_one_familys_mistakes_lock_its_code_and_never_the_family_beside_it(
    client: TestClient, container: Container
) -> None:
    careless, other = notified(container, "MR-LOCK-A"), notified(container, "MR-LOCK-B")
    for _ in range(tracking.MAX_FAILURES):
        wrong = sign_in(client, careless, "999999")
        assert wrong.status_code == 404
        assert wrong.headers["Content-Language"] == "zh-CN"
        assert "追踪码" in wrong.json()["detail"]  # Chinese, the English beside
        assert wrong.json()["detail_en"] == "No case matches this tracking code and verifier"
    for _ in range(3 * tracking.MAX_FAILURES):  # it keeps trying: held, and counted no further
        held = sign_in(client, careless)  # even the right verifier waits out the window
        assert held.status_code == 429
        assert 1 <= int(held.headers["Retry-After"]) <= tracking.WINDOW_S
        assert held.json()["held"] == "tracking-code"
        assert f"{held.headers['Retry-After']} 秒后再试" in held.json()["detail"]
    beside = sign_in(client, other)  # the same address, another family
    assert beside.status_code == 201, beside.text
    assert beside.json()["token"]


def test_an_address_guessing_many_codes_waits_with_retry_after(
    client: TestClient, container: Container
) -> None:
    family = notified(container, "MR-LOCK-C")
    for n in range(tracking.ADDRESS_FAILURES):
        assert sign_in(client, f"NOSUCHCODE{n:04d}").status_code == 404
    held = sign_in(client, family)
    assert held.status_code == 429
    assert held.json()["held"] == "address"
    assert int(held.headers["Retry-After"]) >= 1
    elsewhere = TestClient(client.app, client=("198.51.100.9", 50000))
    assert (
        elsewhere.post("/track", json={"tracking_code": family, "verifier": PHONE}).status_code
        == 201
    )


def test_someone_who_knows_a_code_cannot_lock_the_family_out(
    client: TestClient, container: Container
) -> None:
    """Wrong verifiers from an attacker's address hold the code there only: the family, from
    its own address, still signs in with the right one."""
    family = notified(container, "MR-LOCK-D")
    for _ in range(3 * tracking.MAX_FAILURES):
        assert sign_in(client, family, "999999").status_code in (404, 429)
    assert sign_in(client, family).status_code == 429  # held at this address, right or wrong
    at_home = TestClient(client.app, client=("198.51.100.20", 50000))
    answered = at_home.post("/track", json={"tracking_code": family, "verifier": PHONE})
    assert answered.status_code == 201, answered.text


def test_guesses_at_one_code_from_many_addresses_meet_a_ceiling(
    client: TestClient, container: Container
) -> None:
    family = notified(container, "MR-LOCK-E")
    addresses = tracking.CODE_FAILURES // tracking.MAX_FAILURES
    for n in range(addresses):
        guesser = TestClient(client.app, client=(f"198.51.100.{100 + n}", 50000))
        for _ in range(tracking.MAX_FAILURES):
            wrong = guesser.post("/track", json={"tracking_code": family, "verifier": "999999"})
            assert wrong.status_code == 404
    fresh = TestClient(client.app, client=("192.0.2.1", 50000))
    held = fresh.post("/track", json={"tracking_code": family, "verifier": PHONE}, headers=ZH)
    assert held.status_code == 429
    assert held.json()["held"] == "tracking-code"
    assert 1 <= int(held.headers["Retry-After"]) <= tracking.WINDOW_S
