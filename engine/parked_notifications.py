"""Notifications a process application's policy cannot process, parked in its own log.

When a policy raises on one notification (the section is retried one notification at a time
to find it), the follower records a `ParkedNotification` in the same transaction that moves
its tracking position past the notification (`SectionProcessor.park`), so processing goes on
and nothing is lost or processed twice. It holds where the notification is and the error's
class and a reason without personal data (engine/poison.py). `retry` runs the policy again
and records its decisions with `Applied` in one transaction; `skip` records `Skipped`.
"""

from __future__ import annotations

import threading
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from engine.parked import PARKED_STATE, SKIPPED_STATE, ParkedRow
from engine.poison import error_name, reason
from engine.topics import stored_as

APPLIED_STATE = "applied"
LISTED = 1_000  # park events read at a time


@stored_as("adapters.parked_notifications")  # where it was first stored from
class ParkedNotification(Aggregate):
    """One leader notification a follower's policy could not process."""

    @event("Parked")
    def __init__(
        self,
        follower: str,
        leader: str,
        position: int,
        topic: str,
        aggregate_id: str,
        aggregate_version: int,
        error: str,
        reason: str,
    ) -> None:
        self.follower, self.leader, self.position = follower, leader, position
        # the notification's aggregate (named so: `originator_*` are this record's own)
        self.topic, self.aggregate_id, self.aggregate_version = (
            topic,
            aggregate_id,
            aggregate_version,
        )
        self.error, self.reason, self.attempts = error, reason, 1
        self.state: str = PARKED_STATE
        self.resolved_by: str | None = None

    @staticmethod
    def create_id(follower: str, leader: str, position: int) -> UUID:
        return uuid5(NAMESPACE_URL, f"newborn-ledger:parked:{follower}:{leader}:{position}")

    @event("FailedAgain")
    def failed_again(self, error: str, reason: str) -> None:
        self.error, self.reason, self.attempts = error, reason, self.attempts + 1

    @event("Applied")
    def applied(self) -> None:
        self.state = APPLIED_STATE

    @event("Skipped")
    def skipped(self, by: str) -> None:
        self.state, self.resolved_by = SKIPPED_STATE, by

    def row(self) -> ParkedRow:
        """As a view's parked event is listed (state parked or skipped)."""
        resolved = self.state != PARKED_STATE
        return ParkedRow(
            application_name=self.leader,
            position=self.position,
            topic=self.topic,
            originator_id=self.aggregate_id,
            originator_version=self.aggregate_version,
            error=self.error,
            reason=self.reason,
            parked_at=self.created_on.isoformat(),
            attempts=self.attempts,
            state=self.state,
            resolved_by=self.resolved_by,
            resolved_at=self.modified_on.isoformat() if resolved else None,
        )


TOPICS = [
    get_topic(getattr(ParkedNotification, name))
    for name in ("Parked", "FailedAgain", "Applied", "Skipped")
]


def parked_for(
    follower: str, leader: str, notification: Notification, error: BaseException
) -> ParkedNotification:
    """The record of `notification` parked by `follower` because of `error`."""
    return ParkedNotification(
        follower=follower,
        leader=leader,
        position=notification.id,
        topic=notification.topic,
        aggregate_id=str(notification.originator_id),
        aggregate_version=int(notification.originator_version),
        error=error_name(error),
        reason=reason(error),
    )


class ParkedIndex:
    """The notifications of `leader` that `app` parked, as of the last call: each call reads
    only the park events recorded since the one before (a scrape of /metrics must not scan the
    whole log every time), then loads the records they touched."""

    def __init__(self, app: Any, leader: str) -> None:
        self.app, self.leader = app, leader
        self._after: int | None = None
        self._found: dict[UUID, ParkedNotification] = {}
        self._lock = threading.Lock()

    def rows(self) -> list[ParkedRow]:
        """Every park (whatever its state), by position."""
        with self._lock:
            self._read_on()
            found = sorted(self._found.values(), key=lambda p: p.position)
        return [p.row() for p in found if p.leader == self.leader]

    def _read_on(self) -> None:
        while True:
            page = self.app.recorder.select_notifications(
                start=self._after, limit=LISTED, topics=TOPICS, inclusive_of_start=False
            )
            for key in {n.originator_id for n in page}:
                self._found[key] = self.app.repository.get(key)
            if page:
                self._after = page[-1].id
            if len(page) < LISTED:
                return
