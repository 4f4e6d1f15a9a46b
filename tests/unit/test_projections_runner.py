"""The batched catch-up over the in-memory ledger: positions, lag, rebuild, repeated runs."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from adapters.bootstrap import PROJECTIONS, Container
from adapters.views import LedgerProjections, build_projections
from domain.births.commands import NotifyBirth
from engine.projection_runner import catch_up
from tests.conftest import make_facts


@pytest.fixture
def projections(memory_container: Container) -> Iterator[LedgerProjections]:
    built = build_projections(memory_container.settings, memory_container.ledger, PROJECTIONS)
    yield built
    built.close()


def notify(container: Container, record_ref: str) -> None:
    facts = make_facts(record_ref, child_name="张小明")
    container.ledger.notify_birth(NotifyBirth(f"m-{record_ref}", facts, b"{}"))
    container.processing.settle()  # the orchestrator loop only: these tests catch up themselves


def test_catch_up_pages_through_the_log_to_its_head(
    memory_container: Container, projections: LedgerProjections
) -> None:
    for n in range(3):
        notify(memory_container, f"MR-{n}")
    head = memory_container.ledger.recorder.max_notification_id()
    assert projections.lags()["flows"] == head
    pages: list[tuple[int, int]] = []
    applied = catch_up(
        memory_container.ledger,
        projections.flows,
        batch=2,
        progress=lambda p, h: pages.append((p, h)),
    )
    assert applied == 3  # one Notified per case: the flows' only topic here
    assert pages[-1] == (head, head)
    assert projections.lag("flows") == 0  # the position reaches the head past others' events
    assert catch_up(memory_container.ledger, projections.flows) == 0


def test_catch_up_all_then_again_changes_nothing(
    memory_container: Container, projections: LedgerProjections
) -> None:
    notify(memory_container, "MR-1")
    assert projections.catch_up() > 0
    dumps = {name: p.view.dump() for name, p in projections.all().items()}
    assert projections.catch_up() == 0
    assert {name: p.view.dump() for name, p in projections.all().items()} == dumps
    assert set(projections.lags().values()) == {0}


def test_rebuild_reproduces_the_live_rows(
    memory_container: Container, projections: LedgerProjections
) -> None:
    notify(memory_container, "MR-1")
    projections.catch_up()
    notify(memory_container, "MR-2")
    projections.catch_up()
    live = projections.case_status.view.dump()
    seen: list[int] = []
    projections.rebuild("case_status", progress=lambda p, h: seen.append(p), batch=3)
    assert projections.case_status.view.dump() == live
    assert seen == sorted(seen)
    assert projections.lag("case_status") == 0


def test_an_unknown_projection_is_named_in_the_error(projections: LedgerProjections) -> None:
    with pytest.raises(KeyError, match="case_status"):
        projections.lag("deliveries")


def test_the_cyclic_collector_is_paused_for_a_whole_backlog_and_restored(
    memory_container: Container, projections: LedgerProjections
) -> None:
    for n in range(3):
        notify(memory_container, f"MR-{n}")
    between: list[bool] = []  # the collector's state when each page has been written

    def stop_at_the_second_page(position: int, head: int) -> None:
        between.append(gc.isenabled())
        if len(between) == 2:
            raise KeyboardInterrupt

    assert gc.isenabled()
    with pytest.raises(KeyboardInterrupt):
        catch_up(memory_container.ledger, projections.case_status, 4, stop_at_the_second_page)
    assert between == [False, False]
    assert gc.isenabled()
    assert catch_up(memory_container.ledger, projections.case_status, batch=4) > 0
    assert gc.isenabled()


def test_a_registry_naming_one_projection_twice_is_refused(memory_container: Container) -> None:
    twice = (*PROJECTIONS, PROJECTIONS[0])
    with pytest.raises(ValueError, match="share a name"):
        build_projections(memory_container.settings, memory_container.ledger, twice)
