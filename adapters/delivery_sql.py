"""The delivery store in SQL, for SQLite and PostgreSQL (adapters/delivery_stores.py).

One SQL text for both (`%s` becomes `?` on SQLite). A claim locks the system's endpoint row
(PostgreSQL: FOR UPDATE; SQLite: BEGIN IMMEDIATE), counts the leases under way, and leases
the due rows (PostgreSQL: FOR UPDATE SKIP LOCKED), so the in-flight bound and the circuit
hold across workers. The rows change in integrations/registry/store.py, alike everywhere.

On PostgreSQL several workers on several machines share the rows, so every time a method is
given (`now`, and the lease end, next attempt or cut-off derived from it) is moved onto the
database's clock first: leases, backoffs and circuits never depend on the workers' clocks
agreeing. SQLite is one machine's file, on that machine's clock."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, fields, replace
from typing import Any, Protocol
from uuid import UUID

from integrations.registry.store import (
    DEAD,
    DELIVERED,
    Claim,
    Delivery,
    Endpoint,
    Failure,
    NewDelivery,
    as_delivered,
    as_failed,
    as_released,
    as_revived,
    new_delivery,
)

DDL = (
    "CREATE TABLE IF NOT EXISTS {endpoints} (system_id TEXT PRIMARY KEY, "
    "enqueued_through BIGINT NOT NULL DEFAULT 0, circuit TEXT NOT NULL DEFAULT 'closed', "
    "failures INTEGER NOT NULL DEFAULT 0, circuit_until DOUBLE PRECISION NOT NULL DEFAULT 0, "
    "opened_at DOUBLE PRECISION)",
    "CREATE TABLE IF NOT EXISTS {deliveries} (delivery_id TEXT PRIMARY KEY, "
    "system_id TEXT NOT NULL, message_id TEXT NOT NULL, sequence BIGINT NOT NULL, "
    "service_request_id TEXT NOT NULL, type TEXT NOT NULL, state TEXT NOT NULL, "
    "attempts INTEGER NOT NULL, next_attempt_at DOUBLE PRECISION NOT NULL, "
    "created_at DOUBLE PRECISION NOT NULL, first_attempt_at DOUBLE PRECISION, "
    "last_attempt_at DOUBLE PRECISION, delivered_at DOUBLE PRECISION, last_status INTEGER, "
    "last_error TEXT NOT NULL DEFAULT '', lease_owner TEXT, lease_until DOUBLE PRECISION)",
    "CREATE INDEX IF NOT EXISTS deliveries_due ON {deliveries} (system_id, sequence) "
    "WHERE state = 'pending'",
    "CREATE INDEX IF NOT EXISTS deliveries_request ON {deliveries} (service_request_id)",
    "CREATE INDEX IF NOT EXISTS deliveries_state ON {deliveries} (state, system_id)",
    "CREATE INDEX IF NOT EXISTS deliveries_done ON {deliveries} (delivered_at) "
    "WHERE state = 'delivered'",
)
COLUMNS = tuple(f.name for f in fields(Delivery))
ENDPOINT_COLUMNS = tuple(f.name for f in fields(Endpoint))
SQL = {
    "endpoint": "SELECT * FROM {endpoints} WHERE system_id = %s{for_update}",
    "endpoint_read": "SELECT * FROM {endpoints} WHERE system_id = %s",
    "endpoints": "SELECT * FROM {endpoints} ORDER BY system_id",
    "ensure": "INSERT INTO {endpoints} (system_id) VALUES (%s) ON CONFLICT DO NOTHING",
    "save_endpoint": "UPDATE {endpoints} SET "
    + ", ".join(f"{c} = %s" for c in ENDPOINT_COLUMNS[1:])
    + " WHERE system_id = %s",
    "insert": f"INSERT INTO {{deliveries}} ({', '.join(COLUMNS)}) VALUES "
    f"({', '.join('%s' for _ in COLUMNS)}) ON CONFLICT DO NOTHING",
    "save": "UPDATE {deliveries} SET "
    + ", ".join(f"{c} = %s" for c in COLUMNS[1:])
    + " WHERE delivery_id = %s",
    "leased": "SELECT count(*) AS n FROM {deliveries} WHERE system_id = %s "
    "AND state = 'pending' AND lease_until >= %s",
    "due": "SELECT * FROM {deliveries} WHERE system_id = %s AND state = 'pending' "
    "AND next_attempt_at <= %s AND (lease_until IS NULL OR lease_until < %s) "
    "ORDER BY sequence LIMIT %s{skip_locked}",
    "get": "SELECT * FROM {deliveries} WHERE delivery_id = %s{for_update}",
    "dead_of": "SELECT * FROM {deliveries} WHERE system_id = %s AND state = 'dead'{for_update}",
    "counts": "SELECT state, count(*) AS n FROM {deliveries} GROUP BY state",
    "waiting": "SELECT system_id, state, count(*) AS n FROM {deliveries} "
    "WHERE state IN ('pending', 'dead') GROUP BY system_id, state",
    "discard": "UPDATE {deliveries} SET state = 'cancelled', lease_owner = NULL, "
    "lease_until = NULL WHERE system_id = %s AND state IN ('pending', 'dead')",
    "purge": "DELETE FROM {deliveries} WHERE delivery_id IN (SELECT delivery_id FROM "
    "{deliveries} WHERE (state = 'delivered' AND delivered_at < %s) "
    "OR (state = 'cancelled' AND created_at < %s) LIMIT %s)",
    "dead_by_system": "SELECT system_id, count(*) AS n FROM {deliveries} "
    "WHERE state = 'dead' GROUP BY system_id",
}


class Tx(Protocol):
    def rows(self, sql: str, params: Sequence[object] = ()) -> list[dict[str, Any]]: ...
    def run(self, sql: str, params: Sequence[object] = ()) -> int:
        """Execute; how many rows it changed."""
        ...


class SqlDeliveryStore:
    """The DeliveryStore over SQL; a backend gives `_tx`, the names and the locking clauses."""

    for_update = ""
    skip_locked = ""
    clock_sql = ""  # the database's clock, in epoch seconds (PostgreSQL)

    def __init__(self, endpoints: str, deliveries: str) -> None:
        self.names = names = {"endpoints": endpoints, "deliveries": deliveries}
        clauses = {"for_update": self.for_update, "skip_locked": self.skip_locked}
        self.sql = {k: self._dialect(v.format(**names, **clauses)) for k, v in SQL.items()}
        self.ddl = [self._dialect(d.format(**names)) for d in DDL]

    def _dialect(self, sql: str) -> str:
        return sql

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Tx]:
        raise NotImplementedError
        yield

    def endpoint(self, system_id: UUID) -> Endpoint:
        with self._tx(write=False) as tx:
            return self._endpoint(tx, system_id, lock=False)

    def _endpoint(self, tx: Tx, system_id: UUID, lock: bool = True) -> Endpoint:
        """The system's endpoint row; with `lock`, locked (made first when missing)."""
        found = tx.rows(self.sql["endpoint" if lock else "endpoint_read"], (str(system_id),))
        if not found and lock:
            tx.run(self.sql["ensure"], (str(system_id),))
            found = tx.rows(self.sql["endpoint"], (str(system_id),))
        return _endpoint(found[0]) if found else Endpoint(system_id)

    def _shift(self, tx: Tx, now: float) -> float:
        """How far the database's clock is ahead of the caller's `now` (0: no clock of its
        own), added to each time the caller gave."""
        if not self.clock_sql:
            return 0.0
        return float(tx.rows(self.clock_sql)[0]["now"]) - now

    def _save_endpoint(self, tx: Tx, endpoint: Endpoint, was: Endpoint | None = None) -> None:
        """Write the endpoint row, unless it is what it `was` (read in this transaction)."""
        if endpoint == was:
            return
        values = astuple(endpoint)
        tx.run(self.sql["save_endpoint"], (*values[1:], str(endpoint.system_id)))

    def endpoints(self) -> list[Endpoint]:
        with self._tx(write=False) as tx:
            return [_endpoint(r) for r in tx.rows(self.sql["endpoints"])]

    def enqueue(
        self, system_id: UUID, after: int, through: int, rows: Sequence[NewDelivery], now: float
    ) -> int:
        with self._tx() as tx:
            now += self._shift(tx, now)
            endpoint = self._endpoint(tx, system_id)
            if endpoint.enqueued_through != after:
                return 0  # another worker enqueued this page first
            added = sum(
                tx.run(self.sql["insert"], _values(new_delivery(system_id, row, now)))
                for row in rows
            )
            self._save_endpoint(tx, replace(endpoint, enqueued_through=through))
            return added

    def claim(self, system_id: UUID, claim: Claim) -> list[Delivery]:
        with self._tx() as tx:
            shift = self._shift(tx, claim.now)
            claim = replace(claim, now=claim.now + shift, lease_until=claim.lease_until + shift)
            endpoint = self._endpoint(tx, system_id)
            leased = tx.rows(self.sql["leased"], (str(system_id), claim.now))[0]["n"]
            room = min(claim.limit, endpoint.capacity(claim.now, int(leased), claim.in_flight))
            if room <= 0:
                return []
            due = tx.rows(self.sql["due"], (str(system_id), claim.now, claim.now, room))
            taken = [
                replace(_delivery(r), lease_owner=claim.owner, lease_until=claim.lease_until)
                for r in due
            ]
            for row in taken:
                self._save(tx, row)
            if taken:
                self._save_endpoint(tx, endpoint.claimed(claim.lease_until), endpoint)
            return taken

    def _save(self, tx: Tx, row: Delivery) -> None:
        values = _values(row)
        tx.run(self.sql["save"], (*values[1:], values[0]))

    def _locked(self, tx: Tx, delivery_id: UUID) -> Delivery | None:
        found = tx.rows(self.sql["get"], (str(delivery_id),))
        return _delivery(found[0]) if found else None

    def delivered(self, delivery_id: UUID, now: float, status: int) -> bool:
        with self._tx() as tx:
            now += self._shift(tx, now)
            row = self._locked(tx, delivery_id)
            if row is None or row.state == DELIVERED:
                return False
            endpoint = self._endpoint(tx, row.system_id)
            self._save(tx, as_delivered(row, now, status))
            self._save_endpoint(tx, endpoint.after_success(), endpoint)
            return True

    def failed(
        self, delivery_id: UUID, owner: str, now: float, failure: Failure
    ) -> Delivery | None:
        with self._tx() as tx:
            shift = self._shift(tx, now)
            now += shift
            failure = replace(failure, next_attempt_at=failure.next_attempt_at + shift)
            row = self._locked(tx, delivery_id)
            if row is None or row.state != "pending" or row.lease_owner != owner:
                return None
            endpoint = self._endpoint(tx, row.system_id)
            recorded = as_failed(row, now, failure, endpoint.spends(failure))
            self._save(tx, recorded)
            if failure.counts:
                self._save_endpoint(tx, endpoint.after_failure(now, failure), endpoint)
            return recorded

    def release(self, delivery_id: UUID, owner: str, now: float, next_attempt_at: float) -> bool:
        with self._tx() as tx:
            next_attempt_at += self._shift(tx, now)
            row = self._locked(tx, delivery_id)
            if row is None or row.state != "pending" or row.lease_owner != owner:
                return False
            self._save(tx, as_released(row, next_attempt_at))
            return True

    def get(self, delivery_id: UUID) -> Delivery | None:
        with self._tx(write=False) as tx:
            found = tx.rows(self.sql["get"].replace(self.for_update, ""), (str(delivery_id),))
        return _delivery(found[0]) if found else None

    def deliveries(
        self,
        *,
        system_id: UUID | None = None,
        state: str | None = None,
        service_request_id: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        wanted = {"system_id": system_id, "state": state, "service_request_id": service_request_id}
        where = {k: str(v) for k, v in wanted.items() if v is not None}
        sql = "SELECT * FROM {} WHERE {} ORDER BY sequence, system_id LIMIT %s".format(
            self.names["deliveries"], " AND ".join(["TRUE", *(f"{k} = %s" for k in where)])
        )
        with self._tx(write=False) as tx:
            return [_delivery(r) for r in tx.rows(self._dialect(sql), (*where.values(), limit))]

    def replay(self, delivery_id: UUID, now: float) -> bool:
        with self._tx() as tx:
            now += self._shift(tx, now)
            row = self._locked(tx, delivery_id)
            if row is None or row.state != DEAD:
                return False
            self._save(tx, as_revived(row, now))
            return True

    def replay_dead(self, system_id: UUID, now: float) -> int:
        with self._tx() as tx:
            now += self._shift(tx, now)
            dead = [_delivery(r) for r in tx.rows(self.sql["dead_of"], (str(system_id),))]
            for row in dead:
                self._save(tx, as_revived(row, now))
            return len(dead)

    def discard(self, system_id: UUID) -> int:
        with self._tx() as tx:
            return tx.run(self.sql["discard"], (str(system_id),))

    def purge(self, now: float, keep_s: float, limit: int) -> int:
        with self._tx() as tx:
            before = now + self._shift(tx, now) - keep_s
            return tx.run(self.sql["purge"], (before, before, limit))

    def waiting(self) -> dict[UUID, dict[str, int]]:
        with self._tx(write=False) as tx:
            found = tx.rows(self.sql["waiting"])
        counted: dict[UUID, dict[str, int]] = {}
        for r in found:
            counted.setdefault(UUID(str(r["system_id"])), {})[str(r["state"])] = int(r["n"])
        return counted

    def counts(self) -> dict[str, int]:
        with self._tx(write=False) as tx:
            return {str(r["state"]): int(r["n"]) for r in tx.rows(self.sql["counts"])}

    def dead_by_system(self) -> dict[UUID, int]:
        with self._tx(write=False) as tx:
            found = tx.rows(self.sql["dead_by_system"])
        return {UUID(str(r["system_id"])): int(r["n"]) for r in found}

    def close(self) -> None:
        """Nothing to release (a backend releases its connection)."""


def _values(row: Delivery) -> tuple[object, ...]:
    values = list(astuple(row))
    values[0], values[1] = str(row.delivery_id), str(row.system_id)
    return tuple(values)


def _delivery(found: dict[str, Any]) -> Delivery:
    values = {name: found[name] for name in COLUMNS}
    values["delivery_id"] = UUID(str(values["delivery_id"]))
    values["system_id"] = UUID(str(values["system_id"]))
    return Delivery(**values)


def _endpoint(found: dict[str, Any]) -> Endpoint:
    values = {name: found[name] for name in ENDPOINT_COLUMNS}
    values["system_id"] = UUID(str(values["system_id"]))
    return Endpoint(**values)
