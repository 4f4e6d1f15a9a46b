"""The chaos run (docs/operations.md, Reliability suite): kill -9 of `serve` processes and of
the worker under a stream of notifications, on PostgreSQL. The run itself takes ~1-2 minutes,
so the README's `pytest` skips it; `.ci/run` runs it as a step of its own with
NEWBORN_LEDGER_CHAOS=1 (5 + 5 kills), and NEWBORN_LEDGER_CHAOS=full (or `python -m
bench.chaos`) is the full run (12 + 12 kills). The checks' own tests below always run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from psycopg import sql

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from bench import chaos
from bench.offices import notify
from tests.pg import postgres_settings

pytestmark = pytest.mark.postgres
CHAOS = os.environ.get("NEWBORN_LEDGER_CHAOS", "")


def chaos_settings(schema: str) -> Settings:
    settings = postgres_settings(schema)
    return replace(settings, postgres=replace(settings.postgres, pool_size=3))


@pytest.mark.skipif(
    not CHAOS, reason="the chaos run is a CI step of its own: set NEWBORN_LEDGER_CHAOS=1"
)
def test_nothing_acknowledged_is_lost_under_kill_9(tmp_path: Path) -> None:
    bounds = chaos.FULL if CHAOS == "full" else chaos.QUICK
    figures = chaos.run(bounds, chaos_settings("chaos"), tmp_path)
    print(figures)  # the figures, for the CI log (-rA / -s)
    assert figures.failures(bounds) == []
    assert figures.api_kills >= bounds.api_kills
    assert figures.worker_kills >= bounds.worker_kills
    assert figures.notifications == figures.cases > 0
    assert figures.requests_dispatched > 0
    assert figures.projection_rows > 0


# --- the checks find what they look for ---------------------------------------------------------
SCHEMA = "chaos_checks"


@pytest.fixture
def notified() -> Iterator[tuple[Container, dict[int, UUID]]]:
    """Three cases notified, planned, dispatched and projected (embedded, in this process)."""
    container = build(chaos_settings(SCHEMA))
    try:
        acks = {i: notify(container, "checks", i) for i in range(3)}
        container.tick()
        yield container, acks
    finally:
        container.close()


def test_the_checks_pass_on_a_clean_store(notified: tuple[Container, dict[int, UUID]]) -> None:
    container, acks = notified
    figures = chaos.Figures(api_kills=1, worker_kills=1, drained=True)
    with chaos.connect(container.settings) as conn:
        chaos.check_cases(conn, SCHEMA, acks, figures)
        chaos.check_dispatches(conn, SCHEMA, container, figures)
        chaos.check_projections(conn, SCHEMA, container, figures)
    assert figures.failures(chaos.Bounds(1, 1, 1, 1, 1)) == []
    assert (figures.notifications, figures.cases) == (3, 3)
    assert figures.requests_dispatched > 0
    assert figures.projection_rows > 0


def test_the_checks_find_a_lost_and_an_unnamed_case(
    notified: tuple[Container, dict[int, UUID]],
) -> None:
    container, acks = notified
    figures = chaos.Figures()
    forged = {0: acks[0], 1: acks[1], 2: uuid4()}  # 2's ack names no case; its case unnamed
    with chaos.connect(container.settings) as conn:
        chaos.check_cases(conn, SCHEMA, forged, figures)
    assert (figures.lost, figures.extra_cases) == (1, 1)
    twice = {0: acks[0], 1: acks[0], 2: acks[2]}  # two notifications, one case
    figures = chaos.Figures()
    with chaos.connect(container.settings) as conn:
        chaos.check_cases(conn, SCHEMA, twice, figures)
    assert figures.ack_mismatches == 1


def test_the_checks_find_a_second_dispatch(notified: tuple[Container, dict[int, UUID]]) -> None:
    container, _ = notified
    table = sql.Identifier(SCHEMA, "caseledger_events")
    with chaos.connect(container.settings) as conn:
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (originator_id, originator_version, topic, state) "
                "SELECT originator_id, originator_version + 1000, topic, state FROM {} "
                "WHERE topic = %s LIMIT 1"
            ).format(table, table),
            (chaos.DISPATCHED,),
        )
        figures = chaos.Figures()
        chaos.check_dispatches(conn, SCHEMA, container, figures)
    assert figures.duplicate_dispatches == 1


def test_the_checks_find_a_view_that_differs_from_a_rebuild(
    notified: tuple[Container, dict[int, UUID]],
) -> None:
    container, _ = notified
    with chaos.connect(container.settings) as conn:
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE ctid IN (SELECT ctid FROM {} LIMIT 1)").format(
                sql.Identifier(SCHEMA, "office_queue_requests"),
                sql.Identifier(SCHEMA, "office_queue_requests"),
            )
        )
        figures = chaos.Figures()
        chaos.check_projections(conn, SCHEMA, container, figures)
    assert figures.projection_differences == {"office_queue_requests": 1}


def test_the_figures_name_each_broken_promise() -> None:
    bounds = chaos.Bounds(api_kills=2, worker_kills=2, max_notifications=1, seconds=1, drain_s=1)
    figures = chaos.Figures(api_kills=2, worker_kills=1, lost=1, drained=True)
    assert figures.failures(bounds) == [
        "fewer kills than planned",
        "acknowledged notifications lost",
    ]
