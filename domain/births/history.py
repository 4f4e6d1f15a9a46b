"""Which fields of which event each role may read in a birth case's history (data minimisation).

The case's own events and its service requests' events: a visibility rule, like those of
domain/kernel/access.py; the HTTP layer shows what `history_entry` gives.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import CanMutateAggregate

# role → event name → fields shown; any event not listed shows its name and time only.
VISIBLE: dict[str, dict[str, tuple[str, ...]]] = {
    "admin": {},  # admin sees every field (see history_entry)
    "hospital": {
        "Notified": ("facts",),
        "NotificationCorrected": ("changed", "facts"),
        "Voided": ("reason",),
        "VoidRequested": ("reason", "offices", "due"),
        "Received": ("receipt_number", "due"),
        "Approved": ("result",),
        "Rejected": ("reason", "basis"),
    },
    "family": {
        "FamilyApplied": ("application",),
        "FamilyCorrected": ("application", "changed", "evidence"),
        "Rated": ("score", "comment"),
        "CalledBack": ("outcome",),
        "Received": ("receipt_number", "due"),
        "SupplementRequested": ("items", "reason", "family_due"),
        "Supplemented": ("items", "evidence"),
        "Approved": ("result",),
        "Rejected": ("reason", "basis", "family_due"),
        "Withdrawn": ("reason",),
        "Planned": ("route", "attempt", "resubmits"),
        "Blocked": ("blocked_by", "blocking_service"),
        "Resubmitted": ("new_request_id", "attempt"),
        "Closed": ("by", "reason"),
        "VoidRequested": ("offices", "due"),
        "CorrectionRequested": ("evidence", "due"),
        "CorrectionApproved": ("result",),
        "CorrectionRejected": ("reason",),
        "CorrectionWithdrawn": ("evidence",),
        "RevocationRequested": ("reason", "due"),
    },
    "office": {
        "Dispatched": ("payload",),
        "Received": ("receipt_number", "due"),
        "SupplementRequested": ("items", "reason", "new_facts", "family_due"),
        "Supplemented": ("items", "evidence"),
        "Approved": ("result",),
        "Rejected": ("reason", "basis"),
        "CorrectionFlagged": ("changed",),
        "Planned": ("route", "attempt", "resubmits"),
        "Replanned": ("route",),
        "Blocked": ("blocked_by", "blocking_service"),
        "Resubmitted": ("new_request_id", "attempt"),
        "Redispatched": ("payload", "changed", "evidence"),
        "CorrectionRequested": ("old", "new", "evidence", "due"),
        "CorrectionApproved": ("result",),
        "CorrectionRejected": ("reason",),
        "CorrectionWithdrawn": ("evidence",),
        "RevocationRequested": ("reason", "due"),
        "Revoked": (),
    },
}
INTERNAL = ("originator_id", "originator_version", "timestamp", "originator_topic")


def history_entry(role: str, stream: str, event: CanMutateAggregate[Any]) -> dict[str, Any]:
    name = type(event).__name__
    fields = vars(event)
    if role == "admin":
        shown = {k: _as_stored(v) for k, v in fields.items() if k not in INTERNAL}
    elif role == "hospital" and name == "Approved" and stream != "birth-certificate":
        shown = {}  # the hospital issued the certificate; other offices' results are not its
    else:
        visible = VISIBLE.get(role, {}).get(name, ())
        shown = {k: _as_stored(fields[k]) for k in visible if k in fields}
    return {
        "stream": stream,
        "event": name,
        "version": event.originator_version,
        "at": event.timestamp.isoformat(),
        "data": shown,
    }


def _as_stored(value: object) -> object:
    """A typed value (facts, application, route, payload, result) as the dict its event
    stores and the history has always shown; any other value as it is."""
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else value
