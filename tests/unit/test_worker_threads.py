"""api.threads.WorkerThreads: blocking calls off the event loop, as run_in_threadpool made them."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from api.threads import WorkerThreads

REQUEST = contextvars.ContextVar("REQUEST", default="none")


def test_a_call_runs_on_a_worker_thread_and_returns_its_result() -> None:
    threads = WorkerThreads(2)

    async def main() -> tuple[int, str]:
        return await threads.run(lambda a, b: (a + b, threading.current_thread().name), 2, 3)

    try:
        total, name = asyncio.run(main())
    finally:
        threads.close()
    assert total == 5
    assert name.startswith("api-intake-")
    assert name != threading.current_thread().name


def test_an_exception_reaches_the_caller_and_the_thread_keeps_working() -> None:
    threads = WorkerThreads(1)

    def fail() -> None:
        raise LookupError("no such case")

    async def main() -> str:
        with pytest.raises(LookupError, match="no such case"):
            await threads.run(fail)
        return await threads.run(str, 7)

    try:
        assert asyncio.run(main()) == "7"
    finally:
        threads.close()


def test_the_call_sees_the_callers_context() -> None:
    threads = WorkerThreads(1)

    async def main() -> str:
        REQUEST.set("message-1")
        return await threads.run(REQUEST.get)

    try:
        assert asyncio.run(main()) == "message-1"
    finally:
        threads.close()


def test_no_more_calls_run_at_once_than_there_are_threads() -> None:
    threads, running, most = WorkerThreads(3), [0], [0]
    lock, gate = threading.Lock(), threading.Event()

    def work(n: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        gate.wait(timeout=5)
        with lock:
            running[0] -= 1
        return n

    async def main() -> list[int]:
        calls = [asyncio.ensure_future(threads.run(work, n)) for n in range(8)]
        while running[0] < 3:
            await asyncio.sleep(0.01)
        gate.set()
        return list(await asyncio.gather(*calls))

    try:
        assert asyncio.run(main()) == list(range(8))
    finally:
        threads.close()
    assert most[0] == 3


def test_threads_start_on_the_first_call_and_stop_on_close() -> None:
    threads = WorkerThreads(2, name="api-intake-test")

    def ours() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("api-intake-test-")]

    assert ours() == []
    asyncio.run(threads.run(int))
    assert len(ours()) == 2
    threads.close()
    assert ours() == []
    with pytest.raises(ValueError, match="at least one"):
        WorkerThreads(0)
