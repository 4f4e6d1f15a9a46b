"""Poison events (issue #16) on SQLite and PostgreSQL: an event a view cannot write is parked,
the view moves past it and every other view goes on; transient errors park nothing."""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import OperationalError
from prometheus_client import generate_latest

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from api.metrics import Metrics
from domain.births.commands import NotifyBirth
from engine.parked import PARKED_STATE, SKIPPED_STATE, NotParkedError
from engine.projection_runner import catch_up
from engine.rows import TableChanges
from engine.view import TableView
from projections.case_status import CaseStatusProjection
from projections.office_queue import REQUESTS
from tests.conftest import make_facts
from tests.integration.test_projections import (
    dumps,
    full_case,
    reference,
    store_settings,
    timeline_entries,
    troubled_case,
)
from tests.integration.test_projections_crash import assert_exact, events_of

SCHEMA = "poison_events"
POISON = "MR-POISON"  # a record key the faulty view below refuses, on any store
# A record key of 5,000 characters that PostgreSQL cannot compress under the btree row limit.
LONG_KEY = "".join(random.Random(16).choices(string.ascii_letters + string.digits, k=5000))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgres":
        from tests.pg import postgres_settings

        pg_settings: Settings = postgres_settings(SCHEMA)
        return pg_settings
    return store_settings("sqlite", tmp_path)


@pytest.fixture
def worker_container(settings: Settings) -> Iterator[Container]:
    """A container whose commands leave the background work to `tick`, as with a worker."""
    built = build(replace(settings, embedded_worker=False))
    yield built
    built.close()


def record_birth(container: Container, record_ref: str) -> tuple[UUID, str]:
    """A birth recorded through the CaseLedger (as FHIR intake would): (case id, code)."""
    outcome = container.ledger.notify_birth(
        NotifyBirth(f"m-{len(record_ref)}-{record_ref[:8]}", make_facts(record_ref), b"{}")
    )
    return outcome.case_id, outcome.tracking_code


Write = Callable[[Any, list[TableChanges]], None]


class Refusal:
    """Makes `view` raise `error()` on a write that holds the poison record key, as a store
    refusing a value would (until `fixed`); other writes go through."""

    def __init__(self, view: TableView, error: Callable[[], Exception]) -> None:
        self.error, self.fixed, self.refused = error, False, 0
        original: Write = view._write

        def write(handle: Any, changes: list[TableChanges]) -> None:
            if not self.fixed and any(POISON in map(str, r) for c in changes for r in c.rows):
                self.refused += 1
                raise self.error()
            original(handle, changes)

        view._write = write  # type: ignore[method-assign]


def assert_family_and_office_see(container: Container, case_id: UUID, code: str) -> None:
    views = container.projections
    status = views.case_status_view.by_tracking_code(code)
    assert status is not None
    assert status.case_id == str(case_id)
    assert views.office_queue_view.count(REQUESTS, {"case_id": str(case_id)}) > 0
    assert set(views.lags().values()) == {0}


def parked_gauge(container: Container) -> str:
    metrics = Metrics()
    metrics.refresh(container)
    return generate_latest(metrics.registry).decode()


def test_a_poison_event_is_parked_and_every_other_family_goes_on(
    worker_container: Container,
) -> None:
    container = worker_container
    Refusal(container.projections.case_status.view, lambda: ValueError("refused 王芳"))
    poison_case, _ = record_birth(container, POISON)
    case_id, code = record_birth(container, "MR-0002")
    container.tick()  # before: it failed here at every tick, and held all four views
    assert_family_and_office_see(container, case_id, code)
    parked = container.projections.parked()
    assert [p for name, rows in parked.items() if name != "case_status" for p in rows] == []
    first = parked["case_status"][0]
    assert first.topic.endswith("BirthCase.Notified")
    assert first.originator_id == str(poison_case)
    assert (first.error, first.state, first.attempts) == ("ValueError", PARKED_STATE, 1)
    assert "王芳" not in repr(parked)
    assert "refused" not in repr(parked)
    waiting = len(parked["case_status"])
    assert f'newborn_ledger_parked_events{{view="case_status"}} {waiting}.0' in parked_gauge(
        container
    )
    assert 'newborn_ledger_parked_events{view="flows"} 0.0' in parked_gauge(container)


def test_a_transient_error_parks_nothing_holds_only_its_view_and_the_next_tick_carries_on(
    worker_container: Container,
) -> None:
    container = worker_container
    view = container.projections.case_status.view
    refusal = Refusal(view, lambda: OperationalError("connection lost"))
    case_id, code = record_birth(container, POISON)
    for _ in range(2):
        with pytest.raises(OperationalError):  # raised once the other views caught up
            container.tick()
        assert view.max_tracking_id(container.ledger.name) is None  # stays before the event
        for name in ("office_queue", "locality_stats", "flows"):
            assert container.projections.lag(name) == 0
    refusal.fixed = True  # the store is back
    container.tick()
    assert refusal.refused == 2
    assert container.projections.parked() == {key: [] for key in container.projections.all()}
    assert_family_and_office_see(container, case_id, code)


def test_retry_fails_again_while_the_cause_remains_and_skip_resolves(
    worker_container: Container,
) -> None:
    container = worker_container
    Refusal(container.projections.case_status.view, lambda: ValueError("still refused"))
    record_birth(container, POISON)
    container.tick()
    position = container.projections.parked()["case_status"][0].position
    still = container.projections.retry("case_status", position)
    assert still is not None
    assert (still.state, still.attempts, still.error) == (PARKED_STATE, 2, "ValueError")
    skipped = container.projections.skip("case_status", position, by="operator-1")
    assert (skipped.state, skipped.resolved_by) == (SKIPPED_STATE, "operator-1")
    assert skipped.resolved_at is not None
    with pytest.raises(NotParkedError):
        container.projections.retry("case_status", position)
    with pytest.raises(NotParkedError):
        container.projections.skip("case_status", position, by="operator-1")
    parked = container.projections.parked()["case_status"]
    assert [p.position for p in parked if p.state == SKIPPED_STATE] == [position]  # on record
    assert container.projections.parked_counts()["case_status"] == len(parked) - 1


def test_retry_after_the_fix_applies_the_parked_events_in_order(
    worker_container: Container,
) -> None:
    container = worker_container
    refusal = Refusal(container.projections.case_status.view, lambda: ValueError("refused"))
    case_id, code = record_birth(container, POISON)
    container.tick()
    refusal.fixed = True  # a release fixes the bug
    parked = container.projections.parked()["case_status"]
    assert parked, "the Notified event and the ones after it that needed its row"
    for p in parked:
        assert container.projections.retry("case_status", p.position) is None
    assert container.projections.parked() == {key: [] for key in container.projections.all()}
    assert_family_and_office_see(container, case_id, code)
    assert dumps(container.projections) == dumps(reference(container))


def test_a_rebuild_parks_again_what_still_fails_and_keeps_what_was_skipped(
    worker_container: Container,
) -> None:
    container = worker_container
    refusal = Refusal(container.projections.case_status.view, lambda: ValueError("refused"))
    record_birth(container, POISON)
    container.tick()
    first, *others = container.projections.parked()["case_status"]
    container.projections.skip("case_status", first.position, by="ops")
    container.projections.rebuild("case_status")
    again = container.projections.parked()["case_status"]
    assert [p.position for p in again] == [first.position] + [p.position for p in others]
    assert (again[0].state, again[0].attempts) == (SKIPPED_STATE, 2)  # met again, still skipped
    assert {(p.state, p.attempts) for p in again[1:]} == {(PARKED_STATE, 1)}
    refusal.fixed = True  # after the fix, a rebuild applies them all: no park is left to retry
    container.projections.rebuild("case_status")
    assert container.projections.parked(PARKED_STATE)["case_status"] == []
    assert dumps(container.projections) == dumps(reference(container))


def test_a_page_applied_in_parts_reports_the_position_it_wrote(
    worker_container: Container,
) -> None:
    """A page that parks an event reports its position like any page: a rebuild's bar
    reaches the head, and `projections rebuild` knows that position as its own."""
    container = worker_container
    Refusal(container.projections.case_status.view, lambda: ValueError("refused"))
    record_birth(container, POISON)
    container.tick()
    reported: list[tuple[int, int]] = []
    container.projections.rebuild("case_status", progress=lambda *at: reported.append(at))
    head = container.projections.app.recorder.max_notification_id()
    assert reported[-1:] == [(head, head)]
    assert container.projections.parked(PARKED_STATE)["case_status"]


def test_a_page_that_fails_once_is_applied_in_parts_exactly_once(
    worker_container: Container,
) -> None:
    """A one-off error of the projection's code: the page is applied again in halves, each
    event once; nothing is parked because nothing fails twice."""
    container = worker_container
    full_case(container)
    troubled_case(container)
    container.processing.settle()

    class FailingOnce(CaseStatusProjection):
        seen = 0

        def apply(self, event: Any, position: int, rows: Any) -> None:
            FailingOnce.seen += 1
            if FailingOnce.seen == 12:
                raise RuntimeError("a one-off bug")
            super().apply(event, position, rows)

    catch_up(container.ledger, FailingOnce(container.projections.case_status.view), batch=5)
    assert FailingOnce.seen > 12
    assert container.projections.parked()["case_status"] == []
    container.projections.catch_up(batch=5)
    assert_exact(container, container.projections)


def test_an_event_that_always_fails_is_parked_alone_in_a_long_backlog(
    worker_container: Container,
) -> None:
    """Pages of 5 over a backlog (pipelined on PostgreSQL): exactly the failing event is
    parked, every other one is applied once."""
    container = worker_container
    full_case(container)
    troubled_case(container)
    container.processing.settle()
    poisoned = container.ledger.recorder.select_notifications(
        start=None, limit=10_000, topics=CaseStatusProjection.topics
    )[11].id

    class Failing(CaseStatusProjection):
        def apply(self, event: Any, position: int, rows: Any) -> None:
            if position == poisoned:
                raise RuntimeError("the projection's own bug")
            super().apply(event, position, rows)

    projection = Failing(container.projections.case_status.view)
    catch_up(container.ledger, projection, batch=5)
    (parked,) = container.projections.parked()["case_status"]
    assert (parked.position, parked.error) == (poisoned, "RuntimeError")
    assert "test_poison_events.py:apply" in parked.reason
    shown = timeline_entries(container.projections.case_status.view)
    assert shown == events_of(container, CaseStatusProjection.topics) - 1
    assert container.projections.lag("case_status") == 0


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("key", "error"),
    [("MR-\x00-1", "psycopg.DataError"), (LONG_KEY, "psycopg.errors.ProgramLimitExceeded")],
    ids=["nul", "5000-characters"],
)
def test_a_record_key_postgresql_cannot_store_is_parked(key: str, error: str) -> None:
    from tests.pg import postgres_settings

    container = build(replace(postgres_settings(SCHEMA), embedded_worker=False))
    try:
        poison_case, _ = record_birth(container, key)
        case_id, code = record_birth(container, "MR-0002")
        container.tick()
        assert_family_and_office_see(container, case_id, code)
        first = container.projections.parked()["case_status"][0]
        assert (first.originator_id, first.topic, first.error) == (
            str(poison_case),
            "domain.birth_case:BirthCase.Notified",
            error,
        )
        assert key[-20:] not in repr(container.projections.parked())
        still = container.projections.retry("case_status", first.position)
        assert still is not None  # the value still cannot be stored
        assert (still.state, still.attempts) == (PARKED_STATE, 2)
        container.projections.skip("case_status", first.position, by="ops")
        waiting = container.projections.parked(PARKED_STATE)["case_status"]
        assert first.position not in [p.position for p in waiting]
    finally:
        container.close()
