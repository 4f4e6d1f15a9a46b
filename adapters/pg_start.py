"""Starting on PostgreSQL: wait for the server with capped backoff, say in words what is wrong
when it cannot be used, and let one process at a time create tables.

libpq reports connection failures as text only (no SQLSTATE), so the diagnosis reads the
server's and libpq's English messages; anything else is shown as it came.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from adapters.settings import PostgresSettings

log = logging.getLogger(__name__)
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 8.0  # the backoff's cap
CONNECT_TIMEOUT_S = 5
DDL_LOCK_TIMEOUT = "60s"  # the longest a process waits for another's table creation
UNREACHABLE = (
    "connection refused",
    "timeout expired",
    "failed to resolve host",
    "could not translate host name",
    "no route to host",
    "network is unreachable",
    "connection timed out",
    "server closed the connection unexpectedly",
)
NOT_YET = ("is starting up", "is shutting down", "is in recovery mode", "not yet accepting")
AUTH = ("password authentication failed", "no pg_hba.conf entry", "no password supplied")
FULL = ("too many clients", "remaining connection slots are reserved")


class PostgresStartError(Exception):
    """The server cannot be used (the message says why, in words, without the password)."""


@dataclass(frozen=True)
class Diagnosis:
    message: str
    transient: bool  # worth waiting for: the server may come up or free a slot


def diagnose(exc: Exception, pg: PostgresSettings) -> Diagnosis:
    """What a connection failure means for an operator."""
    text, where = str(exc).lower(), f"{pg.host}:{pg.port}"
    if f'database "{pg.dbname.lower()}" does not exist' in text:
        return Diagnosis(
            f"database {pg.dbname!r} does not exist on {where}: create it "
            f"(createdb {pg.dbname}) or set NEWBORN_LEDGER_POSTGRES_DBNAME",
            transient=False,
        )
    if any(s in text for s in AUTH) or ('role "' in text and "does not exist" in text):
        return Diagnosis(
            f"authentication refused for user {pg.user!r} on {where}: check "
            "NEWBORN_LEDGER_POSTGRES_USER / _PASSWORD and the server's pg_hba.conf",
            transient=False,
        )
    return _diagnose_server(text, exc, pg)


def _diagnose_server(text: str, exc: Exception, pg: PostgresSettings) -> Diagnosis:
    where = f"{pg.host}:{pg.port}"
    if any(s in text for s in FULL):
        return Diagnosis(
            f"too many connections: the server at {where} has no connection slot left "
            "(see the connection budget in docs/operations.md)",
            transient=True,
        )
    if any(s in text for s in NOT_YET):
        return Diagnosis(f"the server at {where} is starting up or shutting down", True)
    if any(s in text for s in UNREACHABLE):
        return Diagnosis(
            f"server unreachable: nothing answers at {where} (check "
            "NEWBORN_LEDGER_POSTGRES_HOST / _PORT and that the server runs)",
            transient=True,
        )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return Diagnosis(f"PostgreSQL at {where} refused the connection: {first}", False)


def connect(pg: PostgresSettings) -> psycopg.Connection[tuple[object, ...]]:
    """One autocommit connection, one attempt."""
    return psycopg.connect(
        host=pg.host,
        port=pg.port,
        dbname=pg.dbname,
        user=pg.user,
        password=pg.password or None,
        connect_timeout=CONNECT_TIMEOUT_S,
        autocommit=True,
    )


def wait_for_server(
    pg: PostgresSettings,
    budget_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> psycopg.Connection[tuple[object, ...]]:
    """A connection, after retrying transient failures with capped exponential backoff for
    at most `budget_s`; PostgresStartError (in words) when it gives up or cannot help."""
    deadline, delay = clock() + budget_s, FIRST_DELAY_S
    while True:
        try:
            return connect(pg)
        except psycopg.OperationalError as exc:
            found = diagnose(exc, pg)
            left = deadline - clock()
            if not found.transient or left <= 0:
                raise PostgresStartError(f"Cannot use PostgreSQL: {found.message}") from None
            pause = min(delay, left)
            log.warning("PostgreSQL not ready (%s); retrying in %.1f s", found.message, pause)
            sleep(pause)
            delay = min(delay * 2, MAX_DELAY_S)


def explain(pg: PostgresSettings) -> str | None:
    """Why a connection fails now, in words (one attempt); None if it succeeds."""
    try:
        connect(pg).close()
    except psycopg.OperationalError as exc:
        return diagnose(exc, pg).message
    return None


def ddl_lock_key(schema: str) -> int:
    """The advisory lock (a signed 64-bit key) that orders table creation in `schema`."""
    digest = hashlib.blake2b(f"newborn-ledger ddl {schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def ddl_lock(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> Iterator[None]:
    """Hold the schema's table-creation lock: processes starting together create the tables
    one after the other (concurrent CREATE ... IF NOT EXISTS fails: "tuple concurrently
    updated", duplicate pg_type rows)."""
    key = ddl_lock_key(schema)
    conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(DDL_LOCK_TIMEOUT)))
    try:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
    except psycopg.errors.LockNotAvailable:
        raise PostgresStartError(
            f"another process has been creating tables for {DDL_LOCK_TIMEOUT}; try again"
        ) from None
    try:
        yield
    finally:
        if not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
