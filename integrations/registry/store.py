"""The delivery state: per system a cursor and a circuit, per (system, message) a delivery.

Rows hold ids, states, counts, times (epoch seconds) and the last HTTP status or error
class: never a body, so no personal data. The SQL stores are in adapters/deliveries.py,
the in-memory one in memory.py; tests/integration/test_delivery_stores.py runs them alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

PENDING, DELIVERED, DEAD, CANCELLED = "pending", "delivered", "dead", "cancelled"
STATES = (PENDING, DELIVERED, DEAD, CANCELLED)
WAITING = (PENDING, DEAD)  # what an operator may have to act on (counted by /metrics)
CLOSED, OPEN, PROBING = "closed", "open", "probing"


def delivery_id(system_id: UUID, message_id: str) -> UUID:
    """Deterministic: enqueuing a message twice for a system makes one delivery."""
    return uuid5(NAMESPACE_URL, f"/deliveries/{system_id}/{message_id}")


@dataclass(frozen=True)
class NewDelivery:
    """A feed message to deliver to one system (what enqueue records of it)."""

    message_id: str
    sequence: int
    service_request_id: str
    type: str


@dataclass(frozen=True)
class Delivery:
    delivery_id: UUID
    system_id: UUID
    message_id: str
    sequence: int
    service_request_id: str
    type: str
    state: str
    attempts: int
    next_attempt_at: float
    created_at: float
    first_attempt_at: float | None = None
    last_attempt_at: float | None = None
    delivered_at: float | None = None
    last_status: int | None = None
    last_error: str = ""
    lease_owner: str | None = None
    lease_until: float | None = None


@dataclass(frozen=True)
class Endpoint:
    """A system's delivery state: how far its office's feed is enqueued, and its circuit:
    closed; open (nothing is sent before `circuit_until`, then one delivery probes);
    probing (the probe's lease ends at `circuit_until`)."""

    system_id: UUID
    enqueued_through: int = 0
    circuit: str = CLOSED
    failures: int = 0  # consecutive
    circuit_until: float = 0.0
    opened_at: float | None = None

    def capacity(self, now: float, leased: int, in_flight: int) -> int:
        """How many deliveries may be claimed now, `leased` being sent already."""
        if self.circuit == CLOSED:
            return max(0, in_flight - leased)
        if self.circuit_until > now or leased:
            return 0
        return 1  # the probe: paused long enough, nothing else in flight

    def claimed(self, lease_until: float) -> Endpoint:
        """After a claim: an open circuit is now probing, until the probe's lease ends."""
        if self.circuit == CLOSED:
            return self
        return replace(self, circuit=PROBING, circuit_until=lease_until)

    def after_success(self) -> Endpoint:
        return replace(self, circuit=CLOSED, failures=0, circuit_until=0.0, opened_at=None)

    def after_failure(self, now: float, failure: Failure) -> Endpoint:
        """One more consecutive failure; the Nth, or a failed probe, (re)opens the circuit.
        The pause grows with the outage: as long as the circuit has been open already (so it
        doubles from probe to probe), from `pause_s` up to `max_pause_s`."""
        failures = self.failures + 1
        if self.circuit == PROBING or failures >= failure.failures_to_open:
            opened = self.opened_at if self.opened_at is not None else now
            pause = min(failure.max_pause_s, max(failure.pause_s, now - opened))
            return replace(
                self, circuit=OPEN, failures=failures, circuit_until=now + pause, opened_at=opened
            )
        return replace(self, failures=failures)

    def spends(self, failure: Failure) -> bool:
        """Whether a failed attempt spends one of the delivery's attempts: only while the
        circuit is closed (a probe, or a send under way when it opened, costs nothing), and
        always when the endpoint refused the delivery itself (410)."""
        return self.circuit == CLOSED or not failure.counts


@dataclass(frozen=True)
class Claim:
    """Who claims, when, until when, and the bounds: in flight per endpoint, and how many."""

    owner: str
    now: float
    lease_until: float
    in_flight: int
    limit: int


@dataclass(frozen=True)
class Failure:
    """A failed attempt: its status (None: no answer) and error class; then either the next
    attempt's time or, when `dead` and the attempt is spent (Endpoint.spends), a dead letter.
    `counts`: whether it counts against the circuit."""

    status: int | None
    error: str
    next_attempt_at: float
    dead: bool
    counts: bool
    failures_to_open: int
    pause_s: float
    max_pause_s: float = 900.0


class DeliveryStore(Protocol):
    """Delivery state on one store. Every method is one short transaction: none is held
    while a delivery is sent."""

    def endpoint(self, system_id: UUID) -> Endpoint: ...
    def endpoints(self) -> list[Endpoint]: ...
    def enqueue(
        self, system_id: UUID, after: int, through: int, rows: Sequence[NewDelivery], now: float
    ) -> int:
        """Record `rows` and move the system's cursor from `after` to `through`, at once;
        nothing (0) when another worker moved the cursor first."""
        ...

    def claim(self, system_id: UUID, claim: Claim) -> list[Delivery]:
        """Lease due pending deliveries of one system, in sequence order, as many as its
        circuit and in-flight bound allow (with other workers' leases counted)."""
        ...

    def delivered(self, delivery_id: UUID, now: float, status: int) -> bool:
        """Record a success, unless already recorded: also of a delivery another worker
        made a dead letter (or an operator discarded) meanwhile, since the receiver got it."""
        ...

    def failed(
        self, delivery_id: UUID, owner: str, now: float, failure: Failure
    ) -> Delivery | None:
        """Record a failed attempt if `owner` still holds the lease: the row as recorded
        (dead, or pending again), else None."""
        ...

    def release(self, delivery_id: UUID, owner: str, now: float, next_attempt_at: float) -> bool:
        """Give a lease back unattempted (the message is not in the feed yet): pending, due
        at `next_attempt_at`, its attempts and the circuit untouched."""
        ...

    def get(self, delivery_id: UUID) -> Delivery | None: ...
    def deliveries(
        self,
        *,
        system_id: UUID | None = None,
        state: str | None = None,
        service_request_id: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]: ...
    def replay(self, delivery_id: UUID, now: float) -> bool:
        """A dead letter pending again, due now, its attempts counted afresh."""
        ...

    def replay_dead(self, system_id: UUID, now: float) -> int: ...
    def discard(self, system_id: UUID) -> int:
        """A (disabled) system's pending and dead deliveries cancelled: never sent, counted
        nowhere; how many."""
        ...

    def purge(self, now: float, keep_s: float, limit: int) -> int:
        """Delete up to `limit` deliveries delivered more than `keep_s` before `now` (and
        cancelled ones created before then); how many."""
        ...

    def counts(self) -> dict[str, int]:
        """Deliveries by state (every row read: tests and the CLI, not /metrics)."""
        ...

    def waiting(self) -> dict[UUID, dict[str, int]]:
        """Per system, its pending and dead deliveries (an index range: /metrics)."""
        ...

    def dead_by_system(self) -> dict[UUID, int]: ...
    def close(self) -> None: ...


# The row changes, shared by every store (the SQL ones read the row, change it here, write it).


def new_delivery(system_id: UUID, row: NewDelivery, now: float) -> Delivery:
    return Delivery(
        delivery_id(system_id, row.message_id),
        system_id,
        row.message_id,
        row.sequence,
        row.service_request_id,
        row.type,
        state=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def is_leased(row: Delivery, now: float) -> bool:
    """Being sent: pending, with a lease that has not ended (a killed worker's ends)."""
    return row.state == PENDING and row.lease_until is not None and row.lease_until >= now


def is_due(row: Delivery, now: float) -> bool:
    return row.state == PENDING and row.next_attempt_at <= now and not is_leased(row, now)


def _attempted(row: Delivery, now: float, status: int | None, error: str) -> Delivery:
    return replace(
        row,
        attempts=row.attempts + 1,
        first_attempt_at=now if row.first_attempt_at is None else row.first_attempt_at,
        last_attempt_at=now,
        last_status=status,
        last_error=error,
        lease_owner=None,
        lease_until=None,
    )


def as_delivered(row: Delivery, now: float, status: int) -> Delivery:
    return replace(_attempted(row, now, status, ""), state=DELIVERED, delivered_at=now)


def as_failed(row: Delivery, now: float, failure: Failure, spent: bool = True) -> Delivery:
    """A failed attempt; one not `spent` (the circuit was open) leaves the attempts as they
    were and the delivery pending."""
    tried = _attempted(row, now, failure.status, failure.error)
    if not spent:
        return replace(tried, attempts=row.attempts, next_attempt_at=failure.next_attempt_at)
    state = DEAD if failure.dead else PENDING
    return replace(tried, state=state, next_attempt_at=failure.next_attempt_at)


def as_released(row: Delivery, next_attempt_at: float) -> Delivery:
    return replace(row, lease_owner=None, lease_until=None, next_attempt_at=next_attempt_at)


def as_cancelled(row: Delivery) -> Delivery:
    return replace(row, state=CANCELLED, lease_owner=None, lease_until=None)


def is_purged(row: Delivery, before: float) -> bool:
    if row.state == DELIVERED:
        return row.delivered_at is not None and row.delivered_at < before
    return row.state == CANCELLED and row.created_at < before


def as_revived(row: Delivery, now: float) -> Delivery:
    """A dead letter replayed: pending, due now, its attempts counted afresh."""
    return replace(row, state=PENDING, attempts=0, next_attempt_at=now, last_error="")
