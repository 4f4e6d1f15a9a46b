"""office_feed: the ordered messages of each office (locality + authority), for its systems.

Every event an office must know about one of its requests (dispatched to it, received for it,
answered by the family, asked to correct or revoke, withdrawn) becomes one message to that
office: a CloudEvents envelope whose `data` is exactly what the office's history shows of the
event (domain/births/history.py). The feed is the outbox: a registry system reads it in order
with a cursor (`GET /offices/{locality}/{authority}/feed`), or the worker pushes each message
to it as a signed webhook (integrations/registry/). Nothing is written twice: the messages are
derived from the ledger's log, and a rebuild writes the same messages under the same ids and
sequence numbers.

A message's `sequence` is the ledger position of its event times `SLOTS`, plus the slot of
the office (receiving window 0, deciding office 1): increasing in the log's order, stable
across rebuilds, and unique per office. An event this view parks (it failed to apply) holds
every office's feed before it until it is retried or skipped (`projections retry|skip
office_feed POSITION`): its message, written by the retry under its own sequence, would
otherwise fall behind every reader's cursor and never be read or pushed. Bodies hold
personal data (a dispatch's payload), so they are sealed with the store's cipher when a key
is configured.
"""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass
from functools import singledispatchmethod
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import orjson

from domain.births.history import history_entry
from domain.kernel.routing import Route
from domain.kernel.service_request import ServiceRequest
from engine.memory import InMemoryTables
from engine.parked import PARKED, PARKED_STATE
from engine.rows import Rows, Table
from engine.view import TableProjection, TableView
from projections.case_document import Sealer
from projections.events import stamp, topics_of

SLOTS = 4  # offices one event may reach (2 today: the receiving window and the deciding office)
RECEIVING, HANDLING = 0, 1
FEED_NAMESPACE = uuid5(NAMESPACE_URL, "https://newborn-ledger.org/office-feed")
TYPE_PREFIX = "org.newborn-ledger.request."
MAX_PAGE = 500

# event → (message type, which offices: "receiving", "handling" or "both" of them)
MESSAGES: dict[type, tuple[str, str]] = {
    ServiceRequest.Dispatched: ("dispatched", "both"),
    ServiceRequest.Redispatched: ("redispatched", "both"),
    ServiceRequest.Received: ("received", "handling"),
    ServiceRequest.DeemedAccepted: ("deemed-accepted", "handling"),
    ServiceRequest.Supplemented: ("supplemented", "both"),
    ServiceRequest.CorrectionRequested: ("correction-requested", "handling"),
    ServiceRequest.CorrectionWithdrawn: ("correction-withdrawn", "handling"),
    ServiceRequest.RevocationRequested: ("revocation-requested", "handling"),
    ServiceRequest.Withdrawn: ("withdrawn", "both"),
}
TYPES = tuple(f"{TYPE_PREFIX}{kind}" for kind, _ in MESSAGES.values())


@dataclass(frozen=True)
class RouteRow:
    """Where a request goes: its service, authority and the two places acting on it."""

    service_request_id: str
    case_id: str
    service: str
    authority: str
    receiving_locality: str
    handling_locality: str
    mode: str | None
    manual_routing: bool


@dataclass(frozen=True)
class FeedMessage:
    """One message to one office; `body` is its envelope's JSON, sealed at rest."""

    locality: str
    authority: str
    sequence: int
    message_id: str
    type: str
    service_request_id: str
    case_id: str
    time: str
    body: str


ROUTES = Table("routes", RouteRow, ("service_request_id",))
FEED = Table(
    "messages",
    FeedMessage,
    ("locality", "authority", "sequence"),
    indexes=[("message_id",), ("service_request_id", "sequence")],
)


def message_id(originator: str, version: int, locality: str, authority: str) -> str:
    """The message's id (the webhook-id of every push of it): the same on a rebuild."""
    return "msg_" + uuid5(FEED_NAMESPACE, f"{originator}:{version}:{locality}:{authority}").hex


def offices(route: RouteRow, reach: str) -> list[tuple[int, str, str]]:
    """(slot, locality, role) of the offices a message reaches: the receiving window
    ("receive"), the deciding office ("decide"), or one office doing both ("both")."""
    receiving, handling = route.receiving_locality, route.handling_locality
    if receiving == handling:
        return [(RECEIVING, receiving, "both")]
    found = []
    if reach in ("both", "receiving"):
        found.append((RECEIVING, receiving, "receive"))
    if reach in ("both", "handling"):
        found.append((HANDLING, handling, "decide"))
    return found


class OfficeFeedView(TableView, ABC):
    """Each office's messages in order, read a page at a time after a cursor."""

    name = "office_feed"
    tables = (ROUTES, FEED)
    sealer: Sealer = Sealer()

    def messages(
        self, locality: str, authority: str, after: int = 0, limit: int = 100
    ) -> list[FeedMessage]:
        """The office's messages after `after` (a sequence), in sequence order, up to the
        first event parked here (see the module's note)."""
        where = {"locality": locality, "authority": authority}
        found = self.select(FEED, where, order_by=("sequence",), after=(after,), limit=limit)
        held = self.held_at()
        return found if held is None else [m for m in found if m.sequence < held]

    def held_at(self) -> int | None:
        """The first sequence no feed may pass: that of the first event parked here and not
        yet retried or skipped (None: none is)."""
        parked = self.select(PARKED, {"state": PARKED_STATE}, order_by=("position",), limit=1)
        return None if not parked else parked[0].position * SLOTS

    def message(self, message_id: str) -> FeedMessage | None:
        found = self.select(FEED, {"message_id": message_id}, limit=1)
        return found[0] if found else None

    def for_request(self, service_request_id: str) -> list[FeedMessage]:
        """Every message about one request, to any office, in order."""
        where = {"service_request_id": service_request_id}
        return self.select(FEED, where, order_by=("sequence",))

    def open_body(self, message: FeedMessage) -> bytes:
        """The envelope's JSON bytes (opened when sealed)."""
        return self.sealer.open(message.body)

    def envelope(self, message: FeedMessage) -> dict[str, Any]:
        opened: dict[str, Any] = orjson.loads(self.open_body(message))
        return opened


class InMemoryOfficeFeed(InMemoryTables, OfficeFeedView):
    """office_feed in memory, for unit tests."""


class OfficeFeedProjection(TableProjection[OfficeFeedView]):
    """Keeps each request's route (from its plan, a revised plan or the routing desk) and
    writes a message to each office a request's event concerns."""

    name = "office_feed"
    topics = topics_of(
        ServiceRequest.Planned,
        ServiceRequest.Replanned,
        ServiceRequest.Routed,
        *MESSAGES,
    )

    @singledispatchmethod
    def apply(self, event: Any, position: int, rows: Rows) -> None:
        """Messages for the office's events (`MESSAGES`)."""
        reached = MESSAGES.get(type(event))
        if reached is None:
            return
        route = rows.get(ROUTES, str(event.originator_id))
        if route is None or route.manual_routing:
            return  # no office yet: the routing desk has it
        kind, reach = reached
        data = history_entry("office", route.service, event)
        for slot, locality, role in offices(route, reach):
            rows.put(FEED, self._message(event, position, route, kind, data, slot, locality, role))

    @apply.register
    def _(self, event: ServiceRequest.Planned, position: int, rows: Rows) -> None:
        rows.put(ROUTES, _route_row(str(event.case_id), event.service, event))

    @apply.register
    def _(self, event: ServiceRequest.Replanned, position: int, rows: Rows) -> None:
        old = rows.get(ROUTES, str(event.originator_id))
        if old is not None:
            rows.put(ROUTES, _route_row(old.case_id, old.service, event))

    @apply.register
    def _(self, event: ServiceRequest.Routed, position: int, rows: Rows) -> None:
        rows.put(ROUTES, _route_row(str(event.case_id), event.service, event))

    def _message(
        self,
        event: Any,
        position: int,
        route: RouteRow,
        kind: str,
        data: dict[str, Any],
        slot: int,
        locality: str,
        role: str,
    ) -> FeedMessage:
        originator = str(event.originator_id)
        version: int = event.originator_version
        mid = message_id(originator, version, locality, route.authority)
        sequence = position * SLOTS + slot
        time = stamp(event)
        envelope = {
            "specversion": "1.0",
            "id": mid,
            "type": f"{TYPE_PREFIX}{kind}",
            "source": f"/offices/{locality}/{route.authority}",
            "subject": originator,
            "time": time,
            "datacontenttype": "application/json",
            "sequence": str(sequence),
            "data": {
                "service_request_id": originator,
                "case_id": route.case_id,
                "service": route.service,
                "authority": route.authority,
                "role": role,
                "receiving_locality": route.receiving_locality,
                "handling_locality": route.handling_locality,
                "mode": route.mode,
                "event": data["event"],
                "version": version,
                **data["data"],
            },
        }
        return FeedMessage(
            locality=locality,
            authority=route.authority,
            sequence=sequence,
            message_id=mid,
            type=f"{TYPE_PREFIX}{kind}",
            service_request_id=originator,
            case_id=route.case_id,
            time=time,
            body=self.view.sealer.seal(orjson.dumps(envelope)),
        )


def _route_row(case_id: str, service: str, event: Any) -> RouteRow:
    route: Route = event.route
    planned = route.planned
    return RouteRow(
        service_request_id=str(event.originator_id),
        case_id=case_id,
        service=service,
        authority=planned.authority,
        receiving_locality=planned.receiving_locality,
        handling_locality=planned.handling_locality,
        mode=planned.mode,
        manual_routing=planned.manual_routing,
    )
