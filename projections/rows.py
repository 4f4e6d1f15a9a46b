"""Read models stored as tables: typed rows, one unit of work per batch, the view ABC."""

from __future__ import annotations

import json
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields
from functools import singledispatchmethod
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from projections.memo import Memo, Slot

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")
Key = tuple[object, ...]
Record = dict[str, object]  # column name → stored value: str, int, float, bool or None
Loader = Callable[["Table[Any]", Key], Mapping[str, object] | None]
KINDS: dict[object, str] = {str: "text", int: "int", float: "real", bool: "bool"}


class PositionMovedError(Exception):
    """Another runner moved the view's position after this page was read: the page is not
    applied (its rows would be doubled); read the position again and carry on."""


class ViewBusyError(Exception):
    """Another process is catching this view up right now; try again at the next tick."""


class MissingRowError(LookupError):
    """An event refers to a row its earlier events should have made: stop, do not skip."""


@dataclass(frozen=True)
class Column:
    """One column, derived from a row dataclass field (tuples are stored as JSON text)."""

    name: str
    kind: str  # text | int | real | bool | json
    nullable: bool


def _column(name: str, hint: object) -> Column:
    args = typing.get_args(hint)
    nullable = type(None) in args
    base = next(a for a in args if a is not type(None)) if nullable else hint
    if typing.get_origin(base) is tuple:
        return Column(name, "json", nullable)
    return Column(name, KINDS[base], nullable)


def _encode(column: Column, value: object) -> object:
    if value is None or column.kind != "json":
        return value
    return json.dumps(list(cast("Sequence[object]", value)), ensure_ascii=False)


def _decode(column: Column, value: object) -> object:
    if value is None:
        return None
    if column.kind == "json":
        return tuple(json.loads(str(value)))
    if column.kind == "bool":
        return bool(value)
    return float(cast("float", value)) if column.kind == "real" else value


class Table(Generic[R]):
    """A table of one read model: its rows are instances of a frozen dataclass."""

    def __init__(
        self,
        name: str,
        row_type: type[R],
        key: Sequence[str],
        indexes: Sequence[Sequence[str]] = (),
    ) -> None:
        hints = typing.get_type_hints(row_type)
        self.name, self.row_type = name, row_type
        self.columns = tuple(_column(f.name, hints[f.name]) for f in fields(row_type))
        self.key = tuple(key)
        self.indexes = tuple(tuple(index) for index in indexes)
        self.names = tuple(c.name for c in self.columns)
        self._values = attrgetter(*self.names, "__class__")  # always a tuple
        self._key_of = attrgetter(*self.key, "__class__")
        self._json = tuple((n, c) for n, c in enumerate(self.columns) if c.kind == "json")

    def key_of(self, row: R) -> Key:
        return tuple(self._key_of(row)[:-1])

    def values(self, row: R) -> tuple[object, ...]:
        """The stored values of `row`, in column order (the fast path of `encode`)."""
        values = self._values(row)[:-1]
        if not self._json:
            return cast("tuple[object, ...]", values)
        encoded = list(values)
        for n, column in self._json:
            encoded[n] = _encode(column, encoded[n])
        return tuple(encoded)

    def encode(self, row: R) -> Record:
        return dict(zip(self.names, self.values(row), strict=True))

    def decode(self, record: Mapping[str, object]) -> R:
        return self.row_type(**{c.name: _decode(c, record[c.name]) for c in self.columns})

    def where_key(self, key: Key) -> dict[str, object]:
        return dict(zip(self.key, key, strict=True))


_UNKNOWN = object()  # a row written without being read first: always flushed


@dataclass
class TableChanges:
    """What one batch changed in one table (final state per key)."""

    table: Table[Any]
    rows: list[tuple[object, ...]] = field(default_factory=list)  # to upsert, column order
    deletes: list[Key] = field(default_factory=list)

    @property
    def upserts(self) -> list[Record]:
        return [dict(zip(self.table.names, row, strict=True)) for row in self.rows]


class Rows:
    """One batch's unit of work. Reads see the batch's own writes; each changed row is written
    once, at the end, in the batch's transaction: so the page size never changes the result.
    With a memo, rows committed by earlier pages are read from memory, not from the store."""

    def __init__(self, load: Loader, memo: Memo | None = None) -> None:
        self._load, self._memo = load, memo
        self._current: dict[Slot, object] = {}
        self._original: dict[Slot, object] = {}
        self._tables: dict[str, Table[Any]] = {}

    def get(self, table: Table[R], *key: object) -> R | None:
        slot = (table.name, key)
        if slot not in self._current:
            self._current[slot] = self._original[slot] = self._fetch(table, slot)
        return cast("R | None", self._current[slot])

    def _fetch(self, table: Table[Any], slot: Slot) -> object:
        if self._memo is not None:
            known, row = self._memo.lookup(slot)
            if known:
                return row
        record = self._load(table, slot[1])
        return None if record is None else table.decode(record)

    def put(self, table: Table[R], row: R) -> None:
        self._set(table, table.key_of(row), row)

    def delete(self, table: Table[Any], *key: object) -> None:
        self._set(table, key, None)

    def _set(self, table: Table[Any], key: Key, row: object) -> None:
        slot = (table.name, key)
        self._original.setdefault(slot, _UNKNOWN)
        self._current[slot] = row
        self._tables.setdefault(table.name, table)

    def changes(self) -> list[TableChanges]:
        """Per table (in first-write order): rows to upsert and keys to delete."""
        changes = {name: TableChanges(table) for name, table in self._tables.items()}
        original = self._original
        for slot, row in self._current.items():
            change = changes.get(slot[0])
            if change is None or row == original[slot]:
                continue
            if row is None:
                change.deletes.append(slot[1])
            else:
                change.rows.append(change.table.values(row))
        return [c for c in changes.values() if c.rows or c.deletes]

    def committed(self, position: int) -> None:
        """The batch's transaction committed at `position`: its rows are the view's now."""
        if self._memo is not None:
            self._memo.commit(self._current, position)


class TableView(TrackingRecorder, ABC):
    """A read model kept in tables, whose position is tracked in the same transaction as its
    rows (exactly-once). Backends: in-memory (unit tests), SQLite, PostgreSQL."""

    name: ClassVar[str] = ""
    tables: ClassVar[tuple[Table[Any], ...]] = ()
    _memo: Memo | None = None

    @property
    def memo(self) -> Memo:
        """Rows this process committed, valid while the position is the one it wrote."""
        if self._memo is None:
            self._memo = Memo()
        return self._memo

    def unit_of_work(self, load: Loader, after: int | None, *, strict: bool) -> Rows:
        """A batch's rows (call once the position is checked): with the memo when strict,
        since only a checked position proves nobody else wrote the view since."""
        if not strict:
            self.memo.invalidate()
            return Rows(load)
        return Rows(load, self.memo.begin(after))

    @abstractmethod
    def batch(
        self, tracking: Tracking, after: int | None = None, *, strict: bool = True
    ) -> AbstractContextManager[Rows]:
        """One transaction: yields the unit of work, then writes its changes and `tracking`.

        strict: first check, inside the transaction, that the position is still `after`
        (else PositionMovedError), so that two runners never apply one page twice.
        """

    @abstractmethod
    def select(
        self,
        table: Table[R],
        where: Mapping[str, object] | None = None,
        *,
        order_by: Sequence[str] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[R]:
        """Rows whose columns equal `where`, ordered (columns that are never NULL) and paged."""

    @abstractmethod
    def count(self, table: Table[Any], where: Mapping[str, object] | None = None) -> int:
        """How many rows `select` would find without paging."""

    @abstractmethod
    def clear(self, application_name: str) -> None:
        """Delete every row and the position for `application_name` (before a rebuild)."""

    def get(self, table: Table[R], *key: object) -> R | None:
        found = self.select(table, table.where_key(key), limit=1)
        return found[0] if found else None

    def dump(self) -> dict[str, list[Record]]:
        """Every row of every table, in key order (to compare a rebuild with the live view)."""
        return {t.name: [t.encode(r) for r in self.select(t, order_by=t.key)] for t in self.tables}


V = TypeVar("V", bound=TableView)


class TableProjection(Projection[V]):
    """Maps events to row changes and nothing else: no clock, no I/O but its own rows.

    `apply` runs inside the view's batch transaction; `process_event` keeps the library's
    one-event-per-transaction contract, `process_batch` is what our catch-up uses.
    """

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.process_batch([(domain_event, tracking.notification_id)], tracking, strict=False)

    def process_batch(
        self,
        events: Sequence[tuple[Any, int]],
        tracking: Tracking,
        after: int | None = None,
        *,
        strict: bool = True,
    ) -> None:
        """Apply (event, notification id) pairs in one transaction with one tracking row."""
        with self.view.batch(tracking, after, strict=strict) as rows:
            for event, position in events:
                self.apply(event, position, rows)

    @singledispatchmethod
    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """Events this read model does not show change nothing."""


def require(row: R | None, what: str, key: object) -> R:
    """The row an earlier event made; its absence is a bug to stop at, never to skip."""
    if row is None:
        raise MissingRowError(f"no {what} row for {key}")
    return row
