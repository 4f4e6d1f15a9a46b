"""case_status rebuilt in parts, one process each (engine/partitioned_rebuild.py): the same
rows as a rebuild in one process; the view is busy for a plain catch-up until every part has
reached the head; an interrupted rebuild stays busy until it is run again, which starts over."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError, Tracking

from adapters.bootstrap import PROJECTIONS, Container, build
from adapters.partitioned_rebuild import (
    PartStoppedError,
    part_name,
    partitioned_view,
    rebuild_in_parts,
    run_part,
)
from adapters.settings import ConfigError, Settings
from adapters.views import LedgerProjections, build_projections
from engine.page_reader import shared_page_after
from engine.part_processes import Parts
from engine.postgres_views import PostgresTables
from engine.rows import ViewBusyError
from projections.case_document import SEALED
from tests.integration.test_case_document import KEY
from tests.integration.test_projections import (
    dumps,
    full_case,
    reference,
    store_settings,
    troubled_case,
    voided_case,
)
from tests.pg import postgres_settings

pytestmark = pytest.mark.postgres
CASE_STATUS = "case_status"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return store_settings("postgres", tmp_path)


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    """Eight cases of three kinds (a case's part is its id modulo the parts: 2 and 3 parts
    both get cases of every kind in some part), every projection caught up live."""
    built = build(settings)
    for n in range(3):
        full_case(built, f"MR-P{n}")
        troubled_case(built, f"MR-T{n}")
    for n in range(2):
        voided_case(built, f"MR-V{n}")
    yield built
    built.close()


def case_status_rows(projections: LedgerProjections) -> object:
    return dumps(projections)[CASE_STATUS]


def view_of(projections: LedgerProjections) -> PostgresTables:
    return partitioned_view(projections, CASE_STATUS)


@pytest.mark.parametrize("parts", [2, 3])
def test_the_parts_write_the_rows_of_a_rebuild_in_one_process(
    settings: Settings, container: Container, projections: LedgerProjections, parts: int
) -> None:
    projections.catch_up()
    expected = case_status_rows(reference(container))
    assert case_status_rows(projections) == expected
    head = container.ledger.recorder.max_notification_id()
    seen: list[tuple[int, int]] = []
    done = rebuild_in_parts(
        settings, projections, CASE_STATUS, parts, lambda p, h: seen.append((p, h)), batch=5
    )
    assert done.finished
    assert done.head == head
    assert [p.part for p in done.parts] == list(range(parts))
    assert all(p.applied > 0 for p in done.parts)  # every part had cases of its own
    assert case_status_rows(projections) == expected
    view = view_of(projections)
    assert view.max_tracking_id(container.ledger.name) == head
    assert view.parts(container.ledger.name) == {}
    assert all(h == head for _, h in seen)
    # the applied events are those of a rebuild in one process, each applied once
    assert done.applied == projections.rebuild(CASE_STATUS, batch=5)
    assert case_status_rows(projections) == expected


def test_a_worker_catching_up_meanwhile_neither_stops_the_parts_nor_writes(
    settings: Settings, container: Container, projections: LedgerProjections
) -> None:
    """The worker's rounds take the view's lock alone for a moment, find it busy and let go;
    the parts wait for the lock (shared) instead of giving up their pages."""
    projections.catch_up()
    expected = case_status_rows(reference(container))
    stop, rounds = threading.Event(), [0]

    def worker() -> None:
        other = build_projections(settings, container.ledger, PROJECTIONS)
        try:
            while not stop.is_set():
                rounds[0] += 1
                assert other.catch_up(CASE_STATUS) == 0
        finally:
            other.close()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        done = rebuild_in_parts(settings, projections, CASE_STATUS, 2, batch=2)
    finally:
        stop.set()
        thread.join()
    assert done.finished
    assert rounds[0] > 10
    assert case_status_rows(projections) == expected


def test_while_the_parts_run_a_plain_catch_up_leaves_the_view_alone(
    container: Container, projections: LedgerProjections
) -> None:
    projections.catch_up()
    view, name = view_of(projections), container.ledger.name
    names = [part_name(name, "run1", k, 2) for k in range(2)]
    view.clear(name, names)
    assert view.parts(name) == {f"{name}#run1:0/2": 0, f"{name}#run1:1/2": 0}
    assert projections.catch_up(CASE_STATUS) == 0  # the worker's round: busy, skipped
    assert projections.catch_up() == 0  # the four together: the other three are current
    assert view.dump() == {t.name: [] for t in view.tables}
    assert view.max_tracking_id(name) is None
    # a rebuild in one process ends the rebuild in parts (its positions go with the rows)
    projections.rebuild(CASE_STATUS)
    assert view.parts(name) == {}
    assert case_status_rows(projections) == case_status_rows(reference(container))


def test_a_rebuild_in_parts_holds_off_its_own_process_catch_ups(
    settings: Settings,
    container: Container,
    projections: LedgerProjections,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the parts run, this process's projections lock is held: a catch-up thread of the
    same process (an embedded worker's tick) waits instead of finding its own memo changed."""
    projections.catch_up()
    held: list[bool] = []
    wait = Parts.wait

    def watching(parts: Parts[Any], *args: Any) -> list[Any]:
        held.append(projections._lock.locked())
        return wait(parts, *args)

    monkeypatch.setattr(Parts, "wait", watching)
    assert rebuild_in_parts(settings, projections, CASE_STATUS, 2).finished
    assert held == [True]
    with projections.exclusively():  # released again: a catch-up may take it
        pass


def test_a_busy_view_is_left_before_any_page_is_read(
    container: Container, projections: LedgerProjections, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the parts run (or after they were interrupted), the worker's rounds do not read
    the log from its start to find out, and one event at a time is refused as well."""
    projections.catch_up()
    view, name = view_of(projections), container.ledger.name
    view.clear(name, [part_name(name, "run1", k, 2) for k in range(2)])
    with pytest.raises(ViewBusyError, match="rebuilt in parts"):
        view.require_free(name)
    view.require_free(part_name(name, "run1", 0, 2))  # a part is not kept off its view
    reads: list[int | None] = []

    def shared(*args: Any) -> Any:
        reads.append(args[2])  # the position the shared read starts after
        return shared_page_after(*args)

    monkeypatch.setattr("engine.projection_runner.shared_page_after", shared)
    monkeypatch.setattr(
        "engine.projection_runner.pages", lambda *a: pytest.fail("read a page of a busy view")
    )
    assert projections.catch_up(CASE_STATUS) == 0
    head = container.ledger.recorder.max_notification_id()
    assert projections.catch_up() == 0  # the other three, current: one read, after the head
    assert reads == [head]
    full_case(container, "MR-AFTER")  # new events: the other three read them, from the head
    reads.clear()
    assert projections.catch_up() > 0
    assert reads[0] == head
    event = container.ledger.recorder.select_notifications(1, 1)[0]
    with pytest.raises(ViewBusyError, match="rebuilt in parts"):
        projections.case_status.process_event(
            container.ledger.mapper.to_domain_event(event), Tracking(name, event.id)
        )
    assert view.dump() == {t.name: [] for t in view.tables}
    assert view.max_tracking_id(name) is None


def test_an_interrupted_rebuild_stays_busy_and_the_next_one_starts_over(
    settings: Settings, container: Container, projections: LedgerProjections
) -> None:
    projections.catch_up()
    expected = case_status_rows(reference(container))
    view, name = view_of(projections), container.ledger.name
    names = [part_name(name, "run1", k, 2) for k in range(2)]
    view.clear(name, names)
    head = container.ledger.recorder.max_notification_id() or 0
    # part 1 never runs
    done = run_part(settings, PROJECTIONS, CASE_STATUS, names[0], 0, 2, head, batch=5)
    assert done.finished
    assert done.applied > 0
    assert view.parts(name) == {names[0]: head, names[1]: 0}
    with pytest.raises(ViewBusyError):
        view.finish_parts(name, names, head)  # part 1 is behind: the view keeps no position
    with pytest.raises(ViewBusyError):
        view.finish_parts(name, names[:1], head)  # and the run had two parts, not one
    assert projections.catch_up(CASE_STATUS) == 0
    # the bench's time box: both parts stop after their first page, nothing is finished
    stopped = rebuild_in_parts(settings, projections, CASE_STATUS, 2, batch=5, stop_after_s=0)
    assert not stopped.finished
    first_page = stopped.parts[0].position  # where the first 5 notifications lead
    assert 0 < first_page < head
    assert sorted(view.parts(name).values()) == [first_page, first_page]
    assert view.max_tracking_id(name) is None
    # the cases of that page got their documents: the time box ends a part, as its head would
    assert {r["case_id"] for r in view.dump()["documents"]} == {
        r["case_id"] for r in view.dump()["cases"]
    }
    # run again, with another number of parts: from the empty view
    again = rebuild_in_parts(settings, projections, CASE_STATUS, 3, batch=4)
    assert again.finished
    assert case_status_rows(projections) == expected
    assert view.parts(name) == {}


def test_a_part_of_another_run_or_started_twice_refuses_to_run(
    settings: Settings, container: Container, projections: LedgerProjections
) -> None:
    projections.catch_up()
    view, name = view_of(projections), container.ledger.name
    names = [part_name(name, "run1", k, 2) for k in range(2)]
    view.clear(name, names)
    head = container.ledger.recorder.max_notification_id() or 0
    run_part(settings, PROJECTIONS, CASE_STATUS, names[1], 1, 2, head, batch=50)
    with pytest.raises(PartStoppedError, match="not at the start"):
        run_part(settings, PROJECTIONS, CASE_STATUS, names[1], 1, 2, head)
    view.clear(name, [part_name(name, "run2", k, 2) for k in range(2)])  # another run began
    with pytest.raises(PartStoppedError, match="not at the start"):
        run_part(settings, PROJECTIONS, CASE_STATUS, names[0], 0, 2, head)


def test_a_failing_part_fails_the_rebuild_and_leaves_the_view_busy(
    settings: Settings, container: Container, projections: LedgerProjections
) -> None:
    projections.catch_up()
    view, name = view_of(projections), container.ledger.name
    elsewhere = settings.with_changes(postgres=replace(settings.postgres, dbname="no_such_db"))
    with pytest.raises(OperationalError, match="connection"):  # the parts reach no store
        rebuild_in_parts(elsewhere, projections, CASE_STATUS, 2)
    assert sorted(view.parts(name).values()) == [0, 0]
    assert projections.catch_up(CASE_STATUS) == 0
    assert view.max_tracking_id(name) is None


def test_with_a_key_the_parts_seal_the_documents_as_one_process_does() -> None:
    sealed = postgres_settings("parts_sealed").with_changes(cipher_key=KEY)
    keyed = build(sealed)
    try:
        full_case(keyed, "MR-S0")
        troubled_case(keyed, "MR-S1")
        projections = keyed.projections
        projections.rebuild(CASE_STATUS)
        one = documents_of(projections)
        assert len(one) == 2
        done = rebuild_in_parts(sealed, projections, CASE_STATUS, 2, batch=5)
        assert done.finished
        rows = projections.case_status.view.dump()["documents"]
        assert all(str(r["body"]).startswith(SEALED) for r in rows)
        assert documents_of(projections) == one
    finally:
        keyed.close()


def documents_of(projections: LedgerProjections) -> dict[str, bytes | None]:
    """Each case's family document, opened with the view's key."""
    view = projections.case_status.view
    return {str(r["case_id"]): view.document(str(r["case_id"])) for r in view.dump()["cases"]}


def test_only_a_per_case_view_on_postgresql_is_rebuilt_in_parts(
    settings: Settings, container: Container, projections: LedgerProjections, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="not per case"):
        rebuild_in_parts(settings, projections, "office_queue", 2)
    with pytest.raises(ConfigError, match="at least 2"):
        rebuild_in_parts(settings, projections, CASE_STATUS, 1)
    on_sqlite = Settings(persistence="sqlite", sqlite_dir=str(tmp_path / "var"))
    lite = build(on_sqlite)
    try:
        lite_projections = build_projections(on_sqlite, lite.ledger, PROJECTIONS)
        with pytest.raises(ConfigError, match="needs PostgreSQL"):
            rebuild_in_parts(on_sqlite, lite_projections, CASE_STATUS, 2)
        lite_projections.close()
    finally:
        lite.close()


@pytest.mark.postgres
def test_a_part_that_meets_an_event_that_fails_stops_the_rebuild_with_its_remedy() -> None:
    """A part does not park (a one-process rebuild does): it stops, and the rebuild fails
    with a message saying what to run. It hung before: the part's PageFailedError could not
    be unpickled in the parent, which then waited for ever."""
    from tests.integration.test_poison_events import LONG_KEY, record_birth

    settings = replace(postgres_settings("parts_poison"), embedded_worker=False)
    container = build(settings)
    try:
        record_birth(container, "MR-PARTS-1")
        record_birth(container, LONG_KEY)  # a key PostgreSQL cannot index
        _, code = record_birth(container, "MR-PARTS-2")
        container.tick()
        outcome: list[BaseException | object] = []

        def rebuild() -> None:
            try:
                outcome.append(rebuild_in_parts(settings, container.projections, "case_status", 2))
            except BaseException as error:
                outcome.append(error)

        runner = threading.Thread(target=rebuild, daemon=True)
        runner.start()
        runner.join(timeout=120)
        assert not runner.is_alive(), "the rebuild in parts hung"
        (stopped,) = outcome
        assert isinstance(stopped, PartStoppedError)
        assert "projections rebuild case_status" in str(stopped)
        assert LONG_KEY not in str(stopped)
        container.projections.rebuild("case_status")  # in one process: parks, goes on
        assert container.projections.parked_counts()["case_status"] > 0
        assert container.projections.case_status_view.by_tracking_code(code) is not None
    finally:
        container.close()
