"""The simulated registry system in one process: signatures, duplicates, control modes and
its answers, against a fake ledger (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import httpx
import orjson
import pytest
from standardwebhooks import Webhook

from domain.births.catalog import load_catalog
from domain.kernel.results import validate_result
from integrations.registry.simulator import RegistrySimulator, SimulatorConfig
from integrations.registry.simulator_answers import Backoff, LedgerAnswers
from integrations.registry.simulator_control import Control
from integrations.registry.simulator_journal import Journal

T = TypeVar("T")
REQUEST = UUID("6f1c3c1e-9a43-5d8e-8f43-2c1a7f1f0a11")
CASE = "0b6f8c1e-1111-5d8e-8f43-2c1a7f1f0a11"
PAYLOAD = {"born_at": "2026-11-20T08:30:00+08:00", "sex": "female"}


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


SECRET, OTHER = new_secret(), new_secret()


def envelope(kind: str = "dispatched", role: str = "both", **data: Any) -> bytes:
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": "msg_1",
            "type": f"org.newborn-ledger.request.{kind}",
            "source": "/offices/420102/public-security",
            "subject": str(REQUEST),
            "time": "2026-11-21T09:00:00+08:00",
            "datacontenttype": "application/json",
            "sequence": "8",
            "data": {
                "case_id": CASE,
                "service_request_id": str(REQUEST),
                "service": "household-registration",
                "event": kind.title(),
                "version": 3,
                "role": role,
                **data,
            },
        }
    )


def signed(
    body: bytes, message_id: str, *secrets: str, at: datetime | None = None
) -> dict[str, str]:
    at = at or datetime.now(UTC)
    signatures = " ".join(Webhook(s).sign(message_id, at, body) for s in secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


class FakeLedger:
    """Records the calls; answers from a script of statuses (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.calls: list[httpx.Request] = []
        self.statuses = list(statuses or [])

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if request.method == "GET":
            events = [{"stream": "household-registration", "event": "Dispatched",
                       "data": {"payload": PAYLOAD}}]  # fmt: skip
            return httpx.Response(200, json={"case_id": CASE, "events": events})
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200, json={})

    def posts(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [
            (c.url.path.rsplit("/", 1)[-1], c.headers["idempotency-key"], orjson.loads(c.content))
            for c in self.calls
            if c.method == "POST"
        ]


def simulator(
    ledger: FakeLedger, *secrets: str, journal: Journal | None = None, delay_s: float = 0.0
) -> RegistrySimulator:
    config = SimulatorConfig("http://ledger.test", "tok", secrets or (SECRET,), delay_s)
    answers = LedgerAnswers(
        config.ledger_url,
        config.token,
        backoff=Backoff(base_s=0.001, cap_s=0.01),
        transport=httpx.MockTransport(ledger),
    )
    return RegistrySimulator(config, answers, journal or Journal())


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(scenario())


def test_a_signed_dispatch_is_received_and_approved_with_a_valid_result() -> None:
    ledger = FakeLedger()

    async def scenario() -> int:
        sim = simulator(ledger)
        body = envelope(payload=PAYLOAD)
        reply = await sim.deliver(signed(body, "msg_1", SECRET), body)
        await sim.idle()
        await sim.stop()
        return reply.status

    assert run(scenario) == 200
    (receive, approve) = ledger.posts()
    assert receive[:2] == ("receive", "msg_1:receive")
    assert receive[2]["receipt_number"].startswith("SIM-420102-")
    assert approve[:2] == ("approve", "msg_1:approve")
    service = load_catalog()["household-registration"]
    assert validate_result(service, approve[2], "420102", PAYLOAD["born_at"])
    assert all(c.headers["authorization"] == "Bearer tok" for c in ledger.calls)


@pytest.mark.parametrize(
    ("secrets", "sent_with"),
    [
        ((SECRET,), (OTHER,)),  # wrong secret
        ((OTHER,), (SECRET,)),  # rotated out: the system only holds the new one
        ((SECRET,), ()),  # no signature at all
    ],
)
def test_a_delivery_not_signed_by_a_valid_secret_is_refused_and_not_acted_on(
    secrets: tuple[str, ...], sent_with: tuple[str, ...]
) -> None:
    ledger = FakeLedger()

    async def scenario() -> tuple[int, list[dict[str, Any]]]:
        sim = simulator(ledger, *secrets)
        body = envelope(payload=PAYLOAD)
        headers = signed(body, "msg_1", *sent_with) if sent_with else {"webhook-id": "msg_1"}
        reply = await sim.deliver(headers, body)
        await sim.idle()
        received = sim.journal.received()
        await sim.stop()
        return reply.status, received

    assert run(scenario) == (401, [])
    assert ledger.calls == []


def test_during_a_rotation_either_secret_is_accepted() -> None:
    ledger = FakeLedger()

    async def scenario() -> list[int]:
        sim = simulator(ledger, OTHER, SECRET)
        body = envelope(kind="withdrawn")
        one = await sim.deliver(signed(body, "msg_a", SECRET), body)
        two = await sim.deliver(signed(body, "msg_b", OTHER, new_secret()), body)
        await sim.stop()
        return [one.status, two.status]

    assert run(scenario) == [200, 200]


def test_a_stale_or_tampered_delivery_is_refused() -> None:
    async def scenario() -> list[int]:
        sim = simulator(FakeLedger())
        body = envelope(kind="withdrawn")
        old = signed(body, "msg_1", SECRET, at=datetime.now(UTC) - timedelta(hours=1))
        stale = await sim.deliver(old, body)
        tampered = await sim.deliver(signed(body, "msg_1", SECRET), body.replace(b"8", b"9"))
        await sim.stop()
        return [stale.status, tampered.status]

    assert run(scenario) == [401, 401]


def test_a_repeated_webhook_id_is_acknowledged_and_acts_once() -> None:
    ledger = FakeLedger()

    async def scenario() -> list[str]:
        sim = simulator(ledger)
        body = envelope(payload=PAYLOAD)
        statuses = []
        for _ in range(3):
            reply = await sim.deliver(signed(body, "msg_1", SECRET), body)
            statuses.append(reply.body["status"])
        await sim.idle()
        assert [m["id"] for m in sim.journal.received()] == ["msg_1"]
        await sim.stop()
        return statuses

    assert run(scenario) == ["accepted", "duplicate", "duplicate"]
    assert [p[0] for p in ledger.posts()] == ["receive", "approve"]


def test_a_received_message_reads_the_payload_from_the_history_then_approves() -> None:
    ledger = FakeLedger()

    async def scenario() -> None:
        sim = simulator(ledger)
        body = envelope(kind="received", role="decide", receipt_number="R-1")
        await sim.deliver(signed(body, "msg_2", SECRET), body)
        await sim.idle()
        await sim.stop()

    run(scenario)
    assert [(c.method, c.url.path) for c in ledger.calls] == [
        ("GET", f"/cases/{CASE}/history"),
        ("POST", f"/service-requests/{REQUEST}/approve"),
    ]
    assert ledger.posts()[0][2]["citizen_id"][6:14] == "20261120"


def test_a_failed_answer_is_retried_with_the_same_key_until_it_lands() -> None:
    ledger = FakeLedger(statuses=[503, 502, 200, 429, 200])

    async def scenario() -> list[dict[str, Any]]:
        sim = simulator(ledger)
        body = envelope(payload=PAYLOAD)
        await sim.deliver(signed(body, "msg_1", SECRET), body)
        await sim.idle()
        answers = sim.journal.answers()
        await sim.stop()
        return answers

    assert run(scenario) == [
        {"message_id": "msg_1", "action": "receive", "status": 200},
        {"message_id": "msg_1", "action": "approve", "status": 200},
    ]
    keys = [key for _, key, _ in ledger.posts()]
    assert keys == ["msg_1:receive"] * 3 + ["msg_1:approve"] * 2


def test_a_refused_receive_stops_the_approval() -> None:
    ledger = FakeLedger(statuses=[409])

    async def scenario() -> None:
        sim = simulator(ledger)
        body = envelope(payload=PAYLOAD)
        await sim.deliver(signed(body, "msg_1", SECRET), body)
        await sim.idle()
        await sim.stop()

    run(scenario)
    assert [p[0] for p in ledger.posts()] == ["receive"]


def test_a_message_accepted_before_a_stop_is_acted_on_after_the_restart(tmp_path: Path) -> None:
    ledger = FakeLedger()
    path = str(tmp_path / "journal.sqlite")

    async def before() -> None:
        sim = simulator(ledger, journal=Journal(path), delay_s=60)
        body = envelope(payload=PAYLOAD)
        assert (await sim.deliver(signed(body, "msg_1", SECRET), body)).status == 200
        await sim.stop()  # before its delay ran out

    async def after() -> list[dict[str, Any]]:
        sim = simulator(ledger, journal=Journal(path))
        await sim.start()
        await sim.idle()
        body = envelope(payload=PAYLOAD)
        again = await sim.deliver(signed(body, "msg_1", SECRET), body)
        assert again.body == {"status": "duplicate"}
        answers = sim.journal.answers()
        await sim.stop()
        return answers

    run(before)
    assert ledger.calls == []
    assert [a["action"] for a in run(after)] == ["receive", "approve"]


def test_fail_mode_answers_its_status_and_takes_nothing_then_ends() -> None:
    ledger = FakeLedger()

    async def scenario() -> list[int]:
        sim = simulator(ledger)
        assert sim.control.set({"mode": "fail", "for_s": 0.2, "status": 500}).status == 200
        body = envelope(payload=PAYLOAD)
        failed = await sim.deliver(signed(body, "msg_1", SECRET), body)
        await asyncio.sleep(0.25)
        taken = await sim.deliver(signed(body, "msg_1", SECRET), body)
        await sim.idle()
        await sim.stop()
        return [failed.status, taken.status]

    assert run(scenario) == [500, 200]
    assert [p[0] for p in ledger.posts()] == ["receive", "approve"]


def test_timeout_mode_holds_the_delivery_then_refuses_it() -> None:
    async def scenario() -> tuple[int, float, list[dict[str, Any]]]:
        sim = simulator(FakeLedger())
        sim.control.set({"mode": "timeout", "for_s": 0.3})
        body = envelope(kind="withdrawn")
        loop = asyncio.get_running_loop()
        started = loop.time()
        reply = await sim.deliver(signed(body, "msg_1", SECRET), body)
        held = loop.time() - started
        received = sim.journal.received()
        await sim.stop()
        return reply.status, held, received

    status, held, received = run(scenario)
    assert status == 504
    assert held >= 0.25
    assert received == []


def test_slow_mode_takes_the_delivery_after_its_delay() -> None:
    async def scenario() -> tuple[int, float]:
        sim = simulator(FakeLedger())
        sim.control.set({"mode": "slow", "delay_s": 0.2})
        body = envelope(kind="withdrawn")
        loop = asyncio.get_running_loop()
        started = loop.time()
        reply = await sim.deliver(signed(body, "msg_1", SECRET), body)
        await sim.stop()
        return reply.status, loop.time() - started

    status, took = run(scenario)
    assert status == 200
    assert took >= 0.2


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "broken"},
        {"mode": "fail", "status": 200},
        {"mode": "slow", "delay_s": -1},
        {"mode": "ok", "for_s": "soon"},
        {"mode": "ok", "extra": 1},
        [],
    ],
)
def test_a_bad_control_request_is_refused_and_changes_nothing(body: object) -> None:
    control = Control()
    assert control.set(body).status == 422
    assert control.current() == "ok"


def test_a_mode_for_a_while_returns_to_ok() -> None:
    now = [100.0]
    control = Control(clock=lambda: now[0])
    assert control.set({"mode": "fail", "for_s": 5})
    assert control.current() == "fail"
    now[0] = 105.0
    assert control.current() == "ok"
    assert control.describe(now[0])["mode"] == "ok"


@pytest.mark.parametrize("secret", ["plain", "whsec_", "whsec_not*base64"])
def test_a_malformed_secret_is_a_configuration_error(secret: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        SimulatorConfig("http://ledger.test", "tok", (secret,)).webhooks()


def test_one_or_two_secrets() -> None:
    with pytest.raises(ValueError, match="two"):
        SimulatorConfig("http://ledger.test", "tok", (SECRET, OTHER, new_secret())).webhooks()
