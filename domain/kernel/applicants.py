"""Cases a person opens (not a hospital): how the applicant's identity was checked, how the
applicant signs in to follow the case, and how the kernel finds the case by its tracking code.

A wing whose cases an applicant opens (marriage registration, an ID card) records on its
creation event an `IdentityCheck`: "online", the applicant declared who they are (the
receiving office checks the person when it receives the request), or "window", a clerk
checked the document in person (the clerk's actor id and office are recorded). The case
carries a tracking code and answers `holds_verifier` the way a births case does for the
mother (the last 6 of an applicant's citizen ID, or a phone), so `POST /track` signs an
applicant in exactly as it signs in a family: a token of role `family` scoped to the case.
The wing names the creation events (`Wing.opened`) and reads each as an `Opening`; the
`applicant_cases` view (projections/applicant_cases.py) indexes their tracking codes.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import Transcoding

from domain.kernel.errors import DomainError

TRACKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
TRACKING_LENGTH = 12
METHODS = ("online", "window")
DOCUMENTS = ("resident-id-card", "temporary-id-card", "household-register", "passport")


def new_tracking_code() -> str:
    """An unguessable tracking code (a family's, an applicant's): 12 characters of a 32-letter
    alphabet (60 bits), each letter 5 of the bits of one draw from the OS's CSPRNG (one call,
    not one per letter)."""
    bits = secrets.randbits(5 * TRACKING_LENGTH)
    return "".join(TRACKING_ALPHABET[(bits >> (5 * i)) & 31] for i in range(TRACKING_LENGTH))


class IdentityCheckError(DomainError):
    code = "invalid-identity-check"


@dataclass(frozen=True)
class IdentityCheck:
    """How the applicant's identity was checked when the case was opened.

    method: "online" (declared by the applicant; checked in person at receipt) or "window"
    (checked by `checked_by`, a clerk of `office`, "<locality>:<authority>", on `document`).
    """

    method: str
    document: str
    checked_by: str | None = None
    office: str | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise IdentityCheckError(
                f"An identity check's method is one of {', '.join(METHODS)}", field="method"
            )
        if self.document not in DOCUMENTS:
            raise IdentityCheckError(
                f"The identity document is one of {', '.join(DOCUMENTS)}", field="document"
            )
        window = self.method == "window"
        if window != (self.checked_by is not None) or window != (self.office is not None):
            raise IdentityCheckError(
                "A window check names the clerk and the office; an online one names neither",
                field="checked_by",
            )

    @classmethod
    def online(cls, document: str = "resident-id-card") -> IdentityCheck:
        return cls("online", document)

    @classmethod
    def at_window(
        cls, clerk: str, locality: str, authority: str, document: str = "resident-id-card"
    ) -> IdentityCheck:
        return cls("window", document, clerk, f"{locality}:{authority}")

    def to_dict(self) -> dict[str, str | None]:
        return {
            "method": self.method,
            "document": self.document,
            "checked_by": self.checked_by,
            "office": self.office,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IdentityCheck:
        return cls(data["method"], data["document"], data.get("checked_by"), data.get("office"))


class IdentityCheckAsDict(Transcoding):
    type = IdentityCheck
    name = "identity_check"

    def encode(self, obj: IdentityCheck) -> dict[str, str | None]:
        return obj.to_dict()

    def decode(self, data: Any) -> IdentityCheck:
        return IdentityCheck.from_dict(data)


@runtime_checkable
class ApplicantCase(Protocol):
    """A case an applicant opened: its tracking code, and whether a verifier is an
    applicant's (domain.kernel.access.holds_verifier for each applicant)."""

    @property
    def tracking_code(self) -> str: ...

    def holds_verifier(self, verifier: str) -> bool: ...


@dataclass(frozen=True)
class Opening:
    """A creation event of an applicant-opened case, as the tracking index reads it: the
    case, its tracking code, its kind and the county where it was opened (its home)."""

    case_id: UUID
    tracking_code: str
    kind: str
    home: str
