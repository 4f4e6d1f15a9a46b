"""Reading one aggregate of a known kind from an application's repository."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository

A = TypeVar("A")


def aggregate_of(
    repository: Repository[UUID], kinds: type[A] | tuple[type[A], ...], aggregate_id: UUID
) -> A:
    """The aggregate stored as `aggregate_id` when it is one of `kinds`; else (none, or another
    kind's) AggregateNotFoundError, as when none is stored."""
    aggregate: object = repository.get(aggregate_id)
    if not isinstance(aggregate, kinds):
        raise AggregateNotFoundError(aggregate_id)
    return aggregate
