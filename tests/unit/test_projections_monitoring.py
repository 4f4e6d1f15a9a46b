"""locality_stats and flows on in-memory views: the monitor's figures, from event times only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.births.facts import Parent
from domain.births.family_application import FamilyApplication
from domain.births.rating import RatedUnit
from domain.kernel.disclosure import DispatchPayload
from domain.kernel.results import Result
from domain.kernel.service_request import ServiceRequest
from projections.flows import FlowsProjection, InMemoryFlows
from projections.locality_stats import (
    InMemoryLocalityStats,
    LocalityStatsProjection,
    nearest_rank,
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


@pytest.fixture
def stats() -> LocalityStatsProjection:
    return LocalityStatsProjection(InMemoryLocalityStats())


@pytest.fixture
def flows() -> FlowsProjection:
    return FlowsProjection(InMemoryFlows())


def test_nearest_rank_percentiles_are_actual_samples() -> None:
    values = [float(v) for v in range(10, 0, -1)]
    assert (nearest_rank(values, 50), nearest_rank(values, 90)) == (5.0, 9.0)
    assert (nearest_rank([7.0], 90), nearest_rank([], 50)) == (7.0, None)


def test_a_whole_case_counts_for_each_handling_locality(stats: LocalityStatsProjection) -> None:
    a_full_story(Story(stats))
    wuhan = stats.view.figures("420102", "2026-03")
    assert (wuhan.received, wuhan.decided, wuhan.approved, wuhan.rejected) == (1, 1, 1, 0)
    # the rating (version 1: no unit named) counts once, in the unit that decided last
    assert (wuhan.completed, wuhan.ratings, wuhan.bad_ratings) == (1, 0, 0)
    # received Monday 11:00, decided Friday 11:00 China time: 96 hours, 4 working days
    assert (wuhan.median_hours, wuhan.p90_hours) == (96.0, 96.0)
    assert (wuhan.median_working_days, wuhan.on_time_rate) == (4, 1.0)
    yueyang = stats.view.figures("430602", "2026-03")
    assert (yueyang.received, yueyang.completed) == (1, 1)
    assert (yueyang.ratings, yueyang.average_rating, yueyang.bad_ratings) == (1, 2.0, 1)
    assert stats.view.months("420102") == ["2026-03"]


def test_a_bad_rating_opens_one_follow_up_in_the_unit_that_answers_for_it(
    stats: LocalityStatsProjection,
) -> None:
    case, _, _ = a_full_story(Story(stats))  # the family rates it 2; both decided at once
    (follow_up,) = stats.view.follow_ups("430602", "2026-03")
    assert (follow_up.case_id, follow_up.score, follow_up.service) == (
        str(case.id),
        2,
        "vaccination",
    )
    assert (follow_up.authority, follow_up.city, follow_up.province) == ("cdc", "4306", "43")
    assert stats.view.follow_ups("420102", "2026-03") == []  # not in every place it touched
    assert stats.view.follow_ups("43", "2026-03") == [follow_up]
    assert stats.view.follow_ups("42", "2026-03") == []
    assert stats.view.unit_follow_ups("430602", "cdc") == [follow_up]
    assert stats.view.follow_ups("430602", "2026-04") == []


def test_a_rating_naming_its_unit_counts_there_and_a_call_back_is_recorded(
    stats: LocalityStatsProjection,
) -> None:
    story = Story(stats)
    case, _, _ = a_full_story(story, rate=False)
    case.rate(
        1,
        "排队太久",
        RatedUnit("household-registration", "public-security", "420102"),
        "2026-03-16",
    )
    story.feed(case, when=at(days=5))
    assert stats.view.figures("430602", "2026-03").ratings == 0
    wuhan, hubei = stats.view.figures("420102", "2026-03"), stats.view.figures("42", "2026-03")
    assert (wuhan.ratings, wuhan.bad_ratings, hubei.bad_ratings) == (1, 1, 1)
    (open_item,) = stats.view.unit_follow_ups("420102", "public-security")
    assert (open_item.due, open_item.called_back_at, open_item.call_backs) == (
        "2026-03-16",
        None,
        0,
    )
    case.call_back("office:clerk", "registered", "将于下周整改")
    story.feed(case, when=at(days=6))
    case.call_back("monitor:m", "fixed", "")
    story.feed(case, when=at(days=9))
    done = stats.view.follow_up(str(case.id))
    assert done is not None
    assert (done.call_backs, done.outcome, done.called_back_by) == (2, "fixed", "monitor")
    assert done.called_back_at == at(days=6).isoformat()
    assert "排队太久" not in str(stats.view.dump())  # the comment stays on the case


def test_cities_and_provinces_pool_their_counties(stats: LocalityStatsProjection) -> None:
    """Two counties of one city: the city's percentiles come from the pooled samples, and a
    case handled in both counts once as completed in the city and the province."""
    story = Story(stats)
    case = new_case()
    yueyanglou = route("vaccination", "cdc", "430602", "430602")
    junshan = route("household-registration", "public-security", "430611", "430602")
    fast, slow = new_request(case, yueyanglou), new_request(case, junshan)
    case.plan(["vaccination", "household-registration"], "c1", "a1")
    story.feed(case, fast, slow)
    for request in (fast, slow):
        request.dispatch(DispatchPayload())
        request.receive("o", "R", "2026-03-20", False)
    story.feed(fast, slow)
    fast.approve("o", Result("vaccination_record_number", "VR-1"))
    story.feed(fast, when=at(hours=1))
    slow.approve("o", Result("citizen_id", "x"))
    story.feed(slow, when=at(days=2))
    case.complete()
    story.feed(case, when=at(days=2))
    city, province = stats.view.figures("4306", "2026-03"), stats.view.figures("43", "2026-03")
    for place in (city, province):
        assert (place.received, place.decided, place.completed) == (2, 2, 1)
        assert (place.median_hours, place.p90_hours) == (1.0, 48.0)  # pooled, not averaged
    assert stats.view.figures("430611", "2026-03").median_hours == 48.0
    assert stats.view.figures("42", "2026-03").received == 0


def test_weekends_do_not_count_and_late_decisions_are_not_on_time(
    stats: LocalityStatsProjection,
) -> None:
    story = Story(stats)
    case = new_case()
    request = new_request(case, HUKOU)
    request.dispatch(DispatchPayload())
    story.feed(case, request)
    request.receive("o", "R-1", "2026-03-09", False)
    story.feed(request, when=at(days=4))  # Friday 6 March
    request.reject("o", "no residence permit", "rule 3")
    story.feed(request, when=at(days=8))  # Tuesday 10 March: a day late
    figures = stats.view.figures("420102", "2026-03")
    assert (figures.decided, figures.rejected, figures.on_time_rate) == (1, 1, 0.0)
    assert (figures.median_working_days, figures.median_hours) == (2, 96.0)


def test_months_are_counted_in_china_time(stats: LocalityStatsProjection) -> None:
    story = Story(stats)
    case = new_case()
    request = new_request(case, VACCINATION)
    request.dispatch(DispatchPayload())
    story.feed(case, request)
    request.receive("o", "R-1", "2026-04-10", False)
    story.feed(request, when=datetime(2026, 3, 31, 17, 0, tzinfo=UTC))  # 1 April, 01:00 CST
    assert stats.view.figures("430602", "2026-04").received == 1
    assert stats.view.figures("430602", "2026-03").received == 0
    empty = stats.view.figures("430602", "2026-03")
    assert (empty.median_hours, empty.on_time_rate, empty.average_rating) == (None, None, None)


def test_figures_hold_no_personal_data(stats: LocalityStatsProjection) -> None:
    a_full_story(Story(stats))
    dumped = str(stats.view.dump())
    facts = make_facts()
    for secret in (facts.mother.name, facts.mother.citizen_id, "张小明", "slow"):
        assert secret is not None
        assert secret not in dumped


def test_a_case_flows_from_its_birth_province_to_its_hukou_province(
    flows: FlowsProjection,
) -> None:
    story = Story(flows)
    story.feed(new_case("MR-1"), new_case("MR-2"))
    (flow,) = flows.view.flows("2026-03")
    assert (flow.birth_province, flow.hukou_province, flow.cases) == ("43", "42", 2)
    assert flow.to_dict()["cross_province"] is True
    assert flows.view.flows("2026-03", province="11") == []


def test_a_new_choice_or_a_void_moves_the_count(flows: FlowsProjection) -> None:
    story = Story(flows)
    father = Parent(hukou_division="110101")
    case, other = new_case("MR-1", father=father), new_case("MR-2")
    story.feed(case, other)
    case.apply(FamilyApplication("王小明", "father", "430602", None, consent=True))
    story.feed(case)
    counts = {(f.birth_province, f.hukou_province): f.cases for f in flows.view.flows("2026-03")}
    assert counts == {("43", "11"): 1, ("43", "42"): 1}
    other.void("m-void", "entered-in-error")
    story.feed(other)
    assert [(f.hukou_province, f.cases) for f in flows.view.flows("2026-03")] == [("11", 1)]
    assert len(flows.view.dump()["counts"]) == 1  # no rows left at zero


def test_a_correction_of_the_birth_place_moves_the_count(flows: FlowsProjection) -> None:
    story = Story(flows)
    case = new_case()
    story.feed(case)
    corrected = make_facts(birth_division="440305")
    case.correct("m-2", corrected, ["birth_division"])
    story.feed(case)
    assert [(f.birth_province, f.cases) for f in flows.view.flows("2026-03")] == [("44", 1)]


def test_materials_count_where_and_when_received_and_the_answers_when_given(
    stats: LocalityStatsProjection,
) -> None:
    """A hand count of a_full_story on materials.json: the hukou request (received at the
    Yueyang window 430602, decided in Wuhan 420102: across provinces) requires its 6
    materials and the 2 cross-province ones, 3 satisfied by sharing (the birth certificate's
    e-certificate, both parents' IDs), 5 by the family (1 its application's household); the
    notice asks for 2 of those listed (the residence permit, the commitment letter): on
    notice, not required again; the vaccination request (Yueyang) requires 4, 3 by sharing,
    1 the family's application answer (its residence)."""
    a_full_story(Story(stats))
    wuhan = stats.view.figures("420102", "2026-03").materials
    assert wuhan == {
        "required": 8,
        "by_family": 5,
        "by_sharing": 3,
        "shared": 2,
        "certificate": 1,
        "in_application": 1,
        "on_notice": 2,
        "sharing_rate": 0.375,
    }
    yueyang = stats.view.figures("430602", "2026-03").materials
    assert (yueyang["required"], yueyang["by_family"], yueyang["by_sharing"]) == (4, 1, 3)
    assert (yueyang["shared"], yueyang["certificate"], yueyang["sharing_rate"]) == (2, 1, 0.75)
    hubei, hunan = stats.view.figures("42", "2026-03"), stats.view.figures("4306", "2026-03")
    assert (hubei.materials["required"], hunan.materials["required"]) == (8, 4)
    nothing = stats.view.figures("420102", "2026-04").materials
    assert (nothing["required"], nothing["sharing_rate"]) == (0, None)


HUKOU_HERE = route("household-registration", "public-security", "420102", "420102")


def test_a_notice_counts_what_the_office_asked_not_the_familys_free_text(
    stats: LocalityStatsProjection,
) -> None:
    """The reviewer's case: a same-province hukou registration requires 6 (3 the family's);
    the office's notice asks for the hukou booklet (listed) and a proof of address (not
    listed), the family answers with its own list: the booklet counts once on notice and
    not again as required, the proof of address once as required and the family's."""
    story, case = Story(stats), new_case()
    hukou = new_request(case, HUKOU_HERE)
    hukou.dispatch(DispatchPayload())
    hukou.receive("o", "R-1", "2026-03-09", False)
    story.feed(case, hukou)
    base = stats.view.figures("420102", "2026-03").materials
    assert (base["required"], base["by_family"], base["on_notice"]) == (6, 3, 0)
    asked = ["户口簿", "hukou-booklet", "Proof of address", "proof  of address"]
    hukou.request_supplement("o", asked)
    story.feed(hukou, when=at(days=1))
    pending = stats.view.figures("420102", "2026-03").materials
    assert (pending["required"], pending["on_notice"]) == (6, 0)  # counted when answered
    hukou.supplement(
        ["户口簿", "户口簿", "hukou-booklet", *(f"p{n}" for n in range(27))], "x", False
    )
    story.feed(hukou, when=at(days=2))
    answered = stats.view.figures("420102", "2026-03").materials
    assert (answered["required"], answered["by_family"], answered["on_notice"]) == (7, 4, 2)
    assert answered["by_sharing"] == 3
    assert stats.view.figures("42", "2026-03").materials == answered


def test_a_resubmission_does_not_count_its_services_list_again(
    stats: LocalityStatsProjection,
) -> None:
    """Each attempt is a new request (received again, decided again), but the Wenzhou
    measure is per matter: the materials of a resubmitted service count once, with its
    first attempt; what a notice on the resubmission asks for still counts."""
    story, case = Story(stats), new_case()
    first = new_request(case, HUKOU_HERE)
    first.dispatch(DispatchPayload())
    first.receive("o", "R-1", "2026-03-09", False)
    first.reject("o", "no booklet", "Art. 38")
    story.feed(case, first)
    again = ServiceRequest(case.id, HUKOU_HERE.service, HUKOU_HERE, attempt=2, resubmits=first.id)
    first.resubmit(again.id, "family")
    again.dispatch(DispatchPayload())
    again.receive("o", "R-2", "2026-03-12", False)
    story.feed(first, again, when=at(days=1))
    figures = stats.view.figures("420102", "2026-03")
    assert figures.received == 2
    assert (figures.materials["required"], figures.materials["by_sharing"]) == (6, 3)
    again.request_supplement("o", ["结婚证", "出生证明原件"])
    story.feed(again, when=at(days=2))
    again.supplement(["ok"], "2026-03-16", False)
    story.feed(again, when=at(days=3))
    materials = stats.view.figures("420102", "2026-03").materials
    assert (materials["required"], materials["by_family"], materials["on_notice"]) == (7, 4, 2)
