"""HospitalMessage aggregate: the inbox record that makes each hospital message idempotent."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

MESSAGE_NAMESPACE = uuid5(NAMESPACE_URL, "https://newborn-ledger.org/hospital-messages")


class HospitalMessage(Aggregate):
    """One accepted hospital message, kept as evidence and as the idempotency key.

    Saved in the same transaction as the case events it caused, so a message is either
    wholly recorded (and answered the same way forever after) or not at all.
    """

    class Accepted(Aggregate.Created):
        facility_uscc: str
        message_id: str
        kind: str
        case_id: UUID
        raw_message: str

    @staticmethod
    def create_id(facility_uscc: str, message_id: str) -> UUID:
        return uuid5(MESSAGE_NAMESPACE, f"{facility_uscc}:{message_id}")

    @event(Accepted)
    def __init__(
        self, facility_uscc: str, message_id: str, kind: str, case_id: UUID, raw_message: str
    ) -> None:
        self.facility_uscc = facility_uscc
        self.message_id = message_id
        self.kind = kind
        self.case_id = case_id
        self.raw_message = raw_message
