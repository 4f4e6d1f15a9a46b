"""CasePlan aggregate: the Orchestrator's memory of one case (the saga's state, as events)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.kernel import saga
from domain.kernel.routing import Plan, PlannedService
from domain.kernel.saga import PlanState, evolve
from domain.kernel.service_request import ID_CACHE_SIZE, ServiceRequest
from domain.kernel.topics import stored_as

# Planning inputs are a wing's frozen value (births: domain/births/planning.py); the events
# carry them as they are, registered with a transcoding (domain/kernel/transcodings.py).
PlanInputs = object
LegacyInputs = Callable[[Mapping[str, object]], PlanInputs]
_legacy_readers: list[LegacyInputs] = []


def read_legacy_inputs_with(reader: LegacyInputs) -> None:
    """How to read inputs stored as a plain dict (class version 1): by the wing that wrote
    them, which registers its reader when imported."""
    _legacy_readers[:] = [reader]


def _typed_inputs(state: dict[str, object]) -> None:
    inputs = state["inputs"]
    if isinstance(inputs, Mapping):
        if not _legacy_readers:
            raise LookupError("no reader of untyped CasePlan inputs is registered")
        state["inputs"] = _legacy_readers[0](inputs)


def _typed_plan(state: dict[str, object]) -> None:
    if isinstance(state["plan"], Mapping):
        state["plan"] = Plan.from_dict(dict(state["plan"]))


@stored_as("domain.case_plan")
class CasePlan(Aggregate):
    """What the Orchestrator knows and has decided about one case: the events record the
    saga's decisions (domain/kernel/saga.py), and replaying them evolves its state.

    It keeps only what routing and sequencing need (the wing's planning inputs, results to
    carry forward); the personal facts stay in the case.
    """

    class Opened(Aggregate.Created):
        class_version = 2
        case_id: UUID
        inputs: PlanInputs
        upcast_v1_v2 = staticmethod(_typed_inputs)

    class InputsUpdated(Aggregate.Event):
        class_version = 2
        inputs: PlanInputs
        version: int | None  # the case's version they are from

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            _typed_inputs(state)
            state["version"] = None  # recorded before the case's version was

    class PlanDrawn(Aggregate.Event):
        class_version = 2
        case_id: UUID
        plan: Plan
        upcast_v1_v2 = staticmethod(_typed_plan)

    class PlanRevised(Aggregate.Event):
        class_version = 2
        case_id: UUID
        plan: Plan
        revised: list[str]
        upcast_v1_v2 = staticmethod(_typed_plan)

    class DispatchOrdered(Aggregate.Event):
        case_id: UUID
        service: str
        carried: dict[str, str]

    class ResultNoted(Aggregate.Event):
        service: str
        result: dict[str, str]

    class CorrectionForwarded(Aggregate.Event):
        class_version = 2
        case_id: UUID
        services: list[str]
        changed: list[str]
        correction: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["correction"] = None  # forwarded before corrections were remembered

    class CompletionOrdered(Aggregate.Event):
        case_id: UUID

    class WithdrawalOrdered(Aggregate.Event):
        case_id: UUID
        reason: str
        services: list[str]

    class RouteTaken(Aggregate.Event):
        case_id: UUID
        service: str
        planned: dict[str, object]  # the desk's PlannedService, as its `to_dict`

    class RejectionNoted(Aggregate.Event):
        case_id: UUID
        service: str
        attempt: int
        blocked: list[str]

    class ResubmissionNoted(Aggregate.Event):
        case_id: UUID
        service: str
        attempt: int
        blocked: list[str]

    class CorrectionsRequested(Aggregate.Event):
        case_id: UUID
        services: list[str]
        changed: list[str]
        correction: str

    class ResultReissued(Aggregate.Event):
        case_id: UUID
        service: str
        result: dict[str, str]
        services: list[str]
        carried: dict[str, str]
        reissue: str

    class RevocationOrdered(Aggregate.Event):
        case_id: UUID
        reason: str
        services: list[str]

    class RevocationNoted(Aggregate.Event):
        service: str

    class VoidFinishOrdered(Aggregate.Event):
        case_id: UUID

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return _plan_id(case_id)

    @classmethod
    def open(cls, opened: saga.Opened[PlanInputs]) -> CasePlan:
        return cls(opened.case_id, opened.inputs)

    @event(Opened)
    def __init__(self, case_id: UUID, inputs: PlanInputs) -> None:
        self.case_id = case_id
        self.state: PlanState[PlanInputs] = PlanState(case_id, inputs)

    @property
    def dispatched(self) -> tuple[str, ...]:
        return self.state.dispatched

    @property
    def closed(self) -> bool:
        return self.state.closed

    def record(self, decision: saga.Decision[PlanInputs]) -> None:
        """Record one of the saga's decisions (Opened: see `open`) as its event."""
        case_id = self.case_id
        match decision:
            case saga.InputsUpdated(inputs=inputs, version=version):
                self._inputs_updated(inputs=inputs, version=version)
            case saga.PlanDrawn(plan=plan):
                self._plan_drawn(case_id=case_id, plan=plan)
            case saga.PlanRevised(plan=plan, revised=revised):
                self._plan_revised(case_id=case_id, plan=plan, revised=list(revised))
            case saga.DispatchOrdered(service=service, carried=carried):
                self._dispatch_ordered(case_id=case_id, service=service, carried=dict(carried))
            case saga.ResultNoted(service=service, result=result):
                self._result_noted(service=service, result=dict(result))
            case saga.CorrectionForwarded(services=services, changed=changed):
                self._correction_forwarded(
                    case_id=case_id,
                    services=list(services),
                    changed=list(changed),
                    correction=decision.correction,
                )
            case saga.CompletionOrdered():
                self._completion_ordered(case_id=case_id)
            case saga.WithdrawalOrdered(reason=reason, services=services):
                self._withdrawal_ordered(case_id=case_id, reason=reason, services=list(services))
            case saga.RouteTaken(service=service, planned=planned):
                self._route_taken(case_id=case_id, service=service, planned=planned.to_dict())
            case saga.RejectionNoted(service=service, attempt=attempt, blocked=blocked):
                self._rejection_noted(
                    case_id=case_id, service=service, attempt=attempt, blocked=list(blocked)
                )
            case saga.ResubmissionNoted(service=service, attempt=attempt, blocked=blocked):
                self._resubmission_noted(
                    case_id=case_id, service=service, attempt=attempt, blocked=list(blocked)
                )
            case saga.Opened():
                raise ValueError("a CasePlan is opened once, by CasePlan.open")
            case _:
                self._record_after_decision(decision)

    def _record_after_decision(self, decision: saga.Decision[PlanInputs]) -> None:
        """The decisions on what happens after an office decided: corrections, re-issued
        results, revocations."""
        case_id = self.case_id
        match decision:
            case saga.CorrectionsRequested(services=services, changed=changed):
                self._corrections_requested(
                    case_id=case_id,
                    services=list(services),
                    changed=list(changed),
                    correction=decision.correction,
                )
            case saga.ResultReissued(service=service, result=result, services=services):
                self._result_reissued(
                    case_id=case_id,
                    service=service,
                    result=dict(result),
                    services=list(services),
                    carried=dict(decision.carried),
                    reissue=decision.reissue,
                )
            case saga.RevocationOrdered(reason=reason, services=services):
                self._revocation_ordered(case_id=case_id, reason=reason, services=list(services))
            case saga.RevocationNoted(service=service):
                self._revocation_noted(service=service)
            case saga.VoidFinishOrdered():
                self._void_finish_ordered(case_id=case_id)

    @event(InputsUpdated)
    def _inputs_updated(self, inputs: PlanInputs, version: int | None) -> None:
        self.state = evolve(self.state, saga.InputsUpdated(inputs, version))

    @event(PlanDrawn)
    def _plan_drawn(self, case_id: UUID, plan: Plan) -> None:
        self.state = evolve(self.state, saga.PlanDrawn(plan))

    @event(PlanRevised)
    def _plan_revised(self, case_id: UUID, plan: Plan, revised: list[str]) -> None:
        self.state = evolve(self.state, saga.PlanRevised(plan, tuple(revised)))

    @event(DispatchOrdered)
    def _dispatch_ordered(self, case_id: UUID, service: str, carried: dict[str, str]) -> None:
        self.state = evolve(self.state, saga.DispatchOrdered(service, carried))

    @event(ResultNoted)
    def _result_noted(self, service: str, result: dict[str, str]) -> None:
        self.state = evolve(self.state, saga.ResultNoted(service, result))

    @event(CorrectionForwarded)
    def _correction_forwarded(
        self, case_id: UUID, services: list[str], changed: list[str], correction: str | None
    ) -> None:
        forwarded = saga.CorrectionForwarded(tuple(services), tuple(changed), correction)
        self.state = evolve(self.state, forwarded)

    @event(CompletionOrdered)
    def _completion_ordered(self, case_id: UUID) -> None:
        self.state = evolve(self.state, saga.CompletionOrdered())

    @event(WithdrawalOrdered)
    def _withdrawal_ordered(self, case_id: UUID, reason: str, services: list[str]) -> None:
        self.state = evolve(self.state, saga.WithdrawalOrdered(reason, tuple(services)))

    @event(RouteTaken)
    def _route_taken(self, case_id: UUID, service: str, planned: dict[str, object]) -> None:
        taken = saga.RouteTaken(service, PlannedService.from_dict(planned))
        self.state = evolve(self.state, taken)

    @event(RejectionNoted)
    def _rejection_noted(
        self, case_id: UUID, service: str, attempt: int, blocked: list[str]
    ) -> None:
        noted = saga.RejectionNoted(service, attempt, tuple(blocked))
        self.state = evolve(self.state, noted)

    @event(ResubmissionNoted)
    def _resubmission_noted(
        self, case_id: UUID, service: str, attempt: int, blocked: list[str]
    ) -> None:
        noted = saga.ResubmissionNoted(service, attempt, tuple(blocked))
        self.state = evolve(self.state, noted)

    @event(CorrectionsRequested)
    def _corrections_requested(
        self, case_id: UUID, services: list[str], changed: list[str], correction: str
    ) -> None:
        requested = saga.CorrectionsRequested(tuple(services), tuple(changed), correction)
        self.state = evolve(self.state, requested)

    @event(ResultReissued)
    def _result_reissued(
        self,
        case_id: UUID,
        service: str,
        result: dict[str, str],
        services: list[str],
        carried: dict[str, str],
        reissue: str,
    ) -> None:
        reissued = saga.ResultReissued(service, result, tuple(services), carried, reissue)
        self.state = evolve(self.state, reissued)

    @event(RevocationOrdered)
    def _revocation_ordered(self, case_id: UUID, reason: str, services: list[str]) -> None:
        self.state = evolve(self.state, saga.RevocationOrdered(reason, tuple(services)))

    @event(RevocationNoted)
    def _revocation_noted(self, service: str) -> None:
        self.state = evolve(self.state, saga.RevocationNoted(service))

    @event(VoidFinishOrdered)
    def _void_finish_ordered(self, case_id: UUID) -> None:
        self.state = evolve(self.state, saga.VoidFinishOrdered())


def carried_out_reads(event: object) -> list[UUID]:
    """What the CaseLedger reads to carry out a CasePlan event: the case and named requests."""
    case_id: UUID | None = getattr(event, "case_id", None)
    if case_id is None or isinstance(event, CasePlan.PlanDrawn):
        return [case_id] if case_id else []
    if isinstance(event, CasePlan.RejectionNoted | CasePlan.ResubmissionNoted):
        blocked = getattr(event, "blocked", [])
        return [
            case_id,
            ServiceRequest.create_id(case_id, event.service, event.attempt),
            *(ServiceRequest.create_id(case_id, s) for s in blocked),
        ]
    named = getattr(event, "services", None) or getattr(event, "revised", None) or []
    services = [event.service] if isinstance(event, CasePlan.DispatchOrdered) else named
    return [case_id, *(ServiceRequest.create_id(case_id, s) for s in services)]


@lru_cache(maxsize=ID_CACHE_SIZE)
def _plan_id(case_id: UUID) -> UUID:
    """Kept like ServiceRequest's ids (uuid5 is ~5 µs; the same plans are read repeatedly)."""
    return uuid5(case_id, "case-plan")
