"""The applicant's rating (好差评) of any wing's case and the follow-up of a bad one: who
answers for it, by when, and the call-back that the unit or a monitor records on the case
stream.

An applicant rates its case once, as one matter (一事一评): the case is one thing. The rating
does not name a service, so it implies one: the service an office decided last, the
applicant's last dealing with the case before it ended (一次一评: the visit being rated). Its
unit, the office (authority and handling locality) that decided it, answers for the rating
(谁办理、谁负责: domain reference §4.1), and the rating counts there only. A case no office
decided implies the service that moved last. A bad rating (1-2 of 5) is to be called back
within CALL_BACK_WORKING_DAYS working days (the reference's local rules: 5, Dezhou; 15,
Sichuan: the stricter one).

A wing's case is rated when it is a `RatedCase` (births, marriage, ID cards): it records the
rating and its call-backs as events of its own (`Rated`, `CalledBack`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.application import Application

from domain.kernel.calendar import DueDate
from domain.kernel.errors import CaseNotFoundError, DomainError, RatingNotAllowedError
from domain.kernel.rated_unit import RatedUnit as RatedUnit  # re-exported: births' too
from domain.kernel.service_request import RequestState, ServiceRequest
from domain.kernel.wing import KernelCase

BAD_RATING = 2  # 1 and 2 of 5 (dissatisfied, very dissatisfied) are bad reviews (差评)
CALL_BACK_WORKING_DAYS = 5
DECIDED = (
    RequestState.APPROVED,
    RequestState.REJECTED,
    RequestState.REVOKED,
    RequestState.CORRECTION_REQUESTED,
    RequestState.REVOCATION_REQUESTED,
)
OUTCOMES = {  # how a call-back ended (domain reference §4.1)
    "fixed": "问题已当即整改 fixed at once",
    "registered": "列入台账限期整改 registered, to be fixed by a deadline",
    "explained": "已解释说明 explained (no legal basis for the complaint)",
    "appealed": "申诉复核 appealed as mistaken or malicious, to be re-checked",
    "unreachable": "未能联系上 the family could not be reached",
}
MAX_NOTE = 2000


class FollowUpNotFoundError(CaseNotFoundError):
    """The case has no bad rating to call back (answered as a case not found: 404)."""

    code = "follow-up-not-found"


class InvalidCallBackError(DomainError):
    code = "invalid-call-back"


@dataclass(frozen=True)
class RateService:
    """The applicant rates its case, once it ended (the route's name kept from births)."""

    case_id: UUID
    score: int
    comment: str = ""


@dataclass(frozen=True)
class RecordCallBack:
    """The unit's office or a monitor of its locality called the family back."""

    case_id: UUID
    by: str  # who: `office:<actor>` or `monitor:<actor>`
    outcome: str
    note: str = ""


@runtime_checkable
class RatedCase(Protocol):
    """A wing's case its applicant rates once it ended, and whose bad rating is called back."""

    @property
    def id(self) -> UUID: ...

    @property
    def version(self) -> int: ...

    @property
    def modified_on(self) -> datetime: ...

    @property
    def planned_services(self) -> list[str]: ...

    @property
    def rating(self) -> int | None: ...

    @property
    def rating_comment(self) -> str | None:
        """None: not in the snapshot the case was loaded from (births' older snapshots)."""
        ...

    @property
    def rated_unit(self) -> RatedUnit | None: ...

    def rate(self, score: int, comment: str, unit: RatedUnit | None = None, due: str = "") -> None:
        """Record the rating (`check_rating` first) with its unit and a bad one's due date."""
        ...

    def call_back(self, by: str, outcome: str, note: str) -> None:
        """Record a call-back about a bad rating (`check_follow_up` first)."""
        ...


def rated_unit(requests: Sequence[ServiceRequest]) -> RatedUnit | None:
    """The unit a case's rating implies: of the request decided last, else of the request
    that moved last (None: the case had no request)."""
    decided = [r for r in requests if r.state in DECIDED]
    pool = decided or list(requests)
    if not pool:
        return None
    last = max(pool, key=lambda r: (r.modified_on, r.service))
    return RatedUnit(last.service, last.authority, last.handling_locality)


def check_rating(ended: bool, state: str, rating: int | None, score: int) -> None:
    """A case is rated once, after it completed or closed, 1 to 5."""
    if not ended:
        raise RatingNotAllowedError(
            "A case can be rated once it is completed or closed", state=state
        )
    if rating is not None:
        raise RatingNotAllowedError("This case was already rated", state=state)
    if not 1 <= score <= 5:
        raise RatingNotAllowedError("A rating is a whole number from 1 to 5", score=score)


def check_follow_up(case_id: UUID, rating: int | None) -> None:
    """Only a bad rating is called back (in any state of the case)."""
    if rating is None or rating > BAD_RATING:
        raise FollowUpNotFoundError(
            "This case has no bad rating to call back", case_id=str(case_id)
        )


def check_call_back(outcome: str, note: str) -> None:
    if outcome not in OUTCOMES:
        raise InvalidCallBackError(
            f"outcome is one of {', '.join(OUTCOMES)}", field="outcome", outcome=outcome
        )
    if len(note) > MAX_NOTE:
        raise InvalidCallBackError(f"note is at most {MAX_NOTE} characters", field="note")


class RatingCommands(Application[UUID]):
    """The CaseLedger's rating commands on any wing's rated case: the applicant's rating,
    and the call-back."""

    def kernel_case(self, case_id: UUID) -> KernelCase:
        raise NotImplementedError  # the CaseLedger's

    def latest_requests(self, case_id: UUID, services: list[str]) -> list[ServiceRequest]:
        raise NotImplementedError  # the CaseLedger's

    def _due(self, working_days: int) -> DueDate:
        raise NotImplementedError  # the CaseLedger's

    def rated_case(self, case_id: UUID) -> RatedCase:
        """Any wing's case that is rated (a kind that is not: no such case)."""
        case = self.kernel_case(case_id)
        if not isinstance(case, RatedCase):
            raise CaseNotFoundError("No such case", case_id=str(case_id))
        return case

    def rate(self, cmd: RateService) -> None:
        """The rating with the unit it implies; a bad one with its call-back's due date."""
        case = self.rated_case(cmd.case_id)
        unit = rated_unit(self.latest_requests(case.id, list(case.planned_services)))
        due = self._due(CALL_BACK_WORKING_DAYS).date.isoformat() if cmd.score <= BAD_RATING else ""
        case.rate(cmd.score, cmd.comment, unit, due)
        self.save(case)

    def rating_comment(self, case_id: UUID) -> str:
        """The applicant's comment on its rating ("" without one): the case's, or its Rated
        event's when the case was loaded from a snapshot taken before cases kept it."""
        case = self.rated_case(case_id)
        if case.rating_comment is not None:
            return case.rating_comment
        events = self.events.get(case_id, lte=case.version, desc=True)
        kind = getattr(type(case), "Rated")  # noqa: B009  (each rated case has its own)
        rated = next((e for e in events if isinstance(e, kind)), None)
        return "" if rated is None else str(rated.comment)

    def call_back(self, cmd: RecordCallBack) -> datetime:
        """Recorded on the case, open or ended; answers when."""
        check_call_back(cmd.outcome, cmd.note)
        case = self.rated_case(cmd.case_id)
        case.call_back(cmd.by, cmd.outcome, cmd.note)
        self.save(case)
        return case.modified_on
