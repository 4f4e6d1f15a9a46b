"""Reads of an aggregate's latest snapshot and later events in one query (one_trip_reads)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import AggregateNotFoundError, Repository

from adapters.bootstrap import Container, build
from domain.births.commands import CorrectNotification, NotifyBirth
from domain.ledger import CaseLedger
from engine.one_trip_reads import OneTripRepository, SnapshotJoinReader, one_trip_repository
from engine.section import mutate_all
from tests.conftest import make_facts
from tests.pg import postgres_settings


def library_read(container: Container, aggregate_id: UUID) -> Any:
    """The aggregate as the library's own repository code rebuilds it (two queries)."""
    repository = container.ledger.repository
    return Repository._reconstruct_aggregate(repository, aggregate_id, None, mutate_all)


def same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and vars(a) == vars(b)


def test_postgres_reads_snapshot_and_events_in_one_query(container: Container) -> None:
    repository = container.ledger.repository
    one_trip = container.settings.persistence == "postgres"
    assert isinstance(repository, OneTripRepository) is one_trip
    assert isinstance(container.ledger.recorder, SnapshotJoinReader) is one_trip


def test_a_case_reads_the_same_before_and_after_a_snapshot(container: Container) -> None:
    ledger = container.ledger
    case_id = ledger.notify_birth(NotifyBirth("msg-1", make_facts(), b"{}")).case_id
    assert same(ledger.get_case(case_id), library_read(container, case_id))
    ledger.take_snapshot(case_id)
    ledger.correct_notification(
        CorrectNotification("msg-2", make_facts(birth_weight_g=3100), b"{}")
    )
    case = ledger.get_case(case_id)
    assert same(case, library_read(container, case_id))
    assert case.facts.birth_weight_g == 3100
    assert case.version == 2
    ledger.take_snapshot(case_id)  # the latest snapshot, with no event after it
    assert same(ledger.get_case(case_id), library_read(container, case_id))


@pytest.fixture
def on_postgres() -> Iterator[Container]:
    built = build(postgres_settings("one_trip_reads"))
    yield built
    built.close()


@pytest.mark.postgres
def test_the_join_returns_the_latest_snapshot_and_only_later_events(on_postgres: Container) -> None:
    ledger, recorder = on_postgres.ledger, on_postgres.ledger.recorder
    assert isinstance(recorder, SnapshotJoinReader)
    assert ledger.snapshots is not None
    table = ledger.snapshots.recorder.events_table_name  # type: ignore[attr-defined]
    case_id = ledger.notify_birth(NotifyBirth("msg-1", make_facts(), b"{}")).case_id
    assert recorder.select_from_latest_snapshot(case_id, table) == (
        [],
        list(recorder.select_events(case_id)),
    )
    ledger.take_snapshot(case_id)
    ledger.correct_notification(
        CorrectNotification("msg-2", make_facts(birth_weight_g=3100), b"{}")
    )
    snapshots, events = recorder.select_from_latest_snapshot(case_id, table)
    assert [s.originator_version for s in snapshots] == [1]
    assert [e.originator_version for e in events] == [2]
    assert events == list(recorder.select_events(case_id, gt=1))


def test_a_missing_aggregate_is_not_found(container: Container) -> None:
    missing = uuid4()
    with pytest.raises(AggregateNotFoundError):
        container.ledger.repository.get(missing)
    with pytest.raises(AggregateNotFoundError):
        library_read(container, missing)


def test_the_repository_keeps_the_library_settings() -> None:
    env = {
        "AGGREGATE_CACHE_MAXSIZE": "7",
        "AGGREGATE_CACHE_FASTFORWARD": "n",
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
        "IS_SNAPSHOTTING_ENABLED": "y",
    }
    ledger = CaseLedger(env=env)
    ours, library = one_trip_repository(ledger), ledger.repository
    assert type(library) is Repository  # no REPOSITORY_TOPIC: the library's own
    assert (ours.event_store, ours.snapshot_store) == (library.event_store, library.snapshot_store)
    assert type(ours.cache) is type(library.cache)
    assert (ours.fastforward, ours.fastforward_skipping, ours.deepcopy_from_cache) == (
        library.fastforward,
        library.fastforward_skipping,
        library.deepcopy_from_cache,
    )
