"""POST /track: a family proves it holds the tracking code and verifier, gets a case token."""

from __future__ import annotations

import contextlib
import hmac
import threading
import time
from collections import deque
from datetime import timedelta
from uuid import UUID

from eventsourcing.persistence import RecordConflictError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.bootstrap import Container
from api.auth import PrincipalCache, authenticate, bearer_token
from api.bodies import json_object, required_str, unknown_fields
from api.openapi import Operation
from api.problems import ApiError
from api.responses import ORJSONResponse

MAX_FAILURES = 5
WINDOW_S = 15 * 60
OPERATIONS = [
    Operation(
        "/track",
        "POST",
        "Family: tracking code + verifier (last 6 of the mother's "
        "citizen ID, or her phone) → a token for that case",
        body="application/json",
        request_schema="TrackRequest",
        answer="FamilySignIn",
        ok=201,
        ok_text="Signed in: a family token for the case",
        responses={404: "No case matches", 429: "Too many failed attempts"},
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

    def __init__(self, limit: int = MAX_FAILURES, window_s: float = WINDOW_S) -> None:
        self.limit, self.window_s = limit, window_s
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
            if any(self._count(key, now) >= self.limit for key in keys):
                return None
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)
        return now

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


def verifier_matches(container: Container, case_id: str, verifier: str) -> bool:
    mother = container.ledger.get_case(UUID(case_id)).facts.get("mother") or {}
    candidates = [(mother.get("citizen_id") or "")[-6:], mother.get("phone") or ""]
    given = verifier.strip().upper()
    return any(c and hmac.compare_digest(c.upper(), given) for c in candidates)


def issue_token(container: Container, code: str, verifier: str) -> dict[str, str] | None:
    """A family token for the case, valid for `family_token_hours` (a sign-in, not a key)."""
    status = container.projections.case_status_view.by_tracking_code(code)
    if status is None or not verifier_matches(container, status.case_id, verifier):
        return None
    valid_for = timedelta(hours=container.settings.family_token_hours)
    actor, token = container.actors.add("family", status.case_id, None, "tracking", valid_for)
    assert actor.expires_at is not None  # given valid_for
    return {"case_id": status.case_id, "token": token, "expires_at": actor.expires_at}


async def track(request: Request) -> Response:
    body = await json_object(request)
    unknown_fields(body, ("tracking_code", "verifier"))
    code = required_str(body, "tracking_code").strip().upper()
    verifier = required_str(body, "verifier")
    throttle: Throttle = request.app.state.throttle
    keys = (f"client:{request.client.host if request.client else '-'}", f"code:{code}")
    attempt = throttle.attempt(*keys)  # counted before the answer is known: no bursts
    if attempt is None:
        raise ApiError(429, "too-many-attempts", "Too many failed attempts; try again later")
    issued = await run_in_threadpool(issue_token, request.app.state.container, code, verifier)
    if issued is None:
        raise ApiError(404, "not-found", "No case matches this tracking code and verifier")
    throttle.succeeded(*keys, at=attempt)
    return ORJSONResponse(issued, status_code=201)


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
