"""The benchmark's own PostgreSQL database, `newborn_ledger_bench`: created if missing, and a
fresh schema per phase. No other database is ever changed."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from adapters.settings import PostgresSettings, Settings

ENV_PREFIX = "NEWBORN_LEDGER_BENCH_POSTGRES_"
BENCH_DBNAME = os.environ.get(ENV_PREFIX + "DBNAME", "newborn_ledger_bench")


def server() -> PostgresSettings:
    """Where the server is: 127.0.0.1:5432 as postgres, or NEWBORN_LEDGER_BENCH_POSTGRES_*."""
    env = os.environ
    return PostgresSettings(
        host=env.get(ENV_PREFIX + "HOST", "127.0.0.1"),
        port=int(env.get(ENV_PREFIX + "PORT", "5432")),
        user=env.get(ENV_PREFIX + "USER", "postgres"),
        password=env.get(ENV_PREFIX + "PASSWORD", ""),
        dbname=BENCH_DBNAME,
    )


def connect(dbname: str = BENCH_DBNAME, autocommit: bool = True) -> psycopg.Connection[TupleRow]:
    pg = server()
    return psycopg.connect(
        host=pg.host,
        port=pg.port,
        user=pg.user,
        password=pg.password or None,
        dbname=dbname,
        connect_timeout=5,
        autocommit=autocommit,
    )


def fresh_schema(schema: str) -> None:
    """Create the bench database if missing, then drop and recreate `schema` in it."""
    with connect("postgres") as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DBNAME,))
        if found.fetchone() is None:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DBNAME)))
    with connect() as conn:
        conn.execute("SET lock_timeout = '10s'")
        with conn.transaction():
            name = sql.Identifier(schema)
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(name))
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(name))


def drop_bench_schemas() -> list[str]:
    """Drop every `bench_*` schema a previous run left (so that its autovacuum and checkpoint
    work does not run during this one); returns their names."""
    with connect("postgres") as conn:
        if (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DBNAME,)).fetchone()
            is None
        ):
            return []
    with connect() as conn:
        names = [
            str(row[0])
            for row in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench\\_%'"
            )
        ]
        for name in names:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
    return names


def drop_schema(schema: str) -> None:
    with connect() as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def vacuum(schema: str, *tables: str) -> None:
    """VACUUM (ANALYZE) `tables` of `schema` (every table when none is named) after a bulk
    write, as autovacuum soon would: otherwise it may start during the next measurement and
    slow it down at random."""
    with connect() as conn:
        names = list(tables) or [
            str(row[0])
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
            )
        ]
        for table in names:
            conn.execute(
                sql.SQL("VACUUM (ANALYZE) {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            )


def quiesce(schema: str) -> None:
    """Before a latency measurement: every table of `schema` vacuumed, then a CHECKPOINT, so
    that neither autovacuum nor a checkpoint starts in the middle of the measurement."""
    vacuum(schema)
    with connect() as conn:
        conn.execute("CHECKPOINT")


def settings(schema: str, *, pool_size: int = 5, embedded_worker: bool = True) -> Settings:
    """Settings on the bench database and `schema` (call fresh_schema first)."""
    pg = server()
    postgres = PostgresSettings(
        host=pg.host,
        port=pg.port,
        dbname=BENCH_DBNAME,
        user=pg.user,
        password=pg.password,
        schema=schema,
        pool_size=pool_size,
    )
    return Settings(persistence="postgres", postgres=postgres, embedded_worker=embedded_worker)


def sqlite_settings(folder: Path) -> Settings:
    return Settings(persistence="sqlite", sqlite_dir=str(folder))


def server_env(settings: Settings) -> dict[str, str]:
    """The NEWBORN_LEDGER_* variables that make a server process build the same settings."""
    env = {
        "NEWBORN_LEDGER_PERSISTENCE": settings.persistence,
        "NEWBORN_LEDGER_SQLITE_DIR": settings.sqlite_dir,
        "NEWBORN_LEDGER_EMBEDDED_WORKER": "yes" if settings.embedded_worker else "no",
        "NEWBORN_LEDGER_LOG_LEVEL": "WARNING",
    }
    pg = settings.postgres
    env |= {
        "NEWBORN_LEDGER_POSTGRES_HOST": pg.host,
        "NEWBORN_LEDGER_POSTGRES_PORT": str(pg.port),
        "NEWBORN_LEDGER_POSTGRES_DBNAME": pg.dbname,
        "NEWBORN_LEDGER_POSTGRES_USER": pg.user,
        "NEWBORN_LEDGER_POSTGRES_PASSWORD": pg.password,
        "NEWBORN_LEDGER_POSTGRES_SCHEMA": pg.schema,
        "NEWBORN_LEDGER_POSTGRES_POOL_SIZE": str(pg.pool_size),
    }
    return env


def server_version() -> str:
    with connect("postgres") as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"
