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
from domain.commands import NotifyBirth, OfficeDecision
from domain.identifiers import make_citizen_id
from domain.service_request import ServiceRequest

OFFICER = "office:bench"
MAX_WAVES = 12  # the longest dependency chain has 4 services; more waves means a stuck case
OFFICES = 8  # offices deciding at once (threads); the raw baseline commits with as many


def result_for(request: ServiceRequest, n: int) -> dict[str, str]:
    """A valid approval result for `request` (the n-th one the offices give)."""
    if request.service == "birth-certificate":
        return {"certificate_number": f"Y{n % 10**9:09d}"}
    if request.service == "household-registration":
        born_on = datetime.fromisoformat(request.payload["born_at"]).date()
        return {"citizen_id": make_citizen_id(request.handling_locality, born_on, n % 1000)}
    field_name = {
        "vaccination": "vaccination_record_number",
        "medical-insurance": "enrolment_number",
        "social-security-card": "card_number",
        "maternity-benefits": "decision_number",
    }[request.service]
    return {field_name: f"BN-{request.service[:3].upper()}-{n:08d}"}


@dataclass
class Driver:
    """Drives cases to completion in waves, as offices and the worker would: `offices` threads
    send the commands (hospitals notify, offices decide) at once, the tick runs between waves."""

    container: Container
    tick: Callable[[], object]
    offices: int = OFFICES
    open_cases: dict[UUID, list[UUID]] = field(default_factory=dict)  # case → open requests
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
        for case_id in self._pool.map(lambda i: self._notify(run, i), numbers):
            self.open_cases[case_id] = []

    def _notify(self, run: str, i: int) -> UUID:
        sent = message(run, i)
        cmd = NotifyBirth(sent.message_id, birth_facts(run, i), sent.body)
        return self.container.ledger.notify_birth(cmd).case_id

    def plan(self) -> None:
        """After the first tick: every planned request of every new case is open."""
        cases, ledger = list(self.open_cases), self.container.ledger
        for case_id, case in zip(cases, self._pool.map(ledger.get_case, cases), strict=True):
            self.open_cases[case_id] = [
                ServiceRequest.create_id(case_id, s) for s in case.planned_services
            ]

    def wave(self) -> int:
        """Offices receive and approve whatever is dispatched; returns the decisions made."""
        requests = [r for rs in self.open_cases.values() for r in rs]
        decided = {
            r
            for r, done in zip(requests, self._pool.map(self._visit, requests), strict=True)
            if done
        }
        for open_requests in self.open_cases.values():
            open_requests[:] = [r for r in open_requests if r not in decided]
        self._decided += len(decided)
        return 2 * len(decided)

    def _visit(self, request_id: UUID) -> bool:
        """One office looks at one request: receives and approves it if it is dispatched."""
        ledger = self.container.ledger
        request = ledger.get_request(request_id)
        if request.state != "dispatched":
            return False
        n = next(self._numbers)
        ledger.decide(OfficeDecision(request_id, "receive", OFFICER, receipt_number=f"R-{n:08d}"))
        ledger.decide(OfficeDecision(request_id, "approve", OFFICER, result=result_for(request, n)))
        return True

    def completed(self) -> int:
        cases = list(self.open_cases)
        states = self._pool.map(lambda c: self.container.ledger.get_case(c).state, cases)
        return sum(state == "completed" for state in states)

    def run(self, run: str, numbers: range) -> int:
        """Drive the cases `numbers` of `run` to completion; returns how many completed."""
        self.open_cases = {}
        self.notify(run, numbers)
        self.tick()
        self.plan()
        for _ in range(MAX_WAVES):
            if not self.wave():
                break
            self.tick()
        return self.completed()
