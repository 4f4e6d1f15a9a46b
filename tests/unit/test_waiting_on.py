"""Who acts next and by when, from a case's rows (projections/waiting.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from projections.case_status_model import ServiceRow
from projections.waiting import waiting_on
from tests.unit.test_next_action_after_decision import CASE as BASE_CASE
from tests.unit.test_next_action_after_decision import row as base_row

# the rows of tests/unit/test_next_action_after_decision.py, with the family's date to apply
CASE = replace(BASE_CASE, apply_by="2027-01-06")


def row(service: str, state: str, **changes: Any) -> ServiceRow:
    base = replace(base_row(service, "public-security", state), service_request_id=f"id-{service}")
    return replace(base, **changes)


def test_the_window_then_the_handling_office_then_the_family() -> None:
    at_window = row("household-registration", "dispatched", due="2026-12-14")
    (waiting,) = waiting_on(CASE, [at_window], {})
    assert (waiting.party, waiting.who, waiting.due) == (
        "office",
        "public-security 430602",
        "2026-12-14",
    )
    (waiting,) = waiting_on(CASE, [replace(at_window, state="received", due="2026-12-21")], {})
    assert (waiting.who, waiting.action) == ("public-security 420102", "decide")
    asked = replace(at_window, state="supplement-requested", due="2027-01-04")
    (waiting,) = waiting_on(CASE, [asked], {})
    assert (waiting.party, waiting.action, waiting.due) == ("family", "supplement", "2027-01-04")


def test_dependents_wait_behind_the_request_they_need() -> None:
    certificate = row("birth-certificate", "received", authority="health", due="2026-12-10")
    hukou = row("household-registration", "planned")
    insurance = row("medical-insurance", "planned")
    (waiting,) = waiting_on(CASE, [certificate, hukou, insurance], {})
    assert waiting.service == "birth-certificate"
    assert waiting.behind == ("household-registration", "medical-insurance")


def test_a_rejection_is_the_familys_and_what_it_blocks_waits_behind_it() -> None:
    rejected = row("birth-certificate", "rejected")
    blocked = row("household-registration", "blocked")
    notes: dict[str, dict[str, Any]] = {
        "id-birth-certificate": {"rejection": {"due": "2027-01-05", "due_provisional": True}},
        "id-household-registration": {
            "blocked_by": {
                "service": "birth-certificate",
                "service_request_id": "id-birth-certificate",
            }
        },
    }
    (waiting,) = waiting_on(CASE, [rejected, blocked], notes)
    assert (waiting.party, waiting.due, waiting.behind) == (
        "family",
        "2027-01-05",
        ("household-registration",),
    )
    closed = replace(CASE, state="closed")
    assert waiting_on(closed, [rejected, blocked], notes) == []  # over: nobody owes a step


def test_a_parked_request_is_the_routing_desks_of_its_province() -> None:
    parked = row("household-registration", "planned", manual_routing=True, due="2026-12-09")
    (waiting,) = waiting_on(CASE, [parked], {})
    assert (waiting.party, waiting.who, waiting.due) == (
        "routing-desk",
        "routing desk of province 42",
        "2026-12-09",
    )


def test_before_any_plan_the_family_applies_by_a_month_after_birth() -> None:
    unplanned = replace(CASE, state="notified", applied=False, household=None)
    (waiting,) = waiting_on(unplanned, [], {}, date(2027, 1, 6))
    assert (waiting.party, waiting.action, waiting.due) == (
        "family",
        "apply (name, household)",
        "2027-01-06",
    )
    assert waiting_on(replace(unplanned, state="voided"), [], {}) == []


def test_a_voiding_case_owes_the_family_nothing_only_the_revocations() -> None:
    voiding = replace(CASE, state="voiding")
    rejected = row("vaccination", "rejected", authority="cdc")
    revoking = row(
        "birth-certificate", "revocation-requested", authority="health", due="2026-12-14"
    )
    notes = {"id-vaccination": {"rejection": {"due": "2027-01-05", "due_provisional": True}}}
    (waiting,) = waiting_on(voiding, [rejected, revoking], notes)
    assert (waiting.party, waiting.action, waiting.service) == (
        "office",
        "revoke the result",
        "birth-certificate",
    )
