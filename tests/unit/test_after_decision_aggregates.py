"""ServiceRequest and BirthCase after a decision: corrections to decide, results to revoke."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from domain.births.birth_case import BirthCase, CaseState
from domain.kernel.after_decision import correction_limit, revocation_limit
from domain.kernel.disclosure import DispatchPayload
from domain.kernel.errors import CaseClosedError, InvalidTransitionError
from domain.kernel.results import Result
from domain.kernel.service_request import FINAL_STATES, RequestState, ServiceRequest
from domain.wings import service
from tests.conftest import CST, HOSPITAL, make_facts
from tests.unit.test_service_request import names, request_in

ISSUED = Result("citizen_id", "420102202611200028")
OLD = DispatchPayload({"certificate_number": "X320101001"})
NEW = DispatchPayload({"certificate_number": "X320101002"})
CERT = ["certificate_number"]  # the field a correction changed


def approved() -> ServiceRequest:
    request = request_in("received")
    request.approve("officer-2", ISSUED)
    request.collect_events()
    return request


def test_an_undecided_request_is_told_the_new_values_once() -> None:
    request = request_in("received")
    request.redispatch(NEW, ["certificate_number"], "m-2")
    request.redispatch(NEW, ["certificate_number"], "m-2")
    assert names(request) == ["Redispatched"]
    assert (request.payload, request.state) == (NEW, RequestState.RECEIVED)
    planned = request_in("planned")
    planned.redispatch(NEW, ["certificate_number"], "m-2")
    assert names(planned) == []  # dispatched later with the case's values as they are then


def test_a_correction_request_carries_old_and_new_values_and_evidence() -> None:
    request = approved()
    request.request_correction(NEW, CERT, "m-2", "2026-12-10", False)
    assert names(request) == ["CorrectionRequested"]
    assert request.state is RequestState.CORRECTION_REQUESTED
    assert (request.correction_old, request.correction_new) == (OLD, NEW)
    assert (request.evidence, request.due) == (("m-2",), "2026-12-10")
    assert request.corrected_payload == NEW
    assert request.payload == OLD  # decided on the old values until the office decides again


def test_unchanged_values_ask_for_nothing_and_a_repeat_records_nothing() -> None:
    request = approved()
    request.request_correction(OLD, CERT, "m-2", "2026-12-10", False)
    assert names(request) == []
    request.request_correction(NEW, CERT, "m-2", "2026-12-10", False)
    request.request_correction(NEW, CERT, "m-2", "2026-12-10", False)
    assert names(request) == ["CorrectionRequested"]


def test_a_pending_correction_takes_later_values_in() -> None:
    request = approved()
    request.request_correction(NEW, CERT, "m-2", "2026-12-10", False)
    born = DispatchPayload({**NEW, "born_at": "2026-11-19T23:40:00+08:00"})
    request.request_correction(
        born, ["born_at"], "birth-certificate re-issued", "2026-12-11", False
    )
    assert request.correction_new == born
    assert request.correction_old == OLD
    assert request.evidence == ("m-2", "birth-certificate re-issued")


def test_a_correction_taken_back_withdraws_the_pending_one() -> None:
    request = approved()
    request.request_correction(NEW, CERT, "m-2", "2026-12-10", False)
    request.request_correction(OLD, CERT, "m-3", "2026-12-11", False)  # the hospital undid it
    assert names(request) == ["CorrectionRequested", "CorrectionWithdrawn"]
    assert (request.state, request.payload, request.correction_new) == ("approved", OLD, None)


def test_a_later_correction_keeps_what_is_pending_and_asks_only_what_it_changed() -> None:
    request = approved()
    both = DispatchPayload({**NEW, "sex": "female", "birth_weight_g": 3600})
    request.request_correction(both, CERT, "m-2", "2026-12-10", False)  # a re-issued number
    assert request.correction_new == NEW
    request.request_correction(both, ["sex"], "m-3", "2026-12-11", False)  # sex was corrected
    assert request.correction_new == DispatchPayload({**NEW, "sex": "female"})
    request.reject_correction("officer-2", "证据不足")
    request.request_correction(both, ["born_at"], "m-4", "2026-12-12", False)
    assert request.state == "approved"  # what it refused is not asked again unprompted


def test_an_approved_correction_reissues_the_result_on_the_corrected_values() -> None:
    request = approved()
    request.request_correction(NEW, CERT, "m-2", "2026-12-10", False)
    reissued = Result("citizen_id", "420102202611190015")
    request.approve_correction("officer-2", reissued)
    [_, event] = request.collect_events()
    assert isinstance(event, ServiceRequest.CorrectionApproved)
    assert (event.result, event.service) == (reissued, "household-registration")
    assert (request.state, request.result, request.payload) == ("approved", reissued, NEW)
    assert request.correction_new is None
    with pytest.raises(InvalidTransitionError):
        request.approve_correction("officer-2", reissued)


def test_a_rejected_correction_keeps_the_decision_and_names_its_reason() -> None:
    request = approved()
    request.request_correction(NEW, CERT, "m-2", "2026-12-10", False)
    with pytest.raises(InvalidTransitionError, match="reason"):
        request.reject_correction("officer-2", "  ")
    request.reject_correction("officer-2", "the record stands")
    assert names(request) == ["CorrectionRequested", "CorrectionRejected"]
    assert (request.state, request.result, request.payload) == ("approved", ISSUED, OLD)


def test_a_correction_is_asked_only_of_a_decided_request() -> None:
    for state in ("planned", "dispatched", "received"):
        request = request_in(state)
        request.request_correction(NEW, CERT, "m-2", "2026-12-10", False)
        assert names(request) == []


def test_revocation_is_asked_of_issued_results_and_confirmed_once() -> None:
    request = approved()
    request.request_correction(NEW, CERT, "m-2", "2026-12-10", False)
    request.request_revocation("voided", "2026-12-14", False)
    request.request_revocation("voided", "2026-12-14", False)
    assert request.state is RequestState.REVOCATION_REQUESTED
    assert request.correction_new is None  # the pending correction is moot
    request.revoke("officer-2")
    request.revoke("officer-2")
    assert names(request) == ["CorrectionRequested", "RevocationRequested", "Revoked"]
    assert request.state in FINAL_STATES
    open_request = request_in("received")
    open_request.request_revocation("voided", "2026-12-14", False)
    assert names(open_request) == []  # withdrawn instead, as before
    with pytest.raises(InvalidTransitionError):
        open_request.revoke("officer-2")


def new_case() -> BirthCase:
    case = BirthCase(HOSPITAL, "MR-1", "TRACKCODE123", "msg-1", make_facts("MR-1"))
    case.complete()
    case.collect_events()
    return case


def test_a_completed_case_is_corrected_and_stays_completed() -> None:
    case = new_case()
    later = replace(case.facts, born_at=datetime(2026, 11, 19, 23, 40, tzinfo=CST))
    case.correct("msg-2", later, ["born_at"])
    assert [type(e).__name__ for e in case.collect_events()] == ["NotificationCorrected"]
    assert case.state is CaseState.COMPLETED


def test_a_void_after_results_waits_for_the_offices_then_ends() -> None:
    case = new_case()
    case.void("msg-2", "entered-in-error", ["health 430602"], "2026-12-14")
    case.void("msg-3", "entered-in-error", ["health 430602"], "2026-12-14")
    assert case.state is CaseState.VOIDING
    assert (case.awaiting_revocation, case.revocation_due) == (("health 430602",), "2026-12-14")
    with pytest.raises(CaseClosedError):
        case.correct("msg-4", case.facts, ["born_at"])
    case.finish_void()
    case.finish_void()
    events = [type(e).__name__ for e in case.collect_events()]
    assert events == ["VoidRequested", "VoidFinished"]
    assert str(case.state) == "voided"
    assert not case.is_open


def test_a_void_with_no_results_is_voided_at_once() -> None:
    case = BirthCase(HOSPITAL, "MR-1", "TRACKCODE123", "msg-1", make_facts("MR-1"))
    case.void("msg-2", "entered-in-error", [], "")
    assert case.state is CaseState.VOIDED


def test_the_limits_are_data_with_their_basis() -> None:
    assert revocation_limit().working_days == 5
    assert "no statutory limit" in revocation_limit().basis
    certificate = service("birth-certificate")
    assert correction_limit(certificate).working_days == certificate.time_limit_days
    assert correction_limit(certificate).basis == certificate.basis
