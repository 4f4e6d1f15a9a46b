"""Lifecycle: whole cases through the orchestrator, and raw inserts of the same rows."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from bench import machine, pgdb
from bench.messages import message
from bench.offices import Driver
from domain.births.catalog import load_catalog
from domain.wings import load_alliance

BATCH = 50  # cases notified together; offices then work through them in waves
Row = tuple[bytes, int, str, bytes]  # originator id (16 bytes), version, topic, state


def drive(container: Container, run: str, max_cases: int, max_seconds: float) -> dict[str, Any]:
    """Complete cases in batches until the count or the time is used up. The tick between
    waves is the worker's: settle the orchestrator ⇄ ledger loop, then catch projections up."""
    driver = Driver(container, container.tick)
    warm_up()
    before = heads(container)
    cpu, pg_start = time.process_time(), machine.postgres_cpu()
    started = time.perf_counter()
    completed = notified = 0
    while notified < max_cases and time.perf_counter() - started < max_seconds:
        count = min(BATCH, max_cases - notified)
        completed += driver.run(run, range(notified, notified + count))
        notified += count
    elapsed = time.perf_counter() - started
    cpu, pg_cpu = time.process_time() - cpu, machine.postgres_cpu_since(pg_start)
    driver.close()
    events = sum(heads(container)) - sum(before)
    return {
        "cases": notified,
        "completed": completed,
        "elapsed_s": elapsed,
        "cases_per_s": completed / elapsed,
        "events": events,
        "events_per_s": events / elapsed,
        "commands": notified + driver.decisions,
        "offices": driver.offices,
        # CPU per completed case: this process (worker tick, offices, hospitals) and the
        # PostgreSQL server (0 on SQLite, which runs inside this process)
        "cpu_ms_per_case": 1e3 * cpu / max(1, completed),
        "pg_cpu_ms_per_case": 1e3 * pg_cpu / max(1, completed),
    }


def warm_up() -> None:
    """Load the reference data (catalog, alliance, GB/T 2260 table) before the clock starts, as
    a long-running process has: otherwise the first batch's 8 threads all parse it at once."""
    message("warm-up", 0)
    load_catalog()
    load_alliance()


def heads(container: Container) -> tuple[int, int]:
    return (
        container.ledger.recorder.max_notification_id() or 0,
        container.orchestrator.recorder.max_notification_id() or 0,
    )


def on_postgres(schema: str, max_cases: int, max_seconds: float) -> dict[str, Any]:
    pgdb.fresh_schema(schema)
    container = build(pgdb.settings(schema))
    try:
        ours = drive(container, schema.replace("_", "-"), max_cases, max_seconds)
    finally:
        container.close()
    rows = list(pg_rows(schema))
    ours["raw_rate"] = raw_pg(schema, rows, ours["commands"], ours["offices"])
    ours["rows"] = len(rows)
    return ours


def on_sqlite(folder: Path, max_cases: int, max_seconds: float) -> dict[str, Any]:
    shutil.rmtree(folder, ignore_errors=True)
    container = build(Settings(persistence="sqlite", sqlite_dir=str(folder)))
    try:
        ours = drive(container, "sqlite", max_cases, max_seconds)
    finally:
        container.close()
    rows = [r for app in ("caseledger", "orchestrator") for r in _sqlite_rows(folder / app)]
    ours["raw_rate"] = raw_sqlite(folder / "raw.sqlite", rows, ours["commands"], ours["offices"])
    ours["rows"] = len(rows)
    return ours


def pg_rows(schema: str) -> Iterator[Row]:
    with pgdb.connect() as conn:
        for table in ("caseledger_events", "orchestrator_events"):
            for oid, version, topic, state in conn.execute(
                f"SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
                "ORDER BY notification_id"
            ):
                yield oid.bytes, version, topic, state


def _sqlite_rows(path: Path) -> Iterator[Row]:
    with closing(sqlite3.connect(f"{path}.sqlite")) as conn:
        query = "SELECT originator_id, originator_version, topic, state FROM stored_events"
        for oid, version, topic, state in conn.execute(query + " ORDER BY rowid"):
            yield (
                bytes.fromhex(oid.replace("-", "")) if isinstance(oid, str) else oid,
                version,
                topic,
                state,
            )


def _commit_groups(rows: list[Row], commits: int) -> Iterator[list[Row]]:
    """The rows split into `commits` transactions as evenly as possible."""
    commits = max(1, min(commits, len(rows)))
    for n in range(commits):
        yield rows[n * len(rows) // commits : (n + 1) * len(rows) // commits]


def raw_pg(schema: str, rows: list[Row], commits: int, writers: int) -> float:
    """Rows per second: the same rows into a table with the event table's keys, one commit per
    command the run answered (a command's durable write is the floor of the lifecycle), sent by
    as many concurrent writers as the run had offices."""
    with pgdb.connect(autocommit=False) as conn:
        conn.execute(
            f"CREATE TABLE {schema}.raw_events (originator_id uuid NOT NULL, "
            "originator_version bigint NOT NULL, topic text, state bytea, "
            "notification_id bigserial UNIQUE, PRIMARY KEY (originator_id, originator_version))"
        )
        conn.commit()
    query = (
        f"INSERT INTO {schema}.raw_events (originator_id, originator_version, topic, state) "
        "VALUES (%s, %s, %s, %s)"
    )
    conns = [pgdb.connect(autocommit=False) for _ in range(writers)]
    try:
        return _timed_inserts(rows, commits, [partial(_pg_insert, c, query) for c in conns])
    finally:
        for conn in conns:
            conn.close()


def _pg_insert(conn: psycopg.Connection[Any], query: str, group: list[Row]) -> None:
    with conn.cursor() as cur:
        cur.executemany(query, [(_uuid(r[0]), r[1], r[2], r[3]) for r in group])
    conn.commit()


def _uuid(raw: bytes) -> UUID:
    return UUID(bytes=raw)


def raw_sqlite(path: Path, rows: list[Row], commits: int, writers: int) -> float:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            "CREATE TABLE raw_events (originator_id blob NOT NULL, originator_version integer "
            "NOT NULL, topic text, state blob, PRIMARY KEY (originator_id, originator_version))"
        )
    conns = [sqlite3.connect(path, timeout=30, check_same_thread=False) for _ in range(writers)]
    try:
        return _timed_inserts(rows, commits, [partial(_sqlite_insert, c) for c in conns])
    finally:
        for conn in conns:
            conn.close()


def _sqlite_insert(conn: sqlite3.Connection, group: list[Row]) -> None:
    conn.executemany("INSERT INTO raw_events VALUES (?, ?, ?, ?)", group)
    conn.commit()


def _timed_inserts(
    rows: list[Row], commits: int, inserts: list[Callable[[list[Row]], None]]
) -> float:
    """The commit groups shared out over the writers, each writer on its own thread."""
    groups = list(_commit_groups(rows, commits))
    shares = [groups[n :: len(inserts)] for n in range(len(inserts))]
    started = time.perf_counter()
    with ThreadPoolExecutor(len(inserts)) as pool:
        pairs = zip(inserts, shares, strict=True)
        for done in [pool.submit(_each, insert, share) for insert, share in pairs]:
            done.result()
    return len(rows) / (time.perf_counter() - started)


def _each(insert: Callable[[list[Row]], None], groups: list[list[Row]]) -> None:
    for group in groups:
        insert(group)
