"""Office commands: one per step an office takes on one service request (frozen dataclasses)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from domain.kernel.answers import AnswerKey
from domain.kernel.window_values import WindowOffice


@dataclass(frozen=True)
class Receive:
    """The receiving window accepts the request under its receipt number (受理)."""

    service_request_id: UUID
    officer: str
    receipt_number: str
    answer: AnswerKey | None = None  # sent with an Idempotency-Key: recorded with it


@dataclass(frozen=True)
class RequestSupplement:
    """The office names every missing item at once (一次性告知); a second notice in one
    reception names its `reason` (facts corrected since the family's answer)."""

    service_request_id: UUID
    officer: str
    items: tuple[str, ...]
    reason: str = ""
    answer: AnswerKey | None = None  # sent with an Idempotency-Key: recorded with it


@dataclass(frozen=True)
class EvidenceRef:
    """A reference to evidence already stored (its id, and its SHA-256 when known)."""

    id: str
    sha256: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "sha256": self.sha256} if self.sha256 else {"id": self.id}


@dataclass(frozen=True)
class Supplement:
    """The family (or an office for them) hands in the missing items, with references to
    evidence already stored."""

    service_request_id: UUID
    officer: str
    items: tuple[str, ...]
    evidence: tuple[EvidenceRef, ...] = ()
    answer: AnswerKey | None = None  # sent with an Idempotency-Key: recorded with it


@dataclass(frozen=True)
class Approve:
    """The handling office approves with its result: one field, as sent (checked on approval)."""

    service_request_id: UUID
    officer: str
    result: Mapping[str, object]
    answer: AnswerKey | None = None  # sent with an Idempotency-Key: recorded with it


@dataclass(frozen=True)
class Reject:
    """The handling office refuses, naming its reason and legal basis."""

    service_request_id: UUID
    officer: str
    reason: str
    basis: str  # the legal basis: required (old stored rejections may hold "")
    answer: AnswerKey | None = None  # sent with an Idempotency-Key: recorded with it


@dataclass(frozen=True)
class Resubmit:
    """The family (or an office for it) resubmits a rejected request: a new one, linked."""

    service_request_id: UUID
    officer: str  # who resubmits: "family:<case>" or an office's "office:<actor>"
    answer: AnswerKey | None = None  # sent with an Idempotency-Key: recorded with it


@dataclass(frozen=True)
class ApproveCorrection:
    """The deciding office approves a correction: its result re-issued (the same or a new
    one), checked against the corrected facts."""

    service_request_id: UUID
    officer: str
    result: Mapping[str, object]
    answer: AnswerKey | None = None  # sent with an Idempotency-Key: recorded with it


@dataclass(frozen=True)
class RejectCorrection:
    """The deciding office keeps its decision on the old facts, naming its reason."""

    service_request_id: UUID
    officer: str
    reason: str
    answer: AnswerKey | None = None  # sent with an Idempotency-Key: recorded with it


@dataclass(frozen=True)
class Revoke:
    """The office that issued a result revokes it: the case was voided."""

    service_request_id: UUID
    officer: str
    answer: AnswerKey | None = None  # sent with an Idempotency-Key: recorded with it


OfficeCommand = (
    Receive
    | RequestSupplement
    | Supplement
    | Approve
    | Reject
    | Resubmit
    | ApproveCorrection
    | RejectCorrection
    | Revoke
)


@dataclass(frozen=True)
class RouteRequest:
    """A coordinator of the routing desk routes a request no agreement or list routes."""

    service_request_id: UUID
    coordinator: str
    handling_locality: str
    receiving_locality: str
    mode: str
    reason: str


@dataclass(frozen=True)
class BookSession:
    """The receiving office books a remote virtual window session with the handling office
    for a request (domain/kernel/remote_window.py): the slot as ISO times."""

    service_request_id: UUID
    office: WindowOffice  # the caller's office (locality and authority)
    by: str
    starts_at: str
    ends_at: str
    note: str = ""


SESSION_ACTIONS = ("start", "join", "end", "cancel")


@dataclass(frozen=True)
class SessionStep:
    """A step on a session: start, join (as `party`), end (with its `text`: the outcome) or
    cancel (its `text`: the reason)."""

    session_id: UUID
    action: str
    office: WindowOffice
    by: str
    party: str = ""
    text: str = ""
