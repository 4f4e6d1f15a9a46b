"""Bearer-token authentication and the scope rules that turn out-of-scope reads into 404."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.problems import ApiError
from domain.actors import Principal


async def authenticate(request: Request, *roles: str) -> Principal:
    """The caller's principal; 401 without a valid token, 404 when the role may not call here."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthenticated", "Send 'Authorization: Bearer <token>'")
    principal: Principal | None = await run_in_threadpool(
        request.app.state.container.actors.authenticate, token.strip()
    )
    if principal is None:
        raise ApiError(401, "unauthenticated", "The token is unknown or revoked")
    if roles and principal.role not in roles and principal.role != "admin":
        raise ApiError(404, "not-found", "Nothing here for this caller")
    return principal


def out_of_scope() -> ApiError:
    """Out-of-scope reads look exactly like missing ones, so ids cannot be probed."""
    return ApiError(404, "not-found", "No such resource for this caller")
