"""CasePlan: the saga's decisions recorded as typed events; version-1 dict payloads upcast."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from eventsourcing.persistence import StoredEvent

from adapters.bootstrap import Container
from domain.births.planning import BirthPart, BirthPlanInputs, FamilyChoices
from domain.kernel.case_plan import CasePlan
from domain.kernel.routing import Plan
from domain.kernel.saga import (
    CaseNotified,
    CaseVoided,
    CompletionOrdered,
    CorrectionForwarded,
    DispatchOrdered,
    Fact,
    InputsUpdated,
    Opened,
    PlanState,
    ResultNoted,
    WithdrawalOrdered,
    start,
)
from tests.unit.test_saga import CASE, PLACES, approved, run

NOW = datetime(2026, 12, 7, 8, tzinfo=UTC)
NAMED = FamilyChoices("mother", "430602", None, child_named=True)
NOTIFIED = CaseNotified(CASE, PLACES)
VOIDED = CaseVoided("voided")


def recorded(facts: list[Fact[BirthPart]]) -> tuple[CasePlan, PlanState[BirthPlanInputs]]:
    """The facts' decisions recorded on a CasePlan, and the decider's own final state."""
    decisions, state = run(facts)
    first = decisions[0]
    assert isinstance(first, Opened)
    plan = CasePlan.open(first)
    for decision in decisions[1:]:
        plan.record(decision)
    assert state is not None
    return plan, state


def test_each_decision_is_recorded_as_its_event_and_evolves_the_same_state() -> None:
    plan, state = recorded([NOTIFIED, approved("vaccination"), VOIDED])
    assert plan.state == state
    names = [type(e).__name__ for e in plan.collect_events()]
    assert names == [
        "Opened",
        "PlanDrawn",
        "DispatchOrdered",
        "ResultNoted",
        "WithdrawalOrdered",
        "RevocationOrdered",  # the vaccination office issued its result
    ]


def test_events_carry_typed_values_and_the_case_id() -> None:
    plan, _ = recorded([NOTIFIED])
    plan.record(InputsUpdated(BirthPlanInputs(PLACES, NAMED), 2))
    plan.record(CorrectionForwarded(("vaccination",), ("birth_weight_g",), "m-2"))
    plan.record(ResultNoted("vaccination", {"vaccination_record_number": "V-1"}))
    plan.record(CompletionOrdered())
    opened, drawn, ordered, updated, forwarded, noted, completed = plan.collect_events()
    assert isinstance(opened, CasePlan.Opened)
    assert opened.inputs == BirthPlanInputs(PLACES)
    assert isinstance(drawn, CasePlan.PlanDrawn)
    assert isinstance(drawn.plan, Plan)
    assert isinstance(ordered, CasePlan.DispatchOrdered)
    assert (ordered.case_id, ordered.service, ordered.carried) == (CASE, "vaccination", {})
    assert isinstance(updated, CasePlan.InputsUpdated)
    assert updated.version == 2
    assert isinstance(forwarded, CasePlan.CorrectionForwarded)
    assert (forwarded.services, forwarded.correction) == (["vaccination"], "m-2")
    assert isinstance(noted, CasePlan.ResultNoted)
    assert isinstance(completed, CasePlan.CompletionOrdered)
    assert plan.closed


def test_an_opened_decision_is_not_recorded_twice() -> None:
    plan, _ = recorded([NOTIFIED])
    with pytest.raises(ValueError, match="opened once"):
        plan.record(Opened(CASE, BirthPlanInputs(PLACES)))


def test_the_typed_events_round_trip_through_the_store(memory_container: Container) -> None:
    plan, _ = recorded([NOTIFIED, approved("vaccination"), VOIDED])
    plan.record(CorrectionForwarded((), ("x",), "m-9"))
    app = memory_container.orchestrator
    app.save(plan)
    loaded: object = app.repository.get(plan.id)
    assert isinstance(loaded, CasePlan)
    assert loaded.state == plan.state
    assert loaded.state.corrections == {"m-9"}


def stored_v1(container: Container, topic: str, version: int, state: dict[str, object]) -> object:
    """An event as version 1 stored it (plain dicts), decoded by today's mapper."""
    mapper = container.orchestrator.mapper
    raw = mapper.transcoder.encode({"timestamp": NOW, **state})
    if mapper.compressor is not None:
        raw = mapper.compressor.compress(raw)
    return mapper.to_domain_event(
        StoredEvent(CasePlan.create_id(CASE), version, f"domain.case_plan:CasePlan.{topic}", raw)
    )


def test_version_1_dict_payloads_are_upcast(memory_container: Container) -> None:
    plan, _ = recorded([NOTIFIED])
    inputs = {"facts": vars(PLACES).copy()}
    opened = stored_v1(
        memory_container,
        "Opened",
        1,
        {"case_id": CASE, "inputs": inputs, "originator_topic": "domain.case_plan:CasePlan"},
    )
    assert isinstance(opened, CasePlan.Opened)
    assert opened.inputs == BirthPlanInputs(PLACES)
    application = {"household": "mother", "residence": None, "insured": None, "child_named": True}
    updated = stored_v1(
        memory_container, "InputsUpdated", 2, {"inputs": {**inputs, "application": application}}
    )
    assert isinstance(updated, CasePlan.InputsUpdated)
    assert updated.inputs == BirthPlanInputs(PLACES, FamilyChoices("mother", None, None, True))
    assert updated.version is None
    plan_dict = plan.state.plan.to_dict() if plan.state.plan else {}
    revised = stored_v1(
        memory_container,
        "PlanRevised",
        3,
        {"case_id": CASE, "plan": plan_dict, "revised": ["vaccination"]},
    )
    assert isinstance(revised, CasePlan.PlanRevised)
    assert revised.plan == plan.state.plan
    forwarded = stored_v1(
        memory_container,
        "CorrectionForwarded",
        4,
        {"case_id": CASE, "services": ["vaccination"], "changed": ["x"]},
    )
    assert isinstance(forwarded, CasePlan.CorrectionForwarded)
    assert forwarded.correction is None


def test_a_plan_replayed_from_version_1_events_evolves_the_decider_s_state() -> None:
    state = start(Opened(CASE, BirthPlanInputs(PLACES)))
    plan = CasePlan.open(Opened(CASE, BirthPlanInputs(PLACES)))
    assert plan.state == state
    plan.record(DispatchOrdered("vaccination", {}))
    plan.record(WithdrawalOrdered("voided", ()))
    assert (plan.dispatched, plan.closed) == (("vaccination",), True)
