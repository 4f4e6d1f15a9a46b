"""Who acts next on a case, and by when: no case ever waits on nobody.

Each open request of a case is held by one party: an office (its receiving window until the
request is accepted, then its handling office), the routing desk of a province, or the
family. A request that cannot move yet waits behind the one it depends on (or the rejected
one that blocks it), and so on that request's party. `waiting_on` lists each party that acts
now, with what it must do, by when, for which request, and which requests wait behind it;
a case that is over (completed, voided or closed, every request decided) lists none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domain.wings import service as service_definition
from projections.case_status_model import CaseRow, Notes, ServiceRow
from projections.events import province

# What each party does in each state of the request it holds (the state's row, as shown)
ACTIONS = {
    "dispatched": ("office", "receive (受理) or give the one-time notice"),
    "received": ("office", "decide"),
    "supplement-requested": ("family", "supplement"),
    "correction-requested": ("office", "decide the correction"),
    "revocation-requested": ("office", "revoke the result"),
}
APPLY = "apply (name, household)"
ENDED = ("approved", "withdrawn", "revoked")  # a request in these states waits on nobody
FINAL_CASE_STATES = ("completed", "voided", "closed")
# a case being voided owes no step but the offices' revocations
ENDING_CASE_STATES = (*FINAL_CASE_STATES, "voiding")


@dataclass(frozen=True)
class Waiting:
    """A party that acts now on one request of the case, and the requests waiting behind it."""

    party: str  # "office", "routing-desk", "family" ("ledger": a step the ledger owes)
    who: str  # e.g. "public-security 420102", "routing desk of province 42", "family"
    action: str
    due: str | None
    due_provisional: bool
    service: str
    service_request_id: str
    behind: tuple[str, ...] = field(default=())  # services waiting on this one

    def to_dict(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "who": self.who,
            "action": self.action,
            "due": self.due,
            "due_provisional": self.due_provisional,
            "service": self.service,
            "service_request_id": self.service_request_id,
            "behind": list(self.behind),
        }


def waiting_on(
    case: CaseRow, rows: Sequence[ServiceRow], notes: Notes, apply_by: date | None = None
) -> list[Waiting]:
    """Every party the case waits on, in plan order (none: the case is over).

    `apply_by` is the family's date to apply (the wing's rule: births, within a month of
    birth), named when a request waits for the family's application."""
    by_id = {r.service_request_id: r for r in rows}
    latest = _latest(rows, notes)
    holders: dict[str, Waiting] = {}
    behind: dict[str, list[str]] = {}
    for row in rows:
        if not _open(row, case, notes):
            continue
        holder = _holder(row, case, latest, by_id, notes, apply_by, set())
        if holder.service_request_id == row.service_request_id:
            holders[row.service_request_id] = holder
        else:
            holders.setdefault(holder.service_request_id, holder)
            behind.setdefault(holder.service_request_id, []).append(row.service)
    found = [
        Waiting(**{**vars(w), "behind": tuple(behind.get(key, ()))}) for key, w in holders.items()
    ]
    if not found and case.state not in FINAL_CASE_STATES and not rows:
        # no plan yet: routing waits for what only the family's application gives
        due = apply_by.isoformat() if apply_by is not None else None
        action = "correct the application (household)" if case.applied else APPLY
        found.append(Waiting("family", "family", action, due, False, "", "", ()))
    return found


def _open(row: ServiceRow, case: CaseRow, notes: Notes) -> bool:
    """Still needs someone: not decided for good (a rejection is the family's to answer
    while the case is open and it was not resubmitted)."""
    if row.state in ENDED:
        return False
    if row.state == "rejected":
        resubmitted = (notes.get(row.service_request_id) or {}).get("resubmitted_as")
        return case.state not in ENDING_CASE_STATES and not resubmitted
    return not (case.state in ENDING_CASE_STATES and row.state in ("planned", "blocked"))


def _latest(rows: Sequence[ServiceRow], notes: Notes) -> dict[str, ServiceRow]:
    """Each service's latest attempt (a resubmission replaces the rejected request)."""
    latest: dict[str, ServiceRow] = {}
    for row in rows:
        if not (notes.get(row.service_request_id) or {}).get("resubmitted_as"):
            latest[row.service] = row
    return latest


def _holder(
    row: ServiceRow,
    case: CaseRow,
    latest: Mapping[str, ServiceRow],
    by_id: Mapping[str, ServiceRow],
    notes: Notes,
    apply_by: date | None,
    seen: set[str],
) -> Waiting:
    """The party holding `row`: its own, or that of the request it waits behind."""
    seen.add(row.service_request_id)
    note = notes.get(row.service_request_id) or {}
    if row.state in ACTIONS:
        party, action = ACTIONS[row.state]
        return _waiting(row, party, _who(row, party), action, row.due, row.due_provisional)
    if row.state == "rejected":
        rejection = note.get("rejection") or {}
        return _waiting(
            row,
            "family",
            "family",
            "resubmit with corrected data, or close the case",
            rejection.get("due"),
            bool(rejection.get("due_provisional")),
        )
    if row.state in ("planned", "blocked") and row.manual_routing:  # the desk may route now
        desk = f"routing desk of province {province(row.handling_locality)}"
        return _waiting(row, "routing-desk", desk, "route", row.due, row.due_provisional)
    upstream = _upstream(row, latest, by_id, note)
    if upstream is not None and upstream.service_request_id not in seen:
        return _holder(upstream, case, latest, by_id, notes, apply_by, seen)
    if row.state == "planned" and not case.applied:
        due = apply_by.isoformat() if apply_by is not None else None
        return _waiting(row, "family", "family", APPLY, due, False)
    return _waiting(row, "ledger", "the ledger", "dispatch", None, False)


def _upstream(
    row: ServiceRow,
    latest: Mapping[str, ServiceRow],
    by_id: Mapping[str, ServiceRow],
    note: Mapping[str, Any],
) -> ServiceRow | None:
    """The request `row` waits behind: the one blocking it, or a dependency not approved."""
    blocked_by = (note.get("blocked_by") or {}).get("service_request_id")
    if row.state == "blocked" and isinstance(blocked_by, str) and blocked_by in by_id:
        blocker = by_id[blocked_by]
        blocking = latest.get(blocker.service, blocker)
        if blocking.state != "approved":  # once approved, `row` waits on its dependencies
            return blocking
    for name in service_definition(row.service).depends_on:
        found = latest.get(name)
        if found is not None and found.state != "approved":
            return found
    return None


def _who(row: ServiceRow, party: str) -> str:
    if party != "office":
        return party
    at_window = row.state == "dispatched"
    return f"{row.authority} {row.receiving_locality if at_window else row.handling_locality}"


def _waiting(
    row: ServiceRow, party: str, who: str, action: str, due: str | None, provisional: bool
) -> Waiting:
    return Waiting(party, who, action, due, provisional, row.service, row.service_request_id, ())


def waiting_on_fields(case: CaseRow, rows: Sequence[ServiceRow], notes: Notes) -> list[Any]:
    """`waiting_on` as the family's view shows it."""
    apply_by = date.fromisoformat(case.apply_by) if case.apply_by else None
    return [w.to_dict() for w in waiting_on(case, rows, notes, apply_by)]
