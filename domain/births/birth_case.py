"""BirthCase aggregate: one newborn's case, opened from one hospital birth notification."""

from __future__ import annotations

from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.births.facts import BirthFacts, fact_reader
from domain.births.family_application import CHOICES, FamilyApplication
from domain.births.transcodings import BIRTH_FACTS, FAMILY_APPLICATION
from domain.kernel.disclosure import Disclosable
from domain.kernel.errors import CaseClosedError
from domain.kernel.rating import BAD_RATING, RatedUnit, check_follow_up, check_rating
from domain.kernel.topics import stored_as

CASE_NAMESPACE = uuid5(NAMESPACE_URL, "https://newborn-ledger.org/birth-cases")


class CaseState(StrEnum):
    """A case's states: stored and compared as the very strings they were before."""

    NOTIFIED = "notified"
    APPLIED = "applied"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    VOIDED = "voided"
    CLOSED = "closed"  # ended short of completion: what was issued stays issued
    VOIDING = "voiding"


ENDED = (CaseState.VOIDED, CaseState.VOIDING)  # voided, or its offices revoking their results


def _cited(ref: dict[str, str]) -> str:
    """A reference to stored evidence as offices read it: its id, and its hash if known."""
    return f"{ref['id']} (sha256 {ref['sha256']})" if ref.get("sha256") else ref["id"]


def family_correction(version: int) -> str:
    """How the saga names the family's correction recorded at the case's `version`."""
    return f"family@{version}"


def _revive_facts(state: dict[str, object]) -> None:
    """Version 1 stored the facts as a dict (what the transcoding writes inside its mark)."""
    state["facts"] = BIRTH_FACTS.decode(state["facts"])


@stored_as("domain.birth_case")
class BirthCase(Aggregate):
    """The family's single case: the birth facts, their choices and the overall outcome.

    Each registration lives in its own ServiceRequest stream, so that five offices can act
    at once without conflicting on this one.
    """

    # snapshots of version 1 hold the facts and the application as dicts; those of version 2
    # may predate the rating's comment, unit and call-backs
    class_version = 3

    @staticmethod
    def upcast_v1_v2(state: dict[str, object]) -> None:
        _revive_facts(state)
        if state.get("application") is not None:
            state["application"] = FAMILY_APPLICATION.decode(state["application"])

    @staticmethod
    def upcast_v2_v3(state: dict[str, object]) -> None:
        """A case rated before cases kept the rating's comment: the snapshot lacks it, so it
        is None, read from the Rated event (RatingCommands.rating_comment). That rating was
        of version 1: it named no unit, and no call-back was due or made by then."""
        if state.get("rating") is not None and "rating_comment" not in state:
            state.update(rating_comment=None, rated_unit=None, call_back_due="", called_back=0)

    class Notified(Aggregate.Created):
        facility_uscc: str
        record_ref: str
        tracking_code: str
        message_id: str
        facts: BirthFacts

        class_version = 2
        upcast_v1_v2 = staticmethod(_revive_facts)

    class NotificationCorrected(Aggregate.Event):
        message_id: str
        facts: BirthFacts
        changed: list[str]

        class_version = 2
        upcast_v1_v2 = staticmethod(_revive_facts)

    class Voided(Aggregate.Event):
        message_id: str
        reason: str

    class FamilyApplied(Aggregate.Event):
        application: FamilyApplication

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["application"] = FAMILY_APPLICATION.decode(state["application"])

    class ServicesPlanned(Aggregate.Event):
        services: list[str]
        catalog_version: str
        alliance_version: str

    class Completed(Aggregate.Event):
        pass

    class Rated(Aggregate.Event):
        """The family's rating, with the unit that answers for it (domain/kernel/rating.py)
        and, for a bad one, the due date of its call-back ("": none due, or version 1)."""

        score: int
        comment: str
        service: str
        authority: str
        locality: str
        due: str

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state.update(service="", authority="", locality="", due="")

    class CalledBack(Aggregate.Event):
        """The rated unit's office or a monitor of its locality called the family back about
        a bad rating (the case may have ended: this changes no state of it)."""

        by: str
        outcome: str
        note: str

    class Closed(Aggregate.Event):
        """Ended without every service: by the family, or by its lapsed window to act."""

        by: str  # "family", or "deadline" when the window lapsed
        reason: str

    class VoidRequested(Aggregate.Event):
        """Voided after offices issued results: each is to revoke its own by `due`."""

        message_id: str
        reason: str
        offices: list[str]
        due: str

    class VoidFinished(Aggregate.Event):
        """Every office that issued a result revoked it."""

    class FamilyCorrected(Aggregate.Event):
        """The family sent its application again with other values, and its evidence."""

        application: FamilyApplication
        changed: list[str]
        evidence: list[dict[str, str]]  # references to evidence already stored: id, sha256

    awaiting_revocation: tuple[str, ...] = ()  # the offices a void waits for (snapshots lack it)
    revocation_due: str | None = None
    family_evidence: tuple[tuple[str, str], ...] = ()  # (correction, evidence) of the family
    rated_unit: RatedUnit | None = None  # who answers for the rating (snapshots lack it)
    rating_comment: str | None = ""  # None: not in the snapshot the case was loaded from
    call_back_due: str = ""  # a bad rating's call-back is due then
    called_back: int = 0  # call-backs recorded

    @staticmethod
    def create_id(facility_uscc: str, record_ref: str) -> UUID:
        return uuid5(CASE_NAMESPACE, f"{facility_uscc}:{record_ref}")

    @event(Notified)
    def __init__(
        self,
        facility_uscc: str,
        record_ref: str,
        tracking_code: str,
        message_id: str,
        facts: BirthFacts,
    ) -> None:
        self.facility_uscc = facility_uscc
        self.record_ref = record_ref
        self.tracking_code = tracking_code
        self.message_ids = [message_id]
        self.facts = facts
        self.application: FamilyApplication | None = None
        self.planned_services: list[str] = []
        self.state = CaseState.NOTIFIED
        self.rating: int | None = None

    @property
    def is_open(self) -> bool:
        return self.state not in (*ENDED, CaseState.COMPLETED, CaseState.CLOSED)

    def disclosed(self, name: str) -> Disclosable | None:
        """A field an office may be shown: the family's choice if made, else the birth fact."""
        application = self.application
        if application is not None and name in CHOICES:
            chosen: str | None = getattr(application, name)
            if chosen is not None:
                return chosen
        return fact_reader(name)(self.facts)

    def correct(self, message_id: str, facts: BirthFacts, changed: list[str]) -> None:
        """Corrected facts; after a decision (a completed case too) they reach the deciding
        offices as correction requests (domain/kernel/saga.py)."""
        self._require_not_voided()
        if message_id not in self.message_ids and changed:
            self._corrected(message_id=message_id, facts=facts, changed=changed)

    def void(
        self, message_id: str, reason: str, offices: list[str] | None = None, due: str = ""
    ) -> None:
        """Voided; when `offices` issued results, voiding until each has revoked its own."""
        if self.state in ENDED:
            return
        if offices:
            self._void_requested(message_id=message_id, reason=reason, offices=offices, due=due)
        else:
            self._voided(message_id=message_id, reason=reason)

    def correct_application(
        self, application: FamilyApplication, evidence: list[dict[str, str]]
    ) -> None:
        """The family's correction of its application (a completed case's too)."""
        self._require_not_voided()
        previous = self.application
        if previous is None or application == previous:
            return
        changed = [n for n in sorted(CHOICES) if getattr(previous, n) != getattr(application, n)]
        self._family_corrected(application=application, changed=changed, evidence=evidence)

    def evidence_of(self, correction: str) -> str:
        """What a correction rests on: the hospital's message id, or the family's evidence."""
        return dict(self.family_evidence).get(correction, correction)

    def finish_void(self) -> None:
        """Every office that issued a result revoked it: the case is voided."""
        if self.state == CaseState.VOIDING:
            self._void_finished()

    def apply(self, application: FamilyApplication) -> None:
        self._require_open()
        if application != self.application:
            self._applied(application=application)

    def plan(self, services: list[str], catalog_version: str, alliance_version: str) -> None:
        self._require_open()
        if services != self.planned_services:
            self._planned(
                services=services,
                catalog_version=catalog_version,
                alliance_version=alliance_version,
            )

    def complete(self) -> None:
        if self.state != CaseState.COMPLETED:
            self._require_open()
            self._completed()

    def close(self, by: str, reason: str) -> None:
        """End the case short of completion (the rest of it cannot proceed)."""
        if self.state != CaseState.CLOSED:
            self._require_open()
            self._closed(by=by, reason=reason)

    def rate(self, score: int, comment: str, unit: RatedUnit | None = None, due: str = "") -> None:
        """Rated once, ended; `unit` answers for it and `due` is a bad rating's call-back."""
        ended = self.state in (CaseState.COMPLETED, CaseState.CLOSED)
        check_rating(ended, self.state, self.rating, score)
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
        """The call-back about a bad rating, in any state (after the case ended too)."""
        check_follow_up(self.id, self.rating)
        self._called_back(by=by, outcome=outcome, note=note)

    def _require_not_voided(self) -> None:
        if self.state in ENDED:
            raise CaseClosedError(f"The case is {self.state}", case_id=str(self.id))

    def _require_open(self) -> None:
        if not self.is_open:
            raise CaseClosedError(f"The case is {self.state}", case_id=str(self.id))

    @event(NotificationCorrected)
    def _corrected(self, message_id: str, facts: BirthFacts, changed: list[str]) -> None:
        self.message_ids.append(message_id)
        self.facts = facts

    @event(Voided)
    def _voided(self, message_id: str, reason: str) -> None:
        self.message_ids.append(message_id)
        self.state = CaseState.VOIDED

    @event(VoidRequested)
    def _void_requested(self, message_id: str, reason: str, offices: list[str], due: str) -> None:
        self.message_ids.append(message_id)
        self.awaiting_revocation, self.revocation_due = tuple(offices), due
        self.state = CaseState.VOIDING

    @event(VoidFinished)
    def _void_finished(self) -> None:
        self.awaiting_revocation = ()
        self.state = CaseState.VOIDED

    @event(FamilyCorrected)
    def _family_corrected(
        self, application: FamilyApplication, changed: list[str], evidence: list[dict[str, str]]
    ) -> None:
        self.application = application
        reference = ", ".join(_cited(ref) for ref in evidence) or "the family's application"
        correction = family_correction(self.version + 1)  # this event's version
        self.family_evidence = (*self.family_evidence, (correction, reference))

    @event(FamilyApplied)
    def _applied(self, application: FamilyApplication) -> None:
        self.application = application
        if self.state == CaseState.NOTIFIED:
            self.state = CaseState.APPLIED

    @event(ServicesPlanned)
    def _planned(self, services: list[str], catalog_version: str, alliance_version: str) -> None:
        self.planned_services = services
        self.state = CaseState.IN_PROGRESS

    @event(Completed)
    def _completed(self) -> None:
        self.state = CaseState.COMPLETED

    @event(Closed)
    def _closed(self, by: str, reason: str) -> None:
        self.state = CaseState.CLOSED

    @event(Rated)
    def _rated(
        self, score: int, comment: str, service: str, authority: str, locality: str, due: str
    ) -> None:
        self.rating, self.rating_comment = score, comment
        self.rated_unit = RatedUnit(service, authority, locality) if service else None
        self.call_back_due = due

    @event(CalledBack)
    def _called_back(self, by: str, outcome: str, note: str) -> None:
        self.called_back += 1
