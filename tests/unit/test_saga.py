"""The saga's decider, one transition at a time: facts in, decisions out, state evolved."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from uuid import UUID

import pytest

from domain.births.planning import (
    BirthPart,
    BirthPlanInputs,
    FamilyChoices,
    NotifiedPlaces,
)
from domain.births.wing import BIRTHS
from domain.kernel.routing import Plan, PlannedService
from domain.kernel.saga import (
    CaseApplied,
    CaseCorrected,
    CaseNotified,
    CaseVoided,
    CompletionOrdered,
    CorrectionForwarded,
    Decision,
    DispatchOrdered,
    Fact,
    InputsUpdated,
    Opened,
    PlanDrawn,
    PlanRevised,
    PlanState,
    RequestApproved,
    RequestRouted,
    ResultNoted,
    RevocationOrdered,
    RouteTaken,
    WithdrawalOrdered,
    evolve,
    start,
)
from domain.orchestrator import saga_of
from domain.wings import list_in_force, load_national_list

SAGA = saga_of(BIRTHS)

CASE = UUID("00000000-0000-4000-8000-000000000015")
State = PlanState[BirthPlanInputs]
PLACES = NotifiedPlaces("430602", "mother", "420102", None, "430602", child_named=False)
UNCHOSEN = replace(PLACES, household=None)
NAMED = FamilyChoices("mother", "430602", None, child_named=True)
FATHER = FamilyChoices("father", "430602", None, child_named=True)
ALL = (
    "birth-certificate",
    "vaccination",
    "household-registration",
    "medical-insurance",
    "social-security-card",
)
RESULTS = {
    "birth-certificate": {"certificate_number": "Q430000001"},
    "vaccination": {"vaccination_record_number": "V-1"},
    "household-registration": {"citizen_id": "420102202611200011"},
    "medical-insurance": {"enrolment_number": "E-1"},
    "social-security-card": {"card_number": "C-1"},
}


def approved(service: str) -> RequestApproved:
    return RequestApproved(service, RESULTS[service])


def run(
    facts: Iterable[Fact[BirthPart]], state: State | None = None
) -> tuple[list[Decision[BirthPlanInputs]], State | None]:
    """Every decision for `facts` in turn, and the state they lead to."""
    decisions: list[Decision[BirthPlanInputs]] = []
    for fact in facts:
        new = SAGA.decide(state, fact)
        decisions += new
        state = fold(state, new)
    return decisions, state


def fold(state: State | None, decisions: Sequence[Decision[BirthPlanInputs]]) -> State | None:
    for decision in decisions:
        if isinstance(decision, Opened):
            state = start(decision)
        else:
            assert state is not None
            state = evolve(state, decision)
    return state


def settled(*facts: Fact[BirthPart]) -> State:
    state = run(facts)[1]
    assert state is not None
    return state


def kinds(decisions: Iterable[Decision[BirthPlanInputs]]) -> list[str]:
    return [type(d).__name__ for d in decisions]


def dispatched(decisions: Iterable[Decision[BirthPlanInputs]]) -> list[str]:
    return [d.service for d in decisions if isinstance(d, DispatchOrdered)]


# --- notified ---------------------------------------------------------------------------
def test_a_notified_case_is_opened_planned_and_what_may_go_is_dispatched() -> None:
    decisions = SAGA.decide(None, CaseNotified(CASE, PLACES))
    assert kinds(decisions) == ["Opened", "PlanDrawn", "DispatchOrdered"]
    assert decisions[0] == Opened(CASE, BirthPlanInputs(PLACES))
    drawn = decisions[1]
    assert isinstance(drawn, PlanDrawn)
    assert [s.service for s in drawn.plan.services] == list(ALL)
    assert dispatched(decisions) == ["vaccination"]  # the certificate waits for the name


def test_a_named_child_has_the_certificate_dispatched_at_once() -> None:
    decisions = SAGA.decide(None, CaseNotified(CASE, replace(PLACES, child_named=True)))
    assert dispatched(decisions) == ["birth-certificate", "vaccination"]


def test_without_a_household_choice_planning_waits() -> None:
    assert kinds(SAGA.decide(None, CaseNotified(CASE, UNCHOSEN))) == ["Opened"]


def test_a_case_notified_again_decides_nothing() -> None:
    state = settled(CaseNotified(CASE, PLACES))
    assert SAGA.decide(state, CaseNotified(CASE, PLACES)) == []


def test_a_fact_about_a_case_never_notified_decides_nothing() -> None:
    assert SAGA.decide(None, CaseApplied(NAMED, 2)) == []
    assert SAGA.decide(None, approved("vaccination")) == []


# --- the family applies -------------------------------------------------------------------
def test_the_family_s_choices_draw_the_plan_that_waited() -> None:
    state = settled(CaseNotified(CASE, UNCHOSEN))
    decisions = SAGA.decide(state, CaseApplied(NAMED, 2))
    assert kinds(decisions) == ["InputsUpdated", "PlanDrawn", "DispatchOrdered", "DispatchOrdered"]
    assert decisions[0] == InputsUpdated(BirthPlanInputs(UNCHOSEN, NAMED), 2)
    assert dispatched(decisions) == ["birth-certificate", "vaccination"]


def test_the_same_application_again_decides_nothing() -> None:
    state = settled(CaseNotified(CASE, UNCHOSEN), CaseApplied(NAMED, 2))
    assert SAGA.decide(state, CaseApplied(NAMED, 2)) == []
    assert SAGA.decide(state, CaseApplied(NAMED, 3)) == []  # a new version, the same choices


def test_a_changed_household_revises_what_is_not_dispatched() -> None:
    places = replace(PLACES, father_hukou="520102")
    state = settled(CaseNotified(CASE, places))
    decisions = SAGA.decide(state, CaseApplied(FATHER, 2))
    assert kinds(decisions)[:2] == ["InputsUpdated", "PlanRevised"]
    revision = decisions[1]
    assert isinstance(revision, PlanRevised)
    assert "household-registration" in revision.revised
    assert "vaccination" not in revision.revised  # dispatched: it keeps its route
    route = revision.plan.service("household-registration")
    assert route is not None
    assert route.handling_locality == "520102"
    assert dispatched(decisions) == ["birth-certificate"]  # the father's choice names the child


def test_an_older_application_delivered_again_undoes_no_later_one() -> None:
    places = replace(PLACES, father_hukou="520102")
    state = settled(CaseNotified(CASE, places), CaseApplied(NAMED, 2), CaseApplied(FATHER, 3))
    assert SAGA.decide(state, CaseApplied(NAMED, 2)) == []
    assert state.version == 3


# --- the hospital corrects ----------------------------------------------------------------
def test_a_correction_is_forwarded_to_offices_that_have_not_decided() -> None:
    state = settled(CaseNotified(CASE, PLACES))
    decisions = SAGA.decide(state, CaseCorrected(PLACES, ("birth_weight_g",), "m-2", 2))
    assert decisions == [CorrectionForwarded(("vaccination",), ("birth_weight_g",), "m-2")]


def test_a_correction_of_routing_facts_updates_the_inputs_first() -> None:
    state = settled(CaseNotified(CASE, UNCHOSEN))
    corrected = CaseCorrected(PLACES, ("household_choice",), "m-2", 2)
    decisions = SAGA.decide(state, corrected)
    assert kinds(decisions) == [
        "InputsUpdated",
        "CorrectionForwarded",
        "PlanDrawn",
        "DispatchOrdered",
    ]
    assert decisions[1] == CorrectionForwarded((), ("household_choice",), "m-2")


def test_a_correction_delivered_again_is_not_forwarded_again() -> None:
    correction = CaseCorrected(PLACES, ("birth_weight_g",), "m-2", 2)
    state = settled(CaseNotified(CASE, PLACES), correction, approved("vaccination"))
    assert SAGA.decide(state, correction) == []


def test_a_correction_is_not_forwarded_to_a_closed_case() -> None:
    state = settled(CaseNotified(CASE, PLACES), CaseVoided("voided"))
    correction = CaseCorrected(replace(PLACES, residence="420102"), ("mother.x",), "m-3", 3)
    assert kinds(SAGA.decide(state, correction)) == ["InputsUpdated"]


def test_a_correction_that_changed_nothing_is_not_forwarded() -> None:
    state = settled(CaseNotified(CASE, PLACES))
    assert SAGA.decide(state, CaseCorrected(PLACES, (), "m-2", 2)) == []


# --- offices approve ----------------------------------------------------------------------
def test_an_approval_is_noted_and_unblocks_the_next_with_its_result() -> None:
    state = settled(CaseNotified(CASE, replace(PLACES, child_named=True)))
    decisions = SAGA.decide(state, approved("birth-certificate"))
    assert decisions == [
        ResultNoted("birth-certificate", RESULTS["birth-certificate"]),
        DispatchOrdered("household-registration", {"certificate_number": "Q430000001"}),
    ]


def test_an_approval_delivered_again_decides_nothing() -> None:
    state = settled(CaseNotified(CASE, PLACES), approved("vaccination"))
    assert SAGA.decide(state, approved("vaccination")) == []


def test_the_last_approval_orders_completion() -> None:
    named = replace(PLACES, child_named=True)
    decisions, state = run([CaseNotified(CASE, named), *map(approved, ALL)])
    assert kinds(decisions)[-2:] == ["ResultNoted", "CompletionOrdered"]
    assert state is not None
    assert state.closed
    carried = [d.carried for d in decisions if isinstance(d, DispatchOrdered)]
    assert carried[-1] == {"citizen_id": "420102202611200011", "enrolment_number": "E-1"}


def test_an_approval_after_voiding_is_noted_and_its_revocation_ordered() -> None:
    state = settled(CaseNotified(CASE, PLACES), CaseVoided("voided"))
    assert kinds(SAGA.decide(state, approved("vaccination"))) == [
        "ResultNoted",
        "RevocationOrdered",
    ]


# Harbin and Urumqi: no agreement, and a list without newborn registration on it
UNROUTABLE = NotifiedPlaces("230102", "mother", "650102", None, "230102", child_named=True)
UNLISTED = replace(load_national_list(), version="test-unlisted", entries={})


@pytest.fixture
def unlisted() -> Iterator[None]:
    with list_in_force(UNLISTED):
        yield


def desk_route(state: State, service: str = "household-registration") -> PlannedService:
    """The route a coordinator gives the parked service (off-site, received at home)."""
    assert state.plan is not None
    parked = state.plan.service(service)
    assert parked is not None
    assert parked.manual_routing
    return replace(
        parked, mode="off-site", receiving_locality="230102", manual_routing=False,
        route_note="routed by the routing desk: test",
    )  # fmt: skip


@pytest.mark.usefixtures("unlisted")
def test_a_manually_routed_service_is_never_dispatched() -> None:
    decisions, _ = run([CaseNotified(CASE, UNROUTABLE), approved("birth-certificate")])
    assert "household-registration" not in dispatched(decisions)


@pytest.mark.usefixtures("unlisted")
def test_the_desk_route_is_taken_and_dispatched_once_its_dependencies_are_approved() -> None:
    state = settled(CaseNotified(CASE, UNROUTABLE))
    routed = desk_route(state)
    decisions = SAGA.decide(state, RequestRouted("household-registration", routed))
    assert decisions == [RouteTaken("household-registration", routed)]  # waits for the certificate
    taken = fold(state, decisions)
    assert taken is not None
    assert taken.plan is not None
    assert taken.plan.service("household-registration") == routed
    later = SAGA.decide(taken, approved("birth-certificate"))
    assert kinds(later) == ["ResultNoted", "DispatchOrdered"]
    assert dispatched(later) == ["household-registration"]


@pytest.mark.usefixtures("unlisted")
def test_a_route_for_a_service_whose_dependencies_are_done_is_dispatched_at_once() -> None:
    state = settled(CaseNotified(CASE, UNROUTABLE), approved("birth-certificate"))
    routed = desk_route(state)
    decisions = SAGA.decide(state, RequestRouted("household-registration", routed))
    assert kinds(decisions) == ["RouteTaken", "DispatchOrdered"]
    assert decisions[1] == DispatchOrdered(
        "household-registration", {"certificate_number": "Q430000001"}
    )


@pytest.mark.usefixtures("unlisted")
def test_the_same_route_twice_decides_nothing_and_later_facts_keep_it() -> None:
    state = settled(CaseNotified(CASE, UNROUTABLE))
    routed = desk_route(state)
    taken = fold(state, SAGA.decide(state, RequestRouted("household-registration", routed)))
    assert taken is not None
    assert SAGA.decide(taken, RequestRouted("household-registration", routed)) == []
    # the family applies with the same places: the plan drawn again keeps the desk's route
    same = FamilyChoices("mother", "230102", None, child_named=True)
    decisions = SAGA.decide(taken, CaseApplied(same, 2))
    assert "PlanRevised" not in kinds(decisions)


@pytest.mark.usefixtures("unlisted")
def test_a_route_after_dispatch_or_closing_or_for_an_unplanned_service_decides_nothing() -> None:
    state = settled(CaseNotified(CASE, UNROUTABLE))
    routed = desk_route(state)
    voided = settled(CaseNotified(CASE, UNROUTABLE), CaseVoided("voided"))
    assert SAGA.decide(voided, RequestRouted("household-registration", routed)) == []
    assert SAGA.decide(state, RequestRouted("maternity-benefits", routed)) == []
    vaccination = replace(routed, service="vaccination")
    assert SAGA.decide(state, RequestRouted("vaccination", vaccination)) == []  # dispatched


def test_a_route_the_list_gives_later_replaces_the_manual_one() -> None:
    with list_in_force(UNLISTED):
        state = settled(CaseNotified(CASE, UNROUTABLE))
    decisions = SAGA.decide(state, approved("birth-certificate"))  # with the shipped list
    revised = [d for d in decisions if isinstance(d, PlanRevised)]
    assert revised
    assert "household-registration" in revised[0].revised
    assert revised[0].plan.national_list_version == load_national_list().version
    assert "household-registration" in dispatched(decisions)


def test_evolving_a_route_taken_without_a_plan_remembers_it() -> None:
    state = start(Opened(CASE, BirthPlanInputs(UNROUTABLE)))
    planned = PlannedService("x", "cdc", "230102", "230102", "online", (), 1, False, "n")
    evolved = evolve(state, RouteTaken("x", planned))
    assert evolved.routed == {"x": planned}
    assert evolved.plan is None


# --- the hospital voids -------------------------------------------------------------------
def test_voiding_withdraws_every_service_not_approved_in_plan_order() -> None:
    state = settled(CaseNotified(CASE, PLACES), approved("vaccination"))
    decisions = SAGA.decide(state, CaseVoided("voided"))
    expected = tuple(s for s in ALL if s != "vaccination")
    assert decisions == [
        WithdrawalOrdered("voided", expected),
        RevocationOrdered("voided", ("vaccination",)),
    ]


def test_voiding_before_planning_withdraws_nothing_but_closes() -> None:
    state = settled(CaseNotified(CASE, UNCHOSEN))
    assert SAGA.decide(state, CaseVoided("voided")) == [
        WithdrawalOrdered("voided", ()),
        RevocationOrdered("voided", ()),  # no office issued a result: the case is voided
    ]
    closed = settled(CaseNotified(CASE, UNCHOSEN), CaseVoided("voided"))
    assert kinds(SAGA.decide(closed, CaseApplied(NAMED, 2))) == ["InputsUpdated"]  # no plan


def test_voiding_again_decides_nothing() -> None:
    state = settled(CaseNotified(CASE, PLACES), CaseVoided("voided"))
    assert SAGA.decide(state, CaseVoided("voided")) == []


# --- evolve -------------------------------------------------------------------------------
def test_each_decision_evolves_the_state() -> None:
    state = start(Opened(CASE, BirthPlanInputs(UNCHOSEN)))
    assert (state.case_id, state.plan, state.closed, state.version) == (CASE, None, False, 1)
    inputs = BirthPlanInputs(UNCHOSEN, NAMED)
    assert evolve(state, InputsUpdated(inputs, 4)).inputs == inputs
    assert evolve(state, InputsUpdated(inputs, 4)).version == 4
    assert evolve(state, InputsUpdated(inputs, None)).version == 1
    plan = Plan("c", "a", ())
    assert evolve(state, PlanDrawn(plan)).plan is plan
    assert evolve(state, PlanRevised(plan, ())).plan is plan
    assert evolve(state, DispatchOrdered("x", {})).dispatched == ("x",)
    noted = evolve(state, ResultNoted("x", {"k": "v"}))
    assert (noted.approved, dict(noted.carried)) == (frozenset({"x"}), {"k": "v"})
    assert evolve(state, CorrectionForwarded((), ("f",), "m-2")).corrections == {"m-2"}
    assert evolve(state, CorrectionForwarded((), ("f",), None)) == state
    assert evolve(state, CompletionOrdered()).closed
    assert evolve(state, WithdrawalOrdered("r", ())).closed


def test_evolving_never_changes_the_state_it_was_given() -> None:
    state = settled(CaseNotified(CASE, PLACES))
    before = (state.dispatched, dict(state.carried), state.approved)
    evolve(state, ResultNoted("vaccination", RESULTS["vaccination"]))
    with pytest.raises(AttributeError):
        state.closed = True  # type: ignore[misc]
    assert (state.dispatched, dict(state.carried), state.approved) == before
