"""case_status on in-memory views: the family's view of a case, from its events alone."""

from __future__ import annotations

import random

import pytest
from eventsourcing.persistence import Tracking

from domain.births.facts import Parent
from domain.births.family_application import FamilyApplication
from domain.kernel.disclosure import DispatchPayload
from domain.kernel.service_request import ServiceRequest
from engine.rows import MissingRowError
from projections import case_document
from projections.case_status import CaseStatusProjection, InMemoryCaseStatus
from projections.case_status_model import CaseStatus
from tests.conftest import HOSPITAL, make_facts
from tests.unit import case_status_reference as reference
from tests.unit.test_projections_support import (
    APP,
    HUKOU,
    VACCINATION,
    Story,
    a_full_story,
    at,
    new_case,
    new_request,
    route,
)


@pytest.fixture
def projection() -> CaseStatusProjection:
    return CaseStatusProjection(InMemoryCaseStatus())


def status(projection: CaseStatusProjection, case_id: object) -> CaseStatus:
    found = projection.view.by_case_id(str(case_id))
    assert found is not None
    return found


def test_a_notified_case_is_found_by_id_tracking_code_and_hospital_key(
    projection: CaseStatusProjection,
) -> None:
    case = new_case(child_name="张小明")
    Story(projection).feed(case)
    found = status(projection, case.id)
    assert (found.state, found.tracking_code, found.hospital_ref) == (
        "notified",
        "TCMR-0001",
        "MR-0001",
    )
    assert (found.birth_province, found.household, found.hukou_division) == (
        "43",
        "mother",
        "420102",
    )
    assert projection.view.by_tracking_code("TCMR-0001") == found
    assert projection.view.by_hospital_ref(HOSPITAL, "MR-0001") == found
    assert projection.view.by_tracking_code("NOPE") is None
    assert projection.view.by_hospital_ref(HOSPITAL, "MR-9999") is None
    assert found.next_action == "nothing: waiting for the plan"


def test_the_family_is_asked_for_what_planning_still_needs(
    projection: CaseStatusProjection,
) -> None:
    case = new_case(household_choice=None)
    story = Story(projection)
    story.feed(case)
    assert status(projection, case.id).next_action == "apply: name and household"
    case.apply(FamilyApplication("王小明", "father", "430602", None, consent=True))
    story.feed(case)
    applied = status(projection, case.id)
    assert (applied.state, applied.household) == ("applied", "father")
    assert applied.hukou_division is None  # the record names no father's hukou yet
    assert applied.next_action == "nothing: waiting for the plan"


def test_a_correction_moves_the_hukou_county(projection: CaseStatusProjection) -> None:
    case = new_case(child_name="张小明")
    story = Story(projection)
    story.feed(case)
    corrected = make_facts(child_name="张小明", mother=Parent(hukou_division="110101"))
    case.correct("m-2", corrected, ["mother.hukou_division"])
    story.feed(case, when=at(hours=1))
    found = status(projection, case.id)
    assert found.hukou_division == "110101"
    assert [h.event for h in found.history] == ["Notified", "NotificationCorrected"]


def test_services_follow_their_requests_with_history_and_next_action(
    projection: CaseStatusProjection,
) -> None:
    story = Story(projection)
    case = new_case(child_name="张小明")
    hukou, vaccination = new_request(case, HUKOU), new_request(case, VACCINATION)
    case.plan(["household-registration", "vaccination"], "c1", "a1")
    story.feed(case, hukou, vaccination)
    hukou.dispatch(DispatchPayload({"child_name": "张小明"}))
    story.feed(hukou, when=at(hours=1))
    assert (
        status(projection, case.id).next_action
        == "nothing: waiting for office public-security 430602"
    )
    hukou.receive("o", "R-1", "2026-03-09", False)
    story.feed(hukou, when=at(hours=2))
    found = status(projection, case.id)
    assert found.next_action == "nothing: waiting for office public-security 420102"
    first = found.services[0]
    assert (first.service, first.state, first.due, first.mode) == (
        "household-registration",
        "received",
        "2026-03-09",
        "off-site",
    )
    assert [(h.event, h.at) for h in first.history] == [
        ("Planned", at().isoformat()),
        ("Dispatched", at(hours=1).isoformat()),
        ("Received", at(hours=2).isoformat()),
    ]
    assert [s.service for s in found.services] == ["household-registration", "vaccination"]


def test_a_supplement_request_names_every_missing_item(projection: CaseStatusProjection) -> None:
    story = Story(projection)
    case = new_case(child_name="张小明")
    hukou = new_request(case, HUKOU)
    hukou.dispatch(DispatchPayload())
    hukou.receive("o", "R-1", "2026-03-09", False)
    hukou.request_supplement("o", ["residence permit", "commitment letter"])
    story.feed(case, hukou)
    found = status(projection, case.id)
    assert found.next_action == "supplement: residence permit, commitment letter"
    assert found.services[0].awaiting == ("residence permit", "commitment letter")
    hukou.supplement(["residence permit", "commitment letter"], "2026-12-04", False)
    story.feed(hukou)
    assert status(projection, case.id).services[0].awaiting == ()


def test_completion_asks_for_a_rating_once(projection: CaseStatusProjection) -> None:
    story = Story(projection)
    case = new_case(child_name="张小明")
    case.complete()
    story.feed(case)
    assert status(projection, case.id).next_action == "rate: the service"
    case.rate(5, "一次办好")
    story.feed(case)
    assert status(projection, case.id).next_action == "nothing: completed and rated"


def test_a_whole_case_ends_completed_with_every_service_approved(
    projection: CaseStatusProjection,
) -> None:
    story = Story(projection)
    case, _, _ = a_full_story(story)
    found = status(projection, case.id)
    assert (found.state, found.next_action) == ("completed", "nothing: completed and rated")
    assert [s.state for s in found.services] == ["approved", "approved"]
    assert [h.event for h in found.history] == ["Notified", "ServicesPlanned", "Completed", "Rated"]
    assert [h.event for h in found.services[0].history] == [
        "Planned",
        "Dispatched",
        "Received",
        "SupplementRequested",
        "Supplemented",
        "Approved",
    ]


def test_a_void_withdraws_and_says_so(projection: CaseStatusProjection) -> None:
    story = Story(projection)
    case = new_case(child_name="张小明")
    hukou = new_request(case, HUKOU)
    case.void("m-void", "entered-in-error")
    hukou.withdraw("voided")
    story.feed(case, hukou)
    found = status(projection, case.id)
    assert (found.state, found.services[0].state) == ("voided", "withdrawn")
    assert found.next_action == "nothing: the case was voided"


def test_manual_routing_and_overdue_show(projection: CaseStatusProjection) -> None:
    story = Story(projection)
    case = new_case(child_name="张小明")
    manual = new_request(
        case, route("medical-insurance", "medical-insurance", "420102", "420102", None)
    )
    story.feed(case, manual)
    assert status(projection, case.id).next_action == (
        "nothing: waiting for the routing desk of province 42 until 2026-03-04 (medical-insurance)"
    )
    vaccination = new_request(case, VACCINATION)
    vaccination.dispatch(DispatchPayload())
    vaccination.receive("o", "R-2", "2026-03-03", False)
    vaccination.warn("overdue", "2026-03-03")
    story.feed(vaccination, when=at(days=2))
    overdue = status(projection, case.id).services[1]
    assert (overdue.overdue, overdue.history[-1].event) == (True, "Overdue")


def test_no_personal_data_is_kept(projection: CaseStatusProjection) -> None:
    story = Story(projection)
    a_full_story(story)
    dumped = str(projection.view.dump())
    facts = make_facts()
    for secret in (facts.mother.name, facts.mother.citizen_id, facts.mother.phone, "张小明"):
        assert secret is not None
        assert secret not in dumped


def test_an_event_without_its_row_stops_the_projection(projection: CaseStatusProjection) -> None:
    case = new_case()
    request = ServiceRequest(case.id, "vaccination", VACCINATION)
    request.collect_events()  # its Planned event never reached the view
    request.dispatch(DispatchPayload())
    (dispatched,) = request.collect_events()
    with pytest.raises(MissingRowError):
        projection.process_batch([(dispatched, 1)], Tracking(APP, 1))
    assert projection.view.max_tracking_id(APP) is None


def test_the_timeline_in_one_sort_is_the_reference_timeline() -> None:
    """Equal times across the case and its requests, entries out of log order, a request
    not in the plan order: the one-sort timeline is the frozen two-pass one's."""
    rng = random.Random(6)
    stored = {f"r{n}": {"service": f"service {n}"} for n in range(4)}
    for _ in range(300):
        times = [f"2026-12-05T06:0{rng.randrange(3)}:00+00:00" for _ in range(3)]
        entries = []
        for n in range(rng.randrange(30)):
            request = rng.choice(["", None, "r0", "r1", "r2", "r3"])
            stream = request or "case"
            entries.append([rng.randrange(50), stream, n, request, f"E{n}", rng.choice(times)])
        rng.shuffle(entries)
        order = rng.sample(sorted(stored), rng.randrange(5))
        expected = reference._timeline(entries, order, stored)
        assert case_document._timeline(entries, order, stored) == expected
