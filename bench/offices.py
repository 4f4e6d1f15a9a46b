"""Simulated offices and a case driver: notify, then receive and approve every dispatched request
with a valid result until each case completes, settling the worker's tick between waves."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
    """Drives cases to completion in waves, as offices and the worker would."""

    container: Container
    tick: Callable[[], object]
    decisions: int = 0
    open_cases: dict[UUID, list[UUID]] = field(default_factory=dict)  # case → open requests

    def notify(self, run: str, numbers: Iterable[int]) -> None:
        ledger = self.container.ledger
        for i in numbers:
            sent = message(run, i)
            cmd = NotifyBirth(sent.message_id, birth_facts(run, i), sent.body)
            self.open_cases[ledger.notify_birth(cmd).case_id] = []

    def plan(self) -> None:
        """After the first tick: every planned request of every new case is open."""
        for case_id in self.open_cases:
            case = self.container.ledger.get_case(case_id)
            self.open_cases[case_id] = [
                ServiceRequest.create_id(case_id, s) for s in case.planned_services
            ]

    def wave(self) -> int:
        """Offices receive and approve whatever is dispatched; returns the decisions made."""
        before = self.decisions
        ledger = self.container.ledger
        for requests in self.open_cases.values():
            for request_id in list(requests):
                request = ledger.get_request(request_id)
                if request.state == "dispatched":
                    self._decide(request)
                    requests.remove(request_id)
        return self.decisions - before

    def _decide(self, request: ServiceRequest) -> None:
        ledger, rid = self.container.ledger, request.id
        ledger.decide(
            OfficeDecision(rid, "receive", OFFICER, receipt_number=f"R-{self.decisions:08d}")
        )
        ledger.decide(
            OfficeDecision(rid, "approve", OFFICER, result=result_for(request, self.decisions))
        )
        self.decisions += 2

    def completed(self) -> int:
        ledger = self.container.ledger
        return sum(ledger.get_case(c).state == "completed" for c in self.open_cases)

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
