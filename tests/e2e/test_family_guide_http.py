"""Over HTTP: the division picker (public, cached, names as of the date) and the family's
guide (progress, why a service waits, where and how to collect), SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.births.commands import NotifyBirth
from tests.conftest import make_facts


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def test_the_picker_lists_each_level_named_as_of_the_date(client: TestClient) -> None:
    provinces = client.get("/divisions")
    assert provinces.status_code == 200
    assert provinces.headers["Cache-Control"] == "public, max-age=86400"
    assert {"code": "430000", "name": "湖南省"} in provinces.json()["divisions"]
    cities = client.get("/divisions", params={"parent": "43"}).json()
    assert (cities["level"], cities["parent"]["name"]) == ("city", "湖南省")
    counties = client.get("/divisions", params={"parent": "430600", "on": "2026-11-20"}).json()
    assert {"code": "430602", "name": "岳阳楼区"} in counties["divisions"]
    assert [p["name"] for p in counties["path"]] == ["湖南省", "岳阳市"]
    back_then = client.get("/divisions", params={"parent": "4306", "on": "1990-05-01"}).json()
    assert {"code": "430602", "name": "南区"} in back_then["divisions"]


def test_a_malformed_picker_query_is_a_chinese_problem(client: TestClient) -> None:
    zh = {"Accept-Language": "zh-CN"}
    bad_day = client.get("/divisions", params={"on": "yesterday"}, headers=zh)
    assert (bad_day.status_code, bad_day.json()["parameter"]) == (422, "on")
    assert bad_day.json()["detail"] == "日期格式为 YYYY-MM-DD"
    bad_parent = client.get("/divisions", params={"parent": "430602"}, headers=zh)
    assert (bad_parent.status_code, bad_parent.json()["parameter"]) == (422, "parent")
    assert bad_parent.headers["Content-Language"] == "zh-CN"


def test_the_guide_shows_progress_waits_and_collection(
    client: TestClient, container: Container
) -> None:
    outcome = container.ledger.notify_birth(NotifyBirth("m-1", make_facts(), b"{}"))
    container.after_command()
    _, token = container.actors.add("family", str(outcome.case_id))
    family = {"Authorization": f"Bearer {token}"}
    application: dict[str, object] = {"child_name": "王小明", "household": "mother"}
    application |= {"residence_division": "430602", "consent": True}
    url = f"/cases/{outcome.case_id}"
    assert client.post(f"{url}/family-application", json=application, headers=family).is_success
    container.tick()
    guide = client.get(f"{url}/guide", headers=family)
    assert guide.status_code == 200, guide.text
    body = guide.json()
    assert body["progress"]["total"] == len(body["services"]) > 0
    assert body["progress"]["done"] == 0
    services = {s["service"]: s for s in body["services"]}
    hukou = services["household-registration"]
    assert [w["service"] for w in hukou["waits_on"]] == ["birth-certificate"]
    assert hukou["collect"]["office"][0].endswith("户籍窗口")
    assert hukou["collect"]["bring"]
    assert client.get(f"{url}/guide").status_code == 401
