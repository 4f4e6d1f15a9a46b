"""No case ever waits on nobody: random interleavings of every party's steps over many cases.

Hypothesis draws stories: hospitals notify, correct and void; families apply, answer
notices, resubmit and close; coordinators route parked requests; offices receive, give the
one-time notice, approve, reject, decide corrections and revocations; working days pass and
the deadline job runs. A step the rules refuse is part of the story (it must be refused
cleanly, as a DomainError). After every story, each case's family view is either over (a
final state, nobody owes anything) or names, for every open request, the party that acts next
and its due date; no request is left without an owner.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import nullcontext, suppress
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from domain.births.commands import (
    ApplyAsFamily,
    CloseCase,
    CorrectNotification,
    NotifyBirth,
    VoidNotification,
)
from domain.births.facts import Parent
from domain.kernel.commands import (
    Approve,
    ApproveCorrection,
    Receive,
    Reject,
    RejectCorrection,
    RequestSupplement,
    Resubmit,
    Revoke,
    RouteRequest,
    Supplement,
)
from domain.kernel.errors import DomainError
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.service_request import RequestState, ServiceRequest
from domain.wings import list_in_force, load_national_list, service
from tests.conftest import HOSPITAL, make_facts

STORIES = settings(max_examples=200, deadline=None, derandomize=True, database=None)
UNLISTED = replace(load_national_list(), version="test-unlisted", entries={})
PARTIES = ("office", "routing-desk", "family")
FINAL = ("completed", "voided", "closed")
# (birth county, mother's hukou county, where the family lives): the alliance, the national
# list (or the desk without it), one province, and a place far from every agreement.
PLACES = [
    ("430602", "420102", "430602"),
    ("430602", "420102", "440304"),
    ("230102", "650102", "230102"),
    ("430102", "430602", "430102"),
]


class Story:
    """One drawn story over a fresh in-memory ledger: each step a party's action."""

    def __init__(self, container: Container, rng: random.Random) -> None:
        self.container, self.ledger, self.rng = container, container.ledger, rng
        self.today = datetime.fromisoformat("2026-12-07T10:00:00+08:00")
        self.ledger.clock = lambda: self.today
        self.cases: list[tuple[UUID, Any]] = []
        self.sequence = 0

    def run(self, steps: int) -> None:
        for _ in range(steps):
            step = self.rng.choice(self.STEPS)
            with suppress(DomainError):  # refused by the rules: part of the story
                step(self)
            self.container.after_command()

    # --- hospitals ----------------------------------------------------------------------
    def notify(self) -> None:
        if len(self.cases) >= 4:
            return
        birth, hukou, home = self.rng.choice(PLACES)
        number = len(self.cases)
        mother = Parent(
            make_citizen_id(hukou, date(1994, 3, 8), 120 + 2 * number),
            "王芳",
            "13800000000",
            hukou,
            home,
        )
        facts = make_facts(
            f"MR-{number}",
            birth_division=birth,
            mother=mother,
            child_name=self.rng.choice([None, "王小明"]),
            household_choice=self.rng.choice([None, "mother"]),
            born_at=self.today - timedelta(days=1),
        )
        outcome = self.ledger.notify_birth(NotifyBirth(f"n-{number}", facts, b"{}"))
        self.cases.append((outcome.case_id, facts))

    def correct(self) -> None:
        index, (case_id, facts) = self._case()
        self.sequence += 1
        new = replace(
            facts,
            born_at=facts.born_at - timedelta(days=self.rng.choice([0, 1])),
            birth_weight_g=facts.birth_weight_g + self.sequence,
        )
        self.ledger.correct_notification(CorrectNotification(f"c-{self.sequence}", new, b"{}"))
        self.cases[index] = (case_id, new)

    def void(self) -> None:
        if self.rng.random() < 0.85:  # voids are rarer than the rest
            return
        _, (_, facts) = self._case()
        self.sequence += 1
        self.ledger.void_notification(
            VoidNotification(f"v-{self.sequence}", HOSPITAL, facts.record_ref)
        )

    # --- families -----------------------------------------------------------------------
    def apply(self) -> None:
        _, (case_id, facts) = self._case()
        home = facts.mother.residence_division
        self.ledger.apply_as_family(
            ApplyAsFamily(case_id, "王小明", "mother", home, None, consent=True)
        )

    def close(self) -> None:
        _, (case_id, _) = self._case()
        self.ledger.close_as_family(CloseCase(case_id, "family", "we stop here"))

    # --- offices, coordinators and the family on one request ----------------------------
    def act(self) -> None:
        request = self._request()
        if request is None:
            return
        moves = self.MOVES.get(request.state, ())
        if request.state == RequestState.PLANNED and request.route.manual_routing:
            moves = (Story.route,)
        if moves:
            self.rng.choice(moves)(self, request)

    def receive(self, request: ServiceRequest) -> None:
        self.sequence += 1
        self.ledger.receive(Receive(request.id, "office", f"R-{self.sequence}"))

    def notice(self, request: ServiceRequest) -> None:
        self.ledger.request_supplement(
            RequestSupplement(request.id, "office", ("户口簿",), reason="更正后复核")
        )

    def supplement(self, request: ServiceRequest) -> None:
        self.ledger.supplement(Supplement(request.id, "family", ("户口簿",)))

    def approve(self, request: ServiceRequest) -> None:
        self.sequence += 1
        field = service(request.service).result_field
        result = {field: self._result(request, request.payload)}
        self.ledger.approve(Approve(request.id, "office", result))

    def reject(self, request: ServiceRequest) -> None:
        self.ledger.reject(Reject(request.id, "office", "材料不符", "Art. 38"))

    def approve_correction(self, request: ServiceRequest) -> None:
        self.sequence += 1
        field = service(request.service).result_field
        result = {field: self._result(request, request.corrected_payload)}
        self.ledger.approve_correction(ApproveCorrection(request.id, "office", result))

    def reject_correction(self, request: ServiceRequest) -> None:
        self.ledger.reject_correction(RejectCorrection(request.id, "office", "证据不足"))

    def revoke(self, request: ServiceRequest) -> None:
        self.ledger.revoke(Revoke(request.id, "office"))

    def resubmit(self, request: ServiceRequest) -> None:
        self.ledger.resubmit(Resubmit(request.id, "family"))

    def route(self, request: ServiceRequest) -> None:
        home = request.payload.get("residence_division")
        handling = request.handling_locality
        family = home if isinstance(home, str) else handling
        mode = "off-site" if family != handling else "online"
        self.ledger.route(
            RouteRequest(request.id, "coordinator:1", handling, family, mode, "MPS platform")
        )

    def _result(self, request: ServiceRequest, payload: Any) -> str:
        if request.service == "birth-certificate":
            return f"Y{self.sequence:09d}"
        if request.service == "household-registration":
            born = payload.get("born_at")
            day = datetime.fromisoformat(str(born)).date() if born else date(2026, 12, 6)
            return make_citizen_id(request.handling_locality, day, self.sequence % 1000)
        return f"N-{self.sequence}"

    # --- time -----------------------------------------------------------------------------
    def days_pass(self) -> None:
        self.today += timedelta(days=self.rng.choice([1, 3, 8, 30]))
        self.container.projections.catch_up()
        self.container.watch_deadlines()

    # --- drawing ----------------------------------------------------------------------------
    def _case(self) -> tuple[int, tuple[UUID, Any]]:
        if not self.cases:
            self.notify()
        index = self.rng.randrange(len(self.cases))
        return index, self.cases[index]

    def _request(self) -> ServiceRequest | None:
        _, (case_id, _) = self._case()
        case = self.ledger.get_case(case_id)
        requests = self.ledger.latest_requests(case_id, case.planned_services)
        return self.rng.choice(requests) if requests else None

    STEPS: ClassVar[tuple[Callable[[Story], None], ...]] = (
        notify, notify, correct, void, apply, apply, close, act, act, act, act, act, act,
        act, act, act, act, act, act, days_pass, days_pass,
    )  # fmt: skip
    MOVES: ClassVar[dict[str, tuple[Callable[[Story, ServiceRequest], None], ...]]] = {
        RequestState.DISPATCHED: (receive, receive, notice),
        RequestState.RECEIVED: (
            approve,
            approve,
            approve,
            approve,
            approve,
            approve,
            reject,
            notice,
        ),
        RequestState.SUPPLEMENT_REQUESTED: (supplement, supplement, reject),
        RequestState.REJECTED: (resubmit,),
        RequestState.CORRECTION_REQUESTED: (
            approve_correction,
            approve_correction,
            reject_correction,
        ),
        RequestState.REVOCATION_REQUESTED: (revoke,),
    }


def family_view(container: Container, case_id: UUID) -> dict[str, Any]:
    document = container.projections.case_status_view.document(case_id)
    assert document is not None, case_id
    view: dict[str, Any] = orjson.loads(document)
    return view


def assert_every_case_names_who_acts(container: Container, cases: list[UUID]) -> None:
    for case_id in cases:
        view = family_view(container, case_id)
        waiting, seen = view["waiting_on"], _seen(view)
        if not waiting:
            assert view["state"] in FINAL, seen
        for entry in waiting:
            assert entry["party"] in PARTIES, (entry, seen)
            assert entry["due"], (entry, seen)
        held = {e["service"] for e in waiting} | {s for e in waiting for s in e["behind"]}
        for shown in view["services"]:
            if _owes(shown, view):
                assert shown["service"] in held, (shown["service"], waiting, seen)


def _seen(view: dict[str, Any]) -> tuple[Any, ...]:
    """What a failure shows of a case: its state and each request's, with what links them."""
    links = ("blocked_by", "resubmitted_as", "attempt")
    return (
        view["state"],
        [
            (s["service"], s["state"], {k: s[k] for k in links if s.get(k)})
            for s in view["services"]
        ],
        [e.get("event") for e in view.get("timeline", [])],
    )


def _owes(shown: dict[str, Any], view: dict[str, Any]) -> bool:
    """A request someone must still act on."""
    if shown["state"] in ("approved", "withdrawn", "revoked"):
        return False
    ending = (*FINAL, "voiding")  # a voiding case owes only the offices' revocations
    if view["state"] in ending and shown["state"] in ("planned", "blocked", "rejected"):
        return False
    return not (shown["state"] == "rejected" and shown.get("resubmitted_as"))


@STORIES
@given(seed=st.integers(0, 2**32), steps=st.integers(10, 90), desk=st.booleans())
def test_every_case_ends_or_names_who_acts_next_and_by_when(
    seed: int, steps: int, desk: bool
) -> None:
    container = build(Settings(persistence="memory"))
    try:
        with list_in_force(UNLISTED) if desk else nullcontext():
            story = Story(container, random.Random(seed))
            story.run(steps)
            container.processing.settle()
            container.projections.catch_up()
            assert not any(container.parked_counts().values()), container.parked()
            assert_every_case_names_who_acts(container, [c for c, _ in story.cases])
    finally:
        container.close()


def test_a_void_before_the_plan_is_carried_out_parks_nothing() -> None:
    """The hospital voids its record before the worker carried out the case's plan: the
    plan's dispatches and withdrawals find no requests, and that is no error (it parked
    them, found by the stories above)."""
    container = build(Settings(persistence="memory", embedded_worker=False))
    try:
        outcome = container.ledger.notify_birth(NotifyBirth("n-v", make_facts("MR-V0"), b"{}"))
        container.ledger.void_notification(VoidNotification("v-v", HOSPITAL, "MR-V0"))
        container.processing.settle()
        container.projections.catch_up()
        assert not any(container.parked_counts().values()), container.parked()
        view = family_view(container, outcome.case_id)
        assert (view["state"], view["waiting_on"]) == ("voided", [])
    finally:
        container.close()
