"""One attempt against receivers that misbehave (review of issue 18): an answer whose body,
or whose headers, drip a byte at a time must not keep the attempt open past its deadline
(2 x TIMEOUT, within the lease); a malformed Retry-After is a failed attempt like any other."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from integrations.registry.dispatcher import Dispatcher, utc_now
from integrations.registry.memory import InMemoryDeliveryStore
from integrations.registry.policy import DeliveryPolicy
from integrations.registry.sender import HttpSender
from integrations.registry.store import DEAD, DELIVERED
from tests.delivery_fakes import FakeClock, FakeFeed, FakeMessage, FakeSystems

DRIP_S = 0.5  # between two bytes: each read is well within TIMEOUT


class Drips:
    """What a dripping receiver saw: the deliveries it was sent, and at most how many at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: list[str] = []
        self.now_open = 0
        self.most_open = 0

    def opened(self, message_id: str) -> None:
        with self.lock:
            self.ids.append(message_id)
            self.now_open += 1
            self.most_open = max(self.most_open, self.now_open)

    def closed(self) -> None:
        with self.lock:
            self.now_open -= 1


@contextmanager
def receiver(answer: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[tuple[str, Drips]]:
    drips = Drips()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            drips.opened(self.headers["webhook-id"])
            try:
                answer(self)
            except OSError:
                pass  # the sender gave up and closed the connection: as it should
            finally:
                drips.closed()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks", drips
    finally:
        server.shutdown()
        server.server_close()


def drip_body(handler: BaseHTTPRequestHandler) -> None:
    """200 at once, then 16 bytes of body over 8 s."""
    handler.send_response(200)
    handler.send_header("Content-Length", "16")
    handler.end_headers()
    for _ in range(16):
        handler.wfile.write(b"x")
        handler.wfile.flush()
        time.sleep(DRIP_S)


def drip_headers(handler: BaseHTTPRequestHandler) -> None:
    """A status line, then a header a byte at a time: the answer never starts."""
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(16):
        handler.wfile.write(b"y")
        handler.wfile.flush()
        time.sleep(DRIP_S)


def dispatcher(
    url: str, policy: DeliveryPolicy, clock: Callable[[], datetime] = utc_now
) -> Dispatcher[FakeMessage]:
    feed, systems = FakeFeed(), FakeSystems()
    feed.add(1)
    systems.add(url)
    sender = HttpSender(policy.timeout_s, policy.threads)
    return Dispatcher(
        feed,
        systems,
        InMemoryDeliveryStore(),
        sender,
        policy,
        clock=clock,
        random=random.Random(1).random,
    )


def test_a_dripping_answer_ends_at_the_deadline_and_is_sent_once() -> None:
    policy = DeliveryPolicy(timeout_s=1.0, lease_s=3.5, in_flight=1, interval_s=0.2)
    with receiver(drip_body) as (url, drips):
        sender = dispatcher(url, policy)  # the real clock: leases end in real time
        started = time.monotonic()
        while time.monotonic() - started < 6:  # past the lease: it would be claimed again
            sender.run_once()
            time.sleep(0.2)
        closing = time.monotonic()
        sender.close()
        assert time.monotonic() - closing < 1.0  # no send left hanging
    assert len(drips.ids) == 1  # sent once
    assert drips.most_open == 1
    (row,) = sender.store.deliveries()
    assert (row.state, row.last_status) == (DELIVERED, 200)  # the status was read in time


def test_dripping_headers_fail_the_attempt_at_its_deadline() -> None:
    with receiver(drip_headers) as (url, _):
        sender = HttpSender(timeout_s=1.0, connections=1)
        started = time.monotonic()
        answer = sender.post(url, b"{}", {"webhook-id": "msg_1"})
        took = time.monotonic() - started
        sender.close()
    assert answer.status is None
    assert answer.error == "ReadTimeout"
    assert 1.5 < took < 2.5  # the deadline (2 x TIMEOUT), not 16 x DRIP_S


def retry_after(value: bytes) -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(503)
        handler.send_header("Retry-After", value.decode("latin-1"))
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def test_a_malformed_retry_after_is_ignored_and_the_delivery_dies_in_time() -> None:
    """'²' (0xB2) is a digit to str.isdigit but not to float: the backoff applies."""
    policy = DeliveryPolicy(timeout_s=2.0, lease_s=10.0, max_attempts=2)
    for value in (b"\xb2", b"12345678901", b"-5", b"1e9", b"Wed, 21 Oct 2015 07:28:00 GMT"):
        clock = FakeClock()
        with receiver(retry_after(value)) as (url, drips):
            sender = dispatcher(url, policy, clock)
            for _ in range(120):  # two attempts, and the backoff between them, fit
                sender.run_once()
                sender.drain(10)
                clock.advance(1)
            sender.close()
        (row,) = sender.store.deliveries()
        assert (row.state, row.attempts, row.last_status) == (DEAD, 2, 503), value
        assert len(drips.ids) == 2


def test_a_valid_retry_after_is_honoured() -> None:
    with receiver(retry_after(b"120")) as (url, _):
        sender = HttpSender(timeout_s=2.0, connections=1)
        answer = sender.post(url, b"{}", {"webhook-id": "msg_1"})
        sender.close()
    assert (answer.status, answer.retry_after) == (503, 120.0)
