"""Routing rules: handling and receiving localities, modes and manual routing, per service."""

from __future__ import annotations

import pytest

from domain.births.catalog import load_catalog
from domain.births.planning import RoutingInputs
from domain.kernel.errors import InvalidApplicationError, InvalidIdentifierError
from domain.kernel.routing import Plan, PlannedService, plan_services, relation
from domain.wings import load_alliance

YUEYANGLOU, YUNXI, JIANGAN, FURONG = "430602", "430603", "420102", "430102"
JINSHAN, PINGHU, YUZHONG, NANMING = "310116", "330482", "500103", "520102"
DONGCHENG, CHAOYANG, DAOLI, SHINAN, XI_AN = "110101", "110105", "230102", "370202", "610102"


def plan(
    birth: str,
    residence: str,
    hukou: str,
    *,
    insured: str | None = None,
    mother_insured: str | None = None,
) -> Plan:
    inputs = RoutingInputs(birth, residence, "mother", hukou, insured, mother_insured)
    return plan_services(inputs.places(), load_catalog(), load_alliance())


def planned(result: Plan, code: str) -> PlannedService:
    service = result.service(code)
    assert service is not None
    return service


def route(service: PlannedService) -> tuple[str, str, str | None, bool]:
    return (
        service.handling_locality,
        service.receiving_locality,
        service.mode,
        service.manual_routing,
    )


def test_yueyang_birth_with_wuhan_hukou() -> None:
    result = plan(YUEYANGLOU, YUEYANGLOU, JIANGAN)
    hukou = planned(result, "household-registration")
    assert route(hukou) == (JIANGAN, YUEYANGLOU, "off-site", False)
    assert hukou.authority == "public-security"
    assert hukou.depends_on == ("birth-certificate",)
    assert "Yueyang hub" in hukou.route_note
    assert route(planned(result, "birth-certificate")) == (YUEYANGLOU, YUEYANGLOU, "online", False)
    assert planned(result, "vaccination").handling_locality == YUEYANGLOU
    for code in ("medical-insurance", "social-security-card"):
        assert route(planned(result, code)) == (JIANGAN, YUEYANGLOU, "online", False)


def test_plan_records_versions_and_dependency_order() -> None:
    result = plan(YUEYANGLOU, YUEYANGLOU, JIANGAN)
    assert (result.catalog_version, result.alliance_version) == ("2026.1", "2026.1")
    assert [s.service for s in result.services] == [
        "birth-certificate",
        "vaccination",
        "household-registration",
        "medical-insurance",
        "social-security-card",
    ]
    assert planned(result, "social-security-card").depends_on == ("medical-insurance",)
    assert planned(result, "household-registration").time_limit_days == 5


def test_unroutable_hukou_is_planned_for_manual_routing() -> None:
    result = plan(DONGCHENG, DONGCHENG, DAOLI)  # Beijing and Heilongjiang: no members
    hukou = planned(result, "household-registration")
    assert route(hukou) == (DAOLI, DAOLI, None, True)
    assert "manual routing" in hukou.route_note
    insurance = planned(result, "medical-insurance")  # online needs no agreement
    assert route(insurance) == (DAOLI, DAOLI, "online", False)


def test_members_without_a_hukou_agreement_need_manual_routing() -> None:
    result = plan(SHINAN, SHINAN, XI_AN)  # Qingdao and Xi'an are members, not partners
    assert planned(result, "household-registration").manual_routing
    assert route(planned(result, "medical-insurance")) == (XI_AN, SHINAN, "online", False)


def test_hub_resident_with_a_non_member_hukou_needs_manual_routing() -> None:
    result = plan(YUEYANGLOU, YUEYANGLOU, DAOLI)
    assert planned(result, "household-registration").manual_routing


def test_yangtze_river_delta_and_south_west_hukou() -> None:
    yrd = planned(plan(JINSHAN, JINSHAN, PINGHU), "household-registration")
    assert route(yrd) == (PINGHU, JINSHAN, "off-site", False)
    south_west = planned(plan(YUZHONG, YUZHONG, NANMING), "household-registration")
    assert route(south_west) == (NANMING, YUZHONG, "off-site", False)


def test_same_county_hukou_is_joint_because_it_is_never_online() -> None:
    result = plan(YUEYANGLOU, YUEYANGLOU, YUEYANGLOU)
    assert route(planned(result, "household-registration")) == (
        YUEYANGLOU,
        YUEYANGLOU,
        "joint",
        False,
    )
    assert planned(result, "medical-insurance").mode == "online"


def test_same_city_is_joint_and_received_at_the_handling_county() -> None:
    result = plan(YUEYANGLOU, YUEYANGLOU, YUNXI)
    assert route(planned(result, "household-registration")) == (YUNXI, YUNXI, "joint", False)
    assert route(planned(result, "medical-insurance")) == (YUNXI, YUNXI, "joint", False)


def test_same_province_with_an_agreement_is_joint_and_received_at_home() -> None:
    result = plan(YUEYANGLOU, YUEYANGLOU, FURONG)  # Changsha hukou, the hub's agreement
    hukou = route(planned(result, "household-registration"))
    assert hukou == (FURONG, YUEYANGLOU, "joint", False)


def test_birth_certificate_stays_at_the_birth_place() -> None:
    result = plan(JIANGAN, YUEYANGLOU, JIANGAN)  # born in Wuhan, living in Yueyang
    certificate = planned(result, "birth-certificate")
    assert route(certificate) == (JIANGAN, JIANGAN, "online", False)
    assert planned(result, "vaccination").handling_locality == YUEYANGLOU


def test_explicit_insured_place_overrides_the_hukou_default() -> None:
    result = plan(YUEYANGLOU, YUEYANGLOU, JIANGAN, insured=YUEYANGLOU)
    assert route(planned(result, "medical-insurance")) == (
        YUEYANGLOU,
        YUEYANGLOU,
        "online",
        False,
    )
    assert planned(result, "social-security-card").handling_locality == YUEYANGLOU


def test_maternity_benefits_only_with_the_mothers_insured_place() -> None:
    assert plan(YUEYANGLOU, YUEYANGLOU, JIANGAN).service("maternity-benefits") is None
    result = plan(DONGCHENG, DONGCHENG, DAOLI, mother_insured=CHAOYANG)
    maternity = planned(result, "maternity-benefits")
    assert route(maternity) == (CHAOYANG, CHAOYANG, "joint", False)
    assert maternity.depends_on == ("birth-certificate",)
    assert maternity.authority == "medical-insurance"


def test_plans_are_deterministic_and_round_trip() -> None:
    first = plan(YUEYANGLOU, YUEYANGLOU, JIANGAN, mother_insured=FURONG)
    second = plan(YUEYANGLOU, YUEYANGLOU, JIANGAN, mother_insured=FURONG)
    assert first == second
    assert Plan.from_dict(first.to_dict()) == first
    assert first.to_dict() == second.to_dict()


def test_relation_levels() -> None:
    assert relation(YUEYANGLOU, YUEYANGLOU) == "same county"
    assert relation(YUEYANGLOU, YUNXI) == "same city"
    assert relation(YUEYANGLOU, FURONG) == "same province"
    assert relation(YUEYANGLOU, JIANGAN) == "cross-province"
    assert relation(YUZHONG, "500241") == "same province"  # Chongqing districts vs counties


def test_invalid_inputs_are_refused() -> None:
    with pytest.raises(InvalidApplicationError):
        RoutingInputs(YUEYANGLOU, YUEYANGLOU, "grandmother", JIANGAN)
    with pytest.raises(InvalidIdentifierError):
        RoutingInputs(YUEYANGLOU, "99", "mother", JIANGAN)
    with pytest.raises(InvalidIdentifierError):
        RoutingInputs(YUEYANGLOU, YUEYANGLOU, "father", JIANGAN, insured_division="9x0000")
