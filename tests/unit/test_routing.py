"""Routing rules: handling and receiving localities, modes and manual routing, per service."""

from __future__ import annotations

import pytest

from domain.births.catalog import load_catalog
from domain.births.planning import RoutingInputs
from domain.kernel.errors import (
    InvalidApplicationError,
    InvalidIdentifierError,
    ReferenceDataError,
)
from domain.kernel.national_list import NationalList
from domain.kernel.routing import Plan, PlannedService, plan_services, relation
from domain.wings import load_alliance, load_national_list

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
    for code in ("medical-insurance", "social-security-card"):  # online: no window between
        assert route(planned(result, code)) == (JIANGAN, JIANGAN, "online", False)


def test_plan_records_versions_and_dependency_order() -> None:
    result = plan(YUEYANGLOU, YUEYANGLOU, JIANGAN)
    assert (result.catalog_version, result.alliance_version) == ("2026.2", "2026.2")
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
    assert route(hukou) == (DAOLI, DONGCHENG, None, True)  # the family's place, the desk decides
    assert "manual routing" in hukou.route_note
    insurance = planned(result, "medical-insurance")  # online needs no agreement
    assert route(insurance) == (DAOLI, DAOLI, "online", False)


def test_members_without_a_hukou_agreement_need_manual_routing() -> None:
    result = plan(SHINAN, SHINAN, XI_AN)  # Qingdao and Xi'an are members, not partners
    assert planned(result, "household-registration").manual_routing
    assert route(planned(result, "medical-insurance")) == (XI_AN, XI_AN, "online", False)


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


# --- the national 跨省通办 list ------------------------------------------------------------
SHENZHEN_FUTIAN, HARBIN_DAOLI, URUMQI_TIANSHAN = "440304", "230102", "650102"


def listed_plan(birth: str, residence: str, hukou: str) -> Plan:
    inputs = RoutingInputs(birth, residence, "mother", hukou)
    return plan_services(inputs.places(), load_catalog(), load_alliance(), load_national_list())


def test_the_list_routes_hukou_where_no_agreement_does() -> None:
    # Shenzhen (44) and Hubei (42): the alliance has Hunan corridors only
    assert (
        planned(plan(YUEYANGLOU, SHENZHEN_FUTIAN, JIANGAN), "household-registration").mode is None
    )
    result = listed_plan(YUEYANGLOU, SHENZHEN_FUTIAN, JIANGAN)
    hukou = planned(result, "household-registration")
    assert route(hukou) == (JIANGAN, SHENZHEN_FUTIAN, "off-site", False)
    assert "national 跨省通办 list" in hukou.route_note
    assert result.national_list_version == load_national_list().version


def test_the_list_routes_the_demo_harbin_to_urumqi_case() -> None:
    result = listed_plan(HARBIN_DAOLI, HARBIN_DAOLI, URUMQI_TIANSHAN)
    assert not any(s.manual_routing for s in result.services)
    assert route(planned(result, "household-registration")) == (
        URUMQI_TIANSHAN,
        HARBIN_DAOLI,
        "off-site",
        False,
    )
    card = planned(result, "social-security-card")  # listed online: the insured place receives
    assert route(card) == (URUMQI_TIANSHAN, URUMQI_TIANSHAN, "online", False)


def test_an_agreement_goes_before_the_list() -> None:
    hukou = planned(listed_plan(YUEYANGLOU, YUEYANGLOU, JIANGAN), "household-registration")
    assert "Yueyang hub" in hukou.route_note


def test_the_list_is_not_used_within_a_province() -> None:
    with_list = listed_plan(YUEYANGLOU, YUEYANGLOU, YUNXI)
    assert with_list.services == plan(YUEYANGLOU, YUEYANGLOU, YUNXI).services


def test_plans_keep_their_versions_and_old_ones_read_as_before_the_list() -> None:
    result = listed_plan(YUEYANGLOU, SHENZHEN_FUTIAN, JIANGAN)
    assert Plan.from_dict(result.to_dict()) == result
    old = plan(YUEYANGLOU, YUEYANGLOU, JIANGAN).to_dict()
    assert "national_list_version" not in old  # as stored before the list
    assert Plan.from_dict(old).national_list_version is None


def test_a_list_entry_must_name_a_mode_the_catalog_allows() -> None:
    data = {
        "version": "t",
        "source": "test",
        "services": [{"service": "household-registration", "item": "x", "mode": "online",
                      "basis": "b"}],
        "routing_desk": {"time_limit_days": 2, "basis": "b"},
    }  # fmt: skip
    with pytest.raises(ReferenceDataError, match="not allowed"):
        NationalList.from_dict(data, load_catalog())
    data["services"] = []
    with pytest.raises(ReferenceDataError, match="non-empty"):
        NationalList.from_dict(data, load_catalog())


def test_the_shipped_list_names_its_source_and_the_desk_limit() -> None:
    national = load_national_list()
    assert "2020" in national.source
    assert "35号" in national.source
    assert national.desk_days == 2
    assert set(national.entries) == {
        "household-registration",
        "social-security-card",
        "marital-status-check-a",
        "marital-status-check-b",
        "id-card-production",  # ID cards off-site: nationwide since 2022-10-31 (seed 002)
        "temporary-id-card",  # the 2022 opinion's 22 more matters
    }
    assert national.entries["household-registration"].provinces is None  # nationwide
    pilot = national.entries["marital-status-check-a"].provinces
    assert pilot is not None
    assert len(pilot) == 21
    assert {"31", "32", "33", "34"} <= pilot
    assert national.entries["id-card-production"].mode == "off-site"
