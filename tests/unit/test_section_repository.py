"""The engine's section-aware repository: a policy's plain repository read sees its section."""

from __future__ import annotations

import threading
from uuid import UUID

import pytest
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from adapters.bootstrap import Container
from domain.births.birth_case import BirthCase
from domain.births.commands import NotifyBirth
from domain.ledger import CaseLedger
from engine.section import Section, SectionRepository
from engine.sections import SectionProcessor
from tests.conftest import make_facts


def notified(container: Container) -> UUID:
    facts = make_facts("MR-S1", child_name="张小明")
    return container.ledger.notify_birth(NotifyBirth("m-S1", facts, b"{}")).case_id


def test_the_applications_read_through_sections(memory_container: Container) -> None:
    for app in (memory_container.ledger, memory_container.orchestrator):
        assert isinstance(app.repository, SectionRepository)


def test_a_read_in_a_section_loads_once_and_sees_what_was_collected(
    memory_container: Container,
) -> None:
    ledger, case_id = memory_container.ledger, notified(memory_container)
    repository = ledger.repository
    assert isinstance(repository, SectionRepository)
    unit = Section()
    with repository.reading_through(unit):
        case = ledger.get_case(case_id)
        assert unit.loaded[case_id] is case
        assert ledger.get_case(case_id) is case  # loaded once for the whole section
        new = Aggregate()
        unit.collect_events(new)
        assert new.id in repository  # created earlier in the section, not stored
        assert repository.get(new.id) is new
    assert new.id not in repository  # after the section: the store again
    assert ledger.get_case(case_id) is not case


def test_other_threads_do_not_read_through_the_section(memory_container: Container) -> None:
    ledger, case_id = memory_container.ledger, notified(memory_container)
    repository = ledger.repository
    assert isinstance(repository, SectionRepository)
    unit = Section()
    outside: list[BirthCase] = []
    with repository.reading_through(unit):
        case = ledger.get_case(case_id)
        reader = threading.Thread(target=lambda: outside.append(ledger.get_case(case_id)))
        reader.start()
        reader.join()
    assert outside[0] is not case
    assert outside[0].id == case_id


def test_a_missing_aggregate_is_not_remembered(memory_container: Container) -> None:
    repository = memory_container.ledger.repository
    assert isinstance(repository, SectionRepository)
    unit, missing = Section(), Aggregate().id
    with repository.reading_through(unit):
        assert missing not in repository
        with pytest.raises(AggregateNotFoundError):
            repository.get(missing)
    assert unit.loaded == {}


def test_a_processor_needs_a_section_repository(memory_container: Container) -> None:
    bare = CaseLedger()  # the library's repository: a section's changes would go unseen
    with pytest.raises(TypeError, match="SectionRepository"):
        SectionProcessor(bare, memory_container.orchestrator, 10)
    bare.close()
