"""Section-at-a-time processing: a pulled section of notifications in one transaction.

The library's follower commits every processed notification on its own (aggregates read,
events inserted and one tracking row, ~1.7 ms a notification on PostgreSQL). Here all the
policies of a section write into one `Section` unit, which also keeps the aggregates it
loaded, and the unit is recorded with one compare-and-set of the tracking position
(engine/recorders.py): exactly-once for any section size and any number of processors.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Notification, StoredEvent
from eventsourcing.system import ProcessApplication

from engine.page_reader import decoder_for
from engine.parked import PARKED_STATE, NotParkedError, ParkedRow
from engine.parked_notifications import ParkedIndex, ParkedNotification, parked_for
from engine.poison import error_name, parks, reason
from engine.recorders import HELD_NONE, SECTION, SectionPosition, StreamReader
from engine.section import Section, SectionRepository, mutate_all

log = logging.getLogger(__name__)

SECTION_SIZE = 200  # notifications per transaction
# Aggregates kept per processor from committed sections (see Held): 3.6 kB per case or
# request, 9.6 kB per plan (tracemalloc), so at most ~7 MB (ledger) and ~19 MB (plans).
HELD_SIZE = 2000
MAX_FAILURES = 8  # conflicts in one drain before it gives up until the next tick


class SectionProcessor:
    """Processes one leader's notifications for one follower, a section per transaction."""

    def __init__(
        self, follower: ProcessApplication[UUID], leader: Application[UUID], size: int
    ) -> None:
        if not isinstance(follower.repository, SectionRepository):
            raise TypeError(
                f"{follower.name}: its policies read through sections: give it a "
                "SectionRepository (REPOSITORY_TOPIC, engine/section.py)"
            )
        self.follower, self.leader, self.size = follower, leader, size
        self.repository: SectionRepository = follower.repository
        self.held = Held(HELD_SIZE)
        self.parks = ParkedIndex(follower, leader.name)

    def position(self) -> int | None:
        return self.follower.recorder.max_tracking_id(self.leader.name)

    def lag(self) -> int:
        """Leader notifications from the first one still to process to the head (0: none).

        The follower tracks only the topics it follows, so head minus its position alone never
        returns to 0; one notification of its topics after the position tells whether any waits.
        """
        waiting = self._after(self.position(), 1)
        if not waiting:
            return 0
        return (self.leader.recorder.max_notification_id() or 0) - waiting[0].id + 1

    def _after(self, position: int | None, limit: int) -> Sequence[Notification]:
        """The next `limit` notifications of the follower's topics after `position`."""
        return self.leader.recorder.select_notifications(
            start=position, limit=limit, topics=self.follower.topics, inclusive_of_start=False
        )

    def drain(self) -> int:
        """Process sections until the leader has nothing new; returns notifications processed.

        A conflict (another processor moved the position, or a command wrote one of the
        section's aggregates meanwhile) rolls the whole section back; it is retried from the
        stored position with half the size, down to one notification at a time, and the drain
        goes on at that size; after MAX_FAILURES conflicts in a row it stops until next time.
        """
        processed, size, failures, position = 0, self.size, 0, self.position()
        while failures < MAX_FAILURES:
            try:
                pulled, position = self.process(position, size)
            except IntegrityError as exc:
                failures, size, position = failures + 1, max(1, size // 2), self.position()
                log.info("section conflict (%s); retrying %d at a time", type(exc).__name__, size)
                continue
            except Exception as error:
                if not parks(error):
                    raise  # transient: the next tick tries again
                size, position = self._after_failure(size, position, error)
                continue
            processed, failures = processed + pulled, 0
            if pulled < size:
                return processed
        log.warning("%s: sections kept conflicting; the next tick retries", self.follower.name)
        return processed

    def _after_failure(
        self, size: int, position: int | None, error: Exception
    ) -> tuple[int, int | None]:
        """A policy raised an error that parks: (size, position) to go on with. A section is
        retried one notification at a time from the stored position; a single notification
        that fails is parked, and sections go on at full size after it."""
        if size > 1:
            log.warning(
                "%s: a section failed (%s); one at a time", self.follower.name, error_name(error)
            )
            return 1, self.position()
        try:
            return self.size, self.park(position, error)
        except IntegrityError:  # another processor moved the position meanwhile
            return 1, self.position()

    def park(self, position: int | None, error: Exception) -> int:
        """Record the notification after `position` as parked and move past it, together."""
        (notification,) = self._after(position, 1)
        parked = parked_for(self.follower.name, self.leader.name, notification, error)
        unit = Section()
        unit.collect_events(parked)
        with self.follower.processing_lock:
            record(
                self.follower, unit, SectionPosition(self.leader.name, position, notification.id)
            )
        log.error(
            "%s: parked %s notification %d (%s: %s); processing goes on without it",
            self.follower.name,
            self.leader.name,
            notification.id,
            parked.error,
            parked.reason,
        )
        return notification.id

    def parked(self) -> list[ParkedRow]:
        return self.parks.rows()

    def retry(self, position: int) -> ParkedRow | None:
        """Process the parked notification at `position` again: its decisions and `Applied`
        recorded together (None), or the park as it stays (its new error recorded)."""
        parked = self._parked(position)
        found = self.leader.recorder.select_notifications(
            start=position, limit=1, inclusive_of_start=True
        )
        with self.follower.processing_lock:
            try:
                unit = self.decide(found)
            except Exception as error:
                if not parks(error):
                    raise
                parked.failed_again(error_name(error), reason(error))
                self.follower.save(parked)
                return parked.row()
            parked.applied()
            unit.collect_events(parked)
            self.follower._notify(self.follower.events.put(unit.events))
            self.held.keep(unit)
        log.info("%s: parked notification %d processed on retry", self.follower.name, position)
        return None

    def skip(self, position: int, by: str) -> ParkedRow:
        parked = self._parked(position)
        parked.skipped(by)
        self.follower.save(parked)
        log.warning("%s: parked notification %d skipped", self.follower.name, position)
        return parked.row()

    def _parked(self, position: int) -> ParkedNotification:
        key = ParkedNotification.create_id(self.follower.name, self.leader.name, position)
        try:
            parked: ParkedNotification | None = self.follower.repository.get(key)
        except AggregateNotFoundError:
            parked = None
        if parked is None or parked.state != PARKED_STATE:
            raise NotParkedError(f"{self.follower.name}: no notification parked at {position}")
        return parked

    def process(self, position: int | None, size: int) -> tuple[int, int | None]:
        """One section after `position`: (notifications pulled, the new position)."""
        notifications = self._after(position, size)
        if not notifications:
            return 0, position
        last = notifications[-1].id
        with self.follower.processing_lock:
            unit = self.decide(notifications)
            record(self.follower, unit, SectionPosition(self.leader.name, position, last))
            self.held.keep(unit)
        return len(notifications), last

    def decide(self, notifications: Sequence[Notification]) -> Section:
        """Every notification's policy, in order, into one unit."""
        decode, policy = decoder_for(self.follower.mappers[self.leader.name]), self.follower.policy
        events = [decode(n) for n in notifications]
        unit = Section()
        load_ahead(self.follower, unit, events, self.held)
        with self.repository.reading_through(unit):
            for event in events:
                policy(event, unit)
                unit.processed += 1
        return unit


def load_ahead(
    app: Application[Any], unit: Section, events: Sequence[Any], held: Held | None = None
) -> None:
    """Load every aggregate the section's policies will read in one query, into the unit.

    The application names them (`reads_for(event)`); an aggregate not found is left to the
    policy's own read, which raises as it always did. Aggregates `held` from earlier sections
    are brought up to date with only their newer events (commands may have written some).
    """
    reads_for: Callable[[Any], list[UUID]] | None = getattr(app, "reads_for", None)
    if reads_for is None or not isinstance(app.recorder, StreamReader):
        return
    held = held if held is not None else Held(0)
    wanted = list(dict.fromkeys(i for event in events for i in reads_for(event)))
    found = {i: held.take(i) for i in wanted}
    after = [HELD_NONE if a is None else a.version for a in found.values()]
    streams: dict[UUID, list[StoredEvent]] = defaultdict(list)
    for stored in app.recorder.select_streams(wanted, after) if wanted else ():
        streams[UUID(str(stored.originator_id))].append(stored)
    decode = decoder_for(app.mapper)
    for aggregate_id, aggregate in found.items():
        stream = streams.get(aggregate_id, ())
        if aggregate is not None or stream:
            unit.loaded[aggregate_id] = mutate_all(aggregate, map(decode, stream))


class Held:
    """Aggregates as the last committed sections left them, for the next sections' reads.

    Only what a section committed is kept (`keep` after its transaction), and a held
    aggregate is taken out while a section works on it, so a section that fails leaves
    nothing of its changes here. The least recently used go first beyond `size`.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._aggregates: OrderedDict[UUID, Aggregate] = OrderedDict()

    def take(self, aggregate_id: UUID) -> Aggregate | None:
        return self._aggregates.pop(aggregate_id, None)

    def keep(self, unit: Section) -> None:
        """After `unit` committed: its aggregates, as they are now (none with events pending)."""
        for aggregate in chain(unit.loaded.values(), unit.aggregates.values()):
            if isinstance(aggregate, Aggregate) and not aggregate.pending_events and self.size:
                self._aggregates[aggregate.id] = aggregate
                self._aggregates.move_to_end(aggregate.id)
        while len(self._aggregates) > self.size:
            self._aggregates.popitem(last=False)


def record(app: Application[Any], unit: Section, position: SectionPosition) -> None:
    """Insert the unit's events and move the tracking position in one transaction."""
    recordings = app.events.put(unit.events, **{SECTION: position})
    app._take_snapshots(unit)
    app._notify(recordings)
