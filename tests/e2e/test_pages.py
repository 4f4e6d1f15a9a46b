"""The HTML pages: shells with labelled forms and no personal data; their static files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from api.app import create_app
from domain.births.commands import NotifyBirth
from tests.conftest import make_facts

PARTY_CONTROLS = ("name", "citizen-id", "phone", "hukou", "residence")  # /apply/marriage
PAGES = {
    "/track": {
        "tracking-code",
        "verifier",
        "child-name",
        "residence-division",
        "insured-division",
        "consent",
        "rate-comment",
    },
    "/office": {
        "office-locality",
        "office-authority",
        "filter-state",
        "filter-overdue",
        "filter-role",
        "filter-limit",
        "receipt-number",
        "supplement-items",
        "result-value",
        "reject-reason",
        "reject-basis",
    },
    "/monitor": {"monitor-locality", "monitor-month"},
    "/desk": {"desk-scope"},
    "/verify": {"certificate"},
    "/apply/marriage": {
        *(f"{who}-{part}" for who in "ab" for part in PARTY_CONTROLS),
        "place-a",
        "holder-a",
        "consent",
    },
    "/sign-in": {"username", "password", "code"},
}
CONTROLS = ("input", "select", "textarea")


class Page(HTMLParser):
    """What a test needs to know of a page: its controls, labels, scripts and styles."""

    def __init__(self) -> None:
        super().__init__()
        self.html_lang: str | None = None
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.open_labels = 0
        self.wrapped: set[str] = set()  # controls inside a <label>
        self.assets: list[str] = []
        self.inline_scripts: list[str] = []
        self._script_type: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.html_lang = found.get("lang")
        elif tag == "label":
            self.open_labels += 1
            if found.get("for"):
                self.label_for.add(str(found["for"]))
        elif tag in CONTROLS:
            self.controls.append({"tag": tag, **found})
            if self.open_labels:
                self.wrapped.add(str(found.get("id") or found.get("name")))
        elif tag == "script":
            if found.get("src"):
                self.assets.append(str(found["src"]))
            self._script_type = found.get("type") or "text/javascript"
        elif tag == "link" and found.get("href"):
            self.assets.append(str(found["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels -= 1
        elif tag == "script":
            self._script_type = None

    def handle_data(self, data: str) -> None:
        if self._script_type == "text/javascript" and data.strip():
            self.inline_scripts.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture
def client(memory_container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(memory_container, close_on_shutdown=False)) as test_client:
        yield test_client


@pytest.mark.parametrize("path", sorted(PAGES))
def test_each_page_is_html_with_its_labelled_form(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    page = parse(response.text)
    assert page.html_lang == "zh-CN"
    ids = {str(c.get("id")) for c in page.controls}
    assert PAGES[path] <= ids, PAGES[path] - ids
    for control in page.controls:
        if control.get("type") in ("hidden", "submit", "button"):
            continue
        named = control.get("id") in page.label_for or (
            str(control.get("id") or control.get("name")) in page.wrapped
        )
        assert named, f"{path}: {control} has no <label>"
    assert page.inline_scripts == [], "inline scripts break the Content-Security-Policy"
    chinese_first = re.search(r"<h1[^>]*>[^<]*[\u4e00-\u9fff]", response.text)
    assert chinese_first, "a Chinese heading comes first"
    assert '<span lang="en">' in response.text


def test_track_also_still_accepts_the_post(client: TestClient) -> None:
    response = client.post("/track", json={"tracking_code": "ABCDEFGHJK", "verifier": "000000"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_no_personal_data_in_any_page(client: TestClient, memory_container: Container) -> None:
    facts = make_facts(child_name="王小明")
    outcome = memory_container.ledger.notify_birth(NotifyBirth("m-1", facts, b"{}"))
    memory_container.after_command()
    mother = facts.mother
    assert mother is not None
    assert mother.citizen_id
    assert mother.phone
    secrets = [
        mother.name,
        mother.citizen_id,
        mother.citizen_id[-6:],
        mother.phone,
        "王小明",
        outcome.tracking_code,
        str(outcome.case_id),
        facts.record_ref,
    ]
    for path in PAGES:
        html = client.get(path).text
        for secret in secrets:
            assert secret
            assert secret not in html, (path, secret)


def test_the_static_files_each_page_uses_are_served(client: TestClient) -> None:
    media = {"css": "text/css", "js": "text/javascript", "svg": "image/svg+xml"}
    seen = set()
    for path in PAGES:
        for asset in parse(client.get(path).text).assets:
            assert asset.startswith("/static/"), asset
            seen.add(asset)
    assert {a.split("?")[0] for a in seen} >= {
        "/static/style.css",
        "/static/common.js",
        "/static/track.js",
        "/static/office.js",
        "/static/monitor.js",
        "/static/charts.js",
        "/static/verify.js",
        "/static/favicon.svg",
    }
    for asset in seen:
        response = client.get(asset)
        assert response.status_code == 200, asset
        extension = asset.split("?")[0].rsplit(".", 1)[1]
        assert response.headers["content-type"].startswith(media[extension]), asset
        assert response.content
        again = client.get(asset, headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304


@pytest.mark.parametrize(
    "path", ["/static/missing.js", "/static/..%2Fpages.py", "/static/pages.py", "/static/.env"]
)
def test_other_static_names_are_404_problems(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_locality_names_need_no_token(client: TestClient) -> None:
    yueyang = client.get("/localities/430602")
    assert yueyang.status_code == 200
    assert yueyang.json() == {"code": "430602", "name": "湖南省 岳阳楼区"}
    assert client.get("/localities/420000").json()["name"] == "湖北省"
    assert client.get("/localities/890000").status_code == 404
    bad = client.get("/localities/43060")
    assert bad.status_code == 422
    assert bad.json()["parameter"] == "code"


def test_pages_and_lookups_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/track", "/office", "/monitor", "/static/{name}", "/localities/{code}"):
        assert "get" in paths[path], path
    assert "post" in paths["/track"]
