"""Chromium: the coordinator's main journey. A birth that no alliance agreement and no
national 跨省通办 entry covers waits at the routing desk of the handling place's province; the
Hubei coordinator signs in, sees it on /desk (no personal data), is told what is missing when
the reason is left out, routes it, and the request is dispatched. Screenshots at 390 and 1280 px.

The server runs in this process (uvicorn in a thread) so that the test can plan with a national
list that lacks the registration, as an older list or a province outside the pilot would."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from uuid import UUID

import httpx
import pyotp
import pytest
import uvicorn

from adapters.facade import build
from adapters.settings import Settings
from api.app import create_app
from domain.births.commands import NotifyBirth
from domain.births.facts import Parent
from domain.kernel.identifiers import make_citizen_id
from domain.wings import list_in_force, load_national_list
from tests.browser import test_pages_browser as pages
from tests.browser.test_pages_browser import Browser, Server, free_port, sign_in, wait_for
from tests.conftest import make_facts

pytestmark = pages.pytestmark
browser = pages.browser  # its fixture, here

YUEYANG, WUHAN, SHENZHEN = "430602", "420102", "440304"
UNLISTED = replace(load_national_list(), version="test-unlisted", entries={})


@pytest.fixture(scope="module")
def desk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, object]]:
    """`serve`'s app over a fresh SQLite store, in a thread, planning with UNLISTED."""
    home: Path = tmp_path_factory.mktemp("desk")
    env = {
        "NEWBORN_LEDGER_PERSISTENCE": "sqlite",
        "NEWBORN_LEDGER_SQLITE_DIR": str(home / "var"),
        "NEWBORN_LEDGER_LOG_LEVEL": "WARNING",
    }
    container = build(Settings.from_env(env))
    port = free_port()
    config = uvicorn.Config(
        create_app(container, run_scheduler=True),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    with list_in_force(UNLISTED):
        thread = threading.Thread(target=server.run, name="desk-server", daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: httpx.get(url + "/readyz", timeout=1.0).status_code == 200, "serve")
            yield Server(url, {**os.environ, **env}), container
        finally:
            server.should_exit = True
            thread.join(timeout=30)


def parked_birth(container: object) -> UUID:
    mother = Parent(
        citizen_id=make_citizen_id(WUHAN, date(1994, 3, 8), 124),
        name="王芳",
        phone="13800000000",
        hukou_division=WUHAN,
        residence_division=SHENZHEN,
    )
    facts = make_facts("MR-DESK-BROWSER", mother=mother, child_name="王小明")
    ledger = container.ledger  # type: ignore[attr-defined]
    outcome = ledger.notify_birth(NotifyBirth("m-desk-browser", facts, b"{}"))
    container.after_command()  # type: ignore[attr-defined]
    return UUID(str(outcome.case_id))


def test_a_coordinator_routes_a_parked_request_from_the_desk(
    desk_server: tuple[Server, object], browser: Browser
) -> None:
    server, container = desk_server
    case_id = parked_birth(container)
    secret = server.user("desk.hubei", "coordinator", "42")
    sign_in(server, browser, "desk.hubei", pyotp.TOTP(secret).now())
    wait_for(lambda: browser.js("return location.pathname") != "/sign-in", "signed in")
    browser.open(server.url + "/desk")
    short = str(case_id)[:8]
    wait_for(lambda: short in browser.text("#parked-rows"), "the parked request")
    rows = browser.text("#parked-rows")
    assert "Birth (hukou) registration" in rows
    assert WUHAN in rows
    assert SHENZHEN in rows
    assert "王" not in browser.text("main")  # the desk holds no personal data
    browser.review("desk-1-parked")

    browser.click("#parked-rows form button[type=submit]")  # no reason given
    wait_for(lambda: browser.visible("#parked-rows form .problem"), "the missing reason")
    assert "reason" in browser.text("#parked-rows form .problem").lower()
    browser.review("desk-2-reason-missing")

    browser.type("#parked-rows form input[placeholder]", "深圳窗口代收 Shenzhen's window receives")
    browser.click("#parked-rows form button[type=submit]")
    wait_for(lambda: short not in browser.text("#parked-rows"), "the request routed")
    browser.review("desk-3-routed")
    assert browser.errors() == []

    admin = server.actor("admin", "")
    case = server.call("GET", f"/cases/{case_id}", admin)
    services = {s["service"]: s for s in case["services"]}
    hukou = services["household-registration"]
    assert not hukou["manual_routing"]  # routed: dispatched once the birth certificate is out
    assert (hukou["handling_locality"], hukou["receiving_locality"]) == (WUHAN, SHENZHEN)
