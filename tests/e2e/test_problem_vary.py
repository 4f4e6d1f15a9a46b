"""Every problem answered in the negotiated language says so to caches (`Vary:
Accept-Language`, one header merged with what it named), the unhandled 500 too: it is
answered outside the language middleware, by api/problems.py `negotiated`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eventsourcing.persistence import ProgrammingError
from starlette.datastructures import MutableHeaders
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from api.problem_language import vary_on_language

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def client(memory_container: Container) -> Iterator[TestClient]:
    app = create_app(memory_container, close_on_shutdown=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("error", [RuntimeError("a bug"), ProgrammingError("bad SQL")])
@pytest.mark.parametrize(("asked", "answered"), [(ZH, "zh-CN"), ({}, "en")])
def test_an_internal_error_varies_on_the_language_and_is_translated_once(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    asked: dict[str, str],
    answered: str,
) -> None:
    def broken(parent: str | None, year: int) -> None:
        raise error

    monkeypatch.setattr("api.family._level", broken)
    answer = client.get("/divisions", headers=asked)
    assert answer.status_code == 500
    assert answer.headers.get_list("vary") == ["Accept-Language"]
    assert answer.headers["content-language"] == answered
    assert answer.json().get("title_en", "Internal error") == "Internal error"


def test_a_problem_from_the_middleware_varies_on_the_language(client: TestClient) -> None:
    for asked in (ZH, {}):
        answer = client.get("/no-such-page", headers=asked)
        assert answer.status_code == 404
        assert answer.headers.get_list("vary") == ["Accept-Language"]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ([], "Accept-Language"),
        (["Origin"], "Origin, Accept-Language"),
        (["Origin", "Cookie, Authorization"], "Origin, Cookie, Authorization, Accept-Language"),
        (["origin, accept-language"], "origin, accept-language"),
        (["*"], "*"),
    ],
)
def test_the_language_is_merged_into_the_vary_already_there(before: list[str], after: str) -> None:
    headers = MutableHeaders(raw=[(b"vary", v.encode()) for v in before])
    vary_on_language(headers)
    assert headers.getlist("vary") == [after]
