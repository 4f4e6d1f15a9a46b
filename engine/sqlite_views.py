"""SQLite implementations of the projection views: rows and tracking in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore, SQLiteTrackingRecorder

from engine.parked import PARKED, PARKED_STATE
from engine.rows import Key, R, Record, Table, TableChanges, require_after
from engine.view import TableView, V

log = logging.getLogger(__name__)
REBUILT = "view %s: %s; emptied, to be rebuilt from the event log"
SHAPE = "shape"  # the shape of the view this file holds (engine/view.py, TableView.shape)
TYPES = {"text": "TEXT", "int": "INTEGER", "real": "REAL", "bool": "INTEGER", "json": "TEXT"}


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _equals(names: Sequence[str]) -> str:
    return " AND ".join(f'"{n}" = ?' for n in names) or "1 = 1"


@dataclass(frozen=True)
class _Statements:
    """One table's statements, composed once."""

    select: str
    delete: str
    upsert: str

    @classmethod
    def of(cls, name: str, table: Table[Any]) -> _Statements:
        columns = table.names
        updates = ", ".join(f'"{n}" = excluded."{n}"' for n in columns if n not in table.key)
        upsert = (
            f'INSERT INTO "{name}" ({_quoted(columns)}) '
            f"VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({_quoted(table.key)}) DO "
            + (f"UPDATE SET {updates}" if updates else "NOTHING")
        )
        return cls(
            select=f'SELECT * FROM "{name}" WHERE {_equals(table.key)}',
            delete=f'DELETE FROM "{name}" WHERE {_equals(table.key)}',
            upsert=upsert,
        )


class SQLiteTables(TableView, SQLiteTrackingRecorder):
    """A table view in its own SQLite file (the library's `tracking` table is not prefixed,
    so each projection keeps its own file). Tables are named `<projection>_<table>`."""

    def __init__(self, datastore: SQLiteDatastore) -> None:
        super().__init__(datastore)
        self._composed: dict[str, _Statements] = {}
        self._empty_changed_tables()
        self.create_table()

    def table_name(self, table: Table[Any]) -> str:
        return f"{self.name}_{table.name}"

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        for table in (*self.tables, PARKED):  # parked events: kept by `clear` (rebuilds)
            statements += self._ddl(table)
        return statements

    def _ddl(self, table: Table[Any]) -> list[str]:
        name = self.table_name(table)
        columns = ", ".join(
            f'"{c.name}" {TYPES[c.kind]}{"" if c.nullable else " NOT NULL"}' for c in table.columns
        )
        statements = [
            f'CREATE TABLE IF NOT EXISTS "{name}" ({columns}, PRIMARY KEY ({_quoted(table.key)}))'
        ]
        for index in table.indexes:
            statements.append(
                f'CREATE INDEX IF NOT EXISTS "{name}_by_{"_".join(index)}" '
                f'ON "{name}" ({_quoted(index)})'
            )
        return statements

    def _empty_changed_tables(self) -> None:
        """A view whose tables another version made (engine/view.py, `shape`) is dropped, with
        its position, and made again below: the worker then rebuilds it from the event log.
        The file records the shape it now holds (table `shape`, one row)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(f'CREATE TABLE IF NOT EXISTS "{SHAPE}" (shape TEXT NOT NULL)')
            c.execute(f'SELECT shape FROM "{SHAPE}"')
            recorded = next((str(r["shape"]) for r in c.fetchall()), None)
            found: dict[str, set[tuple[str, bool]] | None] = {}
            for table in self.tables:
                c.execute(f'PRAGMA table_info("{self.table_name(table)}")')
                rows = c.fetchall()
                found[table.name] = {(r["name"], not r["notnull"]) for r in rows} or None
            why = self.reshaped(recorded, found)
            if why is not None:
                log.warning(REBUILT, self.name, why)
                for table in self.tables:
                    c.execute(f'DROP TABLE IF EXISTS "{self.table_name(table)}"')
                c.execute("SELECT name FROM sqlite_master WHERE name = 'tracking'")
                if c.fetchall():
                    c.execute("DELETE FROM tracking")  # this file holds this view's positions
                parked = self.table_name(PARKED)
                c.execute("SELECT name FROM sqlite_master WHERE name = ?", [parked])
                if c.fetchall():  # the replay parks again what still fails
                    c.execute(f'DELETE FROM "{parked}" WHERE state = ?', [PARKED_STATE])
            if recorded != self.shape():
                c.execute(f'DELETE FROM "{SHAPE}"')
                c.execute(f'INSERT INTO "{SHAPE}" (shape) VALUES (?)', [self.shape()])

    @contextmanager
    def _transaction(self) -> Iterator[SQLiteCursor]:
        with self.datastore.transaction(commit=True) as c:
            yield c

    def _position(self, handle: SQLiteCursor, application_name: str) -> int | None:
        # Read first: a later write fails if another process committed since (WAL).
        return self._max_tracking_id(application_name, handle)

    def _track(self, handle: SQLiteCursor, tracking: Tracking) -> None:
        self._insert_tracking(handle, tracking)

    def _statements(self, table: Table[Any]) -> _Statements:
        found = self._composed.get(table.name)
        if found is None:
            found = self._composed[table.name] = _Statements.of(self.table_name(table), table)
        return found

    def _load(self, c: SQLiteCursor, table: Table[Any], key: Key) -> Record | None:
        c.execute(self._statements(table).select, key)
        row = c.fetchone()
        return None if row is None else dict(row)

    def _write(self, c: SQLiteCursor, changes: list[TableChanges]) -> None:
        for change in changes:
            statements = self._statements(change.table)
            if change.deletes:
                c.executemany(statements.delete, change.deletes)
            if change.rows:
                c.executemany(statements.upsert, change.rows)

    def select(
        self,
        table: Table[R],
        where: Mapping[str, object] | None = None,
        *,
        order_by: Sequence[str] = (),
        limit: int | None = None,
        offset: int = 0,
        after: Sequence[object] = (),
    ) -> list[R]:
        where = where or {}
        statement = f'SELECT * FROM "{self.table_name(table)}" WHERE {_equals(list(where))}'
        if require_after(order_by, after):
            marks = ", ".join("?" for _ in after)
            statement += f" AND ({_quoted(order_by[: len(after)])}) > ({marks})"
        if order_by:
            statement += f" ORDER BY {_quoted(order_by)}"
        statement += " LIMIT ? OFFSET ?"
        params = [*where.values(), *after, -1 if limit is None else limit, offset]
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [table.decode(dict(row)) for row in c.fetchall()]

    def count(self, table: Table[Any], where: Mapping[str, object] | None = None) -> int:
        where = where or {}
        statement = f'SELECT COUNT(*) FROM "{self.table_name(table)}" WHERE {_equals(list(where))}'
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, list(where.values()))
            return int(c.fetchone()[0])

    def clear(self, application_name: str) -> None:
        with self.datastore.transaction(commit=True) as c:
            for table in self.tables:
                c.execute(f'DELETE FROM "{self.table_name(table)}"')
            c.execute("DELETE FROM tracking WHERE application_name = ?", [application_name])
            c.execute(  # the replay parks again what still fails; skipped ones stay on record
                f'DELETE FROM "{self.table_name(PARKED)}" WHERE application_name = ? AND state = ?',
                [application_name, PARKED_STATE],
            )
        self.memo.emptied(t.name for t in self.tables)


@cache
def sqlite_view(view: type[V]) -> Callable[[SQLiteDatastore], V]:
    """`view` (a store-free TableView class) on SQLite: the class of both, made once."""
    name = "SQLite" + view.__name__.removesuffix("View")
    made: Callable[[SQLiteDatastore], V] = type(name, (SQLiteTables, view), {})
    return made
