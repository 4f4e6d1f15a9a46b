"""A read model kept per case can be rebuilt in parts, one process each: which events of the
log belong to part k of n (engine/partitioned_rebuild.py runs the parts)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from domain.births.birth_case import BirthCase
from domain.kernel.service_request import ServiceRequest

CASE_EVENTS = get_topic(BirthCase) + "."  # topics of a case's own stream
REQUEST_EVENTS = get_topic(ServiceRequest) + "."  # topics of a service request's stream
PLANNED = get_topic(ServiceRequest.Planned)  # a request's first event: it names the case


class UnpartitionableEventError(ValueError):
    """An event of neither a case's stream nor a service request's: its case is unknown."""


def request_key(request_id: UUID) -> int:
    """A request id as the part remembers it: its 128 bits as an int (a UUID object with its
    int would take twice the memory in a set; a year's requests are ~47 million)."""
    return request_id.int


class CasePart:
    """Part `part` of `parts`: the cases whose id, as an integer, is `part` modulo `parts`,
    with their service requests. Which case a request belongs to is read from its first
    event (`ServiceRequest.Planned`, which every part decodes); its later events are then
    told apart by their stream id before anything is decoded, so each part decodes about
    its share of the log. A part runs from the start of the log (a rebuild in parts is
    never resumed half-way), so it meets the Planned of each of its requests."""

    def __init__(self, part: int, parts: int) -> None:
        if not 0 <= part < parts:
            raise ValueError(f"part {part} of {parts} does not exist")
        self.part, self.parts = part, parts
        self.requests: set[int] = set()  # request_key of each request of the part's cases

    def events(
        self, notifications: Sequence[Notification], decode: Callable[[Notification], Any]
    ) -> list[tuple[Any, int]]:
        """The (event, notification id) pairs of this part among `notifications`, in order."""
        mine: list[tuple[Any, int]] = []
        parts, part, requests = self.parts, self.part, self.requests
        for n in notifications:
            topic, stream = n.topic, cast("UUID", n.originator_id)
            if topic == PLANNED:
                event = decode(n)
                if event.case_id.int % parts == part:
                    requests.add(request_key(stream))
                    mine.append((event, n.id))
            elif topic.startswith(REQUEST_EVENTS):
                if request_key(stream) in requests:
                    mine.append((decode(n), n.id))
            elif topic.startswith(CASE_EVENTS):
                if stream.int % parts == part:
                    mine.append((decode(n), n.id))
            else:
                raise UnpartitionableEventError(f"{topic} is not of a case or its requests")
        return mine
