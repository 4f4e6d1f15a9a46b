"""POST /track: a family proves it holds the tracking code and verifier, gets a case token."""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Mapping
from datetime import timedelta

from eventsourcing.persistence import PersistenceError, RecordConflictError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import (
    Container,
    case_by_tracking_code,
    log_head,
    tracking_position,
    verifier_matches,
)
from api.auth import PrincipalCache, authenticate, bearer_token
from api.bodies import json_object, required_str, unknown_fields
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse

MAX_FAILURES = 5  # wrong answers for one tracking code from one address: that pair waits
WINDOW_S = 15 * 60
# The same code from every address together: a ceiling, so that guessing one family's
# verifier from many addresses stays bounded, yet high enough that someone who only knows a
# family's tracking code cannot lock the family out from an address or two (a verifier is
# one of 10^6: 50 guesses in 15 minutes are harmless).
CODE_FAILURES = 50
# Failed attempts from one address before it waits too. Families behind one address (a
# hospital's or a housing estate's NAT) share it: a family's wrong verifiers lock only its own
# code there (5), and attempts at a locked code count no further, so it takes some twenty
# families locking themselves out, or a hundred guessed codes, to hold up the address.
ADDRESS_FAILURES = 100
LIMITS = {"client:": ADDRESS_FAILURES, "code:": CODE_FAILURES}  # key prefix → its own limit
# A case acknowledged a moment ago may not be in the case-status view yet (a separate worker
# projects it within about a second): a sign-in waits this long for the view to reach the
# log's head before it answers that no case matches.
VISIBLE_WAIT_S = 3.0
VISIBLE_POLL_S = 0.1
NOT_YET_RETRY_AFTER_S = 2
OPERATIONS = [
    Operation(
        "/track",
        "POST",
        "Family or applicants: tracking code + verifier (a birth case: last 6 of the "
        "mother's citizen ID, or her phone; a case the applicants opened, marriage or ID "
        "card: last 6 of an applicant's citizen ID, or a phone they gave) → a token for "
        "that case",
        body="application/json",
        request_schema="TrackRequest",
        answer="FamilySignIn",
        ok=201,
        ok_text="Signed in: the case id, a token and when it expires",
        responses={
            404: "No case matches",
            422: "A field is missing, malformed or holds a control character",
            429: "Too many failed attempts for this tracking code (5 in 15 minutes from one "
            "address, 50 from all), or from this address (100): Retry-After says when to try "
            "again, `held` which",
            503: "The case was just recorded and is not visible yet (Retry-After)",
        },
    ),
    Operation(
        "/track",
        "DELETE",
        "Family: sign out (the family token is revoked)",
        ok=204,
        ok_text="Signed out",
        responses={401: "No valid token", 404: "Not a family token"},
    ),
]


class Throttle:
    """Failed attempts per client and per tracking code, in a sliding window (per process).
    It holds only keys that failed within the window: a right answer takes its attempt back,
    and keys whose failures have all expired are dropped, at most once a window, when an
    attempt comes in. Its memory follows recent failures, not the families that ever signed
    in."""

    def __init__(
        self,
        limit: int = MAX_FAILURES,
        window_s: float = WINDOW_S,
        *,
        limits: Mapping[str, int] | None = None,
    ) -> None:
        self.limit, self.window_s = limit, window_s
        self.limits = dict(limits or {})  # key prefix → the limit of keys it starts
        self._failures: dict[str, deque[float]] = {}
        self._swept_at = float("-inf")  # the first attempt sweeps (nothing), then once a window
        self._lock = threading.Lock()

    def attempt(self, *keys: str, now: float | None = None) -> float | None:
        """Check and count an attempt in one step: None when a key is blocked; else the
        attempt is recorded as a failure until `succeeded` takes it back. Attempts sent at
        once therefore count against each other, not only once their answers are known."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if now - self._swept_at >= self.window_s:
                self._sweep(now)
            if self._blocked(keys, now):
                return None
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)
        return now

    def limit_of(self, key: str) -> int:
        return next((n for p, n in self.limits.items() if key.startswith(p)), self.limit)

    def blocked(self, *keys: str, now: float | None = None) -> list[str]:
        """The keys among `keys` at their limit."""
        now = time.monotonic() if now is None else now
        with self._lock:
            return self._blocked(keys, now)

    def _blocked(self, keys: tuple[str, ...], now: float) -> list[str]:
        return [key for key in keys if self._count(key, now) >= self.limit_of(key)]

    def retry_after(self, *keys: str, now: float | None = None) -> int:
        """Whole seconds until every blocked key among `keys` allows an attempt again."""
        now = time.monotonic() if now is None else now
        waits = [0.0]
        with self._lock:
            for key in keys:
                failures = self._failures.get(key)
                limit = self.limit_of(key)
                if failures is not None and len(failures) >= limit:
                    waits.append(failures[-limit] + self.window_s - now)
        return max(1, math.ceil(max(waits)))

    def succeeded(self, *keys: str, at: float) -> None:
        """The attempt made `at` was right: it is not a failure after all."""
        with self._lock:
            for key in keys:
                failures = self._failures.get(key)
                if failures is not None and at in failures:
                    failures.remove(at)
                    if not failures:
                        del self._failures[key]

    def __len__(self) -> int:
        """How many keys are held (clients and tracking codes with recent failures)."""
        return len(self._failures)

    def _count(self, key: str, now: float) -> int:
        """The failures of `key` within the window; a key left with none is dropped."""
        failures = self._failures.get(key)
        if failures is None:
            return 0
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return len(failures)

    def _sweep(self, now: float) -> None:
        for key in list(self._failures):
            self._count(key, now)
        self._swept_at = now


def token_for(container: Container, case_id: str, verifier: str) -> dict[str, str] | None:
    """A family token for the case if the verifier is the mother's (None if it is not),
    valid for `family_token_hours`: a sign-in, not a key."""
    if not verifier_matches(container, case_id, verifier):
        return None
    valid_for = timedelta(hours=container.settings.family_token_hours)
    actor, token = container.actors.add("family", case_id, None, "tracking", valid_for)
    assert actor.expires_at is not None  # given valid_for
    return {"case_id": case_id, "token": token, "expires_at": actor.expires_at}


class NotYetVisibleError(Exception):
    """The case-status view has not reached the log's head within VISIBLE_WAIT_S."""


def _look_again(container: Container, code: str) -> tuple[str | None, int]:
    """The view's position, then the case: the lookup sees at least what the position says."""
    position = tracking_position(container)
    return case_by_tracking_code(container, code), position


async def projected_case(container: Container, code: str) -> str | None:
    """The case id of a tracking code, read-your-writes: when the view has no such code, it is
    asked again until it has reached the log's head as it was at the first miss (every case
    acknowledged before this request is then in it). None: no case has this code;
    NotYetVisibleError: the view did not get there in time (a slow or stopped worker)."""
    case_id = await run_in_threadpool(case_by_tracking_code, container, code)
    if case_id is not None:
        return case_id
    head = await run_in_threadpool(log_head, container)
    deadline = time.monotonic() + VISIBLE_WAIT_S
    while True:
        case_id, position = await run_in_threadpool(_look_again, container, code)
        if case_id is not None or position >= head:
            return case_id
        if time.monotonic() >= deadline:
            raise NotYetVisibleError
        await asyncio.sleep(VISIBLE_POLL_S)


async def track(request: Request) -> Response:
    body = await json_object(request)
    unknown_fields(body, ("tracking_code", "verifier"))
    code = required_str(body, "tracking_code").strip().upper()
    verifier = required_str(body, "verifier")
    throttle: Throttle = request.app.state.throttle
    address = request.client.host if request.client else "-"
    keys = (f"client:{address}", f"pair:{address}|{code}", f"code:{code}")
    attempt = throttle.attempt(*keys)  # counted before the answer is known: no bursts
    if attempt is None:
        raise _too_many(throttle, keys)
    container: Container = request.app.state.container
    try:
        case_id = await projected_case(container, code)
        issued = (
            None
            if case_id is None
            else await run_in_threadpool(token_for, container, case_id, verifier)
        )
    except NotYetVisibleError:
        throttle.succeeded(*keys, at=attempt)  # the system's lag, not the family's guess
        raise ApiError(
            503,
            "not-yet-visible",
            "Cases recorded in the last moments are still being processed; try again shortly",
            headers={"Retry-After": str(NOT_YET_RETRY_AFTER_S)},
        ) from None
    except PersistenceError:
        throttle.succeeded(*keys, at=attempt)  # the store's outage, not a wrong guess
        raise
    if issued is None:
        raise ApiError(404, "not-found", "No case matches this tracking code and verifier")
    throttle.succeeded(*keys, at=attempt)
    return ORJSONResponse(issued, status_code=201)


def _too_many(throttle: Throttle, keys: tuple[str, ...]) -> ApiError:
    """429 with Retry-After, naming what is held: this tracking code, or the address."""
    wait = str(throttle.retry_after(*keys))
    held = (
        "tracking-code"
        if any(k.startswith(("pair:", "code:")) for k in throttle.blocked(*keys))
        else "address"
    )
    return ApiError(
        429,
        "too-many-attempts",
        f"Too many failed attempts for this {held.replace('-', ' ')}; try again in {wait} seconds",
        headers={"Retry-After": wait},
        held=held,
        retry_after=int(wait),
    )


async def sign_out(request: Request) -> Response:
    """The family ends its sign-in: its token is revoked (this process forgets it at once,
    other API processes within the 30 seconds they remember a token)."""
    principal = await authenticate(request, "family")
    if principal.role != "family":
        raise ApiError(404, "not-found", "Nothing here for this caller")
    with contextlib.suppress(RecordConflictError):  # signed out twice at once: done already
        await run_in_threadpool(request.app.state.container.actors.revoke, principal.actor_id)
    cache: PrincipalCache = request.app.state.principals
    cache.forget(bearer_token(request))
    return Response(status_code=204)


ROUTES = [Route("/track", track, methods=["POST"]), Route("/track", sign_out, methods=["DELETE"])]
