"""How a test or the demo tells a simulated registry system to misbehave: `POST /control`
{"mode": "ok"|"fail"|"timeout"|"slow", "for_s": seconds (optional: until told otherwise),
"status": the failure's HTTP status (fail; default 503), "delay_s": seconds (slow; default
5)}. A delivery that fails or times out is not accepted (the sender must retry it); a slow
one is accepted after the delay."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MODES = ("ok", "fail", "timeout", "slow")
MAX_HOLD_S = 60.0  # a timed-out delivery is held this long at most, then answered 504


@dataclass(frozen=True)
class Reply:
    """An HTTP answer of the simulated system: status and JSON body."""

    status: int
    body: dict[str, Any]


@dataclass
class Control:
    """The current mode, and until when (monotonic seconds; None: until changed)."""

    mode: str = "ok"
    until: float | None = None
    status: int = 503
    delay_s: float = 5.0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def set(self, body: object) -> Reply:
        """Apply a control request; 422 (and no change) when it is not valid."""
        try:
            mode, for_s, status, delay_s = _parse(body)
        except ValueError as exc:
            return Reply(422, {"error": str(exc)})
        self.mode, self.status, self.delay_s = mode, status, delay_s
        self.until = None if for_s is None else self.clock() + for_s
        return Reply(200, self.describe(self.clock()))

    def current(self) -> str:
        """The mode in force now (back to ok once its time ran out)."""
        if self.until is not None and self.clock() >= self.until:
            self.mode, self.until = "ok", None
        return self.mode

    def describe(self, now: float) -> dict[str, Any]:
        mode = self.current()
        left = None if self.until is None else round(max(0.0, self.until - now), 3)
        return {"mode": mode, "for_s": left, "status": self.status, "delay_s": self.delay_s}

    async def before_delivery(self) -> Reply | None:
        """What the mode does to a delivery: an answer instead of taking it (fail, timeout),
        or None to take it (ok, and slow after its delay)."""
        mode = self.current()
        if mode == "fail":
            return Reply(self.status, {"error": "simulated failure"})
        if mode == "timeout":
            left = MAX_HOLD_S if self.until is None else self.until - self.clock()
            await asyncio.sleep(max(0.0, min(MAX_HOLD_S, left)))
            return Reply(504, {"error": "simulated timeout"})
        if mode == "slow":
            await asyncio.sleep(self.delay_s)
        return None


def _parse(body: object) -> tuple[str, float | None, int, float]:
    if not isinstance(body, dict):
        raise ValueError("the body is a JSON object")
    if unknown := set(body) - {"mode", "for_s", "status", "delay_s"}:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    mode = body.get("mode")
    if mode not in MODES:
        raise ValueError(f"mode is one of {', '.join(MODES)}")
    for_s = _seconds(body, "for_s", None)
    delay_s = _seconds(body, "delay_s", 5.0)
    status = body.get("status", 503)
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError("status is an HTTP error status, 400 to 599")
    return str(mode), for_s, status, delay_s if delay_s is not None else 5.0


def _seconds(body: dict[str, Any], name: str, default: float | None) -> float | None:
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 86400:
        raise ValueError(f"{name} is a number of seconds, 0 to 86400")
    return float(value)
