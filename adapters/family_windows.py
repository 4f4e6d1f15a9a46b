"""The deadline job's query port over the case_status view: families' windows that passed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from uuid import UUID

from projections.case_status import CaseStatusView
from projections.case_status_model import WINDOWS

PAGE = 1_000
ORDER = ("due", "case_id")


class CaseStatusWindows:
    """Cases with a window to act on a rejection that ended before today, in due order."""

    def __init__(self, view: CaseStatusView) -> None:
        self.view = view

    def lapsed(self, today: date) -> Iterator[UUID]:
        cutoff, after = today.isoformat(), tuple[str, ...]()
        while rows := self.view.select(WINDOWS, {}, order_by=ORDER, limit=PAGE, after=after):
            for row in rows:
                if row.due >= cutoff:
                    return
                yield UUID(row.case_id)
            after = (rows[-1].due, rows[-1].case_id)
