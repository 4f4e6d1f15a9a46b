"""What the ledger's side stores share (deliveries, documents, staff sessions, the read audit):
the store of the configured persistence (`SideStore`), and one SQLite file of a store
(`SQLiteFile`).

On PostgreSQL a side store is a share of the process's one pool (adapters/pool.py), given back
by its `close`; on SQLite it is a file of its own beside the applications'; in memory, for unit
tests. An SQLite file is one connection a process behind a lock, in WAL mode; writers take the
file's lock at BEGIN IMMEDIATE, across processes too."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from eventsourcing.postgres import PostgresDatastore

from adapters import pool
from adapters.settings import Settings

S = TypeVar("S")


@dataclass(frozen=True)
class SideStore(Generic[S]):
    """How to open one side store on each persistence: `on_sqlite(path)` with its file's path
    under the SQLite folder, `on_postgres(datastore, create_tables)` on a share of the
    process's pool, `in_memory()` for unit tests. Written `SideStore[TheProtocol](...)`."""

    sqlite_file: str
    on_sqlite: Callable[[str], S]
    on_postgres: Callable[[PostgresDatastore, bool], S]
    in_memory: Callable[[], S]

    def open(self, settings: Settings) -> S:
        """The store of the configured persistence (on PostgreSQL its share of the pool is
        given back here if the store cannot be built, else by the store's `close`)."""
        if settings.persistence == "sqlite":
            return self.on_sqlite(str(Path(settings.sqlite_dir) / self.sqlite_file))
        if settings.persistence == "postgres":
            datastore = pool.acquire(settings.postgres)
            try:
                return self.on_postgres(datastore, settings.create_tables)
            except BaseException:
                pool.release(datastore)
                raise
        return self.in_memory()


class SQLiteFile:
    """One connection to the file, behind a lock; `transaction` is one BEGIN..COMMIT."""

    def __init__(self, path: str, *pragmas: str) -> None:
        self.conn = sqlite3.connect(
            path, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        self.conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self.conn.execute("PRAGMA journal_mode=WAL")
            for pragma in pragmas:
                self.conn.execute(f"PRAGMA {pragma}")

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """The connection in a transaction: IMMEDIATE (the file's write lock) to write, a
        deferred snapshot to read; committed at the end, rolled back on an error."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                # also when COMMIT fails (a deferred constraint, a full disk): left open, the
                # transaction would make every later BEGIN fail
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self.conn.close()
