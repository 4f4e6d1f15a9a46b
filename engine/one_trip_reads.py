"""An aggregate's latest snapshot and the events after it, read in one round trip.

The library's repository asks the snapshot table for the latest snapshot, then the events
table for the events after it: two queries (two pool checkouts, two round trips, ~140 µs of
client CPU each on PostgreSQL) for every command's read, though most of our aggregates never
reach a snapshot. Here, when the application's recorder can read both tables at once
(`SnapshotJoinReader`, engine/recorders.py), one query returns both, in the same order; the
aggregate is rebuilt from them exactly as the library does. Anything else (a historical
version, no snapshot store, SQLite, memory) goes the library's way.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

from engine.page_reader import decoder_for
from engine.section import SectionRepository, repository_settings


@runtime_checkable
class SnapshotJoinReader(Protocol):
    """A recorder that reads a stream's latest snapshot (from `snapshots_table`) and the
    events after it in one query."""

    def select_from_latest_snapshot(
        self, originator_id: UUID, snapshots_table: str
    ) -> tuple[list[StoredEvent], list[StoredEvent]]: ...


class OneTripRepository(SectionRepository):
    """The section-aware repository, with its snapshot-then-events read done in one query."""

    def _reconstruct_aggregate(
        self, aggregate_id: UUID, version: int | None, projector_func: Any
    ) -> Any:
        reader, snapshots_table = self._joined()
        if version is not None or reader is None:
            return super()._reconstruct_aggregate(aggregate_id, version, projector_func)
        snapshots, events = reader.select_from_latest_snapshot(aggregate_id, snapshots_table)
        assert self.snapshot_store is not None  # _joined found one
        revived = chain(
            map(self.snapshot_store.mapper.to_domain_event, snapshots),
            map(decoder_for(self.event_store.mapper), events),  # equal events, faster
        )
        aggregate = projector_func(None, revived)
        if aggregate is None:
            msg = f"Aggregate {aggregate_id!r} version {version!r} not found."
            raise AggregateNotFoundError(msg)
        return aggregate

    def _joined(self) -> tuple[SnapshotJoinReader | None, str]:
        """The recorder that reads both tables, and the snapshot table's name (or None)."""
        reader = self.event_store.recorder
        snapshots = self.snapshot_store
        table = getattr(snapshots.recorder, "events_table_name", None) if snapshots else None
        if table is None or not isinstance(reader, SnapshotJoinReader):
            return None, ""
        return reader, table


def one_trip_repository(app: Application[UUID]) -> Repository[UUID]:
    """The repository the library would construct for `app` (same env settings), one-trip,
    reading through sections (engine/section.py)."""
    return OneTripRepository(**repository_settings(app))


# The latest snapshot (if any), then the events after it (all of them if none), in order.
SNAPSHOT_JOIN = (
    "WITH s AS (SELECT originator_id, originator_version, topic, state FROM {0}.{1} "
    "WHERE originator_id = %(id)s ORDER BY originator_version DESC LIMIT 1) "
    "SELECT * FROM (SELECT true AS snapshot, * FROM s UNION ALL "
    "SELECT false, originator_id, originator_version, topic, state FROM {0}.{2} "
    "WHERE originator_id = %(id)s AND originator_version > "
    "COALESCE((SELECT originator_version FROM s), -9223372036854775808)) AS stream "
    "ORDER BY snapshot DESC, originator_version"
)


class PostgresSnapshotJoin:
    """For a PostgreSQL recorder: `select_from_latest_snapshot` (SnapshotJoinReader)."""

    datastore: PostgresDatastore
    events_table_name: str

    def select_from_latest_snapshot(
        self, originator_id: UUID, snapshots_table: str
    ) -> tuple[list[StoredEvent], list[StoredEvent]]:
        """The stream's latest snapshot in `snapshots_table` (a table of this schema) and the
        events after it, in one round trip: what the repository reads in two."""
        statements = self.__dict__.setdefault("_snapshot_join_statements", {})
        statement = statements.get(snapshots_table)
        if statement is None:
            statement = statements[snapshots_table] = SQL(SNAPSHOT_JOIN).format(
                Identifier(self.datastore.schema),
                Identifier(snapshots_table),
                Identifier(self.events_table_name),
            )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, {"id": originator_id}, prepare=True)
            return stored_pairs(curs.fetchall())


def stored_pairs(rows: Sequence[Any]) -> tuple[list[StoredEvent], list[StoredEvent]]:
    """Rows (snapshot flag, originator id, version, topic, state) → (snapshots, events)."""
    snapshots: list[StoredEvent] = []
    events: list[StoredEvent] = []
    for row in rows:
        (snapshots if row["snapshot"] else events).append(stored_event(row))
    return snapshots, events


def stored_event(row: Any) -> StoredEvent:
    """A PostgreSQL dict row (originator id, version, topic, state) as a stored event."""
    return StoredEvent(
        row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"])
    )
