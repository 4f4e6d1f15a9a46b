"""Our batched, pull-based catch-up: one transaction per page of events with one tracking row."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Self

from eventsourcing.application import Application

from engine import parking
from engine.collector import no_cycle_collection
from engine.memo import DEFAULT_CAPACITY, REBUILD_CAPACITY
from engine.page_reader import Pages, SharedPage, pages, part_of, shared_page_after
from engine.parked import ParkedRow
from engine.parking import PageFailedError, applying, salvage
from engine.pipeline import Pipeline
from engine.poison import error_name, parks
from engine.rows import PositionMovedError, ViewBusyError
from engine.view import TableProjection, TableView

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]  # (position reached, head of the log) after each page
DEFAULT_BATCH = 500
# A rebuild reads a long backlog: bigger pages mean fewer transactions, and a case's rows and
# family document are written once per page that touches it, so fewer times per case (the
# bench log interleaves 1,000 cases over ~24,000 events). Measured on the 1M-event bench log
# (PostgreSQL, pipelined, 25 s each): 5,000 events a page: 15.2k events/s, peak RSS 715 MB;
# 10,000: 18.6k, 925 MB; 20,000: 19.8-20.7k, 1.19 GB (the `newborn-ledger rebuild` process).
REBUILD_BATCH = 10_000


def catch_up(
    app: Application[Any],
    projection: TableProjection[Any],
    batch: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> int:
    """Apply every new event of `app` to `projection`, one transaction and one tracking row
    per page; returns the number of events applied. A busy view is left this round."""
    if _left_busy(projection, app.name):
        return 0
    processed = 0
    while True:
        try:
            with pages(app, projection, batch) as found:
                applied, finished = apply_pages(projection, found, progress)
        except PageFailedError as failed:  # transient errors are raised: the next tick
            try:
                salvaged = salvage(app, projection, batch, failed.error, progress)
                applied, finished = salvaged or 0, salvaged is None
            except (PositionMovedError, ViewBusyError) as stopped:
                applied, finished = 0, _stopped(projection, stopped)
        processed += applied
        if finished:
            return processed


def apply_pages(
    projection: TableProjection[Any], found: Pages, progress: Progress | None
) -> tuple[int, bool]:
    """(events applied, finished): not finished when a page was overtaken (read again).
    The cyclic collector is paused for the whole backlog, not only during each page."""
    with no_cycle_collection():
        if found.backlog and _pipelines(projection):
            return _apply_pipelined(projection, found, progress)
        return _apply_pages(projection, found, progress)


def _apply_pages(
    projection: TableProjection[Any], found: Pages, progress: Progress | None
) -> tuple[int, bool]:
    """`apply_pages` page by page, each through `process_batch`."""
    applied = 0
    for page in found:
        try:
            with applying():
                projection.process_batch(page.events, page.tracking, page.after)
        except (PositionMovedError, ViewBusyError) as stopped:
            return applied, _stopped(projection, stopped)
        applied += len(page.events)
        if progress is not None:
            progress(page.tracking.notification_id, page.head)
    return applied, True


def _stopped(projection: TableProjection[Any], stopped: Exception) -> bool:
    """Log why applying stopped before the backlog's end; whether it counts as finished: not
    when another runner moved the position (read again from there), yes when another process
    is catching the view up (leave it to that process this round)."""
    if isinstance(stopped, PositionMovedError):
        log.info("%s: another runner applied this page; reading on", projection.name)
        return False
    log.info("%s; leaving it this round", stopped)
    return True


def _left_busy(projection: TableProjection[Any], application_name: str) -> bool:
    """Whether the view is given over to another writer now (logged): a catch-up leaves it
    this round without reading a page."""
    try:
        projection.view.require_free(application_name)
    except ViewBusyError as busy:
        return _stopped(projection, busy)
    return False


def _pipelines(projection: TableProjection[Any]) -> bool:
    """Whether a backlog is applied while the page before is written (PostgreSQL). One that
    overrides `process_batch` (tests do, to stage races) is applied page by page through it."""
    return (
        projection.view.pipelines
        and type(projection).process_batch is TableProjection.process_batch
    )


def _apply_pipelined(
    projection: TableProjection[Any], found: Pages, progress: Progress | None
) -> tuple[int, bool]:
    """`apply_pages` with each page written by a thread while the next one is applied."""
    applied = 0
    heads: dict[int, int] = {}  # position of each page in flight → head of the log then
    pipeline = Pipeline(projection)

    def committed(done: tuple[int, int] | None) -> None:
        nonlocal applied
        if done is not None:
            events, position = done
            applied += events
            if progress is not None:
                progress(position, heads.pop(position))

    try:
        for page in found:
            heads[page.tracking.notification_id] = page.head
            with applying():
                done = pipeline.process(page.events, page.tracking, page.after)
            committed(done)
        with applying():
            done = pipeline.drain()
        committed(done)
    except (PositionMovedError, ViewBusyError) as stopped:
        return applied, _stopped(projection, stopped)
    finally:
        pipeline.close()
    return applied, True


def catch_up_together(
    app: Application[Any], projections: Sequence[TableProjection[Any]], batch: int = DEFAULT_BATCH
) -> int:
    """Catch several projections up reading each page of the log once: each applies its part
    in its own transaction with its own tracking row, from its own position (one that is
    ahead skips pages until the read passes it). One whose position another runner moved
    leaves the shared read and catches up on its own; a busy one is left this round.

    The views are independent: one whose page fails leaves the shared read, and the others
    go on. With an error that parks, it catches up on its own, parking the failing event;
    with a transient error it stays where it is, and the first such error is raised once
    every other view has caught up (the next tick tries it again)."""
    run = _Together(app, list(projections))
    topics = (
        []
        if any(not p.topics for p in projections)
        else sorted({t for p in projections for t in p.topics})
    )
    applied = 0
    while run.projections:
        shared = shared_page_after(app, topics, run.start(), batch)
        if shared is None:
            break
        applied += sum(run.apply(shared, p) for p in list(run.projections))
    for projection in run.alone:
        try:
            applied += catch_up(app, projection, batch)
        except Exception as error:
            run.failed(projection, error)
    if run.errors:
        raise run.errors[0]
    return applied


@dataclass
class _Together:
    """The projections still reading together, their positions, and those that left."""

    app: Application[Any]
    projections: list[TableProjection[Any]]
    alone: list[TableProjection[Any]] = field(default_factory=list)
    positions: dict[str, int | None] = field(default_factory=dict)
    errors: list[Exception] = field(default_factory=list)  # transient, raised at the end

    def __post_init__(self) -> None:
        self.positions = {p.name: p.view.max_tracking_id(self.app.name) for p in self.projections}
        for projection in list(self.projections):  # left at once, not after reading a page
            if self.positions[projection.name] is None and _left_busy(projection, self.app.name):
                self.projections.remove(projection)

    def start(self) -> int:
        return min((self.positions[p.name] or 0) for p in self.projections)

    def apply(self, shared: SharedPage, projection: TableProjection[Any]) -> int:
        """Apply `projection`'s part of `shared`; on a refusal it leaves the shared read."""
        page = part_of(self.app, shared, projection, self.positions[projection.name])
        if page is None:
            return 0
        try:
            projection.process_batch(page.events, page.tracking, page.after)
        except PositionMovedError:  # another runner applied it: read on from there, alone
            log.info("%s: another runner applied this page; reading on", projection.name)
            self.projections.remove(projection)
            self.alone.append(projection)
            return 0
        except ViewBusyError as busy:
            _stopped(projection, busy)
            self.projections.remove(projection)
            return 0
        except Exception as error:  # this view only: the others read on
            self.projections.remove(projection)
            if parks(error):  # on its own, it finds the event and parks it
                self.alone.append(projection)
            else:
                self.failed(projection, error)
            return 0
        self.positions[projection.name] = page.tracking.notification_id
        return len(page.events)

    def failed(self, projection: TableProjection[Any], error: Exception) -> None:
        """A transient error: `projection` is left this round, the others go on."""
        log.warning(
            "%s: %s; left until the next tick, the other views go on",
            projection.name,
            error_name(error),
        )
        self.errors.append(error)


Registry = Sequence[tuple[type[TableProjection[Any]], type[TableView]]]
"""(projection, view) pairs: the projection's class and its view's (store-free) class."""


@dataclass
class Projections:
    """The read models of one application, and how they catch up, rebuild and report lag."""

    app: Application[Any]
    registry: Registry  # what they were built from (a rebuild in parts builds them again)
    projections: dict[str, TableProjection[Any]]
    closers: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def built(
        cls,
        app: Application[Any],
        registry: Registry,
        view_for: Callable[[type[TableView]], TableView],
    ) -> Self:
        """Each registered projection over its view, as `view_for` makes it on the store."""
        names = [projection.name for projection, _ in registry]
        if len(set(names)) != len(names):
            raise ValueError(f"two registered projections share a name: {names}")
        found = [projection(view_for(view)) for projection, view in registry]
        return cls(app, registry, {p.name: p for p in found})

    def all(self) -> dict[str, TableProjection[Any]]:
        return dict(self.projections)

    def get(self, name: str) -> TableProjection[Any]:
        try:
            return self.projections[name]
        except KeyError:
            known = ", ".join(self.all())
            raise KeyError(f"no projection {name!r} (known: {known})") from None

    def catch_up(
        self, name: str | None = None, batch: int = DEFAULT_BATCH, progress: Progress | None = None
    ) -> int:
        """Catch one projection (told `progress` after each page), or all of them, up;
        returns the events applied."""
        with self._lock:
            if name is None:  # every page read and decoded once for all of them
                return catch_up_together(self.app, list(self.all().values()), batch)
            return catch_up(self.app, self.get(name), batch, progress)

    def rebuild(
        self, name: str, progress: Progress | None = None, batch: int = REBUILD_BATCH
    ) -> int:
        """Empty the view and its position, then replay the whole log into it."""
        projection = self.get(name)
        memo = projection.view.memo
        with self._lock:
            projection.view.clear(self.app.name)
            log.info("%s: emptied; rebuilding", name)
            memo.resize(REBUILD_CAPACITY)
            try:
                return catch_up(self.app, projection, batch, progress)
            finally:
                memo.resize(DEFAULT_CAPACITY)

    @contextmanager
    def exclusively(self) -> Iterator[None]:
        """This process's catch-ups and rebuilds wait meanwhile (a rebuild in parts, whose
        parts run in other processes, holds it from emptying the view to finishing)."""
        with self._lock:
            yield

    def lag(self, name: str) -> int:
        """How many notifications of the log the view has not reached (for Prometheus)."""
        head = self.app.recorder.max_notification_id() or 0
        position = self.get(name).view.max_tracking_id(self.app.name) or 0
        return max(head - position, 0)

    def lags(self) -> dict[str, int]:
        return {name: self.lag(name) for name in self.all()}

    def parked(self, state: str | None = None) -> dict[str, list[ParkedRow]]:
        """Each view's parked events (`state`: only those), by position."""
        return {name: p.view.parked(self.app.name, state) for name, p in self.all().items()}

    def parked_counts(self) -> dict[str, int]:
        """How many events wait, parked and unresolved, in each view (for Prometheus)."""
        return {name: p.view.count_parked(self.app.name) for name, p in self.all().items()}

    def retry(self, name: str, position: int) -> ParkedRow | None:
        """Apply `name`'s parked event at `position` again (after a fix): None when applied
        (no longer parked), else the park as it stays. NotParkedError when none waits."""
        with self._lock:
            return parking.retry(self.app, self.get(name), position)

    def skip(self, name: str, position: int, by: str) -> ParkedRow:
        """Resolve `name`'s parked event at `position` as skipped, by `by`, kept on record."""
        with self._lock:
            return parking.skip(self.app.name, self.get(name), position, by)

    def close(self) -> None:
        for close in self.closers:
            close()
        self.closers.clear()
