"""Reading the family's pre-rendered case document (case_status `documents`) from the API.

On PostgreSQL the API's event loop reads it itself: one prepared, autocommit primary-key
SELECT on a small async pool (no worker thread, no BEGIN/ROLLBACK). Elsewhere, or before the
pool is open, the view's own read runs in a worker thread.
"""

from __future__ import annotations

import anyio.to_thread
import psycopg
from eventsourcing.cipher import AESCipher
from eventsourcing.persistence import OperationalError
from eventsourcing.utils import Environment
from psycopg.sql import SQL, Composed
from psycopg_pool import AsyncConnectionPool

from adapters.postgres_views import PostgresTables
from adapters.settings import Settings
from projections.case_document import DOCUMENTS, Sealer
from projections.case_status import CaseStatusView


def sealer_for(settings: Settings) -> Sealer:
    """Encrypts documents with the event stores' AES cipher when a key is configured."""
    if not settings.cipher_key:
        return Sealer()
    return Sealer(AESCipher(Environment(env={AESCipher.CIPHER_KEY: settings.cipher_key})))


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


class PostgresCaseDocuments(CaseDocuments):
    """One prepared autocommit SELECT per read, from the event loop."""

    def __init__(self, view: PostgresTables, settings: Settings) -> None:
        assert isinstance(view, CaseStatusView)
        super().__init__(view)
        self.query: Composed = SQL("SELECT body FROM {} WHERE case_id = %s").format(
            view.table(DOCUMENTS)
        )
        pg = settings.postgres
        self.pool = AsyncConnectionPool(
            kwargs={
                "dbname": pg.dbname,
                "host": pg.host,
                "port": pg.port,
                "user": pg.user,
                "password": pg.password,
                "autocommit": True,
                "connect_timeout": 5,
            },
            min_size=1,
            max_size=max(2, settings.threads),
            open=False,
            timeout=5,
        )
        self._opened = False

    async def open(self) -> None:
        await self.pool.open(wait=False)
        self._opened = True

    async def close(self) -> None:
        if self._opened:
            self._opened = False
            await self.pool.close()

    async def read(self, case_id: str) -> bytes | None:
        if not self._opened:
            return await super().read(case_id)
        try:
            async with self.pool.connection() as conn:
                cursor = await conn.execute(self.query, [case_id], prepare=True)
                found = await cursor.fetchone()
        except psycopg.Error as exc:
            raise OperationalError(str(exc)) from None
        return None if found is None else self.view.sealer.open(str(found[0]))


def case_documents(settings: Settings, view: CaseStatusView) -> CaseDocuments:
    """The reader for the configured store; the view gets the sealer its writes use."""
    view.sealer = sealer_for(settings)
    if isinstance(view, PostgresTables):
        return PostgresCaseDocuments(view, settings)
    return CaseDocuments(view)
