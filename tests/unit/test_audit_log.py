"""The read audit's group commit: rows share transactions, a callback means the row is stored,
a failed batch acknowledges nothing, a full or closed log refuses at once, closing commits
every row it had accepted. And the in-memory store's queries."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace

import pytest

from adapters.audit_log import AuditBusyError, AuditLog
from adapters.audit_records import (
    AuditFilter,
    InMemoryAuditStore,
    OfficeReads,
    ReadRecord,
    Viewer,
)

WAIT_S = 10.0
ROW = ReadRecord(
    at=1_800_000_000.0,
    actor_id="a-1",
    role="office",
    kind="person",
    user="clerk1",
    scope="430602",
    authority="health",
    what="case",
    case_id="c-1",
    target="",
    via="api",
)


class GatedStore(InMemoryAuditStore):
    """Holds each `record` until the gate opens; can fail the next one; remembers batches."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.batches: list[int] = []
        self.failures = 0  # batches still to refuse
        self.closed = False

    def record(
        self, rows: Sequence[ReadRecord], viewers_of: Sequence[str]
    ) -> dict[str, list[Viewer]]:
        self.entered.set()
        assert self.gate.wait(WAIT_S)
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        self.batches.append(len(rows))
        return super().record(rows, viewers_of)

    def close(self) -> None:
        self.closed = True


class Waiter:
    """A caller's callback: records what it was told, and whether its row was stored then."""

    def __init__(self, store: InMemoryAuditStore, row: ReadRecord) -> None:
        self.store, self.row = store, row
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.viewers: list[Viewer] | None = None
        self.stored_when_told = False

    def __call__(self, viewers: list[Viewer] | None, error: BaseException | None) -> None:
        self.viewers, self.error = viewers, error
        self.stored_when_told = any(r.target == self.row.target for r in self.store.rows)
        self.done.set()


def submit_many(log: AuditLog, store: InMemoryAuditStore, n: int) -> list[Waiter]:
    waiters = [Waiter(store, replace(ROW, target=f"t-{i}")) for i in range(n)]
    for w in waiters:
        log.submit(w.row, w)
    return waiters


def test_queued_rows_share_a_transaction_and_are_told_only_once_stored() -> None:
    store = GatedStore()
    log = AuditLog(store, capacity=100)
    first = Waiter(store, replace(ROW, target="first"))
    log.submit(first.row, first)
    assert store.entered.wait(WAIT_S)  # the writer holds the first row's batch open
    waiters = submit_many(log, store, 20)
    assert not any(w.done.is_set() for w in [first, *waiters])
    store.gate.set()
    for w in [first, *waiters]:
        assert w.done.wait(WAIT_S)
        assert w.error is None
        assert w.stored_when_told
    assert store.batches == [1, 20]  # the twenty queued behind it: one transaction
    log.close()
    assert store.closed


def test_a_failed_batch_acknowledges_none_of_its_rows_and_the_writer_goes_on() -> None:
    store = GatedStore()
    store.failures = 2  # the first row's batch and the one queued behind it
    log = AuditLog(store, capacity=100)
    failed = submit_many(log, store, 1)
    assert store.entered.wait(WAIT_S)
    failed += submit_many(log, store, 2)
    store.gate.set()
    for w in failed:
        assert w.done.wait(WAIT_S)
        assert isinstance(w.error, OSError)
    later = submit_many(log, store, 1)[0]
    assert later.done.wait(WAIT_S)
    assert later.error is None
    log.close()
    assert [r.target for r in store.rows] == ["t-0"]  # only the later row (its target t-0)


def test_a_full_queue_refuses_at_once() -> None:
    store = GatedStore()
    log = AuditLog(store, capacity=2)
    submit_many(log, store, 1)
    assert store.entered.wait(WAIT_S)  # the writer took it: the queue is empty, held
    submit_many(log, store, 2)
    with pytest.raises(AuditBusyError):
        log.submit(ROW, Waiter(store, ROW))
    store.gate.set()
    log.close()
    assert len(store.rows) == 3  # every accepted row, none of the refused


def test_closing_commits_every_accepted_row_then_refuses() -> None:
    store = GatedStore()
    log = AuditLog(store, capacity=1000, batch=7)
    waiters = submit_many(log, store, 50)
    closer = threading.Thread(target=log.close)
    closer.start()
    store.gate.set()
    closer.join(WAIT_S)
    assert not closer.is_alive()
    assert all(w.done.is_set() and w.error is None for w in waiters)
    assert len(store.rows) == 50
    assert max(store.batches) <= 7
    with pytest.raises(AuditBusyError):
        log.submit(ROW, Waiter(store, ROW))
    log.close()  # again: nothing


def test_a_family_read_is_told_which_offices_read_its_case() -> None:
    store = InMemoryAuditStore()
    log = AuditLog(store)
    store.record([ROW, replace(ROW, at=ROW.at + 60, kind="system")], [])
    family = replace(ROW, role="family", scope="c-1", authority="", user="", target="mine")
    waiter = Waiter(store, family)
    log.submit(family, waiter, viewers=True)
    assert waiter.done.wait(WAIT_S)
    log.close()
    assert waiter.viewers is not None
    assert [(v.locality, v.authority, v.kind, v.reads) for v in waiter.viewers] == [
        ("430602", "health", "system", 1),
        ("430602", "health", "person", 1),
    ]


def test_the_memory_store_filters_pages_counts_and_purges() -> None:
    store = InMemoryAuditStore()
    rows = [
        ROW,
        replace(ROW, at=ROW.at + 10, case_id="c-2", user=""),
        replace(ROW, at=ROW.at + 20, scope="420102", authority="cdc", actor_id="a-2"),
        replace(ROW, at=ROW.at + 30, role="admin", scope="", authority=""),
    ]
    store.record(rows, [])
    assert [r.id for r in store.search(AuditFilter())] == [1, 2, 3, 4]
    assert [r.id for r in store.search(AuditFilter(case_id="c-1"))] == [1, 3, 4]
    assert [r.id for r in store.search(AuditFilter(user="clerk1", after=1))] == [3, 4]
    assert [r.id for r in store.search(AuditFilter(actor_id="a-2"))] == [3]
    assert [r.id for r in store.search(AuditFilter(start=ROW.at + 10, end=ROW.at + 30))] == [2, 3]
    assert [r.id for r in store.search(AuditFilter(limit=2, after=2))] == [3, 4]
    assert store.office_reads("43", ROW.at, ROW.at + 60) == [
        OfficeReads("430602", "health", "case", 2, 2)
    ]
    assert store.purge(ROW.at + 15) == 2
    assert [r.id for r in store.search(AuditFilter())] == [3, 4]


def test_closing_does_not_hang_on_a_stuck_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    """A statement that never returns (a dead server) must not hold shutdown: `close` gives
    up after its time and refuses the rows still queued; none of them is told it is stored."""
    monkeypatch.setattr("adapters.audit_log.CLOSE_S", 0.2)
    store = GatedStore()  # the gate never opens: the writer hangs in its first batch
    log = AuditLog(store, capacity=3)
    held = submit_many(log, store, 1)
    assert store.entered.wait(WAIT_S)
    queued = submit_many(log, store, 3)  # the queue is full: close cannot even queue its stop
    closer = threading.Thread(target=log.close)
    closer.start()
    closer.join(WAIT_S)
    assert not closer.is_alive()
    for w in queued:
        assert w.done.is_set()
        assert isinstance(w.error, AuditBusyError)
    assert not held[0].done.is_set()  # its batch is still under way: not acknowledged
    store.gate.set()  # let the daemon writer go (its late row is stored, told, then it stops)
    assert held[0].done.wait(WAIT_S)
