"""Births commands: what a hospital or a family asks the ledger to do (frozen dataclasses).

The offices' commands are the kernel's (domain/kernel/commands.py)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.births.facts import BirthFacts
from domain.kernel.commands import EvidenceRef
from domain.kernel.rating import RateService as RateService  # the kernel's: any wing's case


@dataclass(frozen=True)
class NotifyBirth:
    """A hospital birth notification (message id = idempotency key)."""

    message_id: str
    facts: BirthFacts
    raw_message: bytes = b""


@dataclass(frozen=True)
class CorrectNotification:
    """A hospital update: the whole record again, with corrected facts."""

    message_id: str
    facts: BirthFacts
    raw_message: bytes = b""


@dataclass(frozen=True)
class VoidNotification:
    """A hospital void (entered in error) of the record it sent."""

    message_id: str
    facility_uscc: str
    record_ref: str
    reason: str = "entered-in-error"
    raw_message: bytes = b""


@dataclass(frozen=True)
class ApplyAsFamily:
    """The family's one application: name, whose household, residence, insured place, consent."""

    case_id: UUID
    child_name: str
    household: str
    residence_division: str
    insured_division: str | None
    consent: bool
    contact_phone: str | None = None
    mother_insured_division: str | None = None  # the county of the mother's insurance
    mother_insured: bool = False  # she is insured there: maternity benefits are planned
    evidence: tuple[EvidenceRef, ...] = ()  # sent again to correct it: evidence already stored


@dataclass(frozen=True)
class CloseCase:
    """End a case whose remaining services cannot proceed (after a rejection)."""

    case_id: UUID
    by: str  # "family", or "deadline" when its window lapsed
    reason: str = ""
