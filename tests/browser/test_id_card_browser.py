"""Issue 22's police window page /apply/id-card in a real headless Chromium: a Jiaxing
clerk, signed in with password + TOTP, sends an application with three mistakes and sees
each beside its field at once (Chinese first, the English beside), corrects them and gets
the applicant's tracking code, with which the applicant follows the case at /track (the
server and browser of test_pages_browser)."""

from __future__ import annotations

from datetime import date

import pyotp

from domain.kernel.identifiers import make_citizen_id
from tests.browser import test_pages_browser as pages
from tests.browser.test_pages_browser import Browser, Server, sign_in, wait_for

pytestmark = pages.pytestmark
server, browser = pages.server, pages.browser  # its fixtures, here

APPLICANT_ID = make_citizen_id("420102", date(1994, 3, 8), 13)


def test_a_window_clerk_opens_an_id_card_case_with_errors_beside_each_field(
    server: Server, browser: Browser
) -> None:
    secret = server.user("clerk.jiaxing", "office", "330402", "public-security")
    sign_in(server, browser, "clerk.jiaxing", pyotp.TOTP(secret).now())
    wait_for(lambda: browser.js("return location.pathname") == "/office", "the office page")
    browser.open(server.url + "/apply/id-card")
    wait_for(lambda: browser.visible("#apply-form"), "the application form")
    assert "330402" in browser.text("#apply-window")

    browser.type("#f-name", "李雷")
    browser.type("#f-citizen_id", APPLICANT_ID[:-1] + ("1" if APPLICANT_ID[-1] != "1" else "2"))
    browser.type("#f-phone", "12345")
    browser.type("#f-hukou_division", "420102")
    browser.click("#apply-form button[type=submit]")
    wait_for(lambda: browser.visible("#f-reason-error"), "the problems beside the fields")
    for name in ("citizen_id", "phone", "reason", "identity_document"):
        assert browser.visible(f"#f-{name}-error"), name
    assert not browser.visible("#f-name-error")
    assert browser.visible("#apply-problem")
    pages_shots = browser.review("apply-id-card-errors")
    assert all(p.stat().st_size > 0 for p in pages_shots)

    browser.js("document.getElementById('f-citizen_id').value = ''")
    browser.type("#f-citizen_id", APPLICANT_ID)
    browser.js("document.getElementById('f-phone').value = ''")
    browser.type("#f-phone", "13912345678")
    browser.click("#apply-form input[value=replacement]")
    browser.js("document.getElementById('f-identity_document').value = 'household-register'")
    browser.click("#f-temporary_id_card")
    browser.click("#apply-form button[type=submit]")
    wait_for(lambda: browser.visible("#apply-done"), "the case opened")
    assert len(browser.text("#apply-tracking")) == 12
    assert not browser.visible("#apply-problem")
    assert not browser.visible("#f-reason-error")
    browser.review("apply-id-card-opened")
    code = browser.text("#apply-tracking").strip()

    # the applicant follows the case at /track with the last 6 of the citizen ID
    browser.open(server.url + "/track")
    wait_for(lambda: browser.visible("#login-form"), "the tracking page")
    browser.type("#tracking-code", code)
    browser.type("#verifier", APPLICANT_ID[-6:])
    browser.click("#login-form button[type=submit]")
    wait_for(lambda: browser.visible("#idcard"), "the ID card case")
    assert not browser.visible("#case")
    assert not browser.visible("#marriage")
    assert "身份证办理进度" in browser.text("#track-title")
    assert browser.text("#idcard-code").strip() == code
    assert browser.js("return document.getElementById('idcard-where').dataset.where") == (
        "being-decided"
    )
    steps = browser.text("#idcard-steps")
    assert "待收件" in steps  # the production and the temporary card wait for the window
    wait_for(lambda: "南湖区" in browser.text("#idcard-collect"), "the window's name")
    browser.review("track-id-card")
    browser.click("#idcard-sign-out")
    wait_for(lambda: browser.visible("#login-form"), "signed out")
    assert browser.errors() == []
