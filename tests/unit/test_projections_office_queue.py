"""office_queue on in-memory views: who receives, who decides, what is overdue."""

from __future__ import annotations

import pytest

from domain.kernel.disclosure import DispatchPayload
from domain.kernel.results import Result
from projections.office_queue import InMemoryOfficeQueue, OfficeQueueProjection
from tests.unit.test_projections_support import (
    HUKOU,
    VACCINATION,
    Story,
    at,
    new_case,
    new_request,
    route,
)


@pytest.fixture
def projection() -> OfficeQueueProjection:
    return OfficeQueueProjection(InMemoryOfficeQueue())


def test_a_cross_province_request_is_received_here_and_decided_there(
    projection: OfficeQueueProjection,
) -> None:
    story = Story(projection)
    case = new_case()
    hukou = new_request(case, HUKOU)
    story.feed(case, hukou)
    assert projection.view.queue("430602", "public-security").total == 0  # planned: not theirs yet
    hukou.dispatch(DispatchPayload())
    story.feed(hukou)
    (receiving,) = projection.view.queue("430602", "public-security").rows
    (deciding,) = projection.view.queue("420102", "public-security").rows
    assert (receiving.role, deciding.role) == ("receive-for-other", "decide-here")
    assert receiving.to_dict() == {
        "service_request_id": str(hukou.id),
        "case_id": str(case.id),
        "kind": "birth",
        "service": "household-registration",
        "state": "dispatched",
        "due": None,
        "due_provisional": False,
        "overdue": False,
        "due_soon": False,
        "role": "receive-for-other",
    }
    assert projection.view.queue("430602", "cdc").total == 0


def test_one_office_that_receives_and_decides_sees_the_request_once(
    projection: OfficeQueueProjection,
) -> None:
    story = Story(projection)
    case = new_case()
    vaccination = new_request(case, VACCINATION)
    vaccination.dispatch(DispatchPayload())
    story.feed(case, vaccination)
    (row,) = projection.view.queue("430602", "cdc").rows
    assert row.role == "both"


def test_filters_order_and_paging(projection: OfficeQueueProjection) -> None:
    story = Story(projection)
    dues = {"MR-1": "2026-03-20", "MR-2": "2026-03-10", "MR-3": None}
    for record_ref, due in dues.items():
        case = new_case(record_ref)
        request = new_request(case, VACCINATION)
        request.dispatch(DispatchPayload())
        if due:
            request.receive("o", "R", due, False)
        story.feed(case, request)
    page = projection.view.queue("430602", "cdc", limit=2)
    assert page.total == 3
    assert [r.due for r in page.rows] == ["2026-03-10", "2026-03-20"]
    assert [r.due for r in projection.view.queue("430602", "cdc", offset=2).rows] == [None]
    assert projection.view.queue("430602", "cdc", state="dispatched").total == 1
    assert projection.view.queue("430602", "cdc", role="both").total == 3
    assert projection.view.queue("430602", "cdc", role="decide-here").total == 0


def test_overdue_is_flagged_until_decided(projection: OfficeQueueProjection) -> None:
    story = Story(projection)
    case = new_case()
    request = new_request(case, VACCINATION)
    request.dispatch(DispatchPayload())
    request.receive("o", "R", "2026-03-03", False)
    request.warn("approaching", "2026-03-03")
    request.warn("overdue", "2026-03-03")
    story.feed(case, request, when=at(days=2))
    (late,) = projection.view.queue("430602", "cdc", overdue=True).rows
    assert (late.overdue, late.due_soon) == (True, True)
    request.approve("o", Result("vaccination_record_number", "VR-1"))
    story.feed(request, when=at(days=3))
    assert projection.view.queue("430602", "cdc", overdue=True).total == 0
    assert projection.view.queue("430602", "cdc", state="approved").total == 1


def test_a_replan_moves_the_request_to_the_new_offices(projection: OfficeQueueProjection) -> None:
    story = Story(projection)
    case = new_case()
    request = new_request(case, HUKOU)
    story.feed(case, request)
    request.replan(route("household-registration", "public-security", "110101", "110101"))
    request.dispatch(DispatchPayload())
    story.feed(request)
    assert projection.view.queue("430602", "public-security", state="dispatched").total == 0
    assert projection.view.queue("420102", "public-security", state="dispatched").total == 0
    (moved,) = projection.view.queue("110101", "public-security").rows
    assert moved.role == "both"
    assert [r["locality"] for r in projection.view.dump()["entries"]] == ["110101"]
