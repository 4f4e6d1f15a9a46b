"""Issue 20's monitor journey in Chromium: a province monitor opens Hunan's roll-up (the level
picker starts at the monitor's province), sees the month's received requests and a bad rating
to call back (case id, rated service, unit, due date, the family's comment), the month per
matter (出生一件事 and its services) and the flows by matter (Hunan → Hubei for the household
registration), records the call-back, then looks at a city; the unit's clerk finds the same
item on /office, called back."""

from __future__ import annotations

from datetime import date

import httpx
import pyotp
import pytest

from domain.kernel.identifiers import make_citizen_id
from tests.browser.test_pages_browser import (  # the module's server, browser and hospital
    CHROMEDRIVER,
    CHROMIUM,
    VERIFIER,
    Browser,
    Server,
    applied,
    browser,
    hospital,
    open_office_queue,
    server,
    sign_in,
    wait_for,
)

__all__ = ["browser", "hospital", "server"]  # fixtures, used by name
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None, reason="needs chromium and chromedriver"
)
COMMENT = "疫苗接种证办了三次才拿到"
RESULTS = [  # in dependency order; the vaccination office decides last: its unit answers
    ("birth-certificate", {"certificate_number": "R430001290"}),
    ("household-registration", {"citizen_id": make_citizen_id("420102", date(2026, 11, 20), 9)}),
    ("medical-insurance", {"enrolment_number": "MI-420102-0090"}),
    ("social-security-card", {"card_number": "SSC-420102-0090"}),
    ("vaccination", {"vaccination_record_number": "VR-430602-0090"}),
]


def rated_badly(server: Server, hospital: str) -> str:
    """A completed case the family rated 1 of 5; its case id."""
    case, admin, plan = applied(server, hospital, "ZY-BROWSER-0090")
    for service, result in RESULTS:
        server.call("POST", plan[service] + "/receive", admin, {"receipt_number": "R-90"})
        server.call("POST", plan[service] + "/approve", admin, result)
    family = httpx.post(
        server.url + "/track",
        json={"tracking_code": case.tracking_code, "verifier": VERIFIER},
        timeout=10.0,
    ).json()["token"]
    rating = {"score": 1, "comment": COMMENT}
    server.call("POST", f"/cases/{case.case_id}/rating", family, rating)
    events = server.call("GET", f"/cases/{case.case_id}/history", admin)["events"]
    (rated,) = [e["data"] for e in events if e["event"] == "Rated"]
    assert (rated["service"], rated["authority"], rated["locality"]) == (
        "vaccination",
        "cdc",
        "430602",
    )
    return case.case_id


def test_a_province_monitor_opens_the_roll_up_and_records_a_call_back(
    server: Server, browser: Browser, hospital: str
) -> None:
    case_id = rated_badly(server, hospital)
    secret = server.user("monitor.hunan", "monitor", "43")
    sign_in(server, browser, "monitor.hunan", pyotp.TOTP(secret).now())
    wait_for(lambda: browser.js("return location.pathname") == "/monitor", "the monitor page")
    wait_for(lambda: browser.visible("#monitor-form"), "the monitor form")
    wait_for(
        lambda: browser.js("return document.getElementById('monitor-locality').value") == "43",
        "the province",
    )
    assert browser.js("return document.getElementById('monitor-level').value") == "province"
    wait_for(lambda: "湖南省" in browser.text("#monitor-locality-name"), "the province's name")
    browser.click("#monitor-form button[type=submit]")
    wait_for(lambda: browser.visible("#follow-ups li"), "the bad rating to call back")
    assert "全省" in browser.text("#figures-subject")
    assert int(browser.text("#figures dd[data-key=received]")) >= 2  # Hunan's offices received
    # the Wenzhou measure: the birth certificate's and the vaccination's 8 materials at least
    required, by_family, by_sharing = (
        int(browser.text(f"#figures dd[data-key='materials.{key}']"))
        for key in ("required", "by_family", "by_sharing")
    )
    assert required >= 8
    assert required == by_family + by_sharing
    assert browser.text("#figures dd[data-key='materials.sharing_rate']").endswith("%")
    assert browser.text("#figures dd[data-key='remote_window.held']") == "0"  # none in Hunan
    assert browser.js("return document.querySelectorAll('#chart-materials .bar').length") == 4
    item = browser.text("#follow-ups li")
    for shown in (case_id, COMMENT, "1/5", "待回访", "预防接种", "430602"):
        assert shown in item, shown
    # the matters table: births' totals, then its services, by name in Chinese and English
    wait_for(lambda: browser.visible("#matters-table"), "the matters table")
    births = "#matters-rows tr[data-kind=birth]"
    assert "出生一件事" in browser.text(births)
    assert "Newborn one thing" in browser.text(births)
    received = int(browser.text(births + " td"))  # the first count: received
    assert received == int(browser.text("#figures dd[data-key=received]"))
    assert "预防接种证办理" in browser.text("#matters-rows tr[data-service=vaccination]")
    # the flows by matter: the household registration received in Hunan, handled in Hubei
    hukou = "#matter-flows-rows tr[data-service=household-registration]"
    wait_for(lambda: browser.visible(hukou), "the flows by matter")
    for shown in ("出生一件事", "湖南省", "湖北省", "是"):
        assert shown in browser.text(hukou), shown
    assert browser.text(hukou + " td:nth-of-type(1)").endswith("43\uff09")  # 湖南省 (43)
    assert browser.text(hukou + " td:nth-of-type(2)").endswith("42\uff09")  # 湖北省 (42)
    browser.review("monitor-rollup")

    browser.js("document.querySelector('#follow-ups li form button').click()")
    wait_for(lambda: browser.visible("#follow-ups li .problem"), "the missing outcome named")
    assert "outcome" in browser.text("#follow-ups li .problem")
    browser.js(
        "const form = document.querySelector('#follow-ups li form');"
        "form.querySelector('select').value = 'registered';"
        "form.querySelector('textarea').value = '已致电家长 列入整改台账';"
    )
    browser.js("document.querySelector('#follow-ups li form button').click()")
    wait_for(lambda: "已回访" in browser.text("#follow-ups li"), "the call-back recorded")
    assert "列入台账限期整改" in browser.text("#follow-ups li")
    assert "已记录回访" in browser.text("#monitor-status")
    browser.review("monitor-called-back")

    browser.js("document.getElementById('monitor-level').value = 'city'")
    browser.type("#monitor-locality", "430602")  # any code in the city: the city's key 4306
    browser.click("#monitor-form button[type=submit]")
    wait_for(lambda: "4306" in browser.text("#figures-subject"), "the city's figures")
    assert "岳阳市" in browser.text("#figures-subject")
    assert case_id in browser.text("#follow-ups")
    assert browser.errors() == []
    browser.click("#sign-out")
    wait_for(lambda: browser.js("return location.pathname") == "/sign-in", "signed out")

    open_office_queue(server, browser, "clerk.cdc.90", "430602", "cdc")
    wait_for(lambda: browser.visible("#office-follow-ups li"), "the office's bad rating")
    office_item = browser.text("#office-follow-ups li")
    assert case_id in office_item
    assert "已回访" in office_item
    assert "监测人员" in office_item
    browser.review("office-follow-ups")
    assert browser.errors() == []
    browser.click("#sign-out")
