"""Hospital messages on the CaseLedger: notify, correct and void, each exactly once.

A message is written first, in one transaction with the case events it causes: the stores'
unique (aggregate id, version) keys detect a repeat or a conflict, and only then is anything
read back. A first notification costs one insert and no read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.births.birth_case import ENDED, BirthCase
from domain.births.commands import CorrectNotification, NotifyBirth, VoidNotification
from domain.births.facts import changed_facts
from domain.births.hospital_message import HospitalMessage, content_digest
from domain.kernel.errors import (
    CaseNotFoundError,
    DomainError,
    MessageIdReusedError,
    NotificationConflictError,
)
from domain.kernel.reads import aggregate_of

A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class MessageOutcome:
    """What a hospital message led to; a repeated message gets the very same outcome."""

    case_id: UUID
    tracking_code: str
    kind: str
    repeated: bool
    accepted_at: datetime


@dataclass(frozen=True)
class _Message:
    """The identity and meaning of one hospital message, as the idempotency check needs them."""

    facility_uscc: str
    message_id: str
    kind: str
    digest: str
    raw: str

    @classmethod
    def of(cls, cmd: NotifyBirth | CorrectNotification | VoidNotification) -> _Message:
        if isinstance(cmd, VoidNotification):
            facility, kind = cmd.facility_uscc, "void"
            content: dict[str, Any] = {"record_ref": cmd.record_ref, "reason": cmd.reason}
        else:
            facility = cmd.facts.facility_uscc
            kind = "notify" if isinstance(cmd, NotifyBirth) else "update"
            content = cmd.facts.to_dict()
        raw = cmd.raw_message.decode("utf-8", "replace")
        return cls(facility, cmd.message_id, kind, content_digest(kind, content), raw)


@dataclass(frozen=True)
class Revocations:
    """The offices ("<authority> <locality>") asked to revoke their results, by when, and
    their requests (to be saved with the void)."""

    offices: list[str]
    due: str
    requests: list[Aggregate]


class _NotRecordedError(Exception):
    """The message collided with a record that is not the same message."""


def _concurrent_change(case_id: UUID) -> NotificationConflictError:
    return NotificationConflictError(
        "A concurrent message changed this case; send it again", case_id=str(case_id)
    )


class HospitalIntake(Application[UUID]):
    """The hospital commands and the reads they share with the rest of the CaseLedger."""

    tracking_codes: Callable[[], str]

    def notify_birth(self, cmd: NotifyBirth) -> MessageOutcome:
        facts = cmd.facts
        case = BirthCase(
            facts.facility_uscc,
            facts.record_ref,
            self.tracking_codes(),
            cmd.message_id,
            facts,
        )
        try:
            return self._record_message(case, _Message.of(cmd))
        except _NotRecordedError:
            if case.id not in self.repository:
                raise _concurrent_change(case.id) from None
            raise NotificationConflictError(
                "A case already exists for this birth record; send an update to change it",
                record_ref=facts.record_ref,
            ) from None

    def correct_notification(self, cmd: CorrectNotification) -> MessageOutcome:
        facts = cmd.facts
        try:
            case = self.get_case(BirthCase.create_id(facts.facility_uscc, facts.record_ref))
            case.correct(cmd.message_id, facts, changed_facts(case.facts, facts))
        except DomainError as refused:
            return self._first_answer(_Message.of(cmd), refused)
        return self._record_change(case, _Message.of(cmd))

    def void_notification(self, cmd: VoidNotification) -> MessageOutcome:
        """Voided; after approvals, voiding until each office revoked its result: the case
        and the revocation requests are recorded together, so the case names who must act."""
        try:
            case = self.get_case(BirthCase.create_id(cmd.facility_uscc, cmd.record_ref))
            asked = Revocations([], "", [])
            if case.state not in ENDED:
                asked = self.request_revocations(case.id, case.planned_services, cmd.reason)
            case.void(cmd.message_id, cmd.reason, asked.offices, asked.due)
        except DomainError as refused:
            return self._first_answer(_Message.of(cmd), refused)
        return self._record_change(case, _Message.of(cmd), *asked.requests)

    def request_revocations(self, case_id: UUID, services: list[str], reason: str) -> Revocations:
        """Each request of the case whose office issued a result, asked to revoke it (the
        CaseLedger's: it knows the requests and the calendar)."""
        raise NotImplementedError

    def _first_answer(self, sent: _Message, refused: DomainError) -> MessageOutcome:
        """A repeat keeps its first answer, whatever the case is now; else the refusal stands."""
        repeated = self._repeated(sent)
        if repeated is None:
            raise refused
        return repeated

    def _repeated(self, sent: _Message) -> MessageOutcome | None:
        """The first answer to a resend of `sent`; None if its id was never used; refused
        (MessageIdReusedError) if the id was used for another message."""
        message_key = HospitalMessage.create_id(sent.facility_uscc, sent.message_id)
        try:
            message = self._get(HospitalMessage, message_key)
        except AggregateNotFoundError:
            return None
        if message.kind != sent.kind or not message.is_same_message(sent.digest, sent.raw):
            raise MessageIdReusedError(
                f"Message id {sent.message_id!r} was already used by this facility for another "
                f"message ({message.kind}, {message.created_on.date().isoformat()}): "
                "give every new message its own MessageHeader.id",
                message_id=sent.message_id,
            )
        case = self.get_case(message.case_id)
        return MessageOutcome(
            case.id, case.tracking_code, message.kind, repeated=True, accepted_at=message.created_on
        )

    def _record_change(self, case: BirthCase, sent: _Message, *others: Aggregate) -> MessageOutcome:
        try:
            return self._record_message(case, sent, *others)
        except _NotRecordedError:
            raise _concurrent_change(case.id) from None

    def _record_message(
        self, case: BirthCase, sent: _Message, *others: Aggregate
    ) -> MessageOutcome:
        """Save the case and the message; a repeat (a concurrent copy too) gets its first
        answer, a reused id is refused; any other collision raises _NotRecordedError for the
        caller to explain."""
        message = HospitalMessage(
            case.facility_uscc, sent.message_id, sent.kind, case.id, sent.raw, sent.digest
        )
        try:
            self.save(case, message, *others)
        except IntegrityError:
            repeated = self._repeated(sent)
            if repeated is None:
                raise _NotRecordedError from None
            return repeated
        return MessageOutcome(
            case.id, case.tracking_code, sent.kind, repeated=False, accepted_at=message.created_on
        )

    def hospital_message(self, facility_uscc: str, message_id: str) -> HospitalMessage:
        return self._get(HospitalMessage, HospitalMessage.create_id(facility_uscc, message_id))

    # --- reads --------------------------------------------------------------------------
    def get_case(self, case_id: UUID) -> BirthCase:
        try:
            return self._get(BirthCase, case_id)
        except AggregateNotFoundError:
            raise CaseNotFoundError("No such case", case_id=str(case_id)) from None

    def _get(self, cls: type[A], aggregate_id: UUID) -> A:
        return aggregate_of(self.repository, cls, aggregate_id)
