"""A view whose tables an earlier version made with other columns (a column added, one gone,
a table new) is emptied with its position when the new version opens it, so the worker
rebuilds it from the event log instead of failing on the old table (SQLite and PostgreSQL);
a view whose tables match keeps its rows and position."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from engine.parked import ParkedRow
from engine.postgres_views import PostgresTables
from engine.rows import Table, TableChanges
from engine.sqlite_views import SQLiteTables
from engine.view import TableView
from tests.pg import postgres_settings


@dataclass(frozen=True)
class Before:
    key: str
    count: int


@dataclass(frozen=True)
class After:
    key: str
    count: int
    note: str | None  # the column the new version added


@dataclass(frozen=True)
class Extra:
    key: str


OLD = (Table("items", Before, ("key",)),)
NEW = (Table("items", After, ("key",)),)
GROWN = (Table("items", Before, ("key",)), Table("extras", Extra, ("key",)))

Opener = Callable[[tuple[Table[Any], ...]], TableView]


def sqlite_opener(path: Path) -> Iterator[Opener]:
    opened: list[SQLiteDatastore] = []

    def open_view(tables: tuple[Table[Any], ...]) -> TableView:
        datastore = SQLiteDatastore(str(path / "reshape.sqlite"))
        opened.append(datastore)
        view = type("ReshapeView", (SQLiteTables,), {"name": "reshape", "tables": tables})
        made: TableView = view(datastore)
        return made

    yield open_view
    for datastore in opened:
        datastore.close()


def postgres_opener() -> Iterator[Opener]:
    pg = postgres_settings("reshape").postgres
    opened: list[PostgresDatastore] = []

    def open_view(tables: tuple[Table[Any], ...]) -> TableView:
        datastore = PostgresDatastore(
            pg.dbname, pg.host, pg.port, pg.user, pg.password, schema=pg.schema, pool_size=2
        )
        opened.append(datastore)
        view = type("ReshapeView", (PostgresTables,), {"name": "reshape", "tables": tables})
        made: TableView = view(datastore)
        return made

    yield open_view
    for datastore in opened:
        datastore.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_view(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    if request.param == "sqlite":
        yield from sqlite_opener(tmp_path)
    else:
        yield from postgres_opener()


def fill(view: TableView, table: Table[Any], rows: list[Any], parked: bool = False) -> None:
    view.write([TableChanges(table, [table.values(r) for r in rows])], Tracking("app", 7), None)
    if parked:
        row = ParkedRow(
            "app", 8, "Event", "x", 1, "ValueError", "boom", "", 1, "parked", None, None
        )
        view.park(row, Tracking("app", 8), 7)


def test_a_changed_table_empties_the_view_and_its_position(
    open_view: Opener, caplog: pytest.LogCaptureFixture
) -> None:
    old = open_view(OLD)
    fill(old, OLD[0], [Before("a", 1), Before("b", 2)], parked=True)
    assert old.max_tracking_id("app") == 8
    with caplog.at_level(logging.WARNING):
        new = open_view(NEW)
    assert new.max_tracking_id("app") is None  # the worker starts again from the first event
    assert new.select(NEW[0]) == []
    assert new.parked("app") == []  # parked again by the replay if it still fails
    assert "view reshape: table(s) items were made by an earlier version" in caplog.text
    fill(new, NEW[0], [After("a", 1, "now with a note")])
    assert new.select(NEW[0]) == [After("a", 1, "now with a note")]


def test_a_table_added_to_a_view_empties_it(open_view: Opener) -> None:
    old = open_view(OLD)
    fill(old, OLD[0], [Before("a", 1)])
    grown = open_view(GROWN)
    assert grown.max_tracking_id("app") is None
    assert grown.select(GROWN[0]) == []


def test_a_view_whose_tables_match_keeps_its_rows_and_position(
    open_view: Opener, caplog: pytest.LogCaptureFixture
) -> None:
    first = open_view(NEW)
    fill(first, NEW[0], [After("a", 1, None)], parked=True)
    with caplog.at_level(logging.WARNING):
        again = open_view(NEW)
    assert again.max_tracking_id("app") == 8
    assert again.select(NEW[0]) == [After("a", 1, None)]
    assert [p.position for p in again.parked("app")] == [8]
    assert "earlier version" not in caplog.text
