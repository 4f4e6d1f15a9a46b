"""Bearer-token authentication and the scope rules that turn out-of-scope reads into 404."""

from __future__ import annotations

import threading
import time
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.problems import ApiError
from domain.actors import ActorDirectory, Principal, token_hash

CACHE_SECONDS = 30.0  # a revoked token stops working within this time in every API process
CACHE_SIZE = 10_000


class PrincipalCache:
    """Recently seen tokens (by hash) → principal, so a read costs no store round trip."""

    def __init__(self, actors: ActorDirectory, ttl_s: float = CACHE_SECONDS) -> None:
        self.actors, self.ttl_s = actors, ttl_s
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> Principal | None:
        key, now = token_hash(token), time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
        return entry[1] if entry and entry[0] > now else None

    def forget(self, actor_id: UUID) -> None:
        """Drop the principal of a revoked actor at once (in this process)."""
        with self._lock:
            for key in [k for k, (_, p) in self._entries.items() if p.actor_id == actor_id]:
                del self._entries[key]

    def lookup(self, token: str) -> Principal | None:
        principal = self.actors.authenticate(token)
        if principal is not None:
            with self._lock:
                if len(self._entries) >= CACHE_SIZE:
                    self._entries.clear()
                self._entries[token_hash(token)] = (time.monotonic() + self.ttl_s, principal)
        return principal


async def authenticate(request: Request, *roles: str) -> Principal:
    """The caller's principal; 401 without a valid token, 404 when the role may not call here."""
    scheme, _, token = _authorization(request.scope["headers"]).partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthenticated", "Send 'Authorization: Bearer <token>'")
    cache: PrincipalCache = request.app.state.principals
    principal = cache.cached(token) or await run_in_threadpool(cache.lookup, token)
    if principal is None:
        raise ApiError(401, "unauthenticated", "The token is unknown or revoked")
    if roles and principal.role not in roles and principal.role != "admin":
        raise ApiError(404, "not-found", "Nothing here for this caller")
    return principal


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
