"""How a simulated registry system answers the ledger: the office routes, with its token and
an Idempotency-Key, retried with capped exponential backoff and full jitter until the ledger
gives a final answer (a 2xx, or a refusal that a retry cannot change). A retried answer is
recorded once: the key makes the ledger replay its first answer."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx

log = logging.getLogger("newborn_ledger.registry_simulator")

# Answers a retry may change: the ledger busy, overloaded or briefly down.
RETRIED = frozenset({408, 425, 429, 500, 502, 503, 504})
PAYLOAD_EVENTS = ("Dispatched", "Redispatched")


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with full jitter: attempt n waits U(0, min(cap, base*2^n))."""

    base_s: float = 0.2
    cap_s: float = 10.0
    rand: Callable[[], float] = random.random

    def delay(self, attempt: int) -> float:
        return self.rand() * min(self.cap_s, self.base_s * float(2 ** min(attempt, 30)))


class LedgerAnswers:
    """The ledger's office routes, as one office's system calls them."""

    def __init__(
        self,
        ledger_url: str,
        token: str,
        *,
        backoff: Backoff | None = None,
        timeout_s: float = 10.0,
        in_flight: int = 8,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.client = httpx.AsyncClient(
            base_url=ledger_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
            transport=transport,
        )
        self.backoff = backoff or Backoff()
        self.slots = asyncio.Semaphore(in_flight)  # never more than this many calls at once

    async def step(self, request_id: UUID, action: str, body: dict[str, Any], key: str) -> int:
        """POST /service-requests/{id}/{action}; the final HTTP status."""
        response = await self._send(
            "POST",
            f"/service-requests/{request_id}/{action}",
            json=body,
            headers={"Idempotency-Key": key},
        )
        return response.status_code

    async def dispatched_payload(self, case_id: str, service: str) -> dict[str, Any]:
        """The latest payload dispatched to this office for `service` ({} when none shows),
        read from the case's history as the office sees it."""
        response = await self._send("GET", f"/cases/{case_id}/history")
        if response.status_code != 200:
            return {}
        events = response.json().get("events", [])
        payloads = [
            e["data"]["payload"]
            for e in events
            if e.get("stream") == service
            and e.get("event") in PAYLOAD_EVENTS
            and isinstance(e.get("data", {}).get("payload"), dict)
        ]
        return payloads[-1] if payloads else {}

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        attempt = 0
        while True:
            try:
                async with self.slots:
                    response = await self.client.request(method, path, **kwargs)
                if response.status_code not in RETRIED:
                    return response
                problem = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                problem = type(exc).__name__
            attempt += 1
            wait = self.backoff.delay(attempt)
            log.warning(
                "simulated registry system: %s %s failed (%s), retry %d in %.1f s",
                method,
                path,
                problem,
                attempt,
                wait,
            )
            await asyncio.sleep(wait)

    async def close(self) -> None:
        await self.client.aclose()
