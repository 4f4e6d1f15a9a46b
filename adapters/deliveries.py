"""The deployment's deliveries to registry systems: the store, the sources, and in a process
that runs the background work the dispatcher; the reads the CLI, the API and /metrics call."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from adapters.delivery_stores import delivery_store
from adapters.settings import ConfigError, Settings
from integrations.registry.dispatcher import Dispatcher, utc_now
from integrations.registry.sender import HttpSender
from integrations.registry.sources import FeedSource, Subscriptions, System
from integrations.registry.store import CLOSED, DEAD, WAITING, Delivery, DeliveryStore

log = logging.getLogger(__name__)
LIST_LIMIT = 1000
PURGE_EVERY_S = 3600.0  # how often delivered rows past KEEP_DAYS are looked for
PURGE_BATCH = 1000  # rows deleted by one round (the next round goes on while there are more)
DAY_S = 86400.0


class SystemNotDisabledError(ConfigError):
    """Discarding the deliveries of a system that still takes them (the CLI says so)."""


class Deliveries:
    """Built once per process. The dispatcher (a thread pool, an HTTP client) is made by the
    first background round, so API-only processes and CLI commands hold none."""

    def __init__(
        self,
        settings: Settings,
        feed: FeedSource[Any],
        subscriptions: Subscriptions,
        store: DeliveryStore,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings, self.feed, self.subscriptions = settings, feed, subscriptions
        self.store, self.clock = store, clock
        self._dispatcher: Dispatcher[Any] | None = None
        self._purge_at = 0.0  # monotonic: the first round looks at once

    @property
    def dispatcher(self) -> Dispatcher[Any]:
        if self._dispatcher is None:
            policy = self.settings.deliveries
            sender = HttpSender(policy.timeout_s, policy.threads)
            self._dispatcher = Dispatcher(
                self.feed, self.subscriptions, self.store, sender, policy, clock=self.clock
            )
        return self._dispatcher

    def run_once(self) -> int:
        """The background job's round: enqueue, and start the due sends (it never waits);
        now and then, delete delivered rows older than KEEP_DAYS, a batch a round."""
        started = self.dispatcher.run_once()
        if time.monotonic() >= self._purge_at:
            self.purge()
        return started

    def purge(self) -> int:
        """One batch of delivered (and cancelled) rows past KEEP_DAYS; the next in an hour
        when none is left, else at the next round."""
        keep_s = self.settings.deliveries.keep_days * DAY_S
        purged = self.store.purge(self.clock().timestamp(), keep_s, PURGE_BATCH)
        if purged < PURGE_BATCH:
            self._purge_at = time.monotonic() + PURGE_EVERY_S
        if purged:
            log.info("purged %d deliveries older than %d days", purged, keep_s // DAY_S)
        return purged

    def close(self) -> None:
        """Let the sends under way finish, then close the store."""
        if self._dispatcher is not None:
            self._dispatcher.close()
        self.store.close()

    def listing(
        self, *, dead: bool = False, system_id: UUID | None = None, limit: int = LIST_LIMIT
    ) -> list[dict[str, Any]]:
        state = DEAD if dead else None
        rows = self.store.deliveries(system_id=system_id, state=state, limit=limit)
        return [delivery_fields(r) for r in rows]

    def replay(self, delivery_id: UUID) -> bool:
        return self.store.replay(delivery_id, self.clock().timestamp())

    def replay_system(self, system_id: UUID) -> int:
        return self.store.replay_dead(system_id, self.clock().timestamp())

    def discard(self, system: System) -> int:
        """A disabled system's pending and dead deliveries cancelled: never sent, no longer
        counted by /metrics nor warned about (how many)."""
        if not system.disabled:
            raise SystemNotDisabledError(
                f"system {system.system_id} is not disabled: 'registry disable' it first"
            )
        return self.store.discard(system.system_id)

    def _enabled(self) -> dict[UUID, System]:
        return {s.system_id: s for s in self.subscriptions.systems(self.clock()) if not s.disabled}

    def for_request(
        self, service_request_id: UUID, office: tuple[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Per system (of `office` only, when given): the request's messages and their state."""
        rows = self.store.deliveries(service_request_id=str(service_request_id), limit=LIST_LIMIT)
        known = {s.system_id: s for s in self.subscriptions.systems(self.clock())}
        by_system: dict[UUID, list[Delivery]] = {}
        for row in rows:
            by_system.setdefault(row.system_id, []).append(row)
        return [
            system_fields(known[sid], found)
            for sid, found in by_system.items()
            if sid in known and (office is None or _office(known[sid]) == office)
        ]

    def warnings(self, locality: str, authority: str) -> list[dict[str, Any]]:
        """The office's systems that need an operator: dead letters waiting, an open circuit."""
        systems = self.subscriptions.for_office(locality, authority, self.clock())
        waiting = self.store.waiting()
        circuits = {e.system_id: e for e in self.store.endpoints()}
        found = []
        for system in systems:
            if system.disabled:
                continue
            endpoint = circuits.get(system.system_id)
            circuit = CLOSED if endpoint is None else endpoint.circuit
            dead = waiting.get(system.system_id, {}).get(DEAD, 0)
            if dead or circuit != CLOSED:
                found.append(_warning(system, dead, circuit))
        return found

    def figures(self) -> dict[str, Any]:
        """For /metrics, of the enabled systems only: pending deliveries and dead letters (an
        index range, never the delivered rows), endpoints with an open circuit."""
        enabled = self._enabled()
        states = dict.fromkeys(WAITING, 0)
        for system_id, counts in self.store.waiting().items():
            if system_id in enabled:
                for state, count in counts.items():
                    states[state] += count
        open_circuits = sum(
            e.circuit != CLOSED for e in self.store.endpoints() if e.system_id in enabled
        )
        return {"states": states, "open_circuits": open_circuits}


def _office(system: System) -> tuple[str, str]:
    return system.locality, system.authority


def _warning(system: System, dead: int, circuit: str) -> dict[str, Any]:
    return {
        "system_id": str(system.system_id),
        "label": system.label,
        "dead_letters": dead,
        "circuit": circuit,
    }


def _iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat()


def delivery_fields(row: Delivery) -> dict[str, Any]:
    """A delivery as the CLI and the API show it (ids, states, times; never a body)."""
    return {
        "delivery_id": str(row.delivery_id),
        "system_id": str(row.system_id),
        "message_id": row.message_id,
        "sequence": row.sequence,
        "type": row.type,
        "service_request_id": row.service_request_id,
        "state": row.state,
        "attempts": row.attempts,
        "next_attempt_at": _iso(row.next_attempt_at) if row.state == "pending" else None,
        "first_attempt_at": _iso(row.first_attempt_at),
        "last_attempt_at": _iso(row.last_attempt_at),
        "delivered_at": _iso(row.delivered_at),
        "last_status": row.last_status,
        "last_error": row.last_error or None,
    }


def system_fields(system: System, rows: Sequence[Delivery]) -> dict[str, Any]:
    return {
        "system_id": str(system.system_id),
        "label": system.label,
        "locality": system.locality,
        "authority": system.authority,
        "deliveries": [delivery_fields(r) for r in rows],
    }


def build_deliveries(
    settings: Settings, feed: FeedSource[Any], subscriptions: Subscriptions
) -> Deliveries:
    return Deliveries(settings, feed, subscriptions, delivery_store(settings))
