"""Read models stored as tables: typed rows, one unit of work per batch, the view ABC."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import singledispatchmethod
from typing import Any, cast

from engine.memo import Memo, Slot
from engine.table import KINDS as KINDS
from engine.table import Column as Column
from engine.table import Key as Key
from engine.table import R as R
from engine.table import Record as Record
from engine.table import Table as Table
from engine.table import make as make

Loader = Callable[[Table[Any], Key], Mapping[str, object] | None]


class PositionMovedError(Exception):
    """Another runner moved the view's position after this page was read: the page is not
    applied (its rows would be doubled); read the position again and carry on."""


class ViewBusyError(Exception):
    """Another process is catching this view up right now; try again at the next tick."""


def require_after(order_by: Sequence[str], after: Sequence[object]) -> Sequence[object]:
    """`after` as `select` takes it: values of the first len(after) `order_by` columns."""
    if len(after) > len(order_by):
        raise ValueError(f"after= has {len(after)} values for {len(order_by)} order_by columns")
    return after


class MissingRowError(LookupError):
    """An event refers to a row its earlier events should have made: stop, do not skip."""


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

    def __init__(self, load: Loader, memo: Memo | None = None, before: Rows | None = None) -> None:
        self._load, self._memo = load, memo
        self._before = before  # a previous page not committed yet: its rows come first
        self._current: dict[Slot, object] = {}
        self._original: dict[Slot, object] = {}
        self._tables: dict[str, Table[Any]] = {}
        self.scratch: dict[str, Any] = {}  # a projection's working state for this batch only
        self.position: int | None = None  # the position the batch leads to, once known

    def get(self, table: Table[R], *key: object) -> R | None:
        before = self._before
        slot = (table.name, key)
        if slot not in self._current:
            if before is not None and slot in before._current:
                if self._memo is not None:
                    self._memo.saw(table.name)
                row = before._current[slot]
            else:
                row = self._fetch(table, slot)
            self._current[slot] = self._original[slot] = row
        elif self._memo is not None:
            self._memo.saw(table.name)  # read back within the page: later pages will too
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
            if change is None:
                continue
            before = original[slot]
            if before is not _UNKNOWN and (row is before or row == before):
                continue
            if row is None:
                change.deletes.append(slot[1])
            else:
                change.rows.append(change.table.values(row))
        return [c for c in changes.values() if c.rows or c.deletes]

    def committed(self, position: int) -> None:
        """The batch's transaction committed at `position`: its rows are the view's now."""
        if self._memo is not None:
            self._memo.commit(self._current, position, self._tables)

    def detach(self) -> None:
        """The page before this one is committed (and in the memo): stop looking at it."""
        self._before = None


def require(row: R | None, what: str, key: object) -> R:
    """The row an earlier event made; its absence is a bug to stop at, never to skip."""
    if row is None:
        raise MissingRowError(f"no {what} row for {key}")
    return row


def dispatcher(owner: type, name: str) -> Callable[[type], Callable[..., Any]] | None:
    """The type → function lookup of `owner`'s singledispatchmethod `name` (None when it is
    a plain method): call the function found with `self` first."""
    found = next(vars(k)[name] for k in owner.__mro__ if name in vars(k))
    return found.dispatcher.dispatch if isinstance(found, singledispatchmethod) else None


def changed(row: R, **changes: Any) -> R:
    """`dataclasses.replace` for our rows (frozen, no `__post_init__`), at a third of its
    cost: a copy of `row`'s fields with `changes`, which must name fields of the row. A
    row's `__dict__` holds its fields, so only a copy longer than that may name another one:
    the names are checked then (half the cost of checking them every time)."""
    values = vars(row).copy()
    values.update(changes)
    fields = row.__dataclass_fields__
    if len(values) != len(fields) and not changes.keys() <= fields.keys():
        raise TypeError(f"{type(row).__name__} has no field {set(changes) - set(vars(row))}")
    return make(row.__class__, values)
