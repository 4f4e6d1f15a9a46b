"""The routing desk's rules (domain/kernel/routing_desk.py), its request steps, who sees and
routes what, and the online mode's receiving office, without HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from uuid import uuid4

import pytest

from domain.births.catalog import load_catalog
from domain.kernel import access
from domain.kernel.actors import InvalidActorError, Principal, normalise_scope
from domain.kernel.errors import InvalidIdentifierError, InvalidRouteError, InvalidTransitionError
from domain.kernel.routing import PlannedService, Route
from domain.kernel.routing_desk import desk_due, desk_of, desk_route, on_desk, parked_at
from domain.kernel.service_request import RequestState, ServiceRequest

HUKOU = load_catalog()["household-registration"]
CARD = load_catalog()["social-security-card"]
PARKED = PlannedService(
    "household-registration", "public-security", "420102", "420102", None,
    ("birth-certificate",), 5, True, "manual routing needed",
)  # fmt: skip
ROUTE = Route(PARKED, "2026.1", "2026.1", "2020.35-1")


def who(role: str, scope: str, authority: str | None = None) -> Principal:
    return Principal(uuid4(), role, scope, authority)


def test_a_desk_route_keeps_the_rest_of_the_route_and_names_the_desk() -> None:
    routed = desk_route(ROUTE, HUKOU, "420102", "440304", "off-site")
    planned = routed.planned
    assert (planned.handling_locality, planned.receiving_locality) == ("420102", "440304")
    assert (planned.mode, planned.manual_routing) == ("off-site", False)
    assert planned.depends_on == ("birth-certificate",)
    assert routed.by_desk
    assert not ROUTE.by_desk
    assert routed.national_list_version == "2020.35-1"


def test_the_handling_place_is_the_one_its_rule_names() -> None:
    """The desk chooses where and how a request is received; who decides never moves."""
    for elsewhere in ("420103", "420106", "430602"):  # another county of Wuhan, or another city
        with pytest.raises(InvalidRouteError, match="handling rule"):
            desk_route(ROUTE, HUKOU, elsewhere, "440304", "off-site")


@pytest.mark.parametrize(
    ("handling", "receiving", "mode", "error"),
    [
        ("420102", "440304", "online", InvalidRouteError),  # hukou is never online
        ("420102", "440304", "by-post", InvalidRouteError),
        ("420102", "420102", "off-site", InvalidRouteError),  # off-site is received elsewhere
        ("42010", "440304", "off-site", InvalidIdentifierError),
        ("420102", "990304", "off-site", InvalidIdentifierError),  # no province 99
        ("420102", "440399", "off-site", InvalidIdentifierError),  # no such county
        ("420102", "440300", "off-site", InvalidIdentifierError),  # a city, not a county
        ("420199", "440304", "off-site", InvalidIdentifierError),
        ("420102", "44030\uff14", "off-site", InvalidIdentifierError),  # a full-width digit
    ],
)
def test_a_desk_route_breaking_the_reference_data_is_refused(
    handling: str, receiving: str, mode: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        desk_route(ROUTE, HUKOU, handling, receiving, mode)


def test_an_online_route_is_received_by_the_handling_office() -> None:
    card = Route(replace(PARKED, service="social-security-card", authority="hrss"), "t", "t")
    with pytest.raises(InvalidRouteError, match="handling office itself"):
        desk_route(card, CARD, "420102", "440304", "online")
    assert desk_route(card, CARD, "420102", "420102", "online").planned.mode == "online"


def test_the_desk_is_the_handling_province_and_the_national_desk_sees_all() -> None:
    assert desk_of("420102") == "42"
    assert on_desk("42", "42")
    assert on_desk("42", "national")
    assert not on_desk("42", "44")


def test_the_desk_due_counts_working_days_from_the_day_after() -> None:
    due = desk_due(date(2026, 12, 4), 2)  # a Friday
    assert due.date == date(2026, 12, 8)


def test_parked_since_is_the_first_manual_route_since_the_last_routed_one() -> None:
    t0 = datetime(2026, 12, 7, tzinfo=UTC)
    routed = Route(replace(PARKED, manual_routing=False, mode="off-site"), "t", "t")

    def at(days: int, route: Route) -> SimpleNamespace:
        return SimpleNamespace(route=route, timestamp=t0 + timedelta(days=days))

    assert parked_at([at(0, ROUTE), at(1, ROUTE)]) == t0
    assert parked_at([at(0, ROUTE), at(1, routed)]) is None
    assert parked_at([at(0, routed), at(2, ROUTE)]) == t0 + timedelta(days=2)
    assert parked_at([SimpleNamespace(timestamp=t0)]) is None


def test_a_request_is_routed_at_the_desk_once_and_only_while_waiting() -> None:
    request = ServiceRequest(uuid4(), "household-registration", ROUTE)
    assert request.parked
    routed = desk_route(ROUTE, HUKOU, "420102", "440304", "off-site")
    with pytest.raises(InvalidTransitionError, match="reason"):
        request.route_by_desk(routed, "coordinator:x", " ")
    request.route_by_desk(routed, "coordinator:x", "MPS platform")
    request.route_by_desk(routed, "coordinator:x", "MPS platform")  # the same: nothing new
    events = request.collect_events()
    assert [type(e).__name__ for e in events] == ["Planned", "Routed"]
    assert not request.parked
    assert request.route == routed
    request.dispatch(request.payload)
    with pytest.raises(InvalidTransitionError):
        request.route_by_desk(ROUTE, "coordinator:x", "again")
    other = ServiceRequest(uuid4(), "household-registration", routed)
    other_route = replace(routed, planned=replace(routed.planned, route_note="plan"))
    never = ServiceRequest(uuid4(), "household-registration", other_route)
    with pytest.raises(InvalidTransitionError, match="manual routing"):
        never.route_by_desk(routed, "coordinator:x", "why")
    other.route_by_desk(replace(routed, national_list_version=None), "coordinator:y", "re-route")
    assert other.state == RequestState.PLANNED


def test_the_routing_overdue_warning_is_recorded_once_while_parked() -> None:
    request = ServiceRequest(uuid4(), "household-registration", ROUTE)
    request.warn_routing("2026-12-09")
    request.warn_routing("2026-12-09")
    assert [type(e).__name__ for e in request.collect_events()][1:] == ["RoutingOverdue"]


def test_coordinators_see_their_desk_and_route_its_requests() -> None:
    request = ServiceRequest(uuid4(), "household-registration", ROUTE)
    hubei, guangdong = who("coordinator", "42"), who("coordinator", "44")
    national, admin = who("coordinator", "national"), who("admin", "all")
    assert access.may_see_desk(hubei, "42")
    assert not access.may_see_desk(hubei, "national")
    assert access.may_see_desk(admin, "44")
    assert access.may_see_desk(national, "national")
    assert not access.may_see_desk(who("monitor", "42"), "42")
    assert access.may_route(hubei, request)
    assert access.may_route(national, request)
    assert access.may_route(admin, request)
    assert not access.may_route(guangdong, request)
    assert not access.may_route(who("office", "420102", "public-security"), request)


def test_a_coordinator_scope_is_a_province_or_national() -> None:
    assert normalise_scope("coordinator", "42", None) == ("42", None)
    assert normalise_scope("coordinator", "national", None) == ("national", None)
    with pytest.raises(InvalidActorError, match="coordinator"):
        normalise_scope("coordinator", "420102", None)


def test_an_online_request_is_received_by_its_handling_office() -> None:
    online = replace(
        PARKED,
        service="medical-insurance",
        authority="medical-insurance",
        mode="online",
        receiving_locality="430602",
        manual_routing=False,
    )  # fmt: skip (a route stored before online requests were received where handled)
    request = ServiceRequest(uuid4(), "medical-insurance", Route(online, "t", "t"))
    handling = who("office", "420102", "medical-insurance")
    window = who("office", "430602", "medical-insurance")
    assert access.may_act(handling, request, "receive")
    assert access.may_act(window, request, "receive")  # the stored window may still
    off_site = ServiceRequest(uuid4(), "household-registration", Route(
        replace(PARKED, mode="off-site", receiving_locality="440304", manual_routing=False),
        "t", "t",
    ))  # fmt: skip
    hukou = who("office", "420102", "public-security")
    assert not access.may_act(hukou, off_site, "receive")  # off-site: the window receives
    assert access.may_act(hukou, off_site, "approve")
