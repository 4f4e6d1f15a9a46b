"""The case as a caller sees it: the one renderer of `GET /cases/{id}`.

The family's pre-rendered document (case_status, projections/case_document.py), the view
replayed from the events (every other caller, and the family until its document exists) and
the case as it was (`?as_of=`) all come from `case_view`, fed with a service's shown fields
either from the projection's stored rows (`row_fields`) or from the aggregate
(`request_fields`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.births.birth_case import BirthCase
from domain.kernel.access import (
    RECORD_REF_ROLES,
    RESULT_ROLES,
    TRACKING_ROLES,
    visible_requests,
)
from domain.kernel.actors import Principal
from domain.kernel.remedies import load_remedies
from domain.kernel.service_request import ServiceRequest


def row_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """A service's shown fields from its stored row (case_status `services`)."""
    return {
        "service": row["service"],
        "service_request_id": row["service_request_id"],
        "state": row["state"],
        "handling_locality": row["handling_locality"],
        "receiving_locality": row["receiving_locality"],
        "mode": row["mode"],
        "manual_routing": row["manual_routing"],
        "due": row["due"],
        "due_provisional": bool(row.get("due_provisional", False)),
    }


def request_fields(request: ServiceRequest) -> dict[str, Any]:
    """A service's shown fields from its aggregate (also an office step's answer)."""
    fields = {
        "service": request.service,
        "service_request_id": str(request.id),
        "state": request.state,
        "handling_locality": request.handling_locality,
        "receiving_locality": request.receiving_locality,
        "mode": request.route.mode,
        "manual_routing": request.route.manual_routing,
        "due": request.due,
        "due_provisional": request.due_provisional,
    }
    rejection = request.rejection
    blocked_by = request.blocked_by
    return fields | noted_fields(
        {
            "attempt": request.attempt,
            "resubmits": str(request.resubmits) if request.resubmits else None,
            "resubmitted_as": str(request.resubmitted_as) if request.resubmitted_as else None,
            "rejection": None
            if rejection is None
            else {
                "reason": rejection.reason,
                "basis": rejection.basis,
                "due": rejection.family_due,
                "due_provisional": rejection.provisional,
            },
            "blocked_by": None
            if blocked_by is None
            else {"service": request.blocking_service, "service_request_id": str(blocked_by)},
        }
    )


def noted_fields(note: Mapping[str, Any] | None) -> dict[str, Any]:
    """A service's shown fields beyond its row (a case_status document's note of it, or the
    same made from its aggregate): its attempt and the requests it is linked to, why it was
    rejected and what the family can do (remedies: reference data), what blocks it."""
    note = note or {}
    rejection = note.get("rejection")
    return {
        "attempt": note.get("attempt", 1),
        "resubmits": note.get("resubmits"),
        "resubmitted_as": note.get("resubmitted_as"),
        "rejection": None if rejection is None else {**rejection, "remedies": remedies()},
        "blocked_by": note.get("blocked_by"),
    }


def remedies() -> list[dict[str, Any]]:
    """What a family can do after a rejection (domain/kernel/reference/remedies.json)."""
    return load_remedies().shown()


def service_entry(
    fields: dict[str, Any], result: Mapping[str, Any] | None, awaiting: list[str] | None
) -> dict[str, Any]:
    """A service as shown: its fields (a dict of the caller's own, completed in place), then,
    for a caller who sees them (`awaiting` is not None), its result and the items awaited."""
    if awaiting is not None:
        fields["result"] = result or None
        fields["awaiting"] = awaiting
    return fields


def case_view(
    role: str,
    case_id: str,
    state: str,
    services: list[dict[str, Any]],
    tracking_code: str,
    record_ref: str | None,
    **extras: Any,
) -> dict[str, Any]:
    """The case for a caller of `role`: its state and the services it sees, the tracking code
    and the hospital's record key to those who see them, then `extras` (the family's next
    action and timeline, or the moment of an `as_of` view), in this order."""
    view: dict[str, Any] = {"case_id": case_id, "state": state, "services": services}
    if role in TRACKING_ROLES:
        view["tracking_code"] = tracking_code
    if role in RECORD_REF_ROLES:
        view["hospital_ref"] = record_ref
    if extras:
        view.update(extras)
    return view


def replayed_view(
    principal: Principal,
    case: BirthCase,
    requests: Sequence[ServiceRequest],
    **extras: Any,
) -> dict[str, Any]:
    """The case for `principal` from its aggregates (as they are, or as they were)."""
    shows_results = principal.role in RESULT_ROLES
    services = [
        service_entry(
            request_fields(r),
            r.result.to_dict() if shows_results and r.result else None,
            r.awaiting if shows_results else None,
        )
        for r in visible_requests(principal, requests)
    ]
    return case_view(
        principal.role,
        str(case.id),
        case.state,
        services,
        case.tracking_code,
        case.record_ref,
        **extras,
    )
