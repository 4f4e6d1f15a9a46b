"""The delivery store in memory (tests, and `NEWBORN_LEDGER_PERSISTENCE=memory`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from uuid import UUID

from integrations.registry.store import (
    DEAD,
    DELIVERED,
    PENDING,
    WAITING,
    Claim,
    Delivery,
    Endpoint,
    Failure,
    NewDelivery,
    as_cancelled,
    as_delivered,
    as_failed,
    as_released,
    as_revived,
    delivery_id,
    is_due,
    is_leased,
    is_purged,
    new_delivery,
)


class InMemoryDeliveryStore:
    """The DeliveryStore semantics over dicts, one lock for every method."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._endpoints: dict[UUID, Endpoint] = {}
        self._rows: dict[UUID, Delivery] = {}

    def endpoint(self, system_id: UUID) -> Endpoint:
        with self._lock:
            return self._endpoints.get(system_id, Endpoint(system_id))

    def endpoints(self) -> list[Endpoint]:
        with self._lock:
            return list(self._endpoints.values())

    def enqueue(
        self, system_id: UUID, after: int, through: int, rows: Sequence[NewDelivery], now: float
    ) -> int:
        with self._lock:
            endpoint = self._endpoints.get(system_id, Endpoint(system_id))
            if endpoint.enqueued_through != after:
                return 0
            added = 0
            for row in rows:
                key = delivery_id(system_id, row.message_id)
                if key not in self._rows:
                    self._rows[key] = new_delivery(system_id, row, now)
                    added += 1
            self._endpoints[system_id] = replace(endpoint, enqueued_through=through)
            return added

    def claim(self, system_id: UUID, claim: Claim) -> list[Delivery]:
        with self._lock:
            endpoint = self._endpoints.get(system_id, Endpoint(system_id))
            mine = [r for r in self._rows.values() if r.system_id == system_id]
            leased = sum(is_leased(r, claim.now) for r in mine)
            room = min(claim.limit, endpoint.capacity(claim.now, leased, claim.in_flight))
            due = sorted((r for r in mine if is_due(r, claim.now)), key=lambda r: r.sequence)
            taken = [
                replace(r, lease_owner=claim.owner, lease_until=claim.lease_until)
                for r in due[: max(0, room)]
            ]
            for row in taken:
                self._rows[row.delivery_id] = row
            if taken:
                self._endpoints[system_id] = endpoint.claimed(claim.lease_until)
            return taken

    def delivered(self, delivery_id: UUID, now: float, status: int) -> bool:
        with self._lock:
            row = self._rows.get(delivery_id)
            if row is None or row.state == DELIVERED:
                return False
            self._rows[delivery_id] = as_delivered(row, now, status)
            endpoint = self._endpoints.get(row.system_id, Endpoint(row.system_id))
            self._endpoints[row.system_id] = endpoint.after_success()
            return True

    def failed(
        self, delivery_id: UUID, owner: str, now: float, failure: Failure
    ) -> Delivery | None:
        with self._lock:
            row = self._rows.get(delivery_id)
            if row is None or row.state != PENDING or row.lease_owner != owner:
                return None
            endpoint = self._endpoints.get(row.system_id, Endpoint(row.system_id))
            self._rows[delivery_id] = recorded = as_failed(
                row, now, failure, endpoint.spends(failure)
            )
            if failure.counts:
                self._endpoints[row.system_id] = endpoint.after_failure(now, failure)
            return recorded

    def release(self, delivery_id: UUID, owner: str, now: float, next_attempt_at: float) -> bool:
        with self._lock:
            row = self._rows.get(delivery_id)
            if row is None or row.state != PENDING or row.lease_owner != owner:
                return False
            self._rows[delivery_id] = as_released(row, next_attempt_at)
            return True

    def get(self, delivery_id: UUID) -> Delivery | None:
        with self._lock:
            return self._rows.get(delivery_id)

    def deliveries(
        self,
        *,
        system_id: UUID | None = None,
        state: str | None = None,
        service_request_id: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        with self._lock:
            rows = [
                r
                for r in self._rows.values()
                if system_id in (None, r.system_id)
                and state in (None, r.state)
                and service_request_id in (None, r.service_request_id)
            ]
        return sorted(rows, key=lambda r: (r.sequence, str(r.system_id)))[:limit]

    def replay(self, delivery_id: UUID, now: float) -> bool:
        with self._lock:
            row = self._rows.get(delivery_id)
            if row is None or row.state != DEAD:
                return False
            self._rows[delivery_id] = as_revived(row, now)
            return True

    def replay_dead(self, system_id: UUID, now: float) -> int:
        with self._lock:
            dead = [r for r in self._rows.values() if r.system_id == system_id and r.state == DEAD]
            for row in dead:
                self._rows[row.delivery_id] = as_revived(row, now)
            return len(dead)

    def discard(self, system_id: UUID) -> int:
        with self._lock:
            found = [
                r for r in self._rows.values() if r.system_id == system_id and r.state in WAITING
            ]
            for row in found:
                self._rows[row.delivery_id] = as_cancelled(row)
            return len(found)

    def purge(self, now: float, keep_s: float, limit: int) -> int:
        with self._lock:
            before = now - keep_s
            gone = [key for key, row in self._rows.items() if is_purged(row, before)][:limit]
            for key in gone:
                del self._rows[key]
            return len(gone)

    def waiting(self) -> dict[UUID, dict[str, int]]:
        with self._lock:
            found: dict[UUID, dict[str, int]] = {}
            for row in self._rows.values():
                if row.state in WAITING:
                    mine = found.setdefault(row.system_id, {})
                    mine[row.state] = mine.get(row.state, 0) + 1
            return found

    def counts(self) -> dict[str, int]:
        with self._lock:
            found: dict[str, int] = {}
            for row in self._rows.values():
                found[row.state] = found.get(row.state, 0) + 1
            return found

    def dead_by_system(self) -> dict[UUID, int]:
        with self._lock:
            found: dict[UUID, int] = {}
            for row in self._rows.values():
                if row.state == DEAD:
                    found[row.system_id] = found.get(row.system_id, 0) + 1
            return found

    def close(self) -> None:
        """Nothing to release."""
