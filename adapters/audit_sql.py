"""The read audit in SQL: SQLite (its own file, audit.sqlite) and PostgreSQL (a share of the
process's pool, adapters/pool.py), and the store a deployment uses (`audit_store`).

One SQL text for both (`%s` becomes `?` on SQLite). The rows only grow; a query reads them by
an index (case, user, actor, time) and pages on the row id."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, fields
from typing import Any

from eventsourcing.postgres import PostgresDatastore

from adapters import pool
from adapters.audit_records import (
    AuditFilter,
    AuditStore,
    InMemoryAuditStore,
    OfficeReads,
    ReadRecord,
    Viewer,
)
from adapters.settings import Settings
from adapters.side_stores import SideStore, SQLiteFile

SQLITE_FILE = "audit.sqlite"
PURGE_BATCH = 10_000  # rows deleted in one transaction
COLUMNS = tuple("username" if f.name == "user" else f.name for f in fields(ReadRecord))[:-1]
DDL = (
    "CREATE TABLE IF NOT EXISTS {table} ({id}, at DOUBLE PRECISION NOT NULL, "
    "actor_id TEXT NOT NULL, role TEXT NOT NULL, kind TEXT NOT NULL, username TEXT NOT NULL, "
    "scope TEXT NOT NULL, authority TEXT NOT NULL, what TEXT NOT NULL, case_id TEXT NOT NULL, "
    "target TEXT NOT NULL, via TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS audit_reads_case ON {table} (case_id, id)",
    "CREATE INDEX IF NOT EXISTS audit_reads_user ON {table} (username, id)",
    "CREATE INDEX IF NOT EXISTS audit_reads_actor ON {table} (actor_id, id)",
    "CREATE INDEX IF NOT EXISTS audit_reads_at ON {table} (at)",
)
SQL = {
    "insert": f"INSERT INTO {{table}} ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('%s' for _ in COLUMNS)})",
    "viewers": "SELECT case_id, scope, authority, kind, count(*) AS n, min(at) AS first_at, "
    "max(at) AS last_at FROM {table} WHERE case_id IN ({cases}) AND role = 'office' "
    "GROUP BY case_id, scope, authority, kind ORDER BY max(at) DESC",
    "office_reads": "SELECT scope, authority, what, count(*) AS n, "
    "count(DISTINCT NULLIF(case_id, '')) AS cases FROM {table} WHERE role = 'office' "
    "AND at >= %s AND at < %s AND scope LIKE %s GROUP BY scope, authority, what "
    "ORDER BY scope, authority, what",
    "purge": "DELETE FROM {table} WHERE id IN "
    "(SELECT id FROM {table} WHERE at < %s ORDER BY id LIMIT %s)",
}
FILTERS = (
    ("case_id", "case_id = %s"),
    ("user", "username = %s"),
    ("actor_id", "actor_id = %s"),
    ("start", "at >= %s"),
    ("end", "at < %s"),
)


class SqlAuditStore:
    """The AuditStore over SQL; a backend gives `_tx` (a cursor in one transaction)."""

    identity = ""

    def __init__(self, table: str) -> None:
        self.table = table
        self.sql = {
            k: self._dialect(v.format(table=table, cases="{cases}")) for k, v in SQL.items()
        }
        self.ddl = [self._dialect(d.format(table=table, id=self.identity)) for d in DDL]

    def _dialect(self, sql: str) -> str:
        return sql

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        raise NotImplementedError
        yield

    @contextmanager
    def _read(self) -> Iterator[Any]:
        """A cursor for the queries: by default in a transaction like the writes'."""
        with self._tx() as curs:
            yield curs

    def record(
        self, rows: Sequence[ReadRecord], viewers_of: Sequence[str]
    ) -> dict[str, list[Viewer]]:
        with self._tx() as curs:
            curs.executemany(self.sql["insert"], [_values(r) for r in rows])
            return self._viewers(curs, list(dict.fromkeys(viewers_of)))

    def _viewers(self, curs: Any, cases: list[str]) -> dict[str, list[Viewer]]:
        """The offices that read each of `cases`, most recent first: one query for all."""
        found: dict[str, list[Viewer]] = {case: [] for case in cases}
        if cases:
            marks = ", ".join(self._dialect("%s") for _ in cases)
            curs.execute(self.sql["viewers"].format(cases=marks), cases)
            for row in curs.fetchall():
                viewer = Viewer(*_tuple(row))
                found[viewer.case_id].append(viewer)
        return found

    def search(self, query: AuditFilter) -> list[ReadRecord]:
        where, params = ["id > %s"], [query.after]
        for name, clause in FILTERS:
            if (value := getattr(query, name)) is not None:
                where.append(clause)
                params.append(value)
        sql = f"SELECT * FROM {self.table} WHERE {' AND '.join(where)} ORDER BY id LIMIT %s"
        with self._read() as curs:
            curs.execute(self._dialect(sql), (*params, query.limit))
            return [_record(dict(row)) for row in curs.fetchall()]

    def office_reads(self, prefix: str, start: float, end: float) -> list[OfficeReads]:
        with self._read() as curs:
            curs.execute(self.sql["office_reads"], (start, end, f"{prefix}%"))
            return [OfficeReads(*_tuple(row)) for row in curs.fetchall()]

    def purge(self, before: float) -> int:
        """In batches of PURGE_BATCH rows, each its own transaction, so the writer (and the
        reads waiting for it) never waits behind one long DELETE."""
        purged = 0
        while True:
            with self._tx() as curs:
                curs.execute(self.sql["purge"], (before, PURGE_BATCH))
                count = int(curs.rowcount)
            purged += count
            if count < PURGE_BATCH:
                return purged

    def close(self) -> None:
        """Nothing to close."""


def _values(row: ReadRecord) -> tuple[object, ...]:
    return astuple(row)[:-1]  # every column but the id, which the store gives


def _tuple(row: Any) -> tuple[Any, ...]:
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


def _record(row: dict[str, Any]) -> ReadRecord:
    row["user"] = row.pop("username")
    return ReadRecord(**row)


class SQLiteAuditStore(SqlAuditStore):
    """Its own file next to the applications', one connection a process behind a lock."""

    identity = "id INTEGER PRIMARY KEY AUTOINCREMENT"

    def __init__(self, path: str) -> None:
        super().__init__("audit_reads")
        self._file = SQLiteFile(path, "synchronous=FULL")  # durable at each COMMIT
        with self._tx() as curs:
            for ddl in self.ddl:
                curs.execute(ddl)
        # queries read on a connection of their own: in WAL a reader never blocks the
        # writer, so an admin's long query or a monitor's monthly count holds no read up
        self._reader = sqlite3.connect(
            path, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        self._reader.row_factory = sqlite3.Row
        self._read_lock = threading.Lock()

    def _dialect(self, sql: str) -> str:
        return sql.replace("%s", "?")

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._file.transaction() as conn:
            yield _SQLiteCursor(conn.cursor())

    @contextmanager
    def _read(self) -> Iterator[Any]:
        with self._read_lock:
            self._reader.execute("BEGIN")  # deferred: a snapshot, no write lock
            curs = self._reader.cursor()
            try:
                yield _SQLiteCursor(curs)
            finally:
                curs.close()  # a statement left unfinished would keep the snapshot open
                self._reader.execute("ROLLBACK")

    def close(self) -> None:
        with self._read_lock:
            self._reader.close()
        self._file.close()


class _SQLiteCursor:
    """sqlite3's cursor, its rows as dicts."""

    def __init__(self, curs: sqlite3.Cursor) -> None:
        self.curs = curs

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        self.curs.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        self.curs.executemany(sql, rows)

    def fetchall(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.curs.fetchall()]

    @property
    def rowcount(self) -> int:
        return self.curs.rowcount


class PostgresAuditStore(SqlAuditStore):
    """A table in the applications' schema, on the process's shared pool: each batch holds
    one connection for one statement. The batch is one round trip: the rows go in as arrays
    (unnest) and the viewers come back from the same autocommit statement, which returns
    only once it is committed. The writer thread shares the GIL with the API's event loop,
    and each round trip it waits for may cost it a switch interval (5 ms) when the loop is
    busy: BEGIN, INSERT, SELECT and COMMIT apart were four."""

    identity = "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    ARRAYS = ("float8", *("text" for _ in COLUMNS[1:]))

    def __init__(self, datastore: PostgresDatastore, *, create_tables: bool = True) -> None:
        super().__init__(f'"{datastore.schema or "public"}".audit_reads')
        self.record_sql = self._record_sql()
        self.datastore, self._released = datastore, False
        if create_tables:
            with self._tx() as curs:
                for ddl in self.ddl:
                    curs.execute(ddl)

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self.datastore.transaction(commit=True) as curs:
            yield curs

    def record(
        self, rows: Sequence[ReadRecord], viewers_of: Sequence[str]
    ) -> dict[str, list[Viewer]]:
        cases = list(dict.fromkeys(viewers_of))
        columns = zip(*(_values(r) for r in rows), strict=True)
        params = {f"c{i}": list(column) for i, column in enumerate(columns)} | {"cases": cases}
        with self.datastore.get_connection() as conn:
            conn.autocommit = True
            try:
                found = conn.execute(self.record_sql, params, prepare=True).fetchall()
            finally:
                if not conn.closed:
                    conn.autocommit = False  # as the pool's other users expect it
        viewers: dict[str, list[Viewer]] = {case: [] for case in cases}
        for row in found:
            viewer = Viewer(*_tuple(row))
            viewers[viewer.case_id].append(viewer)
        return viewers

    def _record_sql(self) -> str:
        """Insert the batch, answer the viewers of `cases` (rows committed before it)."""
        arrays = ", ".join(f"%(c{i})s::{kind}[]" for i, kind in enumerate(self.ARRAYS))
        read = "case_id, scope, authority, kind, at"
        office = "role = 'office' AND case_id = ANY(%(cases)s)"
        return (
            f"WITH added AS (INSERT INTO {self.table} ({', '.join(COLUMNS)}) "
            f"SELECT * FROM unnest({arrays}) RETURNING {read}, role), "
            f"reads AS (SELECT {read} FROM {self.table} WHERE {office} "
            f"UNION ALL SELECT {read} FROM added WHERE {office}) "
            "SELECT case_id, scope, authority, kind, count(*) AS n, min(at) AS first_at, "
            "max(at) AS last_at FROM reads GROUP BY case_id, scope, authority, kind "
            "ORDER BY max(at) DESC"
        )

    def close(self) -> None:
        """Its share of the process's pool, given back once."""
        if not self._released:
            self._released = True
            pool.release(self.datastore)


def audit_store(settings: Settings) -> AuditStore:
    """The store of the configured persistence."""
    return AUDIT_STORES.open(settings)


AUDIT_STORES = SideStore[AuditStore](
    SQLITE_FILE,
    SQLiteAuditStore,
    lambda datastore, create: PostgresAuditStore(datastore, create_tables=create),
    InMemoryAuditStore,
)
