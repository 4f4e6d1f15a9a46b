"""Section-at-a-time processing on SQLite and PostgreSQL: a crash or a killed process mid-section
loses and doubles nothing; two processors with different section sizes never both commit the
same notifications; the result is the log that per-event processing writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError, Tracking

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from domain.births.commands import NotifyBirth
from domain.kernel.service_request import ServiceRequest
from engine.recorders import SECTION, SectionPosition
from tests.conftest import make_facts, office_step
from tests.integration.test_projections import RESULTS, store_settings

ROOT = Path(__file__).resolve().parents[2]
CASES = 6
Signature = Counter[tuple[UUID, int, str]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return store_settings(request.param, tmp_path)


@pytest.fixture
def reference() -> Iterator[Container]:
    """The same commands in memory, settled after every single command."""
    built = build(Settings(persistence="memory"))
    yield built
    built.close()


class CrashError(OperationalError):
    """The injected failure: transient (as a lost connection), so the section rolls back and
    the error is raised; an error of a policy's own code would park the notification instead
    (tests/integration/test_poison_processing.py)."""


def notify_all(container: Container) -> list[UUID]:
    ledger = container.ledger
    return [
        ledger.notify_birth(
            NotifyBirth(f"m-S{n}", make_facts(f"MR-S{n}", child_name="张小明"), b"{}")
        ).case_id
        for n in range(CASES)
    ]


def decide_all(container: Container, cases: list[UUID], after: Callable[[], object]) -> None:
    """Every office receives and approves, service by service in dependency order."""
    for service, result in RESULTS.items():
        for action, extra in (
            ("receive", {"receipt_number": "R-1"}),
            ("approve", {"result": result}),
        ):
            for case_id in cases:
                request_id = ServiceRequest.create_id(case_id, service)
                office_step(container.ledger, request_id, action, "office:1", **extra)
                after()
        container.processing.settle()


def signature(container: Container) -> Signature:
    """Which events exist (aggregate, version, topic) in both logs, timestamps aside."""
    found: Signature = Counter()
    for app in (container.ledger, container.orchestrator):
        for n in app.recorder.select_notifications(start=None, limit=100_000):
            found[(UUID(str(n.originator_id)), n.originator_version, n.topic)] += 1
    return found


def reference_signature(reference: Container) -> Signature:
    cases = notify_all(reference)
    reference.processing.settle()
    decide_all(reference, cases, reference.processing.settle)
    return signature(reference)


def assert_caught_up(container: Container) -> None:
    heads = (
        container.ledger.recorder.max_notification_id(),
        container.orchestrator.recorder.max_notification_id(),
    )
    planning = container.processing.planning
    assert (
        planning.position()
        == planning.leader.recorder.select_notifications(
            start=None, limit=100_000, topics=planning.follower.topics
        )[-1].id
    )
    assert container.processing.carrying_out.position() == heads[1]


def finish(container: Container, cases: list[UUID]) -> None:
    container.processing.settle()
    decide_all(container, cases, lambda: None)
    assert_caught_up(container)


def test_sections_write_the_log_that_per_event_processing_writes(
    container: Container, reference: Container
) -> None:
    container.processing.planning.size = container.processing.carrying_out.size = 4
    finish(container, notify_all(container))
    assert signature(container) == reference_signature(reference)
    assert {container.ledger.get_case(c).state for c in notify_all(container)} == {"completed"}


@pytest.mark.parametrize("side", ["planning", "carrying_out"])
def test_a_crash_mid_section_commits_nothing_of_it(
    container: Container, reference: Container, side: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = notify_all(container)
    processor = getattr(container.processing, side)
    if side == "carrying_out":
        container.processing.planning.drain()
    before = (processor.position(), processor.follower.recorder.max_notification_id())
    calls = 0
    policy = processor.follower.policy

    def crashing(event: Any, unit: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:  # two notifications decided, the third fails
            raise CrashError
        policy(event, unit)

    monkeypatch.setattr(processor.follower, "policy", crashing)
    with pytest.raises(CrashError):
        container.processing.settle()
    assert (processor.position(), processor.follower.recorder.max_notification_id()) == before
    monkeypatch.undo()
    finish(container, cases)
    assert signature(container) == reference_signature(reference)


KILLER = """
import json, os, sys
from adapters.bootstrap import build
from engine.recorders import SECTION
from adapters.settings import AccountSettings, DeliveryPolicy, PostgresSettings, Settings

data = json.loads(sys.argv[1])
nested = {"postgres": PostgresSettings(**data["postgres"])}
nested["deliveries"] = DeliveryPolicy(**data["deliveries"])
nested["accounts"] = AccountSettings(**data["accounts"])
settings = Settings(**{**data, **nested})
container = build(settings)
recorder = type(container.orchestrator.recorder)
# Die inside the second section's transaction, after its events and tracking were written
# (on PostgreSQL, once the server has run the insert, before COMMIT is sent).
postgres = settings.persistence == "postgres"
name = "_insert_stored_events" if postgres else "_insert_events"
original = getattr(recorder, name)
sections = 0

def dying(self, cursor, stored_events, **kwargs):
    global sections
    result = original(self, cursor, stored_events, **kwargs)
    if SECTION in kwargs:
        sections += 1
        if sections == 2:
            if postgres:
                assert len(cursor.fetchall()) == len(stored_events)  # inserted, not committed
            os._exit(17)
    return result

setattr(recorder, name, dying)
container.processing.planning.size = 4
container.processing.planning.drain()
"""


def test_killing_the_process_mid_section_loses_and_doubles_nothing(
    container: Container, settings: Settings, reference: Container
) -> None:
    cases = notify_all(container)
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, json.dumps(asdict(settings))],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == 17, killed.stderr.decode()
    planning = container.processing.planning
    first_four = planning.leader.recorder.select_notifications(
        start=None, limit=4, topics=planning.follower.topics
    )
    assert planning.position() == first_four[-1].id  # the first section only
    plans = container.orchestrator.recorder.select_notifications(start=None, limit=1000)
    assert len({n.originator_id for n in plans}) == 4  # the first section's four cases only
    finish(container, cases)
    assert signature(container) == reference_signature(reference)


def test_a_section_overtaken_by_another_processor_is_refused(
    container: Container, reference: Container
) -> None:
    cases = notify_all(container)
    rival = build(container.settings)
    try:
        start = container.processing.planning.position()
        assert rival.processing.planning.process(start, 5)[0] == 5
        with pytest.raises(IntegrityError):
            container.processing.planning.process(start, 3)  # overlaps the rival's section
        assert container.processing.planning.drain() == CASES - 5
    finally:
        rival.close()
    finish(container, cases)
    assert signature(container) == reference_signature(reference)


def test_two_processors_with_different_sections_at_once_never_double(
    container: Container, reference: Container
) -> None:
    cases = notify_all(container)
    rival = build(container.settings)
    container.processing.planning.size = container.processing.carrying_out.size = 2
    rival.processing.planning.size = rival.processing.carrying_out.size = 5
    try:
        threads = [threading.Thread(target=c.processing.settle) for c in (container, rival)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        rival.close()
    finish(container, cases)
    assert signature(container) == reference_signature(reference)


@pytest.mark.parametrize(
    "store", ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_tracking_position_moves_only_from_where_the_section_started(
    store: str, tmp_path: Path
) -> None:
    """The guard itself, where deterministic ids cannot help: sections that record no events."""
    settings = (
        Settings(persistence="memory") if store == "memory" else store_settings(store, tmp_path)
    )
    built = build(settings)
    recorder = built.orchestrator.recorder
    try:
        recorder.insert_events([], **{SECTION: SectionPosition("Leader", None, 10)})
        with pytest.raises(IntegrityError):  # a rival that also started from nothing
            recorder.insert_events([], **{SECTION: SectionPosition("Leader", None, 4)})
        with pytest.raises(IntegrityError):  # a rival that started from a stale position
            recorder.insert_events([], **{SECTION: SectionPosition("Leader", 3, 20)})
        recorder.insert_events([], **{SECTION: SectionPosition("Leader", 10, 15)})
        assert recorder.max_tracking_id("Leader") == 15
        recorder.insert_events(
            [], tracking=Tracking("Leader", 16)
        )  # the library's path still works
        assert recorder.max_tracking_id("Leader") == 16
    finally:
        built.close()
