"""Issue 22's remote virtual window (远程虚拟窗口) on the office page, in a real headless
Chromium: a maternity benefits claim received in Haiyan (330424) and decided in Jinshan
(310116) under the Jinshan-Haiyan-Pinghu agreement (the case set up as
tests/e2e/test_remote_window_http.py does). The Haiyan clerk books a session on the request's
workbench (every problem of the form at once first), the Jinshan clerk sees it in the office's
list and joins, Haiyan starts it, Jinshan ends it with an outcome and approves the request on
the workbench; each step is on the page (the server and browser of test_pages_browser)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import httpx
import orjson
import pyotp

from domain.kernel.identifiers import make_citizen_id
from domain.kernel.window_values import CST
from integrations.hospital.writer import notification_message
from tests.browser import test_pages_browser as pages
from tests.browser.test_pages_browser import Browser, Server, sign_in, wait_for
from tests.conftest import HOSPITAL, make_facts

pytestmark = pages.pytestmark
server, browser = pages.server, pages.browser  # its fixtures, here
HAIYAN, JINSHAN = "330424", "310116"
MI = "medical-insurance"
OUTCOME = "生育医疗费用票据已在屏幕上核对"
SLOT = "10:00\u201310:45"  # the slot as the page shows it, in China time


def haiyan_claim(server: Server) -> tuple[str, str]:
    """Born in Haiyan to a Haiyan mother insured in Jinshan, her family applied and the birth
    certificate approved: the maternity benefits request (Haiyan receives, Jinshan decides)
    and an admin's token."""
    facts = make_facts("RW-BROWSER-1", birth_division=HAIYAN)
    mother_id = make_citizen_id(HAIYAN, date(1994, 3, 8), 124)
    mother = replace(
        facts.mother,
        citizen_id=mother_id,
        hukou_division=HAIYAN,
        residence_division=HAIYAN,
    )
    facts = replace(facts, mother=mother)
    hospital = server.actor("hospital", HOSPITAL)
    sent = httpx.post(
        server.url + "/fhir/$process-message",
        content=orjson.dumps(notification_message(facts, "rw-browser-1")),
        headers={"Authorization": f"Bearer {hospital}", "Content-Type": "application/fhir+json"},
        timeout=20.0,
    )
    assert sent.status_code == 200, sent.text
    found = {
        p["name"]: p.get("valueString")
        for entry in sent.json()["entry"]
        if entry["resource"]["resourceType"] == "Parameters"
        for p in entry["resource"]["parameter"]
    }
    case_id, code = str(found["case_id"]), str(found["tracking_code"])
    family = httpx.post(
        server.url + "/track",
        json={"tracking_code": code, "verifier": mother_id[-6:]},
        timeout=10.0,
    ).json()["token"]
    application = {
        "child_name": "王小明",
        "household": "mother",
        "residence_division": HAIYAN,
        "consent": True,
        "mother_insured_division": JINSHAN,
        "mother_insured": True,
    }
    server.call("POST", f"/cases/{case_id}/family-application", family, application)
    admin = server.actor("admin", "")

    def plan() -> dict[str, dict[str, str]]:
        services = server.call("GET", f"/cases/{case_id}", admin)["services"]
        return {s["service"]: s for s in services}

    certificate = "/service-requests/" + plan()["birth-certificate"]["service_request_id"]
    server.call("POST", certificate + "/receive", admin, {"receipt_number": "H-RW-1"})
    server.call("POST", certificate + "/approve", admin, {"certificate_number": "X330424001"})
    wait_for(lambda: plan()["maternity-benefits"]["state"] == "dispatched", "the claim dispatched")
    claim = plan()["maternity-benefits"]
    assert (claim["mode"], claim["receiving_locality"], claim["handling_locality"]) == (
        "remote-window",
        HAIYAN,
        JINSHAN,
    )
    return claim["service_request_id"], admin


class Clerks:
    """The two offices' clerks, signing in and out of the one browser in turn (a TOTP code
    is taken once: a clerk signing in again waits for a fresh one)."""

    def __init__(self, server: Server, browser: Browser) -> None:
        self.server, self.browser = server, browser
        self.secrets: dict[str, str] = {}
        self.used: dict[str, str] = {}

    def sign_in(self, username: str, locality: str) -> None:
        if username not in self.secrets:
            self.secrets[username] = self.server.user(username, "office", locality, MI)
        totp = pyotp.TOTP(self.secrets[username])
        code: str = wait_for(
            lambda: totp.now() if totp.now() != self.used.get(username) else "",
            "a fresh one-time code",
            timeout_s=35.0,
        )
        self.used[username] = code
        sign_in(self.server, self.browser, username, code)
        wait_for(lambda: self.browser.js("return location.pathname") == "/office", "/office")
        wait_for(lambda: self.browser.visible("#who"), "the signed-in user")
        assert username in self.browser.text("#who-user")
        wait_for(lambda: self.browser.visible("#window-section"), "the remote window section")

    def sign_out(self) -> None:
        self.browser.click("#sign-out")
        wait_for(lambda: self.browser.js("return location.pathname") == "/sign-in", "signed out")


def local(moment: datetime) -> str:
    """A datetime-local input's value (China time, to the minute)."""
    return moment.astimezone(CST).strftime("%Y-%m-%dT%H:%M")


def set_value(browser: Browser, css: str, value: str) -> None:
    browser.js(
        "const e = document.querySelector(arguments[0]); e.value = arguments[1];"
        "e.dispatchEvent(new Event('input', {bubbles: true}));",
        css,
        value,
    )


def focused(browser: Browser) -> str:
    return str(browser.js("return document.activeElement && document.activeElement.id"))


def press(browser: Browser, css: str) -> None:
    """Click a button of the sessions' list, again if the list was drawn anew under it (it
    is read again after each step: a click may find a stale element)."""

    def pressed() -> bool:
        browser.click(css)
        return True

    wait_for(pressed, f"a click on {css}")


def row_text(browser: Browser) -> str:
    return browser.text("#window-rows")


def test_two_offices_hold_a_remote_window_session_on_the_office_page(
    server: Server, browser: Browser
) -> None:
    request_id, admin = haiyan_claim(server)
    path = f"/service-requests/{request_id}"
    clerks = Clerks(server, browser)

    # Haiyan: nothing to join yet; the request's workbench offers the booking form
    clerks.sign_in("clerk.haiyan", HAIYAN)
    wait_for(lambda: browser.visible("#window-none"), "no session yet")
    browser.open(f"{server.url}/office?request={request_id}")
    wait_for(lambda: browser.visible("#session-book-form"), "the booking form")
    wait_for(lambda: "金山" in browser.text("#session-book-with"), "Jinshan by name")
    assert "预约与 310116 的远程虚拟窗口会话" in browser.text("#act-clock")
    browser.review("remote-window-1-bench")

    # every problem at once, beside its field, before anything is sent
    start = (datetime.now(CST) + timedelta(days=1)).replace(hour=10, minute=0)
    set_value(browser, "#session-starts", local(start - timedelta(days=2)))
    browser.click("#session-book-form button[type=submit]")
    wait_for(lambda: browser.visible("#act-problem"), "the booking's problems")
    assert browser.js("return document.querySelectorAll('#act-problem li').length") == 2
    assert "开始时间已过" in browser.text("#session-starts-error")
    assert "请填写结束时间" in browser.text("#session-ends-error")
    assert "the end is needed" in browser.text("#session-ends-error")
    assert focused(browser) == "session-starts"
    set_value(browser, "#session-starts", local(start))
    set_value(browser, "#session-ends", local(start + timedelta(hours=5)))
    browser.click("#session-book-form button[type=submit]")
    wait_for(lambda: browser.visible("#session-ends-error"), "the slot's length")
    assert "会话最长 4 小时" in browser.text("#session-ends-error")
    assert not browser.visible("#session-starts-error")
    browser.review("remote-window-2-problems")
    assert server.call("GET", path, admin)["remote_window"]["sessions"] == []  # nothing sent

    set_value(browser, "#session-ends", local(start + timedelta(minutes=45)))
    browser.type("#session-note", "生育津贴申领, 票据共享屏幕核对")
    browser.click("#session-book-form button[type=submit]")
    wait_for(lambda: "Done: session booked" in browser.text("#act-status"), "the booking")
    assert not browser.visible("#session-book-form")  # one live session at a time
    assert "已预约" in browser.text("#act-window")
    assert SLOT in browser.text("#act-window")
    wait_for(lambda: SLOT in row_text(browser), "the session in the list")
    assert "金山" in row_text(browser)
    assert "your turn" in row_text(browser)
    # the applicant is at the Haiyan window: received, and recorded present
    browser.type("#receipt-number", "HY-RW-0001")
    browser.click("#receive-form button[type=submit]")
    wait_for(lambda: "Done: received" in browser.text("#act-status"), "received")
    wait_for(lambda: browser.visible("#window-rows button[data-step=join-applicant]"), "join")
    press(browser, "#window-rows button[data-step=join-applicant]")
    wait_for(lambda: "Done: the applicant joined" in browser.text("#window-status"), "applicant")
    assert "申请人" in row_text(browser)
    browser.review("remote-window-3-booked")
    clerks.sign_out()

    # Jinshan: the session to join, from Haiyan
    clerks.sign_in("clerk.jinshan", JINSHAN)
    wait_for(lambda: "海盐" in row_text(browser), "Haiyan's session in Jinshan's list")
    assert "已预约" in row_text(browser)
    assert "生育" in row_text(browser)
    assert not browser.visible("#window-rows button[data-step=end]")  # not started yet
    browser.review("remote-window-4-jinshan-list")
    press(browser, "#window-rows button[data-step=join-handling]")
    wait_for(lambda: "Done: this office joined" in browser.text("#window-status"), "joined")
    assert not browser.visible("#window-rows button[data-step=join-handling]")
    assert "办理窗口" in row_text(browser)
    clerks.sign_out()

    # Haiyan starts it
    clerks.sign_in("clerk.haiyan", HAIYAN)
    wait_for(lambda: browser.visible("#window-rows button[data-step=start]"), "the start")
    press(browser, "#window-rows button[data-step=start]")
    wait_for(lambda: "Done: session started" in browser.text("#window-status"), "started")
    assert "进行中" in row_text(browser)
    assert not browser.visible("#window-rows button[data-step=start]")
    assert not browser.visible("#window-rows button[data-step=cancel]")
    browser.review("remote-window-5-started")
    clerks.sign_out()

    # Jinshan ends it with an outcome (asked for first), then decides on the workbench
    clerks.sign_in("clerk.jinshan", JINSHAN)
    wait_for(lambda: browser.visible("#window-rows button[data-step=end]"), "the end")
    assert "your turn" in row_text(browser)
    press(browser, "#window-rows button[data-step=end]")
    wait_for(lambda: browser.visible("#session-step-form"), "the end form")
    browser.click("#session-step-submit")
    wait_for(lambda: browser.visible("#session-text-error"), "the outcome's problem")
    assert "请填写会话结果" in browser.text("#session-text-error")
    assert focused(browser) == "session-text"
    browser.review("remote-window-6-end-problem")
    browser.type("#session-text", OUTCOME)
    browser.click("#session-step-submit")
    wait_for(lambda: "Done: session ended" in browser.text("#window-status"), "ended")
    wait_for(lambda: browser.visible("#approve-form"), "the request's workbench")
    assert browser.visible("#window-none")  # nothing left to join
    assert "已结束" in browser.text("#act-window")
    assert OUTCOME in browser.text("#act-window")
    assert "远程窗口会话结束" in browser.text("#act-timeline")
    assert "your turn" in browser.text("#act-clock")
    browser.review("remote-window-7-ended")
    browser.type("#result-value", "MB-310116-0001")
    browser.click("#approve-form button[type=submit]")
    wait_for(lambda: browser.visible("#act-none"), "the request approved")
    assert "已办结" in browser.text("#act-clock")
    assert "MB-310116-0001" in browser.text("#act-clock")
    browser.review("remote-window-8-approved")
    assert server.call("GET", path, admin)["state"] == "approved"
    [held] = server.call("GET", path, admin)["remote_window"]["sessions"]
    assert (held["state"], held["joined"]) == ("ended", ["applicant", "handling"])
    assert browser.errors() == []
    clerks.sign_out()
