"""The dispatcher: enqueue each system's new feed messages, then send the due deliveries on a
bounded pool of threads, within each endpoint's circuit and in-flight bound."""

from __future__ import annotations

import itertools
import logging
import os
import random as _random
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Generic
from uuid import UUID, uuid4

from integrations.registry.policy import DeliveryPolicy
from integrations.registry.sender import Answer, Sender
from integrations.registry.signing import signed_headers
from integrations.registry.sources import FeedSource, M, Subscriptions, System, pushed
from integrations.registry.store import DEAD, Claim, Delivery, DeliveryStore, Failure, NewDelivery

log = logging.getLogger(__name__)
PAGE = 200  # feed messages read per query when enqueuing
PAGES_PER_ROUND = 25  # a backlog is enqueued over several rounds, sending in between
CHAIN = 100  # deliveries a thread sends back to back to one endpoint before it rests
NOT_YET_S = 10.0  # a message not in the feed (yet: a rebuild) is looked for again this later


def utc_now() -> datetime:
    return datetime.now(UTC)


class Dispatcher(Generic[M]):
    """Sends the office feed to the registry systems that subscribe to it. `run_once` never
    waits for a send: threads of the pool send, each holding one lease and no connection."""

    def __init__(
        self,
        feed: FeedSource[M],
        subscriptions: Subscriptions,
        store: DeliveryStore,
        sender: Sender,
        policy: DeliveryPolicy,
        *,
        clock: Callable[[], datetime] = utc_now,
        random: Callable[[], float] = _random.random,
        owner: str | None = None,
    ) -> None:
        self.feed, self.subscriptions, self.store = feed, subscriptions, store
        self.sender, self.policy, self.clock, self.random = sender, policy, clock, random
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"
        self._pool = ThreadPoolExecutor(policy.threads, thread_name_prefix="delivery")
        self._lock = threading.Lock()
        self._futures: set[Future[None]] = set()
        self._stopping = threading.Event()
        self._turn = 0  # which system is served first, rotating, so none starves
        # The last round's systems when it ran out of free threads before it reached them all
        # (a backlog): a thread whose endpoint has nothing more due moves on to one of them.
        self._waiting: Sequence[System] = ()
        self._moves = itertools.count()  # where a thread moving on starts looking, in turn

    def run_once(self) -> int:
        """One round: enqueue new messages, then start sending due deliveries (how many)."""
        if self._stopping.is_set():
            return 0
        systems = pushed(self.subscriptions.systems(self.clock()))
        self.enqueue(systems)
        return len(self.dispatch(systems))

    def enqueue(self, systems: Sequence[System]) -> int:
        return sum(self._enqueue(system) for system in systems)

    def _enqueue(self, system: System) -> int:
        added = 0
        for _ in range(PAGES_PER_ROUND):
            stored = self.store.endpoint(system.system_id).enqueued_through
            after = max(stored, system.starts_after)  # a new system: from its registration
            page = self.feed.messages(system.locality, system.authority, after, PAGE)
            if not page:
                break
            rows = [_new(m) for m in page]
            now = self.clock().timestamp()
            added += self.store.enqueue(system.system_id, stored, page[-1].sequence, rows, now)
            if len(page) < PAGE:
                break
        return added

    def dispatch(self, systems: Sequence[System]) -> list[Future[None]]:
        """Claim due deliveries for free threads, a fair share per endpoint, and send them."""
        started: list[Future[None]] = []
        if not systems:
            return started
        self._turn = (self._turn + 1) % len(systems)
        waiting: Sequence[System] = ()
        for system in [*systems[self._turn :], *systems[: self._turn]]:
            free = self.policy.threads - self.in_flight()
            if free <= 0:
                waiting = systems
                break
            for delivery in self.store.claim(system.system_id, self._claim(free)):
                started.append(self._submit(system, delivery))
        self._waiting = waiting
        return started

    def in_flight(self) -> int:
        with self._lock:
            return len(self._futures)

    def _claim(self, limit: int) -> Claim:
        now = self.clock().timestamp()
        policy = self.policy
        return Claim(self.owner, now, now + policy.lease_s, policy.in_flight, limit)

    def _submit(self, system: System, delivery: Delivery) -> Future[None]:
        with self._lock:
            future = self._pool.submit(self._work, system, delivery)
            self._futures.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _work(self, system: System, delivery: Delivery) -> None:
        """Send, and while the endpoint answers, send its next due delivery on this thread,
        each with the system as registered then (disabled: the chain stops; rotated: the
        current secrets sign); when it has none and other endpoints wait for a thread, one
        of theirs."""
        try:
            for sent in range(1, CHAIN + 1):
                if not self._attempt(system, delivery) or self._stopping.is_set():
                    return
                if sent == CHAIN:
                    return  # claim nothing more: a claimed delivery not sent is leased in vain
                found = self._next(system)
                if found is None:
                    return
                system, delivery = found
        except Exception:  # the store is away: the lease expires and another round retries
            log.exception(
                "delivery %s to system %s stopped", delivery.delivery_id, system.system_id
            )

    def _next(self, system: System) -> tuple[System, Delivery] | None:
        """The thread's next delivery: its endpoint's next due one; else, while the last round
        left endpoints waiting for a free thread, the next due one of another endpoint (each
        claim within that endpoint's circuit and in-flight bound, with the system as
        registered now)."""
        current = self._current(system.system_id)
        if current is not None:
            claimed = self.store.claim(current.system_id, self._claim(1))
            if claimed:
                return current, claimed[0]
        waiting = self._waiting
        if not waiting:
            return None
        registered = {s.system_id: s for s in pushed(self.subscriptions.systems(self.clock()))}
        start = next(self._moves)
        for n in range(len(waiting)):
            other = registered.get(waiting[(start + n) % len(waiting)].system_id)
            if other is None or other.system_id == system.system_id or self._stopping.is_set():
                continue
            claimed = self.store.claim(other.system_id, self._claim(1))
            if claimed:
                return other, claimed[0]
        return None

    def _current(self, system_id: UUID) -> System | None:
        """The system as registered now (the registry reads its log again only when it
        moved), or None once it takes no pushes (disabled)."""
        systems = pushed(self.subscriptions.systems(self.clock()))
        return next((s for s in systems if s.system_id == system_id), None)

    def _attempt(self, system: System, delivery: Delivery) -> bool:
        message = self.feed.message(delivery.message_id)  # the store's: errors end the work
        if message is None:
            self._not_yet(system, delivery)
            return False
        answer = self._send(system, delivery, message)
        now = self.clock().timestamp()
        if answer.ok and answer.status is not None:
            self.store.delivered(delivery.delivery_id, now, answer.status)
            log.info("delivered %s to system %s", delivery.message_id, system.system_id)
            return True
        failure = self._failure(delivery, answer, now)
        recorded = self.store.failed(delivery.delivery_id, self.owner, now, failure)
        log.warning(
            "delivery of %s to system %s failed (%s; %s)%s",
            delivery.message_id,
            system.system_id,
            answer.status or answer.error,
            "its lease had ended" if recorded is None else f"{recorded.attempts} attempts spent",
            ": dead letter" if recorded is not None and recorded.state == DEAD else "",
        )
        return False

    def _not_yet(self, system: System, delivery: Delivery) -> None:
        """A message not in the feed: the feed is being rebuilt (or lags). Not the endpoint's
        doing: the lease is given back, no attempt spent, the circuit untouched."""
        now = self.clock().timestamp()
        self.store.release(delivery.delivery_id, self.owner, now, now + NOT_YET_S)
        log.info(
            "message %s for system %s is not in the feed yet: looked for again in %d s",
            delivery.message_id,
            system.system_id,
            NOT_YET_S,
        )

    def _send(self, system: System, delivery: Delivery, message: M) -> Answer:
        """One attempt: whatever goes wrong in it (a malformed answer, a bug) is a failed
        attempt, recorded like no answer, never an escape that leaves the delivery unrecorded."""
        try:
            if system.url is None:
                return Answer(None, "NoUrl")
            body = self.feed.open_body(message)
            headers = signed_headers(delivery.message_id, body, system.secrets, self.clock())
            return self.sender.post(system.url, body, headers)
        except Exception as exc:
            log.warning(
                "delivery of %s to system %s: %s in the attempt",
                delivery.message_id,
                system.system_id,
                type(exc).__name__,  # the class only: a message could quote the body
            )
            return Answer(None, type(exc).__name__)

    def _failure(self, delivery: Delivery, answer: Answer, now: float) -> Failure:
        """410 Gone: a dead letter at once, the endpoint said so (its circuit is not blamed);
        else the backoff (or a longer Retry-After), and a dead letter after the last attempt
        (the store spends an attempt only while the circuit is closed: Endpoint.spends)."""
        policy, attempts, gone = self.policy, delivery.attempts + 1, answer.status == 410
        pause = max(policy.backoff(attempts, self.random), answer.retry_after or 0.0)
        return Failure(
            status=answer.status,
            error=answer.error or f"HTTP {answer.status}",
            next_attempt_at=now + min(pause, policy.max_delay_s),
            dead=gone or attempts >= policy.max_attempts,
            counts=not gone,
            failures_to_open=policy.circuit_failures,
            pause_s=policy.circuit_pause_s,
            max_pause_s=policy.circuit_max_pause_s,
        )

    def drain(self, timeout_s: float | None = None) -> None:
        """Wait for the sends under way (tests; and `close`)."""
        with self._lock:
            pending = set(self._futures)
        wait(pending, timeout=timeout_s)

    def close(self) -> None:
        """Stop claiming; the sends under way finish (each bounded by the timeout)."""
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.sender.close()


def _new(message: M) -> NewDelivery:
    return NewDelivery(
        message.message_id, message.sequence, str(message.service_request_id), message.type
    )
