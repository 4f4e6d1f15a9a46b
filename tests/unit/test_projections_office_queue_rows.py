"""office_queue's row making against the previous implementation (dataclass `__init__` and
`dataclasses.replace`), kept here as the reference: the same rows, in the same order, with
their fields in the dataclass's order; a replan deletes exactly the entries the reference's
would."""

from __future__ import annotations

import random
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from engine.rows import Rows
from projections.events import stamp
from projections.office_queue import (
    FINAL_STATES,
    NO_DUE,
    OPEN,
    QUEUE,
    REQUESTS,
    QueueRow,
    RequestRow,
    _change,
    entries,
)

_SHARED = tuple(f for f in RequestRow.__dataclass_fields__ if f in QueueRow.__dataclass_fields__)
PLACES = ("430602", "420102", "110101")
STATES = ("planned", "dispatched", "received", "supplement-requested", *FINAL_STATES)


def reference_entries(request: RequestRow) -> list[QueueRow]:
    places = dict.fromkeys((request.receiving_locality, request.handling_locality))
    rows = []
    for locality in places:
        receives = locality == request.receiving_locality
        decides = locality == request.handling_locality
        role = "both" if receives and decides else "decide-here" if decides else "receive-for-other"
        values = {k: getattr(request, k) for k in _SHARED}
        rows.append(
            QueueRow(
                **values,
                locality=locality,
                role=role,
                due_sort=request.due or NO_DUE,
                visible=request.state in OPEN,  # the office's open work
            )
        )
    return rows


def reference_change(old: RequestRow, at: str, **changes: Any) -> RequestRow:
    new = replace(old, updated_at=at, **changes)
    if new.state in FINAL_STATES:
        new = replace(new, overdue=False, due_soon=False)
    return new


def a_request(pick: random.Random, n: int) -> RequestRow:
    return RequestRow(
        service_request_id=f"r{n}",
        case_id=f"c{n % 7}",
        service=pick.choice(("vaccination", "household-registration")),
        authority=pick.choice(("cdc", "public-security")),
        handling_locality=pick.choice(PLACES),
        receiving_locality=pick.choice(PLACES),
        mode=pick.choice((None, "online", "counter")),
        manual_routing=pick.random() < 0.5,
        state=pick.choice(STATES),
        due=pick.choice((None, "2026-12-31", "2027-01-05")),
        due_provisional=pick.random() < 0.5,
        overdue=pick.random() < 0.5,
        due_soon=pick.random() < 0.5,
        since="2026-12-01T08:00:00+00:00",
        updated_at="2026-12-02T08:00:00+00:00",
    )


def a_change(pick: random.Random) -> dict[str, Any]:
    return pick.choice(
        (
            {"state": pick.choice(STATES)},
            {"state": "received", "due": pick.choice((None, "2027-02-01"))},
            {"overdue": True},
            {"due_soon": True},
            {
                "authority": "cdc",
                "handling_locality": pick.choice(PLACES),
                "receiving_locality": pick.choice(PLACES),
                "mode": None,
                "manual_routing": True,
            },
        )
    )


@dataclass
class Event:
    """What `_change` reads of a request event."""

    originator_id: str
    timestamp: datetime = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


def test_entries_are_the_reference_rows_with_fields_in_order() -> None:
    pick = random.Random(6)
    names = [f.name for f in fields(QueueRow)]
    for n in range(400):
        request = a_request(pick, n)
        made, expected = entries(request), reference_entries(request)
        assert made == expected
        assert [list(vars(r).items()) for r in made] == [list(vars(r).items()) for r in expected]
        assert all(list(vars(r)) == names for r in made)


def test_a_change_saves_the_reference_rows_and_deletes_what_the_reference_would() -> None:
    pick = random.Random(7)
    for n in range(400):
        old = a_request(pick, n)
        changes = a_change(pick)
        rows = Rows(lambda table, key: None)
        rows.put(REQUESTS, old)
        for entry in entries(old):
            rows.put(QUEUE, entry)
        event = Event(old.service_request_id)
        _change(rows, event, **changes)
        expected = reference_change(old, stamp(event), **changes)
        saved = rows.get(REQUESTS, old.service_request_id)
        assert saved == expected
        assert list(vars(saved).items()) == list(vars(expected).items())
        kept = {e.locality for e in reference_entries(expected)}
        for entry in reference_entries(old):
            row = rows.get(QUEUE, entry.locality, entry.service_request_id)
            assert row is None if entry.locality not in kept else row is not None
        for entry in reference_entries(expected):
            assert rows.get(QUEUE, entry.locality, entry.service_request_id) == entry
