"""Authentication by bearer token (machine clients, the command line's tokens, families) or by
a staff session cookie (the pages; unsafe methods need the session's CSRF token), and the
scope rules that turn out-of-scope reads into 404."""

from __future__ import annotations

import hmac
import threading
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from adapters.facade import (
    ActorDirectory,
    Principal,
    SignedIn,
    find_session,
    may_call,
    token_hash,
)
from api.problems import ApiError

CACHE_SECONDS = 30.0  # a revoked token stops working within this time in every API process
CACHE_SIZE = 10_000
SESSION_COOKIE = "nl_session"
CSRF_HEADER, CSRF_FIELD = "x-csrf-token", "csrf_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
FORM = "application/x-www-form-urlencoded"
SESSION_ENDED = (
    "Your session has ended (signed out, unused for too long, or past its time limit): "
    "sign in again at /sign-in"
)


class PrincipalCache:
    """Recently seen tokens (by hash) → principal, so a read costs no store round trip. An entry
    lasts `ttl_s`, or until its token expires if that is sooner; a token signed out here is
    dropped at once and not cached again by a lookup that was already under way."""

    def __init__(self, actors: ActorDirectory, ttl_s: float = CACHE_SECONDS) -> None:
        self.actors, self.ttl_s = actors, ttl_s
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._revoked: dict[str, float] = {}  # token hash → until when a lookup may not cache
        self._lock = threading.Lock()

    def cached(self, token: str) -> Principal | None:
        key, now = token_hash(token), time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
        return entry[1] if entry and entry[0] > now else None

    def forget(self, token: str) -> None:
        """The token was revoked in this process: drop it, and keep a lookup that read it
        before the revocation from caching it again."""
        key, now = token_hash(token), time.monotonic()
        with self._lock:
            self._entries.pop(key, None)
            self._revoked = {k: t for k, t in self._revoked.items() if t > now}
            self._revoked[key] = now + self.ttl_s

    def lookup(self, token: str) -> Principal | None:
        principal = self.actors.authenticate(token)
        if principal is not None:
            key, now = token_hash(token), time.monotonic()
            lasts = self.ttl_s
            if principal.expires_at is not None:
                left = (principal.expires_at - datetime.now(UTC)).total_seconds()
                lasts = max(0.0, min(lasts, left))
            with self._lock:
                if self._revoked.get(key, 0.0) > now:
                    return None  # signed out while this lookup read the store
                if len(self._entries) >= CACHE_SIZE:
                    self._entries.clear()
                self._entries[key] = (now + lasts, principal)
        return principal


def bearer_token(request: Request) -> str:
    """The request's bearer token; 401 without one."""
    scheme, _, token = _authorization(request.scope["headers"]).partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthenticated", "Send 'Authorization: Bearer <token>'")
    return token


async def authenticate(request: Request, *roles: str, person: bool = False) -> Principal:
    """The caller's principal; 401 without a valid token or session, 403 for a session's
    unsafe request without its CSRF token, 404 when the role may not call here (with
    `person`: also when the caller is a registry system's token, not a person)."""
    if not _authorization(request.scope["headers"]) and SESSION_COOKIE in request.cookies:
        principal = (await signed_in(request)).principal
    else:
        token = bearer_token(request)
        cache: PrincipalCache = request.app.state.principals
        found = cache.cached(token) or await run_in_threadpool(cache.lookup, token)
        if found is None:
            raise ApiError(401, "unauthenticated", "The token is unknown or revoked")
        principal = found
    if not may_call(principal, roles) or (person and principal.kind != "person"):
        raise ApiError(404, "not-found", "Nothing here for this caller")
    return principal


async def signed_in(request: Request) -> SignedIn:
    """The request's live staff session (401 when it has ended); an unsafe method must carry
    the session's CSRF token (403)."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    container = request.app.state.container
    found = await run_in_threadpool(find_session, container, cookie) if cookie else None
    if found is None:
        raise ApiError(401, "session-ended", SESSION_ENDED)
    if request.method not in SAFE_METHODS:
        await check_csrf(request, found.csrf)
    return found


async def check_csrf(request: Request, expected: str) -> None:
    """The CSRF token in the X-CSRF-Token header (pages' fetch) or the csrf_token field of a
    form post; 403 when missing or not the session's."""
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(FORM):
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        sent = (form.get(CSRF_FIELD) or [""])[0]
    if not sent:
        raise ApiError(
            403,
            "csrf-token-missing",
            "This request came without the page's CSRF token: reload the page and try again",
        )
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise ApiError(
            403,
            "csrf-token-invalid",
            "The CSRF token does not belong to this session: reload the page and try again",
        )


def _authorization(headers: list[tuple[bytes, bytes]]) -> str:
    """The Authorization header, read from the ASGI scope (servers lower-case header names)
    without building Starlette's Headers for every request."""
    for name, value in headers:
        if name == b"authorization":
            return value.decode("latin-1")
    return ""


def out_of_scope() -> ApiError:
    """Out-of-scope reads look exactly like missing ones, so ids cannot be probed."""
    return ApiError(404, "not-found", "No such resource for this caller")
