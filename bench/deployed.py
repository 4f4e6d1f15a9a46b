"""Lifecycle as deployed on PostgreSQL: `newborn-ledger worker` in its own process, while
hospitals and offices act at once and all the time from this process (threads)."""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from adapters.bootstrap import Container, build
from bench import lifecycle, machine, pgdb
from bench.messages import BIRTH_DIVISION, HUKOU
from bench.offices import OFFICES, Office, dispatched_to, notify, receive_and_approve
from bench.server import Process, start_worker
from bench.stats import percentile
from domain.kernel.actors import AUTHORITIES
from projections.office_queue import QueueRow

HOSPITALS = 2  # threads notifying
IDLE_S = 0.5  # a desk's pause when its queues are empty (the worker's tick is every 1 s)
WATCH_S = 0.25  # how often the bench reads the completions from the ledger
COMPLETED = "domain.birth_case:BirthCase.Completed"
ERROR_LINE = re.compile(r"\bERROR\b|Traceback")


@dataclass(frozen=True)
class Bounds:
    """How long and how big a run is."""

    cases: int  # notified at most
    seconds: float  # hospitals stop notifying after this
    in_flight: int  # cases notified and not completed, at most
    rate: float  # cases notified per second, at most (a burst of `in_flight` moves in step)
    drain_s: float  # then at most this long for the cases in flight to complete


def offices() -> list[Office]:
    """Every office the bench's cases can be routed to (the reads phase finds the same)."""
    localities = dict.fromkeys((BIRTH_DIVISION, *HUKOU))
    return sorted((locality, authority) for locality in localities for authority in AUTHORITIES)


class Run:
    """Hospitals (HOSPITALS threads) notify while fewer than `in_flight` cases are open; OFFICES
    desks (threads) each serve a share of the offices: read their queues, receive and approve
    what is dispatched there, pause when there is nothing. The worker process does the rest."""

    def __init__(self, container: Container, schema: str, bounds: Bounds) -> None:
        self.container, self.schema, self.bounds = container, schema, bounds
        self.run = schema.replace("_", "-")
        self.notified: dict[UUID, float] = {}  # case id → when the hospital's call returned
        self.completed: dict[UUID, float] = {}  # case id → when the bench saw it completed
        self.errors: Counter[str] = Counter()  # exception type → count (no messages: PII)
        self.decisions = self.queue_reads = self.rows_read = 0
        self.series: list[tuple[float, int, int]] = []  # (s, notified, completed), each second
        self.desk_idle_s = [0.0] * OFFICES  # each desk's pauses with nothing to do
        self._cases, self._results = itertools.count(), itertools.count()  # i, result numbers
        self._lock, self._stop = threading.Lock(), threading.Event()
        self.started = self.notify_end = self._next_slot = self.full_s = 0.0

    def measure(self, worker: Process) -> dict[str, Any]:
        """Run to the bounds; the figures, with the CPU each party used meanwhile."""
        with pgdb.connect() as watcher:  # opened before the PostgreSQL CPU reading
            cpu, worker_cpu = time.process_time(), worker.cpu_s()
            pg_start, self.started = machine.postgres_cpu(), time.perf_counter()
            hospitals = [self._thread(self._hospital) for _ in range(HOSPITALS)]
            mine = offices()
            desks = [self._thread(self._desk, n, mine[n::OFFICES]) for n in range(OFFICES)]
            self._watch(watcher, hospitals)
            elapsed = time.perf_counter() - self.started
            events = sum(lifecycle.heads(self.container))  # the schema was fresh
            used = {
                "bench": time.process_time() - cpu,
                "worker": worker.cpu_s() - worker_cpu,
                "postgres": machine.postgres_cpu_since(pg_start),
            }
        self._stop.set()
        for thread in hospitals + desks:
            thread.join(timeout=30)
        return self.summary(elapsed, events, used)

    def _thread(self, target: Any, *args: Any) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        return thread

    def _hospital(self) -> None:
        end = self.started + self.bounds.seconds
        while not self._stop.is_set() and time.perf_counter() < end:
            if self._open() >= self.bounds.in_flight:
                self._stop.wait(0.02)
                continue
            with self._lock:
                i, slot = next(self._cases), max(time.perf_counter(), self._next_slot)
                self._next_slot = slot + 1 / self.bounds.rate
            if i >= self.bounds.cases:
                return
            time.sleep(max(0.0, slot - time.perf_counter()))
            try:
                self.notified[notify(self.container, self.run, i)] = time.perf_counter()
            except Exception as exc:  # counted and shown; the run goes on
                self._count(exc)

    def _desk(self, n: int, mine: list[Office]) -> None:
        done: set[str] = set()  # the queue shows a request until the worker's next tick
        while not self._stop.is_set():
            found = [r for o in mine for r in dispatched_to(self.container, o)]
            rows = [r for r in found if r.service_request_id not in done]
            with self._lock:
                self.queue_reads += len(mine)
                self.rows_read += len(found)
            for row in rows:
                self._decide(row)
                done.add(row.service_request_id)
            if not rows:
                paused = time.perf_counter()
                self._stop.wait(IDLE_S)
                self.desk_idle_s[n] += time.perf_counter() - paused

    def _decide(self, row: QueueRow) -> None:
        try:
            receive_and_approve(self.container, row, next(self._results))
        except Exception as exc:  # counted and shown; the run goes on
            self._count(exc)
            return
        with self._lock:
            self.decisions += 2

    def _count(self, exc: Exception) -> None:
        with self._lock:
            self.errors[type(exc).__name__] += 1

    def _watch(self, conn: Any, hospitals: list[threading.Thread]) -> None:
        """Follow the completions until every notified case completed, or the drain bound
        expired, once the hospitals stopped."""
        position, last = 0, self.started
        while True:
            time.sleep(WATCH_S)
            full = self._open() >= self.bounds.in_flight  # the hospitals were held meanwhile
            position, now = self._completions(conn, position), time.perf_counter()
            if full and not self.notify_end:
                self.full_s += now - last
            if now - self.started >= len(self.series):  # one sample a second
                self.series.append((now - self.started, len(self.notified), len(self.completed)))
            if self._finished(now, hospitals):
                return
            last = now

    def _completions(self, conn: Any, position: int) -> int:
        """Record the cases whose BirthCase.Completed event is after `position` in the
        ledger's log; returns the new position."""
        found = conn.execute(
            f"SELECT notification_id, originator_id FROM {self.schema}.caseledger_events "
            "WHERE notification_id > %s AND topic = %s ORDER BY notification_id",
            (position, COMPLETED),
        ).fetchall()
        now = time.perf_counter()
        for _, case in found:
            self.completed[case] = now
        return int(found[-1][0]) if found else position

    def _open(self) -> int:
        return len(self.notified) - len(self.completed)

    def _finished(self, now: float, hospitals: list[threading.Thread]) -> bool:
        if any(thread.is_alive() for thread in hospitals):
            return False
        self.notify_end = self.notify_end or now
        drained = len(self.completed) >= len(self.notified)
        return drained or now - self.notify_end >= self.bounds.drain_s

    def summary(self, elapsed: float, events: int, used: dict[str, float]) -> dict[str, Any]:
        completed = len(self.completed)
        latencies = [t - self.notified[c] for c, t in self.completed.items() if c in self.notified]
        return {
            "cases": len(self.notified),
            "completed": completed,
            "elapsed_s": elapsed,
            "notifying_s": self.notify_end - self.started,
            "cases_per_s": completed / elapsed,
            "after_fill_cases_per_s": self.after_fill(self.started + elapsed),
            "in_flight_full_s": self.full_s,  # while notifying, held by the in-flight bound
            "events": events,
            "events_per_s": events / elapsed,
            "commands": len(self.notified) + self.decisions,
            "offices": OFFICES,
            "errors": dict(self.errors),
            "queue_reads": self.queue_reads,  # an office's queue read: its pages and the count
            "queue_rows_read": self.rows_read,
            "desk_busy": [round(1 - idle / elapsed, 2) for idle in self.desk_idle_s],
            "case_s_p50": percentile(latencies, 50),
            "case_s_p99": percentile(latencies, 99),
            "cpu_ms_per_case": {k: 1e3 * v / max(1, completed) for k, v in used.items()},
            "series": self.series,
        }

    def after_fill(self, end: float) -> float | None:
        """Completions per second from the first one seen to `end`: the rate without the
        pipeline's fill (the first cases' whole lifecycle, with no completion), drain kept."""
        first = min(self.completed.values(), default=end)
        if first >= end:
            return None
        return sum(t > first for t in self.completed.values()) / (end - first)


def wait_until_idle(worker: Process, deadline_s: float = 30.0) -> None:
    """Until the worker has started (imports, pools, first ticks): its CPU stops moving."""
    end, before = time.monotonic() + deadline_s, worker.cpu_s()
    while time.monotonic() < end:
        if worker.popen.poll() is not None:
            raise RuntimeError(f"the worker exited: see {worker.log}")
        time.sleep(1.0)
        now = worker.cpu_s()
        if now - before < 0.02:
            return
        before = now


def worker_log(log: Path) -> dict[str, int]:
    """Error lines in the worker's log (it logs ids only)."""
    lines = log.read_text(errors="replace").splitlines()
    return {
        "worker_log_errors": sum(bool(ERROR_LINE.search(line)) for line in lines),
    }


def on_postgres(schema: str, bounds: Bounds, log_dir: Path) -> dict[str, Any]:
    """The run, then the raw-insert baseline over its rows; the schema is dropped after."""
    pgdb.fresh_schema(schema)
    settings = pgdb.settings(schema, embedded_worker=False)
    container = build(settings)  # the tables exist before the worker starts
    worker = start_worker(pgdb.server_env(settings), log_dir, schema)
    try:
        lifecycle.warm_up()
        wait_until_idle(worker)
        ours = Run(container, schema, bounds).measure(worker)
    finally:
        worker.stop()
        container.close()
    ours |= worker_log(worker.log) | {"worker_log": str(worker.log)}
    ours["completed_in_ledger"] = completed_cases(schema)
    rows = list(lifecycle.pg_rows(schema))
    ours["raw_rate"] = lifecycle.raw_pg(schema, rows, ours["commands"], OFFICES)
    ours["rows"] = len(rows)
    pgdb.drop_schema(schema)  # its autovacuum would run in the reads phase
    return ours


def completed_cases(schema: str) -> int:
    """Distinct cases with a BirthCase.Completed event, once the worker stopped."""
    with pgdb.connect() as conn:
        row = conn.execute(
            f"SELECT count(DISTINCT originator_id) FROM {schema}.caseledger_events "
            "WHERE topic = %s",
            (COMPLETED,),
        ).fetchone()
    return int(row[0]) if row else 0
