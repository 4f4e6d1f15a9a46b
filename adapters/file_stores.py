"""The uploaded files' store on SQLite (its own file) and on PostgreSQL (a share of the
process's pool), as adapters/delivery_stores.py keeps deliveries: one table, the files' bytes
in a BLOB / BYTEA column, keyed by (case, document)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, fields
from typing import Any

from eventsourcing.postgres import PostgresDatastore

from adapters import pool
from adapters.delivery_sql import Tx
from adapters.delivery_stores import _PostgresTx, _SQLiteTx
from adapters.settings import Settings
from adapters.side_stores import SideStore, SQLiteFile
from integrations.documents.store import FileStore, InMemoryFileStore, StoredFile

SQLITE_FILE = "documents.sqlite"
COLUMNS = tuple(f.name for f in fields(StoredFile))
DESCRIBED = ", ".join(c if c != "content" else "NULL AS content" for c in COLUMNS)
DDL = (
    "CREATE TABLE IF NOT EXISTS {table} (case_id TEXT NOT NULL, document_id TEXT NOT NULL, "
    "media_type TEXT NOT NULL, size BIGINT NOT NULL, meta {blob} NOT NULL, "
    "content {blob} NOT NULL, created_at DOUBLE PRECISION NOT NULL, "
    "PRIMARY KEY (case_id, document_id))"
)
SQL = {
    "put": f"INSERT INTO {{table}} ({', '.join(COLUMNS)}) VALUES "
    f"({', '.join('%s' for _ in COLUMNS)}) ON CONFLICT DO NOTHING",
    "get": "SELECT * FROM {table} WHERE case_id = %s AND document_id = %s",
    "described": f"SELECT {DESCRIBED} FROM {{table}} WHERE case_id = %s AND document_id IN ",
}


def file_store(settings: Settings) -> FileStore:
    """The store of the configured persistence: on PostgreSQL a share of the process's pool,
    given back by its `close`."""
    return FILE_STORES.open(settings)


class SqlFileStore:
    """The FileStore over SQL; a backend gives `_tx`, the table's name and the BLOB type."""

    blob = "BLOB"

    def __init__(self, table: str) -> None:
        self.sql = {k: self._dialect(v.format(table=table)) for k, v in SQL.items()}
        self.ddl = self._dialect(DDL.format(table=table, blob=self.blob))

    def _dialect(self, sql: str) -> str:
        return sql

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Tx]:
        raise NotImplementedError
        yield

    def put(self, row: StoredFile) -> bool:
        with self._tx() as tx:
            return tx.run(self.sql["put"], astuple(row)) > 0

    def get(self, case_id: str, document_id: str) -> StoredFile | None:
        with self._tx(write=False) as tx:
            found = tx.rows(self.sql["get"], (case_id, document_id))
        return _row(found[0]) if found else None

    def described(self, case_id: str, document_ids: list[str]) -> list[StoredFile]:
        if not document_ids:
            return []
        wanted = self._dialect("(" + ", ".join("%s" for _ in document_ids) + ")")
        with self._tx(write=False) as tx:
            found = tx.rows(self.sql["described"] + wanted, (case_id, *document_ids))
        by_id = {str(r["document_id"]): _row(r) for r in found}
        return [by_id[d] for d in document_ids if d in by_id]

    def close(self) -> None:
        """Nothing to release (a backend releases its connection)."""


class SQLiteFileStore(SqlFileStore):
    """Its own file (documents.sqlite next to the applications'), one connection a process
    behind a lock."""

    def __init__(self, path: str) -> None:
        super().__init__("documents")
        self._file = SQLiteFile(path)
        with self._tx() as tx:
            tx.run(self.ddl)

    def _dialect(self, sql: str) -> str:
        return sql.replace("%s", "?")

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Tx]:
        with self._file.transaction(write) as conn:
            yield _SQLiteTx(conn)

    def close(self) -> None:
        self._file.close()


class PostgresFileStore(SqlFileStore):
    """A table in the applications' schema, on the process's shared pool (adapters/pool.py):
    each call holds one connection for one short transaction."""

    blob = "BYTEA"

    def __init__(self, datastore: PostgresDatastore, *, create_tables: bool = True) -> None:
        super().__init__(f'"{datastore.schema or "public"}".documents')
        self.datastore, self._released = datastore, False
        if create_tables:
            with self._tx() as tx:
                tx.run(self.ddl)

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Tx]:
        with self.datastore.transaction(commit=write) as curs:
            yield _PostgresTx(curs)

    def close(self) -> None:
        """Its share of the process's pool, given back once."""
        if not self._released:
            self._released = True
            pool.release(self.datastore)


def _row(found: dict[str, Any]) -> StoredFile:
    values: Sequence[Any] = [found[name] for name in COLUMNS]
    case_id, document_id, media_type, size, meta, content, created_at = values
    return StoredFile(
        str(case_id),
        str(document_id),
        str(media_type),
        int(size),
        bytes(meta),
        bytes(content or b""),
        float(created_at),
    )


FILE_STORES = SideStore[FileStore](
    SQLITE_FILE,
    SQLiteFileStore,
    lambda datastore, create: PostgresFileStore(datastore, create_tables=create),
    InMemoryFileStore,
)
