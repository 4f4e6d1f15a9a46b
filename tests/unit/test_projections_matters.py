"""matters on an in-memory view: every wing's requests per matter (kind) and service, in each
place level and month, and the receiving → handling province flows per matter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.kernel.disclosure import DispatchPayload
from domain.kernel.results import Result
from domain.kernel.service_request import BY_DEADLINE, ServiceRequest
from domain.wings import WINGS, matter_names, registered, service_names
from projections.locality_stats import InMemoryLocalityStats, LocalityStatsProjection
from projections.matters import (
    UNKNOWN_KIND,
    InMemoryMatters,
    MatterFlowRow,
    MattersProjection,
)
from tests.conftest import make_facts
from tests.unit.test_projections_support import (
    HUKOU,
    VACCINATION,
    Story,
    a_full_story,
    at,
    new_case,
    new_request,
    route,
)
from tests.wings.permits.wing import PERMITS

SHENZHEN_FUTIAN = "440304"
PERMIT = route("residence-permit", "public-security", SHENZHEN_FUTIAN, SHENZHEN_FUTIAN)


@pytest.fixture
def matters() -> Iterator[MattersProjection]:
    with registered(PERMITS):
        yield MattersProjection(InMemoryMatters())


def counts(
    projection: MattersProjection, place: str, month: str = "2026-03"
) -> dict[str, tuple[int, ...]]:
    """(received, decided, approved, rejected, on time) per "kind/service"."""
    return {
        f"{r.kind}/{r.service}": (r.received, r.decided, r.approved, r.rejected, r.on_time)
        for r in projection.view.counts(place, month)
    }


def flows(
    projection: MattersProjection, month: str = "2026-03"
) -> dict[tuple[str, ...], tuple[int, int, bool]]:
    return {
        (f.kind, f.service, f.receiving_province, f.handling_province): (
            f.received,
            f.decided,
            f.cross_province,
        )
        for f in projection.view.flows(month)
    }


def a_permit(story: Story, *, decided: bool = True) -> ServiceRequest:
    """A permits-wing request received in Futian on Monday and approved on Wednesday."""
    request = ServiceRequest(uuid4(), "residence-permit", PERMIT)
    request.dispatch(DispatchPayload())
    request.receive("o", "R-P", "2026-03-20", False)
    story.feed(request, when=at(hours=2))
    if decided:
        request.approve("o", Result("residence_permit_number", "P-1"))
        story.feed(request, when=at(days=2))
    return request


def test_each_wing_counts_under_its_matter_in_every_level_of_its_handling_place(
    matters: MattersProjection,
) -> None:
    story = Story(matters)
    a_full_story(story)  # births: hukou handled in Wuhan for Yueyang, vaccination in Yueyang
    a_permit(story)
    assert counts(matters, "420102") == {"birth/household-registration": (1, 1, 1, 0, 1)}
    for place in ("430602", "4306", "43"):
        assert counts(matters, place) == {"birth/vaccination": (1, 1, 1, 0, 1)}
    for place in ("440304", "4403", "44"):
        assert counts(matters, place) == {"residence-permit/residence-permit": (1, 1, 1, 0, 1)}
    assert counts(matters, "42", "2026-04") == {}


def test_a_place_answers_per_matter_with_totals_names_and_services(
    matters: MattersProjection,
) -> None:
    story = Story(matters)
    case = new_case()
    hukou, vaccination = new_request(case, HUKOU), new_request(case, VACCINATION)
    story.feed(case, hukou, vaccination)
    # the vaccination is handled in Yueyang: a Wuhan hukou, a Hubei-handled one, not here
    wuhan_vaccination = route("vaccination", "cdc", "420102", "430602")
    other = new_request(new_case("MR-0002"), wuhan_vaccination)
    for request in (hukou, other):
        request.dispatch(DispatchPayload())
        request.receive("o", "R", "2026-03-04", False)
    story.feed(hukou, other, when=at(hours=1))
    hukou.reject("o", "no residence permit", "rule 3")
    story.feed(hukou, when=at(days=5))  # Saturday 7 March: after its due date
    a_permit(story, decided=False)
    (birth,) = matters.view.figures("42", "2026-03")
    assert (birth["kind"], birth["name_zh"], birth["name_en"]) == (
        "birth",
        "出生一件事",
        "Newborn one thing",
    )
    assert (birth["received"], birth["decided"], birth["rejected"], birth["on_time"]) == (
        2,
        1,
        1,
        0,
    )
    assert birth["on_time_rate"] == 0.0
    services = {s["service"]: s for s in birth["services"]}
    assert services["vaccination"]["name_zh"] == "预防接种证办理"
    assert services["vaccination"]["on_time_rate"] is None  # none decided
    assert services["household-registration"]["rejected"] == 1
    (permit,) = matters.view.figures("44", "2026-03")
    assert (permit["name_zh"], permit["received"], permit["decided"]) == ("居住证办理", 1, 0)


def test_flows_go_from_the_receiving_province_to_the_handling_one(
    matters: MattersProjection,
) -> None:
    story = Story(matters)
    a_full_story(story)
    a_permit(story)
    assert flows(matters) == {
        ("birth", "household-registration", "43", "42"): (1, 1, True),
        ("birth", "vaccination", "43", "43"): (1, 1, False),
        ("residence-permit", "residence-permit", "44", "44"): (1, 1, False),
    }
    (permit,) = matters.view.flows("2026-03", "residence-permit")
    assert permit.to_dict()["kind_name_en"] == "Residence permit"
    assert permit.to_dict()["service_name_zh"] == "居住证申领"
    assert matters.view.flows("2026-04") == []


def test_a_route_changed_before_receipt_counts_where_it_leads(
    matters: MattersProjection,
) -> None:
    """Replanned (and routed at the desk) requests count in the place their latest route
    names: the handling county and the receiving province of the flow."""
    story = Story(matters)
    case = new_case()
    request = new_request(
        case, route("household-registration", "public-security", "420102", "430602", None)
    )
    story.feed(case, request)
    desk = route("household-registration", "public-security", "420106", "430611", "off-site")
    request.route_by_desk(desk, "coordinator:42", "hukou place")
    request.dispatch(DispatchPayload())
    request.receive("o", "R", "2026-03-09", False)
    story.feed(request, when=at(hours=3))
    assert counts(matters, "420106") == {"birth/household-registration": (1, 0, 0, 0, 0)}
    assert counts(matters, "420102") == {}
    assert flows(matters) == {("birth", "household-registration", "43", "42"): (1, 0, True)}


def test_months_are_china_months_of_each_event_and_a_lapsed_notice_is_no_decision(
    matters: MattersProjection,
) -> None:
    story = Story(matters)
    case = new_case()
    request = new_request(case, VACCINATION)
    request.dispatch(DispatchPayload())
    story.feed(case, request)
    request.receive("o", "R-1", "2026-04-10", False)
    story.feed(request, when=datetime(2026, 3, 31, 17, 0, tzinfo=UTC))  # 1 April, 01:00 CST
    request.reject(BY_DEADLINE, "the notice lapsed", "Art. 32")
    story.feed(request, when=datetime(2026, 4, 20, 2, 0, tzinfo=UTC))
    assert counts(matters, "430602", "2026-03") == {}
    assert counts(matters, "430602", "2026-04") == {"birth/vaccination": (1, 0, 0, 0, 0)}


def test_a_supplement_moves_the_due_date_a_decision_is_on_time_by(
    matters: MattersProjection,
) -> None:
    story = Story(matters)
    case = new_case()
    request = new_request(case, HUKOU)
    request.dispatch(DispatchPayload())
    story.feed(case, request)
    request.receive("o", "R-1", "2026-03-03", False)
    story.feed(request, when=at(hours=1))
    request.request_supplement("o", ["residence permit"])
    story.feed(request, when=at(days=1))
    request.supplement(["residence permit"], "2026-03-20", False)
    request.approve("o", Result("citizen_id", "x"))
    story.feed(request, when=at(days=9))  # after the first due date, before the new one
    assert counts(matters, "42") == {"birth/household-registration": (1, 1, 1, 0, 1)}


def test_a_places_matters_add_up_to_its_locality_figures() -> None:
    stats = LocalityStatsProjection(InMemoryLocalityStats())
    with registered(PERMITS):
        matters = MattersProjection(InMemoryMatters())
        story = Story(stats, matters)
        a_full_story(story)
        a_permit(story)
    for place in ("420102", "4306", "43", "44", "440304"):
        figures = stats.view.figures(place, "2026-03")
        rows = matters.view.counts(place, "2026-03")
        assert sum(r.received for r in rows) == figures.received > 0
        assert sum(r.decided for r in rows) == figures.decided
        assert sum(r.approved for r in rows) == figures.approved
        assert sum(r.on_time for r in rows) == round((figures.on_time_rate or 0) * figures.decided)


def test_names_default_to_codes_and_an_unknown_service_counts_as_unknown() -> None:
    assert matter_names("marriage-of-the-future") == (
        "marriage-of-the-future",
        "marriage-of-the-future",
    )
    assert service_names("no-such-service") == ("no-such-service", "no-such-service")
    matters = MattersProjection(InMemoryMatters())  # the permits wing is not carried here
    story = Story(matters)
    request = ServiceRequest(uuid4(), "residence-permit", PERMIT)
    request.dispatch(DispatchPayload())
    request.receive("o", "R", "2026-03-20", False)
    story.feed(request)
    assert counts(matters, "44") == {f"{UNKNOWN_KIND}/residence-permit": (1, 0, 0, 0, 0)}
    assert MatterFlowRow("2026-03", "x", "y", "44", "44").cross_province is False


def test_the_view_holds_no_personal_data(matters: MattersProjection) -> None:
    story = Story(matters)
    a_full_story(story)
    dumped = str(matters.view.dump())
    facts = make_facts()
    for secret in (facts.mother.name, facts.mother.citizen_id, "张小明", "slow"):
        assert secret is not None
        assert secret not in dumped


def test_every_shipped_wing_names_its_matter() -> None:
    """The monitor shows each matter by its names (a wing that gives none shows its kind)."""
    names = {w.kind: matter_names(w.kind) for w in WINGS}
    assert names["birth"] == ("出生一件事", "Newborn one thing")
    assert names["marriage"][0] == "跨省婚姻登记"
    assert names["id-card"][0] == "居民身份证异地办理"
    assert all(zh != kind and en != kind for kind, (zh, en) in names.items())
