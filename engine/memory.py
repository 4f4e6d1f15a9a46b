"""In-memory table views for unit tests: a batch's rows and position commit together or not."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.popo import POPOTrackingRecorder

from engine.parked import PARKED
from engine.rows import Key, R, Record, Table, TableChanges, require_after
from engine.view import TableView, V


class InMemoryTables(TableView, POPOTrackingRecorder):
    """Tables as dicts of encoded records (so encoding is exercised as on SQL)."""

    def __init__(self) -> None:
        super().__init__()
        self._data: dict[str, dict[Key, Record]] = {t.name: {} for t in (*self.tables, PARKED)}

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._database_lock:
            yield None

    def _position(self, handle: None, application_name: str) -> int | None:
        return self._max_tracking_ids[application_name]

    def _load(self, handle: None, table: Table[Any], key: Key) -> Record | None:
        return self._data_of(table, key)

    def _data_of(self, table: Table[Any], key: Key) -> Record | None:
        return self._data[table.name].get(key)

    def _track(self, handle: None, tracking: Tracking) -> None:
        self._assert_tracking_uniqueness(tracking)
        self._insert_tracking(tracking)

    def _write(self, handle: None, changes: list[TableChanges]) -> None:
        for change in changes:
            records = self._data[change.table.name]
            for key in change.deletes:
                records.pop(key, None)
            for record in change.upserts:
                records[tuple(record[k] for k in change.table.key)] = record

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
        with self._database_lock:
            found = [r for r in self._data[table.name].values() if _matches(r, where)]
        found.sort(key=lambda r: _order_key(r, order_by))
        if after:
            keys = order_by[: len(require_after(order_by, after))]
            found = [r for r in found if _order_key(r, keys) > tuple(after)]
        stop = None if limit is None else offset + limit
        return [table.decode(r) for r in found[offset:stop]]

    def count(self, table: Table[Any], where: Mapping[str, object] | None = None) -> int:
        with self._database_lock:
            return sum(_matches(r, where) for r in self._data[table.name].values())

    def clear(self, application_name: str) -> None:
        with self._database_lock:
            for table in self.tables:
                self._data[table.name].clear()
            self._max_tracking_ids.pop(application_name, None)
            parked = self._data[PARKED.name]  # the replay parks again what still fails
            for key, record in list(parked.items()):
                if record["application_name"] == application_name and record["state"] == "parked":
                    del parked[key]
            self.memo.emptied(t.name for t in self.tables)


def _matches(record: Record, where: Mapping[str, object] | None) -> bool:
    return all(record[k] == v for k, v in (where or {}).items())


def _order_key(record: Record, columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(record[c] for c in columns)


@cache
def memory_view(view: type[V]) -> Callable[[], V]:
    """`view` (a store-free TableView class) in memory: the class of both, made once."""
    name = "InMemory" + view.__name__.removesuffix("View")
    made: Callable[[], V] = type(name, (InMemoryTables, view), {})
    return made
