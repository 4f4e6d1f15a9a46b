"""The family's application over HTTP: every problem of the form in one 422 (RFC 9457
`errors`, a JSON pointer each), in Chinese under zh-CN with the English beside (SQLite and
PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.births.commands import NotifyBirth
from tests.conftest import make_facts

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, close_on_shutdown=False)) as test_client:
        yield test_client


def family_case(container: Container) -> tuple[str, dict[str, str]]:
    outcome = container.ledger.notify_birth(NotifyBirth("m-1", make_facts(), b"{}"))
    container.after_command()
    _, token = container.actors.add("family", str(outcome.case_id))
    return f"/cases/{outcome.case_id}/family-application", {"Authorization": f"Bearer {token}"}


def by_pointer(problem: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["pointer"]: item for item in problem["errors"]}


def test_every_problem_of_the_form_comes_at_once_in_chinese(
    client: TestClient, container: Container
) -> None:
    url, family = family_case(container)
    body = {"household": "mother", "residence_division": "99", "consent": False}
    answer = client.post(url, json=body, headers=family | ZH)
    assert answer.status_code == 422
    assert answer.headers["Content-Language"] == "zh-CN"
    problem = answer.json()
    assert problem["type"] == "/problems/invalid-application"
    items = by_pointer(problem)
    assert set(items) == {"/child_name", "/residence_division", "/consent"}
    assert items["/child_name"]["detail"] == "请填写新生儿姓名"
    assert items["/child_name"]["detail_en"] == "'child_name' is required"
    assert "区县" in items["/residence_division"]["detail"]
    assert "监护人同意" in items["/consent"]["detail"]
    assert problem["title"] == "申请信息有误"
    assert "3 problem(s)" in problem["detail_en"]


def test_every_rule_the_values_break_comes_at_once(
    client: TestClient, container: Container
) -> None:
    url, family = family_case(container)
    body = {
        "child_name": "张小明",  # neither parent's surname
        "household": "father",  # the birth record has no father's hukou
        "residence_division": "430602",
        "insured_division": "12345X",
        "consent": False,
    }
    problem = client.post(url, json=body, headers=family | ZH).json()
    items = by_pointer(problem)
    assert set(items) == {"/child_name", "/household", "/insured_division", "/consent"}
    assert "王" in items["/child_name"]["detail"]  # 父母的姓为 王
    assert items["/child_name"]["rule"] == "child-surname"
    assert items["/household"]["code"] == "invalid-application"
    assert items["/insured_division"]["code"] == "invalid-identifier"


def test_one_problem_is_still_listed_and_english_without_accept_language(
    client: TestClient, container: Container
) -> None:
    url, family = family_case(container)
    body = {"child_name": "王小明", "household": "mother", "residence_division": "430602"}
    answer = client.post(url, json=body | {"consent": False}, headers=family)
    assert answer.headers["Content-Language"] == "en"
    problem = answer.json()
    assert [item["pointer"] for item in problem["errors"]] == ["/consent"]
    assert "consent" in problem["detail"]
    assert "detail_en" not in problem
    accepted = client.post(url, json=body | {"consent": True}, headers=family)
    assert accepted.status_code == 200, accepted.text


def test_malformed_evidence_is_one_problem_among_the_others(
    client: TestClient, container: Container
) -> None:
    url, family = family_case(container)
    body: dict[str, Any] = {"child_name": "王小明", "household": "mother", "consent": True}
    body |= {"residence_division": "430602", "evidence": 5, "insured_division": 7}
    problem = client.post(url, json=body, headers=family).json()
    assert problem["type"] == "/problems/invalid-application"
    items = by_pointer(problem)
    assert set(items) == {"/insured_division", "/evidence"}
    evidence = items["/evidence"]
    assert (evidence["code"], evidence["field"]) == ("invalid-field", "evidence")
    refs = [{"id": "scan-1", "sha256": "x"}, {"id": " "}, {"id": "scan-3", "size": 1, "oops": 1}]
    problem = client.post(url, json=body | {"evidence": refs}, headers=family).json()
    assert set(by_pointer(problem)) == {"/insured_division", "/evidence/0/sha256"}
    assert problem["field"] == "insured_division"
    del body["insured_division"]  # alone: answered as itself, listed with its pointer
    only = client.post(url, json=body | {"evidence": [{"id": "x", "oops": 1}]}, headers=family)
    assert only.status_code == 422
    assert (only.json()["type"], only.json()["field"]) == ("/problems/unknown-field", "evidence")
    assert [item["pointer"] for item in only.json()["errors"]] == ["/evidence"]
