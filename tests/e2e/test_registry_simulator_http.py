"""Simulated registry systems as real separate processes, answering a served ledger over
HTTP: the ledger's own feed messages, signed here as its deliveries are, are verified, received
and approved with valid results; a wrong secret is refused; a repeated webhook-id
acts once; the control modes fail, time out and slow down deliveries."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import httpx
import orjson
import pytest
from standardwebhooks import Webhook

from adapters.bootstrap import build
from adapters.settings import Settings
from domain.births.commands import ApplyAsFamily, NotifyBirth
from domain.kernel.identifiers import certificate_number, citizen_id
from tests.conftest import make_facts
from tests.e2e.test_serve import free_port, wait_until_up

T = TypeVar("T")
BORN_ON = make_facts().born_at.date()
OFFICES = {  # simulator name → the office it is the system of
    "health": ("430602", "health"),
    "window": ("430602", "public-security"),
    "hukou": ("420102", "public-security"),
}
PERSONAL = ("王", "13800000000", "2026-11-20", "20261120")  # never in a simulator's logs


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@dataclass
class Simulator:
    url: str
    secret: str
    locality: str
    authority: str
    process: subprocess.Popen[bytes]
    output: str = ""

    def post(self, body: bytes, message_id: str, secret: str | None = None) -> httpx.Response:
        at = datetime.now(UTC)
        signature = Webhook(secret or self.secret).sign(message_id, at, body)
        headers = {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
            "content-type": "application/json",
        }
        return httpx.post(f"{self.url}/webhooks", content=body, headers=headers, timeout=10)

    def get(self, path: str) -> Any:
        return httpx.get(f"{self.url}{path}", timeout=5).json()


@dataclass
class Stack:
    ledger: str
    case_id: UUID
    admin: str
    tokens: dict[str, str]
    simulators: dict[str, Simulator] = field(default_factory=dict)

    def services(self) -> dict[str, dict[str, Any]]:
        view = httpx.get(
            f"{self.ledger}/cases/{self.case_id}", headers=bearer(self.admin), timeout=5
        ).json()
        return {s["service"]: s for s in view["services"]}

    def history(self, token: str) -> list[dict[str, Any]]:
        answer = httpx.get(
            f"{self.ledger}/cases/{self.case_id}/history", headers=bearer(token), timeout=5
        )
        events: list[dict[str, Any]] = answer.json()["events"]
        return events


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_for(check: Callable[[], T | None], deadline_s: float = 20.0) -> T:
    end = time.monotonic() + deadline_s
    while (found := check()) is None or found is False:
        assert time.monotonic() < end, "timed out"
        time.sleep(0.1)
    return found


def prepared_store(var: Path) -> tuple[UUID, str, dict[str, str]]:
    """A case whose birth certificate is dispatched; the offices' and an admin's tokens."""
    container = build(Settings(persistence="sqlite", sqlite_dir=str(var)))
    try:
        outcome = container.ledger.notify_birth(NotifyBirth("m-sim", make_facts("SIM-1"), b"{}"))
        container.after_command()
        container.ledger.apply_as_family(
            ApplyAsFamily(outcome.case_id, "王小雨", "mother", "430602", "430602", True)
        )
        container.after_command()
        tokens = {
            name: container.actors.add("office", locality, authority)[1]
            for name, (locality, authority) in OFFICES.items()
        }
        return outcome.case_id, container.actors.add("admin", None)[1], tokens
    finally:
        container.close()


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "entry.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def output_of(process: subprocess.Popen[bytes]) -> str:
    """What a process printed, once it stopped (it was sent SIGINT)."""
    output, _ = process.communicate(timeout=20)
    return output.decode()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var = tmp_path_factory.mktemp("simulated") / "var"
    case_id, admin, tokens = prepared_store(var)
    env = {**os.environ, "NEWBORN_LEDGER_SQLITE_DIR": str(var)}
    env |= {"NEWBORN_LEDGER_PERSISTENCE": "sqlite"}
    port = free_port()
    ledger = f"http://127.0.0.1:{port}"
    server = start(["serve", "--port", str(port)], env)
    built = Stack(ledger, case_id, admin, tokens)
    for name, (locality, authority) in OFFICES.items():
        secret, sim_port = new_secret(), free_port()
        args = ["registry-simulator", "--port", str(sim_port), "--ledger", ledger]
        args += ["--token", tokens[name], "--secret", secret, "--delay", "0.2"]
        url = f"http://127.0.0.1:{sim_port}"
        built.simulators[name] = Simulator(url, secret, locality, authority, start(args, env))
    try:
        wait_until_up(f"{ledger}/healthz")
        for simulator in built.simulators.values():
            assert wait_until_up(f"{simulator.url}/healthz").json()["status"] == "ok"
        yield built
    finally:
        for process in [s.process for s in built.simulators.values()] + [server]:
            process.send_signal(signal.SIGINT)  # all at once: each stops in its own time
        for simulator in built.simulators.values():
            simulator.output = output_of(simulator.process)
        output_of(server)
    for name, simulator in built.simulators.items():
        assert simulator.process.returncode == 0, simulator.output
        assert "simulated registry system" in simulator.output, name
        leaked = [p for p in PERSONAL if p in simulator.output]
        assert leaked == [], (name, leaked)


def feed(stack: Stack, name: str) -> list[dict[str, Any]]:
    """The messages of the office `name` stands for, from the ledger's own feed."""
    sim = stack.simulators[name]
    answer = httpx.get(
        f"{stack.ledger}/offices/{sim.locality}/{sim.authority}/feed",
        headers=bearer(stack.tokens[name]),
        timeout=5,
    )
    messages: list[dict[str, Any]] = answer.json()["messages"]
    return messages


def message(stack: Stack, name: str, kind: str, service: str) -> tuple[bytes, str] | None:
    """One message of the office's feed as a push carries it: (body bytes, webhook-id)."""
    for found in feed(stack, name):
        if found["type"].endswith(f".{kind}") and found["data"]["service"] == service:
            return orjson.dumps(found), found["id"]
    return None


def in_state(stack: Stack, service: str, state: str) -> dict[str, Any] | None:
    found = stack.services()[service]
    return found if found["state"] == state else None


def test_systems_receive_and_approve_with_valid_results_once_each(stack: Stack) -> None:
    health = stack.simulators["health"]
    body, message_id = wait_for(lambda: message(stack, "health", "dispatched", "birth-certificate"))
    assert b'"role":"both"' in body
    refused = health.post(body, message_id, secret=new_secret())
    assert refused.status_code == 401
    for _ in range(3):  # the ledger's retries of one delivery: one effect
        assert health.post(body, message_id).status_code == 200

    approved = wait_for(lambda: in_state(stack, "birth-certificate", "approved"))
    number = approved["result"]["certificate_number"]
    assert certificate_number(number) == number
    assert [m["id"] for m in health.get("/received")["messages"]] == [message_id]
    answers = wait_for(lambda: health.get("/answers")["answers"] or None)
    assert [(a["action"], a["status"]) for a in answers] == [("receive", 200), ("approve", 200)]
    steps = [e["event"] for e in stack.history(stack.admin) if e["stream"] == "birth-certificate"]
    assert steps.count("Received") == 1
    assert steps.count("Approved") == 1

    # the certificate's approval dispatches the hukou registration: to the window in Yueyang
    # (it receives) and to Wuhan (it decides once the window received it)
    window, hukou = stack.simulators["window"], stack.simulators["hukou"]
    service = "household-registration"
    told = wait_for(lambda: message(stack, "hukou", "dispatched", service))
    assert hukou.post(*told).status_code == 200  # nothing to do yet
    body, message_id = wait_for(lambda: message(stack, "window", "dispatched", service))
    assert window.post(body, message_id).status_code == 200
    wait_for(lambda: in_state(stack, service, "received"))
    body, message_id = wait_for(lambda: message(stack, "hukou", "received", service))
    assert b'"payload"' not in body  # the values came with the dispatch
    assert hukou.post(body, message_id).status_code == 200

    done = wait_for(lambda: in_state(stack, service, "approved"))
    number = done["result"]["citizen_id"]
    assert citizen_id(number, born_on=BORN_ON) == number
    assert number[:6] == "420102"
    officers = [
        e["data"].get("officer")
        for e in stack.history(stack.admin)
        if e["stream"] == service and e["event"] in ("Received", "Approved")
    ]
    assert all(o and o.startswith("office:") for o in officers), officers
    assert [m["type"].rsplit(".", 1)[-1] for m in hukou.get("/received")["messages"]] == [
        "dispatched",
        "received",
    ]
    assert [a["action"] for a in hukou.get("/answers")["answers"]] == ["approve"]


def test_control_modes_fail_time_out_and_slow_down_deliveries(stack: Stack) -> None:
    sim = stack.simulators["hukou"]
    body = orjson.dumps(
        {
            "specversion": "1.0",
            "id": "msg_control",
            "type": "org.newborn-ledger.request.withdrawn",  # it only informs
            "source": f"/offices/{sim.locality}/{sim.authority}",
            "subject": str(UUID(int=7)),
            "sequence": "1",
            "data": {"service": "household-registration", "role": "decide"},
        }
    )

    def control(**settings: Any) -> None:
        reply = httpx.post(f"{sim.url}/control", json=settings, timeout=5)
        assert reply.status_code == 200, reply.text

    control(mode="fail", status=500, for_s=30)
    assert sim.post(body, "msg_fail").status_code == 500
    control(mode="timeout", for_s=30)
    at = datetime.now(UTC)
    headers = {
        "webhook-id": "msg_timeout",
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(sim.secret).sign("msg_timeout", at, body),
    }
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{sim.url}/webhooks", content=body, headers=headers, timeout=0.5)
    control(mode="slow", delay_s=0.6)
    started = time.monotonic()
    assert sim.post(body, "msg_slow").status_code == 200
    assert time.monotonic() - started >= 0.6
    control(mode="fail", for_s=0.3)
    time.sleep(0.4)  # the failure ran its time: back to ok
    assert sim.post(body, "msg_ok").status_code == 200
    assert httpx.post(f"{sim.url}/control", json={"mode": "x"}, timeout=5).status_code == 422

    ids = [m["id"] for m in sim.get("/received")["messages"]]
    assert "msg_fail" not in ids
    assert "msg_timeout" not in ids
    assert ids[-2:] == ["msg_slow", "msg_ok"]
    assert sim.get("/healthz")["control"]["mode"] == "ok"
