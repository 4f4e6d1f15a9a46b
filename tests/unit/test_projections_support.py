"""The table machinery under the projections (rows, unit of work, in-memory batches), and the
event builders the other projection tests share."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Tracking

from domain.births.birth_case import BirthCase
from domain.kernel.disclosure import DispatchPayload
from domain.kernel.results import Result
from domain.kernel.routing import PlannedService, Route
from domain.kernel.service_request import ServiceRequest
from engine.memory import InMemoryTables
from engine.rows import Key, PositionMovedError, Record, Rows, Table
from engine.view import TableProjection
from projections.case_status import CaseStatusProjection, InMemoryCaseStatus
from projections.flows import FlowsProjection, InMemoryFlows
from projections.locality_stats import InMemoryLocalityStats, LocalityStatsProjection
from projections.office_queue import InMemoryOfficeQueue, OfficeQueueProjection
from tests.conftest import make_facts

APP = "CaseLedger"
MONDAY = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 2 March 2026, 09:00 China time


def at(days: float = 0, hours: float = 0) -> datetime:
    return MONDAY + timedelta(days=days, hours=hours)


def route(
    service: str, authority: str, handling: str, receiving: str, mode: str | None = "online"
) -> Route:
    planned = PlannedService(
        service=service,
        authority=authority,
        handling_locality=handling,
        receiving_locality=receiving,
        mode=mode,
        depends_on=(),
        time_limit_days=5,
        manual_routing=mode is None,
        route_note="",
    )
    return Route(planned, "test-catalog", "test-alliance")


HUKOU = route("household-registration", "public-security", "420102", "430602", "off-site")
VACCINATION = route("vaccination", "cdc", "430602", "430602")


def new_case(record_ref: str = "MR-0001", **changes: object) -> BirthCase:
    facts = make_facts(record_ref, **changes)
    return BirthCase(facts.facility_uscc, record_ref, f"TC{record_ref}", f"m-{record_ref}", facts)


def new_request(case: BirthCase, route_: Route) -> ServiceRequest:
    return ServiceRequest(case.id, route_.service, route_)


class Story:
    """Feeds aggregate events to projections as the CaseLedger's log would: in order, with
    notification ids, at the times the test chooses (event timestamps are the only clock)."""

    def __init__(self, *projections: TableProjection[Any]) -> None:
        self.projections = projections
        self.fed: list[tuple[Any, int]] = []  # (event, notification id), as fed

    def feed(self, *aggregates: Aggregate, when: datetime = MONDAY) -> None:
        events = [
            replace(cast(Any, e), timestamp=when) for a in aggregates for e in a.collect_events()
        ]
        pairs = [(event, len(self.fed) + n) for n, event in enumerate(events, 1)]
        self.fed += pairs
        for projection in self.projections:
            after = projection.view.max_tracking_id(APP)
            projection.process_batch(pairs, Tracking(APP, len(self.fed)), after)


def all_projections() -> tuple[
    CaseStatusProjection, OfficeQueueProjection, LocalityStatsProjection, FlowsProjection
]:
    return (
        CaseStatusProjection(InMemoryCaseStatus()),
        OfficeQueueProjection(InMemoryOfficeQueue()),
        LocalityStatsProjection(InMemoryLocalityStats()),
        FlowsProjection(InMemoryFlows()),
    )


def a_full_story(
    story: Story, *, rate: bool = True
) -> tuple[BirthCase, ServiceRequest, ServiceRequest]:
    """One case: planned, two requests decided (one after a supplement), completed, rated
    (unless not `rate`)."""
    case = new_case(child_name="张小明")
    hukou, vaccination = new_request(case, HUKOU), new_request(case, VACCINATION)
    case.plan(["household-registration", "vaccination"], "c1", "a1")
    story.feed(case, hukou, vaccination)
    hukou.dispatch(DispatchPayload())
    vaccination.dispatch(DispatchPayload())
    story.feed(hukou, vaccination, when=at(hours=1))
    hukou.receive("o", "R-1", "2026-03-09", False)
    vaccination.receive("o", "R-2", "2026-03-30", False)
    story.feed(hukou, vaccination, when=at(hours=2))
    hukou.request_supplement("o", ["residence permit", "commitment letter"])
    story.feed(hukou, when=at(days=1))
    hukou.supplement(["residence permit", "commitment letter"], "2026-12-04", False)
    hukou.approve("o", Result("citizen_id", "x"))
    vaccination.approve("o", Result("vaccination_record_number", "VR-1"))
    story.feed(hukou, vaccination, when=at(days=4, hours=2))
    case.complete()
    if rate:
        case.rate(2, "slow")
    story.feed(case, when=at(days=5))
    return case, hukou, vaccination


# --- the machinery itself ---------------------------------------------------------------


@dataclass(frozen=True)
class Thing:
    name: str
    size: int
    ratio: float
    ok: bool
    tags: tuple[str, ...]
    note: str | None


THINGS = Table("things", Thing, ("name",))


class InMemoryThings(InMemoryTables):
    name = "things"
    tables = (THINGS,)


def thing(name: str, size: int = 1) -> Thing:
    return Thing(name, size, 0.5, True, ("a", "乙"), None)


def test_columns_follow_the_row_dataclass() -> None:
    kinds = [(c.name, c.kind, c.nullable) for c in THINGS.columns]
    assert kinds == [
        ("name", "text", False),
        ("size", "int", False),
        ("ratio", "real", False),
        ("ok", "bool", False),
        ("tags", "json", False),
        ("note", "text", True),
    ]
    record = THINGS.encode(thing("x"))
    assert record["tags"] == '["a", "乙"]'
    assert THINGS.decode({**record, "ok": 1}) == thing("x")  # SQLite hands bools back as 0/1


def test_a_batch_reads_its_own_writes_and_writes_each_changed_row_once() -> None:
    stored: dict[Key, Record] = {
        ("a",): THINGS.encode(thing("a")),
        ("b",): THINGS.encode(thing("b")),
    }
    rows = Rows(lambda table, key: stored.get(key))
    assert rows.get(THINGS, "a") == thing("a")
    rows.put(THINGS, thing("a", 2))
    rows.put(THINGS, thing("a", 3))
    assert rows.get(THINGS, "a") == thing("a", 3)
    assert rows.get(THINGS, "b") == thing("b")  # read, unchanged: not written
    rows.delete(THINGS, "c")
    rows.put(THINGS, thing("c"))  # deleted, then made again: one upsert
    (change,) = rows.changes()
    assert [r["size"] for r in change.upserts] == [3, 1]
    assert change.deletes == []


def test_a_failed_batch_writes_nothing_and_keeps_the_position() -> None:
    view = InMemoryThings()
    with view.batch(Tracking(APP, 1)) as rows:
        rows.put(THINGS, thing("a"))

    def crash() -> None:
        with view.batch(Tracking(APP, 2), after=1) as rows:
            rows.put(THINGS, thing("b"))
            raise RuntimeError("crash mid-batch")

    with pytest.raises(RuntimeError, match="mid-batch"):
        crash()
    assert [t.name for t in view.select(THINGS)] == ["a"]
    assert view.max_tracking_id(APP) == 1


def test_a_page_read_before_another_runner_moved_on_is_refused() -> None:
    view = InMemoryThings()
    with view.batch(Tracking(APP, 5)) as rows:
        rows.put(THINGS, thing("a"))
    with pytest.raises(PositionMovedError), view.batch(Tracking(APP, 5), after=None):
        pass
    assert view.count(THINGS) == 1


def test_select_filters_orders_and_pages() -> None:
    view = InMemoryThings()
    with view.batch(Tracking(APP, 1)) as rows:
        for name, size in [("c", 1), ("a", 2), ("b", 1)]:
            rows.put(THINGS, thing(name, size))
    ordered = view.select(THINGS, {"size": 1}, order_by=("name",))
    assert [t.name for t in ordered] == ["b", "c"]
    assert [t.name for t in view.select(THINGS, order_by=("name",), limit=1, offset=1)] == ["b"]
    by_key = view.select(THINGS, order_by=("size", "name"), limit=2, after=(1, "b"))
    assert [t.name for t in by_key] == ["c", "a"]  # the page after (size 1, "b"), by key
    # a shorter key compares the leading columns only, as SQL's row values do
    assert [t.name for t in view.select(THINGS, order_by=("size", "name"), after=(1,))] == ["a"]
    with pytest.raises(ValueError, match="2 values for 1 order_by"):
        view.select(THINGS, order_by=("name",), after=(1, "b"))
    assert view.count(THINGS, {"size": 1}) == 2
    view.clear(APP)
    assert (view.count(THINGS), view.max_tracking_id(APP)) == (0, None)


def test_the_page_size_never_changes_the_rows() -> None:
    one_page_each: list[TableProjection[Any]] = list(all_projections())
    one_event_each: list[TableProjection[Any]] = list(all_projections())
    story = Story(*one_page_each)
    a_full_story(story)
    for event, position in story.fed:
        for projection in one_event_each:
            after = projection.view.max_tracking_id(APP)
            projection.process_batch([(event, position)], Tracking(APP, position), after)
    for paged, single in zip(one_page_each, one_event_each, strict=True):
        assert paged.view.dump() == single.view.dump()
        assert paged.view.max_tracking_id(APP) == single.view.max_tracking_id(APP)


def test_the_library_contract_one_event_one_transaction_works_too() -> None:
    projection = CaseStatusProjection(InMemoryCaseStatus())
    case = new_case()
    (notified,) = case.collect_events()
    projection.process_event(notified, Tracking(APP, 7))
    assert projection.view.max_tracking_id(APP) == 7
    assert projection.view.by_case_id(case.id) is not None


@dataclass(frozen=True)
class Mixed:
    key: str
    count: int
    ratio: float
    flag: bool
    items: tuple[str, ...]
    note: str | None
    share: float | None


@dataclass(frozen=True)
class Checked(Mixed):
    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError("count must not be negative")


MIXED = Table("mixed", Mixed, ("key",))
CHECKED = Table("checked", Checked, ("key",))


@pytest.mark.parametrize(
    "record",
    [
        # as PostgreSQL returns it: every value of its own type, columns in order
        {"key": "a", "count": 2, "ratio": 0.5, "flag": True, "items": '["x", "y"]',
         "note": None, "share": 1.5},
        # as SQLite may: booleans as 0/1, whole reals as ints; other order, an extra column
        {"share": 1, "note": None, "items": '["x", "y"]', "flag": 1, "ratio": 0.5,
         "count": 2, "key": "a", "other": "ignored"},
        # as a family document's `work` keeps a row: tuples as the JSON lists they became
        {"key": "a", "count": 2, "ratio": 0.5, "flag": True, "items": ["x", "y"],
         "note": None, "share": 1.5},
    ],
)  # fmt: skip
def test_decode_gives_the_row_init_gives(record: dict[str, object]) -> None:
    expected = Mixed("a", 2, 0.5, True, ("x", "y"), None, float(record["share"]))  # type: ignore[arg-type]
    before = {k: (list(v) if isinstance(v, list) else v) for k, v in record.items()}
    row = MIXED.decode(record)
    assert row == expected
    assert vars(row) == vars(expected)  # same fields, types and order
    assert (type(row.flag), type(row.share), type(row.items)) == (bool, float, tuple)
    assert MIXED.decode(MIXED.encode(row)) == row
    assert record == before  # the record itself is left as it was


def test_decode_runs_post_init_when_the_row_type_has_one() -> None:
    record = MIXED.encode(Mixed("a", 2, 0.5, True, (), None, None))
    assert CHECKED.decode(record) == Checked("a", 2, 0.5, True, (), None, None)
    with pytest.raises(ValueError, match="negative"):
        CHECKED.decode({**record, "count": -1})
