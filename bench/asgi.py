"""The benchmark's uvicorn factory: the real app (entry.asgi:create) plus one bare route.

`GET /bench/bare` is the read baseline: a Starlette endpoint on the same server, the same
process and middleware, that touches no store, authenticates nobody and renders a constant.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.responses import ORJSONResponse
from entry import asgi

BARE_PATH = "/bench/bare"
BARE_BODY = {"case_id": "00000000-0000-0000-0000-000000000000", "state": "in-progress"}


async def bare(request: Request) -> Response:
    return ORJSONResponse(BARE_BODY)


def create() -> Starlette:
    app = asgi.create()
    app.router.routes.insert(0, Route(BARE_PATH, bare, methods=["GET"]))
    return app
