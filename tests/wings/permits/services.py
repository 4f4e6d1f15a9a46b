"""The applicant's command and the application service that opens a permit case."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import Application

from domain.kernel.applicants import IdentityCheck, new_tracking_code
from domain.kernel.identifiers import citizen_id, division_code
from tests.wings.permits.case import PermitCase

ONLINE = IdentityCheck.online()


@dataclass(frozen=True)
class ApplyForPermit:
    name: str
    citizen_id: str
    hukou_division: str
    residence_division: str
    identity: IdentityCheck = ONLINE
    phone: str | None = None


def apply_for_permit(ledger: Application[UUID], cmd: ApplyForPermit) -> UUID:
    """Open the applicant's case on the ledger (the kernel plans and routes it from there)."""
    case = PermitCase(
        cmd.name,
        citizen_id(cmd.citizen_id, field="citizen_id"),
        division_code(cmd.hukou_division, field="hukou_division"),
        division_code(cmd.residence_division, field="residence_division"),
        new_tracking_code(),
        cmd.identity,
        cmd.phone,
    )
    ledger.save(case)
    return case.id
