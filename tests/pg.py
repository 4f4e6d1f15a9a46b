"""PostgreSQL for tests: one dedicated database, a fresh schema per test, skip (or fail in CI)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import TupleRow

from adapters.settings import PostgresSettings, Settings

ENV_PREFIX = "NEWBORN_LEDGER_TEST_POSTGRES_"
# The only database these helpers create or change (override to run two suites at once).
TEST_DBNAME = os.environ.get(ENV_PREFIX + "DBNAME", "newborn_ledger_test")
CONNECT_TIMEOUT_S = 3
POOL_SIZE = 2  # subscriptions need a second connection; a pool of 1 hangs them


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


def server_from_env() -> Server:
    """Where the test server is: defaults, or NEWBORN_LEDGER_TEST_POSTGRES_* overrides."""
    env = os.environ
    return Server(
        host=env.get(ENV_PREFIX + "HOST", "127.0.0.1"),
        port=int(env.get(ENV_PREFIX + "PORT", "5432")),
        user=env.get(ENV_PREFIX + "USER", "postgres"),
        password=env.get(ENV_PREFIX + "PASSWORD", ""),
    )


def postgres_settings(schema: str = "public") -> Settings:
    """Settings on `newborn_ledger_test` with `schema` dropped and recreated (empty)."""
    server = server_from_env()
    with _connect(server, "postgres") as conn:
        _create_database_if_missing(conn)
    with _connect(server, TEST_DBNAME) as conn:
        _recreate_schema(conn, schema)
    pg = PostgresSettings(
        host=server.host,
        port=server.port,
        dbname=TEST_DBNAME,
        user=server.user,
        password=server.password,
        schema=schema,
        pool_size=POOL_SIZE,
    )
    return Settings(persistence="postgres", postgres=pg)


def ledger_env(settings: Settings) -> dict[str, str]:
    """The NEWBORN_LEDGER_* variables that point a process (the CLI, a worker) at the
    PostgreSQL store of `settings`."""
    pg = settings.postgres
    return {
        "NEWBORN_LEDGER_PERSISTENCE": "postgres",
        "NEWBORN_LEDGER_POSTGRES_HOST": pg.host,
        "NEWBORN_LEDGER_POSTGRES_PORT": str(pg.port),
        "NEWBORN_LEDGER_POSTGRES_DBNAME": pg.dbname,
        "NEWBORN_LEDGER_POSTGRES_USER": pg.user,
        "NEWBORN_LEDGER_POSTGRES_PASSWORD": pg.password,
        "NEWBORN_LEDGER_POSTGRES_SCHEMA": pg.schema,
    }


def postgres_env(schema: str = "public", app_name: str = "Application") -> dict[str, str]:
    """The raw eventsourcing env of one application on a fresh `schema` (for upstream tests)."""
    return postgres_settings(schema).app_env(app_name)


def _connect(server: Server, dbname: str) -> psycopg.Connection[TupleRow]:
    try:
        return psycopg.connect(
            host=server.host,
            port=server.port,
            user=server.user,
            dbname=dbname,
            password=server.password or None,
            connect_timeout=CONNECT_TIMEOUT_S,
            autocommit=True,  # CREATE DATABASE cannot run inside a transaction
        )
    except psycopg.OperationalError as exc:
        raise _unreachable(server, dbname, exc) from None


def _unreachable(server: Server, dbname: str, exc: Exception) -> BaseException:
    """pytest's skip outcome, or its failure when CI=true (CI must run the PostgreSQL tests)."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    message = f"PostgreSQL not reachable at {server}/{dbname}: {reason}"
    if os.environ.get("CI") == "true":
        return pytest.fail.Exception(message, pytrace=False)
    return pytest.skip.Exception(message)


def _create_database_if_missing(conn: psycopg.Connection[TupleRow]) -> None:
    found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEST_DBNAME,)).fetchone()
    if found is None:
        # Another test process may create it between our check and ours: that is fine.
        with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEST_DBNAME)))


def _recreate_schema(conn: psycopg.Connection[TupleRow], schema: str) -> None:
    name = sql.Identifier(schema)
    conn.execute("SET lock_timeout = '5s'")  # a leftover open transaction fails fast, not hangs
    with conn.transaction():
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(name))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(name))
