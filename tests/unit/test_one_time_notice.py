"""一次性告知 on the ServiceRequest (Administrative Licensing Law Art. 32): one notice per
reception, a second only for facts corrected since the family's answer with its reason, the
window's clock from dispatch, deemed acceptance, and none after it."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.kernel.disclosure import DispatchPayload
from domain.kernel.errors import InvalidTransitionError, NoticeLapsedError, OneTimeNoticeError
from domain.kernel.service_request import RequestState, ServiceRequest
from tests.unit.test_projections_support import route

ROUTE = route("vaccination", "cdc", "430602", "430602", "online")


def at_window(since: str = "2026-12-07", due: str = "2026-12-14") -> ServiceRequest:
    request = ServiceRequest(uuid4(), "vaccination", ROUTE)
    request.dispatch(DispatchPayload({"born_at": "2026-12-01T08:00:00+08:00"}), since, due, False)
    request.collect_events()
    return request


def names(request: ServiceRequest) -> list[str]:
    return [type(e).__name__ for e in request.collect_events()]


def test_dispatch_starts_the_windows_clock() -> None:
    request = at_window()
    assert (request.state, request.arrived, request.due) == (
        "dispatched",
        "2026-12-07",
        "2026-12-14",
    )
    assert not request.accepted


def test_the_window_may_notify_before_accepting_and_the_answer_returns_it_there() -> None:
    request = at_window()
    request.request_supplement("cdc:1", ["预防接种证"])
    assert request.state is RequestState.SUPPLEMENT_REQUESTED
    request.supplement(["预防接种证"], "2026-12-16", False, [{"id": "doc-1"}], "2026-12-09")
    assert (request.state, request.arrived, request.due) == (
        "dispatched",
        "2026-12-09",
        "2026-12-16",
    )
    events = request.collect_events()
    assert isinstance(events[-1], ServiceRequest.Supplemented)
    assert events[-1].evidence == [{"id": "doc-1"}]
    assert events[-1].resumes == "dispatched"


def test_after_acceptance_the_answer_returns_to_the_handling_office() -> None:
    request = at_window()
    request.receive("cdc:1", "R-1", "2027-01-04", True)
    request.request_supplement("cdc:1", ["预防接种证"])
    request.supplement(["预防接种证"], "2027-01-06", True, [], "2026-12-09")
    assert (request.state, request.due, request.due_provisional) == ("received", "2027-01-06", True)
    assert request.arrived == "2026-12-07"  # the window's clock is over


def test_a_second_notice_without_a_new_fact_is_refused() -> None:
    request = at_window()
    request.receive("cdc:1", "R-1", "2027-01-04", True)
    request.request_supplement("cdc:1", ["预防接种证", "户口簿"])
    request.supplement(["预防接种证", "户口簿"], "2027-01-06", True)
    with pytest.raises(OneTimeNoticeError, match="one-time notice was given"):
        request.request_supplement("cdc:1", ["出生医学证明"], "forgot it")
    request.flag_correction(["birth_weight_g"])
    with pytest.raises(OneTimeNoticeError, match="names its reason"):
        request.request_supplement("cdc:1", ["体重复核记录"])
    request.collect_events()
    request.request_supplement("cdc:1", ["体重复核记录"], "  weight corrected  ")
    (notice,) = request.collect_events()
    assert isinstance(notice, ServiceRequest.SupplementRequested)
    assert (notice.reason, notice.new_facts) == ("weight corrected", ["birth_weight_g"])
    request.supplement(["体重复核记录"], "2027-01-08", True)
    with pytest.raises(OneTimeNoticeError):  # that fact is answered: nothing new again
        request.request_supplement("cdc:1", ["户口簿"], "again")


def test_a_correction_before_the_answer_is_not_new_since_it() -> None:
    request = at_window()
    request.request_supplement("cdc:1", ["预防接种证"])
    request.flag_correction(["birth_weight_g"])
    request.supplement(["预防接种证"], "2026-12-16", False)
    with pytest.raises(OneTimeNoticeError):
        request.request_supplement("cdc:1", ["体重复核记录"], "weight")


def test_a_notice_while_one_is_unanswered_is_refused_by_state() -> None:
    request = at_window()
    request.request_supplement("cdc:1", ["预防接种证"])
    with pytest.raises(InvalidTransitionError, match="supplement-requested"):
        request.request_supplement("cdc:1", ["户口簿"])


def test_a_new_dispatch_is_a_new_reception() -> None:
    request = at_window()
    request.request_supplement("cdc:1", ["预防接种证"])
    assert request.notices == 1
    fresh = at_window()
    assert fresh.notices == 0
    assert list(fresh.new_facts) == []


def test_deemed_acceptance_counts_from_the_materials_arrival_and_ends_notices() -> None:
    request = at_window()
    request.deem_accepted("2027-01-04", True)
    (deemed,) = request.collect_events()
    assert isinstance(deemed, ServiceRequest.DeemedAccepted)
    assert (deemed.since, deemed.due, deemed.provisional) == ("2026-12-07", "2027-01-04", True)
    assert (request.state, request.accepted, request.receipt_number) == ("received", True, None)
    with pytest.raises(NoticeLapsedError, match="deemed accepted"):
        request.request_supplement("cdc:1", ["预防接种证"])
    request.deem_accepted("2027-02-01", False)  # only a request at its window: nothing
    assert names(request) == []


def test_a_request_dispatched_without_a_clock_is_never_deemed_accepted() -> None:
    request = ServiceRequest(uuid4(), "vaccination", ROUTE)
    request.dispatch(DispatchPayload())  # as events before version 3 of Dispatched were
    request.collect_events()
    request.deem_accepted("2027-01-04", True)
    assert names(request) == []
    assert request.state is RequestState.DISPATCHED


def test_the_window_may_be_warned_before_its_due_date() -> None:
    request = at_window()
    request.warn("approaching", "2026-12-14")
    request.warn("approaching", "2026-12-14")
    assert names(request) == ["DeadlineApproaching"]
