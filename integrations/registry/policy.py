"""The delivery policy: backoff, attempts, the circuit per endpoint, bounds and timeouts.

Set from NEWBORN_LEDGER_DELIVERY_* (adapters/settings.py; docs/operations.md, Deliveries)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ATTEMPT_TIMEOUTS = 2.0  # an attempt ends within this many TIMEOUTs, whatever the receiver does


@dataclass(frozen=True)
class DeliveryPolicy:
    base_delay_s: float = 2.0  # backoff before the 2nd attempt, doubled each time
    max_delay_s: float = 900.0  # the cap of one backoff
    max_attempts: int = 15  # then the delivery is a dead letter
    circuit_failures: int = 5  # consecutive failures of an endpoint that open its circuit
    circuit_pause_s: float = 30.0  # an open circuit waits this long, then probes one delivery
    circuit_max_pause_s: float = 900.0  # the pause grows with the outage, up to this
    in_flight: int = 4  # deliveries being sent to one endpoint at once (all workers)
    threads: int = 8  # sending threads of a process (all endpoints)
    timeout_s: float = 10.0  # connect, and each read or write of one attempt
    lease_s: float = 60.0  # a claimed delivery is another worker's again after this
    interval_s: float = 1.0  # how often a worker looks for new and due deliveries
    keep_days: int = 30  # delivered (and cancelled) deliveries are deleted after this

    @property
    def attempt_s(self) -> float:
        """The hard deadline of one attempt (sender.py), which the lease must outlast."""
        return ATTEMPT_TIMEOUTS * self.timeout_s

    def backoff(self, attempts: int, random: Callable[[], float]) -> float:
        """Seconds before the next attempt after `attempts` failed ones: capped exponential
        with full jitter (uniform in [0, cap]), so retries of many deliveries spread out."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** min(attempts - 1, 60))
        return random() * ceiling

    def problems(self) -> list[str]:
        """What is wrong with these values, as `NAME rule` (the settings prefix them)."""
        rules = {
            "BASE_DELAY must be more than 0": self.base_delay_s > 0,
            "MAX_DELAY must be at least BASE_DELAY": self.max_delay_s >= self.base_delay_s,
            "MAX_ATTEMPTS must be 1 or more": self.max_attempts >= 1,
            "CIRCUIT_FAILURES must be 1 or more": self.circuit_failures >= 1,
            "CIRCUIT_PAUSE must be more than 0": self.circuit_pause_s > 0,
            "CIRCUIT_MAX_PAUSE must be at least CIRCUIT_PAUSE": (
                self.circuit_max_pause_s >= self.circuit_pause_s
            ),
            "IN_FLIGHT must be 1 or more": self.in_flight >= 1,
            "THREADS must be 1 or more": self.threads >= 1,
            "TIMEOUT must be more than 0": self.timeout_s > 0,
            # an attempt ends within 2 x TIMEOUT; the rest is room for its reads and writes
            "LEASE must be more than 3 x TIMEOUT": self.lease_s > 3 * self.timeout_s,
            "INTERVAL must be more than 0": self.interval_s > 0,
            "KEEP_DAYS must be 1 or more": self.keep_days >= 1,
        }
        return [rule for rule, holds in rules.items() if not holds]
