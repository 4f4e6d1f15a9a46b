"""Issue 18 end to end, every part its own process, on SQLite and PostgreSQL: the API (`serve`,
no background work), the worker (orchestration, views and deliveries), and three simulated
registry systems registered with `newborn-ledger registry add` — the birth hospital's health
office in Yueyang, the Yueyang hukou window, the Wuhan hukou office that decides.

- The worker pushes each office's messages, signed; the systems verify them and answer through
  the API with their own tokens: the birth certificate and the household registration are
  received and approved by systems, recorded with each system as the officer.
- The Wuhan system is down (503), then hangs (its attempts time out) while the worker is
  killed with SIGKILL and started again: its circuit opens (the office's queue warns), and
  once it is back every message arrives, each acted on once; nothing is dead.
- What was pushed to a system is its office's pull feed, message for message, in sequence.
- A secret rotated without a grace period is refused by the system still holding the old one
  (the delivery waits, failing 401), and delivered once the system has the new secret.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import httpx
import pytest

from adapters.bootstrap import build
from adapters.settings import Settings
from domain.births.commands import ApplyAsFamily, NotifyBirth
from domain.kernel.identifiers import citizen_id
from tests.conftest import make_facts
from tests.e2e.test_registry_simulator_http import bearer
from tests.e2e.test_serve import free_port, wait_until_up

T = TypeVar("T")
OFFICES = {  # simulated system → its office
    "health": ("430602", "health"),
    "window": ("430602", "public-security"),
    "hukou": ("420102", "public-security"),
}
HUKOU = "household-registration"
# quick retries, so that minutes of backoff take seconds here (docs/operations.md, Deliveries)
DELIVERY = {
    "NEWBORN_LEDGER_DELIVERY_BASE_DELAY": "0.2",
    "NEWBORN_LEDGER_DELIVERY_MAX_DELAY": "1",
    "NEWBORN_LEDGER_DELIVERY_CIRCUIT_FAILURES": "3",
    "NEWBORN_LEDGER_DELIVERY_CIRCUIT_PAUSE": "1",
    "NEWBORN_LEDGER_DELIVERY_MAX_ATTEMPTS": "200",
    "NEWBORN_LEDGER_DELIVERY_TIMEOUT": "1",
    "NEWBORN_LEDGER_DELIVERY_LEASE": "4",
    "NEWBORN_LEDGER_DELIVERY_INTERVAL": "0.2",
}


def wait_for(check: Callable[[], T | None], what: str, deadline_s: float = 45.0) -> T:
    end = time.monotonic() + deadline_s
    while (found := check()) is None or found is False:
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


def cli(env: dict[str, str], *args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "entry.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()


def start(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "entry.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@dataclass
class System:
    """A registered system and the simulated registry system standing in for it."""

    system_id: str
    actor_id: str
    secret: str
    token: str
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> Any:
        return httpx.get(f"{self.url}{path}", timeout=5).json()

    def control(self, mode: str, **more: Any) -> None:
        answer = httpx.post(f"{self.url}/control", json={"mode": mode, **more}, timeout=5)
        assert answer.status_code == 200, answer.text


@dataclass
class Stack:
    env: dict[str, str]
    ledger: str
    admin: str
    systems: dict[str, System] = field(default_factory=dict)
    worker: subprocess.Popen[bytes] | None = None
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, *args: str) -> subprocess.Popen[bytes]:
        process = start(self.env, *args)
        self.processes.append(process)
        return process

    def simulate(self, name: str, wait: bool = True) -> None:
        """(Re)start the simulated registry system of `name` with its current secret."""
        system = self.systems[name]
        env = self.env | {
            "NEWBORN_LEDGER_SIMULATOR_TOKEN": system.token,
            "NEWBORN_LEDGER_SIMULATOR_SECRETS": system.secret,
        }
        simulator = ("--port", str(system.port), "--ledger", self.ledger, "--delay", "0.1")
        system.process = start(env, "registry-simulator", *simulator)
        self.processes.append(system.process)
        if wait:
            wait_until_up(f"{system.url}/healthz")

    def case(self, case_id: UUID) -> dict[str, Any]:
        answer = httpx.get(f"{self.ledger}/cases/{case_id}", headers=bearer(self.admin), timeout=5)
        found: dict[str, Any] = answer.json()
        return found

    def service(self, case_id: UUID, service: str) -> dict[str, Any]:
        """The service's entry in the case view (empty until the case is planned)."""
        services = self.case(case_id).get("services", [])
        return next((s for s in services if s["service"] == service), {})

    def history(self, case_id: UUID, stream: str) -> list[dict[str, Any]]:
        answer = httpx.get(
            f"{self.ledger}/cases/{case_id}/history", headers=bearer(self.admin), timeout=5
        )
        return [e for e in answer.json()["events"] if e["stream"] == stream]

    def feed(self, name: str) -> list[dict[str, Any]]:
        locality, authority = OFFICES[name]
        messages: list[dict[str, Any]] = []
        after = 0
        while True:
            page = httpx.get(
                f"{self.ledger}/offices/{locality}/{authority}/feed?after={after}&limit=2",
                headers=bearer(self.systems[name].token),
                timeout=5,
            ).json()
            if not page["messages"]:
                return messages
            messages += page["messages"]
            after = page["next"]

    def warnings(self, name: str) -> list[dict[str, Any]]:
        locality, authority = OFFICES[name]
        queue = httpx.get(
            f"{self.ledger}/offices/{locality}/{authority}/queue",
            headers=bearer(self.systems[name].token),
            timeout=5,
        ).json()
        found: list[dict[str, Any]] = queue["delivery_warnings"]
        return found

    def deliveries(self, request_id: str) -> list[dict[str, Any]]:
        answer = httpx.get(
            f"{self.ledger}/service-requests/{request_id}/deliveries",
            headers=bearer(self.admin),
            timeout=5,
        ).json()
        return [d for s in answer["systems"] for d in s["deliveries"]]

    def start_worker(self) -> None:
        self.worker = self.run("worker")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgres":
        from tests.pg import postgres_settings

        pg: Settings = postgres_settings("registry_chain")
        return pg
    return Settings(persistence="sqlite", sqlite_dir=str(tmp_path / "var"))


def store_env(settings: Settings) -> dict[str, str]:
    env = {**os.environ, **DELIVERY, "NEWBORN_LEDGER_EMBEDDED_WORKER": "no"}
    if settings.persistence == "postgres":
        from tests.pg import ledger_env

        return env | ledger_env(settings)
    return env | {
        "NEWBORN_LEDGER_PERSISTENCE": "sqlite",
        "NEWBORN_LEDGER_SQLITE_DIR": settings.sqlite_dir,
    }


@pytest.fixture
def stack(settings: Settings) -> Iterator[Stack]:
    """The processes, started together. The Wuhan system is registered with the command line
    (`registry add`, its output read as an operator would); the others directly on the store
    (the same call), which saves a process start each."""
    env = store_env(settings)
    built = build(settings)  # the tables, and an admin for the test's reads
    admin = built.actors.add("admin", None)[1]
    port = free_port()
    made = Stack(env, f"http://127.0.0.1:{port}", admin)
    try:
        for name, (locality, authority) in OFFICES.items():
            system_port = free_port()
            url = f"http://127.0.0.1:{system_port}/webhooks"
            if name != "hukou":
                added = built.systems.register(
                    built.actors, locality, authority, url, f"simulated {name} system"
                )
                ids = (str(added.system.system_id), str(added.system.actor_id))
                made.systems[name] = System(*ids, added.secret, added.token, system_port)
                continue
            built.close()  # the command line's own process writes the store now
            lines = cli(
                env, "registry", "add", "--locality", locality, "--authority", authority,
                "--url", url, "--label", f"simulated {name} system",
            )  # fmt: skip
            system_id = lines[0].split()[3]
            actor_id = lines[0].split("(actor ")[1].split(")")[0]
            made.systems[name] = System(system_id, actor_id, lines[-2], lines[-1], system_port)
        made.run("serve", "--port", str(port))
        for name in OFFICES:
            made.simulate(name, wait=False)
        wait_until_up(f"{made.ledger}/healthz")
        for system in made.systems.values():
            wait_until_up(f"{system.url}/healthz")
        made.start_worker()
        yield made
    finally:
        built.close()  # closing twice is harmless
        for process in made.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in made.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:  # slow to stop (a loaded machine): ended, reaped
                process.kill()
                process.wait()


def new_case(settings: Settings, ref: str) -> UUID:
    """A birth in Yueyang whose mother's hukou is in Wuhan, with the family's application
    (recorded on the store directly: the hospital's side is not what is tested here)."""
    container = build(settings.with_changes(embedded_worker=False))
    try:
        outcome = container.ledger.notify_birth(NotifyBirth(f"m-{ref}", make_facts(ref), b"{}"))
        container.ledger.apply_as_family(
            ApplyAsFamily(outcome.case_id, "王小雨", "mother", "430602", "430602", True)
        )
        return outcome.case_id
    finally:
        container.close()


def in_state(stack: Stack, case_id: UUID, service: str, state: str) -> dict[str, Any] | None:
    found = stack.service(case_id, service)
    return found if found.get("state") == state else None


def test_registry_systems_decide_through_an_outage_and_a_killed_worker(
    settings: Settings, stack: Stack
) -> None:
    health, window, hukou = (stack.systems[n] for n in ("health", "window", "hukou"))
    hukou.control("fail", status=503)
    case_id = new_case(settings, "MR-CHAIN-1")

    # the birth certificate: pushed to the hospital's office, received and approved there
    approved = wait_for(
        lambda: in_state(stack, case_id, "birth-certificate", "approved"), "the certificate"
    )
    assert approved["result"]["certificate_number"]
    steps = stack.history(case_id, "birth-certificate")
    officers = {e["data"]["officer"] for e in steps if e["event"] in ("Received", "Approved")}
    assert officers == {f"system:{health.actor_id}"}

    # the hukou registration: the Yueyang window's system receives it; Wuhan's is down
    wait_for(lambda: in_state(stack, case_id, HUKOU, "received"), "the window's receipt")
    request_id = stack.service(case_id, HUKOU)["service_request_id"]
    warned = wait_for(
        lambda: [w for w in stack.warnings("hukou") if w["circuit"] != "closed"] or None,
        "the circuit to open",
    )
    assert warned[0]["system_id"] == hukou.system_id
    failed = [d for d in stack.deliveries(request_id) if d["system_id"] == hukou.system_id]
    assert failed
    # all wait; those tried failed with 503, a later message may wait untried behind the open
    # circuit (no status yet): the circuit can open on the request's earlier messages alone
    assert all(d["state"] == "pending" for d in failed)
    assert all(d["last_status"] in (503, None) for d in failed)
    assert any(d["last_status"] == 503 for d in failed)

    # now it hangs: its probes time out (spending no attempt: the circuit is open), and the
    # worker is killed outright meanwhile
    hukou.control("timeout")
    wait_for(
        lambda: any(d["last_status"] is None and d["last_error"] for d in
                    stack.deliveries(request_id) if d["system_id"] == hukou.system_id) or None,
        "a probe of the hanging system",
    )  # fmt: skip
    assert stack.worker is not None
    stack.worker.send_signal(signal.SIGKILL)
    stack.worker.wait(timeout=10)
    hukou.control("ok")
    stack.start_worker()

    done = wait_for(lambda: in_state(stack, case_id, HUKOU, "approved"), "the hukou decision")
    number = done["result"]["citizen_id"]
    assert citizen_id(number) == number
    assert number[:6] == "420102"
    steps = stack.history(case_id, HUKOU)
    assert [e["event"] for e in steps].count("Approved") == 1
    received = next(e for e in steps if e["event"] == "Received")
    approval = next(e for e in steps if e["event"] == "Approved")
    assert received["data"]["officer"] == f"system:{window.actor_id}"
    assert approval["data"]["officer"] == f"system:{hukou.actor_id}"

    # every message arrived once, in the feed's sequence; nothing is dead; the circuit closed
    pushed = hukou.get("/received")["messages"]
    assert len({m["id"] for m in pushed}) == len(pushed)
    in_order = sorted(pushed, key=lambda m: int(m["sequence"]))
    assert [m["id"] for m in in_order] == [m["id"] for m in stack.feed("hukou")]
    assert [a["action"] for a in hukou.get("/answers")["answers"]] == ["approve"]
    ours = [d for d in stack.deliveries(request_id) if d["system_id"] == hukou.system_id]
    wait_for(
        lambda: all(d["state"] == "delivered" for d in stack.deliveries(request_id)) or None,
        "every delivery of the request to be recorded delivered",
    )
    assert {d["message_id"] for d in ours} == {m["id"] for m in pushed}
    wait_for(lambda: stack.warnings("hukou") == [] or None, "the circuit to close")
    for name in ("health", "window"):
        ids = [m["id"] for m in stack.systems[name].get("/received")["messages"]]
        assert sorted(ids) == sorted(m["id"] for m in stack.feed(name)), name


def test_a_rotated_secret_is_refused_until_the_system_holds_it(
    settings: Settings, stack: Stack
) -> None:
    health = stack.systems["health"]
    lines = cli(stack.env, "registry", "rotate-secret", health.system_id, "--keep-old-hours", "0")
    health.secret = lines[-1]  # the simulated system still holds the old one
    case_id = new_case(settings, "MR-CHAIN-2")
    dispatched = wait_for(
        lambda: in_state(stack, case_id, "birth-certificate", "dispatched"), "the dispatch"
    )
    request_id = dispatched["service_request_id"]
    refused = wait_for(
        lambda: [d for d in stack.deliveries(request_id) if d["last_status"] == 401] or None,
        "the refusal",
    )
    assert refused[0]["state"] == "pending"
    assert health.get("/received")["messages"] == []  # nothing was accepted
    assert health.process is not None
    health.process.send_signal(signal.SIGINT)
    health.process.wait(timeout=20)
    stack.simulate("health")  # now with the new secret
    wait_for(
        lambda: in_state(stack, case_id, "birth-certificate", "approved"),
        "the approval after the switch",
    )
