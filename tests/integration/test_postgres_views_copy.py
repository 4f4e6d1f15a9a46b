"""Big pages reach PostgreSQL by binary COPY (a staging table and one merge, or straight into
an append-only table): every column kind, NULLs and awkward text come back as written, and
rows written again are updated, exactly as the small pages' executemany writes them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore

from engine.postgres_views import COPY_FROM, PostgresTables
from engine.rows import Table, TableChanges
from tests.pg import postgres_settings

pytestmark = pytest.mark.postgres


@dataclass(frozen=True)
class Kinds:
    key: str
    number: int
    ratio: float
    flag: bool
    items: tuple[str, ...]
    text: str | None
    count: int | None
    share: float | None
    known: bool | None


@dataclass(frozen=True)
class Entry:
    stream: str
    version: int
    what: str


KINDS_TABLE = Table("kinds", Kinds, ("key",))
ENTRIES = Table("entries", Entry, ("stream", "version"))
AWKWARD = "tab\there, new\nline, back\\slash, \\N, quote ' \" and 中文 ✓ " + "x" * 5000


class KindsView(PostgresTables):
    name = "copytest"
    tables = (KINDS_TABLE, ENTRIES)


@pytest.fixture
def view() -> Iterator[KindsView]:
    pg = postgres_settings("copytest").postgres
    datastore = PostgresDatastore(
        pg.dbname, pg.host, pg.port, pg.user, pg.password, schema=pg.schema, pool_size=2
    )
    yield KindsView(datastore)
    datastore.close()


def kinds(n: int, version: int) -> Kinds:
    some = n % 2 == 0
    return Kinds(
        key=f"k{n:04d}",
        number=n * 10**12 + version,  # beyond 32 bits
        ratio=n / 7 + version,
        flag=some,
        items=(f"item {n}", AWKWARD[:20]) if some else (),
        text=f"{AWKWARD} {n} v{version}" if some else None,
        count=-n if some else None,
        share=0.5 if some else None,
        known=(n % 3 == 0) if some else None,
    )


def write(view: KindsView, rows: list[Kinds], entries: list[Entry], after: int | None) -> int:
    position = (after or 0) + 1
    changes = [
        TableChanges(KINDS_TABLE, [KINDS_TABLE.values(r) for r in rows]),
        TableChanges(ENTRIES, [ENTRIES.values(e) for e in entries]),
    ]
    view.write(changes, Tracking("app", position), after)
    return position


@pytest.mark.parametrize("size", [COPY_FROM + 1, COPY_FROM // 2])  # COPY; executemany
def test_rows_come_back_as_written_and_are_updated_when_written_again(
    view: KindsView, size: int
) -> None:
    first = [kinds(n, 1) for n in range(size)]
    entries = [Entry(f"s{n}", 1, AWKWARD if n == 0 else f"e{n}") for n in range(size)]
    after = write(view, first, entries, None)
    assert view.select(KINDS_TABLE, order_by=("key",)) == first
    assert view.select(ENTRIES, order_by=("stream", "version")) == sorted(
        entries, key=lambda e: (e.stream, e.version)
    )
    again = [kinds(n, 2) for n in range(0, size, 2)] + [kinds(n, 3) for n in range(size, 2 * size)]
    write(view, again, [], after)
    expected = {r.key: r for r in first} | {r.key: r for r in again}
    assert view.select(KINDS_TABLE, order_by=("key",)) == [expected[k] for k in sorted(expected)]
