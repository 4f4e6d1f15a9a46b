"""The chaos run (issue #16): real `serve` processes and a separate `worker` on PostgreSQL,
a stream of distinct birth notifications, and kill -9 of the API processes and the worker at
random moments, each restarted. Senders resend a message that got no acknowledgement (the same
bytes, the same message id) until it is acknowledged. Then, with everything stopped:

- every acknowledged notification has exactly one case, and there is no other case;
- every service request the orchestrator ordered was dispatched exactly once (one
  `ServiceRequest.Dispatched` event, one `CasePlan.DispatchOrdered` event), and each case was
  planned once;
- every projection's rows equal those of a rebuild from the event store.

Loopback only; every loop is bounded by counts and a deadline.

    .venv/bin/python -m bench.chaos            # the full run (>= 10 kills of each)
    .venv/bin/python -m bench.chaos --quick    # the bounded form CI runs (tests/chaos)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import psycopg
from psycopg import sql

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from bench import pgdb
from bench.messages import HOSPITAL, message
from bench.server import ROOT, free_port
from domain.kernel.case_plan import CasePlan
from domain.kernel.service_request import ServiceRequest

NOTIFIED = "domain.birth_case:BirthCase.Notified"
PLANNED = "domain.birth_case:BirthCase.ServicesPlanned"
DISPATCHED = "domain.service_request:ServiceRequest.Dispatched"
ORDERED = "domain.case_plan:CasePlan.DispatchOrdered"
FHIR = "application/fhir+json"
START_S = 90.0  # a process that does not answer within this is a failure of the run
REQUEST_S = 20.0  # one HTTP call; a killed server's connection fails well before


@dataclass(frozen=True)
class Bounds:
    """How big and how long a run is."""

    api_kills: int  # kill -9 of an API process, at least (then the senders stop)
    worker_kills: int  # kill -9 of the worker, at least
    max_notifications: int  # distinct notifications sent, at most
    seconds: float  # the chaos phase ends by then even if kills are missing (then it fails)
    drain_s: float  # then at most this long for the worker to catch up
    rate: float = 40.0  # notifications started per second, at most (spread over the kills)
    apis: int = 2  # API processes (`serve --workers 1` each, its own port)
    senders: int = 4  # hospital threads
    pause_s: tuple[float, float] = (0.5, 2.5)  # between kills (uniform)
    seed: int = 16


FULL = Bounds(api_kills=12, worker_kills=12, max_notifications=8000, seconds=900, drain_s=300)
QUICK = Bounds(api_kills=5, worker_kills=5, max_notifications=3000, seconds=240, drain_s=120)


@dataclass
class Figures:
    """What a run did and found (docs/operations.md, Reliability suite)."""

    api_kills: int = 0
    worker_kills: int = 0
    notifications: int = 0  # distinct notifications acknowledged
    resends: int = 0  # sends that got no acknowledgement and were sent again
    refused: dict[str, int] = field(default_factory=dict)  # unexpected 4xx by status
    cases: int = 0  # BirthCase.Notified events in the ledger
    lost: int = 0  # acknowledged, no case
    extra_cases: int = 0  # a case no acknowledgement named
    ack_mismatches: int = 0  # a resend acknowledged with another case id
    requests_dispatched: int = 0
    duplicate_dispatches: int = 0  # requests with more than one Dispatched event
    duplicate_orders: int = 0  # DispatchOrdered events beyond one per ordered service
    ordered_not_dispatched: int = 0
    dispatched_not_ordered: int = 0
    plans_not_once: int = 0  # cases whose ServicesPlanned count is not 1
    projection_rows: int = 0
    projection_differences: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    drained: bool = False

    def failures(self, bounds: Bounds) -> list[str]:
        """Each broken promise, in words (empty when the run holds)."""
        checks = {
            "fewer kills than planned": self.api_kills < bounds.api_kills
            or self.worker_kills < bounds.worker_kills,
            "acknowledged notifications lost": self.lost,
            "cases no acknowledgement named": self.extra_cases,
            "resends acknowledged with another case": self.ack_mismatches,
            "requests dispatched more than once": self.duplicate_dispatches,
            "dispatches ordered more than once": self.duplicate_orders,
            "ordered and never dispatched": self.ordered_not_dispatched,
            "dispatched and never ordered": self.dispatched_not_ordered,
            "cases not planned exactly once": self.plans_not_once,
            "notifications refused with a 4xx": sum(self.refused.values()),
            "projections differing from a rebuild": sum(self.projection_differences.values()),
            "worker did not catch up": not self.drained,
        }
        return [what for what, bad in checks.items() if bad]


class Managed:
    """One process of the deployment, restartable: an API (`serve` on its port) or the worker."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.command, self.env, self.log = name, command, env, log
        self.popen: subprocess.Popen[bytes] | None = None
        self.up = threading.Event()

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl+C of the run reaches us, not them
            )

    def kill9(self) -> None:
        self.up.clear()
        if self.popen is not None and self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        self.up.clear()
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


class Api(Managed):
    def __init__(self, n: int, env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "entry.cli", "serve", "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", "1"]  # fmt: skip
        super().__init__(f"api{n}", command, env, log_dir / f"api{n}.log")

    def start(self) -> None:
        super().start()
        end = time.monotonic() + START_S
        while time.monotonic() < end:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited at start: see {self.log}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    self.up.set()
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer within {START_S} s: see {self.log}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Run:
    """Senders notify through whichever API is up; a chaos thread kills and restarts."""

    def __init__(self, bounds: Bounds, settings: Settings, token: str, log_dir: Path) -> None:
        self.bounds, self.settings, self.token = bounds, settings, token
        self.rng = random.Random(bounds.seed)
        env = {
            **os.environ,
            **pgdb.server_env(settings),
            "NEWBORN_LEDGER_CREATE_TABLES": "no",  # created by build() before the run
            "NEWBORN_LEDGER_LOG_LEVEL": "WARNING",
        }
        env.pop("NEWBORN_LEDGER_CIPHER_KEY", None)
        self.apis = [Api(n, env, log_dir) for n in range(bounds.apis)]
        worker_command = [sys.executable, "-m", "entry.cli", "worker"]
        self.worker = Managed("worker", worker_command, env, log_dir / "worker.log")
        self.figures = Figures()
        self.acks: dict[int, UUID] = {}  # notification number → acknowledged case id
        self._lock = threading.Lock()
        self._next, self._slot = 0, 0.0
        self._chaos_done = threading.Event()
        self._hard_stop = threading.Event()

    # --- the run ----------------------------------------------------------------------------
    def go(self) -> None:
        for api in self.apis:
            api.start()
        self.worker.start()
        started = time.monotonic()
        senders = [threading.Thread(target=self._sender, daemon=True) for _ in range(
            self.bounds.senders)]  # fmt: skip
        for thread in senders:
            thread.start()
        try:
            self._chaos(started + self.bounds.seconds)
        finally:
            self._chaos_done.set()
            for thread in senders:  # each finishes the message it holds (bounded by seconds)
                thread.join(timeout=self.bounds.seconds)
            self._hard_stop.set()
        self.figures.seconds = time.monotonic() - started

    def _chaos(self, deadline: float) -> None:
        kills = {"api": 0, "worker": 0}
        wanted = {"api": self.bounds.api_kills, "worker": self.bounds.worker_kills}
        while time.monotonic() < deadline and any(kills[k] < wanted[k] for k in kills):
            time.sleep(self.rng.uniform(*self.bounds.pause_s))
            kind = self.rng.choice([k for k in kills if kills[k] < wanted[k]])
            target: Managed = self.worker if kind == "worker" else self.rng.choice(self.apis)
            target.kill9()
            kills[kind] += 1
            time.sleep(self.rng.uniform(0.0, 0.5))
            target.start()
        self.figures.api_kills, self.figures.worker_kills = kills["api"], kills["worker"]

    def _take(self) -> int | None:
        """The next notification's number, at its turn (None once the chaos is over)."""
        with self._lock:
            if self._chaos_done.is_set() or self._next >= self.bounds.max_notifications:
                return None
            n, self._next = self._next, self._next + 1
            slot = self._slot = max(time.monotonic(), self._slot + 1 / self.bounds.rate)
        time.sleep(max(0.0, slot - time.monotonic()))
        return n

    def _sender(self) -> None:
        with httpx.Client(timeout=REQUEST_S) as client:
            while (i := self._take()) is not None:
                self._send(client, i)

    def _send(self, client: httpx.Client, i: int) -> None:
        """Until acknowledged: the same message to any API that is up."""
        sent = message("chaos", i)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": FHIR}
        while not self._hard_stop.is_set():
            up = [api for api in self.apis if api.up.is_set()]
            if not up:
                time.sleep(0.05)
                continue
            api = self.rng.choice(up)
            try:
                answer = client.post(
                    f"{api.url}/fhir/$process-message", content=sent.body, headers=headers
                )
            except httpx.TransportError:
                self._resent()
                continue
            if answer.status_code == 200:
                self._acknowledged(i, UUID(answer.headers["location"].rsplit("/", 1)[1]))
                return
            if answer.status_code >= 500:  # busy, or a store error while being killed
                self._resent()
                time.sleep(0.1)
                continue
            with self._lock:
                key = str(answer.status_code)
                self.figures.refused[key] = self.figures.refused.get(key, 0) + 1
            return

    def _resent(self) -> None:
        with self._lock:
            self.figures.resends += 1

    def _acknowledged(self, i: int, case_id: UUID) -> None:
        with self._lock:
            if i in self.acks and self.acks[i] != case_id:
                self.figures.ack_mismatches += 1
            self.acks[i] = case_id

    def resend_some(self, count: int) -> None:
        """Exact resends of acknowledged messages answer with the first acknowledgement."""
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": FHIR}
        with httpx.Client(timeout=REQUEST_S) as client:
            for i in self.rng.sample(sorted(self.acks), min(count, len(self.acks))):
                answer = client.post(
                    f"{self.apis[0].url}/fhir/$process-message",
                    content=message("chaos", i).body,
                    headers=headers,
                )
                if answer.status_code != 200:
                    self.figures.ack_mismatches += 1
                    continue
                self._acknowledged(i, UUID(answer.headers["location"].rsplit("/", 1)[1]))

    def stop(self) -> None:
        for process in [*self.apis, self.worker]:
            process.stop()


# --- waiting and checking ---------------------------------------------------------------------
def drain(container: Container, deadline_s: float) -> bool:
    """Until planning, carrying out and every projection are caught up (twice in a row)."""
    end, settled = time.monotonic() + deadline_s, 0
    processing, projections = container.processing, container.projections
    while time.monotonic() < end:
        lags = [processing.planning.lag(), processing.carrying_out.lag()]
        lags += list(projections.lags().values())
        settled = settled + 1 if not any(lags) else 0
        if settled >= 2:
            return True
        time.sleep(1.0)
    return False


def check_cases(
    conn: psycopg.Connection[Any], schema: str, acks: dict[int, UUID], figures: Figures
) -> None:
    """Each acknowledgement names a case of its own, planned once; no case is unnamed."""
    acked = set(acks.values())
    figures.notifications = len(acks)
    cases = _originators(conn, schema, "caseledger", NOTIFIED)
    figures.cases = len(cases)
    figures.lost = len(acked - cases)
    figures.extra_cases = len(cases - acked)
    figures.ack_mismatches += len(acks) - len(acked)  # two messages, one case
    planned = _counts(conn, schema, "caseledger", PLANNED)
    figures.plans_not_once = sum(planned.get(case, 0) != 1 for case in cases)


def check_dispatches(
    conn: psycopg.Connection[Any], schema: str, container: Container, figures: Figures
) -> None:
    """Each service the orchestrator ordered: one DispatchOrdered, one Dispatched; no others."""
    dispatched = _counts(conn, schema, "caseledger", DISPATCHED)
    orders = _counts(conn, schema, "orchestrator", ORDERED)
    figures.requests_dispatched = len(dispatched)
    figures.duplicate_dispatches = sum(n > 1 for n in dispatched.values())
    ordered: set[UUID] = set()
    for case in _originators(conn, schema, "caseledger", NOTIFIED):
        plan_id = CasePlan.create_id(case)
        plan: CasePlan = container.orchestrator.repository.get(plan_id)
        services = set(plan.dispatched)
        figures.duplicate_orders += orders.get(plan_id, 0) - len(services)
        ordered |= {ServiceRequest.create_id(case, s) for s in services}
    figures.ordered_not_dispatched = len(ordered - set(dispatched))
    figures.dispatched_not_ordered = len(set(dispatched) - ordered)


def _originators(conn: psycopg.Connection[Any], schema: str, app: str, topic: str) -> set[UUID]:
    return set(_counts(conn, schema, app, topic))


def _counts(conn: psycopg.Connection[Any], schema: str, app: str, topic: str) -> dict[UUID, int]:
    query = sql.SQL(
        "SELECT originator_id, count(*) FROM {}.{} WHERE topic = %s GROUP BY originator_id"
    ).format(sql.Identifier(schema), sql.Identifier(f"{app}_events"))
    return {UUID(str(o)): int(n) for o, n in conn.execute(query, (topic,)).fetchall()}


def projection_tables(conn: psycopg.Connection[Any], schema: str, names: list[str]) -> list[str]:
    """The tables of the projections (their rows, not their tracking)."""
    found = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (schema,)
    ).fetchall()
    return [
        str(t)
        for (t,) in found
        if any(str(t).startswith(n + "_") for n in names) and not str(t).endswith("_tracking")
    ]


def snapshot(
    conn: psycopg.Connection[Any], schema: str, tables: list[str]
) -> dict[str, Counter[str]]:
    """Each table's rows, as a multiset of their text forms (order does not matter)."""
    rows: dict[str, Counter[str]] = {}
    for table in tables:
        query = sql.SQL("SELECT t::text FROM {}.{} AS t").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
        rows[table] = Counter(str(r[0]) for r in conn.execute(query).fetchall())
    return rows


def check_projections(
    conn: psycopg.Connection[Any], schema: str, container: Container, figures: Figures
) -> None:
    """The views as the killed and restarted worker left them, against a rebuild."""
    projections = container.projections
    tables = projection_tables(conn, schema, list(projections.all()))
    before = snapshot(conn, schema, tables)
    for name in projections.all():
        projections.rebuild(name)
    after = snapshot(conn, schema, tables)
    figures.projection_rows = sum(sum(c.values()) for c in after.values())
    figures.projection_differences = {
        t: sum(((before[t] - after[t]) + (after[t] - before[t])).values()) for t in tables
    }
    figures.projection_differences = {t: n for t, n in figures.projection_differences.items() if n}


def run(bounds: Bounds, settings: Settings, log_dir: Path) -> Figures:
    """The whole run on an empty schema of `settings` (the caller makes it)."""
    schema = settings.postgres.schema
    container = build(replace(settings, embedded_worker=False))  # creates the tables
    try:
        _, token = container.actors.add("hospital", HOSPITAL, None, "chaos")
        chaos = Run(bounds, settings, token, log_dir)
        try:
            chaos.go()
            for process in [*chaos.apis, chaos.worker]:  # the last kill may be unanswered
                if not process.alive():
                    process.start()
            chaos.resend_some(20)
            chaos.figures.drained = drain(container, bounds.drain_s)
        finally:
            chaos.stop()
        with connect(settings) as conn:
            check_cases(conn, schema, chaos.acks, chaos.figures)
            check_dispatches(conn, schema, container, chaos.figures)
            check_projections(conn, schema, container, chaos.figures)
        return chaos.figures
    finally:
        container.close()


def connect(settings: Settings) -> psycopg.Connection[Any]:
    pg = settings.postgres
    return psycopg.connect(
        host=pg.host,
        port=pg.port,
        user=pg.user,
        password=pg.password or None,
        dbname=pg.dbname,
        autocommit=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the bounded form (CI)")
    parser.add_argument("--schema", default="chaos_run", help="dropped and made anew")
    args = parser.parse_args(argv)
    bounds = QUICK if args.quick else FULL
    pgdb.fresh_schema(args.schema)
    settings = pgdb.settings(args.schema, pool_size=3, embedded_worker=False)
    log_dir = Path(tempfile.mkdtemp(prefix="chaos-"))
    figures = run(bounds, settings, log_dir)
    failures = figures.failures(bounds)
    print(json.dumps(asdict(figures), indent=2))
    print(f"logs: {log_dir}")
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    pgdb.drop_schema(args.schema)
    print("held: every acknowledged notification once, every dispatch once, views = rebuild")
    return 0


if __name__ == "__main__":
    sys.exit(main())
