"""Orchestrator: the process manager (saga) that plans, unblocks and closes every case.

A thin shell around the saga's decider (domain/kernel/saga.py): each policy turns the
upstream event into the decider's fact, loads the case's CasePlan, records the decisions
as its events and collects them. The births wing's planning rules are the decider's.
"""

from __future__ import annotations

from functools import lru_cache, singledispatchmethod
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.system import ProcessApplication
from eventsourcing.utils import get_topic

from domain.births.birth_case import BirthCase
from domain.births.catalog import load_catalog
from domain.births.planning import (
    BirthPart,
    BirthPlanInputs,
    BirthPlanning,
    family_choices,
    notified_places,
)
from domain.kernel.case_plan import CasePlan
from domain.kernel.routing import Places, Plan, plan_services
from domain.kernel.saga import (
    CaseApplied,
    CaseCorrected,
    CaseNotified,
    CaseVoided,
    Fact,
    Opened,
    PlanState,
    RequestApproved,
    Saga,
)
from domain.kernel.service_request import ServiceRequest
from domain.kernel.transcodings import RegistersTranscodings
from domain.ledger import CORE_TRANSCODINGS, ExplicitEnvMixin
from domain.wings import load_alliance

VOIDED = "the hospital voided the birth notification"


def planned(places: Places) -> Plan:
    """The plan for `places`, computed once per places and reference data versions (routing
    is deterministic: same places and versions, identical plan). A frozen value: the events
    that carry it may share it."""
    return _planned(places, load_catalog().version, load_alliance().version)


@lru_cache(maxsize=4096)
def _planned(places: Places, catalog_version: str, alliance_version: str) -> Plan:
    catalog, alliance = load_catalog(), load_alliance()
    assert (catalog.version, alliance.version) == (catalog_version, alliance_version)
    return plan_services(places, catalog, alliance)


def service_inputs(service: str) -> tuple[str, ...]:
    """The earlier results `service` takes as its inputs (the catalog's)."""
    return load_catalog()[service].inputs


SAGA: Saga[BirthPlanInputs, BirthPart] = Saga(BirthPlanning(), planned, service_inputs)


class Orchestrator(ExplicitEnvMixin, RegistersTranscodings, ProcessApplication[UUID]):
    """Follows the CaseLedger and records decisions; the CaseLedger carries them out.

    Deterministic and side-effect free: each policy only collects CasePlan events, committed
    with the tracking position, so replaying an upstream event decides nothing twice.
    """

    name = "Orchestrator"
    transcodings = CORE_TRANSCODINGS  # it decodes the CaseLedger's events with its own mapper
    topics = tuple(
        get_topic(c)
        for c in (
            BirthCase.Notified,
            BirthCase.NotificationCorrected,
            BirthCase.FamilyApplied,
            BirthCase.Voided,
            ServiceRequest.Approved,
        )
    )

    @singledispatchmethod
    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Other events need no decision."""

    @policy.register
    def _(self, event: BirthCase.Notified, processing_event: ProcessingEvent[UUID]) -> None:
        fact = CaseNotified(event.originator_id, notified_places(event.facts))
        self._decide(processing_event, None, fact)

    @policy.register
    def _(
        self, event: BirthCase.NotificationCorrected, processing_event: ProcessingEvent[UUID]
    ) -> None:
        part = notified_places(event.facts)
        changed = tuple(event.changed)
        fact = CaseCorrected(part, changed, event.message_id, event.originator_version)
        self._decide(processing_event, self._plan(event.originator_id), fact)

    @policy.register
    def _(self, event: BirthCase.FamilyApplied, processing_event: ProcessingEvent[UUID]) -> None:
        fact = CaseApplied(family_choices(event.application), event.originator_version)
        self._decide(processing_event, self._plan(event.originator_id), fact)

    @policy.register
    def _(self, event: BirthCase.Voided, processing_event: ProcessingEvent[UUID]) -> None:
        plan = self._plan(event.originator_id)
        self._decide(processing_event, plan, CaseVoided(VOIDED))

    @policy.register
    def _(self, event: ServiceRequest.Approved, processing_event: ProcessingEvent[UUID]) -> None:
        plan = self._plan(event.case_id)
        result = event.result.to_dict()
        self._decide(processing_event, plan, RequestApproved(event.service, result))

    @staticmethod
    def reads_for(event: Any) -> list[UUID]:
        """The aggregates the policy for `event` reads: the case's plan (loaded ahead)."""
        return [CasePlan.create_id(getattr(event, "case_id", event.originator_id))]

    @staticmethod
    def _decide(unit: ProcessingEvent[UUID], plan: CasePlan | None, fact: Fact[BirthPart]) -> None:
        """The decider's decisions on `fact`, recorded on the plan and collected."""
        decisions = SAGA.decide(_state(plan), fact)
        for decision in decisions:
            if isinstance(decision, Opened):
                plan = CasePlan.open(decision)
            elif plan is not None:
                plan.record(decision)
        if plan is not None:
            unit.collect_events(plan)

    def _plan(self, case_id: UUID) -> CasePlan:
        plan: Aggregate = self.repository.get(CasePlan.create_id(case_id))
        if not isinstance(plan, CasePlan):
            raise AggregateNotFoundError(plan.id)
        return plan


def _state(plan: CasePlan | None) -> PlanState[BirthPlanInputs] | None:
    """The plan's state, with the births wing's inputs (the only wing that plans)."""
    return cast("PlanState[BirthPlanInputs]", plan.state) if plan is not None else None
