"""applicant_cases: the tracking codes of the cases applicants opened (every wing's).

A births case is found by its tracking code in case_status; a case a person opened
(marriage registration, an ID card: domain/kernel/applicants.py) is found here, so
`POST /track` signs an applicant in the way it signs in a family. The tracking code is kept
as a keyed digest when a cipher key is set (the same sealer as case_status's), never in
clear beside the case id. No personal data: the code's digest, the case, its kind, the
county it was opened in and when.
"""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass
from typing import Any

from domain.wings import opening_events, opening_of
from engine.memory import InMemoryTables
from engine.rows import Rows, Table
from engine.view import TableProjection, TableView
from projections.case_document import Sealer
from projections.events import stamp, topics_of


@dataclass(frozen=True)
class ApplicantCaseRow:
    """One applicant-opened case, by its tracking code (a digest under the index key)."""

    tracking_code: str
    case_id: str
    kind: str
    home: str
    opened_at: str


NO_OPENINGS = "projections.applicant_cases:none"
CASES = Table("cases", ApplicantCaseRow, ("tracking_code",), indexes=[("case_id",)])


class ApplicantCasesView(TableView, ABC):
    """Tracking code → the applicant-opened case."""

    name = "applicant_cases"
    tables = (CASES,)
    sealer = Sealer()  # plain text until the composition root gives it the index keys

    def by_tracking_code(self, tracking_code: str) -> ApplicantCaseRow | None:
        """The case a tracking code names (a digest under any index key, or the code)."""
        for stored in self.sealer.indexes(tracking_code):
            found = self.get(CASES, stored)
            if found is not None:
                return found
        return None


class InMemoryApplicantCases(InMemoryTables, ApplicantCasesView):
    """applicant_cases in memory, for unit tests."""


class ApplicantCasesProjection(TableProjection[ApplicantCasesView]):
    """Indexes each applicant-opened case's tracking code when the case is opened. Its topics
    are the creation events the carried wings name (`Wing.opened`)."""

    name = "applicant_cases"

    def __init__(self, view: ApplicantCasesView) -> None:
        super().__init__(view)
        # no topics would read every event: a topic no event has, while no wing opens cases
        self.topics = topics_of(*opening_events()) or (NO_OPENINGS,)

    def apply(self, event: Any, position: int, rows: Rows) -> None:
        opening = opening_of(event)
        if opening is None:
            return
        code = self.view.sealer.index(opening.tracking_code)
        row = ApplicantCaseRow(code, str(opening.case_id), opening.kind, opening.home, stamp(event))
        rows.put(CASES, row)
