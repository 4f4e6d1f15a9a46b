"""The staff's server-side sessions and the sign-in log, on SQLite (its own file), PostgreSQL
(the process's shared pool) or in memory (unit tests): `session_store(settings)`.

A session is found by the SHA-256 of its cookie value (256 random bits), so the table never
holds a usable cookie. The sign-in log has one row per attempt, known user or not; for an
unknown username only the SHA-256 of what was typed is kept (a password typed into the
username box must not be stored)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass, fields, replace

from eventsourcing.postgres import PostgresDatastore

from adapters import pool
from adapters.delivery_sql import Tx
from adapters.delivery_stores import _PostgresTx, _SQLiteTx
from adapters.settings import Settings
from adapters.side_stores import SideStore, SQLiteFile

SQLITE_FILE = "sessions.sqlite"
MAX_LOG_ROWS = 1_000


@dataclass(frozen=True)
class SessionRow:
    session_hash: str
    user_id: str
    username: str
    role: str
    scope: str
    authority: str | None
    csrf: str
    created_at: float  # epoch seconds
    seen_at: float
    expires_at: float  # the absolute end

    def __repr__(self) -> str:  # no hash, no CSRF token, no username in a log
        return f"SessionRow(user_id={self.user_id!r}, role={self.role!r})"


@dataclass(frozen=True)
class SignInRow:
    at: float
    user_id: str  # "" for an unknown username
    username: str  # "" for an unknown username
    attempted_hash: str  # SHA-256 of what was typed, for unknown usernames; else ""
    method: str  # "password" | "oidc"
    outcome: str  # "signed-in" | "refused"
    reason: str  # "" | "bad-password" | "bad-totp" | "totp-replayed" | "locked" | ...


SESSION_COLUMNS = tuple(f.name for f in fields(SessionRow))
LOG_COLUMNS = tuple(f.name for f in fields(SignInRow))
DDL = (
    "CREATE TABLE IF NOT EXISTS {sessions} (session_hash TEXT PRIMARY KEY, user_id TEXT NOT "
    "NULL, username TEXT NOT NULL, role TEXT NOT NULL, scope TEXT NOT NULL, authority TEXT, "
    "csrf TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, seen_at DOUBLE PRECISION NOT "
    "NULL, expires_at DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS {prefix}staff_sessions_user ON {sessions} (user_id)",
    "CREATE TABLE IF NOT EXISTS {log} (id {serial}, at DOUBLE PRECISION NOT NULL, "
    "user_id TEXT NOT NULL, username TEXT NOT NULL, attempted_hash TEXT NOT NULL, "
    "method TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS {prefix}staff_sign_ins_at ON {log} (at)",
)
SQL = {
    "create": f"INSERT INTO {{sessions}} ({', '.join(SESSION_COLUMNS)}) VALUES "
    f"({', '.join('%s' for _ in SESSION_COLUMNS)})",
    "get": "SELECT * FROM {sessions} WHERE session_hash = %s",
    "touch": "UPDATE {sessions} SET seen_at = %s WHERE session_hash = %s",
    "delete": "DELETE FROM {sessions} WHERE session_hash = %s",
    "end_user": "DELETE FROM {sessions} WHERE user_id = %s",
    "purge": "DELETE FROM {sessions} WHERE expires_at < %s OR seen_at < %s",
    "log": f"INSERT INTO {{log}} ({', '.join(LOG_COLUMNS)}) VALUES "
    f"({', '.join('%s' for _ in LOG_COLUMNS)})",
    "purge_log": "DELETE FROM {log} WHERE at < %s",
    "sign_ins": f"SELECT {', '.join(LOG_COLUMNS)} FROM {{log}} WHERE at >= %s AND at < %s "
    "AND (%s = '' OR username = %s) ORDER BY at DESC, id DESC LIMIT %s",
}


class SessionStore:
    """Sessions and the sign-in log over SQL; a backend gives `_tx` and the names."""

    def __init__(self, sessions: str, log: str, serial: str, prefix: str = "") -> None:
        names = {"sessions": sessions, "log": log, "serial": serial, "prefix": prefix}
        self.sql = {k: self._dialect(v.format(**names)) for k, v in SQL.items()}
        self.ddl = [self._dialect(d.format(**names)) for d in DDL]

    def _dialect(self, sql: str) -> str:
        return sql

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Tx]:
        raise NotImplementedError
        yield

    def _create_tables(self) -> None:
        with self._tx() as tx:
            for ddl in self.ddl:
                tx.run(ddl)

    def create(self, row: SessionRow) -> None:
        with self._tx() as tx:
            tx.run(self.sql["create"], astuple(row))

    def get(self, session_hash: str) -> SessionRow | None:
        with self._tx(write=False) as tx:
            rows = tx.rows(self.sql["get"], (session_hash,))
        return SessionRow(**rows[0]) if rows else None

    def touch(self, session_hash: str, seen_at: float) -> None:
        with self._tx() as tx:
            tx.run(self.sql["touch"], (seen_at, session_hash))

    def delete(self, session_hash: str) -> None:
        with self._tx() as tx:
            tx.run(self.sql["delete"], (session_hash,))

    def end_user(self, user_id: str) -> int:
        """End every session of a user (disabled, or a new password); how many there were."""
        with self._tx() as tx:
            return tx.run(self.sql["end_user"], (user_id,))

    def purge(self, now: float, idle_s: float) -> int:
        with self._tx() as tx:
            return tx.run(self.sql["purge"], (now, now - idle_s))

    def log(self, row: SignInRow) -> None:
        with self._tx() as tx:
            tx.run(self.sql["log"], astuple(row))

    def purge_sign_ins(self, before: float) -> int:
        """Delete the sign-in log's rows recorded before `before` (the log's retention)."""
        with self._tx() as tx:
            return tx.run(self.sql["purge_log"], (before,))

    def sign_ins(
        self, username: str = "", start: float = 0.0, end: float = 1e12, limit: int = 100
    ) -> list[SignInRow]:
        """The newest attempts first, of one user (or all), at start <= at < end."""
        params = (start, end, username, username, min(limit, MAX_LOG_ROWS))
        with self._tx(write=False) as tx:
            return [SignInRow(**r) for r in tx.rows(self.sql["sign_ins"], params)]

    def close(self) -> None:
        pass


class SQLiteSessionStore(SessionStore):
    """Its own file next to the applications', one connection a process behind a lock."""

    def __init__(self, path: str) -> None:
        super().__init__("staff_sessions", "staff_sign_ins", "INTEGER PRIMARY KEY AUTOINCREMENT")
        self._file = SQLiteFile(path)
        self._create_tables()

    def _dialect(self, sql: str) -> str:
        return sql.replace("%s", "?")

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Tx]:
        with self._file.transaction(write) as conn:
            yield _SQLiteTx(conn)

    def close(self) -> None:
        self._file.close()


class PostgresSessionStore(SessionStore):
    """Tables in the applications' schema, on the process's shared pool."""

    def __init__(self, datastore: PostgresDatastore, *, create_tables: bool = True) -> None:
        schema = datastore.schema or "public"
        super().__init__(
            f'"{schema}".staff_sessions',
            f'"{schema}".staff_sign_ins',
            "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        )
        self.datastore, self._released = datastore, False
        if create_tables:
            self._create_tables()

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Tx]:
        with self.datastore.transaction(commit=write) as curs:
            yield _PostgresTx(curs)

    def close(self) -> None:
        if not self._released:
            self._released = True
            pool.release(self.datastore)


class InMemorySessionStore(SessionStore):
    """Unit tests and the memory persistence: dicts behind a lock."""

    def __init__(self) -> None:
        self._sessions: dict[str, SessionRow] = {}
        self._log: list[SignInRow] = []
        self._lock = threading.Lock()

    def create(self, row: SessionRow) -> None:
        with self._lock:
            self._sessions[row.session_hash] = row

    def get(self, session_hash: str) -> SessionRow | None:
        with self._lock:
            return self._sessions.get(session_hash)

    def touch(self, session_hash: str, seen_at: float) -> None:
        with self._lock:
            if row := self._sessions.get(session_hash):
                self._sessions[session_hash] = replace(row, seen_at=seen_at)

    def delete(self, session_hash: str) -> None:
        with self._lock:
            self._sessions.pop(session_hash, None)

    def end_user(self, user_id: str) -> int:
        with self._lock:
            ended = [k for k, r in self._sessions.items() if r.user_id == user_id]
            for key in ended:
                del self._sessions[key]
            return len(ended)

    def purge(self, now: float, idle_s: float) -> int:
        with self._lock:
            gone = [
                k
                for k, r in self._sessions.items()
                if r.expires_at < now or r.seen_at < now - idle_s
            ]
            for key in gone:
                del self._sessions[key]
            return len(gone)

    def log(self, row: SignInRow) -> None:
        with self._lock:
            self._log.append(row)

    def purge_sign_ins(self, before: float) -> int:
        with self._lock:
            kept = [r for r in self._log if r.at >= before]
            purged, self._log = len(self._log) - len(kept), kept
            return purged

    def sign_ins(
        self, username: str = "", start: float = 0.0, end: float = 1e12, limit: int = 100
    ) -> list[SignInRow]:
        with self._lock:
            rows = [r for r in self._log if start <= r.at < end]
        rows = [r for r in reversed(rows) if not username or r.username == username]
        return rows[: min(limit, MAX_LOG_ROWS)]


def session_store(settings: Settings) -> SessionStore:
    """The store of the configured persistence (PostgreSQL: a share of the process's pool)."""
    return SESSION_STORES.open(settings)


SESSION_STORES = SideStore[SessionStore](
    SQLITE_FILE,
    SQLiteSessionStore,
    lambda datastore, create: PostgresSessionStore(datastore, create_tables=create),
    InMemorySessionStore,
)
