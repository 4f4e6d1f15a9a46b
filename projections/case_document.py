"""The family's case view, kept as one pre-rendered JSON document per case (a case_status table).

`GET /cases/{id}` for a family is then one primary-key read whose bytes go out as they are.
The row keeps what re-rendering needs (`work`: the case and service rows, the plan, the
timeline; no personal data) and the rendered `body`. Results (certificate number, citizen ID
...) are personal: they live only in sealed text, encrypted when a cipher is configured.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from operator import attrgetter, itemgetter
from typing import Any, Protocol

import orjson

from domain.births.catalog import load_catalog, load_materials
from domain.kernel.materials import case_materials
from engine.rows import Rows, Table, require
from projections.case_status_model import (
    CASES,
    OTHER_KINDS,
    SERVICES,
    CaseRow,
    Notes,
    OtherKindError,
    ServiceRow,
    TimelineEntry,
    awaiting_family,
    handling,
    next_action,
)
from projections.case_view import case_view, noted_fields, row_fields, service_entry
from projections.waiting import waiting_on_fields

SEALED = "aes:"  # prefix of encrypted text; plain JSON starts with "{"
INDEXED = "hmac:"  # prefix of a keyed digest standing for a secret looked up by equality
TRACKING_CODE = "tracking_code"  # kept among the sealed results when the view holds a digest
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
    """Seals personal text at rest when a cipher is configured; plain JSON text otherwise.
    With index keys (derived from the cipher key), values a view looks up by equality (the
    tracking code, the hospital's record key) are stored as keyed digests, not in clear."""

    def __init__(self, cipher: Cipher | None = None, index_keys: Sequence[bytes] = ()) -> None:
        self.cipher = cipher
        self.index_keys = tuple(index_keys)  # the current key first, then keys still read

    @property
    def indexing(self) -> bool:
        return bool(self.index_keys)

    def index(self, value: str) -> str:
        """What the view stores for a looked-up secret: the value itself without keys."""
        return self._digest(self.index_keys[0], value) if self.index_keys else value

    def indexes(self, value: str) -> list[str]:
        """Every form of `value` a row may hold: one per index key (older keys' rows stay
        found after a key rotation until the view is rebuilt), or the value itself."""
        return [self._digest(key, value) for key in self.index_keys] or [value]

    @staticmethod
    def _digest(key: bytes, value: str) -> str:
        return INDEXED + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

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
class Working:
    """One case's document while a batch folds its events: rendered once, at the batch's end.
    It also carries the case's current rows (`case`, `services`): the rules change them here,
    event by event, and the batch stores each changed one once, at its end."""

    work: dict[str, Any]
    results: dict[str, Any]  # request id → result (personal: sealed when stored)
    seen: set[tuple[str, int]]  # (stream, version) already in the timeline
    touched: dict[str, None] = field(default_factory=dict)  # request ids ("" = case), in order
    case: CaseRow | None = None  # the case row, once an event (or the store) gave it
    services: dict[str, ServiceRow] = field(default_factory=dict)  # request rows known so far


def _load(rows: Rows, sealer: Sealer, case_id: str) -> Working:
    """The case's stored work and results, or new ones. A row this process wrote carries
    them parsed (`PARSED`): taken, so that one batch only ever folds them (if it rolls back,
    the next reads the row's own text)."""
    row = rows.get(DOCUMENTS, case_id)
    if row is None:
        return Working(_new_work(case_id), {}, set())
    parsed: Working | None = vars(row).pop(PARSED, None)
    if parsed is not None:
        return parsed
    work: dict[str, Any] = orjson.loads(row.work)
    results: dict[str, Any] = orjson.loads(sealer.open(work.pop("results")))
    return Working(work, results, {(e[1], e[2]) for e in work["timeline"]})


@dataclass
class HeldDocuments:
    """A rebuild in parts renders and writes each family document once its case has rested
    for `idle_pages` pages, instead of at every page that touches the case: the working
    documents stay in memory meanwhile, and the page that ends the part (`end`) writes every
    one still held. Only for a rebuild in parts, which is never resumed (an interrupted one
    starts over from an empty view), so a document held back when a process dies is never
    missed: the view is not used until every part has ended."""

    end: int  # the position of the part's last page (its reader may bring it forward)
    idle_pages: int = 2
    capacity: int = 50_000  # documents held at most (the oldest are written first)
    page: int = 0
    held: OrderedDict[str, tuple[Working, int]] = field(default_factory=OrderedDict)

    def take(self, case_id: str) -> Working | None:
        found = self.held.pop(case_id, None)
        return None if found is None else found[0]

    def hold(self, case_id: str, working: Working) -> None:
        self.held[case_id] = (working, self.page)

    def due(self, position: int | None) -> list[tuple[str, Working]]:
        """After a page that led to `position`: the documents to write now."""
        self.page += 1
        last = position is not None and position >= self.end
        rested = self.page - self.idle_pages
        found = []
        while self.held:
            case_id, (working, touched) = next(iter(self.held.items()))
            if not (last or touched <= rested or len(self.held) > self.capacity):
                break
            del self.held[case_id]
            found.append((case_id, working))
        return found


class Folding:
    """One batch's case_status state: each touched case's document and rows (`Working`),
    and which case each request seen belongs to. The rules change rows here; `finish`
    stores every changed row and renders every touched document once (or, in a rebuild in
    parts, hands it to `held`)."""

    def __init__(self, rows: Rows, sealer: Sealer, held: HeldDocuments | None = None) -> None:
        self.rows, self.sealer, self.held = rows, sealer, held
        self.cases: dict[str, Working] = {}
        self.owners: dict[str, Working] = {}  # request id → its case's working document

    def case(self, case_id: str) -> Working:
        """The case's working document (loaded at its first event in the batch)."""
        found = self.cases.get(case_id)
        if found is None:
            held = None if self.held is None else self.held.take(case_id)
            found = _load(self.rows, self.sealer, case_id) if held is None else held
            self.cases[case_id] = found
        return found

    def case_row(self, working: Working, case_id: str) -> CaseRow:
        """The case's current row: the batch's own, or the stored one (which must exist)."""
        case = working.case
        if case is None:
            case = working.case = require(self.rows.get(CASES, case_id), "case", case_id)
        return case

    def service(self, request_id: str) -> tuple[Working, ServiceRow]:
        """A request's case document and current row (the stored one must exist)."""
        working = self.owners.get(request_id)
        if working is None:
            stored = self.rows.get(SERVICES, request_id)
            if stored is None and self.rows.get(OTHER_KINDS, request_id) is not None:
                raise OtherKindError(request_id)
            service = require(stored, "service request", request_id)
            working = self.owners[request_id] = self.case(service.case_id)
            return working, working.services.setdefault(request_id, service)
        return working, working.services[request_id]

    def planned(self, working: Working, service: ServiceRow) -> None:
        """A request the batch made (ServiceRequest.Planned)."""
        working.services[service.service_request_id] = service
        self.owners[service.service_request_id] = working

    def history(
        self, working: Working, event: Any, position: int, request_id: str, at: str
    ) -> None:
        """The event's entry in its case's timeline (the case's history, in log order)."""
        work = working.work
        version = event.originator_version
        stream = request_id or work["case_id"]
        working.touched[request_id] = None
        if request_id:
            services = work["services"]
            if request_id not in services:
                services[request_id] = None  # its row at the batch's end: in first-event order
            shown = work["shown"]
            if request_id not in shown:
                shown[request_id] = []
        seen = (stream, version)
        if seen not in working.seen:
            working.seen.add(seen)
            work["timeline"].append(
                [position, stream, version, request_id, event.__class__.__name__, at]
            )

    def finish(self) -> None:
        """Store each changed row, then render, seal and store each touched document, once
        (in a rebuild in parts: hold it, and store those `held` says are due)."""
        held = self.held
        for case_id, working in self.cases.items():
            self._store_rows(case_id, working)
            if held is None:
                self._store_document(case_id, working)
            else:
                held.hold(case_id, working)
        if held is not None:
            for case_id, working in held.due(self.rows.position):
                self._store_document(case_id, working)

    def _store_rows(self, case_id: str, working: Working) -> None:
        rows, work = self.rows, working.work
        for request_id in working.touched:
            if not request_id:
                case = self.case_row(working, case_id)
                rows.put(CASES, case)
                work["case"] = _plain(case)
            else:
                service = working.services[request_id]
                rows.put(SERVICES, service)
                work["services"][request_id] = _plain(service)
        working.touched = {}

    def _store_document(self, case_id: str, working: Working) -> None:
        sealer, work, results = self.sealer, working.work, working.results
        body = sealer.seal(_dumps(render(work, results, working)))
        work["results"] = sealer.seal(orjson.dumps(results))
        document = DocumentRow(case_id, orjson.dumps(work).decode(), body)
        del work["results"]
        vars(document)[PARSED] = working  # not a field: what the row's text holds, parsed
        self.rows.put(DOCUMENTS, document)


def note_of(working: Working, request_id: str) -> dict[str, Any]:
    """The document's note of a request beyond its row (made at its first use: documents
    written before notes were kept have none)."""
    notes: dict[str, dict[str, Any]] = working.work.setdefault("notes", {})
    return notes.setdefault(request_id, {})


def timeline_of(document: DocumentRow) -> list[TimelineEntry]:
    """The case's history: every shown event of the case and its requests, in log order
    (names and times only: `work` holds no personal data and is never sealed)."""
    timeline: list[TimelineEntry] = orjson.loads(document.work)["timeline"]
    return timeline


def folding(rows: Rows, sealer: Sealer, held: HeldDocuments | None = None) -> Folding:
    """The batch's case_status state (made at its first event)."""
    found: Folding | None = rows.scratch.get(SCRATCH)
    if found is None:
        found = rows.scratch[SCRATCH] = Folding(rows, sealer, held)
    return found


def finish_documents(rows: Rows) -> None:
    """After the batch's events: its changed rows and touched documents, stored once."""
    found: Folding | None = rows.scratch.pop(SCRATCH, None)
    if found is not None:
        found.finish()


def _dumps(view: dict[str, Any]) -> bytes:
    """`orjson.dumps(view, option=OPT_NON_STR_KEYS)`, the same bytes: without the option
    first (half the cost: every key of a view is text), with it if a key is not."""
    try:
        return orjson.dumps(view)
    except TypeError:
        return orjson.dumps(view, option=orjson.OPT_NON_STR_KEYS)


def _plain(row: CaseRow | ServiceRow) -> dict[str, Any]:
    """A row's fields as a JSON-ready dict (shallow: dataclasses.asdict deep-copies). Its
    `__dict__` holds exactly them, in field order (made by `__init__`, `make` or `changed`)."""
    return vars(row).copy()


_PLAN_ORDER = attrgetter("planned_position", "service_request_id")
_KEY = itemgetter(0, 1, 2, 3, 4)  # time, stream's rank, position, stream, version


def render(work: dict[str, Any], results: dict[str, Any], working: Working) -> dict[str, Any]:
    """The family's case view, as `GET /cases/{id}` answers it (projections/case_view.py).
    Rows the batch holds are used as they are; others are made from the stored work."""
    case = CASES.decode(work["case"]) if working.case is None else working.case
    stored = work["services"]
    known = working.services
    shown = work["shown"]
    notes = work.get("notes") or {}
    services = [
        service_entry(row_fields(stored[i]) | noted_fields(notes.get(i)), results.get(i), shown[i])
        for i in work["planned"]
        if i in stored
    ]
    rows = sorted(
        (known[i] if i in known else SERVICES.decode(s) for i, s in stored.items()), key=_PLAN_ORDER
    )
    return case_view(
        "family",
        case.case_id,
        case.state,
        services,
        results.get(TRACKING_CODE) or case.tracking_code,
        None,
        **family_extras(case, rows, work["timeline"], notes, stored),
        **delivery_marker(case),
    )


def delivery_marker(case: CaseRow) -> dict[str, Any]:
    """A child of a multiple birth: its delivery (the other cases are added when it is read,
    as the reader may see them)."""
    if case.delivery is None:
        return {}
    return {"delivery": {"multiple_birth": case.multiple_birth, "siblings": []}}


def family_extras(
    case: CaseRow,
    rows: Sequence[ServiceRow],
    entries: Sequence[TimelineEntry],
    notes: Notes | None = None,
    stored: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The family's view's last fields: what it must do next, who acts next and by when
    (`waiting_on`: projections/waiting.py), how the case is handled, and the case's timeline
    (`entries`, a document's work; `rows` in plan order; `notes`, the document's notes of
    its requests; `stored`: request id → a dict with its "service", made from `rows` when
    not given); a closed case's summary."""
    if stored is None:
        stored = {r.service_request_id: {"service": r.service} for r in rows}
    extras: dict[str, Any] = {
        "next_action": next_action(case, rows, notes),
        "waiting_on": waiting_on_fields(case, rows, notes or {}),
        "handling": handling(rows),
        "timeline": _timeline(entries, [r.service_request_id for r in rows], stored),
        # what each request requires and how sharing satisfies it (domain/kernel/materials.py)
        "materials": case_materials(
            load_catalog(), load_materials(), [asdict(r) for r in rows], answered_notices(notes)
        ),
    }
    if case.state == "closed":
        extras["summary"] = closing_summary(rows, notes or {})
    return extras


def answered_notices(notes: Notes | None) -> dict[str, list[list[str]]]:
    """Request id → the items of each one-time notice its family answered (the notes)."""
    return {rid: list(note.get("notices", ())) for rid, note in (notes or {}).items()}


def closing_summary(rows: Sequence[ServiceRow], notes: Notes) -> dict[str, Any]:
    """What a closed case ended with: the services issued, those rejected (reason and
    basis), and those that never went ahead (withdrawn when it closed)."""
    rejected = awaiting_family(rows, notes)
    return {
        "issued": [r.service for r in rows if r.state == "approved"],
        "rejected": [
            {
                "service": r.service,
                "service_request_id": r.service_request_id,
                "reason": ((notes.get(r.service_request_id) or {}).get("rejection") or {}).get(
                    "reason"
                ),
                "basis": ((notes.get(r.service_request_id) or {}).get("rejection") or {}).get(
                    "basis"
                ),
            }
            for r in rejected
        ],
        "not_proceeded": [r.service for r in rows if r.state == "withdrawn"],
    }


def _timeline(
    entries: Sequence[TimelineEntry], order: Sequence[str], stored: dict[str, Any]
) -> list[dict[str, Any]]:
    """The case's events, then each request's in plan order, each in log order; then by time.
    One sort: by time, then that order (the case first, requests in plan order), then log
    order; entries of a request not in `order` are left out. (stream, version) is unique,
    so no two keys are equal and the result is the stable two-pass sort's."""
    rank = {request_id: n for n, request_id in enumerate(order, 1)}
    rank[""] = 0
    keyed = []
    for e in entries:
        n = rank.get(e[3] or "")
        if n is not None:
            keyed.append((e[5], n, e[0], e[1], e[2], e))
    keyed.sort(key=_KEY)
    services = [""] + [stored[request_id]["service"] for request_id in order]
    return [
        {"service": services[k[1]], "event": k[5][4], "at": k[0]}
        if k[1]
        else {"event": k[5][4], "at": k[0]}
        for k in keyed
    ]
