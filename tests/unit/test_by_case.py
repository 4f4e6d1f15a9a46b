"""projections.by_case: which events of the log a part of a rebuild in parts applies; and
case_document.HeldDocuments: when a part writes the family documents it held back."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from domain.births.birth_case import BirthCase
from domain.kernel.service_request import ServiceRequest
from projections.by_case import CasePart, UnpartitionableEventError
from projections.case_document import HeldDocuments, Working

NOTIFIED = get_topic(BirthCase.Notified)
COMPLETED = get_topic(BirthCase.Completed)
PLANNED = get_topic(ServiceRequest.Planned)
APPROVED = get_topic(ServiceRequest.Approved)


class Decoded:
    """What the decoder gives for a notification (only `case_id` is read, of a Planned)."""

    def __init__(self, n: Notification, case_id: UUID | None) -> None:
        self.n, self.case_id = n, case_id


def case_in(part: int, parts: int) -> UUID:
    while True:
        found = uuid4()
        if found.int % parts == part:
            return found


class Log:
    def __init__(self) -> None:
        self.notifications: list[Notification] = []
        self.cases: dict[UUID, UUID] = {}  # request id -> case id (what Planned carries)
        self.decoded: list[int] = []

    def add(self, topic: str, stream: UUID, case_id: UUID | None = None) -> None:
        n = Notification(
            id=len(self.notifications) + 1,
            originator_id=stream,
            originator_version=1,
            topic=topic,
            state=b"{}",
        )
        self.notifications.append(n)
        if case_id is not None:
            self.cases[stream] = case_id

    def decode(self, n: Notification) -> Any:
        self.decoded.append(n.id)
        return Decoded(n, self.cases.get(UUID(str(n.originator_id))))


def test_a_part_takes_its_cases_and_their_requests_and_decodes_little_else() -> None:
    mine, theirs = case_in(1, 3), case_in(2, 3)
    mine_request, their_request = uuid4(), uuid4()
    log = Log()
    log.add(NOTIFIED, mine)  # 1
    log.add(NOTIFIED, theirs)  # 2
    log.add(PLANNED, mine_request, case_id=mine)  # 3
    log.add(PLANNED, their_request, case_id=theirs)  # 4
    log.add(APPROVED, their_request)  # 5
    log.add(APPROVED, mine_request)  # 6
    log.add(COMPLETED, theirs)  # 7
    log.add(COMPLETED, mine)  # 8
    part = CasePart(1, 3)
    first = part.events(log.notifications[:3], log.decode)  # pages: the requests carry over
    rest = part.events(log.notifications[3:], log.decode)
    assert [n for _, n in first + rest] == [1, 3, 6, 8]
    assert [e.n.id for e, _ in first + rest] == [1, 3, 6, 8]
    assert log.decoded == [1, 3, 4, 6, 8]  # every Planned, and only this part's other events


def test_every_event_is_in_exactly_one_part() -> None:
    log = Log()
    for _ in range(20):
        case = uuid4()
        log.add(NOTIFIED, case)
        for _ in range(2):
            request = uuid4()
            log.add(PLANNED, request, case_id=case)
            log.add(APPROVED, request)
        log.add(COMPLETED, case)
    taken = [n for k in range(3) for _, n in CasePart(k, 3).events(log.notifications, log.decode)]
    assert sorted(taken) == [n.id for n in log.notifications]


def test_an_event_of_another_stream_cannot_be_placed() -> None:
    log = Log()
    log.add("domain.actors:Actor.Registered", uuid4())
    with pytest.raises(UnpartitionableEventError, match=r"Actor\.Registered"):
        CasePart(0, 2).events(log.notifications, log.decode)


def test_a_part_must_exist() -> None:
    with pytest.raises(ValueError, match="part 2 of 2"):
        CasePart(2, 2)


def working(case_id: str) -> Working:
    return Working({"case_id": case_id}, {}, set())


def test_held_documents_wait_for_their_case_to_rest_and_all_go_at_the_end() -> None:
    held = HeldDocuments(end=100, idle_pages=2)
    a, b, c = working("a"), working("b"), working("c")
    held.hold("a", a)
    held.hold("b", b)
    assert held.due(10) == []  # page 1: a and b were touched at page 0
    assert held.take("b") is b  # touched again at page 1
    held.hold("b", b)
    assert held.due(20) == [("a", a)]  # page 2: a has rested two pages, b one
    held.hold("c", c)
    assert held.take("x") is None
    assert held.due(30) == [("b", b)]  # page 3
    assert held.due(100) == [("c", c)]  # the part's last page: all that is left
    assert held.due(100) == []


def test_held_documents_beyond_the_capacity_go_oldest_first() -> None:
    held = HeldDocuments(end=100, idle_pages=50, capacity=2)
    documents = [working(n) for n in "abc"]
    for document in documents:
        held.hold(document.work["case_id"], document)
    assert held.due(10) == [("a", documents[0])]
    assert held.due(99) == []
    assert held.due(100) == [("b", documents[1]), ("c", documents[2])]
