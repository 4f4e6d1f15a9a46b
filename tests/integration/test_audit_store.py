"""The read audit's SQL stores on SQLite and PostgreSQL: the same queries as in memory, and a
row acknowledged by the group commit is already committed (another connection reads it while
the writer's process has not closed anything, as after a crash)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.audit_log import AuditLog
from adapters.audit_records import AuditFilter, AuditStore, OfficeReads, Viewer
from adapters.audit_sql import SQLiteAuditStore, audit_store
from adapters.settings import Settings
from tests.unit.test_audit_log import ROW

WAIT_S = 10.0


@pytest.fixture
def store(settings: Settings) -> Iterator[AuditStore]:
    Path(settings.sqlite_dir).mkdir(parents=True, exist_ok=True)  # as build() does
    opened = audit_store(settings)
    yield opened
    opened.close()


def test_the_sql_store_filters_pages_counts_and_purges(store: AuditStore) -> None:
    rows = [
        ROW,
        replace(ROW, at=ROW.at + 10, case_id="c-2", user=""),
        replace(ROW, at=ROW.at + 20, scope="420102", authority="cdc", actor_id="a-2"),
        replace(ROW, at=ROW.at + 30, role="admin", scope="", authority=""),
    ]
    found = store.record(rows, ["c-1"])
    assert found == {
        "c-1": [
            Viewer("c-1", "420102", "cdc", "person", 1, ROW.at + 20, ROW.at + 20),
            Viewer("c-1", "430602", "health", "person", 1, ROW.at, ROW.at),
        ]
    }
    everything = store.search(AuditFilter())
    assert [replace(r, id=0) for r in everything] == rows
    ids = [r.id for r in everything]
    assert ids == sorted(ids)
    assert [r.id for r in store.search(AuditFilter(case_id="c-1"))] == [ids[0], ids[2], ids[3]]
    assert [r.id for r in store.search(AuditFilter(user="clerk1", after=ids[0]))] == ids[2:]
    assert [r.id for r in store.search(AuditFilter(actor_id="a-2"))] == [ids[2]]
    between = AuditFilter(start=ROW.at + 10, end=ROW.at + 30)
    assert [r.id for r in store.search(between)] == ids[1:3]
    assert [r.id for r in store.search(AuditFilter(limit=2, after=ids[1]))] == ids[2:]
    assert store.office_reads("43", ROW.at, ROW.at + 60) == [
        OfficeReads("430602", "health", "case", 2, 2)
    ]
    assert store.office_reads("", ROW.at, ROW.at + 60)[0] == OfficeReads(
        "420102", "cdc", "case", 1, 1
    )
    assert store.purge(ROW.at + 15) == 2
    assert [r.id for r in store.search(AuditFilter())] == ids[2:]


def test_an_acknowledged_row_is_committed(settings: Settings, store: AuditStore) -> None:
    writer_store = audit_store(settings)
    log = AuditLog(writer_store, capacity=1000)
    told = threading.Semaphore(0)
    seen: list[int] = []

    def done(viewers: object, error: BaseException | None) -> None:
        assert error is None
        seen.append(len(store.search(AuditFilter(limit=500))))  # another connection reads it
        told.release()

    threads = [
        threading.Thread(target=log.submit, args=(replace(ROW, target=f"t-{i}"), done))
        for i in range(100)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for _ in threads:
        assert told.acquire(timeout=WAIT_S)
    assert len(seen) == 100
    assert min(seen) >= 1
    assert len(store.search(AuditFilter(limit=500))) == 100
    assert log.batches <= 100
    log.close()


def test_a_purge_deletes_in_batches(store: AuditStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Old rows go in transactions of PURGE_BATCH rows each; every old row goes."""
    monkeypatch.setattr("adapters.audit_sql.PURGE_BATCH", 3)
    store.record([replace(ROW, at=ROW.at + i, target=f"t-{i}") for i in range(10)], [])
    assert store.purge(ROW.at + 8) == 8
    assert [r.target for r in store.search(AuditFilter())] == ["t-8", "t-9"]


def test_a_long_query_on_sqlite_holds_no_write_up(tmp_path: Path) -> None:
    """On SQLite the queries read on their own connection (a WAL snapshot): while one is
    open, a batch of reads is still recorded at once."""
    store = SQLiteAuditStore(str(tmp_path / "audit.sqlite"))
    try:
        with store._read() as curs:  # a query under way (a monitor's monthly count)
            curs.execute("SELECT count(*) FROM audit_reads")
            recorded = threading.Thread(target=store.record, args=([ROW], []))
            recorded.start()
            recorded.join(WAIT_S / 5)
            assert not recorded.is_alive()
        assert len(store.search(AuditFilter())) == 1
    finally:
        store.close()
