"""case_status's per-case fast path writes exactly the rows (cases, services, history and the
family documents, byte for byte) of the rules as they were before it (a frozen copy in
tests/unit/case_status_reference.py), over a busy log with every kind of event the view shows:
corrections (replanned and flagged requests), voids (withdrawals), family applications,
supplements, rejections (blocks, a resubmission, a closing), deadlines, completions and
ratings; in pages of any size."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from domain.births.commands import (
    ApplyAsFamily,
    CloseCase,
    CorrectNotification,
    NotifyBirth,
    RateService,
    VoidNotification,
)
from domain.births.facts import Parent
from domain.kernel.commands import RouteRequest
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.service_request import ServiceRequest
from domain.wings import list_in_force
from engine.page_reader import decoder_of
from engine.view import TableProjection
from projections.case_status import SHOWN, CaseStatusProjection, InMemoryCaseStatus
from tests.conftest import HOSPITAL, make_facts, office_step
from tests.e2e.test_routing_desk_flow import UNLISTED
from tests.unit.case_status_reference import ReferenceCaseStatusProjection

RESULTS: dict[str, dict[str, Any]] = {
    "birth-certificate": {"certificate_number": "X430602001"},
    "vaccination": {"vaccination_record_number": "VR-1"},
    "household-registration": {},
    "medical-insurance": {"enrolment_number": "MI-1"},
    "social-security-card": {"card_number": "SSC-1"},
    "maternity-benefits": {"decision_number": "MB-1"},
}

BORN = date(2026, 11, 20)


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00+08:00")


def decide(container: Container, case_id: Any, service: str, action: str, **kw: Any) -> bool:
    """One office decision, when the request is in a state that takes it."""
    request_id = ServiceRequest.create_id(case_id, service)
    try:
        request = container.ledger.get_request(request_id)
    except Exception:  # not planned (yet) for this case
        return False
    state = request.state
    wanted = {
        "receive": ("dispatched",),
        "approve": ("received",),
        "reject": ("received",),
        "request-supplement": ("received",),
        "supplement": ("supplement-requested",),
    }
    if state not in wanted[action]:
        return False
    result = RESULTS[service]
    if service == "household-registration":  # issued by the hukou county that handles it
        result = {"citizen_id": make_citizen_id(request.route.handling_locality, BORN, 28)}
    kw.setdefault("result", result)
    kw.setdefault("receipt_number", f"R-{service}")
    office_step(container.ledger, request_id, action, "office:1", **kw)
    container.processing.settle()
    return True


def approve_all(container: Container, case_id: Any) -> None:
    for _ in range(4):  # dependencies dispatch later requests once earlier ones are approved
        for service in RESULTS:
            decide(container, case_id, service, "receive")
            decide(container, case_id, service, "approve")


def notify(container: Container, ref: str, **changes: Any) -> Any:
    facts = make_facts(ref, **changes)
    outcome = container.ledger.notify_birth(NotifyBirth(f"m-{ref}", facts, b"{}"))
    container.processing.settle()
    return outcome.case_id


def busy_log(container: Container) -> None:
    """Cases whose lives interleave in the log, with every event case_status shows (with a
    national list that leaves newborn registration to the routing desk)."""
    with list_in_force(UNLISTED):
        _busy_log(container)


def _busy_log(container: Container) -> None:
    ledger = container.ledger
    ledger.clock = lambda: at("2026-11-16")
    full = [notify(container, f"MR-F{n}", child_name="王小明") for n in range(3)]
    unnamed = notify(container, "MR-A", child_name=None)
    troubled = notify(container, "MR-T", child_name="王小雨")
    voided = notify(container, "MR-V", child_name="王小雷")
    corrected = notify(container, "MR-C", child_name="王小云")
    urumqi = make_citizen_id("650102", date(1993, 5, 1), 222)
    harbin = Parent(urumqi, "王芳", None, "650102", "230102")  # lives in Harbin
    parked = notify(container, "MR-P", child_name="王小冰", mother=harbin, birth_division="230102")
    for case_id in full[:2]:
        decide(container, case_id, "birth-certificate", "receive")
    decide(container, troubled, "birth-certificate", "receive")
    decide(container, voided, "birth-certificate", "receive")
    items = ("出生医学证明原件照片", "户口簿")
    decide(container, troubled, "birth-certificate", "request-supplement", items=items)
    ledger.apply_as_family(ApplyAsFamily(unnamed, "王小花", "mother", "430602", None, consent=True))
    container.processing.settle()
    mother = Parent("420102199403080124", "王芳", "13800000000", "430602", "430602")
    new = make_facts("MR-C", child_name="王云朵", mother=mother, household_choice="mother")
    ledger.correct_notification(CorrectNotification("m-MR-C-2", new, b"{}"))
    container.processing.settle()
    ledger.void_notification(VoidNotification("v-MR-V", HOSPITAL, "MR-V"))
    container.processing.settle()
    decide(container, troubled, "birth-certificate", "supplement", items=items)
    for day in ("2026-11-18", "2026-11-26", "2026-12-09"):
        ledger.clock = partial(at, day)
        container.projections.catch_up()  # the deadline job reads the office queue
        container.watch_deadlines()
    # the desk's clock counts from when the request was parked: the events' own time
    ledger.clock = lambda: datetime.now(UTC) + timedelta(days=10)
    container.projections.catch_up()
    container.watch_deadlines()
    decide(container, troubled, "birth-certificate", "reject", reason="not born here", basis="§3")
    hukou = ServiceRequest.create_id(parked, "household-registration")
    route = RouteRequest(hukou, "coordinator:1", "650102", "230102", "off-site", "MPS platform")
    ledger.route(route)
    container.processing.settle()
    rejected = ServiceRequest.create_id(troubled, "birth-certificate")
    office_step(ledger, rejected, "resubmit", "family:1")  # blocked dependents, a new attempt
    container.processing.settle()
    closing = notify(container, "MR-X", child_name="王小雪")
    decide(container, closing, "vaccination", "receive")
    decide(container, closing, "vaccination", "approve")
    decide(container, closing, "birth-certificate", "receive")
    decide(container, closing, "birth-certificate", "reject", reason="no record", basis="§4")
    ledger.close_as_family(CloseCase(closing, "family", "we give up"))
    container.processing.settle()
    for case_id in (*full, unnamed, corrected, parked):
        approve_all(container, case_id)
    for case_id in (*full[:2], closing):
        ledger.rate(RateService(case_id, 5, "一次办好"))
    container.processing.settle()
    after_decisions(container)


def after_decisions(container: Container) -> None:
    """Issue 17: corrections after a decision (approved, rejected, taken back) and a void
    revoked."""
    ledger = container.ledger
    fixed, voided = (notify(container, ref, child_name="王小雨") for ref in ("MR-K1", "MR-K2"))
    for case_id in (fixed, voided):
        decide(container, case_id, "birth-certificate", "receive")
        decide(container, case_id, "birth-certificate", "approve")
    heavier = make_facts("MR-K1", child_name="王小雨", birth_weight_g=3500)
    ledger.correct_notification(CorrectNotification("m-MR-K1-2", heavier, b"{}"))
    container.processing.settle()
    certificate = ServiceRequest.create_id(fixed, "birth-certificate")
    reissued = {"certificate_number": "X430602009"}
    office_step(ledger, certificate, "approve-correction", "office:1", result=reissued)
    ledger.apply_as_family(ApplyAsFamily(fixed, "王小雨", "mother", "430602", None, consent=True))
    ledger.apply_as_family(ApplyAsFamily(fixed, "王小雪", "mother", "430602", None, consent=True))
    container.processing.settle()
    office_step(ledger, certificate, "reject-correction", "office:1", reason="已登记")
    undone = notify(container, "MR-K3", child_name="王小川")
    decide(container, undone, "birth-certificate", "receive")
    decide(container, undone, "birth-certificate", "approve")
    lighter = make_facts("MR-K3", child_name="王小川", birth_weight_g=3000)
    ledger.correct_notification(CorrectNotification("m-MR-K3-2", lighter, b"{}"))
    container.processing.settle()  # a correction the hospital then takes back: withdrawn
    as_decided = make_facts("MR-K3", child_name="王小川")
    ledger.correct_notification(CorrectNotification("m-MR-K3-3", as_decided, b"{}"))
    container.processing.settle()
    ledger.void_notification(VoidNotification("v-MR-K2", HOSPITAL, "MR-K2"))
    container.processing.settle()
    office_step(ledger, ServiceRequest.create_id(voided, "birth-certificate"), "revoke", "office:1")
    container.processing.settle()
    legacy = ledger.get_request(ServiceRequest.create_id(fixed, "vaccination"))
    legacy.flag_correction(["birth_weight_g"])  # as corrections were told before issue 17
    ledger.save(legacy)
    container.processing.settle()


def feed(container: Container, projection: TableProjection[Any], batch: int) -> None:
    """The whole log, decoded as the page reader decodes it, in pages of `batch` events."""
    app = container.ledger
    decode = decoder_of(app)
    position = projection.view.max_tracking_id(app.name)
    while found := app.recorder.select_notifications(
        start=position, limit=batch, topics=projection.topics, inclusive_of_start=False
    ):
        events = [(decode(n), n.id) for n in found]
        projection.process_batch(events, Tracking(app.name, found[-1].id), position)
        position = found[-1].id


@pytest.fixture(scope="module")
def ledger() -> Iterator[Container]:
    built = build(Settings(persistence="memory", embedded_worker=False))
    busy_log(built)
    yield built
    built.close()


def test_the_log_has_every_event_case_status_shows(ledger: Container) -> None:
    topics = {n.topic for n in ledger.ledger.recorder.select_notifications(start=1, limit=10**6)}
    assert {get_topic(cls) for cls in SHOWN} <= topics


@pytest.mark.parametrize("batch", [1, 3, 7, 64, 10_000])
def test_the_fast_path_writes_the_reference_rows(ledger: Container, batch: int) -> None:
    reference = ReferenceCaseStatusProjection(InMemoryCaseStatus())
    feed(ledger, reference, 10_000)
    expected = reference.view.dump()
    assert len(expected["documents"]) == 12
    projection = CaseStatusProjection(InMemoryCaseStatus())
    feed(ledger, projection, batch)
    assert projection.view.dump() == expected
    small = ReferenceCaseStatusProjection(InMemoryCaseStatus())
    feed(ledger, small, batch)
    assert small.view.dump() == expected  # the oracle itself does not depend on the page size


def test_events_applied_one_by_one_give_the_reference_rows(ledger: Container) -> None:
    """The library's contract (one event per transaction, no memo) takes the same path."""
    reference = ReferenceCaseStatusProjection(InMemoryCaseStatus())
    feed(ledger, reference, 10_000)
    projection = CaseStatusProjection(InMemoryCaseStatus())
    app = ledger.ledger
    decode = decoder_of(app)
    for n in app.recorder.select_notifications(start=1, limit=10**6, topics=projection.topics):
        projection.process_event(decode(n), Tracking(app.name, n.id))
    assert projection.view.dump() == reference.view.dump()
