"""Process recorders that can commit a whole pulled section with one compare-and-set tracking row.

The library records one tracking position per processed notification. A section of many
notifications is recorded here in one transaction whose tracking write succeeds only if the
position is still where the section started (`SectionPosition.previous`) and moves it to the
section's last notification. Any other processor that committed an overlapping section first
(whatever its section size) has moved the position, so this insert fails with IntegrityError
and the whole section rolls back: the tracking table stays the library's single-row table,
so `max_tracking_id` and the library's own per-event path work unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProcessRecorder,
    StoredEvent,
)
from eventsourcing.popo import POPOFactory, POPOProcessRecorder
from eventsourcing.postgres import PostgresProcessRecorder
from eventsourcing.sqlite import SQLiteCursor, SQLiteProcessRecorder
from eventsourcing.utils import get_topic, retry
from psycopg import Connection, Cursor, Pipeline
from psycopg.errors import PipelineAborted
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from engine.group_commit import GroupCommitMixin
from engine.one_trip_reads import PostgresSnapshotJoin, stored_event

SECTION = "section"  # the insert_events keyword that carries a SectionPosition


@runtime_checkable
class StreamReader(Protocol):
    """A recorder that reads many aggregates' events at once (the section's prefetch): those
    of `originator_ids[n]` after version `after[n]` (the version already held), each in order."""

    def select_streams(
        self, originator_ids: Sequence[UUID], after: Sequence[int]
    ) -> list[StoredEvent]: ...


HELD_NONE = -(2**63)  # `after` for an aggregate none of whose events are held: all of them


@dataclass(frozen=True)
class SectionPosition:
    """Move `application_name`'s tracking position from `previous` to `last`, or fail."""

    application_name: str
    previous: int | None
    last: int

    def params(self) -> dict[str, Any]:
        return {"name": self.application_name, "previous": self.previous, "last": self.last}


def _refused(position: SectionPosition) -> IntegrityError:
    return IntegrityError(
        f"Tracking position of {position.application_name} is no longer {position.previous}"
    )


def _require_single_row(single_row_tracking: bool) -> None:
    if not single_row_tracking:
        raise IntegrityError("Section tracking needs the single-row tracking table")


class PipelinedPostgresProcessRecorder(PostgresSnapshotJoin, PostgresProcessRecorder):
    """PostgreSQL: the compare-and-set runs in the events insert's transaction (pipelined)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.section_tracking_statement = SQL(
            "INSERT INTO {0}.{1} VALUES (%(name)s, %(last)s) "
            "ON CONFLICT (application_name) DO UPDATE SET notification_id = %(last)s "
            "WHERE {0}.{1}.notification_id IS NOT DISTINCT FROM %(previous)s::bigint "
            "RETURNING notification_id"
        ).format(Identifier(self.datastore.schema), Identifier(self.tracking_table_name))
        self.insert_columns_statement = self._on_events(
            "INSERT INTO {0}.{1} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{2}[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        )
        self.notify_statement = SQL("NOTIFY {0}").format(Identifier(self.channel_name))
        self.select_streams_statement = self._on_events(
            # `= ANY(ids)` lets the planner use the key index; joined with `unnest` alone it
            # estimates badly and scans the whole table (7 ms instead of 0.4 on 41k events)
            "SELECT e.originator_id, e.originator_version, e.topic, e.state FROM {0}.{1} AS e "
            "JOIN unnest(%(ids)s::{2}[], %(after)s::bigint[]) AS held(id, version) "
            "ON e.originator_id = held.id "
            "WHERE e.originator_id = ANY(%(ids)s::{2}[]) AND e.originator_version > held.version "
            "ORDER BY e.originator_id, e.originator_version"
        )

    def _on_events(self, text: str) -> Composed:
        """`text` with {0} the schema, {1} the events table and {2} the originator id type."""
        return SQL(text).format(
            Identifier(self.datastore.schema),
            Identifier(self.events_table_name),
            Identifier(self.datastore.originator_id_type),
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's statements in one transaction, but LOCK TABLE, INSERT and COMMIT go
        in one pipeline sync: the table lock that orders writers is held for the server's
        work only, not across a round trip and the client's turn for the GIL."""
        if self.datastore.enable_db_functions:
            inserted: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return inserted
        with self.datastore.get_connection() as conn:
            failure, ids = None, None
            try:
                with conn.pipeline() as pipeline:
                    try:
                        ids = self._insert_and_commit(conn, pipeline, stored_events, **kwargs)
                    except Exception as error:  # raised once the pipeline is left (no warning)
                        failure = error
            except PipelineAborted:
                # Leaving the pipeline after a refused insert can report the statements the
                # refusal aborted. That is the refusal again, not an outage: were it raised,
                # the retry decorator would take it for a lost connection and sleep 0.2 s
                # before every try (a repeated hospital message took 200-420 ms).
                if failure is None:
                    raise
            if failure is not None:
                conn.rollback()  # an aborted or refused transaction leaves nothing behind
                raise failure
            return ids

    def _insert_and_commit(
        self,
        conn: Connection[DictRow],
        pipeline: Pipeline,
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> Sequence[int] | None:
        conn.execute("BEGIN")
        with conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)  # tracking (before the lock)
        with conn.cursor() as curs:
            if stored_events:
                self._insert_stored_events(curs, stored_events, **kwargs)
            conn.execute("COMMIT")
            pipeline.sync()
            if not stored_events:
                return None
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any
    ) -> None:
        """The library's lock, notify and insert, with the rows sent as four binary arrays
        (the library sends one array of composites in text, escaping every state's bytes)."""
        for lock_statement in self.lock_table_statements:
            curs.execute(lock_statement, prepare=True)
        curs.execute(self.notify_statement)
        columns = (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
        )
        curs.execute(self.insert_columns_statement, columns, prepare=True)

    def select_streams(
        self, originator_ids: Sequence[UUID], after: Sequence[int]
    ) -> list[StoredEvent]:
        """The given aggregates' events after the held versions in one round trip."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            params = {"ids": list(originator_ids), "after": list(after)}
            curs.execute(self.select_streams_statement, params, prepare=True)
            return [stored_event(r) for r in curs.fetchall()]

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        position: SectionPosition | None = kwargs.get(SECTION)
        if position is None:
            super()._insert_events(curs, stored_events, **kwargs)
            return
        _require_single_row(self.datastore.single_row_tracking)
        curs.execute(self.section_tracking_statement, position.params(), prepare=True)
        if curs.fetchone() is None:
            raise _refused(position)


class SectionPostgresProcessRecorder(GroupCommitMixin, PipelinedPostgresProcessRecorder):
    """PostgreSQL with sections, and concurrent plain saves committed in groups."""


class SectionSQLiteProcessRecorder(GroupCommitMixin, SQLiteProcessRecorder):
    """SQLite: the compare-and-set runs in the events insert's write transaction; concurrent
    plain saves are committed in groups."""

    section_tracking_statement = (
        "INSERT INTO tracking VALUES (:name, :last) "
        "ON CONFLICT (application_name) DO UPDATE SET notification_id = :last "
        "WHERE tracking.notification_id IS :previous "
        "RETURNING notification_id"
    )

    def select_streams(
        self, originator_ids: Sequence[UUID], after: Sequence[int]
    ) -> list[StoredEvent]:
        """The given aggregates' events after the held versions in one query, in order."""
        held = ", ".join(["(?, ?)"] * len(originator_ids))
        statement = (
            f"WITH held(id, version) AS (VALUES {held}) "
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            f"FROM {self.events_table_name} AS e JOIN held ON e.originator_id = held.id "
            "AND e.originator_version > held.version "
            "ORDER BY e.originator_id, e.originator_version"
        )
        params = [v for i, a in zip(originator_ids, after, strict=True) for v in (i.hex, a)]
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [
                StoredEvent(
                    self.convert_originator_id(r["originator_id"]),
                    r["originator_version"],
                    r["topic"],
                    r["state"],
                )
                for r in c.fetchall()
            ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        position: SectionPosition | None = kwargs.get(SECTION)
        if position is None:
            return super()._insert_events(c, stored_events, **kwargs)
        _require_single_row(self.datastore.single_row_tracking)
        c.execute(self.section_tracking_statement, position.params())
        if c.fetchone() is None:
            raise _refused(position)
        return super()._insert_events(c, stored_events)


class SectionPOPOProcessRecorder(POPOProcessRecorder):
    """In memory: the same check under the recorder's lock."""

    def select_streams(
        self, originator_ids: Sequence[UUID], after: Sequence[int]
    ) -> list[StoredEvent]:
        pairs = zip(originator_ids, after, strict=True)
        return [s for i, held in pairs for s in self.select_events(i, gt=held)]

    def _assert_uniqueness(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        super()._assert_uniqueness(stored_events, **kwargs)
        position: SectionPosition | None = kwargs.get(SECTION)
        if position and self._max_tracking_ids[position.application_name] != position.previous:
            raise _refused(position)

    def _update_table(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._update_table(stored_events, **kwargs)
        position: SectionPosition | None = kwargs.get(SECTION)
        if position is not None:
            self._max_tracking_ids[position.application_name] = position.last
        return notification_ids


class SectionPOPOFactory(POPOFactory):
    """The in-memory factory with the section-aware process recorder."""

    def process_recorder(self) -> ProcessRecorder:
        return SectionPOPOProcessRecorder()


PROCESS_RECORDER_TOPICS = {
    "sqlite": get_topic(SectionSQLiteProcessRecorder),
    "postgres": get_topic(SectionPostgresProcessRecorder),
}
POPO_FACTORY_TOPIC = get_topic(SectionPOPOFactory)
