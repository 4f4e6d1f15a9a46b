"""One PostgreSQL connection pool per process, shared by its applications and views.

The library gives each application a pool of its own (pool_size idle, up to pool_size +
max_overflow): with three applications and the views that was four pools a process, ~20
idle connections each and up to 60. Here the applications' factory and the views take one
datastore (one psycopg pool) per process and configuration, counted by its users and closed
by the last. A process's connections are then at most

    pool max = NEWBORN_LEDGER_POSTGRES_POOL_SIZE + NEWBORN_LEDGER_POSTGRES_MAX_OVERFLOW

plus, in an API process, the family documents' reader (case_documents.CONNECTIONS), and
while it starts, one connection of its own (adapters/pg_start.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from eventsourcing.postgres import PostgresDatastore, PostgresFactory
from eventsourcing.utils import Environment, get_topic

from adapters.settings import PostgresSettings

CONNECT_TIMEOUT_S = 5
# Views hold a transaction while a page of events is folded (seconds, in a rebuild), so the
# shared pool does not end idle transactions (the library's application pools ended them
# after 5 s); lock_timeout still bounds every wait for the events table's lock.
IDLE_IN_TRANSACTION_TIMEOUT_S = 0


@dataclass
class _Shared:
    datastore: PostgresDatastore
    users: int


_lock = threading.Lock()
_shared: dict[tuple[object, ...], _Shared] = {}


def _key(pg: PostgresSettings) -> tuple[object, ...]:
    """What makes two pools different (not the budget's reserve)."""
    where = (pg.host, pg.port, pg.dbname, pg.user, pg.password, pg.schema)
    return (*where, pg.pool_size, pg.max_overflow, pg.lock_timeout_s)


def acquire(pg: PostgresSettings) -> PostgresDatastore:
    """The process's datastore for `pg`, made at its first user."""
    with _lock:
        shared = _shared.get(_key(pg))
        if shared is None:
            shared = _shared[_key(pg)] = _Shared(_datastore(pg), 0)
        shared.users += 1
        return shared.datastore


def release(datastore: PostgresDatastore) -> None:
    """One user fewer; the last one closes the pool."""
    with _lock:
        for key, shared in list(_shared.items()):
            if shared.datastore is datastore:
                shared.users -= 1
                if shared.users > 0:
                    return
                del _shared[key]
                break
    datastore.close()


def users(pg: PostgresSettings) -> int:
    """How many applications and view sets share the pool for `pg` (0: none open)."""
    with _lock:
        shared = _shared.get(_key(pg))
        return 0 if shared is None else shared.users


def _datastore(pg: PostgresSettings) -> PostgresDatastore:
    return PostgresDatastore(
        pg.dbname,
        pg.host,
        pg.port,
        pg.user,
        pg.password,
        schema=pg.schema,
        pool_size=pg.pool_size,
        max_overflow=pg.max_overflow,
        lock_timeout=pg.lock_timeout_s,
        connect_timeout=CONNECT_TIMEOUT_S,
        idle_in_transaction_session_timeout=IDLE_IN_TRANSACTION_TIMEOUT_S,
    )


class SharedPoolPostgresFactory(PostgresFactory):
    """The library's PostgreSQL factory on the process's shared datastore, taken when a
    recorder first needs it: a process application's `follow` makes a factory for a mapper
    alone and never closes it, and it must not hold a share of the pool."""

    _shared: PostgresDatastore | None = None
    _released = False

    @property
    def datastore(self) -> PostgresDatastore:
        if self._shared is None:
            self._shared = acquire(_settings(self.env))
        return self._shared

    @datastore.setter
    def datastore(self, unused: PostgresDatastore) -> None:
        """The library's own datastore, made by its __init__: its pool is never opened."""

    def close(self) -> None:
        """Once (an application closes its factory again when it is collected)."""
        if self._shared is not None and not self._released:
            self._released = True
            release(self._shared)


def _settings(env: Environment) -> PostgresSettings:
    """The PostgresSettings that Settings.app_env wrote into `env`."""

    def get(key: str) -> str:
        return env.get(key) or ""

    return PostgresSettings(
        host=get("POSTGRES_HOST"),
        port=int(get("POSTGRES_PORT")),
        dbname=get("POSTGRES_DBNAME"),
        user=get("POSTGRES_USER"),
        password=get("POSTGRES_PASSWORD"),
        schema=get("POSTGRES_SCHEMA"),
        pool_size=int(get("POSTGRES_POOL_SIZE")),
        max_overflow=int(get("POSTGRES_MAX_OVERFLOW")),
        lock_timeout_s=int(get("POSTGRES_LOCK_TIMEOUT")),
    )


FACTORY_TOPIC = get_topic(SharedPoolPostgresFactory)
