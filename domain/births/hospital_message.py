"""HospitalMessage aggregate: the inbox record that makes each hospital message idempotent."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.kernel.topics import stored_as

MESSAGE_NAMESPACE = uuid5(NAMESPACE_URL, "https://newborn-ledger.org/hospital-messages")


def content_digest(kind: str, content: dict[str, Any]) -> str:
    """What a hospital message means, as a SHA-256 of its kind and content in canonical JSON:
    a resend that re-serialises the same message (another Bundle.timestamp, other spacing)
    has the same digest; the same message id with another child, or other facts, does not."""
    canonical = json.dumps(
        [kind, content], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@stored_as("domain.hospital_message")
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
        content_digest: str  # "" for messages recorded before digests: compare raw_message

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["content_digest"] = ""

    @staticmethod
    def create_id(facility_uscc: str, message_id: str) -> UUID:
        return uuid5(MESSAGE_NAMESPACE, f"{facility_uscc}:{message_id}")

    @event(Accepted)
    def __init__(
        self,
        facility_uscc: str,
        message_id: str,
        kind: str,
        case_id: UUID,
        raw_message: str,
        content_digest: str,
    ) -> None:
        self.facility_uscc = facility_uscc
        self.message_id = message_id
        self.kind = kind
        self.case_id = case_id
        self.raw_message = raw_message
        self.content_digest = content_digest

    def is_same_message(self, digest: str, raw_message: str) -> bool:
        """A resend of this message: the same meaning (digest) or, for a message recorded
        before digests were kept, the very same text."""
        if self.content_digest:
            return self.content_digest == digest or self.raw_message == raw_message
        return self.raw_message == raw_message
