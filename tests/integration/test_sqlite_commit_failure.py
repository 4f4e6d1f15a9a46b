"""The SQLite stores with a connection of their own (files, deliveries, read audit, staff
sessions; adapters/side_stores.SQLiteFile): when
COMMIT itself fails (here a deferred foreign key, as a full disk would), the transaction is
rolled back, so the next write starts afresh instead of failing on "cannot start a
transaction within a transaction" for the life of the process."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from adapters.audit_records import AuditFilter
from adapters.audit_sql import SQLiteAuditStore
from adapters.delivery_stores import SQLiteDeliveryStore
from adapters.file_stores import SQLiteFileStore
from adapters.staff_sessions import SessionRow, SQLiteSessionStore
from integrations.documents.store import StoredFile
from tests.unit.test_audit_log import ROW

DEFERRED = (
    "CREATE TABLE parent (id TEXT PRIMARY KEY)",
    "CREATE TABLE child (parent_id TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
)
ORPHAN = "INSERT INTO child VALUES ('nobody')"  # accepted now, refused at COMMIT


def with_deferred_key(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA foreign_keys = ON")
    for ddl in DEFERRED:
        conn.execute(ddl)


def failing_commit(store: Any, run: str) -> None:
    """A transaction of `store` whose COMMIT raises."""
    with_deferred_key(store._file.conn)
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"), store._tx() as tx:
        getattr(tx, run)(ORPHAN)
    assert not store._file.conn.in_transaction


def test_the_file_store_writes_again_after_a_failed_commit(tmp_path: Path) -> None:
    store = SQLiteFileStore(str(tmp_path / "documents.sqlite"))
    failing_commit(store, "run")
    row = StoredFile("case-1", "doc:1", "image/png", 3, b"{}", b"png", 1.0)
    assert store.put(row)
    assert store.get("case-1", "doc:1") == row
    store.close()


def test_the_delivery_store_writes_again_after_a_failed_commit(tmp_path: Path) -> None:
    store = SQLiteDeliveryStore(str(tmp_path / "deliveries.sqlite"))
    failing_commit(store, "run")
    with store._tx() as tx:
        tx.run("INSERT INTO parent VALUES ('p')")
    store.close()


def test_the_audit_store_records_again_after_a_failed_commit(tmp_path: Path) -> None:
    store = SQLiteAuditStore(str(tmp_path / "audit.sqlite"))
    failing_commit(store, "execute")
    store.record([ROW], [])
    assert len(store.search(AuditFilter())) == 1
    store.close()


def test_the_session_store_opens_sessions_again_after_a_failed_commit(tmp_path: Path) -> None:
    """The staff session store had the old pattern (COMMIT outside the try): a failed COMMIT
    left the transaction open and every later sign-in failed. All four share SQLiteFile now."""
    store = SQLiteSessionStore(str(tmp_path / "sessions.sqlite"))
    failing_commit(store, "run")
    row = SessionRow("h-1", "u-1", "clerk.wang", "office", "430602", "cdc", "c", 1.0, 1.0, 9.0)
    store.create(row)
    assert store.get("h-1") == row
    store.close()
