"""Applying a backlog's pages: the writer thread that overlaps a page's write with the next
page's Python."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Tracking

from engine.rows import Rows
from engine.view import TableProjection


@dataclass
class _Written:
    """A page handed to the writer thread: its rows, where it leads, and the write itself."""

    rows: Rows
    tracking: Tracking
    after: int | None
    events: int
    future: Future[None]


class Pipeline:
    """A backlog's pages, each applied in Python while the page before it is written (COPY,
    merge, commit) by one writer thread: the page's rows are read from the page in flight,
    then the memo, then the view. Each page is still one transaction that checks the
    position is the one the page was read after, so a page applied on a page whose write
    then fails (or on a view another runner moved) is never written: the error is raised at
    the next page, the memo is forgotten, and the caller reads on from the view's position.
    """

    def __init__(self, projection: TableProjection[Any]) -> None:
        self.projection, self.view = projection, projection.view
        self._writer = ThreadPoolExecutor(1, thread_name_prefix=f"{projection.name}-writer")
        self._written: _Written | None = None

    def process(
        self, events: Sequence[tuple[Any, int]], tracking: Tracking, after: int | None
    ) -> tuple[int, int] | None:
        """Apply a page, wait for the page before it to commit, then start writing this one.
        Returns (events, position) of the page that committed meanwhile, if any."""
        written = self._written
        rows = self.view.ahead(
            after if written is None else written.after, None if written is None else written.rows
        )
        rows.position = tracking.notification_id
        try:
            self.projection.fold(events, rows)
            changes = rows.changes()
        except BaseException:
            self.view.memo.invalidate()  # the page may have taken rows out of the memo's
            raise
        done = self._settle()
        rows.detach()
        future = self._writer.submit(self.view.write, changes, tracking, after)
        self._written = _Written(rows, tracking, after, len(events), future)
        return done

    def drain(self) -> tuple[int, int] | None:
        """Wait for the last page's write: (events, position) once committed."""
        return self._settle()

    def close(self) -> None:
        """Wait for a write still running (whatever its outcome), then stop the writer."""
        try:
            self._settle()
        except Exception:  # the caller is already leaving on another error
            pass
        finally:
            self._writer.shutdown(wait=True)

    def _settle(self) -> tuple[int, int] | None:
        written, self._written = self._written, None
        if written is None:
            return None
        try:
            written.future.result()
        except BaseException:
            self.view.memo.invalidate()
            raise
        written.rows.committed(written.tracking.notification_id)
        return written.events, written.tracking.notification_id
