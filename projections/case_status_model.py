"""case_status rows and what a reader gets: the case, its services, history and next action."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from domain.kernel.service_request import CAN_PROCEED
from engine.rows import Table
from projections.events import province


@dataclass(frozen=True)
class CaseRow:
    """One case: places, choices and states; no names or numbers of people."""

    case_id: str
    facility_uscc: str
    hospital_ref: str
    tracking_code: str
    state: str
    birth_division: str | None
    mother_hukou: str | None
    father_hukou: str | None
    household: str | None
    child_named: bool
    applied: bool
    rated: bool
    notified_at: str
    updated_at: str
    delivery: str | None = None  # the hospital's delivery (sealed like its record key)
    multiple_birth: int | None = None  # the child's birth order in it (FHIR multipleBirthInteger)
    apply_by: str | None = None  # the family's date to apply (None: projected before it was)


@dataclass(frozen=True)
class ServiceRow:
    """One service request of a case, as the family follows it."""

    service_request_id: str
    case_id: str
    service: str
    planned_position: int  # notification id of Planned: plan order
    state: str
    authority: str
    handling_locality: str
    receiving_locality: str
    mode: str | None
    manual_routing: bool
    due: str | None
    due_provisional: bool
    overdue: bool
    awaiting: tuple[str, ...]  # supplement items the office asked for, all at once
    updated_at: str


CASES = Table(
    "cases",
    CaseRow,
    ("case_id",),
    indexes=[("tracking_code",), ("facility_uscc", "hospital_ref"), ("delivery", "case_id")],
)
SERVICES = Table("services", ServiceRow, ("service_request_id",), indexes=[("case_id",)])


@dataclass(frozen=True)
class OtherKindRow:
    """A request of another wing's case (a kind other than births): this view, the family's
    page of a birth case, leaves it out; the row tells its later events apart from a request
    whose Planned event is missing (which is an error: see engine/parking.py)."""

    service_request_id: str
    kind: str


OTHER_KINDS = Table("other_kinds", OtherKindRow, ("service_request_id",))


@dataclass(frozen=True)
class WindowRow:
    """A case whose family must act on a rejection by `due` (resubmit or close): the deadline
    job closes it once the window has passed (the ledger checks again; a row outlives a
    resubmission and goes when the case ends)."""

    case_id: str
    due: str


WINDOWS = Table("family_windows", WindowRow, ("case_id",), indexes=[("due",)])


class OtherKindError(Exception):
    """The event is of a request of another wing's case: nothing to show here."""


@dataclass(frozen=True)
class HistoryEntry:
    event: str
    at: str


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    service_request_id: str
    state: str
    authority: str
    handling_locality: str
    receiving_locality: str
    mode: str | None
    manual_routing: bool
    due: str | None
    due_provisional: bool
    overdue: bool
    awaiting: tuple[str, ...]
    history: tuple[HistoryEntry, ...]


@dataclass(frozen=True)
class CaseStatus:
    """The family's view of a case, as `case_status` lookups return it."""

    case_id: str
    facility_uscc: str
    hospital_ref: str
    tracking_code: str
    state: str
    birth_division: str | None
    birth_province: str | None
    household: str | None
    hukou_division: str | None
    next_action: str
    services: tuple[ServiceStatus, ...]
    history: tuple[HistoryEntry, ...]  # the case's own events
    notified_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def hukou_division(case: CaseRow) -> str | None:
    """The hukou county of the parent whose household the child joins (None until chosen)."""
    return {"mother": case.mother_hukou, "father": case.father_hukou}.get(case.household or "")


TimelineEntry = Sequence[Any]
"""One event of a case or of one of its requests, as the case's document keeps it (its
`timeline`, in log order): [position, stream id, version, request id ("" for the case's own
events), event name, time]. Its name and time only: no personal data."""


def _entries(timeline: Sequence[TimelineEntry], request_id: str) -> tuple[HistoryEntry, ...]:
    return tuple(HistoryEntry(e[4], e[5]) for e in timeline if e[3] == request_id)


def assemble(
    case: CaseRow,
    services: Sequence[ServiceRow],
    timeline: Sequence[TimelineEntry],
    notes: Notes | None = None,
) -> CaseStatus:
    """A case's rows and its document's timeline, put together as the family sees them."""
    values = {k: v for k, v in asdict(case).items() if k in CaseStatus.__dataclass_fields__}
    return CaseStatus(
        **values,
        birth_province=province(case.birth_division),
        hukou_division=hukou_division(case),
        next_action=next_action(case, services, notes),
        services=tuple(_service(s, _entries(timeline, s.service_request_id)) for s in services),
        history=_entries(timeline, ""),
    )


def _service(row: ServiceRow, history: tuple[HistoryEntry, ...]) -> ServiceStatus:
    values = {k: v for k, v in asdict(row).items() if k in ServiceStatus.__dataclass_fields__}
    return ServiceStatus(**{**values, "awaiting": row.awaiting, "history": history})


def _holder(service: ServiceRow) -> str:
    """Who must act now: the receiving window until received, then the decider; the routing
    desk of the handling place's province while no route is known (with its due date)."""
    if service.state == "planned" and service.manual_routing:
        until = f" until {service.due}" if service.due else ""
        desk = province(service.handling_locality)
        return f"the routing desk of province {desk}{until} ({service.service})"
    locality = (
        service.receiving_locality if service.state == "dispatched" else (service.handling_locality)
    )
    return f"office {service.authority} {locality}"


Notes = Mapping[str, Mapping[str, Any]]
"""What a family's document notes of its requests beyond their rows, by request id: the
attempt and its links, a rejection's reason, basis and window, what blocks a request."""


def awaiting_family(services: Sequence[ServiceRow], notes: Notes) -> list[ServiceRow]:
    """Rejected requests not resubmitted yet: the family resubmits them or closes the case."""
    return [
        s
        for s in services
        if s.state == "rejected"
        and not (notes.get(s.service_request_id) or {}).get("resubmitted_as")
    ]


def _asked(services: Sequence[ServiceRow], state: str) -> str:
    """The offices asked to act after their decision, each with its due date."""
    return ", ".join(
        dict.fromkeys(f"{_holder(s)} by {s.due}" for s in services if s.state == state)
    )


def next_action(case: CaseRow, services: Sequence[ServiceRow], notes: Notes | None = None) -> str:
    """What the family must do next: '<verb>: <what>' ('nothing: ...' when it is not them)."""
    if case.state == "voided":
        return "nothing: the case was voided"
    if case.state == "voiding":
        revoking = _asked(services, "revocation-requested")
        if revoking:
            return f"nothing: voided; waiting for {revoking} to revoke their results"
        return "nothing: voided; waiting for the offices to be asked to revoke their results"
    correcting = _asked(services, "correction-requested")
    if case.state == "closed" and not correcting:
        return "nothing: closed and rated" if case.rated else "rate: the service"
    items = [item for s in services if s.state == "supplement-requested" for item in s.awaiting]
    if items:
        return "supplement: " + ", ".join(dict.fromkeys(items))
    wanted = (("name", case.child_named), ("household", bool(case.household)))
    missing = [] if case.applied else [what for what, known in wanted if not known]
    if missing:
        return "apply: " + " and ".join(missing)
    if correcting:  # a decision asked again (a completed case's too), and any other work
        working = [_holder(s) for s in services if s.state in ("dispatched", "received")]
        others = "; and for " + ", ".join(dict.fromkeys(working)) if working else ""
        return f"nothing: waiting for {correcting} to decide on the correction{others}"
    if case.state == "completed":
        return "nothing: completed and rated" if case.rated else "rate: the service"
    rejected = awaiting_family(services, notes or {})
    if rejected:
        return _after_rejection(rejected, services, notes or {})
    return _waiting(services)


def _after_rejection(
    rejected: Sequence[ServiceRow], services: Sequence[ServiceRow], notes: Notes
) -> str:
    """The family acts next, by the last of its windows: resubmit, or (once nothing else can
    proceed) close the case."""
    names = ", ".join(s.service for s in rejected)
    dues = [
        str(due)
        for s in rejected
        if (due := ((notes.get(s.service_request_id) or {}).get("rejection") or {}).get("due"))
    ]
    held = any(s.state in CAN_PROCEED for s in services)  # as the ledger's close_case sees it
    verb = "resubmit" if held else "resubmit or close"
    return f"{verb}: {names} rejected" + (f", by {max(dues)}" if dues else "")


def _waiting(services: Sequence[ServiceRow]) -> str:
    offices = [_holder(s) for s in services if s.state in ("dispatched", "received")]
    offices += [_holder(s) for s in services if s.manual_routing and s.state == "planned"]
    if offices:
        return "nothing: waiting for " + ", ".join(dict.fromkeys(offices))
    rejected = [s.service for s in services if s.state == "rejected"]
    if rejected:
        return "nothing: rejected: " + ", ".join(rejected)
    return "nothing: waiting for the plan"


JOINT = "多地联办 (joint handling): one application; each place's authority handles its part"


def handling(services: Sequence[ServiceRow]) -> dict[str, Any]:
    """How the case is handled as a whole: by the authorities of one place, or jointly by
    several places' (多地联办, domain ref §2.1), with the places and the request count of each."""
    places: dict[str, int] = {}
    for service in services:
        if service.state != "withdrawn":
            places[service.handling_locality] = places.get(service.handling_locality, 0) + 1
    joint = len(places) > 1
    return {
        "mode": "joint" if joint else "one place",
        "places": [{"locality": p, "requests": n} for p, n in sorted(places.items())],
        "note": JOINT if joint else "every request is handled where the family applied",
    }
