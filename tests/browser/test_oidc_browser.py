"""A clerk signs in through the identity provider in a real headless Chromium: the provider's
own login form (node's oidc-provider, tests/oidc), back to the ledger, on to /office with a
session. Someone the ledger has no account for is refused with a page that says so.

The provider needs node (it fails, never skips, without it); Chromium is optional as for the
other browser tests (tests/browser/test_pages_browser.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.test_pages_browser import (  # the same driver, fixture and helpers
    CHROMEDRIVER,
    CHROMIUM,
    ROOT,
    Browser,
    Server,
    browser,
    free_port,
    wait_for,
)
from tests.oidc.provider import CLERK, STRANGER, Provider, running_provider

__all__ = ["browser"]  # the browser fixture, shared with the page tests
PASSWORD = "a clerk's password 4 the fallback"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="headless Chromium not installed (apt-get install -y chromium chromium-driver)",
)


@pytest.fixture(scope="module")
def provider_and_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Provider, Server]]:
    """The provider, and the ledger's server configured to sign staff in through it."""
    home = tmp_path_factory.mktemp("oidc-server")
    port = free_port()
    callback = f"http://127.0.0.1:{port}/sign-in/oidc/callback"
    with running_provider(callback, home) as provider:
        env = {
            **os.environ,
            **provider.ledger_env(),
            "NEWBORN_LEDGER_SQLITE_DIR": str(home / "var"),
            "NEWBORN_LEDGER_PERSISTENCE": "sqlite",
            "NEWBORN_LEDGER_USER_PASSWORD": PASSWORD,
        }
        with (home / "server.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "entry.cli", "serve", "--port", str(port)],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: httpx.get(url + "/readyz", timeout=1.0).status_code == 200, "server")
            yield provider, Server(url, env)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def session_of(browser: Browser) -> Any:
    """GET /session from the page, as its scripts do (the cookie is HttpOnly)."""
    return browser.command(
        "POST",
        "/execute/async",
        {
            "script": "const done = arguments[0];"
            "fetch('/session').then(r => r.ok ? r.json() : {status: r.status}).then(done);",
            "args": [],
        },
    )


def sign_in_at_provider(browser: Browser, server: Server, login: str, password: str) -> None:
    browser.open(server.url + "/sign-in")
    wait_for(lambda: browser.visible("#sign-in-oidc"), "the sign-in page's provider link")
    browser.click("#sign-in-oidc")
    wait_for(lambda: browser.visible("#login"), "the provider's login form")
    browser.type("#login", login)
    browser.type("#password", password)
    browser.click("#submit")


def test_a_clerk_signs_in_through_the_provider_and_lands_on_the_office_page(
    provider_and_server: tuple[Provider, Server], browser: Browser
) -> None:
    provider, server = provider_and_server
    server.cli(
        "user", "add", "clerk.wang", "--role", "office", "--scope", "430602",
        "--authority", "health", "--oidc-subject", CLERK.sub,
    )  # fmt: skip

    sign_in_at_provider(browser, server, STRANGER.login, STRANGER.password)
    wait_for(lambda: browser.visible("#refusal"), "the refusal page")
    assert "no staff account" in browser.text("#refusal")
    assert browser.js("return document.querySelector('#refusal').dataset.reason") == (
        "oidc-unknown-subject"
    )
    assert session_of(browser) == {"status": 401}
    browser.screenshot("oidc-1-refused")
    browser.command("DELETE", "/cookie")  # signs out at the provider (127.0.0.1: every port)

    sign_in_at_provider(browser, server, CLERK.login, "not the password")
    wait_for(lambda: "Wrong login or password" in browser.text("body"), "the provider's refusal")
    browser.type("#login", CLERK.login)
    browser.type("#password", CLERK.password)
    browser.click("#submit")
    office = server.url + "/office"
    wait_for(lambda: browser.js("return location.href").startswith(office), "the office page")
    wait_for(lambda: "clerk.wang" in browser.text("#who-user"), "the page naming the clerk")
    session = session_of(browser)
    assert session["user"] == "clerk.wang"
    assert session["role"] == "office"
    assert session["scope"] == "430602"
    cookies = {c["name"]: c for c in browser.command("GET", "/cookie")}
    assert cookies["nl_session"]["httpOnly"] is True
    assert cookies["nl_session"]["secure"] is True  # the default; 127.0.0.1 is trustworthy
    assert "nl_oidc" not in cookies  # the attempt is spent
    browser.screenshot("oidc-2-office")
    assert browser.errors() == []
    assert not Path(provider.log).read_text().count("Error:")
