"""CaseLedger: the write side. Hospital, family and office commands land here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from functools import singledispatchmethod
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.system import ProcessApplication
from eventsourcing.utils import EnvType

from domain.births.commands import CloseCase
from domain.births.family import FamilyCommands
from domain.births.hospital_intake import HospitalIntake, Revocations
from domain.kernel.after_decision import correction_limit, revocation_limit
from domain.kernel.answers import AnswerKey, answer_for, first_answer
from domain.kernel.applicants import new_tracking_code
from domain.kernel.applications import ExplicitEnvMixin
from domain.kernel.calendar import DueDate, WorkingCalendar, deadline_kind
from domain.kernel.case_plan import CasePlan, carried_out_reads
from domain.kernel.catalog import ServiceDefinition
from domain.kernel.commands import (
    SESSION_ACTIONS,
    Approve,
    ApproveCorrection,
    BookSession,
    Receive,
    Reject,
    RejectCorrection,
    RequestSupplement,
    Resubmit,
    Revoke,
    RouteRequest,
    SessionStep,
    Supplement,
)
from domain.kernel.disclosure import DispatchPayload, disclose
from domain.kernel.errors import (
    CaseClosedError,
    CaseNotFoundError,
    InvalidTransitionError,
    RequestNotOpenError,
    ServiceRequestNotFoundError,
    SessionNotFoundError,
    SessionStateError,
)
from domain.kernel.rating import RatingCommands
from domain.kernel.reads import aggregate_of
from domain.kernel.remedies import load_remedies
from domain.kernel.remote_window import (
    REQUEST_GONE,
    SLOT_PASSED,
    RemoteWindowSession,
    session_id,
)
from domain.kernel.results import Result, validate_result
from domain.kernel.routing import Plan, PlannedService, Route
from domain.kernel.routing_desk import desk_due, desk_route, parked_at
from domain.kernel.service_request import (
    BY_DEADLINE,
    CAN_PROCEED,
    HOLDING,
    NOTICE_DAYS,
    REOPENED_STATES,
    RequestState,
    ServiceRequest,
)
from domain.kernel.window_values import Slot
from domain.kernel.wing import ClosableCase, EvidencedCase, KernelCase, VoidableCase
from domain.wings import WINGS, RegistersWingValues, case_types, national_list, service

A = TypeVar("A", bound=Aggregate)
SUPPLEMENT_LAPSED_BY = BY_DEADLINE
SUPPLEMENT_LAPSED = (
    "补正期限届满未补正 视为撤回申请 (the one-time notice was not answered within the family's "
    "window: the application is deemed withdrawn)"
)
SUPPLEMENT_LAPSED_BASIS = (
    "Administrative Licensing Law Art. 32 (一次性告知); the family's window: "
    "domain/kernel/reference/remedies.json supplement_window"
)
CST = timezone(timedelta(hours=8), "CST")  # offices count days in China Standard Time
LAPSED = "the family's window to resubmit or close the case after a rejection passed"
SNAPSHOT_INTERVAL = 20  # events between snapshots of a case or a request


ISSUED = (RequestState.APPROVED, RequestState.CORRECTION_REQUESTED)  # a result stands


def _carried_in(request: ServiceRequest) -> dict[str, str]:
    """The earlier services' results a request holds (part of its payload), with those of a
    correction still pending (a re-issued result not decided on yet)."""
    taken = service(request.service).inputs
    return {k: str(v) for k, v in request.corrected_payload.items() if k in taken}


def _evidence(case: KernelCase, correction: str) -> str:
    """What a correction rests on, as the case tells it (else the correction's own name)."""
    return case.evidence_of(correction) if isinstance(case, EvidencedCase) else correction


def versioned(planned: PlannedService, plan: Plan) -> Route:
    """A request's route with the reference data versions it was planned with (for replays)."""
    return Route(planned, plan.catalog_version, plan.alliance_version, plan.national_list_version)


class CaseLedger(
    ExplicitEnvMixin,
    RegistersWingValues,
    HospitalIntake,
    FamilyCommands,
    RatingCommands,
    ProcessApplication[UUID],
):
    """Holds every wing's cases, their ServiceRequests and the hospitals' messages: one log
    for the projections. The office steps and the carrying out of the saga's decisions are
    the kernel's; the births wing brings the hospital intake and the family's commands."""

    name = "CaseLedger"
    snapshotting_intervals = {  # noqa: RUF012  (the library reads this class attribute)
        **dict.fromkeys((wing.case for wing in WINGS), SNAPSHOT_INTERVAL),
        ServiceRequest: SNAPSHOT_INTERVAL,
    }

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)
        self.tracking_codes: Callable[[], str] = new_tracking_code
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # --- offices: one method per step; due dates run in working days from today ----------
    def receive(self, cmd: Receive) -> ServiceRequest:
        request = self.get_request(cmd.service_request_id)
        due = self._due(self._definition(request).time_limit_days)
        request.receive(cmd.officer, cmd.receipt_number, due.date.isoformat(), due.provisional)
        return self._saved(request, cmd.answer)

    def request_supplement(self, cmd: RequestSupplement) -> ServiceRequest:
        """The one-time notice; the family answers within its window (working days, reference
        data), past which the deadline job records the application as withdrawn."""
        request = self.get_request(cmd.service_request_id)
        window = self._due(load_remedies().supplement_window_days)
        request.request_supplement(
            cmd.officer, list(cmd.items), cmd.reason, window.date.isoformat(), window.provisional
        )
        return self._saved(request, cmd.answer)

    def supplement(self, cmd: Supplement) -> ServiceRequest:
        """The family's answer: the handling office's clock starts again from today once the
        request was accepted; before, the window's clock does (it accepts or notifies)."""
        request = self.get_request(cmd.service_request_id)
        accepted = request.accepted
        days = self._definition(request).time_limit_days if accepted else NOTICE_DAYS
        due = self._due(days)
        evidence = [ref.to_dict() for ref in cmd.evidence]
        since = self.today().isoformat()
        request.supplement(list(cmd.items), due.date.isoformat(), due.provisional, evidence, since)
        return self._saved(request, cmd.answer)

    def approve(self, cmd: Approve) -> ServiceRequest:
        request = self.get_request(cmd.service_request_id)
        result = self._validated(request, request.payload, cmd.result)
        request.approve(cmd.officer, result)
        return self._saved(request, cmd.answer)

    def approve_correction(self, cmd: ApproveCorrection) -> ServiceRequest:
        """The result re-issued, checked against the corrected facts (a citizen ID against
        the corrected birth date)."""
        request = self.get_request(cmd.service_request_id)
        request.approve_correction(
            cmd.officer, self._validated(request, request.corrected_payload, cmd.result)
        )
        return self._saved(request, cmd.answer)

    def reject_correction(self, cmd: RejectCorrection) -> ServiceRequest:
        request = self.get_request(cmd.service_request_id)
        request.reject_correction(cmd.officer, cmd.reason)
        return self._saved(request, cmd.answer)

    def revoke(self, cmd: Revoke) -> ServiceRequest:
        request = self.get_request(cmd.service_request_id)
        request.revoke(cmd.officer)
        return self._saved(request, cmd.answer)

    def _validated(
        self, request: ServiceRequest, payload: DispatchPayload, result: Mapping[str, object]
    ) -> Result:
        born_at, holder = payload.get("born_at"), payload.get("applicant.citizen_id")
        return validate_result(
            self._definition(request),
            result,
            request.handling_locality,
            born_at if isinstance(born_at, str) else None,
            holder if isinstance(holder, str) else None,
        )

    def request_revocations(self, case_id: UUID, services: list[str], reason: str) -> Revocations:
        """Each request of the case whose office issued a result, asked to revoke it within
        the limit of after_decision.json (the saga's RevocationOrdered finds them asked)."""
        due = self._due(revocation_limit().working_days)
        asked = Revocations([], due.date.isoformat(), [])
        for request in self.latest_requests(case_id, services):  # a resubmission's too
            if request.state in ISSUED:
                request.request_revocation(reason, due.date.isoformat(), due.provisional)
                asked.offices.append(f"{request.authority} {request.handling_locality}")
                asked.requests.append(request)
        return asked

    def reject(self, cmd: Reject) -> ServiceRequest:
        """The family then has its window (working days, reference data) to resubmit or
        close the case; after it the deadline job closes the case (`close_lapsed`)."""
        request = self.get_request(cmd.service_request_id)
        window = self._due(load_remedies().family_window_days)
        request.reject(
            cmd.officer, cmd.reason, cmd.basis, window.date.isoformat(), window.provisional
        )
        return self._saved(request, cmd.answer)

    # --- the remote virtual window (domain/kernel/remote_window.py) ---------------------
    def book_session(self, cmd: BookSession) -> RemoteWindowSession:
        """The receiving office books a session for a request it holds for another locality;
        one session of a request is live (booked or in progress) at a time: one whose slot's
        day is over without it starting is called off first (SLOT_PASSED). The slot's office
        hours and days: Slot.checked; another session of either office at the same time:
        the adapter's check over the sessions' view (adapters/remote_windows.py)."""
        request = self.get_request(cmd.service_request_id)
        now = self.clock()
        slot = Slot.checked(cmd.starts_at, cmd.ends_at, now)
        sessions = self.sessions_of(request.id)
        if lapsed := [s for s in sessions if s.call_off(request, now)]:
            self.save(*lapsed)
        if any(s.is_live for s in sessions):
            raise SessionStateError(
                "A session of this request is still booked or in progress (its id: the "
                "request's view)",
                service_request_id=str(request.id),
            )
        number = len(sessions) + 1
        session = RemoteWindowSession.book(request, number, cmd.office, cmd.by, slot, cmd.note)
        self.save(session)
        return session

    def session_step(self, cmd: SessionStep) -> RemoteWindowSession:
        """Start, join, end or cancel a session, at the ledger's clock. A booked session
        whose request left the window (decided, withdrawn) or whose slot's day is over is
        called off first, and the step is refused saying so."""
        session = self.get_session(cmd.session_id)
        now = self.clock()
        request = self.get_request(session.service_request_id)
        if session.call_off(request, now):
            self.save(session)
            if request.state not in HOLDING:
                raise RequestNotOpenError(
                    f"The session is called off: {REQUEST_GONE}", session_id=str(session.id)
                )
            raise SessionStateError(
                f"The session is called off: {SLOT_PASSED}", session_id=str(session.id)
            )
        if cmd.action == "start":
            session.start(cmd.office, cmd.by, now)
        elif cmd.action == "join":
            session.join(cmd.office, cmd.by, cmd.party, now)
        elif cmd.action == "end":
            session.end(cmd.office, cmd.by, cmd.text, now)
        elif cmd.action == "cancel":
            session.cancel(cmd.office, cmd.by, cmd.text)
        else:
            raise ValueError(f"a session step is one of {SESSION_ACTIONS}")
        self.save(session)
        return session

    def settle_sessions(self, request_id: UUID) -> int:
        """The deadline job's part: call off the request's booked session if the request
        left the window or its slot's day is over; how many were called off."""
        request = self.get_request(request_id)
        called = self._called_off(request)
        if called:
            self.save(*called)
        return len(called)

    def _called_off(self, request: ServiceRequest) -> list[RemoteWindowSession]:
        """The request's booked sessions called off now (none for a request received and
        handled in one locality: it has none)."""
        if request.receiving_locality == request.handling_locality:
            return []
        now = self.clock()
        return [s for s in self.sessions_of(request.id) if s.call_off(request, now)]

    def get_session(self, session: UUID) -> RemoteWindowSession:
        try:
            return aggregate_of(self.repository, RemoteWindowSession, session)
        except AggregateNotFoundError:
            raise SessionNotFoundError("No such session", session_id=str(session)) from None

    def sessions_of(self, request_id: UUID) -> list[RemoteWindowSession]:
        """The request's sessions, first booked first (their ids are numbered)."""
        found: list[RemoteWindowSession] = []
        while (next_id := session_id(request_id, len(found) + 1)) in self.repository:
            found.append(self.get_session(next_id))
        return found

    # --- the routing desk ------------------------------------------------------------------
    def route(self, cmd: RouteRequest) -> ServiceRequest:
        """A coordinator's route for a parked request, checked against the reference data;
        the Orchestrator takes it into the case's plan and dispatches as usual."""
        request = self.get_request(cmd.service_request_id)
        route = desk_route(
            request.route,
            self._definition(request),
            cmd.handling_locality,
            cmd.receiving_locality,
            cmd.mode,
        )
        request.route_by_desk(route, cmd.coordinator, cmd.reason)
        return self._saved(request)

    def parked_since(self, request: ServiceRequest) -> datetime | None:
        """When the request was parked at the routing desk (None: it is not parked)."""
        if not request.parked:
            return None
        return parked_at(self.events.get(request.id))

    def watch_routing(self, request_id: UUID) -> bool:
        """Record RoutingOverdue for a parked request past the desk's time once; True if so."""
        request = self.get_request(request_id)
        since = self.parked_since(request)
        if since is None:
            return False
        due = desk_due(since.astimezone(CST).date(), national_list().desk_days).date
        if self.today() <= due:
            return False
        request.warn_routing(due.isoformat())
        return bool(self.save(request))

    def resubmit(self, cmd: Resubmit) -> ServiceRequest:
        """A new request (the next attempt, on the same route) linked to the rejected one; the
        Orchestrator dispatches it with the case's current data."""
        rejected = self.get_request(cmd.service_request_id)
        case = self.kernel_case(rejected.case_id)
        if not case.is_open:
            raise CaseClosedError("The case is no longer open", case_id=str(case.id))
        attempt = rejected.attempt + 1
        new_id = ServiceRequest.create_id(rejected.case_id, rejected.service, attempt)
        rejected.resubmit(new_id, cmd.officer)
        resubmitted = ServiceRequest(
            rejected.case_id, rejected.service, rejected.route, attempt, rejected.id
        )
        self.save(rejected, resubmitted, *answer_for(resubmitted, cmd.answer))
        return resubmitted

    def latest_request(self, case_id: UUID, service: str) -> ServiceRequest:
        """The service's latest attempt: the first request, or the last resubmission of it."""
        request = self.get_request(ServiceRequest.create_id(case_id, service))
        while request.resubmitted_as is not None:
            request = self.get_request(request.resubmitted_as)
        return request

    def latest_requests(self, case_id: UUID, services: list[str]) -> list[ServiceRequest]:
        found = []
        for name in services:
            try:
                found.append(self.latest_request(case_id, name))
            except ServiceRequestNotFoundError:
                continue  # planned, not created yet
        return found

    @staticmethod
    def _definition(request: ServiceRequest) -> ServiceDefinition:
        return service(request.service)

    def _saved(self, request: ServiceRequest, answer: AnswerKey | None = None) -> ServiceRequest:
        """The request saved with the answer to the step, if it was sent with a key: one
        `save()`, so both are recorded or neither."""
        left = request.state not in HOLDING  # decided, withdrawn: a booked session is off
        self.save(
            request, *(self._called_off(request) if left else ()), *answer_for(request, answer)
        )
        return request

    def first_answer(self, key: AnswerKey) -> ServiceRequest | None:
        """The request as the first step sent with `key` left it (None: no step yet);
        IdempotencyKeyReusedError when the key came with another step or body."""
        answer = first_answer(self.repository, key)
        if answer is None:
            return None
        request: object = self.repository.get(
            answer.service_request_id, version=answer.request_version
        )
        assert isinstance(request, ServiceRequest)
        return request

    def today(self) -> date:
        """Today in China Standard Time, by the injectable clock."""
        return self.clock().astimezone(CST).date()

    def _due(self, working_days: int) -> DueDate:
        return WorkingCalendar().add_working_days(self.today(), working_days)

    def watch_deadline(self, request_id: UUID) -> bool:
        """Record DeadlineApproaching or Overdue for a received request once, and for one at
        the receiving window DeadlineApproaching, then, past its due date, DeemedAccepted
        (Art. 32: accepted from the day its materials arrived), or Overdue for one awaiting a
        thing's arrival (the catalog's arrival limit: a card in transit); for a decided one asked to
        decide a correction or to revoke its result, as for a received one. True if recorded."""
        request = self.get_request(request_id)
        if request.state == RequestState.SUPPLEMENT_REQUESTED:
            return self._watch_supplement(request)
        watched = (RequestState.RECEIVED, RequestState.DISPATCHED, *REOPENED_STATES)
        if request.state not in watched or request.due is None:
            return False
        kind = deadline_kind(date.fromisoformat(request.due), self.today(), WorkingCalendar())
        if kind is None:
            return False
        arrival = request.state == RequestState.DISPATCHED and self._awaits_arrival(request)
        if kind == "overdue" and request.state == RequestState.DISPATCHED and not arrival:
            self._deem_accepted(request)
        else:
            request.warn(kind, request.due)
        return bool(self.save(request))

    def _watch_supplement(self, request: ServiceRequest) -> bool:
        """The family's window to answer the one-time notice: DeadlineApproaching, then, past
        it, the application deemed withdrawn, recorded as a rejection (the family may still
        resubmit or close the case in its window after it)."""
        if request.family_due is None:
            return False  # a notice given before the family's window was kept
        due = date.fromisoformat(request.family_due)
        kind = deadline_kind(due, self.today(), WorkingCalendar())
        if kind is None:
            return False
        if kind == "approaching":
            request.warn(kind, request.family_due)
        else:
            window = self._due(load_remedies().family_window_days)
            request.reject(
                SUPPLEMENT_LAPSED_BY,
                SUPPLEMENT_LAPSED,
                SUPPLEMENT_LAPSED_BASIS,
                window.date.isoformat(),
                window.provisional,
            )
        return bool(self.save(request, *self._called_off(request)))

    def _awaits_arrival(self, request: ServiceRequest) -> bool:
        """A request whose receipt is a thing arriving (the catalog's arrival limit): past the
        window's clock it is overdue, not deemed accepted (nothing was applied for)."""
        return self._definition(request).arrival_limit_days is not None

    def _deem_accepted(self, request: ServiceRequest) -> None:
        """Accepted from the day the materials arrived: the handling office's time limit
        counts from that day, not from today."""
        if request.arrived is None:
            return
        days = self._definition(request).time_limit_days
        due = WorkingCalendar().add_working_days(date.fromisoformat(request.arrived), days)
        request.deem_accepted(due.date.isoformat(), due.provisional)

    # --- carrying out the Orchestrator's decisions ----------------------------------------
    @singledispatchmethod
    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Orchestrator events that need nothing done here."""

    @policy.register
    def _(self, event: CasePlan.PlanDrawn, processing_event: ProcessingEvent[UUID]) -> None:
        case = self.kernel_case(event.case_id)
        if not case.is_open:
            return
        plan = event.plan
        case.plan([r.service for r in plan.services], plan.catalog_version, plan.alliance_version)
        requests = [ServiceRequest(case.id, r.service, versioned(r, plan)) for r in plan.services]
        processing_event.collect_events(case, *requests)

    @policy.register
    def _(self, event: CasePlan.PlanRevised, processing_event: ProcessingEvent[UUID]) -> None:
        for planned in event.plan.services:
            if planned.service not in event.revised:
                continue
            route = versioned(planned, event.plan)
            request_id = ServiceRequest.create_id(event.case_id, route.service)
            if request_id not in self.repository:
                processing_event.collect_events(ServiceRequest(event.case_id, route.service, route))
                continue
            request = self.latest_request(event.case_id, route.service)
            # the orchestrator never revises a dispatched one
            if request.state in (RequestState.PLANNED, RequestState.BLOCKED):
                request.replan(route)
                processing_event.collect_events(request)
        self._replanned_services(event, processing_event)

    def _replanned_services(
        self, event: CasePlan.PlanRevised, processing_event: ProcessingEvent[UUID]
    ) -> None:
        """The case's services as revised: an optional one the family's application made
        possible (maternity benefits) joins; one no longer planned and not yet dispatched is
        withdrawn, so no request waits on a plan that dropped it."""
        case = self.kernel_case(event.case_id)
        if not case.is_open:
            return
        services = [r.service for r in event.plan.services]
        before = list(getattr(case, "planned_services", None) or [])
        case.plan(services, event.plan.catalog_version, event.plan.alliance_version)
        processing_event.collect_events(case)
        for dropped in (s for s in before if s not in services):
            request = self.get_request(ServiceRequest.create_id(case.id, dropped))
            if request.state in (RequestState.PLANNED, RequestState.BLOCKED):
                request.withdraw("no longer planned: the family's choices changed")
                processing_event.collect_events(request)

    @policy.register
    def _(self, event: CasePlan.DispatchOrdered, processing_event: ProcessingEvent[UUID]) -> None:
        case = self.kernel_case(event.case_id)
        if not case.is_open:
            return  # ended before its plan was carried out: nothing to send
        request = self.latest_request(case.id, event.service)
        if request.state in (RequestState.PLANNED, RequestState.BLOCKED):
            definition = service(event.service)
            # the receiving window's clock from today (a thing in transit: its arrival limit)
            window = self._due(definition.arrival_limit_days or NOTICE_DAYS)
            request.dispatch(
                disclose(definition, case, event.carried),
                self.today().isoformat(),
                window.date.isoformat(),
                window.provisional,
            )
            processing_event.collect_events(request)

    @policy.register
    def _(
        self, event: CasePlan.CorrectionForwarded, processing_event: ProcessingEvent[UUID]
    ) -> None:
        """Offices that have not decided are told the corrected values (a correction
        forwarded before values were sent, on replay, flags the changed fields only)."""
        case = self.kernel_case(event.case_id)
        for name in event.services:
            request = self.latest_request(event.case_id, name)
            visible = set(service(name).visible_fields)
            changed = [f for f in event.changed if f in visible]
            if event.correction is None or not changed:
                request.flag_correction(changed)
            else:
                payload = disclose(service(name), case, _carried_in(request))
                request.redispatch(payload, changed, _evidence(case, event.correction))
            processing_event.collect_events(request)

    @policy.register
    def _(
        self, event: CasePlan.CorrectionsRequested, processing_event: ProcessingEvent[UUID]
    ) -> None:
        """Each office that decided and sees a changed field: a correction request."""
        case = self.kernel_case(event.case_id)
        for name in event.services:
            definition = service(name)
            if not set(event.changed).intersection(definition.visible_fields):
                continue
            request = self.latest_request(event.case_id, name)
            corrected = disclose(definition, case, _carried_in(request))
            changed = [f for f in event.changed if f in definition.visible_fields]
            self._ask_correction(request, corrected, changed, _evidence(case, event.correction))
            processing_event.collect_events(request)

    @policy.register
    def _(self, event: CasePlan.ResultReissued, processing_event: ProcessingEvent[UUID]) -> None:
        """The services taking a re-issued result get its new value: as new values if not
        decided, as a correction request if decided."""
        case = self.kernel_case(event.case_id)
        evidence = f"{event.service} re-issued"
        for name in event.services:
            definition = service(name)
            request = self.latest_request(event.case_id, name)
            carried = {**_carried_in(request), **event.carried}
            payload = disclose(
                definition, case, {k: carried[k] for k in carried if k in definition.inputs}
            )
            if request.state in HOLDING:
                changed = [k for k in event.result if k in definition.visible_fields]
                request.redispatch(payload, changed, evidence)
            else:
                self._ask_correction(request, payload, list(event.result), evidence)
            processing_event.collect_events(request)

    @policy.register
    def _(self, event: CasePlan.RevocationOrdered, processing_event: ProcessingEvent[UUID]) -> None:
        due = self._due(revocation_limit().working_days)
        for name in event.services:
            request = self.latest_request(event.case_id, name)
            request.request_revocation(event.reason, due.date.isoformat(), due.provisional)
            processing_event.collect_events(request)

    @policy.register
    def _(self, event: CasePlan.VoidFinishOrdered, processing_event: ProcessingEvent[UUID]) -> None:
        case = self.kernel_case(event.case_id)
        if isinstance(case, VoidableCase):
            case.finish_void()
            processing_event.collect_events(case)

    def _ask_correction(
        self,
        request: ServiceRequest,
        corrected: DispatchPayload,
        changed: list[str],
        evidence: str,
    ) -> None:
        due = self._due(correction_limit(self._definition(request)).working_days)
        request.request_correction(
            corrected, changed, evidence, due.date.isoformat(), due.provisional
        )

    @policy.register
    def _(self, event: CasePlan.CompletionOrdered, processing_event: ProcessingEvent[UUID]) -> None:
        case = self.kernel_case(event.case_id)
        case.complete()
        processing_event.collect_events(case)

    @policy.register
    def _(self, event: CasePlan.WithdrawalOrdered, processing_event: ProcessingEvent[UUID]) -> None:
        # a case voided before its plan was carried out has no requests to withdraw
        for request in self.latest_requests(event.case_id, list(event.services)):
            request.withdraw(event.reason)
            processing_event.collect_events(request, *self._called_off(request))

    @policy.register
    def _(self, event: CasePlan.RejectionNoted, processing_event: ProcessingEvent[UUID]) -> None:
        """What waits on the rejected request is blocked, naming it."""
        self._block(event, processing_event)

    @policy.register
    def _(self, event: CasePlan.ResubmissionNoted, processing_event: ProcessingEvent[UUID]) -> None:
        """What waited on the rejected request now waits on its resubmission, named so."""
        self._block(event, processing_event)

    def _block(
        self,
        event: CasePlan.RejectionNoted | CasePlan.ResubmissionNoted,
        processing_event: ProcessingEvent[UUID],
    ) -> None:
        blocker = ServiceRequest.create_id(event.case_id, event.service, event.attempt)
        for name in event.blocked:
            request = self.latest_request(event.case_id, name)
            request.block(blocker, event.service)
            processing_event.collect_events(request)

    # --- the end of a case that cannot go on: the family closes it, or its window lapses ---
    def close_as_family(self, cmd: CloseCase) -> None:
        """The family ends its case after a rejection instead of resubmitting."""
        self.close_case(cmd.case_id, cmd.by, cmd.reason)

    def close_lapsed(self, case_id: UUID) -> bool:
        """The deadline job: close the case if the family's every window to act has passed
        and nothing else can proceed; True if closed now."""
        return self.close_case(case_id, "deadline", LAPSED, lapsed_only=True)

    def close_case(self, case_id: UUID, by: str, reason: str, lapsed_only: bool = False) -> bool:
        """Close a case whose remaining services cannot proceed: a request was rejected (and
        not resubmitted) and none can still go ahead (held by an office, or planned: waiting
        for the routing desk or the family's choices; only blocked ones cannot).
        `lapsed_only`: only once every rejection's window to act has passed (the deadline
        job). True if closed now."""
        case = self.kernel_case(case_id)
        if not isinstance(case, ClosableCase):
            raise InvalidTransitionError(
                "This kind of case is not closed this way", case_id=str(case_id)
            )
        if not case.is_open:
            if lapsed_only:
                return False
            raise CaseClosedError("The case is no longer open", case_id=str(case_id))
        requests = self.latest_requests(case_id, case.planned_services)
        rejected = [r for r in requests if r.state == RequestState.REJECTED]
        held = [r.service for r in requests if r.state in CAN_PROCEED]
        if not rejected or held:
            if lapsed_only:
                return False
            why = "no request was rejected" if not rejected else "other services can still proceed"
            raise InvalidTransitionError(
                f"The case cannot be closed: {why}", case_id=str(case_id), held=held
            )
        if lapsed_only:
            windows = [r.rejection.family_due if r.rejection else None for r in rejected]
            if any(w is None or date.fromisoformat(w) >= self.today() for w in windows):
                return False
        case.close(by, reason)
        self.save(case)
        return True

    reads_for = staticmethod(carried_out_reads)  # loaded ahead for a whole section

    # --- reads (births' cases and hospital messages: HospitalIntake) ----------------------
    def kernel_case(self, case_id: UUID) -> KernelCase:
        """Any wing's case, as the kernel carries out the saga's decisions on it."""
        try:
            return aggregate_of(self.repository, case_types(), case_id)
        except AggregateNotFoundError:
            raise CaseNotFoundError("No such case", case_id=str(case_id)) from None

    def get_request(self, request_id: UUID) -> ServiceRequest:
        try:
            return aggregate_of(self.repository, ServiceRequest, request_id)
        except AggregateNotFoundError:
            raise ServiceRequestNotFoundError(
                "No such service request", service_request_id=str(request_id)
            ) from None
