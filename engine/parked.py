"""Parked events: an event a view could not apply, recorded beside the view's own position.

A parked event is kept in the view's store (table `<view>_parked`), written in the same
transaction that moves the view's position past it, so no event is lost or applied twice: it
is either applied, or parked, never neither. It holds where the event is and what went wrong,
never the event's values (see engine/poison.py for the rule and the sanitised reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.table import Table

PARKED_STATE = "parked"  # waiting for `projections retry` (after a fix) or `projections skip`
SKIPPED_STATE = "skipped"  # resolved by an operator without applying it: kept for the record


@dataclass(frozen=True)
class ParkedRow:
    """One event a view could not apply."""

    application_name: str  # the log it is in (the CaseLedger)
    position: int  # its notification id
    topic: str
    originator_id: str  # the aggregate (a case or a request id): never personal data
    originator_version: int
    error: str  # the exception's class, e.g. "psycopg.DataError"
    reason: str  # sanitised: no value of the event or of the exception's text
    parked_at: str  # ISO UTC
    attempts: int  # times it failed (parking and each retry)
    state: str  # parked | skipped
    resolved_by: str | None
    resolved_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


# Not one of a view's `tables`: `clear` (a rebuild) empties those and the position, and drops
# only the parks still waiting (the replay parks again what still fails); skipped ones stay.
PARKED = Table("parked", ParkedRow, key=("application_name", "position"))


class NotParkedError(LookupError):
    """No event of this view is parked (and unresolved) at that position."""
