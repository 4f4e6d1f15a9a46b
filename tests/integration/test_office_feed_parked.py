"""An event office_feed parks holds every office's feed before it (on SQLite and PostgreSQL):
nothing after it is read or pushed until it is retried (its message then comes in order) or
skipped (the feed goes on without it). Otherwise a retried message would be written behind
every cursor, and never read or pushed."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from adapters.bootstrap import Container
from domain.births.commands import ApplyAsFamily, NotifyBirth
from domain.kernel.service_request import ServiceRequest
from engine.rows import TableChanges
from projections.office_feed import TYPE_PREFIX
from tests.conftest import RESULTS, make_facts, office_step

RECEIVED = f"{TYPE_PREFIX}received"


class RefuseReceipts:
    """office_feed's writes fail on a `received` message until `fixed` (a bug in the view)."""

    def __init__(self, container: Container) -> None:
        self.fixed = False
        view = container.projections.office_feed.view
        original = view._write

        def write(handle: Any, changes: list[TableChanges]) -> None:
            if not self.fixed and any(RECEIVED in map(str, r) for c in changes for r in c.rows):
                raise ValueError("refused")
            original(handle, changes)

        view._write = write  # type: ignore[method-assign]


def dispatched_case(container: Container, ref: str) -> UUID:
    outcome = container.ledger.notify_birth(NotifyBirth(f"m-{ref}", make_facts(ref), b"{}"))
    container.ledger.apply_as_family(
        ApplyAsFamily(outcome.case_id, "王小雨", "mother", "430602", "430602", True)
    )
    container.tick()
    return outcome.case_id


def feed_types(container: Container, locality: str, authority: str) -> list[str]:
    view = container.projections.office_feed_view
    return [m.type.removeprefix(TYPE_PREFIX) for m in view.messages(locality, authority)]


def receipt_parked(container: Container) -> tuple[UUID, int]:
    refusal = RefuseReceipts(container)
    case_id = dispatched_case(container, "MR-FEED-PARK")
    certificate = ServiceRequest.create_id(case_id, "birth-certificate")
    office_step(container.ledger, certificate, "receive", "office:t", receipt_number="R-1")
    office_step(
        container.ledger, certificate, "approve", "office:t", result=RESULTS["birth-certificate"]
    )
    container.tick()
    container.tick()  # the approval dispatched the hukou request; its messages are written
    (parked,) = container.projections.parked()["office_feed"]
    assert parked.topic.endswith("ServiceRequest.Received")
    refusal.fixed = True
    return case_id, parked.position


def test_the_feeds_wait_at_a_parked_event_and_go_on_once_it_is_retried(
    container: Container,
) -> None:
    _, position = receipt_parked(container)
    # the hospital's office read its dispatch; its receipt, and all after it, wait
    assert feed_types(container, "430602", "health") == ["dispatched"]
    assert feed_types(container, "420102", "public-security") == []  # dispatched later
    assert container.projections.office_feed_view.held_at() == position * 4
    assert container.projections.retry("office_feed", position) is None
    assert feed_types(container, "430602", "health") == ["dispatched", "received"]
    assert feed_types(container, "420102", "public-security") == ["dispatched"]


def test_a_skipped_event_lets_the_feeds_go_on_without_it(container: Container) -> None:
    _, position = receipt_parked(container)
    container.projections.skip("office_feed", position, "operator")
    assert feed_types(container, "430602", "health") == ["dispatched"]
    assert feed_types(container, "420102", "public-security") == ["dispatched"]
