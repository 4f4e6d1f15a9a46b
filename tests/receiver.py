"""A registry system's webhook endpoint for tests: a stdlib HTTP server on 127.0.0.1 in a
thread, which records what it receives and answers as it is told (ok, down, slow, gone)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from standardwebhooks import Webhook


@dataclass
class Received:
    message_id: str
    timestamp: str
    signatures: list[str]
    body: bytes
    content_type: str


@dataclass
class Receiver:
    """`status` answers every request (503: down); `delay_s` holds each answer; `secret`,
    when set, is checked (a mismatch answers 401), at the header's own timestamp."""

    status: int = 204
    delay_s: float = 0.0
    secret: str | None = None
    received: list[Received] = field(default_factory=list)
    requests: int = 0
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"

    def ids(self) -> list[str]:
        with self.lock:
            return [r.message_id for r in self.received]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, message: Received) -> int:
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.delay_s)
            status = self.status
            if status < 300 and self.secret and not verified(self.secret, message):
                status = 401
            if status < 300:
                with self.lock:
                    self.received.append(message)
            return status
        finally:
            with self.lock:
                self.in_flight -= 1


def verified(secret: str, message: Received) -> bool:
    """The signature check of Standard Webhooks at the message's own timestamp (tests run on
    fake clocks; the library's verify also checks the timestamp against the real clock)."""
    at = datetime.fromtimestamp(int(message.timestamp), UTC)
    expected = Webhook(secret).sign(message.message_id, at, message.body)
    return expected in message.signatures


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            message = Received(
                self.headers.get("webhook-id", ""),
                self.headers.get("webhook-timestamp", "0"),
                self.headers.get("webhook-signature", "").split(" "),
                body,
                self.headers.get("content-type", ""),
            )
            self.send_response(receiver.answer(message))
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    return Handler
