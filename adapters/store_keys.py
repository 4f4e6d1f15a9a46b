"""The store's record of the cipher keys it was written with (see adapters/keys.py), kept in
a `store_keys` table beside the ledger's events (its SQLite file, or its PostgreSQL schema)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL, Identifier

from adapters.keys import StoreKeyError, decodes, fingerprint, problem, written_with

TABLE = "store_keys"


class KeyRecord:
    """The fingerprints recorded in one store (the datastore of its ledger)."""

    def __init__(self, datastore: Any, table: str, mark: str) -> None:
        self.datastore, self.table, self.mark = datastore, table, mark

    def create(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} "
                "(fingerprint TEXT PRIMARY KEY, recorded_at TEXT NOT NULL)"
            )

    def read(self) -> set[str]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(f"SELECT fingerprint FROM {self.table}")
            return {str(row["fingerprint"]) for row in curs.fetchall()}

    def add(self, fingerprints: set[str]) -> None:
        statement = (
            f"INSERT INTO {self.table} (fingerprint, recorded_at) VALUES ({self.mark}, "
            f"CURRENT_TIMESTAMP) ON CONFLICT (fingerprint) DO NOTHING"
        )
        with self.datastore.transaction(commit=True) as curs:
            for value in sorted(fingerprints):
                curs.execute(statement, (value,))


def key_record(ledger: Application[Any]) -> KeyRecord | None:
    """The record beside `ledger`'s events; None in memory (a store that lives one process)."""
    datastore = getattr(ledger.recorder, "datastore", None)
    if isinstance(datastore, PostgresDatastore):
        name = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(TABLE))
        return KeyRecord(datastore, name.as_string(None), "%s")
    if isinstance(datastore, SQLiteDatastore):
        return KeyRecord(datastore, TABLE, "?")
    return None


def open_store(
    apps: Sequence[Application[Any]], key: str | None, old_keys: Sequence[str], create: bool
) -> None:
    """Refuse (StoreKeyError) keys that cannot read the store; else record the current one.
    A store with no record yet (new, or written before the record existed) is judged by the
    first event of each application."""
    record = key_record(apps[0])
    if record is None:
        return
    if create:
        record.create()
    recorded = record.read() or _found(apps, key, old_keys)
    if reason := problem(recorded, key, old_keys):
        raise StoreKeyError(f"Refusing to open the store: {reason}")
    record.add(recorded | {fingerprint(key)})


def check_store(apps: Sequence[Application[Any]], key: str | None, old_keys: Sequence[str]) -> None:
    """StoreKeyError if the store's record no longer matches the configured keys."""
    record = key_record(apps[0])
    if record is not None and (reason := problem(record.read(), key, old_keys)):
        raise StoreKeyError(f"The store cannot be read with the configured key: {reason}")


def _found(apps: Sequence[Application[Any]], key: str | None, old_keys: Sequence[str]) -> set[str]:
    firsts = [(app, _first_event(app)) for app in apps]
    events = [(app, event) for app, event in firsts if event is not None]
    if not events:
        return set()  # a new store: nothing to judge
    found: set[str] = set()
    for app, event in events:
        opened = written_with([event], key, old_keys, decodes(app.mapper.to_domain_event))
        if not opened:
            raise _unreadable(key)
        found |= opened
    return found


def _unreadable(key: str | None) -> StoreKeyError:
    written = "with another cipher key, or without one" if key else "with a cipher key"
    return StoreKeyError(
        "Refusing to open the store: its events cannot be read with the configured key; "
        f"it was written {written} (NEWBORN_LEDGER_CIPHER_KEY)"
    )


def _first_event(app: Application[Any]) -> StoredEvent | None:
    if not isinstance(app.recorder, ApplicationRecorder):
        return None
    notifications = app.recorder.select_notifications(start=None, limit=1)
    return notifications[0] if notifications else None
