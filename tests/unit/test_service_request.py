"""ServiceRequest: state machine steps, idempotent retries, and refusals."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4, uuid5

import pytest

from domain.kernel.case_plan import CasePlan
from domain.kernel.disclosure import DispatchPayload
from domain.kernel.errors import InvalidTransitionError
from domain.kernel.results import Result
from domain.kernel.service_request import RequestState, ServiceRequest
from tests.unit.test_projections_support import route

ROUTE = route("household-registration", "public-security", "420102", "430602", "off-site")


def request_in(state: str) -> ServiceRequest:
    request = ServiceRequest(uuid4(), "household-registration", ROUTE)
    steps = {"dispatched": 1, "received": 2, "supplement-requested": 3}
    if steps.get(state, 0) >= 1:
        request.dispatch(DispatchPayload({"certificate_number": "X320101001"}))
    if steps.get(state, 0) >= 2:
        request.receive("officer-1", "R-1", "2026-12-01", False)
    if steps.get(state, 0) >= 3:
        request.request_supplement("officer-1", ["marriage certificate"])
    request.collect_events()
    return request


def names(request: ServiceRequest) -> list[str]:
    return [type(e).__name__ for e in request.collect_events()]


def test_id_is_deterministic_per_case_and_service() -> None:
    case_id = uuid4()
    assert ServiceRequest.create_id(case_id, "vaccination") == ServiceRequest.create_id(
        case_id, "vaccination"
    )


def test_states_are_the_strings_they_always_were() -> None:
    assert [str(s) for s in RequestState] == [
        "planned",
        "dispatched",
        "received",
        "supplement-requested",
        "approved",
        "rejected",
        "withdrawn",
        "blocked",
        "correction-requested",
        "revocation-requested",
        "revoked",
    ]
    request = request_in("planned")
    assert request.state is RequestState.PLANNED
    refusal = "The request is planned; this step needs it received or supplement-requested"
    with pytest.raises(InvalidTransitionError, match=refusal):
        request.reject("o", "no", "")


def test_dispatch_once() -> None:
    request = request_in("planned")
    request.dispatch(DispatchPayload({"a": 1}))
    request.dispatch(DispatchPayload({"a": 1}))
    assert names(request) == ["Dispatched"]


def test_replan_only_before_dispatch() -> None:
    request = request_in("planned")
    request.replan(replace(ROUTE, planned=replace(ROUTE.planned, receiving_locality="420102")))
    request.replan(replace(ROUTE, planned=replace(ROUTE.planned, receiving_locality="420102")))
    assert names(request) == ["Replanned"]
    request.dispatch(DispatchPayload())
    with pytest.raises(InvalidTransitionError, match="dispatched"):
        request.replan(ROUTE)


def test_receive_once_with_due_date() -> None:
    request = request_in("dispatched")
    request.receive("officer-1", "R-1", "2026-12-01", False)
    request.receive("officer-1", "R-1", "2026-12-01", False)
    assert names(request) == ["Received"]
    assert request.due == "2026-12-01"


def test_receive_before_dispatch_is_refused() -> None:
    with pytest.raises(InvalidTransitionError, match="planned"):
        request_in("planned").receive("o", "R", "2026-12-01", False)


def test_supplement_round_trip() -> None:
    request = request_in("received")
    with pytest.raises(InvalidTransitionError, match="every missing item"):
        request.request_supplement("o", [])
    request.request_supplement("o", ["marriage certificate", "residence permit"])
    request.supplement(["marriage certificate", "residence permit"], "2026-12-04", False)
    assert names(request) == ["SupplementRequested", "Supplemented"]
    assert request.state == "received"


def test_approve_once() -> None:
    request = request_in("received")
    request.approve("o", Result("citizen_id", "420102202611200028"))
    request.approve("o", Result("citizen_id", "420102202611200028"))
    assert names(request) == ["Approved"]
    with pytest.raises(InvalidTransitionError):
        request.reject("o", "late", "")


def test_reject_needs_a_reason() -> None:
    request = request_in("supplement-requested")
    with pytest.raises(InvalidTransitionError, match="reason"):
        request.reject("o", " ", "")
    request.reject("o", "no residence permit", "Hukou Regulation Art. 7")
    assert names(request) == ["Rejected"]


def test_withdraw_open_request_once_and_never_a_decided_one() -> None:
    request = request_in("received")
    request.withdraw("case voided")
    request.withdraw("case voided")
    assert names(request) == ["Withdrawn"]
    approved = request_in("received")
    approved.approve("o", Result("citizen_id", "x"))
    approved.collect_events()
    approved.withdraw("case voided")
    assert names(approved) == []


def test_deadline_warnings_once_per_due_date() -> None:
    request = request_in("received")
    request.warn("approaching", "2026-12-01")
    request.warn("approaching", "2026-12-01")
    request.warn("overdue", "2026-12-01")
    request.warn("overdue", "2026-12-01")
    assert names(request) == ["DeadlineApproaching", "Overdue"]


def test_correction_flagged_only_once_the_office_holds_the_data() -> None:
    planned = request_in("planned")
    planned.flag_correction(["birth_weight_g"])
    assert names(planned) == []
    received = request_in("received")
    received.flag_correction(["birth_weight_g"])
    assert names(received) == ["CorrectionFlagged"]


def test_delivery_outcomes_are_recorded_once_per_attempt() -> None:
    request = request_in("dispatched")
    request.record_delivery(1, "timeout", "2026-11-22T10:00:00+00:00")
    request.record_delivery(1, "timeout", "2026-11-22T10:00:00+00:00")
    request.record_delivery(2, None, None)
    request.record_delivery(3, None, None)
    assert names(request) == ["DeliveryFailed", "Delivered"]


def test_request_and_plan_ids_stay_the_uuid5_of_their_names() -> None:
    """The ids are kept once computed; they must stay the stored ones (uuid5 of the names)."""
    case_id = uuid4()
    for _ in range(2):  # computed, then kept
        assert ServiceRequest.create_id(case_id, "vaccination") == uuid5(case_id, "vaccination")
        assert CasePlan.create_id(case_id) == uuid5(case_id, "case-plan")
    assert ServiceRequest.create_id(case_id, "birth-certificate") != ServiceRequest.create_id(
        case_id, "vaccination"
    )
