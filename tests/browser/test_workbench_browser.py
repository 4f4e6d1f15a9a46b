"""Issue 20's clerk's workbench in a real headless Chromium: the Wuhan police clerk, signed in
with password + TOTP, finds a request by the family's tracking code, sees the child's data
(name, birth date and time, sex, the carried-forward birth certificate number) and the
family's answer to its one-time notice, is told of every problem of a form at once before
anything is sent, and approves (the server and browser of test_pages_browser)."""

from __future__ import annotations

from datetime import date

import httpx

from domain.kernel.identifiers import make_citizen_id
from tests.browser import test_pages_browser as pages
from tests.browser.test_pages_browser import VERIFIER, Browser, Server, applied, wait_for

pytestmark = pages.pytestmark
server, browser, hospital = pages.server, pages.browser, pages.hospital  # its fixtures, here
MOTHER_ID = "420102199403081288"  # the fixture mother's (synthetic) citizen ID
ANSWER = "户口簿首页及户主页已带到窗口"


def family_answers(server: Server, tracking_code: str, path: str) -> None:
    """The family signs in at POST /track and answers the notice with one item."""
    token = httpx.post(
        server.url + "/track",
        json={"tracking_code": tracking_code, "verifier": VERIFIER},
        timeout=10.0,
    ).json()["token"]
    server.call("POST", path + "/supplement", token, {"items": [ANSWER]})


def focused(browser: Browser) -> str:
    return str(browser.js("return document.activeElement && document.activeElement.id"))


def test_a_clerk_finds_a_request_by_tracking_code_sees_the_answer_and_approves(
    server: Server, browser: Browser, hospital: str
) -> None:
    case, admin, plan = applied(server, hospital, "ZY-BROWSER-WB-1")
    certificate, hukou = plan["birth-certificate"], plan["household-registration"]
    server.call("POST", certificate + "/receive", admin, {"receipt_number": "R-WB-1"})
    server.call("POST", certificate + "/approve", admin, {"certificate_number": "R430009876"})
    wait_for(
        lambda: server.call("GET", hukou, admin)["state"] == "dispatched", "the hukou dispatched"
    )
    server.call("POST", hukou + "/receive", admin, {"receipt_number": "YY-PS-0001"})
    server.call("POST", hukou + "/request-supplement", admin, {"items": ["户口簿"]})
    family_answers(server, case.tracking_code, hukou)

    pages.open_office_queue(server, browser, "clerk.wuhan", "420102", "public-security")
    wait_for(lambda: browser.visible("#search-form"), "the search form")
    # a citizen ID with a wrong check character is caught before anything is sent
    browser.click("#search-form input[value=citizen_id]")
    browser.type("#search-value", MOTHER_ID[:-1] + "9")
    browser.click("#search-form button[type=submit]")
    wait_for(lambda: browser.visible("#search-problem"), "the search's problem")
    assert "校验码" in browser.text("#search-value-error")
    assert focused(browser) == "search-value"
    # a parent's citizen ID finds the request too (sent in the body, never in the URL), typed
    # in full-width digits as a Chinese input method may: read as ASCII before the check
    browser.js("document.getElementById('search-value').value = ''")
    browser.type("#search-value", "".join(chr(ord(c) + 0xFEE0) for c in MOTHER_ID))
    browser.click("#search-form button[type=submit]")
    wait_for(lambda: "1 found" in browser.text("#search-status"), "one request by citizen ID")
    assert not browser.visible("#search-problem")

    browser.click("#search-form input[value=tracking_code]")
    browser.js("document.getElementById('search-value').value = ''")
    browser.type("#search-value", case.tracking_code.lower())  # the page upper-cases it
    browser.click("#search-form button[type=submit]")
    wait_for(lambda: browser.visible("#act-view"), "the request found and opened")
    wait_for(lambda: "王安然" in browser.text("#act-data"), "the child's name")
    data = browser.text("#act-data")
    assert "2026/11/20" in data  # born (China time), with the hour
    assert "R430009876" in data  # the birth certificate number, carried forward
    assert "420102199403081288" in data  # the mother's ID: the police's to see
    assert "出生体重" not in data  # the weight was not sent to the police
    assert "女" in data or "男" in data
    assert ANSWER in browser.text("#act-exchanges-list")
    assert "户口簿" in browser.text("#act-exchanges-list")
    assert "your turn" in browser.text("#act-clock")
    assert "已补正" in browser.text("#act-timeline")
    assert "request=" in browser.js("return location.search")
    phone, desk = browser.review("workbench-1-request")
    assert phone.stat().st_size > 10_000
    assert desk.stat().st_size > 10_000

    # every problem of a form at once, the first field focused, nothing sent
    browser.click("#reject-form button[type=submit]")
    wait_for(lambda: browser.visible("#act-problem"), "the reject form's problems")
    assert browser.js("return document.querySelectorAll('#act-problem li').length") == 2
    assert focused(browser) == "reject-reason"
    browser.type("#result-value", "42010220261120")
    browser.click("#approve-form button[type=submit]")
    wait_for(lambda: browser.visible("#result-value-error"), "the result's problem")
    assert "Invalid field" in browser.text("#act-problem")
    assert focused(browser) == "result-value"
    browser.review("workbench-2-problems")
    assert server.call("GET", hukou, admin)["state"] == "received"  # nothing was sent

    child_id = make_citizen_id("420102", date(2026, 11, 20), 7)
    browser.js("document.getElementById('result-value').value = ''")
    browser.type("#result-value", child_id)
    browser.click("#approve-form button[type=submit]")
    wait_for(lambda: browser.visible("#act-none"), "the request approved")
    assert "已办结" in browser.text("#act-clock")
    assert "Done: approved" in browser.text("#act-status")
    assert child_id in browser.text("#act-clock")
    assert not browser.visible("#act-problem")
    browser.review("workbench-3-approved")
    assert server.call("GET", hukou, admin)["state"] == "approved"
    assert browser.errors() == []
    browser.click("#sign-out")
