"""In-memory table views for unit tests: a batch's rows and position commit together or not."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.popo import POPOTrackingRecorder

from projections.rows import (
    Key,
    PositionMovedError,
    R,
    Record,
    Rows,
    Table,
    TableChanges,
    TableView,
)


class InMemoryTables(TableView, POPOTrackingRecorder):
    """Tables as dicts of encoded records (so encoding is exercised as on SQL)."""

    def __init__(self) -> None:
        super().__init__()
        self._data: dict[str, dict[Key, Record]] = {t.name: {} for t in self.tables}

    @contextmanager
    def batch(
        self, tracking: Tracking, after: int | None = None, *, strict: bool = True
    ) -> Iterator[Rows]:
        try:
            with self._database_lock:
                current = self._max_tracking_ids[tracking.application_name]
                if strict and current != after:
                    raise PositionMovedError(f"{self.name}: position is {current}, not {after}")
                self._assert_tracking_uniqueness(tracking)
                load = self._data_of
                rows = self.unit_of_work(load, after, strict=strict)
                yield rows
                self._write(rows.changes())
                self._insert_tracking(tracking)
        except BaseException:
            self.memo.invalidate()
            raise
        rows.committed(tracking.notification_id)

    def _data_of(self, table: Table[Any], key: Key) -> Record | None:
        return self._data[table.name].get(key)

    def _write(self, changes: list[TableChanges]) -> None:
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
    ) -> list[R]:
        with self._database_lock:
            found = [r for r in self._data[table.name].values() if _matches(r, where)]
        found.sort(key=lambda r: _order_key(r, order_by))
        stop = None if limit is None else offset + limit
        return [table.decode(r) for r in found[offset:stop]]

    def count(self, table: Table[Any], where: Mapping[str, object] | None = None) -> int:
        with self._database_lock:
            return sum(_matches(r, where) for r in self._data[table.name].values())

    def clear(self, application_name: str) -> None:
        with self._database_lock:
            for records in self._data.values():
                records.clear()
            self._max_tracking_ids.pop(application_name, None)
            self.memo.emptied(t.name for t in self.tables)


def _matches(record: Record, where: Mapping[str, object] | None) -> bool:
    return all(record[k] == v for k, v in (where or {}).items())


def _order_key(record: Record, columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(record[c] for c in columns)
