"""A notification the Orchestrator's policy cannot process (issue #16), on SQLite and
PostgreSQL: it is parked in the Orchestrator's log with the move past it, the next births are
planned, and retry or skip resolve it; transient errors park nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError

from adapters.bootstrap import Container, build
from adapters.settings import Settings
from domain.orchestrator import Orchestrator
from engine.parked import PARKED_STATE, SKIPPED_STATE, NotParkedError
from tests.integration.test_poison_events import POISON, record_birth

SCHEMA = "poison_processing"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def container(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Container]:
    if request.param == "postgres":
        from tests.pg import postgres_settings

        settings: Settings = postgres_settings(SCHEMA)
    else:
        settings = Settings(persistence="sqlite", sqlite_dir=str(tmp_path / "var"))
    built = build(replace(settings, embedded_worker=False))
    yield built
    built.close()


class Fault:
    """The Orchestrator's policy raising `error()` on the poison birth (until `fixed`)."""

    def __init__(self, orchestrator: Orchestrator, error: Callable[[], Exception]) -> None:
        self.fixed, self.raised = False, 0
        policy = orchestrator.policy

        def faulty(event: Any, unit: Any) -> None:
            if not self.fixed and getattr(event, "record_ref", None) == POISON:
                self.raised += 1
                raise error()
            policy(event, unit)

        orchestrator.policy = faulty  # type: ignore[method-assign,assignment]


def test_a_notification_the_policy_cannot_process_is_parked_and_the_next_is_planned(
    container: Container,
) -> None:
    Fault(container.orchestrator, lambda: KeyError("王芳"))
    poison_case, _ = record_birth(container, POISON)
    case_id, code = record_birth(container, "MR-0002")
    container.tick()
    assert container.projections.case_status_view.by_tracking_code(code) is not None
    assert container.ledger.get_case(case_id).planned_services  # planned and carried out
    assert not container.ledger.get_case(poison_case).planned_services
    (parked,) = container.parked()["Orchestrator"]
    assert (parked.originator_id, parked.error, parked.state) == (
        str(poison_case),
        "KeyError",
        PARKED_STATE,
    )
    assert parked.topic == "domain.birth_case:BirthCase.Notified"
    assert "王芳" not in repr(parked)
    assert container.parked()["CaseLedger"] == []
    assert container.parked_counts()["Orchestrator"] == 1
    assert container.processing.planning.lag() == 0  # moved past it


def test_retry_fails_while_the_bug_remains_then_plans_the_case_once(
    container: Container,
) -> None:
    fault = Fault(container.orchestrator, lambda: KeyError("bug"))
    poison_case, _ = record_birth(container, POISON)
    container.tick()
    (parked,) = container.parked()["Orchestrator"]
    still = container.retry_parked("Orchestrator", parked.position)
    assert still is not None
    assert (still.state, still.attempts) == (PARKED_STATE, 2)
    fault.fixed = True
    assert container.retry_parked("Orchestrator", parked.position) is None
    with pytest.raises(NotParkedError):  # processed once: a second retry is refused
        container.retry_parked("Orchestrator", parked.position)
    container.tick()  # the ledger carries the new plan out
    services = container.ledger.get_case(poison_case).planned_services
    assert services
    assert container.parked_counts()["Orchestrator"] == 0
    assert [p.state for p in container.parked()["Orchestrator"]] == ["applied"]


def test_skip_keeps_the_notification_on_record(container: Container) -> None:
    Fault(container.orchestrator, lambda: ValueError("bug"))
    record_birth(container, POISON)
    container.tick()
    (parked,) = container.parked()["Orchestrator"]
    skipped = container.skip_parked("Orchestrator", parked.position, by="ops")
    assert (skipped.state, skipped.resolved_by) == (SKIPPED_STATE, "ops")
    assert skipped.resolved_at is not None
    assert container.parked(SKIPPED_STATE)["Orchestrator"] == [skipped]
    with pytest.raises(NotParkedError):
        container.skip_parked("Orchestrator", parked.position, by="ops")


def test_a_transient_error_in_a_policy_parks_nothing_and_the_projections_still_run(
    container: Container,
) -> None:
    fault = Fault(container.orchestrator, lambda: OperationalError("connection lost"))
    case_id, code = record_birth(container, POISON)
    with pytest.raises(OperationalError):
        container.tick()
    assert container.projections.case_status_view.by_tracking_code(code) is not None
    assert container.processing.planning.lag() > 0  # not moved past it
    fault.fixed = True
    container.tick()
    assert container.parked()["Orchestrator"] == []
    assert container.ledger.get_case(case_id).planned_services


def test_status_lists_and_skip_resolves_a_parked_notification_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from entry.cli import main

    monkeypatch.setenv("NEWBORN_LEDGER_PERSISTENCE", "sqlite")
    monkeypatch.setenv("NEWBORN_LEDGER_SQLITE_DIR", str(tmp_path / "var"))
    settings = Settings(persistence="sqlite", sqlite_dir=str(tmp_path / "var"))
    container = build(replace(settings, embedded_worker=False))
    Fault(container.orchestrator, lambda: ValueError("bug"))
    poison_case, _ = record_birth(container, POISON)
    container.tick()
    (parked,) = container.parked()["Orchestrator"]
    container.close()
    assert main(["projections", "status"]) == 0
    status = capsys.readouterr().out
    assert "Orchestrator (processing), 1 parked\n" in status
    assert f"  parked at {parked.position}: BirthCase.Notified of {poison_case} v1: " in status
    assert "CaseLedger (processing)" not in status
    assert main(["projections", "skip", "Orchestrator", str(parked.position), "--by", "ops"]) == 0
    assert main(["projections", "status"]) == 0
    assert "Orchestrator (processing), 1 skipped\n" in capsys.readouterr().out
