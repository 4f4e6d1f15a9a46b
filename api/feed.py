"""An office's feed: the messages its systems are pushed, read in order with a cursor.

For registry systems that cannot receive pushes (docs/registry-integration.md): the same
messages, in the same order, as the signed webhooks of integrations/registry/. A reader keeps
`next` and passes it as `after`; with `wait`, an empty page is answered once a message
arrives or the wait ends (long polling).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.facade import may_read_queue, office_feed
from api.audit import audited_each
from api.auth import authenticate, out_of_scope
from api.inputs import query_number as _number
from api.openapi import Operation
from api.responses import ORJSONResponse

DEFAULT_LIMIT, MAX_LIMIT = 100, 500
MAX_WAIT_S = 30
POLL_S = 0.5  # how often a long poll looks again
MAX_CURSOR = 2**62
OPERATIONS = [
    Operation(
        "/offices/{locality}/{authority}/feed",
        "GET",
        "An office's messages in order after a cursor (the pushes' pull twin)",
        roles=("office",),
        params=("after", "limit", "wait"),
        answer="Feed",
        responses={
            404: "Not this office's feed",
            422: "A bad query parameter",
            503: "The read audit cannot record the read now",
        },
    ),
]


async def feed(request: Request) -> Response:
    principal = await authenticate(request, "office")
    locality, authority = request.path_params["locality"], request.path_params["authority"]
    if not may_read_queue(principal, locality, authority):
        raise out_of_scope()
    after = _number(request, "after", 0, MAX_CURSOR)
    limit = _number(request, "limit", DEFAULT_LIMIT, MAX_LIMIT, low=1)
    wait = _number(request, "wait", 0, MAX_WAIT_S)
    container = request.app.state.container
    ends = time.monotonic() + wait
    while True:
        messages = await run_in_threadpool(
            office_feed, container, locality, authority, after, limit
        )
        if messages or time.monotonic() >= ends:
            break
        await asyncio.sleep(min(POLL_S, max(0.0, ends - time.monotonic())))
    if messages:  # each message's data is its request's: one row per case and request
        reads = [(m["data"]["case_id"], m["data"]["service_request_id"]) for m in messages]
        await audited_each(request, principal, "feed", reads)
    body: dict[str, Any] = {
        "locality": locality,
        "authority": authority,
        "after": after,
        "next": int(messages[-1]["sequence"]) if messages else after,
        "messages": messages,
    }
    return ORJSONResponse(body)


ROUTES = [Route("/offices/{locality}/{authority}/feed", feed, methods=["GET"])]
