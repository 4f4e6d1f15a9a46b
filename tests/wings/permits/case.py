"""PermitCase: one applicant's case, opened by the applicant (not by a hospital)."""

from __future__ import annotations

from enum import StrEnum

from eventsourcing.domain import Aggregate, event

from domain.kernel.access import holds_verifier
from domain.kernel.applicants import IdentityCheck
from domain.kernel.disclosure import Disclosable
from domain.kernel.errors import CaseClosedError


class PermitState(StrEnum):
    APPLIED = "applied"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"


class PermitCase(Aggregate):
    class Applied(Aggregate.Created):
        name: str
        citizen_id: str
        hukou_division: str
        residence_division: str
        tracking_code: str
        identity: IdentityCheck
        phone: str | None

    class ServicesPlanned(Aggregate.Event):
        services: list[str]
        catalog_version: str
        alliance_version: str

    class Completed(Aggregate.Event):
        pass

    @event(Applied)
    def __init__(
        self,
        name: str,
        citizen_id: str,
        hukou_division: str,
        residence_division: str,
        tracking_code: str,
        identity: IdentityCheck,
        phone: str | None,
    ) -> None:
        self.name, self.citizen_id, self.phone = name, citizen_id, phone
        self.tracking_code, self.identity = tracking_code, identity
        self.hukou_division, self.residence_division = hukou_division, residence_division
        self.planned_services: list[str] = []
        self.state = PermitState.APPLIED

    @property
    def is_open(self) -> bool:
        return self.state != PermitState.COMPLETED

    def holds_verifier(self, verifier: str) -> bool:
        """The applicant signs in with the last 6 of the citizen ID, or the phone."""
        return holds_verifier(self.citizen_id, self.phone, verifier)

    def disclosed(self, name: str) -> Disclosable | None:
        values = {
            "applicant.name": self.name,
            "applicant.citizen_id": self.citizen_id,
            "hukou_division": self.hukou_division,
            "residence_division": self.residence_division,
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

    @event(ServicesPlanned)
    def _planned(self, services: list[str], catalog_version: str, alliance_version: str) -> None:
        self.planned_services = services
        self.state = PermitState.IN_PROGRESS

    @event(Completed)
    def _completed(self) -> None:
        self.state = PermitState.COMPLETED
