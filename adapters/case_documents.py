"""Reading the family's pre-rendered case document (case_status `documents`) from the API.

On PostgreSQL the API's event loop reads it itself: one prepared, autocommit primary-key
SELECT on two async connections of its own (no worker thread, no BEGIN/ROLLBACK), sent with
libpq's own prepared-statement call (no cursor, no query conversion, no row loaders); when it
cannot connect, and on other stores or outside the API's lifespan, the view's own read runs
in a worker thread on the view's pool.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
import psycopg
from eventsourcing.persistence import OperationalError
from psycopg import AsyncConnection
from psycopg.errors import error_from_result
from psycopg.generators import execute
from psycopg.pq import ExecStatus, TransactionStatus
from psycopg.pq.abc import PGresult
from psycopg.sql import SQL, Composed

from adapters.keys import rotating_cipher
from adapters.settings import Settings
from engine.postgres_views import PostgresTables
from projections.case_document import DOCUMENTS, Sealer
from projections.case_status import CaseStatusView

log = logging.getLogger(__name__)
# A read holds a connection for one round trip: two per API process keep up with the event
# loop, and each process already holds the applications' pools (max_connections is shared).
CONNECTIONS = 2
STATEMENT = b"newborn_ledger_case_document"  # prepared once on each of the reader's connections


INDEX_LABEL = b"newborn-ledger/view-index/v1"


def sealer_for(settings: Settings) -> Sealer:
    """Encrypts documents with the event stores' AES cipher when a key is configured (and
    opens those sealed with an old key after a rotation), and keeps the view's looked-up
    secrets as digests under index keys derived from the cipher keys (the current one
    first: rows written before a rotation are found until case_status is rebuilt)."""
    cipher = rotating_cipher(settings.cipher_key, settings.old_cipher_keys)
    if cipher is None or not settings.cipher_key:
        return Sealer()
    keys = [settings.cipher_key, *settings.old_cipher_keys]
    return Sealer(cipher, [index_key(key) for key in keys])


def index_key(cipher_key: str) -> bytes:
    """The view-index key of a cipher key (base64 text): an HMAC of a fixed label under it,
    so the cipher key itself is never used for two purposes."""
    return hmac.new(base64.b64decode(cipher_key), INDEX_LABEL, hashlib.sha256).digest()


class CaseDocuments:
    """The family's case view as JSON bytes, or None when the projection has no row yet."""

    def __init__(self, view: CaseStatusView) -> None:
        self.view = view

    async def open(self) -> None:
        """Called by the API's lifespan, in its event loop."""

    async def close(self) -> None:
        """Called by the API's lifespan before it ends."""

    async def read(self, case_id: str) -> bytes | None:
        return await anyio.to_thread.run_sync(self.view.document, case_id)


class Connections:
    """A few autocommit connections for one event loop, handed out last-in first-out: a
    read costs a queue get and put (a general pool's checks cost as much as the query)."""

    def __init__(
        self,
        kwargs: dict[str, Any],
        size: int,
        setup: Callable[[AsyncConnection[Any]], Awaitable[None]] | None = None,
    ) -> None:
        self.kwargs, self.size, self.setup = kwargs, size, setup
        self._idle: asyncio.LifoQueue[AsyncConnection[Any]] = asyncio.LifoQueue()
        self._count = 0

    async def acquire(self) -> AsyncConnection[Any]:
        if not self._idle.empty() or self._count >= self.size:
            return await self._idle.get()
        self._count += 1
        try:
            conn = await AsyncConnection.connect(**self.kwargs)
        except BaseException:
            self._count -= 1
            raise
        if self.setup is not None:
            try:
                await self.setup(conn)
            except BaseException:
                await self.discard(conn)
                raise
        return conn

    async def release(self, conn: AsyncConnection[Any]) -> None:
        if conn.closed or conn.info.transaction_status != TransactionStatus.IDLE:
            await self.discard(conn)
        else:
            self._idle.put_nowait(conn)

    async def discard(self, conn: AsyncConnection[Any]) -> None:
        """A connection that failed or was interrupted mid-query is not used again."""
        self._count -= 1
        await conn.close()

    async def close(self) -> None:
        while not self._idle.empty():
            await self.discard(self._idle.get_nowait())


class PostgresCaseDocuments(CaseDocuments):
    """One prepared autocommit SELECT per read, from the event loop."""

    def __init__(self, view: PostgresTables, settings: Settings) -> None:
        assert isinstance(view, CaseStatusView)
        super().__init__(view)
        # libpq's placeholder: the statement is prepared by libpq, not converted by psycopg
        self.query: Composed = SQL("SELECT body FROM {} WHERE case_id = $1").format(
            view.table(DOCUMENTS)
        )
        pg = settings.postgres
        self.kwargs: dict[str, Any] = {
            "dbname": pg.dbname,
            "host": pg.host,
            "port": pg.port,
            "user": pg.user,
            "password": pg.password,
            "autocommit": True,
            "connect_timeout": 5,
        }
        self.size = CONNECTIONS
        self.connections: Connections | None = None

    async def open(self) -> None:
        self.connections = Connections(self.kwargs, self.size, setup=self._prepare)

    async def close(self) -> None:
        if self.connections is not None:
            connections, self.connections = self.connections, None
            await connections.close()

    async def read(self, case_id: str) -> bytes | None:
        connections = self.connections
        if connections is None:  # no lifespan (or after it): the view's read, in a thread
            return await super().read(case_id)
        try:
            body = await self._select(connections, case_id)
        except psycopg.OperationalError as exc:  # e.g. no connection slot left on the server
            log.info("document read falls back to the view's pool: %s", type(exc).__name__)
            return await super().read(case_id)
        except psycopg.Error as exc:
            raise OperationalError(str(exc)) from None
        return None if body is None else self.view.sealer.open(body)

    async def _prepare(self, conn: AsyncConnection[Any]) -> None:
        """Once per connection, when it is made: the SELECT as a named prepared statement."""
        conn.pgconn.send_prepare(STATEMENT, self.query.as_bytes(conn))
        _checked(conn, await conn.wait(execute(conn.pgconn)), ExecStatus.COMMAND_OK)

    async def _select(self, connections: Connections, case_id: str) -> str | None:
        conn = await connections.acquire()
        try:
            conn.pgconn.send_query_prepared(STATEMENT, [case_id.encode()])
            found = _checked(conn, await conn.wait(execute(conn.pgconn)), ExecStatus.TUPLES_OK)
        except BaseException:  # failed or cancelled mid-query: its state is unknown
            await connections.discard(conn)
            raise
        await connections.release(conn)
        body = found.get_value(0, 0) if found.ntuples else None
        return None if body is None else bytes(body).decode(conn.info.encoding)


def _checked(conn: AsyncConnection[Any], results: list[PGresult], status: ExecStatus) -> PGresult:
    """The one result of a statement, or the error psycopg raises for it (same classes)."""
    if len(results) != 1 or results[0].status != status:
        failed = [r for r in results if r.status == ExecStatus.FATAL_ERROR]
        if failed:
            raise error_from_result(failed[0], encoding=conn.info.encoding)
        raise psycopg.InterfaceError(f"unexpected results: {[r.status for r in results]}")
    return results[0]


def case_documents(settings: Settings, view: CaseStatusView) -> CaseDocuments:
    """The reader for the configured store (the view's sealer opens what it reads)."""
    if isinstance(view, PostgresTables):
        return PostgresCaseDocuments(view, settings)
    return CaseDocuments(view)
