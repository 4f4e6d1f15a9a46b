"""A lean hop off the event loop for hospital intake: a few threads and a queue.

Starlette's `run_in_threadpool` goes through anyio (its backend and limiter looked up per
call, a cancel scope, a capacity token, a checkpoint that yields to the loop once more): about
0.1 ms of CPU per call, against ~0.03 ms for a queue hand-over and one `call_soon_threadsafe`.
Each accepted message makes one hop, so intake takes this one. The threads are started on the
first call (an app that never takes a message starts none) and stopped by `close()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]]


class WorkerThreads:
    """`size` threads running blocking calls for coroutines, in the order they come."""

    def __init__(self, size: int, name: str = "api-intake") -> None:
        if size < 1:
            raise ValueError("WorkerThreads needs at least one thread")
        self.size, self.name = size, name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """func(*args) on one of the threads, in a copy of the caller's context."""
        if len(self._threads) < self.size:
            self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        context = contextvars.copy_context()
        self._jobs.put((loop, future, lambda: context.run(func, *args)))
        return await future

    def close(self) -> None:
        """Stop the threads once they finish the calls already queued."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._jobs.put(None)
        for thread in threads:
            thread.join()

    def _start(self) -> None:
        with self._lock:
            while len(self._threads) < self.size:
                number = len(self._threads) + 1
                thread = threading.Thread(
                    target=self._work, name=f"{self.name}-{number}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            loop, future, call = job
            try:
                result = call()
            except BaseException as exc:  # the caller gets it, as with anyio
                _report(loop, _fail, future, exc)
            else:
                _report(loop, _succeed, future, result)


def _report(loop: asyncio.AbstractEventLoop, settle: Callable[..., None], *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
        loop.call_soon_threadsafe(settle, *args)


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.cancelled():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(exc)
