"""Deliveries to registry systems (issue 18): how fast one worker process pushes the office
feed, and what the feed and its deliveries add to each case; on PostgreSQL and on SQLite.

A fast local receiver (bench/receiver.py, its own process) answers every POST 204 and verifies
nothing. Per store:

1. The lifecycle of bench/lifecycle.py (notify, then every office receives and approves, in
   waves, ticking between them) three times, in fresh stores: without the office_feed
   projection (removed from the runner) and without systems; with it and no systems; with
   it and one registry system per office (`deployed.offices()`, each with its own URL on the
   receiver), the deliveries running meanwhile on their own thread as the worker runs them
   (`Ticker`, the default policy), until every message is delivered. Cases/s over the
   drive; CPU per case of this process and of the PostgreSQL server over the drive and the
   deliveries' drain.
2. The backlog: the systems of (1) disabled, a new one per office added from the feed's start
   (`registry add --from-start`): the deliveries loop (`Ticker`, default policy: 8 threads, 4
   in flight per endpoint, a round a second) delivers the office feed, every message once.
   Deliveries/s from the loop's start to the last one recorded delivered in the store; CPU per
   delivery. Baseline: the same bodies with the same headers (signed beforehand), POSTed by
   plain httpx from as many threads (the policy's 8, one shared client) to the same receiver,
   with no store. Also: signing one message (Standard Webhooks, one core), for scale.
"""

from __future__ import annotations

import itertools
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from adapters.bootstrap import Container, build
from adapters.delivery_stores import SQLITE_FILE
from adapters.scheduler import Ticker
from adapters.settings import Settings
from bench import deployed, lifecycle, machine, pgdb
from bench.server import ROOT, cpu_s, free_port
from integrations.registry.signing import signed_headers
from projections.office_feed import FEED, FeedMessage

FEED_TABLE = f"office_feed_{FEED.name}"
POLL_S = 0.05  # how often the bench looks for the deliveries recorded delivered


@dataclass(frozen=True)
class Bounds:
    cases: int  # each lifecycle drives at most this many cases
    seconds: float  # ... for at most this long
    drain_s: float  # then at most this long for every message to be delivered
    backlog_s: float  # the backlog: at most this long


class Receiver:
    """bench/receiver.py in its own process: 204 to every POST, a tally on GET /count."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log = log_dir / f"receiver-{self.port}.log"
        with self.log.open("wb") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "bench.receiver", str(self.port)],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.url = f"http://127.0.0.1:{self.port}"
        end = time.monotonic() + 20
        while time.monotonic() < end:
            try:
                self.tally()
                return
            except httpx.TransportError:
                if self.popen.poll() is not None:
                    raise RuntimeError(f"receiver exited: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the receiver did not answer")

    def tally(self, reset: bool = False) -> dict[str, int]:
        answer = httpx.get(f"{self.url}/{'reset' if reset else 'count'}", timeout=5)
        found: dict[str, int] = answer.json()
        return found

    def cpu_s(self) -> float:
        return cpu_s(self.popen.pid)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(timeout=10)


@dataclass
class Store:
    """Where a variant's data is, and how the bench counts it from outside the container (its
    own connection: the container's store connection and lock are the dispatcher's)."""

    settings: Settings
    count: Callable[[str], int]  # the rows of a SQL count query

    def delivered(self) -> int:
        return self.count("SELECT count(*) FROM {deliveries} WHERE state = 'delivered'")

    def feed(self) -> int:
        return self.count("SELECT count(*) FROM {feed}")


@contextmanager
def postgres_store(schema: str) -> Iterator[Store]:
    pgdb.fresh_schema(schema)
    names = {"deliveries": f'"{schema}".deliveries', "feed": f'"{schema}".{FEED_TABLE}'}
    with pgdb.connect() as conn:

        def count(sql: str) -> int:
            row = conn.execute(sql.format(**names)).fetchone()
            return int(row[0]) if row else 0

        yield Store(pgdb.settings(schema), count)


@contextmanager
def sqlite_store(folder: Path) -> Iterator[Store]:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    settings = pgdb.sqlite_settings(folder)
    paths = {"deliveries": folder / SQLITE_FILE, "feed": folder / "projection_office_feed.sqlite"}
    tables = {"deliveries": "deliveries", "feed": FEED_TABLE}

    def count(sql: str) -> int:
        which = "feed" if "{feed}" in sql else "deliveries"
        if not paths[which].exists():
            return 0
        with closing(sqlite3.connect(paths[which], timeout=30)) as conn:
            row = conn.execute(sql.format(**tables)).fetchone()
        return int(row[0]) if row else 0

    yield Store(settings, count)


def register_systems(container: Container, url: str, tag: str) -> list[Any]:
    """One registry system per office, each at its own path of the receiver, from the start
    of its office's feed; returns them."""
    systems = container.systems
    return [
        systems.register(
            container.actors, locality, authority, f"{url}/{tag}/{locality}/{authority}",
            f"bench {tag}", starts_after=0,
        ).system
        for locality, authority in deployed.offices()
    ]  # fmt: skip


def deliveries_loop(container: Container) -> Ticker:
    """The deliveries as the worker runs them (Container.background's loop)."""
    return Ticker(
        container.deliveries.run_once, container.settings.deliveries.interval_s, "deliveries"
    )


def wait_delivered(store: Store, target: int, limit_s: float) -> tuple[int, float]:
    """Until the store has `target` deliveries recorded delivered, or `limit_s` passed:
    (how many, when: time.perf_counter())."""
    end = time.perf_counter() + limit_s
    while True:
        done, now = store.delivered(), time.perf_counter()
        if done >= target or now >= end:
            return done, now
        time.sleep(POLL_S)


def lifecycle_run(
    store: Store, run: str, bounds: Bounds, receiver: Receiver | None, feed: bool = True
) -> dict[str, Any]:
    """The lifecycle: without `feed`, without the office_feed projection; with a receiver,
    with one system per office and the deliveries loop running, then until every message is
    delivered (the drain)."""
    container = build(store.settings)
    loop = None
    try:
        if not feed:
            del container.projections.projections["office_feed"]  # not caught up: no feed
        if receiver is not None:
            register_systems(container, receiver.url, "lifecycle")
            loop = deliveries_loop(container)
            loop.start()
        cpu, pg = time.process_time(), machine.postgres_cpu()
        ours = lifecycle.drive(container, run, bounds.cases, bounds.seconds)
        driven = time.perf_counter()
        if loop is not None:
            messages = store.feed()
            delivered, done = wait_delivered(store, messages, bounds.drain_s)
            ours |= {"messages": messages, "delivered": delivered, "drain_s": done - driven}
        cpu, pg_cpu = time.process_time() - cpu, machine.postgres_cpu_since(pg)
    finally:
        if loop is not None:
            loop.stop()
        container.close()
    cases = max(1, ours["completed"])
    ours |= {
        "total_cpu_ms_per_case": 1e3 * cpu / cases,
        "total_pg_cpu_ms_per_case": 1e3 * pg_cpu / cases,
    }
    return ours


def backlog_run(store: Store, receiver: Receiver, bounds: Bounds) -> dict[str, Any]:
    """The office feed delivered afresh to a new system per office (from the feed's start),
    by the deliveries loop; then the baseline: the same POSTs by plain httpx."""
    container = build(store.settings)
    try:
        for system in container.systems.systems(datetime.now(UTC)):
            container.systems.disable(system.system_id, container.actors)
        systems = register_systems(container, receiver.url, "backlog")
        posts = signed_posts(container, systems)
        before, messages = store.delivered(), store.feed()
        threads = container.settings.deliveries.threads
        receiver.tally(reset=True)
        loop = deliveries_loop(container)
        cpu, pg, received = time.process_time(), machine.postgres_cpu(), receiver.cpu_s()
        started = time.perf_counter()
        loop.start()
        try:
            done, ended = wait_delivered(store, before + messages, bounds.backlog_s)
        finally:
            loop.stop()
            container.deliveries.dispatcher.drain()
        cpu, pg_cpu = time.process_time() - cpu, machine.postgres_cpu_since(pg)
        received = receiver.cpu_s() - received
        tally = receiver.tally(reset=True)
    finally:
        container.close()
    delivered = done - before
    ours = {
        "messages": messages, "delivered": delivered, "elapsed_s": ended - started,
        "rate": delivered / (ended - started), "threads": threads,
        "in_flight": container.settings.deliveries.in_flight, "systems": len(systems),
        "received": tally, "cpu_ms_per_delivery": 1e3 * cpu / max(1, delivered),
        "pg_cpu_ms_per_delivery": 1e3 * pg_cpu / max(1, delivered),
        "receiver_cpu_ms_per_delivery": 1e3 * received / max(1, delivered),
    }  # fmt: skip
    ours["baseline"] = raw_posts(posts, threads, receiver)
    ours["signing_per_s"] = signing_rate(posts[: min(500, len(posts))], systems)
    return ours


Post = tuple[str, bytes, dict[str, str]]  # url, body, headers


def signed_posts(container: Container, systems: list[Any]) -> list[Post]:
    """Every message of the office feed as the dispatcher would send it to `systems`."""
    feed = container.projections.office_feed_view
    by_office = {(s.locality, s.authority): s for s in systems}
    posts: list[Post] = []
    now = datetime.now(UTC)
    for (locality, authority), system in by_office.items():
        after = 0
        while page := feed.messages(locality, authority, after, 500):
            posts += [_post(feed.open_body(m), m, system, now) for m in page]
            after = page[-1].sequence
    return posts


def _post(body: bytes, message: FeedMessage, system: Any, now: datetime) -> Post:
    return system.url, body, signed_headers(message.message_id, body, system.secrets, now)


def raw_posts(posts: list[Post], threads: int, receiver: Receiver) -> dict[str, Any]:
    """The same POSTs from `threads` threads on one httpx client (as many connections), no
    store; every answer must be 204."""
    limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
    shares = [posts[n::threads] for n in range(threads)]
    receiver.tally(reset=True)
    with httpx.Client(limits=limits, timeout=10) as client:
        statuses: list[int] = []

        def send(share: list[Post]) -> list[int]:
            return [client.post(url, content=body, headers=h).status_code for url, body, h in share]

        cpu, received = time.process_time(), receiver.cpu_s()
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            statuses = list(itertools.chain.from_iterable(pool.map(send, shares)))
        elapsed = time.perf_counter() - started
        cpu, received = time.process_time() - cpu, receiver.cpu_s() - received
    return {
        "posts": len(posts), "elapsed_s": elapsed, "rate": len(posts) / elapsed,
        "not_204": sum(s != 204 for s in statuses), "received": receiver.tally(reset=True),
        "cpu_ms_per_post": 1e3 * cpu / len(posts),
        "receiver_cpu_ms_per_post": 1e3 * received / len(posts),
    }  # fmt: skip


def signing_rate(posts: list[Post], systems: list[Any], seconds: float = 1.0) -> float:
    """Standard Webhooks signatures of these bodies per second, one core."""
    secrets, now = systems[0].secrets, datetime.now(UTC)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _, body, headers in posts:
            signed_headers(headers["webhook-id"], body, secrets, now)
        done += len(posts)
    return done / (time.perf_counter() - started)


def measure(
    store_for: Callable[[str], Any], label: str, bounds: Bounds, log_dir: Path
) -> dict[str, Any]:
    """Both lifecycles and the backlog on one kind of store."""
    receiver = Receiver(log_dir)
    try:
        with store_for("off") as store:
            without = lifecycle_run(store, f"{label}-off", bounds, None, feed=False)
        with store_for("feed") as store:
            feed_only = lifecycle_run(store, f"{label}-feed", bounds, None)
        with store_for("on") as store:
            with_feed = lifecycle_run(store, f"{label}-on", bounds, receiver)
            backlog = backlog_run(store, receiver, bounds)
    finally:
        receiver.stop()
    return {"without": without, "feed_only": feed_only, "with": with_feed, "backlog": backlog}


def on_postgres(schema: str, bounds: Bounds, log_dir: Path) -> dict[str, Any]:
    result = measure(lambda tag: postgres_store(f"{schema}_{tag}"), "pg", bounds, log_dir)
    for tag in ("off", "feed", "on"):
        pgdb.drop_schema(f"{schema}_{tag}")
    return result


def on_sqlite(folder: Path, bounds: Bounds, log_dir: Path) -> dict[str, Any]:
    return measure(lambda tag: sqlite_store(folder / tag), "lite", bounds, log_dir)
