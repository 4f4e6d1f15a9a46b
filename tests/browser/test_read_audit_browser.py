"""Issue 19's read audit in Chromium: after an office read the case, the family's /track page
lists it under 查阅记录 (Viewed by), Chinese first; the page's own reads are audited `via`
page, the office's API read `via` api, and the admin finds both."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.test_pages_browser import (  # the module's server, browser and hospital
    CHROMEDRIVER,
    CHROMIUM,
    Browser,
    Server,
    applied,
    browser,
    family_signs_in,
    hospital,
    server,
    wait_for,
)

__all__ = ["browser", "hospital", "server"]  # fixtures, used by name
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None, reason="needs chromium and chromedriver"
)


def test_the_family_page_shows_which_offices_viewed_the_case(
    server: Server, browser: Browser, hospital: str
) -> None:
    case, admin, _ = applied(server, hospital, "ZY-BROWSER-AUDIT")
    clerk = server.actor("office", "430602", "health")
    server.call("GET", f"/cases/{case.case_id}", clerk)  # the clinic reads the case

    family_signs_in(server, browser, case)
    wait_for(lambda: "430602" in browser.text("#viewed-by"), "the office that viewed the case")
    shown = browser.text("#viewed-by")
    assert "1 次" in shown
    assert "1 reads" in shown
    assert "430602" in shown
    browser.screenshot("track-8-viewed-by")
    assert browser.errors() == []

    rows = httpx.get(
        server.url + "/audit",
        params={"case": case.case_id},
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10.0,
    ).json()["rows"]
    seen = {(r["role"], r["via"]) for r in rows if r["what"] == "case"}
    assert ("office", "api") in seen
    assert ("family", "page") in seen  # Chromium's fetch from /track
    browser.click("#sign-out")
