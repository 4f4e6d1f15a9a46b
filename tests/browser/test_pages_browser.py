"""The pages in a real headless Chromium, driven over WebDriver, against the real server.

Optional in CI: skipped when Debian's `chromium` and `chromium-driver` are not installed
(`apt-get install -y chromium chromium-driver`). The WebDriver protocol is spoken with httpx,
so no Selenium is needed. Screenshots go to $NEWBORN_LEDGER_SCREENSHOTS (else a temp dir).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pyotp
import pytest

from domain.kernel.identifiers import make_citizen_id

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "fhir"
HOSPITAL = "12430600MB1A2B3C4W"  # the facility of the FHIR fixtures
VERIFIER = "081288"  # last 6 of the fixture mother's (synthetic) citizen ID
PASSWORD = "correct horse battery staple"  # every staff user's here
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C web element key
CHROME_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
    "--lang=zh-CN",
]
T = TypeVar("T")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="headless Chromium not installed (apt-get install -y chromium chromium-driver)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(check: Callable[[], T], what: str, timeout_s: float = 15.0) -> T:
    """The first truthy value of check(), or a failure naming what never happened."""
    end = time.monotonic() + timeout_s
    while True:
        try:
            value = check()
        except (httpx.TransportError, WebDriverError):
            value = None
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


@dataclass
class Server:
    url: str
    env: dict[str, str]

    def cli(self, *args: str) -> str:
        """Run `newborn-ledger` against the server's store; its last line (a token)."""
        done = subprocess.run(
            [sys.executable, "-m", "entry.cli", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    def user(self, username: str, role: str, scope: str, authority: str | None = None) -> str:
        """A staff user added with the command line; its TOTP secret (the last line)."""
        extra = ["--authority", authority] if authority else []
        self.env["NEWBORN_LEDGER_USER_PASSWORD"] = PASSWORD
        return self.cli("user", "add", username, "--role", role, "--scope", scope, *extra)

    def actor(self, role: str, scope: str, authority: str | None = None) -> str:
        extra = ["--authority", authority] if authority else []
        return self.cli("actor", "add", "--role", role, "--scope", scope, *extra)

    def call(self, method: str, path: str, token: str, body: Any = None) -> Any:
        response = httpx.request(
            method,
            self.url + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10.0,
        )
        assert response.status_code < 300, response.text
        return response.json()


@dataclass
class Case:
    case_id: str
    tracking_code: str


def notify(server: Server, token: str, fixture: str, record_ref: str | None = None) -> Case:
    """POST a hospital FHIR message (as another birth record when `record_ref` is given);
    the case id and tracking code from the acknowledgement."""
    message = json.loads((FIXTURES / fixture).read_text(encoding="utf-8"))
    if record_ref:
        for entry in message["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] == "MessageHeader":
                resource["id"] = f"browser-{record_ref}"
            for identifier in resource.get("identifier", []):
                if identifier.get("system", "").endswith("/birth-record"):
                    identifier["value"] = record_ref
    response = httpx.post(
        server.url + "/fhir/$process-message",
        content=json.dumps(message).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
        timeout=20.0,
    )
    assert response.status_code == 200, response.text
    found = {
        p["name"]: p.get("valueString")
        for entry in response.json()["entry"]
        if entry["resource"]["resourceType"] == "Parameters"
        for p in entry["resource"]["parameter"]
    }
    return Case(str(found["case_id"]), str(found["tracking_code"]))


class WebDriverError(Exception):
    pass


class Browser:
    """The few WebDriver commands these tests need, over plain HTTP."""

    def __init__(self, driver_url: str, session_id: str, shots: Path) -> None:
        self.http = httpx.Client(base_url=f"{driver_url}/session/{session_id}", timeout=60.0)
        self.shots = shots

    def command(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, path, json=body)
        value = response.json().get("value")
        if response.status_code >= 400:
            raise WebDriverError(f"{method} {path}: {value}")
        return value

    def open(self, url: str) -> None:
        self.command("POST", "/url", {"url": url})

    def js(self, script: str, *args: Any) -> Any:
        return self.command("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css: str) -> str:
        found = self.command("POST", "/element", {"using": "css selector", "value": css})
        return str(found[ELEMENT])

    def type(self, css: str, text: str) -> None:
        element = self.find(css)
        self.command("POST", f"/element/{element}/clear", {})
        self.command("POST", f"/element/{element}/value", {"text": text})

    def click(self, css: str) -> None:
        self.command("POST", f"/element/{self.find(css)}/click", {})

    def text(self, css: str) -> str:
        return str(
            self.js(
                "const e = document.querySelector(arguments[0]); return e ? e.innerText : ''", css
            )
        )

    def visible(self, css: str) -> bool:
        return bool(
            self.js(
                "const e = document.querySelector(arguments[0]);"
                "return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0;",
                css,
            )
        )

    def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        """A PNG of the page (beyond the viewport), taken through the DevTools protocol."""
        self.js("window.scrollTo(0, 0)")
        metrics = self.cdp("Page.getLayoutMetrics")
        size = metrics["cssContentSize"] if full_page else metrics["cssVisualViewport"]
        width, height = size.get("width") or size["clientWidth"], size.get("height")
        clip = {"x": 0, "y": 0, "width": width, "height": height or size["clientHeight"]}
        clip["scale"] = 1
        shot = self.cdp(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": clip},
        )
        path = self.shots / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def review(self, name: str, widths: tuple[int, ...] = (390, 1280)) -> list[Path]:
        """The page as a phone (390 px) and a desk (1280 px) see it: a full-page screenshot at
        each width, saved for review as `name-<width>.png`; the page never scrolls sideways."""
        shots = []
        try:
            for width in widths:
                self.cdp(
                    "Emulation.setDeviceMetricsOverride",
                    {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
                )
                wait_for(partial(self.inner_width_is, width), f"{width} px")
                overflow = self.js("return document.documentElement.scrollWidth - innerWidth")
                assert overflow <= 0, f"{name} scrolls sideways at {width} px"
                shots.append(self.screenshot(f"{name}-{width}"))
        finally:
            self.cdp("Emulation.clearDeviceMetricsOverride")
        return shots

    def inner_width_is(self, width: int) -> bool:
        return bool(self.js("return window.innerWidth") == width)

    def cdp(self, command: str, params: dict[str, Any] | None = None) -> Any:
        return self.command("POST", "/goog/cdp/execute", {"cmd": command, "params": params or {}})

    def errors(self) -> list[str]:
        """Severe console entries other than the expected HTTP error statuses."""
        entries = self.command("POST", "/se/log", {"type": "browser"}) or []
        return [
            str(e["message"])
            for e in entries
            if e.get("level") == "SEVERE" and "Failed to load resource" not in str(e["message"])
        ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(tmp_path_factory, {})


def _ready(url: str) -> bool:
    return httpx.get(url + "/readyz", timeout=1.0).status_code == 200


def serve(tmp_path_factory: pytest.TempPathFactory, extra: dict[str, str]) -> Iterator[Server]:
    """`newborn-ledger serve` on a fresh SQLite store and a free port, until the test ends."""
    home = tmp_path_factory.mktemp("server")
    port = free_port()
    env = {
        **os.environ,
        "NEWBORN_LEDGER_SQLITE_DIR": str(home / "var"),
        "NEWBORN_LEDGER_PERSISTENCE": "sqlite",
        # quick retries: a registry system that cannot be reached opens its circuit at once
        "NEWBORN_LEDGER_DELIVERY_BASE_DELAY": "0.1",
        "NEWBORN_LEDGER_DELIVERY_MAX_DELAY": "0.2",
        "NEWBORN_LEDGER_DELIVERY_CIRCUIT_FAILURES": "2",
        "NEWBORN_LEDGER_DELIVERY_INTERVAL": "0.2",
        "NEWBORN_LEDGER_DELIVERY_TIMEOUT": "1",
        "NEWBORN_LEDGER_DELIVERY_LEASE": "4",
        **extra,
    }
    with (home / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "entry.cli", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        # a minute: on a busy 2-CPU machine the imports alone can take over 15 s
        ready = partial(_ready, url)
        wait_for(ready, "the server", 60.0)
        yield Server(url, env)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    assert CHROMEDRIVER is not None
    home = tmp_path_factory.mktemp("chromium")
    # kept under the project's var/ (not committed) for a person to review after the run
    shots = Path(os.environ.get("NEWBORN_LEDGER_SCREENSHOTS") or ROOT / "var" / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with (home / "chromedriver.log").open("wb") as log:
        driver = subprocess.Popen(
            [CHROMEDRIVER, f"--port={port}"], stdout=log, stderr=subprocess.STDOUT
        )
    driver_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: httpx.get(driver_url + "/status", timeout=1.0).json()["value"]["ready"],
            "chromedriver",
        )
        options: dict[str, Any] = {"args": [*CHROME_ARGS, f"--user-data-dir={home / 'profile'}"]}
        capabilities = {
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "goog:loggingPrefs": {"browser": "ALL"},
        }
        created = httpx.post(
            driver_url + "/session",
            json={"capabilities": {"alwaysMatch": capabilities}},
            timeout=60.0,
        )
        assert created.status_code == 200, created.text
        session_id = created.json()["value"]["sessionId"]
        browser = Browser(driver_url, session_id, shots)
        try:
            yield browser
        finally:
            httpx.delete(f"{driver_url}/session/{session_id}", timeout=30.0)
            browser.http.close()
    finally:
        driver.terminate()
        try:
            driver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            driver.kill()
            driver.wait()


@pytest.fixture(scope="module")
def hospital(server: Server) -> str:
    return server.actor("hospital", HOSPITAL)


def test_family_page_applies_and_follows_the_timeline(
    server: Server, browser: Browser, hospital: str
) -> None:
    case = notify(server, hospital, "notification-minimal.json")  # no name, no household yet
    browser.open(server.url + "/track")
    wait_for(lambda: browser.visible("#login-form"), "the login form")
    assert browser.js("return document.documentElement.lang") == "zh-CN"
    browser.type("#tracking-code", case.tracking_code)
    browser.type("#verifier", VERIFIER)
    browser.click("#login-form button[type=submit]")
    wait_for(lambda: browser.visible("#apply-form"), "the application form")
    assert case.tracking_code in browser.text("#case-code")
    assert "申请" in browser.text("#next-action")
    browser.screenshot("track-1-apply")

    browser.type("#child-name", "李安然")
    browser.click("input[name=household][value=mother]")
    browser.type("#residence-division", "430602")
    wait_for(lambda: "岳阳楼区" in browser.text("#residence-name"), "the residence's name")
    browser.click("#consent")
    browser.click("#apply-form button[type=submit]")
    wait_for(
        lambda: browser.js("return document.querySelectorAll('#services > li').length") >= 5,
        "the services",
    )
    assert not browser.visible("#apply-form")
    services = browser.text("#services")
    assert "出生医学证明" in services
    assert "出生登记" in services
    wait_for(lambda: "湖北省 江岸区" in browser.text("#services"), "the handling locality's name")
    assert "湖南省 岳阳楼区" in browser.text("#services")
    assert "家庭提交申请" in browser.text("#timeline")

    office = server.actor("office", "430602", "health")
    certificate = next(
        s
        for s in server.call("GET", f"/cases/{case.case_id}", office)["services"]
        if s["service"] == "birth-certificate"
    )
    path = f"/service-requests/{certificate['service_request_id']}"
    server.call("POST", path + "/receive", office, {"receipt_number": "YY-R-0001"})
    server.call("POST", path + "/approve", office, {"certificate_number": "R430001235"})

    browser.open(server.url + "/track")  # the family token is kept in sessionStorage
    wait_for(lambda: "R430001235" in browser.text("#services"), "the certificate number")
    assert not browser.visible("#login-form")
    assert "已办结" in browser.text("#services")
    assert "已收件" in browser.text("#timeline")
    shot = browser.screenshot("track-2-timeline")
    assert shot.stat().st_size > 10_000
    phone, desk = browser.review("track-3-timeline")
    assert phone.stat().st_size > 10_000
    assert desk.stat().st_size > 10_000
    assert browser.errors() == []

    session = browser.js("return JSON.parse(sessionStorage.getItem('newborn-ledger.family'))")
    family = {"Authorization": f"Bearer {session['token']}"}
    case_url = f"{server.url}/cases/{case.case_id}"
    assert httpx.get(case_url, headers=family, timeout=10).status_code == 200
    browser.click("#sign-out")
    wait_for(lambda: browser.visible("#login-form"), "the login form after signing out")
    assert browser.js("return sessionStorage.length") == 0
    # signing out revoked the token: a copy of it no longer opens the case
    assert httpx.get(case_url, headers=family, timeout=10).status_code == 401


def applied(server: Server, hospital: str, record_ref: str) -> tuple[Case, str, dict[str, str]]:
    """A case the family signed in to and applied for: the case, an admin's token, and each
    service's request path."""
    case = notify(server, hospital, "notification-minimal.json", record_ref=record_ref)
    family = httpx.post(
        server.url + "/track",
        json={"tracking_code": case.tracking_code, "verifier": VERIFIER},
        timeout=10.0,
    ).json()["token"]
    application = {
        "child_name": "王安然",
        "household": "mother",
        "residence_division": "430602",
        "consent": True,
    }
    server.call("POST", f"/cases/{case.case_id}/family-application", family, application)
    admin = server.actor("admin", "")
    plan = {
        s["service"]: f"/service-requests/{s['service_request_id']}"
        for s in server.call("GET", f"/cases/{case.case_id}", admin)["services"]
    }
    return case, admin, plan


def test_family_page_answers_a_supplement_and_rates(
    server: Server, browser: Browser, hospital: str
) -> None:
    case, admin, plan = applied(server, hospital, "ZY-BROWSER-0003")
    server.call("POST", plan["vaccination"] + "/receive", admin, {"receipt_number": "R-1"})
    server.call("POST", plan["vaccination"] + "/request-supplement", admin, {"items": ["居住证明"]})

    browser.open(server.url + "/track")
    wait_for(lambda: browser.visible("#login-form"), "the login form")
    browser.type("#tracking-code", case.tracking_code.lower())  # the page upper-cases it
    browser.type("#verifier", VERIFIER)
    browser.click("#login-form button[type=submit]")
    wait_for(lambda: browser.visible("#supplement-forms textarea"), "the supplement form")
    assert "居住证明" in browser.text("#next-action")
    browser.type("#supplement-forms textarea", "岳阳楼区居住证 2026-0001")
    browser.screenshot("track-4-supplement")
    browser.click("#supplement-forms button[type=submit]")
    wait_for(lambda: not browser.visible("#supplement"), "the supplement accepted")
    assert "已补正" in browser.text("#timeline")

    results = [
        ("birth-certificate", {"certificate_number": "R430001236"}),
        ("vaccination", {"vaccination_record_number": "VR-430602-0003"}),
        (
            "household-registration",
            {"citizen_id": make_citizen_id("420102", date(2026, 11, 20), 3)},
        ),
        ("medical-insurance", {"enrolment_number": "MI-420102-0003"}),
        ("social-security-card", {"card_number": "SSC-420102-0003"}),
    ]
    for service, result in results:
        if service != "vaccination":
            server.call("POST", plan[service] + "/receive", admin, {"receipt_number": "R-2"})
        server.call("POST", plan[service] + "/approve", admin, result)
    browser.click("#refresh")
    wait_for(lambda: browser.visible("#rate-form"), "the rating form")
    assert "已办结" in browser.text("#case-state")
    browser.click("#rate-form input[name=score][value='5']")
    browser.type("#rate-comment", "一次办好")
    browser.screenshot("track-5-rate")
    browser.click("#rate-form button[type=submit]")
    wait_for(lambda: not browser.visible("#rate-form"), "the rating accepted")
    assert "感谢" in browser.text("#next-action")
    assert "已评价" in browser.text("#timeline")
    assert browser.errors() == []
    browser.click("#sign-out")


def family_signs_in(server: Server, browser: Browser, case: Case) -> None:
    """/track's sign-in, filled in with the case's tracking code and the mother's verifier."""
    browser.open(server.url + "/track")
    wait_for(lambda: browser.visible("#login-form"), "the login form")
    browser.type("#tracking-code", case.tracking_code)
    browser.type("#verifier", VERIFIER)
    browser.click("#login-form button[type=submit]")


def sign_in(server: Server, browser: Browser, username: str, code: str) -> None:
    """The sign-in page, filled in and sent (password + the one-time code)."""
    browser.open(server.url + "/sign-in")
    wait_for(lambda: browser.visible("#sign-in-form"), "the sign-in form")
    browser.type("#username", username)
    browser.type("#password", PASSWORD)
    browser.type("#code", code)
    browser.click("#sign-in-form button[type=submit]")


def open_office_queue(
    server: Server, browser: Browser, username: str, locality: str, authority: str
) -> str:
    """A new clerk of the office signed in with password + TOTP, on /office with its queue
    loading (the office is the session's); the clerk's TOTP secret."""
    secret = server.user(username, "office", locality, authority)
    sign_in(server, browser, username, pyotp.TOTP(secret).now())
    wait_for(lambda: browser.js("return location.pathname") == "/office", "the office page")
    wait_for(lambda: browser.visible("#who"), "the signed-in user in the header")
    assert username in browser.text("#who-user")
    return secret


def test_office_page_works_the_queue_and_shows_problems_inline(
    server: Server, browser: Browser, hospital: str
) -> None:
    case = notify(server, hospital, "notification-full.json")  # planned and dispatched at once
    open_office_queue(server, browser, "clerk.cdc", "430602", "cdc")
    wait_for(lambda: browser.visible("#queue-rows button"), "a queue row")
    assert "预防接种" in browser.text("#queue-rows")
    short = case.case_id[:8]
    browser.click(f"#queue-rows button[aria-label$='{short}']")
    wait_for(lambda: browser.visible("#receive-form"), "the receive form")
    assert not browser.visible("#approve-form")
    browser.type("#receipt-number", "YY-CDC-0001")
    browser.click("#receive-form button[type=submit]")
    wait_for(lambda: browser.visible("#approve-form"), "the approve form after receipt")
    assert "vaccination_record_number" in browser.text("#result-field")

    browser.type("#supplement-items", "   ")
    browser.click("#supplement-request-form button[type=submit]")
    wait_for(lambda: browser.visible("#act-problem"), "the inline problem")
    problem = browser.text("#act-problem")
    assert "Invalid field" in problem
    assert "items" in problem
    browser.screenshot("office-1-problem")

    browser.type("#result-value", "VR-430602-0001")
    browser.click("#approve-form button[type=submit]")
    wait_for(lambda: browser.visible("#act-none"), "the request approved")
    assert not browser.visible("#act-problem")
    # the default queue is the office's open work: the approved request leaves it
    wait_for(lambda: short not in browser.text("#queue-rows"), "the approved row gone")
    browser.js("document.getElementById('filter-state').value = 'approved'")
    browser.click("#filter-form button[type=submit]")
    only_approved = (
        "const states = [...document.querySelectorAll('#queue-rows [class*=state-]')]"
        ".map((e) => e.className); return states.length > 0 && "
        "states.every((c) => c.includes('state-approved'))"
    )
    wait_for(lambda: browser.js(only_approved), "the queue filtered to approved requests")
    assert short in browser.text("#queue-rows")
    browser.screenshot("office-2-queue")
    assert browser.errors() == []


def test_monitor_page_draws_figures_and_flows(
    server: Server, browser: Browser, hospital: str
) -> None:
    case = notify(server, hospital, "notification-full.json")  # counted in the 43 → 42 flow
    clinic = server.actor("office", "430602", "health")
    server.call("GET", f"/cases/{case.case_id}", clinic)  # a read the audit counts
    secret = server.user("monitor.national", "monitor", "national")
    month = (datetime.now(UTC) + timedelta(hours=8)).strftime("%Y-%m")
    sign_in(server, browser, "monitor.national", pyotp.TOTP(secret).now())
    wait_for(lambda: browser.js("return location.pathname") == "/monitor", "the monitor page")
    wait_for(lambda: browser.visible("#monitor-form"), "the monitor form")
    assert browser.js("return document.getElementById('monitor-month').value") == month
    browser.type("#monitor-locality", "430602")
    browser.click("#monitor-form button[type=submit]")
    wait_for(lambda: browser.visible("#flows-section"), "the flows")
    wait_for(
        lambda: (
            "湖南省 → 湖北省" in browser.text("#flows-rows")
            or "湖南省" in browser.text("#flows-rows")
        ),
        "the province names",
    )
    assert browser.js("return document.querySelectorAll('#chart-flows svg .bar rect').length") >= 1
    assert browser.js("return document.querySelectorAll('#chart-on-time svg path').length") >= 1
    assert (
        browser.js("return document.querySelector('#chart-flows svg').getAttribute('role')")
        == "img"
    )
    assert "湖南省" in browser.text("#figures-subject")
    wait_for(lambda: browser.visible("#reads-table"), "the offices' reads of personal data")
    clinic_row = next(r for r in browser.text("#reads-rows").splitlines() if "出生医院" in r)
    assert "430602" in clinic_row
    assert re.search(r"案件 case [1-9]", clinic_row)  # its read of the case (others' too)
    browser.screenshot("monitor")
    assert browser.errors() == []


def test_family_page_shows_a_rejection_resubmits_and_closes(
    server: Server, browser: Browser, hospital: str
) -> None:
    """The family reads the reason and legal basis of a rejection, who acts next and by when,
    resubmits from the page; a second rejection it closes, and the page shows the summary."""
    case, admin, plan = applied(server, hospital, "ZY-BROWSER-0005")
    certificate = plan["birth-certificate"]
    server.call("POST", certificate + "/receive", admin, {"receipt_number": "R-1"})
    rejection = {
        "reason": "申请信息与分娩记录不一致",
        "basis": "Administrative Licensing Law Art. 38",
    }
    server.call("POST", certificate + "/reject", admin, rejection)

    family_signs_in(server, browser, case)
    wait_for(lambda: "分娩记录" in browser.text("#services"), "the rejection's reason")
    assert "Art. 38" in browser.text("#services")
    assert "you, the family" in browser.text("#case-waiting")  # it acts next, by its date
    browser.screenshot("track-6-rejected")
    browser.click("#services .actions button")  # 更正后重新申请 Resubmit
    wait_for(lambda: "已重新申请" in browser.text("#services"), "the resubmission")
    again = server.call("GET", f"/cases/{case.case_id}", admin)["services"]
    (latest,) = [
        s for s in again if s["service"] == "birth-certificate" and not s.get("resubmitted_as")
    ]
    assert latest["attempt"] == 2
    second = f"/service-requests/{latest['service_request_id']}"
    server.call("POST", second + "/receive", admin, {"receipt_number": "R-2"})
    server.call("POST", second + "/reject", admin, rejection)
    server.call("POST", plan["vaccination"] + "/receive", admin, {"receipt_number": "R-3"})
    server.call(
        "POST", plan["vaccination"] + "/approve", admin, {"vaccination_record_number": "VR-5"}
    )
    browser.click("#refresh")
    wait_for(lambda: browser.visible("#closing button"), "the close button")
    browser.click("#closing button")  # 终止办件 Close the case
    wait_for(lambda: "办件小结" in browser.text("#closing"), "the closed case's summary")
    assert "the case is over" in browser.text("#case-waiting")
    browser.screenshot("track-7-closed")
    assert browser.errors() == []
    browser.click("#sign-out")


def test_office_page_warns_when_its_system_cannot_be_reached(
    server: Server, browser: Browser, hospital: str
) -> None:
    """Issue 18: the office's registry system is down (nothing listens at its URL): the queue
    page warns that its endpoint is paused, and a request shows what was (not) sent to it."""
    nowhere = free_port()  # nothing listens there
    url = f"http://127.0.0.1:{nowhere}/hooks"
    server.cli(
        "registry", "add", "--locality", "430602", "--authority", "cdc", "--url", url,
        "--label", "clinic system",
    )  # fmt: skip
    case = notify(server, hospital, "notification-full.json", record_ref="MR-BROWSER-SYS")
    token = server.actor("office", "430602", "cdc")
    wait_for(
        lambda: server.call("GET", "/offices/430602/cdc/queue", token)["delivery_warnings"],
        "the circuit of the clinic's system to open",
    )
    open_office_queue(server, browser, "clerk.cdc2", "430602", "cdc")
    wait_for(lambda: browser.visible("#delivery-warnings"), "the delivery warning")
    warning = browser.text("#delivery-warnings")
    assert "clinic system" in warning
    assert "endpoint paused" in warning
    short = case.case_id[:8]
    wait_for(lambda: browser.visible(f"#queue-rows button[aria-label$='{short}']"), "the row")
    browser.click(f"#queue-rows button[aria-label$='{short}']")
    wait_for(lambda: browser.visible("#act-deliveries"), "the request's deliveries")
    sent = browser.text("#act-deliveries-list")
    assert "clinic system" in sent
    assert "org.newborn-ledger.request.dispatched" in sent
    assert "pending" in sent
    browser.screenshot("office-3-delivery-warning")
    assert browser.errors() == []


def test_sign_in_refuses_a_wrong_then_a_replayed_code(
    server: Server, browser: Browser, hospital: str
) -> None:
    """Issue 19: a wrong code is refused with its reason; the right one signs in; the same
    code again (after signing out) is refused as used already."""
    secret = server.user("clerk.health", "office", "430602", "health")
    sign_in(server, browser, "clerk.health", "000000")
    wait_for(lambda: browser.visible("#sign-in-problem"), "the refusal")
    assert "6-digit code is wrong" in browser.text("#sign-in-problem")
    assert browser.js("return document.getElementById('username').value") == "clerk.health"
    browser.screenshot("sign-in-1-wrong-code")
    code = pyotp.TOTP(secret).now()
    sign_in(server, browser, "clerk.health", code)
    wait_for(lambda: browser.visible("#who"), "the office page signed in")
    assert browser.js("return document.cookie") == ""  # HttpOnly: no script reads it
    browser.click("#sign-out")
    wait_for(lambda: browser.visible("#sign-in-notice"), "the signed-out notice")
    assert "signed out" in browser.text("#sign-in-notice")
    sign_in(server, browser, "clerk.health", code)  # a copied or shoulder-surfed code
    wait_for(lambda: browser.visible("#sign-in-problem"), "the replay refused")
    assert "used already" in browser.text("#sign-in-problem")
    browser.screenshot("sign-in-2-replayed-code")
    assert browser.errors() == []


def test_a_post_without_the_csrf_token_is_refused(
    server: Server, browser: Browser, hospital: str
) -> None:
    """Signed in by cookie, a request that does not carry the session's CSRF token (what a
    forged form or script would send) is refused, and the page's own request works."""
    case = notify(server, hospital, "notification-full.json", record_ref="MR-BROWSER-CSRF")
    open_office_queue(server, browser, "clerk.csrf", "430602", "cdc")
    admin = server.actor("admin", "")
    (request,) = [
        s["service_request_id"]
        for s in server.call("GET", f"/cases/{case.case_id}", admin)["services"]
        if s["service"] == "vaccination"
    ]
    forged = browser.js(
        "const x = new XMLHttpRequest(); x.open('POST', arguments[0], false);"
        "x.setRequestHeader('Content-Type', 'application/json');"
        "x.send(JSON.stringify({receipt_number: 'FORGED-1'}));"
        "return [x.status, JSON.parse(x.responseText)];",
        f"/service-requests/{request}/receive",
    )
    assert forged[0] == 403
    assert forged[1]["type"] == "/problems/csrf-token-missing"
    assert "without the page's CSRF token" in forged[1]["detail"]
    state = server.call("GET", f"/cases/{case.case_id}", admin)["services"]
    assert {s["state"] for s in state if s["service"] == "vaccination"} == {"dispatched"}
    short = case.case_id[:8]
    wait_for(lambda: browser.visible(f"#queue-rows button[aria-label$='{short}']"), "the row")
    browser.click(f"#queue-rows button[aria-label$='{short}']")
    wait_for(lambda: browser.visible("#receive-form"), "the receive form")
    browser.type("#receipt-number", "YY-CDC-CSRF")
    browser.click("#receive-form button[type=submit]")
    wait_for(lambda: browser.visible("#approve-form"), "the page's own request accepted")
    assert browser.errors() == []


def test_repeated_failures_lock_the_account(server: Server, browser: Browser) -> None:
    secret = server.user("clerk.locked", "office", "430602", "hrss")
    for attempt in range(5):
        sign_in(server, browser, "clerk.locked", f"{attempt:06d}")
        wait_for(lambda: browser.visible("#sign-in-problem"), "a refusal")
    sign_in(server, browser, "clerk.locked", pyotp.TOTP(secret).now())  # right, but locked
    wait_for(lambda: "locked until" in browser.text("#sign-in-problem"), "the lockout")
    assert "Too many failed sign-ins" in browser.text("#sign-in-problem")
    browser.screenshot("sign-in-3-locked")
    assert browser.js("return location.pathname") == "/sign-in"


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose sessions end after 3 idle seconds."""
    yield from serve(tmp_path_factory, {"NEWBORN_LEDGER_SESSION_IDLE": "3"})


def test_an_idle_session_ends_with_a_clear_message(quick_server: Server, browser: Browser) -> None:
    open_office_queue(quick_server, browser, "clerk.idle", "430602", "cdc")
    wait_for(lambda: browser.visible("#queue-section"), "the queue")
    time.sleep(4)
    browser.click("#filter-form button[type=submit]")
    wait_for(lambda: browser.visible("#office-problem"), "the session's end")
    assert "session has ended" in browser.text("#office-problem")
    browser.screenshot("sign-in-4-session-ended")
    browser.click("#office-problem a")
    wait_for(lambda: browser.visible("#sign-in-notice"), "the sign-in page again")
    assert "session has ended" in browser.text("#sign-in-notice")
