"""The division picker's levels as of a date, and the family's guide to its case."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain.births.family_divisions import division_path, divisions, name_in
from domain.births.family_guide import family_guide, progress
from domain.kernel.errors import InvalidIdentifierError

TODAY = date(2026, 11, 20)


def test_names_follow_the_years_they_were_in_force() -> None:
    label = "[1984-1995]南区,[1996-]岳阳楼区"
    assert (name_in(label, 1990), name_in(label, 2026), name_in(label, 1980)) == (
        "南区",
        "岳阳楼区",
        None,
    )
    assert name_in("北京市", 1950) == "北京市"


def test_the_three_levels_of_the_picker() -> None:
    provinces = {d.code: d.name for d in divisions(None, TODAY)}
    assert provinces["430000"] == "湖南省"
    cities = {d.code: d.name for d in divisions("43", TODAY)}
    assert cities["430600"] == "岳阳市"
    assert all(code.endswith("00") for code in cities)
    counties = {d.code: d.name for d in divisions("4306", TODAY)}
    assert counties["430602"] == "岳阳楼区"
    assert "430601" not in counties  # 市辖区: not a place a family lives in
    assert divisions("430600", TODAY) == divisions("4306", TODAY)


def test_a_county_is_named_as_on_the_date_and_gone_when_retired() -> None:
    assert {d.code: d.name for d in divisions("4306", date(1990, 1, 1))}["430602"] == "南区"
    assert "310230" not in {d.code for d in divisions("3102", TODAY)}  # Chongming county, 2016
    assert [d.name for d in division_path("430602", TODAY)] == ["湖南省", "岳阳市", "岳阳楼区"]


@pytest.mark.parametrize("parent", ["4", "430602", "9x", "99", "89"])
def test_a_malformed_parent_is_refused(parent: str) -> None:
    if parent == "89":  # well formed, no such province: an empty level
        assert divisions(parent, TODAY) == []
        return
    with pytest.raises(InvalidIdentifierError):
        divisions(parent, TODAY)


def row(service: str, state: str, mode: str = "joint", **more: Any) -> dict[str, Any]:
    places = {"handling_locality": "420102", "receiving_locality": "430602"}
    return (
        {"service": service, "state": state, "mode": mode, "manual_routing": False} | places | more
    )


def test_progress_counts_what_is_done_and_what_ended() -> None:
    rows = [
        row("birth-certificate", "approved"),
        row("vaccination", "rejected"),
        row("household-registration", "received"),
        row("medical-insurance", "planned"),
    ]
    assert progress(rows) == {"done": 1, "ended": 1, "open": 2, "total": 4, "percent": 50}
    assert progress([])["percent"] == 0


def test_a_service_says_which_result_it_waits_for_and_where_to_collect_it() -> None:
    rows = [row("birth-certificate", "received", "online", handling_locality="430602"),
            row("household-registration", "planned", "off-site")]  # fmt: skip
    guide = {s["service"]: s for s in family_guide(rows)["services"]}
    [wait] = guide["household-registration"]["waits_on"]
    assert wait["service"] == "birth-certificate"
    assert wait["result_field"] == "certificate_number"
    assert wait["why"][0].startswith("等待「出生医学证明首次签发」办结")
    assert "Waiting for" in wait["why"][1]
    hukou = guide["household-registration"]["collect"]
    assert hukou["locality"] == "430602"  # off-site: collected where the family applied
    assert "户籍窗口" in hukou["office"][0]
    assert "岳阳楼区" in hukou["office"][0]
    assert hukou["visit"]
    assert any("户口簿" in zh for zh, _ in hukou["bring"])
    online = guide["birth-certificate"]["collect"]
    assert (online["visit"], online["bring"]) == (False, [])
    assert guide["birth-certificate"]["waits_on"] == []


def test_a_rejected_dependency_holds_the_service_and_no_route_no_collection() -> None:
    rows = [row("birth-certificate", "rejected"),
            row("household-registration", "blocked", manual_routing=True)]  # fmt: skip
    guide = {s["service"]: s for s in family_guide(rows)["services"]}
    [wait] = guide["household-registration"]["waits_on"]
    assert "不予办理" in wait["why"][0]
    assert guide["household-registration"]["collect"] is None
