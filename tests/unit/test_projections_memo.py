"""The memo that keeps committed rows across pages, and the decoder that feeds the pages."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import Tracking

from adapters.bootstrap import PROJECTIONS, Container
from adapters.views import build_projections
from engine.memo import DEFAULT_CAPACITY, Memo
from engine.page_reader import decoder_of
from engine.rows import Key, Record, Rows, Table
from tests.unit.test_projections_runner import notify
from tests.unit.test_projections_support import APP, THINGS, InMemoryThings, Thing, thing


class CountingThings(InMemoryThings):
    """Counts the rows a batch had to read from the store."""

    loads = 0

    def _data_of(self, table: Table[Any], key: Key) -> Record | None:
        self.loads += 1
        return super()._data_of(table, key)


def grow(view: InMemoryThings, position: int, after: int | None, *names: str) -> None:
    """One page: each named thing grows by one (made when absent)."""
    with view.batch(Tracking(APP, position), after) as rows:
        for name in names:
            found = rows.get(THINGS, name)
            rows.put(THINGS, thing(name, found.size + 1) if found else thing(name))


def sizes(view: InMemoryThings) -> dict[str, int]:
    return {t.name: t.size for t in view.select(THINGS)}


def test_a_rebuild_reads_no_row_from_the_store() -> None:
    view = CountingThings()
    view.clear(APP)  # emptied: every key the memo lacks is absent
    grow(view, 1, None, "a", "b")
    grow(view, 2, 1, "a", "c")
    assert (sizes(view), view.loads) == ({"a": 2, "b": 1, "c": 1}, 0)


def test_a_rebuild_keeps_rows_a_page_made_and_read_back_itself() -> None:
    view = CountingThings()
    view.clear(APP)
    with view.batch(Tracking(APP, 1), None) as rows:
        rows.put(THINGS, thing("a"))  # made without a read (a case's first event) ...
        assert rows.get(THINGS, "a") == thing("a")  # ... and read back in the same page
    grow(view, 2, 1, "a", "b")
    assert (sizes(view), view.loads) == ({"a": 2, "b": 1}, 0)


def test_live_pages_read_a_row_once_then_keep_it() -> None:
    view = CountingThings()
    grow(view, 1, None, "a")  # not emptied by this process: it must look
    grow(view, 2, 1, "a")
    grow(view, 3, 2, "a", "b")
    assert (sizes(view), view.loads) == ({"a": 3, "b": 1}, 2)


def test_rows_another_runner_wrote_are_read_again() -> None:
    ours, theirs = CountingThings(), CountingThings()
    theirs._data = ours._data  # one store, two processes
    theirs._max_tracking_ids = ours._max_tracking_ids
    ours.clear(APP)
    grow(ours, 1, None, "a")
    grow(theirs, 2, 1, "a")  # the position moved past the memo's
    grow(ours, 3, 2, "a")
    assert (sizes(ours), ours.loads) == ({"a": 3}, 1)


def test_a_failed_batch_forgets_the_memo() -> None:
    view = CountingThings()
    view.clear(APP)
    grow(view, 1, None, "a")

    def crash() -> None:
        with view.batch(Tracking(APP, 2), after=1) as rows:
            rows.put(THINGS, thing("a", 9))
            raise RuntimeError("crash mid-batch")

    with pytest.raises(RuntimeError, match="mid-batch"):
        crash()
    grow(view, 2, 1, "a")
    assert (sizes(view), view.loads) == ({"a": 2}, 1)


def test_the_memo_is_bounded_and_reads_evicted_rows_back() -> None:
    view = CountingThings()
    view._memo = Memo(capacity=2)
    view.clear(APP)
    grow(view, 1, None, "a", "b", "c")  # "a" is evicted, but its key is remembered
    assert len(view.memo) == 2
    grow(view, 2, 1, "a", "d")  # "a" is read back; "d" is known absent
    assert (sizes(view), view.loads) == ({"a": 2, "b": 1, "c": 1, "d": 1}, 1)


def test_when_too_many_keys_are_forgotten_misses_are_read() -> None:
    view = CountingThings()
    view._memo = Memo(capacity=1, forgotten=1)
    view.clear(APP)
    grow(view, 1, None, "a", "b", "c")
    grow(view, 2, 1, "d")
    assert (sizes(view), view.loads) == ({"a": 1, "b": 1, "c": 1, "d": 1}, 1)


def test_tables_only_written_are_not_kept() -> None:
    view = CountingThings()
    view.clear(APP)
    with view.batch(Tracking(APP, 1), None) as rows:
        rows.put(THINGS, thing("a"))
    assert len(view.memo) == 0
    grow(view, 2, 1, "a")  # never read before: the store is asked
    assert (sizes(view), view.loads) == ({"a": 2}, 1)


def test_the_library_contract_bypasses_the_memo() -> None:
    view = CountingThings()
    view.clear(APP)
    grow(view, 1, None, "a")
    with view.batch(Tracking(APP, 2), strict=False) as rows:
        found = rows.get(THINGS, "a")
        assert isinstance(found, Thing)
        rows.put(THINGS, thing("a", found.size + 1))
    grow(view, 3, 2, "a")
    assert (sizes(view), view.loads) == ({"a": 3}, 2)


def test_rows_without_a_memo_read_the_store() -> None:
    stored: dict[Key, Record] = {("a",): THINGS.encode(thing("a"))}
    rows = Rows(lambda table, key: stored.get(key))
    assert rows.get(THINGS, "a") == thing("a")
    assert rows.get(THINGS, "b") is None


def test_the_decoder_gives_the_mappers_events(memory_container: Container) -> None:
    for n in range(3):
        notify(memory_container, f"MR-D{n}")
    ledger = memory_container.ledger
    decode = decoder_of(ledger)
    stored = ledger.recorder.select_notifications(start=None, limit=1000)
    assert len(stored) > 10
    for notification in stored:
        ours, theirs = decode(notification), ledger.mapper.to_domain_event(notification)
        assert (type(ours), ours.__dict__) == (type(theirs), theirs.__dict__)


def test_a_long_backlog_read_ahead_gives_the_rows_of_small_pages(
    memory_container: Container,
) -> None:
    for n in range(4):
        notify(memory_container, f"MR-A{n}")
    paged = build_projections(memory_container.settings, memory_container.ledger, PROJECTIONS)
    one_by_one = build_projections(memory_container.settings, memory_container.ledger, PROJECTIONS)
    assert paged.catch_up(batch=3) == one_by_one.catch_up(batch=1000) > 3
    for name, projection in paged.all().items():
        assert projection.view.dump() == one_by_one.get(name).view.dump()


def test_a_rebuild_holds_more_rows_and_gives_them_back(memory_container: Container) -> None:
    for n in range(3):
        notify(memory_container, f"MR-R{n}")
    projections = build_projections(memory_container.settings, memory_container.ledger, PROJECTIONS)
    memo = projections.case_status_view.memo
    memo.resize(1)  # a live process bounded tighter than the rows of one case
    projections.catch_up()
    assert len(memo) == 1
    assert projections.rebuild("case_status") > 3
    assert (memo.capacity, len(memo)) == (DEFAULT_CAPACITY, len(memo))
    assert 1 < len(memo) <= DEFAULT_CAPACITY  # the rebuild kept what its pages read
