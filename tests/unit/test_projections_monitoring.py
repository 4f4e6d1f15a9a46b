"""locality_stats and flows on in-memory views: the monitor's figures, from event times only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.births.facts import Parent
from domain.births.family_application import FamilyApplication
from domain.kernel.disclosure import DispatchPayload
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
    assert (wuhan.completed, wuhan.ratings, wuhan.average_rating, wuhan.bad_ratings) == (
        1,
        1,
        2.0,
        1,
    )
    # received Monday 11:00, decided Friday 11:00 China time: 96 hours, 4 working days
    assert (wuhan.median_hours, wuhan.p90_hours) == (96.0, 96.0)
    assert (wuhan.median_working_days, wuhan.on_time_rate) == (4, 1.0)
    yueyang = stats.view.figures("430602", "2026-03")
    assert (yueyang.received, yueyang.completed) == (1, 1)
    assert stats.view.months("420102") == ["2026-03"]


def test_a_bad_rating_opens_a_follow_up_for_each_handling_locality(
    stats: LocalityStatsProjection,
) -> None:
    case, _, _ = a_full_story(Story(stats))  # the family rates it 2
    for locality in ("420102", "430602"):
        follow_ups = stats.view.follow_ups(locality, "2026-03")
        assert [(f.case_id, f.score) for f in follow_ups] == [(str(case.id), 2)]
    assert stats.view.follow_ups("420102", "2026-04") == []


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
