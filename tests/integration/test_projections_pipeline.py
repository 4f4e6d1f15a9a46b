"""On PostgreSQL a backlog's pages are applied while the page before is written by a thread
(engine.pipeline.Pipeline): the same rows as page by page, and a failed write, a position
another runner moved, or a caller that stops, neither lose nor double a row."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import Tracking

from adapters.bootstrap import PROJECTIONS, Container, build
from adapters.settings import Settings
from adapters.views import LedgerProjections, build_projections
from engine.postgres_views import PostgresTables
from engine.projection_runner import catch_up
from engine.rows import TableChanges
from engine.view import TableView
from tests.integration.test_projections import (
    full_case,
    store_settings,
    timeline_entries,
    troubled_case,
    voided_case,
)
from tests.integration.test_projections_crash import CrashError, assert_exact

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return store_settings("postgres", tmp_path)


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    built = build(settings)
    for make in (full_case, troubled_case, voided_case):
        make(built)
    yield built
    built.close()


class Spy:
    """Wraps a view's `write` (the writer thread's transaction): records each call's thread
    and position, and can fail or run something first on the n-th one."""

    def __init__(self, view: TableView) -> None:
        self.view, self.real = view, view.write
        self.calls: list[tuple[str, int]] = []
        self.before: dict[int, Any] = {}
        view.write = self  # type: ignore[method-assign]

    def __call__(self, changes: list[TableChanges], tracking: Tracking, after: int | None) -> None:
        self.calls.append((threading.current_thread().name, tracking.notification_id))
        action = self.before.get(len(self.calls))
        if action is not None:
            action()
        self.real(changes, tracking, after)


# every registered view but case_status, which these tests page through themselves
OTHER_VIEWS = tuple(p.name for p, _ in PROJECTIONS if p.name != "case_status")


def test_a_backlog_is_written_by_the_writer_thread_with_the_same_rows(
    container: Container, projections: LedgerProjections
) -> None:
    spy = Spy(projections.case_status.view)
    applied = catch_up(container.ledger, projections.case_status, batch=5)
    assert applied == timeline_entries(projections.case_status.view)
    assert len(spy.calls) > 3
    assert {name.rsplit("_", 1)[0] for name, _ in spy.calls} == {"case_status-writer"}
    positions = [p for _, p in spy.calls]
    assert positions == sorted(positions)
    for name in OTHER_VIEWS:
        catch_up(container.ledger, projections.get(name), batch=5)
    assert_exact(container, projections)


def test_a_failed_write_keeps_the_pages_before_and_drops_the_page_applied_ahead(
    container: Container, projections: LedgerProjections
) -> None:
    spy = Spy(projections.case_status.view)

    def fail() -> None:
        raise CrashError("the third page's write fails")

    spy.before[3] = fail
    with pytest.raises(CrashError):
        catch_up(container.ledger, projections.case_status, batch=5)
    assert len(spy.calls) == 3  # the fourth page was applied, never written
    view = projections.case_status.view
    assert view.max_tracking_id(container.ledger.name) == spy.calls[1][1]
    assert timeline_entries(view) == 10
    projections.catch_up(batch=5)  # the same process carries on (its memo was forgotten)
    assert_exact(container, projections)


def test_a_position_moved_while_a_page_is_written_is_refused_and_read_on(
    container: Container, settings: Settings, projections: LedgerProjections
) -> None:
    rival = build_projections(settings, container.ledger, PROJECTIONS)
    spy = Spy(projections.case_status.view)
    spy.before[2] = lambda: rival.catch_up("case_status", batch=7)
    catch_up(container.ledger, projections.case_status, batch=5)
    rival.close()
    assert len(spy.calls) == 2  # the second page was refused: the rival had gone on
    for name in OTHER_VIEWS:
        catch_up(container.ledger, projections.get(name))
    assert_exact(container, projections)


def test_a_caller_that_stops_mid_backlog_leaves_whole_pages(
    container: Container, projections: LedgerProjections
) -> None:
    class StopError(Exception):
        pass

    def progress(position: int, head: int) -> None:
        raise StopError

    with pytest.raises(StopError):
        catch_up(container.ledger, projections.case_status, batch=5, progress=progress)
    shown = timeline_entries(projections.case_status.view)
    assert shown in (5, 10)  # the first page, and the one in flight when it stopped
    projections.catch_up(batch=5)
    assert_exact(container, projections)


def test_a_rebuild_in_pages_gives_the_live_rows(
    container: Container, projections: LedgerProjections
) -> None:
    projections.catch_up()
    live = projections.case_status.view.dump()
    spy = Spy(projections.case_status.view)
    projections.rebuild("case_status", batch=6)
    assert len(spy.calls) > 3
    assert projections.case_status.view.dump() == live


def test_long_texts_are_compressed_with_lz4_when_the_server_has_it(
    projections: LedgerProjections,
) -> None:
    view = projections.case_status.view
    assert isinstance(view, PostgresTables)
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(
            "SELECT 'lz4' = ANY(enumvals) AS lz4 FROM pg_settings "
            "WHERE name = 'default_toast_compression'"
        )
        found = curs.fetchone()
        curs.execute(
            "SELECT attname, attcompression FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [f"{view.datastore.schema}.case_status_documents"],
        )
        methods = {row["attname"]: row["attcompression"] for row in curs.fetchall()}
    expected = "l" if found and found["lz4"] else ""
    assert methods == {"case_id": expected, "work": expected, "body": expected}
