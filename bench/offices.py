"""Simulated offices and a case driver: notify, then receive and approve every dispatched request
with a valid result until each case completes, settling the worker's tick between waves."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from adapters.bootstrap import Container
from bench.messages import birth_facts, message
from domain.births.commands import NotifyBirth
from domain.kernel.commands import Approve, Receive
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.service_request import ServiceRequest
from projections.office_queue import REQUESTS, QueueRow

OFFICER = "office:bench"
MAX_WAVES = 12  # the longest dependency chain has 4 services; more waves means a stuck case
OFFICES = 8  # offices deciding at once (threads); the raw baseline commits with as many


def result_for(request: ServiceRequest, n: int) -> dict[str, str]:
    """A valid approval result for `request` (the n-th one the offices give)."""
    if request.service == "birth-certificate":
        return {"certificate_number": f"Y{n % 10**9:09d}"}
    if request.service == "household-registration":
        born_on = datetime.fromisoformat(str(request.payload["born_at"])).date()
        return {"citizen_id": make_citizen_id(request.handling_locality, born_on, n % 1000)}
    field_name = {
        "vaccination": "vaccination_record_number",
        "medical-insurance": "enrolment_number",
        "social-security-card": "card_number",
        "maternity-benefits": "decision_number",
    }[request.service]
    return {field_name: f"BN-{request.service[:3].upper()}-{n:08d}"}


Office = tuple[str, str]  # (locality, authority)
RECEIVING_ROLES = ("receive-for-other", "both")


def notify(container: Container, run: str, i: int) -> UUID:
    """The hospital notifies birth number `i` of `run` (with its raw message); the case id."""
    sent = message(run, i)
    cmd = NotifyBirth(sent.message_id, birth_facts(run, i), sent.body)
    return container.ledger.notify_birth(cmd).case_id


def dispatched_to(container: Container, office: Office) -> list[QueueRow]:
    """The requests dispatched to `office` that it receives (every page of its queue)."""
    view, rows = container.projections.office_queue_view, list[QueueRow]()
    while page := view.queue(*office, state="dispatched", limit=500, offset=len(rows)).rows:
        rows += page
    return [r for r in rows if r.role in RECEIVING_ROLES]


def receive_and_approve(container: Container, row: QueueRow, n: int) -> None:
    """The office receives the request, then approves it with a valid result (the n-th)."""
    ledger, request_id = container.ledger, UUID(row.service_request_id)
    request = ledger.receive(Receive(request_id, OFFICER, f"R-{n:08d}"))
    ledger.approve(Approve(request_id, OFFICER, result_for(request, n)))


@dataclass
class Driver:
    """Drives cases to completion in waves, as offices and the worker would: `offices` threads
    send the commands (hospitals notify, offices decide) at once, the tick runs between waves.

    Offices work from their queue (the office_queue projection, as
    GET /offices/{locality}/{authority}/queue serves it): each reads what is dispatched to it
    and receives it, then the deciding office approves it. `tick` must catch projections up."""

    container: Container
    tick: Callable[[], object]
    offices: int = OFFICES
    cases: list[UUID] = field(default_factory=list)
    places: set[Office] = field(default_factory=set)  # the offices the cases' requests go to
    _numbers: Iterator[int] = field(default_factory=itertools.count)

    @property
    def decisions(self) -> int:
        return 2 * self._decided

    def __post_init__(self) -> None:
        self._decided = 0
        self._pool = ThreadPoolExecutor(self.offices, thread_name_prefix="office")

    def close(self) -> None:
        self._pool.shutdown()

    def notify(self, run: str, numbers: Iterable[int]) -> None:
        self.cases += self._pool.map(lambda i: notify(self.container, run, i), numbers)

    def plan(self) -> None:
        """After the first tick: the offices that receive the new cases' requests (as the demo
        learns them from each case's routes)."""
        view = self.container.projections.office_queue_view
        found = self._pool.map(lambda c: view.select(REQUESTS, {"case_id": str(c)}), self.cases)
        self.places = {(r.receiving_locality, r.authority) for rows in found for r in rows}

    def wave(self) -> int:
        """Every office reads its queue, then receives and approves whatever is dispatched to
        it; returns the decisions made."""
        rows = [r for q in self._pool.map(self._queue, sorted(self.places)) for r in q]
        decided = sum(self._pool.map(self._decide, rows))
        self._decided += decided
        return 2 * decided

    def _queue(self, office: Office) -> list[QueueRow]:
        return dispatched_to(self.container, office)

    def _decide(self, row: QueueRow) -> bool:
        receive_and_approve(self.container, row, next(self._numbers))
        return True

    def completed(self) -> int:
        states = self._pool.map(lambda c: self.container.ledger.get_case(c).state, self.cases)
        return sum(state == "completed" for state in states)

    def run(self, run: str, numbers: range) -> int:
        """Drive the cases `numbers` of `run` to completion; returns how many completed."""
        self.cases = []
        self.notify(run, numbers)
        self.tick()
        self.plan()
        for _ in range(MAX_WAVES):
            if not self.wave():
                break
            self.tick()
        return self.completed()
