"""IdCardCase: one resident's application for a resident ID card at a police window.

The applicant appears in person (photo and fingerprints are taken at the window), so a case
is always opened by a window clerk, who records the identity check; there is no online
opening. The window's county is the applying place; the hukou county decides and makes the
card."""

from __future__ import annotations

from enum import StrEnum

from eventsourcing.domain import Aggregate, event

from domain.kernel.access import holds_verifier
from domain.kernel.applicants import IdentityCheck
from domain.kernel.disclosure import Disclosable
from domain.kernel.errors import CaseClosedError
from domain.kernel.rating import BAD_RATING, RatedUnit, check_follow_up, check_rating

REASONS = ("first", "renewal", "replacement")  # 首次申领, 到期换领, 遗失/损坏补领


class IdCardState(StrEnum):
    APPLIED = "applied"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    CLOSED = "closed"


class IdCardCase(Aggregate):
    class Applied(Aggregate.Created):
        name: str
        citizen_id: str
        phone: str | None
        hukou_division: str
        applying_division: str
        reason: str
        temporary: bool
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
        name: str,
        citizen_id: str,
        phone: str | None,
        hukou_division: str,
        applying_division: str,
        reason: str,
        temporary: bool,
        tracking_code: str,
        identity: IdentityCheck,
    ) -> None:
        self.name, self.citizen_id, self.phone = name, citizen_id, phone
        self.hukou_division, self.applying_division = hukou_division, applying_division
        self.reason, self.temporary, self.tracking_code = reason, temporary, tracking_code
        self.identity = identity  # a window check: the clerk, the office, the document
        self.planned_services: list[str] = []
        self.state = IdCardState.APPLIED
        self.closed_by: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state not in (IdCardState.COMPLETED, IdCardState.CLOSED)

    def holds_verifier(self, verifier: str) -> bool:
        """The applicant proves it is theirs with the last 6 of the citizen ID or the phone."""
        return holds_verifier(self.citizen_id, self.phone, verifier)

    def disclosed(self, name: str) -> Disclosable | None:
        values: dict[str, Disclosable | None] = {
            "applicant.name": self.name,
            "applicant.citizen_id": self.citizen_id,
            "applicant.phone": self.phone,
            "hukou_division": self.hukou_division,
            "applying_division": self.applying_division,
            "reason": self.reason,
        }
        return values.get(name)

    def plan(self, services: list[str], catalog_version: str, alliance_version: str) -> None:
        if not self.is_open:
            raise CaseClosedError(f"The case is {self.state}", case_id=str(self.id))
        if services != self.planned_services:
            self._planned(
                services=services,
                catalog_version=catalog_version,
                alliance_version=alliance_version,
            )

    def complete(self) -> None:
        if self.is_open:
            self._completed()

    def close(self, by: str, reason: str) -> None:
        """The case ends short of the card (after a rejection, by the applicant or when the
        window to act on it lapsed)."""
        if not self.is_open:
            raise CaseClosedError(f"The case is {self.state}", case_id=str(self.id))
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

    @event(ServicesPlanned)
    def _planned(self, services: list[str], catalog_version: str, alliance_version: str) -> None:
        self.planned_services = services
        self.state = IdCardState.IN_PROGRESS

    @event(Completed)
    def _completed(self) -> None:
        self.state = IdCardState.COMPLETED

    @event(Closed)
    def _closed(self, by: str, reason: str) -> None:
        self.state = IdCardState.CLOSED
        self.closed_by = by

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
