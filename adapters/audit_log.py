"""Group commit for the read audit: reads are recorded before they are answered, without each
paying a COMMIT of its own.

A caller `submit`s its row with a callback and waits for it. One writer thread takes every row
queued by then (up to `batch`), stores them in one transaction, and only then calls each
callback: with no error (durable: the read may be answered) or with the error (nothing of the
batch may be taken as recorded; the read is refused). The queue is bounded: when it is full, or
the log is closed, `submit` raises AuditBusyError at once and the read is refused (503).
`close` refuses new rows, then commits every row already queued before it returns, so nothing
that was accepted is dropped on shutdown; a process killed outright answered none of the reads
it had not committed.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from adapters.audit_records import AuditStore, ReadRecord, Viewer

log = logging.getLogger(__name__)
BATCH = 500  # rows in one transaction
CLOSE_S = 10.0  # the longest `close` waits for the writer to commit what it accepted
GATHER_S = 0.002  # the longest a group waits for more rows (see AuditLog._gather)
Done = Callable[[list[Viewer] | None, BaseException | None], None]


class AuditBusyError(Exception):
    """The audit cannot take the row now (queue full, or closing): refuse the read."""


@dataclass(frozen=True)
class _Pending:
    record: ReadRecord
    done: Done
    viewers: bool  # the callback also gets the offices that read the row's case


class AuditLog:
    """The process's audit writer over `store`; its thread starts with the first row."""

    def __init__(self, store: AuditStore, capacity: int = 10_000, batch: int = BATCH) -> None:
        self.store, self.batch = store, batch
        self._queue: queue.Queue[_Pending | None] = queue.Queue(capacity)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._window = 0.0  # how long a group may wait for more rows (a quarter of a commit)
        self.batches = 0  # committed transactions (tests and the bench read it)

    def submit(self, record: ReadRecord, done: Done, *, viewers: bool = False) -> None:
        """Queue `record`; `done` is called from the writer thread once it is stored."""
        with self._lock:
            if self._closed:
                raise AuditBusyError("the read audit is closing")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit", daemon=True)
                self._thread.start()
            try:
                self._queue.put_nowait(_Pending(record, done, viewers))
            except queue.Full:
                raise AuditBusyError("the read audit's queue is full") from None

    def _run(self) -> None:
        last = 1  # rows in the last transaction
        while True:
            group, stop = self._gather(last)
            if group:
                started = time.monotonic()
                self._commit(group)
                self._window = min(GATHER_S, (time.monotonic() - started) / 4)
                last = len(group)
            if stop:
                return

    def _gather(self, last: int) -> tuple[list[_Pending], bool]:
        """The next group: the first row to come, then what is queued; while the group is
        smaller than the last one, rows for up to a quarter of a commit's time (at most
        GATHER_S) more. Callers waiting for their answer send their next reads a moment
        after a commit: the window keeps them in one transaction instead of many small ones."""
        first = self._queue.get()
        if first is None:
            return [], True
        group, until = [first], time.monotonic() + self._window
        while len(group) < self.batch:
            try:
                if len(group) < last and (left := until - time.monotonic()) > 0:
                    item = self._queue.get(timeout=left)
                else:
                    item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return group, True
            group.append(item)
        return group, False

    def _commit(self, group: list[_Pending]) -> None:
        cases = [p.record.case_id for p in group if p.viewers]
        try:
            found = self.store.record([p.record for p in group], cases)
        except Exception as error:
            log.warning("read audit: %d rows not stored: %s", len(group), type(error).__name__)
            for pending in group:
                _call(pending.done, None, error)
            return
        self.batches += 1
        for pending in group:
            seen = found.get(pending.record.case_id, []) if pending.viewers else None
            _call(pending.done, seen, None)

    def close(self) -> None:
        """Refuse new rows, commit the queued ones, stop the writer, close the store."""
        with self._lock:
            closed, self._closed = self._closed, True
            thread = self._thread
        if closed:
            return
        if thread is not None:
            # after every accepted row: the writer commits them first (when the queue stays
            # full, the writer is stuck: the join below gives up after its time)
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=CLOSE_S)
            thread.join(CLOSE_S)
            if thread.is_alive():  # a statement hangs (a dead server): do not hang shutdown
                refused = self._refuse_queued()
                log.warning("read audit: writer stuck at close; %d reads refused", refused)
                return
        self.store.close()

    def _refuse_queued(self) -> int:
        """The rows still queued are not recorded: their callers are refused (503)."""
        refused = 0
        while True:
            try:
                pending = self._queue.get_nowait()
            except queue.Empty:
                return refused
            if pending is not None:
                _call(pending.done, None, AuditBusyError("the read audit closed"))
                refused += 1


def _call(done: Done, seen: list[Viewer] | None, error: BaseException | None) -> None:
    try:
        done(seen, error)
    except Exception:  # a waiter's callback must not stop the writer
        log.exception("read audit: a callback failed")
