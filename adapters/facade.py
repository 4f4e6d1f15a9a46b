"""What the composition root hands the HTTP layer and the command line: the reads and commands
they call on a built `Container` (adapters/bootstrap.py), and the names of the domain,
integrations and projections they speak (errors, commands, roles, rows, the FHIR intake).

`api/` and `entry/` import these from here (or from adapters.bootstrap and
adapters.settings), never from the packages below (tests/unit/test_dependency_rule.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

import orjson

from adapters.audit_log import AuditBusyError
from adapters.audit_records import WHATS, AuditFilter, OfficeReads, ReadRecord
from adapters.bootstrap import Container, StoreUnavailableError, build
from adapters.budget import check_serve_budget
from adapters.case_answers import case_answer
from adapters.case_reads import (
    case_history_entry,
    history_streams,
    load_view,
    scoped_case,
    siblings_view,
)
from adapters.certificates import NotACertificateError
from adapters.credentials import provisioning_uri
from adapters.document_files import (
    OpenedFile,
    case_file,
    may_upload,
    request_file,
    request_files,
    unknown_evidence,
    upload_document,
)
from adapters.follow_ups import (
    follow_up_items,
    level_key,
    level_of,
    parked_within,
    place_follow_ups,
    record_call_back,
    unit_follow_ups,
)
from adapters.id_cards import id_card_view, open_id_card
from adapters.id_cards import window_command as id_card_window_command
from adapters.keys import StoreKeyError
from adapters.marriage import marriage_case, open_marriage
from adapters.marriage import to_bring as marriage_materials_to_bring
from adapters.partitioned_rebuild import PartStoppedError, can_rebuild_in_parts, rebuild_in_parts
from adapters.remote_windows import book as book_session
from adapters.remote_windows import office_sessions
from adapters.remote_windows import read as read_session
from adapters.remote_windows import step as session_step
from adapters.sign_in import (
    SignedIn,
    disable_user,
    end_session,
    find_session,
    open_session,
    password_sign_in,
    record_sign_in_refused,
    reset_password,
)
from adapters.staff_sessions import SignInRow
from adapters.workbench import request_view
from adapters.workbench_search import (
    citizen_id_shape,
    search_requests,
    search_row,
    tracking_code_shape,
)
from domain.births.birth_case import BirthCase
from domain.births.catalog import load_catalog
from domain.births.commands import (
    ApplyAsFamily,
    CloseCase,
    CorrectNotification,
    NotifyBirth,
    RateService,
    VoidNotification,
)
from domain.births.facts import BirthFacts, Parent
from domain.births.family_application import application_problems, problem_item
from domain.births.family_divisions import division_path, divisions
from domain.births.family_guide import family_guide
from domain.births.history import history_entry
from domain.births.hospital_intake import MessageOutcome
from domain.idcards.services import application_problems as id_card_problems
from domain.kernel.access import (
    ACTIONS,
    CASE_ROLES,
    FAMILY_ACTIONS,
    NEXT_STEP_ROLES,
    CaseNotYetError,
    OutOfScopeError,
    covers,
    facility_read,
    foreign_case,
    holds_verifier,
    may_act,
    may_call,
    may_rate,
    may_read_queue,
    may_route,
    may_see_desk,
    may_see_flow,
    office_may_see,
    speaks_for,
)
from domain.kernel.actors import (
    AUTHORITIES,
    ROLES,
    ActorDirectory,
    ActorNotFoundError,
    InvalidActorError,
    Principal,
    token_hash,
)
from domain.kernel.answers import AnswerKey, IdempotencyKeyReusedError
from domain.kernel.applicants import ApplicantCase, IdentityCheck, Opening
from domain.kernel.catalog import ServiceDefinition
from domain.kernel.certificates import issuer_parts
from domain.kernel.commands import (
    SESSION_ACTIONS,
    Approve,
    ApproveCorrection,
    EvidenceRef,
    OfficeCommand,
    Receive,
    Reject,
    RejectCorrection,
    RequestSupplement,
    Resubmit,
    Revoke,
    RouteRequest,
    Supplement,
)
from domain.kernel.errors import (
    CaseClosedError,
    CaseNotFoundError,
    DomainError,
    InvalidApplicationError,
    InvalidIdentifierError,
    InvalidResultError,
    InvalidRouteError,
    InvalidSessionError,
    InvalidTransitionError,
    MessageIdReusedError,
    NotificationConflictError,
    RatingNotAllowedError,
    ServiceRequestNotFoundError,
)
from domain.kernel.identifiers import full_division_name, make_citizen_id
from domain.kernel.rating import OUTCOMES as CALL_BACK_OUTCOMES
from domain.kernel.rating import InvalidCallBackError, RecordCallBack
from domain.kernel.remote_window import MAX_NOTE as MAX_SESSION_NOTE
from domain.kernel.remote_window import PARTIES as SESSION_PARTIES
from domain.kernel.service_request import ServiceRequest
from domain.kernel.staff import (
    InvalidStaffUserError,
    SignInRefusedError,
    StaffUser,
    StaffUserNotFoundError,
)
from domain.kernel.staff_accounts import StaffAccounts
from domain.ledger import CaseLedger
from domain.marriage.services import PartyDetails as MarriagePartyDetails
from domain.marriage.services import RegisterMarriage, check_marriage, marriage_problems
from domain.marriage.services import problem_item as marriage_problem_item
from domain.wings import national_list, wings
from engine.parked import PARKED_STATE, SKIPPED_STATE, NotParkedError, ParkedRow
from engine.postgres_views import PostgresTables
from engine.projection_runner import Projections
from engine.rows import ViewBusyError
from integrations.documents.errors import (
    ActiveContentError,
    DamagedDocumentError,
    DecompressionBombError,
    DocumentRefusedError,
    DocumentTooComplexError,
    DocumentTooLargeError,
    TypeMismatchError,
    UnsupportedTypeError,
)
from integrations.hospital.birth_notification import ParsedMessage, parse_message
from integrations.hospital.capability import capability_statement
from integrations.hospital.issues import IntakeRejectedError, Issue
from integrations.hospital.outcomes import acknowledgement, operation_outcome
from integrations.hospital.writer import notification_message
from integrations.identity.attempt import AttemptError, attempt_key, seal_attempt, unseal_attempt
from integrations.identity.oidc import OidcClient, ProviderSignInError
from integrations.registry.simulator import RegistrySimulator, SimulatorConfig
from projections.case_view import request_fields
from projections.flows import FlowRow
from projections.locality_stats import FollowUpRow, LocalityFigures
from projections.matters import MatterFlowRow
from projections.office_feed import SLOTS as FEED_SLOTS
from projections.office_queue import QueuePage
from projections.routing_desk import DeskPage


def every_service() -> list[ServiceDefinition]:
    """The services of every wing's catalog (births first), for the pages' names."""
    return [service for wing in wings() for service in wing.catalog()]


__all__ = [
    "ACTIONS",
    "AUTHORITIES",
    "CALL_BACK_OUTCOMES",
    "CASE_ROLES",
    "FAMILY_ACTIONS",
    "MAX_SESSION_NOTE",
    "PARKED_STATE",
    "ROLES",
    "SESSION_ACTIONS",
    "SESSION_PARTIES",
    "SKIPPED_STATE",
    "WHATS",
    "ActiveContentError",
    "ActorDirectory",
    "ActorNotFoundError",
    "AnswerKey",
    "ApplicantCase",
    "ApplyAsFamily",
    "Approve",
    "ApproveCorrection",
    "AttemptError",
    "AuditBusyError",
    "AuditFilter",
    "BirthFacts",
    "CaseClosedError",
    "CaseLedger",
    "CaseNotFoundError",
    "CaseNotYetError",
    "CloseCase",
    "Container",
    "CorrectNotification",
    "DamagedDocumentError",
    "DecompressionBombError",
    "DocumentRefusedError",
    "DocumentTooComplexError",
    "DocumentTooLargeError",
    "DomainError",
    "EvidenceRef",
    "IdempotencyKeyReusedError",
    "IdentityCheck",
    "IntakeRejectedError",
    "InvalidActorError",
    "InvalidApplicationError",
    "InvalidCallBackError",
    "InvalidIdentifierError",
    "InvalidResultError",
    "InvalidRouteError",
    "InvalidSessionError",
    "InvalidStaffUserError",
    "InvalidTransitionError",
    "Issue",
    "MarriagePartyDetails",
    "MessageIdReusedError",
    "MessageOutcome",
    "NotACertificateError",
    "NotParkedError",
    "NotificationConflictError",
    "NotifyBirth",
    "OfficeCommand",
    "OfficeReads",
    "OidcClient",
    "OpenedFile",
    "Opening",
    "OutOfScopeError",
    "Parent",
    "ParkedRow",
    "ParsedMessage",
    "PartStoppedError",
    "Principal",
    "Projections",
    "ProviderSignInError",
    "RateService",
    "RatingNotAllowedError",
    "ReadRecord",
    "Receive",
    "RecordCallBack",
    "RegisterMarriage",
    "RegistrySimulator",
    "Reject",
    "RejectCorrection",
    "RequestSupplement",
    "Resubmit",
    "Revoke",
    "RouteRequest",
    "ServiceRequest",
    "ServiceRequestNotFoundError",
    "SignInRefusedError",
    "SignInRow",
    "SignedIn",
    "SimulatorConfig",
    "StaffAccounts",
    "StaffUser",
    "StaffUserNotFoundError",
    "StoreKeyError",
    "StoreUnavailableError",
    "Supplement",
    "TypeMismatchError",
    "UnsupportedTypeError",
    "ViewBusyError",
    "VoidNotification",
    "acknowledgement",
    "application_problems",
    "attempt_key",
    "book_session",
    "build",
    "can_rebuild_in_parts",
    "capability_statement",
    "carry_out",
    "case_answer",
    "case_by_tracking_code",
    "case_file",
    "case_history_entry",
    "case_id_of",
    "case_of_request",
    "check_marriage",
    "check_serve_budget",
    "citizen_id_shape",
    "covers",
    "deliveries_of_request",
    "delivery_figures",
    "delivery_of",
    "delivery_warnings",
    "desk_days",
    "disable_user",
    "division_path",
    "divisions",
    "end_session",
    "every_service",
    "facility_read",
    "family_extras",
    "family_guide",
    "feed_now",
    "find_session",
    "follow_up_items",
    "follow_ups",
    "foreign_case",
    "full_division_name",
    "history_entry",
    "history_streams",
    "id_card_problems",
    "id_card_view",
    "id_card_window_command",
    "issuer_parts",
    "level_key",
    "level_of",
    "load_catalog",
    "load_view",
    "locality_figures",
    "log_head",
    "log_heads",
    "make_citizen_id",
    "marriage_case",
    "marriage_materials_to_bring",
    "marriage_problem_item",
    "marriage_problems",
    "matter_flows",
    "matter_kinds",
    "may_act",
    "may_call",
    "may_rate",
    "may_read_queue",
    "may_route",
    "may_see_desk",
    "may_see_flow",
    "may_upload",
    "month_flows",
    "notification_message",
    "office_feed",
    "office_queue",
    "office_sessions",
    "open_id_card",
    "open_marriage",
    "open_session",
    "operation_outcome",
    "parked_count",
    "parked_within",
    "parse_message",
    "parts_in_progress",
    "password_sign_in",
    "place_follow_ups",
    "place_matters",
    "place_sessions",
    "planning_lag",
    "problem_item",
    "projection_lags",
    "provisioning_uri",
    "read_case",
    "read_session",
    "rebuild_in_parts",
    "record_call_back",
    "record_sign_in_refused",
    "request_fields",
    "request_file",
    "request_files",
    "request_view",
    "reset_password",
    "route_request",
    "routing_desk",
    "scoped_case",
    "seal_attempt",
    "search_requests",
    "search_row",
    "session_step",
    "speaks_for",
    "token_hash",
    "tracking_code_shape",
    "tracking_position",
    "unit_follow_ups",
    "unknown_evidence",
    "unseal_attempt",
    "upload_document",
    "verifier_matches",
    "with_siblings",
]


def case_id_of(facility_uscc: str, record_ref: str) -> UUID:
    """The case a hospital's birth record opened (or would open)."""
    return BirthCase.create_id(facility_uscc, record_ref)


def read_case(
    container: Container, principal: Principal, case_id: UUID, as_of: datetime | None
) -> dict[str, Any]:
    """The case view replayed for the caller (projections/case_view.py renders it); the
    family and the admin also get the next action and timeline of the case as it is."""
    view = load_view(container.ledger, principal, case_id, as_of)
    if principal.role in NEXT_STEP_ROLES and as_of is None:
        view |= family_extras(container, case_id)
    if as_of is None and (delivery := delivery_of(container, principal, case_id)):
        view["delivery"] = delivery
    return view


def delivery_of(container: Container, principal: Principal, case_id: UUID) -> dict[str, Any] | None:
    """Twins linked: the case's delivery and the other cases born in it the caller may see
    (None for a case the hospital named no delivery for)."""
    found = container.projections.case_status_view.same_delivery(case_id)
    if found is None:
        return None
    return siblings_view(container.ledger, principal, *found)


def with_siblings(
    container: Container, principal: Principal, case_id: UUID, document: bytes
) -> bytes:
    """The family's pre-rendered case as sent; a child of a multiple birth (its document
    names the delivery) gets the other cases born in it, read now."""
    if b'"delivery"' not in document:
        return document
    view = orjson.loads(document)
    if delivery := delivery_of(container, principal, case_id):
        view["delivery"] = delivery
    return orjson.dumps(view, option=orjson.OPT_NON_STR_KEYS)


def family_extras(container: Container, case_id: UUID) -> dict[str, Any]:
    """What the family must do next and the timeline, from the case_status projection."""
    return container.projections.case_status_view.family_extras(case_id)


def parts_in_progress(projections: Projections, name: str) -> dict[str, int]:
    """A view's rebuild in parts under way or interrupted: part → position (PostgreSQL only)."""
    view = projections.get(name).view
    if not isinstance(view, PostgresTables):
        return {}
    return view.parts(projections.app.name)


def office_queue(container: Container, locality: str, authority: str, **filters: Any) -> QueuePage:
    """A page of an office's queue (office_queue projection); filters as the view takes them."""
    return container.projections.office_queue_view.queue(locality, authority, **filters)


def office_feed(
    container: Container, locality: str, authority: str, after: int, limit: int
) -> list[dict[str, Any]]:
    """An office's messages after the sequence `after`, in order: their envelopes (the
    office_feed projection; what the worker pushes to the office's systems)."""
    view = container.projections.office_feed_view
    return [view.envelope(m) for m in view.messages(locality, authority, after, limit)]


def feed_now(container: Container) -> int:
    """A feed position every message of an event recorded from now on comes after: the
    ledger's head, in office_feed's numbering (a new registry system starts there)."""
    head = container.ledger.recorder.max_notification_id() or 0
    return head * FEED_SLOTS + FEED_SLOTS - 1


def routing_desk(
    container: Container, scope: str, *, limit: int = 50, offset: int = 0
) -> tuple[DeskPage, date]:
    """A page of a routing desk (routing_desk projection), and today where offices count
    days (a row is overdue once its due date has passed)."""
    view = container.projections.routing_desk_view
    return view.desk(scope, limit=limit, offset=offset), container.ledger.today()


def desk_days() -> int:
    """The routing desk's time limit in working days (reference data, with its basis)."""
    return national_list().desk_days


def parked_count(
    container: Container, *, desk: str | None = None, locality: str | None = None
) -> int:
    """Requests waiting at the routing desk: of a province desk, a handling locality, or all."""
    view = container.projections.routing_desk_view
    return view.waiting(desk=desk, handling_locality=locality)


def route_request(ledger: CaseLedger, principal: Principal, cmd: RouteRequest) -> ServiceRequest:
    """A coordinator's route for a parked request of its desk (else: out of scope)."""
    try:
        request = ledger.get_request(cmd.service_request_id)
    except ServiceRequestNotFoundError:
        raise OutOfScopeError() from None
    if not may_route(principal, request):
        raise OutOfScopeError()
    return ledger.route(cmd)


def locality_figures(container: Container, code: str, month: str) -> LocalityFigures:
    return container.projections.locality_stats_view.figures(code, month)


def follow_ups(container: Container, code: str, month: str) -> list[FollowUpRow]:
    """The month's bad ratings of a locality, each to be followed up (no case ids)."""
    return container.projections.locality_stats_view.follow_ups(code, month)


def month_flows(container: Container, month: str) -> list[FlowRow]:
    """Birth province → hukou province counts of a month (flows projection)."""
    return container.projections.flows_view.flows(month)


def place_matters(container: Container, code: str, month: str) -> list[dict[str, Any]]:
    """A place's month per matter (every wing's kind) and service: received, decided,
    approved, rejected, on time (matters projection; no personal data)."""
    return container.projections.matters_view.figures(code, month)


def place_sessions(container: Container, code: str, month: str) -> dict[str, int]:
    """A place's remote virtual window sessions of the month: booked, held, cancelled (each
    session once where either office is; remote_window_sessions projection)."""
    row = container.projections.remote_window_sessions_view.month(code, month)
    return {"booked": row.booked, "held": row.held, "cancelled": row.cancelled}


def matter_flows(container: Container, month: str, kind: str | None) -> list[MatterFlowRow]:
    """Receiving province → handling province per matter and service of a month."""
    return container.projections.matters_view.flows(month, kind)


def matter_kinds() -> tuple[str, ...]:
    """The matters (wing kinds) the ledger carries."""
    return tuple(w.kind for w in wings())


def case_by_tracking_code(container: Container, code: str) -> str | None:
    """The case id a tracking code names, as far as the views have come: a births case in
    case_status, a case an applicant opened in applicant_cases."""
    status = container.projections.case_status_view.by_tracking_code(code)
    if status is not None:
        return status.case_id
    opened = container.projections.applicant_cases_view.by_tracking_code(code)
    return None if opened is None else opened.case_id


def tracking_position(container: Container) -> int:
    """How far in the ledger's log both tracking views have come (the lesser of the two)."""
    views = container.projections
    name = container.ledger.name
    return min(
        views.case_status_view.max_tracking_id(name) or 0,
        views.applicant_cases_view.max_tracking_id(name) or 0,
    )


def log_head(container: Container) -> int:
    """The position of the ledger's last recorded event."""
    return container.ledger.recorder.max_notification_id() or 0


def verifier_matches(container: Container, case_id: str, verifier: str) -> bool:
    """Whether `verifier` is the mother's (the last 6 of her citizen ID, or her phone), or,
    for a case an applicant opened, an applicant's (domain/kernel/applicants.py)."""
    case = container.ledger.kernel_case(UUID(case_id))
    if isinstance(case, ApplicantCase):
        return case.holds_verifier(verifier)
    if isinstance(case, BirthCase):
        mother = case.facts.mother
        return holds_verifier(mother.citizen_id, mother.phone, verifier)
    return False


def log_heads(container: Container) -> dict[str, int]:
    """Each application's last recorded position, by name."""
    return {app.name: app.recorder.max_notification_id() or 0 for app in container.applications()}


def projection_lags(container: Container) -> dict[str, int]:
    """How many events of the log each view has still to apply, by view."""
    return container.projections.lags()


def planning_lag(container: Container) -> Callable[[], int]:
    """How many ledger events wait for planning (read by intake's back-pressure and /metrics)."""
    return container.processing.planning.lag


def carry_out(ledger: CaseLedger, cmd: OfficeCommand) -> ServiceRequest:
    """The ledger's method for an office command (one per action)."""
    match cmd:
        case Receive():
            return ledger.receive(cmd)
        case RequestSupplement():
            return ledger.request_supplement(cmd)
        case Supplement():
            return ledger.supplement(cmd)
        case Approve():
            return ledger.approve(cmd)
        case Reject():
            return ledger.reject(cmd)
        case Resubmit():
            return ledger.resubmit(cmd)
        case ApproveCorrection():
            return ledger.approve_correction(cmd)
        case RejectCorrection():
            return ledger.reject_correction(cmd)
        case Revoke():
            return ledger.revoke(cmd)


def deliveries_of_request(
    container: Container, principal: Principal, service_request_id: UUID
) -> list[dict[str, Any]]:
    """Per registry system, the request's messages and their delivery state: an office sees
    its own systems' of a request it sees (else out of scope), an admin every system's."""
    try:
        request = container.ledger.get_request(service_request_id)
    except ServiceRequestNotFoundError:
        raise OutOfScopeError() from None
    if principal.role == "admin":
        return container.deliveries.for_request(service_request_id)
    if principal.role != "office" or not office_may_see(principal, request):
        raise OutOfScopeError()
    office = (principal.scope, principal.authority or "")
    return container.deliveries.for_request(service_request_id, office)


def case_of_request(container: Container, service_request_id: UUID) -> str:
    """The case a service request belongs to (for the read audit's rows)."""
    return str(container.ledger.get_request(service_request_id).case_id)


def delivery_warnings(container: Container, locality: str, authority: str) -> list[dict[str, Any]]:
    """The office's registry systems with dead letters waiting or an open circuit."""
    return container.deliveries.warnings(locality, authority)


def delivery_figures(container: Container) -> dict[str, Any]:
    """Deliveries by state and endpoints with an open circuit (for /metrics)."""
    return container.deliveries.figures()
