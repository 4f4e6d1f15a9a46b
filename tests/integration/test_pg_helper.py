"""tests/pg.py: a dedicated database, an empty schema per call, skip or fail without a server."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import TupleRow

from tests.pg import TEST_DBNAME, postgres_env, postgres_settings, server_from_env

SCHEMA = "helper_check"
OTHER = "helper_other"


@pytest.fixture
def conn() -> Iterator[psycopg.Connection[TupleRow]]:
    postgres_settings(SCHEMA)  # creates the database (or skips) before we connect to it
    server = server_from_env()
    with psycopg.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        dbname=TEST_DBNAME,
        password=server.password or None,
        connect_timeout=3,
        autocommit=True,
    ) as connection:
        yield connection
        connection.execute(f"DROP SCHEMA IF EXISTS {SCHEMA}, {OTHER} CASCADE")


def tables(conn: psycopg.Connection[TupleRow], schema: str) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
        (schema,),
    ).fetchall()
    return [str(row[0]) for row in rows]


@pytest.mark.postgres
def test_settings_point_at_the_test_database_with_a_usable_pool() -> None:
    settings = postgres_settings(SCHEMA)
    assert settings.persistence == "postgres"
    assert (settings.postgres.dbname, settings.postgres.schema) == (TEST_DBNAME, SCHEMA)
    assert settings.postgres.pool_size >= 2  # a pool of one hangs subscriptions


@pytest.mark.postgres
def test_each_call_gives_a_fresh_empty_schema(conn: psycopg.Connection[TupleRow]) -> None:
    assert tables(conn, SCHEMA) == []
    conn.execute(f"CREATE TABLE {SCHEMA}.leftover (id int)")
    assert tables(conn, SCHEMA) == ["leftover"]

    postgres_settings(SCHEMA)

    assert tables(conn, SCHEMA) == []
    found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (SCHEMA,)).fetchone()
    assert found is not None  # recreated, not just dropped


@pytest.mark.postgres
def test_other_schemas_are_left_alone(conn: psycopg.Connection[TupleRow]) -> None:
    conn.execute(f"CREATE SCHEMA {OTHER}")
    conn.execute(f"CREATE TABLE {OTHER}.kept (id int)")

    postgres_settings(SCHEMA)

    assert tables(conn, OTHER) == ["kept"]


@pytest.mark.postgres
def test_postgres_env_is_the_applications_eventsourcing_env() -> None:
    env = postgres_env(SCHEMA)
    assert env["PERSISTENCE_MODULE"] == "adapters.pool:SharedPoolPostgresFactory"
    assert (env["POSTGRES_DBNAME"], env["POSTGRES_SCHEMA"]) == (TEST_DBNAME, SCHEMA)
    assert int(env["POSTGRES_POOL_SIZE"]) >= 2
    assert int(env["POSTGRES_LOCK_TIMEOUT"]) > 0
    assert "POSTGRES_ENABLE_DB_FUNCTIONS" not in env


@pytest.fixture
def nothing_listening(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a loopback port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("NEWBORN_LEDGER_TEST_POSTGRES_HOST", "127.0.0.1")
    monkeypatch.setenv("NEWBORN_LEDGER_TEST_POSTGRES_PORT", str(port))


@pytest.mark.usefixtures("nothing_listening")
def test_no_server_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL not reachable at postgres@"):
        postgres_settings(SCHEMA)


@pytest.mark.usefixtures("nothing_listening")
def test_no_server_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL not reachable at postgres@"):
        postgres_settings(SCHEMA)
