"""Pages of the log for a projection: read (and decoded) ahead in a thread on long backlogs."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, Notification, Tracking
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import InterfaceError, OperationalError
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from engine.decode import Decoder
from engine.view import TableProjection

AHEAD = 2  # pages decoded while the current one is applied
_decoders: WeakKeyDictionary[Mapper[Any], Decoder] = WeakKeyDictionary()


@dataclass(frozen=True)
class Page:
    """Up to `batch` events after the view's position, and the position they lead to."""

    events: list[tuple[Any, int]]  # (domain event, notification id)
    tracking: Tracking
    after: int | None  # the position the page was read after
    head: int


def decoder_of(app: Application[Any]) -> Decoder:
    return decoder_for(app.mapper)


def decoder_for(mapper: Mapper[Any]) -> Decoder:
    """One decoder per mapper (the same events as `mapper.to_domain_event`, faster)."""
    found = _decoders.get(mapper)
    if found is None:
        found = _decoders[mapper] = Decoder(mapper)
    return found


def page_after(
    app: Application[Any], projection: TableProjection[Any], position: int | None, batch: int
) -> Page | None:
    """The page after `position`, or None at the head of the log. A short page leads to the
    head itself: nothing of the projection's topics lies between its last event and it."""
    head = app.recorder.max_notification_id() or 0
    if (position or 0) >= head:
        return None
    notifications = select_after(app, position, batch, head, projection.topics)
    last = notifications[-1].id if len(notifications) == batch else head
    decode = decoder_of(app)
    events = [(decode(n), n.id) for n in notifications]
    return Page(events, Tracking(app.name, last), position, head)


@dataclass(frozen=True)
class SharedPage:
    """Up to `batch` notifications of several projections' topics, read and decoded once."""

    events: list[tuple[Any, int, str]]  # (domain event, notification id, topic)
    last: int  # the position the page leads to
    head: int


def shared_page_after(
    app: Application[Any], topics: Sequence[str], position: int | None, batch: int
) -> SharedPage | None:
    """The page after `position` of the notifications whose topic is in `topics` (all when
    empty), or None at the head of the log; a short page leads to the head, as `page_after`."""
    head = app.recorder.max_notification_id() or 0
    if (position or 0) >= head:
        return None
    notifications = select_after(app, position, batch, head, topics)
    last = notifications[-1].id if len(notifications) == batch else head
    decode = decoder_of(app)
    return SharedPage([(decode(n), n.id, n.topic) for n in notifications], last, head)


def select_after(
    app: Application[Any], position: int | None, batch: int, head: int, topics: Sequence[str]
) -> Sequence[Notification]:
    """`app.recorder.select_notifications(start=position, limit=batch, stop=head,
    topics=topics, inclusive_of_start=False)`: the same notifications. On the library's
    PostgreSQL recorder (unless a subclass or the instance changed how it selects), its
    statement with tuple rows and each notification made without the frozen dataclass's
    `__init__`: ~5 -> ~3.5 µs of client CPU a row, on the reader thread of every catch-up
    and rebuild."""
    recorder = app.recorder
    library = PostgresApplicationRecorder.select_notifications
    if (
        isinstance(recorder, PostgresApplicationRecorder)
        and getattr(recorder.select_notifications, "__func__", None) is library
    ):
        found: list[Notification] = _select_postgres(recorder, position, batch, head, list(topics))
        return found
    return recorder.select_notifications(
        start=position, limit=batch, stop=head, topics=topics, inclusive_of_start=False
    )


@retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library's
def _select_postgres(
    recorder: PostgresApplicationRecorder,
    start: int | None,
    limit: int,
    stop: int,
    topics: list[str],
) -> list[Notification]:
    where = [SQL("notification_id > %s")] if start is not None else []
    where.append(SQL("notification_id <= %s"))
    if topics:
        where.append(SQL("topic = ANY(%s)"))
    statement = SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state "
        "FROM {}.{} WHERE {} ORDER BY notification_id LIMIT %s"
    ).format(
        Identifier(recorder.datastore.schema),
        Identifier(recorder.events_table_name),
        SQL(" AND ").join(where),
    )
    params = [*([start] if start is not None else []), stop, *([topics] if topics else []), limit]
    new = object.__new__
    found: list[Notification] = []
    with recorder.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
        curs.execute(statement, params, prepare=True)
        for notification_id, originator_id, version, topic, state in curs.fetchall():
            notification = new(Notification)
            object.__setattr__(
                notification,
                "__dict__",
                {
                    "originator_id": originator_id,
                    "originator_version": version,
                    "topic": topic,
                    "state": bytes(state),
                    "id": notification_id,
                },
            )
            found.append(notification)
    return found


def part_of(
    app: Application[Any], shared: SharedPage, projection: TableProjection[Any], after: int | None
) -> Page | None:
    """`projection`'s page within `shared`, from its own position `after` (which must not be
    before the shared page's start); None when it is already at or past the page's end."""
    if (after or 0) >= shared.last:
        return None
    wanted = frozenset(projection.topics)
    events = [
        (event, n)
        for event, n, topic in shared.events
        if n > (after or 0) and (not wanted or topic in wanted)
    ]
    return Page(events, Tracking(app.name, shared.last), after, shared.head)


def next_page(app: Application[Any], projection: TableProjection[Any], batch: int) -> Page | None:
    """The next page after the view's position."""
    return page_after(app, projection, projection.view.max_tracking_id(app.name), batch)


@dataclass
class Pages:
    """The pages `pages` found, and whether they are a backlog (more than one full page)."""

    found: Iterator[Page]
    backlog: bool

    def __iter__(self) -> Iterator[Page]:
        return self.found


@contextmanager
def pages(app: Application[Any], projection: TableProjection[Any], batch: int) -> Iterator[Pages]:
    """The pages from the view's position to the head. The first is read here; when it is
    full (a backlog), a thread reads and decodes the next ones while the caller applies,
    each after the previous page's position (a page whose `after` is stale is refused by the
    view, and the caller starts again)."""
    first = next_page(app, projection, batch)
    if first is None or len(first.events) < batch:
        yield Pages(iter([] if first is None else [first]), backlog=False)
        return
    with read_ahead(first, lambda after: page_after(app, projection, after, batch)) as found:
        yield found


@contextmanager
def read_ahead(first: Page, read: Callable[[int | None], Page | None]) -> Iterator[Pages]:
    """`first`, then the pages `read` finds each after the one before, read (and decoded) by
    a thread while the caller applies: a backlog."""
    ahead = _Ahead(first, read)
    try:
        yield Pages(ahead.pages(), backlog=True)
    finally:
        ahead.stop()


class _Ahead:
    """The read-ahead thread and its bounded queue of pages (or the error that stopped it)."""

    def __init__(self, first: Page, read: Callable[[int | None], Page | None]) -> None:
        self._queue: queue.Queue[Page | BaseException | None] = queue.Queue(AHEAD)
        self._stopped = threading.Event()
        self._first = first
        self._thread = threading.Thread(
            target=self._run, args=(read,), name="page-reader", daemon=True
        )
        self._thread.start()

    def pages(self) -> Iterator[Page]:
        yield self._first
        while (item := self._queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _run(self, read: Callable[[int | None], Page | None]) -> None:
        position: int | None = self._first.tracking.notification_id
        try:
            while (page := read(position)) is not None:
                if not self._put(page):
                    return
                position = page.tracking.notification_id
            self._put(None)
        except Exception as error:  # handed to the caller, raised where it applies pages
            self._put(error)

    def _put(self, item: Page | BaseException | None) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False
