"""One delivery attempt over HTTP (httpx): POST the body, keep the status, drop the answer.

Each attempt has a hard deadline (`ATTEMPT_TIMEOUTS` x the timeout, policy.py) over all it
does on the network: connecting, writing, reading the status and what of the answer is read.
httpx's timeout bounds each read alone, so a receiver that answers and then drips its body a
byte at a time would otherwise keep an attempt open past its lease."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Protocol

import httpcore
import httpx

from integrations.registry.policy import ATTEMPT_TIMEOUTS

MAX_ANSWER_BYTES = 64 * 1024  # what of an answer is read (then dropped) to reuse the connection
WRITE_CHUNK = 64 * 1024  # a body is written in pieces, each within what is left of the deadline
RETRY_AFTER = re.compile(r"[0-9]{1,10}")  # ASCII digits only ("²".isdigit() is true)


@dataclass(frozen=True)
class Answer:
    """The endpoint's status, or None and the error's class when it gave none; Retry-After
    in seconds when it asked for a pause (429, 503)."""

    status: int | None
    error: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Sender(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer: ...
    def close(self) -> None: ...


class HttpSender:
    """A pooled httpx client shared by the sending threads (it is thread-safe). No redirects:
    a registry endpoint that moved is configured anew, not followed. Each attempt ends within
    `deadline_s` (2 x the timeout): once it passes, the status read so far counts and the
    connection is dropped."""

    def __init__(self, timeout_s: float, connections: int) -> None:
        self.deadline_s = ATTEMPT_TIMEOUTS * timeout_s
        self._deadline = _Deadline()
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        transport = _DeadlineTransport(self._deadline, limits)
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s), transport=transport, follow_redirects=False
        )

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        self._deadline.at = time.monotonic() + self.deadline_s
        try:
            with self._client.stream("POST", url, content=body, headers=dict(headers)) as answer:
                status, retry_after = answer.status_code, _retry_after(answer)
                with suppress(httpx.HTTPError):  # the status counts; the rest is dropped
                    _drain(answer)  # (with its connection, when the deadline cut it)
                return Answer(status, retry_after=retry_after)
        except httpx.HTTPError as exc:
            return Answer(None, type(exc).__name__)
        finally:
            self._deadline.at = None

    def close(self) -> None:
        self._client.close()


def _drain(answer: httpx.Response) -> None:
    read = 0
    for chunk in answer.iter_raw():
        read += len(chunk)
        if read > MAX_ANSWER_BYTES:
            return


def _retry_after(answer: httpx.Response) -> float | None:
    """Retry-After in seconds (an HTTP date, or anything else, is ignored: the backoff
    applies)."""
    value = answer.headers.get("retry-after", "").strip()
    return float(value) if RETRY_AFTER.fullmatch(value) else None


class _Deadline(threading.local):
    """The deadline of the attempt under way on this thread (monotonic), None between them."""

    at: float | None = None

    def left(self, timeout: float | None, late: type[Exception]) -> float | None:
        """The timeout of one network operation: its own, cut to what is left of the deadline."""
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            raise late("the attempt's deadline passed")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for start in range(0, len(buffer), WRITE_CHUNK):
            piece = buffer[start : start + WRITE_CHUNK]
            self._stream.write(piece, self._deadline.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, left), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own sockets, each operation bounded by the thread's attempt deadline."""

    def __init__(self, deadline: _Deadline) -> None:
        self._backend, self._deadline = httpcore.SyncBackend(), deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, left, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_unix_socket(path, left, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport (its request mapping, its errors) on a pool of deadline-bounded
    connections. An explicit transport means HTTP(S)_PROXY are not used: registry endpoints
    are reached directly (docs/operations.md)."""

    def __init__(self, deadline: _Deadline, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),  # SSL_CERT_FILE, SSL_CERT_DIR as before
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_DeadlineBackend(deadline),
        )
