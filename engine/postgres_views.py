"""PostgreSQL implementations of the projection views: rows and tracking in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Composed, Identifier, Literal

from engine.parked import PARKED, PARKED_STATE
from engine.rows import Column, Key, R, Record, Table, TableChanges, ViewBusyError, require_after
from engine.view import TableView, V

log = logging.getLogger(__name__)
REBUILT = "view %s: %s; emptied, to be rebuilt from the event log"
PART = "#"  # a part's position is tracked as `<application>#<run>:<part>/<parts>`
# Text sorts by code point ("C"), as on SQLite and in memory, so pages are the same everywhere.
TYPES = {
    "text": 'text COLLATE "C"',
    "int": "bigint",
    "real": "double precision",
    "bool": "boolean",
    "json": "text",
}
COPY_FROM = 50  # rows: fewer are upserted with executemany (COPY costs 3 round trips)
# COPY sends rows in the binary format: text goes as it is, where the text format escapes
# every character of it (a ~10 kB family document: ~13 -> ~5 us of client CPU per row).
BINARY_TYPES = {"text": "text", "int": "int8", "real": "float8", "bool": "bool", "json": "text"}


def _names(names: Sequence[str]) -> Composed:
    return SQL(", ").join(Identifier(n) for n in names)


def _equals(names: Sequence[str]) -> Composable:
    if not names:
        return SQL("TRUE")
    return SQL(" AND ").join(SQL("{} = %s").format(Identifier(n)) for n in names)


@dataclass(frozen=True)
class _Statements:
    """One table's statements, composed once. Big upserts go through a temporary staging
    table: COPY in, then one set-based INSERT ... ON CONFLICT."""

    select: str
    delete: str
    upsert: str
    stage: str  # creates the session's staging table (emptied at each commit)
    copy: str
    merge: str
    types: tuple[str, ...]  # each column's type, for binary COPY

    @classmethod
    def of(cls, table: Composed, stage: str, spec: Table[Any]) -> _Statements:
        columns, staged = _names(spec.names), Identifier(stage)
        on_conflict = SQL("ON CONFLICT ({}) DO {}").format(_names(spec.key), _action(spec))
        parts = {
            "select": SQL("SELECT * FROM {} WHERE {}").format(table, _equals(spec.key)),
            "delete": SQL("DELETE FROM {} WHERE {}").format(table, _equals(spec.key)),
            "upsert": SQL("INSERT INTO {} ({}) VALUES ({}) {}").format(
                table, columns, SQL(", ").join(SQL("%s") for _ in spec.names), on_conflict
            ),
            "stage": SQL(
                "CREATE TEMPORARY TABLE IF NOT EXISTS {} (LIKE {} INCLUDING COMPRESSION) "
                "ON COMMIT DELETE ROWS"
            ).format(staged, table),
            "copy": SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(staged, columns),
            "merge": SQL("INSERT INTO {} ({}) SELECT {} FROM {} {}").format(
                table, columns, columns, staged, on_conflict
            ),
        }
        types = tuple(BINARY_TYPES[c.kind] for c in spec.columns)
        return cls(**{name: part.as_string(None) for name, part in parts.items()}, types=types)

    def copy_upsert(self, curs: Cursor[DictRow], rows: list[tuple[object, ...]]) -> None:
        curs.execute(self.stage)
        with curs.copy(self.copy) as copy:
            copy.set_types(self.types)
            for row in rows:
                copy.write_row(row)
        curs.execute(self.merge)


def _has_lz4(datastore: PostgresDatastore) -> bool:
    """Whether the server can compress values with lz4 (PostgreSQL 14+ built with it)."""
    with datastore.transaction(commit=False) as curs:
        curs.execute(
            "SELECT 'lz4' = ANY(enumvals) AS lz4 FROM pg_settings "
            "WHERE name = 'default_toast_compression'"
        )
        found = curs.fetchone()
    return bool(found and found["lz4"])


def _action(table: Table[Any]) -> Composable:
    updates = [n for n in table.names if n not in table.key]
    if not updates:
        return SQL("NOTHING")
    return SQL("UPDATE SET {}").format(
        SQL(", ").join(SQL("{0} = excluded.{0}").format(Identifier(n)) for n in updates)
    )


class PostgresTables(TableView, PostgresTrackingRecorder):
    """A table view in the applications' database and schema: tables `<projection>_<table>`
    and `<projection>_tracking`. A batch holds a transaction-scoped advisory lock, so one
    process at a time applies pages of a projection; the others skip the round."""

    def __init__(self, datastore: PostgresDatastore, *, create_tables: bool = True) -> None:
        """create_tables: False in a process started after they were made (a server's
        workers, a rebuild's parts): `CREATE INDEX IF NOT EXISTS` locks its table even when
        the index exists, and can deadlock with another process writing the view."""
        super().__init__(datastore, tracking_table_name=f"{self.name}_tracking")
        self._lz4 = _has_lz4(datastore)
        for table in (*self.tables, PARKED):  # parked events: kept by `clear` (rebuilds)
            self.sql_create_statements += self._ddl(table)
        self._statements = {
            t.name: _Statements.of(self.table(t), f"_stage_{self.name}_{t.name}", t)
            for t in (*self.tables, PARKED)
        }
        lock = SQL("SELECT pg_try_advisory_xact_lock(hashtext({})) AS locked")
        self._lock_sql = lock.format(self._lock_key).as_string(None)
        tracking = SQL("{}.{}").format(
            Identifier(self.datastore.schema), Identifier(self.tracking_table_name)
        )
        self._parts_sql = (
            SQL(
                "SELECT application_name, max(notification_id) AS position FROM {} "
                "WHERE starts_with(application_name, %s) GROUP BY application_name"
            )
            .format(tracking)
            .as_string(None)
        )
        self._tracking_table = tracking
        if create_tables:
            self._empty_changed_tables()
            self.create_table()

    def table(self, table: Table[Any]) -> Composed:
        name = f"{self.name}_{table.name}"
        self.check_identifier_length(name)
        return SQL("{}.{}").format(Identifier(self.datastore.schema), Identifier(name))

    def _ddl(self, table: Table[Any]) -> list[Composed]:
        columns = SQL(", ").join(
            SQL("{} {}").format(
                Identifier(c.name), SQL(self._type(c) + ("" if c.nullable else " NOT NULL"))
            )
            for c in table.columns
        )
        statements = [
            SQL("CREATE TABLE IF NOT EXISTS {} ({}, PRIMARY KEY ({}))").format(
                self.table(table), columns, _names(table.key)
            )
        ]
        schema = Identifier(self.datastore.schema).as_string(None)
        for index in table.indexes:
            name = f"{self.name}_{table.name}_by_{'_'.join(index)}"[:63]
            found = Literal(f"{schema}.{Identifier(name).as_string(None)}")
            # CREATE INDEX IF NOT EXISTS takes its table's lock even when the index exists:
            # a process starting while another writes the view could deadlock with it.
            statements.append(
                SQL(
                    "DO $$BEGIN IF to_regclass({}) IS NULL THEN "
                    "CREATE INDEX IF NOT EXISTS {} ON {} ({}); END IF; END$$"
                ).format(found, Identifier(name), self.table(table), _names(index))
            )
        return statements

    def _empty_changed_tables(self) -> None:
        """A view whose tables another version made (engine/view.py, `shape`) is dropped, with
        its positions, and made again after: the worker then rebuilds it from the event log.
        Table `<view>_shape` records the shape the store holds. Under the view's lock, so a
        batch in flight finishes first and a second process starting at the same moment finds
        the tables already replaced."""
        schema = self.datastore.schema
        shape_table = SQL("{}.{}").format(Identifier(schema), Identifier(f"{self.name}_shape"))
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("SELECT pg_advisory_xact_lock(hashtext({}))").format(self._lock_key))
            curs.execute(
                SQL("CREATE TABLE IF NOT EXISTS {} (shape TEXT NOT NULL)").format(shape_table)
            )
            curs.execute(SQL("SELECT shape FROM {}").format(shape_table))
            recorded = next((str(r["shape"]) for r in curs.fetchall()), None)
            curs.execute(
                "SELECT table_name, column_name, is_nullable FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = ANY(%s)",
                [schema, [f"{self.name}_{t.name}" for t in self.tables]],
            )
            columns: dict[str, set[tuple[str, bool]]] = {}
            for row in curs.fetchall():
                columns.setdefault(row["table_name"], set()).add(
                    (row["column_name"], row["is_nullable"] == "YES")
                )
            found = {t.name: columns.get(f"{self.name}_{t.name}") for t in self.tables}
            why = self.reshaped(recorded, found)
            if why is not None:
                log.warning(REBUILT, self.name, why)
                self._drop_tables(curs)
            if recorded != self.shape():
                curs.execute(SQL("DELETE FROM {}").format(shape_table))
                curs.execute(
                    SQL("INSERT INTO {} (shape) VALUES (%s)").format(shape_table), [self.shape()]
                )

    def _drop_tables(self, curs: Cursor[DictRow]) -> None:
        for table in self.tables:
            curs.execute(SQL("DROP TABLE IF EXISTS {}").format(self.table(table)))
        kept = ((self._tracking_table, ""), (self.table(PARKED), " WHERE state = %s"))
        for name, where in kept:  # positions; parked rows (the replay parks them again)
            curs.execute(
                SQL("SELECT to_regclass({}) IS NOT NULL AS there").format(
                    Literal(name.as_string(None))
                )
            )
            there = curs.fetchone()
            if there is not None and there["there"]:
                curs.execute(
                    SQL("DELETE FROM {}" + where).format(name), [PARKED_STATE] if where else []
                )

    pipelines = True  # the writer thread's COPY and merge overlap the next page's Python

    def _type(self, column: Column) -> str:
        """The column's SQL type. Long texts (the family documents: ~10 kB a row, rewritten at
        every page that touches the case) are compressed with lz4 when the server has it,
        several times faster than the default pglz (tables made before keep theirs)."""
        kind = TYPES[column.kind]
        if self._lz4 and column.kind in ("text", "json"):
            return kind.replace("text", "text COMPRESSION lz4", 1)
        return kind

    @contextmanager
    def _transaction(self) -> Iterator[Cursor[DictRow]]:
        with self.datastore.transaction(commit=True) as curs:
            self._lock(curs)
            yield curs

    def _read_transaction(self) -> AbstractContextManager[Cursor[DictRow]]:
        return self._statement()

    @contextmanager
    def _statement(self) -> Iterator[Cursor[DictRow]]:
        """A cursor for one read statement, outside any explicit transaction: the pool's
        connections autocommit, so the statement is its own snapshot and the read costs one
        round trip, not three (BEGIN, the statement, ROLLBACK)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            yield curs

    def _position(self, handle: Cursor[DictRow], application_name: str) -> int | None:
        return self._max_tracking_id(application_name, handle)

    def _require_position(
        self, handle: Cursor[DictRow], tracking: Tracking, after: int | None
    ) -> None:
        """As the view's, and a view with no position yet is busy while a rebuild in parts
        runs (or was interrupted): its parts' positions are in the tracking table."""
        super()._require_position(handle, tracking, after)
        if after is None:
            self._require_no_parts(handle, tracking.application_name)

    def _require_free(self, handle: Cursor[DictRow], application_name: str) -> None:
        if self._position(handle, application_name) is None:
            self._require_no_parts(handle, application_name)

    def require_free(self, application_name: str) -> None:
        """A view with no position of its own and parts' positions recorded is busy."""
        with self.datastore.transaction(commit=False) as curs:
            self._require_free(curs, application_name)

    def _require_no_parts(self, handle: Cursor[DictRow], application_name: str) -> None:
        if PART not in application_name and self._parts(handle, application_name):
            raise ViewBusyError(f"{self.name} is being rebuilt in parts (or was interrupted)")

    # A rebuild in parts (engine/partitioned_rebuild.py): each part, in its own process,
    # applies its cases' events under its own position `<application>#<run>:<part>/<parts>`, and
    # takes the view's lock shared, so that parts run together while a plain catch-up, which
    # takes it alone, skips the view; `clear` waits for every part's page in flight.
    def as_part(self) -> None:
        """This instance writes one part of a rebuild in parts: the view's lock, shared, and
        waited for (a catch-up that takes it alone to find the view busy lets it go at once)."""
        lock = SQL("SELECT true AS locked FROM pg_advisory_xact_lock_shared(hashtext({}))")
        self._lock_sql = lock.format(self._lock_key).as_string(None)

    def parts(self, application_name: str) -> dict[str, int]:
        """The positions of a rebuild in parts of this view, by part (empty when none)."""
        with self.datastore.transaction(commit=False) as curs:
            return self._parts(curs, application_name)

    def _parts(self, curs: Cursor[DictRow], application_name: str) -> dict[str, int]:
        curs.execute(self._parts_sql, [application_name + PART])
        return {row["application_name"]: int(row["position"]) for row in curs.fetchall()}

    def finish_parts(self, application_name: str, parts: Sequence[str], head: int) -> None:
        """Every part reached `head`: the view's position becomes `head` and the parts' go, in
        one transaction; a plain catch-up goes on from there. Refused unless exactly `parts`
        are recorded, each at `head` (another run may have started over meanwhile)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("SELECT pg_advisory_xact_lock(hashtext({}))").format(self._lock_key))
            positions = self._parts(curs, application_name)
            if positions != dict.fromkeys(parts, head):
                raise ViewBusyError(f"{self.name}: parts not all at {head}: {positions}")
            curs.execute(
                SQL("DELETE FROM {} WHERE starts_with(application_name, %s)").format(
                    self._tracking_table
                ),
                [application_name + PART],
            )
            self._insert_tracking(curs, Tracking(application_name, head))
        self.memo.invalidate()  # the rows were written by other processes

    def _track(self, handle: Cursor[DictRow], tracking: Tracking) -> None:
        self._insert_tracking(handle, tracking)

    @property
    def _lock_key(self) -> Literal:
        """Names the advisory lock of this projection: one per schema and tracking table."""
        return Literal(f"{self.datastore.schema}.{self.tracking_table_name}")

    def _lock(self, curs: Cursor[DictRow]) -> None:
        curs.execute(self._lock_sql)
        found = curs.fetchone()
        if not found or not found["locked"]:
            raise ViewBusyError(f"{self.name} is being caught up by another process")

    def _load(self, curs: Cursor[DictRow], table: Table[Any], key: Key) -> Record | None:
        curs.execute(self._statements[table.name].select, key)
        found = curs.fetchone()
        return None if found is None else dict(found)

    def _write(self, curs: Cursor[DictRow], changes: list[TableChanges]) -> None:
        for change in changes:
            statements = self._statements[change.table.name]
            if change.deletes:
                curs.executemany(statements.delete, change.deletes)
            if len(change.rows) > COPY_FROM:
                statements.copy_upsert(curs, change.rows)
            elif change.rows:
                curs.executemany(statements.upsert, change.rows)

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
        query = SQL("SELECT * FROM {} WHERE {}").format(self.table(table), _equals(list(where)))
        if require_after(order_by, after):
            marks = SQL(", ").join(SQL("%s") for _ in after)
            query += SQL(" AND ({}) > ({})").format(_names(order_by[: len(after)]), marks)
        if order_by:
            query += SQL(" ORDER BY {}").format(_names(order_by))
        query += SQL(" LIMIT %s OFFSET %s")
        with self._statement() as curs:
            curs.execute(query, [*where.values(), *after, limit, offset])
            return [table.decode(row) for row in curs.fetchall()]

    def count(self, table: Table[Any], where: Mapping[str, object] | None = None) -> int:
        where = where or {}
        query = SQL("SELECT COUNT(*) AS n FROM {} WHERE {}").format(
            self.table(table), _equals(list(where))
        )
        with self._statement() as curs:
            curs.execute(query, list(where.values()))
            found = curs.fetchone()
            return int(found["n"]) if found else 0

    def clear(self, application_name: str, parts: Sequence[str] = ()) -> None:
        """Also ends a rebuild in parts (their positions go; a part still running then finds
        its position moved and stops). With `parts`, starts one: each part's position is 0,
        set in the same transaction, and from then on the view is busy for everyone but the
        parts until `finish_parts` (or another `clear`)."""
        with self.datastore.transaction(commit=True) as curs:
            # Waits for a batch in flight (a part's too), so no page lands in the emptied view.
            curs.execute(SQL("SELECT pg_advisory_xact_lock(hashtext({}))").format(self._lock_key))
            for table in self.tables:
                curs.execute(SQL("DELETE FROM {}").format(self.table(table)))
            curs.execute(
                SQL(
                    "DELETE FROM {} WHERE application_name = %s "
                    "OR starts_with(application_name, %s)"
                ).format(self._tracking_table),
                [application_name, application_name + PART],
            )
            curs.execute(  # the replay parks again what still fails; skipped ones stay on record
                SQL("DELETE FROM {} WHERE application_name = %s AND state = %s").format(
                    self.table(PARKED)
                ),
                [application_name, PARKED_STATE],
            )
            for part in parts:
                self._insert_tracking(curs, Tracking(part, 0))
        self.memo.emptied(t.name for t in self.tables)


@cache
def postgres_view(view: type[V]) -> Callable[..., V]:
    """`view` (a store-free TableView class) on PostgreSQL: the class of both, made once;
    called with the datastore and `create_tables`, as PostgresTables is."""
    name = "Postgres" + view.__name__.removesuffix("View")
    made: Callable[..., V] = type(name, (PostgresTables, view), {})
    return made
