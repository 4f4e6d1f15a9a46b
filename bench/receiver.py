"""A fast local webhook receiver for the deliveries bench, in its own process:
`python -m bench.receiver PORT`.

A raw asyncio server (uvloop, httptools' parser, HTTP/1.1 keep-alive) that answers every POST
`204 No Content` at once and verifies nothing: what the bench measures is the sender's side.
It counts the POSTs and the distinct `webhook-id`s it saw; `GET /count` answers them as JSON
(`{"posts": n, "distinct": m}`), `GET /reset` answers them and sets both to zero."""

from __future__ import annotations

import asyncio
import sys
from typing import cast

import httptools
import orjson
import uvloop

NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"
WEBHOOK_ID = b"webhook-id"


class Tally:
    def __init__(self) -> None:
        self.posts = 0
        self.ids: set[bytes] = set()

    def answer(self, method: bytes, url: bytes) -> bytes:
        if method == b"POST":
            return NO_CONTENT
        body = orjson.dumps({"posts": self.posts, "distinct": len(self.ids)})
        if url == b"/reset":  # the counts so far, then zero
            self.posts, self.ids = 0, set()
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (
                len(body),
                body,
            )
        )


class Receiving(asyncio.Protocol):
    """One connection: parse requests as they come, answer each when its body has ended."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.webhook_id: bytes | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == WEBHOOK_ID:
            self.webhook_id = value

    def on_message_complete(self) -> None:
        method = self.parser.get_method()
        if method == b"POST":
            self.tally.posts += 1
            if self.webhook_id is not None:
                self.tally.ids.add(self.webhook_id)
        self.webhook_id = None
        if self.transport is not None:
            self.transport.write(self.tally.answer(method, self.url))


async def serve(port: int) -> None:
    tally = Tally()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Receiving(tally), "127.0.0.1", port, backlog=256)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> None:
    uvloop.run(serve(int(argv[0])))


if __name__ == "__main__":
    main(sys.argv[1:])
