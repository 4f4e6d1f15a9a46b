"""The benchmark's uvicorn factory: the real app (entry.asgi:create) plus one bare route.

`GET /bench/bare` is the read baseline: a Starlette endpoint on the same server, the same
process and middleware, that touches no store, authenticates nobody and renders a constant.
`GET /bench/unaudited/cases/{id}` is the family's case view without its read audit: the same
authentication and pre-rendered document as `GET /cases/{id}`, nothing recorded (the audit's
cost is the difference; the real route has no way to skip it).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import authenticate
from api.cases import family_document
from api.responses import ORJSONResponse
from entry import asgi

BARE_PATH = "/bench/bare"
BARE_BODY = {"case_id": "00000000-0000-0000-0000-000000000000", "state": "in-progress"}
UNAUDITED_PREFIX = "/bench/unaudited"


async def unaudited(request: Request) -> Response:
    principal = await authenticate(request, "family")
    container, case_id = request.app.state.container, request.path_params["case_id"]
    body = await family_document(container, principal, case_id)
    return Response(body, media_type=ORJSONResponse.media_type)


async def bare(request: Request) -> Response:
    return ORJSONResponse(BARE_BODY)


def create() -> Starlette:
    app = asgi.create()
    app.router.routes.insert(0, Route(BARE_PATH, bare, methods=["GET"]))
    path = UNAUDITED_PREFIX + "/cases/{case_id:uuid}"
    app.router.routes.insert(1, Route(path, unaudited, methods=["GET"]))
    return app
