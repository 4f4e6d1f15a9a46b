"""Where uploaded files are kept: the port (FileStore), its rows, and the in-memory store of
the unit tests. The SQL stores are in adapters/document_files.py."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class StoredFile:
    """One case's file. `content` and `meta` (its name and SHA-256, as JSON) are as stored:
    encrypted with the store's cipher when a key is set."""

    case_id: str
    document_id: str  # "doc:" + a keyed hash of the content (adapters/document_files.py)
    media_type: str  # found by the content check, never the sender's word
    size: int  # bytes of the file as uploaded
    meta: bytes
    content: bytes
    created_at: float


class FileStore(Protocol):
    def put(self, row: StoredFile) -> bool:
        """Keep the row; False when the case already has this document (nothing changes)."""
        ...

    def get(self, case_id: str, document_id: str) -> StoredFile | None: ...

    def described(self, case_id: str, document_ids: list[str]) -> list[StoredFile]:
        """The case's rows among `document_ids`, without their content (b"")."""
        ...

    def close(self) -> None: ...


class InMemoryFileStore:
    """Rows in a dict, for unit tests and `memory` persistence."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], StoredFile] = {}
        self._lock = threading.Lock()

    def put(self, row: StoredFile) -> bool:
        with self._lock:
            key = (row.case_id, row.document_id)
            if key in self._rows:
                return False
            self._rows[key] = row
            return True

    def get(self, case_id: str, document_id: str) -> StoredFile | None:
        with self._lock:
            return self._rows.get((case_id, document_id))

    def described(self, case_id: str, document_ids: list[str]) -> list[StoredFile]:
        with self._lock:
            found = [self._rows.get((case_id, d)) for d in document_ids]
        return [_without_content(r) for r in found if r is not None]

    def count(self) -> int:
        with self._lock:
            return len(self._rows)

    def close(self) -> None:
        """Nothing to release."""


def _without_content(row: StoredFile) -> StoredFile:
    return StoredFile(
        row.case_id, row.document_id, row.media_type, row.size, row.meta, b"", row.created_at
    )
