"""Orchestrator: the process manager (saga) that plans, unblocks and closes every case."""

from __future__ import annotations

from functools import lru_cache, singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.system import ProcessApplication
from eventsourcing.utils import get_topic

from domain.births.birth_case import BirthCase
from domain.births.catalog import load_catalog
from domain.births.routing_inputs import routing_application, routing_facts
from domain.kernel.case_plan import CasePlan
from domain.kernel.routing import RoutingInputs, plan_services
from domain.kernel.service_request import ServiceRequest
from domain.kernel.transcodings import RegistersTranscodings
from domain.ledger import CORE_TRANSCODINGS, ExplicitEnvMixin
from domain.section import read_through
from domain.wings import load_alliance

# The child's name is printed on the birth certificate and cannot change afterwards, so that
# request waits for the family's choice of name (architecture: "What planning needs").
NEEDS_CHILD_NAME = frozenset({"birth-certificate"})


def routing_inputs(inputs: dict[str, Any]) -> RoutingInputs | None:
    """RoutingInputs once household, hukou and residence are known; else None (wait)."""
    facts, application = inputs["facts"], inputs.get("application") or {}
    household = application.get("household") or facts["household"]
    residence = application.get("residence") or facts["residence"]
    hukou = facts.get(f"{household}_hukou") if household else None
    if not (household and residence and hukou and facts["birth_division"]):
        return None
    return RoutingInputs(
        birth_division=facts["birth_division"],
        residence_division=residence,
        household=household,
        hukou_division=hukou,
        insured_division=application.get("insured"),
    )


def planned(inputs: RoutingInputs) -> dict[str, Any]:
    """The plan for `inputs` as the events carry it: a fresh copy each time (events must not
    share one dict), of a plan computed once per inputs and reference data versions (routing
    is deterministic: same inputs and versions, identical plan)."""
    plan = _planned(inputs, load_catalog().version, load_alliance().version)
    services = [{**s, "depends_on": list(s["depends_on"])} for s in plan["services"]]
    return {**plan, "services": services}


@lru_cache(maxsize=4096)
def _planned(inputs: RoutingInputs, catalog_version: str, alliance_version: str) -> dict[str, Any]:
    catalog, alliance = load_catalog(), load_alliance()
    assert (catalog.version, alliance.version) == (catalog_version, alliance_version)
    return plan_services(inputs, catalog, alliance).to_dict()


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
        plan = CasePlan(event.originator_id, {"facts": routing_facts(event.facts)})
        self._advance(plan)
        processing_event.collect_events(plan)

    @policy.register
    def _(
        self, event: BirthCase.NotificationCorrected, processing_event: ProcessingEvent[UUID]
    ) -> None:
        plan = self._plan(processing_event, event.originator_id)
        plan.update_inputs({**plan.inputs, "facts": routing_facts(event.facts)})
        plan.forward_correction(
            [s for s in plan.dispatched if s not in plan.approved], event.changed
        )
        self._advance(plan)
        processing_event.collect_events(plan)

    @policy.register
    def _(self, event: BirthCase.FamilyApplied, processing_event: ProcessingEvent[UUID]) -> None:
        plan = self._plan(processing_event, event.originator_id)
        plan.update_inputs({**plan.inputs, "application": routing_application(event.application)})
        self._advance(plan)
        processing_event.collect_events(plan)

    @policy.register
    def _(self, event: BirthCase.Voided, processing_event: ProcessingEvent[UUID]) -> None:
        plan = self._plan(processing_event, event.originator_id)
        plan.order_withdrawal("the hospital voided the birth notification")
        processing_event.collect_events(plan)

    @policy.register
    def _(self, event: ServiceRequest.Approved, processing_event: ProcessingEvent[UUID]) -> None:
        plan = self._plan(processing_event, event.case_id)
        plan.note_result(event.service, event.result.to_dict())
        self._advance(plan)
        processing_event.collect_events(plan)

    @staticmethod
    def reads_for(event: Any) -> list[UUID]:
        """The aggregates the policy for `event` reads: the case's plan (loaded ahead)."""
        return [CasePlan.create_id(getattr(event, "case_id", event.originator_id))]

    def _plan(self, unit: ProcessingEvent[UUID], case_id: UUID) -> CasePlan:
        """The case's plan as this processing unit sees it (see domain/section.py)."""
        return read_through(unit, CasePlan.create_id(case_id), self._load_plan)

    def _load_plan(self, plan_id: UUID) -> CasePlan:
        plan: Aggregate = self.repository.get(plan_id)
        if not isinstance(plan, CasePlan):
            raise AggregateNotFoundError(plan_id)
        return plan

    def _advance(self, plan: CasePlan) -> None:
        """Draw or revise the plan, dispatch what is unblocked, complete when all is done."""
        if plan.closed:
            return
        inputs = routing_inputs(plan.inputs)
        if inputs is not None:
            plan.draw(planned(inputs))
        for route in plan.services():
            if self._ready(plan, route):
                plan.order_dispatch(route["service"], self._carried(plan, route["service"]))
        required = [s["service"] for s in plan.services()]
        if required and all(s in plan.approved for s in required):
            plan.order_completion()

    def _ready(self, plan: CasePlan, route: dict[str, Any]) -> bool:
        service = route["service"]
        if service in plan.dispatched or route["manual_routing"]:
            return False
        if service in NEEDS_CHILD_NAME and not self._named(plan):
            return False
        return all(d in plan.approved for d in route["depends_on"])

    @staticmethod
    def _named(plan: CasePlan) -> bool:
        application = plan.inputs.get("application") or {}
        return bool(plan.inputs["facts"]["child_named"] or application.get("child_named"))

    @staticmethod
    def _carried(plan: CasePlan, service: str) -> dict[str, Any]:
        wanted = load_catalog()[service].inputs
        return {k: v for k, v in plan.carried.items() if k in wanted}
