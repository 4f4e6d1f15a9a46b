"""Exactly-once on SQLite and PostgreSQL: a crash or a killed process mid-batch, and two runners
at once, neither lose nor double a row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError, Tracking

from adapters.bootstrap import PROJECTIONS, Container
from adapters.settings import Settings
from adapters.views import LedgerProjections, build_projections
from engine.projection_runner import catch_up
from engine.rows import Rows
from projections.case_status import CaseStatusProjection
from projections.flows import FlowsProjection
from tests.integration.test_projections import (
    dumps,
    full_case,
    notify,
    reference,
    store_settings,
    timeline_entries,
    troubled_case,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return store_settings(request.param, tmp_path)


class CrashError(OperationalError):
    """The injected failure: transient (as a lost connection), so the catch-up stops and
    raises it; an error of the projection's own code would park the event instead
    (tests/integration/test_poison_events.py)."""


class CrashingCaseStatus(CaseStatusProjection):
    """case_status that fails on its n-th event, inside the batch transaction."""

    def __init__(self, projection: CaseStatusProjection, fail_at: int) -> None:
        super().__init__(projection.view)
        self.fail_at, self.seen = fail_at, 0

    def apply(self, event: Any, position: int, rows: Rows) -> None:
        self.seen += 1
        if self.seen == self.fail_at:
            raise CrashError(f"crash on event {self.seen}")
        super().apply(event, position, rows)


def events_of(container: Container, topics: tuple[str, ...]) -> int:
    found = container.ledger.recorder.select_notifications(start=None, limit=10_000, topics=topics)
    return len(found)


def assert_exact(container: Container, projections: LedgerProjections) -> None:
    """Every event applied once: one timeline entry per case_status event, and the same rows as
    an uninterrupted in-memory run over the same log."""
    shown = timeline_entries(projections.case_status.view)
    assert shown == events_of(container, CaseStatusProjection.topics)
    assert dumps(projections) == dumps(reference(container))
    assert set(projections.lags().values()) == {0}


def test_a_crash_mid_batch_loses_and_doubles_nothing(
    container: Container, projections: LedgerProjections
) -> None:
    full_case(container)
    troubled_case(container)
    crashing = CrashingCaseStatus(projections.case_status, fail_at=12)
    with pytest.raises(CrashError):
        catch_up(container.ledger, crashing, batch=5)
    position = projections.case_status.view.max_tracking_id(container.ledger.name)
    assert position is not None  # two pages committed before the third failed
    assert timeline_entries(projections.case_status.view) == 10
    # the next process
    restarted = build_projections(container.settings, container.ledger, PROJECTIONS)
    restarted.catch_up(batch=5)
    assert_exact(container, restarted)
    restarted.close()


KILLER = """
import json, os, sys
from adapters.bootstrap import build
from engine.projection_runner import catch_up
from adapters.views import build_projections
from adapters.bootstrap import PROJECTIONS
from adapters.settings import AccountSettings, DeliveryPolicy, PostgresSettings, Settings

data = json.loads(sys.argv[1])
nested = {"postgres": PostgresSettings(**data["postgres"])}
nested["deliveries"] = DeliveryPolicy(**data["deliveries"])
nested["accounts"] = AccountSettings(**data["accounts"])
settings = Settings(**{**data, **nested})
container = build(settings)
projection = build_projections(settings, container.ledger, PROJECTIONS).case_status
view = projection.view
pages = 0

class Dying(type(view)):
    def _write(self, cursor, changes):
        global pages
        pages += 1
        if pages == 3:  # the third page: write some of its rows, then die without a rollback
            super()._write(cursor, changes[:1])
            os._exit(17)
        super()._write(cursor, changes)

view.__class__ = Dying
catch_up(container.ledger, projection, batch=5)
"""


def test_killing_the_process_mid_batch_loses_and_doubles_nothing(
    container: Container, settings: Settings
) -> None:
    full_case(container)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, json.dumps(asdict(settings))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == 17, killed.stderr.decode()
    restarted = build_projections(settings, container.ledger, PROJECTIONS)
    view = restarted.case_status.view
    assert timeline_entries(view) == 10  # the two committed pages, nothing of the third
    for _ in range(100):  # PostgreSQL may take a moment to end the dead session
        restarted.catch_up(batch=5)
        if not any(restarted.lags().values()):
            break
        time.sleep(0.05)
    assert_exact(container, restarted)
    restarted.close()


class Racing(FlowsProjection):
    """flows whose first page is overtaken: another runner catches the view up after this
    one has read the page and before it applies it."""

    def __init__(self, projection: FlowsProjection, rival: LedgerProjections) -> None:
        super().__init__(projection.view)
        self.rival: LedgerProjections | None = rival

    def process_batch(
        self,
        events: Any,
        tracking: Tracking,
        after: int | None = None,
        *,
        strict: bool = True,
    ) -> None:
        if self.rival is not None:
            self.rival.catch_up("flows")
            self.rival = None
        super().process_batch(events, tracking, after, strict=strict)


def test_a_page_overtaken_by_another_runner_is_not_applied_twice(
    container: Container, projections: LedgerProjections
) -> None:
    for n in range(4):
        notify(container, f"MR-R{n}")
    rival = build_projections(container.settings, container.ledger, PROJECTIONS)
    assert catch_up(container.ledger, Racing(projections.flows, rival), batch=2) == 0
    assert [c["cases"] for c in projections.flows.view.dump()["counts"]] == [4]
    rival.close()


class Overlapping(FlowsProjection):
    """flows that, with its batch transaction open, lets another process try the same view."""

    def __init__(self, projection: FlowsProjection, rival: LedgerProjections) -> None:
        super().__init__(projection.view)
        self.rival: LedgerProjections | None = rival
        self.rival_applied = -1

    def apply(self, event: Any, position: int, rows: Rows) -> None:
        if self.rival is not None:
            rival, self.rival = self.rival, None
            self.rival_applied = rival.catch_up("flows")
        super().apply(event, position, rows)


def test_two_processes_at_once_never_double_a_row(
    container: Container, projections: LedgerProjections
) -> None:
    for n in range(3):
        notify(container, f"MR-O{n}")
    rival = build_projections(container.settings, container.ledger, PROJECTIONS)
    overlapping = Overlapping(projections.flows, rival)
    try:
        catch_up(container.ledger, overlapping)
        outcome = "applied"
    except OperationalError:
        outcome = "refused"
    if container.settings.persistence == "postgres":
        # The rival found the view busy (advisory lock) and left it alone.
        assert (overlapping.rival_applied, outcome) == (0, "applied")
    else:
        # SQLite: the rival wrote first, so this stale transaction may not write at all.
        assert (overlapping.rival_applied, outcome) == (3, "refused")
    projections.catch_up()
    counts = projections.flows.view.dump()["counts"]
    assert [c["cases"] for c in counts] == [3]
    rival.close()
