"""The family's commands on a birth case: its one application (its rating: rating.py)."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import Application

from domain.births.birth_case import BirthCase
from domain.births.commands import ApplyAsFamily
from domain.births.family_application import check_application


class FamilyCommands(Application[UUID]):
    """The CaseLedger's family commands (it reads cases through HospitalIntake.get_case)."""

    def get_case(self, case_id: UUID) -> BirthCase:
        raise NotImplementedError  # HospitalIntake's, earlier in the CaseLedger's bases

    def apply_as_family(self, cmd: ApplyAsFamily) -> None:
        """The application; sent again with other values, the family's correction (after a
        decision too: the deciding offices are asked to decide on the new values)."""
        case = self.get_case(cmd.case_id)
        application = check_application(cmd, case.facts)
        if case.application is None:
            case.apply(application)
        else:
            case.correct_application(application, [ref.to_dict() for ref in cmd.evidence])
        self.save(case)
