"""Section processing in memory: conflicts fall back to smaller sections, then give up politely."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from adapters.bootstrap import Container
from domain.births.commands import NotifyBirth
from engine.section import Section
from engine.sections import MAX_FAILURES, SectionProcessor
from tests.conftest import make_facts


def notify(container: Container, count: int) -> None:
    for n in range(count):
        facts = make_facts(f"MR-U{n}", child_name="张小明")
        container.ledger.notify_birth(NotifyBirth(f"m-U{n}", facts, b"{}"))


def test_a_section_that_keeps_conflicting_is_retried_smaller(
    memory_container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    notify(memory_container, 5)
    planning = memory_container.processing.planning
    sizes: list[int] = []
    process = SectionProcessor.process

    def conflicting(
        self: SectionProcessor, position: int | None, size: int
    ) -> tuple[int, int | None]:
        sizes.append(size)
        if size > 1:  # say an office keeps writing one of these cases meanwhile
            raise IntegrityError("conflict")
        return process(self, position, size)

    monkeypatch.setattr(SectionProcessor, "process", conflicting)
    planning.size = 4
    assert planning.drain() == 5
    assert sizes[:3] == [4, 2, 1]
    notified = planning.leader.recorder.select_notifications(
        None, 100, topics=planning.follower.topics
    )
    assert planning.position() == notified[-1].id


def test_a_section_that_always_conflicts_is_left_for_the_next_tick(
    memory_container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    notify(memory_container, 2)
    calls = 0

    def refusing(self: SectionProcessor, position: int | None, size: int) -> tuple[int, int | None]:
        nonlocal calls
        calls += 1
        raise IntegrityError("conflict")

    monkeypatch.setattr(SectionProcessor, "process", refusing)
    assert memory_container.processing.planning.drain() == 0
    assert calls == MAX_FAILURES
    monkeypatch.undo()
    memory_container.processing.settle()
    assert memory_container.processing.planning.position() is not None


def test_a_section_collects_like_the_librarys_processing_event() -> None:
    """Same events in the same order, same aggregates and keywords, for a mix of aggregates,
    events and None (the section only skips the library's Protocol checks for aggregates)."""

    def objects() -> tuple[Any, ...]:
        first, second = Aggregate(), Aggregate()
        second.trigger_event(Aggregate.Event)
        loose = Aggregate()
        loose_event = loose.collect_events()[0]
        return first, None, loose_event, second

    ours, theirs = Section(), ProcessingEvent[UUID]()
    for unit in (ours, theirs):
        unit.collect_events(*objects(), extra="kept")

    def shape(unit: ProcessingEvent[UUID]) -> list[tuple[str, int]]:
        return [(type(e).__qualname__, e.originator_version) for e in unit.events]

    assert shape(ours) == shape(theirs) == [
        ("Aggregate.Created", 1), ("Aggregate.Created", 1), ("Aggregate.Created", 1),
        ("Aggregate.Event", 2),
    ]  # fmt: skip
    assert len(ours.aggregates) == len(theirs.aggregates) == 2
    assert ours.saved_kwargs == theirs.saved_kwargs == {"extra": "kept"}
