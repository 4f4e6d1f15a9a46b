"""The family's journey on /track in a real headless Chromium (zh-CN): a wrong verifier is
answered in Chinese with the English beside; the application's every problem is shown at once,
each field marked; the parent picks the residence from the division picker; then the page shows
the overall progress, why a service waits and where and how to collect each result (the server
and browser of test_pages_browser; screenshots at 390 and 1280 px under var/screenshots)."""

from __future__ import annotations

from tests.browser import test_pages_browser as pages
from tests.browser.test_pages_browser import VERIFIER, Browser, Server, notify, wait_for

pytestmark = pages.pytestmark
server, browser, hospital = pages.server, pages.browser, pages.hospital  # its fixtures, here


def options(browser: Browser, select: str) -> int:
    return int(browser.js(f"return document.querySelectorAll('{select} option').length"))


def pick(browser: Browser, select: str, code: str) -> None:
    wait_for(lambda: options(browser, select) > 1, f"the choices of {select}")
    browser.click(f"{select} option[value='{code}']")


def invalid(browser: Browser) -> set[str]:
    script = "return [...document.querySelectorAll('#apply-form [aria-invalid=true]')]"
    return set(browser.js(script + ".map((e) => e.name)"))


def test_a_parent_picks_a_division_sees_every_problem_then_progress_and_collection(
    server: Server, browser: Browser, hospital: str
) -> None:
    case = notify(server, hospital, "notification-minimal.json", record_ref="ZY-FAMILY-0001")
    browser.open(server.url + "/track")
    wait_for(lambda: browser.visible("#login-form"), "the login form")
    browser.type("#tracking-code", case.tracking_code)
    browser.type("#verifier", "000000")
    browser.click("#login-form button[type=submit]")
    wait_for(lambda: browser.visible("#login-problem"), "the refusal")
    refusal = browser.text("#login-problem")
    assert "没有与该追踪码和验证信息相符的办件" in refusal  # Chinese first
    assert "No case matches this tracking code and verifier" in refusal  # the English beside

    browser.type("#verifier", VERIFIER)
    browser.click("#login-form button[type=submit]")
    wait_for(lambda: browser.visible("#apply-form"), "the application form")

    # every problem at once: a name in Latin letters, no household, no residence,
    # no consent: one answer, each field marked with its own message, the first focused
    browser.type("#child-name", "Li Anran")
    browser.click("#apply-form button[type=submit]")
    wait_for(lambda: browser.visible("#apply-problem"), "the form's problems")
    assert invalid(browser) == {"child_name", "household", "residence_division", "consent"}
    summary = browser.text("#apply-problem")
    assert "共 4 处需要更正" in summary
    assert "2 至 15 个汉字" in browser.text("#error-child_name")
    assert "请选择随父亲或随母亲落户" in browser.text("#error-household")
    assert "请选择居住地的区县" in browser.text("#error-residence_division")
    assert "监护人同意" in browser.text("#error-consent")
    assert "2 to 15 Chinese characters" in browser.text("#error-child_name")  # English beside
    assert browser.js("return document.activeElement.id") == "child-name"
    browser.review("family-1-every-problem")

    # the division picker: province → city → county fills the code, named as today
    pick(browser, "#residence-division-province", "430000")
    pick(browser, "#residence-division-city", "430600")
    pick(browser, "#residence-division-county", "430602")
    assert browser.js("return document.getElementById('residence-division').value") == "430602"
    wait_for(lambda: "岳阳楼区" in browser.text("#residence-name"), "the residence's name")
    browser.type("#child-name", "李安然")
    browser.click("input[name=household][value=mother]")
    browser.click("#consent")
    browser.click("#apply-form button[type=submit]")
    wait_for(lambda: browser.visible("#progress"), "the overall progress")
    assert not browser.visible("#apply-form")
    assert "已办结 0 项" in browser.text("#progress-text")
    assert "0 of 5 done" in browser.text("#progress-text")
    services = browser.text("#services")
    assert "等待「出生医学证明首次签发」办结" in services  # why hukou registration waits
    assert "Waiting for Birth medical certificate" in services

    office = server.actor("office", "430602", "health")
    (certificate,) = [
        s
        for s in server.call("GET", f"/cases/{case.case_id}", office)["services"]
        if s["service"] == "birth-certificate"
    ]
    path = f"/service-requests/{certificate['service_request_id']}"
    server.call("POST", path + "/receive", office, {"receipt_number": "YY-R-0101"})
    server.call("POST", path + "/approve", office, {"certificate_number": "R430001299"})
    browser.click("#refresh")
    wait_for(lambda: "已办结 1 项" in browser.text("#progress-text"), "the progress moved")
    services = browser.text("#services")
    assert "可领取" in services  # the certificate is ready
    assert "领取地点和方式" in services
    assert "户籍窗口" in services  # where the hukou result is collected
    assert "请携带" in services  # and what to bring
    assert "Waiting for Birth (hukou) registration" in services  # insurance waits on the hukou
    browser.review("family-2-progress-and-collection")
    assert browser.errors() == []
    browser.click("#sign-out")
