"""MarriageCase: two applicants' case, opened by them (online or at a window), not by a
hospital. Its creation event is the case's opening; the kernel plans, routes and completes it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Transcoding

from domain.kernel.access import holds_verifier
from domain.kernel.applicants import IdentityCheck
from domain.kernel.disclosure import Disclosable
from domain.kernel.errors import CaseClosedError
from domain.kernel.rating import BAD_RATING, RatedUnit, check_follow_up, check_rating

# Where the couple registers (婚姻登记条例 Art. 4; the 2023 pilot adds the residence permit)
PARTY_A_HUKOU, PARTY_B_HUKOU, RESIDENCE_PERMIT = (
    "party-a-hukou",
    "party-b-hukou",
    "residence-permit",
)
REGISTRATION_PLACES = (PARTY_A_HUKOU, PARTY_B_HUKOU, RESIDENCE_PERMIT)


@dataclass(frozen=True)
class Party:
    """One of the two applicants, as the form gave them (checked by services.py)."""

    name: str
    citizen_id: str
    hukou_division: str
    residence_division: str
    phone: str | None = None


class PartyAsDict(Transcoding):
    type = Party
    name = "marriage_party"

    def encode(self, obj: Party) -> dict[str, str | None]:
        return {
            "name": obj.name,
            "citizen_id": obj.citizen_id,
            "hukou_division": obj.hukou_division,
            "residence_division": obj.residence_division,
            "phone": obj.phone,
        }

    def decode(self, data: Any) -> Party:
        return Party(
            data["name"],
            data["citizen_id"],
            data["hukou_division"],
            data["residence_division"],
            data.get("phone"),
        )


class MarriageState(StrEnum):
    APPLIED = "applied"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    CLOSED = "closed"  # a check or the registration was refused and the couple closed it


class MarriageCase(Aggregate):
    class Applied(Aggregate.Created):
        party_a: Party
        party_b: Party
        registration_place: str
        registration_division: str
        tracking_code: str
        identity: IdentityCheck

    class ServicesPlanned(Aggregate.Event):
        services: list[str]
        catalog_version: str
        alliance_version: str

    class Completed(Aggregate.Event):
        pass

    class Closed(Aggregate.Event):
        by: str
        reason: str

    class Rated(Aggregate.Event):
        """The applicant's rating, with the unit that answers for it (domain/kernel/rating.py)
        and, for a bad one, the due date of its call-back ("": none due)."""

        score: int
        comment: str
        service: str
        authority: str
        locality: str
        due: str

    class CalledBack(Aggregate.Event):
        """The rated unit's office or a monitor of its locality called the applicant back
        about a bad rating (the case has ended: this changes no state of it)."""

        by: str
        outcome: str
        note: str

    # the rating (snapshots taken before cases were rated lack these: the defaults)
    rating: int | None = None
    rating_comment: str | None = ""
    rated_parts: tuple[str, str, str] | None = None  # service, authority, locality
    call_back_due: str = ""  # a bad rating's call-back is due then
    called_back: int = 0  # call-backs recorded

    @event(Applied)
    def __init__(
        self,
        party_a: Party,
        party_b: Party,
        registration_place: str,
        registration_division: str,
        tracking_code: str,
        identity: IdentityCheck,
    ) -> None:
        self.party_a, self.party_b = party_a, party_b
        self.registration_place = registration_place
        self.registration_division = registration_division
        self.tracking_code = tracking_code
        self.identity = identity
        self.planned_services: list[str] = []
        self.state = MarriageState.APPLIED

    @property
    def is_open(self) -> bool:
        return self.state not in (MarriageState.COMPLETED, MarriageState.CLOSED)

    def holds_verifier(self, verifier: str) -> bool:
        """Either applicant proves it is theirs: the last 6 of a citizen ID, or a phone (the
        family sign-in's rule)."""
        return any(
            holds_verifier(p.citizen_id, p.phone, verifier) for p in (self.party_a, self.party_b)
        )

    def disclosed(self, name: str) -> Disclosable | None:
        """A field an office may be shown (the catalog says which office sees which)."""
        who, _, attribute = name.partition(".")
        if who in ("party_a", "party_b") and attribute:
            party: Party = getattr(self, who)
            value = getattr(party, attribute, None)
            return value if isinstance(value, str) else None
        values = {
            "registration_place": self.registration_place,
            "registration_division": self.registration_division,
            "identity_check.method": self.identity.method,
            "identity_check.document": self.identity.document,
        }
        return values.get(name)

    def plan(self, services: list[str], catalog_version: str, alliance_version: str) -> None:
        self._require_open()
        if services != self.planned_services:
            self._planned(
                services=services,
                catalog_version=catalog_version,
                alliance_version=alliance_version,
            )

    def complete(self) -> None:
        if self.state != MarriageState.COMPLETED:
            self._require_open()
            self._completed()

    def close(self, by: str, reason: str) -> None:
        """End the case short of registration (a check or the registration was refused)."""
        if self.state != MarriageState.CLOSED:
            self._require_open()
            self._closed(by=by, reason=reason)

    @property
    def rated_unit(self) -> RatedUnit | None:
        """The unit that answers for the rating (kept as plain values: snapshots store it)."""
        return None if not self.rated_parts else RatedUnit(*self.rated_parts)

    def rate(self, score: int, comment: str, unit: RatedUnit | None = None, due: str = "") -> None:
        """Rated once, ended; `unit` answers for it and `due` is a bad rating's call-back."""
        check_rating(not self.is_open, self.state, self.rating, score)
        named = unit or RatedUnit("", "", "")
        self._rated(
            score=score,
            comment=comment,
            service=named.service,
            authority=named.authority,
            locality=named.locality,
            due=due if score <= BAD_RATING else "",
        )

    def call_back(self, by: str, outcome: str, note: str) -> None:
        """The call-back about a bad rating (after the case ended)."""
        check_follow_up(self.id, self.rating)
        self._called_back(by=by, outcome=outcome, note=note)

    def _require_open(self) -> None:
        if not self.is_open:
            raise CaseClosedError(f"The case is {self.state}", case_id=str(self.id))

    @event(ServicesPlanned)
    def _planned(self, services: list[str], catalog_version: str, alliance_version: str) -> None:
        self.planned_services = services
        self.state = MarriageState.IN_PROGRESS

    @event(Completed)
    def _completed(self) -> None:
        self.state = MarriageState.COMPLETED

    @event(Closed)
    def _closed(self, by: str, reason: str) -> None:
        self.state = MarriageState.CLOSED

    @event(Rated)
    def _rated(
        self, score: int, comment: str, service: str, authority: str, locality: str, due: str
    ) -> None:
        self.rating, self.rating_comment = score, comment
        self.rated_parts = (service, authority, locality) if service else None
        self.call_back_due = due

    @event(CalledBack)
    def _called_back(self, by: str, outcome: str, note: str) -> None:
        self.called_back += 1
