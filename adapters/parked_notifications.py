"""Notifications a process application's policy cannot process, parked in its own log.

When a policy raises on one notification (the section is retried one notification at a time
to find it), the follower records a `ParkedNotification` in the same transaction that moves
its tracking position past the notification (`SectionProcessor.park`), so processing goes on
and nothing is lost or processed twice. It holds where the notification is and the error's
class and a reason without personal data (adapters/poison.py). `retry` runs the policy again
and records its decisions with `Applied` in one transaction; `skip` records `Skipped`.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from adapters.poison import error_name, reason
from projections.parked import PARKED_STATE, SKIPPED_STATE, ParkedRow

APPLIED_STATE = "applied"
LISTED = 10_000  # parked notifications listed per follower (they should be few)


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


PARKED_TOPIC = get_topic(ParkedNotification.Parked)  # type: ignore[attr-defined]


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


def parked_in(app: Any, leader: str) -> list[ParkedNotification]:
    """The notifications of `leader` that `app` parked (whatever their state), by position."""
    found = app.recorder.select_notifications(start=None, limit=LISTED, topics=[PARKED_TOPIC])
    parked = [app.repository.get(n.originator_id) for n in found]
    return sorted((p for p in parked if p.leader == leader), key=lambda p: p.position)
