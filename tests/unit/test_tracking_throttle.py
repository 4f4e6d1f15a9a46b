"""The /track throttle: blocks after the limit within the window, and holds only keys that
failed recently (a right answer takes its attempt back; expired keys are swept once a
window)."""

from __future__ import annotations

from api.tracking import Throttle


def test_blocks_a_key_after_the_limit_until_its_failures_expire() -> None:
    throttle = Throttle(limit=3, window_s=60)
    for second in range(3):  # three wrong answers: each attempt stays a failure
        assert throttle.attempt("client:a", "code:X", now=second) is not None
    assert throttle.attempt("code:X", now=10) is None
    assert throttle.attempt("client:a", "code:Y", now=10) is None  # either key blocks
    assert throttle.attempt("client:b", "code:Y", now=10) is not None
    assert throttle.attempt("code:X", now=61) is not None  # the first failure left the window


def test_holds_only_keys_that_failed_within_the_window() -> None:
    throttle = Throttle(limit=100, window_s=60)
    for n in range(1_000):  # successful sign-ins: each attempt taken back
        at = throttle.attempt("client:a", f"code:{n}", now=1)
        assert at is not None
        throttle.succeeded("client:a", f"code:{n}", at=at)
    assert len(throttle) == 0
    for n in range(100):  # wrong answers: client:a reaches the limit
        assert throttle.attempt("client:a", f"code:{n}", now=2) is not None
    assert len(throttle) == 101
    assert throttle.attempt("client:a", now=3) is None
    throttle.attempt("client:b", "code:Z", now=30)  # within the window: nothing swept yet
    assert len(throttle) == 103
    throttle.attempt("client:b", "code:Z", now=70)  # a window on: the old keys are swept
    assert len(throttle) == 2
    assert throttle.attempt("client:a", now=70) is not None


def test_attempts_sent_at_once_count_against_each_other() -> None:
    """A burst of guesses: each attempt is counted as it is checked, before its answer is
    known, so the sixth of a burst is refused even though no answer has come back yet."""
    throttle = Throttle(limit=5, window_s=60)
    keys = ("client:a", "code:X")
    pending = [throttle.attempt(*keys, now=1.0 + n / 100) for n in range(8)]
    assert [at is not None for at in pending] == [True] * 5 + [False] * 3
    first = pending[0]
    assert first is not None
    throttle.succeeded(*keys, at=first)  # one of them was right: it is not a failure
    assert throttle.attempt(*keys, now=2.0) is not None
    assert throttle.attempt(*keys, now=2.1) is None


def test_a_right_answer_leaves_nothing_behind() -> None:
    throttle = Throttle(limit=5, window_s=60)
    for n in range(100):
        at = throttle.attempt("client:a", f"code:{n}", now=float(n))
        assert at is not None
        throttle.succeeded("client:a", f"code:{n}", at=at)
    assert len(throttle) == 0
