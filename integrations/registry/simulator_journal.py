"""The simulated registry system's journal: the messages it accepted (deduplicated by
webhook-id, in arrival order), whether each was acted on, and the answers it sent.

A message is written here before the delivery is acknowledged, so an accepted message is
acted on even when the process stops first (`pending` after a restart, with a file
journal). In memory by default; `--journal FILE` keeps it in SQLite. Only the journal holds
the message bodies (as a registry's own database holds what it was sent), never the logs.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS messages (arrival INTEGER PRIMARY KEY AUTOINCREMENT, "
    "id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, subject TEXT NOT NULL, sequence INTEGER, "
    "body BLOB NOT NULL, done INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS answers (message_id TEXT NOT NULL, action TEXT NOT NULL, "
    "status INTEGER NOT NULL, at REAL NOT NULL)",
)


class Journal:
    """Accepted messages and sent answers, in one SQLite database (file or memory)."""

    def __init__(self, path: str = ":memory:") -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for statement in SCHEMA:
            self.db.execute(statement)

    def accept(
        self, message_id: str, type_: str, subject: str, sequence: int | None, body: bytes
    ) -> bool:
        """Record a message; False when its webhook-id was accepted before (a duplicate)."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO messages (id, type, subject, sequence, body) "
            "VALUES (?, ?, ?, ?, ?)",
            (message_id, type_, subject, sequence, body),
        )
        return cursor.rowcount == 1

    def received(self) -> list[dict[str, Any]]:
        """The accepted messages in arrival order (no bodies)."""
        rows = self.db.execute(
            "SELECT id, type, subject, sequence FROM messages ORDER BY arrival"
        ).fetchall()
        return [{"id": i, "type": t, "subject": s, "sequence": q} for i, t, s, q in rows]

    def pending(self) -> list[tuple[str, bytes]]:
        """(webhook-id, body) of the accepted messages not yet acted on, in arrival order."""
        rows = self.db.execute(
            "SELECT id, body FROM messages WHERE done = 0 ORDER BY arrival"
        ).fetchall()
        return [(str(i), bytes(b)) for i, b in rows]

    def done(self, message_id: str) -> None:
        self.db.execute("UPDATE messages SET done = 1 WHERE id = ?", (message_id,))

    def answered(self, message_id: str, action: str, status: int) -> None:
        """One answer's final HTTP status (0: none could be made, e.g. no valid result)."""
        self.db.execute(
            "INSERT INTO answers (message_id, action, status, at) VALUES (?, ?, ?, ?)",
            (message_id, action, status, time.time()),
        )

    def answers(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT message_id, action, status FROM answers ORDER BY rowid"
        ).fetchall()
        return [{"message_id": m, "action": a, "status": s} for m, a, s in rows]

    def close(self) -> None:
        self.db.close()
