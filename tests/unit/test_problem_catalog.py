"""Every problem code the code base raises has a Chinese title and detail in the catalog."""

from __future__ import annotations

import re

import pytest

from api.problem_language import CHINESE, ENGLISH, in_chinese, language
from api.problem_texts import catalog, zh_detail, zh_title
from api.responses import problem
from tests.unit.problem_codes import INDIRECT, walk

HAN = re.compile(r"[\u4e00-\u9fff]")


def test_every_code_raised_in_the_code_base_has_a_chinese_title_and_detail() -> None:
    codes, _ = walk()
    assert len(codes) > 60  # the walk finds the codes (a broken walk would find none)
    missing = sorted(c for c in codes if zh_title(c) is None)
    assert missing == [], f"codes without a Chinese text in api/problem_texts.json: {missing}"
    for code in codes:
        assert HAN.search(zh_title(code) or ""), code
        assert HAN.search(zh_detail(code, {}) or ""), code


def test_every_call_site_with_a_computed_code_is_accounted_for() -> None:
    """A new `ApiError(status, some_variable, ...)` must say where its codes come from."""
    _, indirect = walk()
    assert indirect == set(INDIRECT)


def test_the_catalog_holds_no_code_the_code_base_never_raises() -> None:
    codes, _ = walk()
    assert sorted(set(catalog()["codes"]) - codes) == []
    for key in catalog()["variants"]:
        assert key.split(" ")[0] in codes, key


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (None, ENGLISH),
        ("", ENGLISH),
        ("zh-CN", CHINESE),
        ("zh-CN,zh;q=0.9,en;q=0.8", CHINESE),
        ("en-US,en;q=0.9", ENGLISH),
        ("en-US,en;q=0.9,zh-CN;q=0.8", ENGLISH),
        ("fr-FR, zh-Hans;q=0.5", CHINESE),
        ("en, zh", CHINESE),  # a tie goes to Chinese
        ("*", CHINESE),
        ("fr", ENGLISH),
        ("zh;q=0, en", ENGLISH),
        ("zh;q=abc, en;q=0.1", ENGLISH),
    ],
)
def test_the_language_follows_accept_language_chinese_first(
    header: str | None, chosen: str
) -> None:
    assert language(header) == chosen


def test_a_chinese_problem_keeps_the_english_beside_and_fills_in_its_members() -> None:
    english = {
        "type": "/problems/missing-field",
        "title": "Missing field",
        "status": 422,
        "detail": "'verifier' is required",
        "field": "verifier",
    }
    chinese = in_chinese(english, None)
    assert chinese["title"] == "缺少必填项"
    assert chinese["detail"].startswith("请填写验证信息")
    assert (chinese["title_en"], chinese["detail_en"]) == ("Missing field", english["detail"])
    blocked = {"type": "/problems/too-many-attempts", "title": "T", "detail": "D"}
    assert "120 秒" in in_chinese(blocked, "120")["detail"]
    assert in_chinese(blocked, None)["detail"] == "尝试次数过多"  # no value: the title


def test_each_item_of_errors_is_chinese_with_its_english() -> None:
    item = {"pointer": "/consent", "field": "consent", "code": "invalid-application"}
    body = {"type": "/problems/invalid-application", "errors": [item | {"detail": "Consent"}]}
    [shown] = in_chinese(body, None)["errors"]
    assert shown["detail_en"] == "Consent"
    assert "监护人同意" in shown["detail"]
    assert shown["pointer"] == "/consent"


def test_an_unknown_code_is_left_in_english() -> None:
    body = {"type": "/problems/no-such-code", "title": "X", "detail": "Y"}
    assert in_chinese(body, None) is body


def test_every_429_says_when_to_come_back() -> None:
    assert problem(429, "too-many-attempts", "T", "D").headers["Retry-After"] == "60"
    kept = problem(429, "sign-in-refused", "T", "D", headers={"Retry-After": "7"})
    assert kept.headers["Retry-After"] == "7"
