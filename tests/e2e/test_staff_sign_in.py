"""Staff sign-in over HTTP on SQLite and PostgreSQL: the form's login-CSRF token, password +
one-time code, the session cookie's flags, the session answering GET /session and the
office's queue, CSRF on unsafe requests, replayed and wrong codes, lockout, sign-out, a
disabled user's session ending, bearer tokens unchanged, and the admin's sign-in log."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx2
import pyotp
import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container
from adapters.sign_in import disable_user
from api.app import create_app
from api.tracking import Throttle

PASSWORD = "correct horse battery staple"
BASE = "https://ledger.example.cn"  # the cookie is Secure: the client speaks https
HTML = {"Accept": "text/html"}


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    app = create_app(container, close_on_shutdown=False)
    with TestClient(app, base_url=BASE, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def secret(container: Container) -> str:
    _, totp_secret = container.staff.add("clerk.wang", "office", "430602", "cdc", PASSWORD)
    return totp_secret


def form_token(client: TestClient) -> str:
    page = client.get("/sign-in")
    assert page.status_code == 200
    assert "form-action 'self'" in page.headers["content-security-policy"]
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def sign_in(
    client: TestClient, code: str, password: str = PASSWORD, **headers: str
) -> httpx2.Response:
    fields = {"csrf_token": form_token(client), "username": "clerk.wang", "password": password}
    return client.post("/sign-in", data={**fields, "code": code}, headers=headers)


def test_a_clerk_signs_in_and_works_by_session(
    client: TestClient, container: Container, secret: str
) -> None:
    answer = sign_in(client, pyotp.TOTP(secret).now())
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/office"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("nl_session=")
    for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert flag.lower() in cookie.lower(), flag
    session = client.get("/session").json()
    assert session["user"] == "clerk.wang"
    assert (session["role"], session["scope"], session["authority"]) == ("office", "430602", "cdc")
    assert client.get("/offices/430602/cdc/queue").status_code == 200
    assert client.get("/offices/430602/health/queue").status_code == 404  # not its office

    missing = client.post("/sign-out")
    assert missing.status_code == 403
    assert missing.json()["type"].endswith("csrf-token-missing")
    wrong = client.post("/sign-out", headers={"X-CSRF-Token": "not-it"})
    assert wrong.json()["type"].endswith("csrf-token-invalid")
    kept = client.cookies["nl_session"]
    out = client.post("/sign-out", headers={"X-CSRF-Token": session["csrf_token"]})
    assert out.status_code == 204
    assert "nl_session" not in client.cookies  # the browser drops it
    assert client.get("/offices/430602/cdc/queue").status_code == 401
    client.cookies.set("nl_session", kept, domain="ledger.example.cn")  # a copy kept
    ended = client.get("/offices/430602/cdc/queue")
    assert ended.status_code == 401
    assert ended.json()["type"].endswith("session-ended")
    assert "sign in again" in ended.json()["detail"]


def test_the_form_needs_its_own_token(client: TestClient, secret: str) -> None:
    form_token(client)
    fields = {"username": "clerk.wang", "password": PASSWORD, "code": pyotp.TOTP(secret).now()}
    refused = client.post("/sign-in", data={**fields, "csrf_token": "forged"}, headers=HTML)
    assert refused.status_code == 403
    assert "did not come from this site" in refused.text
    assert "nl_session" not in refused.headers.get("set-cookie", "")


def test_wrong_and_replayed_codes_then_a_lockout(
    client: TestClient, container: Container, secret: str
) -> None:
    wrong = sign_in(client, "000000", **HTML)
    assert wrong.status_code == 401
    assert "code is wrong" in wrong.text
    code = pyotp.TOTP(secret).now()
    assert sign_in(client, code).status_code == 303
    replayed = sign_in(client, code)
    assert replayed.status_code == 401
    assert replayed.json()["reason"] == "totp-replayed"
    for _ in range(5):  # NEWBORN_LEDGER_LOCKOUT_FAILURES, by default
        sign_in(client, "123456", password="not the password")
    locked = sign_in(client, pyotp.TOTP(secret).now())
    assert locked.status_code == 429
    until = datetime.now(UTC) + timedelta(minutes=15)
    assert f"locked until {until:%Y-%m-%d}" in locked.json()["detail"]


def test_disabling_ends_the_session_and_tokens_still_work(
    client: TestClient, container: Container, secret: str
) -> None:
    sign_in(client, pyotp.TOTP(secret).now())
    assert client.get("/session").status_code == 200
    disable_user(container, "clerk.wang")
    assert client.get("/session").status_code == 401
    _, token = container.actors.add("office", "430602", "cdc")
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/offices/430602/cdc/queue", headers=bearer).status_code == 200


def test_the_admin_reads_the_sign_in_log(
    client: TestClient, container: Container, secret: str
) -> None:
    sign_in(client, "000000")
    sign_in(client, pyotp.TOTP(secret).now())
    _, admin = container.actors.add("admin", None)
    bearer = {"Authorization": f"Bearer {admin}"}
    log = client.get("/audit/sign-ins?user=clerk.wang", headers=bearer)
    assert log.status_code == 200
    rows = log.json()["sign_ins"]
    assert [(r["outcome"], r["reason"]) for r in rows] == [
        ("signed-in", ""),
        ("refused", "bad-totp"),
    ]
    assert client.get("/audit/sign-ins?from=yesterday", headers=bearer).status_code == 422
    assert client.get("/audit/sign-ins", headers={"X-CSRF-Token": "x"}).status_code == 404


def test_no_username_password_code_or_cookie_in_the_logs(
    client: TestClient, secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code = pyotp.TOTP(secret).now()
    sign_in(client, "000000")
    answer = sign_in(client, code)
    sign_in(client, code)  # replayed
    cookie = answer.cookies["nl_session"]
    csrf = client.get("/session").json()["csrf_token"]
    text = caplog.text
    assert "staff sign-in refused (password, bad-totp)" in text
    for secretive in ("clerk.wang", PASSWORD, code, cookie, csrf, secret):
        assert secretive not in text


def test_many_failures_from_one_address_are_slowed_down(
    client: TestClient, container: Container, secret: str
) -> None:
    """Password spraying (a few tries at many users) is held by address as well as by user:
    past the address's limit even a right sign-in waits, told how long (Retry-After); the
    locked user's 429 also says when to come back."""
    client.app.state.sign_in_throttle = Throttle(limit=4, window_s=60.0)  # type: ignore[attr-defined]
    for name in ("li.a", "li.b", "li.c", "li.d"):
        fields = {"csrf_token": form_token(client), "username": name, "password": "guess"}
        assert client.post("/sign-in", data={**fields, "code": "123456"}).status_code == 401
    held = sign_in(client, pyotp.TOTP(secret).now())
    assert held.status_code == 429
    assert held.json()["type"].endswith("too-many-attempts")
    assert 1 <= int(held.headers["retry-after"]) <= 60
    page = sign_in(client, pyotp.TOTP(secret).now(), **HTML)
    assert page.status_code == 429
    assert "Too many failed sign-ins from this address" in page.text

    client.app.state.sign_in_throttle = Throttle()  # type: ignore[attr-defined]
    for _ in range(5):  # the user's own lockout
        sign_in(client, "123456", password="not the password")
    locked = sign_in(client, pyotp.TOTP(secret).now())
    assert locked.status_code == 429
    assert 14 * 60 <= int(locked.headers["retry-after"]) <= 15 * 60
