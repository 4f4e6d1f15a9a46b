"""The family's case view, kept as one pre-rendered JSON document per case (a case_status table).

`GET /cases/{id}` for a family is then one primary-key read whose bytes go out as they are.
The row keeps what re-rendering needs (`work`: the case and service rows, the plan, the
timeline; no personal data) and the rendered `body`. Results (certificate number, citizen ID
...) are personal: they live only in sealed text, encrypted when a cipher is configured.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

import orjson

from domain.birth_case import BirthCase
from domain.service_request import ServiceRequest
from projections.case_status_model import (
    CASES,
    SERVICES,
    CaseRow,
    HistoryRow,
    ServiceRow,
    next_action,
)
from projections.rows import Rows, Table, require

SEALED = "aes:"  # prefix of encrypted text; plain JSON starts with "{"
SCRATCH = "documents"  # the batch's working documents, in Rows.scratch
PARSED = "_parsed"  # a DocumentRow's work and results, parsed, while the memo holds the row


@dataclass(frozen=True)
class DocumentRow:
    """One case's family view: `body` is the response (sealed), `work` how to redo it."""

    case_id: str
    work: str  # JSON: case row, service rows, plan, shown awaiting items, timeline, results
    body: str  # the rendered family view: JSON text, or SEALED + base64 when encrypted


DOCUMENTS = Table("documents", DocumentRow, ("case_id",))


class Cipher(Protocol):
    """What sealing needs of a cipher (eventsourcing's AESCipher fits)."""

    def encrypt(self, plaintext: bytes) -> bytes: ...

    def decrypt(self, ciphertext: bytes) -> bytes: ...


class Sealer:
    """Seals personal text at rest when a cipher is configured; plain JSON text otherwise."""

    def __init__(self, cipher: Cipher | None = None) -> None:
        self.cipher = cipher

    def seal(self, plain: bytes) -> str:
        if self.cipher is None:
            return plain.decode()
        return SEALED + base64.b64encode(self.cipher.encrypt(plain)).decode("ascii")

    def open(self, text: str) -> bytes:
        if not text.startswith(SEALED):
            return text.encode()
        if self.cipher is None:
            raise ValueError("this document is encrypted and no cipher key is configured")
        return self.cipher.decrypt(base64.b64decode(text[len(SEALED) :]))


def _new_work(case_id: str) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "case": None,
        "planned": [],
        "services": {},
        "shown": {},
        "timeline": [],
    }


@dataclass
class _Working:
    """One case's document while a batch folds its events: rendered once, at the batch's end."""

    work: dict[str, Any]
    results: dict[str, Any]  # request id → result (personal: sealed when stored)
    seen: set[tuple[str, int]]  # (stream, version) already in the timeline
    touched: dict[str, None] = field(default_factory=dict)  # request ids ("" = case), in order


def _load(rows: Rows, sealer: Sealer, case_id: str) -> _Working:
    """The case's stored work and results, or new ones. A row this process wrote carries
    them parsed (`PARSED`): taken, so that one batch only ever folds them (if it rolls back,
    the next reads the row's own text)."""
    row = rows.get(DOCUMENTS, case_id)
    if row is None:
        return _Working(_new_work(case_id), {}, set())
    parsed: _Working | None = vars(row).pop(PARSED, None)
    if parsed is not None:
        return parsed
    work: dict[str, Any] = orjson.loads(row.work)
    results: dict[str, Any] = orjson.loads(sealer.open(work.pop("results")))
    return _Working(work, results, {(e[1], e[2]) for e in work["timeline"]})


def _working(rows: Rows, sealer: Sealer, case_id: str) -> _Working:
    """The batch's working copy of a case's document (loaded at its first event)."""
    cases: dict[str, _Working] = rows.scratch.setdefault(SCRATCH, {})
    found = cases.get(case_id)
    if found is None:
        found = cases[case_id] = _load(rows, sealer, case_id)
    return found


def update_document(rows: Rows, sealer: Sealer, event: Any, history: HistoryRow) -> None:
    """Fold one case_status event, whose rows and `history` row are written, into its case's
    document; `finish_documents` renders and stores it once the batch's events are folded."""
    working = _working(rows, sealer, history.case_id)
    request_id = history.service_request_id
    _fold(working, event, request_id)
    seen = (history.stream_id, history.version)
    if seen not in working.seen:
        working.seen.add(seen)
        working.work["timeline"].append(
            [history.position, *seen, request_id, history.event, history.at]
        )


def finish_documents(rows: Rows, sealer: Sealer) -> None:
    """Render, seal and store each document the batch touched, once."""
    for case_id, working in rows.scratch.pop(SCRATCH, {}).items():
        _refresh(rows, case_id, working)
        work, results = working.work, working.results
        body = sealer.seal(orjson.dumps(render(work, results), option=orjson.OPT_NON_STR_KEYS))
        work["results"] = sealer.seal(orjson.dumps(results))
        document = DocumentRow(case_id, orjson.dumps(work).decode(), body)
        del work["results"]
        working.touched = {}
        vars(document)[PARSED] = working  # not a field: what the row's text holds, parsed
        rows.put(DOCUMENTS, document)


def _refresh(rows: Rows, case_id: str, working: _Working) -> None:
    """The case and service rows the batch touched, as its last event left them."""
    work = working.work
    for request_id in working.touched:
        if not request_id:
            work["case"] = _plain(require(rows.get(CASES, case_id), "case", case_id))
        else:
            service = require(rows.get(SERVICES, request_id), "service request", request_id)
            work["services"][request_id] = _plain(service)


def _fold(working: _Working, event: Any, request_id: str) -> None:
    work = working.work
    working.touched[request_id] = None
    if not request_id:
        if isinstance(event, BirthCase.ServicesPlanned):  # request ids computed once, here
            case_id = UUID(work["case_id"])
            work["planned"] = [str(ServiceRequest.create_id(case_id, s)) for s in event.services]
        return
    if request_id not in work["services"]:
        work["services"][request_id] = None  # its row at the batch's end: in first-event order
    shown = work["shown"].get(request_id, [])
    if isinstance(event, ServiceRequest.SupplementRequested):
        shown = list(event.items)
    elif isinstance(event, ServiceRequest.Supplemented):
        shown = []  # the aggregate keeps them when rejected or withdrawn: so does its view
    if isinstance(event, ServiceRequest.Approved):
        working.results[request_id] = event.result
    work["shown"][request_id] = shown


def _plain(row: CaseRow | ServiceRow) -> dict[str, Any]:
    """A row's fields as a JSON-ready dict (shallow: dataclasses.asdict deep-copies)."""
    return {name: getattr(row, name) for name in row.__dataclass_fields__}


def _service_row(stored: dict[str, Any]) -> ServiceRow:
    return ServiceRow(**{**stored, "awaiting": tuple(stored["awaiting"])})


def render(work: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """The family's case view, as `GET /cases/{id}` answers it (same fields, same order)."""
    case = CaseRow(**work["case"])
    stored = work["services"]
    shown = work["shown"]
    services = [_shown(stored[i], shown[i], results) for i in work["planned"] if i in stored]
    rows = sorted(
        (_service_row(s) for s in stored.values()),
        key=lambda s: (s.planned_position, s.service_request_id),
    )
    return {
        "case_id": case.case_id,
        "state": case.state,
        "services": services,
        "tracking_code": case.tracking_code,
        "next_action": next_action(case, rows),
        "timeline": _timeline(work["timeline"], [r.service_request_id for r in rows], stored),
    }


def _shown(service: dict[str, Any], awaiting: list[str], results: dict[str, Any]) -> dict[str, Any]:
    return {
        "service": service["service"],
        "service_request_id": service["service_request_id"],
        "state": service["state"],
        "handling_locality": service["handling_locality"],
        "receiving_locality": service["receiving_locality"],
        "mode": service["mode"],
        "manual_routing": service["manual_routing"],
        "due": service["due"],
        "result": results.get(service["service_request_id"]) or None,
        "awaiting": awaiting,
    }


def _timeline(
    entries: Sequence[list[Any]], order: Sequence[str], stored: dict[str, Any]
) -> list[dict[str, Any]]:
    """The case's events, then each request's in plan order, each in log order; then by time."""
    ordered = sorted(entries, key=lambda e: (e[0], e[1], e[2]))
    timeline: list[dict[str, Any]] = [{"event": e[4], "at": e[5]} for e in ordered if not e[3]]
    for request_id in order:
        service = stored[request_id]["service"]
        timeline += [
            {"service": service, "event": e[4], "at": e[5]} for e in ordered if e[3] == request_id
        ]
    return sorted(timeline, key=lambda h: h["at"])
