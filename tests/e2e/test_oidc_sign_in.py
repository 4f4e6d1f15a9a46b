"""Staff sign-in through a real OpenID Connect provider (node's oidc-provider, tests/oidc), on
SQLite and PostgreSQL: the flow with PKCE, state and nonce; the session it opens; and every
refusal (no account, wrong state, a spent or missing attempt, a changed nonce, the provider's
own error, a replayed code, a disabled user, an unreachable provider) answered clearly,
recorded in the sign-in log, and never a 500. A person at the provider is played over HTTP
(tests/oidc/provider.py, sign_in_at_provider)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from starlette.testclient import TestClient

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from adapters.sign_in import disable_user
from api.app import create_app
from integrations.identity.attempt import attempt_key, seal_attempt, unseal_attempt
from integrations.identity.config import OidcConfig
from tests.oidc.provider import (
    CLERK,
    CLIENT_ID,
    CLIENT_SECRET,
    STRANGER,
    Provider,
    free_port,
    running_provider,
    sign_in_at_provider,
)

BASE = "https://ledger.example.cn"  # the session cookie is Secure: the client speaks https
CALLBACK = BASE + "/sign-in/oidc/callback"
HTML = {"Accept": "text/html"}
PASSWORD = "a fallback password for the clerk"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    with running_provider(CALLBACK, tmp_path_factory.mktemp("oidc")) as running:
        yield running


def oidc_config(issuer: str) -> OidcConfig:
    return OidcConfig(issuer, CLIENT_ID, CLIENT_SECRET, CALLBACK)


@pytest.fixture
def ledger(settings: Settings, provider: Provider) -> Iterator[Container]:
    built = build(settings.with_changes(oidc=oidc_config(provider.issuer)))
    yield built
    built.close()


@pytest.fixture
def client(ledger: Container) -> Iterator[TestClient]:
    with TestClient(
        create_app(ledger, close_on_shutdown=False), base_url=BASE, follow_redirects=False
    ) as test_client:
        yield test_client


@pytest.fixture
def clerk(ledger: Container) -> str:
    ledger.staff.add("clerk.wang", "office", "430602", "health", PASSWORD, oidc_subject=CLERK.sub)
    return "clerk.wang"


def start(client: TestClient) -> str:
    """GET /sign-in/oidc: the provider's authorization URL (the attempt cookie is kept)."""
    answer = client.get("/sign-in/oidc")
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


def back(client: TestClient, url: str, **headers: str) -> httpx2.Response:
    """The browser arriving at the ledger's callback from the provider."""
    assert url.startswith(CALLBACK), url
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}", headers=headers or HTML)


def refusal(answer: httpx2.Response, status: int, reason: str) -> str:
    assert answer.status_code == status, answer.text
    assert f'data-reason="{reason}"' in answer.text, answer.text
    assert "nl_session" not in answer.cookies
    return answer.text


def logged(ledger: Container) -> list[tuple[str, str, str]]:
    return [(r.method, r.outcome, r.reason) for r in ledger.sessions.sign_ins()]


def test_a_clerk_signs_in_through_the_provider_and_works_by_session(
    client: TestClient, ledger: Container, clerk: str
) -> None:
    assert 'href="/sign-in/oidc"' in client.get("/sign-in").text
    authorize = start(client)
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["response_type"] == ["code"]
    assert {"state", "nonce", "code_challenge"} <= query.keys()
    attempt_cookie = client.cookies.get("nl_oidc")
    assert attempt_cookie
    assert query["state"][0] not in attempt_cookie.split(".")[1]  # sealed, not a plain copy

    answer = back(client, sign_in_at_provider(authorize, CLERK))
    assert answer.status_code == 200, answer.text
    assert 'http-equiv="refresh" content="0; url=/office"' in answer.text
    cookies = answer.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("nl_session="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=strict" in session_cookie
    assert "Secure" in session_cookie
    assert any(c.startswith('nl_oidc="";') or c.startswith("nl_oidc=;") for c in cookies)

    session = client.get("/session").json()
    assert (session["user"], session["role"], session["scope"]) == (
        "clerk.wang",
        "office",
        "430602",
    )
    queue = client.get("/offices/430602/health/queue")
    assert queue.status_code == 200, queue.text
    assert ("oidc", "signed-in", "") in logged(ledger)


def test_an_identity_without_a_staff_account_is_refused_and_recorded(
    client: TestClient, ledger: Container, clerk: str
) -> None:
    answer = back(client, sign_in_at_provider(start(client), STRANGER))
    text = refusal(answer, 403, "oidc-unknown-subject")
    assert "no staff account" in text
    assert STRANGER.sub not in text
    assert client.get("/session").status_code == 401
    assert ("oidc", "refused", "oidc-unknown-subject") in logged(ledger)
    row = ledger.sessions.sign_ins()[0]
    assert row.attempted_hash
    assert STRANGER.sub not in repr(row)


def test_a_callback_for_another_attempt_or_none_is_refused(
    client: TestClient, ledger: Container, clerk: str, provider: Provider
) -> None:
    returned = sign_in_at_provider(start(client), CLERK)
    forged = returned.replace("state=", "state=x")
    refusal(back(client, forged), 400, "oidc-state-mismatch")
    # the refusal spent the attempt: the genuine answer now finds none
    refusal(back(client, returned), 400, "oidc-attempt-missing")
    with TestClient(create_app(ledger, close_on_shutdown=False), base_url=BASE) as stranger:
        refusal(back(stranger, returned), 400, "oidc-attempt-missing")  # another browser
    reasons = [reason for _, _, reason in logged(ledger)]
    assert reasons.count("oidc-attempt-missing") == 2
    assert "oidc-state-mismatch" in reasons


def test_an_id_token_for_another_nonce_is_refused(
    client: TestClient, ledger: Container, clerk: str
) -> None:
    returned = sign_in_at_provider(start(client), CLERK)
    key = attempt_key(CLIENT_SECRET)
    sealed = client.cookies.get("nl_oidc")
    attempt = unseal_attempt(sealed, key, now=int(time.time()), max_age=600)
    swapped = seal_attempt(replace(attempt, nonce="another-attempts-nonce"), key)
    client.cookies.set("nl_oidc", swapped, domain="ledger.example.cn", path="/sign-in/oidc")
    text = refusal(back(client, returned), 403, "oidc-token-invalid")
    assert "nonce check" in text
    assert ("oidc", "refused", "oidc-token-invalid") in logged(ledger)


def test_the_providers_own_refusal_and_a_replayed_code_are_refused(
    client: TestClient, ledger: Container, clerk: str
) -> None:
    cancelled = sign_in_at_provider(start(client), CLERK, abort=True)
    text = refusal(back(client, cancelled), 403, "oidc-provider-error")
    assert "access_denied" in text

    returned = sign_in_at_provider(start(client), CLERK)
    attempt_cookie = client.cookies.get("nl_oidc")
    assert attempt_cookie
    assert back(client, returned).status_code == 200
    client.cookies.set("nl_oidc", attempt_cookie, domain="ledger.example.cn", path="/sign-in/oidc")
    replayed = back(client, returned)  # the same code again: the provider refuses it
    assert "invalid_grant" in refusal(replayed, 403, "oidc-provider-error")


def test_a_disabled_user_is_refused_by_the_provider_path_too(
    client: TestClient, ledger: Container, clerk: str
) -> None:
    disable_user(ledger, clerk)
    answer = back(client, sign_in_at_provider(start(client), CLERK))
    refusal(answer, 403, "disabled")
    assert ("oidc", "refused", "disabled") in logged(ledger)


def test_refusals_are_problem_json_for_clients_that_do_not_ask_for_html(
    client: TestClient, clerk: str
) -> None:
    returned = sign_in_at_provider(start(client), STRANGER)
    answer = back(client, returned, Accept="application/json")
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "/problems/oidc-unknown-subject"


def test_a_new_signing_key_at_the_provider_is_fetched_when_a_token_names_it(
    settings: Settings, tmp_path: Path
) -> None:
    """The provider restarts on the same issuer with a new key (a rotation): the ledger's
    cached key set lacks the new key id, so it reads the JWKS again and signs the clerk in."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    built = build(settings.with_changes(oidc=oidc_config(issuer)))
    built.staff.add("clerk.wang", "office", "430602", "health", PASSWORD, oidc_subject=CLERK.sub)
    try:
        app = create_app(built, close_on_shutdown=False)
        with TestClient(app, base_url=BASE, follow_redirects=False) as client:
            for _ in range(2):
                with running_provider(CALLBACK, tmp_path, port=port):
                    answer = back(client, sign_in_at_provider(start(client), CLERK))
                    assert answer.status_code == 200, answer.text
                    client.post("/sign-out", headers={"X-CSRF-Token": csrf(client)})
    finally:
        built.close()


def csrf(client: TestClient) -> str:
    token: str = client.get("/session").json()["csrf_token"]
    return token


def test_an_unreachable_provider_is_a_clear_502(settings: Settings, tmp_path: Path) -> None:
    nowhere = oidc_config(f"http://127.0.0.1:{free_port()}")
    built = build(settings.with_changes(oidc=nowhere))
    try:
        with TestClient(create_app(built, close_on_shutdown=False), base_url=BASE) as client:
            answer = client.get("/sign-in/oidc", headers=HTML)
            refusal(answer, 502, "oidc-provider-unavailable")
            assert "try again" in answer.text
            callback = client.get("/sign-in/oidc/callback?code=x&state=y", headers=HTML)
            refusal(callback, 400, "oidc-attempt-missing")
    finally:
        built.close()


def test_without_a_provider_configured_the_routes_are_404(container: Container) -> None:
    with TestClient(create_app(container, close_on_shutdown=False), base_url=BASE) as client:
        assert "/sign-in/oidc" not in client.get("/sign-in").text
        assert client.get("/sign-in/oidc").status_code == 404
        assert client.get("/sign-in/oidc/callback?code=x&state=y").status_code == 404


def test_the_secret_never_reaches_an_answer_or_the_log(
    client: TestClient, clerk: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    answers = [client.get("/sign-in/oidc")]
    answers.append(back(client, sign_in_at_provider(answers[0].headers["location"], CLERK)))
    answers.append(back(client, sign_in_at_provider(start(client), STRANGER)))
    for answer in answers:
        assert CLIENT_SECRET not in answer.text
        assert CLIENT_SECRET not in str(answer.headers)
    assert CLIENT_SECRET not in caplog.text
    assert STRANGER.sub not in caplog.text
