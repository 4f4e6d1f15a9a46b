"""The delivery store on SQLite (its own file) and on PostgreSQL (the process's shared pool),
and the one a deployment uses (`delivery_store`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.postgres import PostgresDatastore

from adapters import pool
from adapters.delivery_sql import SqlDeliveryStore, Tx
from adapters.settings import Settings
from adapters.side_stores import SideStore, SQLiteFile
from integrations.registry.memory import InMemoryDeliveryStore
from integrations.registry.store import DeliveryStore

SQLITE_FILE = "deliveries.sqlite"


def delivery_store(settings: Settings) -> DeliveryStore:
    """The store of the configured persistence: on PostgreSQL a share of the process's pool,
    given back by its `close`."""
    return DELIVERY_STORES.open(settings)


class SQLiteDeliveryStore(SqlDeliveryStore):
    """Its own file (deliveries.sqlite next to the applications'), one connection a process
    behind a lock; writers take the file's lock at BEGIN IMMEDIATE, across processes too."""

    def __init__(self, path: str) -> None:
        super().__init__("delivery_endpoints", "deliveries")
        self._file = SQLiteFile(path)
        with self._tx() as tx:
            for ddl in self.ddl:
                tx.run(ddl)

    def _dialect(self, sql: str) -> str:
        return sql.replace("%s", "?")

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Tx]:
        with self._file.transaction(write) as conn:
            yield _SQLiteTx(conn)

    def close(self) -> None:
        self._file.close()


class _SQLiteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(sql, tuple(params)).fetchall()]

    def run(self, sql: str, params: Sequence[object] = ()) -> int:
        return self.conn.execute(sql, tuple(params)).rowcount


class PostgresDeliveryStore(SqlDeliveryStore):
    """Tables in the applications' schema, on the process's shared pool (adapters/pool.py):
    each method holds one connection for one short transaction, never during a send. Times
    are the database's clock (`db_clock=False`: the callers', for the store's contract tests
    on fixed times)."""

    for_update = " FOR UPDATE"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    DB_CLOCK = "SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8 AS now"

    def __init__(
        self, datastore: PostgresDatastore, *, create_tables: bool = True, db_clock: bool = True
    ) -> None:
        schema = datastore.schema or "public"
        super().__init__(f'"{schema}".delivery_endpoints', f'"{schema}".deliveries')
        self.clock_sql = self.DB_CLOCK if db_clock else ""
        self.datastore, self._released = datastore, False
        if create_tables:
            with self._tx() as tx:
                for ddl in self.ddl:
                    tx.run(ddl)

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Tx]:
        with self.datastore.transaction(commit=write) as curs:
            yield _PostgresTx(curs)

    def close(self) -> None:
        """Its share of the process's pool, given back once."""
        if not self._released:
            self._released = True
            pool.release(self.datastore)


class _PostgresTx:
    def __init__(self, curs: Any) -> None:
        self.curs = curs

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[dict[str, Any]]:
        self.curs.execute(sql, tuple(params), prepare=True)
        return [dict(r) for r in self.curs.fetchall()]

    def run(self, sql: str, params: Sequence[object] = ()) -> int:
        self.curs.execute(sql, tuple(params), prepare=True)
        return int(self.curs.rowcount)


DELIVERY_STORES = SideStore[DeliveryStore](
    SQLITE_FILE,
    SQLiteDeliveryStore,
    lambda datastore, create: PostgresDeliveryStore(datastore, create_tables=create),
    InMemoryDeliveryStore,
)
