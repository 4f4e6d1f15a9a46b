"""Shipped reference data: the service catalog and the alliance, and their load-time checks."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from stdnum import numdb

from domain.births.catalog import VOCABULARY as BIRTHS
from domain.births.catalog import fact_fields, load_catalog
from domain.kernel.alliance import Alliance, city_of, known_city
from domain.kernel.catalog import MODES, Catalog, read_reference
from domain.kernel.errors import ReferenceDataError
from domain.wings import load_alliance

VOCABULARY = {
    "birth-certificate": ("health", "certificate_number"),
    "vaccination": ("cdc", "vaccination_record_number"),
    "household-registration": ("public-security", "citizen_id"),
    "medical-insurance": ("medical-insurance", "enrolment_number"),
    "social-security-card": ("hrss", "card_number"),
    "maternity-benefits": ("medical-insurance", "decision_number"),
}
REQUIRED_CITIES = {
    "430600",  # Yueyang (hub)
    "420100",  # Wuhan
    "430100",  # Changsha
    "520100",  # Guiyang
    "540100",  # Lhasa
    "500100",  # Chongqing (districts)
    "330300",  # Wenzhou
    "330400",  # Jiaxing
    "310100",  # Shanghai (districts)
    "440300",  # Shenzhen
}


def catalog_data() -> dict[str, Any]:
    data = read_reference("domain.births", "catalog.json")
    assert isinstance(data, dict)
    return copy.deepcopy(data)


def alliance_data() -> dict[str, Any]:
    data = read_reference("domain.kernel", "alliance.json")
    assert isinstance(data, dict)
    return copy.deepcopy(data)


def service_entry(data: dict[str, Any], code: str) -> dict[str, Any]:
    entry = next(s for s in data["services"] if s["code"] == code)
    assert isinstance(entry, dict)
    return entry


def test_catalog_is_versioned_and_cached() -> None:
    assert load_catalog().version == "2026.2"
    assert load_catalog() is load_catalog()


def test_catalog_uses_the_shared_vocabulary() -> None:
    catalog = load_catalog()
    assert set(catalog.codes) == set(VOCABULARY)
    for code, (authority, result) in VOCABULARY.items():
        assert (catalog[code].authority, catalog[code].result_field) == (authority, result)


def test_catalog_dag_and_inputs() -> None:
    catalog = load_catalog()
    assert catalog["birth-certificate"].depends_on == ()
    assert catalog["vaccination"].depends_on == ()
    assert catalog["household-registration"].depends_on == ("birth-certificate",)
    assert catalog["medical-insurance"].depends_on == ("household-registration",)
    assert catalog["social-security-card"].depends_on == ("medical-insurance",)
    assert catalog["maternity-benefits"].depends_on == ("birth-certificate",)
    assert "certificate_number" in catalog["household-registration"].inputs
    assert "citizen_id" in catalog["medical-insurance"].inputs
    assert "citizen_id" in catalog["social-security-card"].inputs
    assert catalog.producer_of("citizen_id") == "household-registration"
    assert set(catalog.dependents("birth-certificate")) == {
        "household-registration",
        "maternity-benefits",
    }


def test_catalog_order_respects_dependencies() -> None:
    codes = load_catalog().codes
    for service in load_catalog():
        assert all(codes.index(dep) < codes.index(service.code) for dep in service.depends_on)


def test_catalog_rules_modes_and_limits() -> None:
    catalog = load_catalog()
    rules = {s.code: s.handling_rule for s in catalog}
    assert rules["birth-certificate"] == "birth-place"
    assert rules["vaccination"] == "residence"
    assert rules["household-registration"] == "household-hukou"
    assert rules["maternity-benefits"] == "mother-insured-place"
    assert [s.code for s in catalog if s.optional] == ["maternity-benefits"]
    assert not catalog["household-registration"].allows("online")  # needs an agreement
    for service in catalog:
        assert set(service.modes) <= set(MODES)
        assert service.time_limit_days > 0
        assert "§" in service.basis


def test_visible_fields_minimise_data() -> None:
    catalog = load_catalog()
    known = fact_fields() | {s.result_field for s in catalog}
    for service in catalog:
        assert set(service.visible_fields) <= known
        assert set(service.inputs) <= set(service.visible_fields)
    assert "birth_weight_g" not in catalog["social-security-card"].visible_fields
    assert "mother.phone" in fact_fields()
    assert "gestation_weeks" not in catalog["household-registration"].visible_fields


@pytest.mark.parametrize(
    ("service", "key", "value", "pattern"),
    [
        ("vaccination", "modes", ["online", "fax"], r"service 'vaccination': unknown mode 'fax'"),
        ("birth-certificate", "depends_on", ["social-security-card"], "cycle"),
        ("vaccination", "depends_on", ["passport"], r"service 'vaccination'.*'passport'"),
        ("vaccination", "authority", "police", "unknown authority 'police'"),
        ("vaccination", "handling_rule", "anywhere", "unknown handling_rule"),
        ("vaccination", "time_limit_days", 0, "'time_limit_days' must be a positive"),
        ("household-registration", "depends_on", ["maternity-benefits"], "on an optional"),
        ("vaccination", "arrival_limit_days", 0, "'arrival_limit_days' must be a positive"),
        ("vaccination", "arrival_limit_days", "5", "'arrival_limit_days' must be a positive"),
        ("vaccination", "any_window", "yes", "'any_window' must be true or false"),
    ],
)
def test_bad_service_values_are_rejected(
    service: str, key: str, value: object, pattern: str
) -> None:
    data = catalog_data()
    service_entry(data, service)[key] = value
    with pytest.raises(ReferenceDataError, match=r"^catalog\.json: ") as raised:
        Catalog.from_dict(data, BIRTHS)
    assert re.search(pattern, str(raised.value))


def test_duplicate_service_code_is_rejected() -> None:
    data = catalog_data()
    data["services"].append(copy.deepcopy(service_entry(data, "vaccination")))
    with pytest.raises(ReferenceDataError, match="service 'vaccination': duplicate"):
        Catalog.from_dict(data, BIRTHS)


def test_unknown_visible_field_is_rejected() -> None:
    data = catalog_data()
    service_entry(data, "medical-insurance")["visible_fields"].append("mother.bank_account")
    with pytest.raises(ReferenceDataError, match=r"'mother\.bank_account'"):
        Catalog.from_dict(data, BIRTHS)


def test_input_without_a_producing_dependency_is_rejected() -> None:
    data = catalog_data()
    entry = service_entry(data, "vaccination")
    entry["inputs"] = ["citizen_id"]
    entry["visible_fields"].append("citizen_id")
    with pytest.raises(ReferenceDataError, match="'citizen_id' comes from no dependency"):
        Catalog.from_dict(data, BIRTHS)


def test_missing_version_is_rejected() -> None:
    data = catalog_data()
    del data["version"]
    with pytest.raises(ReferenceDataError, match="'version'"):
        Catalog.from_dict(data, BIRTHS)


def test_alliance_is_versioned_cached_and_sized() -> None:
    alliance = load_alliance()
    assert alliance.version == "2026.2"
    assert load_alliance() is alliance
    assert len(alliance.members) >= 40
    assert len(alliance.provinces) >= 15
    assert alliance.hub == "430600"
    assert {m.code for m in alliance.members} >= REQUIRED_CITIES


def test_every_member_code_is_in_stdnums_table() -> None:
    table = numdb.get("cn/loc")
    for member in load_alliance().members:
        info = table.info(member.code)
        assert len(info) == 2, member
        assert info[1][1].get("county"), member
        assert member.code.endswith("00")
        assert not member.code.endswith("0000")


def test_known_city_rejects_unknown_and_retired_codes() -> None:
    assert known_city("430600")
    assert not known_city("430699")  # not in the table
    assert not known_city("999900")  # no such province
    assert not known_city("430602")  # a county, not a city
    assert not known_city("430000")  # a province
    assert not known_city("310200")  # Shanghai's county group, retired in 2016


def test_city_of_maps_counties_and_municipal_groups() -> None:
    assert city_of("430602") == "430600"
    assert city_of("310116") == "310100"
    assert city_of("310230") == "310100"  # retired Chongming county, now a district
    assert city_of("500103") == "500100"
    assert city_of("500241") == "500200"


def test_hub_has_mutual_hukou_agreements_with_every_member() -> None:
    alliance = load_alliance()
    for member in alliance.members:
        if member.code == alliance.hub:
            continue
        there = alliance.agreement_for("430602", member.code, "household-registration")
        back = alliance.agreement_for(member.code, "430602", "household-registration")
        assert there is not None
        assert back is not None
        assert there.mode == back.mode == "off-site"


def test_regional_hukou_agreements() -> None:
    alliance = load_alliance()
    pairs = [("310116", "330482"), ("330482", "340102"), ("500103", "520102")]
    pairs += [("530102", "540102"), ("330302", "520102"), ("440304", "430102")]
    for receiving, handling in pairs:
        agreement = alliance.agreement_for(receiving, handling, "household-registration")
        assert agreement is not None, (receiving, handling)
        assert agreement.mode == "off-site"
        assert agreement.basis


def test_insurance_and_card_are_online_across_the_alliance() -> None:
    alliance = load_alliance()
    for service in ("medical-insurance", "social-security-card"):
        agreement = alliance.agreement_for("370202", "610102", service)
        assert agreement is not None
        assert agreement.mode == "online"


def test_no_agreement_outside_the_rules() -> None:
    alliance = load_alliance()
    assert alliance.agreement_for("370202", "610102", "household-registration") is None
    assert alliance.agreement_for("430602", "230102", "household-registration") is None
    assert alliance.agreement_for("430602", "430603", "household-registration") is None
    assert alliance.agreement_for("430602", "420102", "vaccination") is None
    assert not alliance.is_member("230102")
    assert alliance.is_member("310116")


def test_unknown_member_code_is_rejected() -> None:
    data = alliance_data()
    data["members"].append({"code": "430699", "name": "Nowhere"})
    with pytest.raises(ReferenceDataError, match=r"alliance\.json: member '430699'"):
        Alliance.from_dict(data, load_catalog())


def test_duplicate_member_is_rejected() -> None:
    data = alliance_data()
    data["members"].append({"code": "430600", "name": "Yueyang again"})
    with pytest.raises(ReferenceDataError, match="member '430600': duplicate"):
        Alliance.from_dict(data, load_catalog())


def test_unknown_service_in_an_agreement_is_rejected() -> None:
    data = alliance_data()
    data["agreements"][0]["services"] = ["passport"]
    with pytest.raises(ReferenceDataError, match=r"agreement 'Yueyang hub.*'passport'"):
        Alliance.from_dict(data, load_catalog())


def test_mode_the_service_does_not_allow_is_rejected() -> None:
    data = alliance_data()
    data["agreements"][0]["mode"] = "online"  # household registration is never online
    with pytest.raises(ReferenceDataError, match="mode 'online' is not allowed"):
        Alliance.from_dict(data, load_catalog())


def test_selector_matching_no_member_is_rejected() -> None:
    data = alliance_data()
    data["agreements"][1]["handling"] = ["23"]
    with pytest.raises(ReferenceDataError, match="'23' matches no member"):
        Alliance.from_dict(data, load_catalog())


def test_conflicting_agreements_are_rejected() -> None:
    data = alliance_data()
    rule = copy.deepcopy(data["agreements"][-1])
    rule.update(name="Conflict", mode="off-site", services=["social-security-card"])
    data["agreements"].append(rule)
    with pytest.raises(ReferenceDataError, match=r"agreement 'Conflict'.*already covered"):
        Alliance.from_dict(data, load_catalog())


def test_hub_must_be_a_member() -> None:
    data = alliance_data()
    data["hub"] = "230100"
    with pytest.raises(ReferenceDataError, match="hub '230100'"):
        Alliance.from_dict(data, load_catalog())
