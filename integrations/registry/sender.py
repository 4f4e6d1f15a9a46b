"""One delivery attempt over HTTP (httpx): POST the body, keep the status, drop the answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

MAX_ANSWER_BYTES = 64 * 1024  # what of an answer is read (then dropped) to reuse the connection


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
    a registry endpoint that moved is configured anew, not followed."""

    def __init__(self, timeout_s: float, connections: int) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s), limits=limits, follow_redirects=False
        )

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        try:
            with self._client.stream("POST", url, content=body, headers=dict(headers)) as answer:
                _drain(answer)
                return Answer(answer.status_code, retry_after=_retry_after(answer))
        except httpx.HTTPError as exc:
            return Answer(None, type(exc).__name__)

    def close(self) -> None:
        self._client.close()


def _drain(answer: httpx.Response) -> None:
    read = 0
    for chunk in answer.iter_raw():
        read += len(chunk)
        if read > MAX_ANSWER_BYTES:
            return


def _retry_after(answer: httpx.Response) -> float | None:
    """Retry-After in seconds (an HTTP date is ignored: the backoff applies)."""
    value = answer.headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None
