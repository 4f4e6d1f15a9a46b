"""office_search: a blind index of the parents' citizen IDs sent to each request's offices.

A clerk finds a request by a parent's citizen ID without any table holding citizen IDs in
clear: each row keeps a keyed digest (HMAC-SHA256) of an ID that a dispatch (or a correction
asked of the office) carried, and a search digests what the clerk typed under the same keys.
The keys come from the cipher key (adapters/views.py). Each row names the office it was sent
to (authority, and the handling or the receiving locality), and a search reads only its own
office's rows: it never loads, nor counts against its limit, another office's request.
"""

from __future__ import annotations

import hashlib
import hmac
from abc import ABC
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import singledispatchmethod
from typing import Any

from domain.kernel.routing import Route
from domain.kernel.service_request import ServiceRequest
from engine.memory import InMemoryTables
from engine.rows import Rows, Table, require
from engine.view import TableProjection, TableView
from projections.events import topics_of

PARENT_FIELDS = ("mother.citizen_id", "father.citizen_id")  # payload fields indexed
# The digest's key when no cipher key is configured: such a store keeps its events (and the
# IDs in them) in clear, so the index is no weaker than the store it sits beside.
UNKEYED = hashlib.sha256(b"newborn-ledger/office-search/unkeyed/v1").digest()
MAX_MATCHES = 50  # requests one digest finds at most (a parent's children, their services)


def digest(key: bytes, citizen_id: str) -> str:
    """The keyed digest of a citizen ID (upper-cased: its check character may be an x)."""
    return hmac.new(key, citizen_id.strip().upper().encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ParentDigest:
    """A parent's citizen ID, as a keyed digest, that was sent to an office of the request:
    one row per office locality (the handling one, and the receiving window's)."""

    digest: str
    authority: str
    locality: str
    service_request_id: str


@dataclass(frozen=True)
class RequestOffices:
    """Where a request's data goes: its route's authority and localities (the route is
    settled before anything is dispatched)."""

    service_request_id: str
    authority: str
    handling_locality: str
    receiving_locality: str


# the key's first columns are a search's (one digest, one office)
PARENTS = Table("parents", ParentDigest, ("digest", "authority", "locality", "service_request_id"))
OFFICES = Table("offices", RequestOffices, ("service_request_id",))


class OfficeSearchView(TableView, ABC):
    """Digest and office → the office's requests sent that citizen ID."""

    name = "office_search"
    tables = (PARENTS, OFFICES)
    # the current key first, then keys still read after a rotation (adapters/views.py)
    index_keys: tuple[bytes, ...] = (UNKEYED,)

    def digests(self, citizen_id: str) -> list[str]:
        """Every digest a row may hold for the ID: one per key."""
        return [digest(key, citizen_id) for key in self.index_keys]

    def requests_of(self, citizen_id: str, locality: str, authority: str) -> list[str]:
        """The ids of the office's requests it was sent the ID for (at most MAX_MATCHES)."""
        found: dict[str, None] = {}
        for value in self.digests(citizen_id):
            where = {"digest": value, "authority": authority, "locality": locality}
            rows = self.select(PARENTS, where, limit=MAX_MATCHES)
            found.update(dict.fromkeys(r.service_request_id for r in rows))
        return list(found)[:MAX_MATCHES]


class InMemoryOfficeSearch(InMemoryTables, OfficeSearchView):
    """office_search in memory, for unit tests."""


class OfficeSearchProjection(TableProjection[OfficeSearchView]):
    """Indexes the parents' citizen IDs each dispatch sends to the request's offices: a
    corrected redispatch adds the corrected IDs, and so does a correction asked of an office
    that decided (its new values; approved, they become the payload). A search checks the
    request's payload and any pending correction, so an ID corrected away finds nothing."""

    name = "office_search"
    topics = topics_of(
        ServiceRequest.Planned,
        ServiceRequest.Replanned,
        ServiceRequest.Routed,
        ServiceRequest.Dispatched,
        ServiceRequest.Redispatched,
        ServiceRequest.CorrectionRequested,
    )

    @singledispatchmethod
    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """Other events index nothing."""

    @apply.register
    def _(self, event: ServiceRequest.Planned, position: int, rows: Rows) -> None:
        self._route(event.route, str(event.originator_id), rows)

    @apply.register
    def _(self, event: ServiceRequest.Replanned, position: int, rows: Rows) -> None:
        self._route(event.route, str(event.originator_id), rows)

    @apply.register
    def _(self, event: ServiceRequest.Routed, position: int, rows: Rows) -> None:
        self._route(event.route, str(event.originator_id), rows)

    @apply.register
    def _(self, event: ServiceRequest.Dispatched, position: int, rows: Rows) -> None:
        self._index(event.payload, str(event.originator_id), rows)

    @apply.register
    def _(self, event: ServiceRequest.Redispatched, position: int, rows: Rows) -> None:
        self._index(event.payload, str(event.originator_id), rows)

    @apply.register
    def _(self, event: ServiceRequest.CorrectionRequested, position: int, rows: Rows) -> None:
        self._index(event.new, str(event.originator_id), rows)

    @staticmethod
    def _route(route: Route, request_id: str, rows: Rows) -> None:
        planned = route.planned
        row = RequestOffices(
            request_id, planned.authority, planned.handling_locality, planned.receiving_locality
        )
        rows.put(OFFICES, row)

    def _index(self, payload: Mapping[str, object], request_id: str, rows: Rows) -> None:
        offices = require(rows.get(OFFICES, request_id), "offices", request_id)
        places = dict.fromkeys((offices.handling_locality, offices.receiving_locality))
        key = self.view.index_keys[0]
        for value in parent_ids(payload):
            hashed = digest(key, value)
            for locality in places:
                rows.put(PARENTS, ParentDigest(hashed, offices.authority, locality, request_id))


def parent_ids(payload: Mapping[str, object], fields: Sequence[str] = PARENT_FIELDS) -> list[str]:
    """The parents' citizen IDs a payload carries (strings only, upper-cased)."""
    return [
        value.strip().upper()
        for name in fields
        if isinstance(value := payload.get(name), str) and value.strip()
    ]
