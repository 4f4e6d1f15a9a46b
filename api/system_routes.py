"""Operational routes: health, readiness and the OpenAPI document (no token, no personal data)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import StoreKeyError, StoreUnavailableError
from api.openapi import Operation
from api.responses import ORJSONResponse, problem

OPERATIONS = [
    Operation("/healthz", "GET", "Liveness: the process answers", answer="Health"),
    Operation(
        "/readyz",
        "GET",
        "Readiness: the event store answers and the configured cipher key reads it",
        answer="Ready",
        responses={503: "Store unreachable, or written with another cipher key"},
    ),
    Operation("/openapi.json", "GET", "This API's OpenAPI document", answer="OpenAPI"),
]


async def healthz(request: Request) -> Response:
    return ORJSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    try:
        heads = await run_in_threadpool(request.app.state.container.check_store)
    except StoreUnavailableError:
        return problem(
            503,
            "store-unavailable",
            "Store unavailable",
            "The event store is not reachable",
            request.url.path,
        )
    except StoreKeyError as exc:
        return problem(
            503, "cipher-key-mismatch", "Cipher key mismatch", str(exc), request.url.path
        )
    return ORJSONResponse({"status": "ready", "positions": heads})


async def openapi(request: Request) -> Response:
    return ORJSONResponse(request.app.state.openapi)


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
]
