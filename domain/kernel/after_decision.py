"""Time limits for what an office is asked after it decided: corrections and revocations.

Reference data (reference/after_decision.json): a correction is decided within the service's
own limit (the catalog's, with its basis); a revocation within the limit the file gives, with
the basis it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from domain.kernel.catalog import Entry, ServiceDefinition, read_reference

SOURCE = "after_decision.json"


@dataclass(frozen=True)
class TimeLimit:
    """A limit in working days and the basis for it."""

    working_days: int
    basis: str


@lru_cache(maxsize=1)
def revocation_limit() -> TimeLimit:
    """How long an office has to revoke a result once the case is voided."""
    data = Entry(read_reference("domain.kernel", SOURCE), SOURCE, "the file")
    entry = Entry(data.value.get("revocation"), SOURCE, "revocation")
    return TimeLimit(entry.integer("working_days"), entry.text("basis"))


def correction_limit(service: ServiceDefinition) -> TimeLimit:
    """How long an office has to decide a correction: its service's own limit."""
    return TimeLimit(service.time_limit_days, service.basis)
