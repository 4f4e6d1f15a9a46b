"""A small HTTP/1.1 load generator on 127.0.0.1: keep-alive connections, fixed concurrency.

Bounded twice: it stops after `max_requests` requests or `max_seconds`, whichever comes first.
Each connection sends one request, reads the whole response (Content-Length or chunked), then
sends the next: a closed loop, so the concurrency is exactly the number of connections.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import uvloop

LOOPBACK = "127.0.0.1"
RequestFactory = Callable[[int], bytes]  # request number → the raw request bytes


@dataclass
class LoadResult:
    """What a load run measured: latencies in seconds, statuses, wall time."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    errors: int = 0
    samples: dict[int, bytes] = field(default_factory=dict)  # first body per status

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0


def request_bytes(
    method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """A raw HTTP/1.1 keep-alive request."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {LOOPBACK}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, header_block = head.partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length, chunked = 0, False
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, await reader.readexactly(length)
    parts = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
    await reader.readuntil(b"\r\n")
    return status, b"".join(parts)


class _Run:
    def __init__(self, factory: RequestFactory, max_requests: int, deadline: float) -> None:
        self.factory, self.max_requests, self.deadline = factory, max_requests, deadline
        self.next_number = 0
        self.result = LoadResult()

    def take(self) -> int | None:
        if self.next_number >= self.max_requests or time.perf_counter() >= self.deadline:
            return None
        self.next_number += 1
        return self.next_number - 1

    async def connection(self, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        try:
            while (number := self.take()) is not None:
                raw = self.factory(number)
                started = time.perf_counter()
                writer.write(raw)
                status, body = await _read_response(reader)
                self.result.latencies.append(time.perf_counter() - started)
                self.result.statuses[status] += 1
                self.result.samples.setdefault(status, body[:2000])
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.result.errors += 1
        finally:
            writer.close()


async def run_load(
    port: int,
    factory: RequestFactory,
    *,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
) -> LoadResult:
    """Drive `concurrency` keep-alive connections until the count or the time runs out."""
    started = time.perf_counter()
    run = _Run(factory, max_requests, started + max_seconds)
    tasks = [asyncio.create_task(run.connection(port)) for _ in range(concurrency)]
    # A request in flight at the deadline may take a while; never wait beyond a grace period.
    _, pending = await asyncio.wait(tasks, timeout=max_seconds + 30)
    for task in pending:
        task.cancel()
    run.result.elapsed_s = time.perf_counter() - started
    run.result.errors += len(pending)
    return run.result


def load(
    port: int, factory: RequestFactory, *, concurrency: int, max_requests: int, max_seconds: float
) -> LoadResult:
    """run_load from synchronous code, on uvloop (the server's loop: less of the 2 cores goes
    to the load generator)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(
            run_load(
                port,
                factory,
                concurrency=concurrency,
                max_requests=max_requests,
                max_seconds=max_seconds,
            )
        )


def prebuilt(factory: RequestFactory, count: int) -> RequestFactory:
    """The first `count` requests built before the load starts (so that writing them does not
    take the server's CPU during the load); any later request is built when it is sent."""
    ready = [factory(n) for n in range(count)]
    return lambda n: ready[n] if n < count else factory(n)
