"""Run a few functions in their own spawned processes, each to its end or until one fails.

`multiprocessing.Pool` was used before: leaving it after a part failed terminates the pool,
and its handler threads could wait for ever on a worker that was stopped while holding the
task queue's lock (seen once, the parent stuck in `Pool._terminate_pool`). Here each part is a
plain `Process` that sends one message, its result or its error, on a queue of its own; the
parent waits on those queues, and on the processes' exit codes (a part that dies without a
word, e.g. killed, fails the run too). When one fails, the others are terminated and joined,
then killed if they do not stop: nothing is left waiting on a lock.
"""

from __future__ import annotations

import pickle
import queue
from collections.abc import Callable, Sequence
from multiprocessing import get_context
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from typing import Any, Generic, TypeVar

R = TypeVar("R")
STOP_S = 10.0  # how long a terminated part is given to end before it is killed


class PartDiedError(RuntimeError):
    """A part's process ended without sending its result or its error."""


class UnpicklableError(RuntimeError):
    """A part failed with an error that could not be sent to the parent: its text only."""


def _run(target: Callable[..., Any], args: tuple[Any, ...], answer: Queue[Any]) -> None:
    """In the part's process: one message, ("ok", result) or ("error", exception)."""
    try:
        result = target(*args)
    except BaseException as error:  # every failure is the parent's to raise
        try:
            pickle.dumps(error)
            answer.put(("error", error))
        except Exception:  # an error that cannot travel is sent as its text
            answer.put(("error", UnpicklableError(f"{type(error).__name__}: {error}")))
        return
    answer.put(("ok", result))


class Parts(Generic[R]):
    """`target(*args)` for each args, each in a spawned process of its own."""

    def __init__(self, target: Callable[..., R], calls: Sequence[tuple[Any, ...]]) -> None:
        context = get_context("spawn")
        self._answers: list[Queue[Any]] = [context.Queue(1) for _ in calls]
        self._processes: list[SpawnProcess] = [
            context.Process(target=_run, args=(target, args, answer), daemon=True)
            for args, answer in zip(calls, self._answers, strict=True)
        ]
        self._results: dict[int, R] = {}
        for process in self._processes:
            process.start()

    def wait(self, poll_s: float, on_poll: Callable[[], None] | None = None) -> list[R]:
        """Every part's result, in order; the first failure stops the others and is raised."""
        try:
            while len(self._results) < len(self._processes):
                if on_poll is not None:
                    on_poll()
                self._collect(poll_s)
            return [self._results[k] for k in range(len(self._processes))]
        finally:
            self.stop()

    def _collect(self, poll_s: float) -> None:
        pending = [k for k in range(len(self._processes)) if k not in self._results]
        for k in pending:
            answer = self._answer(k, poll_s / len(pending))
            if answer is None:
                continue
            kind, value = answer
            if kind == "error":
                raise value
            self._results[k] = value

    def _answer(self, k: int, timeout: float) -> tuple[str, Any] | None:
        """Part k's message, if it came within `timeout`; a part that ended without one
        (after a last look: its message may still be on the way) has died."""
        ended = self._processes[k].exitcode is not None
        try:
            answer: tuple[str, Any] = self._answers[k].get(timeout=STOP_S if ended else timeout)
        except queue.Empty:
            if ended:
                code = self._processes[k].exitcode
                raise PartDiedError(f"part {k} ended with exit code {code}") from None
            return None
        return answer

    def stop(self) -> None:
        """End every part still running: terminated, joined, killed if it will not end."""
        for process in self._processes:
            if process.is_alive():
                process.terminate()
        for process in self._processes:
            process.join(STOP_S)
            if process.is_alive():
                process.kill()
                process.join()
        for answer in self._answers:
            answer.close()
            answer.join_thread()
