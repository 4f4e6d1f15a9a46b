"""Marriage registration in a real headless Chromium (zh-CN): the couple fill /apply/marriage
with mistakes and see every one at once in Chinese (the English beside), beside its field and
in the alert, the first field focused; the server's own refusal (a residence permit at a hukou
place) is marked on its field the same way; sent, the page shows the tracking code and what to
bring; with it the couple sign in at /track and see the case's state and each service's. A
civil-affairs window clerk signed in by session applies on the same page: the identity check is
then the window's (screenshots at 390 and 1280 px under var/screenshots)."""

from __future__ import annotations

from datetime import date

import pyotp

from domain.kernel.identifiers import make_citizen_id
from tests.browser import test_pages_browser as pages
from tests.browser.test_family_journey_browser import pick
from tests.browser.test_pages_browser import Browser, Server, sign_in, wait_for

pytestmark = pages.pytestmark
server, browser = pages.server, pages.browser  # its fixtures, here

HAIYAN, XUANWU, SHUSHAN = "330424", "320102", "340104"
A_ID = make_citizen_id(XUANWU, date(1995, 4, 2), 11)
B_ID = make_citizen_id(SHUSHAN, date(1996, 9, 1), 22)
WRONG_CHECK = A_ID[:17] + ("0" if A_ID[17] != "0" else "1")  # the check character off


def invalid(browser: Browser) -> list[str]:
    script = "return [...document.querySelectorAll('#apply-form [aria-invalid=true]')]"
    return list(browser.js(script + ".map((e) => e.dataset.field || e.name)"))


def focused(browser: Browser) -> str:
    return str(browser.js("return document.activeElement.id"))


def fill_party(
    browser: Browser, who: str, name: str, citizen_id: str, hukou: str, home: str
) -> None:
    browser.type(f"#{who}-name", name)
    browser.type(f"#{who}-citizen-id", citizen_id)
    browser.type(f"#{who}-hukou", hukou)
    browser.type(f"#{who}-residence", home)


def open_form(server: Server, browser: Browser) -> None:
    browser.open(server.url + "/apply/marriage")
    wait_for(lambda: browser.visible("#apply-form"), "the application form")
    wait_for(lambda: "正在确认" not in browser.text("#mode"), "the mode the page applies in")


def test_a_couple_applies_fixes_every_problem_and_follows_the_case(
    server: Server, browser: Browser
) -> None:
    open_form(server, browser)
    assert "网上申请" in browser.text("#mode")  # nobody signed in: online
    # party A's hukou through the picker, a wrong check character; party B unnamed; no place
    # chosen, no consent: every problem at once, each beside its field, the first focused
    pick(browser, "#a-hukou-province", "320000")
    pick(browser, "#a-hukou-city", "320100")
    pick(browser, "#a-hukou-county", XUANWU)
    assert browser.js("return document.getElementById('a-hukou').value") == XUANWU
    wait_for(lambda: "玄武区" in browser.text("#a-hukou-name"), "the hukou county's name")
    browser.type("#a-name", "张伟")
    browser.type("#a-citizen-id", WRONG_CHECK)
    browser.type("#a-residence", HAIYAN)
    fill_party(browser, "b", "", B_ID, SHUSHAN, SHUSHAN)
    browser.click("#apply-form button[type=submit]")
    wait_for(lambda: browser.visible("#apply-problem"), "the form's problems")
    assert invalid(browser) == [
        "party_a.citizen_id",
        "party_b.name",
        "registration_place",
        "consent",
    ]
    alert = browser.text("#apply-problem")
    assert "请修改以下 4 处" in alert
    assert "甲方身份证号校验码不正确" in browser.text("#a-citizen-id-error")
    assert "the check character is wrong" in browser.text("#a-citizen-id-error")  # beside
    assert "请填写乙方姓名" in browser.text("#b-name-error")
    assert "请选择登记地" in browser.text("#place-a-error")
    assert "请确认双方同意" in browser.text("#consent-error")
    assert focused(browser) == "a-citizen-id"
    browser.review("marriage-1-every-problem")

    # fixed, but registering at party B's residence permit place, which is B's hukou county:
    # the server refuses, and its problem is marked on the place the same way
    browser.type("#a-citizen-id", A_ID)
    browser.type("#b-name", "王芳")
    browser.click("input[name=registration_place][value=residence-permit]")
    wait_for(lambda: browser.visible("#holder-field"), "whose residence permit")
    browser.click("input[name=permit_holder][value=b]")
    browser.click("#consent")
    browser.click("#apply-form button[type=submit]")
    wait_for(lambda: browser.text("#place-a-error"), "the server's refusal")
    assert invalid(browser) == ["registration_place"]
    assert "申请信息有误" in browser.text("#apply-problem")  # the problem's title, in Chinese
    refused = browser.text("#place-a-error")
    assert "一方户籍在居住证签发地" in refused
    assert f"A party's hukou is in {SHUSHAN}" in refused  # the English beside
    assert focused(browser) == "place-a"
    browser.review("marriage-2-server-problem")

    # party A's permit (Haiyan, neither party's hukou): the case is opened
    browser.click("input[name=permit_holder][value=a]")
    browser.click("#apply-form button[type=submit]")
    wait_for(lambda: browser.visible("#done"), "the tracking code")
    code = browser.text("#done-code").strip()
    assert len(code) == 12
    assert "海盐县" in browser.text("#done-place")
    assert "登记时由登记机关当面核验" in browser.text("#done-identity")
    bring = browser.text("#done-bring")
    assert "居民户口簿" in bring
    assert "居住证" in bring  # registering at the permit's place
    assert "甲方居民身份证" in bring
    browser.review("marriage-3-tracking-code")

    # the couple follow the case at /track with either party's ID
    browser.click("#done-track")
    wait_for(lambda: browser.visible("#login-form"), "the tracking page")
    browser.type("#tracking-code", code)
    browser.type("#verifier", B_ID[-6:])
    browser.click("#login-form button[type=submit]")
    wait_for(lambda: browser.visible("#marriage"), "the marriage case")
    assert not browser.visible("#case")  # the birth view stays out of it
    assert "婚姻登记办理进度" in browser.text("#track-title")
    assert browser.text("#marriage-code").strip() == code
    assert "办理中" in browser.text("#marriage-state")
    services = browser.text("#marriage-services")
    assert services.count("待收件") == 2  # each party's marital status check, dispatched
    assert "已规划" in services  # the registration waits for both
    wait_for(lambda: "海盐县" in browser.text("#marriage-next"), "the office's name")
    assert "收件" in browser.text("#marriage-next")  # Haiyan's window receives next, by when
    assert "截止" in browser.text("#marriage-next")
    assert A_ID not in browser.text("#marriage-parties")  # masked
    browser.review("marriage-4-track")
    browser.click("#marriage-sign-out")
    wait_for(lambda: browser.visible("#login-form"), "signed out")
    assert "新生儿办理进度" in browser.text("#track-title")
    assert browser.errors() == []


def test_a_window_clerk_applies_for_a_couple(server: Server, browser: Browser) -> None:
    secret = server.user("clerk.haiyan.marriage", "office", HAIYAN, "civil-affairs")
    sign_in(server, browser, "clerk.haiyan.marriage", pyotp.TOTP(secret).now())
    wait_for(lambda: browser.js("return location.pathname") != "/sign-in", "signed in")
    open_form(server, browser)
    mode = browser.text("#mode")
    assert "窗口代办" in mode
    assert "clerk.haiyan.marriage" in mode
    a_id = make_citizen_id(XUANWU, date(1990, 1, 5), 31)
    b_id = make_citizen_id(SHUSHAN, date(1991, 2, 6), 42)
    fill_party(browser, "a", "李雷", a_id, XUANWU, HAIYAN)
    fill_party(browser, "b", "韩梅梅", b_id, SHUSHAN, HAIYAN)
    browser.click("input[name=registration_place][value=residence-permit]")
    wait_for(lambda: browser.visible("#holder-field"), "whose residence permit")
    browser.click("input[name=permit_holder][value=a]")
    browser.click("#consent")
    browser.click("#apply-form button[type=submit]")
    wait_for(lambda: browser.visible("#done"), "the tracking code")
    assert "窗口人员已当面核验" in browser.text("#done-identity")
    browser.review("marriage-5-window-clerk")
    assert browser.errors() == []
