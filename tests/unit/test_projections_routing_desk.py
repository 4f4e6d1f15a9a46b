"""routing_desk: a request is on its province's desk while it waits for manual routing, due
the desk's working days after it was parked; a route or a withdrawal takes it off."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.births.catalog import load_catalog
from domain.kernel.routing_desk import desk_route
from projections.routing_desk import InMemoryRoutingDesk, RoutingDeskProjection
from tests.unit.test_projections_support import Story, at, new_case, new_request, route

PARKED = route("household-registration", "public-security", "420102", "420102", None)
HUKOU = load_catalog()["household-registration"]


@pytest.fixture
def projection() -> RoutingDeskProjection:
    return RoutingDeskProjection(InMemoryRoutingDesk())


def test_a_parked_request_waits_at_its_desk_until_routed(projection: RoutingDeskProjection) -> None:
    story = Story(projection)
    case = new_case()
    request = new_request(case, PARKED)
    story.feed(request)  # Monday 2 March 2026
    view = projection.view
    page = view.desk("42")
    assert page.total == 1
    row = page.rows[0]
    assert (row.desk, row.handling_locality, row.family_locality) == ("42", "420102", "420102")
    assert (row.case_id, row.service) == (str(case.id), "household-registration")
    assert (row.due, row.overdue) == ("2026-03-04", False)  # 2 working days from the day after
    assert view.desk("national").total == 1
    assert view.desk("44").total == 0
    assert view.waiting(handling_locality="420102") == view.waiting(desk="42") == 1

    request.warn_routing(row.due)
    story.feed(request, when=at(days=3))
    assert view.desk("42").rows[0].overdue

    routed = desk_route(PARKED, HUKOU, "420102", "440304", "off-site")
    request.route_by_desk(routed, "coordinator:1", "MPS platform")
    story.feed(request, when=at(days=3))
    assert view.waiting() == 0


def test_a_replan_parks_or_unparks_and_a_withdrawal_takes_it_off(
    projection: RoutingDeskProjection,
) -> None:
    story = Story(projection)
    routed = replace(PARKED, planned=replace(PARKED.planned, manual_routing=False, mode="joint"))
    request = new_request(new_case(), routed)
    story.feed(request)
    assert projection.view.waiting() == 0
    request.replan(PARKED)
    story.feed(request, when=at(days=1))
    assert projection.view.desk("42").rows[0].parked_since == at(days=1).isoformat()
    request.withdraw("voided")
    story.feed(request, when=at(days=2))
    assert projection.view.waiting() == 0
