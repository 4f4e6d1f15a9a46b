"""The access and visibility rules (domain/kernel/access.py), without HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest

from domain.kernel import access
from domain.kernel.actors import Principal
from domain.kernel.disclosure import DispatchPayload
from domain.kernel.routing import PlannedService, Route
from domain.kernel.service_request import ServiceRequest

FACILITY = "91430602MA4L1234X5"
HUKOU_ROUTE = {
    "authority": "public-security",
    "handling_locality": "420102",
    "receiving_locality": "430602",
    "mode": "off-site",
}
CERT_ROUTE = {
    "authority": "health",
    "handling_locality": "430602",
    "receiving_locality": "430602",
    "mode": "local",
}


def a_route(service: str, fields: dict[str, str]) -> Route:
    """A route as a plan gives it, with the fields a test names."""
    planned = PlannedService(
        service=service,
        authority=fields["authority"],
        handling_locality=fields["handling_locality"],
        receiving_locality=fields["receiving_locality"],
        mode=fields["mode"],
        depends_on=(),
        time_limit_days=5,
        manual_routing=False,
        route_note="",
    )
    return Route(planned, "test", "test")


@dataclass(frozen=True)
class Case:
    id: UUID
    facility_uscc: str


def who(role: str, scope: str, authority: str | None = None) -> Principal:
    return Principal(uuid4(), role, scope, authority)


@pytest.fixture
def case() -> Case:
    return Case(uuid4(), FACILITY)


def requests_of(case: Case) -> list[ServiceRequest]:
    return [
        ServiceRequest(
            case.id, "household-registration", a_route("household-registration", HUKOU_ROUTE)
        ),
        ServiceRequest(case.id, "birth-certificate", a_route("birth-certificate", CERT_ROUTE)),
    ]


def test_may_call_opens_a_route_to_its_roles_and_the_admin() -> None:
    assert access.may_call(who("office", "430602", "health"), ("office", "family"))
    assert access.may_call(who("admin", "-"), ("office",))
    assert not access.may_call(who("monitor", "43"), ("office", "family"))
    assert access.may_call(who("monitor", "43"), ())


@pytest.mark.parametrize(
    ("principal", "sees"),
    [
        (who("admin", "-"), True),
        (who("hospital", FACILITY), True),
        (who("hospital", "91110000MA00000000"), False),
        (who("office", "420102", "public-security"), True),  # handles the hukou request
        (who("office", "430602", "public-security"), True),  # receives it
        (who("office", "420102", "health"), False),
        (who("office", "110101", "public-security"), False),
        (who("monitor", "national"), False),
    ],
)
def test_who_may_see_a_case(case: Case, principal: Principal, sees: bool) -> None:
    assert access.may_see(principal, case, requests_of(case)) is sees


def test_a_family_sees_its_own_case_only(case: Case) -> None:
    assert access.may_see(who("family", str(case.id)), case, [])
    assert not access.may_see(who("family", str(uuid4())), case, [])
    assert access.foreign_case(who("family", str(uuid4())), case.id)
    assert not access.foreign_case(who("family", str(case.id)), case.id)
    assert not access.foreign_case(who("admin", "-"), case.id)


def test_an_office_sees_only_its_own_requests(case: Case) -> None:
    requests = requests_of(case)
    police = who("office", "430602", "public-security")
    assert [r.service for r in access.visible_requests(police, requests)] == [
        "household-registration"
    ]
    assert access.visible_requests(who("hospital", FACILITY), requests) == requests


@pytest.mark.parametrize(
    ("scope", "action", "allowed"),
    [
        ("430602", "receive", True),  # the receiving window receives
        ("420102", "receive", False),
        ("420102", "approve", True),  # the handling office decides
        ("430602", "approve", False),
        ("430602", "request-supplement", True),
        ("420102", "request-supplement", True),
        ("420102", "reject", True),
    ],
)
def test_which_office_acts(case: Case, scope: str, action: str, allowed: bool) -> None:
    hukou = requests_of(case)[0]
    assert access.may_act(who("office", scope, "public-security"), hukou, action) is allowed
    assert not access.may_act(who("office", scope, "health"), hukou, action)


def test_before_acceptance_only_the_receiving_window_gives_the_notice(case: Case) -> None:
    hukou = requests_of(case)[0]
    hukou.dispatch(DispatchPayload(), "2026-12-07", "2026-12-14", False)
    window, deciding = (who("office", s, "public-security") for s in ("430602", "420102"))
    assert access.may_act(window, hukou, "request-supplement")
    assert not access.may_act(deciding, hukou, "request-supplement")


def test_a_family_only_supplements_its_own_case(case: Case) -> None:
    hukou = requests_of(case)[0]
    own = who("family", str(case.id))
    assert access.may_act(own, hukou, "supplement")
    assert not access.may_act(own, hukou, "approve")
    assert not access.may_act(who("family", str(uuid4())), hukou, "supplement")
    assert access.may_act(who("admin", "-"), hukou, "approve")


def test_an_office_reads_its_own_queue() -> None:
    office = who("office", "430602", "health")
    assert access.may_read_queue(office, "430602", "health")
    assert not access.may_read_queue(office, "430602", "cdc")
    assert not access.may_read_queue(office, "420102", "health")
    assert access.may_read_queue(who("admin", "-"), "420102", "cdc")
    assert not access.may_read_queue(who("admin", "-"), "420102", "no-such-authority")


def test_monitors_see_their_province_or_the_nation() -> None:
    assert access.covers(who("monitor", "43"), "430602")
    assert not access.covers(who("monitor", "42"), "430602")
    assert access.covers(who("monitor", "national"), "430602")
    assert access.may_see_flow(who("monitor", "42"), "43", "42")
    assert not access.may_see_flow(who("monitor", "11"), "43", "42")
    assert access.may_see_flow(who("admin", "-"), "43", "42")


def test_the_mothers_verifier_is_her_citizen_ids_last_six_or_her_phone() -> None:
    citizen_id, phone = "43060219940308122X", "13800138000"
    assert access.holds_verifier(citizen_id, phone, " 08122x ")
    assert access.holds_verifier(citizen_id, phone, "13800138000")
    assert not access.holds_verifier(citizen_id, phone, "081221")
    assert not access.holds_verifier(None, None, "")


def test_only_the_family_rates_its_own_case(case: Case) -> None:
    assert access.may_rate(who("family", str(case.id)), case.id)
    assert not access.may_rate(who("family", str(uuid4())), case.id)
    assert not access.may_rate(who("admin", "-"), case.id)


def test_a_hospital_reads_its_own_facility_whatever_it_names() -> None:
    assert access.facility_read(who("hospital", FACILITY), "91110000MA00000000") == FACILITY
    assert access.facility_read(who("admin", "-"), "91110000MA00000000") == "91110000MA00000000"
