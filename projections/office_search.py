"""office_search: a blind index of the parents' citizen IDs dispatched to each request.

A clerk finds a request by a parent's citizen ID without any table holding citizen IDs in
clear: each row keeps a keyed digest (HMAC-SHA256) of an ID that a dispatch to the request
carried, and a search digests what the clerk typed under the same keys. The keys come from
the cipher key (adapters/workbench.py); only the dispatched payload is indexed, so an office
finds a request by an ID only when that ID was sent to it.
"""

from __future__ import annotations

import hashlib
import hmac
from abc import ABC
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import singledispatchmethod
from typing import Any

from domain.kernel.service_request import ServiceRequest
from engine.memory import InMemoryTables
from engine.rows import Rows, Table
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
    """A parent's citizen ID, as a keyed digest, that a dispatch to the request carried."""

    digest: str
    service_request_id: str


PARENTS = Table(
    "parents",
    ParentDigest,
    ("digest", "service_request_id"),
    indexes=[("digest",)],
)


class OfficeSearchView(TableView, ABC):
    """Digest → the requests whose dispatched payload named that citizen ID."""

    name = "office_search"
    tables = (PARENTS,)
    # the current key first, then keys still read after a rotation (adapters/views.py)
    index_keys: tuple[bytes, ...] = (UNKEYED,)

    def digests(self, citizen_id: str) -> list[str]:
        """Every digest a row may hold for the ID: one per key."""
        return [digest(key, citizen_id) for key in self.index_keys]

    def requests_of(self, citizen_id: str) -> list[str]:
        """The request ids whose dispatch named the ID (at most MAX_MATCHES)."""
        found: dict[str, None] = {}
        for value in self.digests(citizen_id):
            rows = self.select(PARENTS, {"digest": value}, limit=MAX_MATCHES)
            found.update(dict.fromkeys(r.service_request_id for r in rows))
        return list(found)[:MAX_MATCHES]


class InMemoryOfficeSearch(InMemoryTables, OfficeSearchView):
    """office_search in memory, for unit tests."""


class OfficeSearchProjection(TableProjection[OfficeSearchView]):
    """Indexes the parents' citizen IDs of each dispatch (a corrected redispatch adds the
    corrected IDs; a search checks the request's current payload, so an old ID finds
    nothing)."""

    name = "office_search"
    topics = topics_of(ServiceRequest.Dispatched, ServiceRequest.Redispatched)

    @singledispatchmethod
    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """Other events index nothing."""

    @apply.register
    def _(self, event: ServiceRequest.Dispatched, position: int, rows: Rows) -> None:
        self._index(event.payload, str(event.originator_id), rows)

    @apply.register
    def _(self, event: ServiceRequest.Redispatched, position: int, rows: Rows) -> None:
        self._index(event.payload, str(event.originator_id), rows)

    def _index(self, payload: Mapping[str, object], request_id: str, rows: Rows) -> None:
        key = self.view.index_keys[0]
        for value in parent_ids(payload):
            rows.put(PARENTS, ParentDigest(digest(key, value), request_id))


def parent_ids(payload: Mapping[str, object], fields: Sequence[str] = PARENT_FIELDS) -> list[str]:
    """The parents' citizen IDs a payload carries (strings only, upper-cased)."""
    return [
        value.strip().upper()
        for name in fields
        if isinstance(value := payload.get(name), str) and value.strip()
    ]
