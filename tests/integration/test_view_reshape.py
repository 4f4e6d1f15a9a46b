"""A view whose tables another version made (a column added, one gone, a table new, a
column's kind, or the view's revision bumped because its rows now mean something else) is
emptied with its position when the new version opens it, so the worker rebuilds it from the
event log instead of failing on, or trusting, the old tables (SQLite and PostgreSQL); a view
of the same shape keeps its rows and position. A store from before shapes were recorded is
judged by its columns."""

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


@dataclass(frozen=True)
class Retyped:
    key: str
    count: str  # was an int


OLD = (Table("items", Before, ("key",)),)

NEW = (Table("items", After, ("key",)),)
GROWN = (Table("items", Before, ("key",)), Table("extras", Extra, ("key",)))
RETYPED = (Table("items", Retyped, ("key",)),)

Opener = Callable[..., TableView]


def sqlite_opener(path: Path) -> Iterator[Opener]:
    opened: list[SQLiteDatastore] = []

    def open_view(tables: tuple[Table[Any], ...], revision: int = 1) -> TableView:
        datastore = SQLiteDatastore(str(path / "reshape.sqlite"))
        opened.append(datastore)
        attributes = {"name": "reshape", "tables": tables, "revision": revision}
        view = type("ReshapeView", (SQLiteTables,), attributes)
        made: TableView = view(datastore)
        return made

    yield open_view
    for datastore in opened:
        datastore.close()


def postgres_opener() -> Iterator[Opener]:
    pg = postgres_settings("reshape").postgres
    opened: list[PostgresDatastore] = []

    def open_view(tables: tuple[Table[Any], ...], revision: int = 1) -> TableView:
        datastore = PostgresDatastore(
            pg.dbname, pg.host, pg.port, pg.user, pg.password, schema=pg.schema, pool_size=2
        )
        opened.append(datastore)
        attributes = {"name": "reshape", "tables": tables, "revision": revision}
        view = type("ReshapeView", (PostgresTables,), attributes)
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
    assert "view reshape: made by another version of the view; emptied" in caplog.text
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


@pytest.mark.parametrize(
    ("before", "after", "revision"),
    [(NEW, NEW, 2), (OLD, RETYPED, 1)],
    ids=["revision bumped", "a column's kind changed"],
)
def test_same_columns_of_another_shape_empty_the_view(
    open_view: Opener, before: tuple[Table[Any], ...], after: tuple[Table[Any], ...], revision: int
) -> None:
    old = open_view(before)
    row = After("a", 1, None) if before is NEW else Before("a", 1)
    fill(old, before[0], [row])
    new = open_view(after, revision)
    assert new.max_tracking_id("app") is None
    assert new.select(after[0]) == []
    again = open_view(after, revision)  # the new shape is recorded: opened again, kept
    fill(again, after[0], [Retyped("b", "2")] if after is RETYPED else [After("b", 2, None)])
    assert open_view(after, revision).max_tracking_id("app") == 7


def forget_shape(view: TableView) -> None:
    """As a store made before shapes were recorded."""
    datastore: Any = view.datastore  # type: ignore[attr-defined]
    if isinstance(view, SQLiteTables):
        name = '"shape"'
    else:
        name = f'"{datastore.schema}"."{view.name}_shape"'
    with datastore.transaction(commit=True) as c:
        c.execute(f"DROP TABLE {name}")


def test_a_store_from_before_shapes_is_judged_by_its_columns(
    open_view: Opener, caplog: pytest.LogCaptureFixture
) -> None:
    first = open_view(OLD)
    fill(first, OLD[0], [Before("a", 1)])
    forget_shape(first)
    kept = open_view(OLD)  # the same columns: kept, and its shape recorded from now on
    assert kept.max_tracking_id("app") == 7
    assert kept.select(OLD[0]) == [Before("a", 1)]
    forget_shape(kept)
    with caplog.at_level(logging.WARNING):
        changed = open_view(NEW)
    assert changed.max_tracking_id("app") is None
    assert "table(s) items made by an earlier version" in caplog.text
