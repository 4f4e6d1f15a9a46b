"""Orchestrator: the process manager (saga) that plans, unblocks and closes every case.

A thin shell around the saga's decider (domain/kernel/saga.py): each policy turns the
upstream event into the decider's fact (a wing's case event by the wing's own reading, an
approval by the kernel's), loads the case's CasePlan, records the decisions as its events
and collects them. Each wing's planning rules are the decider's for that wing's cases.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.system import ProcessApplication
from eventsourcing.utils import EnvType, get_topic

from domain.kernel.applications import ExplicitEnvMixin
from domain.kernel.case_plan import CasePlan
from domain.kernel.national_list import NationalList
from domain.kernel.reads import aggregate_of
from domain.kernel.routing import Places, Plan, plan_services
from domain.kernel.saga import (
    CaseNotified,
    Fact,
    Opened,
    PlanState,
    RequestApproved,
    RequestReissued,
    RequestRejected,
    RequestResubmitted,
    RequestRevoked,
    RequestRouted,
    Saga,
)
from domain.kernel.service_request import ServiceRequest
from domain.wings import (
    AnyWing,
    RegistersWingValues,
    followed,
    load_alliance,
    national_list,
    wing_of_event,
)
from domain.wings import wing_of_inputs as wing_of_plan_inputs


def planned(places: Places, wing: AnyWing) -> Plan:
    """The plan for `places` in `wing`, computed once per places and reference data versions
    (routing is deterministic: same places and versions, identical plan). A frozen value: the
    events that carry it may share it."""
    national = national_list()
    return _planned(places, wing, wing.catalog().version, load_alliance().version, national)


@lru_cache(maxsize=4096)
def _planned(
    places: Places,
    wing: AnyWing,
    catalog_version: str,
    alliance_version: str,
    national: NationalList,
) -> Plan:
    catalog, alliance = wing.catalog(), load_alliance()
    assert (catalog.version, alliance.version) == (catalog_version, alliance_version)
    return plan_services(places, catalog, alliance, national)


@lru_cache(maxsize=64)
def saga_of(wing: AnyWing) -> Saga[Any, Any]:
    """The decider with `wing`'s planning rules, routing with its catalog."""

    def plan_for(places: Places) -> Plan:
        return planned(places, wing)

    def inputs_of(service: str) -> tuple[str, ...]:
        return wing.catalog()[service].inputs

    return Saga(wing.planning, plan_for, inputs_of)


class Orchestrator(ExplicitEnvMixin, RegistersWingValues, ProcessApplication[UUID]):
    """Follows the CaseLedger and records decisions; the CaseLedger carries them out.

    Deterministic and side-effect free: each policy only collects CasePlan events, committed
    with the tracking position, so replaying an upstream event decides nothing twice.
    """

    name = "Orchestrator"

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)
        # every wing's case events its saga follows, and the kernel's decisions (approvals,
        # rejections, resubmissions, re-issues, revocations) and routes
        kernel = (
            ServiceRequest.Approved,
            ServiceRequest.Rejected,
            ServiceRequest.Resubmitted,
            ServiceRequest.Routed,
            ServiceRequest.CorrectionApproved,  # a re-issued result
            ServiceRequest.Revoked,
        )
        self.topics = [get_topic(c) for c in (*followed(), *kernel)]

    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """A wing's case event, an office's decision or a desk's route, as the saga's fact;
        other events: nothing."""
        decided = _request_fact(domain_event)
        if decided is not None:
            plan = self._plan(domain_event.case_id)
            wing = wing_of_plan_inputs(plan.state.inputs)
            self._decide(processing_event, plan, wing, decided)
            return
        found = wing_of_event(domain_event)
        fact = found.fact_of(domain_event) if found is not None else None
        if found is not None and fact is not None:
            notified = isinstance(fact, CaseNotified)
            opened = None if notified else self._plan(domain_event.originator_id)
            self._decide(processing_event, opened, found, fact)

    @staticmethod
    def reads_for(event: Any) -> list[UUID]:
        """The aggregates the policy for `event` reads: the case's plan (loaded ahead)."""
        return [CasePlan.create_id(getattr(event, "case_id", event.originator_id))]

    @staticmethod
    def _decide(
        unit: ProcessingEvent[UUID], plan: CasePlan | None, wing: AnyWing, fact: Fact[Any]
    ) -> None:
        """The decider's decisions on `fact`, recorded on the plan and collected."""
        state: PlanState[Any] | None = plan.state if plan is not None else None
        decisions = saga_of(wing).decide(state, fact)
        for decision in decisions:
            if isinstance(decision, Opened):
                plan = CasePlan.open(decision)
            elif plan is not None:
                plan.record(decision)
        if plan is not None:
            unit.collect_events(plan)

    def _plan(self, case_id: UUID) -> CasePlan:
        return aggregate_of(self.repository, CasePlan, CasePlan.create_id(case_id))


def _request_fact(event: Any) -> Fact[Any] | None:
    """A service request's approval, rejection, resubmission, desk route, re-issued result
    (a correction approved) or revocation, as the saga's fact."""
    if isinstance(event, ServiceRequest.Approved):
        return RequestApproved(event.service, event.result.to_dict())
    if isinstance(event, ServiceRequest.Rejected):
        return RequestRejected(event.service, event.attempt)
    if isinstance(event, ServiceRequest.Resubmitted):
        return RequestResubmitted(event.service, event.attempt)
    if isinstance(event, ServiceRequest.Routed):
        return RequestRouted(event.service, event.route.planned)
    if isinstance(event, ServiceRequest.CorrectionApproved):
        return RequestReissued(event.service, event.result.to_dict(), event.originator_version)
    if isinstance(event, ServiceRequest.Revoked):
        return RequestRevoked(event.service)
    return None
