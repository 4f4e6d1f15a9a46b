"""The saga as a pure decider: what the Orchestrator decides for a case, and how it remembers.

`Saga.decide(state, fact)` turns one case-level fact (the case was notified, corrected,
applied for or voided; a request was approved) into decisions; `evolve(state, decision)`
folds a decision into the state. No I/O, no clock, no event store: the Orchestrator
(domain/orchestrator.py) loads the state, records the decisions as CasePlan events and
collects them. A wing's planning rules come in through `Planning` (births:
domain/births/planning.py), so nothing here knows what is being registered.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from domain.kernel.alliance import city_of
from domain.kernel.routing import Places, Plan, PlannedService

In = TypeVar("In")  # a wing's planning inputs: a frozen, comparable value
P = TypeVar("P")  # the part of them one upstream fact brings
In_co = TypeVar("In_co", covariant=True)
P_co = TypeVar("P_co", covariant=True)
In_inv = TypeVar("In_inv")
P_contra = TypeVar("P_contra", contravariant=True)

NO_RESULTS: Mapping[str, str] = MappingProxyType({})
NO_ATTEMPTS: Mapping[str, int] = MappingProxyType({})
LATE_APPROVAL = "the case was voided as this result was issued"


class Planning(Protocol[In_inv, P_contra]):
    """A wing's planning rules: how facts become inputs, and what routing and waiting need."""

    def merged(self, inputs: In_inv | None, part: P_contra) -> In_inv:
        """The inputs once `part` is known (None: the case is new)."""
        ...

    def routing(self, inputs: In_inv) -> Places | None:
        """What routing needs, once it is known; None: planning waits."""
        ...

    def may_dispatch(self, inputs: In_inv, service: str) -> bool:
        """False while `service` waits for something only the family can give."""
        ...


# --- facts: what the saga follows, one per upstream event ---------------------------------
@dataclass(frozen=True)
class CaseNotified(Generic[P_co]):
    """The first fact of a case (its version is 1)."""

    case_id: UUID
    part: P_co


@dataclass(frozen=True)
class CaseCorrected(Generic[P_co]):
    part: P_co
    changed: tuple[str, ...]
    correction: str  # the correcting message: a correction is forwarded once
    version: int  # the case's version with it: a later fact's inputs are never undone


@dataclass(frozen=True)
class CaseApplied(Generic[P_co]):
    part: P_co
    version: int


@dataclass(frozen=True)
class CaseVoided:
    reason: str


@dataclass(frozen=True)
class RequestApproved:
    service: str
    result: Mapping[str, str]


@dataclass(frozen=True)
class RequestRouted:
    """A coordinator of the routing desk routed a request no agreement or list routes."""

    service: str
    planned: PlannedService


@dataclass(frozen=True)
class RequestRejected:
    service: str
    attempt: int  # which attempt of the service was rejected


@dataclass(frozen=True)
class RequestResubmitted:
    service: str
    attempt: int  # the new attempt's number


@dataclass(frozen=True)
class CaseClosed:
    """The family closed the case, or its window to act on a rejection lapsed."""

    reason: str


@dataclass(frozen=True)
class RequestReissued:
    """An office approved a correction: its result re-issued (the same or a new one)."""

    service: str
    result: Mapping[str, str]
    version: int  # the request's version with it: a re-issue is carried forward once


@dataclass(frozen=True)
class RequestRevoked:
    """An office revoked its result after the case was voided."""

    service: str


Fact = (
    CaseNotified[P]
    | CaseCorrected[P]
    | CaseApplied[P]
    | CaseVoided
    | RequestApproved
    | RequestRouted
    | RequestRejected
    | RequestResubmitted
    | CaseClosed
    | RequestReissued
    | RequestRevoked
)


# --- decisions: what the CasePlan records, and the CaseLedger carries out -----------------
@dataclass(frozen=True)
class Opened(Generic[In_co]):
    case_id: UUID
    inputs: In_co


@dataclass(frozen=True)
class InputsUpdated(Generic[In_co]):
    inputs: In_co
    version: int | None  # the case's version they are from (None: recorded before it was)


@dataclass(frozen=True)
class PlanDrawn:
    plan: Plan


@dataclass(frozen=True)
class PlanRevised:
    plan: Plan
    revised: tuple[str, ...]


@dataclass(frozen=True)
class DispatchOrdered:
    service: str
    carried: Mapping[str, str]


@dataclass(frozen=True)
class ResultNoted:
    service: str
    result: Mapping[str, str]


@dataclass(frozen=True)
class CorrectionForwarded:
    services: tuple[str, ...]
    changed: tuple[str, ...]
    correction: str | None  # None: forwarded before corrections were remembered


@dataclass(frozen=True)
class CompletionOrdered:
    pass


@dataclass(frozen=True)
class WithdrawalOrdered:
    reason: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class RouteTaken:
    """The desk's route of `service` replaces its manual routing in the plan."""

    service: str
    planned: PlannedService


@dataclass(frozen=True)
class RejectionNoted:
    """`service` (its `attempt`) was rejected: `blocked`, the services that wait on it."""

    service: str
    attempt: int
    blocked: tuple[str, ...]


@dataclass(frozen=True)
class ResubmissionNoted:
    """`service` was resubmitted as its `attempt`: dispatched again with the case's data;
    `blocked`, the services that wait on it, now wait on the new attempt."""

    service: str
    attempt: int
    blocked: tuple[str, ...] = ()


@dataclass(frozen=True)
class CorrectionsRequested:
    """Corrected facts go to the offices that already decided: each is asked to decide again
    (the CaseLedger asks those whose visible fields changed, with old and new values)."""

    services: tuple[str, ...]
    changed: tuple[str, ...]
    correction: str


@dataclass(frozen=True)
class ResultReissued:
    """A re-issued result carried forward: the dispatched services that take it are told
    (those not decided get the new values, those decided a correction request)."""

    service: str
    result: Mapping[str, str]
    services: tuple[str, ...]
    carried: Mapping[str, str]  # every result those services take, as now known
    reissue: str  # "<service>@<version>": remembered like a correction


@dataclass(frozen=True)
class RevocationOrdered:
    """The case was voided: each office that issued a result is to revoke it."""

    reason: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class RevocationNoted:
    service: str


@dataclass(frozen=True)
class VoidFinishOrdered:
    """Every revocation was answered: the case is voided."""


Decision = (
    Opened[In]
    | InputsUpdated[In]
    | PlanDrawn
    | PlanRevised
    | DispatchOrdered
    | ResultNoted
    | CorrectionForwarded
    | CompletionOrdered
    | WithdrawalOrdered
    | RouteTaken
    | RejectionNoted
    | ResubmissionNoted
    | CorrectionsRequested
    | ResultReissued
    | RevocationOrdered
    | RevocationNoted
    | VoidFinishOrdered
)
NO_ROUTES: Mapping[str, PlannedService] = MappingProxyType({})


@dataclass(frozen=True)
class PlanState(Generic[In_co]):
    """What the saga knows and has decided about one case."""

    case_id: UUID
    inputs: In_co
    plan: Plan | None = None
    dispatched: tuple[str, ...] = ()  # in the order dispatched
    approved: frozenset[str] = frozenset()
    carried: Mapping[str, str] = field(default_factory=lambda: NO_RESULTS)  # for later services
    corrections: frozenset[str] = frozenset()
    closed: bool = False
    version: int = 1  # the case's version the inputs are from
    routed: Mapping[str, PlannedService] = field(default_factory=lambda: NO_ROUTES)  # by the desk
    rejected: frozenset[str] = frozenset()  # services whose latest attempt was rejected
    blocked: Mapping[str, str] = field(default_factory=lambda: NO_RESULTS)  # → its blocker
    attempts: Mapping[str, int] = field(default_factory=lambda: NO_ATTEMPTS)  # beyond the 1st
    voided: bool = False
    revoking: frozenset[str] = frozenset()  # services asked to revoke their results
    revoked: frozenset[str] = frozenset()
    void_finished: bool = False

    def attempt(self, service: str) -> int:
        return self.attempts.get(service, 1)

    @property
    def services(self) -> tuple[PlannedService, ...]:
        return self.plan.services if self.plan is not None else ()


def start(opened: Opened[In]) -> PlanState[In]:
    return PlanState(opened.case_id, opened.inputs)


def evolve(state: PlanState[In], decision: Decision[In]) -> PlanState[In]:
    """The state once `decision` is recorded (Opened starts one: see `start`)."""
    match decision:
        case InputsUpdated(inputs=inputs, version=version):
            return _changed(state, inputs=inputs, version=version or state.version)
        case PlanDrawn(plan=plan) | PlanRevised(plan=plan):
            return _changed(state, plan=plan)
        case DispatchOrdered(service=service):
            dispatched = (*state.dispatched, service)
            if service not in state.blocked:
                return _changed(state, dispatched=dispatched)
            blocked = MappingProxyType({k: v for k, v in state.blocked.items() if k != service})
            return _changed(state, dispatched=dispatched, blocked=blocked)
        case ResultNoted(service=service, result=result):
            carried = MappingProxyType({**state.carried, **result})
            return _changed(state, approved=state.approved | {service}, carried=carried)
        case CorrectionForwarded(correction=correction) if correction is not None:
            return _changed(state, corrections=state.corrections | {correction})
        case CompletionOrdered():
            return _changed(state, closed=True)
        case RouteTaken(service=service, planned=planned):
            routed = MappingProxyType({**state.routed, service: planned})
            return _changed(state, routed=routed, plan=_with_routes(state.plan, routed))
        case RejectionNoted(service=service, blocked=blocked):
            waiting = MappingProxyType({**state.blocked, **dict.fromkeys(blocked, service)})
            return _changed(state, rejected=state.rejected | {service}, blocked=waiting)
        case ResubmissionNoted(service=service, attempt=attempt):
            return _changed(
                state,
                rejected=state.rejected - {service},
                dispatched=tuple(s for s in state.dispatched if s != service),
                attempts=MappingProxyType({**state.attempts, service: attempt}),
            )
        case WithdrawalOrdered():
            return _changed(state, closed=True)
        case Opened():
            return start(decision)
        case ResultReissued(result=result, reissue=reissue):
            carried = MappingProxyType({**state.carried, **result})
            return _changed(state, carried=carried, corrections=state.corrections | {reissue})
        case RevocationOrdered(services=services):
            return _changed(state, voided=True, revoking=state.revoking | set(services))
        case RevocationNoted(service=service):
            return _changed(state, revoked=state.revoked | {service})
        case VoidFinishOrdered():
            return _changed(state, void_finished=True)
    return state


def _changed(state: PlanState[In], **changes: object) -> PlanState[In]:
    """`dataclasses.replace(state, **changes)` without its per-call field introspection
    (a fifth of the cost): a plan's every event is evolved again each time it is loaded."""
    changed: PlanState[In] = object.__new__(PlanState)
    changed.__dict__.update(state.__dict__, **changes)
    return changed


def _with_routes(plan: Plan | None, routed: Mapping[str, PlannedService]) -> Plan | None:
    """`plan` with the desk's routes in place of its own while they still concern the same
    handling city (a correction that moves the handling place needs routing again)."""
    if plan is None or not routed:
        return plan
    services = tuple(
        routed[s.service] if _still_applies(s, routed.get(s.service)) else s for s in plan.services
    )
    return plan if services == plan.services else plan.with_services(services)


def _still_applies(fresh: PlannedService, routed: PlannedService | None) -> bool:
    if routed is None:
        return False
    return city_of(fresh.handling_locality) == city_of(routed.handling_locality)


class _Decided(Generic[In]):
    """Decisions taken so far for one fact, and the state they lead to."""

    def __init__(self, state: PlanState[In]) -> None:
        self.state, self.decisions = state, list[Decision[In]]()

    def take(self, decision: Decision[In]) -> None:
        self.decisions.append(decision)
        self.state = evolve(self.state, decision)


@dataclass(frozen=True)
class Saga(Generic[In, P]):
    """The decider: the wing's planning rules, routing with the reference data in force
    (`plan_for`, deterministic) and the results each service takes (`inputs_of`)."""

    planning: Planning[In, P]
    plan_for: Callable[[Places], Plan]
    inputs_of: Callable[[str], Collection[str]]

    def decide(self, state: PlanState[In] | None, fact: Fact[P]) -> list[Decision[In]]:
        """The decisions `fact` calls for; none for a fact already taken into account."""
        if isinstance(fact, CaseNotified):
            return self._notified(state, fact)
        if state is None:
            return []  # nothing was notified: nothing to decide
        decided = _Decided(state)
        if isinstance(fact, CaseCorrected):
            self._corrected(decided, fact)
        elif isinstance(fact, CaseApplied):
            self._update(decided, fact.part, fact.version)
        elif isinstance(fact, CaseVoided):
            self._voided(decided, fact.reason)
            return decided.decisions
        elif isinstance(fact, CaseClosed):  # what was issued stays issued
            self._withdrawn(decided, fact.reason)
            return decided.decisions
        elif isinstance(fact, RequestRouted):
            self._routed(decided, fact)
        elif isinstance(fact, RequestRejected):
            self._rejected(decided, fact)
        elif isinstance(fact, RequestResubmitted):
            self._resubmitted(decided, fact)
        elif isinstance(fact, RequestReissued):
            self._reissued(decided, fact)
            return decided.decisions
        elif isinstance(fact, RequestRevoked):
            self._revoked(decided, fact.service)
            return decided.decisions
        elif fact.service not in state.approved:
            decided.take(ResultNoted(fact.service, fact.result))
            if state.voided:  # approved as the case was voided: revoked like the others
                decided.take(RevocationOrdered(LATE_APPROVAL, (fact.service,)))
        self._advance(decided)
        return decided.decisions

    @staticmethod
    def _rejected(decided: _Decided[In], fact: RequestRejected) -> None:
        """Note a rejection of the service's latest attempt once; what depends on it (and is
        not dispatched yet) is blocked, naming it."""
        state, service = decided.state, fact.service
        if (
            state.closed
            or service in state.approved
            or service in state.rejected
            or fact.attempt != state.attempt(service)
        ):
            return
        waiting = _dependents(state.services, service)
        blocked = tuple(s for s in waiting if s not in state.dispatched and s not in state.blocked)
        decided.take(RejectionNoted(service, fact.attempt, blocked))

    @staticmethod
    def _resubmitted(decided: _Decided[In], fact: RequestResubmitted) -> None:
        """A resubmission of the rejected latest attempt: the service may be dispatched again."""
        state, service = decided.state, fact.service
        if state.closed or service not in state.rejected:
            return
        if fact.attempt != state.attempt(service) + 1:
            return
        waiting = tuple(
            s.service for s in state.services if state.blocked.get(s.service) == service
        )
        decided.take(ResubmissionNoted(service, fact.attempt, waiting))

    def _notified(self, state: PlanState[In] | None, fact: CaseNotified[P]) -> list[Decision[In]]:
        if state is not None:  # notified again: only what is new counts
            decided = _Decided(state)
            self._update(decided, fact.part, 1)
        else:
            opened = Opened(fact.case_id, self.planning.merged(None, fact.part))
            decided = _Decided(start(opened))
            decided.decisions.append(opened)
        self._advance(decided)
        return decided.decisions

    def _update(self, decided: _Decided[In], part: P, version: int) -> None:
        """New inputs from a fact newer than the inputs (an older one is delivered again)."""
        state = decided.state
        if version <= state.version:
            return
        inputs = self.planning.merged(state.inputs, part)
        if inputs != state.inputs:
            decided.take(InputsUpdated(inputs, version))

    def _corrected(self, decided: _Decided[In], fact: CaseCorrected[P]) -> None:
        """New inputs; the offices that decided asked to decide again, and the changed fields
        forwarded to those that hold the facts and have not decided yet (once per
        correction, even when none does). A completed case is corrected too."""
        self._update(decided, fact.part, fact.version)
        state = decided.state
        if state.voided or not fact.changed or fact.correction in state.corrections:
            return
        decided_services = tuple(s for s in state.dispatched if s in state.approved)
        if decided_services:
            decided.take(CorrectionsRequested(decided_services, fact.changed, fact.correction))
        services = tuple(s for s in state.dispatched if s not in state.approved)
        decided.take(CorrectionForwarded(services, fact.changed, fact.correction))

    def _reissued(self, decided: _Decided[In], fact: RequestReissued) -> None:
        """A re-issued result, carried forward once to the dispatched services taking it."""
        state = decided.state
        reissue = f"{fact.service}@{fact.version}"
        if state.voided or fact.service not in state.approved or reissue in state.corrections:
            return
        changed = {k for k, v in fact.result.items() if state.carried.get(k) != v}
        services = tuple(
            s
            for s in state.dispatched
            if s != fact.service and changed.intersection(self.inputs_of(s))
        )
        wanted = {k for s in services for k in self.inputs_of(s)}
        known = {**state.carried, **fact.result}
        carried = {k: v for k, v in known.items() if k in wanted}
        decided.take(ResultReissued(fact.service, fact.result, services, carried, reissue))

    @staticmethod
    def _routed(decided: _Decided[In], fact: RequestRouted) -> None:
        """The desk's route, taken once, while the service waits undispatched in the plan."""
        state = decided.state
        planned = state.plan.service(fact.service) if state.plan is not None else None
        if state.closed or planned is None or fact.service in state.dispatched:
            return
        if state.routed.get(fact.service) != fact.planned:
            decided.take(RouteTaken(fact.service, fact.planned))

    @staticmethod
    def _voided(decided: _Decided[In], reason: str) -> None:
        """Withdraw what is open (unless the case ended already); every office that issued a
        result is asked to revoke it (none may have: the order still marks the case voided)."""
        if decided.state.voided:
            return
        Saga._withdrawn(decided, reason)
        issued = tuple(s for s in decided.state.dispatched if s in decided.state.approved)
        decided.take(RevocationOrdered(reason, issued))

    @staticmethod
    def _withdrawn(decided: _Decided[In], reason: str) -> None:
        """What is open is withdrawn and the case closed (once)."""
        state = decided.state
        if not state.closed:
            open_services = tuple(
                s.service for s in state.services if s.service not in state.approved
            )
            decided.take(WithdrawalOrdered(reason, open_services))

    @staticmethod
    def _revoked(decided: _Decided[In], service: str) -> None:
        """A revocation answered; the last one voids the case."""
        state = decided.state
        if service not in state.revoking or service in state.revoked:
            return
        decided.take(RevocationNoted(service))
        state = decided.state
        if state.revoking <= state.revoked and not state.void_finished:
            decided.take(VoidFinishOrdered())

    def _advance(self, decided: _Decided[In]) -> None:
        """Draw or revise the plan, dispatch what is unblocked, complete when all is done."""
        if decided.state.closed:
            return
        routing = self.planning.routing(decided.state.inputs)
        if routing is not None:
            fresh = self.plan_for(routing)
            self._draw(decided, _with_routes(fresh, decided.state.routed) or fresh)
        for route in decided.state.services:
            if self._ready(decided.state, route):
                carried = self._carried(decided.state, route.service)
                decided.take(DispatchOrdered(route.service, carried))
        state = decided.state
        if state.services and all(s.service in state.approved for s in state.services):
            decided.take(CompletionOrdered())

    @staticmethod
    def _draw(decided: _Decided[In], plan: Plan) -> None:
        """Draw the plan, or revise it: what is already dispatched keeps its route, and so
        does a service the desk routed (see `_with_routes`)."""
        state = decided.state
        if state.plan is plan:
            return  # the very plan drawn from the same inputs: nothing to revise
        if state.plan is None:
            decided.take(PlanDrawn(plan))
            return
        old = {s.service: s for s in state.plan.services}
        new = tuple(
            old[s.service] if s.service in state.dispatched and s.service in old else s
            for s in plan.services
        )
        revised = tuple(s.service for s in new if old.get(s.service) != s)
        if revised:
            decided.take(PlanRevised(plan.with_services(new), revised))

    def _ready(self, state: PlanState[In], route: PlannedService) -> bool:
        if route.service in state.dispatched or route.manual_routing:
            return False
        if route.service in state.rejected:
            return False
        if not self.planning.may_dispatch(state.inputs, route.service):
            return False
        return all(d in state.approved for d in route.depends_on)

    def _carried(self, state: PlanState[In], service: str) -> dict[str, str]:
        wanted = self.inputs_of(service)
        return {k: v for k, v in state.carried.items() if k in wanted}


def _dependents(services: tuple[PlannedService, ...], service: str) -> tuple[str, ...]:
    """The services that wait on `service`, directly or through others, in plan order."""
    waiting = {service}
    for _ in services:  # a fixed point: at most one round per service
        more = {s.service for s in services if waiting.intersection(s.depends_on)}
        if more <= waiting:
            break
        waiting |= more
    return tuple(s.service for s in services if s.service in waiting and s.service != service)
