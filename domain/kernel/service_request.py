"""ServiceRequest aggregate: one registration (service) of one case, routed to one office."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.kernel.disclosure import DispatchPayload
from domain.kernel.errors import InvalidTransitionError, NoticeLapsedError, OneTimeNoticeError
from domain.kernel.results import Result
from domain.kernel.routing import Route
from domain.kernel.topics import stored_as
from domain.kernel.transcodings import DISPATCH_PAYLOAD, RESULT, ROUTE

ID_CACHE_SIZE = 16384  # recent deterministic ids kept (~2 MB)
# The receiving window accepts or gives the one-time notice within 5 days of the materials'
# arrival (Administrative Licensing Law Art. 32), in working days (Art. 82; domain ref §4.2).
NOTICE_DAYS = 5
# who records what the law deems done when a time runs out (an application withdrawn when the
# family never answered its notice): the deadline job, not an office's decision
BY_DEADLINE = "deadline"


class RequestState(StrEnum):
    """A request's states: stored and compared as the very strings they were before."""

    PLANNED = "planned"
    DISPATCHED = "dispatched"
    RECEIVED = "received"
    SUPPLEMENT_REQUESTED = "supplement-requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    BLOCKED = "blocked"  # waits on a rejected request it depends on (which it names)
    CORRECTION_REQUESTED = "correction-requested"
    REVOCATION_REQUESTED = "revocation-requested"
    REVOKED = "revoked"


OPEN_STATES = (
    RequestState.PLANNED,
    RequestState.DISPATCHED,
    RequestState.RECEIVED,
    RequestState.SUPPLEMENT_REQUESTED,
    RequestState.BLOCKED,
)
FINAL_STATES = (
    RequestState.APPROVED,
    RequestState.REJECTED,
    RequestState.WITHDRAWN,
    RequestState.REVOKED,
)
# decided, and asked to decide again: a correction to approve or reject, a revocation to confirm
REOPENED_STATES = (RequestState.CORRECTION_REQUESTED, RequestState.REVOCATION_REQUESTED)


def _revive_route(state: dict[str, object]) -> None:
    """Version 1 stored the route as a dict (what the transcoding writes inside its mark)."""
    state["route"] = ROUTE.decode(state["route"])


def _first_attempt(state: dict[str, object]) -> None:
    """Before resubmissions every request was its service's first attempt."""
    state.update(attempt=1, resubmits=None)


def _no_family_window(state: dict[str, object]) -> None:
    """Rejections recorded before the family's window was: none is open, and every request
    was its service's first attempt."""
    state.update(attempt=1, family_due=None, provisional=False)


@stored_as("domain.service_request")
class ServiceRequest(Aggregate):
    """One office's part of a case, in its own stream so offices never conflict.

    State: planned → dispatched → received ⇄ supplement-requested → approved | rejected;
    any open request may be withdrawn when the case is voided. At the window a one-time
    notice may come before acceptance (dispatched → supplement-requested → dispatched), and a
    window that neither accepts nor notifies in time is passed by `DeemedAccepted`. After
    approval: approved ⇄ correction-requested (the office approves the corrected facts,
    re-issuing its result, or rejects the correction), and approved → revocation-requested →
    revoked on a void.
    """

    class_version = 2  # snapshots of version 1 hold the route, payload and result as dicts

    @staticmethod
    def upcast_v1_v2(state: dict[str, object]) -> None:
        _revive_route(state)
        state["payload"] = DISPATCH_PAYLOAD.decode(state["payload"])
        state["result"] = RESULT.decode(state["result"]) if state["result"] else None

    class Planned(Aggregate.Created):
        case_id: UUID
        service: str
        route: Route
        attempt: int  # 1, or the resubmission's number
        resubmits: UUID | None  # the rejected request this one resubmits

        class_version = 3
        upcast_v1_v2 = staticmethod(_revive_route)
        upcast_v2_v3 = staticmethod(_first_attempt)

    class Replanned(Aggregate.Event):
        route: Route

        class_version = 2
        upcast_v1_v2 = staticmethod(_revive_route)

    class Dispatched(Aggregate.Event):
        """The materials reach the receiving window on `since`: its own clock runs to `due`
        (it accepts, 受理, or gives the one-time notice by then: Art. 32). Versions before 3
        started no clock (None)."""

        payload: DispatchPayload
        since: str | None
        due: str | None
        provisional: bool

        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["payload"] = DISPATCH_PAYLOAD.decode(state["payload"])

        @staticmethod
        def upcast_v2_v3(state: dict[str, object]) -> None:
            state["since"], state["due"], state["provisional"] = None, None, False

    class CorrectionFlagged(Aggregate.Event):
        changed: list[str]

    class Received(Aggregate.Event):
        officer: str
        receipt_number: str
        due: str
        provisional: bool

    class SupplementRequested(Aggregate.Event):
        """The one-time notice (一次性告知): every missing item at once. A second notice in
        one reception names its reason and the facts corrected since the family's answer."""

        officer: str
        items: list[str]
        reason: str
        new_facts: list[str]
        family_due: str | None  # the family answers by then (None: before version 3)
        family_due_provisional: bool

        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["reason"], state["new_facts"] = "", []

        @staticmethod
        def upcast_v2_v3(state: dict[str, object]) -> None:
            state["family_due"], state["family_due_provisional"] = None, False

    class Supplemented(Aggregate.Event):
        """The family's answer on `since`, with references to evidence already stored (ids,
        hashes); the request `resumes` where the notice found it: received (the handling
        office's clock runs to `due`), or at the window (the window's clock does)."""

        items: list[str]
        due: str
        provisional: bool
        evidence: list[dict[str, str]]
        resumes: str
        since: str | None

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["evidence"], state["resumes"] = [], RequestState.RECEIVED.value
            state["since"] = None

    class Approved(Aggregate.Event):
        officer: str
        result: Result
        case_id: UUID
        service: str

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["result"] = RESULT.decode(state["result"])

    class Rejected(Aggregate.Event):
        officer: str
        reason: str
        basis: str
        case_id: UUID
        service: str
        attempt: int
        family_due: str | None  # the family resubmits or closes by then (None: before windows)
        provisional: bool

        class_version = 2
        upcast_v1_v2 = staticmethod(_no_family_window)

    class Withdrawn(Aggregate.Event):
        reason: str

    class DeadlineApproaching(Aggregate.Event):
        due: str

    class Overdue(Aggregate.Event):
        due: str

    class Delivered(Aggregate.Event):
        attempt: int

    class DeliveryFailed(Aggregate.Event):
        attempt: int
        error: str
        retry_at: str | None

    class DeemedAccepted(Aggregate.Event):
        """No acceptance and no notice by the window's due date: by law the application is
        accepted from the day its materials arrived (`since`); the handling office's clock
        runs from that day to `due`."""

        since: str
        due: str
        provisional: bool

    class Routed(Aggregate.Event):
        """A coordinator of the routing desk routed the request (who, and why)."""

        route: Route
        coordinator: str
        reason: str
        case_id: UUID
        service: str

    class RoutingOverdue(Aggregate.Event):
        """The routing desk's time ran out with the request still unrouted."""

        due: str

    # attributes later versions added: a snapshot taken before them reads these defaults
    due_provisional = False
    deemed_accepted = False
    arrived: str | None = None  # the day the materials reached the receiving window
    notices = 0  # one-time notices given in this reception (since the last dispatch)
    new_facts: Sequence[str] = ()  # fields corrected since the family's last answer
    family_due: str | None = None  # the family answers the one-time notice by then
    family_due_provisional = False
    attempt = 1  # resubmissions (below) came later: every earlier request was a first attempt
    resubmits: UUID | None = None
    rejected: dict[str, str | bool | None] | None = None
    blocked_by: UUID | None = None
    blocking_service: str | None = None
    resubmitted_as: UUID | None = None

    class Blocked(Aggregate.Event):
        blocked_by: UUID  # the rejected request this one waits on
        blocking_service: str

    class Resubmitted(Aggregate.Event):
        """The family (or an office for it) resubmits: a new request, linked both ways."""

        case_id: UUID
        service: str
        new_request_id: UUID
        attempt: int
        by: str

    class Redispatched(Aggregate.Event):
        """An undecided request told the corrected values (the whole payload, as dispatched)."""

        payload: DispatchPayload
        changed: list[str]
        evidence: str

    class CorrectionRequested(Aggregate.Event):
        """A decided request asked to decide on corrected facts: old and new values."""

        old: DispatchPayload
        new: DispatchPayload
        evidence: str
        due: str
        provisional: bool

    class CorrectionApproved(Aggregate.Event):
        officer: str
        result: Result
        case_id: UUID
        service: str

    class CorrectionRejected(Aggregate.Event):
        officer: str
        reason: str
        case_id: UUID
        service: str

    class RevocationRequested(Aggregate.Event):
        reason: str
        due: str
        provisional: bool

    class Revoked(Aggregate.Event):
        officer: str
        case_id: UUID
        service: str

    class CorrectionWithdrawn(Aggregate.Event):
        """A later correction took the pending one back: nothing is left to decide (the
        result decided on the values in force stands)."""

        evidence: str

    # what a request decided before corrections and revocations holds (snapshots lack them)
    correction_old: DispatchPayload | None = None
    correction_new: DispatchPayload | None = None
    evidence: tuple[str, ...] = ()
    # the uploaded documents the family's answers cite (their "doc:" evidence ids): the files
    # the request's offices may download; uploads came later, so no older snapshot lacks one
    documents: tuple[str, ...] = ()

    @staticmethod
    def create_id(case_id: UUID, service: str, attempt: int = 1) -> UUID:
        """The first attempt's id is uuid5(case, service), as it always was."""
        return _request_id(case_id, service if attempt == 1 else f"{service}#{attempt}")

    @event(Planned)
    def __init__(
        self,
        case_id: UUID,
        service: str,
        route: Route,
        attempt: int = 1,
        resubmits: UUID | None = None,
    ) -> None:
        self.case_id = case_id
        self.service = service
        self.route = route
        self.attempt = attempt
        self.resubmits = resubmits
        self.rejected: dict[str, str | bool | None] | None = None  # a Rejection's fields
        self.blocked_by: UUID | None = None
        self.blocking_service: str | None = None
        self.resubmitted_as: UUID | None = None
        self.state = RequestState.PLANNED
        self.payload = DispatchPayload()
        self.result: Result | None = None
        self.receipt_number: str | None = None
        self.due: str | None = None
        self.warned: list[str] = []
        self.awaiting: list[str] = []
        self.delivery_attempts = 0
        self.delivered = False

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def rejection(self) -> Rejection | None:
        """Why it was rejected (None unless it was)."""
        found = self.rejected
        if found is None:
            return None
        due = found["family_due"]
        return Rejection(
            str(found["reason"]),
            str(found["basis"]),
            due if isinstance(due, str) else None,
            bool(found["provisional"]),
        )

    @property
    def handling_locality(self) -> str:
        return self.route.handling_locality

    @property
    def receiving_locality(self) -> str:
        return self.route.receiving_locality

    @property
    def authority(self) -> str:
        return self.route.authority

    def replan(self, route: Route) -> None:
        """A revised plan's route, for a request not dispatched yet (planned, or blocked
        behind a rejection: it is dispatched on the route of the plan in force)."""
        self._require(RequestState.PLANNED, RequestState.BLOCKED)
        if route != self.route:
            self._replanned(route=route)

    @property
    def accepted(self) -> bool:
        """Accepted (受理): received under a receipt number, or deemed accepted by law."""
        return self.receipt_number is not None or self.deemed_accepted

    def dispatch(
        self,
        payload: DispatchPayload,
        since: str | None = None,
        due: str | None = None,
        provisional: bool = False,
    ) -> None:
        """The materials reach the receiving window on `since`; its clock runs to `due`. A
        blocked request is dispatched once what blocked it was approved after all."""
        if self.state == RequestState.DISPATCHED and payload == self.payload:
            return
        self._require(RequestState.PLANNED, RequestState.BLOCKED)
        self._dispatched(payload=payload, since=since, due=due, provisional=provisional)

    def deem_accepted(self, due: str, provisional: bool) -> None:
        """The window let its due date pass without acceptance or notice (Art. 32)."""
        if self.state != RequestState.DISPATCHED or self.arrived is None:
            return
        self._deemed_accepted(since=self.arrived, due=due, provisional=provisional)

    def block(self, blocked_by: UUID, blocking_service: str) -> None:
        """A request it depends on was rejected (or then resubmitted): it waits, naming that
        request."""
        if self.state == RequestState.PLANNED or (
            self.state == RequestState.BLOCKED and self.blocked_by != blocked_by
        ):
            self._blocked(blocked_by=blocked_by, blocking_service=blocking_service)

    def resubmit(self, new_request_id: UUID, by: str) -> None:
        """Record the resubmission `new_request_id` (attempt + 1) of this rejected request."""
        self._require(RequestState.REJECTED)
        if self.resubmitted_as is not None:
            raise InvalidTransitionError(
                "This rejection was already resubmitted",
                service_request_id=str(self.id),
                resubmitted_as=str(self.resubmitted_as),
            )
        self._resubmitted(
            case_id=self.case_id,
            service=self.service,
            new_request_id=new_request_id,
            attempt=self.attempt + 1,
            by=by,
        )

    def flag_correction(self, changed: list[str]) -> None:
        """Facts this office already holds were corrected by the hospital."""
        if self.state in HOLDING and changed:
            self._correction_flagged(changed=changed)

    def receive(self, officer: str, receipt_number: str, due: str, provisional: bool) -> None:
        if self.state == RequestState.RECEIVED and receipt_number == self.receipt_number:
            return
        self._require(RequestState.DISPATCHED)
        self._received(
            officer=officer, receipt_number=receipt_number, due=due, provisional=provisional
        )

    def request_supplement(
        self,
        officer: str,
        items: list[str],
        reason: str = "",
        family_due: str | None = None,
        family_due_provisional: bool = False,
    ) -> None:
        """The one-time notice (一次性告知, Art. 32): at the window before acceptance, or by
        an office after it; once per reception. A second one only for facts corrected since
        the family's answer, naming its reason; none once the request was deemed accepted.
        The family answers by `family_due`."""
        if self.deemed_accepted:
            raise NoticeLapsedError(
                "No notice was given within the window's time limit, so the application was "
                "deemed accepted (Administrative Licensing Law Art. 32): no notice now",
                service_request_id=str(self.id),
                accepted_since=self.arrived,
            )
        self._require(RequestState.DISPATCHED, RequestState.RECEIVED)
        if not items:
            raise InvalidTransitionError("Name every missing item in one request", items=items)
        reason = reason.strip()
        if self.notices:
            if not self.new_facts:
                raise OneTimeNoticeError(
                    "The one-time notice was given: a second one only for facts corrected "
                    "since the family's answer",
                    service_request_id=str(self.id),
                    notices=self.notices,
                )
            if not reason:
                raise OneTimeNoticeError(
                    "A second notice names its reason", field="reason", new_facts=self.new_facts
                )
        self._supplement_requested(
            officer=officer,
            items=items,
            reason=reason,
            new_facts=list(self.new_facts),
            family_due=family_due,
            family_due_provisional=family_due_provisional,
        )

    def supplement(
        self,
        items: list[str],
        due: str,
        provisional: bool,
        evidence: list[dict[str, str]] | None = None,
        since: str | None = None,
    ) -> None:
        """The family answered on `since`; the clock of whoever acts next starts again from
        then (domain ref §4.2): the handling office's once accepted, else the window's."""
        self._require(RequestState.SUPPLEMENT_REQUESTED)
        resumes = RequestState.RECEIVED if self.accepted else RequestState.DISPATCHED
        self._supplemented(
            items=items,
            due=due,
            provisional=provisional,
            evidence=list(evidence or []),
            resumes=resumes.value,
            since=since,
        )

    def approve(self, officer: str, result: Result) -> None:
        if self.state == RequestState.APPROVED and result == self.result:
            return
        self._require(RequestState.RECEIVED)
        self._approved(officer=officer, result=result, case_id=self.case_id, service=self.service)

    def reject(
        self,
        officer: str,
        reason: str,
        basis: str,
        family_due: str | None = None,
        provisional: bool = False,
    ) -> None:
        self._require(RequestState.RECEIVED, RequestState.SUPPLEMENT_REQUESTED)
        if not reason.strip():
            raise InvalidTransitionError("A rejection names its reason", field="reason")
        if not basis.strip():
            raise InvalidTransitionError("A rejection names its legal basis", field="basis")
        self._rejected(
            officer=officer,
            reason=reason,
            basis=basis,
            case_id=self.case_id,
            service=self.service,
            attempt=self.attempt,
            family_due=family_due,
            provisional=provisional,
        )

    def withdraw(self, reason: str) -> None:
        if self.is_open:
            self._withdrawn(reason=reason)

    def warn(self, kind: str, due: str) -> None:
        """Record DeadlineApproaching or Overdue once per request and due date."""
        if self.state in (*_RUNNING, *REOPENED_STATES) and f"{kind}:{due}" not in self.warned:
            if kind == "approaching":
                self._deadline_approaching(due=due)
            else:
                self._overdue(due=due)

    def record_delivery(self, attempt: int, error: str | None, retry_at: str | None) -> None:
        if self.delivered or attempt <= self.delivery_attempts:
            return  # a repeated outcome of an attempt already recorded
        if error is None:
            self._delivered(attempt=attempt)
        else:
            self._delivery_failed(attempt=attempt, error=error, retry_at=retry_at)

    @property
    def parked(self) -> bool:
        """Waiting at the routing desk: planned, and no agreement or list routes it."""
        return self.state == RequestState.PLANNED and self.route.manual_routing

    def route_by_desk(self, route: Route, coordinator: str, reason: str) -> None:
        """The routing desk's route, while the request is not dispatched yet (planned, or
        blocked behind a rejection: routed now, it is dispatched once unblocked)."""
        waiting = self.route.manual_routing or self.route.by_desk
        if self.state not in (RequestState.PLANNED, RequestState.BLOCKED) or not waiting:
            raise InvalidTransitionError(
                "Only a planned request waiting for manual routing is routed at the desk",
                service_request_id=str(self.id),
            )
        if not reason.strip():
            raise InvalidTransitionError("A route names its reason", field="reason")
        if route != self.route:
            self._routed(
                route=route,
                coordinator=coordinator,
                reason=reason,
                case_id=self.case_id,
                service=self.service,
            )

    def warn_routing(self, due: str) -> None:
        """Record RoutingOverdue once per due date, while the request is parked."""
        if self.parked and f"routing-overdue:{due}" not in self.warned:
            self._routing_overdue(due=due)

    # --- after a decision: corrections and revocations ----------------------------------
    def redispatch(self, payload: DispatchPayload, changed: list[str], evidence: str) -> None:
        """An undecided office is told the corrected values (its clock is not restarted)."""
        if self.state in HOLDING and payload != self.payload:
            self._redispatched(payload=payload, changed=changed, evidence=evidence)

    def request_correction(
        self,
        corrected: DispatchPayload,
        changed: Collection[str],
        evidence: str,
        due: str,
        provisional: bool,
    ) -> None:
        """Ask the deciding office to decide again on the corrected values of the fields this
        correction `changed` (those that differ from what it decided on). A correction
        already pending takes them in: a field corrected back to the value decided on leaves
        it, and a pending correction left with nothing to decide is withdrawn. Fields the
        office refused to correct are asked again only when a correction changes them."""
        if self.state not in (RequestState.APPROVED, RequestState.CORRECTION_REQUESTED):
            return
        pending = self.correction_new or DispatchPayload()
        merged = {**pending, **{k: corrected[k] for k in changed if k in corrected}}
        new = {k: v for k, v in merged.items() if self.payload.get(k) != v}
        if DispatchPayload(new) == pending:
            return
        if not new:
            self._correction_withdrawn(evidence=evidence)
            return
        old = {k: self.payload[k] for k in new if k in self.payload}
        self._correction_requested(
            old=DispatchPayload(old),
            new=DispatchPayload(new),
            evidence=evidence,
            due=due,
            provisional=provisional,
        )

    def approve_correction(self, officer: str, result: Result) -> None:
        """The office decided on the corrected values: its result re-issued (the same or new)."""
        self._require(RequestState.CORRECTION_REQUESTED)
        self._correction_approved(
            officer=officer, result=result, case_id=self.case_id, service=self.service
        )

    def reject_correction(self, officer: str, reason: str) -> None:
        """The office keeps its decision on the old values, naming its reason."""
        self._require(RequestState.CORRECTION_REQUESTED)
        if not reason.strip():
            raise InvalidTransitionError("A rejected correction names its reason", field="reason")
        self._correction_rejected(
            officer=officer, reason=reason, case_id=self.case_id, service=self.service
        )

    @property
    def corrected_payload(self) -> DispatchPayload:
        """What the office decides on: the payload with the pending correction's values."""
        return DispatchPayload({**self.payload, **(self.correction_new or {})})

    def request_revocation(self, reason: str, due: str, provisional: bool) -> None:
        """The case was voided after this office issued its result: it is to revoke it."""
        if self.state in (RequestState.APPROVED, RequestState.CORRECTION_REQUESTED):
            self._revocation_requested(reason=reason, due=due, provisional=provisional)

    def revoke(self, officer: str) -> None:
        if self.state == RequestState.REVOKED:
            return
        self._require(RequestState.REVOCATION_REQUESTED)
        self._revoked(officer=officer, case_id=self.case_id, service=self.service)

    def _require(self, *states: RequestState) -> None:
        if self.state not in states:
            raise InvalidTransitionError(
                f"The request is {self.state}; this step needs it {' or '.join(states)}",
                state=self.state,
                service_request_id=str(self.id),
            )

    @event(Replanned)
    def _replanned(self, route: Route) -> None:
        self.route = route

    @event(Dispatched)
    def _dispatched(
        self, payload: DispatchPayload, since: str | None, due: str | None, provisional: bool
    ) -> None:
        self.payload = payload
        self.state = RequestState.DISPATCHED
        self.arrived, self.due, self.due_provisional = since, due, provisional  # the window's
        self.notices, self.new_facts = 0, []  # a new reception

    @event(CorrectionFlagged)
    def _correction_flagged(self, changed: list[str]) -> None:
        self.new_facts = list(dict.fromkeys((*self.new_facts, *changed)))

    @event(Received)
    def _received(self, officer: str, receipt_number: str, due: str, provisional: bool) -> None:
        self.receipt_number, self.due, self.due_provisional = receipt_number, due, provisional
        self.state = RequestState.RECEIVED

    @event(SupplementRequested)
    def _supplement_requested(
        self,
        officer: str,
        items: list[str],
        reason: str,
        new_facts: list[str],
        family_due: str | None,
        family_due_provisional: bool,
    ) -> None:
        self.awaiting, self.family_due = items, family_due
        self.family_due_provisional = family_due_provisional
        if family_due is not None:  # the family holds the request: its window is the due date
            self.due, self.due_provisional = family_due, family_due_provisional
        self.state = RequestState.SUPPLEMENT_REQUESTED
        self.notices, self.new_facts = self.notices + 1, []

    @event(Supplemented)
    def _supplemented(
        self,
        items: list[str],
        due: str,
        provisional: bool,
        evidence: list[dict[str, str]],
        resumes: str,
        since: str | None,
    ) -> None:
        if resumes == RequestState.DISPATCHED and since is not None:
            self.arrived = since  # the completed materials arrived: the window's clock
        self.due, self.due_provisional = due, provisional
        self.awaiting = []
        self.new_facts = []  # what is corrected from now on is new since the answer
        cited = [str(ref["id"]) for ref in evidence if str(ref.get("id", "")).startswith("doc:")]
        self.documents = tuple(dict.fromkeys((*self.documents, *cited)))
        self.state = RequestState(resumes)

    @event(Approved)
    def _approved(self, officer: str, result: Result, case_id: UUID, service: str) -> None:
        self.result = result
        self.state = RequestState.APPROVED

    @event(Rejected)
    def _rejected(
        self,
        officer: str,
        reason: str,
        basis: str,
        case_id: UUID,
        service: str,
        attempt: int,
        family_due: str | None,
        provisional: bool,
    ) -> None:
        self.rejected = {
            "reason": reason,
            "basis": basis,
            "family_due": family_due,
            "provisional": provisional,
        }
        self.state = RequestState.REJECTED

    @event(Withdrawn)
    def _withdrawn(self, reason: str) -> None:
        self.state = RequestState.WITHDRAWN

    @event(Blocked)
    def _blocked(self, blocked_by: UUID, blocking_service: str) -> None:
        self.blocked_by, self.blocking_service = blocked_by, blocking_service
        self.state = RequestState.BLOCKED

    @event(Resubmitted)
    def _resubmitted(
        self, case_id: UUID, service: str, new_request_id: UUID, attempt: int, by: str
    ) -> None:
        self.resubmitted_as = new_request_id

    @event(DeadlineApproaching)
    def _deadline_approaching(self, due: str) -> None:
        self.warned.append(f"approaching:{due}")

    @event(Overdue)
    def _overdue(self, due: str) -> None:
        self.warned.append(f"overdue:{due}")

    @event(DeemedAccepted)
    def _deemed_accepted(self, since: str, due: str, provisional: bool) -> None:
        self.deemed_accepted = True
        self.due, self.due_provisional = due, provisional
        self.state = RequestState.RECEIVED

    @event(Delivered)
    def _delivered(self, attempt: int) -> None:
        self.delivery_attempts, self.delivered = attempt, True

    @event(DeliveryFailed)
    def _delivery_failed(self, attempt: int, error: str, retry_at: str | None) -> None:
        self.delivery_attempts = attempt

    @event(Routed)
    def _routed(
        self, route: Route, coordinator: str, reason: str, case_id: UUID, service: str
    ) -> None:
        self.route = route

    @event(RoutingOverdue)
    def _routing_overdue(self, due: str) -> None:
        self.warned.append(f"routing-overdue:{due}")

    @event(Redispatched)
    def _redispatched(self, payload: DispatchPayload, changed: list[str], evidence: str) -> None:
        self.payload = payload
        self.new_facts = list(dict.fromkeys((*self.new_facts, *changed)))  # as flagged ones

    @event(CorrectionRequested)
    def _correction_requested(
        self,
        old: DispatchPayload,
        new: DispatchPayload,
        evidence: str,
        due: str,
        provisional: bool,
    ) -> None:
        self.correction_old, self.correction_new, self.due = old, new, due
        if evidence not in self.evidence:
            self.evidence = (*self.evidence, evidence)
        self.state = RequestState.CORRECTION_REQUESTED

    @event(CorrectionApproved)
    def _correction_approved(
        self, officer: str, result: Result, case_id: UUID, service: str
    ) -> None:
        self.payload, self.result = self.corrected_payload, result
        self._settled()

    @event(CorrectionRejected)
    def _correction_rejected(self, officer: str, reason: str, case_id: UUID, service: str) -> None:
        self._settled()

    @event(CorrectionWithdrawn)
    def _correction_withdrawn(self, evidence: str) -> None:
        self._settled()

    def _settled(self) -> None:
        self.correction_old = self.correction_new = None
        self.evidence = ()
        self.state = RequestState.APPROVED

    @event(RevocationRequested)
    def _revocation_requested(self, reason: str, due: str, provisional: bool) -> None:
        self.correction_old = self.correction_new = None
        self.evidence = ()
        self.due = due
        self.state = RequestState.REVOCATION_REQUESTED

    @event(Revoked)
    def _revoked(self, officer: str, case_id: UUID, service: str) -> None:
        self.state = RequestState.REVOKED


@dataclass(frozen=True)
class Rejection:
    """Why a request was rejected, and by when the family resubmits or closes the case."""

    reason: str
    basis: str
    family_due: str | None
    provisional: bool


HOLDING = (RequestState.DISPATCHED, RequestState.RECEIVED, RequestState.SUPPLEMENT_REQUESTED)
_RUNNING = HOLDING  # a clock runs while an office or the family holds the request
# a request in one of these can still go ahead: a case holding one is not closed after a
# rejection (blocked ones cannot)
CAN_PROCEED = (RequestState.PLANNED, *HOLDING)


@lru_cache(maxsize=ID_CACHE_SIZE)
def _request_id(case_id: UUID, service: str) -> UUID:
    """uuid5 is ~5 µs (SHA-1 and a UUID): the worker and the projections ask for the same
    few ids of a case many times, so recent ones are kept."""
    return uuid5(case_id, service)
