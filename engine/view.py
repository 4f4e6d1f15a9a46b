"""The view and projection ABCs of read models kept in tables: a view tracks its position in
the same transaction as its rows; a projection maps events to row changes."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import partial, singledispatchmethod
from typing import Any, ClassVar, TypeVar

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from engine.collector import no_cycle_collection
from engine.memo import Memo
from engine.parked import PARKED, PARKED_STATE, NotParkedError, ParkedRow
from engine.rows import Loader, PositionMovedError, Rows, TableChanges, changed, dispatcher
from engine.table import Key, R, Record, Table


class TableView(TrackingRecorder, ABC):
    """A read model kept in tables, whose position is tracked in the same transaction as its
    rows (exactly-once). Backends: in-memory (unit tests), SQLite, PostgreSQL."""

    name: ClassVar[str] = ""
    tables: ClassVar[tuple[Table[Any], ...]] = ()
    pipelines: ClassVar[bool] = False  # a backlog's pages are written in a thread (`Pipeline`)
    # Bump when the same events now make other rows (a fold rule changed, a count moved) while
    # the tables keep their columns: a store made before is then emptied and rebuilt.
    revision: ClassVar[int] = 1
    _memo: Memo | None = None

    @classmethod
    def shape(cls) -> str:
        """What the view's rows are, in one value: its revision and every table's columns
        (name, kind, nullability) and key (not its indexes: those are added in place). A
        store records the shape it was made with; opened by code of another shape, the view
        is emptied and rebuilt."""
        layout = [
            cls.revision,
            [
                [t.name, [[c.name, c.kind, c.nullable] for c in t.columns], t.key]
                for t in cls.tables
            ],
        ]
        return hashlib.sha256(json.dumps(layout).encode()).hexdigest()[:32]

    def reshaped(
        self, recorded: str | None, found: Mapping[str, set[tuple[str, bool]] | None]
    ) -> str | None:
        """Why the tables in the store must go (None: they are this code's): another shape
        recorded, or, in a store from before shapes were recorded, other columns."""
        if recorded is not None:
            return None if recorded == self.shape() else "made by another version of the view"
        changed = self.changed_tables(found)
        return f"table(s) {', '.join(changed)} made by an earlier version" if changed else None

    def changed_tables(self, found: Mapping[str, set[tuple[str, bool]] | None]) -> list[str]:
        """The tables whose columns in the store (name and nullability, or None for a table
        not there) differ from this code's: made by an earlier version of the view. A view
        none of whose tables exist yet is new, not changed."""
        if all(columns is None for columns in found.values()):
            return []
        return [
            t.name
            for t in self.tables
            if found.get(t.name) != {(c.name, c.nullable) for c in t.columns}
        ]

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

    @contextmanager
    def batch(
        self, tracking: Tracking, after: int | None = None, *, strict: bool = True
    ) -> Iterator[Rows]:
        """One transaction: yields the unit of work, then writes its changes and `tracking`.

        strict: first check, inside the transaction, that the position is still `after`
        (else PositionMovedError), so that two runners never apply one page twice. A failed
        batch forgets the memo; a committed one hands it the page's rows.
        """
        try:
            with self._transaction() as handle:
                if strict:
                    self._require_position(handle, tracking, after)
                else:
                    self._require_free(handle, tracking.application_name)
                rows = self.unit_of_work(partial(self._load, handle), after, strict=strict)
                rows.position = tracking.notification_id
                yield rows
                self._track(handle, tracking)  # first: a refused position writes no row
                self._write(handle, rows.changes())
        except BaseException:
            self.memo.invalidate()
            raise
        rows.committed(tracking.notification_id)

    def ahead(self, after: int | None, before: Rows | None) -> Rows:
        """A page's rows applied ahead of its transaction (`Pipeline`): on top of `before`,
        the page still being written, and the memo as the page `after` left it; rows neither
        holds are read on their own (the position check at `write` proves them current)."""
        return Rows(self._load_alone, self.memo.begin(after), before)

    def _load_alone(self, table: Table[Any], key: Key) -> Record | None:
        with self._read_transaction() as handle:
            return self._load(handle, table, key)

    def write(self, changes: list[TableChanges], tracking: Tracking, after: int | None) -> None:
        """One transaction: if the position is still `after` (else PositionMovedError), write
        `tracking` and a page's `changes`. Touches no memo: `Pipeline` runs it in a thread."""
        with self._transaction() as handle:
            self._require_position(handle, tracking, after)
            self._track(handle, tracking)  # first: a refused position writes no row
            self._write(handle, changes)

    def park(self, parked: ParkedRow, tracking: Tracking, after: int | None) -> None:
        """One transaction: if the position is still `after` (else PositionMovedError), move
        it to `tracking` past the event and record `parked` (an event parked before, by an
        earlier run or a rebuild, keeps its state and counts one more attempt)."""
        self.memo.invalidate()  # the position moves without rows: the memo starts again
        with self._transaction() as handle:
            self._require_position(handle, tracking, after)
            self._track(handle, tracking)
            found = self._load(handle, PARKED, PARKED.key_of(parked))
            if found is not None:
                before = PARKED.decode(found)
                parked = changed(
                    before, error=parked.error, reason=parked.reason, attempts=before.attempts + 1
                )
            self._write(handle, [TableChanges(PARKED, rows=[PARKED.values(parked)])])

    def parked(self, application_name: str, state: str | None = None) -> list[ParkedRow]:
        """The events of `application_name` parked here (`state`: only those), by position."""
        where: dict[str, object] = {"application_name": application_name}
        if state is not None:
            where["state"] = state
        return self.select(PARKED, where, order_by=("position",))

    def count_parked(self, application_name: str) -> int:
        """How many events wait here, parked and not resolved."""
        return self.count(PARKED, {"application_name": application_name, "state": PARKED_STATE})

    def retry_parked(
        self, application_name: str, position: int, fold: Callable[[Rows], None]
    ) -> None:
        """One transaction: `fold` the parked event at `position` into the view's rows and
        drop its park; on any error nothing is written (it stays parked). The position does
        not move (it is already past the event). NotParkedError when none waits there."""
        try:
            with self._transaction() as handle:
                self._require_free(handle, application_name)
                key = (application_name, position)
                self._require_parked(handle, key)
                rows = self.unit_of_work(partial(self._load, handle), None, strict=False)
                fold(rows)
                self._write(handle, [*rows.changes(), TableChanges(PARKED, deletes=[key])])
        finally:
            self.memo.invalidate()  # rows changed outside the pages' order

    def update_parked(
        self, application_name: str, position: int, *, attempt: bool = False, **changes: Any
    ) -> ParkedRow:
        """One transaction: the parked (unresolved) event at `position`, with `changes` (and
        one more attempt counted when `attempt`). NotParkedError when none waits there."""
        with self._transaction() as handle:
            found = self._require_parked(handle, (application_name, position))
            if attempt:
                changes["attempts"] = found.attempts + 1
            row = changed(found, **changes)
            self._write(handle, [TableChanges(PARKED, rows=[PARKED.values(row)])])
        return row

    def _require_parked(self, handle: Any, key: Key) -> ParkedRow:
        found = self._load(handle, PARKED, key)
        if found is None or found["state"] != PARKED_STATE:
            raise NotParkedError(f"{self.name}: no event parked at position {key[1]}")
        return PARKED.decode(found)

    def _require_position(self, handle: Any, tracking: Tracking, after: int | None) -> None:
        """PositionMovedError unless the view's position (read in the batch's transaction) is
        still `after`: so that two runners never apply one page twice."""
        current = self._position(handle, tracking.application_name)
        if current != after:
            raise PositionMovedError(f"{self.name}: position is {current}, not {after}")

    def _require_free(self, handle: Any, application_name: str) -> None:
        """ViewBusyError if the view is given over to another writer (a rebuild in parts):
        the check a batch that does not check its position still makes."""

    def require_free(self, application_name: str) -> None:
        """`_require_free` on its own, before a catch-up of `application_name`'s events reads
        anything: a view given over to another writer is left without reading a page."""

    def _read_transaction(self) -> AbstractContextManager[Any]:
        """A transaction to read rows in, without the view's lock (a writer may hold it)."""
        return self._transaction()

    # The backend's part of a batch; `handle` is its cursor (or nothing, in memory).
    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]:
        """A transaction that commits when it ends without error (holding any view lock)."""

    @abstractmethod
    def _position(self, handle: Any, application_name: str) -> int | None:
        """The view's position for `application_name`, read inside the transaction."""

    @abstractmethod
    def _load(self, handle: Any, table: Table[Any], key: Key) -> Record | None:
        """One stored row, or None."""

    @abstractmethod
    def _write(self, handle: Any, changes: list[TableChanges]) -> None:
        """Apply a batch's upserts and deletes."""

    @abstractmethod
    def _track(self, handle: Any, tracking: Tracking) -> None:
        """Record the new position (fails if another runner recorded it)."""

    @abstractmethod
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
        """Rows whose columns equal `where`, ordered (columns that are never NULL) and paged:
        by `offset`, or by key with `after`, the `order_by` values of the last row of the page
        before (the next page then starts where the index left off, however deep)."""

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

    # Every row is keyed by a case or a service request and depends only on that case's
    # events: the view can be rebuilt in parts, one process each (projections/by_case.py).
    by_case: ClassVar[bool] = False

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
        with no_cycle_collection(), self.view.batch(tracking, after, strict=strict) as rows:
            self.fold(events, rows)

    def fold(self, events: Sequence[tuple[Any, int]], rows: Rows) -> None:
        """A page's events into `rows`, then `finish`: the batch's changes, not yet written."""
        apply = self._applier()
        with no_cycle_collection():
            for event, position in events:
                apply(event, position, rows)
            self.finish(rows)

    def finish(self, rows: Rows) -> None:
        """After the batch's events, in its transaction: write what was kept per batch."""

    def rebuilding_in_parts(self, head: int) -> Callable[[int], None]:
        """This instance applies one part of a rebuild in parts up to `head` (never resumed
        half-way: engine/partitioned_rebuild.py); returns what to call with the position of
        the part's last page once it is known (a time box may end the part before `head`)."""
        return lambda position: None

    def _applier(self) -> Callable[[Any, int, Rows], None]:
        """`self.apply`, resolved once per batch: on Python 3.11 each `self.apply` of a
        singledispatchmethod builds and wraps a new function (~2 µs an event)."""
        dispatch = dispatcher(type(self), "apply")
        if dispatch is None:
            return self.apply

        def apply(event: Any, position: int, rows: Rows) -> None:
            dispatch(event.__class__)(self, event, position, rows)

        return apply

    @singledispatchmethod
    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """Events this read model does not show change nothing."""
