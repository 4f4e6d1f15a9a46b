"""Aggregates held between sections: read again with only their newer events, and never with
the changes of a section that did not commit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from domain.births.birth_case import BirthCase
from domain.kernel.service_request import ServiceRequest
from engine.recorders import HELD_NONE, StreamReader
from engine.section import Section
from engine.sections import Held, SectionProcessor
from tests.conftest import office_step
from tests.integration.test_processing_sections import (
    assert_caught_up,
    finish,
    notify_all,
    reference_signature,
    signature,
)
from tests.integration.test_projections import RESULTS


@pytest.fixture
def reference() -> Iterator[Container]:
    """The same commands in memory, settled after every single command."""
    built = build(Settings(persistence="memory"))
    yield built
    built.close()


def approve(container: Container, cases: list[UUID], service: str) -> None:
    for case_id in cases:
        request_id = ServiceRequest.create_id(case_id, service)
        for action, extra in (
            ("receive", {"receipt_number": "R-1"}),
            ("approve", {"result": RESULTS[service]}),
        ):
            office_step(container.ledger, request_id, action, "office:1", **extra)


class Counter(Aggregate):
    def bump(self) -> None:
        self.trigger_event(Aggregate.Event)


def test_streams_are_read_after_the_held_versions(container: Container) -> None:
    ledger, recorder = container.ledger, container.ledger.recorder
    assert isinstance(recorder, StreamReader)
    one, two = Counter(), Counter()
    one.bump()
    two.bump()
    two.bump()
    ledger.save(one, two)
    read = recorder.select_streams([one.id, two.id], [HELD_NONE, 2])
    assert [(s.originator_id, s.originator_version) for s in read] == sorted(
        [(one.id, 1), (one.id, 2), (two.id, 3)]
    )
    assert recorder.select_streams([one.id], [2]) == []


def test_held_aggregates_catch_up_with_commands_and_write_the_same_log(
    container: Container, reference: Container
) -> None:
    processing = container.processing
    processing.planning.size = processing.carrying_out.size = 4
    cases = notify_all(container)
    processing.settle()
    request_id = ServiceRequest.create_id(cases[0], "birth-certificate")
    held = processing.carrying_out.held
    assert held._aggregates[request_id].version == 2  # planned, then dispatched
    finish(container, cases)  # office decisions write held aggregates between sections
    case = container.ledger.get_case(cases[0])
    held_case = held._aggregates[case.id]
    assert isinstance(held_case, BirthCase)
    assert held_case.version == case.version  # held as committed
    assert held_case.state == case.state == "completed"
    assert signature(container) == reference_signature(reference)
    assert {container.ledger.get_case(c).state for c in cases} == {"completed"}


def test_a_refused_section_leaves_nothing_of_its_changes_held(
    container: Container, reference: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    processing = container.processing
    cases = notify_all(container)
    processing.settle()  # every case and request now held
    services = list(RESULTS)
    approve(container, cases, services[0])  # then the orchestrator orders the next dispatches
    processing.planning.drain()
    carrying_out = processing.carrying_out
    record = SectionProcessor.process
    refused: list[set[Any]] = []

    def refusing_once(self: SectionProcessor, position: int | None, size: int) -> Any:
        if self is carrying_out and not refused:
            decide = self.decide

            def decided(notifications: Any) -> Section:
                unit = decide(notifications)
                refused.append(set(unit.aggregates))
                raise IntegrityError("another processor moved the position")

            monkeypatch.setattr(self, "decide", decided)
            try:
                return record(self, position, size)
            finally:
                monkeypatch.delattr(self, "decide")
                assert not set(self.held._aggregates) & refused[0]
        return record(self, position, size)

    monkeypatch.setattr(SectionProcessor, "process", refusing_once)
    held_before = set(carrying_out.held._aggregates)
    carrying_out.drain()
    assert refused
    assert refused[0] & held_before  # the section had changed held aggregates when refused
    processing.settle()
    for service in services[1:]:
        approve(container, cases, service)
        processing.settle()
    assert_caught_up(container)
    assert signature(container) == reference_signature(reference)


def test_held_keeps_committed_aggregates_only_and_the_most_recent() -> None:
    held = Held(2)
    first, second, third, pending = Counter(), Counter(), Counter(), Counter()
    unit = Section()
    for aggregate in (first, second, third):
        aggregate.collect_events()
        unit.loaded[aggregate.id] = aggregate
    unit.loaded[pending.id] = pending  # changed but its events not collected: not kept
    held.keep(unit)
    assert held.take(first.id) is None  # the least recently kept went first
    assert held.take(pending.id) is None
    assert held.take(second.id) is second
    assert held.take(second.id) is None  # taken out while a section works on it
    assert held.take(third.id) is third
