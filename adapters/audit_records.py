"""The read audit's rows: who read which case's personal data, when, what and how; never the
data itself. The store's contract (`AuditStore`) and its in-memory form for unit tests; the
SQL stores are in adapters/audit_sql.py, the group commit in adapters/audit_log.py."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

WHATS = (
    "case",
    "guide",  # the family's guide: the case's services and the places handling them
    "history",
    "as-of",
    "request",
    "document",
    "queue",
    "deliveries",
    "feed",
    "follow-ups",  # a bad rating's case and the family's comment
    "search",  # an office's search by tracking code or citizen ID (api/service_requests.py)
    "certificates",  # a case's e-certificates (api/certificates.py)
    "remote-window",  # a remote window session (api/remote_window.py)
)
VIAS = ("api", "page")


@dataclass(frozen=True)
class ReadRecord:
    """One read. `at` is epoch seconds; `id` is given by the store (0 until stored)."""

    at: float
    actor_id: str
    role: str
    kind: str  # person | system
    user: str  # a staff user's username, "" for a token
    scope: str
    authority: str
    what: str
    case_id: str  # "" for a page of a queue or feed
    target: str  # a service request or document id, or ""
    via: str  # api | page
    id: int = 0

    def to_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["at"] = datetime.fromtimestamp(self.at, UTC).isoformat()
        return row


@dataclass(frozen=True)
class Viewer:
    """An office that read a case: its locality and authority, how often, first and last."""

    case_id: str
    locality: str
    authority: str
    kind: str
    reads: int
    first_at: float
    last_at: float

    def to_dict(self) -> dict[str, Any]:
        def iso(t: float) -> str:
            return datetime.fromtimestamp(t, UTC).isoformat()

        return {
            "locality": self.locality,
            "authority": self.authority,
            "kind": self.kind,
            "reads": self.reads,
            "first_at": iso(self.first_at),
            "last_at": iso(self.last_at),
        }


@dataclass(frozen=True)
class AuditFilter:
    """`GET /audit`'s query: rows after the cursor `after` (an id), oldest first."""

    case_id: str | None = None
    user: str | None = None
    actor_id: str | None = None
    start: float | None = None  # at >= start
    end: float | None = None  # at < end
    after: int = 0
    limit: int = 100

    def matches(self, row: ReadRecord) -> bool:
        return (
            row.id > self.after
            and self.case_id in (None, row.case_id)
            and self.user in (None, row.user)
            and self.actor_id in (None, row.actor_id)
            and (self.start is None or row.at >= self.start)
            and (self.end is None or row.at < self.end)
        )


@dataclass(frozen=True)
class OfficeReads:
    """A monitor's figure: how often one office read personal data, by what, in a period."""

    locality: str
    authority: str
    what: str
    reads: int
    cases: int


class AuditStore(Protocol):
    def record(
        self, rows: Sequence[ReadRecord], viewers_of: Sequence[str]
    ) -> dict[str, list[Viewer]]:
        """Store `rows` in one transaction (durable when it returns); with them, the offices
        that read each case of `viewers_of` (in that transaction)."""
        ...

    def search(self, query: AuditFilter) -> list[ReadRecord]: ...
    def office_reads(self, prefix: str, start: float, end: float) -> list[OfficeReads]: ...
    def purge(self, before: float) -> int: ...
    def close(self) -> None: ...


class InMemoryAuditStore:
    """For unit tests and the `memory` persistence."""

    def __init__(self) -> None:
        self.rows: list[ReadRecord] = []
        self._lock = threading.Lock()

    def record(
        self, rows: Sequence[ReadRecord], viewers_of: Sequence[str]
    ) -> dict[str, list[Viewer]]:
        with self._lock:
            start = len(self.rows) + 1
            self.rows += [replace(r, id=start + i) for i, r in enumerate(rows)]
            return {case: viewers(self.rows, case) for case in viewers_of}

    def search(self, query: AuditFilter) -> list[ReadRecord]:
        with self._lock:
            return [r for r in self.rows if query.matches(r)][: query.limit]

    def office_reads(self, prefix: str, start: float, end: float) -> list[OfficeReads]:
        counts: dict[tuple[str, str, str], tuple[int, set[str]]] = {}
        with self._lock:
            for r in self.rows:
                if r.role == "office" and r.scope.startswith(prefix) and start <= r.at < end:
                    n, cases = counts.get((r.scope, r.authority, r.what), (0, set()))
                    counts[(r.scope, r.authority, r.what)] = (n + 1, cases | {r.case_id} - {""})
        return [OfficeReads(*key, n, len(c)) for key, (n, c) in sorted(counts.items())]

    def purge(self, before: float) -> int:
        with self._lock:
            kept = [r for r in self.rows if r.at >= before]
            gone, self.rows = len(self.rows) - len(kept), kept
            return gone

    def close(self) -> None:
        """Nothing to close."""


def viewers(rows: Sequence[ReadRecord], case_id: str) -> list[Viewer]:
    """The offices (clerks and their systems) that read `case_id`, in `rows`."""
    seen: dict[tuple[str, str, str], Viewer] = {}
    for r in rows:
        if r.case_id != case_id or r.role != "office":
            continue
        key = (r.scope, r.authority, r.kind)
        old = seen.get(key)
        seen[key] = Viewer(
            case_id,
            r.scope,
            r.authority,
            r.kind,
            (old.reads if old else 0) + 1,
            min(old.first_at, r.at) if old else r.at,
            max(old.last_at, r.at) if old else r.at,
        )
    return sorted(seen.values(), key=lambda v: v.last_at, reverse=True)
