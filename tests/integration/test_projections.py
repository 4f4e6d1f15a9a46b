"""The four projections on SQLite and PostgreSQL: rows of a real case, rebuild, repeated runs."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest

from adapters.bootstrap import PROJECTIONS, Container
from adapters.settings import Settings
from adapters.views import LedgerProjections, build_projections
from domain.births.commands import NotifyBirth, RateService, VoidNotification
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.service_request import ServiceRequest
from engine.postgres_views import COPY_FROM
from engine.view import TableView
from projections.events import month_of
from tests.conftest import HOSPITAL, make_facts, office_step

SCHEMA = "projections_it"  # our own schema: other suites reset `public` as they run
CHILD_ID = make_citizen_id("420102", date(2026, 11, 20), 28)
RESULTS: dict[str, dict[str, Any]] = {  # in dependency order
    "birth-certificate": {"certificate_number": "X430602001"},
    "vaccination": {"vaccination_record_number": "VR-430602-0001"},
    "household-registration": {"citizen_id": CHILD_ID},
    "medical-insurance": {"enrolment_number": "MI-420102-0001"},
    "social-security-card": {"card_number": "SSC-420102-0001"},
}


def store_settings(kind: str, tmp_path: Path) -> Settings:
    if kind == "postgres":
        from tests.pg import postgres_settings

        pg_settings: Settings = postgres_settings(SCHEMA)
        return pg_settings
    return Settings(persistence="sqlite", sqlite_dir=str(tmp_path / "var"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """tests/conftest.py's stores, with PostgreSQL on a schema of the projections' own."""
    return store_settings(request.param, tmp_path)


def reference(container: Container) -> LedgerProjections:
    """The same projections in memory, fed from the same ledger: what the SQL views must hold."""
    built = build_projections(Settings(persistence="memory"), container.ledger, PROJECTIONS)
    built.catch_up()
    return built


def dumps(projections: LedgerProjections) -> dict[str, Any]:
    return {name: p.view.dump() for name, p in projections.all().items()}


def timeline_entries(view: TableView) -> int:
    """How many events the case_status view shows: its documents' timeline entries (one per
    applied event; each case's history lives only there)."""
    works = [str(d["work"]) for d in view.dump()["documents"]]
    return sum(len(orjson.loads(work)["timeline"]) for work in works)


def settle(container: Container) -> None:
    """Run the orchestrator loop (what after_command does in embedded mode) and nothing else:
    these tests catch their projections up themselves."""
    container.processing.settle()


def step(container: Container, case_id: UUID, service: str, action: str, **kw: Any) -> None:
    request_id = ServiceRequest.create_id(case_id, service)
    office_step(container.ledger, request_id, action, "office:1", **kw)
    settle(container)


def notify(container: Container, record_ref: str) -> UUID:
    facts = make_facts(record_ref, child_name="张小明")
    outcome = container.ledger.notify_birth(NotifyBirth(f"m-{record_ref}", facts, b"{}"))
    settle(container)
    return outcome.case_id


def full_case(container: Container, record_ref: str = "MR-0001") -> UUID:
    """Notified, every service received and approved, completed, rated 5."""
    case_id = notify(container, record_ref)
    for service, result in RESULTS.items():
        step(container, case_id, service, "receive", receipt_number=f"R-{service}")
        step(container, case_id, service, "approve", result=result)
    container.ledger.rate(RateService(case_id, 5, "一次办好"))
    return case_id


def troubled_case(container: Container, record_ref: str = "MR-0002") -> UUID:
    """A supplement requested and given, then the birth certificate rejected."""
    case_id = notify(container, record_ref)
    step(container, case_id, "birth-certificate", "receive", receipt_number="R-1")
    items = ("delivery record",)
    step(container, case_id, "birth-certificate", "request-supplement", items=items)
    step(container, case_id, "birth-certificate", "supplement", items=items)
    step(container, case_id, "birth-certificate", "reject", reason="not born here", basis="§3")
    return case_id


def voided_case(container: Container, record_ref: str = "MR-0003") -> UUID:
    case_id = notify(container, record_ref)
    container.ledger.void_notification(VoidNotification(f"v-{record_ref}", HOSPITAL, record_ref))
    settle(container)
    return case_id


def test_a_real_case_shows_in_every_projection(
    container: Container, projections: LedgerProjections
) -> None:
    case_id = full_case(container)
    assert projections.catch_up() > 0
    status = projections.case_status.view.by_case_id(case_id)
    assert status is not None
    assert (status.state, status.next_action) == ("completed", "nothing: completed and rated")
    assert [s.service for s in status.services] == list(RESULTS)
    assert {s.state for s in status.services} == {"approved"}
    assert projections.case_status.view.by_tracking_code(status.tracking_code) == status
    assert projections.case_status.view.by_hospital_ref(HOSPITAL, "MR-0001") == status
    queue = projections.office_queue.view.queue
    assert queue("430602", "public-security").total == 0  # no open work left
    (received_here,) = queue("430602", "public-security", state="approved").rows
    (decided_here,) = queue("420102", "public-security", state="approved").rows
    assert (received_here.role, decided_here.role) == ("receive-for-other", "decide-here")
    assert received_here.state == decided_here.state == "approved"
    month = month_of(status.notified_at)
    wuhan = projections.locality_stats.view.figures("420102", month)
    assert (wuhan.received, wuhan.approved, wuhan.completed, wuhan.on_time_rate) == (3, 3, 1, 1.0)
    assert (wuhan.ratings, wuhan.average_rating, wuhan.bad_ratings) == (1, 5.0, 0)
    assert [
        (f.birth_province, f.hukou_province, f.cases) for f in projections.flows.view.flows(month)
    ] == [("43", "42", 1)]
    assert set(projections.lags().values()) == {0}


def test_troubled_and_voided_cases(container: Container, projections: LedgerProjections) -> None:
    troubled, voided = troubled_case(container), voided_case(container)
    projections.catch_up()
    status = projections.case_status.view.by_case_id(troubled)
    assert status is not None
    certificate = status.services[0]
    assert (certificate.state, [h.event for h in certificate.history][-3:]) == (
        "rejected",
        ["SupplementRequested", "Supplemented", "Rejected"],
    )
    gone = projections.case_status.view.by_case_id(voided)
    assert gone is not None
    assert {s.state for s in gone.services} == {"withdrawn"}
    month = month_of(status.notified_at)
    yueyang = projections.locality_stats.view.figures("430602", month)
    assert (yueyang.received, yueyang.rejected, yueyang.decided) == (1, 1, 1)
    assert [f.cases for f in projections.flows.view.flows(month)] == [1]  # the void is not a birth


def test_rebuild_from_empty_reproduces_the_live_projections(
    container: Container, projections: LedgerProjections
) -> None:
    for make in (full_case, troubled_case, voided_case):
        make(container)
        projections.catch_up()  # live: small pages, one per command
    live = dumps(projections)
    assert live == dumps(reference(container))
    for name in projections.all():
        projections.rebuild(name, batch=7)
    assert dumps(projections) == live
    assert set(projections.lags().values()) == {0}


def test_a_rebuild_in_big_pages_writes_the_live_rows(
    container: Container, projections: LedgerProjections
) -> None:
    """One page holds it all: set-based writes (COPY on PostgreSQL), no row read back."""
    for n in range(3):
        full_case(container, f"MR-B{n}")
        projections.catch_up(batch=5)
    troubled_case(container)
    projections.catch_up(batch=5)
    live = dumps(projections)
    assert timeline_entries(projections.case_status.view) > COPY_FROM
    for name in projections.all():
        projections.rebuild(name)
    assert dumps(projections) == live
    projections.catch_up()  # the memo carries on into live catch-up
    assert dumps(projections) == live == dumps(reference(container))


def test_catching_up_twice_changes_nothing(
    container: Container, projections: LedgerProjections
) -> None:
    full_case(container)
    projections.catch_up()
    before = dumps(projections)
    assert projections.catch_up() == 0
    again = build_projections(container.settings, container.ledger, PROJECTIONS)  # another process
    assert again.catch_up() == 0
    assert dumps(again) == dumps(projections) == before
    again.close()


def test_the_office_queue_pages_with_a_total(
    container: Container, projections: LedgerProjections
) -> None:
    for n in range(3):
        notify(container, f"MR-Q{n}")
    projections.catch_up()
    first = projections.office_queue.view.queue("430602", "cdc", limit=2)
    rest = projections.office_queue.view.queue("430602", "cdc", limit=2, offset=2)
    assert (first.total, len(first.rows), len(rest.rows)) == (3, 2, 1)
    ids = [r.service_request_id for r in (*first.rows, *rest.rows)]
    assert len(set(ids)) == 3
    assert projections.office_queue.view.queue("430602", "cdc", state="received").total == 0
