"""Issue 5's access matrix: every route by every role, in and out of scope, SQLite and PostgreSQL.

Contract (architecture "HTTP API"): no token → 401; an out-of-scope read or step → 404 that
says nothing about the case (ids cannot be probed); a hospital posting another facility's
message → 403. Each cell also checks that a refused call recorded nothing and that what an
answered call shows belongs to the caller. One seeded store per backend serves every cell:
refused calls change nothing, and a call expected to change a case gets a fresh case.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx2
import orjson
import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from api.app import create_app
from api.tracking import Throttle
from domain.births.catalog import load_catalog
from domain.births.commands import CorrectNotification, VoidNotification
from domain.births.facts import BirthFacts, Parent
from domain.kernel.calendar import WorkingCalendar
from domain.kernel.commands import BookSession, EvidenceRef, Supplement
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.service_request import ServiceRequest
from domain.kernel.window_values import WindowOffice
from integrations.hospital.writer import notification_message
from tests.conftest import CST, HOSPITAL, OTHER_HOSPITAL, make_facts, office_step
from tests.crafted_files import page_pdf

FHIR = "application/fhir+json"
ROLES = (
    "anonymous",
    "revoked",  # an admin's token, revoked
    "hospital_in",
    "hospital_out",
    "office_in",
    "office_other_side",
    "office_other_authority",
    "office_other_locality",
    "family_own",
    "family_other",
    "monitor_in",
    "monitor_out",
    "monitor_national",
    "admin",
)
MONITOR_SCOPES = {"monitor_in": "42", "monitor_out": "50", "monitor_national": "national"}
UNKNOWN = "00000000-0000-4000-8000-000000000000"  # a well-formed id of nothing
HUKOU = "household-registration"
CHILD = "王小雨"
RESULTS: dict[str, dict[str, str]] = {
    "birth-certificate": {"certificate_number": "X430602001"},
    "vaccination": {"vaccination_record_number": "VR-430602-0001"},
    HUKOU: {"citizen_id": make_citizen_id("420102", date(2026, 11, 20), 28)},
    "medical-insurance": {"enrolment_number": "MI-420102-0001"},
    "social-security-card": {"card_number": "SSC-420102-0001"},
}
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}
PDF = page_pdf()


@dataclass(frozen=True)
class Offices:
    """The offices a route is tried with, seen from the case's household-registration request
    (handled in Wuhan Jiang'an 420102, received for it in Yueyang 430602)."""

    in_scope: tuple[str, str]
    other_side: tuple[str, str]  # the request's other office (receiving ↔ handling)
    other_authority: tuple[str, str]  # same locality, another authority
    other_locality: tuple[str, str]  # same authority, another locality


HANDLING = Offices(
    ("420102", "public-security"),
    ("430602", "public-security"),
    ("420102", "cdc"),
    ("420106", "public-security"),
)
# 430602's CDC clinic handles this case's vaccination, so it sees the case, never this request.
RECEIVING = Offices(
    ("430602", "public-security"),
    ("420102", "public-security"),
    ("430602", "cdc"),
    ("430611", "public-security"),
)
# Issue 22's wings, seen from their own cases: a marriage registered in Haiyan (330424, party
# B's residence permit), party A's check handled in Xuanwu (320102); an ID card applied for at
# a Jiaxing police window (330402), decided and made in Xuanwu (320102). No births office.
PS, CA = "public-security", "civil-affairs"
MARRIAGE_OFFICES = Offices(("330424", CA), ("320102", CA), ("330424", PS), ("330482", CA))
ID_CARD_OFFICES = Offices(("330402", PS), ("320102", PS), ("330402", "health"), ("330411", PS))
ALL_OFFICES = {
    o
    for offices in (HANDLING, RECEIVING, MARRIAGE_OFFICES, ID_CARD_OFFICES)
    for o in vars(offices).values()
}
PARTY_A_ID = make_citizen_id("320102", date(1995, 4, 2), 11)
PARTY_B_ID = make_citizen_id("340104", date(1996, 9, 1), 22)
COUPLE = {
    "party_a": {"name": "张伟", "citizen_id": PARTY_A_ID, "hukou_division": "320102",
                "residence_division": "330424"},
    "party_b": {"name": "王芳", "citizen_id": PARTY_B_ID, "hukou_division": "340104",
                "residence_division": "330424", "phone": "13700000000"},
    "registration_place": "residence-permit",
    "permit_holder": "b",
}  # fmt: skip
CARD_HOLDER_ID = make_citizen_id("320102", date(1994, 3, 8), 13)
ID_CARD_APPLICATION = {
    "name": "李雷",
    "citizen_id": CARD_HOLDER_ID,
    "phone": "13912345678",
    "hukou_division": "320102",
    "reason": "replacement",
    "identity_document": "household-register",
}


@dataclass
class Case:
    """One seeded case: its ids, its family's token and the values that must not leak."""

    case_id: str
    record_ref: str
    tracking_code: str
    message: bytes
    family: str
    verifier: str
    requests: dict[str, str]
    secrets: set[str] = field(default_factory=set)
    document: str = ""  # a document its household registration's supplement cites

    @property
    def hukou(self) -> str:
        return self.requests[HUKOU]


@dataclass
class World:
    """One seeded store per backend, shared by every cell."""

    client: TestClient
    container: Container
    tokens: dict[str, str]
    offices: dict[tuple[str, str], str]
    month: str = ""  # of the seeded events, China time
    seeded: dict[str, Case] = field(default_factory=dict)  # by state
    other: Case = field(init=False)  # another facility, province and family
    serial: int = 0

    def head(self) -> tuple[int, int]:
        return (
            self.container.ledger.recorder.max_notification_id() or 0,
            self.container.orchestrator.recorder.max_notification_id() or 0,
        )

    def new_case(self, state: str) -> Case:
        self.serial += 1
        return seed_case(self, f"MR-FRESH-{self.serial}", state)


def facts_for(record_ref: str, state: str) -> BirthFacts:
    """Born in Yueyang, the mother's hukou in Wuhan Jiang'an; named unless the family is due."""
    return make_facts(record_ref, child_name=None if state == "notified" else CHILD)


def seed_case(world: World, record_ref: str, state: str, facts: BirthFacts | None = None) -> Case:
    """A case notified over HTTP (so its message can be posted again), then taken through the
    ledger to `state`: notified, dispatched, received, supplement-requested, rejected (the
    household registration, nothing else at an office), documented (supplemented with an
    uploaded PDF: received again) or completed."""
    facts = facts or facts_for(record_ref, state)
    message = orjson.dumps(notification_message(facts, f"msg-{record_ref}"))
    hospital = world.tokens["hospital_in" if facts.facility_uscc == HOSPITAL else "hospital_out"]
    ack = world.client.post(
        "/fhir/$process-message",
        content=message,
        headers={"Authorization": f"Bearer {hospital}", "Content-Type": FHIR},
    )
    assert ack.status_code == 200, ack.text
    params = next(
        e["resource"] for e in ack.json()["entry"] if e["resource"]["resourceType"] == "Parameters"
    )
    values = {p["name"]: p.get("valueString") for p in params["parameter"]}
    container = world.container
    case_id = UUID(values["case_id"])
    planned = container.ledger.get_case(case_id).planned_services
    mother = facts.mother
    assert mother.citizen_id
    assert mother.name
    assert mother.phone
    case = Case(
        case_id=str(case_id),
        record_ref=record_ref,
        tracking_code=str(values["tracking_code"]),
        message=message,
        family=container.actors.add("family", str(case_id))[1],
        verifier=mother.citizen_id[-6:],
        requests={s: str(ServiceRequest.create_id(case_id, s)) for s in planned},
    )
    case.secrets = {
        case.case_id,
        case.tracking_code,
        record_ref,
        mother.citizen_id,
        mother.name,
        mother.phone,
        *case.requests.values(),
    }
    if state in ("dispatched", "received", "supplement-requested", "documented"):
        decide(container, case.requests["birth-certificate"], "receive", "approve")
        steps = {"dispatched": (), "received": ("receive",)}.get(
            state, ("receive", "request-supplement")
        )
        decide(container, case.hukou, *steps)
        if state == "documented":
            case.document = cite_document(container, case)
    elif state == "rejected":  # nothing at an office: the family resubmits or closes
        for service in ("birth-certificate", "vaccination"):
            decide(container, case.requests[service], "receive", "approve")
        decide(container, case.hukou, "receive", "reject")
    elif state in ("correction-requested", "revocation-requested"):  # after a decision
        decide(container, case.requests["birth-certificate"], "receive", "approve")
        decide(container, case.hukou, "receive", "approve")
        if state == "correction-requested":  # an hour later: the same day, the same ID
            later = replace(facts, born_at=facts.born_at + timedelta(hours=1))
            update = CorrectNotification(f"msg-{record_ref}-u", later, b"{}")
            container.ledger.correct_notification(update)
        else:
            void = VoidNotification(f"msg-{record_ref}-v", facts.facility_uscc, record_ref)
            container.ledger.void_notification(void)
        container.processing.settle()
    elif state == "completed":
        for service in load_catalog().codes:
            if service in case.requests:
                decide(container, case.requests[service], "receive", "approve")
        assert container.ledger.get_case(case_id).state == "completed"
    container.after_command()  # queues and figures include the case before any cell runs
    if case.requests:
        after = {"notified": "planned", "completed": "approved", "documented": "received"}
        expected = after.get(state, state)
        assert container.ledger.get_request(UUID(case.hukou)).state == expected
    return case


def cite_document(container: Container, case: Case) -> str:
    """The family uploads a PDF and answers the household registration's notice with it."""
    case_id = UUID(case.case_id)
    reference = container.files.upload(case_id, PDF, "application/pdf", "结婚证.pdf")
    evidence = (EvidenceRef(reference["id"], reference["sha256"]),)
    container.ledger.supplement(Supplement(UUID(case.hukou), "family", ("结婚证",), evidence))
    container.processing.settle()
    return str(reference["id"])


def decide(container: Container, request_id: str, *actions: str) -> None:
    for action in actions:
        request = container.ledger.get_request(UUID(request_id))
        office_step(
            container.ledger,
            UUID(request_id),
            action,
            "office:seed",
            result=RESULTS[request.service],
            items=("出生医学证明原件照片",),
            receipt_number=f"R-{request_id[:8]}",
            reason="户籍信息不符",
        )
        container.processing.settle()  # the orchestrator dispatches what the step unblocked


def wing_case(world: World, path: str, body: dict[str, Any], clerk: str | None) -> Case:
    """A marriage or ID card case opened over HTTP (`clerk`: the window's token), with its
    applicants' family token and the values that must not leak."""
    headers = {"Authorization": f"Bearer {clerk}"} if clerk else {}
    opened = world.client.post(path, json=body, headers=headers)
    assert opened.status_code == 201, opened.text
    case_id, tracking_code = opened.json()["case_id"], opened.json()["tracking_code"]
    world.container.after_command()
    parties = [p for p in (body.get("party_a"), body.get("party_b")) if p] or [body]
    case = Case(
        case_id=case_id,
        record_ref="",
        tracking_code=tracking_code,
        message=b"",
        family=world.container.actors.add("family", case_id)[1],
        verifier=str(parties[0]["citizen_id"])[-6:],
        requests={},
    )
    people = {str(p[k]) for p in parties for k in ("citizen_id", "phone") if p.get(k)}
    case.secrets = {case_id, tracking_code, *people}
    return case


def on_wing(prefix: str, state: str) -> Build:
    return lambda world, case: Call(f"{prefix}/{world.seeded[state].case_id}")


def check_marriage_opened(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    opened = response.json()
    assert opened["registration_division"] == "330424"
    assert response.headers["location"] == f"/marriage-registrations/{opened['case_id']}"


def check_id_card_opened(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert set(response.json()) == {"case_id", "tracking_code"}


def check_wing_view(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    view = response.json()
    wing = world.seeded[view["kind"]]
    assert view["case_id"] == wing.case_id
    assert ("tracking_code" in view) == (role in ("family_own", "admin"))
    if role == "admin":
        return  # the admin sees the case whole
    # an office's ID card steps carry exactly the fields dispatched to it (the hukou office
    # decides on the citizen ID); beyond them, IDs and phones are masked for everyone
    steps = [{k: v for k, v in step.items() if k != "fields"} for step in view.get("steps", [])]
    rest = orjson.dumps(view | {"steps": steps}).decode()
    assert {s for s in wing.secrets if s in rest} <= {wing.case_id, wing.tracking_code}


def other_facility_case(world: World) -> Case:
    """Born in Chongqing at another facility, the mother's hukou there too: 50 → 50."""
    mother = Parent(
        citizen_id=make_citizen_id("500103", date(1990, 6, 1), 222),
        name="李娜",
        phone="13900000000",
        hukou_division="500103",
        residence_division="500103",
    )
    facts = make_facts(
        "MR-OTHER",
        facility_uscc=OTHER_HOSPITAL,
        birth_division="500103",
        mother=mother,
        child_name="李小雪",
    )
    return seed_case(world, "MR-OTHER", "received", facts)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    if request.param == "postgres":
        from tests.pg import postgres_settings

        settings: Settings = postgres_settings("access_matrix")
    else:
        folder: Path = tmp_path_factory.mktemp("access_matrix")
        settings = Settings(persistence="sqlite", sqlite_dir=str(folder / "var"))
    container = build(settings)
    add = container.actors.add
    tokens = {
        "hospital_in": add("hospital", HOSPITAL)[1],
        "hospital_out": add("hospital", OTHER_HOSPITAL)[1],
        **{role: add("monitor", scope)[1] for role, scope in MONITOR_SCOPES.items()},
        "admin": add("admin", None)[1],
    }
    revoked, tokens["revoked"] = add("admin", None)
    container.actors.revoke(revoked.id)
    offices = {office: add("office", *office)[1] for office in sorted(ALL_OFFICES)}
    try:
        with TestClient(create_app(container, close_on_shutdown=False)) as client:
            built = World(client, container, tokens, offices)
            built.other = other_facility_case(built)
            notified = container.ledger.get_case(UUID(built.other.case_id)).created_on
            built.month = notified.astimezone(CST).strftime("%Y-%m")
            for state in (
                "notified",
                "dispatched",
                "received",
                "supplement-requested",
                "rejected",
                "completed",
                "correction-requested",
                "revocation-requested",
                "documented",
            ):
                built.seeded[state] = seed_case(built, f"MR-SEED-{state}", state)
            built.seeded["marriage"] = wing_case(built, "/marriage-registrations", COUPLE, None)
            window = offices[ID_CARD_OFFICES.in_scope]
            application = ID_CARD_APPLICATION
            built.seeded["id-card"] = wing_case(built, "/id-card-applications", application, window)
            yield built
    finally:
        container.close()


# --- the matrix ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    path: str
    json: Any = None
    content: bytes | None = None
    params: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)


Build = Callable[[World, Case], Call]
Check = Callable[[World, Case, str, httpx2.Response], None]


@dataclass(frozen=True)
class Spec:
    """One route (or a variant of its call) and the status each role must get."""

    method: str
    path: str  # the route's template, as in app.routes
    statuses: dict[str, int]
    build: Build
    variant: str = ""
    state: str = "received"  # the case it is called on
    mutates: bool = False  # an answered call changes the case: it gets a fresh one
    offices: Offices = HANDLING
    public: bool = False  # its answer never holds case data, whoever asks
    check: Check | None = None
    own_token: bool = False  # it revokes the caller's token: families call with a fresh one

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.variant}]" if self.variant else "")


def expect(default: int, **roles: int) -> dict[str, int]:
    """`default` for every signed-in role, 401 without a (live) token, then the exceptions."""
    table = dict.fromkeys(ROLES, default)
    table["anonymous"] = table["revoked"] = 401
    table.update(roles)
    return table


EVERYONE = dict.fromkeys(ROLES, 200)
CASE_READERS = expect(
    404, hospital_in=200, office_in=200, office_other_side=200, family_own=200, admin=200
)
APPLICATION = {
    "child_name": CHILD,
    "household": "mother",
    "residence_division": "430602",
    "consent": True,
}
ITEMS = {"items": ["出生医学证明原件照片", "母亲居民户口簿户主页"]}


def check_health(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert response.json() == {"status": "ok"}


def check_ready(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert response.json()["status"] == "ready"


def check_openapi(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert "/cases/{case_id}" in response.json()["paths"]


def check_capability(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert response.json()["resourceType"] == "CapabilityStatement"


def check_metrics(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert response.headers["content-type"].startswith("text/plain")
    assert "newborn_ledger_http_requests" in response.text


def check_parked(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert response.json()["events"] == []


def check_page(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def check_static(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert response.headers["content-type"].startswith("text/css")
    assert response.headers["etag"]


def check_locality(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert response.json()["code"] == "430602"


def check_ack(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    header, params = (e["resource"] for e in response.json()["entry"])
    assert header["response"] == {"identifier": f"msg-{case.record_ref}", "code": "ok"}
    assert {"name": "case_id", "valueString": case.case_id} in params["parameter"]


def check_by_ref(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    cases = response.json()["cases"]
    if role == "hospital_out":  # its own facility only, whatever ?facility= says
        assert cases == []
        return
    assert [(c["case_id"], c["hospital_ref"]) for c in cases] == [(case.case_id, case.record_ref)]


def check_track(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    issued = response.json()
    assert issued["case_id"] == case.case_id
    token = {"Authorization": f"Bearer {issued['token']}"}
    assert world.client.get(f"/cases/{case.case_id}", headers=token).status_code == 200
    other = world.client.get(f"/cases/{world.other.case_id}", headers=token)
    assert other.status_code == 404


def check_signed_out(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    """The token that signed out opens nothing any more (its own case included)."""
    token = {"Authorization": response.request.headers["Authorization"]}
    own = case if role == "family_own" else world.other
    assert world.client.get(f"/cases/{own.case_id}", headers=token).status_code == 401


def check_view(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    view = response.json()
    assert view["case_id"] == case.case_id
    services = {s["service"]: s for s in view["services"]}
    if role.startswith("office"):
        assert list(services) == [HUKOU]  # its own service only
        assert set(view) <= {"case_id", "state", "services", "as_of"}
        assert case.tracking_code not in response.text
        assert case.record_ref not in response.text
        assert "result" not in services[HUKOU]
        return
    assert set(services) == set(case.requests)
    assert view["tracking_code"] == case.tracking_code
    assert ("hospital_ref" in view) == (role != "family_own")
    assert ("result" in services[HUKOU]) == (role != "hospital_in")


def check_as_of(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    check_view(world, case, role, response)
    view = response.json()
    assert "as_of" in view
    assert "next_action" not in view
    assert {s["service"]: s["state"] for s in view["services"]}[HUKOU] == "dispatched"


def check_history(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    body = response.json()
    assert body["case_id"] == case.case_id
    events = body["events"]
    streams = {e["stream"] for e in events}
    notified = next(e["data"] for e in events if e["event"] == "Notified")
    if role.startswith("office"):
        assert streams == {"case", HUKOU}
        assert all(e["data"] == {} for e in events if e["stream"] == "case")
        visible = set(load_catalog()[HUKOU].visible_fields)
        (dispatched,) = (e["data"]["payload"] for e in events if e["event"] == "Dispatched")
        assert dispatched
        assert set(dispatched) <= visible
        assert case.tracking_code not in response.text
        assert case.record_ref not in response.text
        return
    assert streams == {"case", *case.requests}
    if role == "family_own":
        assert notified == {}
    else:
        assert notified["facts"]["record_ref"] == case.record_ref


def check_step(state: str) -> Check:
    def check(world: World, case: Case, role: str, response: httpx2.Response) -> None:
        view = response.json()
        assert (view["service_request_id"], view["state"]) == (case.hukou, state)
        assert world.container.ledger.get_request(UUID(case.hukou)).state == state

    return check


def check_applied(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    view = response.json()
    assert view["case_id"] == case.case_id
    states = {s["service"]: s["state"] for s in view["services"]}
    assert states["birth-certificate"] == "dispatched"  # named now: the certificate can go


def check_resubmitted(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    view = response.json()
    assert (view["service"], view["attempt"], view["resubmits"]) == (HUKOU, 2, case.hukou)
    assert view["service_request_id"] != case.hukou
    rejected = world.container.ledger.get_request(UUID(case.hukou))
    assert str(rejected.resubmitted_as) == view["service_request_id"]


def check_closed(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    view = response.json()
    assert (view["case_id"], view["state"]) == (case.case_id, "closed")


def check_rated(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert response.json() == {"case_id": case.case_id, "score": 4}


def check_feed(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    feed = response.json()
    assert (feed["locality"], feed["authority"]) == HANDLING.in_scope
    subjects = {m["subject"] for m in feed["messages"]}
    assert str(case.hukou) in subjects
    assert {m["data"]["service"] for m in feed["messages"]} == {HUKOU}


def check_deliveries(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert response.json() == {"service_request_id": case.hukou, "systems": []}


def check_workbench(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    view = response.json()
    assert (view["service_request_id"], view["case_id"]) == (case.hukou, case.case_id)
    assert view["dispatched"]["mother.citizen_id"]  # the police's to see


def check_search(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert [r["service_request_id"] for r in response.json()["rows"]] == [case.hukou]


def check_queue(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    queue = response.json()
    assert (queue["locality"], queue["authority"]) == HANDLING.in_scope
    assert {r["service"] for r in queue["rows"]} == {HUKOU}
    assert case.hukou in {r["service_request_id"] for r in queue["rows"]}


def check_figures(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    figures = response.json()
    assert (figures["locality"], figures["month"]) == ("420102", world.month)
    assert figures["received"] >= 1
    assert figures["follow_ups"] == []  # no bad rating here: no case id at all
    assert figures["level"] == "county"
    numbers = {
        k: v
        for k, v in figures.items()
        if k not in ("locality", "month", "level", "follow_ups", "materials", "matters",
                     "remote_window")
    }  # fmt: skip
    numbers |= {f"materials.{k}": v for k, v in figures["materials"].items()}  # counts only
    numbers |= {f"remote_window.{k}": v for k, v in figures["remote_window"].items()}
    # per matter and service: counts, and the names of the matter and the service only
    items = [*figures["matters"], *(s for m in figures["matters"] for s in m["services"])]
    names = ("kind", "service", "name_zh", "name_en", "services")
    numbers |= {
        f"matters.{n}.{k}": v for n, i in enumerate(items) for k, v in i.items() if k not in names
    }
    assert "birth" in {m["kind"] for m in figures["matters"]}
    assert all(isinstance(v, int | float | None) for v in numbers.values())


def check_audit(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    """Audit rows name cases and requests by id, and nothing else of them."""
    ids = {c.case_id for c in world.seeded.values()} | {world.other.case_id}
    ids |= {r for c in (world.other, *world.seeded.values()) for r in c.requests.values()}
    assert not {s for s in secrets_of(world) - ids if s in response.text}


def check_flows(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    flows = {(f["birth_province"], f["hukou_province"]) for f in response.json()["flows"]}
    seen_by = {
        "monitor_in": {("43", "42")},
        "monitor_out": {("50", "50")},
        "monitor_national": {("43", "42"), ("50", "50")},
        "admin": {("43", "42"), ("50", "50")},
    }
    assert flows == seen_by[role]


def check_matter_flows(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    """A province's monitor sees the flows that start or end in its province; a national
    monitor and an admin all of them (the matters view holds them all)."""
    seen = {
        (f["service"], f["receiving_province"], f["handling_province"])
        for f in response.json()["flows"]
    }
    every = world.container.projections.matters_view.flows(world.month)
    scope = MONITOR_SCOPES.get(role, "national")
    expected = {
        (f.service, f.receiving_province, f.handling_province)
        for f in every
        if scope == "national" or scope in (f.receiving_province, f.handling_province)
    }
    assert seen == expected
    assert ("household-registration", "43", "42") in seen or scope == "50"
    assert seen or scope == "50"


UPLOAD: dict[str, Any] = {
    "content": PDF,
    "params": {"name": "scan.pdf"},
    "headers": {"Content-Type": "application/pdf"},
}


def check_uploaded(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert (response.json()["type"], response.json()["size"]) == ("application/pdf", len(PDF))


def check_document(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert (response.headers["content-type"], response.content) == ("application/pdf", PDF)


def check_documents(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert [d["id"] for d in response.json()["documents"]] == [case.document]


# a well-formed certificate signed by no key the ledger knows
STRANGER_CERTIFICATE = ".".join(
    base64.urlsafe_b64encode(orjson.dumps(part)).rstrip(b"=").decode()
    for part in ({"alg": "Ed25519", "kid": "unknown", "typ": "nl-certificate+jwt"}, {}, "sig")
)


def check_unknown_key(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert (response.json()["status"], response.json()["reason"]) == ("invalid", "unknown-key")


QR = "/cases/{case_id:uuid}/certificates/{certificate_id}/qr.svg"


def on_certificate(suffix: str) -> Build:
    """The case's first certificate (its birth certificate's, approved when seeded)."""

    def build(world: World, case: Case) -> Call:
        found = world.container.certificates.of_case(UUID(case.case_id))
        return Call(f"/cases/{case.case_id}/certificates/{found[0]['jti']}{suffix}")

    return build


def check_qr(world: World, case: Case, role: str, response: httpx2.Response) -> None:
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["cache-control"] == "no-store"
    assert b"<svg" in response.content


def on_case(suffix: str = "", **kwargs: Any) -> Build:
    return lambda world, case: Call(f"/cases/{case.case_id}{suffix}", **kwargs)


def on_unknown_case(suffix: str = "", **kwargs: Any) -> Build:
    return lambda world, case: Call(f"/cases/{UNKNOWN}{suffix}", **kwargs)


def on_hukou(action: str, body: dict[str, Any]) -> Build:
    return lambda world, case: Call(f"/service-requests/{case.hukou}/{action}", json=body)


def as_of_dispatch(world: World, case: Case) -> Call:
    """The case as it was when its household registration was dispatched (now: received)."""
    events = world.container.ledger.events.get(UUID(case.hukou))
    moment = next(e.timestamp for e in events if isinstance(e, ServiceRequest.Dispatched))
    return Call(f"/cases/{case.case_id}", params={"as_of": moment.astimezone(CST).isoformat()})


def fixed(path: str, **kwargs: Any) -> Build:
    return lambda world, case: Call(path, **kwargs)


_SLOTS = itertools.count()


def next_slot() -> tuple[str, str]:
    """A one-hour slot no other of this run's bookings meets (one office holds one session
    at a time), in office hours on a coming working day."""
    n = next(_SLOTS)
    today = datetime.now(CST).date()
    day = WorkingCalendar().add_working_days(today, 1 + n // 8).date
    start = datetime.combine(day, time(9 + n % 8), CST)
    return start.isoformat(), (start + timedelta(hours=1)).isoformat()


def booked_session(world: World, case: Case) -> str:
    """The case's household registration's remote window session, booked by its receiving
    office on first use (issue 22)."""
    ledger, request_id = world.container.ledger, UUID(case.hukou)
    if not ledger.sessions_of(request_id):
        office = WindowOffice(*RECEIVING.in_scope)
        slot = next_slot()
        ledger.book_session(BookSession(request_id, office, "office:seed", *slot))
        world.container.after_command()
    return str(ledger.sessions_of(request_id)[-1].id)


def on_session(action: str = "", body: dict[str, Any] | None = None) -> Build:
    suffix = f"/{action}" if action else ""
    return lambda world, case: Call(
        f"/remote-window-sessions/{booked_session(world, case)}{suffix}", json=body
    )


def booking(world: World, case: Case) -> Call:
    starts_at, ends_at = next_slot()
    body = {"service_request_id": case.hukou, "starts_at": starts_at, "ends_at": ends_at}
    return Call("/remote-window-sessions", json=body)


STEP = "/service-requests/{service_request_id:uuid}/"
STEPS: list[tuple[str, dict[str, Any], str, Offices, dict[str, int], str]] = [
    # action, body, the request's state before, offices, who may, the state after
    ("receive", {"receipt_number": "R-430602-1"}, "dispatched", RECEIVING, {}, "received"),
    (
        "request-supplement",
        ITEMS,
        "received",
        RECEIVING,
        {"office_other_side": 200},
        "supplement-requested",
    ),
    (
        "supplement",
        ITEMS,
        "supplement-requested",
        RECEIVING,
        {"office_other_side": 200, "family_own": 200},
        "received",
    ),
    ("approve", RESULTS[HUKOU], "received", HANDLING, {}, "approved"),
    (
        "reject",
        {"reason": "户籍信息不符", "basis": "户口登记条例第七条"},
        "received",
        HANDLING,
        {},
        "rejected",
    ),
    # after a decision: the deciding office decides a correction, or revokes (issue 17)
    ("approve-correction", RESULTS[HUKOU], "correction-requested", HANDLING, {}, "approved"),
    (
        "reject-correction",
        {"reason": "出生时间以出生医学证明为准"},
        "correction-requested",
        HANDLING,
        {},
        "approved",
    ),
    ("revoke", {}, "revocation-requested", HANDLING, {}, "revoked"),
]
SPECS: list[Spec] = [
    Spec("GET", "/healthz", EVERYONE, fixed("/healthz"), public=True, check=check_health),
    Spec("GET", "/readyz", EVERYONE, fixed("/readyz"), public=True, check=check_ready),
    Spec(
        "GET", "/openapi.json", EVERYONE, fixed("/openapi.json"), public=True, check=check_openapi
    ),
    Spec("GET", "/metrics", EVERYONE, fixed("/metrics"), public=True, check=check_metrics),
    Spec(
        "GET",
        "/fhir/metadata",
        EVERYONE,
        fixed("/fhir/metadata"),
        public=True,
        check=check_capability,
    ),
    Spec(
        "GET",
        "/admin/parked-events",
        expect(404, admin=200),
        fixed("/admin/parked-events"),
        public=True,  # nothing is parked here; what a park holds: tests/e2e/test_poison_*
        check=check_parked,
    ),
    *[
        Spec("GET", page, EVERYONE, fixed(page), public=True, check=check_page)
        for page in (
            "/track",
            "/office",
            "/monitor",
            "/desk",
            "/verify",
            "/apply/id-card",
            "/apply/marriage",
        )
    ],
    # staff sign-in (issue 19; with sessions in tests/e2e/test_staff_sign_in.py): a bearer
    # token opens no session; a form without its own token is refused whoever sends it
    Spec("GET", "/sign-in", EVERYONE, fixed("/sign-in"), public=True, check=check_page),
    Spec("POST", "/sign-in", dict.fromkeys(ROLES, 403), fixed("/sign-in"), public=True),
    Spec("POST", "/sign-out", dict.fromkeys(ROLES, 204), fixed("/sign-out"), public=True),
    Spec("GET", "/session", dict.fromkeys(ROLES, 401), fixed("/session"), public=True),
    Spec("GET", "/audit/sign-ins", expect(404, admin=200), fixed("/audit/sign-ins"), public=True),
    # the routing desk's coordinators are tried in tests/e2e/test_routing_desk_flow.py; here
    # every other role is refused, and an admin sees any desk (and routes nothing unparked)
    Spec(
        "GET",
        "/routing-desk",
        expect(404, admin=200),
        fixed("/routing-desk", params={"scope": "42"}),
        public=True,  # no request of the seeded cases waits for routing
    ),
    Spec(
        "POST",
        "/service-requests/{service_request_id:uuid}/route",
        expect(404, admin=409),  # the case's requests are routed by the alliance already
        lambda world, case: Call(
            f"/service-requests/{case.hukou}/route",
            json={
                "handling_locality": "420102",
                "receiving_locality": "430602",
                "mode": "off-site",
                "reason": "test",
            },
        ),
    ),
    Spec(
        "GET",
        "/static/{name}",
        EVERYONE,
        fixed("/static/style.css"),
        public=True,
        check=check_static,
    ),
    Spec(
        "GET",
        "/static/{name}",
        dict.fromkeys(ROLES, 404),
        fixed("/static/app.py"),
        variant="not a static file",
    ),
    # Staff sign-in through an identity provider: not configured in this world, so 404 for
    # everyone (the flow with a real provider: tests/e2e/test_oidc_sign_in.py)
    Spec(
        "GET",
        "/sign-in/oidc",
        dict.fromkeys(ROLES, 404),
        fixed("/sign-in/oidc"),
        public=True,
    ),
    Spec(
        "GET",
        "/sign-in/oidc/callback",
        dict.fromkeys(ROLES, 404),
        fixed("/sign-in/oidc/callback", params={"code": "c", "state": "s"}),
        public=True,
    ),
    Spec(
        "GET",
        "/localities/{code}",
        EVERYONE,
        fixed("/localities/430602"),
        public=True,
        check=check_locality,
    ),
    Spec(
        "POST",
        "/fhir/$process-message",
        expect(404, hospital_in=200, hospital_out=403, admin=200),
        lambda world, case: Call(
            "/fhir/$process-message", content=case.message, headers={"Content-Type": FHIR}
        ),
        check=check_ack,
    ),
    Spec(
        "GET",
        "/cases",
        expect(404, hospital_in=200, hospital_out=200, admin=200),
        lambda world, case: Call(
            "/cases", params={"hospital_ref": case.record_ref, "facility": HOSPITAL}
        ),
        check=check_by_ref,
    ),
    Spec(
        "POST",
        "/track",
        dict.fromkeys(ROLES, 201),  # no token needed: the code and verifier are the proof
        lambda world, case: Call(
            "/track", json={"tracking_code": case.tracking_code, "verifier": case.verifier}
        ),
        check=check_track,
    ),
    Spec(
        "POST",
        "/track",
        dict.fromkeys(ROLES, 404),
        lambda world, case: Call(
            "/track", json={"tracking_code": case.tracking_code, "verifier": world.other.verifier}
        ),
        variant="another case's verifier",
    ),
    Spec(
        "DELETE",
        "/track",
        expect(404, family_own=204, family_other=204),  # a family signs itself out, any case
        lambda world, case: Call("/track"),
        own_token=True,
        check=check_signed_out,
    ),
    # e-certificates (issue 21; their journeys in tests/e2e/test_certificates.py): the keys,
    # verification and the status list are anyone's; a case's certificates its family's
    Spec("GET", "/.well-known/jwks.json", EVERYONE, fixed("/.well-known/jwks.json"), public=True),
    Spec(
        "POST",
        "/verify",
        EVERYONE,
        fixed("/verify", json={"certificate": STRANGER_CERTIFICATE}),
        public=True,
        check=check_unknown_key,
    ),
    Spec("GET", "/verify/{jti}", EVERYONE, fixed(f"/verify/{UNKNOWN}.1"), public=True),
    Spec("GET", "/certificates/status", EVERYONE, fixed("/certificates/status"), public=True),
    Spec(
        "GET",
        "/cases/{case_id:uuid}/certificates",
        expect(404, family_own=200, admin=200),
        on_case("/certificates"),
    ),
    Spec(
        "GET",
        "/cases/{case_id:uuid}/certificates",
        expect(404),
        on_unknown_case("/certificates"),
        variant="unknown id",
    ),
    Spec(
        "GET",
        QR,
        expect(404, family_own=200, admin=200),
        on_certificate("/qr.svg"),
        check=check_qr,
    ),
    Spec(
        "GET",
        QR,
        expect(404),
        lambda world, case: Call(f"/cases/{case.case_id}/certificates/{UNKNOWN}.1/qr.svg"),
        variant="no such certificate",
    ),
    Spec("GET", "/cases/{case_id:uuid}", CASE_READERS, on_case(), check=check_view),
    Spec(
        "GET",
        "/cases/{case_id:uuid}",
        CASE_READERS,
        as_of_dispatch,
        variant="as_of",
        check=check_as_of,
    ),
    Spec("GET", "/cases/{case_id:uuid}", expect(404), on_unknown_case(), variant="unknown id"),
    Spec(
        "GET",
        "/cases/{case_id:uuid}/history",
        CASE_READERS,
        on_case("/history"),
        check=check_history,
    ),
    Spec(
        "GET",
        "/cases/{case_id:uuid}/history",
        expect(404),
        on_unknown_case("/history"),
        variant="unknown id",
    ),
    Spec(
        "POST",
        "/cases/{case_id:uuid}/family-application",
        expect(404, family_own=200, admin=200),
        on_case("/family-application", json=APPLICATION),
        state="notified",
        mutates=True,
        check=check_applied,
    ),
    Spec(
        "POST",
        "/cases/{case_id:uuid}/family-application",
        expect(404),
        on_unknown_case("/family-application", json=APPLICATION),
        variant="unknown id",
    ),
    # the family's guide (progress, waits, collection: no personal data) and the public
    # division picker (reference data)
    Spec(
        "GET",
        "/cases/{case_id:uuid}/guide",
        expect(404, family_own=200, admin=200),
        on_case("/guide"),
    ),
    Spec(
        "GET",
        "/cases/{case_id:uuid}/guide",
        expect(404),
        on_unknown_case("/guide"),
        variant="unknown id",
    ),
    Spec(
        "GET", "/divisions", EVERYONE, fixed("/divisions", params={"parent": "4306"}), public=True
    ),
    Spec(
        "POST",
        "/cases/{case_id:uuid}/rating",
        # Only the family rates its case: nobody, not even an admin, rates on its behalf.
        expect(404, family_own=201),
        on_case("/rating", json={"score": 4}),
        state="completed",
        mutates=True,
        check=check_rated,
    ),
    Spec(
        "POST",
        "/cases/{case_id:uuid}/rating",
        expect(404),
        on_unknown_case("/rating", json={"score": 4}),
        variant="unknown id",
    ),
    Spec(
        "POST",
        "/cases/{case_id:uuid}/close",
        expect(404, family_own=200, admin=200),
        on_case("/close", json={"reason": "we register later"}),
        state="rejected",
        mutates=True,
        check=check_closed,
    ),
    Spec(
        "POST",
        "/cases/{case_id:uuid}/close",
        expect(404),
        on_unknown_case("/close", json={}),
        variant="unknown id",
    ),
    Spec(
        "POST",
        STEP + "resubmit",
        expect(404, office_in=200, office_other_side=200, family_own=200, admin=200),
        on_hukou("resubmit", {}),
        state="rejected",
        mutates=True,
        offices=HANDLING,
        check=check_resubmitted,
    ),
    Spec(
        "POST",
        STEP + "resubmit",
        expect(404),
        fixed(f"/service-requests/{UNKNOWN}/resubmit", json={}),
        variant="unknown id",
        offices=HANDLING,
    ),
    # deliveries to registry systems (issue 18): the request's offices and an admin
    Spec(
        "GET",
        STEP + "deliveries",
        expect(404, office_in=200, office_other_side=200, admin=200),
        lambda world, case: Call(f"/service-requests/{case.hukou}/deliveries"),
        check=check_deliveries,
    ),
    Spec(
        "GET",
        STEP + "deliveries",
        expect(404),
        fixed(f"/service-requests/{UNKNOWN}/deliveries"),
        variant="unknown id",
    ),
    # families' documents (issue 19): the family (or an admin) uploads and reads its case's;
    # the request's offices read those its supplements cite
    Spec(
        "POST",
        "/cases/{case_id:uuid}/documents",
        expect(404, family_own=201, admin=201),  # a file is kept, no event is recorded
        on_case("/documents", **UPLOAD),
        check=check_uploaded,
    ),
    Spec(
        "POST",
        "/cases/{case_id:uuid}/documents",
        expect(404),
        on_unknown_case("/documents", **UPLOAD),
        variant="unknown id",
    ),
    Spec(
        "GET",
        "/cases/{case_id:uuid}/documents/{document_id}",
        expect(404, family_own=200, admin=200),
        lambda world, case: Call(f"/cases/{case.case_id}/documents/{case.document}"),
        state="documented",
        check=check_document,
    ),
    Spec(
        "GET",
        STEP + "documents",
        expect(404, office_in=200, office_other_side=200, admin=200),
        lambda world, case: Call(f"/service-requests/{case.hukou}/documents"),
        state="documented",
        check=check_documents,
    ),
    Spec(
        "GET",
        STEP + "documents/{document_id}",
        expect(404, office_in=200, office_other_side=200, admin=200),
        lambda world, case: Call(f"/service-requests/{case.hukou}/documents/{case.document}"),
        state="documented",
        check=check_document,
    ),
    Spec(
        "GET",
        STEP + "documents/{document_id}",
        expect(404),
        lambda world, case: Call(
            f"/service-requests/{case.requests['vaccination']}/documents/" + case.document
        ),
        state="documented",
        variant="a request that does not cite it",
    ),
    Spec(
        "GET",
        "/offices/{locality}/{authority}/queue",
        expect(404, office_in=200, admin=200),
        fixed("/offices/{}/{}/queue".format(*HANDLING.in_scope)),
        check=check_queue,
    ),
    # the clerk's workbench (issue 20): the request's offices and an admin read it; the
    # office (or an admin) searches its own requests by tracking code or citizen ID
    Spec(
        "GET",
        "/service-requests/{service_request_id:uuid}",
        expect(404, office_in=200, office_other_side=200, admin=200),
        lambda world, case: Call(f"/service-requests/{case.hukou}"),
        check=check_workbench,
    ),
    Spec(
        "GET",
        "/service-requests/{service_request_id:uuid}",
        expect(404),
        fixed(f"/service-requests/{UNKNOWN}"),
        variant="unknown id",
    ),
    Spec(
        "POST",
        "/offices/{locality}/{authority}/search",
        expect(404, office_in=200, admin=200),
        lambda world, case: Call(
            "/offices/{}/{}/search".format(*HANDLING.in_scope),
            json={"tracking_code": case.tracking_code},
        ),
        check=check_search,
    ),
    Spec(
        "GET",
        "/offices/{locality}/{authority}/queue",
        expect(404),
        fixed("/offices/420102/police/queue"),
        variant="unknown authority",
    ),
    Spec(
        "GET",
        "/offices/{locality}/{authority}/feed",
        expect(404, office_in=200, admin=200),
        fixed("/offices/{}/{}/feed".format(*HANDLING.in_scope)),
        check=check_feed,
    ),
    Spec(
        "GET",
        "/offices/{locality}/{authority}/feed",
        expect(404),
        fixed("/offices/420102/police/feed"),
        variant="unknown authority",
    ),
    *[
        Spec(
            "POST",
            STEP + action,
            expect(404, office_in=200, admin=200, **may),
            on_hukou(action, body),
            state=state,
            mutates=True,
            offices=offices,
            check=check_step(after),
        )
        for action, body, state, offices, may, after in STEPS
    ],
    *[
        Spec(
            "POST",
            STEP + action,
            expect(404),
            fixed(f"/service-requests/{UNKNOWN}/{action}", json=body),
            variant="unknown id",
            offices=offices,
        )
        for action, body, _, offices, _, _ in STEPS
    ],
    Spec(
        "GET",
        "/monitoring/localities/{code}",
        expect(404, monitor_in=200, monitor_national=200, admin=200),
        lambda world, case: Call("/monitoring/localities/420102", params={"month": world.month}),
        public=True,
        check=check_figures,
    ),
    # each office's own bad ratings to call back (none in this world: an empty list)
    Spec(
        "GET",
        "/follow-ups",
        expect(
            404,
            office_in=200,
            office_other_side=200,
            office_other_authority=200,
            office_other_locality=200,
        ),
        fixed("/follow-ups"),
        public=True,
    ),
    # a call-back needs a bad rating: this completed case has none, so nobody records one
    Spec(
        "POST",
        "/cases/{case_id:uuid}/call-backs",
        expect(404),
        on_case("/call-backs", json={"outcome": "fixed"}),
        state="completed",
    ),
    Spec(
        "POST",
        "/cases/{case_id:uuid}/call-backs",
        expect(404),
        on_unknown_case("/call-backs", json={"outcome": "fixed"}),
        variant="unknown id",
    ),
    Spec(
        "GET",
        "/monitoring/flows",
        expect(404, monitor_in=200, monitor_out=200, monitor_national=200, admin=200),
        lambda world, case: Call("/monitoring/flows", params={"month": world.month}),
        public=True,
        check=check_flows,
    ),
    Spec(
        "GET",
        "/monitoring/matter-flows",
        expect(404, monitor_in=200, monitor_out=200, monitor_national=200, admin=200),
        lambda world, case: Call("/monitoring/matter-flows", params={"month": world.month}),
        public=True,
        check=check_matter_flows,
    ),
    # the read audit: rows name who read what, never the personal data (public: none of it)
    Spec("GET", "/audit", expect(404, admin=200), fixed("/audit"), check=check_audit),
    # issue 22's wings: the couple applies online (no token) or a clerk of the registering
    # civil-affairs office for them; a police window for an ID card applicant
    Spec(
        "POST",
        "/marriage-registrations",
        expect(
            404,
            anonymous=201,
            office_in=201,
            office_other_side=403,
            office_other_authority=403,
            office_other_locality=403,
            admin=403,  # an admin is no clerk of the registering office
        ),
        fixed("/marriage-registrations", json=COUPLE),
        mutates=True,
        offices=MARRIAGE_OFFICES,
        check=check_marriage_opened,
    ),
    Spec(
        "GET",
        "/marriage-registrations/{case_id:uuid}",
        expect(404, office_in=200, office_other_side=200, family_own=200, admin=200),
        on_wing("/marriage-registrations", "marriage"),
        state="marriage",
        offices=MARRIAGE_OFFICES,
        check=check_wing_view,
    ),
    Spec(
        "GET",
        "/marriage-registrations/{case_id:uuid}",
        expect(404),
        fixed(f"/marriage-registrations/{UNKNOWN}"),
        variant="unknown id",
        offices=MARRIAGE_OFFICES,
    ),
    Spec(
        "POST",
        "/id-card-applications",
        # any police window takes an application; no other office, nobody else
        expect(404, office_in=201, office_other_side=201, office_other_locality=201),
        fixed("/id-card-applications", json=ID_CARD_APPLICATION),
        mutates=True,
        offices=ID_CARD_OFFICES,
        check=check_id_card_opened,
    ),
    Spec(
        "GET",
        "/id-card-applications/{case_id:uuid}",
        expect(404, office_in=200, office_other_side=200, family_own=200, admin=200),
        on_wing("/id-card-applications", "id-card"),
        state="id-card",
        offices=ID_CARD_OFFICES,
        check=check_wing_view,
    ),
    Spec(
        "GET",
        "/id-card-applications/{case_id:uuid}",
        expect(404),
        fixed(f"/id-card-applications/{UNKNOWN}"),
        variant="unknown id",
        offices=ID_CARD_OFFICES,
    ),
    Spec(
        "GET",
        "/monitoring/reads",
        expect(404, monitor_in=200, monitor_out=200, monitor_national=200, admin=200),
        lambda world, case: Call("/monitoring/reads", params={"month": world.month}),
        public=True,
    ),
    # the remote virtual window (issue 22): the household registration's two offices
    Spec(
        "POST",
        "/remote-window-sessions",
        expect(404, office_in=201, office_other_side=409),
        booking,
        offices=RECEIVING,
        mutates=True,
    ),
    Spec(
        "GET",
        "/remote-window-sessions/{session_id:uuid}",
        expect(404, office_in=200, office_other_side=200, admin=200),
        on_session(),
    ),
    Spec(
        "GET",
        "/remote-window-sessions/{session_id:uuid}",
        expect(404),
        fixed(f"/remote-window-sessions/{UNKNOWN}"),
        variant="unknown id",
    ),
    Spec(
        "POST",
        "/remote-window-sessions/{session_id:uuid}/start",
        expect(404, office_in=200, office_other_side=200, admin=409),
        on_session("start", {}),
        mutates=True,
    ),
    Spec(
        "POST",
        "/remote-window-sessions/{session_id:uuid}/join",
        expect(404, office_in=200, office_other_side=409, admin=409),
        on_session("join", {"party": "handling"}),
        mutates=True,
    ),
    Spec(
        "POST",
        "/remote-window-sessions/{session_id:uuid}/end",
        expect(404, office_in=409, office_other_side=409, admin=409),  # not started yet
        on_session("end", {}),
    ),
    Spec(
        "POST",
        "/remote-window-sessions/{session_id:uuid}/cancel",
        expect(404, office_in=200, office_other_side=200, admin=409),
        on_session("cancel", {"reason": "the applicant cannot come"}),
        mutates=True,
    ),
    Spec(
        "GET",
        "/offices/{locality}/{authority}/remote-window-sessions",
        expect(404, office_in=200, admin=200),
        fixed("/offices/{}/{}/remote-window-sessions".format(*HANDLING.in_scope)),
    ),
]
BY_KEY = {spec.key: spec for spec in SPECS}
OFFICE_SIDE = {
    "office_in": "in_scope",
    "office_other_side": "other_side",
    "office_other_authority": "other_authority",
    "office_other_locality": "other_locality",
}


def authorization(world: World, spec: Spec, role: str, case: Case) -> dict[str, str]:
    if role == "anonymous":
        return {}
    if spec.own_token and role in ("family_own", "family_other"):
        signed_in = case if role == "family_own" else world.other
        token = world.container.actors.add("family", signed_in.case_id)[1]
    elif role == "family_own":
        token = case.family
    elif role == "family_other":
        token = world.other.family
    elif role in OFFICE_SIDE:
        token = world.offices[getattr(spec.offices, OFFICE_SIDE[role])]
    else:
        token = world.tokens[role]
    return {"Authorization": f"Bearer {token}"}


def secrets_of(world: World) -> set[str]:
    return {s for case in (world.other, *world.seeded.values()) for s in case.secrets}


def assert_refusal_says_nothing(
    world: World, spec: Spec, call: Call, response: httpx2.Response
) -> None:
    """A refusal names no case data: a bare problem (or OperationOutcome) about the path."""
    body = response.json()
    if spec.path == "/fhir/$process-message":
        assert response.headers["content-type"].startswith(FHIR)
        assert body["resourceType"] == "OperationOutcome"
        assert set(body) == {"resourceType", "issue"}
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert body["status"] == response.status_code
        assert body["instance"] == call.path
        extra = {k: v for k, v in body.items() if k not in PROBLEM_KEYS}
        sent = call.path + (orjson.dumps(call.json).decode() if call.json is not None else "")
        assert all(str(v) in sent for v in extra.values()), extra  # the caller's own values
    if response.status_code == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    leaked = {s for s in secrets_of(world) if s not in call.path and s in response.text}
    assert not leaked


CELLS = [pytest.param(spec.key, role, id=f"{spec.key}-{role}") for spec in SPECS for role in ROLES]


@pytest.mark.parametrize(("key", "role"), CELLS)
def test_access(world: World, key: str, role: str) -> None:
    spec = BY_KEY[key]
    expected = spec.statuses[role]
    case = (
        world.new_case(spec.state) if spec.mutates and expected < 400 else world.seeded[spec.state]
    )
    call = spec.build(world, case)
    if spec.key.startswith("POST /track"):
        world.client.app.state.throttle = Throttle()  # type: ignore[attr-defined]
    if spec.key == "POST /marriage-registrations":  # online applications: 10 an hour
        world.client.app.state.marriage_throttle = Throttle(10, 3600.0)  # type: ignore[attr-defined]
    before = world.head()
    response = world.client.request(
        spec.method,
        call.path,
        params=call.params,
        json=call.json,
        content=call.content,
        headers={**call.headers, **authorization(world, spec, role, case)},
    )
    assert response.status_code == expected, response.text
    if expected >= 400 or not spec.mutates:
        assert world.head() == before  # refused (or read-only): nothing recorded
    if expected >= 400:
        assert_refusal_says_nothing(world, spec, call, response)
        return
    other = {s for s in world.other.secrets if s in response.text}
    assert not other  # nothing of another facility's case, ever
    if spec.public:
        assert not {s for s in secrets_of(world) if s in response.text}
    if spec.check is not None:
        spec.check(world, case, role, response)


def test_every_route_is_in_the_matrix(world: World) -> None:
    """A new route fails here until the matrix says who may call it."""
    routes = list(world.client.app.routes)  # type: ignore[attr-defined]
    assert all(isinstance(r, Route) for r in routes)
    in_app = {(m, r.path) for r in routes for m in (r.methods or ()) if m != "HEAD"}
    in_matrix = {(spec.method, spec.path) for spec in SPECS}
    assert in_app == in_matrix
    assert len(BY_KEY) == len(SPECS)


OUT_OF_SCOPE = ("hospital_out", "office_other_authority", "office_other_locality", "family_other")


def test_out_of_scope_reads_exactly_like_missing(world: World) -> None:
    """Ids cannot be probed: another's case answers the same bytes as no case at all."""
    case = world.seeded["received"]
    pairs = [
        (f"/cases/{case.case_id}", f"/cases/{UNKNOWN}"),
        (f"/cases/{case.case_id}/history", f"/cases/{UNKNOWN}/history"),
    ]
    for role in (*OUT_OF_SCOPE, "monitor_national"):
        headers = authorization(world, BY_KEY["GET /cases/{case_id:uuid}"], role, case)
        for real, missing in pairs:
            answers = [world.client.get(path, headers=headers) for path in (real, missing)]
            bodies = [{k: v for k, v in a.json().items() if k != "instance"} for a in answers]
            assert bodies[0] == bodies[1], (role, real)
            assert [a.status_code for a in answers] == [404, 404]
    for action, body, *_ in STEPS:
        spec = BY_KEY[f"POST {STEP}{action}"]
        for role in OUT_OF_SCOPE:
            headers = authorization(world, spec, role, case)
            answers = [
                world.client.post(f"/service-requests/{rid}/{action}", json=body, headers=headers)
                for rid in (case.hukou, UNKNOWN)
            ]
            bodies = [{k: v for k, v in a.json().items() if k != "instance"} for a in answers]
            assert bodies[0] == bodies[1], (role, action)
