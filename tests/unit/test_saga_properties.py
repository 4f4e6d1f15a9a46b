"""Properties of the saga's decider over generated stories of one case (hypothesis).

A story is what the Orchestrator may be given for one case: the notification, then
corrections, the family's application, approvals, rejections, resubmissions, re-issued
results, a voiding, revocations and a closing, in any mix. Whatever the
story, a fact delivered again (at once, or later, after other facts such as approvals)
decides nothing more and leaves the same final state.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.births.planning import BirthPart, FamilyChoices, NotifiedPlaces
from domain.kernel.saga import (
    CaseApplied,
    CaseClosed,
    CaseCorrected,
    CaseNotified,
    CaseVoided,
    CompletionOrdered,
    CorrectionForwarded,
    CorrectionsRequested,
    DispatchOrdered,
    Fact,
    RejectionNoted,
    RequestReissued,
    RequestRejected,
    RequestResubmitted,
    RequestRevoked,
    ResubmissionNoted,
    ResultNoted,
    ResultReissued,
    RevocationOrdered,
    VoidFinishOrdered,
    WithdrawalOrdered,
)
from tests.unit.test_saga import ALL, CASE, RESULTS, SAGA, approved, fold, run

# Bounded and deterministic: the same examples on every run, no time limit on a busy machine,
# nothing written next to the tests.
PROPERTY = settings(max_examples=100, deadline=None, derandomize=True, database=None)

Story = list[Fact[BirthPart]]
Later = Callable[[int], Fact[BirthPart]]

places = st.builds(
    NotifiedPlaces,
    birth_division=st.just("430602"),
    household=st.sampled_from([None, "mother", "father"]),
    mother_hukou=st.just("420102"),
    father_hukou=st.sampled_from([None, "520102"]),
    residence=st.sampled_from([None, "430602"]),
    child_named=st.booleans(),
)
choices = st.builds(
    FamilyChoices,
    household=st.sampled_from(["mother", "father"]),
    residence=st.sampled_from(["430602", "420102"]),
    insured=st.sampled_from([None, "420103"]),
    child_named=st.just(True),
)
changed = st.lists(st.sampled_from(["birth_weight_g", "mother.name", "child_name"]), max_size=2)


def corrected(part: NotifiedPlaces, fields: list[str]) -> Later:
    return lambda version: CaseCorrected(part, tuple(fields), f"m-{version}", version)


def applied(part: FamilyChoices) -> Later:
    return lambda version: CaseApplied(part, version)


def approval(service: str) -> Later:
    return lambda _: approved(service)


def reissue(service: str, value: str) -> Later:
    field = next(iter(RESULTS[service]))
    return lambda version: RequestReissued(service, {field: value}, version)


def revocation(service: str) -> Later:
    return lambda _: RequestRevoked(service)


def voided(_: None) -> Later:
    return lambda _: CaseVoided("the hospital voided the birth notification")


def rejection(service: str, attempt: int) -> Later:
    return lambda _: RequestRejected(service, attempt)


def resubmission(service: str, attempt: int) -> Later:
    return lambda _: RequestResubmitted(service, attempt)


def closed(_: None) -> Later:
    return lambda _: CaseClosed("the family closed the case")


# A later fact, given the next version of the case (approvals come from other streams).
later: st.SearchStrategy[Later] = st.one_of(
    st.builds(corrected, places, changed),
    st.builds(applied, choices),
    st.builds(approval, st.sampled_from(ALL)),
    st.builds(voided, st.none()),
    st.builds(rejection, st.sampled_from(ALL), st.integers(1, 2)),
    st.builds(resubmission, st.sampled_from(ALL), st.integers(2, 3)),
    st.builds(closed, st.none()),
    st.builds(reissue, st.sampled_from(ALL), st.sampled_from(["R-1", "R-2"])),
    st.builds(revocation, st.sampled_from(ALL)),
)


@st.composite
def stories(draw: st.DrawFn) -> Story:
    """A notification, then up to 10 later facts, the case's own in its version order."""
    following = draw(st.lists(later, max_size=10))
    first: Fact[BirthPart] = CaseNotified(CASE, draw(places))
    return [first, *(fact(version) for version, fact in enumerate(following, start=2))]


@PROPERTY
@given(stories())
def test_every_fact_delivered_twice_decides_nothing_more(story: Story) -> None:
    twice = [fact for fact in story for _ in range(2)]
    assert run(twice) == run(story)


@PROPERTY
@given(stories(), st.data())
def test_a_fact_delivered_again_later_decides_nothing_more(
    story: Story, data: st.DataObject
) -> None:
    """Each fact is delivered again at a drawn later point: after approvals, corrections, or
    other redeliveries."""
    delivered = list(story)
    for fact in story:
        first = delivered.index(fact)
        again = data.draw(st.integers(first + 1, len(delivered)), label="again at")
        delivered.insert(again, fact)
    assert run(delivered) == run(story)


@PROPERTY
@given(stories())
def test_no_story_dispatches_notes_forwards_or_closes_twice(story: Story) -> None:
    """Once per service, or once more per resubmission of it (a new request)."""
    decisions, state = run([fact for fact in story for _ in range(2)])
    dispatches = Counter(d.service for d in decisions if isinstance(d, DispatchOrdered))
    attempts = Counter(d.service for d in decisions if isinstance(d, ResubmissionNoted))
    rejections = Counter((d.service, d.attempt) for d in decisions if isinstance(d, RejectionNoted))
    notes = Counter(d.service for d in decisions if isinstance(d, ResultNoted))
    forwards = Counter(d.correction for d in decisions if isinstance(d, CorrectionForwarded))
    closings = [d for d in decisions if isinstance(d, CompletionOrdered | WithdrawalOrdered)]
    assert all(n <= 1 + attempts[service] for service, n in dispatches.items())
    assert max([*attempts.values(), 0]) <= len(rejections)
    asked = Counter(d.correction for d in decisions if isinstance(d, CorrectionsRequested))
    reissues = Counter(d.reissue for d in decisions if isinstance(d, ResultReissued))
    revocations = Counter(
        s for d in decisions if isinstance(d, RevocationOrdered) for s in d.services
    )
    finished = [d for d in decisions if isinstance(d, VoidFinishOrdered)]
    once: list[Counter[object]] = [
        Counter(notes),
        Counter(forwards),
        Counter(rejections),
        Counter(asked),
        Counter(reissues),
        Counter(revocations),
    ]
    assert max([*(n for counts in once for n in counts.values()), 1]) == 1
    assert len(closings) <= 1
    assert len(finished) <= 1
    assert state is not None
    assert state.closed == bool(closings)
    assert state.revoking <= state.approved  # only results issued are revoked
    assert bool(finished) == (state.void_finished and state.revoking <= state.revoked)


@PROPERTY
@given(stories())
def test_nothing_blocked_or_rejected_is_dispatched_before_its_way_is_clear(story: Story) -> None:
    """At every step: a service blocked is not dispatched, and a rejected one is dispatched
    again only after a resubmission of it."""
    state = None
    for fact in story:
        decisions = SAGA.decide(state, fact)
        resubmitted: set[str] = set()
        for decision in decisions:
            if isinstance(decision, ResubmissionNoted):
                resubmitted.add(decision.service)
            if isinstance(decision, DispatchOrdered) and state is not None:
                assert decision.service not in state.rejected or decision.service in resubmitted
        state = fold(state, decisions)
        assert state is not None
        assert not set(state.blocked) & set(state.dispatched)
