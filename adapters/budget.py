"""The PostgreSQL connection budget of a deployment (docs/operations.md, Connections):

    API processes x (pool max + document reader) + workers x pool max
        <= max_connections - superuser_reserved_connections - reserved_connections - reserve

pool max = NEWBORN_LEDGER_POSTGRES_POOL_SIZE + _MAX_OVERFLOW (one pool a process,
adapters/pool.py); the reserve (NEWBORN_LEDGER_POSTGRES_RESERVE) is left for everything
else: CLI commands, a rebuild's processes, psql, backups, monitoring.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg

from adapters import pg_start
from adapters.case_documents import CONNECTIONS as DOCUMENT_READER
from adapters.settings import ConfigError, Settings

log = logging.getLogger(__name__)
RESERVED_SETTINGS = ("superuser_reserved_connections", "reserved_connections")  # 16+: both


@dataclass(frozen=True)
class Budget:
    api_processes: int
    workers: int  # separate `newborn-ledger worker` processes
    pool_max: int
    reserve: int
    max_connections: int
    server_reserved: int  # superuser_reserved_connections (+ reserved_connections)

    @property
    def needed(self) -> int:
        return self.api_processes * (self.pool_max + DOCUMENT_READER) + self.workers * self.pool_max

    @property
    def available(self) -> int:
        return self.max_connections - self.server_reserved - self.reserve

    def problem(self) -> str | None:
        """Why this deployment may run out of connections, in numbers; None if it fits."""
        if self.needed <= self.available:
            return None
        return (
            f"connection budget exceeded: {self.api_processes} API processes x "
            f"({self.pool_max} pool + {DOCUMENT_READER} document reader) + {self.workers} "
            f"worker x {self.pool_max} = {self.needed} connections, but the server allows "
            f"{self.available} (max_connections {self.max_connections} - "
            f"{self.server_reserved} reserved by the server - NEWBORN_LEDGER_POSTGRES_RESERVE "
            f"{self.reserve}); lower --workers or NEWBORN_LEDGER_POSTGRES_POOL_SIZE / "
            "_MAX_OVERFLOW, or raise max_connections (docs/operations.md, Connections)"
        )


def serve_budget(
    settings: Settings, workers: int, conn: psycopg.Connection[tuple[object, ...]]
) -> Budget:
    """The budget of `serve --workers N` (and, when the API does not run the background work,
    the one separate worker it needs), against the server `conn` is on."""
    rows = conn.execute(
        "SELECT name, setting FROM pg_settings WHERE name = 'max_connections' OR name = ANY(%s)",
        (list(RESERVED_SETTINGS),),
    ).fetchall()
    found = {str(name): int(str(value)) for name, value in rows}
    pg = settings.postgres
    return Budget(
        api_processes=workers,
        workers=0 if settings.embedded_worker else 1,
        pool_max=pg.pool_size + pg.max_overflow,
        reserve=pg.reserve,
        max_connections=found["max_connections"],
        server_reserved=sum(found.get(name, 0) for name in RESERVED_SETTINGS),
    )


def check_serve_budget(settings: Settings, workers: int) -> None:
    """Refuse (ConfigError) to serve more processes than the server has connections for."""
    with pg_start.connect(settings.postgres) as conn:
        budget = serve_budget(settings, workers, conn)
    if reason := budget.problem():
        raise ConfigError(reason)
    log.info("connections: %d needed of %d available", budget.needed, budget.available)
