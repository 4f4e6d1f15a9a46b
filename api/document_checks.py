"""Uploads are checked on threads of their own: a content check (a PDF parsed whole, an
image decoded) takes up to NEWBORN_LEDGER_DOCUMENT_CHECK_SECONDS, and on the API's few
worker threads (NEWBORN_LEDGER_THREADS) a handful of uploads would starve every read. At most
`slots` uploads are checked at once and as many wait; another is refused with 503 and a
Retry-After (nothing is read past its headers' check, nothing stored)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from api.problems import ApiError
from api.threads import WorkerThreads

T = TypeVar("T")
BUSY = "Other uploads are being checked: send the file again after Retry-After seconds"


class DocumentChecks:
    """`slots` threads for uploads, and a count of those admitted (on the event loop)."""

    def __init__(self, slots: int, retry_after: int) -> None:
        self.threads = WorkerThreads(slots, name="api-documents")
        self.most, self.retry_after, self.admitted = 2 * slots, retry_after, 0

    def admit(self) -> None:
        """Raises a 503 problem when `slots` uploads are checked and as many wait."""
        if self.admitted >= self.most:
            raise ApiError(
                503, "documents-busy", BUSY, headers={"Retry-After": str(self.retry_after)}
            )

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """func(*args) on the uploads' threads, once admitted (else 503)."""
        self.admit()
        self.admitted += 1
        try:
            return await self.threads.run(func, *args)
        finally:
            self.admitted -= 1

    def close(self) -> None:
        self.threads.close()
