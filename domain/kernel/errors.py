"""Typed domain errors: each names one broken rule, with a kebab-case code and context."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every rule the domain enforces; the API maps it to problem+json."""

    code: ClassVar[str] = "domain-error"

    def __init__(self, detail: str, **context: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.context: dict[str, Any] = context


class InvalidIdentifierError(DomainError):
    """A citizen ID, USCC, division code or certificate number is malformed."""

    code = "invalid-identifier"


class CaseNotFoundError(DomainError):
    code = "case-not-found"


class ServiceRequestNotFoundError(DomainError):
    code = "service-request-not-found"


class CaseClosedError(DomainError):
    """The case was voided or completed: nothing more can happen to it."""

    code = "case-closed"


class NotificationConflictError(DomainError):
    """A second notification for a record that already has a case (not an update)."""

    code = "notification-conflict"


class MessageIdReusedError(NotificationConflictError):
    """A message id the facility already used, sent again with other content: never the
    first message's acknowledgement, since nothing of this one would be recorded."""

    code = "message-id-reused"


class InvalidApplicationError(DomainError):
    """The family application breaks a rule (surname, consent, divisions...)."""

    code = "invalid-application"


class InvalidTransitionError(DomainError):
    """The service request is not in a state that allows this step."""

    code = "invalid-transition"


class OneTimeNoticeError(InvalidTransitionError):
    """A second supplement notice in one reception without new facts or without a reason
    (一次性告知: every missing item is named in one notice)."""

    code = "one-time-notice"


class NoticeLapsedError(InvalidTransitionError):
    """A supplement notice after the request was deemed accepted (Art. 32)."""

    code = "deemed-accepted"


class InvalidResultError(DomainError):
    """An approval's result does not fit the service (e.g. a citizen ID for another county)."""

    code = "invalid-result"


class RatingNotAllowedError(DomainError):
    code = "rating-not-allowed"


class ReferenceDataError(DomainError):
    """Shipped reference data (catalog, alliance, calendar) is inconsistent."""

    code = "reference-data-invalid"


class InvalidRouteError(DomainError):
    """A route the routing desk gave breaks the reference data (mode, places)."""

    code = "invalid-route"


class InvalidSessionError(DomainError):
    """A booking that breaks a rule: its slot (in the past, ending before it starts, too
    long or too far ahead) or its request (not received in one locality and handled in
    another)."""

    code = "invalid-session"


class SessionStateError(InvalidTransitionError):
    """The session is not in a state that allows this step (or another is still live)."""

    code = "session-state"


class RequestNotOpenError(InvalidTransitionError):
    """The request is decided, withdrawn or not yet at the receiving window: no session."""

    code = "request-not-open"


class WrongOfficeError(InvalidTransitionError):
    """The caller's office is one of the session's, but not the one this step is for."""

    code = "wrong-office"


class SlotTakenError(InvalidTransitionError):
    """Another live session of the handling or the receiving office meets the slot."""

    code = "slot-taken"


class SessionNotFoundError(DomainError):
    code = "session-not-found"
