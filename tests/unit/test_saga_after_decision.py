"""The saga's decider after offices decided: corrections, re-issued results, revocations."""

from __future__ import annotations

from dataclasses import replace

from domain.births.planning import BirthPart
from domain.kernel.saga import (
    CaseCorrected,
    CaseNotified,
    CaseVoided,
    CorrectionForwarded,
    CorrectionsRequested,
    RequestReissued,
    RequestRevoked,
    ResultReissued,
    RevocationNoted,
    RevocationOrdered,
    VoidFinishOrdered,
    WithdrawalOrdered,
    evolve,
)
from tests.unit.test_saga import ALL, CASE, PLACES, RESULTS, SAGA, approved, kinds, settled

NAMED = replace(PLACES, child_named=True)
NEW_NUMBER = {"certificate_number": "Q430000002"}
NEW_ID = {"citizen_id": "420102202611190015"}


def born_earlier(version: int = 2) -> CaseCorrected[BirthPart]:
    return CaseCorrected(NAMED, ("born_at",), f"m-{version}", version)


def test_a_correction_after_approvals_asks_the_deciding_offices_and_tells_the_others() -> None:
    state = settled(CaseNotified(CASE, NAMED), approved("birth-certificate"))
    decisions = SAGA.decide(state, born_earlier())
    assert decisions == [
        CorrectionsRequested(("birth-certificate",), ("born_at",), "m-2"),
        CorrectionForwarded(("vaccination", "household-registration"), ("born_at",), "m-2"),
    ]


def test_a_completed_case_is_corrected_too() -> None:
    state = settled(CaseNotified(CASE, NAMED), *map(approved, ALL))
    assert state.closed
    decisions = SAGA.decide(state, born_earlier())
    assert decisions == [
        CorrectionsRequested(ALL[:1] + ALL[1:], ("born_at",), "m-2"),
        CorrectionForwarded((), ("born_at",), "m-2"),
    ]
    again = settled(CaseNotified(CASE, NAMED), *map(approved, ALL), born_earlier())
    assert SAGA.decide(again, born_earlier()) == []  # once per correction


def test_a_reissued_result_is_carried_to_the_dispatched_services_taking_it() -> None:
    state = settled(
        CaseNotified(CASE, NAMED),
        approved("birth-certificate"),
        approved("household-registration"),
    )
    decisions = SAGA.decide(state, RequestReissued("household-registration", NEW_ID, 5))
    assert decisions == [
        ResultReissued(
            "household-registration",
            NEW_ID,
            ("medical-insurance",),
            NEW_ID,
            "household-registration@5",
        )
    ]
    reissued = settled(
        CaseNotified(CASE, NAMED),
        approved("birth-certificate"),
        approved("household-registration"),
        RequestReissued("household-registration", NEW_ID, 5),
    )
    assert reissued.carried["citizen_id"] == NEW_ID["citizen_id"]
    assert SAGA.decide(reissued, RequestReissued("household-registration", NEW_ID, 5)) == []


def test_a_result_confirmed_unchanged_tells_no_one() -> None:
    state = settled(CaseNotified(CASE, NAMED), approved("birth-certificate"))
    same = RESULTS["birth-certificate"]
    decisions = SAGA.decide(state, RequestReissued("birth-certificate", same, 4))
    assert decisions == [ResultReissued("birth-certificate", same, (), {}, "birth-certificate@4")]


def test_the_reissued_result_is_the_one_carried_forward_from_then_on() -> None:
    state = settled(
        CaseNotified(CASE, NAMED),
        approved("birth-certificate"),
        RequestReissued("birth-certificate", NEW_NUMBER, 4),
    )
    assert state.carried["certificate_number"] == NEW_NUMBER["certificate_number"]
    assert kinds(SAGA.decide(state, approved("vaccination"))) == ["ResultNoted"]


def test_a_reissue_of_a_service_never_approved_decides_nothing() -> None:
    state = settled(CaseNotified(CASE, NAMED))
    assert SAGA.decide(state, RequestReissued("birth-certificate", NEW_NUMBER, 4)) == []


def test_a_void_after_approvals_withdraws_the_open_and_revokes_the_issued() -> None:
    state = settled(
        CaseNotified(CASE, NAMED), approved("birth-certificate"), approved("vaccination")
    )
    decisions = SAGA.decide(state, CaseVoided("voided"))
    assert decisions == [
        WithdrawalOrdered("voided", ALL[2:]),
        RevocationOrdered("voided", ("birth-certificate", "vaccination")),
    ]


def test_a_completed_case_voided_revokes_every_result_without_closing_twice() -> None:
    state = settled(CaseNotified(CASE, NAMED), *map(approved, ALL))
    assert SAGA.decide(state, CaseVoided("voided")) == [RevocationOrdered("voided", ALL)]
    voided = settled(CaseNotified(CASE, NAMED), *map(approved, ALL), CaseVoided("voided"))
    assert SAGA.decide(voided, CaseVoided("voided")) == []
    assert SAGA.decide(voided, born_earlier(9)) == []


def test_the_last_revocation_finishes_the_void_once() -> None:
    state = settled(
        CaseNotified(CASE, NAMED),
        approved("birth-certificate"),
        approved("vaccination"),
        CaseVoided("voided"),
    )
    first = SAGA.decide(state, RequestRevoked("vaccination"))
    assert first == [RevocationNoted("vaccination")]
    state = settled(
        CaseNotified(CASE, NAMED),
        approved("birth-certificate"),
        approved("vaccination"),
        CaseVoided("voided"),
        RequestRevoked("vaccination"),
    )
    assert SAGA.decide(state, RequestRevoked("vaccination")) == []
    last = SAGA.decide(state, RequestRevoked("birth-certificate"))
    assert last == [RevocationNoted("birth-certificate"), VoidFinishOrdered()]


def test_a_revocation_never_asked_for_decides_nothing() -> None:
    state = settled(CaseNotified(CASE, NAMED), approved("birth-certificate"))
    assert SAGA.decide(state, RequestRevoked("birth-certificate")) == []


def test_each_new_decision_evolves_the_state() -> None:
    state = settled(CaseNotified(CASE, NAMED))
    requested = evolve(state, CorrectionsRequested(("x",), ("f",), "m-2"))
    assert requested == state  # remembered by the CorrectionForwarded that follows it
    reissued = evolve(state, ResultReissued("x", {"k": "v"}, (), {}, "x@3"))
    assert (dict(reissued.carried), "x@3" in reissued.corrections) == ({"k": "v"}, True)
    revoking = evolve(state, RevocationOrdered("r", ("x", "y")))
    assert (revoking.voided, revoking.revoking) == (True, frozenset({"x", "y"}))
    assert evolve(revoking, RevocationNoted("x")).revoked == {"x"}
    assert evolve(revoking, VoidFinishOrdered()).void_finished
    assert (state.voided, state.revoking, state.void_finished) == (False, frozenset(), False)
