"""The family's rating (好差评) and the follow-up of a bad one: who answers for it, by when,
and the call-back that the unit or a monitor records on the case stream.

A family rates its case once, as one matter (一事一评): the newborn bundle is one thing. The
rating does not name a service, so it implies one: the service an office decided last, the
family's last dealing with the bundle before it ended (一次一评: the visit being rated). Its
unit, the office (authority and handling locality) that decided it, answers for the rating
(谁办理、谁负责: domain reference §4.1), and the rating counts there only. A case no office
decided implies the service that moved last. A bad rating (1-2 of 5) is to be called back
within CALL_BACK_WORKING_DAYS working days (the reference's local rules: 5, Dezhou; 15,
Sichuan: the stricter one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.application import Application

from domain.births.commands import RateService
from domain.kernel.calendar import DueDate
from domain.kernel.errors import CaseNotFoundError, DomainError
from domain.kernel.service_request import RequestState, ServiceRequest

if TYPE_CHECKING:
    from domain.births.birth_case import BirthCase

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
class RatedUnit:
    """The office that answers for a rating, and the service it decided."""

    service: str
    authority: str
    locality: str


@dataclass(frozen=True)
class RecordCallBack:
    """The unit's office or a monitor of its locality called the family back."""

    case_id: UUID
    by: str  # who: `office:<actor>` or `monitor:<actor>`
    outcome: str
    note: str = ""


def rated_unit(requests: Sequence[ServiceRequest]) -> RatedUnit | None:
    """The unit a case's rating implies: of the request decided last, else of the request
    that moved last (None: the case had no request)."""
    decided = [r for r in requests if r.state in DECIDED]
    pool = decided or list(requests)
    if not pool:
        return None
    last = max(pool, key=lambda r: (r.modified_on, r.service))
    return RatedUnit(last.service, last.authority, last.handling_locality)


def check_call_back(outcome: str, note: str) -> None:
    if outcome not in OUTCOMES:
        raise InvalidCallBackError(
            f"outcome is one of {', '.join(OUTCOMES)}", field="outcome", outcome=outcome
        )
    if len(note) > MAX_NOTE:
        raise InvalidCallBackError(f"note is at most {MAX_NOTE} characters", field="note")


class RatingCommands(Application[UUID]):
    """The CaseLedger's rating commands: the family's rating, and the call-back."""

    def get_case(self, case_id: UUID) -> BirthCase:
        raise NotImplementedError  # HospitalIntake's, earlier in the CaseLedger's bases

    def latest_requests(self, case_id: UUID, services: list[str]) -> list[ServiceRequest]:
        raise NotImplementedError  # the CaseLedger's

    def _due(self, working_days: int) -> DueDate:
        raise NotImplementedError  # the CaseLedger's

    def rate(self, cmd: RateService) -> None:
        """The rating with the unit it implies; a bad one with its call-back's due date."""
        case = self.get_case(cmd.case_id)
        unit = rated_unit(self.latest_requests(case.id, list(case.planned_services)))
        due = self._due(CALL_BACK_WORKING_DAYS).date.isoformat() if cmd.score <= BAD_RATING else ""
        case.rate(cmd.score, cmd.comment, unit, due)
        self.save(case)

    def rating_comment(self, case_id: UUID) -> str:
        """The family's comment on its rating ("" without one): the case's, or its Rated
        event's when the case was loaded from a snapshot taken before cases kept it."""
        case = self.get_case(case_id)
        if case.rating_comment is not None:
            return case.rating_comment
        events = self.events.get(case_id, lte=case.version, desc=True)
        rated = next((e for e in events if isinstance(e, type(case).Rated)), None)
        return "" if rated is None else rated.comment

    def call_back(self, cmd: RecordCallBack) -> datetime:
        """Recorded on the case, open or ended; answers when."""
        check_call_back(cmd.outcome, cmd.note)
        case = self.get_case(cmd.case_id)
        case.call_back(cmd.by, cmd.outcome, cmd.note)
        self.save(case)
        return case.modified_on
