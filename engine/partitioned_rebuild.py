"""A projection kept per case, rebuilt in parts: one process per part, on PostgreSQL.

The machinery is generic: which events are a part's (a `Partition`, e.g. projections/by_case.py)
and how a part's process builds its application and projections (adapters/partitioned_rebuild.py)
are given by the caller.

A rebuild in one process is bound by one core (the GIL): folding the events, rendering the
family documents, decoding the next page and writing the last one take turns on it. A view
whose rows are all keyed by case or by service request (case_status) can be rebuilt by
several processes at once, each applying the events of its own cases (a `Partition`)
from the empty view up to the log's head as it was at the start:

1. `clear` empties the view and gives each part the position 0, in one transaction (the
   parts are named after this run, so that no process of an earlier run can pass for one).
   From then on a plain catch-up (the worker's) finds the view busy and skips it.
2. Each part runs in its own process: it reads every page of the view's topics up to the head,
   decodes only its own events, and applies them as a rebuild does (pipelined pages, each one
   transaction that moves its part's position only from where it left it). Parts take the
   view's lock shared, so they run together, while a catch-up takes it alone and skips the
   view; `clear` waits for the parts' pages in flight, and a part still running after it
   finds its position gone and stops.
3. When every part has reached the head, `finish_parts` makes the head the view's position and
   removes the parts' positions, in one transaction; a plain catch-up goes on from there.

A part that fails, or finds its position moved, stops the others; the view stays busy (its
parts' positions stay) until the rebuild is run again, which starts over from an empty view.
Only the view's own rows are written; the event log is only read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import uuid4

from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Tracking

from engine.memo import REBUILD_CAPACITY
from engine.page_reader import Page, decoder_of, read_ahead, select_after
from engine.parking import PageFailedError
from engine.part_processes import Parts
from engine.postgres_views import PART, PostgresTables
from engine.projection_runner import REBUILD_BATCH, Progress, Projections, apply_pages

log = logging.getLogger(__name__)
POLL_S = 0.5  # how often the parts' positions are read for the progress callback


def part_name(application_name: str, run: str, part: int, parts: int) -> str:
    """The tracking name of one part's position in the rebuild `run`."""
    return f"{application_name}{PART}{run}:{part}/{parts}"


class PartStoppedError(RuntimeError):
    """A part stopped: its position was moved (another run emptied the view or started over),
    or an event fails to apply (a rebuild in parts does not park: one in one process does)."""


class CannotRebuildInPartsError(ValueError):
    """This view, on this store, or with this number of parts, is not rebuilt in parts."""


class Partition(Protocol):
    """Which of a page's notifications are one part's, decoded (e.g. projections/by_case.py)."""

    def events(
        self, notifications: Sequence[Notification], decode: Callable[[Notification], Any]
    ) -> list[tuple[Any, int]]: ...


# Runs one part in its own process: (tracking name, part, parts, head, batch, stop_at) -> done.
# A top-level function (or a partial of one) that builds the part's application and
# projections and calls `apply_part`: it is sent to a spawned process.
PartRunner = Callable[[str, int, int, int, int, float | None], "PartDone"]


@dataclass(frozen=True)
class PartDone:
    """What one part did: events applied, the position it reached, the head it was given."""

    part: int
    applied: int
    position: int
    head: int

    @property
    def finished(self) -> bool:
        return self.position >= self.head


@dataclass(frozen=True)
class PartsDone:
    """A rebuild in parts: each part's outcome, and whether the view took the head."""

    parts: list[PartDone]
    head: int
    finished: bool

    @property
    def applied(self) -> int:
        return sum(p.applied for p in self.parts)


def partitioned_view(projections: Projections, name: str) -> PostgresTables:
    """The view of `name` if it can be rebuilt in parts, else CannotRebuildInPartsError."""
    projection = projections.get(name)
    if not projection.by_case:
        raise CannotRebuildInPartsError(
            f"{name} keeps rows that are not per case: it is rebuilt in one process"
        )
    view = projection.view
    if not isinstance(view, PostgresTables):
        raise CannotRebuildInPartsError(
            "a rebuild in several processes needs PostgreSQL (the production store)"
        )
    return view


def can_rebuild_in_parts(projections: Projections, name: str) -> bool:
    """Whether `partitioned_view` accepts `name` on this store."""
    try:
        partitioned_view(projections, name)
    except CannotRebuildInPartsError:
        return False
    return True


def rebuild_in_parts(
    projections: Projections,
    name: str,
    parts: int,
    run_part: PartRunner,
    progress: Progress | None = None,
    *,
    batch: int = REBUILD_BATCH,
    stop_after_s: float | None = None,
) -> PartsDone:
    """Empty `name`'s view and replay the log into it with `parts` processes, each running
    `run_part`. With `stop_after_s` (the bench's time box) each part stops at a page
    boundary once that time has passed; the view then stays busy, as after an interrupted
    rebuild."""
    if parts < 2:
        raise CannotRebuildInPartsError("a rebuild in parts needs at least 2 processes")
    view = partitioned_view(projections, name)
    with projections.exclusively():  # this process's own catch-ups wait
        app = projections.app
        run = uuid4().hex[:8]
        names = [part_name(app.name, run, k, parts) for k in range(parts)]
        view.clear(app.name, names)
        head = app.recorder.max_notification_id() or 0
        log.info("%s: emptied; rebuilding up to %d in %d parts", name, head, parts)
        stop_at = None if stop_after_s is None else time.time() + stop_after_s
        # A part that fails stops the others (as does the caller's interruption): their
        # transactions roll back and the view stays busy until the rebuild is run again.
        calls = [(names[k], k, parts, head, batch, stop_at) for k in range(parts)]
        running = Parts(run_part, calls)
        done = running.wait(POLL_S, _progress(view, app.name, head, progress))
        finished = all(p.finished for p in done)
        if finished:
            view.finish_parts(app.name, names, head)
            log.info("%s: rebuilt in %d parts up to %d", name, parts, head)
        return PartsDone(done, head, finished)


def _progress(
    view: PostgresTables, application_name: str, head: int, progress: Progress | None
) -> Callable[[], None] | None:
    """Report the slowest part's position, as the parts record it."""
    if progress is None:
        return None

    def report() -> None:
        positions = view.parts(application_name)
        progress(min(positions.values(), default=head), head)

    return report


def apply_part(
    projections: Projections,
    name: str,
    tracking_name: str,
    partition: Partition,
    part: int,
    head: int,
    batch: int = REBUILD_BATCH,
    stop_at: float | None = None,
) -> PartDone:
    """One part, in its own process: its events (`partition`'s) from the emptied view up to
    `head` (or until `stop_at`, at a page boundary)."""
    app, projection = projections.app, projections.get(name)
    view = partitioned_view(projections, name)
    view.as_part()
    if view.max_tracking_id(tracking_name) != 0:
        raise PartStoppedError(f"{tracking_name} is not at the start of a rebuild in parts")
    view.memo.emptied((t.name for t in view.tables), position=0)
    view.memo.resize(REBUILD_CAPACITY)
    ending = projection.rebuilding_in_parts(head)
    read = _reader(app, list(projection.topics), partition, tracking_name, head, batch,
                   stop_at, ending)  # fmt: skip
    first = read(0)
    applied = 0
    if first is not None:
        try:
            with read_ahead(first, read) as pages:
                applied, kept = apply_pages(projection, pages, None)
        except PageFailedError as failed:  # a part does not park: the one-process rebuild does
            raise PartStoppedError(
                f"{tracking_name}: an event fails to apply ({failed}); rebuild {name} in one "
                f"process (`newborn-ledger projections rebuild {name}`), which parks it"
            ) from None
        if not kept:
            raise PartStoppedError(f"{tracking_name}: its position was moved (started over?)")
    return PartDone(part, applied, view.max_tracking_id(tracking_name) or 0, head)


def _reader(
    app: Application[Any],
    topics: list[str],
    owner: Partition,
    tracking_name: str,
    head: int,
    batch: int,
    stop_at: float | None,
    ending: Callable[[int], None],
) -> Callable[[int | None], Page | None]:
    """The part's page after a position: the next `batch` notifications of the topics, of
    which it decodes and keeps its own; None at `head`. Once `stop_at` has passed, the page
    read then is the last (`ending` is told where it leads, before it is applied)."""
    decode = decoder_of(app)
    end = [head]

    def read(position: int | None) -> Page | None:
        if (position or 0) >= end[0]:
            return None
        notifications = select_after(app, position, batch, head, topics)
        last = notifications[-1].id if len(notifications) == batch else head
        if stop_at is not None and time.time() > stop_at and last < head:
            end[0] = last
            ending(last)
        events = owner.events(notifications, decode)
        return Page(events, Tracking(tracking_name, last), position, head)

    return read
