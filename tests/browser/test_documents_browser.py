"""A family answers a one-time notice with a PDF on /track in a real headless Chromium, the
office's clerk (signed in with password + TOTP) opens the file from its page, the admin finds
both reads in the audit under the clerk's name, and the family sees the office's view (the
server and browser of test_pages_browser)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests import crafted_files as crafted
from tests.browser import test_pages_browser as pages
from tests.browser.test_pages_browser import Browser, Server, applied, wait_for

pytestmark = pages.pytestmark
server, browser, hospital = pages.server, pages.browser, pages.hospital  # its fixtures, here


def test_family_uploads_a_pdf_for_a_supplement_and_the_office_opens_it(
    server: Server, browser: Browser, hospital: str, tmp_path: Path
) -> None:
    case, _, plan = applied(server, hospital, "ZY-BROWSER-DOC-1")
    cdc = server.actor("office", "430602", "cdc")
    server.call("POST", plan["vaccination"] + "/receive", cdc, {"receipt_number": "R-D1"})
    server.call("POST", plan["vaccination"] + "/request-supplement", cdc, {"items": ["结婚证"]})
    pdf = crafted.page_pdf()
    path = tmp_path / "结婚证.pdf"
    path.write_bytes(pdf)

    pages.family_signs_in(server, browser, case)
    wait_for(lambda: browser.visible("#supplement-forms input[type=file]"), "the file input")
    browser.type("#supplement-forms textarea", "结婚证见附件")
    file_input = browser.find("#supplement-forms input[type=file]")
    browser.command("POST", f"/element/{file_input}/value", {"text": str(path)})
    browser.screenshot("track-6-upload")
    browser.click("#supplement-forms button[type=submit]")
    wait_for(lambda: not browser.visible("#supplement"), "the supplement with its file")
    assert "已补正" in browser.text("#timeline")

    listed = server.call("GET", plan["vaccination"] + "/documents", cdc)["documents"]
    assert [(d["name"], d["type"], d["size"]) for d in listed] == [
        ("结婚证.pdf", "application/pdf", len(pdf))
    ]
    download = httpx.get(
        f"{server.url}{plan['vaccination']}/documents/{listed[0]['id']}",
        headers={"Authorization": f"Bearer {cdc}"},
        timeout=10.0,
    )
    assert download.content == pdf
    browser.click("#sign-out")

    saved = tmp_path / "downloads"
    saved.mkdir()
    browser.cdp("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(saved)})
    pages.open_office_queue(server, browser, "clerk.docs", "430602", "cdc")  # signed in
    short = case.case_id[:8]
    wait_for(lambda: browser.visible(f"#queue-rows button[aria-label$='{short}']"), "the row")
    browser.click(f"#queue-rows button[aria-label$='{short}']")
    wait_for(lambda: browser.visible("#act-documents-list a"), "the family's file")
    assert "结婚证.pdf" in browser.text("#act-documents-list")
    browser.screenshot("office-3-documents")
    browser.click("#act-documents-list a")
    wait_for(lambda: (saved / "结婚证.pdf").is_file(), "the downloaded file")
    wait_for(lambda: (saved / "结婚证.pdf").read_bytes() == pdf, "the whole file")
    assert browser.errors() == []
    # the admin finds the office's reads of the file in the audit: its page's and the API's
    admin = server.actor("admin", "")
    rows = server.call("GET", f"/audit?case={case.case_id}", admin)["rows"]
    opened = {(r["authority"], r["via"], r["user"]) for r in rows if r["what"] == "document"}
    assert {("cdc", "page", "clerk.docs"), ("cdc", "api", "")} <= opened  # the clerk by name
    browser.click("#sign-out")  # the session ends, then the page goes to /sign-in
    wait_for(lambda: browser.js("return location.pathname") == "/sign-in", "the signed-out page")
    # and the family sees that the vaccination clinic viewed its case
    pages.family_signs_in(server, browser, case)
    wait_for(lambda: "430602" in browser.text("#viewed-by"), "the offices that viewed it")
    assert "疾控" in browser.text("#viewed-by")
    browser.screenshot("track-9-viewed-by-after-documents")
    assert browser.errors() == []
    browser.click("#sign-out")


def test_family_page_names_why_an_upload_is_refused(
    server: Server, browser: Browser, hospital: str, tmp_path: Path
) -> None:
    case, admin, plan = applied(server, hospital, "ZY-BROWSER-DOC-2")
    server.call("POST", plan["vaccination"] + "/receive", admin, {"receipt_number": "R-D2"})
    server.call("POST", plan["vaccination"] + "/request-supplement", admin, {"items": ["户口簿"]})
    renamed = tmp_path / "户口簿.pdf"
    renamed.write_bytes(crafted.png())  # a PNG named .pdf: Chromium sends it as a PDF

    pages.family_signs_in(server, browser, case)
    wait_for(lambda: browser.visible("#supplement-forms input[type=file]"), "the file input")
    browser.type("#supplement-forms textarea", "户口簿见附件")
    file_input = browser.find("#supplement-forms input[type=file]")
    browser.command("POST", f"/element/{file_input}/value", {"text": str(renamed)})
    browser.click("#supplement-forms button[type=submit]")
    wait_for(lambda: browser.visible("#supplement-forms .problem"), "the refusal")
    shown = browser.text("#supplement-forms .problem")
    assert "文件类型与内容不符" in shown
    assert "image/png" in shown
    assert browser.visible("#supplement")  # not supplemented: nothing was sent
    browser.click("#sign-out")
