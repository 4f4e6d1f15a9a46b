"""The rebuild's part processes: results in order, and any failure ends every part."""

from __future__ import annotations

import os
import threading
import time

import pytest

from engine.part_processes import PartDiedError, Parts, UnpicklableError


def square(n: int) -> int:
    return n * n


def fail_or_sleep(n: int) -> int:
    if n == 0:
        raise ValueError("part 0 failed")
    time.sleep(60)
    return n


def die(n: int) -> int:
    os._exit(3)


def unpicklable(n: int) -> int:
    lock = threading.Lock()

    class LocalError(Exception):  # a class defined in a function cannot be pickled
        pass

    raise LocalError(f"holding {lock!r}")


def test_each_part_answers_in_order() -> None:
    polls: list[int] = []
    assert Parts(square, [(2,), (3,), (4,)]).wait(0.2, lambda: polls.append(1)) == [4, 9, 16]
    assert polls


def test_a_failing_part_stops_the_others_at_once() -> None:
    started = time.monotonic()
    parts = Parts(fail_or_sleep, [(0,), (1,)])
    with pytest.raises(ValueError, match="part 0 failed"):
        parts.wait(0.2)
    assert time.monotonic() - started < 30  # the sleeping part was terminated, not awaited
    assert all(not p.is_alive() for p in parts._processes)


def test_a_part_that_dies_without_a_word_fails_the_run() -> None:
    with pytest.raises(PartDiedError, match="exit code 3"):
        Parts(die, [(1,)]).wait(0.2)


def test_an_error_that_cannot_travel_arrives_as_its_text() -> None:
    with pytest.raises(UnpicklableError, match="LocalError: holding"):
        Parts(unpicklable, [(1,)]).wait(0.2)
