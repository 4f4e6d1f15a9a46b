"""The saga's decider on rejections (issue 17): dependents blocked naming the rejection, a
resubmission dispatched again, completion after it, and closing after a rejection."""

from __future__ import annotations

from domain.births.planning import FamilyChoices
from domain.kernel.saga import (
    CaseApplied,
    CaseClosed,
    CaseNotified,
    CompletionOrdered,
    DispatchOrdered,
    RejectionNoted,
    RequestRejected,
    RequestResubmitted,
    ResubmissionNoted,
    WithdrawalOrdered,
    evolve,
)
from tests.unit.test_saga import (
    CASE,
    NAMED,
    PLACES,
    SAGA,
    approved,
    dispatched,
    kinds,
    run,
    settled,
)

DEPENDENTS = ("household-registration", "medical-insurance", "social-security-card")


def test_a_rejection_blocks_what_waits_on_it_directly_or_not() -> None:
    state = settled(CaseNotified(CASE, PLACES), CaseApplied(NAMED, 2))
    assert "birth-certificate" in state.dispatched
    decisions = SAGA.decide(state, RequestRejected("birth-certificate", 1))
    assert decisions == [RejectionNoted("birth-certificate", 1, DEPENDENTS)]


def test_a_blocked_service_is_not_dispatched_and_the_rest_goes_on() -> None:
    _, state = run([CaseNotified(CASE, PLACES), CaseApplied(NAMED, 2)])
    assert state is not None
    decisions, state = run(
        [RequestRejected("birth-certificate", 1), approved("vaccination")], state
    )
    assert state is not None
    assert kinds(decisions) == ["RejectionNoted", "ResultNoted"]  # nothing dispatched, no end
    assert dict(state.blocked) == dict.fromkeys(DEPENDENTS, "birth-certificate")
    assert state.rejected == {"birth-certificate"}
    assert not state.closed


def test_a_rejection_delivered_again_or_of_an_older_attempt_decides_nothing() -> None:
    _, state = run([CaseNotified(CASE, PLACES), CaseApplied(NAMED, 2)])
    decisions, state = run([RequestRejected("birth-certificate", 1)] * 2, state)
    assert kinds(decisions) == ["RejectionNoted"]
    decisions, state = run([RequestResubmitted("birth-certificate", 2)], state)
    assert kinds(decisions) == ["ResubmissionNoted", "DispatchOrdered"]
    assert run([RequestRejected("birth-certificate", 1)], state)[0] == []


def test_a_resubmission_is_dispatched_again_and_its_approval_unblocks_and_completes() -> None:
    _, state = run([CaseNotified(CASE, PLACES), CaseApplied(NAMED, 2)])
    decisions, state = run(
        [RequestRejected("birth-certificate", 1), RequestResubmitted("birth-certificate", 2)],
        state,
    )
    assert state is not None
    assert decisions[1:] == [
        ResubmissionNoted("birth-certificate", 2, DEPENDENTS),  # they wait on it now
        DispatchOrdered("birth-certificate", {}),
    ]
    assert state.attempt("birth-certificate") == 2
    assert state.rejected == frozenset()
    decisions, state = run([approved("birth-certificate")], state)
    assert state is not None
    assert dispatched(decisions) == ["household-registration"]
    assert "household-registration" not in state.blocked
    everything = [approved(s) for s in ("vaccination", *DEPENDENTS)]
    decisions, state = run(everything, state)
    assert state is not None
    assert isinstance(decisions[-1], CompletionOrdered)
    assert state.closed
    assert dict(state.blocked) == {}


def test_a_resubmission_of_nothing_rejected_or_out_of_turn_decides_nothing() -> None:
    state = settled(CaseNotified(CASE, PLACES), CaseApplied(NAMED, 2))
    assert SAGA.decide(state, RequestResubmitted("birth-certificate", 2)) == []
    state = settled(
        CaseNotified(CASE, PLACES), CaseApplied(NAMED, 2), RequestRejected("birth-certificate", 1)
    )
    assert SAGA.decide(state, RequestResubmitted("birth-certificate", 3)) == []


def test_a_rejected_service_is_never_dispatched_again_before_a_resubmission() -> None:
    state = settled(
        CaseNotified(CASE, PLACES), CaseApplied(NAMED, 2), RequestRejected("birth-certificate", 1)
    )
    moved = FamilyChoices("mother", "420102", None, child_named=True)
    decisions, _ = run([CaseApplied(moved, 3)], state)
    assert "birth-certificate" not in dispatched(decisions)


def test_closing_after_a_rejection_withdraws_what_is_open_once() -> None:
    state = settled(
        CaseNotified(CASE, PLACES),
        CaseApplied(NAMED, 2),
        RequestRejected("birth-certificate", 1),
        approved("vaccination"),
    )
    decisions, closed = run([CaseClosed("the family closed it")] * 2, state)
    assert decisions == [
        WithdrawalOrdered("the family closed it", ("birth-certificate", *DEPENDENTS))
    ]
    assert closed is not None
    assert closed.closed
    assert SAGA.decide(closed, RequestResubmitted("birth-certificate", 2)) == []
    assert SAGA.decide(closed, RequestRejected("household-registration", 1)) == []


def test_the_new_decisions_evolve_the_state() -> None:
    state = settled(CaseNotified(CASE, PLACES))
    noted = evolve(state, RejectionNoted("vaccination", 1, ()))
    assert noted.rejected == {"vaccination"}
    again = evolve(noted, ResubmissionNoted("vaccination", 2))
    assert (again.rejected, again.attempt("vaccination")) == (frozenset(), 2)
    assert "vaccination" not in again.dispatched
    assert state.rejected == frozenset()  # evolving never changes the state it was given
