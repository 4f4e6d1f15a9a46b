"""Issue 21's pages in a real headless Chromium: a completed case's family page shows each
e-certificate with its QR code and the case's materials; its print view is A4, one certificate
a page (Chromium's print-to-PDF); a QR code read back from a screenshot (zxing-cpp) is a
certificate that POST /verify finds valid; the public /verify page says valid, or why not.
The server and browser of test_pages_browser."""

from __future__ import annotations

import base64
import io
import json
from datetime import date
from functools import partial
from typing import Any

import httpx
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from domain.kernel.identifiers import make_citizen_id
from tests.browser import test_pages_browser as pages
from tests.browser.test_pages_browser import Browser, Case, Server, applied, wait_for

pytestmark = pages.pytestmark
server, browser, hospital = pages.server, pages.browser, pages.hospital  # its fixtures, here
CHILD = "王安然"  # the child's name `applied` gives
A4 = (595.28, 841.89)  # points
RESULTS: dict[str, dict[str, str]] = {
    "birth-certificate": {"certificate_number": "R430002101"},
    "vaccination": {"vaccination_record_number": "VR-430602-2101"},
    "household-registration": {"citizen_id": make_citizen_id("420102", date(2026, 11, 20), 21)},
    "medical-insurance": {"enrolment_number": "MI-420102-2101"},
    "social-security-card": {"card_number": "SSC-420102-2101"},
    "maternity-benefits": {"decision_number": "MB-420102-2101"},
}


def completed(server: Server, hospital: str, record_ref: str) -> tuple[Case, str]:
    """A case every office has decided, through the API with an admin's token (each request
    once its office has it): the case and the admin's token."""
    case, admin, plan = applied(server, hospital, record_ref)
    for service, path in plan.items():  # the catalog's order: each after what it needs
        wait_for(partial(dispatched, server, admin, path), f"{service} dispatched", 30.0)
        server.call("POST", path + "/receive", admin, {"receipt_number": f"R-{service}"})
        server.call("POST", path + "/approve", admin, RESULTS[service])
    wait_for(
        lambda: server.call("GET", f"/cases/{case.case_id}", admin)["state"] == "completed",
        "the case completed",
    )
    return case, admin


def dispatched(server: Server, admin: str, path: str) -> bool:
    return bool(server.call("GET", path, admin)["state"] == "dispatched")


def verify(server: Server, certificate: str) -> dict[str, Any]:
    response = httpx.post(server.url + "/verify", json={"certificate": certificate}, timeout=10)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture(scope="module")
def done(server: Server, hospital: str) -> tuple[Case, list[dict[str, Any]]]:
    """One completed case and its certificates as the admin reads them."""
    case, admin = completed(server, hospital, "ZY-BROWSER-CERT-1")
    found = server.call("GET", f"/cases/{case.case_id}/certificates", admin)["certificates"]
    assert len(found) == 5
    return case, found


def qr_codes_shown(browser: Browser) -> int:
    return int(
        browser.js(
            "return Array.from(document.querySelectorAll('#certificates .qr img'))"
            ".filter((i) => i.complete && i.naturalWidth > 0).length"
        )
    )


def read_qr(browser: Browser, css: str, scale: int = 3) -> str:
    """The text of the QR code in the element, read by zxing-cpp from a screenshot of it (in
    view: a capture beyond the viewport lays the page out again, and things move)."""
    browser.js("document.querySelector(arguments[0]).scrollIntoView({block: 'center'})", css)
    box = browser.js(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height};",
        css,
    )
    shot = browser.cdp(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": False, "clip": {**box, "scale": scale}},
    )
    image = Image.open(io.BytesIO(base64.b64decode(shot["data"])))
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1, f"{css}: {len(found)} QR codes read"
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    return str(found[0].text)


def test_the_family_page_shows_each_certificate_with_its_qr_code_and_prints_a4(
    server: Server, browser: Browser, done: tuple[Case, list[dict[str, Any]]]
) -> None:
    case, certificates = done
    pages.family_signs_in(server, browser, case)
    wait_for(lambda: qr_codes_shown(browser) == 5, "the five QR codes")
    shown = browser.text("#certificates")
    for entry in certificates:
        assert entry["claims"]["result"]["value"] in shown
    assert "出生医学证明" in shown
    assert "有效" in shown
    assert CHILD in shown
    links = browser.js(
        "return Array.from(document.querySelectorAll('#certificates a.verify-link'), a => a.href)"
    )
    assert links == [f"{server.url}/verify#{e['certificate']}" for e in certificates]
    # the materials: which sharing spared the family, which the family supplied
    assert browser.visible("#materials-section")
    materials = browser.text("#materials-section")
    assert "共享数据" in materials
    assert "电子证照" in materials
    assert "由家庭提供" in materials
    assert "新生儿姓名" in materials
    browser.review("certificates-1-track")

    # each QR code, read back from a screenshot, is its certificate, and it verifies
    for entry in certificates:
        css = f"#certificates img[data-jti='{entry['jti']}']"
        text = read_qr(browser, css)
        assert text == entry["certificate"]
        answer = verify(server, text)
        assert answer["status"] == "valid", answer
        assert answer["jti"] == entry["jti"]

    # the print view: A4, one certificate a page, each page its certificate's result
    printed = browser.cdp("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True})
    pdf = base64.b64decode(printed["data"])
    (browser.shots / "certificates-2-print.pdf").write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == len(certificates)
    for page, entry in zip(reader.pages, certificates, strict=True):
        size = (float(page.mediabox.width), float(page.mediabox.height))
        assert size == pytest.approx(A4, abs=1.0)
        text = page.extract_text()
        assert entry["claims"]["result"]["value"] in text
        assert entry["jti"] in text
        assert "/verify" in text
    # the print view as a screenshot (print media at A4's width, 794 px), for review
    browser.cdp("Emulation.setEmulatedMedia", {"media": "print"})
    browser.cdp(
        "Emulation.setDeviceMetricsOverride",
        {"width": 794, "height": 1123, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        wait_for(lambda: not browser.visible("#services"), "the print view")
        browser.screenshot("certificates-2-print-view")
    finally:
        browser.cdp("Emulation.clearDeviceMetricsOverride")
        browser.cdp("Emulation.setEmulatedMedia", {"media": ""})
    assert browser.errors() == []
    browser.click("#sign-out")


def tampered(certificate: str) -> str:
    """The certificate with another result value in its payload, the signature kept."""
    header, payload, signature = certificate.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["result"]["value"] = "R430009999"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return ".".join((header, forged, signature))


def verdict(browser: Browser) -> str:
    return browser.text("#verdict") if browser.visible("#outcome") else ""


def test_the_verify_page_says_valid_or_why_not(
    server: Server, browser: Browser, done: tuple[Case, list[dict[str, Any]]]
) -> None:
    _, certificates = done
    birth = certificates[0]
    assert birth["service"] == "birth-certificate"
    browser.open(server.url + "/verify")
    wait_for(lambda: browser.visible("#verify-form"), "the verify form")
    assert browser.js("return document.documentElement.lang") == "zh-CN"
    browser.js("document.getElementById('certificate').value = arguments[0]", birth["certificate"])
    browser.click("#verify-form button[type=submit]")
    wait_for(lambda: "有效" in verdict(browser), "valid")
    stated = browser.text("#stated")
    assert "R430002101" in stated
    assert CHILD in stated
    assert birth["jti"] in stated
    wait_for(lambda: "湖南省" in browser.text("#stated"), "the issuer's province by name")
    assert "卫生健康部门" in browser.text("#stated")  # who signed it
    browser.review("certificates-3-verify-valid")

    browser.js(
        "document.getElementById('certificate').value = arguments[0]",
        tampered(birth["certificate"]),
    )
    browser.click("#verify-form button[type=submit]")
    wait_for(lambda: "无效" in verdict(browser), "invalid")
    reason = browser.js("return document.getElementById('invalid-reason').dataset.reason")
    assert reason == "bad-signature"
    assert "签名不符" in browser.text("#verdict-detail")
    assert browser.text("#stated") == ""  # nothing a forged certificate states is shown
    browser.review("certificates-4-verify-tampered")

    # opened with the certificate in the fragment (never sent to a server), then dropped
    browser.open(f"{server.url}/verify#{certificates[1]['certificate']}")
    wait_for(lambda: "有效" in verdict(browser), "valid, from the fragment")
    assert "VR-430602-2101" in browser.text("#stated")
    assert browser.js("return location.hash") == ""
    assert browser.errors() == []
