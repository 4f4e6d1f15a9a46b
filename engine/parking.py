"""A page a view cannot apply: find the event that fails, park it, apply the rest.

The page is applied in halves, each in its own transaction with its own position check, down
to single events: an event that fails alone with an error that parks (engine/poison.py) is
parked, and the view's position moves past it in the same transaction (`TableView.park`).
Every other event is applied once, in order; a transient error stops here, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking

from engine.page_reader import decoder_of, next_page
from engine.parked import SKIPPED_STATE, NotParkedError, ParkedRow
from engine.poison import error_name, parked_row, parks, reason
from engine.rows import PositionMovedError, ViewBusyError
from engine.view import TableProjection

log = logging.getLogger(__name__)


class PageFailedError(Exception):
    """Applying a page failed with an error that parks (engine/poison.py)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error_name(error))
        self.error = error

    def __reduce__(self) -> tuple[type[PageFailedError], tuple[Exception]]:
        """Pickled with the error it wraps (a part of a rebuild hands it to its parent):
        the default would call __init__ with the message text instead."""
        return (type(self), (self.error,))


@contextmanager
def applying() -> Iterator[None]:
    """Around the application of pages (not the caller's `progress`, nor the reading): an
    error that parks is raised as PageFailedError, for the catch-up to salvage the page."""
    try:
        yield
    except (PositionMovedError, ViewBusyError):
        raise
    except Exception as error:
        if parks(error):
            raise PageFailedError(error) from error
        raise


def salvage(
    app: Application[Any],
    projection: TableProjection[Any],
    batch: int,
    error: Exception,
    progress: Callable[[int, int], None] | None = None,
) -> int | None:
    """After a page failed with an error that parks: the next page from the view's position,
    applied in parts, parking the events that fail on their own; the events applied, or None
    at the head of the log (`progress`, as a catch-up's, told the position the page wrote).
    PositionMovedError and ViewBusyError are raised."""
    log.warning("%s: a page failed (%s); looking for the event", projection.name, error_name(error))
    page = next_page(app, projection, batch)
    if page is None:
        return None
    applied = apply_or_park(app.name, projection, page.events, page.tracking, page.after)
    if progress is not None:
        progress(page.tracking.notification_id, page.head)
    return applied


def apply_or_park(
    application_name: str,
    projection: TableProjection[Any],
    events: Sequence[tuple[Any, int]],
    tracking: Tracking,
    after: int | None,
) -> int:
    """Apply `events` (up to `tracking`, from `after`), parking each event that fails on its
    own; returns how many were applied. PositionMovedError, ViewBusyError and transient
    errors are raised (nothing more of the page is applied then)."""
    try:
        projection.process_batch(events, tracking, after)
        return len(events)
    except Exception as error:
        if not parks(error) or not events:
            raise
        if len(events) == 1:
            park(application_name, projection, events[0], tracking, after, error)
            return 0
    half = len(events) // 2
    first, second = events[:half], events[half:]
    middle = first[-1][1]
    applied = apply_or_park(
        application_name, projection, first, Tracking(application_name, middle), after
    )
    return applied + apply_or_park(application_name, projection, second, tracking, middle)


def park(
    application_name: str,
    projection: TableProjection[Any],
    found: tuple[Any, int],
    tracking: Tracking,
    after: int | None,
    error: BaseException,
) -> None:
    """Record the event at `found` as parked and move the view past it (one transaction)."""
    event, position = found
    row = parked_row(application_name, event, position, error)
    projection.view.park(row, tracking, after)
    log.error(
        "%s: parked event %d (%s, %s: %s); the view goes on without it",
        projection.name,
        position,
        row.topic.rsplit(".", 1)[-1],
        row.error,
        row.reason,
    )


def retry(
    app: Application[Any], projection: TableProjection[Any], position: int
) -> ParkedRow | None:
    """Apply the parked event at `position` again: None once applied (its park is gone), or
    the park as it stays, with the new error. NotParkedError when none waits there."""
    found = app.recorder.select_notifications(start=position, limit=1, inclusive_of_start=True)
    if not found or found[0].id != position:
        raise NotParkedError(f"no event at position {position} in {app.name}")
    event = decoder_of(app)(found[0])
    try:
        projection.view.retry_parked(
            app.name, position, lambda rows: projection.fold([(event, position)], rows)
        )
    except NotParkedError:
        raise
    except Exception as error:
        if not parks(error):
            raise
        return _failed_again(app.name, projection, position, error)
    log.info("%s: parked event %d applied on retry", projection.name, position)
    return None


def _failed_again(
    application_name: str, projection: TableProjection[Any], position: int, error: BaseException
) -> ParkedRow:
    row: ParkedRow = projection.view.update_parked(
        application_name, position, attempt=True, error=error_name(error), reason=reason(error)
    )
    log.error("%s: parked event %d failed again (%s)", projection.name, position, row.error)
    return row


def skip(
    application_name: str, projection: TableProjection[Any], position: int, by: str
) -> ParkedRow:
    """Resolve the parked event at `position` without applying it, kept for the record."""
    row: ParkedRow = projection.view.update_parked(
        application_name,
        position,
        state=SKIPPED_STATE,
        resolved_by=by,
        resolved_at=datetime.now(UTC).isoformat(),
    )
    log.warning("%s: parked event %d skipped", projection.name, position)
    return row
