"""Read models stored as tables: typed rows, one unit of work per batch, the view ABC."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import partial, singledispatchmethod
from typing import Any, ClassVar, TypeVar, cast

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from engine.collector import no_cycle_collection
from engine.memo import Memo, Slot
from engine.parked import PARKED, PARKED_STATE, NotParkedError, ParkedRow
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


class TableView(TrackingRecorder, ABC):
    """A read model kept in tables, whose position is tracked in the same transaction as its
    rows (exactly-once). Backends: in-memory (unit tests), SQLite, PostgreSQL."""

    name: ClassVar[str] = ""
    tables: ClassVar[tuple[Table[Any], ...]] = ()
    pipelines: ClassVar[bool] = False  # a backlog's pages are written in a thread (`Pipeline`)
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
