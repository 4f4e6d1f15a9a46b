"""CasePlan aggregate: the Orchestrator's memory of one case (the saga's state)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.kernel.service_request import ID_CACHE_SIZE, ServiceRequest
from domain.kernel.topics import stored_as


@stored_as("domain.case_plan")
class CasePlan(Aggregate):
    """What the Orchestrator knows and has decided about one case.

    It keeps only what routing and sequencing need (places, the household choice, whether the
    child is named, results to carry forward); the personal facts stay in the BirthCase.
    """

    class Opened(Aggregate.Created):
        case_id: UUID
        inputs: dict[str, Any]

    class InputsUpdated(Aggregate.Event):
        inputs: dict[str, Any]

    class PlanDrawn(Aggregate.Event):
        case_id: UUID
        plan: dict[str, Any]

    class PlanRevised(Aggregate.Event):
        case_id: UUID
        plan: dict[str, Any]
        revised: list[str]

    class DispatchOrdered(Aggregate.Event):
        case_id: UUID
        service: str
        carried: dict[str, Any]

    class ResultNoted(Aggregate.Event):
        service: str
        result: dict[str, Any]

    class CorrectionForwarded(Aggregate.Event):
        case_id: UUID
        services: list[str]
        changed: list[str]

    class CompletionOrdered(Aggregate.Event):
        case_id: UUID

    class WithdrawalOrdered(Aggregate.Event):
        case_id: UUID
        reason: str
        services: list[str]

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return _plan_id(case_id)

    @event(Opened)
    def __init__(self, case_id: UUID, inputs: dict[str, Any]) -> None:
        self.case_id = case_id
        self.inputs = inputs
        self.plan: dict[str, Any] | None = None
        self.dispatched: list[str] = []
        self.approved: list[str] = []
        self.carried: dict[str, Any] = {}
        self.closed = False

    def services(self) -> list[dict[str, Any]]:
        return list(self.plan["services"]) if self.plan else []

    def routes(self) -> dict[str, dict[str, Any]]:
        return {s["service"]: s for s in self.services()}

    def update_inputs(self, inputs: dict[str, Any]) -> None:
        if inputs != self.inputs:
            self._inputs_updated(inputs=inputs)

    def draw(self, plan: dict[str, Any]) -> None:
        """Draw the plan, or revise it: what is already dispatched keeps its route."""
        if self.plan is None:
            self._plan_drawn(case_id=self.case_id, plan=plan)
            return
        old = self.routes()
        new = [
            old[s["service"]] if s["service"] in self.dispatched and s["service"] in old else s
            for s in plan["services"]
        ]
        revised = [s["service"] for s in new if old.get(s["service"]) != s]
        if revised:
            self._plan_revised(
                case_id=self.case_id, plan={**plan, "services": new}, revised=revised
            )

    def order_dispatch(self, service: str, carried: dict[str, Any]) -> None:
        if service not in self.dispatched and not self.closed:
            self._dispatch_ordered(case_id=self.case_id, service=service, carried=carried)

    def note_result(self, service: str, result: dict[str, Any]) -> None:
        if service not in self.approved:
            self._result_noted(service=service, result=result)

    def forward_correction(self, services: list[str], changed: list[str]) -> None:
        if services and changed and not self.closed:
            self._correction_forwarded(case_id=self.case_id, services=services, changed=changed)

    def order_completion(self) -> None:
        if not self.closed:
            self._completion_ordered(case_id=self.case_id)

    def order_withdrawal(self, reason: str) -> None:
        if not self.closed:
            open_services = [s for s in self.routes() if s not in self.approved]
            self._withdrawal_ordered(case_id=self.case_id, reason=reason, services=open_services)

    @event(InputsUpdated)
    def _inputs_updated(self, inputs: dict[str, Any]) -> None:
        self.inputs = inputs

    @event(PlanDrawn)
    def _plan_drawn(self, case_id: UUID, plan: dict[str, Any]) -> None:
        self.plan = plan

    @event(PlanRevised)
    def _plan_revised(self, case_id: UUID, plan: dict[str, Any], revised: list[str]) -> None:
        self.plan = plan

    @event(DispatchOrdered)
    def _dispatch_ordered(self, case_id: UUID, service: str, carried: dict[str, Any]) -> None:
        self.dispatched.append(service)

    @event(ResultNoted)
    def _result_noted(self, service: str, result: dict[str, Any]) -> None:
        self.approved.append(service)
        self.carried.update(result)

    @event(CorrectionForwarded)
    def _correction_forwarded(self, case_id: UUID, services: list[str], changed: list[str]) -> None:
        pass

    @event(CompletionOrdered)
    def _completion_ordered(self, case_id: UUID) -> None:
        self.closed = True

    @event(WithdrawalOrdered)
    def _withdrawal_ordered(self, case_id: UUID, reason: str, services: list[str]) -> None:
        self.closed = True


def carried_out_reads(event: Any) -> list[UUID]:
    """What the CaseLedger reads to carry out a CasePlan event: the case and named requests."""
    case_id: UUID | None = getattr(event, "case_id", None)
    if case_id is None or isinstance(event, CasePlan.PlanDrawn):
        return [case_id] if case_id else []
    named = getattr(event, "services", None) or getattr(event, "revised", None) or []
    services = [event.service] if isinstance(event, CasePlan.DispatchOrdered) else named
    return [case_id, *(ServiceRequest.create_id(case_id, s) for s in services)]


@lru_cache(maxsize=ID_CACHE_SIZE)
def _plan_id(case_id: UUID) -> UUID:
    """Kept like ServiceRequest's ids (uuid5 is ~5 µs; the same plans are read repeatedly)."""
    return uuid5(case_id, "case-plan")
