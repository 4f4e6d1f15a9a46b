"""Issue 21's certificate statuses in a real headless Chromium: a correction supersedes a
birth certificate, a void makes a case's certificates revocation-pending, then revoked once
the office revokes; the public /verify page and the family's /track page say each status in
words (Chinese with English), the superseded one naming the certificate that replaced it.
Screenshots at 390 and 1280 px (Browser.review) under var/screenshots. The server and browser
of test_pages_browser."""

from __future__ import annotations

import copy
import json
from functools import partial
from typing import Any

import httpx

from tests.browser import test_pages_browser as pages
from tests.browser.test_certificates_browser import completed, verdict, verify
from tests.browser.test_pages_browser import FIXTURES, Browser, Case, Server, wait_for

pytestmark = pages.pytestmark
server, browser, hospital = pages.server, pages.browser, pages.hospital  # its fixtures, here


def send(server: Server, token: str, record_ref: str, kind: str, **changes: str) -> None:
    """The minimal notification of `record_ref` again as an update or a void (another
    message id), with the child's `changes` (e.g. birthDate)."""
    message = json.loads((FIXTURES / "notification-minimal.json").read_text(encoding="utf-8"))
    message = copy.deepcopy(message)
    message["id"] = f"browser-{record_ref}-{kind}"
    for entry in message["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "MessageHeader":
            resource["id"] = f"browser-{record_ref}-{kind}"
            resource["eventCoding"]["code"] = f"birth-notification-{kind}"
        for identifier in resource.get("identifier", []):
            if identifier.get("system", "").endswith("/birth-record"):
                identifier["value"] = record_ref
        if resource["resourceType"] == "Patient" and resource.get("id") == "child":
            resource.update(changes)
    answer = httpx.post(
        server.url + "/fhir/$process-message",
        content=json.dumps(message).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
        timeout=20.0,
    )
    assert answer.status_code == 200, answer.text


def in_state(server: Server, admin: str, path: str, state: str) -> bool:
    return bool(server.call("GET", path, admin)["state"] == state)


def plan_of(server: Server, admin: str, case: Case) -> dict[str, str]:
    services = server.call("GET", f"/cases/{case.case_id}", admin)["services"]
    return {s["service"]: f"/service-requests/{s['service_request_id']}" for s in services}


def birth_certificates(server: Server, admin: str, case: Case) -> list[dict[str, Any]]:
    found = server.call("GET", f"/cases/{case.case_id}/certificates", admin)["certificates"]
    return [c for c in found if c["service"] == "birth-certificate"]


def verify_on_page(browser: Browser, server: Server, certificate: str, status: str) -> str:
    """/verify with the certificate pasted and sent: the verdict's text once it says `status`
    (the page's words for it)."""
    browser.open(server.url + "/verify")
    wait_for(lambda: browser.visible("#verify-form"), "the verify form")
    browser.js("document.getElementById('certificate').value = arguments[0]", certificate)
    browser.click("#verify-form button[type=submit]")
    return wait_for(lambda: verdict(browser) if status in verdict(browser) else "", status)


def card_of(browser: Browser, jti: str) -> str:
    return str(
        browser.js(
            "const li = document.querySelector(`#certificates li[data-jti='${arguments[0]}']`);"
            "return li ? li.innerText : '';",
            jti,
        )
    )


def test_superseded_revocation_pending_and_revoked_are_said_in_words(
    server: Server, browser: Browser, hospital: str
) -> None:
    # a correction: the hospital corrects the birth date, the health office re-issues
    corrected, admin = completed(server, hospital, "ZY-BROWSER-CERT-2")
    [old] = birth_certificates(server, admin, corrected)
    send(server, hospital, "ZY-BROWSER-CERT-2", "update", birthDate="2026-11-19")
    path = plan_of(server, admin, corrected)["birth-certificate"]
    wait_for(partial(in_state, server, admin, path, "correction-requested"), "the correction")
    server.call("POST", path + "/approve-correction", admin, {"certificate_number": "R430002102"})
    first, new = birth_certificates(server, admin, corrected)
    assert (first["jti"], first["status"], first["superseded_by"]) == (
        old["jti"], "superseded", new["jti"],
    )  # fmt: skip
    assert verify(server, new["certificate"])["status"] == "valid"
    said = verify_on_page(browser, server, old["certificate"], "已被更正后的证照取代")
    assert "superseded by a correction" in said
    assert browser.text("#superseded-by") == new["jti"]  # the certificate that replaced it
    assert "A correction replaced this certificate" in browser.text("#verdict-detail")
    browser.review("certificate-status-1-verify-superseded")
    pages.family_signs_in(server, browser, corrected)
    wait_for(lambda: card_of(browser, new["jti"]), "the certificates")
    superseded = card_of(browser, old["jti"])
    assert "已被更正后的证照取代" in superseded
    assert "superseded by a correction" in superseded
    assert "取代它的证照" in superseded
    assert new["jti"] in superseded
    assert "有效" in card_of(browser, new["jti"])
    assert "R430002102" in card_of(browser, new["jti"])
    browser.js("document.querySelector(`#certificates li[data-jti='${arguments[0]}']`)"
               ".scrollIntoView({block: 'start'})", old["jti"])  # fmt: skip
    browser.review("certificate-status-2-track-superseded")
    browser.click("#sign-out")

    # a void: each office that issued is asked to revoke (pending), then the health office does
    voided, admin = completed(server, hospital, "ZY-BROWSER-CERT-3")
    [issued] = birth_certificates(server, admin, voided)
    send(server, hospital, "ZY-BROWSER-CERT-3", "void")
    path = plan_of(server, admin, voided)["birth-certificate"]
    wait_for(partial(in_state, server, admin, path, "revocation-requested"), "the void")
    said = verify_on_page(browser, server, issued["certificate"], "撤销中")
    assert "revocation pending" in said
    assert "签发部门正在撤销此证照" in browser.text("#verdict-detail")
    browser.review("certificate-status-3-verify-revocation-pending")
    pages.family_signs_in(server, browser, voided)
    wait_for(lambda: "撤销中" in card_of(browser, issued["jti"]), "pending on /track")
    pending = card_of(browser, issued["jti"])
    assert "revocation pending" in pending
    assert "its office is revoking it" in pending
    browser.review("certificate-status-4-track-revocation-pending")
    browser.click("#sign-out")
    server.call("POST", path + "/revoke", admin, {})
    wait_for(partial(in_state, server, admin, path, "revoked"), "the revocation")
    said = verify_on_page(browser, server, issued["certificate"], "已撤销")
    assert "revoked" in said
    assert "Revoked by its office" in browser.text("#verdict-detail")
    browser.review("certificate-status-5-verify-revoked")
    pages.family_signs_in(server, browser, voided)
    wait_for(lambda: "已撤销" in card_of(browser, issued["jti"]), "revoked on /track")
    revoked = card_of(browser, issued["jti"])
    assert "撤销时间" in revoked
    assert "Revoked at" in revoked
    browser.review("certificate-status-6-track-revoked")
    assert browser.errors() == []
    browser.click("#sign-out")
