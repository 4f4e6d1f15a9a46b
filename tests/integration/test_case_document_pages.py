"""The case document when a page splits a case's events across batches or holds many cases:
each page folds its events and renders every case it touched once, at its end, and the
documents are still byte for byte the view replayed from the events at every step."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from eventsourcing.persistence import Tracking

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from domain.births.commands import ApplyAsFamily
from projections.case_document import Sealer
from projections.case_status import CaseStatusProjection, InMemoryCaseStatus
from tests.integration.test_case_document import approve_when_ready, decide, notify, replayed

Step = tuple[int, dict[UUID, bytes]]  # (log position, each case's replayed view there)


class CountingSealer(Sealer):
    """Plain text, counting how many texts were sealed (two per rendered document)."""

    def __init__(self) -> None:
        super().__init__()
        self.sealed = 0

    def seal(self, plain: bytes) -> str:
        self.sealed += 1
        return super().seal(plain)


def step(container: Container, cases: list[UUID]) -> Step:
    position = container.ledger.recorder.max_notification_id() or 0
    return position, {case_id: replayed(container, case_id) for case_id in cases}


def interleaved(container: Container) -> list[Step]:
    """Three cases driven in turns; the replayed views after each command."""
    cases = [
        notify(container, f"MR-PAGE-{n}", child_name=None if n == 2 else "王小雨") for n in range(3)
    ]
    steps = [step(container, cases)]
    container.ledger.apply_as_family(
        ApplyAsFamily(cases[2], "王小雨", "mother", "430602", None, consent=True)
    )
    container.after_command()
    steps.append(step(container, cases))
    decide(container, cases[1], "birth-certificate", "receive", "approve")
    decide(container, cases[1], "household-registration", "receive", "request-supplement")
    steps.append(step(container, cases))
    for service in ("birth-certificate", "vaccination", "household-registration"):
        for case_id in cases:
            approve_when_ready(container, case_id, service)
            steps.append(step(container, cases))
    return steps


def feed(container: Container, projection: CaseStatusProjection, upto: int, batch: int) -> None:
    """Catch `projection` up to `upto` in pages of `batch` events (the last one shorter)."""
    app = container.ledger
    position = projection.view.max_tracking_id(app.name)
    while True:
        found = app.recorder.select_notifications(
            start=position,
            limit=batch,
            stop=upto,
            topics=projection.topics,
            inclusive_of_start=False,
        )
        if not found:
            return
        events = [(app.mapper.to_domain_event(n), n.id) for n in found]
        projection.process_batch(events, Tracking(app.name, found[-1].id), position)
        position = found[-1].id


@pytest.fixture
def memory() -> Iterator[Container]:
    built = build(Settings(persistence="memory", embedded_worker=True))
    yield built
    built.close()


@pytest.mark.parametrize("batch", [1, 2, 5, 10_000])
def test_pages_of_any_size_give_the_replay_at_every_step(memory: Container, batch: int) -> None:
    steps = interleaved(memory)
    projection = CaseStatusProjection(view=InMemoryCaseStatus())
    for position, views in steps:
        feed(memory, projection, position, batch)
        for case_id, expected in views.items():
            assert projection.view.document(case_id) == expected


def test_one_page_of_many_cases_renders_each_once(memory: Container) -> None:
    steps = interleaved(memory)
    view = InMemoryCaseStatus()
    view.sealer = sealer = CountingSealer()
    projection = CaseStatusProjection(view=view)
    position, views = steps[-1]
    feed(memory, projection, position, 10_000)
    assert sealer.sealed == 2 * len(views)  # the body and the results, once per case
    assert view.dump() == memory.projections.case_status_view.dump()
    for case_id, expected in views.items():
        assert view.document(case_id) == expected


def test_pages_that_split_cases_rebuild_the_live_rows(memory: Container) -> None:
    interleaved(memory)
    live = memory.projections.case_status_view.dump()
    for batch in (3, 7, 10_000):
        memory.projections.rebuild("case_status", batch=batch)
        assert memory.projections.case_status_view.dump() == live
